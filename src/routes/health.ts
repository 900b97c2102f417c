// Liveness, readiness and metrics: unauthenticated, not rate limited, for load balancers and scrapers.

import type { FastifyInstance } from "fastify";
import type { Db } from "../db/database.js";
import { ping } from "../db/repositories/orgs.js";
import type { Metrics } from "../plugins/metrics.js";

export interface HealthOptions {
  db: Db;
  metrics: Metrics;
  isDraining: () => boolean;
  timeoutMs: number;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export async function healthRoutes(app: FastifyInstance, opts: HealthOptions) {
  const config = { public: true };
  app.get("/healthz", { config }, async () => ({ status: "ok" }));

  app.get("/readyz", { config }, async (_req, reply) => {
    if (opts.isDraining()) return reply.code(503).send({ status: "draining" });
    try {
      await withTimeout(ping(opts.db.kysely), opts.timeoutMs);
      return { status: "ready", database: "ok" };
    } catch (err) {
      return reply.code(503).send({ status: "not_ready", database: (err as Error).message });
    }
  });

  app.get("/metrics", { config }, async (_req, reply) => {
    reply.type("text/plain; version=0.0.4; charset=utf-8");
    return opts.metrics.render(opts.db.poolStats());
  });
}

// Builds the HTTP service from its parts. No I/O happens here beyond what the parts do.
import { randomUUID } from "node:crypto";
import Fastify, { type FastifyInstance } from "fastify";
import type { Config } from "./config.js";
import { type Connections, trackConnections } from "./connections.js";
import type { Db } from "./db/database.js";
import { ApiError } from "./errors.js";
import { AccessLog } from "./plugins/access-log.js";
import { registerAuthentication } from "./plugins/authenticate.js";
import { answerClientError, answerFrameworkError, isScimUrl, registerErrorHandling } from "./plugins/error-handler.js";
import { decodeBody, parseJsonBody } from "./plugins/json-body.js";
import { lazySchemaCompilers } from "./plugins/lazy-schemas.js";
import { Metrics } from "./plugins/metrics.js";
import { RateLimiter } from "./plugins/rate-limit.js";
import { rejectFlawedStrings } from "./plugins/string-guard.js";
import { auditLogRoutes } from "./routes/audit-logs.js";
import { authTokenRoutes } from "./routes/auth-tokens.js";
import { consoleRoutes } from "./routes/console.js";
import { devUsersRoutes } from "./routes/dev-users.js";
import { healthRoutes } from "./routes/health.js";
import { collectRoutes, openapiRoute } from "./routes/openapi.js";
import { resetRoute } from "./routes/reset.js";
import { scimConnectionRoutes } from "./routes/scim-connections.js";
import { webhookRoutes } from "./routes/webhooks.js";
import { scimRoutes } from "./scim/routes.js";
import { Authenticator } from "./services/auth.js";
import { type Caller, type Deps, type ScimCaller, systemClock } from "./services/context.js";
import type { Operation } from "./services/journal.js";
import { KeyRing } from "./services/keys.js";
import { OPERATION_SCOPES, type OperationScope } from "./services/scopes.js";

declare module "fastify" {
  interface FastifyRequest {
    caller?: Caller;
    /** Under /scim/v2: the identity provider's connection (services/scim-connections.ts). */
    scim?: ScimCaller;
  }
  interface FastifySchema {
    /** DevRev's operation id, used by /openapi.json and the metrics. */
    operationId?: string;
  }
  interface FastifyContextConfig {
    /** Health, readiness, metrics and the API description: no token, no rate limit. */
    public?: boolean;
    /** What a scoped token needs to call it (services/scopes.ts), set from the operation id. */
    scope?: OperationScope;
  }
}

export const BODY_LIMIT = 1024 * 1024;

export interface App {
  app: FastifyInstance;
  metrics: Metrics;
  /** The server's connections and the requests on them (src/connections.ts). */
  connections: Connections;
  /**
   * Stops taking new work: readiness fails, new API requests get 503, and every response from
   * now on says Connection: close.
   */
  startDraining(): void;
  /** Called after every write the API commits. */
  onChange(listener: (operations: readonly Operation[]) => void): void;
  close(): Promise<void>;
}

export interface AppOptions {
  config: Config;
  db: Db;
  /** Pino options, or false for silence (tests). */
  logger?: boolean | Record<string, unknown>;
  version?: string;
}

export async function buildApp(opts: AppOptions): Promise<App> {
  const { config, db } = opts;
  const app = Fastify({
    logger: opts.logger ?? { level: config.logLevel },
    bodyLimit: BODY_LIMIT,
    // req.ip, which keys the rate limits of requests without a token, is read from X-Forwarded-For
    // only when the peer is a trusted proxy.
    trustProxy: config.trustProxy,
    return503OnClosing: false,
    // What Node's HTTP parser refuses, and URLs that do not decode, are answered in DevRev's shape
    // (plugins/error-handler.ts), as is an HTTP/1.1 request without Host, which Node would
    // otherwise answer itself with an empty 400.
    clientErrorHandler: answerClientError,
    frameworkErrors: answerFrameworkError,
    http: { requireHostHeader: false },
    // Recorded with every change a request makes (the journal): unique beyond this process.
    genReqId: () => randomUUID(),
    // Per-request access logs only at debug: at info they cost a third of the throughput.
    logController: new AccessLog({
      disableRequestLogging: config.logLevel !== "debug" && config.logLevel !== "trace",
    }),
    schemaController: { compilersFactory: lazySchemaCompilers() as never },
    ajv: {
      customOptions: {
        removeAdditional: false,
        coerceTypes: false,
        useDefaults: false,
        verbose: true,
        allErrors: false,
      },
    },
  });
  const metrics = new Metrics();
  let onChange: (operations: readonly Operation[]) => void = () => {};
  const deps: Deps = {
    db,
    now: systemClock,
    allowPrivateWebhookTargets: config.webhooks.allowPrivateTargets,
    changed: (operations) => onChange(operations),
  };
  const keys = new KeyRing(db.kysely);
  const auth = new Authenticator(deps, keys);
  const limiter = new RateLimiter({
    max: config.rateLimitMax,
    windowSeconds: config.rateLimitWindowSeconds,
    redisUrl: config.redisUrl,
    redisTimeoutMs: config.redisConnectTimeoutMs,
    log: app.log,
    onRedisError: () => metrics.redisErrors++,
    onBreakerChange: (open) => {
      metrics.redisBreakerOpen = open ? 1 : 0;
    },
  });
  // Redis connects (or fails to) before the first request, bounded by REDIS_CONNECT_TIMEOUT_MS.
  await limiter.ready();
  let draining = false;

  // First, so that every request is known before any other hook can answer it.
  const connections = trackConnections(app);
  registerErrorHandling(app, () => metrics.dbUnavailable++);

  // JSON only: a text/plain body is refused as a media type, not read as a JSON string.
  app.removeContentTypeParser("text/plain");
  // A POST with no body reads as {}, so its missing fields are named like any other. Prototype
  // keys and nesting deeper than 64 levels are refused (plugins/json-body.ts).
  app.addContentTypeParser("application/json", { parseAs: "buffer" }, (_req, body, done) => {
    let value: unknown;
    try {
      value = parseJsonBody(decodeBody(body as Buffer));
    } catch (err) {
      return done(err as Error, undefined);
    }
    done(null, value);
  });
  // SCIM's own media type, read like JSON, under /scim/v2 only: the DevRev API takes application/json.
  app.addContentTypeParser("application/scim+json", { parseAs: "buffer" }, (req, body, done) => {
    if (!isScimUrl(req.url)) return done(new ApiError("bad_request", "the request body must be application/json"));
    let value: unknown;
    try {
      value = parseJsonBody(decodeBody(body as Buffer));
    } catch (err) {
      return done(err as Error, undefined);
    }
    done(null, value);
  });
  app.addHook("preValidation", async (req) => {
    if (req.method === "POST" && req.body === undefined) req.body = {};
  });
  app.addHook("preHandler", rejectFlawedStrings);

  registerAuthentication(app, {
    auth,
    deps,
    limiter,
    isDraining: () => draining,
    onRateLimited: () => metrics.rateLimited++,
  });

  app.addHook("onResponse", async (req, reply) => {
    if (req.routeOptions.config.public) return;
    const schema = req.routeOptions.schema as { operationId?: string } | undefined;
    metrics.observe(
      req.operation ?? schema?.operationId ?? "unknown_route",
      reply.statusCode,
      reply.elapsedTime / 1000,
    );
  });

  // Every authenticated operation says what a scoped token needs to call it; one that does not
  // is a mistake caught at start, not a route every scoped token may call.
  app.addHook("onRoute", (route) => {
    const config = (route.config ?? {}) as { public?: boolean; scope?: OperationScope };
    // HEAD routes Fastify adds for GETs carry the GET's operation id, and its scope.
    if (config.public) return;
    const id = (route.schema as { operationId?: string } | undefined)?.operationId;
    if (id === undefined || !Object.hasOwn(OPERATION_SCOPES, id))
      throw new Error(`route ${route.method} ${route.url} has no entry in OPERATION_SCOPES`);
    route.config = { ...config, scope: OPERATION_SCOPES[id] };
  });
  const routes = collectRoutes(app);
  await app.register(devUsersRoutes, { deps });
  await app.register(auditLogRoutes, { deps });
  await app.register(webhookRoutes, { deps });
  await app.register(authTokenRoutes, { deps, keys });
  await app.register(scimConnectionRoutes, { deps });
  await app.register(scimRoutes, { deps });
  if (config.allowReset) {
    const bootstrap = config.bootstrapAdmin ? { email: config.bootstrapAdmin, org: config.bootstrapOrg } : undefined;
    await app.register(resetRoute, { deps, bootstrap });
  }
  await app.register(healthRoutes, {
    db,
    metrics,
    isDraining: () => draining,
    timeoutMs: config.pgConnectTimeoutMs,
  });
  await app.register(openapiRoute, { routes, version: opts.version ?? "0.0.0" });
  await app.register(consoleRoutes);
  await app.ready();

  return {
    app,
    metrics,
    connections,
    startDraining: () => {
      draining = true;
      connections.closeAfterAnswer();
    },
    onChange: (listener) => {
      onChange = listener;
    },
    close: async () => {
      await app.close();
      await limiter.close();
    },
  };
}

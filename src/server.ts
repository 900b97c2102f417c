// Runs the service: opens and migrates the database, listens, and drains on SIGTERM.

import { writeFileSync } from "node:fs";
import { type App, buildApp } from "./app.js";
import type { Config } from "./config.js";
import { type Db, describeDatabase, dialectOf, openDatabase, sqlitePath } from "./db/database.js";
import { migrateToLatest } from "./db/migrate.js";
import { type ServeLock, takeServeLock } from "./db/serve-lock.js";
import { type DeliveryWorker, startDeliveryWorker } from "./delivery/worker.js";
import { unavailable } from "./errors.js";
import { bootstrapToken } from "./services/admin.js";
import { systemClock } from "./services/context.js";
import { ensureSigningKey, KeyRing } from "./services/keys.js";
import { version } from "./version.js";

export { version };

export interface Running {
  service: App;
  db: Db;
  url: string;
  /**
   * Drains and stops. `listenMs` overrides SHUTDOWN_LISTEN_MS: 0 for a stop nobody balances load
   * around (Ctrl-C, a test harness).
   */
  stop(options?: { listenMs?: number }): Promise<void>;
  /** Ends a drain under way early: unanswered requests get 503 now, and the database closes. */
  hurry(): void;
  /** The webhook delivery worker (src/delivery). */
  deliveries: DeliveryWorker;
}

/**
 * How long after SHUTDOWN_TIMEOUT_MS the process may still take to exit: for the 503s sent at the
 * deadline to leave, and the database and the listener to close. Past it the process exits anyway.
 */
export const SHUTDOWN_MARGIN_MS = 500;
/** After the listener closes, how long a connection that has sent nothing yet is kept for its request. */
const FIRST_REQUEST_GRACE_MS = 1000;
/** At the deadline, how long the 503s get to leave before their connections are reset. */
const FLUSH_MS = 200;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function startServer(config: Config): Promise<Running> {
  const db = openDatabase(config);
  let service: App | undefined;
  let url: string;
  try {
    await migrateToLatest(db.kysely);
    await ensureSigningKey(db.kysely, systemClock());
    service = await buildApp({ config, db, version });
    url = await service.app.listen({ port: config.port, host: config.host, backlog: config.listenBacklog });
  } catch (err) {
    // A failed start leaves nothing behind: closing the last connection removes SQLite's -wal
    // and -shm files.
    await service?.close().catch(() => {});
    await db.close().catch(() => {});
    if ((err as { code?: string }).code === "EADDRINUSE") {
      throw new Error(`port ${config.port} on ${config.host} is already in use: stop what listens there, or set PORT`);
    }
    throw err;
  }
  return running(config, db, service, url);
}

function running(config: Config, db: Db, service: App, url: string): Running {
  db.runInBackground();
  const deliveries = startDeliveryWorker(
    { db, now: systemClock, allowPrivateWebhookTargets: config.webhooks.allowPrivateTargets },
    config.webhooks,
    service.app.log,
  );
  service.onChange((operations) => deliveries.nudge(operations));
  const { connections } = service;
  const log = service.app.log;
  let stopping: Promise<void> | undefined;
  let hurried = false;
  let wake: () => void = () => {};
  const hurry = new Promise<void>((resolve) => {
    wake = () => {
      hurried = true;
      resolve();
    };
  });
  const pause = (ms: number) => Promise.race([sleep(ms), hurry]);
  const stop = ({ listenMs = config.shutdownListenMs } = {}) => {
    stopping ??= (async () => {
      const deadline = Date.now() + config.shutdownTimeoutMs;
      // Readiness fails, new API requests get 503, and every answer closes its connection. The
      // listener stays open for SHUTDOWN_LISTEN_MS, so a load balancer sees /readyz fail and stops
      // sending; whatever still arrives meanwhile is answered.
      service.startDraining();
      // Deliveries stop first: what is unsent stays in the database for the next start.
      await deliveries.stop();
      await pause(listenMs);
      connections.stopListening();
      // Requests under way finish; connections close as they are answered, or at once when they
      // hold no request (a keep-alive connection that has had its answer).
      while (!hurried && connections.closeIdle(FIRST_REQUEST_GRACE_MS) > 0 && Date.now() < deadline) await pause(10);
      if (connections.size() === 0) {
        await service.close();
        await db.close();
        return;
      }
      // The deadline: whatever is unanswered gets 503, and the database is closed without waiting
      // for the statements that hold it up.
      const cut = connections.answerUnfinished(
        unavailable(
          "the service shut down before this request finished; a write it made may or may not have been committed",
        ),
      );
      log.warn({ requests: cut }, "shutdown timeout: unfinished requests answered 503");
      await db.close({ force: true });
      const flushBy = Date.now() + FLUSH_MS;
      while (connections.size() > 0 && Date.now() < flushBy) await sleep(5);
      connections.destroyAll();
      await service.close();
    })();
    return stopping;
  };
  return { service, db, url, stop, hurry: () => wake(), deliveries };
}

/**
 * `devusers serve`: runs until SIGTERM or SIGINT, then drains and exits. SIGTERM keeps the
 * listener open for SHUTDOWN_LISTEN_MS (a load balancer is watching); SIGINT (Ctrl-C) does not.
 * A second signal ends the drain early, still closing the database cleanly: under `npm start`
 * one Ctrl-C arrives twice, from the terminal and forwarded by npm.
 */
export async function serve(config: Config): Promise<void> {
  const lock = serveLockFor(config.databaseUrl);
  let run: Running;
  try {
    run = await startServer(config);
  } catch (err) {
    lock?.release();
    throw err;
  }
  const log = run.service.app.log;
  const line: Record<string, unknown> = { version, url: run.url, ...describeDatabase(config.databaseUrl) };
  if (config.bootstrapAdmin) Object.assign(line, await bootstrap(config, run));
  let signals = 0;
  const onSignal = (signal: string) => {
    if (++signals > 1) {
      log.info({ signal }, "second signal: ending the drain now");
      run.hurry();
      return;
    }
    const listenMs = signal === "SIGINT" ? 0 : config.shutdownListenMs;
    log.info({ signal, listenMs, timeoutMs: config.shutdownTimeoutMs }, "draining");
    // Whatever holds the shutdown up, the process is gone by the deadline and its margin.
    setTimeout(() => {
      log.error("shutdown did not finish within SHUTDOWN_TIMEOUT_MS and its margin; exiting");
      process.exit(1);
    }, config.shutdownTimeoutMs + SHUTDOWN_MARGIN_MS).unref();
    run.stop({ listenMs }).then(
      () => {
        lock?.release();
        process.exit(0);
      },
      (err) => {
        log.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => onSignal("SIGTERM"));
  process.on("SIGINT", () => onSignal("SIGINT"));
  // Only now: a harness may signal the moment it reads this line, and a signal before the
  // handlers would kill the process undrained, its database not closed.
  log.info(line, "devusers listening");
}

function serveLockFor(databaseUrl: string): ServeLock | undefined {
  if (dialectOf(databaseUrl) !== "sqlite") return undefined;
  const path = sqlitePath(databaseUrl);
  return path === ":memory:" ? undefined : takeServeLock(path);
}

/** DEVUSERS_BOOTSTRAP_ADMIN: the token of a new org's first admin, on the startup line or in a file. */
async function bootstrap(config: Config, run: Running): Promise<Record<string, unknown>> {
  const deps = { db: run.db, now: systemClock };
  const token = await bootstrapToken(deps, new KeyRing(run.db.kysely), {
    email: config.bootstrapAdmin!,
    org: config.bootstrapOrg,
    ttlSeconds: BOOTSTRAP_TTL_SECONDS,
  });
  const about = { bootstrap_admin: config.bootstrapAdmin, bootstrap_org: config.bootstrapOrg };
  if (token === undefined) return { ...about, bootstrap_token: "not minted: the org already has users" };
  if (!config.bootstrapTokenFile) return { ...about, bootstrap_token: token };
  writeFileSync(config.bootstrapTokenFile, `${token}\n`, { mode: 0o600 });
  return { ...about, bootstrap_token_file: config.bootstrapTokenFile };
}

/** The bootstrap token's lifetime: 30 days, as `token create` mints by default. */
const BOOTSTRAP_TTL_SECONDS = 30 * 86_400;

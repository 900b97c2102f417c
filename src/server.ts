// Runs the service: opens and migrates the database, listens, and drains on SIGTERM.
import { type App, buildApp } from "./app.js";
import type { Config } from "./config.js";
import { type Db, openDatabase } from "./db/database.js";
import { migrateToLatest } from "./db/migrate.js";
import { unavailable } from "./errors.js";
import { systemClock } from "./services/context.js";
import { ensureSigningKey } from "./services/keys.js";
import { version } from "./version.js";

export { version };

export interface Running {
  service: App;
  db: Db;
  url: string;
  stop(): Promise<void>;
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
  await migrateToLatest(db.kysely);
  await ensureSigningKey(db.kysely, systemClock());
  const service = await buildApp({ config, db, version });
  const url = await service.app.listen({ port: config.port, host: config.host, backlog: config.listenBacklog });
  db.runInBackground();
  const { connections } = service;
  const log = service.app.log;
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      const deadline = Date.now() + config.shutdownTimeoutMs;
      // Readiness fails, new API requests get 503, and every answer closes its connection. The
      // listener stays open for SHUTDOWN_LISTEN_MS, so a load balancer sees /readyz fail and stops
      // sending; whatever still arrives meanwhile is answered.
      service.startDraining();
      await sleep(config.shutdownListenMs);
      connections.stopListening();
      // Requests under way finish; connections close as they are answered, or at once when they
      // hold no request (a keep-alive connection that has had its answer).
      while (connections.closeIdle(FIRST_REQUEST_GRACE_MS) > 0 && Date.now() < deadline) await sleep(10);
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
  return { service, db, url, stop };
}

/** `devusers serve`: runs until SIGTERM or SIGINT, then drains and exits. A second signal ends it at once. */
export async function serve(config: Config): Promise<void> {
  const running = await startServer(config);
  const log = running.service.app.log;
  log.info({ url: running.url, database: running.db.dialect }, "devusers listening");
  const onSignal = (signal: string) => {
    log.info({ signal, listenMs: config.shutdownListenMs, timeoutMs: config.shutdownTimeoutMs }, "draining");
    // Whatever holds the shutdown up, the process is gone by the deadline and its margin.
    setTimeout(() => {
      log.error("shutdown did not finish within SHUTDOWN_TIMEOUT_MS and its margin; exiting");
      process.exit(1);
    }, config.shutdownTimeoutMs + SHUTDOWN_MARGIN_MS).unref();
    running.stop().then(
      () => process.exit(0),
      (err) => {
        log.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.once("SIGTERM", () => onSignal("SIGTERM"));
  process.once("SIGINT", () => onSignal("SIGINT"));
}

// Runs the service: opens and migrates the database, listens, and drains on SIGTERM.
import { type App, buildApp } from "./app.js";
import type { Config } from "./config.js";
import { type Db, openDatabase } from "./db/database.js";
import { migrateToLatest } from "./db/migrate.js";
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

export async function startServer(config: Config): Promise<Running> {
  const db = openDatabase(config);
  await migrateToLatest(db.kysely);
  await ensureSigningKey(db.kysely, systemClock());
  const service = await buildApp({ config, db, version });
  const url = await service.app.listen({ port: config.port, host: config.host });
  db.runInBackground();
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      // Readiness fails and new requests get 503 at once; the listener stays open so a load
      // balancer sees the 503s, until in-flight requests finish or the timeout passes.
      service.startDraining();
      const deadline = Date.now() + config.shutdownTimeoutMs;
      while (service.inFlight() > 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
      await service.close();
      await db.close();
    })();
    return stopping;
  };
  return { service, db, url, stop };
}

/** `devusers serve`: runs until SIGTERM or SIGINT, then drains and exits. */
export async function serve(config: Config): Promise<void> {
  const running = await startServer(config);
  const log = running.service.app.log;
  log.info({ url: running.url, database: running.db.dialect }, "devusers listening");
  const onSignal = (signal: string) => {
    log.info({ signal }, "draining");
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

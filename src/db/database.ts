// The database a service runs on: SQLite by default (src/db/sqlite.ts), PostgreSQL when
// DATABASE_URL says so (src/db/postgres.ts). Everything above this layer sees only a Db.
import { resolve } from "node:path";
import type { Kysely } from "kysely";
import type { Config } from "../config.js";
import { openPostgres } from "./postgres.js";
import { openSqlite, sqlitePath } from "./sqlite.js";
import type { Database } from "./types.js";
import type { Writes } from "./writes.js";

export { sqlitePath };

export type Dialect = "sqlite" | "postgres";
export interface Db {
  kysely: Kysely<Database>;
  /**
   * Where list and audit-log pages are read, once the primary has authenticated the request: a
   * PostgreSQL replica when DATABASE_REPLICA_URL names one, else `kysely` itself. Never for what a
   * write reads, nor for authentication (docs/scaling.md).
   */
  pages: Kysely<Database>;
  dialect: Dialect;
  /** Where services run their write transactions (group commit on SQLite). */
  writes: Writes;
  /**
   * A number that changes whenever the stored data may have changed, by this process or another,
   * or undefined where there is no cheap way to know (PostgreSQL: other instances write too).
   * Anything read while it held one value is still current for as long as it holds that value.
   */
  dataVersion(): number | undefined;
  /**
   * dataVersion() as of its last call, moved on by this process's writes since: no I/O. Within a
   * request that began with dataVersion(), it tells whether the request itself has written.
   */
  lastDataVersion(): number | undefined;
  /**
   * Starts what a long-running service wants beside its requests: on SQLite, checkpoints in a
   * worker thread (src/db/checkpoints.ts). Commands that run and exit do without.
   */
  runInBackground(): void;
  /** Connections in use and idle (PostgreSQL); SQLite has one. */
  poolStats(): { total: number; idle: number; waiting: number };
  /**
   * With `force`, nothing is waited for: PostgreSQL's connections are cut at once, so a statement
   * still waiting for its answer fails, and a transaction not yet committed is rolled back by the
   * server (one whose COMMIT was already sent may still commit). SQLite closes as usual: its
   * statements run on the event loop, so none is under way when this runs.
   */
  close(options?: { force?: boolean }): Promise<void>;
}

export type DbConfig = Pick<
  Config,
  | "databaseUrl"
  | "databaseReplicaUrl"
  | "pgPoolMax"
  | "pgStatementTimeoutMs"
  | "pgConnectTimeoutMs"
  | "sqliteSynchronous"
>;

export function dialectOf(url: string): Dialect {
  return /^postgres(ql)?:\/\//.test(url) ? "postgres" : "sqlite";
}

/** What the startup line says of the database: kind and place, never a password. */
export function describeDatabase(url: string): Record<string, string | number> {
  if (dialectOf(url) === "sqlite") {
    const path = sqlitePath(url);
    return { database: "sqlite", path: path === ":memory:" ? path : resolve(path) };
  }
  const u = new URL(url);
  return {
    database: "postgres",
    host: u.hostname,
    port: Number(u.port || 5432),
    name: decodeURIComponent(u.pathname.slice(1)),
    user: decodeURIComponent(u.username),
  };
}

export function openDatabase(config: DbConfig): Db {
  return dialectOf(config.databaseUrl) === "postgres" ? openPostgres(config) : openSqlite(config);
}

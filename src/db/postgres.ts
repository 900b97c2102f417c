// PostgreSQL through node-postgres, loaded only when used: it is a fifth of a cold start.
import { createRequire } from "node:module";
import { Kysely, PostgresDialect, type PostgresPool, type PostgresPoolClient } from "kysely";
import type PgModule from "pg";
import type { Db, DbConfig } from "./database.js";
import type { Database } from "./types.js";
import { transactionPerWrite } from "./writes.js";

const require = createRequire(import.meta.url);
let pgModule: typeof PgModule | undefined;
function loadPg(): typeof PgModule {
  if (!pgModule) {
    pgModule = require("pg") as typeof PgModule;
    // node-postgres returns int8 as strings; our ids and counts fit a JS number.
    pgModule.types.setTypeParser(20, (v) => Number.parseInt(v, 10));
  }
  return pgModule;
}

export function openPostgres(config: DbConfig): Db {
  const pg = loadPg();
  const pool = new pg.Pool({
    connectionString: config.databaseUrl,
    max: config.pgPoolMax,
    connectionTimeoutMillis: config.pgConnectTimeoutMs,
    statement_timeout: config.pgStatementTimeoutMs,
    query_timeout: config.pgStatementTimeoutMs + 1000,
  });
  // An idle client that loses its server emits 'error' on the pool; without a listener
  // that would crash the process during a database outage.
  pool.on("error", () => {});
  // A client in use has no pool listener either: a connection dropped mid-query would crash the
  // process. Its queries still fail (and are answered 503); the pool then drops the client.
  pool.on("connect", (client) => client.on("error", () => {}));
  const kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool: endOnReadTimeout(pool) }) });
  return {
    kysely,
    dialect: "postgres",
    writes: transactionPerWrite(kysely),
    dataVersion: () => undefined,
    lastDataVersion: () => undefined,
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    close: () => kysely.destroy(),
  };
}

/**
 * A query that timed out on our side (query_timeout) leaves its connection waiting for an answer
 * that may never come. End that connection, so the rollback that follows fails at once instead of
 * waiting out a second timeout, and the pool opens a fresh one for the next request.
 */
function endOnReadTimeout(pool: PgModule.Pool): PostgresPool {
  return {
    connect: async () => {
      const client = await pool.connect();
      const query = (sql: string, params: readonly unknown[]) =>
        client.query(sql, [...params]).catch((err: unknown) => {
          if ((err as Error | undefined)?.message === "Query read timeout") client.end().catch(() => {});
          throw err;
        });
      return {
        // Only the (sql, parameters) form: nothing here streams through a cursor.
        query: query as unknown as PostgresPoolClient["query"],
        release: (destroy?: boolean) => client.release(destroy),
      };
    },
    end: () => pool.end(),
  };
}

// PostgreSQL through node-postgres, loaded only when used: it is a fifth of a cold start.
import { createRequire } from "node:module";
import { Kysely, PostgresDialect, type PostgresPool, type PostgresPoolClient } from "kysely";
import type PgModule from "pg";
import type { Db, DbConfig } from "./database.js";
import { stalePlan } from "./errors.js";
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
  // Every open connection, so a forced close can cut them all, also those in use.
  const clients = new Set<PgModule.PoolClient>();
  const pool = openPool(config.databaseUrl, config, clients);
  const kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool: endOnReadTimeout(pool) }) });
  const replica = config.databaseReplicaUrl ? openPool(config.databaseReplicaUrl, config, clients) : undefined;
  const pages = replica
    ? new Kysely<Database>({ dialect: new PostgresDialect({ pool: endOnReadTimeout(replica) }) })
    : kysely;
  return {
    kysely,
    pages,
    dialect: "postgres",
    writes: transactionPerWrite(kysely),
    dataVersion: () => undefined,
    lastDataVersion: () => undefined,
    runInBackground: () => {},
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    close: async ({ force = false } = {}) => {
      if (!force) {
        await kysely.destroy();
        if (pages !== kysely) await pages.destroy();
        return;
      }
      for (const client of clients) client.connection.stream.destroy();
      // The pools end once Kysely has given back the connections whose statements now fail.
      void kysely.destroy().catch(() => {});
      if (pages !== kysely) void pages.destroy().catch(() => {});
    },
  };
}

function openPool(url: string, config: DbConfig, clients: Set<PgModule.PoolClient>): PgModule.Pool {
  const pg = loadPg();
  const pool = new pg.Pool({
    connectionString: url,
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
  pool.on("connect", (client) => {
    client.on("error", () => {});
    clients.add(client);
  });
  pool.on("remove", (client) => clients.delete(client));
  return pool;
}

/**
 * Statement names by SQL text. A named statement is parsed and planned once per connection and
 * then only bound and run: the server, which shares the machine's cores, does a third less work
 * for the small indexed statements this service sends. The texts come from a fixed set of query
 * shapes, but lists of any length make new ones, so past the cap a text goes unnamed.
 */
const MAX_NAMED = 500;
const statementNames = new Map<string, string>();
function statementName(sql: string): string | undefined {
  let name = statementNames.get(sql);
  if (name === undefined && statementNames.size < MAX_NAMED) {
    name = `devusers_${statementNames.size + 1}`;
    statementNames.set(sql, name);
  }
  return name;
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
      let stale = false;
      const query = (sql: string, params: readonly unknown[]) =>
        client.query({ text: sql, values: [...params], name: statementName(sql) }).catch((err: unknown) => {
          if ((err as Error | undefined)?.message === "Query read timeout") client.end().catch(() => {});
          // A migration run meanwhile changed what a named statement returns; this connection's
          // statements are done for, so it leaves the pool and the next one prepares afresh.
          if (stalePlan(err)) stale = true;
          throw err;
        });
      return {
        // Only the (sql, parameters) form: nothing here streams through a cursor.
        query: query as unknown as PostgresPoolClient["query"],
        release: (destroy?: boolean) => client.release(destroy || stale),
      };
    },
    end: () => pool.end(),
  };
}

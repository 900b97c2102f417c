import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import SQLite from "better-sqlite3";
import {
  Kysely,
  PostgresDialect,
  type PostgresPool,
  type PostgresPoolClient,
  type SqliteDatabase,
  SqliteDialect,
  type SqliteStatement,
} from "kysely";
import type PgModule from "pg";
import type { Config } from "../config.js";
import { type DirectReader, registerDirectReader } from "./reads.js";
import type { Database } from "./types.js";
import { groupCommit, transactionPerWrite, type Writes } from "./writes.js";

export type Dialect = "sqlite" | "postgres";

export interface Db {
  kysely: Kysely<Database>;
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
  /** Connections in use and idle (PostgreSQL); SQLite has one. */
  poolStats(): { total: number; idle: number; waiting: number };
  close(): Promise<void>;
}

export type DbConfig = Pick<
  Config,
  "databaseUrl" | "pgPoolMax" | "pgStatementTimeoutMs" | "pgConnectTimeoutMs" | "sqliteSynchronous"
>;

export function dialectOf(url: string): Dialect {
  return /^postgres(ql)?:\/\//.test(url) ? "postgres" : "sqlite";
}

// node-postgres is loaded only when PostgreSQL is used: it is a fifth of a cold start.
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

export function openDatabase(config: DbConfig): Db {
  return dialectOf(config.databaseUrl) === "postgres" ? openPostgres(config) : openSqlite(config);
}

/** The file a SQLite DATABASE_URL names: a plain path, `sqlite:path` or `sqlite://path`. */
export function sqlitePath(url: string): string {
  if (url.startsWith("sqlite://")) return url.slice("sqlite://".length);
  if (url.startsWith("sqlite:")) return url.slice("sqlite:".length);
  return url;
}

function openSqlite(config: DbConfig): Db {
  const path = sqlitePath(config.databaseUrl);
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const conn = new SQLite(path);
  // WAL lets readers run beside the writer; synchronous decides what a commit survives
  // (FULL: power loss and OS crash; NORMAL: a process crash). See README "Durability".
  conn.pragma("journal_mode = WAL");
  conn.pragma(`synchronous = ${config.sqliteSynchronous}`);
  conn.pragma("busy_timeout = 5000");
  conn.pragma("foreign_keys = ON");
  // A second, read-only connection for reads outside transactions (src/db/reads.ts). WAL shows
  // it the last commit and never what an open group commit has written so far.
  const reader = path === ":memory:" ? undefined : new SQLite(path, { readonly: true });
  reader?.pragma("busy_timeout = 5000");
  // Our own statements that may write bump `local`; SQLite's data_version moves when another
  // connection (our writer seen from the reader, the CLI, a second process) commits. Together they
  // change on every change.
  let local = 0;
  const otherWriters = (reader ?? conn).prepare("pragma data_version").pluck();
  let seen = otherWriters.get();
  const dataVersion = () => {
    const v = otherWriters.get();
    if (v !== seen) {
      seen = v;
      local++;
    }
    return local;
  };
  const kysely = new Kysely<Database>({
    dialect: new SqliteDialect({ database: cachingStatements(conn, () => local++) }),
  });
  if (reader) registerDirectReader(kysely, directReader(reader));
  return {
    kysely,
    dialect: "sqlite",
    writes: groupCommit(kysely),
    dataVersion,
    lastDataVersion: () => local,
    poolStats: () => ({ total: 1, idle: 1, waiting: 0 }),
    close: async () => {
      await kysely.destroy();
      reader?.close();
    },
  };
}

/**
 * Kysely prepares every query anew; compiling SQL in SQLite costs more than running these small
 * indexed queries. Statements are reused by their text (the set is bounded: queries are built
 * from a fixed set of shapes).
 *
 * Kysely prepares each statement just before running it, so `onWrite` runs as any statement that
 * is not a plain SELECT is about to run. Transaction control (BEGIN, RELEASE, COMMIT) counts too:
 * SQLite calls it read-only, but it is what makes the writes visible.
 */
function cachingStatements(conn: SQLite.Database, onWrite: () => void): SqliteDatabase {
  const cache = new Map<string, { stmt: SQLite.Statement; writes: boolean }>();
  return {
    close: () => conn.close(),
    prepare: (sql: string) => {
      let entry = cache.get(sql);
      if (!entry) {
        if (cache.size >= 1000) cache.clear();
        const stmt = conn.prepare(sql);
        entry = { stmt, writes: !(stmt.readonly && /^\s*select\b/i.test(sql)) };
        cache.set(sql, entry);
      }
      if (entry.writes) onWrite();
      return entry.stmt as unknown as SqliteStatement;
    },
  };
}

function directReader(conn: SQLite.Database): DirectReader {
  const statements = new Map<string, { stmt: SQLite.Statement; row: (values: unknown[]) => unknown; width: number }>();
  return {
    all(sql, parameters) {
      let entry = statements.get(sql);
      if (!entry) {
        if (statements.size >= 1000) statements.clear();
        const stmt = conn.prepare(sql);
        const columns = stmt.columns().map((c) => c.name);
        stmt.raw(true);
        entry = { stmt, row: rowBuilder(columns), width: columns.length };
        statements.set(sql, entry);
      }
      const rows = entry.stmt.all(parameters) as unknown[][];
      // A migration run by another process can change what `select *` returns.
      if (rows.length > 0 && rows[0]!.length !== entry.width) {
        entry.stmt.raw(false);
        const columns = entry.stmt.columns().map((c) => c.name);
        entry.stmt.raw(true);
        entry.row = rowBuilder(columns);
        entry.width = columns.length;
      }
      return rows.map(entry.row);
    },
  };
}

/**
 * better-sqlite3 builds each row object through V8's C++ API, a property at a time: half the time
 * of a 50-user page. Rows read as arrays and turned into objects by a function made for the
 * statement's columns cost half as much. The names come from SQLite's own description of our
 * statements, quoted as JSON string literals.
 */
function rowBuilder(columns: string[]): (values: unknown[]) => unknown {
  const fields = columns.map((name, i) => `${JSON.stringify(name)}: v[${i}]`).join(", ");
  return new Function("v", `return { ${fields} };`) as (values: unknown[]) => unknown;
}

function openPostgres(config: DbConfig): Db {
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

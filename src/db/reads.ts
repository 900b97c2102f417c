// Where statements run on SQLite, besides through Kysely. better-sqlite3 is synchronous, so a
// statement can run at once on a connection nobody else is using at that moment:
// - a read outside a transaction runs on the read-only connection: WAL gives it the last commit,
//   so it never queues behind a group commit, nor behind Kysely's one-connection lock;
// - inside a group commit, the batch holds the writer, and its statements run on it directly.
// Anywhere else (PostgreSQL, other transactions) statements go through Kysely as usual.
import type { Compilable, Kysely } from "kysely";
import type { Database } from "./types.js";

/** Runs compiled SQL at once on a connection the caller may use right now. */
export interface DirectConnection {
  /** The rows of a statement that returns rows; [] for one that does not. */
  all(sql: string, parameters: readonly unknown[]): unknown[];
  /** The read connection takes only SELECTs; the writer, inside its batch, takes anything. */
  readonly writes: boolean;
}

const directConnections = new WeakMap<Kysely<Database>, DirectConnection>();

/** `db` is the database's main instance (reads) or a batch's connection, for as long as it holds. */
export function registerDirect(db: Kysely<Database>, conn: DirectConnection): void {
  directConnections.set(db, conn);
}

export function unregisterDirect(db: Kysely<Database>): void {
  directConnections.delete(db);
}

/** The connection behind `db` that statements may run on directly, if there is one. */
export function directFor(db: Kysely<Database>): DirectConnection | undefined {
  return directConnections.get(db);
}

/** All rows of a SELECT: directly where `db` has a direct connection, through Kysely otherwise. */
export async function readAll<R>(db: Kysely<Database>, query: Compilable<R>): Promise<R[]> {
  const compiled = query.compile();
  const direct = directConnections.get(db);
  if (direct) return direct.all(compiled.sql, compiled.parameters) as R[];
  return (await db.executeQuery(compiled)).rows;
}

export async function readFirst<R>(db: Kysely<Database>, query: Compilable<R>): Promise<R | undefined> {
  return (await readAll(db, query))[0];
}

/** Runs a write: directly on a batch's writer where there is one, through Kysely otherwise. */
export async function execute(db: Kysely<Database>, query: Compilable<unknown>): Promise<void> {
  const compiled = query.compile();
  const direct = directConnections.get(db);
  if (direct?.writes) direct.all(compiled.sql, compiled.parameters);
  else await db.executeQuery(compiled);
}

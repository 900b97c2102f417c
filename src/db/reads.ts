// Where reads run. On SQLite, outside a transaction, they run straight on the read connection:
// better-sqlite3 is synchronous and WAL gives that connection the last committed state, so a read
// never queues behind a group commit, nor behind Kysely's one-connection lock. Inside a
// transaction, and on PostgreSQL, they run through Kysely like any other query.
import type { Compilable, Kysely } from "kysely";
import type { Database } from "./types.js";

/** Runs compiled SQL at once on a connection that only ever sees committed data. */
export interface DirectReader {
  all(sql: string, parameters: readonly unknown[]): unknown[];
}

const directReaders = new WeakMap<Kysely<Database>, DirectReader>();

/** Called by openDatabase for its main instance; transactions are other instances, never direct. */
export function registerDirectReader(db: Kysely<Database>, reader: DirectReader): void {
  directReaders.set(db, reader);
}

/** All rows of a SELECT, from the read connection when `db` is not a transaction. */
export async function readAll<R>(db: Kysely<Database>, query: Compilable<R>): Promise<R[]> {
  const compiled = query.compile();
  const direct = directReaders.get(db);
  if (direct) return direct.all(compiled.sql, compiled.parameters) as R[];
  return (await db.executeQuery(compiled)).rows;
}

export async function readFirst<R>(db: Kysely<Database>, query: Compilable<R>): Promise<R | undefined> {
  return (await readAll(db, query))[0];
}

/** The read connection behind `db`, if it has one (SQLite, outside a transaction). */
export function directReaderFor(db: Kysely<Database>): DirectReader | undefined {
  return directReaders.get(db);
}

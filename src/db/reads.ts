// Where reads run. On SQLite, outside a transaction, they run straight on the read connection:
// better-sqlite3 is synchronous and WAL gives that connection the last committed state, so a read
// never queues behind a group commit, nor behind Kysely's one-connection lock. Inside a
// transaction, and on PostgreSQL, they run through Kysely like any other query.
//
// The hottest reads (the caller's row, a user by id, its identities) are also prepared: written
// once with Kysely's builder and compiled once per dialect, each call only supplies its values.
// Building and compiling cost about as much as SQLite takes to answer them.
import type { Compilable, CompiledQuery, Kysely } from "kysely";
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

/** Stands for the argument at `index` while the query is compiled. */
class Slot {
  constructor(readonly index: number) {}
}
const SLOTS = Array.from({ length: 8 }, (_, i) => new Slot(i));

interface Plan<R> {
  compiled: CompiledQuery<R>;
  /** For each parameter of the SQL: the argument it takes, or a value fixed by the query itself. */
  sources: (Slot | { value: unknown })[];
}

export interface PreparedRead<A extends unknown[], R> {
  all(db: Kysely<Database>, ...args: A): Promise<R[]>;
  first(db: Kysely<Database>, ...args: A): Promise<R | undefined>;
}

/**
 * `build` must give the same SQL whatever the arguments: it is called once, with placeholders,
 * and its arguments may only be used as values (no branching on them, no lists of their length).
 */
export function preparedRead<A extends unknown[], R>(
  build: (db: Kysely<Database>, ...args: A) => Compilable<R>,
): PreparedRead<A, R> {
  // Keyed by the dialect's adapter class: a transaction compiles the same SQL as its database.
  const plans = new Map<unknown, Plan<R>>();

  function plan(db: Kysely<Database>): Plan<R> {
    const dialect = db.getExecutor().adapter.constructor;
    let p = plans.get(dialect);
    if (!p) {
      const compiled = build(db, ...(SLOTS as unknown as A)).compile();
      const sources = compiled.parameters.map((v) => (v instanceof Slot ? v : { value: v }));
      p = { compiled, sources };
      plans.set(dialect, p);
    }
    return p;
  }

  async function all(db: Kysely<Database>, ...args: A): Promise<R[]> {
    const { compiled, sources } = plan(db);
    const parameters = sources.map((s) => (s instanceof Slot ? args[s.index] : s.value));
    const direct = directReaders.get(db);
    if (direct) return direct.all(compiled.sql, parameters) as R[];
    const result = await db.executeQuery<R>({ ...compiled, parameters });
    return result.rows;
  }

  return {
    all,
    first: async (db, ...args) => (await all(db, ...args))[0],
  };
}

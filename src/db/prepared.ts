// Statements of a fixed shape on the hot paths (the caller's row, a user by id, its identities, the
// statements of a link), written once with Kysely's builder and compiled once per dialect: each
// call only supplies its values. Building and compiling cost about as much as SQLite takes to
// run these indexed statements. They run directly where src/db/reads.ts allows (SQLite).
import type { Compilable, CompiledQuery, Kysely } from "kysely";
import { directFor } from "./reads.js";
import type { Database } from "./types.js";

/** Stands for the argument at `index` while the query is compiled. */
class Slot {
  constructor(readonly index: number) {}
}
const SLOTS = Array.from({ length: 16 }, (_, i) => new Slot(i));

interface Plan<R> {
  compiled: CompiledQuery<R>;
  /** Only a SELECT may run on the read connection. */
  select: boolean;
  /** For each parameter of the SQL: the argument it takes, or a value fixed by the query itself. */
  sources: (Slot | { value: unknown })[];
}

export interface Prepared<A extends unknown[], R> {
  all(db: Kysely<Database>, ...args: A): Promise<R[]>;
  first(db: Kysely<Database>, ...args: A): Promise<R | undefined>;
}

/**
 * `build` must give the same SQL whatever the arguments: it is called once, with placeholders,
 * and its arguments may only be used as values (no branching on them, no lists of their length).
 */
export function prepared<A extends unknown[], R>(
  build: (db: Kysely<Database>, ...args: A) => Compilable<R>,
): Prepared<A, R> {
  // Keyed by the dialect's adapter class: a transaction compiles the same SQL as its database.
  const plans = new Map<unknown, Plan<R>>();

  function plan(db: Kysely<Database>): Plan<R> {
    const dialect = db.getExecutor().adapter.constructor;
    let p = plans.get(dialect);
    if (!p) {
      const compiled = build(db, ...(SLOTS as unknown as A)).compile();
      const sources = compiled.parameters.map((v) => (v instanceof Slot ? v : { value: v }));
      p = { compiled, sources, select: compiled.query.kind === "SelectQueryNode" };
      plans.set(dialect, p);
    }
    return p;
  }

  async function all(db: Kysely<Database>, ...args: A): Promise<R[]> {
    const { compiled, sources, select } = plan(db);
    const parameters = sources.map((s) => (s instanceof Slot ? args[s.index] : s.value));
    const direct = directFor(db);
    if (direct && (select || direct.writes)) return direct.all(compiled.sql, parameters) as R[];
    const result = await db.executeQuery<R>({ ...compiled, parameters });
    return result.rows;
  }

  return {
    all,
    first: async (db, ...args) => (await all(db, ...args))[0],
  };
}

// Journal entries a group commit writes together, just before its COMMIT (SQLite). A unit of work
// hands its entries over when its savepoint is released, and they are dropped with it when it is
// rolled back; the batch then writes them all in a few multi-row INSERTs. Measured: one INSERT per
// entry, interleaved with each unit's other statements, cost link 2.5 times its time; written
// together at the end of the batch, a few microseconds each (docs/performance.md).
import type { Kysely } from "kysely";
import type { Database, NewJournalEntry } from "./types.js";

const units = new WeakMap<Kysely<Database>, NewJournalEntry[]>();

/** Within a batch: where the current unit's entries wait, if `db` is a batch's connection. */
export function pendingAppends(db: Kysely<Database>): NewJournalEntry[] | undefined {
  return units.get(db);
}

export function beginUnit(db: Kysely<Database>): NewJournalEntry[] {
  const pending: NewJournalEntry[] = [];
  units.set(db, pending);
  return pending;
}

export function endUnits(db: Kysely<Database>): void {
  units.delete(db);
}

const cleared = new WeakSet<Kysely<Database>>();

/**
 * The unit under way deleted the whole journal (a reset): the entries of the batch's earlier units
 * go with it, as if they had been written before it.
 */
export function journalCleared(db: Kysely<Database>): void {
  if (units.has(db)) cleared.add(db);
}

/** Whether the unit that just ended cleared the journal; asking forgets it. */
export function takeCleared(db: Kysely<Database>): boolean {
  return cleared.delete(db);
}

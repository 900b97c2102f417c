// The change journal's rows. On PostgreSQL appending is two statements: take the org's next seq
// from its journal head (which locks the head until the transaction ends, so the org's
// journalled writes commit in seq order), then insert. Services record last in a transaction:
// whoever holds a head waits for nothing but its commit. On SQLite, where writers take turns
// anyway, a group commit writes its units' entries together.
import { type Kysely, PostgresAdapter, sql } from "kysely";
import { journalCleared, pendingAppends } from "../deferred-appends.js";
import { prepared } from "../prepared.js";
import { execute } from "../reads.js";
import type { Database, JournalRow, NewJournalEntry } from "../types.js";

const takeSeq = prepared((db, orgId: number) =>
  db
    .insertInto("journal_heads")
    .values({ org_id: orgId, next_seq: 2 })
    .onConflict((oc) => oc.column("org_id").doUpdateSet((eb) => ({ next_seq: eb("journal_heads.next_seq", "+", 1) })))
    .returning("next_seq"),
);

/**
 * Appends an entry in the calling transaction. Inside an SQLite group commit it is written with
 * the batch's others just before the commit (src/db/deferred-appends.ts); otherwise at once.
 */
export async function appendJournalEntry(db: Kysely<Database>, e: NewJournalEntry): Promise<void> {
  const pending = pendingAppends(db);
  if (pending) {
    pending.push(e);
    return;
  }
  if (!(db.getExecutor().adapter instanceof PostgresAdapter)) {
    await writeJournalEntries(db, [e]);
    return;
  }
  const head = await takeSeq.first(db, e.org_id);
  if (!head) throw new Error(`no journal head for org ${e.org_id}`);
  await db
    .insertInto("journal")
    .values({ ...e, seq: Number(head.next_seq) - 1 })
    .execute();
}

const lastSeq = prepared((db, orgId: number) =>
  db.selectFrom("journal").select("seq").where("org_id", "=", orgId).orderBy("seq", "desc").limit(sql.lit(1)),
);

const CHUNK = 64;

/** The org's last entry's seq, or 0. */
export async function lastJournalSeq(db: Kysely<Database>, orgId: number): Promise<number> {
  return Number((await lastSeq.first(db, orgId))?.seq ?? 0);
}

/**
 * SQLite, whose writers take turns: each org's next seqs follow its last entry's, in the order
 * given, in multi-row INSERTs.
 */
export async function writeJournalEntries(db: Kysely<Database>, entries: NewJournalEntry[]): Promise<void> {
  const next = new Map<number, number>();
  const rows = [];
  for (const e of entries) {
    let seq = next.get(e.org_id);
    if (seq === undefined) seq = (await lastJournalSeq(db, e.org_id)) + 1;
    next.set(e.org_id, seq + 1);
    rows.push({ ...e, seq });
  }
  for (let i = 0; i < rows.length; i += CHUNK) {
    await execute(db, db.insertInto("journal").values(rows.slice(i, i + CHUNK)));
  }
}

export interface JournalQuery {
  orgId: number;
  /** Entries about this object, as the object or as the related object (a merge's secondary). */
  object?: { type: string; id: number };
  actor?: { type: string; id: number | null };
  operations?: string[];
  /** created_date bounds, inclusive, as ISO strings. */
  from?: string;
  to?: string;
  /** Keyset boundary: entries with a seq beyond it, in the direction of `order`. */
  beyond?: number;
  order: "asc" | "desc";
  limit: number;
}

export async function listJournal(db: Kysely<Database>, q: JournalQuery): Promise<JournalRow[]> {
  let query = db.selectFrom("journal").selectAll().where("org_id", "=", q.orgId);
  if (q.object) {
    const { type, id } = q.object;
    query = query.where((eb) =>
      eb.and([eb("object_type", "=", type), eb.or([eb("object_id", "=", id), eb("related_id", "=", id)])]),
    );
  }
  if (q.actor) {
    query = query.where("actor_type", "=", q.actor.type);
    if (q.actor.id !== null) query = query.where("actor_id", "=", q.actor.id);
  }
  if (q.operations?.length) query = query.where("operation", "in", q.operations);
  if (q.from !== undefined) query = query.where("created_date", ">=", q.from);
  if (q.to !== undefined) query = query.where("created_date", "<=", q.to);
  if (q.beyond !== undefined) query = query.where("seq", q.order === "desc" ? "<" : ">", q.beyond);
  return query.orderBy("seq", q.order).limit(q.limit).execute();
}

export async function deleteJournal(db: Kysely<Database>): Promise<void> {
  journalCleared(db);
  await db.deleteFrom("journal").execute();
  await db.deleteFrom("journal_heads").execute();
}

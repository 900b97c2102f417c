// The change journal's rows. On PostgreSQL appending is one statement: take the org's next seq
// from its journal head (which locks the head until the transaction ends, so the org's
// journalled writes commit in seq order) and insert the entry with it. Services record last in a transaction:
// whoever holds a head waits for nothing but its commit. On SQLite, where writers take turns
// anyway, a group commit writes its units' entries together.
import { type Kysely, PostgresAdapter, type RawBuilder, sql } from "kysely";
import { journalCleared, pendingAppends } from "../deferred-appends.js";
import { prepared } from "../prepared.js";
import type { Database, JournalRow, NewJournalEntry } from "../types.js";

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
  // One round trip: the head's next seq taken and the entry written by the same statement.
  const { rows } = await sql<{ seq: number }>`with ${journalCtes(e)} select seq from entry`.execute(db);
  if (rows.length !== 1) throw new Error(`no journal head for org ${e.org_id}`);
}

/**
 * PostgreSQL: the CTEs `head` and `entry` of a data-modifying statement, which take the org's next
 * seq and write `e` with it: once, or once for each row of the statement's CTE `per` (none when it
 * has none). `objectId` and `after` replace the entry's own values with SQL over that CTE's row.
 */
export function journalCtes(
  e: Omit<NewJournalEntry, "object_id" | "after"> & Partial<Pick<NewJournalEntry, "object_id" | "after">>,
  o: { per?: string; objectId?: RawBuilder<unknown>; after?: RawBuilder<unknown> } = {},
): RawBuilder<unknown> {
  const per = o.per === undefined ? sql`` : sql` from ${sql.table(o.per)}`;
  const from = o.per === undefined ? sql`head` : sql`head, ${sql.table(o.per)}`;
  return sql`head as (
      insert into journal_heads (org_id, next_seq) select ${e.org_id}, 2${per}
      on conflict (org_id) do update set next_seq = journal_heads.next_seq + 1
      returning next_seq
    ), entry as (
      insert into journal (org_id, seq, created_date, actor_type, actor_id, operation, object_type,
        object_id, related_id, before, after, details, request_id)
      select ${e.org_id}, head.next_seq - 1, ${e.created_date}, ${e.actor_type}, ${e.actor_id ?? null},
        ${e.operation}, ${e.object_type}, ${o.objectId ?? sql`${e.object_id ?? null}`}, ${e.related_id ?? null},
        ${e.before ?? null}, ${o.after ?? sql`${e.after ?? null}`}, ${e.details ?? null}, ${e.request_id ?? null}
      from ${from}
      returning seq
    )`;
}

const insertOne = (db: Kysely<Database>, e: NewJournalEntry, seq: number) =>
  insertEntry.all(
    db,
    e.org_id,
    seq,
    e.created_date,
    e.actor_type,
    e.actor_id ?? null,
    e.operation,
    e.object_type,
    e.object_id ?? null,
    e.related_id ?? null,
    e.before ?? null,
    e.after ?? null,
    e.details ?? null,
    e.request_id ?? null,
  );

const lastSeq = prepared((db, orgId: number) =>
  db.selectFrom("journal").select("seq").where("org_id", "=", orgId).orderBy("seq", "desc").limit(sql.lit(1)),
);

/**
 * One entry, prepared once: run per entry on the batch's writer, it costs SQLite what a multi-row
 * INSERT does, without Kysely building and compiling a statement of each batch's size.
 */
const insertEntry = prepared(
  (
    db,
    org_id: number,
    seq: number,
    created_date: string,
    actor_type: string,
    actor_id: number | null,
    operation: string,
    object_type: string,
    object_id: number | null,
    related_id: number | null,
    before: string | null,
    after: string | null,
    details: string | null,
    request_id: string | null,
  ) =>
    db.insertInto("journal").values({
      org_id,
      seq,
      created_date,
      actor_type,
      actor_id,
      operation,
      object_type,
      object_id,
      related_id,
      before,
      after,
      details,
      request_id,
    }),
);

const headOf = prepared((db, orgId: number) =>
  db.selectFrom("journal_heads").select("next_seq").where("org_id", "=", orgId),
);

/**
 * The org's journal head: the seq its next entry takes on PostgreSQL, 0 if it has none yet. It
 * only grows, and every journalled write moves it, so a replica that shows a head has replayed
 * every write committed before the primary showed that head.
 */
export async function journalHead(db: Kysely<Database>, orgId: number): Promise<number> {
  return Number((await headOf.first(db, orgId))?.next_seq ?? 0);
}

/** The org's last entry's seq, or 0. */
export async function lastJournalSeq(db: Kysely<Database>, orgId: number): Promise<number> {
  return Number((await lastSeq.first(db, orgId))?.seq ?? 0);
}

/**
 * SQLite, whose writers take turns: each org's next seqs follow its last entry's, in the order
 * given.
 */
export async function writeJournalEntries(db: Kysely<Database>, entries: NewJournalEntry[]): Promise<void> {
  const next = new Map<number, number>();
  for (const e of entries) {
    let seq = next.get(e.org_id);
    if (seq === undefined) seq = (await lastJournalSeq(db, e.org_id)) + 1;
    next.set(e.org_id, seq + 1);
    await insertOne(db, e, seq);
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

/** Entries per block of the object index (migration journal-object-blocks-64): seq >> 6. */
const BLOCK_BITS = 6;
/** Blocks asked for in one statement (4,096 entries); each is one seek of the index. */
const BLOCKS_PER_QUERY = 64;

export async function listJournal(db: Kysely<Database>, q: JournalQuery): Promise<JournalRow[]> {
  if (!q.object) return filtered(db, q).orderBy("seq", q.order).limit(q.limit).execute();
  const { type, id } = q.object;
  // A merge names its secondary as the related object: few entries, from their own index.
  const related = await filtered(db, q)
    .where("object_type", "=", type)
    .where("related_id", "=", id)
    .orderBy("seq", q.order)
    .limit(q.limit)
    .execute();
  // The object's own entries, block by block from the boundary on, until the page is full: each
  // block is one seek of (org_id, seq >> 6, object_type, object_id).
  const last = await lastJournalSeq(db, q.orgId);
  const blockOf = (seq: number) => Math.floor(seq / 2 ** BLOCK_BITS);
  const lastBlock = blockOf(last);
  const desc = q.order === "desc";
  let block = desc
    ? blockOf(q.beyond === undefined ? last : q.beyond - 1)
    : blockOf(q.beyond === undefined ? 0 : q.beyond + 1);
  const own: JournalRow[] = [];
  while (own.length < q.limit && (desc ? block >= 0 : block <= lastBlock)) {
    const blocks: number[] = [];
    for (let i = 0; i < BLOCKS_PER_QUERY && (desc ? block >= 0 : block <= lastBlock); i++) {
      blocks.push(block);
      block += desc ? -1 : 1;
    }
    own.push(
      ...(await filtered(db, q)
        .where("object_type", "=", type)
        .where("object_id", "=", id)
        .where(sql`seq >> ${sql.lit(BLOCK_BITS)}`, "in", blocks)
        // `+seq`: ordered by seq itself, SQLite would walk the org's whole (org_id, seq) index
        // rather than seek the blocks; the few rows found are sorted instead.
        .orderBy(sql`+seq`, q.order)
        .limit(q.limit - own.length)
        .execute()),
    );
  }
  const rows = [...own, ...related];
  rows.sort((a, b) => (desc ? Number(b.seq) - Number(a.seq) : Number(a.seq) - Number(b.seq)));
  return rows.slice(0, q.limit);
}

/** The query's filters other than the object. */
function filtered(db: Kysely<Database>, q: JournalQuery) {
  let query = db.selectFrom("journal").selectAll().where("org_id", "=", q.orgId);
  if (q.actor) {
    query = query.where("actor_type", "=", q.actor.type);
    if (q.actor.id !== null) query = query.where("actor_id", "=", q.actor.id);
  }
  if (q.operations?.length) query = query.where("operation", "in", q.operations);
  if (q.from !== undefined) query = query.where("created_date", ">=", q.from);
  if (q.to !== undefined) query = query.where("created_date", "<=", q.to);
  if (q.beyond !== undefined) query = query.where("seq", q.order === "desc" ? "<" : ">", q.beyond);
  return query;
}

export async function deleteJournal(db: Kysely<Database>): Promise<void> {
  journalCleared(db);
  await db.deleteFrom("journal").execute();
  await db.deleteFrom("journal_heads").execute();
}

// Webhook deliveries: made from the journal (fan-out), taken by a worker under a lease, and
// settled with their outcome. On PostgreSQL several instances share them: a cursor row locked with
// SKIP LOCKED makes one instance at a time fan out an org, and a delivery is taken by one
// instance until its lease ends.
import { type Insertable, type Kysely, PostgresAdapter, sql } from "kysely";
import type { Database, DeliveryRow, JournalRow, WebhookDeliveriesTable, WebhookRow } from "../types.js";

const isPostgres = (db: Kysely<Database>) => db.getExecutor().adapter instanceof PostgresAdapter;

/**
 * `state = 'pending'` as a literal. Given a parameter instead, SQLite cannot tell at preparation
 * whether the partial index of pending deliveries applies, and prepares the statement again at
 * every run (four times the cost of a small read).
 */
const PENDING = sql.lit("pending");

/** A delivery as fan-out makes it: pending, due at once, not yet attempted. */
export type NewDelivery = Pick<
  Insertable<WebhookDeliveriesTable>,
  "org_id" | "webhook_id" | "journal_seq" | "event_id" | "type" | "ordering_key" | "body" | "created_date"
>;

/**
 * Orgs whose journal has entries no delivery has been made from yet: per org, its last entry (one
 * index entry) against its cursor.
 */
export async function orgsWithNewEntries(db: Kysely<Database>): Promise<number[]> {
  const rows = await db
    .selectFrom("orgs as o")
    .leftJoin("delivery_cursors as c", "c.org_id", "o.id")
    .select((eb) => [
      "o.id",
      "c.last_seq",
      eb
        .selectFrom("journal as j")
        .select("j.seq")
        .whereRef("j.org_id", "=", "o.id")
        .orderBy("j.seq", "desc")
        .limit(1)
        .as("last"),
    ])
    .execute();
  return rows.filter((r) => r.last !== null && Number(r.last) > Number(r.last_seq ?? 0)).map((r) => Number(r.id));
}

/** Whether any webhook is active or awaiting its handshake, in any org: else the worker rests. */
export async function anyLiveWebhook(db: Kysely<Database>): Promise<boolean> {
  const row = await db
    .selectFrom("webhooks")
    .select("id")
    .where("status", "in", ["active", "unverified"])
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/** The seq of the entry that last made a webhook active (its handshake), or 0. */
export async function activeSinceSeq(db: Kysely<Database>, orgId: number, webhookNumber: number): Promise<number> {
  const row = await db
    .selectFrom("journal")
    .select("seq")
    .where("org_id", "=", orgId)
    .where("object_type", "=", "webhook")
    .where("object_id", "=", webhookNumber)
    // A literal, so that SQLite sees the partial index of handshakes applies (as PENDING).
    .where("operation", "=", sql.lit("webhooks.verify"))
    .orderBy("seq", "desc")
    .limit(1)
    .executeTakeFirst();
  return Number(row?.seq ?? 0);
}

/** Whether any delivery is due now (a read, so an idle worker takes no write lock). */
export async function anyDue(db: Kysely<Database>, now: string): Promise<boolean> {
  const row = await db
    .selectFrom("webhook_deliveries")
    .select("id")
    .where("state", "=", PENDING)
    .where("next_attempt_date", "<=", now)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * In the calling transaction: the org's last fanned-out seq, locked so no other instance fans the
 * org out meanwhile; undefined when another instance holds it (PostgreSQL).
 */
export async function lockCursor(db: Kysely<Database>, orgId: number): Promise<number | undefined> {
  await db
    .insertInto("delivery_cursors")
    .values({ org_id: orgId, last_seq: 0 })
    .onConflict((oc) => oc.doNothing())
    .execute();
  let q = db.selectFrom("delivery_cursors").select("last_seq").where("org_id", "=", orgId);
  if (isPostgres(db)) q = q.forUpdate().skipLocked();
  const row = await q.executeTakeFirst();
  return row === undefined ? undefined : Number(row.last_seq);
}

export async function moveCursor(db: Kysely<Database>, orgId: number, lastSeq: number): Promise<void> {
  await db.updateTable("delivery_cursors").set({ last_seq: lastSeq }).where("org_id", "=", orgId).execute();
}

export function entriesAfter(
  db: Kysely<Database>,
  orgId: number,
  afterSeq: number,
  limit: number,
): Promise<JournalRow[]> {
  return db
    .selectFrom("journal")
    .selectAll()
    .where("org_id", "=", orgId)
    .where("seq", ">", afterSeq)
    .orderBy("seq")
    .limit(limit)
    .execute();
}

export function webhooksOfOrg(db: Kysely<Database>, orgId: number): Promise<WebhookRow[]> {
  return db.selectFrom("webhooks").selectAll().where("org_id", "=", orgId).orderBy("id").execute();
}

export async function insertDeliveries(db: Kysely<Database>, rows: NewDelivery[], now: string): Promise<void> {
  for (let i = 0; i < rows.length; i += 64) {
    await db
      .insertInto("webhook_deliveries")
      .values(rows.slice(i, i + 64).map((r) => ({ ...r, state: "pending", next_attempt_date: now })))
      .execute();
  }
}

/** The active webhooks that may be sent to now: not paused, or paused until before `now`. */
export function servableWebhooks(
  db: Kysely<Database>,
  now: string,
): Promise<Pick<WebhookRow, "id" | "consecutive_failures">[]> {
  return db
    .selectFrom("webhooks")
    .select(["id", "consecutive_failures"])
    .where("status", "=", "active")
    .where((eb) => eb.or([eb("paused_until", "is", null), eb("paused_until", "<=", now)]))
    .orderBy("id")
    .execute();
}

/**
 * Takes up to `limit` of one webhook's deliveries that are due, each the earliest unsettled one of
 * its ordering key (so the webhook's events about one object go out in journal order), and leases
 * them until `leaseUntil`. A lease that ran out (its worker died) makes the delivery due again.
 *
 * Longest due first, in the order of the webhook's index of pending deliveries, so the scan stops
 * after `limit` takers whatever the backlog, and another webhook's backlog is never read.
 */
export async function claimDueOf(
  db: Kysely<Database>,
  webhookId: number,
  now: string,
  leaseUntil: string,
  limit: number,
): Promise<DeliveryRow[]> {
  const due = db
    .selectFrom("webhook_deliveries as d")
    .select("d.id")
    .where("d.webhook_id", "=", webhookId)
    .where("d.state", "=", PENDING)
    .where("d.next_attempt_date", "<=", now)
    .where((eb) => eb.or([eb("d.lease_until", "is", null), eb("d.lease_until", "<", now)]))
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom("webhook_deliveries as e")
            .select(sql.lit(1).as("one"))
            .whereRef("e.webhook_id", "=", "d.webhook_id")
            .whereRef("e.ordering_key", "=", "d.ordering_key")
            .where("e.state", "=", PENDING)
            .where(({ eb, refTuple }) => eb(refTuple("e.journal_seq", "e.id"), "<", refTuple("d.journal_seq", "d.id"))),
        ),
      ),
    )
    .orderBy("d.next_attempt_date")
    .limit(limit);
  const locked = isPostgres(db) ? due.forUpdate().skipLocked() : due;
  return db
    .updateTable("webhook_deliveries")
    .set({ lease_until: leaseUntil })
    .where("id", "in", locked)
    .returningAll()
    .execute();
}

export interface Outcome {
  status: number | null;
  error: string | null;
  latencyMs: number;
}

export async function settleDelivered(db: Kysely<Database>, id: number, lease: string, o: Outcome, now: string) {
  await db
    .updateTable("webhook_deliveries")
    .set((eb) => ({
      state: "delivered",
      attempts: eb("attempts", "+", 1),
      lease_until: null,
      last_status: o.status,
      last_error: null,
      last_latency_ms: o.latencyMs,
      delivered_date: now,
    }))
    .where("id", "=", id)
    .where("lease_until", "=", lease)
    .execute();
}

/** A failed attempt: tried again at `retryAt`, or failed for good when `retryAt` is undefined. */
export async function settleFailed(
  db: Kysely<Database>,
  id: number,
  lease: string,
  o: Outcome,
  retryAt: string | undefined,
): Promise<void> {
  await db
    .updateTable("webhook_deliveries")
    .set((eb) => ({
      state: retryAt === undefined ? "failed" : "pending",
      attempts: eb("attempts", "+", 1),
      lease_until: null,
      last_status: o.status,
      last_error: o.error,
      last_latency_ms: o.latencyMs,
      ...(retryAt === undefined ? {} : { next_attempt_date: retryAt }),
    }))
    .where("id", "=", id)
    .where("lease_until", "=", lease)
    .execute();
}

/** Not sent (its webhook is not active): due again at `at`, no attempt used. */
export async function holdBack(db: Kysely<Database>, id: number, lease: string, at: string): Promise<void> {
  await db
    .updateTable("webhook_deliveries")
    .set({ lease_until: null, next_attempt_date: at })
    .where("id", "=", id)
    .where("lease_until", "=", lease)
    .execute();
}

/**
 * The deliveries queued behind a failed one (same webhook and object) are not due before it is
 * retried: otherwise every round would find them due and blocked, and scan them all again.
 */
export async function postponeSuccessors(db: Kysely<Database>, d: DeliveryRow, retryAt: string): Promise<void> {
  await db
    .updateTable("webhook_deliveries")
    .set({ next_attempt_date: retryAt })
    .where("webhook_id", "=", d.webhook_id)
    .where("ordering_key", "=", d.ordering_key)
    .where("state", "=", PENDING)
    .where("journal_seq", ">", d.journal_seq)
    .where("next_attempt_date", "<", retryAt)
    .execute();
}

/**
 * A round's outcome for a webhook: a success clears its failures and its pause; a failure counts
 * one more and pauses it for what `pauseFor` makes of the new count. Returns that count.
 */
export async function recordHealth(
  db: Kysely<Database>,
  webhookId: number,
  ok: boolean,
  error: string | null,
  now: string,
  pauseFor: (failures: number) => string,
): Promise<number> {
  const row = await db
    .updateTable("webhooks")
    .set((eb) =>
      ok
        ? { consecutive_failures: 0, failing_since: null, last_error: null, paused_until: null }
        : {
            consecutive_failures: eb("consecutive_failures", "+", 1),
            failing_since: eb.fn.coalesce("failing_since", sql.val(now)),
            last_error: error,
          },
    )
    .where("id", "=", webhookId)
    .returning("consecutive_failures")
    .executeTakeFirst();
  const failures = Number(row?.consecutive_failures ?? 0);
  if (!ok && row) {
    await db
      .updateTable("webhooks")
      .set({ paused_until: pauseFor(failures) })
      .where("id", "=", webhookId)
      .execute();
  }
  return failures;
}

/** Sends to a webhook again at once: a redelivery, or a new handshake passed. */
export async function unpause(db: Kysely<Database>, webhookId: number): Promise<void> {
  await db.updateTable("webhooks").set({ paused_until: null }).where("id", "=", webhookId).execute();
}

export interface DeliveryPage {
  webhookId: number;
  /** Keyset boundary: deliveries with a smaller id (newest first). */
  beforeId?: number;
  limit: number;
}

export function listDeliveries(db: Kysely<Database>, p: DeliveryPage): Promise<DeliveryRow[]> {
  let q = db.selectFrom("webhook_deliveries").selectAll().where("webhook_id", "=", p.webhookId);
  if (p.beforeId !== undefined) q = q.where("id", "<", p.beforeId);
  return q.orderBy("id", "desc").limit(p.limit).execute();
}

/** Makes settled deliveries of a webhook due again: one event, or those made in a time range. */
export async function redeliver(
  db: Kysely<Database>,
  webhookId: number,
  which: { eventId?: string; from?: string; to?: string },
  now: string,
): Promise<number> {
  let q = db
    .updateTable("webhook_deliveries")
    .set({ state: "pending", next_attempt_date: now, lease_until: null, delivered_date: null })
    .where("webhook_id", "=", webhookId)
    .where("state", "in", ["delivered", "failed"]);
  if (which.eventId !== undefined) q = q.where("event_id", "=", which.eventId);
  if (which.from !== undefined) q = q.where("created_date", ">=", which.from);
  if (which.to !== undefined) q = q.where("created_date", "<=", which.to);
  const res = await q.executeTakeFirst();
  return Number(res.numUpdatedRows);
}

/** Unverified webhooks whose handshake is still open. */
export function awaitingVerification(db: Kysely<Database>, now: string): Promise<WebhookRow[]> {
  return db
    .selectFrom("webhooks")
    .selectAll()
    .where("status", "=", "unverified")
    .where("verify_challenge", "is not", null)
    .where("verify_deadline", ">", now)
    .orderBy("id")
    .execute();
}

/**
 * Pending deliveries made before `cutoff` fail for good, up to `limit` of them: their retry window
 * is over, attempted or not (a paused webhook's wait uses no attempts). From the due index: a
 * delivery is never due before it was made.
 */
export async function expirePending(db: Kysely<Database>, cutoff: string, limit: number): Promise<number> {
  const old = db
    .selectFrom("webhook_deliveries")
    .select("id")
    .where("state", "=", PENDING)
    .where("next_attempt_date", "<", cutoff)
    .where("created_date", "<", cutoff)
    .where("lease_until", "is", null)
    .limit(limit);
  const res = await db
    .updateTable("webhook_deliveries")
    .set({ state: "failed", last_error: "not delivered within WEBHOOK_RETRY_WINDOW" })
    .where("id", "in", old)
    .executeTakeFirst();
  return Number(res.numUpdatedRows);
}

/**
 * Removes settled deliveries made before `cutoff` among the `limit` oldest deliveries after id
 * `afterId` (by primary key, so a round reads at most `limit` rows whatever the log's size).
 * Returns how many it removed and the last id it read (undefined when none was older).
 */
export async function pruneSettled(
  db: Kysely<Database>,
  cutoff: string,
  afterId: number,
  limit: number,
): Promise<{ removed: number; lastOld: number | undefined }> {
  const rows = await db
    .selectFrom("webhook_deliveries")
    .select(["id", "state", "created_date"])
    .where("id", ">", afterId)
    .orderBy("id")
    .limit(limit)
    .execute();
  const old = rows.filter((r) => r.created_date < cutoff);
  const settled = old.filter((r) => r.state !== "pending").map((r) => Number(r.id));
  if (settled.length > 0) await db.deleteFrom("webhook_deliveries").where("id", "in", settled).execute();
  // Deliveries are made in time order: once one is newer than the cutoff, the rest are too.
  const lastOld = old.length === rows.length && rows.length > 0 ? Number(rows.at(-1)!.id) : undefined;
  return { removed: settled.length, lastOld };
}

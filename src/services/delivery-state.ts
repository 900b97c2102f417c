// The delivery worker's bookkeeping, each step its own transaction: turning journal entries into
// deliveries, taking due deliveries under a lease, and settling them. These write only delivery
// state (deliveries, cursors, a webhook's health), which is not a change to the directory, so
// they are not journalled; everything else writes through journalled().

import {
  activeSinceSeq,
  anyDue,
  anyLiveWebhook,
  awaitingVerification,
  claimDueOf,
  entriesAfter,
  expirePending,
  holdBack,
  insertDeliveries,
  lockCursor,
  moveCursor,
  type NewDelivery,
  orgsWithNewEntries,
  postponeSuccessors,
  pruneSettled,
  recordHealth,
  servableWebhooks,
  settleDelivered,
  settleFailed,
  webhooksOfOrg,
} from "../db/repositories/deliveries.js";
import { lastJournalSeq } from "../db/repositories/journal.js";
import { findOrgById } from "../db/repositories/orgs.js";
import { findWebhook } from "../db/repositories/webhooks.js";
import type { DeliveryRow, WebhookRow } from "../db/types.js";
import { envelope, eventsOf, eventTypesOf } from "../delivery/events.js";
import type { Attempt } from "../delivery/sender.js";
import type { Deps } from "./context.js";
import { decodeEntries } from "./journal-codec.js";

/** Journal entries an org's fan-out reads in one round, at most. */
const FAN_OUT_PAGE = 500;
/**
 * Deliveries one fan-out transaction makes, about (an entry may be more than one event): the
 * round's entries are taken in as many transactions as it needs. 500 entries for 100 webhooks in
 * one transaction made 50,000 deliveries at once, holding about 80 MiB, the SQLite writer and the
 * event loop for 4 s.
 */
const FAN_OUT_DELIVERIES = 2_000;

export interface RetryPolicy {
  maxAttempts: number;
  retryWindowSeconds: number;
  /** The first retry's delay; each next one doubles, with jitter, up to an hour. */
  baseDelayMs: number;
  /** The longest pause between probes of a webhook whose receiver fails. */
  maxPauseMs: number;
}

export const orgsToFanOut = (deps: Deps) => orgsWithNewEntries(deps.db.kysely);
export const anyWebhookToServe = (deps: Deps) => anyLiveWebhook(deps.db.kysely);
export const pendingVerifications = (deps: Deps) => awaitingVerification(deps.db.kysely, deps.now());
export const webhookRow = (deps: Deps, id: number): Promise<WebhookRow | undefined> => findWebhook(deps.db.kysely, id);

export async function orgSlugs(deps: Deps, ids: number[]): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  for (const id of ids) {
    const org = await findOrgById(deps.db.kysely, id);
    if (org) out.set(id, org.slug);
  }
  return out;
}

/**
 * Turns an org's next journal entries into deliveries for its active webhooks that subscribe to
 * them, and moves the org's cursor past them. Returns the entries read (0 when there were none, or
 * another instance holds the org).
 */
export async function fanOutOrg(deps: Deps, orgId: number): Promise<number> {
  let read = 0;
  while (read < FAN_OUT_PAGE) {
    const page = await fanOutPage(deps, orgId, FAN_OUT_PAGE - read);
    read += page.read;
    if (!page.more) break;
    // Requests that arrived meanwhile get to the writer before the next page.
    await new Promise((resolve) => setImmediate(resolve));
  }
  return read;
}

/** One transaction of fanOutOrg: up to `limit` entries, fewer the more webhooks there are. */
function fanOutPage(deps: Deps, orgId: number, limit: number): Promise<{ read: number; more: boolean }> {
  const none = { read: 0, more: false };
  return deps.db.writes.run(async (trx) => {
    const last = await lockCursor(trx, orgId);
    if (last === undefined) return none;
    const webhooks = (await webhooksOfOrg(trx, orgId)).filter((w) => w.status === "active");
    // No webhook to send to: nothing to read or render, the cursor moves to the end. (A webhook
    // made meanwhile receives only what comes after its own creation.)
    if (webhooks.length === 0) {
      const end = await lastJournalSeq(trx, orgId);
      if (end > last) await moveCursor(trx, orgId, end);
      return none;
    }
    const pageSize = Math.max(1, Math.min(limit, Math.floor(FAN_OUT_DELIVERIES / webhooks.length)));
    const rows = await entriesAfter(trx, orgId, last, pageSize);
    if (rows.length === 0) return none;
    const org = await findOrgById(trx, orgId);
    if (!org) return none;
    const wanted = new Set(webhooks.flatMap((w) => JSON.parse(w.event_types) as string[]));
    // A webhook receives what was committed after it last became active (its handshake), never
    // what came before: its creation, or a time it was deactivated or awaiting a new handshake.
    const since = new Map<number, number>();
    for (const w of webhooks) since.set(w.id, await activeSinceSeq(trx, orgId, Number(w.number)));
    // Only entries some webhook subscribes to are read further.
    const relevant = rows.filter((r) => eventTypesOf(r.operation).some((t) => wanted.has(t)));
    const decoded = await decodeEntries(trx, orgId, org.slug, relevant);
    const now = deps.now();
    const out: NewDelivery[] = [];
    relevant.forEach((row, i) => {
      const events = eventsOf(org.slug, row, decoded[i]!);
      for (const w of webhooks) {
        if (Number(row.seq) <= since.get(w.id)!) continue;
        const subscribed = new Set(JSON.parse(w.event_types) as string[]);
        events.forEach((event, k) => {
          if (!subscribed.has(event.type)) return;
          const body = envelope(org.slug, Number(w.number), row, k, event);
          out.push({
            org_id: orgId,
            webhook_id: w.id,
            journal_seq: Number(row.seq),
            event_id: JSON.parse(body).id,
            type: event.type,
            ordering_key: event.orderingKey,
            body,
            created_date: now,
          });
        });
      }
    });
    await insertDeliveries(trx, out, now);
    await moveCursor(trx, orgId, Number(rows.at(-1)!.seq));
    return { read: rows.length, more: rows.length === pageSize };
  });
}

/** Takes due deliveries under a lease until `until`, which settling them must still hold. */
export async function claimDeliveries(
  deps: Deps,
  leaseMs: number,
  limit: number,
): Promise<{ deliveries: DeliveryRow[]; until: string }> {
  const now = deps.now();
  const until = new Date(Date.parse(now) + leaseMs).toISOString();
  // Reads, so that an idle worker, or one whose every webhook is paused, takes no write lock.
  const servable = await servableWebhooks(deps.db.kysely, now);
  if (servable.length === 0 || !(await anyDue(deps.db.kysely, now))) return { deliveries: [], until };
  // Each round another webhook goes first, so one with a large backlog cannot keep the rest waiting.
  const first = rotation++ % servable.length;
  const order = [...servable.slice(first), ...servable.slice(0, first)];
  const deliveries = await deps.db.writes.run(async (trx) => {
    const out: DeliveryRow[] = [];
    for (const w of order) {
      if (out.length >= limit) break;
      // A webhook whose last round failed gets one probe; its backlog waits for the probe's outcome.
      const take = Number(w.consecutive_failures) > 0 ? 1 : limit - out.length;
      out.push(...(await claimDueOf(trx, w.id, now, until, take)));
    }
    return out;
  });
  return { deliveries, until };
}

let rotation = 0;

/** How long a webhook whose receiver failed `failures` rounds in a row waits before its next probe. */
export function pauseAfter(failures: number, policy: RetryPolicy, now: number, random = Math.random): string {
  const step = Math.min(policy.baseDelayMs * 2 ** Math.min(failures - 1, 30), policy.maxPauseMs);
  return new Date(now + step * (0.5 + random() / 2)).toISOString();
}

/** How long a delivery to a webhook that is not active waits before it is looked at again. */
const HELD_MS = 30_000;

/** When a failed attempt is tried again: exponential backoff with full jitter, or never. */
export function retryAt(d: DeliveryRow, policy: RetryPolicy, now: number, random = Math.random): string | undefined {
  const attempts = d.attempts + 1;
  if (attempts >= policy.maxAttempts) return undefined;
  const delay = Math.min(policy.baseDelayMs * 2 ** (attempts - 1), 3_600_000) * (0.5 + random() / 2);
  const at = now + delay;
  if (at - Date.parse(d.created_date) > policy.retryWindowSeconds * 1000) return undefined;
  return new Date(at).toISOString();
}

/**
 * Settles a round's attempts in one transaction, in id order (and health in webhook order), so two
 * instances settling at once cannot deadlock. A delivery whose lease is no longer `until` was
 * taken again by another worker and is left to it. An attempt of `undefined` holds the delivery
 * back (its webhook is not active) without using an attempt.
 */
export async function settleDeliveries(
  deps: Deps,
  settled: { delivery: DeliveryRow; attempt: Attempt | undefined }[],
  policy: RetryPolicy,
  until: string,
): Promise<void> {
  if (settled.length === 0) return;
  const now = deps.now();
  const ordered = [...settled].sort((a, b) => a.delivery.id - b.delivery.id);
  await deps.db.writes.run(async (trx) => {
    const health = new Map<number, { ok: boolean; error: string | null }>();
    for (const { delivery: d, attempt: a } of ordered) {
      if (!a) {
        await holdBack(trx, d.id, until, new Date(Date.parse(now) + HELD_MS).toISOString());
        continue;
      }
      const outcome = { status: a.status, error: a.error, latencyMs: a.latencyMs };
      if (a.ok) {
        await settleDelivered(trx, d.id, until, outcome, now);
      } else {
        const retry = retryAt(d, policy, Date.parse(now));
        await settleFailed(trx, d.id, until, outcome, retry);
        // Later events about the same object wait behind this one: not due before it is.
        if (retry) await postponeSuccessors(trx, d, retry);
      }
      health.set(d.webhook_id, { ok: a.ok, error: a.error });
    }
    for (const id of [...health.keys()].sort((a, b) => a - b)) {
      const h = health.get(id)!;
      await recordHealth(trx, id, h.ok, h.error, now, (failures) => pauseAfter(failures, policy, Date.parse(now)));
    }
  });
}

/** Deliveries a housekeeping transaction settles or removes at most. */
const HOUSEKEEPING_BATCH = 1_000;
/** Transactions one housekeeping call makes at most: the rest is left for the next call. */
const HOUSEKEEPING_ROUNDS = 20;

/**
 * Fails the pending deliveries whose retry window is over, and removes settled deliveries older
 * than `retentionDays` from the log, in bounded transactions. Returns how many it changed.
 */
export async function housekeepDeliveries(deps: Deps, policy: RetryPolicy, retentionDays: number): Promise<number> {
  const now = Date.parse(deps.now());
  const windowStart = new Date(now - policy.retryWindowSeconds * 1000).toISOString();
  const kept = new Date(now - retentionDays * 86_400_000).toISOString();
  let changed = 0;
  for (let i = 0; i < HOUSEKEEPING_ROUNDS; i++) {
    const n = await deps.db.writes.run((trx) => expirePending(trx, windowStart, HOUSEKEEPING_BATCH));
    changed += n;
    if (n < HOUSEKEEPING_BATCH) break;
  }
  let afterId = 0;
  for (let i = 0; i < HOUSEKEEPING_ROUNDS; i++) {
    const page = await deps.db.writes.run((trx) => pruneSettled(trx, kept, afterId, HOUSEKEEPING_BATCH));
    changed += page.removed;
    if (page.lastOld === undefined) break;
    afterId = page.lastOld;
  }
  return changed;
}

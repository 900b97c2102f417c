// Beyond DevRev: a webhook's delivery log (attempts, statuses, latency, last error) and its
// health, and redelivery of one event or of a time range. Admin-only, within the caller's org.
import { listDeliveries, redeliver, unpause } from "../db/repositories/deliveries.js";
import { findWebhookByNumber } from "../db/repositories/webhooks.js";
import type { DeliveryRow } from "../db/types.js";
import { assertThat, notFound, valueNotPermitted } from "../errors.js";
import type { Caller, Deps } from "./context.js";
import { decodeCursor, encodeCursor } from "./cursor.js";
import { journalled } from "./journal.js";
import { requireAdmin } from "./policy.js";
import { parseWebhookId } from "./webhooks.js";

export interface WireDelivery {
  event_id: string;
  type: string;
  state: string;
  attempts: number;
  created_date: string;
  next_attempt_date?: string;
  delivered_date?: string;
  last_status?: number;
  last_error?: string;
  last_latency_ms?: number;
}

export interface DeliveryListOutput {
  deliveries: WireDelivery[];
  next_cursor?: string;
  health: { consecutive_failures: number; failing_since?: string; last_error?: string };
}

const SORT = "delivery:desc";

function toWire(d: DeliveryRow): WireDelivery {
  const w: WireDelivery = {
    event_id: d.event_id,
    type: d.type,
    state: d.state,
    attempts: Number(d.attempts),
    created_date: d.created_date,
  };
  if (d.state === "pending") w.next_attempt_date = d.next_attempt_date;
  if (d.delivered_date !== null) w.delivered_date = d.delivered_date;
  if (d.last_status !== null) w.last_status = Number(d.last_status);
  if (d.last_error !== null) w.last_error = d.last_error;
  if (d.last_latency_ms !== null) w.last_latency_ms = Number(d.last_latency_ms);
  return w;
}

export async function listWebhookDeliveries(
  deps: Deps,
  caller: Caller,
  input: { webhook: string; cursor?: string; limit?: number },
): Promise<DeliveryListOutput> {
  requireAdmin(caller);
  const db = deps.db.kysely;
  const w = await findWebhookByNumber(db, caller.orgId, parseWebhookId(input.webhook, "webhook", caller.org));
  assertThat(w, () => notFound("webhook"));
  const limit = input.limit ?? 50;
  assertThat(
    Number.isInteger(limit) && limit >= 1 && limit <= 100,
    valueNotPermitted("limit", "must be an integer from 1 to 100"),
  );
  let beforeId: number | undefined;
  if (input.cursor) {
    const c = decodeCursor(input.cursor);
    assertThat(
      c.sort === SORT && Number.isSafeInteger(c.key[0]) && (c.key[0] as number) >= 0,
      valueNotPermitted("cursor", "this cursor is not a delivery log cursor"),
    );
    beforeId = c.key[0] as number;
  }
  const rows = await listDeliveries(db, { webhookId: w.id, beforeId, limit: limit + 1 });
  const page = rows.slice(0, limit);
  const out: DeliveryListOutput = {
    deliveries: page.map(toWire),
    health: { consecutive_failures: Number(w.consecutive_failures) },
  };
  if (w.failing_since !== null) out.health.failing_since = w.failing_since;
  if (w.last_error !== null) out.health.last_error = w.last_error;
  if (rows.length > limit)
    out.next_cursor = encodeCursor({ sort: SORT, key: [Number(page.at(-1)!.id)], direction: "after" });
  return out;
}

export async function redeliverEvents(
  deps: Deps,
  caller: Caller,
  input: { webhook: string; event_id?: string; from?: string; to?: string },
): Promise<number> {
  requireAdmin(caller);
  assertThat(
    input.event_id !== undefined || input.from !== undefined || input.to !== undefined,
    valueNotPermitted("event_id", "name an event, or a time range with from and to"),
  );
  for (const field of ["from", "to"] as const) {
    const v = input[field];
    assertThat(v === undefined || Number.isFinite(Date.parse(v)), valueNotPermitted(field, "must be a date-time"));
  }
  const iso = (v: string | undefined) => (v === undefined ? undefined : new Date(Date.parse(v)).toISOString());
  const number = parseWebhookId(input.webhook, "webhook", caller.org);
  const count = await journalled(deps, caller, async (trx, journal) => {
    const w = await findWebhookByNumber(trx, caller.orgId, number);
    assertThat(w, () => notFound("webhook"));
    const n = await redeliver(
      trx,
      w.id,
      { eventId: input.event_id, from: iso(input.from), to: iso(input.to) },
      deps.now(),
    );
    // Asked for now: a pause after failures does not hold them back.
    await unpause(trx, w.id);
    await journal.record({
      operation: "webhooks.redeliver",
      object: { type: "webhook", id: number },
      details: { event_id: input.event_id, from: input.from, to: input.to, redelivered: n },
    });
    return n;
  });
  return count;
}

// The delivery worker: turns the journal into deliveries, sends the verify handshake to new
// webhooks, and sends due deliveries, retrying with backoff. Fed only by the database, so a
// subscriber being slow or down never slows a write, a crash loses nothing (deliveries are made
// in the same transaction that moves the cursor past their entries), and several instances on
// one PostgreSQL share the work. Started and stopped by server.ts.
import type { WebhookSettings } from "../config.js";
import type { DeliveryRow, WebhookRow } from "../db/types.js";
import type { Deps } from "../services/context.js";
import {
  anyWebhookToServe,
  claimDeliveries,
  fanOutOrg,
  housekeepDeliveries,
  orgSlugs,
  orgsToFanOut,
  pendingVerifications,
  type RetryPolicy,
  settleDeliveries,
  webhookRow,
} from "../services/delivery-state.js";
import type { Operation } from "../services/journal.js";
import { markVerified, webhookDon } from "../services/webhooks.js";
import { type Attempt, createSender, type Sender } from "./sender.js";

const IDLE_MS = 200;
/** Past the attempts a round may make, how long its deliveries stay taken by the worker. */
const LEASE_MARGIN_MS = 5_000;
/** Attempts in flight at once, across webhooks. */
const IN_FLIGHT = 32;
/**
 * Deliveries taken per round. Each lane sends at most CLAIM / IN_FLIGHT of them one after another,
 * so a round lasts at most that many attempts' time limits: the lease covers that, and no lease
 * ends while its delivery is still being sent.
 */
const CLAIM = 128;
/** Handshakes in flight at once; they run beside the rounds, never holding them up. */
const VERIFYING = 8;
const VERIFY_EVERY_MS = 5_000;
const STOP_WAIT_MS = 1_000;
/** How often expired deliveries are failed and old ones removed from the log. */
const HOUSEKEEPING_EVERY_MS = 60_000;

export interface DeliveryWorker {
  /**
   * Runs a round now rather than at the next tick, after a write that recorded `operations`.
   * While no webhook is active or awaiting its handshake, only a webhook's change wakes it: the
   * write path then pays nothing for webhooks (docs/performance.md).
   */
  nudge(operations?: readonly Operation[]): void;
  stop(): Promise<void>;
}

export interface WorkerLog {
  warn(obj: object, msg: string): void;
}

export function startDeliveryWorker(deps: Deps, settings: WebhookSettings, log: WorkerLog): DeliveryWorker {
  const sender: Sender = createSender({
    timeoutMs: settings.timeoutMs,
    allowPrivate: settings.allowPrivateTargets,
    maxSockets: IN_FLIGHT + VERIFYING,
  });
  const policy: RetryPolicy = {
    maxAttempts: settings.maxAttempts,
    retryWindowSeconds: settings.retryWindowSeconds,
    baseDelayMs: settings.retryBaseMs,
    maxPauseMs: settings.probeMaxMs,
  };
  const verifiedAt = new Map<number, number>();
  const verifying = new Set<number>();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  /** The last round found no webhook to serve; polls every IDLE_MS still notice another instance's. */
  let resting = false;
  /** When deliveries were last housekept: first 10 s after the start (not among the first
   * requests), then every minute. */
  let housekept = Date.now() - HOUSEKEEPING_EVERY_MS + 10_000;

  async function verify(w: WebhookRow, org: string): Promise<void> {
    const last = verifiedAt.get(w.id) ?? 0;
    if (Date.now() - last < VERIFY_EVERY_MS) return;
    verifiedAt.set(w.id, Date.now());
    const id = webhookDon(org, Number(w.number));
    const body = JSON.stringify({
      id: `${id}:event/verify-${Date.now()}`,
      webhook_id: id,
      timestamp: deps.now(),
      type: "verify",
      verify: { challenge: w.verify_challenge },
    });
    const attempt = await sender.send({ url: w.url, secret: w.secret, headers: JSON.parse(w.headers) }, body);
    let echoed: unknown;
    try {
      echoed = attempt.ok ? (JSON.parse(attempt.body) as { challenge?: unknown }).challenge : undefined;
    } catch {
      echoed = undefined;
    }
    if (echoed === w.verify_challenge && !stopped) {
      await markVerified(deps, w.id, w.verify_challenge!);
      verifiedAt.delete(w.id);
    }
  }

  async function round(): Promise<boolean> {
    let busy = false;
    // Without a webhook to serve, a round is this one read: the write path pays nothing more.
    // The cursors stay behind meanwhile, and catch up when a webhook turns active.
    if (Date.now() - housekept >= HOUSEKEEPING_EVERY_MS) {
      housekept = Date.now();
      await housekeepDeliveries(deps, policy, settings.logRetentionDays);
    }
    resting = !(await anyWebhookToServe(deps));
    if (resting) return false;
    for (const orgId of await orgsToFanOut(deps)) {
      if ((await fanOutOrg(deps, orgId)) > 0) busy = true;
    }
    const pending = (await pendingVerifications(deps)).filter((w) => !verifying.has(w.id));
    if (pending.length > 0 && verifying.size < VERIFYING) {
      const slugs = await orgSlugs(deps, [...new Set(pending.map((w) => w.org_id))]);
      for (const w of pending.slice(0, VERIFYING - verifying.size)) {
        verifying.add(w.id);
        verify(w, slugs.get(w.org_id) ?? "")
          .catch((err: unknown) => log.warn({ err, webhook: w.id }, "webhook verification failed"))
          .finally(() => verifying.delete(w.id));
      }
    }
    const leaseMs = settings.timeoutMs * Math.ceil(CLAIM / IN_FLIGHT) + LEASE_MARGIN_MS;
    const lease = await claimDeliveries(deps, leaseMs, CLAIM);
    const due = lease.deliveries;
    if (due.length > 0) busy = true;
    const targets = new Map<number, WebhookRow | undefined>();
    for (const d of due)
      if (!targets.has(d.webhook_id)) targets.set(d.webhook_id, await webhookRow(deps, d.webhook_id));
    const settled: { delivery: DeliveryRow; attempt: Attempt | undefined }[] = [];
    let nextIndex = 0;
    const lane = async () => {
      while (nextIndex < due.length && !stopped) {
        const d = due[nextIndex++]!;
        const w = targets.get(d.webhook_id);
        if (!w) continue; // deleted meanwhile: its deliveries went with it
        // Not active (deactivated, or awaiting its handshake): held back, without using an attempt.
        if (w.status !== "active") {
          settled.push({ delivery: d, attempt: undefined });
          continue;
        }
        const attempt = await sender
          .send({ url: w.url, secret: w.secret, headers: JSON.parse(w.headers) }, d.body)
          .catch((err: unknown) => ({ ok: false, status: null, error: String(err), latencyMs: 0, body: "" }));
        settled.push({ delivery: d, attempt });
      }
    };
    await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, due.length) }, lane));
    await settleDeliveries(deps, settled, policy, lease.until);
    return busy;
  }

  function schedule(ms: number) {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(tick, ms);
    timer.unref();
  }

  function tick() {
    if (running) {
      again = true;
      return;
    }
    running = round()
      .catch((err: unknown) => {
        log.warn({ err }, "webhook delivery round failed; trying again");
        return false;
      })
      .then((busy) => {
        running = undefined;
        const soon = busy || again;
        again = false;
        schedule(soon ? 0 : IDLE_MS);
      });
  }

  schedule(0);
  return {
    nudge: (operations) => {
      if (resting && operations && !operations.some((o) => o.startsWith("webhooks.") || o === "directory.reset"))
        return;
      schedule(0);
    },
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      // A round stuck on the database must not hold the shutdown: what it has not settled is
      // taken again when its leases end.
      await Promise.race([running, new Promise((r) => setTimeout(r, STOP_WAIT_MS).unref())]);
      sender.close();
    },
  };
}

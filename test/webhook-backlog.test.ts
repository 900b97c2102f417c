// A backlog of 100,000 deliveries to a dead receiver: the worker probes each webhook with one
// delivery per pause rather than sending it the backlog, the service's memory stays flat, writes
// are still acknowledged, and deliveries resume once the receiver is back. How fast writes go meanwhile is `npm run bench -- --backlog`'s to
// tell, never a timed test's.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:net";
import { after, before, describe, it } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { testDialects } from "./helpers/databases.js";
import { type Receiver, startReceiver } from "./helpers/receiver.js";
import { startTestServer, type TestServer } from "./helpers/server.js";

/** The org's cap: each create is then 100 deliveries, and 1,000 of them make the backlog. */
const WEBHOOKS = 100;
const CREATES = 1_000;
const BACKLOG = WEBHOOKS * CREATES;
/** Writes made while the backlog stands. */
const MORE = 200;
const MiB = 1024 * 1024;
/**
 * How much more the JS heap (and the buffers it holds) may hold, after a full collection, at any
 * time after the backlog was made than before it; and how much higher the peak RSS may get, which
 * also sees a spike between two samples. A delivery's row is about 1 KiB (its body is the whole
 * event): reading the 100,000 pending ones at once takes 139 MiB of heap and 181 MiB of RSS, which
 * is what a worker or fan-out that read them all, or queued them in memory, would hold here. Rounds
 * of 128 and fan-out transactions of about 2,000 hold a few MiB.
 */
const HEAP_GROWTH_MIB = 32;
const RSS_GROWTH_MIB = 96;
/** Five probes or more of every webhook, at one per 1-2 s. */
const CHURN_MS = 10_000;

// The harness runs the service in this process: its heap is the service's. A full collection
// before each sample measures what is held, not what awaits collection.
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

function heldMiB(): number {
  gc();
  const m = process.memoryUsage();
  return (m.heapUsed + m.external) / MiB;
}

/** The deliveries as the database holds them. */
async function tally(s: TestServer) {
  const row = await s.running.db.kysely
    .selectFrom("webhook_deliveries")
    .select((eb) => [
      eb.fn.countAll().as("all"),
      eb.fn.countAll().filterWhere("state", "=", "pending").as("pending"),
      eb.fn.countAll().filterWhere("state", "=", "delivered").as("delivered"),
      eb.fn.sum("attempts").as("attempts"),
    ])
    .executeTakeFirstOrThrow();
  return {
    all: Number(row.all),
    pending: Number(row.pending),
    delivered: Number(row.delivered),
    attempts: Number(row.attempts ?? 0),
  };
}

/** Listens on `port` and resets every connection at once: a receiver that is down, at our port. */
async function holdPort(port: number): Promise<Server> {
  const server = createServer((socket) => socket.resetAndDestroy());
  await new Promise<void>((res) => server.listen(port, "127.0.0.1", () => res()));
  return server;
}

async function until(ok: () => Promise<boolean>, what: string, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

for (const { dialect, skip } of await testDialects()) {
  describe(`a webhook backlog [${dialect}]`, { skip }, () => {
    let s: TestServer;
    let rx: Receiver | undefined;
    let dead: Server | undefined;
    let port = 0;
    let baseline = 0;
    let baselineRss = 0;
    const samples: number[] = [];
    let sampler: NodeJS.Timeout | undefined;

    before(async () => {
      s = await startTestServer({
        dialect,
        // Nothing fails for good during the test: the backlog stays pending. Each webhook is
        // probed every 1-2 s (its pause: half to all of the 2 s step, which is also the longest).
        env: {
          WEBHOOK_MAX_ATTEMPTS: "100",
          WEBHOOK_RETRY_BASE_MS: "2000",
          WEBHOOK_PROBE_MAX_MS: "2000",
          WEBHOOK_TIMEOUT_MS: "1000",
        },
      });
      rx = await startReceiver();
      port = Number(new URL(rx.url).port);
    });
    after(async () => {
      clearInterval(sampler);
      await s?.close();
      await rx?.close();
      dead?.close();
    });

    it(`builds a backlog of ${BACKLOG} deliveries to a receiver that is down`, async () => {
      for (let i = 0; i < WEBHOOKS; i++) {
        const res = await s.http("POST", "/webhooks.create", {
          body: { url: rx!.url, event_types: ["dev_user_created"] },
        });
        assert.equal(res.status, 201, res.text);
      }
      await until(
        async () => {
          const list = await s.http("GET", "/webhooks.list");
          return list.body.webhooks.filter((w: any) => w.status === "active").length === WEBHOOKS;
        },
        `${WEBHOOKS} webhooks to pass their handshake`,
        30_000,
      );
      await rx!.close();
      rx = undefined;
      // The port stays ours, so no other test's server can take it and answer: every connection
      // is reset as it comes.
      dead = await holdPort(port);

      baseline = heldMiB();
      baselineRss = process.resourceUsage().maxRSS / 1024;
      samples.push(baseline);
      sampler = setInterval(() => samples.push(heldMiB()), 250);

      let next = 0;
      const writer = async () => {
        while (next < CREATES) {
          const email = `backlog-${next++}@example.com`;
          const res = await s.http("POST", "/dev-users.create", { body: { email, state: "shadow" } });
          assert.equal(res.status, 201, res.text);
        }
      };
      await Promise.all(Array.from({ length: 8 }, writer));
      await until(async () => (await tally(s)).all >= BACKLOG, `fan-out to make ${BACKLOG} deliveries`, 60_000);
      const t = await tally(s);
      assert.equal(t.all, BACKLOG, "one delivery per create and webhook");
      assert.equal(t.pending, BACKLOG, "all of them pending");
      const refused = await s.running.db.kysely
        .selectFrom("webhook_deliveries")
        .select("last_error")
        .where("last_error", "is not", null)
        .limit(1)
        .executeTakeFirst();
      assert.match(
        String(refused?.last_error),
        /ECONNRESET|socket hang up/,
        "the worker is trying, and the receiver refusing",
      );
    });

    it("probes each webhook with one delivery per pause, and holds memory flat meanwhile", async (t) => {
      // A webhook whose receiver has not failed yet gets a whole round (up to 128) before its
      // first pause: on a slow fan-out, some have not been tried yet when this test starts.
      const unfailed = (
        await s.running.db.kysely.selectFrom("webhooks").select("id").where("consecutive_failures", "=", 0).execute()
      ).length;
      const before = await tally(s);
      // At least CHURN_MS, and on until every webhook was probed (a loaded machine is slower).
      const started = Date.now();
      await new Promise((r) => setTimeout(r, CHURN_MS));
      let after = await tally(s);
      while (after.attempts - before.attempts < WEBHOOKS && Date.now() - started < 6 * CHURN_MS) {
        await new Promise((r) => setTimeout(r, 1_000));
        after = await tally(s);
      }
      const seconds = (Date.now() - started) / 1000;
      const attempts = after.attempts - before.attempts;
      assert.equal(after.delivered, 0, "nothing was delivered: the receiver is down");
      const peak = Math.max(...samples);
      const rss = process.resourceUsage().maxRSS / 1024;
      const figures = `held ${baseline.toFixed(1)} MiB before the backlog, at most ${peak.toFixed(1)} MiB since (${samples.length} samples); peak RSS ${baselineRss.toFixed(0)} -> ${rss.toFixed(0)} MiB; ${attempts} attempts in ${((Date.now() - started) / 1000).toFixed(0)} s`;
      t.diagnostic(figures);
      assert.ok(peak - baseline < HEAP_GROWTH_MIB, figures);
      assert.ok(rss - baselineRss < RSS_GROWTH_MIB, figures);
      assert.ok(attempts >= WEBHOOKS, `every webhook is still probed (${attempts} attempts)`);
      // A pause is at least 1 s: at most one attempt per webhook and second, and one in flight.
      // Without pauses the worker tried every due delivery, 370 to 1,400 a second here.
      const bound = WEBHOOKS * (Math.ceil(seconds) + 1) + unfailed * 128;
      assert.ok(attempts <= bound, `${attempts} attempts in ${seconds} s (${unfailed} webhooks not failed yet)`);
      assert.equal(after.pending, BACKLOG, "the backlog still stands");
    });

    it(`acknowledges ${MORE} more writes, and fans them out, while the backlog stands`, async () => {
      let next = 0;
      const writer = async () => {
        while (next < MORE) {
          const email = `during-${next++}@example.com`;
          const res = await s.http("POST", "/dev-users.create", { body: { email, state: "shadow" } });
          assert.equal(res.status, 201, res.text);
          assert.equal(res.body.dev_user.email, email);
        }
      };
      await Promise.all(Array.from({ length: 4 }, writer));
      const total = BACKLOG + MORE * WEBHOOKS;
      await until(async () => (await tally(s)).all >= total, `fan-out to make ${total} deliveries`, 60_000);
      assert.ok(Math.max(...samples) - baseline < HEAP_GROWTH_MIB, "memory stayed flat through the writes");
    });

    it("delivers again once the receiver is back", async () => {
      clearInterval(sampler);
      await new Promise<void>((r) => dead!.close(() => r()));
      dead = undefined;
      rx = await startReceiver(port);
      await rx.waitFor(() => rx!.events().length >= 1_000, "1,000 events", 60_000);
      assert.ok(
        rx.events().every((e) => e.type === "dev_user_created"),
        "only the events the webhooks subscribe to",
      );
      await until(async () => (await tally(s)).delivered >= 1_000, "1,000 deliveries settled as delivered", 30_000);
    });
  });
}

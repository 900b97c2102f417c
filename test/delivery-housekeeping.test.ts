// The delivery log's housekeeping: pending deliveries past their retry window fail for good
// (a paused webhook's wait uses no attempts, so the window is what ends it), and settled
// deliveries older than the retention leave the log, in bounded transactions, on both databases.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { insertDeliveries } from "../src/db/repositories/deliveries.js";
import { findOrgBySlug } from "../src/db/repositories/orgs.js";
import { systemClock } from "../src/services/context.js";
import { housekeepDeliveries, type RetryPolicy } from "../src/services/delivery-state.js";
import { testDialects } from "./helpers/databases.js";
import { startTestServer, type TestServer } from "./helpers/server.js";

const DAY = 86_400_000;
const policy: RetryPolicy = { maxAttempts: 10, retryWindowSeconds: 86_400, baseDelayMs: 5000, maxPauseMs: 300_000 };

for (const { dialect, skip } of await testDialects()) {
  describe(`delivery housekeeping [${dialect}]`, { skip }, () => {
    let s: TestServer;
    before(async () => {
      s = await startTestServer({ dialect });
    });
    after(async () => {
      await s?.close();
    });

    it("fails what outlived its retry window and removes settled deliveries past the retention", async () => {
      // A deactivated webhook: the worker leaves its deliveries alone while the test looks.
      const made = await s.http("POST", "/webhooks.create", { body: { url: "http://127.0.0.1:9/hook" } });
      assert.equal(made.status, 201, made.text);
      const upd = await s.http("POST", "/webhooks.update", {
        body: { id: made.body.webhook.id, action: "deactivate" },
      });
      assert.equal(upd.status, 200, upd.text);
      const db = s.running.db.kysely;
      const orgId = (await findOrgBySlug(db, s.org))!.id;
      const webhookId = Number((await db.selectFrom("webhooks").select("id").executeTakeFirstOrThrow()).id);
      const now = Date.now();
      const at = (daysAgo: number) => new Date(now - daysAgo * DAY).toISOString();
      const delivery = (key: string, daysAgo: number) => ({
        org_id: orgId,
        webhook_id: webhookId,
        journal_seq: 1,
        event_id: key,
        type: "dev_user_created",
        ordering_key: key,
        body: "{}",
        created_date: at(daysAgo),
      });
      // In the order they would have been made: settled ones forty days old (past the 30-day
      // retention) and ten days old, 2,500 pending two days old (more than one transaction's
      // worth), and one pending an hour old.
      const old = Array.from({ length: 2_500 }, (_, i) => delivery(`old-${i}`, 2));
      await s.running.db.writes.run(async (trx) => {
        await insertDeliveries(trx, [delivery("ancient", 40)], at(40));
        await insertDeliveries(trx, [delivery("recent", 10)], at(10));
        await insertDeliveries(trx, old, at(2));
        await insertDeliveries(trx, [delivery("fresh", 1 / 24)], at(1 / 24));
        await trx
          .updateTable("webhook_deliveries")
          .set({ state: "delivered" })
          .where("event_id", "in", ["ancient", "recent"])
          .execute();
      });
      const deps = { db: s.running.db, now: systemClock };
      const changed = await housekeepDeliveries(deps, policy, 30);
      assert.equal(changed, 2_501, "2,500 expired and one removed");
      const states = await db
        .selectFrom("webhook_deliveries")
        .select(["state", (eb) => eb.fn.countAll().as("n")])
        .groupBy("state")
        .orderBy("state")
        .execute();
      assert.deepEqual(
        states.map((r) => [r.state, Number(r.n)]),
        [
          ["delivered", 1],
          ["failed", 2_500],
          ["pending", 1],
        ],
      );
      const expired = await db
        .selectFrom("webhook_deliveries")
        .select(["last_error", "attempts"])
        .where("event_id", "=", "old-0")
        .executeTakeFirstOrThrow();
      assert.match(String(expired.last_error), /WEBHOOK_RETRY_WINDOW/);
      assert.equal(Number(expired.attempts), 0, "expired without an attempt");
      const gone = await db.selectFrom("webhook_deliveries").select("id").where("event_id", "=", "ancient").execute();
      assert.deepEqual(gone, [], "past the retention: removed");
      assert.equal(await housekeepDeliveries(deps, policy, 30), 0, "a second pass finds nothing to do");
    });
  });
}

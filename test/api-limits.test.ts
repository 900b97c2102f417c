// Rate limits, draining and unexpected faults: what a client sees when the service says no.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { testDialects } from "./helpers/databases.js";
import { assertError, type HttpResult, startTestServer, type TestServer } from "./helpers/server.js";

for (const { dialect, skip } of await testDialects())
  describe(`rate limits and faults [${dialect}]`, { skip }, () => {
    let s: TestServer;
    before(async () => {
      s = await startTestServer({ dialect, env: { RATE_LIMIT_MAX: "5", RATE_LIMIT_WINDOW: "60" } });
    });
    after(() => s.close());

    it("puts X-RateLimit-Limit, -Remaining and -Reset (epoch seconds) on responses, then answers 429", async () => {
      const token = await s.token("admin@example.com");
      const started = Math.floor(Date.now() / 1000);
      const remaining: number[] = [];
      for (let i = 0; i < 5; i++) {
        const res = await s.http("GET", "/dev-users.self", { token });
        assert.equal(res.status, 200);
        assert.equal(res.headers.get("x-ratelimit-limit"), "5");
        remaining.push(Number(res.headers.get("x-ratelimit-remaining")));
        const reset = Number(res.headers.get("x-ratelimit-reset"));
        assert.ok(Number.isInteger(reset) && reset >= started && reset <= started + 62, `reset ${reset}`);
      }
      assert.deepEqual(remaining, [4, 3, 2, 1, 0]);
      const limited = await s.http("POST", "/dev-users.create", {
        token,
        body: { email: "limited@example.com", state: "shadow" },
      });
      assertError(limited, 429, "too_many_requests");
      assert.ok(Number.isInteger(limited.body.retry_after) && limited.body.retry_after >= 1);
      assert.ok(limited.body.retry_after <= 60);
      assert.equal(limited.headers.get("retry-after"), String(limited.body.retry_after));
      assert.equal(limited.headers.get("x-ratelimit-remaining"), "0");
      assert.equal(limited.headers.get("x-ratelimit-limit"), "5");

      // The limit is per user: a second token of the same user shares the bucket. The refused
      // create wrote nothing.
      const fresh = await s.token("admin@example.com", { ttl: 7200 });
      assert.notEqual(fresh, token);
      assertError(await s.http("GET", "/dev-users.self", { token: fresh }), 429, "too_many_requests");
      const written = await s.running.db.kysely
        .selectFrom("dev_users")
        .select("id")
        .where("email", "=", "limited@example.com")
        .execute();
      assert.deepEqual(written, []);
    });

    it("limits unauthenticated requests per IP, with the same headers", async () => {
      const statuses: number[] = [];
      let last: HttpResult | undefined;
      for (let i = 0; i < 6; i++) {
        last = await s.http("GET", "/dev-users.self", { token: null });
        statuses.push(last.status);
        assert.equal(last.headers.get("x-ratelimit-limit"), "5");
      }
      assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429]);
      assertError(last!, 429, "too_many_requests");
      assert.equal(last!.headers.get("retry-after"), String(last!.body.retry_after));
    });

    it("answers 503 service_unavailable to new requests while draining", async () => {
      const token = await s.token("admin@example.com");
      s.running.service.startDraining();
      const res = await s.http("GET", "/dev-users.self", { token });
      assertError(res, 503, "service_unavailable");
      const ready = await s.http("GET", "/readyz", { token: null });
      assert.notEqual(ready.status, 200);
    });
  });

for (const { dialect, skip } of await testDialects())
  describe(`unexpected faults [${dialect}]`, { skip }, () => {
    let s: TestServer;
    before(async () => {
      s = await startTestServer({ dialect });
    });
    after(() => s.close());

    it("answers 500 internal_error with a reference_id when the database is gone", async () => {
      assert.equal((await s.http("GET", "/dev-users.self")).status, 200);
      await s.running.db.close();
      const ids = new Set<string>();
      for (const [method, path] of [
        ["GET", "/dev-users.self"],
        ["POST", "/dev-users.list"],
      ] as const) {
        const res = await s.http(method, path, method === "POST" ? { body: {} } : {});
        assertError(res, 500, "internal_error");
        assert.match(res.body.reference_id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
        ids.add(res.body.reference_id);
      }
      assert.equal(ids.size, 2, "each fault has its own reference_id");
    });
  });

// GET /metrics after some traffic: request counts and latency histograms per operation and
// status, pool usage, rate-limit rejections and Redis errors, in Prometheus text.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { testDialects } from "./helpers/databases.js";
import { closedPort } from "./helpers/processes.js";
import { startTestServer, type TestServer } from "./helpers/server.js";

/** Every sample of the exposition, by series (name and labels as written). */
async function scrape(s: TestServer): Promise<Map<string, number>> {
  const res = await fetch(`${s.url}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  const samples = new Map<string, number>();
  for (const line of (await res.text()).split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^(\S+) (\S+)$/.exec(line);
    assert.ok(m, `not a Prometheus sample: ${line}`);
    samples.set(m[1]!, Number(m[2]));
  }
  return samples;
}
const series = (op: string, status: number) => `operation="${op}",status="${status}"`;

for (const { dialect, skip } of await testDialects())
  describe(`metrics [${dialect}]`, { skip }, () => {
    const MAX = 4;
    let s: TestServer;
    let unreachableRedis: TestServer;
    before(async () => {
      s = await startTestServer({ dialect, env: { RATE_LIMIT_MAX: String(MAX) } });
      unreachableRedis = await startTestServer({
        dialect,
        env: { REDIS_URL: `redis://127.0.0.1:${await closedPort()}` },
      });
    });
    after(async () => {
      await s.close();
      await unreachableRedis.close();
    });

    it("counts and times requests per operation and status, and counts rate-limit rejections", async () => {
      const member = await s.user("metrics@example.com"); // two requests with the admin's token
      for (let i = 0; i < MAX + 2; i++) await s.http("GET", "/dev-users.self", { token: member.token });
      await s.http("POST", "/dev-users.get", { body: { id: "DEVU-999" } });
      await s.http("GET", "/dev-users.self", { token: null });
      const m = await scrape(s);

      const ok = series("dev-users-self", 200);
      assert.equal(m.get(`devusers_requests_total{${ok}}`), MAX);
      assert.equal(m.get(`devusers_requests_total{${series("dev-users-self", 429)}}`), 2);
      assert.equal(m.get(`devusers_requests_total{${series("dev-users-get-post", 404)}}`), 1);
      assert.equal(m.get(`devusers_requests_total{${series("dev-users-self", 401)}}`), 1);

      assert.equal(m.get(`devusers_request_duration_seconds_count{${ok}}`), MAX);
      assert.equal(m.get(`devusers_request_duration_seconds_bucket{${ok},le="+Inf"}`), MAX);
      assert.ok(m.get(`devusers_request_duration_seconds_sum{${ok}}`)! > 0);
      const buckets = [...m].filter(([k]) => k.startsWith(`devusers_request_duration_seconds_bucket{${ok},`));
      assert.ok(buckets.length > 2);
      const counts = buckets.map(([, v]) => v);
      assert.deepEqual(
        counts,
        [...counts].sort((a, b) => a - b),
        "buckets are cumulative",
      );

      assert.ok(m.get("devusers_rate_limited_total")! >= 2);
      assert.equal(m.get("devusers_redis_errors_total"), 0);
      assert.equal(m.get("devusers_redis_breaker_open"), 0);
    });

    it("shows database pool usage", async () => {
      const m = await scrape(s);
      const open = m.get("devusers_db_pool_connections");
      const idle = m.get("devusers_db_pool_idle");
      assert.ok(open !== undefined && open >= 1, "at least one connection after traffic");
      assert.ok(idle !== undefined && idle <= open);
      assert.equal(m.get("devusers_db_pool_waiting"), 0);
    });

    it("counts the requests counted without Redis, and shows the breaker open", async () => {
      for (let i = 0; i < 3; i++) assert.equal((await unreachableRedis.http("GET", "/dev-users.self")).status, 200);
      const m = await scrape(unreachableRedis);
      assert.ok(m.get("devusers_redis_errors_total")! >= 3);
      assert.equal(m.get("devusers_redis_breaker_open"), 1);
      assert.equal(m.get(`devusers_requests_total{${series("dev-users-self", 200)}}`), 3);
    });
  });

// A stalled or stopped Redis: the rate limiter stops waiting on it for a back-off (a circuit
// breaker), counts in this instance meanwhile, probes Redis one request at a time, and goes back
// to the shared counter once Redis answers.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import type { FastifyBaseLogger } from "fastify";
import { RateLimiter } from "../src/plugins/rate-limit.js";
import { REDIS_URL, skipUnlessRedis, testDialects } from "./helpers/databases.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { type CutMode, startTcpProxy } from "./helpers/tcp-proxy.js";

const redisSkip = await skipUnlessRedis();
const redisPort = Number(new URL(REDIS_URL).port || 6379);
const redisHost = new URL(REDIS_URL).hostname;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** An org of its own, so that no other run (or suite) shares its users' counters in Redis. */
const freshOrg = () => `rl-${randomBytes(6).toString("hex")}`;

async function scrape(s: TestServer): Promise<Map<string, number>> {
  const text = await (await fetch(`${s.url}/metrics`)).text();
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^(\S+) (\S+)$/gm)) out.set(m[1]!, Number(m[2]));
  return out;
}

for (const { dialect, skip } of await testDialects())
  describe(`Redis outage, one instance [${dialect}]`, { skip: skip || redisSkip }, () => {
    const MAX = 20;
    const TIMEOUT_MS = 500;
    const N = 40;

    for (const mode of ["blackhole", "refuse"] as CutMode[]) {
      const what = mode === "blackhole" ? "stalled (accepts, never answers)" : "down (connections refused)";
      it(`Redis ${what}: ${N} requests take far less than ${N} x the timeout, limited in this instance, then shared again`, async () => {
        const proxy = await startTcpProxy(redisPort, redisHost);
        const s = await startTestServer({
          dialect,
          org: freshOrg(),
          env: {
            REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
            REDIS_CONNECT_TIMEOUT_MS: String(TIMEOUT_MS),
            RATE_LIMIT_MAX: String(MAX),
            RATE_LIMIT_WINDOW: "600",
          },
        });
        const metrics = s.running.service.metrics;
        try {
          // Redis answers: the shared counter is used, and nothing is counted without it.
          const first = await s.http("GET", "/dev-users.self");
          assert.equal(first.status, 200, first.text);
          assert.equal(metrics.redisErrors, 0, "the service waited for Redis before listening");
          const shared = Number(first.headers.get("x-ratelimit-remaining"));
          assert.equal(shared, MAX - 1);
          assert.equal((await scrape(s)).get("devusers_redis_breaker_open"), 0);

          await proxy.cut(mode);
          const started = Date.now();
          const statuses: number[] = [];
          const remaining: string[] = [];
          for (let i = 0; i < N; i++) {
            const res = await s.http("GET", "/dev-users.self");
            statuses.push(res.status);
            remaining.push(res.headers.get("x-ratelimit-remaining") ?? "none");
          }
          const elapsed = Date.now() - started;
          // Without the breaker a stalled Redis made each request wait the whole timeout (20 s here).
          assert.ok(elapsed < 5000, `${N} requests took ${elapsed} ms`);
          // This instance's own count starts afresh: MAX requests, then 429, with the headers.
          assert.deepEqual(statuses, [...Array(MAX).fill(200), ...Array(N - MAX).fill(429)]);
          assert.deepEqual(
            remaining,
            Array.from({ length: N }, (_, i) => String(Math.max(0, MAX - i - 1))),
          );
          assert.equal(metrics.redisErrors, N, "every request counted without Redis is in the metric");
          const during = await scrape(s);
          assert.equal(during.get("devusers_redis_breaker_open"), 1);
          assert.equal(during.get("devusers_redis_errors_total"), N);

          await proxy.restore();
          // Back within the back-off (a probe every 1 s, 2 s, 4 s ... while Redis stays away): the
          // first request Redis answers continues the shared count from before the outage.
          let back: Awaited<ReturnType<TestServer["http"]>> | undefined;
          const deadline = Date.now() + 15_000;
          while (Date.now() < deadline) {
            const res = await s.http("GET", "/dev-users.self");
            if (res.status === 200) {
              back = res;
              break;
            }
            assert.equal(res.status, 429, res.text); // still counted here, and over the limit
            await sleep(100);
          }
          assert.ok(back, "Redis is used again once it answers");
          assert.equal(back.headers.get("x-ratelimit-remaining"), String(shared - 1));
          const errorsAfter = metrics.redisErrors;
          const next = await s.http("GET", "/dev-users.self");
          assert.equal(next.headers.get("x-ratelimit-remaining"), String(shared - 2));
          assert.equal(metrics.redisErrors, errorsAfter);
          assert.equal((await scrape(s)).get("devusers_redis_breaker_open"), 0);
        } finally {
          await s.close();
          await proxy.close();
        }
      });
    }
  });

/** A pino-shaped logger that keeps the warnings and info lines. */
function recordingLog() {
  const lines: { level: string; msg: string }[] = [];
  const log = {
    warn: (obj: unknown, msg?: string) => lines.push({ level: "warn", msg: msg ?? String(obj) }),
    info: (obj: unknown, msg?: string) => lines.push({ level: "info", msg: msg ?? String(obj) }),
    error: () => {},
    debug: () => {},
    trace: () => {},
    fatal: () => {},
    child: () => log,
    level: "info",
    silent: () => {},
  };
  return { log: log as unknown as FastifyBaseLogger, lines };
}

describe("the rate limiter's circuit breaker", { skip: redisSkip }, () => {
  it("backs off 1x, 2x, 4x up to the cap, probes one request at a time, and resets once Redis answers", async () => {
    const proxy = await startTcpProxy(redisPort, redisHost);
    const { log, lines } = recordingLog();
    let withoutRedis = 0;
    const changes: boolean[] = [];
    const TIMEOUT = 150;
    const limiter = new RateLimiter({
      max: 1000,
      windowSeconds: 600,
      redisUrl: `redis://127.0.0.1:${proxy.port}`,
      redisTimeoutMs: TIMEOUT,
      log,
      onRedisError: () => withoutRedis++,
      onBreakerChange: (open) => changes.push(open),
      breakerMinMs: 300,
      breakerMaxMs: 1200,
    });
    const key = `test:${randomBytes(6).toString("hex")}`;
    const timed = async () => {
      const t = Date.now();
      const decision = await limiter.hit(key);
      return { ms: Date.now() - t, decision };
    };
    try {
      await limiter.ready();
      assert.equal((await timed()).decision.remaining, 999);
      assert.equal(withoutRedis, 0);
      assert.deepEqual(limiter.breaker, { state: "closed", backoffMs: 0 });

      await proxy.cut("blackhole");
      // The call that finds Redis stalled waits the timeout once, and opens the breaker.
      const failed = await timed();
      assert.ok(failed.ms >= TIMEOUT - 10, `${failed.ms} ms`);
      assert.equal(failed.decision.remaining, 999, "counted in this instance, from zero");
      assert.deepEqual(limiter.breaker, { state: "open", backoffMs: 300 });
      assert.deepEqual(changes, [true]);
      // While open, nothing waits on Redis.
      for (let i = 0; i < 20; i++) assert.ok((await timed()).ms < 50);
      assert.equal(withoutRedis, 21);

      // After each back-off one request probes; the others meanwhile do not wait.
      for (const next of [600, 1200, 1200]) {
        await sleep(limiter.breaker.backoffMs + 20);
        const burst = await Promise.all(Array.from({ length: 8 }, timed));
        const waited = burst.filter((r) => r.ms >= TIMEOUT - 10);
        assert.equal(waited.length, 1, `one probe: ${burst.map((r) => r.ms).join(", ")} ms`);
        assert.deepEqual(limiter.breaker, { state: "open", backoffMs: next });
      }

      await proxy.restore();
      await sleep(limiter.breaker.backoffMs + 300); // the back-off, and ioredis's reconnect
      const errors = withoutRedis;
      const back = await timed();
      assert.equal(back.decision.remaining, 998, "Redis's count, kept from before the outage");
      assert.deepEqual(limiter.breaker, { state: "closed", backoffMs: 0 });
      assert.equal(withoutRedis, errors);
      assert.deepEqual(changes, [true, false]);

      // Success reset the back-off: the next outage starts again at the first step.
      await proxy.cut("refuse");
      const down = await timed();
      assert.ok(down.ms < 50, "a refused connection fails at once");
      assert.deepEqual(limiter.breaker, { state: "open", backoffMs: 300 });

      // The warning is rate-limited (once per 5 s), not one per request; recovery is logged too.
      const warnings = lines.filter((l) => l.level === "warn");
      assert.ok(warnings.length >= 1 && warnings.length <= 2, JSON.stringify(lines));
      assert.match(warnings[0]!.msg, /rate limiter store unavailable/);
      assert.ok(
        lines.some((l) => l.level === "info" && /answers again/.test(l.msg)),
        JSON.stringify(lines),
      );
    } finally {
      await limiter.close();
      await proxy.close();
    }
  });

  it("without Redis configured, counts in memory and never opens", async () => {
    const { log } = recordingLog();
    let errors = 0;
    const limiter = new RateLimiter({
      max: 2,
      windowSeconds: 60,
      redisTimeoutMs: 100,
      log,
      onRedisError: () => errors++,
    });
    const decisions = [await limiter.hit("k"), await limiter.hit("k"), await limiter.hit("k")];
    assert.deepEqual(
      decisions.map((d) => [d.remaining, d.retryAfter !== undefined]),
      [
        [1, false],
        [0, false],
        [0, true],
      ],
    );
    assert.equal(errors, 0);
    assert.deepEqual(limiter.breaker, { state: "closed", backoffMs: 0 });
    await limiter.close();
  });
});

// Several instances on one PostgreSQL database (and one Redis): shared rate limits, limits per
// instance when Redis is away, shared signing keys and rotation, instant deactivation, the link race
// across instances, concurrent migrations, and the SIGTERM drain of a real `devusers serve`.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { decodeProtectedHeader } from "jose";
import pg from "pg";
import { migrationNames } from "../src/db/migrate.js";
import { createPgDatabase, REDIS_URL, skipUnlessPostgres, skipUnlessRedis } from "./helpers/databases.js";
import { call, metric, type Pair, self, startPair } from "./helpers/instances.js";
import { closedPort, runCli, startServe } from "./helpers/processes.js";
import { startTcpProxy } from "./helpers/tcp-proxy.js";

const pgSkip = await skipUnlessPostgres();
const redisSkip = pgSkip || (await skipUnlessRedis());
// Kysely's PostgreSQL migration lock (a session advisory lock), as its PostgresAdapter takes it.
const KYSELY_MIGRATION_LOCK = "3853314791062309107";
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits (bounded) until a request of `s` is counted in Redis: one after which
 * devusers_redis_errors_total has not grown. Each instance connects before it listens, but a
 * request that found Redis still connecting would keep it off Redis for a second.
 */
async function untilRedisCounts(s: Pair["a"]): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const before = await metric(s, "devusers_redis_errors_total");
    await self(s, s.adminToken);
    if ((await metric(s, "devusers_redis_errors_total")) === before) return;
    await sleep(50);
  }
  throw new Error("Redis never counted a request");
}

describe("two instances with Redis", { skip: redisSkip }, () => {
  const MAX = 7;
  let p: Pair;
  before(async () => {
    p = await startPair({ REDIS_URL, RATE_LIMIT_MAX: String(MAX), RATE_LIMIT_WINDOW: "600" });
    for (const s of [p.a, p.b]) await untilRedisCounts(s);
  });
  after(() => p.close());

  it("alternating requests with one token admit exactly RATE_LIMIT_MAX in a window", async () => {
    // A user of its own (the first of another org): limits are per user, and the harness's
    // admin has spent part of its budget waiting for Redis.
    // The org is new on each run: Redis keeps a counter for the whole window, across runs too.
    const token = await p.a.token("admin@example.com", { org: `alternating-${randomBytes(6).toString("hex")}` });
    const statuses: number[] = [];
    for (let i = 0; i < 3 * MAX; i++) {
      const res = await self(i % 2 ? p.b : p.a, token);
      statuses.push(res.status);
      if (res.status === 200) assert.equal(res.headers.get("x-ratelimit-remaining"), String(MAX - i - 1));
      else assert.equal(res.body.type, "too_many_requests");
    }
    assert.deepEqual(statuses, [...Array(MAX).fill(200), ...Array(2 * MAX).fill(429)]);
    assert.ok((await metric(p.a, "devusers_rate_limited_total")) > 0);
    assert.ok((await metric(p.b, "devusers_rate_limited_total")) > 0);
  });
});

describe("Redis unreachable: limits per instance, never waiting past the timeout", { skip: pgSkip }, () => {
  const TIMEOUT_MS = 1000;
  it("a closed port: every request is answered at once, limited by each instance, and counted", async () => {
    const p = await startPair({
      REDIS_URL: `redis://127.0.0.1:${await closedPort()}`,
      REDIS_CONNECT_TIMEOUT_MS: String(TIMEOUT_MS),
      RATE_LIMIT_MAX: "2",
    });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 10; i++) {
        const res = await self(i % 2 ? p.b : p.a, p.a.adminToken, TIMEOUT_MS);
        statuses.push(res.status);
        assert.ok(res.headers.get("x-ratelimit-limit"), "the headers stay, from this instance's count");
      }
      // Each instance admits RATE_LIMIT_MAX on its own: two instances, twice the limit.
      assert.deepEqual(statuses, [200, 200, 200, 200, 429, 429, 429, 429, 429, 429]);
      assert.equal(await metric(p.a, "devusers_redis_errors_total"), 5);
      assert.equal(await metric(p.b, "devusers_redis_errors_total"), 5);
      assert.equal(await metric(p.a, "devusers_redis_breaker_open"), 1);
    } finally {
      await p.close();
    }
  });

  it("a partition after Redis answered: requests wait at most REDIS_CONNECT_TIMEOUT_MS on it", {
    skip: redisSkip,
  }, async () => {
    const proxy = await startTcpProxy(Number(new URL(REDIS_URL).port || 6379), new URL(REDIS_URL).hostname);
    const p = await startPair({
      REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
      REDIS_CONNECT_TIMEOUT_MS: String(TIMEOUT_MS),
    });
    try {
      for (const s of [p.a, p.b]) await untilRedisCounts(s);
      await proxy.cut("blackhole");
      const before = await metric(p.a, "devusers_redis_errors_total");
      for (let i = 0; i < 4; i++) {
        // The wait on Redis, plus the request's own work.
        const res = await self(i % 2 ? p.b : p.a, p.a.adminToken, TIMEOUT_MS + 1000);
        assert.equal(res.status, 200);
      }
      assert.ok((await metric(p.a, "devusers_redis_errors_total")) > before);
    } finally {
      await p.close();
      await proxy.close();
    }
  });
});

describe("two instances on one PostgreSQL", { skip: pgSkip }, () => {
  let p: Pair;
  const cli = (...args: string[]) => runCli(args, { DATABASE_URL: p.url });
  before(async () => {
    p = await startPair();
  });
  after(() => p.close());

  it("a token minted by one instance or by the CLI works on the other", async () => {
    assert.equal((await self(p.b, p.a.adminToken)).status, 200);
    assert.equal((await self(p.a, p.b.adminToken)).status, 200);
    const minted = await cli("token", "create", "--email", "admin@example.com", "--ttl", "1h");
    assert.equal(minted.code, 0, minted.stderr);
    for (const s of [p.a, p.b]) assert.equal((await self(s, minted.stdout.trim())).status, 200);
  });

  it("deactivating a user on one instance makes its token fail at once on the other", async () => {
    const carol = await p.a.user("carol@example.com", "member");
    assert.equal((await self(p.b, carol.token)).status, 200);
    const res = await call(p.a, "/dev-users.deactivate", p.a.adminToken, { body: { id: carol.id } });
    assert.equal(res.status, 200);
    const after = await self(p.b, carol.token);
    assert.equal(after.status, 401);
    assert.equal(after.body.type, "unauthenticated");
  });

  it("a token revoked through one instance fails at once on the other", async () => {
    const dave = await p.a.user("dave@example.com", "member");
    const made = await call(p.a, "/auth-tokens.create", dave.token, {
      body: { requested_token_type: "urn:devrev:params:oauth:token-type:pat" },
    });
    assert.equal(made.status, 201);
    const pat = made.body.access_token as string;
    assert.equal((await self(p.b, pat)).status, 200, "b knows the token before the revoke");
    assert.equal((await call(p.a, "/auth-tokens.delete", pat, { body: {} })).status, 200);
    const after = await self(p.b, pat);
    assert.equal(after.status, 401, "the very next request on b is refused");
    assert.equal(after.body.type, "unauthenticated");
    assert.equal((await self(p.b, dave.token)).status, 200, "the user's other token still works on b");
  });

  it("50 concurrent links of one (issuer, id) across both instances: one wins, 20 rounds", async () => {
    const users: string[] = [];
    for (let i = 0; i < 50; i++) {
      const res = await call(p.a, "/dev-users.create", p.a.adminToken, {
        body: { email: `racer${i}@example.com`, state: "shadow" },
      });
      users.push(res.body.dev_user.id);
    }
    const watch = new pg.Client({ connectionString: p.url });
    await watch.connect();
    try {
      for (let round = 0; round < 20; round++) {
        const issuer = `race-${round}`;
        const results = await Promise.all(
          users.map((dev_user, i) =>
            call(i % 2 ? p.b : p.a, "/dev-users.identities.link", p.a.adminToken, {
              body: { dev_user, issuer, id: "shared" },
            }),
          ),
        );
        const won = results.filter((r) => r.status === 200);
        assert.equal(won.length, 1, `round ${round}: ${JSON.stringify(results.map((r) => r.status))}`);
        const winner = won[0]!.body.dev_user.id;
        for (const r of results.filter((x) => x.status !== 200)) {
          assert.equal(r.status, 400);
          assert.equal(r.body.type, "artifact_already_attached_to_a_parent");
          assert.equal(r.body.existing_parent, winner);
          assert.equal(r.body.is_same, false);
        }
        const rows = await watch.query(
          "select dev_user_id from external_identities where issuer = $1 and external_id = 'shared'",
          [issuer],
        );
        assert.equal(rows.rowCount, 1);
        assert.equal(`${rows.rows[0].dev_user_id}`, winner.split("/").pop());
      }
    } finally {
      await watch.end();
    }
  });

  it("keys rotate adds a key; old tokens work until keys retire <kid>, then fail on both", async () => {
    const old = p.a.adminToken;
    const oldKid = decodeProtectedHeader(old).kid!;
    const rotated = await cli("keys", "rotate");
    assert.equal(rotated.code, 0, rotated.stderr);
    const newKid = rotated.stdout.trim();
    const fresh = await p.b.token("admin@example.com");
    assert.equal(decodeProtectedHeader(fresh).kid, newKid, "new tokens are signed with the new key");
    for (const s of [p.a, p.b]) {
      assert.equal((await self(s, old)).status, 200);
      assert.equal((await self(s, fresh)).status, 200);
    }
    const retired = await cli("keys", "retire", oldKid);
    assert.equal(retired.code, 0, retired.stderr);
    // Each instance re-reads the key set at most every second.
    for (const s of [p.a, p.b]) {
      let status = 200;
      for (let i = 0; i < 50 && status === 200; i++) {
        status = (await self(s, old)).status;
        if (status === 200) await sleep(100);
      }
      assert.equal(status, 401);
      assert.equal((await self(s, fresh)).status, 200);
    }
  });
});

describe("devusers migrate from several processes at once", { skip: pgSkip }, () => {
  it("all succeed on a fresh database, and each waits on Kysely's advisory lock", async () => {
    const db = await createPgDatabase();
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    try {
      // Hold the migration lock ourselves: every `migrate` must queue behind it.
      await holder.query(`select pg_advisory_lock(${KYSELY_MIGRATION_LOCK})`);
      // Waiting for the lock is one statement: give it longer than these processes take to start.
      const env = { DATABASE_URL: db.url, PG_STATEMENT_TIMEOUT_MS: "60000" };
      const runs = Array.from({ length: 4 }, () => runCli(["migrate"], env));
      let waiting = 0;
      for (let i = 0; i < 300 && waiting < 4; i++) {
        const r = await holder.query(
          "select count(*)::int as n from pg_locks where locktype = 'advisory' and not granted and database = (select oid from pg_database where datname = current_database())",
        );
        waiting = r.rows[0].n;
        if (waiting < 4) await sleep(20);
      }
      assert.equal(waiting, 4, "each migrate process waits for the advisory lock");
      const tables = await holder.query("select count(*)::int as n from pg_tables where tablename = 'dev_users'");
      assert.equal(tables.rows[0].n, 0, "nothing migrates while the lock is held");
      await holder.query(`select pg_advisory_unlock(${KYSELY_MIGRATION_LOCK})`);
      for (const r of await Promise.all(runs)) assert.equal(r.code, 0, r.stderr);
      const applied = await holder.query("select name from kysely_migration order by name");
      // Every migration applied exactly once, however many processes raced to apply it.
      assert.deepEqual(
        applied.rows.map((r) => r.name),
        migrationNames,
      );
      const again = await Promise.all([1, 2, 3].map(() => runCli(["migrate"], { DATABASE_URL: db.url })));
      for (const r of again) assert.equal(r.code, 0, r.stderr);
    } finally {
      await holder.end();
      await db.drop();
    }
  });
});

describe("SIGTERM drains a running devusers serve", { skip: pgSkip }, () => {
  it("/readyz and new requests turn 503, the in-flight request completes, the process exits 0", async () => {
    const db = await createPgDatabase();
    const env = {
      DATABASE_URL: db.url,
      PG_STATEMENT_TIMEOUT_MS: "30000",
      SHUTDOWN_TIMEOUT_MS: "30000",
      SHUTDOWN_LISTEN_MS: "2000",
    };
    const minted = await runCli(["token", "create", "--email", "admin@example.com"], env);
    assert.equal(minted.code, 0, minted.stderr);
    const token = minted.stdout.trim();
    const server = await startServe(env);
    const locker = new pg.Client({ connectionString: db.url });
    const watch = new pg.Client({ connectionString: db.url });
    await locker.connect();
    await watch.connect();
    const request = (path: string, body?: unknown) =>
      fetch(server.url + path, {
        method: body === undefined ? "GET" : "POST",
        headers: { authorization: token, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
    try {
      assert.equal((await request("/readyz")).status, 200);
      // The slow request: its update waits on a row lock this test holds.
      await locker.query("begin");
      await locker.query("select id from dev_users where email_lower = 'admin@example.com' for update");
      const slow = request("/dev-users.self.update", { full_name: "Drained" });
      let waiting = 0;
      for (let i = 0; i < 500 && waiting === 0; i++) {
        const r = await watch.query(
          "select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and backend_type = 'client backend'",
        );
        waiting = r.rows[0].n;
        if (waiting === 0) await sleep(10);
      }
      assert.equal(waiting, 1, "the slow request is in flight");

      server.child.kill("SIGTERM");
      let ready = await request("/readyz");
      for (let i = 0; i < 100 && ready.status === 200; i++) {
        await sleep(20);
        ready = await request("/readyz");
      }
      assert.equal(ready.status, 503);
      assert.equal(((await ready.json()) as { status: string }).status, "draining");
      for (const path of ["/dev-users.self", "/dev-users.list"]) {
        const res = await request(path);
        assert.equal(res.status, 503);
        assert.equal(((await res.json()) as { type: string }).type, "service_unavailable");
      }

      await locker.query("rollback");
      const done = await slow;
      assert.equal(done.status, 200);
      assert.equal(((await done.json()) as { dev_user: { full_name: string } }).dev_user.full_name, "Drained");
      assert.equal(await server.exited, 0);
    } finally {
      server.child.kill("SIGKILL");
      await locker.end();
      await watch.end();
      await db.drop();
    }
  });
});

// Named statements on PostgreSQL (src/db/postgres.ts): a migration that changes a table while the
// service runs makes the server refuse what each connection prepared. Every refused request
// gets a retryable 503, never a 500, and the service is whole again once its connections are new.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import { loadFixtures } from "../src/fixtures/load.js";
import { systemClock } from "../src/services/context.js";
import { skipUnlessPostgres } from "./helpers/databases.js";
import { startTestServer, type TestServer } from "./helpers/server.js";

const POOL_MAX = 3;

describe("PostgreSQL named statements and a live migration", { skip: await skipUnlessPostgres() }, () => {
  let s: TestServer;
  const get = (id: string) => s.http("GET", `/dev-users.get?id=${encodeURIComponent(id)}`);

  before(async () => {
    s = await startTestServer({ dialect: "postgres", env: { PG_POOL_MAX: String(POOL_MAX) } });
  });
  after(() => s.close());

  it("answers 503 while connections hold statements a migration made stale, then 200 again", async () => {
    const me = (await s.http("GET", "/dev-users.self")).body.dev_user.id as string;
    // Every pooled connection prepares the statements of a get.
    const warm = await Promise.all(Array.from({ length: POOL_MAX * 4 }, () => get(me)));
    assert.ok(warm.every((r) => r.status === 200));

    const other = new pg.Client({ connectionString: s.databaseUrl });
    await other.connect();
    try {
      await other.query("alter table dev_users add column nickname text");
    } finally {
      await other.end();
    }

    // Each stale connection fails one request and is replaced. The webhook worker borrows
    // connections too (for statements that are not named), so which request meets the last stale
    // one varies: ask until the pool has answered POOL_MAX times in a row after the last failure.
    const statuses: number[] = [];
    while (statuses.length < POOL_MAX * 12) {
      const res = await get(me);
      statuses.push(res.status);
      if (res.status !== 200) assert.equal(res.body.type, "service_unavailable", res.text);
      if (
        statuses.filter((st) => st !== 200).length === POOL_MAX &&
        statuses.slice(-POOL_MAX).every((st) => st === 200)
      )
        break;
      if (statuses.length >= POOL_MAX * 8 && statuses.slice(-POOL_MAX * 4).every((st) => st === 200)) break;
    }
    assert.ok(!statuses.includes(500), statuses.join(","));
    assert.ok(statuses.filter((st) => st !== 200).length <= POOL_MAX, statuses.join(","));
    assert.deepEqual(statuses.slice(-POOL_MAX), Array(POOL_MAX).fill(200), statuses.join(","));
    assert.equal((await get(me)).body.dev_user.id, me);
  });
});

describe("PostgreSQL planner statistics after a bulk load", { skip: await skipUnlessPostgres() }, () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ dialect: "postgres" });
  });
  after(() => s.close());

  it("a load of thousands of users refreshes the statistics, so the first list after it uses the org's index", async () => {
    const analyzed = async () => {
      const client = new pg.Client({ connectionString: s.databaseUrl });
      await client.connect();
      try {
        const { rows } = await client.query(
          "select relname, last_analyze from pg_stat_user_tables where relname in ('dev_users', 'external_identities') order by relname",
        );
        return rows as { relname: string; last_analyze: Date | null }[];
      } finally {
        await client.end();
      }
    };
    const before = await analyzed();
    const users = Array.from({ length: 2000 }, (_, i) => ({
      email: `bulk${i}@stats.test`,
      state: "active",
      external_identities: [{ issuer: "slack", id: `S${i}` }],
    }));
    const summary = await loadFixtures({ db: s.running.db, now: systemClock }, "stats", users);
    assert.equal(summary.created, 2000);
    const after = await analyzed();
    assert.equal(after.length, 2);
    for (const row of after) {
      const was = before.find((b) => b.relname === row.relname)?.last_analyze ?? null;
      assert.ok(row.last_analyze, `${row.relname} analyzed`);
      assert.ok(!was || row.last_analyze > was, `${row.relname} analyzed again by the load`);
    }
  });
});

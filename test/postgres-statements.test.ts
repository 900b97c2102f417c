// Named statements on PostgreSQL (src/db/postgres.ts): a migration that changes a table while the
// service runs makes the server refuse what each connection prepared. Every refused request
// gets a retryable 503, never a 500, and the service is whole again once its connections are new.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import pg from "pg";
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

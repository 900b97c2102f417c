// A PostgreSQL outage, made with a TCP proxy between the service and the shared server (which is
// never touched): every request gets 503 service_unavailable within the configured timeouts,
// /readyz turns not ready, and the service recovers by itself once the database answers again.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { sql } from "kysely";
import pg from "pg";
import { createPgDatabase, skipUnlessPostgres } from "./helpers/databases.js";
import { SHADOW, startTestServer, type TestServer } from "./helpers/server.js";
import { type CutMode, startTcpProxy, type TcpProxy } from "./helpers/tcp-proxy.js";

const STATEMENT_MS = 1000;
const CONNECT_MS = 1000;
const POOL_MAX = 4;
// The longest a request may take during an outage: a wait for a connection, then one statement
// with the driver's 1 s margin over the statement timeout, plus slack for a busy machine.
const BOUND_MS = CONNECT_MS + STATEMENT_MS + 1000 + 1500;

describe("PostgreSQL outage", { skip: await skipUnlessPostgres() }, () => {
  let db: { url: string; drop(): Promise<void> };
  let proxy: TcpProxy;
  let s: TestServer;
  /** Watches pg_stat_activity; `locker` holds row locks (in a transaction, whose stats view is frozen). */
  let direct: pg.Client;
  let locker: pg.Client;
  let bob: string;

  /** One request that must be answered before BOUND_MS; an abort fails the test as a hang. */
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(s.url + path, {
      method,
      headers: { authorization: s.adminToken, ...(body ? { "content-type": "application/json" } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(BOUND_MS),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  const burst = () =>
    Promise.all([
      call("GET", "/dev-users.self"),
      call("GET", `/dev-users.get?id=${encodeURIComponent(bob)}`),
      call("POST", "/dev-users.list", { limit: 5 }),
      call("POST", "/dev-users.create", { email: `n${Math.random()}@outage.test`, state: "shadow" }),
      call("POST", "/dev-users.identities.link", { dev_user: bob, issuer: `i${Math.random()}`, id: "U1" }),
      call("POST", "/dev-users.self.update", { full_name: "Admin" }),
      ...Array.from({ length: 6 }, () => call("POST", "/dev-users.self", {})),
    ]);
  const readyz = async () => (await fetch(`${s.url}/readyz`, { signal: AbortSignal.timeout(BOUND_MS) })).status;
  const metric = async (name: string) => {
    const text = await (await fetch(`${s.url}/metrics`)).text();
    return Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1]);
  };
  /** Waits (bounded) until `n` of the service's queries wait on a lock held by `locker`. */
  const lockWaiters = async (n: number) => {
    for (let i = 0; i < 500; i++) {
      const r = await direct.query(
        "select count(*)::int as n from pg_stat_activity where datname = current_database() and backend_type = 'client backend' and wait_event_type = 'Lock'",
      );
      if (r.rows[0].n >= n) return;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`fewer than ${n} queries ever waited on the lock`);
  };
  const lockAdmin = async () => {
    await locker.query("begin");
    await locker.query("select id from dev_users where email_lower = 'admin@example.com' for update");
  };

  before(async () => {
    db = await createPgDatabase();
    proxy = await startTcpProxy(Number(new URL(db.url).port || 5432));
    const viaProxy = new URL(db.url);
    viaProxy.port = String(proxy.port);
    s = await startTestServer({
      dialect: "postgres",
      databaseUrl: viaProxy.toString(),
      env: {
        PG_STATEMENT_TIMEOUT_MS: String(STATEMENT_MS),
        PG_CONNECT_TIMEOUT_MS: String(CONNECT_MS),
        PG_POOL_MAX: String(POOL_MAX),
      },
    });
    direct = new pg.Client({ connectionString: db.url, application_name: "outage-test" });
    await direct.connect();
    locker = new pg.Client({ connectionString: db.url, application_name: "outage-test" });
    await locker.connect();
    bob = (await s.sdk().devUsersCreate({ email: "bob@outage.test", state: SHADOW })).data.dev_user.id;
  });
  after(async () => {
    await direct?.end();
    await locker?.end();
    await s?.close();
    await proxy?.close();
    await db?.drop();
  });

  it("the pool settings reach the driver: statement timeout, pool size, connection wait", async () => {
    const shown = await sql<{ statement_timeout: string }>`show statement_timeout`.execute(s.running.db.kysely);
    assert.equal(shown.rows[0]?.statement_timeout, `${STATEMENT_MS / 1000}s`);
    await lockAdmin();
    try {
      // Each self.update holds a connection while it waits on the lock: POOL_MAX of them get one,
      // the rest wait for a connection until the connect timeout. Every one ends in 503.
      const updates = Array.from({ length: POOL_MAX + 2 }, () =>
        call("POST", "/dev-users.self.update", { full_name: "Blocked" }),
      );
      await lockWaiters(POOL_MAX);
      const open = await direct.query(
        "select count(*)::int as n from pg_stat_activity where datname = current_database() and backend_type = 'client backend' and application_name <> 'outage-test'",
      );
      assert.equal(open.rows[0].n, POOL_MAX);
      assert.equal(await metric("devusers_db_pool_connections"), POOL_MAX);
      for (const res of await Promise.all(updates)) {
        assert.equal(res.status, 503);
        assert.equal(res.body.type, "service_unavailable");
      }
    } finally {
      await locker.query("rollback");
    }
    assert.equal((await call("GET", "/dev-users.self")).status, 200);
  });

  it("a transaction cut mid-way gets 503, never 500", async () => {
    await lockAdmin();
    try {
      const pending = call("POST", "/dev-users.self.update", { full_name: "Cut" });
      await lockWaiters(1);
      await proxy.cut("refuse");
      const res = await pending;
      assert.equal(res.status, 503);
      assert.equal(res.body.type, "service_unavailable");
    } finally {
      await locker.query("rollback");
      await proxy.restore();
    }
  });

  for (const mode of ["refuse", "blackhole"] as CutMode[])
    it(`${mode === "refuse" ? "server gone" : "network partition"}: 503 within the timeout, not ready, then recovery`, async () => {
      assert.equal(await readyz(), 200);
      const unavailableBefore = await metric("devusers_db_unavailable_total");
      await proxy.cut(mode);
      try {
        for (let round = 0; round < 2; round++) {
          for (const res of await burst()) {
            assert.equal(res.status, 503, JSON.stringify(res.body));
            assert.equal(res.body.type, "service_unavailable");
          }
          assert.equal(await readyz(), 503);
        }
        const health = await fetch(`${s.url}/healthz`);
        assert.equal(health.status, 200, "the process itself stays alive");
        assert.ok((await metric("devusers_db_unavailable_total")) >= unavailableBefore + 24);
      } finally {
        await proxy.restore();
      }
      // Connections the outage broke are dropped as they are found; readiness comes back.
      let ready = 503;
      for (let i = 0; i < 50 && ready !== 200; i++) {
        ready = await readyz();
        if (ready !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.equal(ready, 200);
      for (const res of await burst()) assert.ok(res.status === 200 || res.status === 201, JSON.stringify(res.body));
    });
});

// DATABASE_REPLICA_URL: list and audit-log pages are read from the replica, everything else (the
// caller's authentication, gets, writes) from the primary. Shown with a "replica" that is another
// database holding other users, so where each answer came from is plain.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { loadConfig } from "../src/config.js";
import { skipUnlessPostgres } from "./helpers/databases.js";
import { SHADOW, startTestServer, type TestServer } from "./helpers/server.js";

describe("PostgreSQL with a read replica for pages", { skip: await skipUnlessPostgres() }, () => {
  let primary: TestServer;
  let replica: TestServer;
  let s: TestServer;
  before(async () => {
    [primary, replica] = await Promise.all([
      startTestServer({ dialect: "postgres" }),
      startTestServer({ dialect: "postgres" }),
    ]);
    await primary.sdk().devUsersCreate({ email: "on-primary@example.com", state: SHADOW });
    await replica.sdk().devUsersCreate({ email: "on-replica@example.com", state: SHADOW });
    // The "replica" has replayed further than the primary has come: its pages may be served.
    await catchUp();
    s = await startTestServer({
      dialect: "postgres",
      databaseUrl: primary.databaseUrl,
      env: { DATABASE_REPLICA_URL: replica.databaseUrl },
    });
  });
  after(async () => {
    await s?.close();
    await Promise.all([primary?.close(), replica?.close()]);
  });

  const emails = (body: { dev_users: { email: string }[] }) => body.dev_users.map((u) => u.email);
  const head = async (server: TestServer) =>
    Number(
      (await server.running.db.kysely.selectFrom("journal_heads").select("next_seq").executeTakeFirst())?.next_seq ?? 0,
    );
  /** Journalled writes on the "replica" until its org's journal head passes the primary's. */
  let filler = 0;
  async function catchUp() {
    while ((await head(replica)) <= (await head(primary)))
      await replica.sdk().devUsersCreate({ email: `filler-${++filler}@example.com`, state: SHADOW });
  }

  it("answers list pages and lookups from the replica", async () => {
    const listed = await s.http("GET", "/dev-users.list");
    assert.equal(listed.status, 200, listed.text);
    assert.ok(emails(listed.body).includes("on-replica@example.com"));
    assert.ok(!emails(listed.body).includes("on-primary@example.com"));
    const audit = await s.http("GET", "/audit-logs.list?operation=dev_users.create");
    assert.equal(audit.status, 200, audit.text);
    assert.ok(JSON.stringify(audit.body).includes("on-replica@example.com"));
  });

  it("authenticates, gets and writes on the primary", async () => {
    const me = await s.http("GET", "/dev-users.self");
    assert.equal(me.status, 200);
    const found = await s.http("GET", `/dev-users.get?id=DEVU-2`);
    assert.equal(found.body.dev_user.email, "on-primary@example.com");
    const made = await s.http("POST", "/dev-users.create", { body: { email: "written@example.com", state: "shadow" } });
    assert.equal(made.status, 201, made.text);
    const onPrimary = await primary.http("GET", "/dev-users.list?email=written@example.com");
    assert.deepEqual(emails(onPrimary.body), ["written@example.com"]);
    const onReplica = await replica.http("GET", "/dev-users.list?email=written@example.com");
    assert.deepEqual(emails(onReplica.body), [], "a write never goes to the replica");
  });

  it("serves a page from the primary while the replica has not replayed what the primary acknowledged", async () => {
    // Another instance on the same primary writes; the replica has not seen it (it never will,
    // here): the next page through this instance holds the write all the same.
    for (let i = 0; i < 3; i++)
      await primary.sdk().devUsersCreate({ email: `elsewhere-${i}@example.com`, state: SHADOW });
    assert.ok((await head(primary)) > (await head(replica)));
    const listed = await s.http("GET", "/dev-users.list?limit=100");
    assert.ok(emails(listed.body).includes("elsewhere-2@example.com"), "the page comes from the primary");
    const lookup = await s.http("POST", "/dev-users.list", { body: { email: ["elsewhere-1@example.com"] } });
    assert.deepEqual(emails(lookup.body), ["elsewhere-1@example.com"]);
    const audit = await s.http("GET", "/audit-logs.list?operation=dev_users.create&limit=100");
    assert.ok(JSON.stringify(audit.body).includes("elsewhere-0@example.com"));
    // Once the replica has come as far, it serves the pages again.
    await catchUp();
    const again = await s.http("GET", "/dev-users.list?limit=100");
    assert.ok(emails(again.body).includes("on-replica@example.com"));
    assert.ok(!emails(again.body).includes("elsewhere-2@example.com"));
  });

  it("is refused beside SQLite, or when it is not a PostgreSQL URL", () => {
    assert.throws(
      () => loadConfig({ DATABASE_URL: "./x.sqlite", DATABASE_REPLICA_URL: "postgres://h/db" }),
      /DATABASE_REPLICA_URL needs DATABASE_URL to be PostgreSQL/,
    );
    assert.throws(
      () => loadConfig({ DATABASE_URL: "postgres://h/db", DATABASE_REPLICA_URL: "./x.sqlite" }),
      /DATABASE_REPLICA_URL must be a postgres:\/\/ URL/,
    );
  });
});

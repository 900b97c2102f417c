// User numbers per org: `DEVU-<n>` and the DON count each org's users on their own, so no org can
// learn another's activity from the numbers it is given (or from its cursors); a database
// numbered by the previous schema keeps every id it handed out.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { client } from "@devrev/typescript-sdk";
import { type Kysely, sql } from "kysely";
import { loadConfig } from "../src/config.js";
import { type Db, openDatabase } from "../src/db/database.js";
import { migrateToLatest, migrator } from "../src/db/migrate.js";
import { startDevusers } from "../src/index.js";
import { createPgDatabase, type TestDialect, testDialects } from "./helpers/databases.js";
import { runCli } from "./helpers/processes.js";
import { type Sdk, SHADOW, sdkError, startTestServer, type TestServer } from "./helpers/server.js";

const don = (org: string, n: number) => `don:identity:dvrv-us-1:devo/${org}:devu/${n}`;
const num = (id: string) => Number(id.split("/").pop());
const cursorJson = (c: string) => JSON.parse(Buffer.from(c, "base64url").toString("utf8"));
const v1Cursor = (s: string, k: unknown[]) =>
  Buffer.from(JSON.stringify({ v: 1, s, k, d: "after" })).toString("base64url");

/** A database of its own, and how to remove it. */
async function scratchDatabase(dialect: TestDialect): Promise<{ url: string; drop(): Promise<void> }> {
  if (dialect === "postgres") return createPgDatabase();
  const dir = mkdtempSync(join(tmpdir(), "devusers-numbers-"));
  return { url: join(dir, "db.sqlite"), drop: async () => rmSync(dir, { recursive: true, force: true }) };
}

const openAt = (url: string): Db => openDatabase(loadConfig({ DATABASE_URL: url, LOG_LEVEL: "silent" }));

for (const { dialect, skip } of await testDialects()) {
  describe(`user numbers per org [${dialect}]`, { skip }, () => {
    let s: TestServer;
    let mine: Sdk;
    let theirs: Sdk;
    const create = async (sdk: Sdk, email: string, extra: Record<string, unknown> = {}) =>
      (await sdk.devUsersCreate({ email, state: SHADOW, ...extra })).data.dev_user;

    before(async () => {
      s = await startTestServer({ dialect });
      mine = s.sdk();
      theirs = s.sdk(await s.token("root@rival.test", { org: "rival" }));
    });
    after(() => s.close());

    it("two orgs of one database each count DEVU-1, DEVU-2, … and creates in one never move the other's", async () => {
      assert.equal((await mine.devUsersSelf()).data.dev_user.display_id, "DEVU-1");
      assert.equal((await theirs.devUsersSelf()).data.dev_user.id, don("rival", 1));
      const a2 = await create(mine, "a2@mine.test");
      const b2 = await create(theirs, "b2@rival.test");
      assert.equal(a2.display_id, "DEVU-2");
      assert.equal(a2.id, don("default", 2));
      assert.equal(b2.display_id, "DEVU-2");
      assert.equal(b2.id, don("rival", 2));
      for (let i = 3; i <= 12; i++) assert.equal((await create(theirs, `b${i}@rival.test`)).display_id, `DEVU-${i}`);
      // Ten creates in the other org later, this org's next number is still the next one.
      const a3 = await create(mine, "a3@mine.test");
      assert.equal(a3.display_id, "DEVU-3");
      assert.equal(a3.id, don("default", 3));
      assert.equal((await create(theirs, "b13@rival.test")).display_id, "DEVU-13");
    });

    it("a number names the caller's own org's user, in both forms, and another org's DON is a 404", async () => {
      for (const id of ["DEVU-2", don("default", 2)]) {
        assert.equal((await mine.devUsersGet({ id })).data.dev_user.email, "a2@mine.test");
      }
      for (const id of ["DEVU-2", don("rival", 2)]) {
        assert.equal((await theirs.devUsersGet({ id })).data.dev_user.email, "b2@rival.test");
      }
      assert.equal((await sdkError(mine.devUsersGet({ id: don("rival", 2) }))).status, 404);
      // Only the other org has a user 13: here it names nobody.
      assert.equal((await sdkError(mine.devUsersGet({ id: "DEVU-13" }))).status, 404);
      assert.equal((await sdkError(mine.devUsersUpdate({ id: "DEVU-13", full_name: "x" }))).status, 404);
      assert.equal((await theirs.devUsersGet({ id: "DEVU-13" })).data.dev_user.email, "b13@rival.test");
    });

    it("every id a response carries is a number of the org: created_by, modified_by, reports_to, existing_parent", async () => {
      const boss = await create(mine, "boss@mine.test");
      assert.equal(boss.display_id, "DEVU-4");
      assert.equal(boss.created_by?.id, don("default", 1));
      assert.equal(boss.created_by?.display_id, "DEVU-1");
      const worker = await create(mine, "worker@mine.test", { reports_to: "DEVU-4" });
      assert.equal(worker.reports_to?.id, boss.id);
      assert.equal(worker.reports_to?.display_id, "DEVU-4");
      const moved = (await mine.devUsersUpdate({ id: worker.id, reports_to: "DEVU-2" })).data.dev_user;
      assert.equal(moved.reports_to?.id, don("default", 2));
      assert.equal(moved.modified_by?.id, don("default", 1));
      // The other org's DEVU-4 reports to nobody because of this.
      assert.equal((await theirs.devUsersGet({ id: "DEVU-4" })).data.dev_user.reports_to, undefined);

      await mine.devUsersIdentitiesLink({ dev_user: "DEVU-4", issuer: "slack", id: "BOSS" });
      const taken = await sdkError(mine.devUsersIdentitiesLink({ dev_user: "DEVU-5", issuer: "slack", id: "BOSS" }));
      assert.equal(taken.body.type, "artifact_already_attached_to_a_parent");
      assert.equal(taken.body.existing_parent, don("default", 4));
      assert.equal(taken.body.is_same, false);
      const again = await sdkError(mine.devUsersIdentitiesLink({ dev_user: boss.id, issuer: "slack", id: "BOSS" }));
      assert.equal(again.body.existing_parent, don("default", 4));
      assert.equal(again.body.is_same, true);
      await mine.devUsersIdentitiesUnlink({ dev_user: "DEVU-4", issuer: "slack" });
      assert.deepEqual((await mine.devUsersGet({ id: "DEVU-4" })).data.dev_user.external_identities, []);
    });

    it("merge takes numbers of the org", async () => {
      const p = await create(theirs, "primary@rival.test");
      const q = await create(theirs, "secondary@rival.test");
      assert.deepEqual([p.display_id, q.display_id], ["DEVU-14", "DEVU-15"]);
      await theirs.devUsersIdentitiesLink({ dev_user: "DEVU-15", issuer: "github", id: "Q" });
      await theirs.devUsersMerge({ primary_user: "DEVU-14", secondary_user: don("rival", 15) });
      const merged = (await theirs.devUsersGet({ id: p.id })).data.dev_user;
      assert.deepEqual(
        merged.external_identities?.map((i) => i.id),
        ["Q"],
      );
      assert.equal((await theirs.devUsersGet({ id: q.id })).data.dev_user.state, "deactivated");
      // This org has no user of that number: nothing to merge.
      const none = await sdkError(mine.devUsersMerge({ primary_user: "DEVU-1", secondary_user: "DEVU-15" }));
      assert.equal(none.status, 404);
    });

    it("lists in number order, and a cursor holds numbers of the org, never a database-wide id", async () => {
      const all = (await theirs.devUsersListPost({ limit: 100 })).data.dev_users;
      const numbers = all.map((u) => num(u.id));
      assert.deepEqual(
        numbers,
        Array.from({ length: numbers.length }, (_, i) => i + 1),
      );
      const first = await theirs.devUsersListPost({ limit: 3 });
      assert.deepEqual(cursorJson(first.data.next_cursor!).k, [3]);
      const second = await theirs.devUsersListPost({ limit: 3, cursor: first.data.next_cursor! });
      assert.deepEqual(
        second.data.dev_users.map((u) => u.display_id),
        ["DEVU-4", "DEVU-5", "DEVU-6"],
      );
      assert.deepEqual(cursorJson(second.data.prev_cursor!).k, [4]);
      const byName = await theirs.devUsersListPost({ limit: 2, sort_by: ["email:desc"] });
      const last = byName.data.dev_users[1]!;
      assert.deepEqual(cursorJson(byName.data.next_cursor!).k, [last.email, num(last.id)]);
      // The exact-identity lookup answers from its own path; its cursor holds numbers too.
      await theirs.devUsersIdentitiesLink({ dev_user: "DEVU-7", issuer: "okta", id: "o7" });
      await theirs.devUsersIdentitiesLink({ dev_user: "DEVU-9", issuer: "okta", id: "o9" });
      const owners = await theirs.devUsersListPost({
        limit: 1,
        external_identity: [
          { issuer: "okta", id: "o9" },
          { issuer: "okta", id: "o7" },
        ],
      });
      assert.deepEqual(
        owners.data.dev_users.map((u) => u.display_id),
        ["DEVU-7"],
      );
      assert.deepEqual(cursorJson(owners.data.next_cursor!).k, [7]);
    });
  });

  describe(`a database numbered by the previous schema [${dialect}]`, { skip }, () => {
    // Made with the first two migrations only: users of two orgs interleaved, so each org's
    // numbers are the shared ids, with gaps; org b's last user was deleted (its id stays used).
    const OLD_SCHEMA = "2026-11-27T11-30-00_dev-users-org-id-index";
    const T = "2026-06-01T00:00:00.000Z";
    let scratch: { url: string; drop(): Promise<void> };
    let old: { users: Record<string, unknown>[]; identities: unknown[]; phones: unknown[] };

    // Every row names every column it may set: a multi-row insert fills the others with NULL on SQLite.
    const user = (id: number, org: number, email: string, extra: Record<string, unknown> = {}) => ({
      id,
      org_id: org,
      email,
      email_lower: email,
      display_name: email.split("@")[0],
      full_name: "",
      state: "active",
      role: "member",
      reports_to_id: null,
      phone_numbers: "[]",
      created_by_id: null,
      modified_by_id: null,
      created_date: T,
      modified_date: T,
      ...extra,
    });
    const snapshot = async (k: Kysely<any>) => ({
      users: await k.selectFrom("dev_users").selectAll().orderBy("id").execute(),
      identities: await k.selectFrom("external_identities").selectAll().orderBy("id").execute(),
      phones: await k.selectFrom("dev_user_phone_numbers").selectAll().orderBy("dev_user_id").execute(),
    });

    before(async () => {
      scratch = await scratchDatabase(dialect);
      const db = openAt(scratch.url);
      try {
        const { error } = await migrator(db.kysely).migrateTo(OLD_SCHEMA);
        assert.ifError(error);
        const k = db.kysely as unknown as Kysely<any>;
        await k
          .insertInto("orgs")
          .values([
            { id: 1, slug: "a", created_date: T },
            { id: 2, slug: "b", created_date: T },
          ])
          .execute();
        await k
          .insertInto("dev_users")
          .values([
            user(1, 1, "admin@example.com", { role: "admin", created_by_id: 1, modified_by_id: 1 }),
            user(2, 2, "root@b.test", { role: "admin" }),
            user(3, 1, "three@a.test", { created_by_id: 1, full_name: "Three" }),
            user(4, 1, "four@a.test", { reports_to_id: 3, created_by_id: 1, modified_by_id: 3 }),
            user(5, 2, "five@b.test", { state: "shadow", phone_numbers: '["+1555005"]' }),
            user(6, 2, "gone@b.test", { state: "shadow" }),
          ])
          .execute();
        await k.deleteFrom("dev_users").where("id", "=", 6).execute();
        await k
          .insertInto("external_identities")
          .values([
            { org_id: 1, dev_user_id: 3, issuer: "slack", external_id: "U3", is_verified: 0, created_date: T },
            { org_id: 2, dev_user_id: 5, issuer: "slack", external_id: "U3", is_verified: 1, created_date: T },
          ])
          .execute();
        await k.insertInto("dev_user_phone_numbers").values({ dev_user_id: 5, phone_number: "+1555005" }).execute();
        if (dialect === "postgres") {
          // Rows written with explicit ids: the sequence goes where the ids went, as if made by inserts.
          await sql`select setval('dev_users_id_seq', 6)`.execute(k);
          await sql`select setval('orgs_id_seq', 2)`.execute(k);
        }
        old = await snapshot(k);
        await migrateToLatest(db.kysely);
      } finally {
        await db.close();
      }
    });
    after(() => scratch.drop());

    it("keeps every row as it was, each user numbered by its old id, each org counting on past its largest", async () => {
      const db = openAt(scratch.url);
      try {
        const k = db.kysely as unknown as Kysely<any>;
        const now = await snapshot(k);
        assert.deepEqual(
          now.users.map(({ number, token_generation: _, ...row }) => {
            assert.equal(number, row.id);
            return row;
          }),
          old.users,
        );
        assert.deepEqual(now.identities, old.identities);
        assert.deepEqual(now.phones, old.phones);
        const orgs = await k.selectFrom("orgs").select(["slug", "next_user_number"]).orderBy("id").execute();
        assert.deepEqual(orgs, [
          { slug: "a", next_user_number: 5 },
          { slug: "b", next_user_number: 6 },
        ]);
      } finally {
        await db.close();
      }
    });

    it("every DON and DEVU-<n> handed out still names its user, and new users count on per org", async () => {
      const s = await startTestServer({ dialect, databaseUrl: scratch.url, org: "a" });
      try {
        const a = s.sdk();
        const b = s.sdk(await s.token("root@b.test", { org: "b" }));
        assert.equal((await a.devUsersGet({ id: "DEVU-3" })).data.dev_user.email, "three@a.test");
        const four = (await a.devUsersGet({ id: don("a", 4) })).data.dev_user;
        assert.equal(four.email, "four@a.test");
        assert.equal(four.reports_to?.id, don("a", 3));
        assert.equal(four.created_by?.id, don("a", 1));
        assert.equal(four.modified_by?.display_id, "DEVU-3");
        assert.equal((await b.devUsersGet({ id: "DEVU-5" })).data.dev_user.email, "five@b.test");
        assert.equal((await sdkError(a.devUsersGet({ id: "DEVU-5" }))).status, 404, "5 is org b's");
        assert.equal((await sdkError(b.devUsersGet({ id: "DEVU-6" }))).status, 404, "6 was deleted");
        const owner = await a.devUsersList({ "external_identity.issuer": "slack", "external_identity.id": "U3" });
        assert.deepEqual(
          owner.data.dev_users.map((u) => u.id),
          [don("a", 3)],
        );
        const phones = await b.devUsersListPost({ phone_numbers: ["+1555005"] });
        assert.deepEqual(
          phones.data.dev_users.map((u) => u.display_id),
          ["DEVU-5"],
        );

        // A cursor from before the migration (its sort ends in the primary key) goes on where it was.
        const rest = await a.devUsersListPost({ limit: 10, cursor: v1Cursor("id:asc", [3]) });
        assert.deepEqual(
          rest.data.dev_users.map((u) => u.display_id),
          ["DEVU-4"],
        );
        const byName = await a.devUsersListPost({
          limit: 10,
          sort_by: ["full_name:asc"],
          cursor: v1Cursor("full_name:asc,id:asc", ["", 1]),
        });
        assert.deepEqual(
          byName.data.dev_users.map((u) => u.display_id),
          ["DEVU-4", "DEVU-3"],
        );

        const a5 = (await a.devUsersCreate({ email: "new@a.test", state: SHADOW })).data.dev_user;
        assert.equal(a5.id, don("a", 5));
        const b6 = (await b.devUsersCreate({ email: "new@b.test", state: SHADOW })).data.dev_user;
        assert.equal(b6.display_id, "DEVU-6", "past org b's largest number, 5");
        assert.equal(
          (await a.devUsersCreate({ email: "next@a.test", state: SHADOW })).data.dev_user.display_id,
          "DEVU-6",
        );
        const k = s.running.db.kysely as unknown as Kysely<any>;
        const ids = await k
          .selectFrom("dev_users")
          .select(["id", "number"])
          .where("id", ">", 5)
          .orderBy("id")
          .execute();
        // The new users' primary keys follow the old ones; id 6 (deleted) is never used again.
        assert.deepEqual(ids, [
          { id: 7, number: 5 },
          { id: 8, number: 6 },
          { id: 9, number: 6 },
        ]);
      } finally {
        await s.close();
      }
    });

    it("the schema refuses a user without a number, with number 0, or with a number its org already gave", async () => {
      const db = openAt(scratch.url);
      try {
        const k = db.kysely as unknown as Kysely<any>;
        const row = (email: string, number?: number) => ({
          org_id: 1,
          email,
          email_lower: email,
          display_name: "x",
          state: "shadow",
          created_date: T,
          modified_date: T,
          ...(number === undefined ? {} : { number }),
        });
        await assert.rejects(k.insertInto("dev_users").values(row("none@a.test")).execute(), /null|NOT NULL/i);
        await assert.rejects(k.insertInto("dev_users").values(row("zero@a.test", 0)).execute(), /check/i);
        await assert.rejects(k.insertInto("dev_users").values(row("dup@a.test", 3)).execute(), /unique|duplicate/i);
        await k
          .insertInto("dev_users")
          .values({ ...row("dup@b.test", 3), org_id: 2 })
          .execute();
        if (dialect === "sqlite") {
          // The table was made again: foreign keys still point at it, and are still enforced.
          assert.deepEqual((await sql`pragma foreign_key_check`.execute(k)).rows, []);
          const fk = (await sql<{ foreign_keys: number }>`pragma foreign_keys`.execute(k)).rows[0]!.foreign_keys;
          assert.equal(fk, 1);
          await assert.rejects(
            k
              .insertInto("external_identities")
              .values({ org_id: 1, dev_user_id: 999, issuer: "x", external_id: "y", created_date: T })
              .execute(),
            /FOREIGN KEY/,
          );
        }
      } finally {
        await db.close();
      }
    });

    it("migrates down to the previous schema and up again", async () => {
      const db = openAt(scratch.url);
      try {
        const k = db.kysely as unknown as Kysely<any>;
        const { error } = await migrator(db.kysely).migrateTo(OLD_SCHEMA);
        assert.ifError(error);
        const cols = await k.selectFrom("dev_users").selectAll().limit(1).execute();
        assert.ok(!("number" in cols[0]!));
        await migrateToLatest(db.kysely);
        const rows = await k.selectFrom("dev_users").select(["id", "number"]).execute();
        for (const r of rows) assert.equal(r.number, r.id);
      } finally {
        await db.close();
      }
    });
  });

  describe(`emptying the directory starts every org's numbers again [${dialect}]`, { skip }, () => {
    let scratch: { url: string; drop(): Promise<void> };
    before(async () => {
      scratch = await scratchDatabase(dialect);
    });
    after(() => scratch.drop());

    it("after startDevusers().reset(), each org's next user is its DEVU-1 again", async () => {
      await using devusers = await startDevusers({ databaseUrl: scratch.url });
      const as = async (email: string, org?: string) =>
        client.setup({ endpoint: devusers.url, token: await devusers.token(email, { org }) });
      const mine = await as(devusers.adminEmail);
      await mine.devUsersCreate({ email: "gone@example.com", state: SHADOW });
      const theirs = await as("root@other.test", "other");
      await theirs.devUsersCreate({ email: "gone@other.test", state: SHADOW });
      await devusers.reset();
      const admin = await as(devusers.adminEmail);
      assert.equal((await admin.devUsersSelf()).data.dev_user.display_id, "DEVU-1");
      const made = await admin.devUsersCreate({ email: "new@example.com", state: SHADOW });
      assert.equal(made.data.dev_user.display_id, "DEVU-2");
      const other = await as("first@other.test", "other");
      assert.equal((await other.devUsersSelf()).data.dev_user.id, don("other", 1));
    });
  });

  describe(`devusers seed numbers users per org [${dialect}]`, { skip }, () => {
    let scratch: { url: string; drop(): Promise<void> };
    before(async () => {
      scratch = await scratchDatabase(dialect);
    });
    after(() => scratch.drop());

    it("continues each org's numbers, whatever the other orgs hold", async () => {
      const seed = async (org: string, users: number) => {
        const res = await runCli(["seed", "--users", String(users), "--org", org], { DATABASE_URL: scratch.url });
        assert.equal(res.code, 0, res.stderr);
        return /\(DEVU-(\d+)\.\.DEVU-(\d+)\)/.exec(res.stdout)?.slice(1).map(Number);
      };
      assert.deepEqual(await seed("one", 5), [1, 5]);
      assert.deepEqual(await seed("two", 3), [1, 3]);
      assert.deepEqual(await seed("one", 2), [6, 7]);
      const db = openAt(scratch.url);
      try {
        const rows = await db.kysely
          .selectFrom("dev_users")
          .innerJoin("orgs", "orgs.id", "dev_users.org_id")
          .innerJoin("external_identities", "external_identities.dev_user_id", "dev_users.id")
          .select(["orgs.slug", "dev_users.number", "dev_users.email", "external_identities.external_id"])
          .where("external_identities.issuer", "=", "slack")
          .orderBy("dev_users.id")
          .execute();
        assert.deepEqual(
          rows.map((r) => `${r.slug}:${r.number}:${r.external_id}`),
          [1, 2, 3, 4, 5]
            .map((n) => `one:${n}:U${n}`)
            .concat(
              [1, 2, 3].map((n) => `two:${n}:U${n}`),
              [6, 7].map((n) => `one:${n}:U${n}`),
            ),
        );
      } finally {
        await db.close();
      }
    });
  });
}

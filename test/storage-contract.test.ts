// The storage contract: what the repositories and services promise, checked directly against the
// database, unchanged on SQLite and PostgreSQL. Each group works in its own org.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { sql } from "kysely";
import type { Db } from "../src/db/database.js";
import { uniqueViolation } from "../src/db/errors.js";
import {
  findDevUser,
  findDevUserByNumber,
  findDevUserWithIdentitiesByNumber,
  insertDevUser,
  listDevUsers,
  type SortKey,
  touchDevUserByNumber,
  updateDevUser,
} from "../src/db/repositories/dev-users.js";
import { identitiesOfUsers, insertIdentity, insertIdentityUnlessTaken } from "../src/db/repositories/identities.js";
import { allocateUserNumbers } from "../src/db/repositories/orgs.js";
import {
  type IdentitiesOf,
  kyselySeedWriter,
  type SeedUser,
  type SeedWriter,
  seedCreator,
  sqliteSeedWriter,
} from "../src/db/repositories/seed.js";
import { ApiError } from "../src/errors.js";
import { devUserDon } from "../src/ids.js";
import type { Caller } from "../src/services/context.js";
import { createDevUser, mergeDevUsers, updateDevUserById } from "../src/services/dev-users.js";
import { linkIdentity } from "../src/services/identities.js";
import { listContract } from "./helpers/contract-list.js";
import { testDialects } from "./helpers/databases.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import {
  depsWithClock,
  insertMany,
  newOrg,
  plansOf,
  refuseStateChange,
  scansTable,
  userRow,
} from "./helpers/storage.js";

const DAY = 86_400_000;
const at = (ms: number) => new Date(ms).toISOString();
const BASE = Date.parse("2026-01-01T00:00:00.000Z");
const letters = (n: number) => String.fromCharCode(97 + Math.floor(n / 26), 97 + (n % 26));
const settled = async <T>(ps: Promise<T>[]) => {
  const all = await Promise.allSettled(ps);
  const won = all.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  const lost = all.flatMap((r) => (r.status === "rejected" ? [r.reason as unknown] : []));
  return { won, lost };
};

for (const { dialect, skip } of await testDialects())
  describe(`storage contract [${dialect}]`, { skip }, () => {
    let s: TestServer;
    let db: Db;
    /** Each user's number in its org, by primary key: wire ids carry the number. */
    const numbers = new Map<number, number>();
    const users = async (c: Caller, n: number, prefix: string) => {
      const out: number[] = [];
      for (let i = 0; i < n; i++) {
        const row = await insertDevUser(db.kysely, userRow(c, { email: `${prefix}${letters(i)}@x.test` }));
        numbers.set(row.id, row.number);
        out.push(row.id);
      }
      return out;
    };
    /** The DON of a user made by users(), from its primary key. */
    const don = (c: Caller, id: number) => devUserDon(c.org, numbers.get(id)!);
    const identity = (c: Caller, userId: number, issuer: string, externalId: string) =>
      insertIdentity(db.kysely, {
        org_id: c.orgId,
        dev_user_id: userId,
        issuer,
        external_id: externalId,
        display_name: null,
        created_date: at(BASE),
      });
    const owners = async (c: Caller, issuer: string, id: string) =>
      db.kysely
        .selectFrom("external_identities")
        .select("dev_user_id")
        .where("org_id", "=", c.orgId)
        .where("issuer", "=", issuer)
        .where("external_id", "=", id)
        .execute();

    before(async () => {
      s = await startTestServer({ dialect });
      db = s.running.db;
    });
    after(() => s.close());

    it("dev-users.self answers the caller's identities as dev-users.get does, after each link", async () => {
      const self = async () => (await s.http("GET", "/dev-users.self")).body.dev_user;
      const me = await self();
      for (const issuer of ["self-a", "self-b"]) {
        const linked = await s.http("POST", "/dev-users.identities.link", {
          body: { dev_user: me.id, issuer, id: `x-${issuer}`, display_name: "shown" },
        });
        assert.equal(linked.status, 200, linked.text);
        const got = (await s.http("GET", `/dev-users.get?id=${encodeURIComponent(me.id)}`)).body.dev_user;
        assert.deepEqual(await self(), got);
        assert.ok(got.external_identities.some((i: { issuer: string }) => i.issuer === issuer));
      }
    });

    it("dev-users.get by GET (read with authentication on PostgreSQL) answers as by POST, and 404 alike", async () => {
      const get = (id: string) => s.http("GET", `/dev-users.get?id=${encodeURIComponent(id)}`);
      const post = (id: string) => s.http("POST", "/dev-users.get", { body: { id } });
      const me = (await s.http("GET", "/dev-users.self")).body.dev_user;
      const made = await s.http("POST", "/dev-users.create", {
        body: { email: "fetched@x.test", state: "shadow", custom_fields: { note: "<b>x</b>", n: 2 } },
      });
      assert.equal(made.status, 201, made.text);
      const other = made.body.dev_user.id as string;
      await s.http("POST", "/dev-users.update", { body: { id: other, reports_to: me.id, job_title: "Engineer" } });
      for (const issuer of ["fa", "fb"])
        await s.http("POST", "/dev-users.identities.link", { body: { dev_user: other, issuer, id: `f-${issuer}` } });
      for (const id of [me.id, other, me.display_id]) {
        const [a, b] = [await get(id), await post(id)];
        assert.equal(a.status, 200, a.text);
        assert.deepEqual(a.body, b.body, id);
      }
      assert.equal((await get(other)).body.dev_user.external_identities.length, 2);
      for (const id of ["DEVU-999999", devUserDon("someone-else", 1), "nonsense"]) {
        const [a, b] = [await get(id), await post(id)];
        assert.equal(a.status, b.status, id);
        assert.deepEqual(a.body, b.body, id);
        assert.ok(a.status === 404 || a.status === 400, `${id}: ${a.status}`);
      }
      // A revoked token is refused before anything of the user it asks for is answered.
      const member = await s.user("fetch-member@x.test", "member");
      await s.http("POST", "/auth-tokens.delete", { token: member.token, body: {} });
      const refused = await s.http("GET", `/dev-users.get?id=${encodeURIComponent(other)}`, { token: member.token });
      assert.equal(refused.status, 401);
      assert.equal(refused.body.dev_user, undefined);
    });

    it("a link (its user read with authentication on PostgreSQL) refuses a missing user, a revoked token and a bad body, writing nothing", async () => {
      const entries = async () =>
        Number(
          (await db.kysely.selectFrom("journal").select(sql<number>`count(*)`.as("n")).executeTakeFirstOrThrow()).n,
        );
      const link = (body: unknown, token?: string) =>
        s.http("POST", "/dev-users.identities.link", { body, ...(token ? { token } : {}) });
      const member = await s.user("link-member@x.test", "member");
      const target = member.id;
      const admin = await s.user("link-admin@x.test", "admin");
      await s.http("POST", "/auth-tokens.delete", { token: admin.token, body: {} });
      const start = await entries();
      const missing = await link({ dev_user: "DEVU-999999", issuer: "slack", id: "m1" });
      assert.equal(missing.status, 404, missing.text);
      const badId = await link({ dev_user: 7, issuer: "slack", id: "m1" });
      assert.equal(badId.status, 400, badId.text);
      assert.match(badId.body.message, /dev_user/);
      const revoked = await link({ dev_user: target, issuer: "slack", id: "m1" }, admin.token);
      assert.equal(revoked.status, 401, revoked.text);
      assert.equal(await entries(), start);
      const got = await s.http("POST", "/dev-users.get", { body: { id: target } });
      assert.deepEqual(got.body.dev_user.external_identities, []);
      // By its display id as by its DON, the same user, and each link answers with all so far.
      const byDon = await link({ dev_user: target, issuer: "slack", id: "m1" });
      assert.equal(byDon.status, 200, byDon.text);
      const byDisplay = await link({ dev_user: byDon.body.dev_user.display_id, issuer: "github", id: "m2" });
      assert.equal(byDisplay.status, 200, byDisplay.text);
      assert.deepEqual(
        byDisplay.body.dev_user.external_identities.map((i: { issuer: string }) => i.issuer),
        ["slack", "github"],
      );
      assert.equal(await entries(), start + 2);
    });

    it("a create's journal entry (written by the create's one statement on PostgreSQL) renders as the create answered", async () => {
      const bodies = [
        { email: "entry-plain@x.test" },
        { email: "entry-fields@x.test", full_name: "Fields", custom_fields: { team: "<core>", n: 3 } },
        // The number the one statement stands in with, in the user's own data: it is not mistaken
        // for the place of the user's number (the create takes the transaction instead).
        { email: "entry-stand-in@x.test", custom_fields: { n: 987654321987, s: "987654321987" } },
      ];
      for (const body of bodies) {
        const made = await s.http("POST", "/dev-users.create", { body: { ...body, state: "shadow" } });
        assert.equal(made.status, 201, made.text);
        const user = made.body.dev_user;
        const audit = await s.http("GET", `/audit-logs.list?object=${encodeURIComponent(user.id)}`);
        assert.equal(audit.status, 200, audit.text);
        const [entry, ...rest] = audit.body.audit_logs;
        assert.deepEqual(rest, []);
        assert.equal(entry.operation, "dev_users.create");
        assert.equal(entry.object.id, user.id);
        assert.deepEqual(entry.after, user);
        const got = await s.http("GET", `/dev-users.get?id=${encodeURIComponent(user.id)}`);
        assert.deepEqual(got.body.dev_user, user);
      }
      // A taken email writes nothing: no user, no number, no entry.
      const before = Number(
        (await db.kysely.selectFrom("journal").select(sql<number>`count(*)`.as("n")).executeTakeFirstOrThrow()).n,
      );
      const taken = await s.http("POST", "/dev-users.create", {
        body: { email: "ENTRY-plain@x.test", state: "shadow" },
      });
      assert.equal(taken.status, 409, taken.text);
      const after = Number(
        (await db.kysely.selectFrom("journal").select(sql<number>`count(*)`.as("n")).executeTakeFirstOrThrow()).n,
      );
      assert.equal(after, before);
      const next = await s.http("POST", "/dev-users.create", { body: { email: "entry-next@x.test", state: "shadow" } });
      const last = await s.http("POST", "/dev-users.list", { body: { email: ["entry-stand-in@x.test"] } });
      assert.equal(
        Number(next.body.dev_user.display_id.slice(5)),
        Number(last.body.dev_users[0].display_id.slice(5)) + 1,
        "the refused create took no number",
      );
    });

    describe("uniqueness", () => {
      it("the database refuses a second owner of an (issuer, id) in one org, and allows it in another", async () => {
        const a = await newOrg(db, "uq-a");
        const b = await newOrg(db, "uq-b");
        const [u1, u2] = (await users(a, 2, "u")) as [number, number];
        const [v1] = (await users(b, 1, "v")) as [number];
        await identity(a, u1, "slack", "X");
        await assert.rejects(identity(a, u2, "slack", "X"), (err) => uniqueViolation(err) === "identity_owner");
        await identity(b, v1, "slack", "X");
        await assert.rejects(identity(a, u1, "slack", "Y"), (err) => uniqueViolation(err) === "user_issuer");
        await identity(a, u1, "github", "X");
        assert.deepEqual(
          (await identitiesOfUsers(db.kysely, [u1, u2])).map((i) => `${i.issuer}/${i.external_id}`).sort(),
          ["github/X", "slack/X"],
        );
      });

      it("an insert unless taken writes nothing when either rule stands in the way, and one of concurrent ones wins", async () => {
        const a = await newOrg(db, "uq-unless");
        const [u1, u2, ...rest] = (await users(a, 22, "n")) as number[];
        const row = (userId: number, issuer: string, externalId: string) => ({
          org_id: a.orgId,
          dev_user_id: userId,
          issuer,
          external_id: externalId,
          display_name: null,
          created_date: at(BASE),
        });
        assert.equal((await insertIdentityUnlessTaken(db.kysely, row(u1!, "slack", "X")))?.external_id, "X");
        assert.equal(await insertIdentityUnlessTaken(db.kysely, row(u2!, "slack", "X")), undefined, "owned by another");
        assert.equal(await insertIdentityUnlessTaken(db.kysely, row(u1!, "slack", "Y")), undefined, "same issuer");
        assert.deepEqual(
          (await identitiesOfUsers(db.kysely, [u1!, u2!])).map((i) => `${i.dev_user_id}:${i.issuer}/${i.external_id}`),
          [`${u1}:slack/X`],
        );
        const results = await Promise.all(
          rest.map((id) => insertIdentityUnlessTaken(db.kysely, row(id, "okta", "contended"))),
        );
        assert.equal(results.filter(Boolean).length, 1);
        assert.equal((await owners(a, "okta", "contended")).length, 1);
      });

      it("reads a user with its identities in link order by its number, only in its own org", async () => {
        const a = await newOrg(db, "joined-a");
        const b = await newOrg(db, "joined-b");
        const [u1, u2] = (await users(a, 2, "j")) as [number, number];
        const [w1] = (await users(b, 1, "w")) as [number];
        await identity(a, u1, "slack", "J1");
        await identity(a, u1, "github", "J2");
        await identity(a, u1, "okta", "J3");
        const n1 = numbers.get(u1)!;
        assert.equal(numbers.get(w1), n1, "both orgs have a user with this number");
        const found = await findDevUserWithIdentitiesByNumber(db.kysely, a.orgId, n1);
        assert.equal(found?.row.id, u1);
        assert.equal(found?.row.email, (await findDevUser(db.kysely, a.orgId, u1))?.email);
        assert.deepEqual(
          Object.keys(found!.row).sort(),
          Object.keys((await findDevUser(db.kysely, a.orgId, u1))!).sort(),
        );
        assert.deepEqual(found?.identities, await identitiesOfUsers(db.kysely, [u1]));
        assert.deepEqual(
          found?.identities.map((i) => i.external_id),
          ["J1", "J2", "J3"],
        );
        assert.deepEqual(
          (await findDevUserWithIdentitiesByNumber(db.kysely, a.orgId, numbers.get(u2)!))?.identities,
          [],
        );
        const theirs = await findDevUserWithIdentitiesByNumber(db.kysely, b.orgId, n1);
        assert.equal(theirs?.row.id, w1, "the same number in another org is another user");
        assert.deepEqual(theirs?.identities, []);
        assert.equal(await findDevUserWithIdentitiesByNumber(db.kysely, b.orgId, numbers.get(u2)!), undefined);
      });

      it("the database refuses an email already used in the org, in any case", async () => {
        const a = await newOrg(db, "uq-email-a");
        const b = await newOrg(db, "uq-email-b");
        await insertDevUser(db.kysely, userRow(a, { email: "Same@X.test" }));
        await assert.rejects(
          insertDevUser(db.kysely, userRow(a, { email: "sAME@x.TEST" })),
          (err) => uniqueViolation(err) === "org_email",
        );
        await insertDevUser(db.kysely, userRow(b, { email: "same@x.test" }));
      });

      it("concurrent inserts of one (issuer, id): one row, every other insert refused by the index", async () => {
        const a = await newOrg(db, "uq-race");
        const ids = await users(a, 20, "r");
        const { won, lost } = await settled(ids.map((id) => identity(a, id, "okta", "same")));
        assert.equal(won.length, 1);
        assert.equal(lost.length, 19);
        for (const err of lost) assert.equal(uniqueViolation(err), "identity_owner");
        assert.equal((await owners(a, "okta", "same")).length, 1);
      });

      it("concurrent links of one (issuer, id): one wins, the others name the winner", async () => {
        const a = await newOrg(db, "uq-link");
        const deps = depsWithClock(db);
        const ids = await users(a, 20, "l");
        const { won, lost } = await settled(
          ids.map((id) => linkIdentity(deps, a, { dev_user: don(a, id), issuer: "okta", id: "same" })),
        );
        assert.equal(won.length, 1);
        const rows = await owners(a, "okta", "same");
        assert.equal(rows.length, 1);
        assert.equal(won[0]!.id, don(a, rows[0]!.dev_user_id));
        for (const err of lost) {
          assert.ok(err instanceof ApiError && err.type === "artifact_already_attached_to_a_parent", String(err));
          assert.deepEqual(err.fields, { existing_parent: won[0]!.id, is_same: false });
        }
      });

      it("concurrent links of two ids from one issuer to one user: one wins, the other is refused", async () => {
        const a = await newOrg(db, "uq-issuer");
        const deps = depsWithClock(db);
        const [u] = (await users(a, 1, "i")) as [number];
        const link = (id: string) => linkIdentity(deps, a, { dev_user: don(a, u), issuer: "github", id });
        const { won, lost } = await settled([link("one"), link("two")]);
        assert.equal(won.length, 1);
        assert.ok(
          lost[0] instanceof ApiError &&
            lost[0].type === "value_not_permitted" &&
            lost[0].fields.field_name === "issuer",
        );
        assert.equal((await identitiesOfUsers(db.kysely, [u])).length, 1);
      });

      it("concurrent links of different issuers to one user: every one made, each with its entry, in seq order", async () => {
        const a = await newOrg(db, "uq-many");
        const deps = depsWithClock(db);
        const [u] = (await users(a, 1, "m")) as [number];
        const issuers = Array.from({ length: 12 }, (_, i) => `issuer-${letters(i)}`);
        const answers = await Promise.all(
          issuers.map((issuer) => linkIdentity(deps, a, { dev_user: don(a, u), issuer, id: `id-${issuer}` })),
        );
        const held = await identitiesOfUsers(db.kysely, [u]);
        assert.deepEqual(held.map((i) => i.issuer).sort(), issuers);
        // Each answer holds its own identity and only identities linked before it, in link order.
        for (const [k, answer] of answers.entries()) {
          const listed = answer.external_identities.map((i) => i.issuer);
          assert.ok(listed.includes(issuers[k]!));
          assert.deepEqual(
            listed,
            held.map((i) => i.issuer).filter((x) => listed.includes(x)),
          );
        }
        const entries = await db.kysely
          .selectFrom("journal")
          .select(["seq", "details"])
          .where("org_id", "=", a.orgId)
          .where("operation", "=", "dev_users.identities.link")
          .orderBy("seq")
          .execute();
        assert.equal(entries.length, issuers.length);
        const seqs = entries.map((e) => Number(e.seq));
        assert.deepEqual(
          seqs,
          Array.from({ length: seqs.length }, (_, i) => seqs[0]! + i),
          "no gap in the org's seqs",
        );
        // The entries' order is the identities' order: each entry committed with its identity.
        assert.deepEqual(
          entries.map((e) => JSON.parse(e.details!).issuer),
          held.map((i) => i.issuer),
        );
      });

      it("a refused link leaves the user untouched and writes no entry", async () => {
        const a = await newOrg(db, "uq-refused");
        const deps = depsWithClock(db);
        const [u1, u2] = (await users(a, 2, "t")) as [number, number];
        await linkIdentity(deps, a, { dev_user: don(a, u1), issuer: "slack", id: "owned" });
        deps.set("2026-02-01T00:00:00.000Z");
        const before = await findDevUser(db.kysely, a.orgId, u2);
        const entries = async () =>
          (await db.kysely.selectFrom("journal").select("seq").where("org_id", "=", a.orgId).execute()).length;
        const count = await entries();
        await assert.rejects(
          linkIdentity(deps, a, { dev_user: don(a, u2), issuer: "slack", id: "owned" }),
          (err) => err instanceof ApiError && err.type === "artifact_already_attached_to_a_parent",
        );
        assert.deepEqual(await findDevUser(db.kysely, a.orgId, u2), before);
        assert.equal(await entries(), count);
        assert.deepEqual(await identitiesOfUsers(db.kysely, [u2]), []);
      });

      it("a link whose user authentication read is stale by then answers with the user as it is", async () => {
        const a = await newOrg(db, "uq-stale-read");
        const deps = depsWithClock(db);
        const [u1] = (await users(a, 1, "s")) as [number];
        const row = await findDevUser(db.kysely, a.orgId, u1);
        assert.ok(row);
        // What authentication read (PostgreSQL reads a link's user with the caller): then another
        // request links an identity, so that read's version and identities are out of date.
        const stale: Caller = { ...a, fetched: { number: row.number, user: { row, version: "1", identities: [] } } };
        await linkIdentity(deps, a, { dev_user: don(a, u1), issuer: "slack", id: "first" });
        const linked = await linkIdentity(deps, stale, { dev_user: don(a, u1), issuer: "github", id: "second" });
        assert.deepEqual(
          linked.external_identities.map((i) => i.issuer),
          ["slack", "github"],
        );
        assert.deepEqual(
          (await identitiesOfUsers(db.kysely, [u1])).map((i) => i.issuer),
          ["slack", "github"],
        );
      });

      it("concurrent creates of one email in different cases: one user, the others conflict", async () => {
        const a = await newOrg(db, "uq-create");
        const deps = depsWithClock(db);
        const emails = ["race@x.test", "RACE@x.test", "Race@X.test", "rAcE@x.TEST", "RACE@X.TEST", "race@X.test"];
        const { won, lost } = await settled(emails.map((email) => createDevUser(deps, a, { email, state: "shadow" })));
        assert.equal(won.length, 1);
        for (const err of lost) assert.ok(err instanceof ApiError && err.type === "conflict", String(err));
        const rows = await db.kysely
          .selectFrom("dev_users")
          .select("id")
          .where("org_id", "=", a.orgId)
          .where("email_lower", "=", "race@x.test")
          .execute();
        assert.equal(rows.length, 1);
      });
    });

    describe("user numbers", () => {
      const numbersOf = async (c: Caller) =>
        (
          await db.kysely
            .selectFrom("dev_users")
            .select("number")
            .where("org_id", "=", c.orgId)
            .orderBy("number")
            .execute()
        ).map((r) => r.number);
      const run = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

      it("each org hands out its own numbers, in order, from 1", async () => {
        const a = await newOrg(db, "num-a");
        const b = await newOrg(db, "num-b");
        assert.equal(a.number, 1);
        assert.equal(b.number, 1);
        assert.equal(await allocateUserNumbers(db.kysely, a.orgId), 2);
        assert.equal(await allocateUserNumbers(db.kysely, a.orgId, 3), 3, "a run of three: 3, 4, 5");
        assert.equal(await allocateUserNumbers(db.kysely, b.orgId), 2);
        assert.equal(await allocateUserNumbers(db.kysely, a.orgId), 6);
        for (const bad of [0, -1, 1.5]) await assert.rejects(allocateUserNumbers(db.kysely, a.orgId, bad), RangeError);
        await assert.rejects(allocateUserNumbers(db.kysely, 987_654), /does not exist/);
        assert.equal(await allocateUserNumbers(db.kysely, a.orgId), 7, "refused calls took nothing");
      });

      it("inserted users are numbered 1, 2, 3 … in their org, whatever other orgs insert meanwhile", async () => {
        const a = await newOrg(db, "ins-a");
        const b = await newOrg(db, "ins-b");
        await users(a, 2, "a");
        await users(b, 5, "b");
        await users(a, 1, "c");
        assert.deepEqual(await numbersOf(a), [1, 2, 3, 4]);
        assert.deepEqual(await numbersOf(b), [1, 2, 3, 4, 5, 6]);
      });

      it("concurrent allocations and creates in one org take every number once, and a refused create none", async () => {
        const c = await newOrg(db, "num-race");
        const taken = await Promise.all(
          run(0, 20).map(() => db.kysely.transaction().execute((trx) => allocateUserNumbers(trx, c.orgId))),
        );
        assert.deepEqual(
          [...taken].sort((x, y) => x - y),
          run(2, 20),
        );
        // A rolled-back transaction gives its number back.
        await assert.rejects(
          db.kysely.transaction().execute(async (trx) => {
            await allocateUserNumbers(trx, c.orgId);
            throw new Error("roll back");
          }),
          /roll back/,
        );
        assert.equal(await allocateUserNumbers(db.kysely, c.orgId), 22);

        const d = await newOrg(db, "create-race");
        const deps = depsWithClock(db);
        // Five of the emails are taken twice: those creates conflict, and must leave no gap.
        const emails = run(0, 25).map((i) => `c${letters(i % 20)}@race.test`);
        const { won, lost } = await settled(emails.map((email) => createDevUser(deps, d, { email, state: "shadow" })));
        assert.equal(won.length, 20);
        for (const err of lost) assert.ok(err instanceof ApiError && err.type === "conflict", String(err));
        assert.deepEqual(
          won.map((u) => Number(u.display_id!.slice(5))).sort((x, y) => x - y),
          run(2, 20),
        );
        assert.deepEqual(await numbersOf(d), run(1, 21));
        const next = await createDevUser(deps, d, { email: "after@race.test", state: "shadow" });
        assert.equal(next.display_id, "DEVU-22");
      });

      it("a number names a user of the given org only: find, find with identities, touch", async () => {
        const a = await newOrg(db, "by-num-a");
        const b = await newOrg(db, "by-num-b");
        const [u1] = (await users(a, 1, "x")) as [number];
        const [w1] = (await users(b, 1, "y")) as [number];
        const n = numbers.get(u1)!;
        assert.equal(n, numbers.get(w1));
        await identity(a, u1, "slack", "mine");
        assert.equal((await findDevUserByNumber(db.kysely, a.orgId, n))?.id, u1);
        assert.equal((await findDevUserByNumber(db.kysely, b.orgId, n))?.id, w1);
        assert.equal(await findDevUserByNumber(db.kysely, a.orgId, n + 1), undefined);
        assert.deepEqual(
          (await findDevUserWithIdentitiesByNumber(db.kysely, a.orgId, n))?.identities.map((i) => i.external_id),
          ["mine"],
        );
        const theirBefore = await findDevUser(db.kysely, b.orgId, w1);
        const mineBefore = await findDevUser(db.kysely, a.orgId, u1);
        const touched = await touchDevUserByNumber(db.kysely, a.orgId, n, at(BASE + DAY), a.userId);
        assert.equal(touched?.row.id, u1);
        assert.equal(touched?.row.modified_date, at(BASE + DAY));
        assert.deepEqual(
          touched?.previous,
          { modified_date: mineBefore?.modified_date, modified_by_id: mineBefore?.modified_by_id },
          "previous holds what the touch replaced",
        );
        assert.deepEqual(await findDevUser(db.kysely, b.orgId, w1), theirBefore, "the other org's user is untouched");
        assert.equal(await touchDevUserByNumber(db.kysely, a.orgId, n + 1, at(BASE), a.userId), undefined);
      });

      it("a lookup by number uses the (org_id, number) index, and every list order its keyset index, unsorted", async () => {
        const c = await newOrg(db, "num-plans");
        const k = db.kysely;
        const n = 3000;
        const first = await allocateUserNumbers(k, c.orgId, n);
        await insertMany(
          k,
          "dev_users",
          run(0, n).map((i) => ({
            ...userRow(c, { email: `p${i}@plans.test`, display_name: `name${i % 97}`, created_date: at(BASE + i) }),
            number: first + i,
          })),
        );
        if (db.dialect === "postgres") await sql`analyze`.execute(k);
        const lookups = await plansOf(db, async (q) => {
          await findDevUserByNumber(q, c.orgId, 1500);
          await findDevUserWithIdentitiesByNumber(q, c.orgId, 1500);
          await touchDevUserByNumber(q, c.orgId, 1500, at(BASE), c.userId);
        });
        // The touch reads what it replaces, then writes: two statements by number.
        assert.equal(lookups.length, 4);
        for (const plan of lookups) {
          assert.match(plan, /dev_users_org_number_uq/, plan);
          assert.ok(!scansTable(plan, "dev_users"), plan);
        }
        const sorts: [SortKey[], string][] = [
          [[{ column: "number", desc: false }], "dev_users_org_number_uq"],
          [[{ column: "number", desc: true }], "dev_users_org_number_uq"],
          [
            [
              { column: "created_date", desc: false },
              { column: "number", desc: false },
            ],
            "dev_users_org_created_date_number_idx",
          ],
          [
            [
              { column: "display_name", desc: true },
              { column: "number", desc: true },
            ],
            "dev_users_org_display_name_number_idx",
          ],
        ];
        for (const [sort, index] of sorts) {
          for (const boundary of [
            undefined,
            sort.map((k) => (k.column === "number" ? 1000 : k.column === "created_date" ? at(BASE + 999) : "name50")),
          ]) {
            for (const direction of ["after", "before"] as const) {
              const [plan] = await plansOf(db, (q) =>
                listDevUsers(q, { orgId: c.orgId, filter: {}, sort, boundary, direction, limit: 50 }),
              );
              const what = `${JSON.stringify({ sort, boundary, direction })}\n${plan}`;
              assert.match(plan!, new RegExp(index), what);
              assert.ok(!/TEMP B-TREE|Sort\b/.test(plan!), what);
              assert.ok(!scansTable(plan!, "dev_users"), what);
            }
          }
        }
      });

      it("the seed writers number their users after the org's own, and leave other orgs alone", async () => {
        const c = await newOrg(db, "seed-a");
        const other = await newOrg(db, "seed-b");
        const creator = await seedCreator(db.kysely, c.orgId);
        assert.deepEqual(creator, { id: c.userId, count: 1 });
        const identitiesOf: IdentitiesOf = (number, u) => [
          { issuer: "slack", externalId: `U${number}`, displayName: u.displayName },
        ];
        const seedUser = (k: number): SeedUser => ({
          email: `s${k}@seed.test`,
          displayName: `s${k}`,
          fullName: "",
          role: "member",
          jobTitle: null,
          timezone: null,
          phones: [],
          createdDate: at(BASE + k),
        });
        const writers: [string, () => SeedWriter, boolean][] = [
          ["kysely", () => kyselySeedWriter(db.kysely, c.orgId, identitiesOf), false],
        ];
        if (db.dialect === "sqlite") {
          writers.push(["sqlite", () => sqliteSeedWriter(s.databaseUrl, c.orgId, identitiesOf, "FULL"), true]);
        }
        let next = 2;
        for (const [name, make, closes] of writers) {
          const writer = make();
          let seeded: { id: number; number: number }[] = [];
          await writer.transaction(async () => {
            seeded = await writer.insertUsers([seedUser(next), seedUser(next + 1), seedUser(next + 2)], c.userId);
          });
          if (closes) await writer.close(); // the Kysely writer's close() would end the suite's database
          assert.deepEqual(
            seeded.map((u) => u.number),
            run(next, 3),
            name,
          );
          for (const u of seeded) {
            const found = await findDevUserWithIdentitiesByNumber(db.kysely, c.orgId, u.number);
            assert.equal(found?.row.id, u.id, name);
            assert.deepEqual(
              found?.identities.map((i) => i.external_id),
              [`U${u.number}`],
              name,
            );
          }
          next += 3;
        }
        assert.equal(await allocateUserNumbers(db.kysely, c.orgId), next);
        assert.equal(await allocateUserNumbers(db.kysely, other.orgId), 2, "the other org's numbers did not move");
      });
    });

    describe("merge atomicity", () => {
      const snapshot = async (c: Caller, ids: number[]) => ({
        users: await Promise.all(ids.map((id) => findDevUser(db.kysely, c.orgId, id))),
        identities: await identitiesOfUsers(db.kysely, ids),
      });
      const setup = async (slug: string) => {
        const c = await newOrg(db, slug);
        const [p, q, r] = (await users(c, 3, "m")) as [number, number, number];
        await identity(c, p, "slack", "P");
        await identity(c, q, "github", "Q");
        await updateDevUser(db.kysely, r, { reports_to_id: q });
        return { c, p, q, r, deps: depsWithClock(db, at(BASE + DAY)), don: (id: number) => don(c, id) };
      };

      it("moves identities and reports to the primary and deactivates the secondary", async () => {
        const { c, p, q, r, deps, don } = await setup("merge-ok");
        await mergeDevUsers(deps, c, don(p), don(q));
        const after = await snapshot(c, [p, q, r]);
        assert.deepEqual(after.identities.map((i) => [i.dev_user_id, i.issuer]).sort(), [
          [p, "github"],
          [p, "slack"],
        ]);
        assert.equal(after.users[1]!.state, "deactivated");
        assert.equal(after.users[2]!.reports_to_id, p);
      });

      it("a merge the rules refuse changes nothing", async () => {
        const { c, p, q, r, deps, don } = await setup("merge-refused");
        await identity(c, q, "slack", "other");
        const before = await snapshot(c, [p, q, r]);
        await assert.rejects(
          mergeDevUsers(deps, c, don(p), don(q)),
          (e) => e instanceof ApiError && e.type === "value_not_permitted",
        );
        await assert.rejects(
          mergeDevUsers(deps, c, don(p), don(p)),
          (e) => e instanceof ApiError && e.type === "value_not_permitted",
        );
        assert.deepEqual(await snapshot(c, [p, q, r]), before);
      });

      it("a merge that fails after its first writes changes nothing", async () => {
        const { c, p, q, r, deps, don } = await setup("merge-fault");
        const before = await snapshot(c, [p, q, r]);
        // Identities and reports have moved by the time the secondary's state is written.
        const undo = await refuseStateChange(db, q, "deactivated");
        try {
          await assert.rejects(mergeDevUsers(deps, c, don(p), don(q)), /injected fault/);
        } finally {
          await undo();
        }
        assert.deepEqual(await snapshot(c, [p, q, r]), before);
        await mergeDevUsers(deps, c, don(p), don(q)); // and the same merge then goes through
        assert.equal((await findDevUser(db.kysely, c.orgId, q))!.state, "deactivated");
      });
    });

    describe("rules that span rows, under concurrency", () => {
      it("concurrent reporting changes never close a loop", async () => {
        const c = await newOrg(db, "loop");
        const deps = depsWithClock(db);
        for (let round = 0; round < 10; round++) {
          const [a, b] = (await users(c, 2, `r${letters(round)}`)) as [number, number];
          const point = (from: number, to: number) =>
            updateDevUserById(deps, c, { id: don(c, from), reports_to: don(c, to) });
          const { won, lost } = await settled([point(a, b), point(b, a)]);
          assert.equal(won.length, 1);
          assert.ok(lost[0] instanceof ApiError && lost[0].fields.field_name === "reports_to", String(lost[0]));
          const rows = await Promise.all([a, b].map((id) => findDevUser(db.kysely, c.orgId, id)));
          assert.equal(rows.filter((r) => r!.reports_to_id !== null).length, 1);
        }
      });

      it("merges in opposite directions at once end as if one ran after the other", async () => {
        const c = await newOrg(db, "cross-merge");
        const deps = depsWithClock(db);
        for (let round = 0; round < 10; round++) {
          const [a, b] = (await users(c, 2, `m${letters(round)}`)) as [number, number];
          await identity(c, a, "slack", `A${round}`);
          await identity(c, b, "github", `B${round}`);
          const merge = (p: number, q: number) => mergeDevUsers(deps, c, don(c, p), don(c, q));
          const { lost } = await settled([merge(a, b), merge(b, a)]);
          assert.deepEqual(lost, []);
          const held = await identitiesOfUsers(db.kysely, [a, b]);
          assert.equal(held.length, 2);
          assert.equal(new Set(held.map((i) => i.dev_user_id)).size, 1, "both identities end with one user");
        }
      });

      it("text PostgreSQL cannot store (NUL) is refused alike, before it reaches either database", async () => {
        const bodies: [string, unknown][] = [
          ["/dev-users.create", { email: "nul\u0000@x.test", state: "shadow" }],
          ["/dev-users.self.update", { full_name: "a\u0000b" }],
          ["/dev-users.identities.link", { dev_user: "DEVU-1", issuer: "slack", id: "\u0000" }],
          ["/dev-users.list", { email: ["a\u0000b@x.test"] }],
        ];
        for (const [path, body] of bodies) {
          const res = await s.http("POST", path, { body });
          assert.equal(res.status, 400, res.text);
          assert.equal(res.body.type, "value_not_permitted");
        }
      });
    });

    it("every unique rule but a primary key names the org, except the two docs/scaling.md gives", async () => {
      const rules = await uniqueRules(db);
      const without = rules.filter((r) => !r.columns.includes("org_id")).map((r) => `${r.table}(${r.columns})`);
      assert.deepEqual(without.sort(), ["orgs(slug)", "scim_connections(token_hash)"]);
      assert.ok(
        rules.some((r) => r.table === "external_identities" && r.columns.join() === "dev_user_id,issuer,org_id"),
      );
    });

    listContract(() => db);
  });

/** The schema's unique indexes that are not primary keys, each with its columns in order. */
async function uniqueRules(db: Db): Promise<{ table: string; columns: string[] }[]> {
  if (db.dialect === "postgres") {
    const { rows } = await sql<{ table: string; columns: string[] }>`
      select t.relname as "table",
        array(select a.attname from unnest(x.indkey) with ordinality k(attnum, n)
          join pg_attribute a on a.attrelid = t.oid and a.attnum = k.attnum order by k.n)::text[] as columns
      from pg_index x join pg_class t on t.oid = x.indrelid join pg_namespace s on s.oid = t.relnamespace
      where s.nspname = current_schema() and x.indisunique and not x.indisprimary
        and t.relname not like 'kysely%'`.execute(db.kysely);
    return rows;
  }
  const tables = await sql<{ name: string }>`select name from sqlite_master
    where type = 'table' and name not like 'sqlite%' and name not like 'kysely%'`.execute(db.kysely);
  const out: { table: string; columns: string[] }[] = [];
  for (const { name: table } of tables.rows) {
    const list = await sql<{ name: string; unique: number; origin: string }>`
      select * from pragma_index_list(${table})`.execute(db.kysely);
    // origin 'pk' is the primary key; 'u' a UNIQUE column constraint, 'c' a CREATE UNIQUE INDEX.
    for (const index of list.rows.filter((i) => i.unique === 1 && i.origin !== "pk")) {
      const cols = await sql<{
        name: string;
      }>`select name from pragma_index_info(${index.name}) order by seqno`.execute(db.kysely);
      out.push({ table, columns: cols.rows.map((c) => c.name) });
    }
  }
  return out;
}

// The listing half of the storage contract (test/storage-contract.test.ts calls it inside its
// suite): cursor pagination both ways and while rows are inserted, every sort, every filter, and
// the index behind a lookup by (issuer, id).
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { sql } from "kysely";
import type { Db } from "../../src/db/database.js";
import { insertDevUser, listDevUsers, setPhoneNumbers, updateDevUser } from "../../src/db/repositories/dev-users.js";
import { findLinkObstacles, insertIdentity, ownersOfIdentities } from "../../src/db/repositories/identities.js";
import { allocateUserNumbers } from "../../src/db/repositories/orgs.js";
import type { DevUserRow } from "../../src/db/types.js";
import { ApiError } from "../../src/errors.js";
import type { Caller } from "../../src/services/context.js";
import { type ListInput, listUsers } from "../../src/services/list.js";
import { depsWithClock, insertMany, newOrg, OLD, plansOf, scansTable, userRow } from "./storage.js";

const DAY = 86_400_000;
const MINUTE = 60_000;
const BASE = Date.parse("2026-01-01T00:00:00.000Z");
const at = (ms: number) => new Date(ms).toISOString();
/** A user's number in its org, from its DON. */
const num = (don: string) => Number(don.split("/").pop());
// Lowercase letters only, so byte order and any PostgreSQL collation agree on the expected order.
const NAMES = ["amber", "birch", "cedar", "delta", "ember", "fjord", "grove"];
const two = (n: number) => String.fromCharCode(97 + Math.floor(n / 26), 97 + (n % 26));

const SORT_COLUMNS = {
  created_date: "created_date",
  modified_date: "modified_date",
  display_name: "display_name",
  full_name: "full_name",
  email: "email_lower",
} as const;

export function listContract(getDb: () => Db): void {
  const db = () => getDb();
  const list = async (c: Caller, input: ListInput) => listUsers(depsWithClock(db()), c, input);
  const ids = async (c: Caller, input: ListInput) =>
    (await list(c, { limit: 100, ...input })).dev_users.map((u) => num(u.id));

  /** Every page from the first, following next_cursor; then back from the last, following prev_cursor. */
  async function walk(c: Caller, input: ListInput) {
    const forward: number[][] = [];
    let page = await list(c, input);
    assert.equal(page.prev_cursor, undefined, "the first page has no prev_cursor");
    forward.push(page.dev_users.map((u) => num(u.id)));
    while (page.next_cursor) {
      page = await list(c, { ...input, cursor: page.next_cursor });
      assert.ok(page.prev_cursor, "a later page has a prev_cursor");
      forward.push(page.dev_users.map((u) => num(u.id)));
    }
    const backward: number[][] = [forward.at(-1)!];
    while (page.prev_cursor) {
      page = await list(c, { ...input, cursor: page.prev_cursor, mode: "before" });
      backward.unshift(page.dev_users.map((u) => num(u.id)));
    }
    return { forward, backward };
  }

  describe("cursor pagination and sort", () => {
    let c: Caller;
    let rows: DevUserRow[];
    before(async () => {
      c = await newOrg(db(), "sort");
      for (let i = 0; i < 23; i++) {
        await insertDevUser(
          db().kysely,
          userRow(c, {
            email: `u${two((i * 7) % 23)}@sort.test`,
            display_name: NAMES[i % 7]!,
            full_name: NAMES[(i * 3) % 5]!,
            created_date: at(BASE + ((i * 5) % 11) * MINUTE), // ties on purpose: the number breaks them
            modified_date: at(BASE + DAY + ((i * 3) % 13) * MINUTE),
          }),
        );
      }
      rows = await db().kysely.selectFrom("dev_users").selectAll().where("org_id", "=", c.orgId).execute();
    });

    const expected = (column: keyof typeof SORT_COLUMNS | "id", desc: boolean) => {
      const key = (r: DevUserRow) => (column === "id" ? "" : r[SORT_COLUMNS[column]]);
      const sign = desc ? -1 : 1;
      return [...rows]
        .sort((a, b) => (key(a) < key(b) ? -sign : key(a) > key(b) ? sign : sign * (a.number - b.number)))
        .map((r) => r.number);
    };

    it("without sort_by, pages follow creation (number) order, each row once, both ways", async () => {
      const { forward, backward } = await walk(c, { limit: 5 });
      assert.deepEqual(forward.flat(), expected("id", false));
      assert.deepEqual(backward, forward);
      assert.deepEqual(
        forward.map((p) => p.length),
        [5, 5, 5, 5, 4],
      );
    });

    for (const field of Object.keys(SORT_COLUMNS) as (keyof typeof SORT_COLUMNS)[])
      for (const dir of ["asc", "desc"] as const)
        it(`sort_by ${field}:${dir}: pages forward and back agree with the full order`, async () => {
          const { forward, backward } = await walk(c, { limit: 4, sort_by: [`${field}:${dir}`] });
          assert.deepEqual(forward.flat(), expected(field, dir === "desc"));
          assert.deepEqual(backward, forward);
        });

    it("a cursor of another sort, or one that cannot be read, is refused", async () => {
      const first = await list(c, { limit: 3, sort_by: ["email:asc"] });
      const refused = (e: unknown) => e instanceof ApiError && e.type === "value_not_permitted";
      await assert.rejects(list(c, { limit: 3, sort_by: ["email:desc"], cursor: first.next_cursor }), refused);
      await assert.rejects(list(c, { limit: 3, cursor: "not-a-cursor" }), refused);
      // Well-formed, but with keys of the wrong type for their columns (PostgreSQL would refuse them).
      const forged = (sort: string, k: unknown[], v = 2) =>
        Buffer.from(JSON.stringify({ v, s: sort, k, d: "after" })).toString("base64url");
      for (const k of [["abc"], [1.5], [1e300]]) {
        await assert.rejects(list(c, { limit: 3, cursor: forged("number:asc", k) }), refused);
        await assert.rejects(list(c, { limit: 3, cursor: forged("id:asc", k, 1) }), refused);
      }
      const byEmail = forged("email_lower:asc,number:asc", [5, 1]);
      await assert.rejects(list(c, { limit: 3, sort_by: ["email:asc"], cursor: byEmail }), refused);
      await assert.rejects(list(c, { limit: 3, cursor: forged("number:asc", [1], 3) }), refused);
    });
  });

  it("pages stay stable while rows are inserted", async () => {
    const c = await newOrg(db(), "insert");
    const made: number[] = [c.number];
    const add = async (email: string, ms: number) =>
      (await insertDevUser(db().kysely, userRow(c, { email, created_date: at(ms) }))).number;
    for (let i = 0; i < 11; i++) made.push(await add(`n${two(i)}@insert.test`, BASE + i * MINUTE));
    const input: ListInput = { limit: 5, sort_by: ["created_date:asc"] };
    const p1 = await list(c, input);
    const boundary = p1.dev_users.at(-1)!;
    const early = await add("early@insert.test", Date.parse(OLD) - DAY); // before the cursor: not seen going on
    const tie = await add("tie@insert.test", Date.parse(boundary.created_date!)); // same date, larger number: after
    const late = await add("late@insert.test", BASE + DAY);
    const p2 = await list(c, { ...input, cursor: p1.next_cursor });
    const p3 = await list(c, { ...input, cursor: p2.next_cursor });
    assert.equal(p3.next_cursor, undefined);
    const seen = [p1, p2, p3].flatMap((p) => p.dev_users.map((u) => num(u.id)));
    assert.deepEqual(seen, [...made.slice(0, 5), tie, ...made.slice(5), late]);
    assert.ok(!seen.includes(early));
    const back = await list(c, { ...input, cursor: p2.prev_cursor, mode: "before" });
    assert.deepEqual(back.dev_users, p1.dev_users);
    assert.ok(back.prev_cursor, "the row inserted before the first page is now behind it");
  });

  describe("filters", () => {
    let c: Caller;
    /** Each user's number (what the list answers with) and primary key (what rows refer to). */
    const u: Record<string, number> = {};
    const pk: Record<string, number> = {};
    const now = Date.now();
    const names = async (input: ListInput) => {
      const got = await ids(c, input);
      return Object.keys(u)
        .filter((k) => got.includes(u[k]!))
        .sort();
    };
    before(async () => {
      const org = await newOrg(db(), "filter");
      c = org;
      u.admin = org.number;
      pk.admin = org.userId;
      const k = db().kysely;
      const make = async (name: string, email: string, state: string, created: number, modified: number) => {
        const row = userRow(c, { email, state, created_date: at(created), modified_date: at(modified) });
        const made = await insertDevUser(k, row);
        u[name] = made.number;
        pk[name] = made.id;
      };
      await make("alice", "Alice@Example.test", "active", now - 2 * DAY, now - 2 * DAY);
      await make("bob", "bob@example.test", "deactivated", now - 10 * DAY, now - DAY);
      await make("carol", "carol@EXAMPLE.test", "shadow", now + 3 * DAY, now + 3 * DAY);
      await make("dave", "dave@example.test", "shadow", BASE, BASE);
      const link = (name: string, issuer: string, external_id: string) =>
        insertIdentity(k, {
          org_id: c.orgId,
          dev_user_id: pk[name]!,
          issuer,
          external_id,
          display_name: null,
          created_date: OLD,
        });
      await link("alice", "slack", "A");
      await link("bob", "slack", "B");
      await link("bob", "github", "A");
      await link("carol", "github", "C");
      await setPhoneNumbers(k, pk.alice!, ["+1555001"]);
      await setPhoneNumbers(k, pk.carol!, ["+1555002", "+1555003"]);
      await updateDevUser(k, pk.alice!, { timezone: "Europe/Paris" });
      await updateDevUser(k, pk.bob!, { timezone: "Asia/Tokyo" });
    });

    it("email, compared case-insensitively", async () => {
      assert.deepEqual(await names({ email: ["ALICE@example.TEST", "Carol@Example.Test", "nobody@x.test"] }), [
        "alice",
        "carol",
      ]);
    });
    it("state", async () => {
      assert.deepEqual(await names({ state: ["active"] }), ["admin", "alice"]);
      assert.deepEqual(await names({ state: ["shadow", "deactivated"] }), ["bob", "carol", "dave"]);
    });
    it("external_identity: issuer, id, both, several", async () => {
      assert.deepEqual(await names({ external_identity: [{ issuer: "slack" }] }), ["alice", "bob"]);
      assert.deepEqual(await names({ external_identity: [{ id: "A" }] }), ["alice", "bob"]);
      assert.deepEqual(await names({ external_identity: [{ issuer: "github", id: "A" }] }), ["bob"]);
      const several = [
        { issuer: "slack", id: "A" },
        { issuer: "github", id: "C" },
      ];
      assert.deepEqual(await names({ external_identity: several }), ["alice", "carol"]);
      assert.deepEqual(await names({ external_identity: [{ issuer: "slack", id: "C" }] }), []);
      // The exact lookup (its own path: one statement on PostgreSQL) answers each owner whole, with
      // every identity it holds, as the general path does when another filter joins it.
      const identitiesOf = async (input: ListInput) =>
        (await list(c, input)).dev_users.map((u) => [u.display_name, u.external_identities.map((i) => i.issuer)]);
      const exact = await identitiesOf({ external_identity: several });
      assert.deepEqual(exact, await identitiesOf({ external_identity: several, state: ["active", "shadow"] }));
      assert.ok(exact.every(([, held]) => (held as string[]).length > 0));
    });
    it("created_date and modified_date ranges, bounds included", async () => {
      const range = (after?: number, before?: number) => ({
        type: "range" as const,
        ...(after === undefined ? {} : { after: at(after) }),
        ...(before === undefined ? {} : { before: at(before) }),
      });
      assert.deepEqual(await names({ created_date: range(now - 5 * DAY) }), ["alice", "carol"]);
      assert.deepEqual(await names({ created_date: range(undefined, now - 5 * DAY) }), ["admin", "bob", "dave"]);
      assert.deepEqual(await names({ created_date: range(now - 10 * DAY, now - 2 * DAY) }), ["alice", "bob"]);
      assert.deepEqual(await names({ modified_date: range(now - 5 * DAY, now) }), ["alice", "bob"]);
    });
    it("created_date and modified_date presets", async () => {
      const preset = (preset_type: "last_n_days" | "next_n_days", days: number) => ({
        type: "preset" as const,
        preset_type,
        days,
      });
      assert.deepEqual(await names({ created_date: preset("last_n_days", 7) }), ["alice"]);
      assert.deepEqual(await names({ created_date: preset("next_n_days", 7) }), ["carol"]);
      assert.deepEqual(await names({ modified_date: preset("last_n_days", 7) }), ["alice", "bob"]);
      assert.deepEqual(await names({ created_date: preset("last_n_days", 30), state: ["deactivated"] }), ["bob"]);
    });
    it("phone_numbers and timezone", async () => {
      assert.deepEqual(await names({ phone_numbers: ["+1555003"] }), ["carol"]);
      assert.deepEqual(await names({ phone_numbers: ["+1555001", "+1555002"] }), ["alice", "carol"]);
      assert.deepEqual(await names({ timezone: ["Europe/Paris", "Asia/Tokyo"] }), ["alice", "bob"]);
      assert.deepEqual(await names({ timezone: ["Europe/Paris"], external_identity: [{ issuer: "github" }] }), []);
    });
  });

  it("a lookup by (issuer, id) uses the unique index, on every query that makes one", async () => {
    const c = await newOrg(db(), "explain");
    const k = db().kysely;
    const n = 3000;
    const first = await allocateUserNumbers(k, c.orgId, n);
    const users = Array.from({ length: n }, (_, i) => ({
      ...userRow(c, { email: `e${i}@explain.test` }),
      number: first + i,
    }));
    await insertMany(k, "dev_users", users);
    const userIds = (await k.selectFrom("dev_users").select("id").where("org_id", "=", c.orgId).execute()).map(
      (r) => r.id,
    );
    const identity = (issuer: string) => (id: number, i: number) => ({
      org_id: c.orgId,
      dev_user_id: id,
      issuer,
      external_id: `${issuer}-${i}`,
      created_date: OLD,
    });
    await insertMany(k, "external_identities", [...userIds.map(identity("slack")), ...userIds.map(identity("github"))]);
    // SQLite is left without statistics, as a directory grown through the API is: the plans must
    // not depend on ANALYZE having run. PostgreSQL gathers its own; analyze makes that deterministic.
    if (db().dialect === "postgres") await sql`analyze`.execute(k);
    const plans = await plansOf(db(), async (q) => {
      await findLinkObstacles(q, c.orgId, userIds[10]!, "slack", "slack-1500");
      await ownersOfIdentities(q, c.orgId, [{ issuer: "slack", id: "slack-1500" }]);
    });
    assert.equal(plans.length, 2);
    for (const plan of plans) {
      assert.match(plan, /external_identities_org_issuer_id_uq/, plan);
      assert.ok(!scansTable(plan, "external_identities") && !scansTable(plan, "dev_users"), plan);
    }
    // The list query that follows reads the owners by primary key.
    const [listPlan] = await plansOf(db(), async (q) => {
      await listDevUsers(q, {
        orgId: c.orgId,
        filter: { ids: [userIds[1500]!] },
        sort: [{ column: "number", desc: false }],
        direction: "after",
        limit: 50,
      });
    });
    assert.ok(listPlan && !scansTable(listPlan, "dev_users"), listPlan);
  });
}

// dev-users.list through the official SDK (and raw HTTP for the GET array forms): filters, sort,
// cursor pagination both ways and while rows are inserted, and limits.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { publicSDK } from "@devrev/typescript-sdk";
import { findDevUserByNumber, setPhoneNumbers } from "../src/db/repositories/dev-users.js";
import { findOrgBySlug } from "../src/db/repositories/orgs.js";
import { testDialects } from "./helpers/databases.js";
import { type Sdk, SHADOW, sdkError, startTestServer, type TestServer } from "./helpers/server.js";

type User = publicSDK.DevUser;
/** A user's number in its org, from its DON. */
const numeric = (id: string) => Number(id.split("/").pop());
const ids = (users: { id: string }[]) => users.map((u) => u.id);
const sorted = (xs: string[]) => [...xs].sort();

for (const { dialect, skip } of await testDialects())
  describe(`list [${dialect}]`, { skip }, () => {
    let s: TestServer;
    let admin: Sdk;
    const seeded: User[] = [];
    const all = async () => (await admin.devUsersListPost({ limit: 100 })).data.dev_users;
    const list = async (body: Parameters<Sdk["devUsersListPost"]>[0]) =>
      (await admin.devUsersListPost(body)).data.dev_users;

    before(async () => {
      s = await startTestServer({ dialect });
      admin = s.sdk();
      for (let i = 0; i < 12; i++) {
        const n = String(i).padStart(2, "0");
        const res = await admin.devUsersCreate({
          email: `l${n}@list.test`,
          state: SHADOW,
          full_name: `F${String(11 - i).padStart(2, "0")}`,
        });
        seeded.push(res.data.dev_user);
      }
      const [u0, u1, u2, u3, u4] = seeded as [User, User, User, User, User];
      await admin.devUsersActivate({ id: u0.id });
      await admin.devUsersActivate({ id: u1.id });
      await admin.devUsersActivate({ id: u2.id });
      await admin.devUsersDeactivate({ id: u2.id });
      await admin.devUsersIdentitiesLink({ dev_user: u3.id, issuer: "slack", id: "S3" });
      await admin.devUsersIdentitiesLink({ dev_user: u4.id, issuer: "slack", id: "S4" });
      await admin.devUsersIdentitiesLink({ dev_user: u4.id, issuer: "github", id: "G4" });
      // No request schema sets phone numbers or a timezone, so they are seeded in the database.
      const db = s.running.db.kysely;
      const org = (await findOrgBySlug(db, s.org))!;
      const pk = async (u: User) => (await findDevUserByNumber(db, org.id, numeric(u.id)))!.id;
      await setPhoneNumbers(db, await pk(u3), ["+15550003"]);
      await setPhoneNumbers(db, await pk(u4), ["+15550004", "+15550044"]);
      await db
        .updateTable("dev_users")
        .set({ timezone: "Europe/Paris" })
        .where("id", "=", await pk(u3))
        .execute();
      await db
        .updateTable("dev_users")
        .set({ timezone: "Asia/Tokyo" })
        .where("id", "=", await pk(seeded[5]!))
        .execute();
    });
    after(() => s.close());
    const u = (i: number) => seeded[i]!;

    describe("filters", () => {
      it("without filters lists every user of the org in creation (number) order", async () => {
        const users = await all();
        assert.equal(users.length, 13);
        assert.deepEqual(
          users.map((x) => numeric(x.id)),
          users.map((x) => numeric(x.id)).sort((a, b) => a - b),
        );
        assert.deepEqual(ids(users.slice(1)), ids(seeded));
      });

      it("filters by email, case-insensitively", async () => {
        assert.deepEqual(ids(await list({ email: ["L01@LIST.TEST"] })), [u(1).id]);
        assert.deepEqual(
          sorted(ids(await list({ email: ["l01@list.test", "l07@list.test", "x@y.z"] }))),
          sorted([u(1).id, u(7).id]),
        );
      });

      it("filters by state", async () => {
        const adminId = (await admin.devUsersSelf()).data.dev_user.id;
        assert.deepEqual(sorted(ids(await list({ state: ["active" as never] }))), sorted([adminId, u(0).id, u(1).id]));
        assert.deepEqual(ids(await list({ state: ["deactivated" as never] })), [u(2).id]);
        assert.equal((await list({ state: ["shadow" as never, "deactivated" as never] })).length, 10);
      });

      it("filters by external identity: issuer, id, or both, in POST and GET", async () => {
        assert.deepEqual(
          sorted(ids(await list({ external_identity: [{ issuer: "slack" }] }))),
          sorted([u(3).id, u(4).id]),
        );
        assert.deepEqual(ids(await list({ external_identity: [{ issuer: "slack", id: "S4" }] })), [u(4).id]);
        assert.deepEqual(ids(await list({ external_identity: [{ id: "G4" }] })), [u(4).id]);
        assert.deepEqual(ids(await list({ external_identity: [{ issuer: "github", id: "S3" }] })), []);
        const get = await admin.devUsersList({ "external_identity.issuer": "slack", "external_identity.id": "S3" });
        assert.deepEqual(ids(get.data.dev_users), [u(3).id]);
      });

      it("answers an exact identity lookup alone as it answers it beside other filters, pages included", async () => {
        const pairs = [
          { issuer: "github", id: "G4" },
          { issuer: "slack", id: "S3" },
          { issuer: "slack", id: "S4" },
          { issuer: "slack", id: "nobody" },
        ];
        const everyState = ["active", "shadow", "deactivated"] as never[];
        const alone = await admin.devUsersListPost({ external_identity: pairs, limit: 1 });
        const beside = await admin.devUsersListPost({ external_identity: pairs, limit: 1, state: everyState });
        assert.deepEqual(ids(alone.data.dev_users), [u(3).id]);
        assert.deepEqual(alone.data, beside.data);
        const next = await admin.devUsersListPost({
          external_identity: pairs,
          limit: 1,
          cursor: alone.data.next_cursor,
        });
        assert.deepEqual(ids(next.data.dev_users), [u(4).id]);
        assert.equal(next.data.next_cursor, undefined);
        assert.ok(next.data.prev_cursor);
        const whole = await admin.devUsersListPost({ external_identity: pairs });
        assert.deepEqual(
          whole.data,
          await admin.devUsersListPost({ external_identity: pairs, state: everyState }).then((r) => r.data),
        );
        assert.deepEqual(ids(whole.data.dev_users), [u(3).id, u(4).id]);
        assert.deepEqual(whole.data.dev_users[1]?.external_identities?.map((i) => i.id).sort(), ["G4", "S4"]);
      });

      it("filters by created_date and modified_date ranges", async () => {
        const users = await all();
        const lo = u(4).created_date!;
        const hi = u(8).created_date!;
        const expected = users.filter((x) => x.created_date! >= lo && x.created_date! <= hi);
        const got = await list({ created_date: { type: "range" as never, after: lo, before: hi }, limit: 100 });
        assert.deepEqual(ids(got), ids(expected));
        assert.ok(got.length >= 5);
        const mlo = u(3).modified_date!;
        const mexpected = users.filter((x) => x.modified_date! >= mlo);
        const mgot = await list({ modified_date: { type: "range" as never, after: mlo }, limit: 100 });
        assert.deepEqual(ids(mgot), ids(mexpected));
        assert.ok(mgot.some((x) => x.id === u(4).id));
      });

      it("filters by date presets, and names a missing preset field", async () => {
        const recent = await list({
          created_date: { type: "preset" as never, preset_type: "last_n_days" as never, days: 1 },
          limit: 100,
        });
        assert.equal(recent.length, 13);
        const old = await list({
          created_date: { type: "range" as never, before: "2000-01-01T00:00:00Z" },
        });
        assert.equal(old.length, 0);
        const err = await sdkError(admin.devUsersListPost({ created_date: { type: "preset" as never, days: 3 } }));
        assert.equal(err.status, 400);
        assert.equal(err.body.type, "missing_required_field");
        assert.equal(err.body.field_name, "created_date.preset_type");
        const bad = await sdkError(
          admin.devUsersListPost({ modified_date: { type: "range" as never, after: "soon" } }),
        );
        assert.equal(bad.status, 400);
        assert.equal(bad.body.type, "value_not_permitted");
      });

      it("filters by phone_numbers and timezone, in POST and GET", async () => {
        assert.deepEqual(ids(await list({ phone_numbers: ["+15550044"] })), [u(4).id]);
        assert.deepEqual(
          sorted(ids(await list({ phone_numbers: ["+15550003", "+15550004"] }))),
          sorted([u(3).id, u(4).id]),
        );
        assert.deepEqual(ids(await list({ timezone: ["Europe/Paris"] })), [u(3).id]);
        const get = await admin.devUsersList({ timezone: ["Asia/Tokyo", "Europe/Paris"] });
        assert.deepEqual(sorted(ids(get.data.dev_users)), sorted([u(3).id, u(5).id]));
        const phones = await admin.devUsersList({ phone_numbers: ["+15550003"] });
        assert.deepEqual(ids(phones.data.dev_users), [u(3).id]);
        assert.equal(get.data.dev_users.find((x) => x.id === u(3).id)?.timezone, "Europe/Paris");
      });
    });

    describe("GET array forms", () => {
      it('reads state=a&state=b, state=a,b and the SDK\'s state="a","b" alike', async () => {
        const expected = sorted(ids(await list({ state: ["active" as never, "deactivated" as never] })));
        assert.equal(expected.length, 4);
        const forms = [
          "state=active&state=deactivated",
          "state=active,deactivated",
          `state=${encodeURIComponent('"active","deactivated"')}`,
        ];
        for (const q of forms) {
          const res = await s.http("GET", `/dev-users.list?${q}`);
          assert.equal(res.status, 200, q);
          assert.deepEqual(sorted(ids(res.body.dev_users)), expected, q);
        }
        const sdk = await admin.devUsersList({ state: ["active" as never, "deactivated" as never] });
        assert.deepEqual(sorted(ids(sdk.data.dev_users)), expected);
        const emails = await admin.devUsersList({ email: ["l01@list.test", "l02@list.test"] });
        assert.deepEqual(sorted(ids(emails.data.dev_users)), sorted([u(1).id, u(2).id]));
      });
    });

    describe("sort", () => {
      const by = (key: keyof User, desc: boolean) => (a: User, b: User) => {
        const x = String(a[key]);
        const y = String(b[key]);
        const c = x < y ? -1 : x > y ? 1 : numeric(a.id) - numeric(b.id);
        return desc ? -c : c;
      };

      it("sorts by display_name, full_name, email, created_date and modified_date, both ways", async () => {
        const users = await all();
        const cases: [string, keyof User][] = [
          ["display_name", "display_name"],
          ["full_name", "full_name"],
          ["email", "email"],
          ["created_date", "created_date"],
          ["modified_date", "modified_date"],
        ];
        for (const [field, key] of cases) {
          for (const dir of ["asc", "desc"] as const) {
            const got = await list({ sort_by: [`${field}:${dir}`], limit: 100 });
            const withKey = users.filter((x) => x[key] !== undefined);
            const expected = [...withKey].sort(by(key, dir === "desc"));
            assert.deepEqual(ids(got.filter((x) => x[key] !== undefined)), ids(expected), `${field}:${dir}`);
          }
        }
        const viaGet = await admin.devUsersList({ sort_by: ["full_name:desc"], limit: 3 });
        assert.deepEqual(ids(viaGet.data.dev_users), [u(0).id, u(1).id, u(2).id]);
      });

      it("refuses an unknown field, an unknown direction, or a field given twice", async () => {
        for (const sort_by of [["nope:asc"], ["email:sideways"], ["email:asc", "email:desc"], ["email:asc:x"]]) {
          const err = await sdkError(admin.devUsersListPost({ sort_by }));
          assert.equal(err.status, 400, sort_by.join());
          assert.equal(err.body.type, "value_not_permitted");
          assert.equal(err.body.field_name, "sort_by");
        }
      });
    });

    describe("cursor pagination", () => {
      it("walks forward page by page with next_cursor, and back with prev_cursor and mode before", async () => {
        const everything = ids(await list({ sort_by: ["display_name:desc"], limit: 100 }));
        const pages: { ids: string[]; next?: string; prev?: string }[] = [];
        let cursor: string | undefined;
        do {
          const res = await admin.devUsersListPost({ sort_by: ["display_name:desc"], limit: 5, cursor });
          pages.push({ ids: ids(res.data.dev_users), next: res.data.next_cursor, prev: res.data.prev_cursor });
          cursor = res.data.next_cursor;
        } while (cursor);
        assert.deepEqual(
          pages.map((p) => p.ids.length),
          [5, 5, 3],
        );
        assert.deepEqual(
          pages.flatMap((p) => p.ids),
          everything,
        );
        assert.equal(pages[0]!.prev, undefined);
        assert.ok(pages[0]!.next && pages[1]!.next && pages[1]!.prev && pages[2]!.prev);
        assert.equal(pages[2]!.next, undefined);

        const back = await admin.devUsersListPost({
          sort_by: ["display_name:desc"],
          limit: 5,
          cursor: pages[2]!.prev,
          mode: "before" as never,
        });
        assert.deepEqual(ids(back.data.dev_users), pages[1]!.ids);
        assert.ok(back.data.prev_cursor && back.data.next_cursor);
        const first = await admin.devUsersList({
          sort_by: ["display_name:desc"],
          limit: 5,
          cursor: back.data.prev_cursor,
          mode: "before" as never,
        });
        assert.deepEqual(ids(first.data.dev_users), pages[0]!.ids);
        assert.equal(first.data.prev_cursor, undefined);
        assert.ok(first.data.next_cursor);
      });

      it("answers 400 for a cursor that cannot be read or belongs to another sort", async () => {
        for (const cursor of ["garbage!!", Buffer.from('{"v":1}').toString("base64url"), "e30"]) {
          const err = await sdkError(admin.devUsersListPost({ cursor }));
          assert.equal(err.status, 400, cursor);
          assert.equal(err.body.type, "value_not_permitted");
          assert.equal(err.body.field_name, "cursor");
        }
        const page = await admin.devUsersListPost({ sort_by: ["email:asc"], limit: 2 });
        const other = await sdkError(
          admin.devUsersListPost({ sort_by: ["full_name:asc"], limit: 2, cursor: page.data.next_cursor! }),
        );
        assert.equal(other.status, 400);
        assert.equal(other.body.field_name, "cursor");
      });

      it("is stable while rows are inserted: every existing row once, none twice", async () => {
        const existing = ids(await list({ sort_by: ["display_name:asc"], limit: 100 }));
        const seen: string[] = [];
        let cursor: string | undefined;
        let round = 0;
        do {
          const res = await admin.devUsersListPost({ sort_by: ["display_name:asc"], limit: 3, cursor });
          seen.push(...ids(res.data.dev_users));
          cursor = res.data.next_cursor;
          // Insert rows before, among and after the rows still to come.
          for (const name of [`a${round}`, `l05x${round}`, `zz${round}`]) {
            await admin.devUsersCreate({ email: `${name}@list.test`, state: SHADOW });
          }
          round++;
        } while (cursor);
        assert.equal(new Set(seen).size, seen.length, "no row twice");
        for (const id of existing) assert.ok(seen.includes(id), `${id} was seen`);
        const names = (await all()).filter((x) => seen.includes(x.id)).map((x) => x.display_name!);
        assert.ok(!names.includes("a0"), "a row inserted behind the cursor is not served");
      });
    });

    describe("limit", () => {
      let big: TestServer;
      before(async () => {
        big = await startTestServer({ dialect });
        const sdk = big.sdk();
        for (let i = 0; i < 110; i += 10) {
          await Promise.all(
            Array.from({ length: 10 }, (_, j) => sdk.devUsersCreate({ email: `b${i + j}@big.test`, state: SHADOW })),
          );
        }
      });
      after(() => big.close());

      it("defaults to 50 and caps at 100", async () => {
        const sdk = big.sdk();
        const def = await sdk.devUsersList();
        assert.equal(def.data.dev_users.length, 50);
        assert.ok(def.data.next_cursor);
        const capped = await sdk.devUsersListPost({ limit: 1000 });
        assert.equal(capped.data.dev_users.length, 100);
        assert.ok(capped.data.next_cursor);
        const rest = await sdk.devUsersListPost({ limit: 1000, cursor: capped.data.next_cursor });
        assert.equal(rest.data.dev_users.length, 11);
        assert.equal(rest.data.next_cursor, undefined);
      });

      it("refuses a non-numeric, fractional or non-positive limit with 400", async () => {
        for (const q of ["limit=ten", "limit=1.5", "limit=0", "limit=-3"]) {
          const res = await big.http("GET", `/dev-users.list?${q}`);
          assert.equal(res.status, 400, q);
          assert.ok(["unexpected_json_type", "value_not_permitted"].includes(res.body.type), q);
          assert.equal(res.body.field_name, "limit", q);
        }
        const str = await big.http("POST", "/dev-users.list", { body: { limit: "5" } });
        assert.equal(str.status, 400);
        assert.equal(str.body.type, "unexpected_json_type");
        assert.equal(str.body.field_name, "limit");
      });
    });
  });

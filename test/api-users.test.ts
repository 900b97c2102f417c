// Dev users through the official SDK: create, get, update, self, activate, deactivate, merge.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { testDialects } from "./helpers/databases.js";
import { type Sdk, SHADOW, sdkError, startTestServer, type TestServer } from "./helpers/server.js";

const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const DON = /^don:identity:dvrv-us-1:devo\/default:devu\/(\d+)$/;

for (const { dialect, skip } of await testDialects())
  describe(`users [${dialect}]`, { skip }, () => {
    let s: TestServer;
    let admin: Sdk;
    let adminId: string;
    const create = async (email: string, extra: Record<string, unknown> = {}) =>
      (await admin.devUsersCreate({ email, state: SHADOW, ...extra })).data.dev_user;
    const get = async (id: string) => (await admin.devUsersGet({ id })).data.dev_user;

    before(async () => {
      s = await startTestServer({ dialect });
      admin = s.sdk();
      adminId = (await admin.devUsersSelf()).data.dev_user.id;
    });
    after(() => s.close());

    describe("create", () => {
      it("answers 201 with the full dev user in DevRev's shape", async () => {
        const res = await admin.devUsersCreate({
          email: "Ada.Lovelace@example.com",
          state: SHADOW,
          full_name: "Ada Lovelace",
          custom_fields: { tier: "gold" },
        });
        assert.equal(res.status, 201);
        const u = res.data.dev_user as any;
        const n = DON.exec(u.id)?.[1];
        assert.ok(n, `id ${u.id} is a DON of the default org`);
        assert.equal(u.display_id, `DEVU-${n}`);
        assert.equal(u.type, "dev_user");
        assert.equal(u.state, "shadow");
        assert.equal(u.email, "Ada.Lovelace@example.com");
        assert.equal(u.full_name, "Ada Lovelace");
        assert.equal(u.display_name, "Ada.Lovelace");
        assert.deepEqual(u.custom_fields, { tier: "gold" });
        assert.deepEqual(u.external_identities, []);
        assert.match(u.created_date, ISO_MS);
        assert.match(u.modified_date, ISO_MS);
        assert.equal(u.created_by.type, "dev_user");
        assert.equal(u.created_by.id, adminId);
        assert.equal(u.modified_by.id, adminId);
      });

      it("rejects any state but shadow with invalid_enum_value and allowed_values", async () => {
        const err = await sdkError(admin.devUsersCreate({ email: "active@example.com", state: "active" as never }));
        assert.equal(err.status, 400);
        assert.equal(err.body.type, "invalid_enum_value");
        assert.equal(err.body.field_name, "state");
        assert.deepEqual(err.body.allowed_values, ["shadow"]);
        const list = await admin.devUsersListPost({ email: ["active@example.com"] });
        assert.equal(list.data.dev_users.length, 0);
      });

      it("answers 409 conflict for an email already used, compared case-insensitively", async () => {
        await create("grace@example.com");
        const err = await sdkError(admin.devUsersCreate({ email: "GRACE@Example.COM", state: SHADOW }));
        assert.equal(err.status, 409);
        assert.equal(err.body.type, "conflict");
        const list = await admin.devUsersListPost({ email: ["grace@example.com"] });
        assert.equal(list.data.dev_users.length, 1);
      });

      it("takes reports_to as another user of the org, and refuses an unknown one", async () => {
        const boss = await create("boss@example.com");
        const u = await create("worker@example.com", { reports_to: boss.display_id });
        assert.equal((u as any).reports_to.id, boss.id);
        assert.equal((u as any).reports_to.type, "dev_user");
        const err = await sdkError(
          admin.devUsersCreate({ email: "orphan@example.com", state: SHADOW, reports_to: "DEVU-999999" }),
        );
        assert.equal(err.status, 400);
        assert.equal(err.body.type, "value_not_permitted");
        assert.equal(err.body.field_name, "reports_to");
        assert.equal((await admin.devUsersListPost({ email: ["orphan@example.com"] })).data.dev_users.length, 0);
      });

      it("refuses an email that is not an address", async () => {
        const err = await sdkError(admin.devUsersCreate({ email: "not-an-email", state: SHADOW }));
        assert.equal(err.status, 400);
        assert.equal(err.body.type, "value_not_permitted");
        assert.equal(err.body.field_name, "email");
      });
    });

    describe("get", () => {
      it("finds a user by DON and by display id, with GET and POST", async () => {
        const u = await create("getme@example.com");
        for (const id of [u.id, u.display_id!, u.display_id!.toLowerCase()]) {
          assert.equal((await admin.devUsersGet({ id })).data.dev_user.id, u.id);
          assert.equal((await admin.devUsersGetPost({ id })).data.dev_user.id, u.id);
        }
      });

      it("answers 404 for an id that does not exist, 400 invalid_id for a malformed one", async () => {
        const missing = await sdkError(admin.devUsersGet({ id: "DEVU-999999" }));
        assert.equal(missing.status, 404);
        assert.equal(missing.body.type, "not_found");
        const missingDon = await sdkError(
          admin.devUsersGetPost({ id: "don:identity:dvrv-us-1:devo/default:devu/999999" }),
        );
        assert.equal(missingDon.status, 404);
        for (const id of ["nope", "DEVU-0", "DEVU-x", "don:identity:dvrv-us-1:devo/default:revu/1", ""]) {
          const bad = await sdkError(admin.devUsersGetPost({ id }));
          assert.equal(bad.status, 400, id);
          assert.equal(bad.body.type, "invalid_id", id);
          assert.equal(bad.body.field_name, "id", id);
        }
      });
    });

    describe("update", () => {
      it("changes every field of its request schema", async () => {
        const u = await create("upd@example.com");
        const res = await admin.devUsersUpdate({
          id: u.id,
          display_name: "updy",
          full_name: "Up Dated",
          job_title: "developer" as never,
          experience_start_date: "2020-01-02T03:04:05Z",
          availability_modes: [1, 3],
          job_history: [
            { title: "Engineer", location: "Paris", is_current: true, employment_status: 1, start_date: "2021-05-01" },
          ],
          custom_fields: { a: 1, b: "x" },
        });
        const d = res.data.dev_user as any;
        assert.equal(d.display_name, "updy");
        assert.equal(d.full_name, "Up Dated");
        assert.equal(d.job_title, "developer");
        assert.equal(d.experience_start_date, "2020-01-02T03:04:05.000Z");
        assert.deepEqual(
          d.availability_modes.map((m: any) => [m.id, typeof m.label]),
          [
            [1, "string"],
            [3, "string"],
          ],
        );
        assert.equal(d.job_history.length, 1);
        assert.equal(d.job_history[0].title, "Engineer");
        assert.equal(d.job_history[0].location, "Paris");
        assert.equal(d.job_history[0].is_current, true);
        assert.equal(d.job_history[0].employment_status.id, 1);
        assert.match(d.job_history[0].start_date, ISO_MS);
        assert.deepEqual(d.custom_fields, { a: 1, b: "x" });
        assert.equal(d.modified_by.id, adminId);
        assert.ok(d.modified_date >= u.modified_date!);
        const again = await get(u.display_id!);
        assert.equal(again.full_name, "Up Dated");
        assert.deepEqual(again.custom_fields, { a: 1, b: "x" });
      });

      it("refuses reports_to of the user itself, a cycle, or an unknown user, and changes nothing", async () => {
        const a = await create("chain-a@example.com");
        const b = await create("chain-b@example.com", { reports_to: a.id });
        const cases = [
          { id: a.id, reports_to: a.id },
          { id: a.id, reports_to: b.display_id! },
          { id: a.id, reports_to: "DEVU-999999" },
        ];
        for (const body of cases) {
          const err = await sdkError(admin.devUsersUpdate(body));
          assert.equal(err.status, 400, JSON.stringify(body));
          assert.equal(err.body.type, "value_not_permitted");
          assert.equal(err.body.field_name, "reports_to");
        }
        const after = await get(a.id);
        assert.equal((after as any).reports_to, undefined);
        assert.equal(after.modified_date, a.modified_date!);
      });

      it("refuses an unknown job_title and an unknown availability mode", async () => {
        const u = await create("enums@example.com");
        const title = await sdkError(admin.devUsersUpdate({ id: u.id, job_title: "wizard" as never }));
        assert.equal(title.status, 400);
        assert.equal(title.body.type, "invalid_enum_value");
        assert.equal(title.body.field_name, "job_title");
        assert.ok(title.body.allowed_values.includes("developer"));
        const mode = await sdkError(admin.devUsersUpdate({ id: u.id, availability_modes: [99] }));
        assert.equal(mode.status, 400);
        assert.equal(mode.body.type, "value_not_permitted");
        assert.equal(mode.body.field_name, "availability_modes");
        assert.equal(((await get(u.id)) as any).job_title, undefined);
      });
    });

    describe("self", () => {
      it("answers the caller with GET and POST, and self.update changes the caller", async () => {
        const m = await s.user("selfie@example.com");
        assert.equal((await m.sdk.devUsersSelf()).data.dev_user.id, m.id);
        assert.equal((await m.sdk.devUsersSelfPost({})).data.dev_user.email, "selfie@example.com");
        const res = await m.sdk.devUsersSelfUpdate({ full_name: "Self Made", display_name: "selfmade" });
        assert.equal(res.data.dev_user.full_name, "Self Made");
        assert.equal((res.data.dev_user as any).modified_by.id, m.id);
        const seen = await get(m.id);
        assert.equal(seen.full_name, "Self Made");
        assert.equal(seen.display_name, "selfmade");
      });
    });

    describe("activate and deactivate", () => {
      it("activate answers invite_sent false and makes the user active", async () => {
        const u = await create("act@example.com");
        const res = await admin.devUsersActivate({ id: u.display_id! });
        assert.equal(res.status, 200);
        assert.deepEqual(res.data, { invite_sent: false });
        assert.equal((await get(u.id)).state, "active");
      });

      it("deactivate answers {} and makes the user deactivated", async () => {
        const u = await create("deact@example.com");
        await admin.devUsersActivate({ id: u.id });
        const res = await admin.devUsersDeactivate({ id: u.id });
        assert.equal(res.status, 200);
        assert.deepEqual(res.data, {});
        assert.equal((await get(u.id)).state, "deactivated");
      });

      it("answers 404 for a user that does not exist", async () => {
        const calls = [
          () => admin.devUsersActivate({ id: "DEVU-999999" }),
          () => admin.devUsersDeactivate({ id: "DEVU-999999" }),
        ];
        for (const call of calls) {
          const err = await sdkError(call());
          assert.equal(err.status, 404);
          assert.equal(err.body.type, "not_found");
        }
      });
    });

    describe("merge", () => {
      it("moves every identity to the primary and deactivates the secondary", async () => {
        const p = await create("primary@example.com");
        const sec = await create("secondary@example.com");
        const report = await create("report@example.com", { reports_to: sec.id });
        await admin.devUsersIdentitiesLink({ dev_user: p.id, issuer: "github", id: "gh-p" });
        await admin.devUsersIdentitiesLink({ dev_user: sec.id, issuer: "slack", id: "sl-s" });
        await admin.devUsersIdentitiesLink({ dev_user: sec.id, issuer: "jira", id: "ji-s" });
        const res = await admin.devUsersMerge({ primary_user: p.display_id!, secondary_user: sec.id });
        assert.equal(res.status, 200);
        assert.deepEqual(res.data, {});
        const merged = await get(p.id);
        const ids = merged.external_identities!.map((i) => `${i.issuer}/${i.id}`).sort();
        assert.deepEqual(ids, ["github/gh-p", "jira/ji-s", "slack/sl-s"]);
        const gone = await get(sec.id);
        assert.equal(gone.state, "deactivated");
        assert.deepEqual(gone.external_identities, []);
        assert.equal(((await get(report.id)) as any).reports_to.id, p.id);
      });

      it("fails with 400 and changes nothing when both hold different ids for one issuer", async () => {
        const p = await create("clash-p@example.com");
        const sec = await create("clash-s@example.com");
        await admin.devUsersIdentitiesLink({ dev_user: p.id, issuer: "slack", id: "U-P" });
        await admin.devUsersIdentitiesLink({ dev_user: sec.id, issuer: "slack", id: "U-S" });
        await admin.devUsersIdentitiesLink({ dev_user: sec.id, issuer: "okta", id: "O-S" });
        const before = await Promise.all([get(p.id), get(sec.id)]);
        const err = await sdkError(admin.devUsersMerge({ primary_user: p.id, secondary_user: sec.id }));
        assert.equal(err.status, 400);
        assert.equal(err.body.type, "value_not_permitted");
        const after = await Promise.all([get(p.id), get(sec.id)]);
        assert.deepEqual(after, before);
        assert.equal(after[1].state, "shadow");
      });

      it("refuses to merge a user with itself, in either id form", async () => {
        const u = await create("selfmerge@example.com");
        const err = await sdkError(admin.devUsersMerge({ primary_user: u.id, secondary_user: u.display_id! }));
        assert.equal(err.status, 400);
        assert.equal(err.body.type, "value_not_permitted");
        assert.equal((await get(u.id)).state, "shadow");
      });

      it("answers 404 for an unknown user and invalid_id naming the field for a malformed one", async () => {
        const u = await create("merge404@example.com");
        const missing = await sdkError(admin.devUsersMerge({ primary_user: u.id, secondary_user: "DEVU-999999" }));
        assert.equal(missing.status, 404);
        assert.equal(missing.body.type, "not_found");
        const bad = await sdkError(admin.devUsersMerge({ primary_user: "bogus", secondary_user: u.id }));
        assert.equal(bad.status, 400);
        assert.equal(bad.body.type, "invalid_id");
        assert.equal(bad.body.field_name, "primary_user");
        const bad2 = await sdkError(admin.devUsersMerge({ primary_user: u.id, secondary_user: "bogus" }));
        assert.equal(bad2.body.field_name, "secondary_user");
        assert.equal((await get(u.id)).state, "shadow");
      });
    });
  });

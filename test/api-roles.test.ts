// Roles through the API, beyond DevRev's spec: every dev user carries its role, and an admin
// changes it with dev-users.update under the rules `devusers role set` follows.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { testDialects } from "./helpers/databases.js";
import { assertError, type Sdk, SHADOW, startTestServer, type TestServer } from "./helpers/server.js";

const ACT_AS = "urn:devrev:params:oauth:token-type:pat:act-as";

for (const { dialect, skip } of await testDialects())
  describe(`roles [${dialect}]`, { skip }, () => {
    let s: TestServer;
    let admin: Sdk;
    const get = async (id: string) => (await admin.devUsersGet({ id })).data.dev_user as any;
    const update = (body: Record<string, unknown>, token?: string) =>
      s.http("POST", "/dev-users.update", { body, token });
    /** The org's journal entries about one user, oldest first. */
    const entries = async (id: string) =>
      ((await s.http("GET", `/audit-logs.list?object=${encodeURIComponent(id)}&limit=100`)).body.audit_logs as any[])
        .reverse()
        .map((e) => e.operation);

    before(async () => {
      s = await startTestServer({ dialect });
      admin = s.sdk();
    });
    after(() => s.close());

    it("every answer that holds a dev user carries its role", async () => {
      assert.equal(((await admin.devUsersSelf()).data.dev_user as any).role, "admin");
      const u = (await admin.devUsersCreate({ email: "roled@example.com", state: SHADOW })).data.dev_user as any;
      assert.equal(u.role, "member");
      assert.equal((await get(u.id)).role, "member");
      const listed = (await admin.devUsersList({ email: [u.email] })).data.dev_users as any[];
      assert.deepEqual(
        listed.map((d) => d.role),
        ["member"],
      );
      const updated = (await admin.devUsersUpdate({ id: u.id, full_name: "Ro Led" })).data.dev_user as any;
      assert.equal(updated.role, "member");
      const linked = (await admin.devUsersIdentitiesLink({ dev_user: u.id, issuer: "r", id: "r1" })).data
        .dev_user as any;
      assert.equal(linked.role, "member");
      const unlinked = (await admin.devUsersIdentitiesUnlink({ dev_user: u.id, issuer: "r" })).data.dev_user as any;
      assert.equal(unlinked.role, "member");
      await s.setRole("roled@example.com", "admin");
      assert.equal((await s.http("GET", `/dev-users.get?id=${encodeURIComponent(u.id)}`)).body.dev_user.role, "admin");
    });

    it("an admin promotes and demotes with dev-users.update, journalled as a role change", async () => {
      const m = await s.user("promoted@example.com");
      const before = await get(m.id);
      const up = await admin.devUsersUpdate({ id: m.id, role: "admin" } as never);
      const d = up.data.dev_user as any;
      assert.equal(d.role, "admin");
      assert.ok(d.modified_date >= before.modified_date);
      assert.equal(d.modified_by.id, (await admin.devUsersSelf()).data.dev_user.id);
      assert.equal((await get(m.id)).role, "admin");
      const made = await m.sdk.devUsersCreate({ email: "by-promoted@example.com", state: SHADOW });
      assert.equal(made.status, 201, "the new admin's token has admin rights at once");
      const down = await update({ id: m.id, role: "member" });
      assert.equal(down.status, 200, down.text);
      assert.equal(down.body.dev_user.role, "member");
      assertError(
        await s.http("POST", "/dev-users.create", {
          token: m.token,
          body: { email: "by-demoted@example.com", state: "shadow" },
        }),
        403,
        "forbidden",
      );
      const same = await update({ id: m.id, role: "member" });
      assert.equal(same.status, 200);
      assert.equal(same.body.dev_user.modified_date, down.body.dev_user.modified_date, "no change, nothing written");
      const ops = await entries(m.id);
      assert.deepEqual(ops.slice(-2), ["dev_users.role.set", "dev_users.role.set"]);
      const [entry] = (
        await s.http("GET", `/audit-logs.list?object=${encodeURIComponent(m.id)}&operation=dev_users.role.set&limit=1`)
      ).body.audit_logs;
      assert.equal(entry.before.role, "admin");
      assert.equal(entry.after.role, "member");
      assert.equal(entry.actor.type, "dev_user");
    });

    it("a role and other fields change together, each journalled", async () => {
      const m = await s.user("both@example.com");
      const res = await update({ id: m.id, role: "admin", full_name: "Both Changed" });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.dev_user.role, "admin");
      assert.equal(res.body.dev_user.full_name, "Both Changed");
      assert.deepEqual((await entries(m.id)).slice(-2), ["dev_users.role.set", "dev_users.update"]);
      const bad = await update({ id: m.id, role: "member", reports_to: m.id });
      assertError(bad, 400, "value_not_permitted", { field_name: "reports_to" });
      assert.equal((await get(m.id)).role, "admin", "a refused update changes no role either");
    });

    it("a member changing a role, its own or another's, is 403 and nothing is written", async () => {
      const m = await s.user("wannabe@example.com");
      const other = await s.user("bystander@example.com");
      const seen = [await get(m.id), await get(other.id)];
      const journal = [await entries(m.id), await entries(other.id)];
      for (const [id, role] of [
        [m.id, "admin"],
        [m.id, "member"],
        [other.id, "admin"],
      ] as const) {
        assertError(await update({ id, role }, m.token), 403, "forbidden");
        assertError(await update({ id, role, full_name: "Sneaky" }, m.token), 403, "forbidden");
      }
      assert.deepEqual([await get(m.id), await get(other.id)], seen);
      assert.deepEqual([await entries(m.id), await entries(other.id)], journal);
      assert.equal((await update({ id: m.id, full_name: "Still Me" }, m.token)).status, 200, "own fields still");
    });

    it("refuses to demote the org's last active admin, as `role set` does, and writes nothing", async () => {
      const solo = await s.token("solo@example.com", { org: "solo" });
      const self = (await s.http("GET", "/dev-users.self", { token: solo })).body.dev_user;
      const before = await s.http("GET", "/audit-logs.list?limit=100", { token: solo });
      const res = await update({ id: self.id, role: "member" }, solo);
      assertError(res, 400, "value_not_permitted", { field_name: "role" });
      assert.match(res.body.message, /solo@example\.com is the org's last active admin; make another admin first/);
      const after = (await s.http("GET", "/dev-users.self", { token: solo })).body.dev_user;
      assert.deepEqual(after, self);
      assert.deepEqual((await s.http("GET", "/audit-logs.list?limit=100", { token: solo })).body, before.body);
    });

    it("demoting an admin ends the act-as tokens it made", async () => {
      const maker = await s.user("role-maker@example.com", "admin");
      const target = await s.user("role-target@example.com");
      const made = await s.http("POST", "/auth-tokens.create", {
        token: maker.token,
        body: { requested_token_type: ACT_AS, act_as: target.id },
      });
      assert.equal(made.status, 201, made.text);
      const actAs = made.body.access_token as string;
      assert.equal((await s.http("GET", "/dev-users.self", { token: actAs })).status, 200);
      assert.equal((await update({ id: maker.id, role: "member" })).status, 200);
      assertError(await s.http("GET", "/dev-users.self", { token: actAs }), 401, "unauthenticated");
      assert.ok((await entries(target.id)).includes("auth_tokens.delete"));
    });

    it("self.update takes no role, and role takes only admin or member", async () => {
      const m = await s.user("selfish@example.com");
      const own = await s.http("POST", "/dev-users.self.update", { token: m.token, body: { role: "admin" } });
      assert.equal(own.status, 400, own.text);
      assert.equal(own.body.field_name, "role");
      const bad = await update({ id: m.id, role: "owner" });
      assert.equal(bad.status, 400, bad.text);
      assert.equal(bad.body.field_name, "role");
      assert.equal((await get(m.id)).role, "member");
    });
  });

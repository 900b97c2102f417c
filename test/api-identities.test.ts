// External identities through the official SDK: link, unlink, the two uniqueness rules, and races.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { testDialects } from "./helpers/databases.js";
import { type Sdk, SHADOW, sdkError, startTestServer, type TestServer } from "./helpers/server.js";

for (const { dialect, skip } of await testDialects())
  describe(`identities [${dialect}]`, { skip }, () => {
    let s: TestServer;
    let admin: Sdk;
    const create = async (email: string) => (await admin.devUsersCreate({ email, state: SHADOW })).data.dev_user;
    const get = async (id: string) => (await admin.devUsersGet({ id })).data.dev_user;
    const owners = async (issuer: string, id: string) =>
      (await admin.devUsersListPost({ external_identity: [{ issuer, id }] })).data.dev_users.map((u) => u.id);

    before(async () => {
      s = await startTestServer({ dialect });
      admin = s.sdk();
    });
    after(() => s.close());

    describe("link", () => {
      it("attaches an identity, unverified, with its display name, by DON or display id", async () => {
        const u = await create("link@example.com");
        const res = await admin.devUsersIdentitiesLink({
          dev_user: u.display_id!,
          issuer: "slack",
          id: "U100",
          display_name: "Linky",
        });
        assert.equal(res.status, 200);
        assert.equal(res.data.dev_user.id, u.id);
        assert.deepEqual(res.data.dev_user.external_identities, [
          { issuer: "slack", id: "U100", display_name: "Linky", is_verified: false },
        ]);
        const res2 = await admin.devUsersIdentitiesLink({ dev_user: u.id, issuer: "github", id: "gh-100" });
        assert.deepEqual(
          res2.data.dev_user.external_identities!.map((i) => `${i.issuer}/${i.id}/${i.is_verified}`).sort(),
          ["github/gh-100/false", "slack/U100/false"],
        );
        assert.deepEqual(await owners("slack", "U100"), [u.id]);
      });

      it("answers artifact_already_attached_to_a_parent with is_same true for the same owner", async () => {
        const u = await create("same@example.com");
        await admin.devUsersIdentitiesLink({ dev_user: u.id, issuer: "slack", id: "U200" });
        const err = await sdkError(
          admin.devUsersIdentitiesLink({ dev_user: u.display_id!, issuer: "slack", id: "U200" }),
        );
        assert.equal(err.status, 400);
        assert.equal(err.body.type, "artifact_already_attached_to_a_parent");
        assert.equal(err.body.existing_parent, u.id);
        assert.equal(err.body.is_same, true);
        assert.equal((await get(u.id)).external_identities!.length, 1);
      });

      it("answers artifact_already_attached_to_a_parent with is_same false for another owner", async () => {
        const owner = await create("owner@example.com");
        const other = await create("other@example.com");
        await admin.devUsersIdentitiesLink({ dev_user: owner.id, issuer: "slack", id: "U300" });
        const err = await sdkError(admin.devUsersIdentitiesLink({ dev_user: other.id, issuer: "slack", id: "U300" }));
        assert.equal(err.status, 400);
        assert.equal(err.body.type, "artifact_already_attached_to_a_parent");
        assert.equal(err.body.existing_parent, owner.id);
        assert.equal(err.body.is_same, false);
        assert.deepEqual((await get(other.id)).external_identities, []);
        assert.deepEqual(await owners("slack", "U300"), [owner.id]);
      });

      it("refuses a second id for an issuer the user already holds with value_not_permitted on issuer", async () => {
        const u = await create("twice@example.com");
        await admin.devUsersIdentitiesLink({ dev_user: u.id, issuer: "slack", id: "U400" });
        const err = await sdkError(admin.devUsersIdentitiesLink({ dev_user: u.id, issuer: "slack", id: "U401" }));
        assert.equal(err.status, 400);
        assert.equal(err.body.type, "value_not_permitted");
        assert.equal(err.body.field_name, "issuer");
        assert.deepEqual(
          (await get(u.id)).external_identities!.map((i) => i.id),
          ["U400"],
        );
        assert.deepEqual(await owners("slack", "U401"), []);
      });

      it("refuses an empty or blank issuer or id with value_not_permitted", async () => {
        const u = await create("empty@example.com");
        for (const [issuer, id, field] of [
          ["", "x", "issuer"],
          ["slack", "", "id"],
          ["  ", "x", "issuer"],
          ["slack", " ", "id"],
        ] as const) {
          const err = await sdkError(admin.devUsersIdentitiesLink({ dev_user: u.id, issuer, id }));
          assert.equal(err.status, 400, `${issuer}/${id}`);
          assert.equal(err.body.type, "value_not_permitted");
          assert.equal(err.body.field_name, field);
        }
        assert.deepEqual((await get(u.id)).external_identities, []);
      });

      it("answers 404 for an unknown dev_user and invalid_id naming dev_user for a malformed one", async () => {
        const missing = await sdkError(admin.devUsersIdentitiesLink({ dev_user: "DEVU-999999", issuer: "a", id: "b" }));
        assert.equal(missing.status, 404);
        assert.equal(missing.body.type, "not_found");
        const bad = await sdkError(admin.devUsersIdentitiesLink({ dev_user: "user-1", issuer: "a", id: "b" }));
        assert.equal(bad.status, 400);
        assert.equal(bad.body.type, "invalid_id");
        assert.equal(bad.body.field_name, "dev_user");
        assert.deepEqual(await owners("a", "b"), []);
      });
    });

    describe("unlink", () => {
      it("removes the identity of that issuer, which can then be linked elsewhere", async () => {
        const a = await create("unlink-a@example.com");
        const b = await create("unlink-b@example.com");
        await admin.devUsersIdentitiesLink({ dev_user: a.id, issuer: "slack", id: "U500" });
        await admin.devUsersIdentitiesLink({ dev_user: a.id, issuer: "github", id: "gh-500" });
        const res = await admin.devUsersIdentitiesUnlink({ dev_user: a.display_id!, issuer: "slack" });
        assert.equal(res.status, 200);
        assert.deepEqual(
          res.data.dev_user.external_identities!.map((i) => i.issuer),
          ["github"],
        );
        assert.deepEqual(await owners("slack", "U500"), []);
        await admin.devUsersIdentitiesLink({ dev_user: b.id, issuer: "slack", id: "U500" });
        assert.deepEqual(await owners("slack", "U500"), [b.id]);
      });

      it("answers 404 not_found for an issuer the user does not hold, and changes nothing", async () => {
        const u = await create("unlink404@example.com");
        await admin.devUsersIdentitiesLink({ dev_user: u.id, issuer: "github", id: "gh-600" });
        const before = await get(u.id);
        const err = await sdkError(admin.devUsersIdentitiesUnlink({ dev_user: u.id, issuer: "slack" }));
        assert.equal(err.status, 404);
        assert.equal(err.body.type, "not_found");
        assert.deepEqual(await get(u.id), before);
      });

      it("answers 404 for an unknown dev_user and invalid_id for a malformed one", async () => {
        const missing = await sdkError(admin.devUsersIdentitiesUnlink({ dev_user: "DEVU-999999", issuer: "slack" }));
        assert.equal(missing.status, 404);
        assert.equal(missing.body.type, "not_found");
        const bad = await sdkError(admin.devUsersIdentitiesUnlink({ dev_user: "DEVU-", issuer: "slack" }));
        assert.equal(bad.status, 400);
        assert.equal(bad.body.type, "invalid_id");
        assert.equal(bad.body.field_name, "dev_user");
      });
    });

    describe("concurrency", () => {
      it("twenty concurrent links of one (issuer, id) to twenty users: one wins, nineteen name the winner", async () => {
        const users = [];
        for (let i = 0; i < 20; i++) users.push(await create(`race${i}@example.com`));
        const results = await Promise.all(
          users.map((u) =>
            admin.devUsersIdentitiesLink({ dev_user: u.id, issuer: "okta", id: "RACE-1" }).then(
              (res) => ({ status: res.status, body: res.data as any }),
              (err) => ({ status: err.response?.status as number, body: err.response?.data as any }),
            ),
          ),
        );
        const wins = results.filter((r) => r.status === 200);
        const losses = results.filter((r) => r.status !== 200);
        assert.equal(wins.length, 1, JSON.stringify(results.map((r) => r.status)));
        const winner = wins[0]!.body.dev_user.id as string;
        assert.equal(losses.length, 19);
        for (const l of losses) {
          assert.equal(l.status, 400);
          assert.equal(l.body.type, "artifact_already_attached_to_a_parent");
          assert.equal(l.body.existing_parent, winner);
          assert.equal(l.body.is_same, false);
        }
        assert.deepEqual(await owners("okta", "RACE-1"), [winner]);
        for (const u of users) {
          const held = (await get(u.id)).external_identities!;
          assert.equal(held.length, u.id === winner ? 1 : 0);
        }
      });

      it("twenty concurrent links of one issuer with different ids to one user: exactly one is kept", async () => {
        const u = await create("race-one@example.com");
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            admin.devUsersIdentitiesLink({ dev_user: u.id, issuer: "azure", id: `AZ-${i}` }).then(
              (res) => ({ status: res.status, body: res.data as any }),
              (err) => ({ status: err.response?.status as number, body: err.response?.data as any }),
            ),
          ),
        );
        assert.equal(results.filter((r) => r.status === 200).length, 1);
        const losses = results.filter((r) => r.status !== 200);
        assert.equal(losses.length, 19);
        for (const l of losses) {
          assert.equal(l.status, 400);
          assert.equal(l.body.type, "value_not_permitted");
          assert.equal(l.body.field_name, "issuer");
        }
        const held = (await get(u.id)).external_identities!;
        assert.equal(held.length, 1);
        assert.equal(held[0]!.issuer, "azure");
      });
    });
  });

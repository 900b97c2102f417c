// What a request may store: bounded sizes, and only well-formed Unicode, so that a value always
// comes back exactly as sent and both databases agree on it.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { testDialects } from "./helpers/databases.js";
import { assertError, SHADOW, startTestServer, type TestServer } from "./helpers/server.js";

const KIB = 1024;

for (const { dialect, skip } of await testDialects())
  describe(`input bounds [${dialect}]`, { skip }, () => {
    let s: TestServer;
    let target: string;
    before(async () => {
      s = await startTestServer({ dialect });
      target = (await s.sdk().devUsersCreate({ email: "unicode@example.com", state: SHADOW })).data.dev_user.id;
    });
    after(() => s.close());

    const identities = async (id: string) =>
      (await s.http("GET", `/dev-users.get?id=${encodeURIComponent(id)}`)).body.dev_user.external_identities;
    /** A link whose body is written as JSON text, so escapes such as \ud800 reach the server as sent. */
    const linkRaw = (idJson: string, extra = "") =>
      s.http("POST", "/dev-users.identities.link", {
        raw: `{"dev_user":"${target}","issuer":"slack"${extra},"id":${idJson}}`,
      });

    describe("Unicode", () => {
      it("refuses a lone surrogate in an identity id, naming the field, and stores nothing", async () => {
        for (const id of ['"\\ud800"', '"U\\udfff1"', '"\\udc00\\ud800"']) {
          assertError(await linkRaw(id), 400, "value_not_permitted", { field_name: "id" });
        }
        assert.deepEqual(await identities(target), []);
      });

      it("stores a well-formed surrogate pair and gives it back exactly as sent", async () => {
        const res = await linkRaw('"U\\ud83d\\ude00"');
        assert.equal(res.status, 200, res.text);
        const [identity] = await identities(target);
        assert.equal(identity.id, "U\u{1f600}");
        // The same id linked to another user is the documented conflict, not a retry-later.
        const other = (await s.sdk().devUsersCreate({ email: "other-unicode@example.com", state: SHADOW })).data
          .dev_user.id;
        const again = await s.http("POST", "/dev-users.identities.link", {
          body: { dev_user: other, issuer: "slack", id: "U\u{1f600}" },
        });
        assertError(again, 400, "artifact_already_attached_to_a_parent", { existing_parent: target, is_same: false });
      });

      it("refuses lone surrogates in every field: names, issuers, custom field keys and values, filters", async () => {
        const cases: [string, string, string, string][] = [
          ["POST", "/dev-users.identities.link", `{"dev_user":"${target}","issuer":"gh\\ud800","id":"x"}`, "issuer"],
          [
            "POST",
            "/dev-users.identities.link",
            `{"dev_user":"${target}","issuer":"github","id":"x","display_name":"\\ud800"}`,
            "display_name",
          ],
          ["POST", "/dev-users.update", `{"id":"${target}","full_name":"A\\udbff"}`, "full_name"],
          ["POST", "/dev-users.update", `{"id":"${target}","custom_fields":{"k":"\\ud800"}}`, "custom_fields.k"],
          ["POST", "/dev-users.update", `{"id":"${target}","custom_fields":{"\\ud800":"v"}}`, "custom_fields.\\ud800"],
          [
            "POST",
            "/dev-users.update",
            `{"id":"${target}","custom_fields":{"a":["ok","\\ud800"]}}`,
            "custom_fields.a[1]",
          ],
          [
            "POST",
            "/dev-users.list",
            `{"external_identity":[{"issuer":"slack","id":"\\ud800"}]}`,
            "external_identity[0].id",
          ],
          ["POST", "/dev-users.create", `{"email":"a\\ud800@example.com","state":"shadow"}`, "email"],
        ];
        for (const [method, path, raw, field] of cases) {
          const res = await s.http(method, path, { raw });
          assert.equal(res.status, 400, `${path} ${raw}: ${res.text}`);
          assert.equal(res.body.type, "value_not_permitted", res.text);
          assert.equal(res.body.field_name, field, res.text);
        }
        const user = (await s.http("GET", `/dev-users.get?id=${encodeURIComponent(target)}`)).body.dev_user;
        assert.equal(user.full_name, undefined);
        assert.deepEqual(user.custom_fields, {});
      });

      it("refuses a body that is not UTF-8, rather than replacing its bytes", async () => {
        const before = `{"dev_user":"${target}","issuer":"jira","id":"`;
        const body = Buffer.concat([Buffer.from(before), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')]);
        for (const bytes of [body, Buffer.concat([Buffer.from(before), Buffer.from([0xff]), Buffer.from('"}')])]) {
          const res = await fetch(`${s.url}/dev-users.identities.link`, {
            method: "POST",
            headers: { authorization: s.adminToken, "content-type": "application/json" },
            body: bytes,
          });
          const text = await res.text();
          assert.equal(res.status, 400, text);
          assert.equal(JSON.parse(text).type, "bad_request", text);
        }
        assert.equal((await identities(target)).filter((i: { issuer: string }) => i.issuer === "jira").length, 0);
      });

      it("refuses query parameters whose percent-encoding is not UTF-8, naming the parameter", async () => {
        for (const query of [
          "external_identity.id=%ED%A0%80&external_identity.issuer=slack",
          "email=%FF",
          "email=a%E2%82",
        ]) {
          const res = await s.http("GET", `/dev-users.list?${query}`);
          assert.equal(res.status, 400, `${query}: ${res.text}`);
          assert.equal(res.body.type, "value_not_permitted", res.text);
          assert.ok(["external_identity.id", "email"].includes(res.body.field_name), res.text);
        }
        const ok = await s.http("GET", `/dev-users.list?email=${encodeURIComponent("unicode@example.com")}`);
        assert.equal(ok.status, 200, ok.text);
        assert.equal(ok.body.dev_users.length, 1);
      });
    });

    describe("sizes", () => {
      it("bounds custom_fields as stored, however many updates add to them", async () => {
        const member = await s.user("grower@example.com");
        const chunk = "x".repeat(20 * KIB);
        const statuses: number[] = [];
        for (let i = 0; i < 6; i++) {
          const res = await s.http("POST", "/dev-users.self.update", {
            token: member.token,
            body: { custom_fields: { [`k${i}`]: chunk } },
          });
          statuses.push(res.status);
          if (res.status !== 200) {
            assertError(res, 400, "value_not_permitted", { field_name: "custom_fields" });
            assert.match(res.body.message, /65536 bytes/);
          }
        }
        assert.deepEqual(statuses, [200, 200, 200, 400, 400, 400]);
        const self = (await s.http("GET", "/dev-users.self", { token: member.token })).body.dev_user;
        assert.deepEqual(Object.keys(self.custom_fields), ["k0", "k1", "k2"]);
        // Removing keys makes room again.
        const shrink = await s.http("POST", "/dev-users.self.update", {
          token: member.token,
          body: { custom_fields: { k0: null, k1: null, k3: chunk } },
        });
        assert.equal(shrink.status, 200, shrink.text);
      });

      it("bounds a single oversized custom_fields on create and update, and writes nothing", async () => {
        const big = { blob: "y".repeat(900 * KIB) };
        assertError(
          await s.http("POST", "/dev-users.create", {
            body: { email: "big@example.com", state: "shadow", custom_fields: big },
          }),
          400,
          "value_not_permitted",
          { field_name: "custom_fields" },
        );
        assertError(
          await s.http("POST", "/dev-users.update", { body: { id: target, custom_fields: big } }),
          400,
          "value_not_permitted",
          { field_name: "custom_fields" },
        );
        const list = await s.http("POST", "/dev-users.list", { body: { email: ["big@example.com"] } });
        assert.deepEqual(list.body.dev_users, []);
      });

      it("bounds every string of job_history", async () => {
        for (const field of ["title", "location"]) {
          const res = await s.http("POST", "/dev-users.update", {
            body: { id: target, job_history: [{ [field]: "z".repeat(257) }] },
          });
          assertError(res, 400, "value_not_permitted", { field_name: `job_history[0].${field}` });
        }
        const fits = await s.http("POST", "/dev-users.update", {
          body: { id: target, job_history: Array.from({ length: 100 }, () => ({ title: "t".repeat(256) })) },
        });
        assert.equal(fits.status, 200, fits.text);
      });
    });
  });

// DevRev's error model on malformed input (raw HTTP), unknown routes, rate limits and faults.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { testDialects } from "./helpers/databases.js";
import { assertError, type HttpResult, type Sdk, SHADOW, startTestServer, type TestServer } from "./helpers/server.js";

for (const { dialect, skip } of await testDialects())
  describe(`errors [${dialect}]`, { skip }, () => {
    let s: TestServer;
    let admin: Sdk;
    let target: string;
    const count = async () => (await admin.devUsersListPost({ limit: 100 })).data.dev_users.length;
    const get = async (id: string) => (await admin.devUsersGet({ id })).data.dev_user;

    before(async () => {
      s = await startTestServer({ dialect });
      admin = s.sdk();
      target = (await admin.devUsersCreate({ email: "target@example.com", state: SHADOW })).data.dev_user.id;
    });
    after(() => s.close());

    describe("malformed bodies", () => {
      it("answers 400 parse_error for JSON that does not parse", async () => {
        for (const raw of ['{"email": "a@b.c",', "{email: 1}", "nul", '{"a":1}}']) {
          assertError(await s.http("POST", "/dev-users.create", { raw }), 400, "parse_error");
        }
      });

      it("answers 400 unexpected_json_type with field_name, expected and actual", async () => {
        const cases: [string, unknown, Record<string, unknown>][] = [
          [
            "/dev-users.create",
            { email: 5, state: "shadow" },
            { field_name: "email", expected: "string", actual: "number" },
          ],
          [
            "/dev-users.create",
            { email: null, state: "shadow" },
            { field_name: "email", expected: "string", actual: "null" },
          ],
          ["/dev-users.get", { id: ["DEVU-1"] }, { field_name: "id", expected: "string", actual: "array" }],
          [
            "/dev-users.update",
            { id: target, availability_modes: "busy" },
            { field_name: "availability_modes", expected: "array", actual: "string" },
          ],
          [
            "/dev-users.update",
            { id: target, job_history: [{ is_current: "yes" }] },
            { field_name: "job_history[0].is_current", expected: "bool", actual: "string" },
          ],
          ["/dev-users.list", { limit: true }, { field_name: "limit", expected: "number", actual: "bool" }],
          [
            "/dev-users.identities.link",
            { dev_user: target, issuer: {}, id: "x" },
            { field_name: "issuer", actual: "object" },
          ],
        ];
        for (const [path, body, fields] of cases) {
          assertError(await s.http("POST", path, { body }), 400, "unexpected_json_type", fields);
        }
        const root = await s.http("POST", "/dev-users.create", { raw: "[1,2]" });
        assertError(root, 400, "unexpected_json_type", { expected: "object", actual: "array" });
      });

      it("answers 400 missing_required_field naming the field", async () => {
        const cases: [string, unknown, string][] = [
          ["/dev-users.create", { state: "shadow" }, "email"],
          ["/dev-users.create", { email: "x@example.com" }, "state"],
          ["/dev-users.get", {}, "id"],
          ["/dev-users.update", { full_name: "x" }, "id"],
          ["/dev-users.activate", {}, "id"],
          ["/dev-users.deactivate", {}, "id"],
          ["/dev-users.merge", { primary_user: target }, "secondary_user"],
          ["/dev-users.identities.link", { dev_user: target, issuer: "slack" }, "id"],
          ["/dev-users.identities.unlink", { dev_user: target }, "issuer"],
          ["/dev-users.list", { created_date: { after: "2020-01-01T00:00:00Z" } }, "created_date.type"],
        ];
        for (const [path, body, field] of cases) {
          assertError(await s.http("POST", path, { body }), 400, "missing_required_field", { field_name: field });
        }
        assertError(await s.http("POST", "/dev-users.get"), 400, "missing_required_field", { field_name: "id" });
        assertError(await s.http("GET", "/dev-users.get"), 400, "missing_required_field", { field_name: "id" });
      });

      it("answers 400 invalid_field for unknown fields, nested ones included", async () => {
        const cases: [string, string, unknown, string][] = [
          ["POST", "/dev-users.create", { email: "x@example.com", state: "shadow", role: "admin" }, "role"],
          ["POST", "/dev-users.update", { id: target, state: "active" }, "state"],
          [
            "POST",
            "/dev-users.update",
            { id: target, job_history: [{ title: "t", salary: 1 }] },
            "job_history[0].salary",
          ],
          [
            "POST",
            "/dev-users.update",
            { id: target, custom_schema_spec: { bogus: true } },
            "custom_schema_spec.bogus",
          ],
          ["POST", "/dev-users.self.update", { email: "new@example.com" }, "email"],
          ["POST", "/dev-users.self", { id: target }, "id"],
          [
            "POST",
            "/dev-users.list",
            { external_identity: [{ issuer: "a", verified: true }] },
            "external_identity[0].verified",
          ],
          [
            "POST",
            "/dev-users.identities.link",
            { dev_user: target, issuer: "a", id: "b", is_verified: true },
            "is_verified",
          ],
        ];
        for (const [method, path, body, field] of cases) {
          assertError(await s.http(method, path, { body }), 400, "invalid_field", { field_name: field });
        }
        assertError(await s.http("GET", `/dev-users.get?id=${target}&extra=1`), 400, "invalid_field", {
          field_name: "extra",
        });
        assertError(await s.http("GET", "/dev-users.list?colour=red"), 400, "invalid_field", { field_name: "colour" });
        const t = await get(target);
        assert.equal(t.state, "shadow");
        assert.deepEqual(t.external_identities, []);
      });

      it("accepts every field the shared spec and the SDK's request types name", async () => {
        const spec = { apps: ["app"], subtype: "sub", tenant_fragment: true, validate_required_fields: false };
        const created = await admin.devUsersCreate({
          email: "every-field@example.com",
          state: SHADOW,
          full_name: "Every Field",
          reports_to: target,
          custom_fields: { k: "v" },
          custom_schema_spec: spec,
        });
        const id = created.data.dev_user.id;
        assert.equal((await admin.devUsersActivate({ id, groups: [] })).data.invite_sent, false);
        const updated = await admin.devUsersUpdate({
          id,
          custom_schema_spec: spec,
          staged_info: { unresolved_fields: [], sync_in_unresolved_fields: [], sync_out_unresolved_fields: [] },
          full_name: "Every Field Updated",
        });
        assert.equal(updated.data.dev_user.full_name, "Every Field Updated");
        const self = await admin.devUsersSelfUpdate({ custom_schema_spec: spec, job_title: "cxo" as never });
        assert.equal((self.data.dev_user as any).job_title, "cxo");
        const listed = await admin.devUsersListPost({
          email: ["every-field@example.com"],
          custom_fields: {},
          staged_info: { is_staged: false },
          mode: "after" as never,
          cursor: "",
        });
        assert.deepEqual(
          listed.data.dev_users.map((u) => u.id),
          [id],
        );
        const get = await s.http("GET", "/dev-users.list?staged_info.is_staged=false&email=every-field@example.com");
        assert.equal(get.status, 200);
        assert.equal(get.body.dev_users.length, 1);
      });

      it("answers 400 invalid_id naming the field that holds a malformed id", async () => {
        const cases: [string, unknown, string][] = [
          ["/dev-users.get", { id: "user-1" }, "id"],
          ["/dev-users.update", { id: "DEVU-abc" }, "id"],
          ["/dev-users.activate", { id: "don:identity:dvrv-us-1:devo/default:devu/x" }, "id"],
          ["/dev-users.deactivate", { id: "42" }, "id"],
          ["/dev-users.update", { id: target, reports_to: "boss" }, "reports_to"],
          ["/dev-users.merge", { primary_user: "p", secondary_user: target }, "primary_user"],
          ["/dev-users.merge", { primary_user: target, secondary_user: "s" }, "secondary_user"],
          ["/dev-users.identities.link", { dev_user: "u", issuer: "a", id: "b" }, "dev_user"],
          ["/dev-users.identities.unlink", { dev_user: "u", issuer: "a" }, "dev_user"],
        ];
        for (const [path, body, field] of cases) {
          assertError(await s.http("POST", path, { body }), 400, "invalid_id", { field_name: field });
        }
        assertError(await s.http("GET", "/dev-users.get?id=nope"), 400, "invalid_id", { field_name: "id" });
        assert.equal((await get(target)).state, "shadow");
      });

      it("answers 404 not_found for a well-formed id of no user", async () => {
        assertError(await s.http("POST", "/dev-users.get", { body: { id: "DEVU-424242" } }), 404, "not_found");
        const don = "don:identity:dvrv-us-1:devo/default:devu/424242";
        assertError(await s.http("GET", `/dev-users.get?id=${encodeURIComponent(don)}`), 404, "not_found");
      });

      it("answers 4xx to a body over 1 MiB, and writes nothing", async () => {
        const before = await count();
        const raw = JSON.stringify({ email: "huge@example.com", state: "shadow", full_name: "x".repeat(1024 * 1024) });
        const res = await s.http("POST", "/dev-users.create", { raw });
        assert.ok(res.status >= 400 && res.status < 500, String(res.status));
        assert.equal(typeof res.body?.type, "string");
        assert.equal(await count(), before);
        const ok = await s.http("POST", "/dev-users.create", {
          body: {
            email: "big-but-fine@example.com",
            state: "shadow",
            custom_fields: { notes: "x".repeat(60 * 1024) },
          },
        });
        assert.equal(ok.status, 201);
        assert.equal(await count(), before + 1);
      });

      it("answers long text fields with success or a 400 naming the field, never a 500", async () => {
        const long = randomBytes(4096).toString("base64");
        const u = (await admin.devUsersCreate({ email: "long-fields@example.com", state: SHADOW })).data.dev_user.id;
        const results: [string, HttpResult][] = [
          [
            "full_name",
            await s.http("POST", "/dev-users.create", {
              body: { email: "long-name@example.com", state: "shadow", full_name: long },
            }),
          ],
          ["display_name", await s.http("POST", "/dev-users.update", { body: { id: u, display_name: long } })],
          [
            "id",
            await s.http("POST", "/dev-users.identities.link", { body: { dev_user: u, issuer: "slack", id: long } }),
          ],
        ];
        for (const [field, res] of results) {
          assert.ok(res.status < 300 || res.status === 400, `${field}: ${res.status} ${res.text.slice(0, 200)}`);
          if (res.status === 400) assert.equal(res.body.field_name, field);
        }
        assert.equal((await admin.devUsersSelf()).status, 200);
      });

      it("writes nothing after a rejected request", async () => {
        const before = await count();
        const rejected: [string, unknown][] = [
          ["/dev-users.create", { email: "never@example.com", state: "active" }],
          ["/dev-users.create", { email: "never@example.com", state: "shadow", extra: 1 }],
          ["/dev-users.create", { email: "never@example.com", state: "shadow", reports_to: "DEVU-999999" }],
          ["/dev-users.create", { email: "never@example.com", state: "shadow", custom_fields: [] }],
        ];
        for (const [path, body] of rejected) {
          const res = await s.http("POST", path, { body });
          assert.equal(res.status, 400, JSON.stringify(body));
        }
        const bad = await s.http("POST", "/dev-users.update", {
          body: { id: target, full_name: "Changed", availability_modes: [1, 77] },
        });
        assert.equal(bad.status, 400);
        const badLink = await s.http("POST", "/dev-users.identities.link", {
          raw: `{"dev_user":"${target}","issuer":`,
        });
        assert.equal(badLink.status, 400);
        assert.equal(await count(), before);
        const t = await get(target);
        assert.equal(t.full_name, undefined);
        assert.deepEqual(t.availability_modes, []);
        assert.deepEqual(t.external_identities, []);
        assert.equal((await admin.devUsersListPost({ email: ["never@example.com"] })).data.dev_users.length, 0);
      });

      it("keeps serving after bad input", async () => {
        await s.http("POST", "/dev-users.create", { raw: "{{{{" });
        await s.http("POST", "/dev-users.create", { raw: "x".repeat(2 * 1024 * 1024) });
        await s.http("POST", "/dev-users.update", { raw: "\u0000\u0001" });
        await s.http("GET", "/dev-users.list?limit=%ZZ");
        await s.http("POST", "/dev-users.list", { body: { sort_by: "email:asc" } });
        const res = await admin.devUsersCreate({ email: "still-alive@example.com", state: SHADOW });
        assert.equal(res.status, 201);
        assert.equal((await admin.devUsersSelf()).status, 200);
      });
    });

    describe("routes", () => {
      it("answers an unknown route with a JSON 404 not_found, with or without a token", async () => {
        assertError(await s.http("GET", "/dev-users.nope"), 404, "not_found");
        assertError(await s.http("POST", "/dev-users.delete", { body: { id: target } }), 404, "not_found");
        assertError(await s.http("GET", "/nothing/here", { token: null }), 404, "not_found");
        assert.equal((await get(target)).state, "shadow");
      });
    });
  });

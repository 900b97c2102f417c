// Hostile and unusual input: huge arrays, deep nesting, prototype keys, abandoned requests,
// clients behind a proxy, and the API description of the GET query.
import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, describe, it } from "node:test";
import { ConfigError, loadConfig } from "../src/config.js";
import { testDialects } from "./helpers/databases.js";
import { assertError, type HttpResult, type Sdk, SHADOW, startTestServer, type TestServer } from "./helpers/server.js";

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
/** `n` arrays nested inside one another around a 1. */
const nested = (n: number) => `${"[".repeat(n)}1${"]".repeat(n)}`;

async function until(what: string, check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("TRUST_PROXY setting", () => {
  it("is off when unset, and reads true or a list of addresses and CIDRs", () => {
    assert.equal(loadConfig({}).trustProxy, false);
    assert.equal(loadConfig({ TRUST_PROXY: "" }).trustProxy, false);
    assert.equal(loadConfig({ TRUST_PROXY: "false" }).trustProxy, false);
    assert.equal(loadConfig({ TRUST_PROXY: "true" }).trustProxy, true);
    assert.deepEqual(loadConfig({ TRUST_PROXY: "10.0.0.0/8, 127.0.0.1,::1,loopback" }).trustProxy, [
      "10.0.0.0/8",
      "127.0.0.1",
      "::1",
      "loopback",
    ]);
    for (const bad of ["yes", "10.0.0.0/8,not-an-ip", "-1", "10.0.0.0/99", "10.0.0.1,"]) {
      assert.throws(() => loadConfig({ TRUST_PROXY: bad }), ConfigError, bad);
    }
    // Fastify trusts nobody given a hop count, so one is refused rather than silently ignored.
    assert.throws(() => loadConfig({ TRUST_PROXY: "2" }), /hop count/);
  });
});

for (const { dialect, skip } of await testDialects())
  describe(`hardening [${dialect}]`, { skip }, () => {
    let s: TestServer;
    let admin: Sdk;
    let target: string;

    before(async () => {
      s = await startTestServer({ dialect });
      admin = s.sdk();
      target = (await admin.devUsersCreate({ email: "target@example.com", state: SHADOW })).data.dev_user.id;
    });
    after(() => s.close());
    const customFields = async () =>
      ((await admin.devUsersGet({ id: target })).data.dev_user.custom_fields ?? {}) as Record<string, unknown>;

    describe("request arrays", () => {
      const tooMany = (res: HttpResult, field: string) =>
        assertError(res, 400, "value_not_permitted", { field_name: field, reason: "must have at most 100 items" });

      it("answers 400 to list filters of more than 100 items, where they used to exhaust the database", async () => {
        const pairs = range(20000).map((i) => ({ issuer: "slack", id: `U${i}` }));
        tooMany(await s.http("POST", "/dev-users.list", { body: { external_identity: pairs } }), "external_identity");
        const emails = range(70000).map((i) => `${i}`);
        tooMany(await s.http("POST", "/dev-users.list", { body: { email: emails } }), "email");
        for (const field of ["phone_numbers", "timezone", "sort_by"]) {
          tooMany(await s.http("POST", "/dev-users.list", { body: { [field]: range(101).map(String) } }), field);
        }
        const states = range(101).map(() => "active");
        tooMany(await s.http("POST", "/dev-users.list", { body: { state: states } }), "state");
        const query = states.map((v) => `state=${v}`).join("&");
        tooMany(await s.http("GET", `/dev-users.list?${query}`), "state");
        tooMany(await s.http("GET", `/dev-users.list?email=${range(101).join(",")}`), "email");
      });

      it("accepts 100 items", async () => {
        const pairs = range(100).map((i) => ({ issuer: "slack", id: `U${i}` }));
        const res = await s.http("POST", "/dev-users.list", {
          body: { external_identity: pairs, email: range(100).map((i) => `${i}@example.com`) },
        });
        assert.equal(res.status, 200, res.text);
        assert.deepEqual(res.body.dev_users, []);
      });

      it("answers 400 to more than 100 items in every other request array", async () => {
        const many = range(101).map(String);
        const cases: [string, unknown, string][] = [
          ["/dev-users.update", { id: target, availability_modes: range(101).map(() => 1) }, "availability_modes"],
          ["/dev-users.update", { id: target, job_history: range(101).map(() => ({})) }, "job_history"],
          ["/dev-users.self.update", { availability_modes: range(101).map(() => 1) }, "availability_modes"],
          ["/dev-users.update", { id: target, custom_schema_spec: { apps: many } }, "custom_schema_spec.apps"],
          [
            "/dev-users.create",
            { email: "apps@example.com", state: "shadow", custom_schema_spec: { apps: many } },
            "custom_schema_spec.apps",
          ],
          ["/dev-users.activate", { id: target, groups: many }, "groups"],
          [
            "/dev-users.update",
            { id: target, staged_info: { unresolved_fields: many } },
            "staged_info.unresolved_fields",
          ],
          [
            "/dev-users.update",
            { id: target, staged_info: { sync_in_unresolved_fields: range(101).map(() => ({})) } },
            "staged_info.sync_in_unresolved_fields",
          ],
          [
            "/dev-users.update",
            { id: target, staged_info: { sync_out_unresolved_fields: range(101).map(() => ({})) } },
            "staged_info.sync_out_unresolved_fields",
          ],
        ];
        for (const [path, body, field] of cases) tooMany(await s.http("POST", path, { body }), field);
        assert.equal((await admin.devUsersGet({ id: target })).data.dev_user.state, "shadow");
      });
    });

    describe("deeply nested bodies", () => {
      const update = (customFields: string) =>
        s.http("POST", "/dev-users.update", {
          raw: `{"id":${JSON.stringify(target)},"custom_fields":${customFields}}`,
        });

      it("answers 400 bad_request to 200,000 nested arrays, which used to overflow the stack", async () => {
        const res = await update(`{"deep":${nested(200000)}}`);
        assertError(res, 400, "bad_request");
        assert.match(res.body.message, /nested deeper than 64/);
      });

      it("answers 400, never a 500, to the deepest nesting that fits in the body limit", async () => {
        assertError(await s.http("POST", "/dev-users.list", { raw: nested(520000) }), 400, "bad_request");
        assertError(await s.http("POST", "/dev-users.list", { raw: "[".repeat(1000000) }), 400, "parse_error");
        assertError(await s.http("POST", "/dev-users.list", { raw: `{"a":${"{".repeat(300000)}` }), 400, "parse_error");
      });

      it("accepts 64 levels and refuses 65", async () => {
        // The body is level 1 and custom_fields level 2: 62 arrays inside make 64 levels.
        const ok = await update(`{"deep":${nested(62)}}`);
        assert.equal(ok.status, 200, ok.text);
        assert.equal(JSON.stringify(ok.body.dev_user.custom_fields.deep), nested(62));
        assertError(await update(`{"deep":${nested(63)}}`), 400, "bad_request");
        assertError(await update(`{"a":${'{"b":'.repeat(63)}1${"}".repeat(63)}}`), 400, "bad_request");
        assert.equal(JSON.stringify((await customFields()).deep), nested(62));
      });
    });

    describe("prototype keys", () => {
      it("answers 400 bad_request to __proto__ keys anywhere, rather than dropping them", async () => {
        const raws = [
          `{"id":${JSON.stringify(target)},"custom_fields":{"__proto__":{"x":1},"b":2}}`,
          `{"id":${JSON.stringify(target)},"custom_fields":{"\\u005f_proto__":{"x":1},"b":2}}`,
          `{"id":${JSON.stringify(target)},"custom_fields":{"b":2,"list":[{"__proto__":{"state":"active"}}]}}`,
          `{"__proto__":{"full_name":"x"},"id":${JSON.stringify(target)},"custom_fields":{"b":2}}`,
        ];
        for (const raw of raws) {
          const res = await s.http("POST", "/dev-users.update", { raw });
          assertError(res, 400, "bad_request");
          assert.match(res.body.message, /__proto__/, res.text);
        }
        assert.equal((await customFields()).b, undefined);
        assert.equal((await admin.devUsersGet({ id: target })).data.dev_user.full_name, undefined);
      });

      it("answers 400 bad_request to constructor.prototype, and keeps a plain constructor key", async () => {
        const raw = `{"id":${JSON.stringify(target)},"custom_fields":{"constructor":{"prototype":{"x":1}}}}`;
        const res = await s.http("POST", "/dev-users.update", { raw });
        assertError(res, 400, "bad_request");
        assert.match(res.body.message, /constructor\.prototype/);
        const plain = await s.http("POST", "/dev-users.update", {
          raw: `{"id":${JSON.stringify(target)},"custom_fields":{"constructor":"c","proto":{"__proto":1}}}`,
        });
        assert.equal(plain.status, 200, plain.text);
        assert.deepEqual(plain.body.dev_user.custom_fields.constructor, "c");
        assert.deepEqual(plain.body.dev_user.custom_fields.proto, { __proto: 1 });
      });
    });

    describe("abandoned requests", () => {
      it("stops counting a request as unanswered when its client goes away mid-body", async () => {
        const service = s.running.service;
        await until("nothing is in flight", () => service.connections.unanswered() === 0);
        const { hostname, port } = new URL(s.url);
        const socket = connect(Number(port), hostname);
        await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
        socket.on("error", () => {});
        const body = JSON.stringify({ email: "half@example.com", state: "shadow", full_name: "x".repeat(200) });
        socket.write(
          "POST /dev-users.create HTTP/1.1\r\n" +
            `Host: ${hostname}\r\n` +
            `Authorization: Bearer ${s.adminToken}\r\n` +
            "Content-Type: application/json\r\n" +
            `Content-Length: ${body.length}\r\n\r\n` +
            body.slice(0, body.length / 2),
        );
        await until("the request is in flight", () => service.connections.unanswered() === 1);
        socket.destroy();
        await until("the abandoned request is no longer in flight", () => service.connections.unanswered() === 0);
        // And a complete request still counts once, and is uncounted once.
        assert.equal((await s.http("GET", "/dev-users.self")).status, 200);
        await until("nothing is in flight", () => service.connections.unanswered() === 0);
        const list = await s.http("POST", "/dev-users.list", { body: { email: ["half@example.com"] } });
        assert.deepEqual(list.body.dev_users, []);
      });
    });

    describe("GET /openapi.json", () => {
      it("describes the GET list query as the server reads it: dotted names, comma-separated arrays", async () => {
        const doc = await s.http("GET", "/openapi.json", { token: null });
        assert.equal(doc.status, 200);
        const params = doc.body.paths["/dev-users.list"].get.parameters as {
          name: string;
          explode?: boolean;
          required: boolean;
          schema: { type?: string };
        }[];
        const byName = new Map(params.map((p) => [p.name, p]));
        for (const name of ["external_identity", "created_date", "modified_date", "staged_info", "custom_fields"]) {
          assert.equal(byName.has(name), false, name);
        }
        for (const name of [
          "external_identity.issuer",
          "external_identity.id",
          "created_date.type",
          "created_date.after",
          "created_date.before",
          "modified_date.preset_type",
          "modified_date.days",
          "staged_info.is_staged",
          "limit",
          "cursor",
          "mode",
        ]) {
          const p = byName.get(name);
          assert.ok(p, `${name} in ${[...byName.keys()].join(", ")}`);
          assert.equal(p.required, false, name);
          assert.notEqual(p.schema.type, "object", name);
        }
        for (const name of ["email", "state", "sort_by", "phone_numbers", "timezone"]) {
          assert.equal(byName.get(name)?.schema.type, "array", name);
          assert.equal(byName.get(name)?.explode, false, name);
        }
        assert.equal(doc.body.paths["/dev-users.get"].get.parameters[0].name, "id");

        // What the description says is what the server reads.
        await admin.devUsersIdentitiesLink({ dev_user: target, issuer: "openapi", id: "O1" });
        const query = new URLSearchParams({
          "external_identity.issuer": "openapi",
          "external_identity.id": "O1",
          "created_date.type": "range",
          "created_date.after": "2000-01-01T00:00:00Z",
          "modified_date.type": "preset",
          "modified_date.preset_type": "last_n_days",
          "modified_date.days": "1",
          "staged_info.is_staged": "false",
          state: "shadow,active",
          limit: "5",
        });
        const found = await s.http("GET", `/dev-users.list?${query}`);
        assert.equal(found.status, 200, found.text);
        assert.deepEqual(
          found.body.dev_users.map((u: { id: string }) => u.id),
          [target],
        );
      });
    });

    describe("clients behind a proxy", () => {
      const unauthenticated = (server: TestServer, client: string) =>
        server.http("GET", "/dev-users.self", { token: null, headers: { "x-forwarded-for": client } });

      it("with TRUST_PROXY=true, gives each X-Forwarded-For client its own rate-limit bucket", async () => {
        const proxied = await startTestServer({ dialect, env: { TRUST_PROXY: "true", RATE_LIMIT_MAX: "2" } });
        try {
          const a: number[] = [];
          for (let i = 0; i < 3; i++) a.push((await unauthenticated(proxied, "203.0.113.1")).status);
          assert.deepEqual(a, [401, 401, 429]);
          const b = await unauthenticated(proxied, "203.0.113.2");
          assert.equal(b.status, 401, b.text);
          assert.equal(b.headers.get("x-ratelimit-remaining"), "1");
        } finally {
          await proxied.close();
        }
      });

      it("with TRUST_PROXY listing the balancer, takes the address it added, not one a client forged", async () => {
        const proxied = await startTestServer({
          dialect,
          env: { TRUST_PROXY: "127.0.0.0/8,::1", RATE_LIMIT_MAX: "2" },
        });
        try {
          assert.equal((await unauthenticated(proxied, "203.0.113.1")).status, 401);
          assert.equal((await unauthenticated(proxied, "203.0.113.2")).status, 401);
          // The client wrote 198.51.100.7 itself; the balancer appended the address it saw.
          assert.equal((await unauthenticated(proxied, "198.51.100.7, 203.0.113.1")).status, 401);
          assert.equal((await unauthenticated(proxied, "198.51.100.8, 203.0.113.1")).status, 429);
          assert.equal((await unauthenticated(proxied, "203.0.113.2")).status, 401);
        } finally {
          await proxied.close();
        }
      });

      it("without TRUST_PROXY, ignores X-Forwarded-For, which any client can forge", async () => {
        const direct = await startTestServer({ dialect, env: { RATE_LIMIT_MAX: "2" } });
        try {
          const statuses: number[] = [];
          for (const client of ["203.0.113.1", "203.0.113.2", "203.0.113.3"]) {
            statuses.push((await unauthenticated(direct, client)).status);
          }
          assert.deepEqual(statuses, [401, 401, 429]);
        } finally {
          await direct.close();
        }
      });
    });
  });

// DevRev's error model on malformed input (raw HTTP), unknown routes, rate limits and faults,
// and on requests Node's HTTP parser refuses before any route sees them.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { after, before, describe, it } from "node:test";
import { answerClientError } from "../src/plugins/error-handler.js";
import { testDialects } from "./helpers/databases.js";
import { type RawResult, rawRequest } from "./helpers/raw-http.js";
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

    describe("HTTP-layer refusals (raw bytes)", () => {
      const send = (...parts: (string | number[])[]) =>
        rawRequest(
          s.url,
          Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p, "latin1") : Buffer.from(p)))),
        );
      const host = "Host: 127.0.0.1\r\n";
      const auth = () => `Authorization: Bearer ${s.adminToken}\r\n`;

      it("answers a header block over 16 KiB with 431 in DevRev's shape, and closes", async () => {
        const one = await send(`GET /dev-users.self HTTP/1.1\r\n${host}${auth()}X-Big: ${"a".repeat(20000)}\r\n\r\n`);
        assertRefusal(one, 431, "request_header_fields_too_large", "GET, one header of 20,000 bytes");
        assert.match(one.body.message, /16 KiB/);
        assert.match(one.statusLine, /^HTTP\/1\.1 431 Request Header Fields Too Large$/);
        const many = Array.from({ length: 200 }, (_, i) => `X-H${i}: ${"b".repeat(100)}\r\n`).join("");
        const sum = await send(`POST /dev-users.list HTTP/1.1\r\n${host}${many}Content-Length: 2\r\n\r\n{}`);
        assertRefusal(sum, 431, "request_header_fields_too_large", "200 headers of 100 bytes");
        await stillServing();
      });

      it("answers control characters in a header with 400 bad_request, and closes", async () => {
        const start = `GET /dev-users.self HTTP/1.1\r\n${host}${auth()}`;
        for (const ctl of [0x00, 0x01, 0x08, 0x0b, 0x1b, 0x7f]) {
          assertRefusal(
            await send(start, "X-Note: a", [ctl], "b\r\n\r\n"),
            400,
            "bad_request",
            `value 0x${ctl.toString(16)}`,
          );
          assertRefusal(
            await send(start, "X-No", [ctl], "te: b\r\n\r\n"),
            400,
            "bad_request",
            `name 0x${ctl.toString(16)}`,
          );
        }
        // A bare CR inside a value, a space before the colon, an obsolete line fold.
        assertRefusal(await send(start, "X-Note: a\rb\r\n\r\n"), 400, "bad_request", "bare CR");
        assertRefusal(await send(start, "X-Note : b\r\n\r\n"), 400, "bad_request", "space before colon");
        assertRefusal(await send(start, "X-Note: a\r\n b\r\n\r\n"), 400, "bad_request", "line fold");
        await stillServing();
      });

      it("answers bad bytes in the URL with 400 bad_request, and closes", async () => {
        const tail = ` HTTP/1.1\r\n${host}${auth()}\r\n`;
        const raws: [string, number[]][] = [
          ["DEL", [0x7f]],
          ["a control character", [0x01]],
          ["raw UTF-8", [0xc3, 0xa9]],
          ["a raw Latin-1 byte", [0xe9]],
        ];
        for (const [what, bytes] of raws) {
          assertRefusal(await send("GET /dev-users.self", bytes, tail), 400, "bad_request", what);
          assertRefusal(
            await send("GET /dev-users.list?email=", bytes, tail),
            400,
            "bad_request",
            `${what} in the query`,
          );
        }
        // Percent sequences that do not decode: Fastify's FST_ERR_BAD_URL.
        for (const path of ["/dev-users.%zz", "/dev-users.self%c3", "/%", "/dev-users.s%e9lf", "/%ff%fe"]) {
          const res = await send(`GET ${path}${tail}`);
          assertRefusal(res, 400, "bad_request", path);
          assert.doesNotMatch(res.text, /FST_ERR/, path);
        }
        await stillServing();
      });

      it("answers a malformed request line with 400 bad_request, and closes", async () => {
        const lines = [
          "GARBAGE\r\n\r\n",
          `GET /dev-users.self HTTP/9.9\r\n${host}\r\n`,
          `GET /dev-users.self HTTP/1.1 extra\r\n${host}\r\n`,
          `G@T /dev-users.self HTTP/1.1\r\n${host}\r\n`,
          `BREW /dev-users.self HTTP/1.1\r\n${host}\r\n`,
          `GET /dev-users.self HTTP/1.1\n${host}\n`,
          "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
          "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", // a TLS ClientHello on the plain port
        ];
        for (const line of lines) assertRefusal(await send(line), 400, "bad_request", JSON.stringify(line));
        await stillServing();
      });

      it("answers other framing errors with 400 bad_request, and closes", async () => {
        const post = `POST /dev-users.list HTTP/1.1\r\n${host}${auth()}Content-Type: application/json\r\n`;
        const cases: [string, string][] = [
          ["an HTTP/1.1 request without Host", `GET /dev-users.self HTTP/1.1\r\n${auth()}\r\n`],
          ["an Expect other than 100-continue", `${post}Expect: teapot\r\nContent-Length: 2\r\n\r\n{}`],
          ["a Content-Length that is not a number", `${post}Content-Length: 2x\r\n\r\n{}`],
          ["two Content-Lengths", `${post}Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}`],
          ["Content-Length with chunked", `${post}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`],
          ["a chunk size that is not hex", `${post}Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`],
        ];
        for (const [what, bytes] of cases) assertRefusal(await send(bytes), 400, "bad_request", what);
        // HTTP/1.0 has no Host header, and needs none.
        const old = await send(`GET /dev-users.self HTTP/1.0\r\n${auth()}\r\n`);
        assert.equal(old.status, 200, old.raw);
        await stillServing();
      });

      it("answers CONNECT, which no path serves, with 404 not_found, and closes", async () => {
        const res = await send(`CONNECT 127.0.0.1:6379 HTTP/1.1\r\n${host}\r\n`);
        assertRefusal(res, 404, "not_found", "CONNECT");
        await stillServing();
      });

      it("keeps unknown routes and unserved methods DevRev-shaped on a kept-alive connection", async () => {
        const unknown = await send(`GET /nothing/here HTTP/1.1\r\n${host}\r\n`);
        assertShape(unknown, 404, "not_found", "unknown route");
        assert.equal(unknown.closed, false, "an ordinary 404 keeps the connection");
        for (const method of ["DELETE", "PUT", "PATCH"]) {
          const res = await send(`${method} /dev-users.self HTTP/1.1\r\n${host}${auth()}\r\n`);
          assertShape(res, 404, "not_found", method);
        }
      });

      it("answers Node's request timeout with 408 in DevRev's shape (the writer, on a socket)", async () => {
        // Node's header and request timeouts are checked every 30 s: the writer is tested directly.
        const server = createServer((socket) => {
          const err = Object.assign(new Error("Request timeout"), { code: "ERR_HTTP_REQUEST_TIMEOUT" });
          answerClientError.call(s.running.service.app, err, socket);
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        try {
          const address = server.address() as { port: number };
          const res = await rawRequest(`http://127.0.0.1:${address.port}`, "GET / HTTP/1.1\r\n");
          assertRefusal(res, 408, "request_timeout", "timeout");
        } finally {
          server.close();
        }
      });

      async function stillServing() {
        const res = await s.http("GET", "/dev-users.self");
        assert.equal(res.status, 200, res.text);
      }
    });
  });

/** DevRev's shape: JSON, `type` and `message` and nothing of Fastify's own (`error`, `statusCode`, `code`). */
function assertShape(res: RawResult, status: number, type: string, what: string) {
  const about = `${what}: ${JSON.stringify(res.raw.slice(0, 400))}`;
  assert.equal(res.status, status, about);
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/, about);
  assert.equal(Buffer.byteLength(res.text), Number(res.headers.get("content-length")), about);
  assert.equal(res.body?.type, type, about);
  assert.equal(typeof res.body.message, "string", about);
  assert.deepEqual(Object.keys(res.body).sort(), ["message", "type"], about);
}

/** An HTTP-layer refusal: DevRev's shape, and the connection closed after it. */
function assertRefusal(res: RawResult, status: number, type: string, what: string) {
  assertShape(res, status, type, what);
  assert.equal(res.headers.get("connection"), "close", `${what}: Connection: close`);
  assert.equal(res.closed, true, `${what}: the server closes the connection`);
}

// Every body we send validates against DevRev's official OpenAPI description (../shared).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Ajv } from "ajv";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { loadSpec } from "./helpers/spec.js";

describe("responses validate against the official spec", () => {
  let s: TestServer;
  let ajv: Ajv;
  let spec: any;
  const checked = new Set<string>();

  before(async () => {
    s = await startTestServer();
    spec = loadSpec();
    ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });
    ajv.addSchema({ $id: "spec", components: spec.components });
  });
  after(() => s.close());

  /** Sends a request and validates the body against the spec's schema for its path, method and status. */
  async function call(method: "GET" | "POST", path: string, body?: unknown, token?: string | null) {
    const res = await s.http(method, path, { body, token });
    const op = spec.paths[path.split("?")[0]!]?.[method.toLowerCase()];
    assert.ok(op, `${method} ${path} is not in the spec`);
    let response = op.responses[String(res.status)];
    assert.ok(response, `${method} ${path} answered ${res.status}, which the spec does not list`);
    if (response.$ref) response = spec.components.responses[response.$ref.split("/").pop()];
    const schema = response.content["application/json"].schema;
    const ref = schema.$ref ? `spec${schema.$ref}` : undefined;
    const validate = ref ? ajv.getSchema(ref)! : ajv.compile(schema);
    const ok = validate(res.body);
    assert.ok(ok, `${method} ${path} ${res.status}: ${ajv.errorsText(validate.errors)}\n${res.text}`);
    checked.add(`${method} ${path.split("?")[0]} ${res.status}`);
    return res;
  }

  it("the rewritten spec still rejects bodies that break it", () => {
    const badRequest = ajv.getSchema("spec#/components/schemas/error-bad-request")!;
    assert.equal(badRequest({ type: "invalid_field", message: "x", field_name: "a" }), true);
    assert.equal(badRequest({ type: "invalid_field", message: "x" }), false);
    assert.equal(badRequest({ type: "no_such_type", message: "x" }), false);
    const user = ajv.getSchema("spec#/components/schemas/dev-user")!;
    assert.equal(user({ id: "x", state: "sleeping" }), false);
  });

  it("validates every operation's success and its error bodies", async () => {
    const created = await call("POST", "/dev-users.create", { email: "ada@example.com", state: "shadow" });
    assert.equal(created.status, 201);
    const ada = created.body.dev_user.id as string;
    const other = (await call("POST", "/dev-users.create", { email: "bob@example.com", state: "shadow" })).body.dev_user
      .id as string;

    assert.equal((await call("POST", "/dev-users.activate", { id: ada })).status, 200);
    assert.equal((await call("POST", "/dev-users.get", { id: ada })).status, 200);
    assert.equal((await call("GET", `/dev-users.get?id=${encodeURIComponent(ada)}`)).status, 200);
    const linked = await call("POST", "/dev-users.identities.link", { dev_user: ada, issuer: "slack", id: "U1" });
    assert.equal(linked.status, 200);
    const update = await call("POST", "/dev-users.update", {
      id: ada,
      full_name: "Ada L",
      reports_to: other,
      job_title: "developer",
      availability_modes: [1],
      job_history: [{ employment_status: 1, is_current: true, location: "London" }],
      custom_fields: { team: "core" },
    });
    assert.equal(update.status, 200);
    assert.equal((await call("POST", "/dev-users.self.update", { display_name: "boss" })).status, 200);
    assert.equal((await call("GET", "/dev-users.self")).status, 200);
    assert.equal((await call("POST", "/dev-users.self", {})).status, 200);
    const list = await call("POST", "/dev-users.list", { limit: 1 });
    assert.ok(list.body.next_cursor);
    assert.equal((await call("GET", `/dev-users.list?limit=1&cursor=${list.body.next_cursor}`)).status, 200);
    assert.equal((await call("POST", "/dev-users.identities.unlink", { dev_user: ada, issuer: "slack" })).status, 200);
    assert.equal((await call("POST", "/dev-users.merge", { primary_user: ada, secondary_user: other })).status, 200);
    assert.equal((await call("POST", "/dev-users.deactivate", { id: other })).status, 200);

    // Error bodies, each of a different subtype.
    await call("POST", "/dev-users.identities.link", { dev_user: ada, issuer: "gh", id: "x" });
    const conflict = await call("POST", "/dev-users.identities.link", { dev_user: other, issuer: "gh", id: "x" });
    assert.equal(conflict.body.type, "artifact_already_attached_to_a_parent");
    assert.equal(
      (await call("POST", "/dev-users.create", { email: "x@y.z", state: "active" })).body.type,
      "invalid_enum_value",
    );
    assert.equal((await call("POST", "/dev-users.get", { id: "nope" })).body.type, "invalid_id");
    assert.equal((await call("POST", "/dev-users.get", { id: "DEVU-999" })).body.type, "not_found");
    assert.equal((await call("POST", "/dev-users.get", {})).body.type, "missing_required_field");
    assert.equal((await call("POST", "/dev-users.get", { id: 1 })).body.type, "unexpected_json_type");
    assert.equal((await call("POST", "/dev-users.get", { id: ada, x: 1 })).body.type, "invalid_field");
    assert.equal((await call("POST", "/dev-users.get", { id: ada }, null)).body.type, "unauthenticated");
    const member = await s.user("member@example.com");
    assert.equal((await call("POST", "/dev-users.deactivate", { id: ada }, member.token)).body.type, "forbidden");
    assert.equal(
      (await call("POST", "/dev-users.update", { id: ada, reports_to: ada })).body.type,
      "value_not_permitted",
    );
    assert.ok(checked.size >= 20, `checked ${checked.size} kinds of response`);
  });
});

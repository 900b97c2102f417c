// What a new user meets first: the service's root, messages that say what is wrong.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { assertError, startTestServer, type TestServer } from "./helpers/server.js";

describe("a new user's first requests", () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
  });
  after(() => s.close());

  it("GET / points to the API description and the health checks, without a token", async () => {
    const res = await s.http("GET", "/", { token: null });
    assert.equal(res.status, 200);
    assert.equal(res.body.service, "devusers");
    assert.equal(res.body.api, "/openapi.json");
    assert.equal((await s.http("GET", res.body.api, { token: null })).status, 200);
    assert.equal((await s.http("GET", res.body.health.readiness, { token: null })).status, 200);
  });

  it("limit=1.5 says that an integer is expected", async () => {
    const res = await s.http("GET", "/dev-users.list?limit=1.5");
    assertError(res, 400, "unexpected_json_type", { field_name: "limit" });
    assert.match(res.body.message, /expected an integer, got a fraction/);
    assertError(await s.http("GET", "/dev-users.list?limit=ten"), 400, "unexpected_json_type", {
      field_name: "limit",
    });
    assert.equal((await s.http("GET", "/dev-users.list?limit=2")).status, 200);
  });
});

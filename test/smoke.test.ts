import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { SHADOW, sdkError, startTestServer, type TestServer } from "./helpers/server.js";

describe("smoke", () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
  });
  after(() => s.close());

  it("self answers the bootstrap admin through the SDK", async () => {
    const res = await s.sdk().devUsersSelf();
    assert.equal(res.data.dev_user.email, "admin@example.com");
    assert.equal(res.data.dev_user.state, "active");
  });

  it("links and reports conflicts", async () => {
    const bob = await s.sdk().devUsersCreate({ email: "bob@example.com", state: SHADOW });
    const res = await s.sdk().devUsersIdentitiesLink({ dev_user: bob.data.dev_user.id, issuer: "slack", id: "U1" });
    assert.deepEqual(res.data.dev_user.external_identities, [{ issuer: "slack", id: "U1", is_verified: false }]);
    const err = await sdkError(s.sdk().devUsersIdentitiesLink({ dev_user: "DEVU-1", issuer: "slack", id: "U1" }));
    assert.equal(err.status, 400);
    assert.equal(err.body.type, "artifact_already_attached_to_a_parent");
    assert.equal(err.body.existing_parent, bob.data.dev_user.id);
    assert.equal(err.body.is_same, false);
  });
});

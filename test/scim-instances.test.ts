// SCIM on two instances of one PostgreSQL database: creates of one userName (and of one
// externalId) sent to both at once give exactly one 201 and one 409; the unique indexes decide.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { skipUnlessPostgres } from "./helpers/databases.js";
import { type Pair, startPair } from "./helpers/instances.js";
import { assertScimError, connect, filter, oktaUser, scimClient } from "./helpers/scim.js";

describe("SCIM on two instances of one PostgreSQL database", { skip: await skipUnlessPostgres() }, () => {
  let p: Pair;
  before(async () => {
    p = await startPair();
  });
  after(() => p?.close());

  it("two concurrent POSTs of one userName, one to each instance: exactly one 201 and one 409", async () => {
    const c = await connect(p.a, "okta");
    const [a, b] = [scimClient(p.a, c), scimClient(p.b, c)];
    for (let round = 0; round < 10; round++) {
      const body = oktaUser(`Same.Person${round}@example.com`, "Same", "Person", `00u-same${round}`);
      const results = await Promise.all([
        a("POST", "/Users", body),
        b("POST", "/Users", { ...body, userName: body.userName.toLowerCase() }),
      ]);
      const statuses = results.map((r) => r.status).sort();
      assert.deepEqual(statuses, [201, 409], results.map((r) => r.text).join("\n"));
      assertScimError(results.find((r) => r.status === 409)!, 409, "uniqueness");
      const found = await a("GET", `/Users?${filter(`userName eq "same.person${round}@example.com"`)}`);
      assert.equal(found.body.totalResults, 1, "one user, whichever instance won");
    }
    // The same externalId from two instances at once: one link, one 409.
    const [x, y] = await Promise.all([
      a("POST", "/Users", oktaUser("ext-a@example.com", "E", "A", "00u-shared")),
      b("POST", "/Users", oktaUser("ext-b@example.com", "E", "B", "00u-shared")),
    ]);
    assert.deepEqual([x.status, y.status].sort(), [201, 409], `${x.text} ${y.text}`);
  });
});

// SCIM's limits: bounded bodies, operations and kept attributes, one org's connection never seeing
// or touching another org's users, and two concurrent creates of one userName giving one 201 and
// one 409 (across two PostgreSQL instances: scim-instances.test.ts; generated bad input:
// scim-fuzz.test.ts).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { testDialects } from "./helpers/databases.js";
import {
  assertScimError,
  connect,
  ENTERPRISE,
  filter,
  oktaUser,
  PATCH_OP,
  type Scim,
  scimClient,
} from "./helpers/scim.js";
import { startTestServer, type TestServer } from "./helpers/server.js";

for (const { dialect, skip } of await testDialects()) {
  describe(`SCIM limits [${dialect}]`, { skip }, () => {
    let s: TestServer;
    let scim: Scim;
    let target: string;
    before(async () => {
      s = await startTestServer({ dialect });
      scim = scimClient(s, await connect(s, "okta"));
      target = (await scim("POST", "/Users", oktaUser("fuzz@example.com", "Fu", "Zz", "00u-fuzz"))).body.id;
    });
    after(async () => {
      await s?.close();
    });

    it("bounds bodies, operations and kept attributes", async () => {
      const many = {
        schemas: [PATCH_OP],
        Operations: Array.from({ length: 101 }, () => ({ op: "add", path: "nickName", value: "n" })),
      };
      assertScimError(await scim("PATCH", `/Users/${target}`, many), 400, "invalidSyntax", /at most 100/);
      const huge = await scim("POST", "/Users", undefined, {
        raw: JSON.stringify({ userName: "big@example.com", nickName: "x".repeat(1_100_000) }),
      });
      assertScimError(huge, 400, "invalidSyntax", /larger than 1 MiB/);
      const kept = {
        ...oktaUser("kept@example.com", "K", "K", "00u-kept"),
        addresses: Array.from({ length: 20 }, () => ({ formatted: "y".repeat(250) })),
        photos: Array.from({ length: 20 }, () => ({ value: "z".repeat(2000) })),
      };
      assertScimError(await scim("POST", "/Users", kept), 400, "invalidValue", /at most 16384 bytes/);
      const deep = { userName: "deep@example.com", name: JSON.parse(`${"[".repeat(80)}${"]".repeat(80)}`) };
      assertScimError(await scim("POST", "/Users", deep), 400, "invalidSyntax", /nested deeper/);
    });

    it("keeps one org's connection out of another org's users", async () => {
      const otherAdmin = await s.token("admin@other.test", { org: "other" });
      const other = scimClient(s, await connect(s, "okta", { token: otherAdmin }));
      const theirs = await other("POST", "/Users", oktaUser("theirs@other.test", "Their", "User", "00u-theirs"));
      assert.equal(theirs.status, 201, theirs.text);
      // Numbers are per org: make the other org's user a number this org does not have.
      for (let i = 0; i < 3; i++)
        await other("POST", "/Users", oktaUser(`pad${i}@other.test`, "P", "P", `00u-pad${i}`));
      const far = (await other("POST", "/Users", oktaUser("far@other.test", "Far", "Away", "00u-far"))).body.id;
      const mine = await scim("GET", "/Users?count=100");
      assert.ok(mine.body.Resources.every((u: any) => !u.userName.endsWith("@other.test")));
      for (const q of [
        'userName eq "theirs@other.test"',
        'externalId eq "00u-theirs"',
        'emails.value eq "far@other.test"',
      ])
        assert.equal((await scim("GET", `/Users?${filter(q)}`)).body.totalResults, 0, q);
      assertScimError(await scim("GET", `/Users/${far}`), 404);
      assertScimError(
        await scim("PATCH", `/Users/${far}`, {
          schemas: [PATCH_OP],
          Operations: [{ op: "replace", value: { active: false } }],
        }),
        404,
      );
      assertScimError(await scim("PUT", `/Users/${far}`, { userName: "far@other.test" }), 404);
      assertScimError(await scim("DELETE", `/Users/${far}`), 404);
      // Another org's DON names nobody here, as a manager or as an id.
      const don = `don:identity:dvrv-us-1:devo/other:devu/${far.slice(5)}`;
      assertScimError(
        await scim("PUT", `/Users/${target}`, {
          userName: "fuzz@example.com",
          [ENTERPRISE]: { manager: { value: don } },
        }),
        400,
        "invalidValue",
        /manager/,
      );
      assert.equal((await scim("GET", `/Users?${filter(`id eq "${don}"`)}`)).body.totalResults, 0);
      // The same userName and externalId may exist in each org.
      const twin = await scim("POST", "/Users", oktaUser("theirs@other.test", "Twin", "Here", "00u-theirs"));
      assert.equal(twin.status, 201, twin.text);
      const kept = (await s.sdk(otherAdmin).devUsersGet({ id: far })).data.dev_user;
      assert.deepEqual([kept.state, kept.email], ["active", "far@other.test"], "the other org's user is untouched");
      assert.equal(
        (await s.sdk(otherAdmin).devUsersList({ email: ["theirs@other.test"] })).data.dev_users[0]?.full_name,
        "Their User",
      );
    });

    it("two concurrent creates of one userName: one 201, one 409", async () => {
      for (let round = 0; round < 5; round++) {
        const body = oktaUser(`race${round}@example.com`, "Ra", "Ce", `00u-race${round}`);
        const [a, b] = await Promise.all([
          scim("POST", "/Users", body),
          scim("POST", "/Users", { ...body, externalId: `00u-race${round}-b` }),
        ]);
        assert.deepEqual([a.status, b.status].sort(), [201, 409], `${a.text} ${b.text}`);
        assertScimError(a.status === 409 ? a : b, 409, "uniqueness");
      }
    });
  });
}

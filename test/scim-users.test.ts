// SCIM's Users endpoint against the directory, on both databases: create, get, list and its
// paging, the filters served and those refused, PUT, DELETE, the uniqueness rules, and what each
// write leaves in the directory as the official SDK reads it.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { testDialects } from "./helpers/databases.js";
import {
  assertScimError,
  CORE,
  type Connection,
  connect,
  ENTERPRISE,
  filter,
  oktaUser,
  type Scim,
  scimClient,
} from "./helpers/scim.js";
import { sdkError, startTestServer, type TestServer } from "./helpers/server.js";

for (const { dialect, skip } of await testDialects()) {
  describe(`SCIM Users [${dialect}]`, { skip }, () => {
    let s: TestServer;
    let okta: Connection;
    let scim: Scim;
    before(async () => {
      s = await startTestServer({ dialect });
      okta = await connect(s, "okta");
      scim = scimClient(s, okta);
    });
    after(async () => {
      await s?.close();
    });

    it("creates a user (201, Location, application/scim+json), linked to its externalId", async () => {
      const res = await scim("POST", "/Users", oktaUser("ada@example.com", "Ada", "Lovelace", "00u-ada"));
      assert.equal(res.status, 201, res.text);
      assert.match(res.headers.get("content-type") ?? "", /^application\/scim\+json/);
      assert.equal(res.headers.get("location"), `${s.url}/scim/v2/Users/${res.body.id}`);
      assert.equal(res.body.userName, "ada@example.com");
      assert.deepEqual(res.body.name, { formatted: "Ada Lovelace", givenName: "Ada", familyName: "Lovelace" });
      assert.equal(res.body.active, true);
      assert.equal(res.body.externalId, "00u-ada");
      assert.equal(res.body.password, undefined, "a password is never kept nor answered");
      assert.equal(res.body.meta.resourceType, "User");
      const got = await scim("GET", `/Users/${res.body.id}`);
      assert.deepEqual(got.body, res.body);
      // The directory, through the SDK: the user, active, found by its Okta identity.
      const found = await s
        .sdk()
        .devUsersList({ "external_identity.issuer": "okta", "external_identity.id": "00u-ada" });
      assert.equal(found.data.dev_users.length, 1);
      const u = found.data.dev_users[0]!;
      assert.equal(u.display_id, res.body.id);
      assert.equal(u.email, "ada@example.com");
      assert.equal(u.full_name, "Ada Lovelace");
      assert.equal(u.display_name, "Ada Lovelace");
      assert.equal(u.state, "active");
      assert.deepEqual(u.external_identities, [{ issuer: "okta", id: "00u-ada", is_verified: false }]);
    });

    it("refuses a second user of the same userName, in any case, with 409 uniqueness", async () => {
      const res = await scim("POST", "/Users", oktaUser("ADA@example.COM", "Other", "Ada", "00u-other"));
      assertScimError(res, 409, "uniqueness", /userName/);
    });

    it("refuses an externalId that another user holds from this issuer, with 409 uniqueness", async () => {
      const res = await scim("POST", "/Users", oktaUser("bob@example.com", "Bob", "B", "00u-ada"));
      assertScimError(res, 409, "uniqueness", /externalId/);
      // Nothing of the refused create is left: no user with that email.
      const none = await scim("GET", `/Users?${filter('userName eq "bob@example.com"')}`);
      assert.equal(none.body.totalResults, 0);
    });

    it("filters by userName without regard to case, externalId, emails[type eq work].value, id, and and", async () => {
      const made = await scim("POST", "/Users", oktaUser("grace@example.com", "Grace", "Hopper", "00u-grace"));
      const id = made.body.id;
      const cases: [string, number][] = [
        ['userName eq "GRACE@example.com"', 1],
        ['externalId eq "00u-grace"', 1],
        ['externalId eq "00U-GRACE"', 0], // externalId is caseExact
        ['emails[type eq "work"].value eq "grace@EXAMPLE.com"', 1],
        ['emails[value eq "grace@example.com"]', 1],
        [`id eq "${id}"`, 1],
        [`userName eq "grace@example.com" and externalId eq "00u-grace"`, 1],
        [`userName eq "grace@example.com" and id eq "DEVU-1"`, 0],
        ['id eq "not-an-id"', 0],
        ['userName eq "nobody@example.com"', 0],
        ['active eq true and userName eq "grace@example.com"', 1],
      ];
      for (const [text, expected] of cases) {
        const res = await scim("GET", `/Users?${filter(text)}`);
        assert.equal(res.status, 200, `${text}: ${res.text}`);
        assert.equal(res.body.totalResults, expected, text);
        assert.equal(res.body.Resources.length, expected, text);
        if (expected) assert.equal(res.body.Resources[0].id, id, text);
        assert.deepEqual(res.body.schemas, ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]);
      }
    });

    it("refuses every other filter with 400 invalidFilter naming the part it does not serve", async () => {
      const cases: [string, RegExp][] = [
        ['userName eq "a@b.c" or userName eq "d@e.f"', /"or"/],
        ['not (userName eq "a@b.c")', /"not"/],
        ['userName sw "a"', /"sw"/],
        ["userName pr", /"pr"/],
        ['name.givenName eq "Ada"', /name\.givenName/],
        ['emails[type eq "home"].value eq "a@b.c"', /home/],
        ['phoneNumbers[type eq "work"]', /phoneNumbers/],
        ['meta.lastModified gt "2026-01-01T00:00:00Z"', /"gt"/],
        ["userName eq", /cannot be read/],
        ['userName eq "a" garbage', /cannot be read/],
        ["active eq 3", /true or false/],
      ];
      for (const [text, detail] of cases)
        assertScimError(await scim("GET", `/Users?${filter(text)}`), 400, "invalidFilter", detail);
    });

    it("pages by startIndex and count in a stable order, and answers no match with 200 and totalResults 0", async () => {
      for (let i = 0; i < 5; i++)
        await scim("POST", "/Users", oktaUser(`page${i}@example.com`, "P", `${i}`, `00u-p${i}`));
      const all = await scim("GET", "/Users?startIndex=1&count=100");
      const total = all.body.totalResults;
      assert.equal(all.body.Resources.length, total);
      const ids = all.body.Resources.map((r: any) => r.id);
      assert.deepEqual(
        ids,
        [...ids].sort((a: string, b: string) => Number(a.slice(5)) - Number(b.slice(5))),
      );
      const pages: string[] = [];
      for (let start = 1; start <= total; start += 2) {
        const page = await scim("GET", `/Users?startIndex=${start}&count=2`);
        assert.equal(page.body.startIndex, start);
        assert.equal(page.body.totalResults, total);
        assert.equal(page.body.itemsPerPage, page.body.Resources.length);
        pages.push(...page.body.Resources.map((r: any) => r.id));
      }
      assert.deepEqual(pages, ids, "pages neither skip nor repeat");
      const again = await scim("GET", "/Users?startIndex=3&count=2");
      assert.deepEqual(
        again.body.Resources.map((r: any) => r.id),
        ids.slice(2, 4),
        "the same page twice",
      );
      const beyond = await scim("GET", `/Users?startIndex=${total + 5}&count=2`);
      assert.equal(beyond.status, 200);
      assert.equal(beyond.body.totalResults, total);
      assert.deepEqual(beyond.body.Resources, []);
      const none = await scim("GET", `/Users?${filter('userName eq "nope@example.com"')}`);
      assert.deepEqual([none.status, none.body.totalResults, none.body.Resources], [200, 0, []]);
      const zero = await scim("GET", "/Users?count=0");
      assert.deepEqual([zero.body.totalResults, zero.body.Resources], [total, []]);
      // Past the bound, a page is capped rather than refused (RFC 7644 lets the provider say fewer).
      const capped = await scim("GET", "/Users?count=100000&startIndex=-4");
      assert.equal(capped.body.startIndex, 1);
      assert.ok(capped.body.Resources.length <= 100);
      assertScimError(await scim("GET", "/Users?count=ten"), 400, "invalidValue", /count/);
      assertScimError(await scim("GET", "/Users?sortBy=userName"), 400, "invalidValue", /sorting/);
      assertScimError(await scim("GET", "/Users?bogus=1"), 400, "invalidValue", /bogus/);
    });

    it("answers attributes and excludedAttributes", async () => {
      const only = await scim(
        "GET",
        `/Users?${filter('userName eq "ada@example.com"')}&attributes=userName,name.givenName`,
      );
      assert.deepEqual(only.body.Resources[0], {
        schemas: [CORE],
        id: only.body.Resources[0].id,
        userName: "ada@example.com",
        name: { givenName: "Ada" },
      });
      const without = await scim("GET", `/Users/${only.body.Resources[0].id}?excludedAttributes=emails,meta`);
      assert.equal(without.body.emails, undefined);
      assert.equal(without.body.meta, undefined);
      assert.equal(without.body.userName, "ada@example.com");
      assertScimError(await scim("GET", "/Users?attributes=shoeSize"), 400, "invalidValue", /shoeSize/);
    });

    it("PUT replaces the profile: names, phone numbers, title, manager; the link and state stay when not given", async () => {
      const manager = (await scim("GET", `/Users?${filter('userName eq "grace@example.com"')}`)).body.Resources[0];
      const ada = (await scim("GET", `/Users?${filter('userName eq "ada@example.com"')}`)).body.Resources[0];
      const put = await scim("PUT", `/Users/${ada.id}`, {
        schemas: [CORE, ENTERPRISE],
        userName: "ada@example.com",
        name: { givenName: "Augusta", familyName: "King" },
        displayName: "Augusta",
        title: "Countess",
        phoneNumbers: [{ value: "+44 20 7946 0000", type: "work" }],
        [ENTERPRISE]: { manager: { value: manager.id }, department: "Analytical Engines" },
      });
      assert.equal(put.status, 200, put.text);
      assert.equal(put.body.externalId, "00u-ada");
      assert.equal(put.body.active, true);
      assert.deepEqual(put.body.phoneNumbers, [{ value: "+44 20 7946 0000", type: "work" }]);
      assert.equal(put.body[ENTERPRISE].manager.value, manager.id);
      assert.equal(put.body[ENTERPRISE].department, "Analytical Engines");
      const u = (await s.sdk().devUsersGet({ id: ada.id })).data.dev_user;
      assert.equal(u.full_name, "Augusta King");
      assert.equal(u.display_name, "Augusta");
      assert.deepEqual(u.phone_numbers, ["+44 20 7946 0000"]);
      assert.equal(u.reports_to?.display_id, manager.id);
      assert.deepEqual(u.job_history, [{ is_current: true, title: "Countess" }]);
      assert.equal(u.state, "active");
      // A manager that would close a loop, or one that is no user here, is refused.
      const loop = await scim("PATCH", `/Users/${manager.id}`, {
        schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        Operations: [{ op: "add", path: `${ENTERPRISE}:manager`, value: ada.id }],
      });
      assertScimError(loop, 400, "invalidValue", /cycle/);
      const nobody = await scim("PUT", `/Users/${ada.id}`, {
        userName: "ada@example.com",
        [ENTERPRISE]: { manager: { value: "DEVU-9999" } },
      });
      assertScimError(nobody, 400, "invalidValue", /manager/);
    });

    it("refuses what is not a User: unknown attributes, wrong types, a userName that is no email", async () => {
      const bad: [unknown, string, RegExp][] = [
        [{ userName: "x@example.com", shoeSize: 44 }, "invalidSyntax", /shoeSize/],
        [{ userName: "x@example.com", active: "maybe" }, "invalidValue", /active/],
        [{ userName: "x@example.com", name: "X" }, "invalidValue", /name/],
        [{ userName: "not-an-email" }, "invalidValue", /email/],
        [{ name: { givenName: "X" } }, "invalidValue", /userName/],
        [{ userName: "x@example.com", schemas: ["urn:example:custom"] }, "invalidValue", /schemas/],
        [
          { userName: "x@example.com", phoneNumbers: Array.from({ length: 21 }, (_, i) => ({ value: `${i}` })) },
          "invalidValue",
          /at most 20/,
        ],
        [{ userName: "x@example.com", displayName: "x".repeat(300) }, "invalidValue", /at most 256/],
        [[1, 2], "invalidSyntax", /object/],
        [
          { userName: "x@example.com", name: { givenName: "g".repeat(200), familyName: "f".repeat(200) } },
          "invalidValue",
          /longer than 256/,
        ],
      ];
      for (const [body, type, detail] of bad) assertScimError(await scim("POST", "/Users", body), 400, type, detail);
      assertScimError(await scim("POST", "/Users", undefined, { raw: "{not json" }), 400, "invalidSyntax");
      const xml = await s.http("POST", "/scim/v2/Users", {
        token: okta.token,
        raw: "<user/>",
        headers: { "content-type": "application/xml" },
      });
      assertScimError(xml, 400, "invalidSyntax", /scim\+json/);
      // application/json is taken too.
      const json = await s.http("POST", "/scim/v2/Users", {
        token: okta.token,
        body: oktaUser("json@example.com", "J", "S", "00u-json"),
      });
      assert.equal(json.status, 201, json.text);
    });

    it("answers 404 for an id of no user, in SCIM's error schema", async () => {
      assertScimError(await scim("GET", "/Users/DEVU-99999"), 404);
      assertScimError(await scim("GET", "/Users/whatever"), 404);
      assertScimError(await scim("PUT", "/Users/DEVU-99999", { userName: "z@example.com" }), 404);
      assertScimError(await scim("DELETE", "/Users/DEVU-99999"), 404);
      assertScimError(await scim("GET", "/Groups"), 404, undefined, /Groups are not supported/);
      assertScimError(await scim("GET", "/Nothing"), 404);
    });

    it("DELETE makes the user deleted for the API, ends its tokens, and a later GET is 404", async () => {
      const made = await scim("POST", "/Users", oktaUser("gone@example.com", "Gone", "Soon", "00u-gone"));
      await s.sdk().devUsersActivate({ id: made.body.id });
      const token = await s.token("gone@example.com");
      assert.equal((await s.sdk(token).devUsersSelf()).status, 200);
      const del = await scim("DELETE", `/Users/${made.body.id}`);
      assert.equal(del.status, 204, del.text);
      assert.equal(del.text, "");
      assertScimError(await scim("GET", `/Users/${made.body.id}`), 404);
      const listed = await scim("GET", `/Users?${filter('userName eq "gone@example.com"')}`);
      assert.equal(listed.body.totalResults, 0);
      const u = (await s.sdk().devUsersGet({ id: made.body.id })).data.dev_user;
      assert.equal(u.state, "deleted");
      assert.deepEqual(u.external_identities, [], "the Okta identity is let go");
      assert.equal((await sdkError(s.sdk(token).devUsersSelf())).status, 401, "its token stopped at once");
      assertScimError(await scim("DELETE", `/Users/${made.body.id}`), 404);
      // Assigned again later: the same person comes back under the same id.
      const back = await scim("POST", "/Users", oktaUser("gone@example.com", "Gone", "Back", "00u-gone"));
      assert.equal(back.status, 201, back.text);
      assert.equal(back.body.id, made.body.id);
      assert.equal((await s.sdk().devUsersGet({ id: made.body.id })).data.dev_user.state, "active");
    });

    it("journals every provisioning write with the connection as the actor", async () => {
      const res = await s.http("GET", `/audit-logs.list?actor=${encodeURIComponent(okta.id)}&limit=100`);
      assert.equal(res.status, 200, res.text);
      const ops = new Set(res.body.audit_logs.map((e: any) => e.operation));
      for (const op of ["dev_users.scim.create", "dev_users.scim.update", "dev_users.scim.delete"])
        assert.ok(ops.has(op), op);
      for (const e of res.body.audit_logs) {
        assert.deepEqual(e.actor, { type: "scim_connection", id: okta.id });
        assert.match(e.request_id, /^[0-9a-f-]{36}$/);
      }
    });

    it("never lets the org lose its last active admin", async () => {
      const admin = (await s.sdk().devUsersSelf()).data.dev_user;
      const res = await scim("PATCH", `/Users/${admin.display_id}`, {
        schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        Operations: [{ op: "replace", value: { active: false } }],
      });
      assertScimError(res, 400, "invalidValue", /last active admin/);
      assertScimError(await scim("DELETE", `/Users/${admin.display_id}`), 400, "invalidValue", /last active admin/);
      assert.equal((await s.sdk().devUsersSelf()).data.dev_user.state, "active");
    });
  });
}

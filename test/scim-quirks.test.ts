// What Okta and Entra send that a strict reading of RFC 7644 would refuse or miss, one test each,
// on both databases: Entra's default job (capitalised ops, booleans as strings, a path-less replace
// with dotted keys and extension URNs, ?aadOptscim062020), and Okta's connection test, lookup
// before create, PUT for profile updates, path-less deactivation, and reactivation.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { testDialects } from "./helpers/databases.js";
import { connect, ENTERPRISE, entraUser, filter, oktaUser, PATCH_OP, type Scim, scimClient } from "./helpers/scim.js";
import { sdkError, startTestServer, type TestServer } from "./helpers/server.js";

const patch = (...Operations: unknown[]) => ({ schemas: [PATCH_OP], Operations });

for (const { dialect, skip } of await testDialects()) {
  describe(`SCIM quirks [${dialect}]`, { skip }, () => {
    let s: TestServer;
    let entra: Scim;
    let okta: Scim;
    before(async () => {
      s = await startTestServer({ dialect });
      entra = scimClient(s, await connect(s, "entra"));
      okta = scimClient(s, await connect(s, "okta"));
    });
    after(async () => {
      await s?.close();
    });

    const user = async (id: string) => (await s.sdk().devUsersGet({ id })).data.dev_user;

    it("Entra: capitalised op values (Add, Replace, Remove)", async () => {
      const made = await entra("POST", "/Users", entraUser("cap@contoso.test", "Cap", "Ital", "e-cap"));
      assert.equal(made.status, 201, made.text);
      const res = await entra(
        "PATCH",
        `/Users/${made.body.id}`,
        patch(
          { op: "Add", path: 'phoneNumbers[type eq "mobile"].value', value: "+1 555 0100" },
          { op: "Replace", path: "displayName", value: "Cap I." },
          { op: "Remove", path: "title" },
        ),
      );
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.body.phoneNumbers, [{ type: "mobile", value: "+1 555 0100" }]);
      assert.equal(res.body.displayName, "Cap I.");
      assert.equal(res.body.title, undefined);
      const u = await user(made.body.id);
      assert.equal(u.display_name, "Cap I.");
      assert.deepEqual(u.phone_numbers, ["+1 555 0100"]);
      assert.deepEqual(u.job_history, [], "the current job's title went, and with it the job");
      const lower = await entra(
        "PATCH",
        `/Users/${made.body.id}`,
        patch({ op: "REPLACE", path: "displayName", value: "C" }),
      );
      assert.equal(lower.status, 200, "any case of the op name");
    });

    it('Entra: booleans sent as strings ("False", "True")', async () => {
      const made = await entra("POST", "/Users", {
        ...entraUser("bool@contoso.test", "Bo", "Ol", "e-bool"),
        active: "True",
      });
      assert.equal(made.status, 201, made.text);
      assert.equal(made.body.active, true);
      const off = await entra(
        "PATCH",
        `/Users/${made.body.id}`,
        patch({ op: "Replace", path: "active", value: "False" }),
      );
      assert.equal(off.status, 200, off.text);
      assert.equal(off.body.active, false);
      assert.equal((await user(made.body.id)).state, "deactivated");
      const on = await entra(
        "PATCH",
        `/Users/${made.body.id}`,
        patch({ op: "Replace", path: "active", value: "true" }),
      );
      assert.equal(on.body.active, true);
      assert.equal((await user(made.body.id)).state, "active");
      const primary = await entra(
        "PATCH",
        `/Users/${made.body.id}`,
        patch({ op: "Replace", path: 'emails[type eq "work"].primary', value: "False" }),
      );
      assert.equal(primary.body.emails[0].primary, false);
    });

    it("Entra: a path-less replace whose value holds dotted keys and extension URNs", async () => {
      const boss = await entra("POST", "/Users", entraUser("boss@contoso.test", "Big", "Boss", "e-boss"));
      const made = await entra("POST", "/Users", entraUser("dots@contoso.test", "Dot", "Ted", "e-dots"));
      const res = await entra(
        "PATCH",
        `/Users/${made.body.id}`,
        patch({
          op: "Replace",
          value: {
            displayName: "Dotty",
            "name.givenName": "Dorothy",
            "name.familyName": "Tedder",
            "name.formatted": "Dorothy Tedder",
            'emails[type eq "work"].value': "dorothy@contoso.test",
            [`${ENTERPRISE}:department`]: "Cartography",
            [`${ENTERPRISE}:manager`]: boss.body.id,
            active: "False",
          },
        }),
      );
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.body.name, { formatted: "Dorothy Tedder", givenName: "Dorothy", familyName: "Tedder" });
      assert.equal(res.body.emails[0].value, "dorothy@contoso.test");
      assert.equal(res.body[ENTERPRISE].department, "Cartography");
      assert.equal(res.body[ENTERPRISE].employeeNumber, "E-1", "what the replace did not name stays");
      assert.equal(res.body[ENTERPRISE].manager.value, boss.body.id);
      assert.equal(res.body.active, false);
      const u = await user(made.body.id);
      assert.equal(u.full_name, "Dorothy Tedder");
      assert.equal(u.display_name, "Dotty");
      assert.equal(u.reports_to?.display_id, boss.body.id);
      assert.equal(u.state, "deactivated");
      // The whole extension as one key, and the core schema's URN before an attribute.
      const whole = await entra(
        "PATCH",
        `/Users/${made.body.id}`,
        patch({
          op: "Replace",
          value: {
            [ENTERPRISE]: { department: "Surveys" },
            "urn:ietf:params:scim:schemas:core:2.0:User:nickName": "Dot",
          },
        }),
      );
      assert.equal(whole.status, 200, whole.text);
      assert.equal(whole.body[ENTERPRISE].department, "Surveys");
      assert.equal(whole.body.nickName, "Dot");
      const gone = await entra(
        "PATCH",
        `/Users/${made.body.id}`,
        patch({ op: "Remove", path: `${ENTERPRISE}:manager` }),
      );
      assert.equal(gone.body[ENTERPRISE].manager, undefined);
      assert.equal((await user(made.body.id)).reports_to, undefined);
    });

    it("Entra: ?aadOptscim062020 on every request, with or without a value", async () => {
      const flag = "aadOptscim062020";
      const lookup = await entra("GET", `/Users?${flag}&${filter('userName eq "flag@contoso.test"')}`);
      assert.equal(lookup.status, 200, lookup.text);
      assert.equal(lookup.body.totalResults, 0);
      const made = await entra("POST", `/Users?${flag}`, entraUser("flag@contoso.test", "Fl", "Ag", "e-flag"));
      assert.equal(made.status, 201, made.text);
      const got = await entra("GET", `/Users/${made.body.id}?${flag}=true`);
      assert.equal(got.status, 200, got.text);
      // With the flag, Entra sends what the RFC says: lower-case ops and real booleans.
      const off = await entra(
        "PATCH",
        `/Users/${made.body.id}?${flag}`,
        patch({ op: "replace", path: "active", value: false }),
      );
      assert.equal(off.body.active, false);
      for (const path of ["/ServiceProviderConfig", "/Schemas", "/ResourceTypes"])
        assert.equal((await entra("GET", `${path}?${flag}`)).status, 200, path);
      assert.equal((await entra("DELETE", `/Users/${made.body.id}?AADOPTSCIM062020`)).status, 204);
    });

    it("Okta: GET /Users?startIndex=1&count=2, its connection test", async () => {
      const res = await okta("GET", "/Users?startIndex=1&count=2");
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.body.schemas, ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]);
      assert.equal(res.body.startIndex, 1);
      assert.ok(res.body.itemsPerPage <= 2 && res.body.itemsPerPage === res.body.Resources.length);
      assert.ok(res.body.totalResults >= res.body.itemsPerPage);
    });

    it("Okta: a filter=userName eq lookup before every create, in any case", async () => {
      const q = `/Users?${filter('userName eq "Look.Up@okta.test"')}&startIndex=1&count=100`;
      const before = await okta("GET", q);
      assert.deepEqual([before.status, before.body.totalResults, before.body.Resources], [200, 0, []]);
      const made = await okta("POST", "/Users", oktaUser("look.up@okta.test", "Look", "Up", "00u-look"));
      assert.equal(made.status, 201, made.text);
      const after = await okta("GET", q);
      assert.equal(after.body.totalResults, 1);
      assert.equal(after.body.Resources[0].id, made.body.id);
    });

    it("Okta: PUT for profile updates", async () => {
      const made = await okta("POST", "/Users", {
        ...oktaUser("put@okta.test", "Pat", "Put", "00u-put"),
        title: "Clerk",
      });
      const body = {
        ...made.body,
        name: { givenName: "Patricia", familyName: "Putnam" },
        displayName: "Patricia Putnam",
      };
      delete body.title; // a PUT without an attribute clears it
      const res = await okta("PUT", `/Users/${made.body.id}`, body);
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.body.name, { formatted: "Patricia Putnam", givenName: "Patricia", familyName: "Putnam" });
      const u = await user(made.body.id);
      assert.equal(u.full_name, "Patricia Putnam");
      assert.equal(u.display_name, "Patricia Putnam");
      assert.deepEqual(u.job_history, []);
      assert.deepEqual(u.external_identities, [{ issuer: "okta", id: "00u-put", is_verified: false }]);
      // The same PUT again changes nothing, and journals nothing.
      const seen = (await s.http("GET", `/audit-logs.list?object=${made.body.id}`)).body.audit_logs.length;
      assert.equal((await okta("PUT", `/Users/${made.body.id}`, body)).status, 200);
      assert.equal((await s.http("GET", `/audit-logs.list?object=${made.body.id}`)).body.audit_logs.length, seen);
    });

    it('Okta: {"op":"replace","value":{"active":false}} deactivates, keeping the data, ending tokens at once', async () => {
      const made = await okta("POST", "/Users", oktaUser("off@okta.test", "Off", "Duty", "00u-off"));
      const token = await s.token("off@okta.test");
      assert.equal((await s.sdk(token).devUsersSelf()).status, 200);
      const res = await okta("PATCH", `/Users/${made.body.id}`, patch({ op: "replace", value: { active: false } }));
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.active, false);
      assert.equal((await sdkError(s.sdk(token).devUsersSelf())).status, 401, "the token stopped at its next request");
      const u = await user(made.body.id);
      assert.equal(u.state, "deactivated");
      assert.equal(u.full_name, "Off Duty");
      assert.deepEqual(u.external_identities, [{ issuer: "okta", id: "00u-off", is_verified: false }]);
    });

    it("Okta: reactivation makes the user active again; its old tokens stay ended", async () => {
      const made = await okta("POST", "/Users", oktaUser("again@okta.test", "Once", "Again", "00u-again"));
      const old = await s.token("again@okta.test");
      await okta("PATCH", `/Users/${made.body.id}`, patch({ op: "replace", value: { active: false } }));
      const res = await okta("PATCH", `/Users/${made.body.id}`, patch({ op: "replace", value: { active: true } }));
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.active, true);
      assert.equal((await user(made.body.id)).state, "active");
      assert.equal((await sdkError(s.sdk(old).devUsersSelf())).status, 401);
      assert.equal((await s.sdk(await s.token("again@okta.test")).devUsersSelf()).status, 200);
    });
  });
}

// Each provider's documented provisioning sequence, replayed request by request as its public
// documentation shows it (Okta's "SCIM 2.0 reference"; Microsoft's "Develop and plan provisioning
// for a SCIM endpoint"): create, look up, update a name, deactivate, reactivate, unassign. After
// each step the directory is read through the official SDK, and at the end the webhook events the
// steps made are checked against DevRev's spec.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Ajv } from "ajv";
import { testDialects } from "./helpers/databases.js";
import { type Receiver, startReceiver } from "./helpers/receiver.js";
import {
  type Connection,
  connect,
  ENTERPRISE,
  entraUser,
  filter,
  oktaUser,
  PATCH_OP,
  scimClient,
} from "./helpers/scim.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { loadSpec } from "./helpers/spec.js";

const patch = (...Operations: unknown[]) => ({ schemas: [PATCH_OP], Operations });

for (const { dialect, skip } of await testDialects()) {
  describe(`SCIM replays of Okta's and Entra's sequences [${dialect}]`, { skip }, () => {
    let s: TestServer;
    let rx: Receiver;
    before(async () => {
      s = await startTestServer({ dialect, env: { WEBHOOK_RETRY_BASE_MS: "50" } });
      rx = await startReceiver();
      const w = (
        await s.sdk().webhooksCreate({
          url: rx.url,
          event_types: ["dev_user_created", "dev_user_updated", "dev_user_deleted"] as never,
        })
      ).data.webhook;
      for (let i = 0; (await s.sdk().webhooksGet({ id: w.id })).data.webhook.status !== "active"; i++) {
        assert.ok(i < 200, "the webhook never became active");
        await new Promise((r) => setTimeout(r, 50));
      }
    });
    after(async () => {
      await s?.close();
      await rx?.close();
    });

    /** The directory's user a provider's identity names, through the SDK. */
    async function directory(issuer: string, externalId: string) {
      const found = await s
        .sdk()
        .devUsersList({ "external_identity.issuer": issuer, "external_identity.id": externalId });
      return found.data.dev_users;
    }

    /** Waits for the webhook events about a user, and checks each against DevRev's schema. */
    async function eventsAbout(don: string, count: number) {
      const mine = () =>
        rx
          .events()
          .filter((e) => (e.dev_user_deleted?.id ?? (e.dev_user_created ?? e.dev_user_updated)?.dev_user?.id) === don);
      await rx.waitFor(() => mine().length >= count, `${count} events about ${don}`);
      const spec = loadSpec("webhooks.openapi.yaml");
      const validate = new Ajv({ strict: false, validateFormats: false }).compile({
        $ref: "#/components/schemas/webhook-event-request",
        components: spec.components,
      });
      for (const e of mine()) assert.ok(validate(e), JSON.stringify(validate.errors));
      return mine().map((e) => e.type);
    }

    it("Okta: create, look up, update a name, deactivate, reactivate, unassign", async () => {
      const c: Connection = await connect(s, "okta");
      const okta = scimClient(s, c);
      // Testing the connector configuration.
      assert.equal((await okta("GET", "/Users?startIndex=1&count=2")).status, 200);
      // Create: Okta looks the userName up, finds nothing, and creates.
      const lookup = `/Users?${filter('userName eq "jane.doe@okta.test"')}&startIndex=1&count=100`;
      assert.equal((await okta("GET", lookup)).body.totalResults, 0);
      const created = await okta("POST", "/Users", oktaUser("jane.doe@okta.test", "Jane", "Doe", "00u1a2b3c"));
      assert.equal(created.status, 201, created.text);
      const id = created.body.id;
      let [u] = await directory("okta", "00u1a2b3c");
      assert.equal(u?.display_id, id);
      assert.deepEqual([u!.email, u!.full_name, u!.state], ["jane.doe@okta.test", "Jane Doe", "active"]);
      // Look up: by id, and by userName again.
      const got = await okta("GET", `/Users/${id}`);
      assert.equal(got.body.userName, "jane.doe@okta.test");
      assert.equal((await okta("GET", lookup)).body.Resources[0].id, id);
      // Update a name: Okta PUTs the whole user.
      const put = await okta("PUT", `/Users/${id}`, {
        ...got.body,
        name: { givenName: "Jane", familyName: "Smith" },
        displayName: "Jane Smith",
      });
      assert.equal(put.status, 200, put.text);
      [u] = await directory("okta", "00u1a2b3c");
      assert.deepEqual([u!.full_name, u!.display_name], ["Jane Smith", "Jane Smith"]);
      // Deactivate.
      const off = await okta("PATCH", `/Users/${id}`, patch({ op: "replace", value: { active: false } }));
      assert.equal(off.body.active, false);
      [u] = await directory("okta", "00u1a2b3c");
      assert.equal(u!.state, "deactivated");
      // Reactivate.
      const on = await okta("PATCH", `/Users/${id}`, patch({ op: "replace", value: { active: true } }));
      assert.equal(on.body.active, true);
      [u] = await directory("okta", "00u1a2b3c");
      assert.equal(u!.state, "active");
      // Unassign: Okta deactivates the user; it never sends DELETE.
      const unassigned = await okta("PATCH", `/Users/${id}`, patch({ op: "replace", value: { active: false } }));
      assert.equal(unassigned.status, 200);
      [u] = await directory("okta", "00u1a2b3c");
      assert.equal(u!.state, "deactivated");
      assert.equal(u!.full_name, "Jane Smith", "deactivated, its data kept");
      assert.deepEqual(await eventsAbout(u!.id, 5), [
        "dev_user_created",
        "dev_user_updated",
        "dev_user_updated",
        "dev_user_updated",
        "dev_user_updated",
      ]);
    });

    it("Entra: create, look up, update a name, deactivate, reactivate, unassign", async () => {
      const c = await connect(s, "entra");
      const entra = scimClient(s, c);
      const upn = "test_user_1@contoso.test";
      const oid = "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef";
      // Create: Entra queries the matching attribute first, then creates.
      const query = `/Users?${filter(`userName eq "${upn}"`)}`;
      const empty = await entra("GET", query);
      assert.deepEqual([empty.status, empty.body.totalResults], [200, 0]);
      const created = await entra("POST", "/Users", entraUser(upn, "Test", "User", oid));
      assert.equal(created.status, 201, created.text);
      const id = created.body.id;
      let [u] = await directory("entra", oid);
      assert.deepEqual([u!.display_id, u!.email, u!.full_name, u!.state], [id, upn, "Test User", "active"]);
      assert.deepEqual(u!.job_history, [{ is_current: true, title: "Engineer" }]);
      // Look up: by id, by query, and by externalId.
      assert.equal((await entra("GET", `/Users/${id}`)).body.externalId, oid);
      assert.equal((await entra("GET", query)).body.Resources[0].id, id);
      assert.equal((await entra("GET", `/Users?${filter(`externalId eq "${oid}"`)}`)).body.Resources[0].id, id);
      // Update a name (and the work email), as Entra's multi-valued update does.
      const renamed = await entra(
        "PATCH",
        `/Users/${id}`,
        patch(
          { op: "Replace", path: 'emails[type eq "work"].value', value: "updated@contoso.test" },
          { op: "Replace", path: "name.familyName", value: "updatedFamilyName" },
          { op: "Replace", path: "name.formatted", value: "Test updatedFamilyName" },
        ),
      );
      assert.equal(renamed.status, 200, renamed.text);
      assert.equal(renamed.body.name.familyName, "updatedFamilyName");
      [u] = await directory("entra", oid);
      assert.equal(u!.full_name, "Test updatedFamilyName");
      assert.equal(u!.email, upn, "the userName is the directory's email; the work email is kept as sent");
      // Disable.
      const off = await entra("PATCH", `/Users/${id}`, patch({ op: "Replace", path: "active", value: "False" }));
      assert.equal(off.body.active, false);
      [u] = await directory("entra", oid);
      assert.equal(u!.state, "deactivated");
      // Enable again.
      const on = await entra("PATCH", `/Users/${id}`, patch({ op: "Replace", path: "active", value: "True" }));
      assert.equal(on.body.active, true);
      [u] = await directory("entra", oid);
      assert.equal(u!.state, "active");
      // Unassign: Entra deletes the user.
      assert.equal((await entra("DELETE", `/Users/${id}`)).status, 204);
      assert.equal((await entra("GET", `/Users/${id}`)).status, 404);
      assert.deepEqual(await directory("entra", oid), [], "no user holds the Entra identity any more");
      const gone = (await s.sdk().devUsersGet({ id })).data.dev_user;
      assert.equal(gone.state, "deleted");
      assert.equal(gone.full_name, "Test updatedFamilyName");
      assert.equal((await entra("GET", `/Users?${filter(`userName eq "${upn}"`)}`)).body.totalResults, 0);
      assert.deepEqual(await eventsAbout(gone.id, 5), [
        "dev_user_created",
        "dev_user_updated",
        "dev_user_updated",
        "dev_user_updated",
        "dev_user_deleted",
      ]);
      assert.ok(created.body[ENTERPRISE], "Entra's enterprise attributes come back");
    });
  });
}

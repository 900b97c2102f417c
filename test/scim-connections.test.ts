// SCIM connections: scim-connections.* for admins, on both databases; which token opens what (a
// connection's token only /scim/v2 of its org, an API token never /scim/v2); a rotated or revoked
// token and a disabled or deleted connection stop at their next request; the journal never holds
// a token; /openapi.json describes the API; and the CLI's devusers scim commands.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { testDialects } from "./helpers/databases.js";
import { runCli } from "./helpers/processes.js";
import { assertScimError, connect, oktaUser, scimClient } from "./helpers/scim.js";
import { assertError, startTestServer, type TestServer } from "./helpers/server.js";

const PAT = "urn:devrev:params:oauth:token-type:pat";

for (const { dialect, skip } of await testDialects()) {
  describe(`SCIM connections [${dialect}]`, { skip }, () => {
    let s: TestServer;
    before(async () => {
      s = await startTestServer({ dialect });
    });
    after(async () => {
      await s?.close();
    });

    it("creates, gets, lists, updates and deletes connections; the token is shown once", async () => {
      const made = await s.http("POST", "/scim-connections.create", {
        body: { issuer: "okta", default_role: "member" },
      });
      assert.equal(made.status, 201, made.text);
      const c = made.body.scim_connection;
      assert.match(c.id, /^don:identity:dvrv-us-1:devo\/default:scim_connection\/\d+$/);
      assert.deepEqual([c.issuer, c.default_role, c.enabled, c.token_status], ["okta", "member", true, "active"]);
      assert.match(made.body.token, /^devusers_scim_[A-Za-z0-9_-]{43}$/);
      assert.equal(c.created_by.email, "admin@example.com");
      const got = await s.http("GET", `/scim-connections.get?id=${encodeURIComponent(c.id)}`);
      assert.deepEqual(got.body, { scim_connection: c });
      assert.deepEqual((await s.http("POST", "/scim-connections.get", { body: { id: c.id } })).body, {
        scim_connection: c,
      });
      const listed = await s.http("POST", "/scim-connections.list", { body: {} });
      assert.deepEqual(listed.body.scim_connections, [c]);
      assert.ok(!listed.text.includes(made.body.token), "no read shows the token");
      assertError(await s.http("POST", "/scim-connections.create", { body: { issuer: "okta" } }), 409, "conflict");
      assertError(
        await s.http("POST", "/scim-connections.create", { body: { issuer: "  " } }),
        400,
        "value_not_permitted",
      );
      assertError(
        await s.http("POST", "/scim-connections.create", { body: { issuer: "x", token: "mine" } }),
        400,
        "invalid_field",
      );
      const updated = await s.http("POST", "/scim-connections.update", { body: { id: c.id, default_role: "admin" } });
      assert.equal(updated.body.scim_connection.default_role, "admin");
      assert.equal(updated.body.token, undefined);
      assertError(
        await s.http("POST", "/scim-connections.update", { body: { id: c.id, issuer: "other" } }),
        400,
        "invalid_field",
      );
      assertError(await s.http("POST", "/scim-connections.get", { body: { id: "nope" } }), 400, "invalid_id");
      const elsewhere = c.id.replace("devo/default", "devo/other");
      assertError(await s.http("POST", "/scim-connections.get", { body: { id: elsewhere } }), 404, "not_found");
      assert.equal((await s.http("POST", "/scim-connections.delete", { body: { id: c.id } })).status, 200);
      assertError(await s.http("POST", "/scim-connections.get", { body: { id: c.id } }), 404, "not_found");
      // Every change is journalled with the admin as the actor, and no entry holds a token.
      const log = await s.http("GET", "/audit-logs.list?categories=scim_connections");
      assert.deepEqual(
        log.body.audit_logs.map((e: any) => e.operation),
        ["scim_connections.delete", "scim_connections.update", "scim_connections.create"],
      );
      assert.ok(!log.text.includes(made.body.token) && !log.text.includes("token_hash"));
    });

    it("is for admins: a member is refused, and a scoped token needs scim:manage", async () => {
      const member = await s.user("scim-member@example.com");
      assertError(await s.http("POST", "/scim-connections.list", { token: member.token, body: {} }), 403, "forbidden");
      const narrow = await s.sdk().authTokensCreate({ requested_token_type: PAT as never, scope: "directory:read" });
      const refused = await s.http("POST", "/scim-connections.list", { token: narrow.data.access_token, body: {} });
      assertError(refused, 403, "forbidden");
      assert.match(refused.body.message, /scim:manage/);
      const scoped = await s.sdk().authTokensCreate({ requested_token_type: PAT as never, scope: "scim:manage" });
      assert.equal(
        (await s.http("POST", "/scim-connections.list", { token: scoped.data.access_token, body: {} })).status,
        200,
      );
    });

    it("a connection's token opens /scim/v2 only, and an API token never opens /scim/v2", async () => {
      const c = await connect(s, "entra");
      const scim = scimClient(s, c);
      assert.equal((await scim("GET", "/Users?count=1")).status, 200);
      const onApi = await s.http("GET", "/dev-users.self", { token: c.token });
      assertError(onApi, 401, "unauthenticated");
      assert.match(onApi.body.message, /only under \/scim\/v2/);
      const apiToken = await scim("GET", "/Users", undefined, { token: s.adminToken });
      assertScimError(apiToken, 401, undefined, /API tokens do not work under \/scim\/v2/);
      assertScimError(await scim("GET", "/ServiceProviderConfig", undefined, { token: null }), 401);
      assertScimError(await scim("GET", "/Users", undefined, { token: `devusers_scim_${"A".repeat(43)}` }), 401);
      assertScimError(await scim("GET", "/Users", undefined, { token: "garbage" }), 401);
      const two = await s.http("GET", "/scim/v2/Users", {
        token: null,
        headers: { authorization: `Bearer ${c.token}` },
      });
      assert.equal(two.status, 200, "Bearer, as providers send it");
      const bare = await scim("GET", "/Users", undefined, { token: null, headers: { authorization: c.token } });
      assert.equal(bare.status, 200, "or the bare token");
    });

    it("rotate, revoke, disable and delete each stop the provider at its very next request", async () => {
      const c = await connect(s, "onelogin");
      const scim = scimClient(s, c);
      const made = await scim("POST", "/Users", oktaUser("kept@example.com", "Kept", "User", "ol-1"));
      assert.equal(made.status, 201);
      const update = (body: Record<string, unknown>) =>
        s.http("POST", "/scim-connections.update", { body: { id: c.id, ...body } });
      const rotated = await update({ rotate_token: true });
      assert.match(rotated.body.token, /^devusers_scim_/);
      assertScimError(await scim("GET", "/Users"), 401);
      const fresh = scimClient(s, { ...c, token: rotated.body.token });
      assert.equal((await fresh("GET", "/Users")).status, 200);
      const revoked = await update({ revoke_token: true });
      assert.equal(revoked.body.scim_connection.token_status, "revoked");
      assertScimError(await fresh("GET", "/Users"), 401);
      const again = await update({ rotate_token: true });
      const back = scimClient(s, { ...c, token: again.body.token });
      assert.equal((await back("GET", "/Users")).status, 200);
      assert.equal((await update({ enabled: false })).body.scim_connection.enabled, false);
      assertScimError(await back("GET", "/Users"), 403, undefined, /disabled/);
      await update({ enabled: true });
      assert.equal((await back("GET", "/Users")).status, 200);
      assertError(await update({ rotate_token: true, revoke_token: true }), 400, "value_not_permitted");
      await s.http("POST", "/scim-connections.delete", { body: { id: c.id } });
      assertScimError(await back("GET", "/Users"), 401);
      // The provider's users stay in the directory, linked as they were.
      const u = (await s.sdk().devUsersGet({ id: made.body.id })).data.dev_user;
      assert.deepEqual([u.state, u.external_identities?.[0]?.issuer], ["active", "onelogin"]);
    });

    it("/openapi.json describes scim-connections.*, and SCIM describes itself", async () => {
      const doc = (await s.http("GET", "/openapi.json", { token: null })).body;
      for (const p of ["create", "get", "list", "update", "delete"]) assert.ok(doc.paths[`/scim-connections.${p}`], p);
      assert.ok(doc.paths["/scim-connections.create"].post.responses["201"]);
      assert.ok(!Object.keys(doc.paths).some((p) => p.startsWith("/scim/")));
      const scim = scimClient(s, await connect(s, "describe"));
      const config = (await scim("GET", "/ServiceProviderConfig")).body;
      assert.deepEqual(
        [
          config.patch.supported,
          config.filter.supported,
          config.bulk.supported,
          config.sort.supported,
          config.etag.supported,
        ],
        [true, true, false, false, false],
      );
      const types = (await scim("GET", "/ResourceTypes")).body;
      assert.deepEqual(
        types.Resources.map((r: any) => r.name),
        ["User"],
        "no Groups",
      );
      const schemas = (await scim("GET", "/Schemas")).body.Resources;
      const core = schemas.find((x: any) => x.id === "urn:ietf:params:scim:schemas:core:2.0:User");
      const userName = core.attributes.find((a: any) => a.name === "userName");
      assert.deepEqual([userName.required, userName.uniqueness, userName.caseExact], [true, "server", false]);
      const one = await scim("GET", `/Schemas/${core.id}`);
      assert.deepEqual(one.body, core);
      assert.equal((await scim("GET", "/ResourceTypes/User")).body.endpoint, "/Users");
      assertScimError(await scim("GET", "/ResourceTypes/Group"), 404);
    });

    if (dialect === "sqlite") {
      it("devusers scim create, list, rotate, disable, enable and delete", async () => {
        const env = { DATABASE_URL: s.databaseUrl };
        const created = await runCli(["scim", "create", "--issuer", "cli-idp", "--default-role", "member"], env);
        assert.equal(created.code, 0, created.stderr);
        const token = created.stdout.trim();
        assert.match(token, /^devusers_scim_[A-Za-z0-9_-]{43}$/);
        const scim = scimClient(s, { id: "", issuer: "cli-idp", token });
        assert.equal((await scim("GET", "/Users?count=1")).status, 200);
        const listed = await runCli(["scim", "list"], env);
        assert.match(
          listed.stdout,
          /^cli-idp\tdon:identity:dvrv-us-1:devo\/default:scim_connection\/\d+\tdefault_role=member\tenabled\ttoken=active$/m,
        );
        const dup = await runCli(["scim", "create", "--issuer", "cli-idp"], env);
        assert.equal(dup.code, 2);
        assert.match(dup.stderr, /already has a SCIM connection/);
        const rotated = await runCli(["scim", "rotate", "--issuer", "cli-idp"], env);
        assert.equal(rotated.code, 0, rotated.stderr);
        assertScimError(await scim("GET", "/Users"), 401);
        const next = scimClient(s, { id: "", issuer: "cli-idp", token: rotated.stdout.trim() });
        assert.equal((await next("GET", "/Users")).status, 200);
        assert.equal((await runCli(["scim", "disable", "--issuer", "cli-idp"], env)).code, 0);
        assertScimError(await next("GET", "/Users"), 403);
        assert.equal((await runCli(["scim", "enable", "--issuer", "cli-idp"], env)).code, 0);
        assert.equal((await next("GET", "/Users")).status, 200);
        assert.equal((await runCli(["scim", "delete", "--issuer", "cli-idp"], env)).code, 0);
        assertScimError(await next("GET", "/Users"), 401);
        const missing = await runCli(["scim", "delete", "--issuer", "cli-idp"], env);
        assert.equal(missing.code, 2);
        assert.match(missing.stderr, /not found/);
        const entries = (await s.http("GET", "/audit-logs.list?actor=cli&categories=scim_connections")).body.audit_logs;
        assert.equal(entries.length, 5, "create, rotate, disable, enable, delete");
        const help = await runCli(["scim", "--help"], {});
        for (const sub of ["create", "list", "rotate", "revoke", "disable", "enable", "delete"])
          assert.ok(help.stdout.includes(`devusers scim ${sub}`), sub);
      });
    }
  });
}

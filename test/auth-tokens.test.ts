// DevRev's auth-tokens.* through the official SDK and raw HTTP: personal and act-as tokens, their
// metadata without secrets, revocation on the very next request, scopes that never exceed the
// user's role, and the bad input and attacks the issue names.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Ajv } from "ajv";
import { testDialects } from "./helpers/databases.js";
import { assertError, SHADOW, sdkError, startTestServer, type TestServer } from "./helpers/server.js";
import { loadSpec } from "./helpers/spec.js";

const PAT = "urn:devrev:params:oauth:token-type:pat";
const ACT_AS = "urn:devrev:params:oauth:token-type:pat:act-as";

function validator(schema: string) {
  const spec = loadSpec("auth-tokens.openapi.yaml");
  const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });
  const validate = ajv.compile({ $ref: `#/components/schemas/${schema}`, components: spec.components });
  return (body: unknown) => {
    assert.ok(validate(body), `${schema}: ${JSON.stringify(validate.errors)} in ${JSON.stringify(body)}`);
  };
}

for (const { dialect, skip } of await testDialects()) {
  describe(`auth tokens [${dialect}]`, { skip }, () => {
    let s: TestServer;
    const createResponse = validator("auth-tokens-create-response");
    const getResponse = validator("auth-tokens-get-response");
    const listResponse = validator("auth-tokens-list-response");
    const infoResponse = validator("auth-tokens-info-response");
    const updateResponse = validator("auth-tokens-update-response");
    before(async () => {
      s = await startTestServer({ dialect });
    });
    after(async () => {
      await s?.close();
    });

    const create = (token: string, body: Record<string, unknown>) =>
      s.http("POST", "/auth-tokens.create", { token, body });
    const self = (token: string) => s.http("GET", "/dev-users.self", { token });

    it("mints a personal token, describes it without its secret, and revokes it, through the SDK", async () => {
      const member = await s.user("tok-sdk@example.com");
      const made = await member.sdk.authTokensCreate({
        requested_token_type: PAT as never,
        token_hint: "ci runner",
        expires_in: 7,
      });
      assert.equal(made.status, 201);
      createResponse(made.data);
      assert.equal(made.data.token_type, "bearer");
      assert.equal(made.data.expires_in, 7 * 86_400);
      const secret = made.data.access_token;
      const mine = s.sdk(secret);
      assert.equal((await mine.devUsersSelf()).data.dev_user.id, member.id, "the new token acts as its maker");

      const info = (await mine.authTokensInfo()).data;
      infoResponse(info);
      assert.equal(info.user.id, member.id);
      assert.equal(info.token.subject, member.id);
      assert.equal(info.token.expiry - info.token.issued_at, 7 * 86_400);
      assert.deepEqual((await mine.authTokensInfoPost({})).data, info);

      const listed = await member.sdk.authTokensList();
      listResponse(listed.data);
      const entry = listed.data.tokens.find((t) => t.token_hint === "ci runner");
      assert.ok(entry, "the new token is listed");
      assert.equal(entry.status, "active");
      assert.equal(entry.requested_token_type, PAT);
      assert.equal(entry.subject, member.id);
      assert.match(entry.id, /^don:identity:dvrv-us-1:devo\/default:token\/[0-9a-f-]{36}$/);
      assert.deepEqual((await member.sdk.authTokensListPost({})).data, listed.data);

      const got = await member.sdk.authTokensGet({ token_id: entry.id });
      getResponse(got.data);
      assert.deepEqual(got.data.token, entry);
      assert.deepEqual((await member.sdk.authTokensGetPost({ token_id: entry.id })).data, got.data);

      const renamed = await member.sdk.authTokensUpdate({ token_id: entry.id, token_hint: "nightly" });
      updateResponse(renamed.data);
      assert.equal(renamed.data.token.token_hint, "nightly");

      for (const body of [listed.data, got.data, renamed.data, info]) {
        assert.ok(!JSON.stringify(body).includes(secret), "no response after create carries the token");
        assert.ok(!JSON.stringify(body).includes(secret.split(".")[2]!), "nor its signature");
      }

      await member.sdk.authTokensDelete({ token_id: entry.id });
      assertError(await self(secret), 401, "unauthenticated");
      assert.equal((await member.sdk.authTokensGet({ token_id: entry.id })).data.token.status, "revoked");
      assert.ok(
        !(await member.sdk.authTokensList()).data.tokens.some((t) => t.id === entry.id),
        "list shows live tokens",
      );
      assert.equal((await self(member.token)).status, 200, "the member's other token still works");
    });

    it("delete without token_id revokes the calling token; self.delete revokes all of the caller's personal tokens", async () => {
      const member = await s.user("tok-self@example.com");
      const mint = async () => (await create(member.token, { requested_token_type: PAT })).body.access_token as string;
      const [a, b, c] = [await mint(), await mint(), await mint()];
      const gone = await s.http("POST", "/auth-tokens.delete", { token: a, body: {} });
      assert.equal(gone.status, 200, gone.text);
      assertError(await self(a), 401, "unauthenticated");
      assert.equal((await self(b)).status, 200);
      assert.equal((await s.sdk(b).authTokensSelfDelete({ requested_token_type: PAT as never })).status, 200);
      for (const t of [b, c, member.token]) assertError(await self(t), 401, "unauthenticated");
    });

    it("refuses bad lifetimes, token types, grant types and fields, naming the field", async () => {
      const t = s.adminToken;
      for (const expires_in of [0, -1, 1826, 1e12, 1.5, "3", null]) {
        const res = await create(t, { requested_token_type: PAT, expires_in });
        assert.equal(res.status, 400, `${expires_in}: ${res.text}`);
        assert.equal(res.body.field_name, "expires_in", res.text);
      }
      const defaulted = await create(t, { requested_token_type: PAT });
      assert.equal(defaulted.body.expires_in, 30 * 86_400, "30 days by default");
      const minutes = await create(t, { requested_token_type: PAT, expires_in_mins: 15 });
      assert.equal(minutes.status, 201, minutes.text);
      assert.equal(minutes.body.expires_in, 15 * 60);
      const both = await create(t, { requested_token_type: PAT, expires_in: 1, expires_in_mins: 15 });
      assertError(both, 400, "value_not_permitted", { field_name: "expires_in_mins" });
    });

    it("lists what token and grant types it supports when given another", async () => {
      const aat = await create(s.adminToken, { requested_token_type: "urn:devrev:params:oauth:token-type:aat" });
      assertError(aat, 400, "invalid_enum_value", {
        field_name: "requested_token_type",
        allowed_values: [PAT, ACT_AS],
      });
      const exchange = await create(s.adminToken, {
        requested_token_type: PAT,
        grant_type: "urn:ietf:params:oauth:grant-type:token-exchange",
      });
      // A token exchange is for sign-in links' tokens only (test/signin-link.test.ts).
      assertError(exchange, 400, "value_not_permitted", { field_name: "grant_type" });
      assertError(
        await create(s.adminToken, { requested_token_type: PAT, grant_type: "urn:example:grant" }),
        400,
        "invalid_enum_value",
        {
          field_name: "grant_type",
          allowed_values: [
            "urn:devrev:params:oauth:grant-type:token-issue",
            "urn:ietf:params:oauth:grant-type:token-exchange",
          ],
        },
      );
      assertError(await create(s.adminToken, {}), 400, "missing_required_field", {
        field_name: "requested_token_type",
      });
      assertError(
        await create(s.adminToken, { requested_token_type: PAT, subject_token: "x" }),
        400,
        "value_not_permitted",
        {
          field_name: "subject_token",
        },
      );
      assertError(
        await create(s.adminToken, { requested_token_type: PAT, aud: ["elsewhere"] }),
        400,
        "value_not_permitted",
        {
          field_name: "aud",
        },
      );
    });

    it("lets an admin, and only an admin, mint a token acting as another user, and journals who made it", async () => {
      const admin = s.sdk();
      const member = await s.user("tok-actas@example.com");
      const made = await admin.authTokensCreate({ requested_token_type: ACT_AS as never, act_as: member.id });
      const acting = made.data.access_token;
      assert.equal((await s.sdk(acting).devUsersSelf()).data.dev_user.id, member.id);
      const entries = (await s.http("POST", "/audit-logs.list", { body: { object: member.id, limit: 5 } })).body
        .audit_logs;
      const minted = entries.find((e: any) => e.operation === "auth_tokens.create");
      assert.ok(minted, JSON.stringify(entries));
      assert.equal(minted.actor.id, (await admin.devUsersSelf()).data.dev_user.id, "the admin made it");
      assert.equal(minted.details.requested_token_type, ACT_AS);
      assert.ok(!JSON.stringify(entries).includes(acting), "the journal never holds a token");

      const other = await s.user("tok-actas-2@example.com");
      const refused = await create(member.token, { requested_token_type: ACT_AS, act_as: other.id });
      assertError(refused, 403, "forbidden");
      assertError(await create(s.adminToken, { requested_token_type: ACT_AS }), 400, "missing_required_field", {
        field_name: "act_as",
      });
      assertError(
        await create(s.adminToken, { requested_token_type: PAT, act_as: other.id }),
        400,
        "value_not_permitted",
        {
          field_name: "act_as",
        },
      );
    });

    it("scoped tokens call only what their scopes name, and never mint broader ones", async () => {
      const member = await s.user("tok-scope@example.com");
      const read = (await create(s.adminToken, { requested_token_type: PAT, scope: "directory:read" })).body;
      assert.equal(read.scope, "directory:read");
      assert.equal(
        (await s.http("POST", "/dev-users.get", { token: read.access_token, body: { id: member.id } })).status,
        200,
      );
      const denied = await s.http("POST", "/dev-users.create", {
        token: read.access_token,
        body: { email: "tok-scope-new@example.com", state: SHADOW },
      });
      assertError(denied, 403, "forbidden");
      assert.match(denied.body.message, /users:write/, "the missing scope is named");
      assertError(await s.http("GET", "/webhooks.list", { token: read.access_token }), 403, "forbidden");
      assert.match(
        (await s.http("GET", "/webhooks.list", { token: read.access_token })).body.message,
        /webhooks:manage/,
      );
      assertError(await create(read.access_token, { requested_token_type: PAT }), 403, "forbidden");
      assert.equal(
        (await s.http("GET", "/auth-tokens.info", { token: read.access_token })).status,
        200,
        "info needs no scope",
      );

      const manager = (await create(s.adminToken, { requested_token_type: PAT, scope: "tokens:manage directory:read" }))
        .body.access_token;
      const narrower = await create(manager, { requested_token_type: PAT, scope: "directory:read" });
      assert.equal(narrower.status, 201, narrower.text);
      const inherited = await create(manager, { requested_token_type: PAT });
      assert.equal(
        inherited.body.scope,
        "directory:read tokens:manage",
        "an unscoped ask from a scoped token inherits",
      );
      const broader = await create(manager, { requested_token_type: PAT, scope: "users:write" });
      assertError(broader, 403, "forbidden");
      assert.match(broader.body.message, /users:write/);

      assertError(
        await create(s.adminToken, { requested_token_type: PAT, scope: "everything" }),
        400,
        "invalid_enum_value",
        {
          field_name: "scope",
        },
      );
      assertError(
        await create(member.token, { requested_token_type: PAT, scope: "webhooks:manage" }),
        403,
        "forbidden",
      );
      const memberRead = await create(member.token, { requested_token_type: PAT, scope: "directory:read" });
      assert.equal(memberRead.status, 201);

      const listed = (await s.http("GET", "/auth-tokens.list", { token: manager })).body.tokens;
      const target = listed[0].id;
      const escalate = await s.http("POST", "/auth-tokens.update", {
        token: manager,
        body: { token_id: target, token_hint: "x", scope: "users:write" },
      });
      assertError(escalate, 400, "invalid_field", { field_name: "scope" });
    });

    it("a demotion ends admin rights at once on every token of the user, scoped or not", async () => {
      const admin = await s.user("tok-demote@example.com", "admin");
      const hooks = (await create(admin.token, { requested_token_type: PAT, scope: "webhooks:manage" })).body
        .access_token;
      assert.equal((await s.http("GET", "/webhooks.list", { token: hooks })).status, 200);
      assert.equal((await s.http("GET", "/webhooks.list", { token: admin.token })).status, 200);
      await s.setRole("tok-demote@example.com", "member");
      assertError(await s.http("GET", "/webhooks.list", { token: hooks }), 403, "forbidden");
      assertError(await s.http("GET", "/webhooks.list", { token: admin.token }), 403, "forbidden");
    });

    it("deactivating or merging away a user ends their tokens for good", async () => {
      const admin = s.sdk();
      const a = await s.user("tok-deact@example.com");
      const pat = (await create(a.token, { requested_token_type: PAT })).body.access_token;
      const ids = (await admin.authTokensList({ subject: a.id })).data.tokens.map((t) => t.id);
      assert.equal(ids.length, 2);
      await admin.devUsersDeactivate({ id: a.id });
      await admin.devUsersActivate({ id: a.id });
      for (const t of [a.token, pat]) assertError(await self(t), 401, "unauthenticated");
      assert.deepEqual((await admin.authTokensList({ subject: a.id })).data.tokens, [], "none is live");
      for (const id of ids) assert.equal((await admin.authTokensGet({ token_id: id })).data.token.status, "revoked");
      const fresh = await s.token("tok-deact@example.com");
      assert.equal((await self(fresh)).status, 200, "a new token works");

      const primary = (await admin.devUsersCreate({ email: "tok-primary@example.com", state: SHADOW })).data.dev_user
        .id;
      const b = await s.user("tok-merged@example.com");
      await admin.devUsersMerge({ primary_user: primary, secondary_user: b.id });
      assertError(await self(b.token), 401, "unauthenticated");
      await admin.devUsersActivate({ id: b.id });
      assertError(await self(b.token), 401, "unauthenticated");
    });

    it("hides other users' and other orgs' tokens (404), and lets an admin list and revoke any in the org", async () => {
      const one = await s.user("tok-one@example.com");
      const two = await s.user("tok-two@example.com");
      await create(one.token, { requested_token_type: PAT, token_hint: "one's" });
      const ones = (await s.http("GET", "/auth-tokens.list", { token: one.token })).body.tokens;
      const id = ones.find((t: any) => t.token_hint === "one's").id;
      for (const [method, path, body] of [
        ["POST", "/auth-tokens.get", { token_id: id }],
        ["POST", "/auth-tokens.update", { token_id: id, token_hint: "mine now" }],
        ["POST", "/auth-tokens.delete", { token_id: id }],
      ] as const) {
        assertError(await s.http(method, path, { token: two.token, body }), 404, "not_found");
      }
      const missing = id.replace(/token\/.*/, "token/00000000-0000-4000-8000-000000000000");
      assert.deepEqual(
        (await s.http("POST", "/auth-tokens.get", { token: two.token, body: { token_id: missing } })).body,
        (await s.http("POST", "/auth-tokens.get", { token: two.token, body: { token_id: id } })).body,
        "another user's token and no token at all answer alike",
      );
      assertError(
        await s.http("GET", `/auth-tokens.list?subject=${encodeURIComponent(one.id)}`, { token: two.token }),
        403,
        "forbidden",
      );
      assertError(
        await s.http("POST", "/auth-tokens.get", { token: two.token, body: { token_id: "token-1" } }),
        400,
        "invalid_id",
        {
          field_name: "token_id",
        },
      );

      // The first user of an empty org is its admin: an admin elsewhere still sees nothing here.
      const foreign = await s.token("tok-elsewhere@example.com", { org: "other-org" });
      assertError(
        await s.http("POST", "/auth-tokens.get", { token: foreign, body: { token_id: id } }),
        404,
        "not_found",
      );
      assertError(
        await s.http("POST", "/auth-tokens.delete", { token: foreign, body: { token_id: id } }),
        404,
        "not_found",
      );
      assertError(
        await s.http("GET", `/auth-tokens.list?subject=${encodeURIComponent(one.id)}`, { token: foreign }),
        404,
        "not_found",
      );
      const asAdmin = await s.sdk().authTokensList({ subject: one.id });
      assert.ok(
        asAdmin.data.tokens.some((t) => t.id === id),
        "an admin lists any user's tokens",
      );
      await s.sdk().authTokensDelete({ token_id: id });
      assert.equal((await s.sdk().authTokensGet({ token_id: id })).data.token.status, "revoked");
    });

    it("caps a user's live tokens, and records the CLI's tokens like the API's", async () => {
      const member = await s.user("tok-cap@example.com");
      const live = (await s.http("GET", "/auth-tokens.list", { token: member.token })).body.tokens.length;
      assert.equal(live, 1, "the harness's token is recorded and listed");
      for (let i = live; i < 50; i++) {
        const res = await create(member.token, { requested_token_type: PAT });
        assert.equal(res.status, 201, res.text);
      }
      assertError(await create(member.token, { requested_token_type: PAT }), 400, "bad_request");
      const cli = (await s.http("GET", "/auth-tokens.list", { token: member.token })).body.tokens[0];
      assert.equal(cli.created_by, undefined, "minted by the CLI, not a user");
      await s.http("POST", "/auth-tokens.self.delete", { token: member.token, body: {} });
      assertError(await self(member.token), 401, "unauthenticated");
    });

    it("refuses a signed token this service never recorded", async () => {
      const { mintToken } = await import("../src/services/auth.js");
      const { KeyRing } = await import("../src/services/keys.js");
      const row = (await s.sdk().devUsersSelf()).data.dev_user;
      const number = Number(row.display_id!.split("-")[1]);
      const unrecorded = await mintToken(new KeyRing(s.running.db.kysely), { number, token_generation: 0 }, s.org, 600);
      assertError(await self(unrecorded), 401, "unauthenticated");
    });

    it("HEAD requests obey scopes like the GETs they mirror", async () => {
      const tokensOnly = (await create(s.adminToken, { requested_token_type: PAT, scope: "tokens:manage" })).body
        .access_token;
      const me = (await s.sdk().devUsersSelf()).data.dev_user.id;
      for (const path of [`/dev-users.get?id=${encodeURIComponent(me)}`, "/webhooks.list", "/audit-logs.list"]) {
        const res = await fetch(s.url + path, { method: "HEAD", headers: { authorization: tokensOnly } });
        assert.equal(res.status, 403, `HEAD ${path}`);
        const full = await fetch(s.url + path, { method: "HEAD", headers: { authorization: s.adminToken } });
        assert.equal(full.status, 200, `HEAD ${path} with full rights`);
      }
    });

    it("an expired token is refused from its expiry on, first seen or known", async () => {
      await s.user("tok-expiry@example.com");
      const known = await s.token("tok-expiry@example.com", { ttl: 2 });
      const unseen = await s.token("tok-expiry@example.com", { ttl: 2 });
      assert.equal((await self(known)).status, 200);
      await new Promise((r) => setTimeout(r, 2_200));
      for (const t of [known, unseen, known, unseen]) assertError(await self(t), 401, "unauthenticated");
    });

    it("an act-as token ends when its maker stops being an active admin, and mints nothing", async () => {
      const maker = await s.user("tok-maker@example.com", "admin");
      const target = await s.user("tok-target@example.com");
      const actAs = async (t: string) =>
        (await create(t, { requested_token_type: ACT_AS, act_as: target.id })).body.access_token as string;
      const first = await actAs(maker.token);
      assert.equal((await self(first)).status, 200);
      assertError(await create(first, { requested_token_type: PAT }), 403, "forbidden");
      const made = (
        await s.http("GET", `/auth-tokens.list?requested_token_type=${encodeURIComponent(ACT_AS)}`, {
          token: maker.token,
        })
      ).body.tokens;
      assert.equal(made.length, 1, "the maker lists the act-as tokens it made");
      assert.equal(made[0].subject, target.id);
      await s.setRole("tok-maker@example.com", "member");
      assertError(await self(first), 401, "unauthenticated");
      await s.setRole("tok-maker@example.com", "admin");
      assertError(await self(first), 401, "unauthenticated");
      const firstId = made[0].id;
      assert.equal((await s.sdk().authTokensGet({ token_id: firstId })).data.token.status, "revoked", "for good");
      const admin = await s.token("tok-maker@example.com");
      const second = await actAs(admin);
      await s.sdk().devUsersDeactivate({ id: maker.id });
      await s.sdk().devUsersActivate({ id: maker.id });
      assertError(await self(second), 401, "unauthenticated");
      const again = await s.token("tok-maker@example.com");
      const third = await actAs(again);
      assert.equal(
        (await s.http("POST", "/auth-tokens.self.delete", { token: again, body: { requested_token_type: ACT_AS } }))
          .status,
        200,
      );
      assertError(await self(third), 401, "unauthenticated");
      assert.equal((await self(again)).status, 200, "self.delete of act-as tokens leaves the maker's own");
    });

    it("holds the cap under 80 concurrent creates", async () => {
      const member = await s.user("tok-race@example.com");
      const results = await Promise.all(
        Array.from({ length: 80 }, () => create(member.token, { requested_token_type: PAT })),
      );
      const made = results.filter((r) => r.status === 201).length;
      assert.ok(
        results.every((r) => r.status === 201 || r.status === 400),
        JSON.stringify(results.map((r) => r.status)),
      );
      const live = (await s.http("GET", "/auth-tokens.list", { token: member.token })).body.tokens.length;
      assert.equal(live, 50, `${made} made`);
      assert.equal(made, 49, "the harness's token was the first");
    });

    it("lists nothing, and revokes nothing, for DevRev's token types it does not issue", async () => {
      const aat = "urn:devrev:params:oauth:token-type:aat";
      assert.deepEqual((await s.sdk().authTokensList({ requested_token_type: aat as never })).data.tokens, []);
      assert.equal((await s.sdk().authTokensSelfDelete({ requested_token_type: aat as never })).status, 200);
      assert.equal((await self(s.adminToken)).status, 200);
      assertError(await s.http("GET", "/auth-tokens.list?requested_token_type=nonsense"), 400, "invalid_enum_value");
    });

    it("SDK errors keep DevRev's shape", async () => {
      const err = await sdkError(s.sdk().authTokensGet({ token_id: "nope" }));
      assert.equal(err.status, 400);
      assert.equal(err.body.type, "invalid_id");
    });
  });
}

// Sign-in links (`devusers console --email`): a one-time token that nothing accepts but its one
// exchange for a session token, revoked in the same transaction, on both databases.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { issueToken } from "../src/services/admin.js";
import { systemClock } from "../src/services/context.js";
import { KeyRing } from "../src/services/keys.js";
import { testDialects } from "./helpers/databases.js";
import { runCli } from "./helpers/processes.js";
import { startTestServer, type TestServer } from "./helpers/server.js";

const EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";
const ONETIME = "urn:devrev:params:oauth:token-type:session:onetime";
const PAT = "urn:devrev:params:oauth:token-type:pat";

for (const { dialect, skip } of await testDialects())
  describe(`sign-in links [${dialect}]`, { skip }, () => {
    let s: TestServer;
    before(async () => {
      s = await startTestServer({ dialect });
    });
    after(() => s.close());

    const link = (email: string) =>
      issueToken({ db: s.running.db, now: systemClock }, new KeyRing(s.running.db.kysely), {
        email,
        org: s.org,
        ttlSeconds: 600,
        type: "session:onetime",
      });
    const exchange = (onetime: string, extra: Record<string, unknown> = {}) =>
      s.http("POST", "/auth-tokens.create", {
        token: onetime,
        body: {
          grant_type: EXCHANGE,
          subject_token: onetime,
          subject_token_type: ONETIME,
          requested_token_type: PAT,
          expires_in_mins: 60,
          ...extra,
        },
      });
    const entries = async (operation: string) => (await s.http("GET", `/audit-logs.list?operation=${operation}`)).body;

    it("a one-time token is refused everywhere but its exchange, which works once", async () => {
      const member = await s.user("linked@example.com", "member");
      const onetime = await link("linked@example.com");
      for (const [method, path] of [
        ["GET", "/dev-users.self"],
        ["GET", "/auth-tokens.info"],
        ["POST", "/auth-tokens.list"],
        ["POST", "/auth-tokens.delete"],
      ] as const) {
        const res = await s.http(method, path, { token: onetime, body: method === "POST" ? {} : undefined });
        assert.equal(res.status, 401, `${path}: ${res.text}`);
        assert.match(res.body.message, /sign-in link/);
      }
      const plain = await s.http("POST", "/auth-tokens.create", {
        token: onetime,
        body: { requested_token_type: PAT },
      });
      assert.equal(plain.status, 401, "a plain create with it is refused too");

      const made = await exchange(onetime);
      assert.equal(made.status, 201, made.text);
      assert.equal(made.body.token_type, "bearer");
      assert.equal(made.body.expires_in, 3600);
      const session = made.body.access_token as string;
      const me = await s.http("GET", "/dev-users.self", { token: session });
      assert.equal(me.status, 200);
      assert.equal(me.body.dev_user.id, member.id, "the session is the link's user");
      // Member rights still: the session is no more than the user.
      const write = await s.http("POST", "/dev-users.create", {
        token: session,
        body: { email: "x@example.com", state: "shadow" },
      });
      assert.equal(write.status, 403);

      const again = await exchange(onetime);
      assert.equal(again.status, 401, "a second exchange fails");
      assert.equal((await s.http("GET", "/dev-users.self", { token: session })).status, 200);
    });

    it("of concurrent exchanges of one link, exactly one gets a session", async () => {
      await s.user("race-link@example.com", "member");
      const onetime = await link("race-link@example.com");
      const results = await Promise.all(Array.from({ length: 6 }, () => exchange(onetime)));
      const statuses = results.map((r) => r.status).sort();
      assert.deepEqual(statuses, [201, 401, 401, 401, 401, 401], results.map((r) => r.text).join("\n"));
    });

    it("refuses an exchange with another token, a mismatched subject, or for other rights, changing nothing", async () => {
      await s.user("strict-link@example.com", "admin");
      const onetime = await link("strict-link@example.com");
      const other = await link("strict-link@example.com");
      const cases: [string, Record<string, unknown>, string][] = [
        ["subject_token", { subject_token: other }, "a different link's token"],
        ["subject_token_type", { subject_token_type: PAT }, "another subject type"],
        ["requested_token_type", { requested_token_type: "urn:devrev:params:oauth:token-type:pat:act-as" }, "act-as"],
        ["scope", { scope: "users:read" }, "narrowed scopes"],
        ["expires_in_mins", { expires_in_mins: 100_000 }, "too long"],
      ];
      for (const [field, extra, what] of cases) {
        const res = await exchange(onetime, extra);
        assert.equal(res.status, 400, `${what}: ${res.text}`);
        assert.equal(res.body.field_name, field, what);
      }
      // An ordinary token cannot exchange anything.
      const pat = await s.http("POST", "/auth-tokens.create", {
        body: { grant_type: EXCHANGE, subject_token: onetime, subject_token_type: ONETIME },
      });
      assert.equal(pat.status, 400, pat.text);
      assert.equal(pat.body.field_name, "grant_type");
      // Nothing refused spent the link.
      assert.equal((await exchange(onetime)).status, 201);
    });

    it("the exchange is journalled: the link revoked and the session created, in one request", async () => {
      await s.user("journal-link@example.com", "member");
      const onetime = await link("journal-link@example.com");
      const res = await exchange(onetime);
      assert.equal(res.status, 201);
      const deleted = (await entries("auth_tokens.delete")).audit_logs as { request_id?: string; details?: unknown }[];
      const created = (await entries("auth_tokens.create")).audit_logs as { request_id?: string }[];
      assert.ok(deleted.length > 0 && created.length > 0, "both recorded");
      assert.ok(JSON.stringify(deleted[0]).includes("sign-in link exchanged"));
    });

    it("devusers console prints a link to the console that signs in once", async () => {
      await s.user("cli-link@example.com", "member");
      const res = await runCli(
        ["console", "--email", "cli-link@example.com", "--org", s.org, "--url", "http://directory.example:8080/"],
        { DATABASE_URL: s.databaseUrl },
      );
      assert.equal(res.code, 0, res.stderr);
      const m = /^http:\/\/directory\.example:8080\/console\/#signin=([A-Za-z0-9._-]+)\n$/.exec(res.stdout);
      assert.ok(m, res.stdout);
      assert.equal((await exchange(m[1]!)).status, 201);
      const bad = await runCli(["console", "--email", "cli-link@example.com", "--url", "javascript:alert(1)"], {
        DATABASE_URL: s.databaseUrl,
      });
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /--url/);
    });
  });

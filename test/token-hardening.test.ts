// Tokens only the service could have made, in one spelling only: what the attack suite found.
import assert from "node:assert/strict";
import { createPrivateKey, randomUUID, sign } from "node:crypto";
import { connect } from "node:net";
import { after, before, describe, it } from "node:test";
import { KeyRing } from "../src/services/keys.js";
import { testDialects } from "./helpers/databases.js";
import { assertError, startTestServer, type TestServer } from "./helpers/server.js";

const DAY = 86_400;
const b64 = (text: string) => Buffer.from(text).toString("base64url");
const nowSec = () => Math.floor(Date.now() / 1000);
const payloadOf = (token: string) => JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString());

/** One request over a raw socket, so that headers can be repeated as they are sent. */
async function rawRequest(url: string, lines: string[]): Promise<{ status: number; text: string }> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  socket.setEncoding("utf8");
  let text = "";
  socket.on("data", (d) => {
    text += d;
  });
  socket.on("error", () => {});
  socket.write(`${[...lines, `Host: ${hostname}`, "Connection: close"].join("\r\n")}\r\n\r\n`);
  await new Promise((resolve) => socket.once("close", resolve));
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]), text };
}

for (const { dialect, skip } of await testDialects())
  describe(`token hardening [${dialect}]`, { skip }, () => {
    let s: TestServer;
    let kid: string;
    let privateKey: ReturnType<typeof createPrivateKey>;
    let adminSub: string;

    /** Signs header and payload given as JSON text, exactly as written (duplicate keys and all). */
    const forge = (header: string, payload: string) => {
      const input = `${b64(header)}.${b64(payload)}`;
      return `${input}.${sign(null, Buffer.from(input), privateKey).toString("base64url")}`;
    };
    /** A token with the claims the service itself puts in, overridden by `claims`. */
    const forgeClaims = (claims: Record<string, unknown>) => {
      const good = payloadOf(s.adminToken);
      return forge(JSON.stringify({ alg: "EdDSA", kid, typ: "JWT" }), JSON.stringify({ ...good, ...claims }));
    };
    const status = async (token: string) => (await s.http("GET", "/dev-users.self", { token })).status;

    before(async () => {
      s = await startTestServer({ dialect });
      const keys = new KeyRing(s.running.db.kysely);
      const signing = await keys.signingKey();
      kid = signing.kid;
      const row = await s.running.db.kysely
        .selectFrom("signing_keys")
        .select("private_jwk")
        .where("kid", "=", kid)
        .executeTakeFirstOrThrow();
      privateKey = createPrivateKey({ key: JSON.parse(row.private_jwk), format: "jwk" });
      adminSub = payloadOf(s.adminToken).sub;
    });
    after(() => s.close());

    it("names the user by its number in its org, never by the database-wide key", async () => {
      // Users of another org first, so the database-wide key and the org's number differ.
      await s.token("first@elsewhere.test", { org: "elsewhere" });
      const token = await s.token("admin@example.com", { org: "later" });
      const self = (await s.http("GET", "/dev-users.self", { token })).body.dev_user;
      assert.equal(self.display_id, "DEVU-1");
      assert.equal(payloadOf(token).sub, "1");
    });

    it("puts iss, aud and a token id in the tokens it makes", () => {
      const claims = payloadOf(s.adminToken);
      assert.equal(claims.iss, "devusers");
      assert.equal(claims.aud, "devusers");
      assert.match(claims.jti, /^[0-9a-f-]{36}$/);
      assert.equal(typeof claims.iat, "number");
    });

    it("accepts a token forged with the service's own claims (the control for what follows)", async () => {
      assert.equal(await status(forgeClaims({ iat: payloadOf(s.adminToken).iat + 1 })), 200);
    });

    it("refuses a known token id re-signed for another user or for longer, even while its rows are remembered", async () => {
      assert.equal(await status(s.adminToken), 200, "the genuine token, so its rows are remembered");
      const good = payloadOf(s.adminToken);
      const other = (await s.user("hardening-other@example.com")).id.split("/").pop();
      assert.equal(await status(forgeClaims({ sub: other })), 401);
      assert.equal(await status(forgeClaims({ exp: good.exp + 3600 })), 401);
    });

    it("refuses a well-signed token whose id the service never recorded", async () => {
      // Only a holder of the signing key could make one: a leaked key, or a token minted before
      // tokens were recorded.
      assert.equal(await status(forgeClaims({ jti: randomUUID() })), 401);
    });

    it("accepts only the canonical base64url spelling of each segment", async () => {
      const token = await s.token("admin@example.com");
      const [h, p, sig] = token.split(".") as [string, string, string];
      // The last character of a 64-byte signature carries 2 bits; the other 4 are unused.
      const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
      const last = alphabet.indexOf(sig.at(-1)!);
      const sameBits = alphabet[(last & 0b110000) | ((last + 1) & 0b001111)]!;
      assert.deepEqual(
        Buffer.from(`${sig.slice(0, -1)}${sameBits}`, "base64url"),
        Buffer.from(sig, "base64url"),
        "the respelled signature decodes to the same bytes",
      );
      const spellings = [
        `${h}.${p}.${sig}==`,
        `${h}.${p}.${sig}=`,
        `${h}.${p}.${sig.slice(0, 20)} ${sig.slice(20)}`,
        `${h}.${p}.${sig.slice(0, 20)}\t${sig.slice(20)}`,
        `${h}.${p}.${sig.slice(0, -1)}${sameBits}`,
        `${h}==.${p}.${sig}`,
        `${h}.${p}=.${sig}`,
        `${h}.${p.replace(/_/g, "/").replace(/-/g, "+")}.${sig.replace(/_/g, "/").replace(/-/g, "+")}`,
      ];
      for (const spelling of spellings) {
        if (spelling === token) continue;
        const res = await s.http("GET", "/dev-users.self", { token: spelling });
        assertError(res, 401, "unauthenticated");
      }
    });

    it("keys the rate limit by the token's subject, so no re-spelling or second token gets a fresh bucket", async () => {
      const limited = await startTestServer({ dialect, env: { RATE_LIMIT_MAX: "5", RATE_LIMIT_WINDOW: "60" } });
      after(() => limited.close());
      const user = await limited.user("limited-subject@example.com");
      const status = async (token: string) => (await limited.http("GET", "/dev-users.self", { token })).status;
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) statuses.push(await status(user.token));
      assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429]);
      const [h, p, sig] = user.token.split(".") as [string, string, string];
      for (const spelling of [`${h}.${p}.${sig}==`, `${h}.${p}.${sig.slice(0, 9)} ${sig.slice(9)}`]) {
        assert.notEqual(await status(spelling), 200, "a re-spelling is never served");
      }
      const second = await limited.token("limited-subject@example.com", { ttl: 7200 });
      assert.equal(await status(second), 429, "another token of the same user shares the bucket");
    });

    it("refuses a request with two Authorization headers", async () => {
      const token = await s.token("admin@example.com");
      const one = await rawRequest(s.url, ["GET /dev-users.self HTTP/1.1", `Authorization: Bearer ${token}`]);
      assert.equal(one.status, 200, one.text);
      for (const second of [`Bearer ${token}`, "Bearer nonsense"]) {
        const two = await rawRequest(s.url, [
          "GET /dev-users.self HTTP/1.1",
          `Authorization: Bearer ${token}`,
          `authorization: ${second}`,
        ]);
        assert.equal(two.status, 400, two.text);
        assert.match(two.text, /"type":"bad_request"/);
        assert.match(two.text, /Authorization/);
      }
    });

    it("refuses claims only the key's holder could forge", async () => {
      const now = nowSec();
      const cases: [string, Record<string, unknown>][] = [
        ["exp past the longest lifetime issued", { iat: now, exp: now + 3651 * DAY }],
        ["exp far away with an old iat", { iat: now - DAY, exp: now + 3650 * DAY }],
        ["iat in the future", { iat: now + 600, exp: now + 3600 }],
        ["no iat", { iat: undefined }],
        ["iat as a string", { iat: String(now) }],
        ["exp as a string", { exp: String(now + 3600) }],
        ["sub as an array", { sub: [adminSub] }],
        ["sub as a number", { sub: Number(adminSub) }],
        ["sub with a leading zero", { sub: `0${adminSub}` }],
        ["sub as an exponent", { sub: "1e0" }],
        ["org as an array", { org: ["default"] }],
        ["no iss", { iss: undefined }],
        ["another iss", { iss: "someone-else" }],
        ["another aud", { aud: "someone-else" }],
        ["aud as a list naming us among others", { aud: ["devusers", "other"] }],
        ["jti as a number", { jti: 7 }],
      ];
      for (const [what, claims] of cases) {
        const res = await s.http("GET", "/dev-users.self", { token: forgeClaims(claims) });
        assert.equal(res.status, 401, `${what}: ${res.text}`);
        assert.equal(res.body.type, "unauthenticated", what);
      }
    });

    it("refuses duplicate keys in a token's header or payload", async () => {
      const good = payloadOf(s.adminToken);
      const body = JSON.stringify(good).slice(1, -1);
      const header = `"alg":"EdDSA","kid":"${kid}","typ":"JWT"`;
      const cases: [string, string, string][] = [
        ["a repeated sub", `{${header}}`, `{"sub":"999999",${body}}`],
        ["a repeated sub, escaped", `{${header}}`, `{"s\\u0075b":"999999",${body}}`],
        ["a repeated exp", `{${header}}`, `{${body},"exp":${good.exp}}`],
        ["a repeated kid in the header", `{"kid":"nope",${header}}`, JSON.stringify(good)],
        ["a repeated alg", `{${header},"alg":"EdDSA"}`, JSON.stringify(good)],
      ];
      assert.equal(await status(forge(`{${header}}`, JSON.stringify(good))), 200, "the control");
      for (const [what, h, p] of cases) {
        const res = await s.http("GET", "/dev-users.self", { token: forge(h, p) });
        assert.equal(res.status, 401, `${what}: ${res.text}`);
      }
    });

    it("ends every token of a deactivated user for good: re-activation needs a new token", async () => {
      const user = await s.user("revived@example.com");
      const admin = s.sdk(await s.token("admin@example.com"));
      assert.equal(await status(user.token), 200);
      await admin.devUsersDeactivate({ id: user.id });
      assert.equal(await status(user.token), 401);
      await admin.devUsersActivate({ id: user.id });
      const res = await s.http("GET", "/dev-users.self", { token: user.token });
      assertError(res, 401, "unauthenticated");
      const fresh = await s.token("revived@example.com");
      assert.equal(await status(fresh), 200, "a token minted after re-activation works");
    });

    it("ends the secondary user's tokens in a merge, even if it is activated again", async () => {
      const primary = await s.user("merge-primary@example.com");
      const secondary = await s.user("merge-secondary@example.com");
      const admin = s.sdk(await s.token("admin@example.com"));
      await admin.devUsersMerge({ primary_user: primary.id, secondary_user: secondary.id });
      await admin.devUsersActivate({ id: secondary.id });
      assert.equal(await status(secondary.token), 401);
      assert.equal(await status(primary.token), 200);
    });
  });

// Tokens, roles and orgs: who gets in, who may change what, and what one org can see of another.

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { decodeProtectedHeader, generateKeyPair, SignJWT } from "jose";
import { mintToken } from "../src/services/auth.js";
import { KeyRing } from "../src/services/keys.js";
import { testDialects } from "./helpers/databases.js";
import { type Sdk, SHADOW, sdkError, startTestServer, type TestServer } from "./helpers/server.js";

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");

for (const { dialect, skip } of await testDialects())
  describe(`auth [${dialect}]`, { skip }, () => {
    let s: TestServer;
    let admin: Sdk;
    const get = async (id: string) => (await admin.devUsersGet({ id })).data.dev_user;
    const self = (authorization: string | null) =>
      s.http("GET", "/dev-users.self", authorization === null ? { token: null } : { headers: { authorization } });
    const assert401 = async (authorization: string | null, what: string) => {
      const res = await self(authorization);
      assert.equal(res.status, 401, what);
      assert.equal(res.body.type, "unauthenticated", what);
    };

    before(async () => {
      s = await startTestServer({ dialect });
      admin = s.sdk();
    });
    after(() => s.close());

    describe("tokens", () => {
      it("accepts Authorization: Bearer <t> and a bare <t>", async () => {
        for (const authorization of [`Bearer ${s.adminToken}`, `bearer ${s.adminToken}`, s.adminToken]) {
          const res = await self(authorization);
          assert.equal(res.status, 200);
          assert.equal(res.body.dev_user.email, "admin@example.com");
        }
        assert.equal((await admin.devUsersSelf()).status, 200);
      });

      it("answers 401 unauthenticated with no token or a malformed one", async () => {
        await assert401(null, "no header");
        await assert401("Bearer ", "empty bearer");
        await assert401("Bearer not-a-jwt", "garbage");
        await assert401("a.b.c", "three garbage parts");
        const err = await sdkError(s.sdk("nonsense").devUsersSelf());
        assert.equal(err.status, 401);
        assert.equal(err.body.type, "unauthenticated");
      });

      it("answers 401 for a tampered token", async () => {
        const other = await s.user("tamper-target@example.com", "admin");
        const [h, p, sig] = s.adminToken.split(".") as [string, string, string];
        const payload = JSON.parse(Buffer.from(p, "base64url").toString());
        const forged = `${h}.${b64({ ...payload, sub: other.id.split("/").pop() })}.${sig}`;
        await assert401(forged, "payload changed");
        const flipped = sig.startsWith("A") ? `B${sig.slice(1)}` : `A${sig.slice(1)}`;
        await assert401(`${h}.${p}.${flipped}`, "signature changed");
      });

      it("answers 401 for an expired token", async () => {
        const expired = await s.token("admin@example.com", { ttl: -60 });
        await assert401(expired, "expired");
        await assert401(`Bearer ${expired}`, "expired bearer");
      });

      it("answers 401 for alg none, even naming the service's key", async () => {
        const { kid } = decodeProtectedHeader(s.adminToken);
        const payload = JSON.parse(Buffer.from(s.adminToken.split(".")[1]!, "base64url").toString());
        await assert401(`${b64({ alg: "none", typ: "JWT", kid })}.${b64(payload)}.`, "alg none with kid");
        await assert401(`${b64({ alg: "none", typ: "JWT" })}.${b64(payload)}.`, "alg none without kid");
      });

      it("answers 401 for a token signed by a key the service does not know", async () => {
        const { kid } = decodeProtectedHeader(s.adminToken);
        const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519" });
        const payload = JSON.parse(Buffer.from(s.adminToken.split(".")[1]!, "base64url").toString());
        const sign = (k: string) =>
          new SignJWT({ org: payload.org })
            .setProtectedHeader({ alg: "EdDSA", kid: k, typ: "JWT" })
            .setSubject(payload.sub)
            .setIssuedAt()
            .setExpirationTime("1h")
            .sign(privateKey);
        await assert401(await sign(randomUUID()), "unknown kid");
        await assert401(await sign(kid!), "known kid, foreign key");
        const hs = await new SignJWT({ org: payload.org })
          .setProtectedHeader({ alg: "HS256", kid: kid!, typ: "JWT" })
          .setSubject(payload.sub)
          .setExpirationTime("1h")
          .sign(new TextEncoder().encode("a-guessable-secret-of-32-bytes!!"));
        await assert401(hs, "HS256 with the service's kid");
      });

      it("answers 401 at once for a user who is no longer active", async () => {
        const m = await s.user("soon-gone@example.com");
        assert.equal((await m.sdk.devUsersSelf()).status, 200);
        await admin.devUsersDeactivate({ id: m.id });
        const err = await sdkError(m.sdk.devUsersSelf());
        assert.equal(err.status, 401);
        assert.equal(err.body.type, "unauthenticated");
        const list = await sdkError(m.sdk.devUsersListPost({}));
        assert.equal(list.status, 401);
        // Re-activation does not revive the old token; a new one works.
        await admin.devUsersActivate({ id: m.id });
        assert.equal((await sdkError(m.sdk.devUsersSelf())).status, 401);
        assert.equal((await s.sdk(await s.token("soon-gone@example.com")).devUsersSelf()).status, 200);
      });

      it("answers 401 for a shadow user's token", async () => {
        const u = (await admin.devUsersCreate({ email: "shadowy@example.com", state: SHADOW })).data.dev_user;
        // The CLI refuses to mint it; a token signed with the service's own key still gets 401.
        await assert.rejects(s.token("shadowy@example.com"), /is shadow/);
        const row = await s.running.db.kysely
          .selectFrom("dev_users")
          .selectAll()
          .where("email", "=", "shadowy@example.com")
          .executeTakeFirstOrThrow();
        const signed = await mintToken(new KeyRing(s.running.db.kysely), row, s.org, 3600);
        await assert401(signed, "shadow user");
        assert.equal((await get(u.id)).state, "shadow");
      });
    });

    describe("roles", () => {
      let member: { token: string; id: string; sdk: Sdk };
      let target: string;
      before(async () => {
        member = await s.user("member@example.com", "member");
        target = (await admin.devUsersCreate({ email: "target@example.com", state: SHADOW })).data.dev_user.id;
        await admin.devUsersIdentitiesLink({ dev_user: target, issuer: "slack", id: "T1" });
      });

      it("refuses every admin operation to a member with 403 forbidden, and nothing changes", async () => {
        const other = (await admin.devUsersCreate({ email: "other-target@example.com", state: SHADOW })).data.dev_user;
        const before = await Promise.all([get(target), get(other.id), get(member.id)]);
        const count = (await admin.devUsersListPost({ limit: 100 })).data.dev_users.length;
        const m = member.sdk;
        const calls: [string, () => Promise<unknown>][] = [
          ["create", () => m.devUsersCreate({ email: "sneaky@example.com", state: SHADOW })],
          ["update other", () => m.devUsersUpdate({ id: target, full_name: "Hacked" })],
          ["activate", () => m.devUsersActivate({ id: target })],
          ["deactivate", () => m.devUsersDeactivate({ id: target })],
          ["merge", () => m.devUsersMerge({ primary_user: other.id, secondary_user: target })],
          ["link", () => m.devUsersIdentitiesLink({ dev_user: target, issuer: "github", id: "G1" })],
          ["link self", () => m.devUsersIdentitiesLink({ dev_user: member.id, issuer: "github", id: "G2" })],
          ["unlink", () => m.devUsersIdentitiesUnlink({ dev_user: target, issuer: "slack" })],
        ];
        for (const [name, call] of calls) {
          const err = await sdkError(call());
          assert.equal(err.status, 403, name);
          assert.equal(err.body.type, "forbidden", name);
        }
        assert.deepEqual(await Promise.all([get(target), get(other.id), get(member.id)]), before);
        assert.equal((await admin.devUsersListPost({ limit: 100 })).data.dev_users.length, count);
      });

      it("lets a member get, list, read self, update self, and update itself by id", async () => {
        const m = member.sdk;
        assert.equal((await m.devUsersGet({ id: target })).data.dev_user.id, target);
        assert.equal((await m.devUsersGetPost({ id: target })).data.dev_user.id, target);
        assert.ok((await m.devUsersList()).data.dev_users.some((u) => u.id === target));
        assert.ok((await m.devUsersListPost({})).data.dev_users.some((u) => u.id === member.id));
        assert.equal((await m.devUsersSelf()).data.dev_user.id, member.id);
        assert.equal((await m.devUsersSelfPost({})).data.dev_user.id, member.id);
        assert.equal((await m.devUsersSelfUpdate({ full_name: "Member One" })).data.dev_user.full_name, "Member One");
        const byId = await m.devUsersUpdate({ id: member.id, display_name: "memberone" });
        assert.equal(byId.data.dev_user.display_name, "memberone");
        assert.equal((await get(member.id)).display_name, "memberone");
      });

      it("follows role changes on the next request", async () => {
        const p = await s.user("promoted@example.com", "member");
        const denied = await sdkError(p.sdk.devUsersActivate({ id: target }));
        assert.equal(denied.status, 403);
        await s.setRole("promoted@example.com", "admin");
        const u = await p.sdk.devUsersUpdate({ id: target, full_name: "Set By Promoted" });
        assert.equal(u.data.dev_user.full_name, "Set By Promoted");
      });
    });

    describe("orgs", () => {
      let acme: Sdk;
      let acmeAdminId: string;
      before(async () => {
        acme = s.sdk(await s.token("root@acme.test", { org: "acme" }));
        acmeAdminId = (await acme.devUsersSelf()).data.dev_user.id;
      });

      it("gives each org its own DONs, and a token sees only its org's users", async () => {
        assert.match(acmeAdminId, /^don:identity:dvrv-us-1:devo\/acme:devu\/\d+$/);
        const seen = (await acme.devUsersListPost({ limit: 100 })).data.dev_users;
        assert.deepEqual(
          seen.map((u) => u.id),
          [acmeAdminId],
        );
        const defaultUsers = (await admin.devUsersListPost({ limit: 100 })).data.dev_users;
        assert.ok(!defaultUsers.some((u) => u.id === acmeAdminId));
      });

      it("answers 404 for another org's users, by DON or display id, and changes nothing", async () => {
        const victim = (await admin.devUsersCreate({ email: "victim@example.com", state: SHADOW })).data.dev_user;
        const before = await get(victim.id);
        const calls: [string, () => Promise<unknown>][] = [
          ["get DON", () => acme.devUsersGet({ id: victim.id })],
          ["get display id", () => acme.devUsersGetPost({ id: victim.display_id! })],
          ["update", () => acme.devUsersUpdate({ id: victim.id, full_name: "Stolen" })],
          ["activate", () => acme.devUsersActivate({ id: victim.display_id! })],
          ["deactivate", () => acme.devUsersDeactivate({ id: victim.id })],
          ["link", () => acme.devUsersIdentitiesLink({ dev_user: victim.id, issuer: "x", id: "y" })],
          ["unlink", () => acme.devUsersIdentitiesUnlink({ dev_user: victim.display_id!, issuer: "x" })],
          ["merge", () => acme.devUsersMerge({ primary_user: acmeAdminId, secondary_user: victim.id })],
        ];
        for (const [name, call] of calls) {
          const err = await sdkError(call());
          assert.equal(err.status, 404, name);
          assert.equal(err.body.type, "not_found", name);
        }
        assert.deepEqual(await get(victim.id), before);
        const back = await sdkError(admin.devUsersGet({ id: acmeAdminId }));
        assert.equal(back.status, 404);
      });

      it("lets the same (issuer, id) exist once in each org", async () => {
        const mine = (await admin.devUsersCreate({ email: "dup-id@example.com", state: SHADOW })).data.dev_user;
        const theirs = (await acme.devUsersCreate({ email: "dup-id@example.com", state: SHADOW })).data.dev_user;
        await admin.devUsersIdentitiesLink({ dev_user: mine.id, issuer: "slack", id: "SHARED" });
        const res = await acme.devUsersIdentitiesLink({ dev_user: theirs.id, issuer: "slack", id: "SHARED" });
        assert.equal(res.status, 200);
        const again = (await acme.devUsersCreate({ email: "dup-2@example.com", state: SHADOW })).data.dev_user;
        const err = await sdkError(acme.devUsersIdentitiesLink({ dev_user: again.id, issuer: "slack", id: "SHARED" }));
        assert.equal(err.status, 400);
        assert.equal(err.body.type, "artifact_already_attached_to_a_parent");
        assert.equal(err.body.existing_parent, theirs.id);
        const filter = { external_identity: [{ issuer: "slack", id: "SHARED" }] };
        assert.deepEqual(
          (await admin.devUsersListPost(filter)).data.dev_users.map((u) => u.id),
          [mine.id],
        );
        assert.deepEqual(
          (await acme.devUsersListPost(filter)).data.dev_users.map((u) => u.id),
          [theirs.id],
        );
      });
    });
  });

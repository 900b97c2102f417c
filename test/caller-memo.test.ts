// The caller's row and identities are reused between requests only while nothing has been written.
// These tests write from a second connection, as another process or the CLI would, right after
// the caller has been served, and expect the very next request to see the change.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Db, openDatabase } from "../src/db/database.js";
import { testDialects } from "./helpers/databases.js";
import { type Sdk, SHADOW, startTestServer, type TestServer } from "./helpers/server.js";

for (const { dialect, skip } of await testDialects())
  describe(`the caller is current on every request [${dialect}]`, { skip }, () => {
    let s: TestServer;
    let other: Db;
    let admin: Sdk;
    const seen = async (sdk: Sdk) => {
      // Twice: the second request is the one that could be answered from memory.
      await sdk.devUsersSelf();
      return (await sdk.devUsersSelf()).data.dev_user;
    };
    const byEmail = (email: string) => other.kysely.updateTable("dev_users").where("email", "=", email);

    before(async () => {
      s = await startTestServer({ dialect });
      other = openDatabase({
        databaseUrl: s.databaseUrl,
        pgPoolMax: 1,
        pgStatementTimeoutMs: 5000,
        pgConnectTimeoutMs: 5000,
        sqliteSynchronous: "FULL",
      });
      admin = s.sdk();
    });
    after(async () => {
      await other.close();
      await s.close();
    });

    it("refuses a user deactivated by another connection on the next request", async () => {
      const u = await s.user("gone-elsewhere@example.com");
      assert.equal((await seen(u.sdk)).email, "gone-elsewhere@example.com");
      await byEmail("gone-elsewhere@example.com").set({ state: "deactivated" }).execute();
      const res = await s.http("GET", "/dev-users.self", { token: u.token });
      assert.equal(res.status, 401, res.text);
      assert.equal(res.body.type, "unauthenticated");
    });

    it("applies a role given by another connection on the next request", async () => {
      const u = await s.user("promoted-elsewhere@example.com");
      const target = (await admin.devUsersCreate({ email: "promo-target@example.com", state: SHADOW })).data.dev_user
        .id;
      const denied = await s.http("POST", "/dev-users.update", {
        token: u.token,
        body: { id: target, full_name: "Refused" },
      });
      assert.equal(denied.status, 403, denied.text);
      await seen(u.sdk);
      await byEmail("promoted-elsewhere@example.com").set({ role: "admin" }).execute();
      const res = await s.http("POST", "/dev-users.update", {
        token: u.token,
        body: { id: target, full_name: "Set By Promoted" },
      });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.dev_user.full_name, "Set By Promoted");
    });

    it("shows the caller's own changes, by the API or elsewhere, on the next self", async () => {
      const u = await s.user("changing@example.com");
      assert.deepEqual((await seen(u.sdk)).external_identities ?? [], []);

      await admin.devUsersIdentitiesLink({ dev_user: u.id, issuer: "slack", id: "U-CHANGING" });
      assert.deepEqual(
        (await u.sdk.devUsersSelf()).data.dev_user.external_identities?.map((i) => i.id),
        ["U-CHANGING"],
      );

      await seen(u.sdk);
      const row = await other.kysely
        .selectFrom("dev_users")
        .select(["id", "org_id"])
        .where("email", "=", "changing@example.com")
        .executeTakeFirstOrThrow();
      await other.kysely
        .insertInto("external_identities")
        .values({
          org_id: row.org_id,
          dev_user_id: row.id,
          issuer: "github",
          external_id: "changing-gh",
          display_name: null,
          created_date: new Date().toISOString(),
        })
        .execute();
      assert.deepEqual((await u.sdk.devUsersSelf()).data.dev_user.external_identities?.map((i) => i.issuer).sort(), [
        "github",
        "slack",
      ]);

      await seen(u.sdk);
      await byEmail("changing@example.com").set({ full_name: "Renamed Elsewhere" }).execute();
      assert.equal((await u.sdk.devUsersSelf()).data.dev_user.full_name, "Renamed Elsewhere");

      const updated = await u.sdk.devUsersSelfUpdate({ full_name: "Renamed Here" });
      assert.equal(updated.data.dev_user.full_name, "Renamed Here");
      assert.equal((await u.sdk.devUsersSelf()).data.dev_user.full_name, "Renamed Here");

      await seen(u.sdk);
      await admin.devUsersIdentitiesUnlink({ dev_user: u.id, issuer: "slack" });
      assert.deepEqual(
        (await u.sdk.devUsersSelf()).data.dev_user.external_identities?.map((i) => i.issuer),
        ["github"],
      );
    });
  });

describe("the caller is current after the database is opened again in one process", () => {
  it("sees another connection's commit on a file whose -shm was made anew", async () => {
    const first = await startTestServer();
    const file = first.databaseUrl;
    const u = await first.user("reopened@example.com");
    await first.running.stop(); // the file stays; only the service stops
    const s = await startTestServer({ databaseUrl: file });
    const other = openDatabase({
      databaseUrl: file,
      pgPoolMax: 1,
      pgStatementTimeoutMs: 5000,
      pgConnectTimeoutMs: 5000,
      sqliteSynchronous: "FULL",
    });
    try {
      const self = () => s.http("GET", "/dev-users.self", { token: u.token });
      assert.equal((await self()).status, 200);
      assert.equal((await self()).status, 200);
      await other.kysely
        .updateTable("dev_users")
        .set({ state: "deactivated" })
        .where("email", "=", "reopened@example.com")
        .execute();
      assert.equal((await self()).status, 401);
    } finally {
      await other.close();
      await s.close();
      await first.close();
    }
  });
});

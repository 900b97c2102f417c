// The package's test harness as its users call it: startDevusers() and what it returns.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { client } from "@devrev/typescript-sdk";
import { startDevusers } from "../src/index.js";
import { createPgDatabase, testDialects } from "./helpers/databases.js";
import { SHADOW } from "./helpers/server.js";

const dialects = await testDialects();

describe("startDevusers()", () => {
  it("starts on an in-memory database and a free port, with a working admin token", async () => {
    await using devusers = await startDevusers();
    assert.equal(devusers.databaseUrl, ":memory:");
    assert.match(devusers.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const sdk = client.setup({ endpoint: devusers.url, token: devusers.adminToken });
    const self = await sdk.devUsersSelf();
    assert.equal(self.data.dev_user.email, "admin@example.com");
    assert.equal(self.data.dev_user.state, "active");
  });

  it("token() creates the user when needed, with the role asked for, and follows a role change", async () => {
    await using devusers = await startDevusers({ org: "acme", adminEmail: "root@acme.test" });
    const memberToken = await devusers.token("ann@acme.test");
    const member = client.setup({ endpoint: devusers.url, token: memberToken });
    assert.equal((await member.devUsersSelf()).data.dev_user.email, "ann@acme.test");
    const refused = await member.devUsersCreate({ email: "x@acme.test", state: SHADOW }).catch((e) => e.response);
    assert.equal(refused.status, 403);
    // The same user again, now an admin: the same row, a new token that may create users.
    const adminToken = await devusers.token("ann@acme.test", { role: "admin" });
    const admin = client.setup({ endpoint: devusers.url, token: adminToken });
    assert.equal((await admin.devUsersCreate({ email: "x@acme.test", state: SHADOW })).status, 201);
    const list = await admin.devUsersListPost({ email: ["ann@acme.test"] });
    assert.equal(list.data.dev_users.length, 1);
    // Another org: its first user is its admin.
    const other = client.setup({
      endpoint: devusers.url,
      token: await devusers.token("bo@beta.test", { org: "beta" }),
    });
    assert.equal((await other.devUsersCreate({ email: "y@beta.test", state: SHADOW })).status, 201);
    await assert.rejects(devusers.token("first@gamma.test", { org: "gamma", role: "member" }), /first is its admin/);
  });

  it("reset() empties the directory and keeps the admin token working", async () => {
    await using devusers = await startDevusers();
    const sdk = client.setup({ endpoint: devusers.url, token: devusers.adminToken });
    await sdk.devUsersCreate({ email: "gone@example.com", state: SHADOW });
    await devusers.token("member@example.com");
    assert.equal((await sdk.devUsersListPost({})).data.dev_users.length, 3);
    await devusers.reset();
    const after = await sdk.devUsersListPost({});
    assert.deepEqual(
      after.data.dev_users.map((u) => u.email),
      ["admin@example.com"],
    );
  });

  it("load() takes records or a file, all or none, and after reset() the same tokens work again", async () => {
    await using devusers = await startDevusers();
    const fixtures = [
      { display_id: "DEVU-10", email: "ann@example.com", full_name: "Ann", reports_to: "DEVU-11" },
      {
        display_id: "DEVU-11",
        email: "bo@example.com",
        role: "admin",
        external_identities: [{ issuer: "slack", id: "U11" }],
      },
    ];
    assert.deepEqual(await devusers.load(fixtures), { org: "default", created: 2, unchanged: 0, warnings: [] });
    assert.equal((await devusers.load(fixtures)).unchanged, 2);
    const annToken = await devusers.token("ann@example.com");
    const ann = client.setup({ endpoint: devusers.url, token: annToken });
    const self = (await ann.devUsersSelf()).data.dev_user;
    assert.equal(self.display_id, "DEVU-10");
    assert.equal(self.reports_to?.display_id, "DEVU-11");
    await assert.rejects(devusers.load([{ email: "x@example.com" }, { email: "bad" }]), /^FixtureError: item 2: email/);

    await devusers.reset();
    await assert.rejects(ann.devUsersSelf());
    const dir = mkdtempSync(join(tmpdir(), "devusers-harness-"));
    try {
      const path = join(dir, "users.jsonl");
      writeFileSync(path, fixtures.map((f) => JSON.stringify(f)).join("\n"));
      assert.equal((await devusers.load(path)).created, 2);
      // The token names the user by org and number, which the fixture's display_id gave again.
      assert.equal((await ann.devUsersSelf()).data.dev_user.email, "ann@example.com");
      const example = await devusers.load(new URL("../../examples/users.jsonl", import.meta.url).pathname, {
        org: "example",
      });
      assert.equal(example.created, 3);
      const noAdmin = await devusers.load([{ email: "solo@other.test" }], { org: "other" });
      assert.match(noAdmin.warnings[0] ?? "", /org other has no active admin/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("close() stops the service; closing twice is harmless", async () => {
    const devusers = await startDevusers();
    await devusers.close();
    await devusers.close();
    await assert.rejects(fetch(`${devusers.url}/healthz`));
  });

  for (const { dialect, skip } of dialects) {
    if (dialect !== "postgres") continue;
    it("runs on PostgreSQL when given its URL", { skip }, async () => {
      const db = await createPgDatabase();
      try {
        await using devusers = await startDevusers({ databaseUrl: db.url });
        const sdk = client.setup({ endpoint: devusers.url, token: devusers.adminToken });
        assert.equal((await sdk.devUsersSelf()).status, 200);
      } finally {
        await db.drop();
      }
    });
  }
});

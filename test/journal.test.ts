// The change journal: every write appends exactly one entry in its own transaction, through one
// place in the code, numbered per org in commit order; the audit log reads them back.
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { findDevUserByEmail } from "../src/db/repositories/dev-users.js";
import { findOrgBySlug } from "../src/db/repositories/orgs.js";
import { loadFixtures } from "../src/fixtures/load.js";
import { systemClock } from "../src/services/context.js";
import { emptyDirectory } from "../src/services/directory.js";
import { journalled, OPERATIONS } from "../src/services/journal.js";
import { testDialects } from "./helpers/databases.js";
import { SHADOW, startTestServer, type TestServer } from "./helpers/server.js";

const SRC = new URL("../../src/", import.meta.url).pathname;

/** Every entry of the org, oldest first, read through audit-logs.list page by page. */
async function allEntries(s: TestServer, token = s.adminToken): Promise<any[]> {
  const out: any[] = [];
  let cursor: string | undefined;
  for (;;) {
    const res = await s.http("POST", "/audit-logs.list", {
      token,
      body: { limit: 100, ...(cursor ? { cursor } : {}) },
    });
    assert.equal(res.status, 200, res.text);
    out.push(...res.body.audit_logs);
    cursor = res.body.next_cursor;
    if (!cursor) return out.reverse();
  }
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith(".ts") ? [path] : [];
  });
}

describe("the journal's one writer", () => {
  it("no code outside services/journal.ts opens a write transaction or writes an entry", () => {
    const offenders: string[] = [];
    for (const file of sourceFiles(SRC)) {
      const rel = file.slice(SRC.length);
      // The delivery worker's bookkeeping (deliveries, cursors, health) is not a directory change.
      if (rel.startsWith("db/") || rel === "services/journal.ts" || rel === "services/delivery-state.ts") continue;
      const text = readFileSync(file, "utf8");
      if (/writes\.run\(|\.transaction\(\)|appendJournalEntry/.test(text)) offenders.push(rel);
    }
    assert.deepEqual(offenders, [], "write transactions must go through journalled()");
  });
});

const PAT = "urn:devrev:params:oauth:token-type:pat";

for (const { dialect, skip } of await testDialects()) {
  describe(`change journal [${dialect}]`, { skip }, () => {
    let s: TestServer;
    before(async () => {
      s = await startTestServer({ dialect });
    });
    after(async () => {
      await s?.close();
    });

    /** Runs `write` and returns the entries it appended. */
    async function appended(write: () => Promise<unknown>): Promise<any[]> {
      const seen = (await allEntries(s)).length;
      await write();
      return (await allEntries(s)).slice(seen);
    }

    it("every write operation appends exactly one entry, naming its operation, actor, object and request", async () => {
      const admin = s.sdk();
      const adminDon = (await admin.devUsersSelf()).data.dev_user.id;
      const member = await s.user("journal-member@example.com");
      let userDon = "";
      let memberPat = "";
      let patId = "";
      let secondDon = "";
      let connection = { id: "", token: "" };
      let provisioned = "";
      const scimCall = async (method: string, path: string, body?: unknown) => {
        const res = await s.http(method, `/scim/v2${path}`, { token: connection.token, body });
        assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${res.text}`);
        return res;
      };
      const cases: { operation: string; actor?: string; object?: () => string; write: () => Promise<unknown> }[] = [
        {
          operation: "dev_users.create",
          object: () => userDon,
          write: async () => {
            userDon = (await admin.devUsersCreate({ email: "journal-a@example.com", state: SHADOW })).data.dev_user.id;
          },
        },
        {
          operation: "dev_users.update",
          object: () => userDon,
          write: () => admin.devUsersUpdate({ id: userDon, full_name: "Journal A" }),
        },
        {
          operation: "dev_users.self.update",
          actor: member.id,
          object: () => member.id,
          write: () => member.sdk.devUsersSelfUpdate({ job_title: "designer" as never }),
        },
        {
          operation: "dev_users.activate",
          object: () => userDon,
          write: () => admin.devUsersActivate({ id: userDon }),
        },
        {
          operation: "dev_users.identities.link",
          object: () => userDon,
          write: () => admin.devUsersIdentitiesLink({ dev_user: userDon, issuer: "slack", id: "UJ1" }),
        },
        {
          operation: "dev_users.identities.unlink",
          object: () => userDon,
          write: () => admin.devUsersIdentitiesUnlink({ dev_user: userDon, issuer: "slack" }),
        },
        {
          operation: "dev_users.deactivate",
          object: () => userDon,
          write: () => admin.devUsersDeactivate({ id: userDon }),
        },
        {
          operation: "dev_users.merge",
          object: () => userDon,
          write: async () => {
            secondDon = (await admin.devUsersCreate({ email: "journal-b@example.com", state: SHADOW })).data.dev_user
              .id;
            await admin.devUsersIdentitiesLink({ dev_user: secondDon, issuer: "github", id: "gh-b" });
            await admin.devUsersMerge({ primary_user: userDon, secondary_user: secondDon });
          },
        },
        {
          operation: "dev_users.role.set",
          actor: "cli",
          object: () => member.id,
          write: () => s.setRole("journal-member@example.com", "admin"),
        },
        {
          operation: "auth_tokens.create",
          actor: "cli",
          object: () => member.id,
          write: () => s.token("journal-member@example.com"),
        },
        {
          operation: "auth_tokens.create",
          actor: member.id,
          object: () => member.id,
          write: async () => {
            const made = await member.sdk.authTokensCreate({ requested_token_type: PAT as never, token_hint: "j" });
            memberPat = made.data.access_token;
            patId = (await member.sdk.authTokensList()).data.tokens.find((t) => t.token_hint === "j")!.id;
          },
        },
        {
          operation: "auth_tokens.update",
          actor: member.id,
          object: () => member.id,
          write: () => member.sdk.authTokensUpdate({ token_id: patId, token_hint: "journal" }),
        },
        {
          operation: "auth_tokens.delete",
          actor: member.id,
          object: () => member.id,
          write: () => s.sdk(memberPat).authTokensDelete({}),
        },
        {
          operation: "scim_connections.create",
          object: () => connection.id,
          write: async () => {
            const made = await s.http("POST", "/scim-connections.create", { body: { issuer: "journal-idp" } });
            connection = { id: made.body.scim_connection.id, token: made.body.token };
          },
        },
        {
          operation: "dev_users.scim.create",
          actor: "connection",
          object: () => provisioned,
          write: async () => {
            const res = await scimCall("POST", "/Users", { userName: "journal-scim@example.com", externalId: "j-1" });
            provisioned = (await s.sdk().devUsersGet({ id: res.body.id })).data.dev_user.id;
          },
        },
        {
          operation: "dev_users.scim.update",
          actor: "connection",
          object: () => provisioned,
          write: () =>
            scimCall("PATCH", `/Users/DEVU-${provisioned.split("/").pop()}`, {
              Operations: [{ op: "replace", path: "displayName", value: "Journalled" }],
            }),
        },
        {
          operation: "dev_users.scim.delete",
          actor: "connection",
          object: () => provisioned,
          write: () => scimCall("DELETE", `/Users/DEVU-${provisioned.split("/").pop()}`),
        },
        {
          operation: "scim_connections.update",
          object: () => connection.id,
          write: () => s.http("POST", "/scim-connections.update", { body: { id: connection.id, rotate_token: true } }),
        },
        {
          operation: "scim_connections.delete",
          object: () => connection.id,
          write: () => s.http("POST", "/scim-connections.delete", { body: { id: connection.id } }),
        },
      ];
      // Every operation of the API, SCIM and the CLI on users, tokens and SCIM connections is among
      // the cases (webhooks' and the harness's are in their own suites).
      const covered = new Set(cases.map((c) => c.operation));
      for (const op of Object.keys(OPERATIONS).filter((o) => /^(dev_users|auth_tokens|scim_connections)\./.test(o)))
        assert.ok(covered.has(op), `${op} has no case`);
      for (const c of cases) {
        const entries = await appended(c.write);
        const mine = entries.filter((e) => e.operation === c.operation);
        assert.equal(mine.length, 1, `${c.operation}: ${JSON.stringify(entries.map((e) => e.operation))}`);
        const e = mine[0];
        const actor = c.actor === "connection" ? connection.id : (c.actor ?? adminDon);
        if (actor === "cli") assert.deepEqual(e.actor, { type: "cli" });
        else assert.equal(e.actor.id, actor, c.operation);
        if (c.actor === "connection") assert.equal(e.actor.type, "scim_connection", c.operation);
        if (c.object) assert.equal(e.object.id, c.object(), c.operation);
        if (actor !== "cli") assert.match(e.request_id, /^[0-9a-f-]{36}$/, c.operation);
        assert.ok(Date.parse(e.timestamp) > 0);
      }
    });

    it("records the object before and after, and a merge both users", async () => {
      const admin = s.sdk();
      const u = (await admin.devUsersCreate({ email: "journal-c@example.com", state: SHADOW })).data.dev_user;
      const linkEntries = await appended(() =>
        admin.devUsersIdentitiesLink({ dev_user: u.id, issuer: "okta", id: "00u1", display_name: "C" }),
      );
      const link = linkEntries[0];
      assert.deepEqual(link.before.external_identities, []);
      assert.deepEqual(link.after.external_identities, [
        { issuer: "okta", id: "00u1", display_name: "C", is_verified: false },
      ]);
      assert.equal(link.before.modified_date, u.modified_date, "before is the user as it was");
      const now = (await admin.devUsersGet({ id: u.id })).data.dev_user;
      assert.deepEqual(link.after, now, "after is what the API answers");
      const v = (await admin.devUsersCreate({ email: "journal-d@example.com", state: SHADOW })).data.dev_user;
      await admin.devUsersIdentitiesLink({ dev_user: v.id, issuer: "jira", id: "J-D" });
      const [merge] = await appended(() => admin.devUsersMerge({ primary_user: u.id, secondary_user: v.id }));
      assert.equal(merge.related_object.id, v.id);
      assert.deepEqual(
        merge.after.external_identities.map((i: any) => i.issuer),
        ["okta", "jira"],
      );
      assert.equal(merge.details.secondary_user.before.external_identities.length, 1);
      assert.deepEqual(merge.details.secondary_user.after.external_identities, []);
      assert.equal(merge.details.secondary_user.after.state, "deactivated");
      // The secondary's audit trail includes the merge.
      const res = await s.http("GET", `/audit-logs.list?object=${encodeURIComponent(v.id)}`);
      assert.deepEqual(
        res.body.audit_logs.map((e: any) => e.operation),
        ["dev_users.merge", "dev_users.identities.link", "dev_users.create"],
      );
    });

    it("stores users compactly and renders every field back as the API answered it", async () => {
      const admin = s.sdk();
      const deps = { db: s.running.db, now: systemClock };
      await loadFixtures(deps, s.org, [
        { email: "journal-boss@example.com", state: "active", full_name: "The Boss" },
        {
          email: "journal-full@example.com",
          state: "active",
          display_name: "full",
          full_name: "Full Fields",
          job_title: "tech_lead",
          experience_start_date: "2015-06-01T00:00:00.000Z",
          timezone: "Europe/London",
          reports_to: "journal-boss@example.com",
          created_by: "journal-boss@example.com",
          phone_numbers: ["+441234567"],
          skills: [{ name: "math" }],
          custom_fields: { team: "engines", tags: ["a"], nested: { on: true } },
          job_history: [{ employment_status: "full_time", start_date: "2020-01-01T00:00:00.000Z", is_current: true }],
          availability_modes: ["available"],
          external_identities: [{ issuer: "slack", id: "UFULL", display_name: "f", is_verified: true }],
        },
      ]);
      const found = await admin.devUsersList({ email: ["journal-full@example.com"] } as never);
      const loaded = found.data.dev_users[0]!;
      const [update] = await appended(() => admin.devUsersUpdate({ id: loaded.id, full_name: "Full Fields Two" }));
      const updated = (await admin.devUsersGet({ id: loaded.id })).data.dev_user;
      assert.ok(updated.reports_to && updated.created_by && updated.modified_by && updated.job_history?.length);
      assert.deepEqual(update.before, loaded, "before is the user as the API answered it");
      assert.deepEqual(update.after, updated, "after is what the API answers, every field included");
      const [link] = await appended(() =>
        admin.devUsersIdentitiesLink({ dev_user: loaded.id, issuer: "okta", id: "00uFULL" }),
      );
      assert.deepEqual(link.before, updated, "a diff renders back into the user as it was");
      assert.deepEqual(link.after, (await admin.devUsersGet({ id: loaded.id })).data.dev_user);
      // What the row holds: the user's own fields, and the users it names by number only.
      const row = await s.running.db.kysely
        .selectFrom("journal")
        .select(["after"])
        .where("seq", "=", update.seq)
        .executeTakeFirstOrThrow();
      assert.ok(!row.after!.includes(updated.reports_to!.id), "no summary of the users it names is stored");
      const wire = JSON.stringify(updated).length;
      assert.ok(row.after!.length < wire * 0.7, `${row.after!.length} bytes stored for ${wire} on the wire`);
    });

    it("a refused write leaves no entry, and one that fails after recording rolls its entry back", async () => {
      const admin = s.sdk();
      const u = (await admin.devUsersCreate({ email: "journal-e@example.com", state: SHADOW })).data.dev_user;
      await admin.devUsersIdentitiesLink({ dev_user: u.id, issuer: "slack", id: "U-E" });
      await admin.devUsersActivate({ id: u.id });
      const refused = await appended(async () => {
        const dup = await s.http("POST", "/dev-users.create", {
          body: { email: "journal-e@example.com", state: "shadow" },
        });
        assert.equal(dup.status, 409);
        const taken = await s.http("POST", "/dev-users.identities.link", {
          body: { dev_user: u.id, issuer: "slack", id: "U-E" },
        });
        assert.equal(taken.status, 400);
        // Activating an active user changes nothing, so nothing is recorded.
        const again = await s.http("POST", "/dev-users.activate", { body: { id: u.id } });
        assert.equal(again.status, 200, again.text);
      });
      assert.deepEqual(refused, []);
      const deps = { db: s.running.db, now: systemClock };
      const before = (await allEntries(s)).length;
      const self = (await s.sdk().devUsersSelf()).data.dev_user;
      const caller = {
        userId: 1,
        orgId: 1,
        org: s.org,
        role: "admin" as const,
        row: { number: Number(self.display_id?.slice(5)) },
      };
      await assert.rejects(
        journalled(deps, caller as never, async (_trx, journal) => {
          await journal.record({ operation: "dev_users.update", object: { type: "dev_user", id: 1 } });
          throw new Error("fails after recording");
        }),
        /fails after recording/,
      );
      await assert.rejects(
        journalled(deps, caller as never, async () => "forgot to record"),
        /recorded no journal entry/,
      );
      assert.equal((await allEntries(s)).length, before);
    });

    it("numbers an org's entries 1, 2, 3, ... in commit order, under twenty concurrent writers", async () => {
      const admin = s.sdk();
      const u = (await admin.devUsersCreate({ email: "journal-f@example.com", state: SHADOW })).data.dev_user;
      const entries = await appended(() =>
        Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            admin.devUsersIdentitiesLink({ dev_user: u.id, issuer: `iss-${i}`, id: `id-${i}` }),
          ),
        ),
      );
      assert.equal(entries.length, 20);
      const all = await allEntries(s);
      assert.deepEqual(
        all.map((e) => e.seq),
        all.map((_, i) => i + 1),
        "no gaps, no repeats",
      );
      // Each entry's after holds every identity committed before it: seq order is commit order.
      assert.deepEqual(
        entries.map((e) => e.after.external_identities.length),
        entries.map((_, i) => i + 1),
      );
    });

    it("journals a fixture load as one entry, and a reset starts the journal again", async () => {
      const deps = { db: s.running.db, now: systemClock };
      const [load] = await appended(() =>
        loadFixtures(deps, s.org, [{ email: "journal-load@example.com", state: "active" }]),
      );
      assert.equal(load.operation, "directory.load");
      assert.deepEqual(load.details, { created: 1, unchanged: 0 });
      assert.deepEqual(load.actor, { type: "cli" });
      await emptyDirectory(deps);
      // The admin is gone with everything else: read the journal straight from the service.
      const { auditEntriesSince } = await import("../src/services/audit.js");
      const left = await auditEntriesSince(deps, s.org, 0, 10);
      assert.deepEqual(
        left?.map((e) => [e.seq, e.operation, e.actor.type]),
        [[1, "directory.reset", "system"]],
      );
      // A write batched with a reset (SQLite's group commit) and before it leaves no entry behind.
      await Promise.all([
        loadFixtures(deps, s.org, [{ email: "journal-batched@example.com", state: "active" }]),
        emptyDirectory(deps),
      ]);
      // The journal tells the same story as the directory: the load's entry is there exactly when
      // its user is (on SQLite they share a batch, and the reset comes last; on PostgreSQL either
      // may commit first).
      const ops = (await auditEntriesSince(deps, s.org, 0, 10))?.map((e) => e.operation);
      const org = await findOrgBySlug(s.running.db.kysely, s.org);
      const loaded = await findDevUserByEmail(s.running.db.kysely, org!.id, "journal-batched@example.com");
      assert.deepEqual(ops, loaded ? ["directory.reset", "directory.load"] : ["directory.reset"]);
      if (dialect === "sqlite") assert.equal(loaded, undefined);
    });
  });
}

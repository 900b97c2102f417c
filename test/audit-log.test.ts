// audit-logs.list and audit-logs.fetch through HTTP: admin-only, org-scoped, filtered and paged,
// every body as /openapi.json describes it; and `devusers audit` on the command line.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { Ajv } from "ajv";
import { findOrgBySlug } from "../src/db/repositories/orgs.js";
import { systemClock } from "../src/services/context.js";
import { journalled } from "../src/services/journal.js";
import { testDialects } from "./helpers/databases.js";
import { assertError, SHADOW, startTestServer, type TestServer } from "./helpers/server.js";

const BIN = new URL("../../bin/devusers.js", import.meta.url).pathname;

for (const { dialect, skip } of await testDialects()) {
  describe(`audit log [${dialect}]`, { skip }, () => {
    let s: TestServer;
    let user: string;
    let memberToken: string;
    let validateList: (body: unknown) => boolean;
    const ajv = new Ajv({ strict: false, allErrors: true });

    before(async () => {
      s = await startTestServer({ dialect });
      const admin = s.sdk();
      user = (await admin.devUsersCreate({ email: "audited@example.com", state: SHADOW })).data.dev_user.id;
      await admin.devUsersIdentitiesLink({ dev_user: user, issuer: "slack", id: "U-AUD" });
      await admin.devUsersUpdate({ id: user, full_name: "Audited" });
      await admin.devUsersIdentitiesUnlink({ dev_user: user, issuer: "slack" });
      memberToken = (await s.user("audit-member@example.com")).token;
      const doc = (await s.http("GET", "/openapi.json", { token: null })).body;
      const schema = doc.paths["/audit-logs.list"].post.responses["200"].content["application/json"].schema;
      validateList = ajv.compile(schema);
    });
    after(async () => {
      await s?.close();
    });

    const list = async (query: string, token?: string) => {
      const res = await s.http("GET", `/audit-logs.list${query}`, { token });
      if (res.status === 200) assert.ok(validateList(res.body), JSON.stringify(ajv.errors));
      return res;
    };

    it("is for admins only", async () => {
      assertError(await list("", memberToken), 403, "forbidden");
      assertError(
        await s.http("POST", "/audit-logs.fetch", {
          token: memberToken,
          body: { from: "2026-01-01T00:00:00Z", to: "2030-01-01T00:00:00Z" },
        }),
        403,
        "forbidden",
      );
    });

    it("filters by object (DON or display id), actor, operation, operation type, category and dates", async () => {
      const byDon = await list(`?object=${encodeURIComponent(user)}`);
      assert.deepEqual(
        byDon.body.audit_logs.map((e: any) => e.operation),
        ["dev_users.identities.unlink", "dev_users.update", "dev_users.identities.link", "dev_users.create"],
      );
      const display = `DEVU-${user.split("/").pop()}`;
      assert.deepEqual((await list(`?object=${display}`)).body, byDon.body);
      const self = (await s.sdk().devUsersSelf()).data.dev_user.id;
      const byAdmin = (await list(`?actor=${encodeURIComponent(self)}`)).body.audit_logs;
      assert.ok(byAdmin.length >= 4 && byAdmin.every((e: any) => e.actor.id === self));
      const byCli = (await list("?actor=cli")).body.audit_logs;
      assert.ok(byCli.length > 0 && byCli.every((e: any) => e.actor.type === "cli"));
      const links = (await list("?operation=dev_users.identities.link,dev_users.identities.unlink")).body.audit_logs;
      assert.deepEqual(
        links.map((e: any) => e.operation),
        ["dev_users.identities.unlink", "dev_users.identities.link"],
      );
      const creates = (await list("?operation_types=create&categories=dev_users")).body.audit_logs;
      assert.ok(creates.length > 0 && creates.every((e: any) => e.operation === "dev_users.create"));
      assert.deepEqual((await list("?operation_types=read")).body.audit_logs, []);
      const all = (await list("")).body.audit_logs;
      const from = all.at(-1).timestamp;
      assert.equal((await list(`?from=${from}&to=${from}`)).body.audit_logs.at(-1).seq, all.at(-1).seq);
      assert.deepEqual((await list("?from=2999-01-01T00:00:00Z")).body.audit_logs, []);
      const post = await s.http("POST", "/audit-logs.list", {
        body: { object: user, operation: ["dev_users.update"] },
      });
      assert.equal(post.status, 200);
      assert.deepEqual(
        post.body.audit_logs.map((e: any) => e.operation),
        ["dev_users.update"],
      );
    });

    it("pages by cursor, newest first, both ways", async () => {
      const all = (await list("?limit=100")).body.audit_logs.map((e: any) => e.seq);
      assert.deepEqual(
        all,
        [...all].sort((a: number, b: number) => b - a),
      );
      const seen: number[] = [];
      let page = await list("?limit=2");
      let lastStart = 0;
      for (;;) {
        lastStart = seen.length;
        seen.push(...page.body.audit_logs.map((e: any) => e.seq));
        if (!page.body.next_cursor) break;
        page = await list(`?limit=2&cursor=${page.body.next_cursor}`);
      }
      assert.deepEqual(seen, all);
      assert.ok(lastStart >= 2);
      const back = await list(`?limit=2&cursor=${page.body.prev_cursor}`);
      assert.deepEqual(
        back.body.audit_logs.map((e: any) => e.seq),
        seen.slice(lastStart - 2, lastStart),
        "the page before the last",
      );
    });

    it("finds an object's entries across blocks of the index, paging both ways", async () => {
      // The object index is kept per block of 64 entries, and one statement seeks 64 blocks: spread
      // a user's entries over several blocks and over several statements' spans (4,096 entries).
      const admin = s.sdk();
      const deps = { db: s.running.db, now: systemClock };
      const orgId = (await findOrgBySlug(s.running.db.kysely, s.org))!.id;
      // Entries about something else, written in-process: as many through HTTP would take minutes.
      const filler = (n: number) =>
        journalled(deps, { actor: { type: "system" }, orgId }, async (_trx, journal) => {
          for (let i = 0; i < n; i++)
            await journal.record({ operation: "webhooks.redeliver", object: { type: "webhook", id: 1 } });
        });
      const busy = (await admin.devUsersCreate({ email: "audit-busy@example.com", state: SHADOW })).data.dev_user.id;
      const rare = (await admin.devUsersCreate({ email: "audit-rare@example.com", state: SHADOW })).data.dev_user.id;
      const mine: number[] = [];
      for (let round = 0; round < 5; round++) {
        await filler(1700);
        // And another user's, through the API, as they come.
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            s.http("POST", "/dev-users.update", { body: { id: busy, full_name: `Busy ${round}-${i}` } }),
          ),
        );
        assert.ok(
          results.every((r) => r.status === 200),
          JSON.stringify(results.map((r) => r.status)),
        );
        const res = await s.http("POST", "/dev-users.update", { body: { id: rare, full_name: `Rare ${round}` } });
        assert.equal(res.status, 200);
        const [entry] = (await list(`?object=${encodeURIComponent(rare)}&limit=1`)).body.audit_logs;
        mine.push(entry.seq);
      }
      assert.ok(new Set(mine.map((seq) => Math.floor(seq / 4096))).size >= 3, `entries in three spans: ${mine}`);
      const seen: number[] = [];
      let res = await list(`?object=${encodeURIComponent(rare)}&limit=2`);
      for (;;) {
        seen.push(...res.body.audit_logs.map((e: any) => e.seq));
        if (!res.body.next_cursor) break;
        res = await list(
          `?object=${encodeURIComponent(rare)}&limit=2&cursor=${encodeURIComponent(res.body.next_cursor)}`,
        );
      }
      const created = seen.at(-1)!;
      assert.deepEqual(seen, [...[...mine].reverse(), created], "newest first, then its create");
      const back = await list(
        `?object=${encodeURIComponent(rare)}&limit=2&cursor=${encodeURIComponent(res.body.prev_cursor)}`,
      );
      assert.deepEqual(
        back.body.audit_logs.map((e: any) => e.seq),
        seen.slice(-4, -2),
        "prev_cursor reads back towards newer entries",
      );
    });

    it("refuses bad filters with a 400 naming the field", async () => {
      assertError(await list("?limit=0"), 400, "value_not_permitted", { field_name: "limit" });
      assertError(await list("?operation=dev_users.explode"), 400, "invalid_enum_value", {
        field_name: "operation[0]",
      });
      assertError(await list("?from=yesterday"), 400, "value_not_permitted", { field_name: "from" });
      assertError(await list("?object=DEVU-0"), 400, "invalid_id", { field_name: "object" });
      assertError(await list("?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z"), 400, "value_not_permitted", {
        field_name: "to",
      });
      const users = await s.http("GET", "/dev-users.list?limit=1");
      assertError(await list(`?cursor=${users.body.next_cursor}`), 400, "value_not_permitted", {
        field_name: "cursor",
      });
    });

    it("accepts DevRev's audit-logs.fetch request, as the beta spec has it", async () => {
      const ok = await s.http("POST", "/audit-logs.fetch", {
        body: {
          from: "2026-01-01T00:00:00.000Z",
          to: "2030-01-01T00:00:00.000Z",
          categories: ["dev_users"],
          operation_types: ["create", "update"],
        },
      });
      assert.equal(ok.status, 200, ok.text);
      assert.deepEqual(ok.body, {});
      assertError(
        await s.http("POST", "/audit-logs.fetch", { body: { to: "2030-01-01T00:00:00Z" } }),
        400,
        "missing_required_field",
        { field_name: "from" },
      );
      assertError(
        await s.http("POST", "/audit-logs.fetch", {
          body: { from: "2026-01-01T00:00:00Z", to: "2030-01-01T00:00:00Z", operation_types: ["explode"] },
        }),
        400,
        "invalid_enum_value",
      );
    });

    it("keeps each org's log to itself", async () => {
      const other = await startTestServer({ dialect, databaseUrl: s.databaseUrl, org: "elsewhere" });
      try {
        const theirs = await other.http("GET", "/audit-logs.list?limit=100");
        assert.equal(theirs.status, 200);
        assert.ok(theirs.body.audit_logs.every((e: any) => e.object.id.includes("devo/elsewhere")));
        // Another org's DON names no user here, as everywhere in the API.
        assertError(await other.http("GET", `/audit-logs.list?object=${encodeURIComponent(user)}`), 404, "not_found");
      } finally {
        await other.close();
      }
    });

    if (dialect === "sqlite") {
      it("devusers audit prints JSON lines, and --follow prints what is committed next", async () => {
        const child = spawn(process.execPath, [BIN, "audit", "--follow"], {
          env: { ...process.env, DATABASE_URL: s.databaseUrl },
          stdio: ["ignore", "pipe", "inherit"],
        });
        let out = "";
        child.stdout.on("data", (d: Buffer) => {
          out += d.toString();
        });
        // Whole lines only: a chunk may end inside one.
        const lines = () =>
          out
            .slice(0, out.lastIndexOf("\n") + 1)
            .split("\n")
            .filter(Boolean)
            .map((l) => JSON.parse(l));
        const until = async (ok: () => boolean) => {
          for (let i = 0; i < 400 && !ok(); i++) await new Promise((r) => setTimeout(r, 25));
          assert.ok(ok(), out);
        };
        try {
          await until(() => lines().some((e) => e.operation === "dev_users.identities.unlink"));
          const seqs = lines().map((e) => e.seq);
          assert.deepEqual(
            seqs,
            seqs.map((_, i) => i + 1),
            "oldest first, every entry",
          );
          await s.sdk().devUsersUpdate({ id: user, full_name: "Followed" });
          await until(() => lines().some((e) => e.after?.full_name === "Followed"));
        } finally {
          child.kill("SIGINT");
          await new Promise((r) => child.once("exit", r));
        }
      });
    }
  });
}

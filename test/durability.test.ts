// kill -9 during a stream of links loses nothing that was acknowledged, nor its journal entry.
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { copyFileSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { createPgDatabase, testDialects } from "./helpers/databases.js";
import { startReceiver } from "./helpers/receiver.js";
import { SHADOW, startTestServer } from "./helpers/server.js";

const BIN = new URL("../../bin/devusers.js", import.meta.url).pathname;

function cli(env: NodeJS.ProcessEnv, ...args: string[]): string {
  return execFileSync(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, encoding: "utf8" }).trim();
}

async function startChild(
  env: NodeJS.ProcessEnv,
): Promise<{ child: ChildProcess; url: string; exited: Promise<unknown> }> {
  const child = spawn(process.execPath, [BIN, "serve"], {
    env: { ...process.env, ...env, PORT: "0", LOG_LEVEL: "info", RATE_LIMIT_MAX: "1000000" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const url = await new Promise<string>((resolve, reject) => {
    let buf = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      buf += chunk.toString();
      const m = /"url":"(http:\/\/[^"]+)"/.exec(buf);
      if (m) resolve(m[1]!);
    });
    child.once("exit", (code) => reject(new Error(`server exited early with ${code}`)));
  });
  child.stdout!.resume();
  return { child, url, exited };
}

/** A new empty database of the dialect, removed by `cleanups`. */
async function freshDatabase(dialect: string, cleanups: (() => Promise<void> | void)[]): Promise<string> {
  if (dialect === "postgres") {
    const pg = await createPgDatabase();
    cleanups.push(pg.drop);
    return pg.url;
  }
  const dir = mkdtempSync(join(tmpdir(), "devusers-kill-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, "db.sqlite");
}

async function post(url: string, token: string, path: string, body: unknown) {
  const res = await fetch(url + path, {
    method: "POST",
    headers: { authorization: token, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}

for (const { dialect, skip } of await testDialects()) {
  describe(`durability [${dialect}]`, { skip }, () => {
    const cleanups: (() => Promise<void> | void)[] = [];
    after(async () => {
      for (const c of cleanups.reverse()) await c();
    });

    it("keeps every acknowledged link across kill -9", async () => {
      const env = { DATABASE_URL: await freshDatabase(dialect, cleanups) };
      const token = cli(env, "token", "create", "--email", "admin@example.com");
      const first = await startChild(env);
      cleanups.push(() => {
        first.child.kill("SIGKILL");
      });
      const created = await post(first.url, token, "/dev-users.create", {
        email: "target@example.com",
        state: "shadow",
      });
      assert.equal(created.status, 201);
      const target = created.body.dev_user.id as string;

      // Four writers stream links until the process dies under them.
      const acked: number[] = [];
      let next = 0;
      let killed = false;
      const writer = async () => {
        while (!killed) {
          const k = next++;
          try {
            const res = await post(first.url, token, "/dev-users.identities.link", {
              dev_user: target,
              issuer: `issuer-${k}`,
              id: `id-${k}`,
            });
            if (res.status === 200) acked.push(k);
          } catch {
            return; // connection reset by the kill
          }
        }
      };
      const writers = [writer(), writer(), writer(), writer()];
      while (acked.length < 150) await new Promise((r) => setTimeout(r, 5));
      first.child.kill("SIGKILL");
      killed = true;
      await Promise.all(writers);
      await first.exited;

      const second = await startChild(env);
      cleanups.push(() => {
        second.child.kill("SIGKILL");
      });
      const res = await fetch(`${second.url}/dev-users.get?id=${encodeURIComponent(target)}`, {
        headers: { authorization: token },
      });
      assert.equal(res.status, 200);
      const user = ((await res.json()) as any).dev_user;
      const stored = new Set((user.external_identities as { issuer: string }[]).map((i) => i.issuer));
      const lost = acked.filter((k) => !stored.has(`issuer-${k}`));
      assert.ok(acked.length >= 150);
      assert.deepEqual(lost, [], `acknowledged links lost after kill -9: ${lost.length} of ${acked.length}`);
      // Every link that survived has its journal entry, and no entry is without its link.
      const journalled = new Set<string>();
      let cursor: string | undefined;
      do {
        const page = await post(second.url, token, "/audit-logs.list", {
          object: target,
          operation: ["dev_users.identities.link"],
          limit: 100,
          ...(cursor ? { cursor } : {}),
        });
        assert.equal(page.status, 200);
        for (const e of page.body.audit_logs) journalled.add(e.details.issuer);
        cursor = page.body.next_cursor;
      } while (cursor);
      const unjournalled = [...stored].filter((issuer) => !journalled.has(issuer));
      assert.deepEqual(unjournalled, [], "links without their journal entry after kill -9");
      assert.deepEqual(
        [...journalled].filter((issuer) => !stored.has(issuer)),
        [],
        "journal entries without their link after kill -9",
      );
    });
  });
}

for (const { dialect, skip } of await testDialects()) {
  describe(`webhook deliveries across kill -9 [${dialect}]`, { skip }, () => {
    it("an event committed but not yet delivered when the process dies arrives after the restart", async () => {
      const cleanups: (() => Promise<void> | void)[] = [];
      try {
        const databaseUrl = await freshDatabase(dialect, cleanups);
        const rx = await startReceiver();
        cleanups.push(() => rx.close());
        const env = { DATABASE_URL: databaseUrl, WEBHOOK_RETRY_BASE_MS: "50", WEBHOOK_TIMEOUT_MS: "1000" };
        const token = cli(env, "token", "create", "--email", "admin@example.com");
        const first = await startChild(env);
        cleanups.push(() => {
          first.child.kill("SIGKILL");
        });
        const hook = await post(first.url, token, "/webhooks.create", {
          url: rx.url,
          event_types: ["dev_user_created"],
        });
        assert.equal(hook.status, 201);
        await rx.waitFor(() => rx.received.some((r) => r.json.type === "verify"), "the verify event");
        for (;;) {
          const w = await post(first.url, token, "/webhooks.get", { id: hook.body.webhook.id });
          if (w.body.webhook.status === "active") break;
          await new Promise((r) => setTimeout(r, 20));
        }
        // The receiver is down: every event is committed, none delivered, when the process dies.
        rx.status = 503;
        const emails = Array.from({ length: 10 }, (_, i) => `killed-${i}@example.com`);
        for (const email of emails) {
          assert.equal((await post(first.url, token, "/dev-users.create", { email, state: "shadow" })).status, 201);
        }
        first.child.kill("SIGKILL");
        await first.exited;
        rx.status = 200;
        const second = await startChild(env);
        cleanups.push(() => {
          second.child.kill("SIGKILL");
        });
        const got = () =>
          new Set(
            rx.received
              .filter((r) => r.json.type === "dev_user_created" && r.answered === 200)
              .map((r) => r.json.dev_user_created.dev_user.email),
          );
        // What the dead process had taken is taken again once its lease (timeout + 5 s) ends.
        await rx.waitFor(() => emails.every((e) => got().has(e)), "every event after the restart", 30_000);
      } finally {
        for (const c of cleanups.reverse()) await c();
      }
    });
  });
}

describe("a clean stop on SQLite", () => {
  it("leaves everything in the database file: no WAL is left behind", async () => {
    const dir = mkdtempSync(join(tmpdir(), "devusers-stop-"));
    try {
      const file = join(dir, "db.sqlite");
      const s = await startTestServer({ databaseUrl: file });
      const u = await s.sdk().devUsersCreate({ email: "kept@example.com", state: SHADOW });
      await s.sdk().devUsersIdentitiesLink({ dev_user: u.data.dev_user.id, issuer: "slack", id: "U-KEPT" });
      await s.close();
      assert.deepEqual(readdirSync(dir), ["db.sqlite"]);
      // The file alone has it all.
      const copy = join(dir, "copy.sqlite");
      copyFileSync(file, copy);
      const again = await startTestServer({ databaseUrl: copy });
      try {
        const found = await again
          .sdk()
          .devUsersList({ "external_identity.issuer": "slack", "external_identity.id": "U-KEPT" });
        assert.equal(found.data.dev_users[0]?.email, "kept@example.com");
      } finally {
        await again.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

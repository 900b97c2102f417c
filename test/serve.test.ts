// `devusers serve` as a new user starts it: settings refused in words naming them, a startup line
// that says what runs where, a failed start that leaves nothing behind, one server per SQLite
// file, a bootstrap admin's token without the CLI, a reset a harness may turn on, and Ctrl-C
// under npm.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { client } from "@devrev/typescript-sdk";
import { createPgDatabase, skipUnlessPostgres } from "./helpers/databases.js";
import { runCli, type ServeProcess, startServe } from "./helpers/processes.js";
import { SHADOW } from "./helpers/server.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "devusers-serve-"));
let n = 0;
const freshPath = () => join(dir, `db-${++n}.sqlite`);
const startupLine = (output: string) =>
  JSON.parse(output.split("\n").find((l) => l.includes('"devusers listening"'))!) as Record<string, any>;
const stop = async (p: ServeProcess) => {
  p.child.kill("SIGINT");
  return p.exited;
};

describe("devusers serve", () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("refuses bad settings with a message naming the variable, and exits 1", async () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ PORT: "70000" }, /PORT must be an integer from 0 to 65535, got "70000"/],
      [{ LOG_LEVEL: "bogus" }, /LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "bogus"/],
      [{ DATABASE_URL: "mysql://root@localhost/db" }, /DATABASE_URL: "mysql:" is not a database this service runs on/],
      [{ DATABASE_URL: "postgress://postgres@127.0.0.1/test" }, /DATABASE_URL: "postgress:"/],
      [{ DEVUSERS_ALLOW_RESET: "maybe" }, /DEVUSERS_ALLOW_RESET must be true or false/],
    ];
    for (const [env, message] of cases) {
      const res = await runCli(["serve"], { DATABASE_URL: freshPath(), PORT: "0", ...env });
      assert.equal(res.code, 1, `${JSON.stringify(env)}: ${res.stderr}`);
      assert.match(res.stderr, message);
      assert.doesNotMatch(res.stderr, /\n\s+at /, "no stack trace");
    }
  });

  it("names the version, the URL and the SQLite file on its startup line", async () => {
    const path = freshPath();
    const server = await startServe({ DATABASE_URL: path });
    const line = startupLine(server.output());
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
    assert.equal(line.version, pkg.version);
    assert.equal(line.url, server.url);
    assert.equal(line.database, "sqlite");
    assert.equal(line.path, path);
    assert.equal(await stop(server), 0);
  });

  it("names PostgreSQL's host and database on its startup line, never the password", async (t) => {
    const skip = await skipUnlessPostgres();
    if (skip) return t.skip(skip);
    const db = await createPgDatabase();
    try {
      const url = new URL(db.url);
      url.password = "hunter2-secret";
      const server = await startServe({ DATABASE_URL: url.toString() });
      const line = startupLine(server.output());
      assert.equal(line.database, "postgres");
      assert.equal(line.host, url.hostname);
      assert.equal(line.name, url.pathname.slice(1));
      assert.doesNotMatch(server.output(), /hunter2/);
      assert.equal(await stop(server), 0);
    } finally {
      await db.drop();
    }
  });

  it("leaves no -wal or -shm file behind when its port is taken", async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    const port = (holder.address() as { port: number }).port;
    try {
      const path = freshPath();
      const res = await runCli(["serve"], { DATABASE_URL: path, PORT: String(port), HOST: "127.0.0.1" });
      assert.equal(res.code, 1, res.stderr);
      assert.match(res.stderr, new RegExp(`port ${port} on 127.0.0.1 is already in use`));
      assert.ok(existsSync(path), "the database was made");
      assert.ok(!existsSync(`${path}-wal`), "no -wal");
      assert.ok(!existsSync(`${path}-shm`), "no -shm");
    } finally {
      holder.close();
    }
  });

  it("refuses a second serve on the same SQLite file, while the CLI still works beside the first", async () => {
    const path = freshPath();
    const first = await startServe({ DATABASE_URL: path });
    try {
      const second = await runCli(["serve"], { DATABASE_URL: path, PORT: "0" });
      assert.equal(second.code, 1, second.stderr);
      assert.match(second.stderr, /another devusers serve is already running on/);
      const token = await runCli(["token", "create", "--email", "admin@example.com"], { DATABASE_URL: path });
      assert.equal(token.code, 0, token.stderr);
      const self = await fetch(`${first.url}/dev-users.self`, { headers: { authorization: token.stdout.trim() } });
      assert.equal(self.status, 200);
    } finally {
      assert.equal(await stop(first), 0);
    }
    // Once the first is gone, the file is free again.
    const again = await startServe({ DATABASE_URL: path });
    assert.equal(await stop(again), 0);
  });

  it("creates a bootstrap admin on an empty in-memory directory and prints its token once", async () => {
    const server = await startServe({ DATABASE_URL: ":memory:", DEVUSERS_BOOTSTRAP_ADMIN: "boot@example.com" });
    try {
      const line = startupLine(server.output());
      assert.equal(line.path, ":memory:");
      assert.equal(line.bootstrap_admin, "boot@example.com");
      const sdk = client.setup({ endpoint: server.url, token: line.bootstrap_token });
      const self = await sdk.devUsersSelf();
      assert.equal(self.data.dev_user.email, "boot@example.com");
    } finally {
      assert.equal(await stop(server), 0);
    }
  });

  it("writes the bootstrap token to a file (mode 0600) instead of the log, and mints none for an org with users", async () => {
    const path = freshPath();
    const tokenFile = join(dir, "token.txt");
    const env = {
      DATABASE_URL: path,
      DEVUSERS_BOOTSTRAP_ADMIN: "boot@example.com",
      DEVUSERS_BOOTSTRAP_TOKEN_FILE: tokenFile,
    };
    const first = await startServe(env);
    const token = readFileSync(tokenFile, "utf8").trim();
    assert.equal(statSync(tokenFile).mode & 0o777, 0o600);
    assert.equal(startupLine(first.output()).bootstrap_token_file, tokenFile);
    assert.ok(!first.output().includes(token), "the token is not in the log");
    const self = await fetch(`${first.url}/dev-users.self`, { headers: { authorization: token } });
    assert.equal(self.status, 200);
    assert.equal(await stop(first), 0);
    rmSync(tokenFile);
    const second = await startServe(env);
    assert.match(startupLine(second.output()).bootstrap_token, /not minted/);
    assert.ok(!existsSync(tokenFile));
    assert.equal(await stop(second), 0);
  });

  it("empties the directory on POST /devusers.reset only when DEVUSERS_ALLOW_RESET is true", async () => {
    const off = await startServe({ DATABASE_URL: ":memory:", DEVUSERS_BOOTSTRAP_ADMIN: "boot@example.com" });
    const offToken = startupLine(off.output()).bootstrap_token;
    const refused = await fetch(`${off.url}/devusers.reset`, { method: "POST", headers: { authorization: offToken } });
    assert.equal(refused.status, 404);
    assert.equal(await stop(off), 0);

    const on = await startServe({
      DATABASE_URL: ":memory:",
      DEVUSERS_BOOTSTRAP_ADMIN: "boot@example.com",
      DEVUSERS_ALLOW_RESET: "true",
    });
    try {
      const token = startupLine(on.output()).bootstrap_token;
      const admin = client.setup({ endpoint: on.url, token });
      await admin.devUsersCreate({ email: "gone@example.com", state: SHADOW });
      const reset = await fetch(`${on.url}/devusers.reset`, { method: "POST", headers: { authorization: token } });
      assert.equal(reset.status, 200);
      const left = await admin.devUsersListPost({});
      assert.deepEqual(
        left.data.dev_users.map((u) => u.email),
        ["boot@example.com"],
        "only the bootstrap admin, whose token still works",
      );
      const none = await fetch(`${on.url}/devusers.reset`, { method: "POST" });
      assert.equal(none.status, 401);
    } finally {
      assert.equal(await stop(on), 0);
    }
  });

  it("closes the database cleanly on Ctrl-C under npm, which delivers SIGINT twice", async () => {
    const path = freshPath();
    const child = spawn("npm", ["run", "--silent", "serve"], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, DATABASE_URL: path, PORT: "0", LOG_LEVEL: "info", SHUTDOWN_TIMEOUT_MS: "10000" },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    child.stderr.on("data", (d) => {
      out += d;
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    for (let i = 0; i < 600 && !out.includes('"devusers listening"'); i++) await new Promise((r) => setTimeout(r, 50));
    assert.match(out, /devusers listening/);
    assert.ok(existsSync(`${path}-wal`), "a serving database has its -wal");
    // The terminal sends SIGINT to the whole process group, and npm forwards it to its child
    // again: sent here as the group's signal, then the service's second, a moment later.
    const servicePid = startupLine(out).pid as number;
    process.kill(-child.pid!, "SIGINT");
    await new Promise((r) => setTimeout(r, 100));
    try {
      process.kill(servicePid, "SIGINT");
    } catch {
      // already gone: nothing more to send
    }
    const code = await exited;
    for (let i = 0; i < 100 && existsSync(`${path}-wal`); i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(!existsSync(`${path}-wal`), `the -wal is gone once the database closed cleanly:\n${out}`);
    assert.ok([0, 130, null].includes(code), `npm exited ${code}`);
    assert.doesNotMatch(out, /shutdown did not finish/);
  });
});

// Starting `devusers serve`: a SQLite database it cannot write is refused naming the path and the
// cause, and the listen backlog (LISTEN_BACKLOG) holds a burst of connections the process has
// not accepted yet, so a health check behind them is not left to a TCP retry.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { ConfigError, loadConfig } from "../src/config.js";
import { runCli, startServe } from "./helpers/processes.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const root = mkdtempSync(join(tmpdir(), "devusers-startup-"));
const undo: (() => void)[] = [];
after(() => {
  for (const u of undo.reverse()) u();
  rmSync(root, { recursive: true, force: true });
});

/**
 * Makes `path` refuse writes and returns how to undo it. Root ignores file modes, so as root the
 * file system's immutable attribute does it (chattr +i); undefined where that is not available.
 */
function makeReadOnly(path: string): (() => void) | undefined {
  if (process.getuid?.() !== 0) {
    const mode = statSync(path).mode;
    chmodSync(path, statSync(path).isDirectory() ? 0o555 : 0o444);
    return () => chmodSync(path, mode);
  }
  if (spawnSync("chattr", ["+i", path]).status !== 0) return undefined;
  return () => spawnSync("chattr", ["-i", path]);
}

const readOnlySkip = (() => {
  const probe = mkdtempSync(join(root, "probe-"));
  const restore = makeReadOnly(probe);
  if (!restore) return "this system cannot make a directory read-only for root (chattr +i)";
  restore();
  return false;
})();

/** Runs `devusers serve` on `databaseUrl`, which must fail before it listens; returns what it printed. */
async function refusedStart(databaseUrl: string): Promise<string> {
  let started: Awaited<ReturnType<typeof startServe>> | undefined;
  try {
    started = await startServe({ DATABASE_URL: databaseUrl });
  } catch (err) {
    const message = (err as Error).message;
    assert.match(message, /exited \(1\) before listening/);
    return message;
  }
  started.child.kill("SIGKILL");
  throw new Error(`devusers serve started on ${databaseUrl}`);
}

describe("a SQLite database the service cannot write", () => {
  const fresh = (name: string) => {
    const dir = join(root, name);
    mkdirSync(dir);
    return { dir, path: join(dir, "db.sqlite") };
  };

  it("a database path that is a directory: named, and said to be one", async () => {
    const { path } = fresh("is-a-directory");
    mkdirSync(path);
    const out = await refusedStart(path);
    assert.ok(out.includes(`cannot open the SQLite database ${path}: ${path} is a directory`), out);
  });

  describe("read-only places", { skip: readOnlySkip }, () => {
    it("a first start in a directory that takes no new files", async () => {
      const { dir, path } = fresh("read-only-directory");
      undo.push(makeReadOnly(dir)!);
      const out = await refusedStart(path);
      assert.ok(out.includes(`cannot open the SQLite database ${path}: its directory ${dir} takes no new files`), out);
      assert.match(
        out,
        /\((EPERM|EACCES|EROFS): [^)]+\), and SQLite must create db\.sqlite, db\.sqlite-wal, db\.sqlite-shm/,
      );
    });

    it("an existing database in a read-only directory, where its -wal and -shm cannot be made", async () => {
      const { dir, path } = fresh("existing-read-only-directory");
      const migrated = await runCli(["migrate"], { DATABASE_URL: path });
      assert.equal(migrated.code, 0, migrated.stderr);
      undo.push(makeReadOnly(dir)!);
      const out = await refusedStart(path);
      assert.ok(out.includes(`cannot open the SQLite database ${path}: its directory ${dir} takes no new files`), out);
      assert.match(out, /SQLite must create db\.sqlite-wal, db\.sqlite-shm there/);
    });

    it("a database file that is read-only, which SQLite would open read-only without a word", async () => {
      const { path } = fresh("read-only-file");
      const migrated = await runCli(["migrate"], { DATABASE_URL: path });
      assert.equal(migrated.code, 0, migrated.stderr);
      undo.push(makeReadOnly(path)!);
      const out = await refusedStart(path);
      assert.ok(out.includes(`cannot open the SQLite database ${path}: ${path} cannot be written`), out);
      assert.match(out, /\((EPERM|EACCES|EROFS): [^)]+\)/);
    });
  });
});

describe("LISTEN_BACKLOG", () => {
  it("defaults to 4096 and takes an integer from 1 to 65535", () => {
    assert.equal(loadConfig({}).listenBacklog, 4096);
    assert.equal(loadConfig({ LISTEN_BACKLOG: "100" }).listenBacklog, 100);
    for (const bad of ["0", "-1", "65536", "1.5", "many"]) {
      assert.throws(() => loadConfig({ LISTEN_BACKLOG: bad }), ConfigError, bad);
    }
  });

  // The kernel holds at most min(backlog, net.core.somaxconn) + 1 connections the process has not
  // accepted; past that it drops the SYN, and the client sends it again only after a second.
  const BURST = 2000;
  const somaxconn = (() => {
    try {
      return Number(readFileSync("/proc/sys/net/core/somaxconn", "utf8"));
    } catch {
      return undefined;
    }
  })();
  const burstSkip =
    somaxconn === undefined
      ? "no /proc/sys/net/core/somaxconn (not Linux)"
      : somaxconn <= BURST
        ? `net.core.somaxconn is ${somaxconn}, which caps any backlog below the burst of ${BURST}`
        : false;

  /**
   * While the process is stopped (SIGSTOP: it accepts nothing), BURST connections arrive, then a
   * health check. Says how many of the burst the kernel took while stopped, whether it took the
   * health check's too, and how long the check took once the process went on 200 ms later.
   */
  async function healthCheckBehindBurst(env: Record<string, string>) {
    const dir = mkdtempSync(join(root, "burst-"));
    const server = await startServe({ DATABASE_URL: join(dir, "db.sqlite"), ...env });
    const { hostname, port } = new URL(server.url);
    const sockets: Socket[] = [];
    try {
      server.child.kill("SIGSTOP");
      let connected = 0;
      for (let i = 0; i < BURST; i++) {
        const s = connect(Number(port), hostname);
        s.on("error", () => {});
        s.once("connect", () => connected++);
        sockets.push(s);
      }
      for (let i = 0; i < 100 && connected < BURST; i++) await sleep(10);
      const burstTaken = connected;
      const started = Date.now();
      const health = connect(Number(port), hostname);
      sockets.push(health);
      let healthTaken = false;
      health.once("connect", () => {
        healthTaken = true;
        health.write("GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
      });
      const answer = new Promise<string>((resolve, reject) => {
        let text = "";
        health.on("data", (d) => {
          text += d;
        });
        health.on("end", () => resolve(text));
        health.on("error", reject);
      });
      await sleep(200);
      const takenWhileStopped = healthTaken;
      server.child.kill("SIGCONT");
      assert.match(await answer, /^HTTP\/1\.1 200 /);
      return { burstTaken, takenWhileStopped, took: Date.now() - started };
    } finally {
      server.child.kill("SIGCONT");
      for (const s of sockets) s.destroy();
      server.child.kill("SIGKILL");
      await server.exited;
    }
  }

  it(`holds a burst of ${BURST} connections, and a health check behind them`, { skip: burstSkip }, async (t) => {
    const r = await healthCheckBehindBurst({});
    t.diagnostic(JSON.stringify(r));
    assert.equal(r.burstTaken, BURST);
    // Its first SYN was taken: no retry to wait for (how long accepting 2,000 takes is the machine's).
    assert.ok(r.takenWhileStopped, "the kernel held the health check's connection");
  });

  it("is what the server listens with: at Node's 511 the health check waits for a TCP retry", {
    skip: burstSkip,
  }, async (t) => {
    const r = await healthCheckBehindBurst({ LISTEN_BACKLOG: "511" });
    t.diagnostic(JSON.stringify(r));
    assert.ok(r.burstTaken < BURST / 2, `${r.burstTaken} of the burst were taken`);
    assert.ok(!r.takenWhileStopped, "the kernel dropped the health check's SYN");
    assert.ok(r.took >= 950, `the health check took ${r.took} ms`);
  });
});

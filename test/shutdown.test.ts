// SIGTERM on a real `devusers serve`, as its clients and a load balancer see it: every request
// that reached the socket is answered (its result, or 503 with Connection: close), the listener
// stays open for SHUTDOWN_LISTEN_MS with /readyz saying "draining", and the process is gone by
// SHUTDOWN_TIMEOUT_MS and its margin, whatever the database or a client does meanwhile.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { Agent, type IncomingHttpHeaders, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import pg from "pg";
import { SHUTDOWN_MARGIN_MS } from "../src/server.js";
import { createPgDatabase, skipUnlessPostgres, type TestDialect, testDialects } from "./helpers/databases.js";
import { runCli, type ServeProcess, startServe } from "./helpers/processes.js";
import { rawRequest } from "./helpers/raw-http.js";
import { startTcpProxy } from "./helpers/tcp-proxy.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** What a busy test machine adds to a process's own exit time, as the test sees it. */
const SLACK_MS = 300;

/** A database of `dialect` for one test, and the environment that points a process at it. */
async function database(dialect: TestDialect): Promise<{ url: string; drop(): Promise<void> }> {
  if (dialect === "postgres") return createPgDatabase();
  const dir = mkdtempSync(join(tmpdir(), "devusers-shutdown-"));
  return { url: join(dir, "db.sqlite"), drop: async () => rmSync(dir, { recursive: true, force: true }) };
}

async function mintToken(env: Record<string, string>): Promise<string> {
  const minted = await runCli(["token", "create", "--email", "admin@example.com"], env);
  assert.equal(minted.code, 0, minted.stderr);
  return minted.stdout.trim();
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: any;
}

/** One request with node:http: `agent: false` opens a connection for it alone. */
function send(
  server: ServeProcess,
  path: string,
  o: { token?: string; agent?: Agent | false; body?: unknown } = {},
): Promise<Answer> {
  const { hostname, port } = new URL(server.url);
  const payload = o.body === undefined ? undefined : JSON.stringify(o.body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: hostname,
        port,
        path,
        method: payload === undefined ? "GET" : "POST",
        agent: o.agent ?? false,
        headers: {
          ...(o.token ? { authorization: o.token } : {}),
          ...(payload === undefined ? {} : { "content-type": "application/json" }),
        },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d) => {
          text += d;
        });
        res.on("error", reject);
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text && JSON.parse(text) }),
        );
      },
    );
    req.setTimeout(15_000, () => req.destroy(new Error("no answer within 15 s")));
    req.on("error", reject);
    req.end(payload);
  });
}

/** Resolves with the exit code, or "still running" after `ms`. */
const exitWithin = (server: ServeProcess, ms: number) =>
  Promise.race([server.exited, sleep(ms).then(() => "still running" as const)]);

const assertDrainAnswer = (a: Answer, what: string) => {
  assert.equal(a.status, 503, what);
  assert.equal(a.headers.connection, "close", what);
  assert.equal(a.body.type, "service_unavailable", what);
  assert.equal(typeof a.body.message, "string", what);
};

for (const { dialect, skip } of await testDialects()) {
  describe(`SIGTERM under load [${dialect}]`, { skip }, () => {
    const LISTEN_MS = 2000;
    const TIMEOUT_MS = 6000;

    it("answers every request that reached the socket, keeps listening for SHUTDOWN_LISTEN_MS, then exits 0", async (t) => {
      const db = await database(dialect);
      const env = {
        DATABASE_URL: db.url,
        SHUTDOWN_TIMEOUT_MS: String(TIMEOUT_MS),
        SHUTDOWN_LISTEN_MS: String(LISTEN_MS),
        RATE_LIMIT_MAX: "1000000",
      };
      const token = await mintToken(env);
      const server = await startServe(env);
      try {
        // 24 clients open a connection per request (4 of them writing), 8 keep theirs alive; all
        // of them send from 400 ms before the signal to 500 ms after it.
        let signalAt = Number.POSITIVE_INFINITY;
        const outcomes: { sentAt: number; doneAt: number; keepAlive: boolean; answer?: Answer; error?: string }[] = [];
        const client = async (agent: Agent | false, writes = false) => {
          const path = writes ? "/dev-users.self.update" : "/dev-users.self";
          const body = writes ? { full_name: "Drained" } : undefined;
          while (Date.now() < signalAt + 500) {
            const sentAt = Date.now();
            try {
              const answer = await send(server, path, { token, agent, body });
              outcomes.push({ sentAt, doneAt: Date.now(), keepAlive: !!agent, answer });
            } catch (err) {
              const error = (err as NodeJS.ErrnoException).code ?? String(err);
              outcomes.push({ sentAt, doneAt: Date.now(), keepAlive: !!agent, error });
            }
          }
        };
        const agents = Array.from({ length: 8 }, () => new Agent({ keepAlive: true, maxSockets: 1 }));
        // One more keep-alive connection, answered before the signal and idle until well after it.
        const idle = new Agent({ keepAlive: true, maxSockets: 1 });
        assert.equal((await send(server, "/dev-users.self", { token, agent: idle })).status, 200);
        const clients = [
          ...Array.from({ length: 24 }, (_, i) => client(false, i < 4)),
          ...agents.map((a) => client(a)),
        ];
        await sleep(400);
        signalAt = Date.now();
        server.child.kill("SIGTERM");
        await Promise.all(clients);

        const errors = outcomes.filter((o) => o.error);
        const kinds = new Map<string, number>();
        for (const o of errors) {
          const kind = `${o.error} ${o.sentAt < signalAt ? "before" : "after"} the signal`;
          kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
        }
        const sentBefore = outcomes.filter((o) => o.sentAt < signalAt).length;
        assert.deepEqual(
          [...kinds].map(([kind, n]) => `${n} × ${kind}`),
          [],
          `${errors.length} of ${outcomes.length} requests failed (${sentBefore} were sent before the signal)`,
        );
        let ok = 0;
        for (const o of outcomes) {
          const a = o.answer!;
          if (a.status === 200) ok++;
          else assertDrainAnswer(a, `a request sent ${o.sentAt - signalAt} ms after the signal`);
        }
        const drained = outcomes.length - ok;
        // The race this is about: requests in flight as the signal lands, on both kinds of client.
        const across = outcomes.filter((o) => o.sentAt < signalAt && o.doneAt >= signalAt).length;
        assert.ok(across >= 10, `only ${across} requests were in flight as the signal was sent`);
        assert.ok(ok > 0 && drained > 0, `${ok} answered 200, ${drained} answered 503`);
        assert.ok(
          outcomes.some((o) => o.keepAlive && o.answer?.status === 503),
          "keep-alive clients were answered while draining",
        );

        // Late in the window: the idle keep-alive connection and a new one are both answered.
        await sleep(Math.max(0, signalAt + LISTEN_MS - 400 - Date.now()));
        assertDrainAnswer(
          await send(server, "/dev-users.self", { token, agent: idle }),
          "the idle keep-alive connection",
        );
        const ready = await send(server, "/readyz");
        assert.equal(ready.status, 503);
        assert.equal(ready.body.status, "draining");
        assert.equal(ready.headers.connection, "close");

        // Nothing is in flight: the process exits once the window is over, and not before.
        const code = await exitWithin(server, TIMEOUT_MS + SHUTDOWN_MARGIN_MS + SLACK_MS);
        const exitedAfter = Date.now() - signalAt;
        assert.equal(code, 0, server.output());
        assert.ok(exitedAfter >= LISTEN_MS, `exited ${exitedAfter} ms after the signal, before the window ended`);
        assert.ok(exitedAfter < LISTEN_MS + 1000, `exited ${exitedAfter} ms after the signal`);
        t.diagnostic(
          `${outcomes.length} requests (${across} in flight at the signal): ${ok} answered 200, ${drained} 503; exited ${exitedAfter} ms after the signal`,
        );
        await assert.rejects(send(server, "/healthz"), { code: "ECONNREFUSED" });
        for (const a of [...agents, idle]) a.destroy();
      } finally {
        server.child.kill("SIGKILL");
        await db.drop();
      }
    });

    it("a request still arriving at the deadline gets 503, and the process exits in time", async (t) => {
      // A client that sent its headers and only part of its body: the request is under way, and
      // would hold the process for as long as the client likes.
      const db = await database(dialect);
      const env = { DATABASE_URL: db.url, SHUTDOWN_TIMEOUT_MS: "1000", SHUTDOWN_LISTEN_MS: "200" };
      const token = await mintToken(env);
      const server = await startServe(env);
      try {
        const body = JSON.stringify({ email: "slow@example.com", state: "shadow" });
        const head =
          "POST /dev-users.create HTTP/1.1\r\nHost: localhost\r\n" +
          `Authorization: ${token}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
        const slow = rawRequest(server.url, head + body.slice(0, 10), 10_000);
        await sleep(200);
        const signalAt = Date.now();
        server.child.kill("SIGTERM");
        const code = await exitWithin(server, 1000 + SHUTDOWN_MARGIN_MS + SLACK_MS);
        const exitedAfter = Date.now() - signalAt;
        assert.equal(code, 0, `after ${exitedAfter} ms: ${server.output()}`);
        const answer = await slow;
        assert.equal(answer.status, 503, answer.raw);
        assert.equal(answer.headers.get("connection"), "close");
        assert.equal(answer.body.type, "service_unavailable");
        assert.ok(exitedAfter >= 1000, `exited ${exitedAfter} ms after the signal, before the deadline`);
        t.diagnostic(`exited ${exitedAfter} ms after the signal`);
      } finally {
        server.child.kill("SIGKILL");
        await db.drop();
      }
    });
  });
}

describe("SIGTERM while PostgreSQL stalls", { skip: await skipUnlessPostgres() }, () => {
  it("exits within SHUTDOWN_TIMEOUT_MS and its margin; stuck requests get 503, nothing acknowledged is lost", async (t) => {
    const db = await createPgDatabase();
    const proxy = await startTcpProxy(Number(new URL(db.url).port || 5432));
    const viaProxy = new URL(db.url);
    viaProxy.port = String(proxy.port);
    const env = {
      DATABASE_URL: viaProxy.toString(),
      SHUTDOWN_TIMEOUT_MS: "1000",
      SHUTDOWN_LISTEN_MS: "200",
      PG_STATEMENT_TIMEOUT_MS: "5000",
    };
    const token = await mintToken(env);
    const server = await startServe(env);
    const direct = new pg.Client({ connectionString: db.url, application_name: "shutdown-test" });
    const locker = new pg.Client({ connectionString: db.url, application_name: "shutdown-test" });
    await direct.connect();
    await locker.connect();
    try {
      const acknowledged: string[] = [];
      for (let i = 0; i < 5; i++) {
        const email = `acked${i}@example.com`;
        const res = await send(server, "/dev-users.create", { token, body: { email, state: "shadow" } });
        assert.equal(res.status, 201);
        acknowledged.push(email);
      }
      // One write waits on a row lock held here (its transaction is open, nothing committed),
      // then the network to PostgreSQL stalls, and a read and a write wait on it.
      await locker.query("begin");
      await locker.query("select id from dev_users where email_lower = 'admin@example.com' for update");
      const locked = send(server, "/dev-users.self.update", { token, body: { full_name: "Never" } });
      let waiting = 0;
      for (let i = 0; i < 500 && waiting === 0; i++) {
        const r = await direct.query(
          "select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and backend_type = 'client backend'",
        );
        waiting = r.rows[0].n;
        if (waiting === 0) await sleep(10);
      }
      assert.equal(waiting, 1, "the locked write is in flight");
      await proxy.cut("blackhole");
      const stuck = Promise.allSettled([
        locked,
        send(server, "/dev-users.create", { token, body: { email: "stalled@example.com", state: "shadow" } }),
        send(server, "/dev-users.self", { token }),
      ]);
      await sleep(300);

      const signalAt = Date.now();
      server.child.kill("SIGTERM");
      const code = await exitWithin(server, 1000 + SHUTDOWN_MARGIN_MS + SLACK_MS);
      const exitedAfter = Date.now() - signalAt;
      assert.equal(code, 0, `after ${exitedAfter} ms: ${server.output()}`);
      t.diagnostic(`exited ${exitedAfter} ms after the signal`);
      for (const [i, answer] of (await stuck).entries()) {
        assert.equal(answer.status, "fulfilled", `stuck request ${i}: ${(answer as PromiseRejectedResult).reason}`);
        assertDrainAnswer((answer as PromiseFulfilledResult<Answer>).value, `stuck request ${i}`);
      }

      // Nothing the service acknowledged is lost, and nothing it answered 503 was committed.
      await locker.query("rollback");
      await proxy.restore();
      for (let i = 0; i < 200; i++) {
        const r = await direct.query(
          "select count(*)::int as n from pg_stat_activity where datname = current_database() and backend_type = 'client backend' and application_name <> 'shutdown-test'",
        );
        if (r.rows[0].n === 0) break;
        await sleep(25);
      }
      const rows = await direct.query("select email, full_name from dev_users order by id");
      const emails = rows.rows.map((r) => r.email);
      for (const email of acknowledged) assert.ok(emails.includes(email), `${email} was acknowledged`);
      assert.ok(!emails.includes("stalled@example.com"));
      assert.notEqual(rows.rows.find((r) => r.email === "admin@example.com")?.full_name, "Never");
    } finally {
      server.child.kill("SIGKILL");
      await direct.end();
      await locker.end();
      await proxy.close();
      await db.drop();
    }
  });
});

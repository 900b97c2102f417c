// npm run bench -- --backlog N: dev-user creates against one server, first with no delivery
// pending, then with N pending to a receiver that refuses connections, which the worker keeps
// trying all along. The creates go to another org than the backlog's webhooks, so both phases
// send the very same writes and only the backlog differs (what a webhook adds to each write is
// --webhooks's to measure).
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import Database from "better-sqlite3";
import pg from "pg";
import { settle } from "./checks.js";
import { type BenchDb, cli, runLoad, startService } from "./proc.js";
import { table } from "./report.js";
import type { LoadResult } from "./scenarios.js";

/** A handful, as an org would have; each create of the backlog's org is one delivery to each. */
const WEBHOOKS = 10;
const WRITERS = 32;
const LOAD_ORG = "default";
const BACKLOG_ORG = "backlog";

export interface BacklogPhase {
  name: string;
  /** Pending deliveries when the load started, and delivery attempts the worker made during it. */
  pending: number;
  attempts: number;
  result: LoadResult;
  peakRssMb: number;
}

export interface BacklogFigures {
  backlog: number;
  buildSeconds: number;
  phases: BacklogPhase[];
}

export interface BacklogOptions {
  connections: number;
  duration: number;
  warmup: number;
}

/** Read from outside the service, as an operator would: its code has no such count. */
async function deliveryTally(db: BenchDb): Promise<{ pending: number; attempts: number }> {
  const query =
    "select count(*) filter (where state = 'pending') as pending, coalesce(sum(attempts), 0) as attempts from webhook_deliveries";
  if (db.dialect === "sqlite") {
    const conn = new Database(db.url, { readonly: true, fileMustExist: true });
    try {
      const row = conn.prepare(query).get() as { pending: number; attempts: number };
      return { pending: Number(row.pending), attempts: Number(row.attempts) };
    } finally {
      conn.close();
    }
  }
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    const { rows } = await client.query(query);
    return { pending: Number(rows[0].pending), attempts: Number(rows[0].attempts) };
  } finally {
    await client.end();
  }
}

/** Answers the verify handshake, until it is closed. */
async function liveReceiver(): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const json = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      res.writeHead(200, { "content-type": "application/json" });
      res.end(json.type === "verify" ? JSON.stringify({ challenge: json.verify.challenge }) : "{}");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

async function until(ok: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await ok())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export async function backlogBench(
  db: BenchDb,
  backlog: number,
  o: BacklogOptions,
  log: (line: string) => void,
): Promise<BacklogFigures> {
  const token = (await cli(db.url, ["token", "create", "--email", "admin@example.com", "--org", LOAD_ORG])).trim();
  const hooksToken = (
    await cli(db.url, ["token", "create", "--email", "admin@example.com", "--org", BACKLOG_ORG])
  ).trim();
  const service = await startService(db.url, token);
  const post = async (path: string, body: unknown) => {
    const res = await fetch(service.url + path, {
      method: "POST",
      headers: { authorization: hooksToken, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const json = (await res.json()) as any;
    if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  const phases: BacklogPhase[] = [];
  let tag = 0;
  const phase = async (name: string) => {
    await settle(service.url);
    const before = await deliveryTally(db);
    service.resetPeakRss();
    const spec = {
      url: service.url,
      scenario: "create" as const,
      token,
      org: LOAD_ORG,
      ids: [1, 1] as [number, number],
      connections: o.connections,
      duration: o.duration,
      warmup: o.warmup,
      tag: `backlog-${tag++}`,
    };
    const result = await runLoad(spec);
    const peakRssMb = service.peakRssMb();
    const attempts = (await deliveryTally(db)).attempts - before.attempts;
    if (result.non2xx > 0 || result.errors > 0)
      throw new Error(`${name}: ${result.non2xx} non-2xx, ${result.errors} errors`);
    log(
      `  ${name}: ${Math.round(result.rps)} req/s, p50 ${result.p50} ms, p99 ${result.p99} ms, ${before.pending} pending, ${attempts} attempts, peak RSS ${peakRssMb.toFixed(0)} MiB`,
    );
    phases.push({ name, pending: before.pending, attempts, result, peakRssMb });
  };
  try {
    const rx = await liveReceiver();
    for (let i = 0; i < WEBHOOKS; i++)
      await post("/webhooks.create", { url: rx.url, event_types: ["dev_user_created"] });
    await until(
      async () => (await post("/webhooks.list", {})).webhooks.every((w: { status: string }) => w.status === "active"),
      30_000,
      "the webhooks' handshakes",
    );
    // From here on the port refuses connections: every attempt fails at once, and is retried.
    await rx.close();
    await phase("no backlog");

    const creates = Math.ceil(backlog / WEBHOOKS);
    const target = creates * WEBHOOKS;
    const started = performance.now();
    let next = 0;
    const writer = async () => {
      while (next < creates)
        await post("/dev-users.create", { email: `backlog-${next++}@example.com`, state: "shadow" });
    };
    await Promise.all(Array.from({ length: WRITERS }, writer));
    await until(async () => (await deliveryTally(db)).pending >= target, 600_000, `${target} pending deliveries`);
    const buildSeconds = (performance.now() - started) / 1000;
    log(`  backlog: ${creates} creates made ${target} pending deliveries in ${buildSeconds.toFixed(1)} s`);
    await phase(`backlog of ${target}`);
    return { backlog: target, buildSeconds, phases };
  } finally {
    await service.stop();
  }
}

export function backlogTable(f: BacklogFigures, o: BacklogOptions): string {
  const [none, full] = f.phases as [BacklogPhase, BacklogPhase];
  const row = (p: BacklogPhase) => [
    p.name,
    String(p.pending),
    String(p.attempts),
    p.result.rps.toFixed(0),
    String(p.result.p50),
    String(p.result.p99),
    p.peakRssMb.toFixed(0),
  ];
  const ratio = (a: number, b: number) => (a / b).toFixed(2);
  return [
    `backlog: dev-user creates, ${o.connections} connections, ${o.duration} s per phase; the backlog is ${WEBHOOKS} webhooks of another org at a receiver refusing connections, made by ${f.backlog / WEBHOOKS} creates in ${f.buildSeconds.toFixed(1)} s`,
    "",
    table(
      ["phase", "pending at start", "attempts during", "req/s", "p50 ms", "p99 ms", "peak RSS MiB"],
      [
        row(none),
        row(full),
        [
          "backlog / none",
          "",
          "",
          ratio(full.result.rps, none.result.rps),
          ratio(full.result.p50, none.result.p50),
          ratio(full.result.p99, none.result.p99),
          ratio(full.peakRssMb, none.peakRssMb),
        ],
      ],
    ),
  ].join("\n");
}

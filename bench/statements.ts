// npm run bench -- --db postgres --statements <server log>: statements per operation as PostgreSQL
// itself saw them. The bench's database logs every statement (`log_statement = all`, set on that
// database only, which is dropped at the end); sequential requests of each kind then run, and the
// lines the server logged meanwhile are counted, less what the service sends while idle (the
// delivery worker's poll), measured over a quiet window before.
import { closeSync, openSync, readSync, statSync } from "node:fs";
import pg from "pg";
import { type BenchDb, cli, startService } from "./proc.js";
import { type LoadSpec, requestsFor, type Scenario } from "./scenarios.js";

export interface StatementCount {
  scenario: Scenario;
  requests: number;
  /** Statements per request, the idle rate subtracted. */
  perRequest: number;
  /** The statements' texts and how many each request sent, most first. */
  texts: { text: string; perRequest: number }[];
}

function readFrom(path: string, offset: number): string {
  const size = statSync(path).size;
  if (size <= offset) return "";
  const buf = Buffer.alloc(size - offset);
  const fd = openSync(path, "r");
  try {
    readSync(fd, buf, 0, buf.length, offset);
  } finally {
    closeSync(fd);
  }
  return buf.toString("utf8");
}

// `statement: <sql>` (simple protocol) and `execute <name>: <sql>` (extended), one per statement.
const LINE = /LOG: {2}(?:statement|execute [^:]*): (.*)$/;

function statements(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split("\n")) {
    const m = LINE.exec(line);
    if (m) out.push(m[1]!.replace(/\s+/g, " ").slice(0, 90));
  }
  return out;
}

export async function statementBench(
  db: BenchDb,
  logFile: string,
  scenarios: Scenario[],
  o: { org: string; adminEmail: string; users: number; requests: number },
  log: (line: string) => void,
): Promise<StatementCount[]> {
  const name = new URL(db.url).pathname.slice(1);
  const admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  // Only this database's sessions log their statements; it is dropped at the end of the run.
  await admin.query(`alter database ${name} set log_statement = 'all'`);
  await admin.end();
  await cli(db.url, ["seed", "--users", String(o.users), "--org", o.org]);
  const token = (await cli(db.url, ["token", "create", "--email", o.adminEmail, "--org", o.org])).trim();
  const service = await startService(db.url, token);
  const results: StatementCount[] = [];
  try {
    await new Promise((r) => setTimeout(r, 1000));
    const quietMs = 3000;
    let offset = statSync(logFile).size;
    await new Promise((r) => setTimeout(r, quietMs));
    const idle = statements(readFrom(logFile, offset)).length / quietMs;
    log(`idle: ${(idle * 1000).toFixed(1)} statements/s`);
    for (const scenario of scenarios) {
      const spec: LoadSpec = {
        url: service.url,
        scenario,
        token,
        org: o.org,
        ids: [2, o.users],
        connections: 1,
        duration: 0,
        warmup: 0,
        tag: `st-${Date.now().toString(36)}-${scenario}`,
      };
      const [request] = requestsFor(spec);
      const send = async () => {
        const r = request!.setupRequest ? request!.setupRequest({ ...request! } as never, {}) : request!;
        const res = await fetch(`${service.url}${r.path}`, {
          method: r.method,
          headers: { authorization: `Bearer ${token}`, ...(r.headers as Record<string, string>) },
          body: r.body as string | undefined,
        });
        if (!res.ok) throw new Error(`${scenario}: ${res.status} ${await res.text()}`);
        await res.arrayBuffer();
      };
      // Every connection of the pool prepares its statements first.
      for (let i = 0; i < 20; i++) await send();
      await new Promise((r) => setTimeout(r, 300));
      offset = statSync(logFile).size;
      const started = performance.now();
      for (let i = 0; i < o.requests; i++) await send();
      // The server writes its log asynchronously: give it a moment.
      await new Promise((r) => setTimeout(r, 300));
      const elapsed = performance.now() - started;
      const seen = statements(readFrom(logFile, offset));
      const byText = new Map<string, number>();
      for (const s of seen) byText.set(s, (byText.get(s) ?? 0) + 1);
      const perRequest = Math.max(0, seen.length - idle * elapsed) / o.requests;
      const texts = [...byText]
        .map(([text, n]) => ({ text, perRequest: n / o.requests }))
        .filter((t) => t.perRequest >= 0.5)
        .sort((a, b) => b.perRequest - a.perRequest);
      log(`${scenario}: ${perRequest.toFixed(2)} statements per request`);
      for (const t of texts) log(`    ${t.perRequest.toFixed(2)}  ${t.text}`);
      results.push({ scenario, requests: o.requests, perRequest, texts });
    }
  } finally {
    await service.stop();
  }
  return results;
}

export function statementTable(rows: StatementCount[]): string {
  const lines = ["| operation | statements per request | statements (per request) |", "|---|---:|---|"];
  for (const r of rows)
    lines.push(
      `| ${r.scenario} | ${r.perRequest.toFixed(2)} | ${r.texts.map((t) => `${t.perRequest.toFixed(2)}× \`${t.text.split(" ").slice(0, 4).join(" ")}\``).join(", ")} |`,
    );
  return lines.join("\n");
}

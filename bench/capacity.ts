// npm run bench -- --db postgres --capacity 1,2,3: what the database, which every instance shares,
// spends per request. Each scenario loads 1, 2, 3… service instances on one PostgreSQL at once
// (the connections split between them) while the CPU time of every PostgreSQL process and of the
// instances is read from /proc. PostgreSQL's CPU µs per request is what sizes the database: one
// core sustains 1e6 / that many requests a second, whatever the instances around it.
import { readdirSync, readFileSync } from "node:fs";
import { type BenchDb, cli, runLoad, type Service, startService } from "./proc.js";
import type { LoadResult, Scenario } from "./scenarios.js";

export interface CapacityRow {
  instances: number;
  scenario: Scenario;
  rps: number;
  p99: number;
  non2xx: number;
  /** PostgreSQL's user + system time per request, all its processes. */
  pgMicros: number;
  /** The instances' user + system time per request. */
  serviceMicros: number;
}

function ticksOf(pid: string): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return 0; // the process ended between the listing and the read
  }
}

/**
 * The CPU µs, by pid, of the PostgreSQL backends serving `database` (their title names it), so
 * other databases' work on the same server is not counted; backends come and go, so both ends are
 * kept. The server's shared processes (WAL writer, checkpointer, autovacuum) are not in it.
 */
function postgresCpu(database: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    let comm = "";
    try {
      comm = readFileSync(`/proc/${pid}/comm`, "utf8").trim();
    } catch {
      continue;
    }
    if (comm !== "postgres") continue;
    let title = "";
    try {
      title = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    } catch {
      continue;
    }
    if (title.includes(` ${database} `)) out.set(pid, ticksOf(pid));
  }
  return out;
}

function spent(before: Map<string, number>, after: Map<string, number>): number {
  let total = 0;
  for (const [pid, t] of after) total += t - (before.get(pid) ?? 0);
  return total;
}

export async function capacityBench(
  db: BenchDb,
  counts: number[],
  scenarios: Scenario[],
  o: { org: string; adminEmail: string; users: number; connections: number; duration: number },
  log: (line: string) => void,
): Promise<CapacityRow[]> {
  const database = new URL(db.url).pathname.slice(1);
  log((await cli(db.url, ["seed", "--users", String(o.users), "--org", o.org])).trim());
  const token = (await cli(db.url, ["token", "create", "--email", o.adminEmail, "--org", o.org])).trim();
  const rows: CapacityRow[] = [];
  let run = 0;
  for (const n of counts) {
    const services: Service[] = [];
    try {
      for (let i = 0; i < n; i++) services.push(await startService(db.url, token));
      for (const scenario of scenarios) {
        const pgBefore = postgresCpu(database);
        const svcBefore = services.map((s) => ticksOf(String(s.child.pid)));
        const results: LoadResult[] = await Promise.all(
          services.map((s, i) =>
            runLoad({
              url: s.url,
              scenario,
              token,
              org: o.org,
              ids: [2, o.users],
              connections: Math.max(1, Math.round(o.connections / n)),
              duration: o.duration,
              warmup: 1,
              tag: `cap-${Date.now().toString(36)}-${run++}-${i}`,
            }),
          ),
        );
        const total = results.reduce((a, r) => a + r.total, 0);
        const pgMicros = spent(pgBefore, postgresCpu(database)) / total;
        const serviceMicros = services.reduce((a, s, i) => a + ticksOf(String(s.child.pid)) - svcBefore[i]!, 0) / total;
        const row: CapacityRow = {
          instances: n,
          scenario,
          rps: results.reduce((a, r) => a + r.rps, 0),
          p99: Math.max(...results.map((r) => r.p99)),
          non2xx: results.reduce((a, r) => a + r.non2xx + r.errors, 0),
          pgMicros,
          serviceMicros,
        };
        log(
          `${n} instance(s), ${scenario}: ${row.rps.toFixed(0)} req/s, PostgreSQL ${pgMicros.toFixed(0)} µs/req, service ${serviceMicros.toFixed(0)} µs/req`,
        );
        rows.push(row);
      }
    } finally {
      await Promise.all(services.map((s) => s.stop()));
    }
  }
  return rows;
}

export function capacityTable(rows: CapacityRow[]): string {
  const lines = [
    "| instances | scenario | req/s | p99 ms | failed | PostgreSQL CPU µs/req | requests/s per PostgreSQL core | service CPU µs/req |",
    "|---:|---|---:|---:|---:|---:|---:|---:|",
  ];
  for (const r of rows)
    lines.push(
      `| ${r.instances} | ${r.scenario} | ${r.rps.toFixed(0)} | ${r.p99} | ${r.non2xx} | ${r.pgMicros.toFixed(0)} | ${(1e6 / r.pgMicros).toFixed(0)} | ${r.serviceMicros.toFixed(0)} |`,
    );
  lines.push(
    "",
    "PostgreSQL CPU: the backends serving the bench's database only (not the WAL writer, checkpointer or autovacuum, nor other databases). Service CPU: the instances' processes.",
  );
  return lines.join("\n");
}

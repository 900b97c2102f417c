// npm run bench -- --against <checkout>: this build and another checkout's build (the previous
// commit, say), each on its own fresh database, loaded in short alternating slices. Whatever else
// the machine is doing then weighs on both alike, which back-to-back runs of a whole bench cannot
// promise on a shared 2-core machine: there, two runs of one build differ by 20%.
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { settle } from "./checks.js";
import { type BenchDb, CLI, cli, freshDatabase, runLoad, type Service, startService } from "./proc.js";
import { table } from "./report.js";
import type { LoadSpec, Scenario } from "./scenarios.js";

export interface AgainstOptions {
  checkout: string;
  dialect: "sqlite" | "postgres";
  users: number;
  scenarios: Scenario[];
  rounds: number;
  /** Seconds per slice. */
  slice: number;
  connections: number;
  org: string;
  adminEmail: string;
}

interface Side {
  name: string;
  cli: string;
  db: BenchDb;
  service: Service;
  token: string;
  ids: [number, number];
}

export interface AgainstRow {
  scenario: Scenario;
  /** req/s of each slice, in the order run. */
  base: number[];
  head: number[];
  /** The service's CPU time (user + system) per request in each slice, µs: less swayed than req/s by what else runs. */
  baseCpu: number[];
  headCpu: number[];
}

/** CPU time a process has used, in µs, from /proc (clock ticks of 10 ms on Linux). */
function cpuMicros(pid: number | undefined): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

async function side(name: string, cliPath: string, o: AgainstOptions): Promise<Side> {
  const db = await freshDatabase(o.dialect);
  const out = await cli(db.url, ["seed", "--users", String(o.users), "--org", o.org], cliPath);
  const m = /DEVU-(\d+)\.\.DEVU-(\d+)/.exec(out);
  if (!m) throw new Error(`unexpected seed output from ${name}: ${out}`);
  const token = (await cli(db.url, ["token", "create", "--email", o.adminEmail, "--org", o.org], cliPath)).trim();
  const service = await startService(db.url, token, { cli: cliPath });
  return { name, cli: cliPath, db, service, token, ids: [Number(m[1]), Number(m[2])] };
}

const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

export async function againstBench(o: AgainstOptions, log: (line: string) => void): Promise<AgainstRow[]> {
  const baseCli = join(resolve(o.checkout), "bin", "devusers.js");
  if (!existsSync(baseCli)) throw new Error(`--against: no ${baseCli} (a checkout, built with npm run build)`);
  const sides: Side[] = [];
  try {
    sides.push(await side("base", baseCli, o));
    sides.push(await side("head", CLI, o));
    const rows: AgainstRow[] = [];
    let k = 0;
    for (const scenario of o.scenarios) {
      const row: AgainstRow = { scenario, base: [], head: [], baseCpu: [], headCpu: [] };
      for (let round = 0; round < o.rounds; round++) {
        // ABBA: neither side always runs first, on a warmer or a colder machine.
        const order = round % 2 === 0 ? sides : [...sides].reverse();
        for (const s of order) {
          await settle(s.service.url);
          const spec: LoadSpec = {
            url: s.service.url,
            scenario,
            token: s.token,
            org: o.org,
            ids: s.ids,
            connections: o.connections,
            duration: o.slice,
            warmup: 0,
            tag: `against-${k++}`,
          };
          const cpuBefore = cpuMicros(s.service.child.pid);
          const r = await runLoad(spec);
          const cpu = (cpuMicros(s.service.child.pid) - cpuBefore) / r.total;
          if (r.non2xx > 0 || r.errors > 0)
            throw new Error(`${s.name} ${scenario}: ${r.non2xx} non-2xx, ${r.errors} errors`);
          (s.name === "base" ? row.base : row.head).push(r.rps);
          (s.name === "base" ? row.baseCpu : row.headCpu).push(cpu);
        }
        log(
          `  ${scenario} round ${round + 1}: base ${Math.round(row.base.at(-1)!)}, head ${Math.round(row.head.at(-1)!)} req/s; ` +
            `CPU per request base ${Math.round(row.baseCpu.at(-1)!)}, head ${Math.round(row.headCpu.at(-1)!)} µs`,
        );
      }
      rows.push(row);
    }
    return rows;
  } finally {
    for (const s of sides) {
      await s.service.stop();
      await s.db.drop();
    }
  }
}

export function againstTable(rows: AgainstRow[], checkout: string): string {
  const body = rows.map((r) => {
    const ratios = r.head.map((h, i) => h / r.base[i]!);
    return [
      r.scenario,
      String(Math.round(sum(r.base) / r.base.length)),
      String(Math.round(sum(r.head) / r.head.length)),
      (sum(r.head) / sum(r.base)).toFixed(3),
      median(ratios).toFixed(3),
      `${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}`,
      String(Math.round(median(r.baseCpu))),
      String(Math.round(median(r.headCpu))),
      (median(r.headCpu) / median(r.baseCpu)).toFixed(3),
    ];
  });
  return [
    `this build (head) against ${checkout} (base), alternating slices`,
    "",
    table(
      [
        "scenario",
        "base req/s",
        "head req/s",
        "head/base",
        "median slice ratio",
        "slice ratios",
        "base CPU µs/req",
        "head CPU µs/req",
        "CPU head/base",
      ],
      body,
    ),
    "",
    "CPU: the service process's user + system time per request (median of the slices), which what else",
    "runs on the machine sways less than req/s.",
  ].join("\n");
}

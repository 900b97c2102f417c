// npm run bench: the production build on a fresh database, seeded through the CLI, loaded by
// autocannon in a separate process, next to a bare Fastify baseline. See docs/performance.md.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { againstBench, againstTable } from "./against.js";
import { backlogBench, backlogTable } from "./backlog.js";
import { capacityBench, capacityTable } from "./capacity.js";
import { check, settle } from "./checks.js";
import { consoleBench, consoleTable } from "./console.js";
import { importBench, importTable } from "./import.js";
import { type BenchDb, cli, freshDatabase, runLoad, startBaseline, startService, stopAll, stopChild } from "./proc.js";
import { costTable, summarize } from "./profile.js";
import { medianBaselines, type Paired, resultsTable, type ScalePoint, scaleTable, withRatios } from "./report.js";
import { type AnyScenario, baselineOf, type LoadResult, type LoadSpec, SCENARIOS, type Scenario } from "./scenarios.js";
import { startupBench, startupTable } from "./startup.js";
import { statementBench, statementTable } from "./statements.js";
import { webhookBench, webhookTable } from "./webhooks.js";

const ORG = "default";
const ADMIN_EMAIL = "user1@example.com"; // the first seeded user of an empty org is its admin

const { values: opt } = parseArgs({
  options: {
    db: { type: "string", default: "sqlite" },
    users: { type: "string", default: "10000" },
    connections: { type: "string", default: "50" },
    duration: { type: "string", default: "10" },
    warmup: { type: "string", default: "1" },
    json: { type: "string" },
    scale: { type: "string" },
    scenarios: { type: "string" },
    profile: { type: "string" },
    startup: { type: "string" },
    import: { type: "string" },
    webhooks: { type: "string" },
    backlog: { type: "string" },
    console: { type: "string" },
    capacity: { type: "string" },
    against: { type: "string" },
    rounds: { type: "string", default: "6" },
    slice: { type: "string", default: "4" },
    statements: { type: "string" },
    requests: { type: "string", default: "200" },
  },
});

function int(name: string, raw: string): number {
  const n = Number(raw.replaceAll("_", ""));
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a whole number, got "${raw}"`);
  return n;
}
function scenarioList(raw: string | undefined, fallback: readonly Scenario[]): Scenario[] {
  if (raw === undefined) return [...fallback];
  const list = raw.split(",").filter((s) => s !== "");
  for (const s of list) if (!(SCENARIOS as readonly string[]).includes(s)) throw new Error(`unknown scenario "${s}"`);
  return list as Scenario[];
}

if (opt.db !== "sqlite" && opt.db !== "postgres") throw new Error("--db must be sqlite or postgres");
const dialect: "sqlite" | "postgres" = opt.db;
const connections = int("connections", opt.connections);
const duration = int("duration", opt.duration);
const warmup = int("warmup", opt.warmup);
const log = (line: string) => process.stderr.write(`${line}\n`);
const tmp = mkdtempSync(join(tmpdir(), "devusers-bench-run-"));

interface Seeded {
  ids: [number, number];
  seconds: number;
}

async function seed(db: BenchDb, users: number, prior: Seeded | undefined): Promise<Seeded> {
  const out = await cli(db.url, ["seed", "--users", String(users), "--org", ORG]);
  const m = /DEVU-(\d+)\.\.DEVU-(\d+).* in ([0-9.]+) s/.exec(out);
  if (!m) throw new Error(`unexpected seed output: ${out}`);
  log(out.trim());
  return { ids: [prior?.ids[0] ?? Number(m[1]), Number(m[2])], seconds: Number(m[3]) };
}

const spec = (url: string, scenario: AnyScenario, token: string, ids: [number, number]): LoadSpec => ({
  url,
  scenario,
  token,
  org: ORG,
  ids,
  connections,
  duration,
  warmup,
  tag: `${randomBytes(3).toString("hex")}-${scenario}`,
});

async function load(s: LoadSpec): Promise<LoadResult> {
  await settle(s.url);
  const r = await runLoad(s);
  const codes = Object.entries(r.statusCodes)
    .map(([c, n]) => `${c}x${n}`)
    .join(" ");
  log(`  ${r.scenario}: ${Math.round(r.rps)} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms, status ${codes}`);
  return r;
}

function baselineCounts(runs: LoadResult[]): string {
  const counts = new Map<string, number>();
  for (const r of runs) counts.set(r.scenario, (counts.get(r.scenario) ?? 0) + 1);
  return [...counts].map(([kind, n]) => `${n} x ${kind}`).join(", ");
}

async function prepare(db: BenchDb, users: number) {
  // Cold start on the empty database first: migrations and the first signing key included.
  const empty = await startService(db.url, undefined);
  const emptyStart = empty.coldStart.healthz;
  await empty.stop();
  const seeded = await seed(db, users, undefined);
  const token = (await cli(db.url, ["token", "create", "--email", ADMIN_EMAIL, "--org", ORG])).trim();
  return { seeded, token, emptyStart };
}

async function single(db: BenchDb) {
  const users = int("users", opt.users);
  const { seeded, token, emptyStart } = await prepare(db, users);
  const profileDir = join(tmp, "profile");
  const profiling = opt.profile !== undefined;
  const service = await startService(db.url, token, {
    nodeArgs: profiling ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [],
  });
  log(
    `cold start: /healthz ${service.coldStart.healthz.toFixed(0)} ms, /dev-users.self ${service.coldStart.self.toFixed(0)} ms`,
  );
  const sample = await check(service, token, ORG, seeded.ids);
  const sampleFile = join(tmp, "sample.json");
  writeFileSync(sampleFile, JSON.stringify(sample));
  // Reads first, then the writes: links add identities, creates add users, and the baseline's
  // bodies are the seeded ones.
  const order = scenarioList(opt.scenarios ?? opt.profile, ["get", "lookup", "list", "self", "link", "create"]);
  const results: Paired[] = [];
  const baselineRuns: LoadResult[] = [];
  const baseline = profiling ? undefined : await startBaseline(sampleFile);
  try {
    for (const s of order) {
      // Each scenario runs right after its own baseline run: the machine's speed drifts over a
      // run, and the ratio should compare like with like.
      let baselineRps: number | undefined;
      if (baseline) {
        const b = await load(spec(baseline.url, baselineOf(s), token, seeded.ids));
        baselineRuns.push(b);
        baselineRps = b.rps;
      }
      results.push({ ...(await load(spec(service.url, s, token, seeded.ids))), baselineRps });
    }
  } finally {
    if (baseline) await stopChild(baseline.child);
  }
  results.unshift(...medianBaselines(baselineRuns));
  const peakRssMb = service.peakRssMb();
  await service.stop();
  const rows = withRatios(results, dialect);
  const out: string[] = [
    `devusers bench: ${dialect}${dialect === "sqlite" ? ` (synchronous=${process.env.SQLITE_SYNCHRONOUS ?? "FULL"})` : ""}, ${users} users, ${connections} connections, ${duration} s per scenario, node ${process.version}`,
    "",
    resultsTable(rows),
    "",
    profiling
      ? "no baseline while profiling"
      : `baseline rows: the median run of each kind (${baselineCounts(baselineRuns)}); each ratio is to the baseline run just before its scenario`,
    `seed: ${users} users in ${seeded.seconds} s`,
    `cold start: empty database /healthz ${emptyStart.toFixed(0)} ms; seeded database /healthz ${service.coldStart.healthz.toFixed(0)} ms, first /dev-users.self ${service.coldStart.self.toFixed(0)} ms`,
    `peak RSS of the service: ${peakRssMb.toFixed(0)} MiB`,
  ];
  let profile: ReturnType<typeof summarize> | undefined;
  if (profiling) {
    profile = summarize(profileDir);
    out.push("", `profile of ${opt.profile}: ${profile.totalMs.toFixed(0)} ms busy`, "");
    out.push(costTable("function (self time)", profile.functions), "", costTable("file or package", profile.files));
  }
  process.stdout.write(`${out.join("\n")}\n`);
  return {
    users,
    seed: seeded,
    coldStart: { emptyHealthzMs: emptyStart, ...service.coldStart },
    peakRssMb,
    results: rows,
    profile,
  };
}

async function scale(db: BenchDb, sizes: number[]) {
  const scenarios = scenarioList(opt.scenarios, ["get", "lookup", "link"]);
  const points: ScalePoint[] = [];
  let seeded: Seeded | undefined;
  let token = "";
  for (const size of sizes) {
    const have = seeded ? seeded.ids[1] - seeded.ids[0] + 1 : 0;
    if (size <= have) throw new Error("--scale sizes must grow");
    log(`scale: ${size} users`);
    if (!seeded) {
      const first = await prepare(db, size);
      seeded = first.seeded;
      token = first.token;
    } else {
      seeded = await seed(db, size - have, seeded);
    }
    const service = await startService(db.url, token);
    const point: ScalePoint = {
      users: size,
      seedSeconds: seeded.seconds,
      coldStartMs: service.coldStart.self,
      peakRssMb: 0,
      p99: {},
      rps: {},
    };
    try {
      await check(service, token, ORG, seeded.ids);
      for (const s of scenarios) {
        const r = await load(spec(service.url, s, token, seeded.ids));
        point.p99[s] = r.p99;
        point.rps[s] = r.rps;
      }
    } finally {
      point.peakRssMb = service.peakRssMb();
      await service.stop();
    }
    points.push(point);
  }
  const header = `devusers bench --scale: ${dialect}, ${connections} connections, ${duration} s per scenario, node ${process.version}`;
  process.stdout.write(`${header}\n\n${scaleTable(points, scenarios)}\n`);
  return { scale: points };
}

async function main(): Promise<void> {
  const db = await freshDatabase(dialect);
  const cleanup = async () => {
    await stopAll();
    await db.drop();
    rmSync(tmp, { recursive: true, force: true });
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      log(`bench: ${signal}, cleaning up`);
      cleanup().finally(() => process.exit(130));
    });
  }
  try {
    const sizes = opt.scale?.split(",").map((s) => int("scale", s));
    let result: object;
    if (opt.startup !== undefined) {
      const figures = await startupBench(int("startup", opt.startup || "10"), log, opt.against);
      process.stdout.write(`${startupTable(figures)}\n`);
      result = { startup: figures };
    } else if (opt.import !== undefined) {
      const sizes = (opt.import || "1000000").split(",").map((s) => int("import", s));
      const figures = await importBench(sizes, log);
      process.stdout.write(`${importTable(figures)}\n`);
      result = { import: figures };
    } else if (opt.against !== undefined) {
      const rows = await againstBench(
        {
          checkout: opt.against,
          dialect,
          users: int("users", opt.users),
          scenarios: scenarioList(opt.scenarios, ["link", "create"]),
          rounds: int("rounds", opt.rounds),
          slice: int("slice", opt.slice),
          connections,
          org: ORG,
          adminEmail: ADMIN_EMAIL,
        },
        log,
      );
      process.stdout.write(`${againstTable(rows, opt.against)}\n`);
      result = { against: opt.against, rows };
    } else if (opt.statements !== undefined) {
      if (dialect !== "postgres")
        throw new Error("--statements counts what PostgreSQL logs: use it with --db postgres");
      const rows = await statementBench(
        db,
        opt.statements,
        scenarioList(opt.scenarios, ["get", "self", "list", "link", "create"]),
        { org: ORG, adminEmail: ADMIN_EMAIL, users: int("users", opt.users), requests: int("requests", opt.requests) },
        log,
      );
      process.stdout.write(`${statementTable(rows)}\n`);
      result = { statements: rows };
    } else if (opt.capacity !== undefined) {
      if (dialect !== "postgres") throw new Error("--capacity measures PostgreSQL: use it with --db postgres");
      const rows = await capacityBench(
        db,
        (opt.capacity || "1,2,3").split(",").map((c) => int("capacity", c)),
        scenarioList(opt.scenarios, ["link", "get", "list"]),
        { org: ORG, adminEmail: ADMIN_EMAIL, users: int("users", opt.users), connections, duration },
        log,
      );
      process.stdout.write(`${capacityTable(rows)}\n`);
      result = { capacity: rows };
    } else if (opt.console !== undefined) {
      const figures = await consoleBench(
        db,
        int("console", opt.console || "10"),
        { org: ORG, adminEmail: ADMIN_EMAIL, users: int("users", opt.users) },
        log,
      );
      process.stdout.write(`${consoleTable(figures)}\n`);
      result = { console: figures };
    } else if (opt.webhooks !== undefined) {
      const figures = await webhookBench(db, int("webhooks", opt.webhooks || "5000"), log);
      process.stdout.write(`${webhookTable(figures)}\n`);
      result = { webhooks: figures };
    } else if (opt.backlog !== undefined) {
      const options = { connections, duration, warmup };
      const figures = await backlogBench(db, int("backlog", opt.backlog || "100000"), options, log);
      process.stdout.write(`${backlogTable(figures, options)}\n`);
      result = { backlog: figures };
    } else result = sizes ? await scale(db, sizes) : await single(db);
    if (opt.json) {
      const synchronous = dialect === "sqlite" ? (process.env.SQLITE_SYNCHRONOUS ?? "FULL") : undefined;
      const meta = { dialect, synchronous, connections, duration, warmup, node: process.version };
      const date = new Date().toISOString();
      writeFileSync(opt.json, `${JSON.stringify({ ...meta, date, ...result }, null, 2)}\n`);
    }
  } finally {
    await cleanup();
  }
}

main().catch((err) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});

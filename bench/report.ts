// Tables the benchmark prints: markdown, so they read in a terminal and paste into the docs.
import { type AnyScenario, baselineOf, type LoadResult } from "./scenarios.js";

export interface Target {
  minRatio: number;
  maxP99?: number;
}

/**
 * The targets per scenario and database: SQLite's from the performance issue (#4), PostgreSQL's
 * from the PostgreSQL issue (#14), which replaced #4's for that database and names none for
 * lookup, list or create.
 */
export function targetOf(s: AnyScenario, dialect: "sqlite" | "postgres"): Target | undefined {
  if (dialect === "postgres") return POSTGRES_TARGETS[s];
  switch (s) {
    case "link":
      return { minRatio: 0.4, maxP99: 10 };
    case "get":
    case "lookup":
    case "self":
      return { minRatio: 0.6 };
    case "list":
      return { minRatio: 0.4 };
    default:
      return undefined;
  }
}
const POSTGRES_TARGETS: Partial<Record<AnyScenario, Target>> = {
  link: { minRatio: 0.12 },
  get: { minRatio: 0.25 },
  self: { minRatio: 0.4 },
};

export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  return [line(cells[0]!), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...cells.slice(1).map(line)].join(
    "\n",
  );
}

const fixed = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : "-");

export interface Row extends LoadResult {
  ratio: number;
  baseRps: number;
  target?: Target;
  met?: boolean;
}

/** A scenario's result with the req/s of the baseline run measured right before it. */
export interface Paired extends LoadResult {
  baselineRps?: number;
}

/** The run with the median req/s of each baseline, for the table's baseline rows. */
export function medianBaselines(runs: LoadResult[]): LoadResult[] {
  const kinds = [...new Set(runs.map((r) => r.scenario))];
  return kinds.map((kind) => {
    const sorted = runs.filter((r) => r.scenario === kind).sort((a, b) => a.rps - b.rps);
    return sorted[Math.floor((sorted.length - 1) / 2)]!;
  });
}

export function withRatios(results: Paired[], dialect: "sqlite" | "postgres"): Row[] {
  const by = new Map(results.map((r) => [r.scenario, r]));
  return results.map((r) => {
    const baseRps = r.baselineRps ?? by.get(baselineOf(r.scenario))?.rps;
    const ratio = baseRps !== undefined && baseRps > 0 ? r.rps / baseRps : Number.NaN;
    const target = targetOf(r.scenario, dialect);
    const met = target
      ? ratio >= target.minRatio && (target.maxP99 === undefined || r.p99 <= target.maxP99)
      : undefined;
    return { ...r, ratio, baseRps: baseRps ?? Number.NaN, target, met };
  });
}

export function resultsTable(rows: Row[]): string {
  return table(
    ["scenario", "req/s", "p50 ms", "p99 ms", "errors", "non-2xx", "baseline req/s", "ratio", "target", "met"],
    rows.map((r) => [
      r.scenario,
      Math.round(r.rps),
      fixed(r.p50),
      fixed(r.p99),
      r.errors + r.timeouts,
      r.non2xx,
      Number.isFinite(r.baseRps) ? `${Math.round(r.baseRps)} (${baselineOf(r.scenario)})` : "-",
      fixed(r.ratio, 2),
      r.target ? `>= ${r.target.minRatio}${r.target.maxP99 !== undefined ? `, p99 <= ${r.target.maxP99} ms` : ""}` : "",
      r.met === undefined ? "" : r.met ? "yes" : "no",
    ]),
  );
}

export interface ScalePoint {
  users: number;
  seedSeconds: number;
  coldStartMs: number;
  peakRssMb: number;
  p99: Partial<Record<AnyScenario, number>>;
  rps: Partial<Record<AnyScenario, number>>;
}

export function scaleTable(points: ScalePoint[], scenarios: AnyScenario[]): string {
  const rows: (string | number)[][] = points.map((p) => [
    p.users,
    ...scenarios.map((s) => `${fixed(p.p99[s] ?? Number.NaN)} (${Math.round(p.rps[s] ?? 0)}/s)`),
    fixed(p.seedSeconds),
    Math.round(p.coldStartMs),
    Math.round(p.peakRssMb),
  ]);
  const first = points[0];
  const last = points[points.length - 1];
  if (first && last && points.length > 1) {
    rows.push([
      `${last.users} / ${first.users}`,
      ...scenarios.map((s) => `${fixed((last.p99[s] ?? Number.NaN) / (first.p99[s] ?? Number.NaN), 2)}x`),
      "",
      "",
      "",
    ]);
  }
  return table(
    ["users", ...scenarios.map((s) => `${s} p99 ms (req/s)`), "seed s (added)", "cold start ms", "peak RSS MiB"],
    rows,
  );
}

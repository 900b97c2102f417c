// npm run bench -- --console N: the console's weight and its first render. The bundle is weighed
// gzipped, file by file, as the browser fetches it; then N cold loads of the directory (a new
// browser context each: empty cache, no connection reused) against the production server on a
// seeded database, each timed from navigation to the first user row on screen.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { chromium } from "playwright-core";
import { type BenchDb, cli, ROOT, startService } from "./proc.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

export interface ConsoleFigures {
  users: number;
  files: { name: string; bytes: number; gzip: number }[];
  /** Each load: navigation start to the first row, and what the page's own timing saw. */
  loads: { firstRowMs: number; domContentLoadedMs: number; requests: number }[];
}

function weigh(): ConsoleFigures["files"] {
  const dir = join(ROOT, "dist", "console");
  const out: ConsoleFigures["files"] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.(js|css|html)$/.test(name)) {
        const body = readFileSync(path);
        out.push({ name: path.slice(dir.length + 1), bytes: body.length, gzip: gzipSync(body, { level: 9 }).length });
      }
    }
  };
  walk(dir);
  return out;
}

export async function consoleBench(
  db: BenchDb,
  runs: number,
  opts: { org: string; adminEmail: string; users: number },
  log: (line: string) => void,
): Promise<ConsoleFigures> {
  const files = weigh();
  log(`seeding ${opts.users} users`);
  log((await cli(db.url, ["seed", "--users", String(opts.users), "--org", opts.org])).trim());
  const token = (await cli(db.url, ["token", "create", "--email", opts.adminEmail, "--org", opts.org])).trim();
  const service = await startService(db.url, token);
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox"] });
  const loads: ConsoleFigures["loads"] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const page = await context.newPage();
      let requests = 0;
      page.on("request", () => {
        requests++;
      });
      await page.addInitScript((tok) => sessionStorage.setItem("devusers.session", tok), token);
      const started = performance.now();
      await page.goto(`${service.url}/console/#/users`, { waitUntil: "commit" });
      await page.getByRole("cell", { name: "user1@example.com" }).waitFor();
      const firstRowMs = performance.now() - started;
      const domContentLoadedMs = await page.evaluate(() => {
        const nav = performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming | undefined;
        return nav ? nav.domContentLoadedEventEnd : Number.NaN;
      });
      loads.push({ firstRowMs, domContentLoadedMs, requests });
      log(`load ${i + 1}: first row ${firstRowMs.toFixed(0)} ms, ${requests} requests`);
      await context.close();
    }
  } finally {
    await browser.close();
    await service.stop();
  }
  return { users: opts.users, files, loads };
}

export function consoleTable(f: ConsoleFigures): string {
  const kb = (n: number) => (n / 1024).toFixed(1);
  const lines = ["| file | bytes | gzipped |", "|---|---:|---:|"];
  for (const file of f.files) lines.push(`| ${file.name} | ${file.bytes} | ${kb(file.gzip)} KB |`);
  const jsCss = f.files.filter((x) => /\.(js|css)$/.test(x.name)).reduce((a, x) => a + x.gzip, 0);
  lines.push(`| **JS + CSS** | | **${kb(jsCss)} KB** (budget 150 KB) |`, "");
  const first = f.loads.map((l) => l.firstRowMs);
  lines.push(
    `first render of the directory, ${f.users} users, ${f.loads.length} cold loads (new context each):`,
    `  first row on screen: median ${median(first).toFixed(0)} ms, first load ${first[0]?.toFixed(0)} ms, worst ${Math.max(...first).toFixed(0)} ms (budget 1000 ms)`,
    `  DOMContentLoaded: median ${median(f.loads.map((l) => l.domContentLoadedMs)).toFixed(0)} ms; requests per load: ${f.loads[0]?.requests}`,
  );
  return lines.join("\n");
}

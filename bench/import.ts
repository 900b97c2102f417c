// npm run bench -- --import N[,M...]: how fast `devusers load` takes a JSONL file of N users (each
// with one or two identities, most with a manager) into a fresh SQLite database, and the load's
// peak RSS, which should stay flat as N grows: the file streams, and what outlives a batch waits
// in TEMP tables.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createWriteStream, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLI, peakRss } from "./proc.js";

export interface ImportFigures {
  users: number;
  fileMb: number;
  seconds: number;
  usersPerSecond: number;
  peakRssMb: number;
}

/** User k: slack for all, github for even k, a manager for nine in ten (DEVU-⌈k/10⌉, a tree). */
function line(k: number): string {
  const r: Record<string, unknown> = {
    display_id: `DEVU-${k}`,
    email: `user${k}@example.com`,
    display_name: `user${k}`,
    full_name: `Imported User ${k}`,
    role: k === 1 ? "admin" : "member",
    created_date: new Date(Date.UTC(2026, 0, 1) + k).toISOString(),
    external_identities: [{ issuer: "slack", id: `U${k}`, display_name: `user${k}`, is_verified: true }],
  };
  if (k % 2 === 0) (r.external_identities as unknown[]).push({ issuer: "github", id: String(k) });
  if (k % 10 !== 1) r.reports_to = `DEVU-${Math.ceil(k / 10)}`;
  return `${JSON.stringify(r)}\n`;
}

async function writeFile(path: string, users: number): Promise<void> {
  const out = createWriteStream(path);
  let chunk = "";
  for (let k = 1; k <= users; k++) {
    chunk += line(k);
    if (chunk.length < 1 << 20) continue;
    if (!out.write(chunk)) await once(out, "drain");
    chunk = "";
  }
  out.end(chunk);
  await once(out, "finish");
}

function load(databaseUrl: string, file: string): Promise<{ seconds: number; peakRssMb: number; out: string }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [CLI, "load", file], {
      env: { ...process.env, DATABASE_URL: databaseUrl, LOG_LEVEL: "warn" },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    let peak = 0;
    // VmHWM is the process's own high-water mark: sampling only has to see it before the exit.
    const timer = setInterval(() => {
      const rss = peakRss(child.pid);
      if (rss > peak) peak = rss;
    }, 50);
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.once("error", reject);
    child.once("exit", (code) => {
      clearInterval(timer);
      const seconds = (performance.now() - started) / 1000;
      if (code === 0) resolve({ seconds, peakRssMb: peak, out });
      else reject(new Error(`devusers load exited ${code}`));
    });
  });
}

export async function importBench(sizes: number[], log: (line: string) => void): Promise<ImportFigures[]> {
  const figures: ImportFigures[] = [];
  for (const users of sizes) {
    const dir = mkdtempSync(join(tmpdir(), "devusers-bench-import-"));
    try {
      const file = join(dir, "users.jsonl");
      log(`  writing ${users} users to a JSONL file`);
      await writeFile(file, users);
      const fileMb = statSync(file).size / 2 ** 20;
      log(`  devusers load (${fileMb.toFixed(0)} MiB)`);
      const r = await load(join(dir, "db.sqlite"), file);
      log(`  ${r.out.trim()}`);
      figures.push({ users, fileMb, seconds: r.seconds, usersPerSecond: users / r.seconds, peakRssMb: r.peakRssMb });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return figures;
}

export function importTable(figures: ImportFigures[]): string {
  return [
    "devusers load: a JSONL file into a fresh SQLite database, the whole process timed",
    "",
    "| users | file MiB | s | users/s | peak RSS MiB | goal |",
    "|---:|---:|---:|---:|---:|---|",
    ...figures.map(
      (f) =>
        `| ${f.users} | ${f.fileMb.toFixed(0)} | ${f.seconds.toFixed(1)} | ${f.usersPerSecond.toFixed(0)} | ${f.peakRssMb.toFixed(0)} | ${f.users >= 1_000_000 ? "1M under 60 s" : ""} |`,
    ),
  ].join("\n");
}

// Child processes of the benchmark: the service (`devusers serve` from the production build),
// the CLI, the baseline server and the load worker; and the databases they run on.
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import type { LoadResult, LoadSpec } from "./scenarios.js";

const spawned = new Set<ChildProcess>();
function track<T extends ChildProcess>(child: T): T {
  spawned.add(child);
  child.once("exit", () => spawned.delete(child));
  return child;
}
/** Stops every child this process started that is still running (on the way out, or on error). */
export async function stopAll(): Promise<void> {
  await Promise.all([...spawned].map((c) => stopChild(c, 5_000)));
}

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const CLI = join(ROOT, "bin", "devusers.js");
const HERE = fileURLToPath(new URL(".", import.meta.url));

export interface BenchDb {
  url: string;
  dialect: "sqlite" | "postgres";
  drop(): Promise<void>;
}

export const PG_ADMIN_URL = process.env.BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

/** A fresh database: a file in a new temporary directory, or a new PostgreSQL database. */
export async function freshDatabase(dialect: "sqlite" | "postgres"): Promise<BenchDb> {
  if (dialect === "sqlite") {
    const dir = mkdtempSync(join(tmpdir(), "devusers-bench-"));
    return { url: join(dir, "bench.sqlite"), dialect, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const name = `devusers_bench_${randomBytes(5).toString("hex")}`;
  const admin = async (sql: string) => {
    const c = new pg.Client({ connectionString: PG_ADMIN_URL });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await admin(`create database ${name}`);
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return { url: url.toString(), dialect, drop: () => admin(`drop database if exists ${name} with (force)`) };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function serviceEnv(databaseUrl: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: databaseUrl, LOG_LEVEL: "warn", ...extra };
  delete env.REDIS_URL; // the in-memory rate limiter; Redis is not what this measures
  return env;
}

/** Runs the CLI to completion; its stderr (progress bar) passes through. Returns stdout. */
export function cli(databaseUrl: string, args: string[], cliPath = CLI): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = track(
      spawn(process.execPath, [cliPath, ...args], {
        env: serviceEnv(databaseUrl),
        stdio: ["ignore", "pipe", "inherit"],
      }),
    );
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.once("error", reject);
    child.once("exit", (code) =>
      code === 0 ? resolve(out) : reject(new Error(`devusers ${args.join(" ")} exited with ${code}`)),
    );
  });
}

export interface Service {
  url: string;
  child: ChildProcess;
  /** ms from spawn to the first 200 from /healthz, and from /dev-users.self with `token` (if any). */
  coldStart: { healthz: number; self: number };
  /** Peak resident set size so far, in MiB (VmHWM). */
  peakRssMb(): number;
  /** Starts peakRssMb() over from the current RSS, so a phase reports its own peak. */
  resetPeakRss(): void;
  stop(): Promise<void>;
}

async function until(ok: () => Promise<boolean>, deadline: number, what: string): Promise<void> {
  for (;;) {
    if (await ok().catch(() => false)) return;
    if (performance.now() > deadline) throw new Error(`no answer from ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

export async function startService(
  databaseUrl: string,
  token: string | undefined,
  opts: { nodeArgs?: string[]; env?: Record<string, string>; cli?: string } = {},
): Promise<Service> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  // No load balancer to wait for on SIGTERM: SHUTDOWN_LISTEN_MS=0 stops listening at once.
  const env = serviceEnv(databaseUrl, {
    PORT: String(port),
    HOST: "127.0.0.1",
    RATE_LIMIT_MAX: "1000000000",
    SHUTDOWN_LISTEN_MS: "0",
  });
  const started = performance.now();
  const child = track(
    spawn(process.execPath, [...(opts.nodeArgs ?? []), opts.cli ?? CLI, "serve"], {
      env: { ...env, ...opts.env },
      stdio: ["ignore", "inherit", "inherit"],
    }),
  );
  let exited = false;
  child.once("exit", () => {
    exited = true;
  });
  const deadline = started + 30_000;
  const alive = () => {
    if (exited) throw new Error("devusers serve exited during start");
  };
  try {
    return await ready();
  } catch (err) {
    await stopChild(child);
    throw err;
  }

  async function ready(): Promise<Service> {
    await until(
      async () => {
        alive();
        return (await fetch(`${url}/healthz`)).ok;
      },
      deadline,
      "/healthz",
    );
    const healthz = performance.now() - started;
    if (token !== undefined)
      await until(
        async () => {
          alive();
          return (await fetch(`${url}/dev-users.self`, { headers: { authorization: `Bearer ${token}` } })).ok;
        },
        deadline,
        "/dev-users.self",
      );
    const self = performance.now() - started;
    return {
      url,
      child,
      coldStart: { healthz, self },
      peakRssMb: () => peakRss(child.pid),
      resetPeakRss: () => resetPeakRss(child.pid),
      stop: () => stopChild(child),
    };
  }
}

export function peakRss(pid: number | undefined): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = /VmHWM:\s+(\d+)\s+kB/.exec(status);
    return kb ? Number(kb[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** Linux's way to set VmHWM back to VmRSS (proc(5), clear_refs); elsewhere the peak goes on. */
export function resetPeakRss(pid: number | undefined): void {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
  } catch {
    // no /proc: the peak is the run's so far
  }
}

export function stopChild(child: ChildProcess, timeoutMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

/** Starts the bare Fastify baseline with the sample responses in `sampleFile`. */
export function startBaseline(sampleFile: string): Promise<{ url: string; child: ChildProcess }> {
  return new Promise((resolve, reject) => {
    const child = track(
      spawn(process.execPath, [join(HERE, "baseline.js"), sampleFile], {
        stdio: ["ignore", "pipe", "inherit"],
      }),
    );
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /PORT (\d+)/.exec(out);
      if (m) resolve({ url: `http://127.0.0.1:${m[1]}`, child });
    });
    child.once("exit", (code) => reject(new Error(`baseline exited with ${code}`)));
  });
}

/** Runs one scenario in the load worker process and returns its result. */
export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = track(
      spawn(process.execPath, [join(HERE, "load.js"), JSON.stringify(spec)], {
        stdio: ["ignore", "pipe", "inherit"],
      }),
    );
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.once("error", reject);
    child.once("exit", (code) => {
      if (code !== 0) return reject(new Error(`load worker for ${spec.scenario} exited with ${code}`));
      try {
        resolve(JSON.parse(out) as LoadResult);
      } catch (err) {
        reject(err);
      }
    });
  });
}

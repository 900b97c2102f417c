// npm run bench -- --startup: how soon devusers is ready, each figure the median of `runs` fresh
// processes, beside what Node itself takes in the same run (a bare HTTP server spawned to its
// first 200, and an empty script), so the ratios hold on a busy machine.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { cli, freePort, freshDatabase, ROOT, startService, stopChild } from "./proc.js";

const HERE = new URL(".", import.meta.url).pathname;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

function runNode(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.once("error", reject);
    child.once("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`node ${args[0]} exited ${code}`))));
  });
}

/** Spawn to the first 200 of a bare node:http server: Node's own floor for the same path. */
function bareServer(): Promise<number> {
  const code = `require("node:http").createServer((q, s) => s.end("ok")).listen(process.env.PORT, "127.0.0.1")`;
  return firstOk(["-e", code]);
}

/** Builds bench/fastify-floor.ts as ES modules, the way the package was bundled before its code cache. */
async function bundleFastifyFloor(dir: string): Promise<string> {
  const outfile = join(dir, "fastify-floor.mjs");
  await build({
    entryPoints: [join(ROOT, "bench", "fastify-floor.ts")],
    outfile,
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    banner: { js: 'import { createRequire as __cr } from "node:module"; const require = __cr(import.meta.url);' },
    logLevel: "warning",
  });
  return outfile;
}

/**
 * Builds bench/fastify-floor.ts the way the package is (scripts/bundle.mjs): one minified CommonJS
 * bundle, compiled through src/bundle/load.ts with V8's code cache, which a first run writes.
 */
async function bundleCachedFastifyFloor(dir: string): Promise<string> {
  const name = "fastify-floor.cjs";
  await build({
    entryPoints: [join(ROOT, "bench", "fastify-floor.ts")],
    outfile: join(dir, name),
    bundle: true,
    format: "cjs",
    platform: "node",
    target: "node20",
    minify: true,
    keepNames: true,
    legalComments: "external",
    logLevel: "warning",
  });
  await build({
    entryPoints: [join(ROOT, "src", "bundle", "load.ts")],
    outfile: join(dir, "load.cjs"),
    bundle: true,
    format: "cjs",
    platform: "node",
    target: "node20",
    inject: [join(ROOT, "src", "bundle", "module-url.ts")],
    define: { DEVUSERS_BUNDLE: JSON.stringify(name), "import.meta.url": "moduleUrl" },
    logLevel: "warning",
  });
  const entry = join(dir, "fastify-floor-cached.cjs");
  writeFileSync(entry, 'require("./load.cjs");\n');
  // The first run writes the cache SAVE_AFTER_MS after it started: kept running until it has.
  await firstOk([entry], async () => {
    const deadline = performance.now() + 10_000;
    while (!existsSync(join(dir, "code-cache")) || readdirSync(join(dir, "code-cache")).length === 0) {
      if (performance.now() > deadline) throw new Error("the Fastify floor wrote no code cache");
      await new Promise((r) => setTimeout(r, 50));
    }
  });
  return entry;
}

/** Spawn of `node <args>` with PORT set, to its first 200 on /; `thenWait` runs before it is stopped. */
async function firstOk(args: string[], thenWait?: () => Promise<void>): Promise<number> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, args, { stdio: "ignore", env: { ...process.env, PORT: String(port) } });
  try {
    for (;;) {
      const ok = await fetch(`http://127.0.0.1:${port}/`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) {
        const ms = performance.now() - started;
        await thenWait?.();
        return ms;
      }
      if (performance.now() - started > 10_000) throw new Error(`node ${args[0]} never answered`);
      await new Promise((r) => setTimeout(r, 2));
    }
  } finally {
    await stopChild(child);
  }
}

/** Spawn of `devusers serve` on a new empty database to its first authenticated 200. */
async function serveToFirst200(checkout = ROOT): Promise<number> {
  const db = await freshDatabase("sqlite");
  const bin = join(checkout, "bin", "devusers.js");
  try {
    const token = (await cli(db.url, ["token", "create", "--email", "admin@example.com"], bin)).trim();
    const service = await startService(db.url, token, { cli: bin });
    await service.stop();
    return service.coldStart.self;
  } finally {
    await db.drop();
  }
}

export interface StartupFigures {
  runs: number;
  nodeEmptyMs: number;
  bareServerMs: number;
  fastifyFloorMs: number;
  fastifyCachedFloorMs: number;
  serveMs: number;
  importMs: number;
  startDevusersMs: number;
  /** With `--against <checkout>`: that build's figures, measured in the same runs, alternately. */
  base?: { checkout: string; serveMs: number; importMs: number; startDevusersMs: number };
  /** Medians of the per-run ratios head / base, which hold when the machine's speed drifts. */
  ratios?: { serve: number; import: number; startDevusers: number };
}

async function importAndStart(child: string, checkout: string): Promise<{ importMs: number; startMs: number }> {
  return JSON.parse(await runNode([child, join(checkout, "dist", "index.js")])) as {
    importMs: number;
    startMs: number;
  };
}

export async function startupBench(
  runs: number,
  log: (line: string) => void,
  against?: string,
): Promise<StartupFigures> {
  const entry = join(ROOT, "dist", "index.js");
  if (against !== undefined && !existsSync(join(against, "dist", "index.js")))
    throw new Error(`--against ${against}: no dist/index.js there; run npm ci && npm run build in it first`);
  const base = { serve: [] as number[], imp: [] as number[], start: [] as number[] };
  const ratio = { serve: [] as number[], imp: [] as number[], start: [] as number[] };
  const child = join(HERE, "startup-child.js");
  const samples = {
    nodeEmpty: [] as number[],
    bare: [] as number[],
    fastify: [] as number[],
    fastifyCached: [] as number[],
    serve: [] as number[],
    imp: [] as number[],
    start: [] as number[],
  };
  const dir = mkdtempSync(join(tmpdir(), "devusers-floor-"));
  const floor = await bundleFastifyFloor(dir);
  const cachedFloor = await bundleCachedFastifyFloor(dir);
  for (let i = 0; i < runs; i++) {
    // Interleaved, so a slow stretch of the machine weighs on every kind alike.
    const t = performance.now();
    await runNode(["-e", ""]);
    samples.nodeEmpty.push(performance.now() - t);
    samples.bare.push(await bareServer());
    samples.fastify.push(await firstOk([floor]));
    samples.fastifyCached.push(await firstOk([cachedFloor]));
    samples.serve.push(await serveToFirst200());
    const r = JSON.parse(await runNode([child, entry])) as { importMs: number; startMs: number };
    samples.imp.push(r.importMs);
    samples.start.push(r.startMs);
    if (against !== undefined) {
      const serve = await serveToFirst200(against);
      const b = await importAndStart(child, against);
      base.serve.push(serve);
      base.imp.push(b.importMs);
      base.start.push(b.startMs);
      ratio.serve.push(samples.serve.at(-1)! / serve);
      ratio.imp.push(r.importMs / b.importMs);
      ratio.start.push(r.startMs / b.startMs);
      log(
        `  base run ${i + 1}/${runs}: serve ${serve.toFixed(0)} ms, import ${b.importMs.toFixed(0)} ms, startDevusers ${b.startMs.toFixed(0)} ms`,
      );
    }
    log(
      `  startup run ${i + 1}/${runs}: bare ${samples.bare.at(-1)!.toFixed(0)} ms, fastify ${samples.fastify.at(-1)!.toFixed(0)} ms, cached ${samples.fastifyCached.at(-1)!.toFixed(0)} ms, serve ${samples.serve.at(-1)!.toFixed(0)} ms, import ${r.importMs.toFixed(0)} ms, startDevusers ${r.startMs.toFixed(0)} ms`,
    );
  }
  rmSync(dir, { recursive: true, force: true });
  return {
    runs,
    nodeEmptyMs: median(samples.nodeEmpty),
    bareServerMs: median(samples.bare),
    fastifyFloorMs: median(samples.fastify),
    fastifyCachedFloorMs: median(samples.fastifyCached),
    serveMs: median(samples.serve),
    importMs: median(samples.imp),
    startDevusersMs: median(samples.start),
    ...(against === undefined
      ? {}
      : {
          base: {
            checkout: against,
            serveMs: median(base.serve),
            importMs: median(base.imp),
            startDevusersMs: median(base.start),
          },
          ratios: { serve: median(ratio.serve), import: median(ratio.imp), startDevusers: median(ratio.start) },
        }),
  };
}

export function startupTable(f: StartupFigures): string {
  const row = (what: string, ms: number, goal: string, base?: number) =>
    `| ${what} | ${ms.toFixed(0)} | ${base === undefined ? "" : `${(ms / base).toFixed(2)}×`} | ${goal} |`;
  return [
    `startup: medians of ${f.runs} fresh processes each, on new empty SQLite databases`,
    "",
    "| measure | ms | × Node's own | goal |",
    "|---|---:|---:|---|",
    row("node -e '' (Node's start and exit)", f.nodeEmptyMs, ""),
    row("bare node:http spawned to first 200", f.bareServerMs, ""),
    row("smallest Fastify app, bundled as ES modules, spawned to first 200", f.fastifyFloorMs, "", f.bareServerMs),
    row("the same, bundled and code-cached like the package", f.fastifyCachedFloorMs, "", f.bareServerMs),
    row("devusers serve spawned to first authenticated 200", f.serveMs, "≤ 300 ms", f.bareServerMs),
    row("import of the package (dist/index.js)", f.importMs, "", f.nodeEmptyMs),
    row("startDevusers() to resolved, after import", f.startDevusersMs, "≤ 150 ms"),
    ...(f.base === undefined || f.ratios === undefined ? [] : againstRows(f)),
  ].join("\n");
}

function againstRows(f: StartupFigures): string[] {
  const b = f.base!;
  const r = f.ratios!;
  const row = (what: string, head: number, base: number, ratio: number) =>
    `| ${what} | ${base.toFixed(0)} | ${head.toFixed(0)} | ${ratio.toFixed(3)} |`;
  return [
    "",
    `against ${b.checkout}, run alternately with this build (ratio: median of the per-run ratios, head / base)`,
    "",
    "| measure | base ms | head ms | head / base |",
    "|---|---:|---:|---:|",
    row("serve spawned to first authenticated 200", f.serveMs, b.serveMs, r.serve),
    row("import of the package", f.importMs, b.importMs, r.import),
    row("startDevusers() to resolved", f.startDevusersMs, b.startDevusersMs, r.startDevusers),
  ];
}

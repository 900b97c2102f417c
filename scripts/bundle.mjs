// Builds what the package ships: our modules and the libraries they import at start (Kysely,
// Fastify with Ajv and pino, jose) bundled into a few ES modules in dist/, and the type
// declarations beside them (dist/types). Resolving and loading the libraries' hundreds of small
// files was most of every start: bundling Kysely took spawn-to-first-200 from 797 to 548 ms, and
// the rest from 580 to 378 ms (docs/performance.md).
import { rmSync } from "node:fs";
import { build } from "esbuild";

rmSync("dist", { recursive: true, force: true });
await build({
  entryPoints: {
    index: "src/index.ts",
    testing: "src/testing/index.ts",
    cli: "src/cli/index.ts",
    // Started by path (new URL("./checkpoint-worker.js", import.meta.url)), so it must sit beside
    // the chunk that starts it: every output goes to dist/ itself.
    "checkpoint-worker": "src/db/checkpoint-worker.ts",
  },
  outdir: "dist",
  chunkNames: "[name]-[hash]",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  // The native module, and what is loaded only on demand, stay where npm put them.
  external: ["better-sqlite3", "pg", "ioredis", "yaml"],
  // The CommonJS libraries inside call require(), which an ES module does not have.
  banner: { js: 'import { createRequire as __cr } from "node:module"; const require = __cr(import.meta.url);' },
  logLevel: "warning",
});

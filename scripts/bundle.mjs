// Builds what the package ships: our modules and Kysely bundled into a few ES modules in dist/
// (importing Kysely's hundreds of small modules took a third of every start), the other
// dependencies left to node_modules, and the type declarations beside them (dist/types).
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
  // Native modules, CommonJS packages and what is loaded only on demand stay where npm put them.
  external: ["better-sqlite3", "pg", "ioredis", "fastify", "@fastify/*", "jose", "ajv", "yaml", "secure-json-parse"],
  logLevel: "warning",
});

#!/usr/bin/env node
// CommonJS (bin/package.json says so): a start that needs no ES module spares Node's ES module
// loader, about 10 ms of every command (docs/performance.md, "Start-up").
const { main } = require("../dist/load.cjs").bundle;

main(process.argv.slice(2)).then(
  (code) => {
    if (typeof code === "number") process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`devusers: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);

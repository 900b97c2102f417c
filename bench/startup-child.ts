// Run by bench/startup.ts in a fresh process: how long the package takes to import, and how long
// startDevusers() then takes to resolve. Prints one JSON line.
const entry = process.argv[2];
if (!entry) throw new Error("usage: startup-child <path of the package's entry>");
const t0 = performance.now();
const { startDevusers } = (await import(entry)) as typeof import("../src/index.js");
const t1 = performance.now();
const devusers = await startDevusers();
const t2 = performance.now();
const res = await fetch(`${devusers.url}/dev-users.self`, { headers: { authorization: devusers.adminToken } });
if (res.status !== 200) throw new Error(`dev-users.self answered ${res.status}`);
await devusers.close();
process.stdout.write(`${JSON.stringify({ importMs: t1 - t0, startMs: t2 - t1, processMs: t0 })}\n`);

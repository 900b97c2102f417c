// Run by scripts/bundle.mjs in a fresh process: starts `devusers serve` from the new bundle on an
// empty temporary database, as a user would, answers its first requests, and saves V8's code
// cache of what that compiled (dist/code-cache/, read by dist/load.cjs at every start).
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const port = await new Promise((resolve, reject) => {
  const srv = createServer().once("error", reject);
  srv.listen(0, "127.0.0.1", () => {
    const { port } = srv.address();
    srv.close(() => resolve(port));
  });
});
const dir = mkdtempSync(join(tmpdir(), "devusers-warm-"));
process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
Object.assign(process.env, {
  DATABASE_URL: join(dir, "warm.sqlite"),
  PORT: String(port),
  HOST: "127.0.0.1",
  LOG_LEVEL: "warn",
  SHUTDOWN_LISTEN_MS: "0",
  DEVUSERS_BOOTSTRAP_ADMIN: "admin@example.com",
  DEVUSERS_BOOTSTRAP_TOKEN_FILE: join(dir, "token"),
});
delete process.env.REDIS_URL;
delete process.env.DEVUSERS_CODE_CACHE;

const { bundle, saveCodeCache } = createRequire(import.meta.url)("../dist/load.cjs");
const code = await bundle.main(["serve"]);
if (code !== 0) throw new Error(`devusers serve returned ${code}`);
const token = readFileSync(join(dir, "token"), "utf8").trim();
for (const [path, headers] of [
  ["/healthz", {}],
  ["/dev-users.self", { authorization: `Bearer ${token}` }],
]) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { headers });
  if (res.status !== 200) throw new Error(`${path} answered ${res.status}`);
}
if (!saveCodeCache()) throw new Error("the code cache could not be written in dist/code-cache");
// serve drains on SIGTERM and exits.
process.kill(process.pid, "SIGTERM");

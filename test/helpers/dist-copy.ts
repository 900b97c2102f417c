// Copies of the package's build (dist/) to try the bundle in odd installs: each inside the project,
// so that what the bundle leaves to node_modules still resolves.
import { spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
export const packageVersion = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string })
  .version;

/** A directory for copies, and how to remove it with all of them. */
export function copiesDir(): { dir: string; remove(): void } {
  mkdirSync(join(ROOT, "build"), { recursive: true });
  const dir = mkdtempSync(join(ROOT, "build", "dist-copies-"));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A copy of dist/ (with the package.json and bin beside it), without its code cache unless `keepCache`. */
export function copyOfDist(under: string, keepCache = false): string {
  const dir = mkdtempSync(join(under, "pkg-"));
  for (const entry of ["dist", "bin", "package.json"]) cpSync(join(ROOT, entry), join(dir, entry), { recursive: true });
  if (!keepCache) rmSync(join(dir, "dist", "code-cache"), { recursive: true, force: true });
  return dir;
}

/**
 * Runs `body` (an ES module's source, with `load` the copy's dist/load.cjs) in a new Node process,
 * and returns the JSON it prints last.
 */
export function inCopy<T>(dir: string, body: string, env: Record<string, string> = {}): Promise<T> {
  const script = `const { default: load } = await import(${JSON.stringify(join(dir, "dist", "load.cjs"))});\n${body}`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      env: { PATH: process.env.PATH, ...env },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) return reject(new Error(`the copy's process exited ${code}`));
      resolve(JSON.parse(out.trim().split("\n").at(-1)!) as T);
    });
  });
}

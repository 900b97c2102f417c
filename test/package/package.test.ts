// The package as a user gets it: `npm pack` (its prepack build included) on a copy of the project,
// a real `npm install <tarball>` into a scratch project, then the CLI and the programmatic API
// from there. Slow (npm installs and builds better-sqlite3), so it runs on its own after the other
// suites: see the `test` script.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
const MINUTES = 60_000;

describe("the npm package", { timeout: 15 * MINUTES }, () => {
  const dir = mkdtempSync(join(tmpdir(), "devusers-package-"));
  const app = join(dir, "app");
  let tarball: string;
  let files: string[];

  before(async () => {
    // A copy, so that the prepack build never rewrites files the other suites are running.
    const copy = join(dir, "project");
    for (const entry of [
      "package.json",
      "package-lock.json",
      "README.md",
      "bin",
      "src",
      "tsconfig.json",
      "tsconfig.build.json",
      "scripts",
      "console",
    ]) {
      cpSync(join(ROOT, entry), join(copy, entry), { recursive: true });
    }
    symlinkSync(join(ROOT, "node_modules"), join(copy, "node_modules"), "dir");
    const packed = await run("npm", ["pack", "--json", "--pack-destination", dir], { cwd: copy, maxBuffer: 1 << 24 });
    const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
    tarball = join(dir, info!.filename);
    files = info!.files.map((f) => f.path);
    mkdirSync(app);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "scratch", private: true, type: "module" }));
    await run("npm", ["install", tarball, "@devrev/typescript-sdk", "--no-audit", "--no-fund", "--prefer-offline"], {
      cwd: app,
      maxBuffer: 1 << 24,
    });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("ships the build, its type declarations and the bin, and no tests, benchmarks or sources", () => {
    for (const path of [
      "bin/devusers.js",
      "bin/package.json",
      "dist/index.js",
      "dist/testing.js",
      "dist/load.cjs",
      "dist/checkpoint-worker.js",
      "dist/types/index.d.ts",
      "dist/types/testing/index.d.ts",
      "dist/console/index.html",
      "README.md",
    ]) {
      assert.ok(files.includes(path), `${path} is in the package`);
    }
    // The one bundle, and the code cache the build made for it with this Node.
    assert.equal(files.filter((f) => /^dist\/devusers-[0-9a-f]{16}\.cjs$/.test(f)).length, 1, files.join(" "));
    assert.equal(files.filter((f) => /^dist\/code-cache\/.+\.bin$/.test(f)).length, 1, files.join(" "));
    const stray = files.filter((f) => /^(test|bench|src|build)\//.test(f) || f.endsWith(".map"));
    assert.deepEqual(stray, []);
  });

  it("runs `npx devusers --help` and `npx devusers --version`", async () => {
    const help = await run("npx", ["devusers", "--help"], { cwd: app });
    assert.match(help.stdout, /Usage: devusers <command>/);
    assert.match(help.stdout, /token create/);
    const version = await run("npx", ["devusers", "--version"], { cwd: app });
    assert.equal(version.stdout.trim(), pkg.version);
  });

  it("serves an authenticated request through the official SDK from startDevusers()", async () => {
    writeFileSync(
      join(app, "check.mjs"),
      `import { startDevusers } from "devusers";
import { startDevusers as fromTesting } from "devusers/testing";
import { client } from "@devrev/typescript-sdk";
import load from "./node_modules/devusers/dist/load.cjs";
const devusers = await startDevusers();
const sdk = client.setup({ endpoint: devusers.url, token: devusers.adminToken });
const self = await sdk.devUsersSelf();
const page = await fetch(devusers.url + "/console/");
console.log(JSON.stringify({ status: self.status, email: self.data.dev_user.email, same: fromTesting === startDevusers, cached: load.codeCacheUsed, console: page.status }));
await devusers.close();
`,
    );
    const out = await run(process.execPath, ["check.mjs"], { cwd: app });
    // The package was packed by this Node, so its code cache fits.
    assert.deepEqual(JSON.parse(out.stdout), {
      status: 200,
      email: "admin@example.com",
      same: true,
      cached: true,
      console: 200,
    });
  });

  it("gives TypeScript users its types", async () => {
    writeFileSync(
      join(app, "check.ts"),
      `import { type Devusers, startDevusers } from "devusers";
const devusers: Devusers = await startDevusers({ org: "acme" });
const token: string = await devusers.token("ann@acme.test", { role: "admin" });
// @ts-expect-error: a role is admin or member
await devusers.token("bo@acme.test", { role: "owner" });
console.log(token.length, devusers.url);
`,
    );
    writeFileSync(
      join(app, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: { module: "nodenext", target: "es2022", strict: true, noEmit: true, skipLibCheck: true },
        files: ["check.ts"],
      }),
    );
    const tsc = join(ROOT, "node_modules", ".bin", "tsc");
    await run(tsc, ["-p", "tsconfig.json"], { cwd: app });
  });
});

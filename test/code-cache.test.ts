// The package's bundle is compiled through V8's code cache (src/bundle/load.ts): the build leaves
// one for this Node, a process without one (or with one V8 refuses) runs from source and writes
// one, and DEVUSERS_CODE_CACHE=off neither reads nor writes it. Each case runs on a copy of dist/.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { cachedDataVersionTag } from "node:v8";
import { copiesDir, copyOfDist, inCopy, packageVersion, ROOT } from "./helpers/dist-copy.js";

const copies = copiesDir();
after(copies.remove);

const cacheFiles = (dir: string) =>
  existsSync(join(dir, "dist", "code-cache")) ? readdirSync(join(dir, "dist", "code-cache")) : [];
const cacheBytes = (dir: string) => cacheFiles(dir).map((n) => readFileSync(join(dir, "dist", "code-cache", n)));

interface Probe {
  used: boolean;
  saved?: boolean;
  version: string;
}

/** Loads the bundle in a new process: whether V8 took the cache, the CLI's --version, and a save if asked. */
const probe = (dir: string, { save = false, env = {} as Record<string, string> } = {}) =>
  inCopy<Probe>(
    dir,
    `let out = "";
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = (s) => { out += s; return true; };
await load.bundle.main(["--version"]);
process.stdout.write = write;
const saved = ${save} ? load.saveCodeCache() : undefined;
console.log(JSON.stringify({ used: load.codeCacheUsed, saved, version: out.trim() }));
process.exit(0);`,
    env,
  );

describe("the bundle's code cache", () => {
  it("is left by the build for this Node, and a new process compiles the bundle with it", async () => {
    const names = cacheFiles(ROOT);
    assert.ok(
      names.some((n) => n.endsWith(`.${cachedDataVersionTag()}.bin`)),
      `dist/code-cache holds ${names.join(", ")}`,
    );
    assert.deepEqual(await probe(copyOfDist(copies.dir, true)), { used: true, version: packageVersion });
  });

  it("is written by a process that had none, for the next one", async () => {
    const dir = copyOfDist(copies.dir);
    assert.deepEqual(await probe(dir, { save: true }), { used: false, saved: true, version: packageVersion });
    assert.equal(cacheFiles(dir).length, 1);
    assert.deepEqual(await probe(dir), { used: true, version: packageVersion });
  });

  it("is written by `devusers serve` that started without one, while it runs", async () => {
    const dir = copyOfDist(copies.dir);
    const child = spawn(process.execPath, [join(dir, "bin", "devusers.js"), "serve"], {
      env: { PATH: process.env.PATH, DATABASE_URL: ":memory:", HOST: "127.0.0.1", PORT: "0", LOG_LEVEL: "warn" },
      stdio: "ignore",
    });
    const exited = new Promise((resolve) => child.once("exit", resolve));
    try {
      // It saves two seconds after it started; the deadline is only there to end a failing test.
      for (let waited = 0; cacheFiles(dir).length === 0 && waited < 30_000; waited += 100) {
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      child.kill("SIGTERM");
      await exited;
    }
    assert.equal(cacheFiles(dir).length, 1);
    assert.deepEqual(await probe(dir), { used: true, version: packageVersion });
  });

  it("is compiled around when V8 refuses it, and replaced", async () => {
    const dir = copyOfDist(copies.dir, true);
    const [name] = cacheFiles(dir);
    const file = join(dir, "dist", "code-cache", name!);
    writeFileSync(file, Buffer.alloc(readFileSync(file).length, 7));
    assert.deepEqual(await probe(dir, { save: true }), { used: false, saved: true, version: packageVersion });
    assert.deepEqual(await probe(dir), { used: true, version: packageVersion });
  });

  it("is neither read nor written with DEVUSERS_CODE_CACHE=off", async () => {
    const off = { DEVUSERS_CODE_CACHE: "off" };
    const dir = copyOfDist(copies.dir, true);
    const before = cacheBytes(dir);
    assert.deepEqual(await probe(dir, { save: true, env: off }), {
      used: false,
      saved: false,
      version: packageVersion,
    });
    assert.deepEqual(cacheBytes(dir), before);
    const none = copyOfDist(copies.dir);
    assert.deepEqual(await probe(none, { save: true, env: off }), {
      used: false,
      saved: false,
      version: packageVersion,
    });
    assert.deepEqual(cacheFiles(none), []);
  });
});

// src/db/sqlite-driver.ts: the bundle opens databases with its own copy of better-sqlite3's
// JavaScript only beside the very version npm installed, and names the compiled addon itself
// only where it is the file the `bindings` package would have loaded.
import assert from "node:assert/strict";
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { after, describe, it } from "node:test";
import { openSqliteFile, sqliteDriver } from "../src/db/sqlite-driver.js";
import { copiesDir, copyOfDist, inCopy } from "./helpers/dist-copy.js";

const require = createRequire(import.meta.url);
const root = dirname(require.resolve("better-sqlite3/package.json"));
const bindings = createRequire(join(root, "package.json"))("bindings") as (opts: object) => string;
const release = join(root, "build", "Release", "better_sqlite3.node");
const copies = copiesDir();
after(copies.remove);

interface Probe {
  bundled: boolean;
  nativeBinding?: string;
  two: number;
}
/** Which driver a copy of the bundle chose, and a query through it. */
const probe = (dir: string) =>
  inCopy<Probe>(
    dir,
    `const { bundled, nativeBinding } = load.bundle.sqliteDriver();
const db = load.bundle.openSqliteFile(":memory:");
const { two } = db.prepare("select 1 + 1 as two").get();
db.close();
console.log(JSON.stringify({ bundled, nativeBinding, two }));`,
  );

describe("better-sqlite3", () => {
  it("has its addon named only as the file the bindings package would load", () => {
    const searched = bindings({ bindings: "better_sqlite3.node", module_root: root, path: true });
    const { nativeBinding, bundled } = sqliteDriver();
    assert.equal(bundled, false, "the TypeScript build loads the installed module");
    if (nativeBinding !== undefined) assert.equal(nativeBinding, searched);
    else assert.notEqual(searched, release);
  });

  it("opens databases with the options it is given", () => {
    const db = openSqliteFile(":memory:", { timeout: 1234 });
    try {
      assert.deepEqual(db.pragma("busy_timeout"), [{ timeout: 1234 }]);
    } finally {
      db.close();
    }
  });

  it("is the bundle's own copy beside the version it was built with", async (t) => {
    if (sqliteDriver().nativeBinding === undefined) return t.skip("the addon is not in build/Release here");
    assert.deepEqual(await probe(copyOfDist(copies.dir, true)), { bundled: true, nativeBinding: release, two: 2 });
  });

  it("is the installed module beside any other version", async () => {
    // A copy whose node_modules holds better-sqlite3 under another version number, found first.
    const dir = copyOfDist(copies.dir, true);
    const other = join(dir, "node_modules", "better-sqlite3");
    for (const part of ["package.json", "lib", join("build", "Release", "better_sqlite3.node")]) {
      cpSync(join(root, part), join(other, part), { recursive: true });
    }
    const pkg = JSON.parse(readFileSync(join(other, "package.json"), "utf8")) as { version: string };
    writeFileSync(join(other, "package.json"), JSON.stringify({ ...pkg, version: `${pkg.version}-other` }));
    const seen = await probe(dir);
    assert.equal(seen.bundled, false);
    assert.equal(seen.two, 2);
  });
});

// better-sqlite3, opened without two costs it has at every start:
// - Its JavaScript, a dozen small CommonJS files, loads through Node's module loader: 10-15 ms.
//   The package's bundle holds a copy (scripts/bundle.mjs), compiled with the rest through V8's
//   code cache, and that copy is used when it is the very version npm installed beside it, since
//   it drives that version's compiled addon. Otherwise, and in the TypeScript build, the
//   installed module is loaded as usual.
// - It finds its compiled addon through the `bindings` package, which tries its places in turn,
//   each miss a failed require() with a stack trace: half of what opening the first database
//   took. Where the first place `bindings` would find the addon is build/Release (where npm's
//   install puts it), that file is named directly: the same file `bindings` would have loaded.
//   Elsewhere the installed module looks for it itself.
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import Bundled from "better-sqlite3";

/** The version of the copy inside the package's bundle: set by scripts/bundle.mjs only. */
declare const DEVUSERS_BUNDLED_BETTER_SQLITE3: string | undefined;

type Driver = typeof Bundled;

interface Choice {
  SQLite: Driver;
  nativeBinding?: string;
  bundled: boolean;
}

let chosen: Choice | undefined;

/** bindings' first three places, in its order: the addon is named only when the third is the first that holds it. */
function addonIn(root: string): string | undefined {
  const [top, debug, release] = [[], ["Debug"], ["Release"]].map((d) =>
    join(root, "build", ...d, "better_sqlite3.node"),
  );
  return !existsSync(top!) && !existsSync(debug!) && existsSync(release!) ? release : undefined;
}

function choose(): Choice {
  const require = createRequire(import.meta.url);
  const installed = () => require("better-sqlite3") as Driver;
  let root: string;
  try {
    root = dirname(require.resolve("better-sqlite3/package.json"));
  } catch {
    return { SQLite: installed(), bundled: false };
  }
  const nativeBinding = addonIn(root);
  const copy = typeof DEVUSERS_BUNDLED_BETTER_SQLITE3 === "string" ? DEVUSERS_BUNDLED_BETTER_SQLITE3 : undefined;
  if (copy !== undefined && nativeBinding !== undefined) {
    const { version } = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string };
    if (version === copy) return { SQLite: Bundled, nativeBinding, bundled: true };
  }
  return { SQLite: installed(), nativeBinding, bundled: false };
}

/** Which better-sqlite3 this process opens databases with, and its addon if named (tests). */
export function sqliteDriver(): Readonly<Choice> {
  chosen ??= choose();
  return chosen;
}

/** `new Database(path, options)` of better-sqlite3, with the addon named where its place is known. */
export function openSqliteFile(path: string, options: Bundled.Options = {}): Bundled.Database {
  const { SQLite, nativeBinding } = sqliteDriver();
  return new SQLite(path, nativeBinding === undefined ? options : { ...options, nativeBinding });
}

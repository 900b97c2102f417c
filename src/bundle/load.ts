// Loads the package's bundle (dist/devusers-<hash>.cjs) the way Node loads a CommonJS module, but
// through vm.Script with V8's code cache: Node 20 caches no compiled code for the application
// (module.enableCompileCache() arrives in Node 22.1), and parsing and compiling the megabyte of
// bundled libraries was most of what every start spent before its first line ran
// (docs/performance.md, "Start-up").
//
// The cache is a file in code-cache/ beside the bundle. V8 checks a cache against its own version
// and flags, but against the source only by its length, so the file is named after the bundle's
// content hash and cachedDataVersionTag() (V8's version, flags and CPU features): it is offered
// only to the bundle and the V8 that made it, and a cache V8 still refuses is compiled around, as
// if there were none. The build writes one (scripts/warm-code-cache.mjs). When there is none for
// this Node, or V8 refused it, a process that runs for SAVE_AFTER_MS writes one, of the functions
// it has compiled by then, where it may: beside the bundle and never anywhere else (a shared
// temporary directory), since whoever writes the cache runs code in every process that reads it.
// DEVUSERS_CODE_CACHE=off neither reads nor writes it.
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { cachedDataVersionTag } from "node:v8";
import { constants, Script } from "node:vm";

/** The bundle's file name, with a hash of its content: set by scripts/bundle.mjs. */
declare const DEVUSERS_BUNDLE: string;

export type Bundle = typeof import("./entry.js");

/** Long enough for a server's start and first requests to have compiled what they run. */
const SAVE_AFTER_MS = 2000;

const file = fileURLToPath(new URL(`./${DEVUSERS_BUNDLE}`, import.meta.url));
const dir = dirname(file);
const cacheDir = join(dir, "code-cache");
const cacheFile = join(cacheDir, `${DEVUSERS_BUNDLE}.${cachedDataVersionTag()}.bin`);
const useCache = process.env.DEVUSERS_CODE_CACHE !== "off";

function readCache(): Buffer | undefined {
  try {
    return useCache ? readFileSync(cacheFile) : undefined;
  } catch {
    return undefined; // none yet for this Node
  }
}

// The build keeps the bundle ASCII (scripts/bundle.mjs checks), so latin1 reads it exactly, and
// faster than UTF-8 decoding: V8 gets a one-byte string.
const source = readFileSync(file, "latin1");
const cachedData = readCache();
const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
  filename: file,
  cachedData,
  // import() inside the bundle resolves as it would in a CommonJS module.
  importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
});
const module = { exports: {} as Bundle };
script.runInThisContext()(module.exports, createRequire(file), module, file, dir);

export const bundle: Bundle = module.exports;

/** Whether this process compiled the bundle with a cache V8 accepted. */
export const codeCacheUsed = cachedData !== undefined && !script.cachedDataRejected;

/**
 * Writes the code cache of what this process has compiled so far; false where it cannot (a
 * read-only install) or may not (DEVUSERS_CODE_CACHE=off). A whole file or none: written aside,
 * then renamed over the old one.
 */
export function saveCodeCache(): boolean {
  if (!useCache) return false;
  const tmp = `${cacheFile}.${process.pid}.tmp`;
  try {
    const data = script.createCachedData();
    mkdirSync(cacheDir, { recursive: true });
    writeFileSync(tmp, data, { mode: 0o644 });
    renameSync(tmp, cacheFile);
    return true;
  } catch {
    try {
      rmSync(tmp, { force: true });
    } catch {
      // nothing was written
    }
    return false;
  }
}

if (useCache && !codeCacheUsed) setTimeout(saveCodeCache, SAVE_AFTER_MS).unref();

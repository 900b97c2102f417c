// The entry of the package's one CommonJS bundle (scripts/bundle.mjs), which src/bundle/load.ts
// compiles with V8's code cache. The CLI is what every start needs; the programmatic API, and with
// it the HTTP service, is evaluated only when asked for, so `devusers --help` or `token create`
// do not evaluate Fastify.
export { main } from "../cli/index.js";

export const api = () => import("../index.js");
export const testing = () => import("../testing/index.js");

/** Which better-sqlite3 the bundle opens databases with: for this project's tests of the bundle. */
export { openSqliteFile, sqliteDriver } from "../db/sqlite-driver.js";

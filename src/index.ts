// The package's programmatic API: the service embedded in a test suite, and what it is built from.
export type { Config } from "./config.js";
export { ConfigError, loadConfig } from "./config.js";
export type { Running } from "./server.js";
export { startServer } from "./server.js";
export { FixtureError } from "./services/import-types.js";
export * from "./testing/index.js";
export { version } from "./version.js";

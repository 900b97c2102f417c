// Every setting the service reads, in one place, parsed once from the environment.
export interface Config {
  port: number;
  host: string;
  databaseUrl: string;
  logLevel: string;
  rateLimitMax: number;
  rateLimitWindowSeconds: number;
  redisUrl: string | undefined;
  redisConnectTimeoutMs: number;
  pgPoolMax: number;
  pgStatementTimeoutMs: number;
  pgConnectTimeoutMs: number;
  /** SQLite `synchronous` pragma: FULL survives power loss, NORMAL survives a process crash. */
  sqliteSynchronous: "FULL" | "NORMAL";
  /** How long SIGTERM waits for in-flight requests before the process exits anyway. */
  shutdownTimeoutMs: number;
}

export class ConfigError extends Error {}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min = 0): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    throw new ConfigError(`${name} must be an integer >= ${min}, got "${raw}"`);
  }
  return value;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const sync = (env.SQLITE_SYNCHRONOUS ?? "FULL").toUpperCase();
  if (sync !== "FULL" && sync !== "NORMAL") {
    throw new ConfigError(`SQLITE_SYNCHRONOUS must be FULL or NORMAL, got "${sync}"`);
  }
  return {
    port: int(env, "PORT", 8080),
    host: env.HOST || "127.0.0.1",
    databaseUrl: env.DATABASE_URL || "./data/devusers.sqlite",
    logLevel: env.LOG_LEVEL || "info",
    rateLimitMax: int(env, "RATE_LIMIT_MAX", 1000, 1),
    rateLimitWindowSeconds: int(env, "RATE_LIMIT_WINDOW", 60, 1),
    redisUrl: env.REDIS_URL || undefined,
    redisConnectTimeoutMs: int(env, "REDIS_CONNECT_TIMEOUT_MS", 500, 1),
    pgPoolMax: int(env, "PG_POOL_MAX", 10, 1),
    pgStatementTimeoutMs: int(env, "PG_STATEMENT_TIMEOUT_MS", 5000, 1),
    pgConnectTimeoutMs: int(env, "PG_CONNECT_TIMEOUT_MS", 2000, 1),
    sqliteSynchronous: sync,
    shutdownTimeoutMs: int(env, "SHUTDOWN_TIMEOUT_MS", 10000, 0),
  };
}

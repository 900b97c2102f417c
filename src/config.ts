// Every setting the service reads, in one place, parsed once from the environment.
import { isIP } from "node:net";

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
  /**
   * The longest a shutdown (SIGTERM, SIGINT) takes: requests still unanswered then get 503 and the
   * process exits, at most SHUTDOWN_MARGIN_MS (src/server.ts) later, whatever the database does.
   */
  shutdownTimeoutMs: number;
  /**
   * How long, from the signal, the listener keeps accepting connections (each answered 503, and
   * /readyz "draining") so a load balancer sees the instance fail before it stops listening.
   */
  shutdownListenMs: number;
  /** The listen backlog: connections the kernel holds until the process accepts them. */
  listenBacklog: number;
  /**
   * Which peers may say who the client is (X-Forwarded-For), as Fastify's `trustProxy` takes it:
   * false (none, the default), true (any), or addresses and CIDRs.
   */
  trustProxy: boolean | string[];
}

export class ConfigError extends Error {}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
    throw new ConfigError(`${name} must be an integer ${range}, got "${raw}"`);
  }
  return value;
}

/** proxy-addr's names for ranges, accepted beside addresses. */
const PROXY_RANGES = new Set(["loopback", "linklocal", "uniquelocal"]);

function proxyAddress(entry: string): boolean {
  if (PROXY_RANGES.has(entry)) return true;
  const [address = "", prefix, ...rest] = entry.split("/");
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  if (/^\d+$/.test(prefix)) return Number(prefix) <= (family === 4 ? 32 : 128);
  return family === 4 && isIP(prefix) === 4; // a netmask, 255.255.0.0
}

function trustProxy(raw: string | undefined): Config["trustProxy"] {
  const value = raw?.trim() ?? "";
  if (value === "" || value === "false") return false;
  if (value === "true") return true;
  // Fastify no longer honours hop counts (it cannot check the immediate peer with one, so a
  // client reaching the service directly could choose its own address): a count would silently
  // trust nobody, so it is refused.
  if (/^\d+$/.test(value)) {
    throw new ConfigError(
      `TRUST_PROXY does not take a hop count ("${value}"): list the load balancer's addresses or CIDRs instead`,
    );
  }
  const entries = value.split(",").map((e) => e.trim());
  const bad = entries.find((e) => !proxyAddress(e));
  if (bad !== undefined) {
    throw new ConfigError(
      `TRUST_PROXY must be true, false, or a comma-separated list of addresses and CIDRs; "${bad}" is none of these`,
    );
  }
  return entries;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const sync = (env.SQLITE_SYNCHRONOUS ?? "FULL").toUpperCase();
  if (sync !== "FULL" && sync !== "NORMAL") {
    throw new ConfigError(`SQLITE_SYNCHRONOUS must be FULL or NORMAL, got "${sync}"`);
  }
  const shutdownTimeoutMs = int(env, "SHUTDOWN_TIMEOUT_MS", 10000, 0);
  // The listen window is part of the shutdown timeout: half of it unless set.
  const shutdownListenMs = int(env, "SHUTDOWN_LISTEN_MS", Math.floor(shutdownTimeoutMs / 2), 0);
  if (shutdownListenMs > shutdownTimeoutMs) {
    throw new ConfigError(
      `SHUTDOWN_LISTEN_MS (${shutdownListenMs}) must not be longer than SHUTDOWN_TIMEOUT_MS (${shutdownTimeoutMs})`,
    );
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
    shutdownTimeoutMs,
    shutdownListenMs,
    // Node's default is 511; Linux caps whatever is asked at net.core.somaxconn.
    listenBacklog: int(env, "LISTEN_BACKLOG", 4096, 1, 65535),
    trustProxy: trustProxy(env.TRUST_PROXY),
  };
}

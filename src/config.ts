// Every setting the service reads, in one place, parsed once from the environment.
import { isIP } from "node:net";
import { ORG_SLUG_RE } from "./ids.js";
import { isEmail } from "./validation.js";

export interface Config {
  port: number;
  host: string;
  databaseUrl: string;
  /** PostgreSQL only: a replica that list and audit-log pages are read from, after authentication. */
  databaseReplicaUrl?: string;
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
  /** `serve` creates this admin in an empty org at start and hands out its token, once. */
  bootstrapAdmin: string | undefined;
  /** The org of the bootstrap admin. */
  bootstrapOrg: string;
  /** Where the bootstrap token is written (mode 0600) instead of the startup line. */
  bootstrapTokenFile: string | undefined;
  /** Whether `POST /devusers.reset` may empty the directory (test stand-ins only). */
  allowReset: boolean;
  webhooks: WebhookSettings;
}

export interface WebhookSettings {
  /**
   * Whether webhooks may point at private, loopback and link-local addresses. By default only
   * while the service itself listens on a loopback address (a local stand-in).
   */
  allowPrivateTargets: boolean;
  /** Attempts per delivery, the first included, before it is marked failed. */
  maxAttempts: number;
  /** The longest a delivery is retried for, from its first attempt, in seconds. */
  retryWindowSeconds: number;
  /** One attempt's time limit (DevRev: 3 s). */
  timeoutMs: number;
  /** The first retry's delay; each next one doubles (with jitter), up to an hour. */
  retryBaseMs: number;
  /** The longest a webhook whose receiver fails waits between probes. */
  probeMaxMs: number;
  /** How long settled deliveries stay in the delivery log. */
  logRetentionDays: number;
}

const isLoopbackHost = (host: string) =>
  host === "localhost" || host === "::1" || host.startsWith("127.") || host === "::ffff:127.0.0.1";

function webhookSettings(env: NodeJS.ProcessEnv, host: string): WebhookSettings {
  const raw = (env.WEBHOOK_PRIVATE_TARGETS ?? "auto").trim().toLowerCase();
  if (raw !== "auto" && raw !== "allow" && raw !== "deny") {
    throw new ConfigError(`WEBHOOK_PRIVATE_TARGETS must be auto, allow or deny, got "${env.WEBHOOK_PRIVATE_TARGETS}"`);
  }
  return {
    allowPrivateTargets: raw === "allow" || (raw === "auto" && isLoopbackHost(host)),
    maxAttempts: int(env, "WEBHOOK_MAX_ATTEMPTS", 10, 1, 100),
    retryWindowSeconds: int(env, "WEBHOOK_RETRY_WINDOW", 86_400, 1),
    timeoutMs: int(env, "WEBHOOK_TIMEOUT_MS", 3000, 100, 60_000),
    retryBaseMs: int(env, "WEBHOOK_RETRY_BASE_MS", 5000, 1),
    probeMaxMs: int(env, "WEBHOOK_PROBE_MAX_MS", 300_000, 100),
    logRetentionDays: int(env, "WEBHOOK_LOG_RETENTION_DAYS", 30, 1, 3650),
  };
}

export class ConfigError extends Error {}

/** pino's levels, and `silent`. */
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

/**
 * A path (SQLite), `sqlite:path`, `:memory:`, or `postgres://…`: anything else that looks like a
 * URL is refused, so `mysql://…` or a typo such as `postgress://` is not taken for a file name.
 */
function databaseUrl(raw: string | undefined): string {
  const url = raw || "./data/devusers.sqlite";
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]+):/.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined || ["postgres", "postgresql", "sqlite"].includes(scheme)) return url;
  throw new ConfigError(
    `DATABASE_URL: "${scheme}:" is not a database this service runs on; give a SQLite path (./data/devusers.sqlite), sqlite:<path>, :memory:, or postgres://user@host:5432/db`,
  );
}

/** A replica is PostgreSQL's, beside a PostgreSQL primary: SQLite has one file and no replicas. */
function replicaUrl(raw: string | undefined, primary: string | undefined): string | undefined {
  if (!raw) return undefined;
  const pg = /^postgres(ql)?:\/\//;
  if (!pg.test(raw)) throw new ConfigError("DATABASE_REPLICA_URL must be a postgres:// URL");
  if (!pg.test(primary ?? "")) throw new ConfigError("DATABASE_REPLICA_URL needs DATABASE_URL to be PostgreSQL too");
  return raw;
}

function bool(env: NodeJS.ProcessEnv, name: string): boolean {
  const raw = (env[name] ?? "").trim().toLowerCase();
  if (raw === "" || raw === "false" || raw === "0") return false;
  if (raw === "true" || raw === "1") return true;
  throw new ConfigError(`${name} must be true or false, got "${env[name]}"`);
}

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
  const host = env.HOST || "127.0.0.1";
  return {
    port: int(env, "PORT", 8080, 0, 65535),
    host,
    databaseUrl: databaseUrl(env.DATABASE_URL),
    databaseReplicaUrl: replicaUrl(env.DATABASE_REPLICA_URL, env.DATABASE_URL),
    logLevel: logLevel(env.LOG_LEVEL),
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
    bootstrapAdmin: bootstrapAdmin(env.DEVUSERS_BOOTSTRAP_ADMIN),
    bootstrapOrg: org(env.DEVUSERS_BOOTSTRAP_ORG),
    bootstrapTokenFile: env.DEVUSERS_BOOTSTRAP_TOKEN_FILE || undefined,
    allowReset: bool(env, "DEVUSERS_ALLOW_RESET"),
    webhooks: webhookSettings(env, host),
  };
}

function logLevel(raw: string | undefined): string {
  const level = (raw || "info").trim().toLowerCase();
  if (!LOG_LEVELS.includes(level))
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")}, got "${raw}"`);
  return level;
}

function bootstrapAdmin(raw: string | undefined): string | undefined {
  const email = raw?.trim();
  if (!email) return undefined;
  if (!isEmail(email)) throw new ConfigError(`DEVUSERS_BOOTSTRAP_ADMIN must be an email address, got "${raw}"`);
  return email;
}

function org(raw: string | undefined): string {
  const slug = raw?.trim() || "default";
  if (!ORG_SLUG_RE.test(slug)) {
    throw new ConfigError(`DEVUSERS_BOOTSTRAP_ORG must be 1-64 letters, digits, - or _, got "${raw}"`);
  }
  return slug;
}

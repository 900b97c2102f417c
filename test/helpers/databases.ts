// Which databases the suites run on. SQLite always; PostgreSQL when it answers, and in CI
// (CI=true) it must answer: a suite that silently skipped there would hide a failure.
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import pg from "pg";

export const PG_ADMIN_URL = process.env.TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";
export const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
export const inCI = process.env.CI === "true" || process.env.CI === "1";

let pgReachable: Promise<boolean> | undefined;

export function postgresAvailable(): Promise<boolean> {
  pgReachable ??= (async () => {
    const client = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 1500 });
    try {
      await client.connect();
      await client.query("select 1");
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => {});
    }
  })();
  return pgReachable;
}

/**
 * `skip` option for a PostgreSQL suite: a reason string when PostgreSQL is away (one printed line),
 * false when it is there. In CI an absent PostgreSQL throws instead.
 */
export async function skipUnlessPostgres(): Promise<string | false> {
  if (await postgresAvailable()) return false;
  if (inCI) throw new Error(`PostgreSQL at ${PG_ADMIN_URL} does not answer, and CI must run the PostgreSQL suites`);
  return `PostgreSQL at ${PG_ADMIN_URL} does not answer`;
}

let redisReachable: Promise<boolean> | undefined;

export function redisAvailable(): Promise<boolean> {
  redisReachable ??= (async () => {
    const client = new Redis(REDIS_URL, {
      lazyConnect: true,
      connectTimeout: 1500,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    client.on("error", () => {});
    try {
      await client.connect();
      return (await client.ping()) === "PONG";
    } catch {
      return false;
    } finally {
      client.disconnect();
    }
  })();
  return redisReachable;
}

/** `skip` option for a Redis suite, like skipUnlessPostgres(): in CI an absent Redis throws. */
export async function skipUnlessRedis(): Promise<string | false> {
  if (await redisAvailable()) return false;
  if (inCI) throw new Error(`Redis at ${REDIS_URL} does not answer, and CI must run the Redis suites`);
  return `Redis at ${REDIS_URL} does not answer`;
}

/** A fresh database for one run; drop() removes it. */
export async function createPgDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `devusers_test_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

export type TestDialect = "sqlite" | "postgres";

/** The dialects a suite should run on: TEST_DIALECTS=sqlite,postgres narrows the set. */
export function requestedDialects(): TestDialect[] {
  const raw = process.env.TEST_DIALECTS ?? "sqlite,postgres";
  return raw.split(",").filter((d): d is TestDialect => d === "sqlite" || d === "postgres");
}

/**
 * The dialects a suite runs on, each with its `skip` option for describe(): use as
 * `for (const { dialect, skip } of await testDialects()) describe(`x [${dialect}]`, { skip }, ...)`.
 */
export async function testDialects(): Promise<{ dialect: TestDialect; skip: string | false }[]> {
  const out: { dialect: TestDialect; skip: string | false }[] = [];
  for (const dialect of requestedDialects()) {
    out.push({ dialect, skip: dialect === "postgres" ? await skipUnlessPostgres() : false });
  }
  return out;
}

// Starts the real service on a fresh database, in this process, on a free port, through the
// package's own harness (src/testing/launch.ts), and gives tests what users have: a URL, tokens,
// the official SDK client, and raw HTTP.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { client, publicSDK } from "@devrev/typescript-sdk";
import type { Running } from "../../src/server.js";
import { issueToken, setRole } from "../../src/services/admin.js";
import { systemClock } from "../../src/services/context.js";
import { KeyRing } from "../../src/services/keys.js";
import { launchDevusers } from "../../src/testing/launch.js";
import { createPgDatabase, type TestDialect } from "./databases.js";

export type Sdk = ReturnType<typeof client.setup>;

/** The one state dev-users.create takes, as the SDK spells it. */
export const SHADOW = publicSDK.DevUsersCreateRequestStateEnumValue.Shadow;

export interface HttpResult {
  status: number;
  headers: Headers;
  body: any;
  text: string;
}

export interface TestServer {
  url: string;
  dialect: TestDialect;
  databaseUrl: string;
  running: Running;
  /** Token of the org's first user, an active admin. */
  adminToken: string;
  org: string;
  sdk(token?: string): Sdk;
  /** A token for an existing user (by email) of `org`. */
  token(email: string, opts?: { org?: string; ttl?: number }): Promise<string>;
  /** Creates a user through the API, activates it, gives it a role, and returns its token and DON. */
  user(email: string, role?: "admin" | "member"): Promise<{ token: string; id: string; sdk: Sdk }>;
  setRole(email: string, role: "admin" | "member", org?: string): Promise<void>;
  http(
    method: string,
    path: string,
    opts?: { body?: unknown; raw?: string; token?: string | null; headers?: Record<string, string> },
  ): Promise<HttpResult>;
  close(): Promise<void>;
}

export interface StartOptions {
  dialect?: TestDialect;
  env?: Record<string, string>;
  /** Reuse a database (for a second instance on the same PostgreSQL or SQLite file). */
  databaseUrl?: string;
  org?: string;
}

export async function startTestServer(opts: StartOptions = {}): Promise<TestServer> {
  const dialect = opts.dialect ?? "sqlite";
  const cleanups: (() => Promise<void> | void)[] = [];
  let databaseUrl = opts.databaseUrl;
  if (!databaseUrl) {
    if (dialect === "postgres") {
      const created = await createPgDatabase();
      databaseUrl = created.url;
      cleanups.push(created.drop);
    } else {
      const dir = mkdtempSync(join(tmpdir(), "devusers-test-"));
      databaseUrl = join(dir, "db.sqlite");
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    }
  }
  const org = opts.org ?? "default";
  // The package's own harness, so every suite runs what its users run.
  const { devusers, running } = await launchDevusers({
    databaseUrl,
    org,
    logLevel: "silent",
    // No load balancer to wait for: a stop stops listening at once.
    env: { RATE_LIMIT_MAX: "100000", SHUTDOWN_LISTEN_MS: "0", ...opts.env },
  });
  const url = devusers.url;
  const deps = { db: running.db, now: systemClock };
  const keys = new KeyRing(running.db.kysely);
  // Stricter than the harness's token(): a user the test did not create is an error.
  const token = (email: string, o: { org?: string; ttl?: number } = {}) =>
    issueToken(deps, keys, { email, org: o.org ?? org, ttlSeconds: o.ttl ?? 3600 });
  const adminToken = devusers.adminToken;
  const sdk = (t?: string) => client.setup({ endpoint: url, token: t ?? adminToken });

  const http: TestServer["http"] = async (method, path, o = {}) => {
    const headers: Record<string, string> = { ...o.headers };
    const tok = o.token === undefined ? adminToken : o.token;
    if (tok !== null) headers.authorization ??= `Bearer ${tok}`;
    let body: string | undefined = o.raw;
    if (o.body !== undefined) body = JSON.stringify(o.body);
    if (body !== undefined) headers["content-type"] ??= "application/json";
    const res = await fetch(url + path, { method, headers, body });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, headers: res.headers, body: parsed, text };
  };

  const server: TestServer = {
    url,
    dialect,
    databaseUrl,
    running,
    adminToken,
    org,
    sdk,
    token,
    setRole: (email, role, o) => setRole(deps, { email, org: o ?? org, role }),
    user: async (email, role = "member") => {
      const admin = sdk();
      const created = await admin.devUsersCreate({ email, state: SHADOW });
      const id = created.data.dev_user.id;
      await admin.devUsersActivate({ id });
      if (role === "admin") await setRole(deps, { email, org, role });
      const t = await token(email);
      return { token: t, id, sdk: sdk(t) };
    },
    http,
    close: async () => {
      await devusers.close();
      for (const c of cleanups.reverse()) await c();
    },
  };
  return server;
}

/** The error body of a rejected SDK call (axios), for asserting on DevRev's error shape. */
export async function sdkError(p: Promise<unknown>): Promise<{ status: number; body: any }> {
  try {
    await p;
  } catch (err) {
    const res = (err as { response?: { status: number; data: unknown } }).response;
    if (res) return { status: res.status, body: res.data };
    throw err;
  }
  throw new Error("expected the call to fail, and it succeeded");
}

/** Asserts a DevRev-shaped error: status, JSON, `type`, a message, and the given subtype fields. */
export function assertError(res: HttpResult, status: number, type: string, fields: Record<string, unknown> = {}) {
  const what = `${res.status} ${res.text}`;
  assert.equal(res.status, status, what);
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/, what);
  assert.equal(res.body.type, type, what);
  assert.equal(typeof res.body.message, "string", what);
  for (const [k, v] of Object.entries(fields)) assert.deepEqual(res.body[k], v, `${k} in ${what}`);
}

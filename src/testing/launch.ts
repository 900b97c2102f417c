// The test harness: the real service, in this process, on an in-memory database and a free port,
// with tokens, fixtures and reset a call away. The package exports startDevusers() (./index.ts);
// this project's own suites start their servers through launchDevusers(), the same code.
import { type Config, loadConfig } from "../config.js";
import type { Fixtures } from "../fixtures/load.js";
import { type Running, startServer } from "../server.js";
import { AdminError, ensureAdmin, issueToken } from "../services/admin.js";
import { systemClock } from "../services/context.js";
import { emptyDirectory } from "../services/directory.js";
import type { ImportSummary } from "../services/import.js";
import { KeyRing } from "../services/keys.js";

export interface StartDevusersOptions {
  /** `:memory:` (the default), a SQLite file, or a `postgres://` URL. */
  databaseUrl?: string;
  /** 0 (the default) takes a free port. */
  port?: number;
  /** `127.0.0.1` by default. */
  host?: string;
  /** The org `adminToken` and `token()` use unless told otherwise: `default`. */
  org?: string;
  /** The admin `adminToken` belongs to: `admin@example.com`. */
  adminEmail?: string;
  /** pino level; `silent` by default. */
  logLevel?: string;
  /**
   * Any other setting, by its environment variable's name (see the README's table). The
   * process's own environment is not read. RATE_LIMIT_MAX defaults to 1,000,000 here.
   */
  env?: Record<string, string>;
}

export interface TokenOptions {
  /** The user's org; the harness's org by default. */
  org?: string;
  /** The user's role, set if it differs; a new user is a member unless it is its org's first. */
  role?: "admin" | "member";
  /** Seconds; 3600 by default. */
  ttlSeconds?: number;
  /** Space-separated scopes (README "Scopes"); the user's full rights by default. */
  scope?: string;
}

export interface Devusers extends AsyncDisposable {
  /** Where the service listens: `http://127.0.0.1:<port>`. Give it to the SDK as `endpoint`. */
  readonly url: string;
  readonly org: string;
  readonly adminEmail: string;
  /** A token of `adminEmail`, an active admin of `org`. */
  readonly adminToken: string;
  readonly databaseUrl: string;
  /** A token for `email`, creating that user (active) first if the org has no such user. */
  token(email: string, options?: TokenOptions): Promise<string>;
  /**
   * Adds users from fixtures: an array of records, or the path of a JSON, YAML or JSONL file (the
   * README's "Fixture files"). All of them or none: a bad record rejects with its item or line and
   * field. Loading the same fixtures again changes nothing; after reset(), it makes the same users
   * under the same numbers, so tokens minted for them before keep working.
   */
  load(fixtures: Fixtures, options?: LoadFixturesOptions): Promise<ImportSummary>;
  /**
   * Empties the directory (users, identities, their numbering) and creates the admin again, so
   * `adminToken` keeps working. Signing keys stay: a token of a user loaded again under the same
   * email and number works again.
   */
  reset(): Promise<void>;
  /** Stops the service and closes the database; an in-memory directory is gone. */
  close(): Promise<void>;
}

export interface LoadFixturesOptions {
  /** The org to load into; the harness's org by default. */
  org?: string;
  /** json, yaml or jsonl, for a file whose extension does not say. */
  format?: string;
}

export type { Fixtures, ImportSummary };

const HOUR = 3600;

/** Starts the service in this process; resolves once it listens and `adminToken` works. */
export async function startDevusers(options: StartDevusersOptions = {}): Promise<Devusers> {
  return (await launchDevusers(options)).devusers;
}

/**
 * startDevusers() with the running service beside it, for this project's own suites: they start
 * every server through the same code as the package's users, and may look inside it.
 */
export async function launchDevusers(
  options: StartDevusersOptions = {},
): Promise<{ devusers: Devusers; running: Running }> {
  const org = options.org ?? "default";
  const adminEmail = options.adminEmail ?? "admin@example.com";
  const databaseUrl = options.databaseUrl ?? ":memory:";
  const config: Config = loadConfig({
    RATE_LIMIT_MAX: "1000000",
    ...options.env,
    DATABASE_URL: databaseUrl,
    PORT: String(options.port ?? 0),
    HOST: options.host ?? "127.0.0.1",
    LOG_LEVEL: options.logLevel ?? "silent",
  });
  const running: Running = await startServer(config);
  const deps = { db: running.db, now: systemClock };
  const keys = new KeyRing(running.db.kysely);
  const token = (email: string, o: TokenOptions = {}) =>
    issueToken(deps, keys, {
      email,
      org: o.org ?? org,
      ttlSeconds: o.ttlSeconds ?? HOUR,
      role: o.role,
      scope: o.scope,
      createIfMissing: true,
    });
  let adminToken: string;
  try {
    adminToken = await token(adminEmail, { role: "admin", ttlSeconds: 30 * 24 * HOUR });
  } catch (err) {
    await running.stop({ listenMs: 0 });
    throw err instanceof AdminError ? new Error(`startDevusers: ${err.message}`) : err;
  }
  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= running.stop({ listenMs: 0 });
    return closed;
  };
  const devusers: Devusers = {
    url: running.url.replace("[::1]", "127.0.0.1"),
    org,
    adminEmail,
    adminToken,
    databaseUrl,
    token,
    load: async (fixtures, o = {}) => {
      // The fixture reader (its schema compiler and YAML parser) loads on the first load(): a
      // tenth of a second that a suite without fixtures should not pay at every start.
      const { loadFixtures } = await import("../fixtures/load.js");
      return loadFixtures(deps, o.org ?? org, fixtures, { format: o.format });
    },
    reset: async () => {
      await emptyDirectory(deps);
      await ensureAdmin(deps, { email: adminEmail, org });
    },
    close,
    [Symbol.asyncDispose]: close,
  };
  return { devusers, running };
}

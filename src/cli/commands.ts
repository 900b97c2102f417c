// Every CLI command in one table: its words, what it does, its options, and how it runs. Help
// text is made from this table, so `devusers --help` and `devusers <command> --help` cannot
// drift from what the commands take.
import { loadConfig } from "../config.js";
import { openDatabase } from "../db/database.js";
import { migrateToLatest } from "../db/migrate.js";
import { allSigningKeys } from "../db/repositories/signing-keys.js";
import { AdminError, issueToken, setRole } from "../services/admin.js";
import { systemClock } from "../services/context.js";
import { createSigningKey, ensureSigningKey, KeyRing, retireKey } from "../services/keys.js";
import { SCOPE_NAMES } from "../services/scopes.js";
import { SIGNIN_LINK_SECONDS } from "../services/token-exchange.js";
import { type OptionSpec, parseDuration, parseEmail, parseOrg, UsageError } from "./args.js";

export interface Command {
  /** The words that name it: `["token", "create"]`. */
  words: string[];
  summary: string;
  options: Record<string, OptionSpec>;
  /** Positional arguments, in order. */
  positionals?: { name: string; description: string }[];
  /** A few lines after the options: what else to know. */
  notes?: string;
  run(values: Record<string, string | boolean | undefined>, positionals: string[]): Promise<number>;
}

const ORG = { type: "string", value: "<o>", description: "the org's slug (default: default)" } as const;
const EMAIL = { type: "string", value: "<e>", description: "the user's email", required: true } as const;

async function withDb<T>(fn: (db: ReturnType<typeof openDatabase>) => Promise<T>): Promise<T> {
  const db = openDatabase(loadConfig());
  try {
    await migrateToLatest(db.kysely);
    return await fn(db);
  } finally {
    await db.close();
  }
}

const out = (line: string) => process.stdout.write(`${line}\n`);
const str = (v: string | boolean | undefined) => (typeof v === "string" ? v : undefined);

export const COMMANDS: Command[] = [
  {
    words: ["serve"],
    summary: "run the HTTP service until SIGTERM or SIGINT, then drain and exit",
    options: {},
    notes: "Settings come from the environment (PORT, HOST, DATABASE_URL, ...): see the README's table.",
    run: async () => {
      const { serve } = await import("../server.js");
      await serve(loadConfig());
      return 0;
    },
  },
  {
    words: ["migrate"],
    summary: "bring the database schema up to date (safe to run from several processes at once)",
    options: {},
    run: async () => {
      // Not withDb(): it would migrate first, and this would always find nothing left to apply.
      const db = openDatabase(loadConfig());
      try {
        const applied = await migrateToLatest(db.kysely);
        out(applied.length ? `applied: ${applied.join(", ")}` : "schema is up to date");
      } finally {
        await db.close();
      }
      return 0;
    },
  },
  {
    words: ["console"],
    summary: "print a sign-in link to the web console for an active user, good once for 10 minutes",
    options: {
      email: EMAIL,
      org: ORG,
      url: {
        type: "string",
        value: "<base>",
        description: "the service's address as the browser reaches it (default: http://localhost:$PORT)",
      },
    },
    notes:
      "The link carries a one-time token after '#', which browsers never send to a server. Opening it\nexchanges that token for a console session and removes it from the address bar; a second use fails.",
    run: async (v) => {
      const config = loadConfig();
      const base = (str(v.url) ?? `http://localhost:${config.port}`).replace(/\/+$/, "");
      if (!/^https?:\/\/[^\s#?]+$/.test(base)) throw new UsageError(`--url must be an http(s) address, got "${base}"`);
      const input = {
        email: parseEmail(str(v.email)),
        org: parseOrg(str(v.org)),
        ttlSeconds: SIGNIN_LINK_SECONDS,
        hint: "sign-in link",
        type: "session:onetime" as const,
      };
      const token = await withDb(async (db) => {
        await ensureSigningKey(db.kysely, systemClock());
        return issueToken({ db, now: systemClock }, new KeyRing(db.kysely), input);
      });
      out(`${base}/console/#signin=${token}`);
      return 0;
    },
  },
  {
    words: ["token", "create"],
    summary: "print a token for an active user; the first user of an empty org becomes its admin",
    options: {
      email: EMAIL,
      org: ORG,
      ttl: { type: "string", value: "<d>", description: "lifetime: 90s, 15m, 12h or 30d (default 30d, at most 3650d)" },
      scope: {
        type: "string",
        value: "<s>",
        description: `space-separated scopes, from: ${SCOPE_NAMES.join(", ")} (default: the user's full rights)`,
      },
      hint: { type: "string", value: "<label>", description: "a label for the token, shown by auth-tokens.list" },
    },
    run: async (v) => {
      const input = {
        email: parseEmail(str(v.email)),
        org: parseOrg(str(v.org)),
        ttlSeconds: parseDuration(str(v.ttl) ?? "30d"),
        scope: str(v.scope),
        hint: str(v.hint),
      };
      const token = await withDb(async (db) => {
        await ensureSigningKey(db.kysely, systemClock());
        return issueToken({ db, now: systemClock }, new KeyRing(db.kysely), input);
      });
      out(token);
      return 0;
    },
  },
  {
    words: ["role", "set"],
    summary: "make a user an admin or a member; it applies from their next request",
    options: {
      email: EMAIL,
      role: { type: "string", value: "admin|member", description: "the new role", required: true },
      org: ORG,
    },
    run: async (v) => {
      if (v.role !== "admin" && v.role !== "member") throw new UsageError("--role must be admin or member");
      const role: "admin" | "member" = v.role;
      const input = { email: parseEmail(str(v.email)), org: parseOrg(str(v.org)), role };
      await withDb((db) => setRole({ db, now: systemClock }, input));
      out(`${input.email} is now ${role}`);
      return 0;
    },
  },
  {
    words: ["keys", "list"],
    summary: "list the signing keys, active and retired",
    options: {},
    run: async () => {
      const keys = await withDb((db) => allSigningKeys(db.kysely));
      for (const k of keys) {
        const state = k.retired_date ? `retired ${k.retired_date}` : "active";
        out(`${k.kid}\t${k.alg}\tcreated ${k.created_date}\t${state}`);
      }
      return 0;
    },
  },
  {
    words: ["keys", "rotate"],
    summary: "add a signing key for new tokens (tokens of older keys keep working)",
    options: {},
    run: async () => {
      out(await withDb((db) => createSigningKey(db.kysely, systemClock())));
      return 0;
    },
  },
  {
    words: ["keys", "retire"],
    summary: "stop accepting tokens signed with a key (every instance, within a second)",
    options: {},
    positionals: [{ name: "kid", description: "the key's id, as `keys list` prints it" }],
    run: async (_v, [kid]) => {
      const done = await withDb(async (db) => {
        const all = await allSigningKeys(db.kysely);
        const active = all.filter((k) => k.retired_date === null);
        if (!all.some((k) => k.kid === kid)) throw new AdminError(`no signing key ${kid}`);
        if (active.length === 1 && active[0]!.kid === kid) {
          throw new AdminError("this is the only active key; run `devusers keys rotate` first");
        }
        return retireKey(db.kysely, kid!, systemClock());
      });
      out(done ? `retired ${kid}` : `${kid} was already retired`);
      return 0;
    },
  },
  ...scimCommands(),
  {
    words: ["audit"],
    summary: "print an org's audit log as JSON lines, oldest first",
    options: {
      org: ORG,
      follow: { type: "boolean", description: "keep printing entries as they are committed, until interrupted" },
    },
    run: async (v) => {
      const { auditCommand } = await import("./audit.js");
      return auditCommand({ org: parseOrg(str(v.org)), follow: v.follow === true });
    },
  },
  {
    words: ["seed"],
    summary: "fill an org with generated users and their identities (benchmarks, demos)",
    options: {
      users: { type: "string", value: "<n>", description: "how many users to add", required: true },
      org: ORG,
    },
    run: async (v) => {
      const { seedCommand } = await import("./seed.js");
      return seedCommand({ users: str(v.users), org: str(v.org) });
    },
  },
  {
    words: ["load"],
    summary: "add the users of a fixture file (JSON, YAML or JSONL) to an org, all of them or none",
    options: {
      org: ORG,
      format: {
        type: "string",
        value: "json|yaml|jsonl",
        description: "the file's format (default: from its extension)",
      },
    },
    positionals: [{ name: "file", description: 'the fixture file: see the README\'s "Fixture files"' }],
    notes:
      "Loading the same file again changes nothing. A user the database already has under a record's\n" +
      "email must match the record; a record that cannot be loaded is named by its line, and nothing is written.",
    run: async (v, [file]) => {
      const { loadCommand } = await import("./fixtures.js");
      return loadCommand(file!, { org: str(v.org), format: str(v.format) });
    },
  },
  {
    words: ["export"],
    summary: "write an org's users as JSONL, the format load reads",
    options: {
      org: ORG,
      out: { type: "string", value: "<file>", description: "where to write (default: stdout)" },
    },
    run: async (v) => {
      const { exportCommand } = await import("./fixtures.js");
      return exportCommand({ org: str(v.org), out: str(v.out) });
    },
  },
];

/** `devusers scim ...`: an org's SCIM connections (README "SCIM provisioning"). */
function scimCommands(): Command[] {
  const ISSUER = { type: "string", value: "<i>", description: "the connection's issuer", required: true } as const;
  const change = (words: string, summary: string, changes: Record<string, boolean>, prints = false): Command => ({
    words: ["scim", words],
    summary,
    options: { issuer: ISSUER, org: ORG },
    run: async (v) => {
      const { updateScimConnection } = await import("./scim.js");
      const token = await withDb((db) => updateScimConnection(db, parseOrg(str(v.org)), str(v.issuer)!, changes));
      out(prints && token ? token : `${str(v.issuer)}: done`);
      return 0;
    },
  });
  return [
    {
      words: ["scim", "create"],
      summary: "make a SCIM connection for an identity provider, and print its token (shown only now)",
      options: {
        issuer: { ...ISSUER, description: "the issuer its users' identities carry, e.g. okta or entra" },
        org: ORG,
        "default-role": { type: "string", value: "admin|member", description: "the role of users it creates (member)" },
        disabled: { type: "boolean", description: "make it disabled: it takes no request until enabled" },
      },
      notes: "The identity provider's base URL is http(s)://<this service>/scim/v2, with the token as a bearer token.",
      run: async (v) => {
        const raw = str(v["default-role"]);
        if (raw !== undefined && raw !== "admin" && raw !== "member")
          throw new UsageError("--default-role must be admin or member");
        const role: "admin" | "member" | undefined = raw;
        const { createScimConnection } = await import("./scim.js");
        const input = { issuer: str(v.issuer)!, default_role: role, enabled: v.disabled !== true };
        out(await withDb((db) => createScimConnection(db, parseOrg(str(v.org)), input)));
        return 0;
      },
    },
    {
      words: ["scim", "list"],
      summary: "list an org's SCIM connections",
      options: { org: ORG },
      run: async (v) => {
        const { listScimConnections } = await import("./scim.js");
        for (const line of await withDb((db) => listScimConnections(db, parseOrg(str(v.org))))) out(line);
        return 0;
      },
    },
    change(
      "rotate",
      "give a SCIM connection a new token and print it; the old one stops at once",
      { rotate_token: true },
      true,
    ),
    change("revoke", "revoke a SCIM connection's token: its provider is refused until a rotate", {
      revoke_token: true,
    }),
    change("disable", "disable a SCIM connection: its provider is refused from its next request", { enabled: false }),
    change("enable", "enable a SCIM connection again", { enabled: true }),
    {
      words: ["scim", "delete"],
      summary: "delete a SCIM connection (its users stay in the directory)",
      options: { issuer: ISSUER, org: ORG },
      run: async (v) => {
        const { deleteScimConnection } = await import("./scim.js");
        await withDb((db) => deleteScimConnection(db, parseOrg(str(v.org)), str(v.issuer)!));
        out(`${str(v.issuer)}: deleted`);
        return 0;
      },
    },
  ];
}

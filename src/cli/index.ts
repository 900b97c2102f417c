// devusers: serve, migrate, and the few administrative acts the API itself does not offer.
import { loadConfig } from "../config.js";
import { openDatabase } from "../db/database.js";
import { migrateToLatest } from "../db/migrate.js";
import { allSigningKeys } from "../db/repositories/signing-keys.js";
import { serve } from "../server.js";
import { AdminError, issueToken, setRole } from "../services/admin.js";
import { systemClock } from "../services/context.js";
import { createSigningKey, ensureSigningKey, KeyRing, retireKey } from "../services/keys.js";
import { options, parseDuration, parseEmail, parseOrg, UsageError } from "./args.js";
import { seedCommand } from "./seed.js";

const HELP = `devusers: DevRev's Dev users API, self-hosted

Usage:
  devusers serve                       run the HTTP service (PORT, HOST, DATABASE_URL, ...)
  devusers migrate                     bring the database schema up to date
  devusers token create --email <e> [--org <o>] [--ttl 30d]
                                       print a token; the first user of an org becomes its admin
  devusers role set --email <e> --role admin|member [--org <o>]
  devusers keys list                   list signing keys
  devusers keys rotate                 add a new signing key (old tokens keep working)
  devusers keys retire <kid>           stop accepting tokens signed with <kid>
  devusers seed --users <n> [--org <o>] fill an org with n users and their identities

The database is DATABASE_URL (default ./data/devusers.sqlite); see README.md for all settings.
`;

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

export async function main(argv: string[]): Promise<number> {
  const [command, sub, ...rest] = argv;
  try {
    switch (command) {
      case "serve":
        options(
          [sub, ...rest].filter((a): a is string => a !== undefined),
          {},
        );
        await serve(loadConfig());
        return 0;
      case "migrate": {
        options(
          [sub, ...rest].filter((a): a is string => a !== undefined),
          {},
        );
        const applied = await withDb((db) => migrateToLatest(db.kysely));
        out(applied.length ? `applied: ${applied.join(", ")}` : "schema is up to date");
        return 0;
      }
      case "token": {
        if (sub !== "create") throw new UsageError("usage: devusers token create --email <e> [--org <o>] [--ttl 30d]");
        const v = options(rest, { email: { type: "string" }, org: { type: "string" }, ttl: { type: "string" } });
        const input = { email: parseEmail(v.email), org: parseOrg(v.org), ttlSeconds: parseDuration(v.ttl ?? "30d") };
        const token = await withDb(async (db) => {
          await ensureSigningKey(db.kysely, systemClock());
          return issueToken({ db, now: systemClock }, new KeyRing(db.kysely), input);
        });
        out(token);
        return 0;
      }
      case "role": {
        if (sub !== "set") throw new UsageError("usage: devusers role set --email <e> --role admin|member [--org <o>]");
        const v = options(rest, { email: { type: "string" }, role: { type: "string" }, org: { type: "string" } });
        if (v.role !== "admin" && v.role !== "member") throw new UsageError("--role must be admin or member");
        const role: "admin" | "member" = v.role;
        const input = { email: parseEmail(v.email), org: parseOrg(v.org), role };
        await withDb((db) => setRole({ db, now: systemClock }, input));
        out(`${input.email} is now ${role}`);
        return 0;
      }
      case "keys":
        return await keysCommand(sub, rest);
      case "seed":
        return await seedCommand([sub, ...rest].filter((a): a is string => a !== undefined));
      case undefined:
      case "help":
      case "--help":
      case "-h":
        process.stdout.write(HELP);
        return command === undefined ? 1 : 0;
      default:
        throw new UsageError(`unknown command "${command}"; run devusers --help`);
    }
  } catch (err) {
    if (err instanceof UsageError || err instanceof AdminError) {
      process.stderr.write(`devusers: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

async function keysCommand(sub: string | undefined, rest: string[]): Promise<number> {
  switch (sub) {
    case "list": {
      const keys = await withDb((db) => allSigningKeys(db.kysely));
      for (const k of keys)
        out(
          `${k.kid}\t${k.alg}\tcreated ${k.created_date}\t${k.retired_date ? `retired ${k.retired_date}` : "active"}`,
        );
      return 0;
    }
    case "rotate": {
      const kid = await withDb((db) => createSigningKey(db.kysely, systemClock()));
      out(kid);
      return 0;
    }
    case "retire": {
      const kid = rest[0];
      if (!kid || rest.length > 1) throw new UsageError("usage: devusers keys retire <kid>");
      const done = await withDb(async (db) => {
        const all = await allSigningKeys(db.kysely);
        const active = all.filter((k) => k.retired_date === null);
        if (!all.some((k) => k.kid === kid)) throw new AdminError(`no signing key ${kid}`);
        if (active.length === 1 && active[0]!.kid === kid) {
          throw new AdminError("this is the only active key; run `devusers keys rotate` first");
        }
        return retireKey(db.kysely, kid, systemClock());
      });
      out(done ? `retired ${kid}` : `${kid} was already retired`);
      return 0;
    }
    default:
      throw new UsageError("usage: devusers keys list|rotate|retire <kid>");
  }
}

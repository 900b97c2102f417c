// devusers seed: fills an org with generated dev users and their external identities, fast
// enough for a million users: large multi-row inserts inside a few big transactions.
import { loadConfig } from "../config.js";
import { dialectOf, openDatabase, sqlitePath } from "../db/database.js";
import { migrateToLatest } from "../db/migrate.js";
import { ensureOrg } from "../db/repositories/orgs.js";
import {
  type IdentitiesOf,
  kyselySeedWriter,
  type Seeded,
  type SeedUser,
  type SeedWriter,
  seedCreator,
  sqliteSeedWriter,
} from "../db/repositories/seed.js";
import { parseOrg, UsageError } from "./args.js";
import { Progress } from "./progress.js";

const MAX_USERS = 50_000_000;
/** Users per call into the writer, and per transaction. */
const BATCH = 5_000;
const TRANSACTION = 100_000;

const TIMEZONES = ["America/New_York", "Europe/London", "Asia/Kolkata", "America/Los_Angeles"];
const JOBS = ["Engineer", "Designer", "Support Engineer", "Product Manager"];

function parseUsers(raw: string | undefined): number {
  if (raw === undefined) throw new UsageError("usage: devusers seed --users <n> [--org <o>]");
  const n = Number(raw.replaceAll("_", ""));
  if (!Number.isInteger(n) || n < 1 || n > MAX_USERS) {
    throw new UsageError(`--users must be an integer from 1 to ${MAX_USERS}, got "${raw}"`);
  }
  return n;
}

/** User number k of the org (1-based): every value a pure function of k, so runs repeat. */
function makeUser(k: number, createdMs: number, admin: boolean): SeedUser {
  return {
    email: `user${k}@example.com`,
    displayName: `user${k}`,
    fullName: `Seed User ${k}`,
    role: admin ? "admin" : "member",
    jobTitle: k % 3 === 0 ? null : JOBS[k % JOBS.length]!,
    timezone: k % 5 === 0 ? null : TIMEZONES[k % TIMEZONES.length]!,
    phones: k % 10 === 0 ? [`+1555${String(k).padStart(7, "0")}`] : [],
    createdDate: new Date(createdMs).toISOString(),
  };
}

/** Slack for everyone (`U<n>`, n the user's number: DEVU-<n>), GitHub for even numbers. */
export const seedIdentities: IdentitiesOf = (n, user) => {
  const out = [{ issuer: "slack", externalId: `U${n}`, displayName: user.displayName }];
  if (n % 2 === 0) out.push({ issuer: "github", externalId: String(n), displayName: user.displayName });
  return out;
};
const identitiesPerNumber = (n: number) => (n % 2 === 0 ? 2 : 1);

export async function seedCommand(v: { users?: string; org?: string }): Promise<number> {
  const total = parseUsers(v.users);
  const org = parseOrg(v.org);
  const config = loadConfig();
  const progress = new Progress("seed");
  const counted = (done: number) => `${done}/${total} users`;

  const db = openDatabase(config);
  let writer: SeedWriter;
  let creator: { id: number; count: number } | null;
  try {
    await migrateToLatest(db.kysely);
    const orgRow = await ensureOrg(db.kysely, org, new Date().toISOString());
    creator = await seedCreator(db.kysely, orgRow.id);
    if (dialectOf(config.databaseUrl) === "sqlite") {
      await db.close();
      writer = sqliteSeedWriter(sqlitePath(config.databaseUrl), orgRow.id, seedIdentities, config.sqliteSynchronous);
    } else {
      writer = kyselySeedWriter(db.kysely, orgRow.id, seedIdentities);
    }
  } catch (err) {
    await db.close().catch(() => {});
    throw err;
  }

  // Users are numbered after those already in the org; creation dates step by 1 ms up to now.
  const firstK = (creator?.count ?? 0) + 1;
  const baseMs = Date.now() - total;
  let createdBy = creator?.id ?? null;
  let lo = 0;
  let hi = 0;
  let identities = 0;
  let done = 0;
  try {
    progress.update(0, counted(0), true);
    while (done < total) {
      const txEnd = Math.min(total, done + TRANSACTION);
      await writer.transaction(async () => {
        while (done < txEnd) {
          const size = Math.min(BATCH, txEnd - done);
          const users: SeedUser[] = [];
          for (let i = 0; i < size; i++) {
            const n = done + i;
            users.push(makeUser(firstK + n, baseMs + n, createdBy === null && n === 0));
          }
          if (createdBy === null) {
            // An empty org: its first user becomes its active admin, and creates the rest.
            const [admin] = await writer.insertUsers(users.slice(0, 1), null);
            await writer.selfCreated(admin!.id);
            createdBy = admin!.id;
            const rest = await writer.insertUsers(users.slice(1), createdBy);
            record([admin!, ...rest]);
          } else {
            record(await writer.insertUsers(users, createdBy));
          }
          done += size;
          progress.update(done / total, counted(done));
        }
      });
    }
  } finally {
    await writer.close();
  }
  progress.finish(counted(total));
  process.stdout.write(
    `seeded ${total} users (DEVU-${lo}..DEVU-${hi}) with ${identities} identities into org "${org}" in ${progress.seconds()} s\n`,
  );
  return 0;

  function record(seeded: Seeded[]): void {
    for (const { number } of seeded) {
      if (lo === 0 || number < lo) lo = number;
      if (number > hi) hi = number;
      identities += identitiesPerNumber(number);
    }
  }
}

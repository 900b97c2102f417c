// Bulk writes for `devusers seed`: many rows per statement, many statements per transaction. Each
// statement's users take a run of their org's numbers first, as a create does (one statement).
// SQLite gets its own raw connection with a big page cache and no automatic checkpoints during
// the load; commits keep the configured `synchronous` (relaxing it to OFF measured no faster,
// since a few big transactions make few fsyncs), and the file is checkpointed and fsynced at the end.
import { closeSync, fsyncSync, openSync } from "node:fs";
import { dirname } from "node:path";
import type SQLite from "better-sqlite3";
import type { Kysely } from "kysely";
import { openSqliteFile } from "../sqlite-driver.js";
import type { Database } from "../types.js";
import { allocateUserNumbers } from "./orgs.js";
import { refreshPlannerStatistics } from "./statistics.js";

export interface SeedIdentity {
  issuer: string;
  externalId: string;
  displayName: string | null;
}

export interface SeedUser {
  email: string;
  displayName: string;
  fullName: string;
  role: "admin" | "member";
  jobTitle: string | null;
  timezone: string | null;
  phones: string[];
  createdDate: string;
}

/** A seeded user: its primary key, and its number in the org (its DEVU-<n>). */
export interface Seeded {
  id: number;
  number: number;
}

export interface SeedWriter {
  /** Runs `fn` in one transaction. */
  transaction(fn: () => Promise<void>): Promise<void>;
  /**
   * Inserts users (state active), numbered next in the org, with their phone numbers and their
   * identities; returns them in order.
   */
  insertUsers(users: SeedUser[], createdBy: number | null): Promise<Seeded[]>;
  /** Makes a user its own creator (the first admin of an empty org). */
  selfCreated(id: number): Promise<void>;
  /** Flushes everything to stable storage and closes the writer. */
  close(): Promise<void>;
}

/** A user's identities, from its number in the org. */
export type IdentitiesOf = (number: number, user: SeedUser) => SeedIdentity[];

const USER_COLS = [
  "org_id",
  "email",
  "email_lower",
  "display_name",
  "full_name",
  "state",
  "role",
  "job_title",
  "timezone",
  "phone_numbers",
  "created_by_id",
  "modified_by_id",
  "created_date",
  "modified_date",
  "number",
] as const;
const IDENTITY_COLS = ["org_id", "dev_user_id", "issuer", "external_id", "display_name", "created_date"] as const;
const PHONE_COLS = ["dev_user_id", "phone_number"] as const;

/** Rows per statement: well under SQLite's 32766 bound variables and PostgreSQL's 65535. */
export const SEED_CHUNK = 500;

type Value = string | number | null;

function userValues(orgId: number, u: SeedUser, number: number, createdBy: number | null): Value[] {
  return [
    orgId,
    u.email,
    u.email.toLowerCase(),
    u.displayName,
    u.fullName,
    "active",
    u.role,
    u.jobTitle,
    u.timezone,
    JSON.stringify(u.phones),
    createdBy,
    createdBy,
    u.createdDate,
    u.createdDate,
    number,
  ];
}

interface Children {
  identities: Value[][];
  phones: Value[][];
}

function childrenOf(orgId: number, seeded: Seeded[], users: SeedUser[], identitiesOf: IdentitiesOf): Children {
  const out: Children = { identities: [], phones: [] };
  users.forEach((u, i) => {
    const { id, number } = seeded[i]!;
    for (const ident of identitiesOf(number, u)) {
      out.identities.push([orgId, id, ident.issuer, ident.externalId, ident.displayName, u.createdDate]);
    }
    for (const phone of u.phones) out.phones.push([id, phone]);
  });
  return out;
}

// ---- SQLite -------------------------------------------------------------------------------------

function fsyncPath(path: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(path, "r");
    fsyncSync(fd);
  } catch {
    // A missing -wal file has nothing to sync.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export function sqliteSeedWriter(path: string, orgId: number, identitiesOf: IdentitiesOf, durable: string): SeedWriter {
  const conn = openSqliteFile(path);
  conn.pragma("journal_mode = WAL");
  conn.pragma("busy_timeout = 10000");
  // For the load only: a big page cache and no automatic checkpoints (close() checkpoints once).
  conn.pragma(`synchronous = ${durable}`);
  conn.pragma("cache_size = -262144");
  conn.pragma("temp_store = MEMORY");
  conn.pragma("wal_autocheckpoint = 0");
  conn.pragma("foreign_keys = ON");

  const statements = new Map<string, SQLite.Statement>();
  const insert = (table: string, cols: readonly string[], rows: Value[][]) => {
    const key = `${table}:${rows.length}`;
    let stmt = statements.get(key);
    if (!stmt) {
      const tuple = `(${cols.map(() => "?").join(",")})`;
      const sql = `insert into ${table} (${cols.join(",")}) values ${Array(rows.length).fill(tuple).join(",")}`;
      stmt = conn.prepare(sql);
      statements.set(key, stmt);
    }
    return stmt.run(rows.flat());
  };
  const inChunks = (table: string, cols: readonly string[], rows: Value[][]) => {
    for (let i = 0; i < rows.length; i += SEED_CHUNK) insert(table, cols, rows.slice(i, i + SEED_CHUNK));
  };
  // The statement of allocateUserNumbers (src/db/repositories/orgs.ts), on this connection.
  const takeNumbers = conn
    .prepare("update orgs set next_user_number = next_user_number + ? where id = ? returning next_user_number")
    .pluck();

  return {
    async transaction(fn) {
      conn.exec("begin immediate");
      try {
        await fn();
        conn.exec("commit");
      } catch (err) {
        if (conn.inTransaction) conn.exec("rollback");
        throw err;
      }
    },
    async insertUsers(users, createdBy) {
      const seeded: Seeded[] = [];
      for (let i = 0; i < users.length; i += SEED_CHUNK) {
        const chunk = users.slice(i, i + SEED_CHUNK);
        const next = takeNumbers.get(chunk.length, orgId) as number | undefined;
        if (next === undefined) throw new Error(`org ${orgId} does not exist`);
        const first = next - chunk.length;
        const res = insert(
          "dev_users",
          USER_COLS,
          chunk.map((u, j) => userValues(orgId, u, first + j, createdBy)),
        );
        // One statement, one writer: the rowids it assigned are consecutive and end here.
        const last = Number(res.lastInsertRowid);
        for (let j = 0; j < chunk.length; j++) seeded.push({ id: last - chunk.length + 1 + j, number: first + j });
      }
      const children = childrenOf(orgId, seeded, users, identitiesOf);
      inChunks("external_identities", IDENTITY_COLS, children.identities);
      inChunks("dev_user_phone_numbers", PHONE_COLS, children.phones);
      return seeded;
    },
    async selfCreated(id) {
      conn.prepare("update dev_users set created_by_id = ?, modified_by_id = ? where id = ?").run(id, id, id);
    },
    async close() {
      try {
        conn.pragma("wal_autocheckpoint = 1000");
        // Copies the log into the database file and fsyncs it; a reader elsewhere may keep part
        // of the log alive, so the log and the directory are fsynced as well.
        conn.pragma("wal_checkpoint(TRUNCATE)");
        fsyncPath(`${path}-wal`);
        fsyncPath(path);
        fsyncPath(dirname(path));
      } finally {
        conn.close();
      }
    },
  };
}

// ---- PostgreSQL (or any Kysely database) ----------------------------------------------------------

export function kyselySeedWriter(db: Kysely<Database>, orgId: number, identitiesOf: IdentitiesOf): SeedWriter {
  let current: Kysely<Database> = db;
  return {
    async transaction(fn) {
      await db.transaction().execute(async (trx) => {
        current = trx;
        try {
          await fn();
        } finally {
          current = db;
        }
      });
    },
    async insertUsers(users, createdBy) {
      const seeded: Seeded[] = [];
      for (let i = 0; i < users.length; i += SEED_CHUNK) {
        const chunk = users.slice(i, i + SEED_CHUNK);
        const first = await allocateUserNumbers(current, orgId, chunk.length);
        const rows = await current
          .insertInto("dev_users")
          .values(
            chunk.map((u, j) => ({
              org_id: orgId,
              email: u.email,
              email_lower: u.email.toLowerCase(),
              display_name: u.displayName,
              full_name: u.fullName,
              state: "active",
              role: u.role,
              job_title: u.jobTitle,
              timezone: u.timezone,
              phone_numbers: JSON.stringify(u.phones),
              created_by_id: createdBy,
              modified_by_id: createdBy,
              created_date: u.createdDate,
              modified_date: u.createdDate,
              number: first + j,
            })),
          )
          .returning(["id", "email_lower"])
          .execute();
        // RETURNING's order is not promised, so rows are matched back by their unique email.
        const byEmail = new Map(rows.map((r) => [r.email_lower, Number(r.id)]));
        for (const [j, u] of chunk.entries())
          seeded.push({ id: byEmail.get(u.email.toLowerCase())!, number: first + j });
      }
      const children = childrenOf(orgId, seeded, users, identitiesOf);
      for (let i = 0; i < children.identities.length; i += SEED_CHUNK) {
        const chunk = children.identities.slice(i, i + SEED_CHUNK);
        await current
          .insertInto("external_identities")
          .values(
            chunk.map((r) => ({
              org_id: r[0] as number,
              dev_user_id: r[1] as number,
              issuer: r[2] as string,
              external_id: r[3] as string,
              display_name: r[4] as string | null,
              created_date: r[5] as string,
            })),
          )
          .execute();
      }
      for (let i = 0; i < children.phones.length; i += SEED_CHUNK) {
        const chunk = children.phones.slice(i, i + SEED_CHUNK);
        await current
          .insertInto("dev_user_phone_numbers")
          .values(chunk.map((r) => ({ dev_user_id: r[0] as number, phone_number: r[1] as string })))
          .execute();
      }
      return seeded;
    },
    async selfCreated(id) {
      await current
        .updateTable("dev_users")
        .set({ created_by_id: id, modified_by_id: id })
        .where("id", "=", id)
        .execute();
    },
    async close() {
      await refreshPlannerStatistics(db);
      await db.destroy();
    },
  };
}

/** Who creates the seeded users: the org's first admin, else its first user; null for an empty org. */
export async function seedCreator(db: Kysely<Database>, orgId: number): Promise<{ id: number; count: number } | null> {
  const row = await db
    .selectFrom("dev_users")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("org_id", "=", orgId)
    .executeTakeFirstOrThrow();
  if (Number(row.n) === 0) return null;
  const first = (admin: boolean) =>
    db
      .selectFrom("dev_users")
      .select("id")
      .where("org_id", "=", orgId)
      .$if(admin, (q) => q.where("role", "=", "admin"))
      .orderBy("number")
      .limit(1)
      .executeTakeFirst();
  const creator = (await first(true)) ?? (await first(false));
  return { id: creator!.id, count: Number(row.n) };
}

// Bulk writes for `devusers seed`: many rows per statement, many statements per transaction.
// SQLite gets its own raw connection with a big page cache and no automatic checkpoints during
// the load; commits keep the configured `synchronous` (relaxing it to OFF measured no faster,
// since a few big transactions make few fsyncs), and the file is checkpointed and fsynced at the end.
import { closeSync, fsyncSync, openSync } from "node:fs";
import { dirname } from "node:path";
import SQLite from "better-sqlite3";
import type { Kysely } from "kysely";
import type { Database } from "../types.js";

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

export interface SeedWriter {
  /** Runs `fn` in one transaction. */
  transaction(fn: () => Promise<void>): Promise<void>;
  /** Inserts users (state active), their phone numbers and their identities; returns their ids in order. */
  insertUsers(users: SeedUser[], createdBy: number | null): Promise<number[]>;
  /** Makes a user its own creator (the first admin of an empty org). */
  selfCreated(id: number): Promise<void>;
  /** Flushes everything to stable storage and closes the writer. */
  close(): Promise<void>;
}

export type IdentitiesOf = (id: number, user: SeedUser) => SeedIdentity[];

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
] as const;
const IDENTITY_COLS = ["org_id", "dev_user_id", "issuer", "external_id", "display_name", "created_date"] as const;
const PHONE_COLS = ["dev_user_id", "phone_number"] as const;

/** Rows per statement: well under SQLite's 32766 bound variables and PostgreSQL's 65535. */
export const SEED_CHUNK = 500;

type Value = string | number | null;

function userValues(orgId: number, u: SeedUser, createdBy: number | null): Value[] {
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
  ];
}

interface Children {
  identities: Value[][];
  phones: Value[][];
}

function childrenOf(orgId: number, ids: number[], users: SeedUser[], identitiesOf: IdentitiesOf): Children {
  const out: Children = { identities: [], phones: [] };
  users.forEach((u, i) => {
    const id = ids[i]!;
    for (const ident of identitiesOf(id, u)) {
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
  const conn = new SQLite(path);
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
      const ids: number[] = [];
      for (let i = 0; i < users.length; i += SEED_CHUNK) {
        const chunk = users.slice(i, i + SEED_CHUNK);
        const res = insert(
          "dev_users",
          USER_COLS,
          chunk.map((u) => userValues(orgId, u, createdBy)),
        );
        // One statement, one writer: the rowids it assigned are consecutive and end here.
        const last = Number(res.lastInsertRowid);
        for (let j = 0; j < chunk.length; j++) ids.push(last - chunk.length + 1 + j);
      }
      const children = childrenOf(orgId, ids, users, identitiesOf);
      inChunks("external_identities", IDENTITY_COLS, children.identities);
      inChunks("dev_user_phone_numbers", PHONE_COLS, children.phones);
      return ids;
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
      const ids: number[] = [];
      for (let i = 0; i < users.length; i += SEED_CHUNK) {
        const chunk = users.slice(i, i + SEED_CHUNK);
        const rows = await current
          .insertInto("dev_users")
          .values(
            chunk.map((u) => ({
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
            })),
          )
          .returning(["id", "email_lower"])
          .execute();
        // RETURNING's order is not promised, so rows are matched back by their unique email.
        const byEmail = new Map(rows.map((r) => [r.email_lower, Number(r.id)]));
        for (const u of chunk) ids.push(byEmail.get(u.email.toLowerCase())!);
      }
      const children = childrenOf(orgId, ids, users, identitiesOf);
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
      return ids;
    },
    async selfCreated(id) {
      await current
        .updateTable("dev_users")
        .set({ created_by_id: id, modified_by_id: id })
        .where("id", "=", id)
        .execute();
    },
    async close() {
      await db.destroy();
    },
  };
}

/** The org's first user, which creates the seeded ones: an admin if the org has one. */
export async function seedCreator(db: Kysely<Database>, orgId: number): Promise<{ id: number; count: number } | null> {
  const row = await db
    .selectFrom("dev_users")
    .select((eb) => [eb.fn.min("id").as("first"), eb.fn.countAll<number>().as("n")])
    .where("org_id", "=", orgId)
    .executeTakeFirstOrThrow();
  if (row.first === null || Number(row.n) === 0) return null;
  const admin = await db
    .selectFrom("dev_users")
    .select("id")
    .where("org_id", "=", orgId)
    .where("role", "=", "admin")
    .orderBy("id")
    .limit(1)
    .executeTakeFirst();
  return { id: admin ? admin.id : Number(row.first), count: Number(row.n) };
}

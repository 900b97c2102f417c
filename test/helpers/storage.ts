// What the storage contract suite needs beside the repositories: an org with an admin caller, a
// clock it controls, query plans of real repository calls, and a fault injected inside a write.
import { CompiledQuery, type Kysely, sql } from "kysely";
import type { Db } from "../../src/db/database.js";
import { insertDevUser, type NewDevUserFields } from "../../src/db/repositories/dev-users.js";
import { ensureOrg } from "../../src/db/repositories/orgs.js";
import type { Database } from "../../src/db/types.js";
import type { Caller, Deps } from "../../src/services/context.js";

export const OLD = "2020-01-01T00:00:00.000Z";

/**
 * A fresh org with one active admin (created long ago, so date filters never see it); `number` is
 * the admin's number in the org.
 */
export async function newOrg(db: Db, slug: string): Promise<Caller & { number: number }> {
  const org = await ensureOrg(db.kysely, slug, OLD);
  const admin = await insertDevUser(db.kysely, {
    org_id: org.id,
    email: `admin@${slug}.test`,
    email_lower: `admin@${slug}.test`,
    display_name: "admin",
    full_name: "",
    state: "active",
    role: "admin",
    created_date: OLD,
    modified_date: OLD,
  });
  return { userId: admin.id, orgId: org.id, org: slug, role: "admin", number: admin.number, row: admin };
}

/** A user row with every sortable column chosen by the test. */
export function userRow(caller: Caller, fields: Partial<NewDevUserFields> & { email: string }): NewDevUserFields {
  return {
    org_id: caller.orgId,
    email_lower: fields.email.toLowerCase(),
    display_name: fields.email.split("@")[0]!,
    full_name: "",
    state: "shadow",
    created_date: OLD,
    modified_date: OLD,
    ...fields,
  };
}

/** Services' dependencies with a clock that answers what the test last set. */
export function depsWithClock(db: Db, start = "2026-01-01T00:00:00.000Z"): Deps & { set(iso: string): void } {
  let now = start;
  const set = (iso: string) => {
    now = iso;
  };
  return { db, now: () => now, set };
}

/**
 * The plan of every query `run` sends, as the database explains it (EXPLAIN QUERY PLAN on SQLite,
 * EXPLAIN on PostgreSQL), one string per query. Repositories run their reads through
 * `executeQuery` (src/db/reads.ts, src/db/prepared.ts), which is where they are caught.
 */
export async function plansOf(db: Db, run: (k: Kysely<Database>) => Promise<unknown>): Promise<string[]> {
  const queries: CompiledQuery[] = [];
  const k = db.kysely;
  const spy = new Proxy(k, {
    get(target, prop) {
      if (prop === "executeQuery") {
        return (q: CompiledQuery) => {
          queries.push(q);
          return target.executeQuery(q);
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  await run(spy);
  const prefix = db.dialect === "sqlite" ? "explain query plan " : "explain ";
  const plans: string[] = [];
  for (const q of queries) {
    const res = await k.executeQuery<Record<string, unknown>>(CompiledQuery.raw(prefix + q.sql, [...q.parameters]));
    plans.push(res.rows.map((r) => String(r.detail ?? r["QUERY PLAN"])).join("\n"));
  }
  return plans;
}

/** A full scan of `table` in a plan from plansOf() (SQLite says SEARCH for an index lookup, SCAN otherwise). */
export function scansTable(plan: string, table: string): boolean {
  return new RegExp(`Seq Scan on ${table}\\b|^\\s*SCAN ${table}\\b`, "m").test(plan);
}

/**
 * Makes the database itself refuse the next change of `userId` to `state`, from inside whatever
 * transaction makes it (a trigger); returns the undo.
 */
export async function refuseStateChange(db: Db, userId: number, state: string): Promise<() => Promise<void>> {
  const k = db.kysely;
  const id = sql.lit(userId);
  const to = sql.lit(state);
  if (db.dialect === "sqlite") {
    await sql`create trigger contract_fault before update of state on dev_users
      when new.id = ${id} and new.state = ${to}
      begin select raise(abort, 'injected fault'); end`.execute(k);
    return async () => void (await sql`drop trigger contract_fault`.execute(k));
  }
  await sql`create function contract_fault() returns trigger language plpgsql
    as $$ begin raise exception 'injected fault'; end $$`.execute(k);
  await sql`create trigger contract_fault before update of state on dev_users for each row
    when (new.id = ${id} and new.state = ${to}) execute function contract_fault()`.execute(k);
  return async () => {
    await sql`drop trigger contract_fault on dev_users`.execute(k);
    await sql`drop function contract_fault()`.execute(k);
  };
}

/** Rows inserted in chunks, so thousands fit under each database's parameter limit. */
export async function insertMany(db: Kysely<Database>, table: keyof Database, rows: object[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 400) {
    await db
      .insertInto(table)
      .values(rows.slice(i, i + 400) as never)
      .execute();
  }
}

import { type Kysely, sql } from "kysely";
import { prepared } from "../prepared.js";
import type { Database, OrgRow } from "../types.js";

export async function findOrgBySlug(db: Kysely<Database>, slug: string): Promise<OrgRow | undefined> {
  return db.selectFrom("orgs").selectAll().where("slug", "=", slug).executeTakeFirst();
}

/** Returns the org, creating it first if needed; safe when two processes race to create it. */
export async function ensureOrg(db: Kysely<Database>, slug: string, now: string): Promise<OrgRow> {
  await db
    .insertInto("orgs")
    .values({ slug, created_date: now })
    .onConflict((oc) => oc.column("slug").doNothing())
    .execute();
  const org = await findOrgBySlug(db, slug);
  if (!org) throw new Error(`org ${slug} vanished after insert`);
  return org;
}

/**
 * Makes the calling transaction take turns with every other one that locks this org, until it
 * ends: a row lock on PostgreSQL (SQLite writers already take turns). For changes whose checks
 * read several rows (reporting cycles, merges), which unique indexes cannot guard.
 */
export async function lockOrg(db: Kysely<Database>, orgId: number): Promise<void> {
  await db
    .updateTable("orgs")
    .set((eb) => ({ slug: eb.ref("slug") }))
    .where("id", "=", orgId)
    .execute();
}

const takeNumbers = prepared((db, orgId: number, count: number) =>
  db
    .updateTable("orgs")
    .set((eb) => ({ next_user_number: eb("next_user_number", "+", count) }))
    .where("id", "=", orgId)
    .returning("next_user_number"),
);

/**
 * Takes the org's next `count` user numbers and returns the first; the rest follow it. One
 * statement, which on PostgreSQL also locks the org's row until the transaction ends: creates in
 * one org take turns from here to their commit, so numbers are handed out in commit order, and a
 * create that rolls back gives its number back. Creates in other orgs never wait, and never move
 * this org's numbers. Outside a transaction a failed insert leaves a gap, which tells no one
 * anything about other orgs.
 */
export async function allocateUserNumbers(db: Kysely<Database>, orgId: number, count = 1): Promise<number> {
  if (!Number.isSafeInteger(count) || count < 1) throw new RangeError(`cannot take ${count} user numbers`);
  const row = await takeNumbers.first(db, orgId, count);
  if (!row) throw new Error(`org ${orgId} does not exist`);
  return Number(row.next_user_number) - count;
}

export async function allOrgIds(db: Kysely<Database>): Promise<number[]> {
  const rows = await db.selectFrom("orgs").select("id").orderBy("id").execute();
  return rows.map((r) => Number(r.id));
}

/** Whether the database answers at all (readiness). */
export async function ping(db: Kysely<Database>): Promise<void> {
  await sql`select 1`.execute(db);
}

export function findOrgById(db: Kysely<Database>, id: number): Promise<OrgRow | undefined> {
  return db.selectFrom("orgs").selectAll().where("id", "=", id).executeTakeFirst();
}

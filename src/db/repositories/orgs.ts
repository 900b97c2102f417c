import { type Kysely, sql } from "kysely";
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

/** Whether the database answers at all (readiness). */
export async function ping(db: Kysely<Database>): Promise<void> {
  await sql`select 1`.execute(db);
}

import type { Kysely } from "kysely";
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

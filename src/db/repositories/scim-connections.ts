// SCIM connections: made, read, changed and removed within one org, and found by token.
import type { Kysely } from "kysely";
import { prepared } from "../prepared.js";
import type { Database, ScimConnectionPatch, ScimConnectionRow } from "../types.js";

export type NewScimConnectionFields = Omit<ScimConnectionRow, "id" | "number">;

/**
 * Inserts a connection with the org's next number. Taking the number locks the org's row
 * (PostgreSQL) until the transaction ends, so numbers follow commit order and are never reused.
 */
export async function insertScimConnection(
  db: Kysely<Database>,
  row: NewScimConnectionFields,
): Promise<ScimConnectionRow> {
  const taken = await db
    .updateTable("orgs")
    .set((eb) => ({ next_scim_connection_number: eb("next_scim_connection_number", "+", 1) }))
    .where("id", "=", row.org_id)
    .returning("next_scim_connection_number")
    .executeTakeFirstOrThrow();
  const number = Number(taken.next_scim_connection_number) - 1;
  return db
    .insertInto("scim_connections")
    .values({ ...row, number })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export function findScimConnectionByNumber(
  db: Kysely<Database>,
  orgId: number,
  number: number,
): Promise<ScimConnectionRow | undefined> {
  return db
    .selectFrom("scim_connections")
    .selectAll()
    .where("org_id", "=", orgId)
    .where("number", "=", number)
    .executeTakeFirst();
}

export function findScimConnectionByIssuer(
  db: Kysely<Database>,
  orgId: number,
  issuer: string,
): Promise<ScimConnectionRow | undefined> {
  return db
    .selectFrom("scim_connections")
    .selectAll()
    .where("org_id", "=", orgId)
    .where("issuer", "=", issuer)
    .executeTakeFirst();
}

export function listScimConnections(db: Kysely<Database>, orgId: number): Promise<ScimConnectionRow[]> {
  return db.selectFrom("scim_connections").selectAll().where("org_id", "=", orgId).orderBy("number").execute();
}

export function updateScimConnection(
  db: Kysely<Database>,
  id: number,
  patch: ScimConnectionPatch,
): Promise<ScimConnectionRow | undefined> {
  return db.updateTable("scim_connections").set(patch).where("id", "=", id).returningAll().executeTakeFirst();
}

/** Removes a connection; the attributes it kept go with it (the foreign key cascades too). */
export async function deleteScimConnection(db: Kysely<Database>, id: number): Promise<void> {
  await db.deleteFrom("scim_user_attributes").where("connection_id", "=", id).execute();
  await db.deleteFrom("scim_connections").where("id", "=", id).execute();
}

const byTokenHash = prepared((db, hash: string) =>
  db
    .selectFrom("scim_connections")
    .innerJoin("orgs", "orgs.id", "scim_connections.org_id")
    .selectAll("scim_connections")
    .select("orgs.slug as org_slug")
    .where("scim_connections.token_hash", "=", hash),
);

/** The connection whose token hashes to `hash`, with its org's slug: read on every SCIM request. */
export function findScimConnectionByTokenHash(
  db: Kysely<Database>,
  hash: string,
): Promise<(ScimConnectionRow & { org_slug: string }) | undefined> {
  return byTokenHash.first(db, hash);
}

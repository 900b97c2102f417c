import { type Kysely, type RawBuilder, sql } from "kysely";
import { prepared } from "../prepared.js";
import { readAll } from "../reads.js";
import type { Database, DevUserRow, IdentityRow, NewIdentity } from "../types.js";

/**
 * PostgreSQL: the identities of the user whose id is `userId` (a column reference such as
 * `dev_users.id`), in link order, as one JSON value, so a statement that reads users reads their
 * identities too, a round trip fewer than a second read.
 */
export function identitiesJson(userId: string): RawBuilder<IdentityRow[]> {
  return sql<
    IdentityRow[]
  >`(select coalesce(json_agg(i order by i.id), '[]'::json) from external_identities i where i.dev_user_id = ${sql.ref(userId)})`;
}

/** Users read with identitiesJson() as `column`: the rows, and their identities by user id. */
export function splitIdentities<K extends string>(
  found: (DevUserRow & Record<K, IdentityRow[]>)[],
  column: K,
): { rows: DevUserRow[]; identities: Map<number, IdentityRow[]> } {
  const identities = new Map<number, IdentityRow[]>();
  const rows = found.map((r) => {
    const { [column]: held, ...row } = r;
    identities.set(r.id, held);
    return row as DevUserRow;
  });
  return { rows, identities };
}

const linkObstacles = prepared((db, orgId: number, devUserId: number, issuer: string, externalId: string) =>
  db
    .selectFrom("external_identities")
    .selectAll()
    .where((eb) =>
      eb.or([
        eb.and([eb("org_id", "=", orgId), eb("issuer", "=", issuer), eb("external_id", "=", externalId)]),
        eb.and([eb("dev_user_id", "=", devUserId), eb("issuer", "=", issuer)]),
      ]),
    ),
);

/**
 * Both rows that could stand in the way of linking (issuer, externalId) to a user: the current
 * owner of that identity, and the user's own identity from that issuer. One indexed query.
 */
export function findLinkObstacles(
  db: Kysely<Database>,
  orgId: number,
  devUserId: number,
  issuer: string,
  externalId: string,
): Promise<IdentityRow[]> {
  return linkObstacles.all(db, orgId, devUserId, issuer, externalId);
}

export type { NewIdentity };

const identityInsertUnlessTaken = prepared(
  (
    db,
    orgId: number,
    devUserId: number,
    issuer: string,
    externalId: string,
    displayName: string | null,
    createdDate: string,
  ) =>
    db
      .insertInto("external_identities")
      .values({
        org_id: orgId,
        dev_user_id: devUserId,
        issuer,
        external_id: externalId,
        display_name: displayName,
        created_date: createdDate,
      })
      .onConflict((oc) => oc.doNothing())
      .returningAll(),
);

/**
 * Inserts the identity unless a unique index refuses it (the identity has an owner, or the user
 * already holds one from that issuer); then writes nothing and returns undefined. On PostgreSQL it
 * waits for a concurrent insert of the same identity to end, as a plain insert would.
 */
export async function insertIdentityUnlessTaken(
  db: Kysely<Database>,
  row: NewIdentity,
): Promise<IdentityRow | undefined> {
  return identityInsertUnlessTaken.first(
    db,
    row.org_id,
    row.dev_user_id,
    row.issuer,
    row.external_id,
    row.display_name ?? null,
    row.created_date,
  );
}

export async function insertIdentity(db: Kysely<Database>, row: NewIdentity): Promise<void> {
  await db.insertInto("external_identities").values(row).execute();
}

/** Removes the user's identity from this issuer, and returns it (undefined if it held none). */
export async function deleteIdentity(
  db: Kysely<Database>,
  devUserId: number,
  issuer: string,
): Promise<IdentityRow | undefined> {
  return db
    .deleteFrom("external_identities")
    .where("dev_user_id", "=", devUserId)
    .where("issuer", "=", issuer)
    .returningAll()
    .executeTakeFirst();
}

const identitiesOfUser = prepared((db, devUserId: number) =>
  db.selectFrom("external_identities").selectAll().where("dev_user_id", "=", devUserId).orderBy("id"),
);

export async function identitiesOfUsers(db: Kysely<Database>, devUserIds: number[]): Promise<IdentityRow[]> {
  if (devUserIds.length === 0) return [];
  if (devUserIds.length === 1) return identitiesOfUser.all(db, devUserIds[0]!);
  return readAll(
    db,
    db.selectFrom("external_identities").selectAll().where("dev_user_id", "in", devUserIds).orderBy("id"),
  );
}

export async function moveIdentities(db: Kysely<Database>, fromUserId: number, toUserId: number): Promise<void> {
  await db
    .updateTable("external_identities")
    .set({ dev_user_id: toUserId })
    .where("dev_user_id", "=", fromUserId)
    .execute();
}

/** The ids of the users holding any of these exact (issuer, id) pairs: one probe of the rule's index per pair. */
export function ownersQuery(db: Kysely<Database>, orgId: number, pairs: { issuer: string; id: string }[]) {
  return db
    .selectFrom("external_identities")
    .select("dev_user_id")
    .where("org_id", "=", orgId)
    .where((w) => w.or(pairs.map((p) => w.and([w("issuer", "=", p.issuer), w("external_id", "=", p.id)]))));
}

const ownerOfIdentity = prepared((db, orgId: number, issuer: string, externalId: string) =>
  ownersQuery(db, orgId, [{ issuer, id: externalId }]),
);

/**
 * The users holding any of these exact (issuer, id) pairs: one probe of the unique index per pair.
 * Run before a list query so the planner starts from a handful of ids instead of walking the
 * whole directory in sort order while testing each row.
 */
export async function ownersOfIdentities(
  db: Kysely<Database>,
  orgId: number,
  pairs: { issuer: string; id: string }[],
): Promise<number[]> {
  if (pairs.length === 0) return [];
  if (pairs.length === 1) {
    const rows = await ownerOfIdentity.all(db, orgId, pairs[0]!.issuer, pairs[0]!.id);
    return rows.map((r) => r.dev_user_id);
  }
  const rows = await readAll(db, ownersQuery(db, orgId, pairs));
  return [...new Set(rows.map((r) => r.dev_user_id))];
}

// What SCIM reads and writes beside the dev user rows themselves: its page queries (offset paging in
// number order, as SCIM's startIndex asks), and the attributes a connection keeps per user.
import { type Expression, type ExpressionBuilder, type Kysely, type SqlBool, sql } from "kysely";
import { readAll, readFirst } from "../reads.js";
import type { Database, DevUserRow } from "../types.js";

/** One condition of a SCIM filter; a page's conditions are ANDed. */
export type ScimCondition =
  | { kind: "email"; lower: string }
  | { kind: "external_id"; issuer: string; id: string }
  | { kind: "number"; number: number }
  | { kind: "active"; active: boolean }
  | { kind: "none" };

type Eb = ExpressionBuilder<Database, "dev_users">;

function where(eb: Eb, orgId: number, conds: ScimCondition[]): Expression<SqlBool> {
  // A deleted user is gone for SCIM: no filter finds it.
  const all: Expression<SqlBool>[] = [eb("dev_users.org_id", "=", orgId), eb("dev_users.state", "<>", "deleted")];
  for (const c of conds) {
    switch (c.kind) {
      case "email":
        all.push(eb("dev_users.email_lower", "=", c.lower));
        break;
      case "number":
        all.push(eb("dev_users.number", "=", c.number));
        break;
      case "active":
        all.push(eb("dev_users.state", c.active ? "=" : "<>", "active"));
        break;
      case "external_id":
        // The (org_id, issuer, external_id) unique index: a lookup.
        all.push(
          eb(
            "dev_users.id",
            "in",
            eb
              .selectFrom("external_identities")
              .select("external_identities.dev_user_id")
              .where("external_identities.org_id", "=", orgId)
              .where("external_identities.issuer", "=", c.issuer)
              .where("external_identities.external_id", "=", c.id),
          ),
        );
        break;
      case "none":
        all.push(sql<SqlBool>`1 = 0`);
        break;
    }
  }
  return eb.and(all);
}

/** How many users of the org the conditions match. */
export async function countScimUsers(db: Kysely<Database>, orgId: number, conds: ScimCondition[]): Promise<number> {
  const row = await readFirst(
    db,
    db
      .selectFrom("dev_users")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where((eb) => where(eb, orgId, conds)),
  );
  return Number(row?.n ?? 0);
}

/**
 * A page of the users the conditions match, in number order (the (org_id, number) unique index):
 * a total order, so a page at a startIndex is the same page until users are added or removed.
 */
export function listScimUsers(
  db: Kysely<Database>,
  orgId: number,
  conds: ScimCondition[],
  offset: number,
  limit: number,
): Promise<DevUserRow[]> {
  return readAll(
    db,
    db
      .selectFrom("dev_users")
      .selectAll()
      .where((eb) => where(eb, orgId, conds))
      .orderBy("dev_users.number")
      // Literals: SQLite prepares a statement again whenever a bound LIMIT changes.
      .limit(sql.lit(limit))
      .offset(sql.lit(offset)),
  );
}

/** The attributes a connection keeps for these users, by user id. */
export async function scimAttributesOf(
  db: Kysely<Database>,
  connectionId: number,
  userIds: number[],
): Promise<Map<number, Record<string, unknown>>> {
  if (userIds.length === 0) return new Map();
  const rows = await readAll(
    db,
    db
      .selectFrom("scim_user_attributes")
      .select(["dev_user_id", "attributes"])
      .where("connection_id", "=", connectionId)
      .where("dev_user_id", "in", userIds),
  );
  return new Map(rows.map((r) => [Number(r.dev_user_id), JSON.parse(r.attributes) as Record<string, unknown>]));
}

/** Keeps `attributes` for the user (none: forgets them). */
export async function putScimAttributes(
  db: Kysely<Database>,
  row: { connectionId: number; userId: number; orgId: number; attributes: string | null },
): Promise<void> {
  await db
    .deleteFrom("scim_user_attributes")
    .where("connection_id", "=", row.connectionId)
    .where("dev_user_id", "=", row.userId)
    .execute();
  if (row.attributes === null) return;
  await db
    .insertInto("scim_user_attributes")
    .values({
      connection_id: row.connectionId,
      dev_user_id: row.userId,
      org_id: row.orgId,
      attributes: row.attributes,
    })
    .execute();
}

// Users as an identity provider sees them through its SCIM connection (src/scim speaks the
// protocol; this is the directory's side of it). A connection sees every user of its org but the
// deleted ones, never another org's; each user with this connection's issuer's identity (the
// externalId), the attributes the connection kept, and the manager. Writes: provisioning-writes.ts.
import type { Kysely } from "kysely";
import { findDevUserByNumber, findDevUsers } from "../db/repositories/dev-users.js";
import { identitiesOfUsers } from "../db/repositories/identities.js";
import { countScimUsers, listScimUsers, type ScimCondition, scimAttributesOf } from "../db/repositories/scim-users.js";
import type { Database, DevUserRow, StoredJobHistoryItem } from "../db/types.js";
import { assertThat, notFound } from "../errors.js";
import type { Caller, Deps, ScimCaller } from "./context.js";

/** One condition of a lookup (SCIM's filter, compiled); a lookup's conditions are ANDed. */
export type UserCondition = ScimCondition;

/** A user as its connection sees it. */
export interface ProvisionedUser {
  row: DevUserRow;
  /** The id of the user's identity from the connection's issuer. */
  externalId?: string;
  /** What the connection kept of the user that the directory has no field for. */
  extras: Record<string, unknown>;
  manager?: DevUserRow;
}

/**
 * What an identity provider says of a user, in the directory's terms (src/scim/resource.ts maps
 * SCIM's attributes onto it).
 */
export interface ProvisionedProfile {
  email: string;
  /** Absent: the email's local part, as dev-users.create makes it. */
  displayName?: string;
  /** "" for none. */
  fullName: string;
  /** Absent: the state stays as it is. */
  active?: boolean;
  phoneNumbers: string[];
  /** The title of the user's current job (job_history), or none. */
  title?: string;
  timezone?: string;
  /** The manager's dev user id (DEVU-<n> or its DON), or null for none. */
  manager: string | null;
  /** Absent: the link stays as it is; null: no link. */
  externalId?: string | null;
  /** Kept as sent, for this connection. */
  extras: Record<string, unknown>;
}

export const MAX_PAGE = 100;

/** Hydrating journal entries needs a caller; a connection is not a dev user. */
export const asCaller = (p: ScimCaller): Caller => ({ userId: 0, orgId: p.orgId, org: p.org, role: "admin" });

/** The title of the current job in a job history (JSON text), if it has one. */
export function currentTitle(jobHistory: string): string | undefined {
  const items = JSON.parse(jobHistory) as StoredJobHistoryItem[];
  return items.find((i) => i.is_current === true)?.title;
}

/** The users' views, in their order, in three queries whatever their number. */
export async function provisionedViews(
  db: Kysely<Database>,
  p: ScimCaller,
  rows: DevUserRow[],
): Promise<ProvisionedUser[]> {
  const ids = rows.map((r) => r.id);
  const managerIds = [...new Set(rows.flatMap((r) => (r.reports_to_id === null ? [] : [r.reports_to_id])))];
  const [identities, extras, managers] = await Promise.all([
    identitiesOfUsers(db, ids),
    scimAttributesOf(db, p.connectionId, ids),
    findDevUsers(db, p.orgId, managerIds),
  ]);
  const externalIds = new Map(identities.filter((i) => i.issuer === p.issuer).map((i) => [i.dev_user_id, i]));
  const managerById = new Map(managers.map((m) => [m.id, m]));
  return rows.map((row) => {
    const view: ProvisionedUser = { row, extras: extras.get(row.id) ?? {} };
    const identity = externalIds.get(row.id);
    if (identity) view.externalId = identity.external_id;
    const manager = row.reports_to_id === null ? undefined : managerById.get(row.reports_to_id);
    if (manager) view.manager = manager;
    return view;
  });
}

/** The user of the connection's org with this number, unless it is deleted: then it is not found. */
export async function findProvisionable(db: Kysely<Database>, p: ScimCaller, number: number): Promise<DevUserRow> {
  const row = await findDevUserByNumber(db, p.orgId, number);
  assertThat(row && row.state !== "deleted", () => notFound("user"));
  return row;
}

export async function getProvisionedUser(deps: Deps, p: ScimCaller, number: number): Promise<ProvisionedUser> {
  const db = deps.db.kysely;
  const row = await findProvisionable(db, p, number);
  return (await provisionedViews(db, p, [row]))[0]!;
}

export interface ProvisionedPage {
  total: number;
  users: ProvisionedUser[];
}

/**
 * The users the conditions match, `count` of them from the `startIndex`th (1-based), in number
 * order: the order is total and never changes for a user, so paging is stable.
 */
export async function listProvisionedUsers(
  deps: Deps,
  p: ScimCaller,
  query: { conditions: UserCondition[]; startIndex: number; count: number },
): Promise<ProvisionedPage> {
  const db = deps.db.kysely;
  const conditions = query.conditions.map((c) =>
    // The connection's own issuer, whatever the caller compiled.
    c.kind === "external_id" ? { ...c, issuer: p.issuer } : c,
  );
  const count = Math.min(Math.max(query.count, 0), MAX_PAGE);
  const total = await countScimUsers(db, p.orgId, conditions);
  if (count === 0 || total < query.startIndex) return { total, users: [] };
  const rows = await listScimUsers(db, p.orgId, conditions, query.startIndex - 1, count);
  return { total, users: await provisionedViews(db, p, rows) };
}

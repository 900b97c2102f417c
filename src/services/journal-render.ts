// Entries written as a diff (link, unlink: the hottest writes) are rendered back into the object
// as it was, exactly, when they are read: by the audit log and by webhook deliveries.
import type { Kysely } from "kysely";
import { findDevUsers } from "../db/repositories/dev-users.js";
import type { Database } from "../db/types.js";
import type { UserDiff } from "./journal.js";
import { toUserSummary } from "./mapper.js";
import type { UserSummary, WireDevUser } from "./wire.js";

export const diffOf = (before: unknown): UserDiff | undefined =>
  before !== null && typeof before === "object" && "diff" in before ? (before as { diff: UserDiff }).diff : undefined;

/** The user as it was before a change recorded as a diff against `after`. */
export function renderBefore(
  after: WireDevUser,
  diff: UserDiff,
  summaryOf: (id: number) => UserSummary | undefined,
): WireDevUser {
  const before: WireDevUser = { ...after, modified_date: diff.modified_date };
  const by = diff.modified_by_id === null ? undefined : summaryOf(diff.modified_by_id);
  if (by) before.modified_by = by;
  else delete before.modified_by;
  const identities = [...after.external_identities];
  if (diff.identity_added !== undefined) identities.splice(diff.identity_added, 1);
  if (diff.identity_removed) identities.splice(diff.identity_removed.at, 0, diff.identity_removed.identity as never);
  before.external_identities = identities;
  return before;
}

/** Looks up, in one query, the users that diffs name as previous modifiers. */
export async function summariesFor(
  db: Kysely<Database>,
  orgId: number,
  org: string,
  diffs: (UserDiff | undefined)[],
): Promise<(id: number) => UserSummary | undefined> {
  const ids = [...new Set(diffs.flatMap((d) => (d && d.modified_by_id !== null ? [d.modified_by_id] : [])))];
  const rows = await findDevUsers(db, orgId, ids);
  const byId = new Map(rows.map((r) => [r.id, toUserSummary(org, r)]));
  return (id) => byId.get(id);
}

// Changes to one user's row that several operations share: journalling it, and its role.
import type { Kysely } from "kysely";
import { findDevUser, updateDevUser } from "../db/repositories/dev-users.js";
import { identitiesOfUsers } from "../db/repositories/identities.js";
import type { Database, DevUserRow } from "../db/types.js";
import { assertThat, notFound } from "../errors.js";
import type { Caller } from "./context.js";
import { hydrateOne } from "./hydrate.js";
import type { Journal, Operation } from "./journal.js";
import { assertAdminRemains, lastAdminReason } from "./policy.js";
import { endActAsTokensOf } from "./token-records.js";
import type { WireDevUser } from "./wire.js";

/** Journals a change to one user's row (its identities unchanged), and returns the user after it. */
export async function recordUserChange(
  trx: Kysely<Database>,
  journal: Journal,
  caller: Caller,
  operation: Operation,
  before: DevUserRow,
  after: DevUserRow,
): Promise<WireDevUser> {
  const held = await identitiesOfUsers(trx, [after.id]);
  const wire = await hydrateOne(trx, caller, after, held);
  await journal.record({
    operation,
    object: { type: "dev_user", id: after.number },
    before: await hydrateOne(trx, caller, before, held),
    after: wire,
  });
  return wire;
}

/**
 * Gives `row` the role `role` as `devusers role set` does: the org keeps an active admin, a
 * demoted admin's act-as tokens end with its rights, and the change is journalled as a role
 * change. Answers the user after, or undefined when it already had that role.
 */
export async function changeRole(
  trx: Kysely<Database>,
  journal: Journal,
  caller: Caller,
  row: DevUserRow,
  role: "admin" | "member",
  now: string,
): Promise<{ row: DevUserRow; wire: WireDevUser } | undefined> {
  if (row.role === role) return undefined;
  if (role === "member") await assertAdminRemains(trx, caller.orgId, row, "role", lastAdminReason(row.email));
  await updateDevUser(trx, row.id, { role, modified_date: now, modified_by_id: caller.userId });
  const after = await findDevUser(trx, caller.orgId, row.id);
  assertThat(after, () => notFound("dev user"));
  const wire = await recordUserChange(trx, journal, caller, "dev_users.role.set", row, after);
  if (role === "member") await endActAsTokensOf(trx, journal, { id: caller.orgId, slug: caller.org }, row.number, now);
  return { row: after, wire };
}

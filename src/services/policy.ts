// Who may do what, and what must stay true of an org whoever does it.
import type { Kysely } from "kysely";
import { countOtherActiveAdmins } from "../db/repositories/dev-users.js";
import { lockOrg } from "../db/repositories/orgs.js";
import type { Database, DevUserRow } from "../db/types.js";
import { assertThat, forbidden, valueNotPermitted } from "../errors.js";
import type { Caller } from "./context.js";

export function requireAdmin(caller: Caller): void {
  assertThat(caller.role === "admin", forbidden);
}

/**
 * An org must keep one active admin: without one, nobody could activate users or mint tokens
 * for them, and the org would be locked out for good. Takes the org lock so two concurrent
 * deactivations cannot each leave the other as the last admin.
 */
export async function assertAdminRemains(
  db: Kysely<Database>,
  orgId: number,
  losing: DevUserRow,
  field: string,
  reason = "this is the org's last active admin; make another admin first",
) {
  if (losing.role !== "admin" || losing.state !== "active") return;
  await lockOrg(db, orgId);
  const others = await countOtherActiveAdmins(db, orgId, losing.id);
  assertThat(others > 0, valueNotPermitted(field, reason));
}

/** Why a demotion is refused: the CLI's `role set` and the API's update say the same. */
export const lastAdminReason = (email: string) => `${email} is the org's last active admin; make another admin first`;

// Acts on the directory as a whole, for test harnesses: never reachable through the API unless
// an operator turns it on (DEVUSERS_ALLOW_RESET).
import { deleteAllUsers } from "../db/repositories/directory.js";
import { ensureAdmin } from "./admin.js";
import type { Caller, Deps } from "./context.js";
import { requireAdmin } from "./policy.js";

/** Empties the directory in one transaction: every user and identity of every org. */
export async function emptyDirectory(deps: Deps): Promise<void> {
  await deps.db.writes.run((trx) => deleteAllUsers(trx));
}

/**
 * An admin's reset: empties the directory, then makes the bootstrap admin again (DEVUSERS_BOOTSTRAP_ADMIN),
 * as its org's DEVU-1, so the token it was given at start keeps working.
 */
export async function resetDirectory(
  deps: Deps,
  caller: Caller,
  bootstrap: { email: string; org: string } | undefined,
): Promise<void> {
  requireAdmin(caller);
  await emptyDirectory(deps);
  if (bootstrap) await ensureAdmin(deps, bootstrap);
}

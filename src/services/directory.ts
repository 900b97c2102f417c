// Acts on the directory as a whole, for test harnesses: never reachable through the API unless
// an operator turns it on (DEVUSERS_ALLOW_RESET).
import { deleteAllUsers } from "../db/repositories/directory.js";
import { deleteJournal } from "../db/repositories/journal.js";
import { allOrgIds } from "../db/repositories/orgs.js";
import { deleteAllWebhooks } from "../db/repositories/webhooks.js";
import { ensureAdmin } from "./admin.js";
import type { Caller, Deps } from "./context.js";
import { type Actor, type Context, contextOf, journalled } from "./journal.js";
import { requireAdmin } from "./policy.js";

/**
 * Empties the directory in one transaction: every user, identity and webhook of every org, and
 * the journal, which then starts again with one `directory.reset` entry per org, by `who`.
 */
export async function emptyDirectory(deps: Deps, who: Context = { actor: { type: "system" } }): Promise<void> {
  await journalled(deps, who, async (trx, journal) => {
    await deleteAllWebhooks(trx);
    await deleteAllUsers(trx);
    await deleteJournal(trx);
    const orgs = await allOrgIds(trx);
    for (const orgId of orgs)
      await journal.record({ operation: "directory.reset", orgId, object: { type: "org", id: orgId } });
    if (orgs.length === 0) journal.unchanged();
  });
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
  // The caller's row is gone once the directory is empty: the entries name no user.
  const who: Context = { actor: { type: "system" } satisfies Actor, requestId: contextOf(caller).requestId };
  await emptyDirectory(deps, who);
  if (bootstrap) await ensureAdmin(deps, bootstrap);
}

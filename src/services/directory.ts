// Acts on the directory as a whole, for test harnesses: never reachable through the API unless
// an operator turns it on.
import { deleteAllUsers } from "../db/repositories/directory.js";
import type { Deps } from "./context.js";

/** Empties the directory in one transaction: every user and identity of every org. */
export async function emptyDirectory(deps: Deps): Promise<void> {
  await deps.db.writes.run((trx) => deleteAllUsers(trx));
}

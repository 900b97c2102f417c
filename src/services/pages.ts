// Where a list or audit-log page is read. With DATABASE_REPLICA_URL, from the replica once it has
// replayed the org's journal at least as far as the primary had it when the request was
// authenticated (read in the caller's statement): then the page holds every write acknowledged
// before the request, whichever instance made it. A replica behind that, or a caller whose head
// was not read, gets the page from the primary.
import type { Kysely } from "kysely";
import { journalHead } from "../db/repositories/journal.js";
import type { Database } from "../db/types.js";
import type { Caller, Deps } from "./context.js";

export async function pagesFor(deps: Deps, caller: Caller): Promise<Kysely<Database>> {
  const { pages, kysely } = deps.db;
  if (pages === kysely || caller.journalHead === undefined) return kysely;
  return (await journalHead(pages, caller.orgId)) >= caller.journalHead ? pages : kysely;
}

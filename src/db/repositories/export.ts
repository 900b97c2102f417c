// The SQL of `devusers export`: an org's users a page at a time, in number order, with the
// numbers of the users they refer to, read off the (org_id, number) unique index.
import type { Kysely } from "kysely";
import { readAll } from "../reads.js";
import type { Database, DevUserRow } from "../types.js";

export interface ExportRow extends DevUserRow {
  reports_to_number: number | null;
  created_by_number: number | null;
  modified_by_number: number | null;
}

/** Up to `limit` users of the org numbered after `after`, in number order. */
export function exportPage(db: Kysely<Database>, orgId: number, after: number, limit: number): Promise<ExportRow[]> {
  return readAll(
    db,
    db
      .selectFrom("dev_users as u")
      .leftJoin("dev_users as r", "r.id", "u.reports_to_id")
      .leftJoin("dev_users as c", "c.id", "u.created_by_id")
      .leftJoin("dev_users as m", "m.id", "u.modified_by_id")
      .selectAll("u")
      .select(["r.number as reports_to_number", "c.number as created_by_number", "m.number as modified_by_number"])
      .where("u.org_id", "=", orgId)
      .where("u.number", ">", after)
      .orderBy("u.number")
      .limit(limit),
  ) as Promise<ExportRow[]>;
}

// `devusers export`: an org's users as fixture records (the format `devusers load` reads), in
// number order, a page at a time, so an export of any size runs in constant memory. Every value
// is written in the form load stores as is, so export, load into an empty database, and export
// again gives the same bytes.
import type { ExportRow } from "../db/repositories/export.js";
import { exportPage } from "../db/repositories/export.js";
import { identitiesOfUsers } from "../db/repositories/identities.js";
import { findOrgBySlug } from "../db/repositories/orgs.js";
import type { IdentityRow, StoredJobHistoryItem } from "../db/types.js";
import { devUserDisplayId } from "../ids.js";
import type { Deps } from "./context.js";
import { availabilityModes, employmentStatuses } from "./enums.js";

const PAGE = 1000;

function jobOf(item: StoredJobHistoryItem): Record<string, unknown> {
  // In the key order load stores, whatever order the API stored it in.
  const out: Record<string, unknown> = {};
  if (item.employment_status !== undefined) {
    const status = employmentStatuses.get(item.employment_status);
    if (status) out.employment_status = status.value;
  }
  for (const k of ["end_date", "is_current", "location", "start_date", "title"] as const) {
    if (item[k] !== undefined) out[k] = item[k];
  }
  return out;
}

/** One user as a fixture record: defaults and empty values left out, references as display ids. */
export function recordOf(row: ExportRow, identities: IdentityRow[]): Record<string, unknown> {
  const r: Record<string, unknown> = {
    display_id: devUserDisplayId(row.number),
    email: row.email,
    display_name: row.display_name,
  };
  if (row.full_name !== "") r.full_name = row.full_name;
  r.state = row.state;
  r.role = row.role;
  if (row.job_title !== null) r.job_title = row.job_title;
  if (row.experience_start_date !== null) r.experience_start_date = row.experience_start_date;
  if (row.timezone !== null) r.timezone = row.timezone;
  if (row.reports_to_number !== null) r.reports_to = devUserDisplayId(row.reports_to_number);
  if (row.created_by_number !== null) r.created_by = devUserDisplayId(row.created_by_number);
  if (row.modified_by_number !== null) r.modified_by = devUserDisplayId(row.modified_by_number);
  r.created_date = row.created_date;
  r.modified_date = row.modified_date;
  const custom = JSON.parse(row.custom_fields) as Record<string, unknown>;
  if (Object.keys(custom).length > 0) r.custom_fields = custom;
  const jobs = JSON.parse(row.job_history) as StoredJobHistoryItem[];
  if (jobs.length > 0) r.job_history = jobs.map(jobOf);
  const modes = (JSON.parse(row.availability_modes) as number[]).flatMap((id) => {
    const mode = availabilityModes.get(id);
    return mode ? [mode.value] : [];
  });
  if (modes.length > 0) r.availability_modes = modes;
  const skills = JSON.parse(row.skills) as unknown[];
  if (skills.length > 0) r.skills = skills;
  const phones = JSON.parse(row.phone_numbers) as string[];
  if (phones.length > 0) r.phone_numbers = phones;
  if (identities.length > 0) {
    r.external_identities = identities.map((i) => {
      const w: Record<string, unknown> = { issuer: i.issuer, id: i.external_id };
      if (i.display_name !== null) w.display_name = i.display_name;
      w.is_verified = Number(i.is_verified) === 1;
      return w;
    });
  }
  return r;
}

/** The org's users as records, in number order; nothing for an org that does not exist. */
export async function* exportUsers(deps: Deps, org: string): AsyncGenerator<Record<string, unknown>> {
  const db = deps.db.kysely;
  const orgRow = await findOrgBySlug(db, org);
  if (!orgRow) return;
  let after = 0;
  for (;;) {
    const rows = await exportPage(db, orgRow.id, after, PAGE);
    if (rows.length === 0) return;
    const identities = await identitiesOfUsers(
      db,
      rows.map((r) => r.id),
    );
    const byUser = new Map<number, IdentityRow[]>();
    for (const i of identities) {
      const id = Number(i.dev_user_id);
      const list = byUser.get(id);
      if (list) list.push(i);
      else byUser.set(id, [i]);
    }
    for (const row of rows) yield recordOf(row, byUser.get(row.id) ?? []);
    after = rows[rows.length - 1]!.number;
  }
}

// The one place table rows become wire objects. A user is named by its number in its org, never by
// its primary key (src/db/types.ts).
import type { DevUserRow, IdentityRow, StoredJobHistoryItem } from "../db/types.js";
import { devUserDisplayId, devUserDon } from "../ids.js";
import { availabilityModes, employmentStatuses } from "./enums.js";
import type { UserSummary, WireDevUser, WireIdentity, WireJobHistoryItem } from "./wire.js";

export function toUserSummary(org: string, row: DevUserRow): UserSummary {
  const s: UserSummary = {
    type: "dev_user",
    id: devUserDon(org, row.number),
    display_id: devUserDisplayId(row.number),
    display_name: row.display_name,
    email: row.email,
    state: row.state,
  };
  if (row.full_name) s.full_name = row.full_name;
  return s;
}

export function toWireIdentity(row: IdentityRow): WireIdentity {
  const w: WireIdentity = { issuer: row.issuer, id: row.external_id, is_verified: row.is_verified === 1 };
  if (row.display_name !== null) w.display_name = row.display_name;
  return w;
}

function toWireJob(item: StoredJobHistoryItem): WireJobHistoryItem {
  const { employment_status, ...rest } = item;
  const w: WireJobHistoryItem = { ...rest };
  const status = employment_status === undefined ? undefined : employmentStatuses.get(employment_status);
  if (status) w.employment_status = status;
  return w;
}

export function toWireDevUser(
  org: string,
  row: DevUserRow,
  identities: IdentityRow[],
  related: ReadonlyMap<number, DevUserRow>,
): WireDevUser {
  const summary = (id: number | null) => {
    const r = id === null ? undefined : related.get(id);
    return r ? toUserSummary(org, r) : undefined;
  };
  const w: WireDevUser = {
    type: "dev_user",
    id: devUserDon(org, row.number),
    display_id: devUserDisplayId(row.number),
    created_date: row.created_date,
    modified_date: row.modified_date,
    display_name: row.display_name,
    email: row.email,
    state: row.state,
    role: row.role === "admin" ? "admin" : "member",
    external_identities: identities.map(toWireIdentity),
    job_history: (JSON.parse(row.job_history) as StoredJobHistoryItem[]).map(toWireJob),
    availability_modes: (JSON.parse(row.availability_modes) as number[]).flatMap((id) => {
      const mode = availabilityModes.get(id);
      return mode ? [mode] : [];
    }),
    custom_fields: JSON.parse(row.custom_fields) as Record<string, unknown>,
    skills: JSON.parse(row.skills) as { name: string }[],
    phone_numbers: JSON.parse(row.phone_numbers) as string[],
  };
  const createdBy = summary(row.created_by_id);
  if (createdBy) w.created_by = createdBy;
  const modifiedBy = summary(row.modified_by_id);
  if (modifiedBy) w.modified_by = modifiedBy;
  const reportsTo = summary(row.reports_to_id);
  if (reportsTo) w.reports_to = reportsTo;
  if (row.full_name) w.full_name = row.full_name;
  if (row.job_title !== null) w.job_title = row.job_title;
  if (row.experience_start_date !== null) w.experience_start_date = row.experience_start_date;
  if (row.timezone !== null) w.timezone = row.timezone;
  return w;
}

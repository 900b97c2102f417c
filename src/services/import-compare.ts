// Whether a record describes a user as it already is. A second load of the same file must change
// nothing, so an existing user whose given fields all equal the record's stored form is left
// alone; any difference is a conflict, since a load adds users and never edits them.
import type { Found } from "../db/repositories/import.js";
import type { ComparedField, ImportUser } from "./import-types.js";

/** JSON with object keys sorted: the same value compares equal whatever order it was written in. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, (v as Record<string, unknown>)[k]]),
        )
      : v,
  );
}
const canonicalText = (text: string) => canonical(JSON.parse(text));

type Stored = Record<ComparedField, string>;

function identitiesText(list: { issuer: string; id: string; displayName: string | null; verified: boolean }[]) {
  return canonical([...list].sort((a, b) => (a.issuer < b.issuer ? -1 : a.issuer > b.issuer ? 1 : 0)));
}

function storedOfRecord(u: ImportUser): Partial<Stored> {
  return {
    display_id: String(u.number),
    email: u.email,
    display_name: u.displayName,
    full_name: u.fullName,
    state: u.state,
    role: u.role,
    job_title: String(u.jobTitle),
    experience_start_date: String(u.experienceStartDate),
    timezone: String(u.timezone),
    created_date: String(u.createdDate),
    modified_date: String(u.modifiedDate),
    custom_fields: canonicalText(u.customFields),
    job_history: canonicalText(u.jobHistory),
    availability_modes: u.availabilityModes,
    skills: canonicalText(u.skills),
    phone_numbers: JSON.stringify(u.phoneNumbers),
    external_identities: identitiesText(
      u.identities.map((i) => ({
        issuer: i.issuer,
        id: i.externalId,
        displayName: i.displayName,
        verified: i.isVerified,
      })),
    ),
  };
}

function storedOfUser({ row, identities }: Found): Stored {
  return {
    display_id: String(row.number),
    email: row.email,
    display_name: row.display_name,
    full_name: row.full_name,
    state: row.state,
    role: row.role,
    job_title: String(row.job_title),
    experience_start_date: String(row.experience_start_date),
    timezone: String(row.timezone),
    created_date: row.created_date,
    modified_date: row.modified_date,
    custom_fields: canonicalText(row.custom_fields),
    job_history: canonicalText(row.job_history),
    availability_modes: row.availability_modes,
    skills: canonicalText(row.skills),
    phone_numbers: row.phone_numbers,
    external_identities: identitiesText(
      identities.map((i) => ({
        issuer: i.issuer,
        id: i.external_id,
        displayName: i.display_name,
        verified: Number(i.is_verified) === 1,
      })),
    ),
  };
}

/** The first field the record gives that differs from the existing user, if any. */
export function differingField(u: ImportUser, existing: Found): ComparedField | undefined {
  const mine = storedOfRecord(u);
  const theirs = storedOfUser(existing);
  for (const field of u.given) if (mine[field] !== theirs[field]) return field;
  return undefined;
}

/** How a conflict names a user: `DEVU-2 (line 4)`, the line only if this load made it. */
export function named(found: Found): string {
  return `DEVU-${found.row.number}${found.where ? ` (${found.where})` : ""}`;
}

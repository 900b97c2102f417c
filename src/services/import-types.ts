// What an import is made of, as the fixture surface hands it over and the import service reads
// it: a record in its stored form, and the one error an import refuses a file with.

/** Another user of the same org: by number (`DEVU-3`, or its DON) or by email. */
export type UserRef = { number: number } | { email: string };

export interface ImportIdentity {
  issuer: string;
  externalId: string;
  displayName: string | null;
  isVerified: boolean;
}

/** The fields of a record that an existing user is compared on (those the record gives). */
export type ComparedField =
  | "display_id"
  | "email"
  | "display_name"
  | "full_name"
  | "state"
  | "role"
  | "job_title"
  | "experience_start_date"
  | "timezone"
  | "created_date"
  | "modified_date"
  | "custom_fields"
  | "job_history"
  | "availability_modes"
  | "skills"
  | "phone_numbers"
  | "external_identities";

/** A record as it will be stored: defaults filled in, values in their stored form. */
export interface ImportUser {
  /** Where the record is, as a person would point at it: `line 7`, `item 3`. */
  where: string;
  /** The fields the record gave; only those must match an existing user of the same email. */
  given: ReadonlySet<ComparedField>;
  number?: number;
  email: string;
  displayName: string;
  fullName: string;
  state: string;
  role: "admin" | "member";
  jobTitle: string | null;
  experienceStartDate: string | null;
  timezone: string | null;
  reportsTo?: UserRef;
  createdBy?: UserRef;
  modifiedBy?: UserRef;
  /** JSON text, as dev_users stores it. */
  customFields: string;
  jobHistory: string;
  availabilityModes: string;
  skills: string;
  phoneNumbers: string[];
  createdDate?: string;
  modifiedDate?: string;
  identities: ImportIdentity[];
}

/** A file, or a record in it, that cannot be loaded; the message names where and which field. */
export class FixtureError extends Error {
  override name = "FixtureError";
}

// JSON Schemas for requests and responses, written after DevRev's public spec and the request
// types of its official SDK. Requests reject unknown fields (400 invalid_field); responses are
// serialised from these schemas, so nothing undeclared can leak out.
import { jobTitles, userStates } from "../services/enums.js";

const str = { type: "string" } as const;
/**
 * Strings that land in an index are bounded: PostgreSQL refuses index rows over ~2.7 KB, and
 * no name or email is that long. The limits are in characters; 4 bytes each at worst.
 */
const name = { type: "string", maxLength: 256 } as const;
const email = { type: "string", maxLength: 320 } as const;
const issuer = { type: "string", maxLength: 128 } as const;
const externalId = { type: "string", maxLength: 500 } as const;
const strArray = { type: "array", items: str } as const;
/**
 * Every request array is bounded: list filters become one SQL variable per item (SQLite refuses
 * more than 32766, PostgreSQL 65535) and long IN/OR chains overflow Kysely's stack.
 */
const MAX_ITEMS = 100;
const arrayOf = <T>(items: T) => ({ type: "array", maxItems: MAX_ITEMS, items }) as const;
const strList = arrayOf(str);
const obj = (properties: Record<string, unknown>, required: string[] = []) =>
  ({ type: "object", additionalProperties: false, properties, required }) as const;

// ---- requests -----------------------------------------------------------------------------

const customSchemaSpec = obj({
  apps: strList,
  subtype: str,
  tenant_fragment: { type: "boolean" },
  validate_required_fields: { type: "boolean" },
});
const customFields = { type: "object" } as const;

// Stored strings are bounded so that every user's row is: with at most 100 items, job history
// stays under about 200 KB even in 4-byte characters.
const jobHistoryItem = obj({
  employment_status: { type: "integer" },
  end_date: str,
  is_current: { type: "boolean" },
  location: name,
  start_date: str,
  title: name,
});

const dateFilter = obj(
  {
    type: { type: "string", enum: ["preset", "range"] },
    after: str,
    before: str,
    preset_type: { type: "string", enum: ["last_n_days", "next_n_days"] },
    days: { type: "integer", minimum: 0, maximum: 4294967295 },
  },
  ["type"],
);

const unresolvedField = obj({ devrev_field_name: str, external_display_name: str, external_field_name: str });

const updateFields = {
  availability_modes: arrayOf({ type: "integer" }),
  custom_fields: customFields,
  custom_schema_spec: customSchemaSpec,
  display_name: name,
  experience_start_date: str,
  full_name: name,
  job_history: arrayOf(jobHistoryItem),
  job_title: { type: "string", enum: jobTitles },
  reports_to: str,
};

export const requests = {
  create: obj(
    {
      custom_fields: customFields,
      custom_schema_spec: customSchemaSpec,
      email,
      full_name: name,
      reports_to: str,
      state: { type: "string", enum: ["shadow"] },
    },
    ["email", "state"],
  ),
  byId: obj({ id: str }, ["id"]),
  activate: obj({ groups: strList, id: str }, ["id"]),
  update: obj(
    {
      ...updateFields,
      id: str,
      // Beyond DevRev's spec: how the console changes a role (admins only).
      role: { type: "string", enum: ["admin", "member"] },
      staged_info: obj({
        sync_in_unresolved_fields: arrayOf(unresolvedField),
        sync_out_unresolved_fields: arrayOf(unresolvedField),
        unresolved_fields: strList,
      }),
    },
    ["id"],
  ),
  selfUpdate: obj(updateFields),
  self: obj({}),
  link: obj({ dev_user: str, display_name: name, id: externalId, issuer }, ["dev_user", "id", "issuer"]),
  unlink: obj({ dev_user: str, issuer }, ["dev_user", "issuer"]),
  merge: obj({ primary_user: str, secondary_user: str }, ["primary_user", "secondary_user"]),
  list: obj({
    created_date: dateFilter,
    cursor: str,
    custom_fields: customFields,
    email: strList,
    external_identity: arrayOf(obj({ id: str, issuer: str })),
    limit: { type: "integer" },
    mode: { type: "string", enum: ["after", "before"] },
    modified_date: dateFilter,
    phone_numbers: strList,
    // Beyond DevRev's spec: the console's name search.
    search: { type: "string", minLength: 1, maxLength: 256 },
    sort_by: strList,
    staged_info: obj({ is_staged: { type: "boolean" } }),
    state: arrayOf({ type: "string", enum: userStates }),
    timezone: strList,
  }),
};

// ---- responses ----------------------------------------------------------------------------

const enumValue = {
  type: "object",
  properties: { id: { type: "integer" }, label: str, ordinal: { type: "integer" }, value: str },
  required: ["id", "label", "ordinal"],
} as const;

export const userSummary = {
  type: "object",
  properties: {
    type: { type: "string", enum: ["dev_user"] },
    id: str,
    display_id: str,
    display_name: str,
    email: str,
    full_name: str,
    state: str,
  },
  required: ["type", "id"],
} as const;

export const devUser = {
  type: "object",
  properties: {
    type: str,
    id: str,
    display_id: str,
    created_by: userSummary,
    modified_by: userSummary,
    created_date: str,
    modified_date: str,
    display_name: str,
    full_name: str,
    email: str,
    state: str,
    role: { type: "string", enum: ["admin", "member"] },
    external_identities: {
      type: "array",
      items: {
        type: "object",
        properties: { issuer: str, id: str, display_name: str, is_verified: { type: "boolean" } },
      },
    },
    job_history: {
      type: "array",
      items: {
        type: "object",
        properties: {
          employment_status: enumValue,
          end_date: str,
          is_current: { type: "boolean" },
          location: str,
          start_date: str,
          title: str,
        },
      },
    },
    job_title: str,
    reports_to: userSummary,
    experience_start_date: str,
    availability_modes: { type: "array", items: enumValue },
    custom_fields: { type: "object", additionalProperties: true },
    skills: { type: "array", items: { type: "object", properties: { name: str } } },
    phone_numbers: strArray,
    timezone: str,
  },
  required: ["id"],
} as const;

export const devUserResponse = {
  type: "object",
  properties: { dev_user: devUser },
  required: ["dev_user"],
} as const;

export const listResponse = {
  type: "object",
  properties: { dev_users: { type: "array", items: devUser }, next_cursor: str, prev_cursor: str },
  required: ["dev_users"],
} as const;

export const emptyResponse = { type: "object", additionalProperties: false, properties: {} } as const;

export const activateResponse = {
  type: "object",
  properties: { invite_sent: { type: "boolean" } },
  required: ["invite_sent"],
} as const;

export const errorBody = {
  type: "object",
  properties: {
    type: str,
    message: str,
    detail: str,
    field_name: str,
    expected: str,
    actual: str,
    allowed_values: strArray,
    value: str,
    reason: str,
    existing_parent: str,
    is_same: { type: "boolean" },
    retry_after: { type: "integer" },
    reference_id: str,
  },
  required: ["type"],
} as const;

/** Every error status an authenticated operation can answer, each with the error schema. */
export function withErrors(ok: Record<number, unknown>, extra: number[] = []) {
  const out: Record<number, unknown> = { ...ok };
  for (const status of [400, 401, 403, 404, 429, 500, 503, ...extra]) out[status] = errorBody;
  return out;
}

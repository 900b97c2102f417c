// DevRev's error model: one class, one table from error type to HTTP status.
// Handlers throw ApiError; plugins/error-handler.ts writes every error body.

export const errorStatus = {
  artifact_already_attached_to_a_parent: 400,
  bad_request: 400,
  invalid_enum_value: 400,
  invalid_field: 400,
  invalid_id: 400,
  missing_required_field: 400,
  parse_error: 400,
  unexpected_json_type: 400,
  value_not_permitted: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_many_requests: 429,
  internal_error: 500,
  service_unavailable: 503,
  // Not DevRev's: answered by the HTTP layer before any route (plugins/error-handler.ts), where
  // no status DevRev documents says what happened. Both close the connection.
  request_timeout: 408,
  request_header_fields_too_large: 431,
  // SCIM's own (RFC 7644, section 3.12), thrown only under /scim/v2, where every error is written
  // in SCIM's error schema instead (toScimBody).
  invalid_filter: 400,
  invalid_path: 400,
  invalid_syntax: 400,
  mutability: 400,
  no_target: 400,
} as const;

export type ErrorType = keyof typeof errorStatus;
export type JsonType = "array" | "bool" | "null" | "number" | "object" | "string";

/** SCIM's `scimType` for an error type, where RFC 7644 has one (section 3.12). */
const SCIM_TYPES: Partial<Record<ErrorType, string>> = {
  invalid_filter: "invalidFilter",
  invalid_path: "invalidPath",
  invalid_syntax: "invalidSyntax",
  mutability: "mutability",
  no_target: "noTarget",
  conflict: "uniqueness",
  value_not_permitted: "invalidValue",
  invalid_enum_value: "invalidValue",
  unexpected_json_type: "invalidValue",
  missing_required_field: "invalidValue",
  invalid_id: "invalidValue",
  invalid_field: "invalidSyntax",
  parse_error: "invalidSyntax",
  bad_request: "invalidSyntax",
};

export const SCIM_ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error";

/** Subtype fields DevRev puts beside `type` and `message`. */
export interface ErrorFields {
  field_name?: string;
  expected?: JsonType;
  actual?: JsonType;
  allowed_values?: string[];
  value?: string;
  reason?: string;
  existing_parent?: string;
  is_same?: boolean;
  retry_after?: number;
  reference_id?: string;
}

/**
 * An answer to the client, not a fault: it carries no stack trace. Guards build these eagerly
 * (`assertThat(x, notFound(...))`), and capturing a stack for each cost a tenth of a request.
 */
export class ApiError extends Error {
  readonly status: number;
  readonly type: ErrorType;
  readonly fields: ErrorFields;
  readonly detail: string | undefined;

  constructor(type: ErrorType, message: string, fields: ErrorFields = {}, detail?: string) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = limit;
    this.type = type;
    this.fields = fields;
    this.detail = detail;
    this.status = errorStatus[type];
  }

  toBody(): Record<string, unknown> {
    const body: Record<string, unknown> = { type: this.type, message: this.message };
    if (this.detail !== undefined) body.detail = this.detail;
    return Object.assign(body, this.fields);
  }

  /** The same error in SCIM's schema: `status` as a string, `scimType` where one fits. */
  toScimBody(): Record<string, unknown> {
    const body: Record<string, unknown> = { schemas: [SCIM_ERROR_SCHEMA], status: String(this.status) };
    const scimType = SCIM_TYPES[this.type];
    if (scimType !== undefined) body.scimType = scimType;
    body.detail = this.detail === undefined ? this.message : `${this.message}: ${this.detail}`;
    return body;
  }
}

/** Keeps guards flat: `assertThat(user, notFound("dev user"))` narrows `user` afterwards. */
export function assertThat(condition: unknown, error: ApiError | (() => ApiError)): asserts condition {
  if (!condition) throw typeof error === "function" ? error() : error;
}

export const notFound = (what: string) => new ApiError("not_found", `${what} not found`);
export const forbidden = (message = "this operation needs the admin role") => new ApiError("forbidden", message);
export const unauthenticated = (message = "a valid token is required") => new ApiError("unauthenticated", message);
export const valueNotPermitted = (field_name: string, reason: string) =>
  new ApiError("value_not_permitted", `${field_name}: ${reason}`, { field_name, reason });
export const invalidId = (field_name: string, value: string) =>
  new ApiError("invalid_id", `${field_name}: "${value}" is not a dev user id`, { field_name });
export const unavailable = (message = "the service is temporarily unavailable") =>
  new ApiError("service_unavailable", message);

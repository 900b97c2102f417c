// The one way the console talks to the service: DevRev's public API, as the SDK calls it (POST
// with a JSON body, a bearer token). Every page goes through `call`; a failure is an ApiFailure
// carrying DevRev's error body, which errors.ts turns into a sentence.
import { session } from "./session";

export interface ErrorBody {
  type?: string;
  message?: string;
  field_name?: string;
  existing_parent?: string;
  is_same?: boolean;
  allowed_values?: string[];
  retry_after?: number;
  [key: string]: unknown;
}

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly body: ErrorBody,
  ) {
    super(body.message ?? `HTTP ${status}`);
  }
}

export interface UserSummary {
  id: string;
  display_id?: string;
  display_name?: string;
  email?: string;
  full_name?: string;
  state?: string;
}

export interface Identity {
  issuer: string;
  id: string;
  display_name?: string;
  is_verified?: boolean;
}

export interface DevUser {
  id: string;
  display_id: string;
  display_name: string;
  full_name?: string;
  email: string;
  state: string;
  created_date: string;
  modified_date: string;
  job_title?: string;
  timezone?: string;
  phone_numbers?: string[];
  reports_to?: UserSummary;
  external_identities: Identity[];
  custom_fields?: Record<string, unknown>;
}

export interface ListUsersResult {
  dev_users: DevUser[];
  next_cursor?: string;
  prev_cursor?: string;
}

export interface TokenInfo {
  user: { id: string; display_id: string; display_name: string; email: string; full_name?: string };
  organization: { id: string; display_id: string };
  token: { expiry: number; issued_at: number; subject: string };
}

export interface AuditEntry {
  id: string;
  seq: number;
  timestamp: string;
  operation: string;
  operation_type: string;
  actor: { type: string; id?: string; display_id?: string };
  object: { type: string; id?: string; display_id?: string };
  related_object?: { type: string; id?: string; display_id?: string };
  details?: Record<string, unknown>;
}

/** Calls one operation (`dev-users.get`) with `body`; `token` overrides the session's. */
export async function call<T>(operation: string, body: object = {}, token = session.token()): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`/${operation}`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify(body),
      // Never a cookie: the token is the only credential.
      credentials: "omit",
      cache: "no-store",
    });
  } catch {
    throw new ApiFailure(0, { type: "network", message: "the service did not answer" });
  }
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : {};
  } catch {
    parsed = undefined;
  }
  if (!res.ok) {
    const body = parsed && typeof parsed === "object" ? (parsed as ErrorBody) : { message: undefined };
    if (res.status === 401) session.expired();
    throw new ApiFailure(res.status, body);
  }
  return parsed as T;
}

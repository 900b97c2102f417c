// Table types: what the database holds. Wire types live in services/wire.ts; mapper.ts joins them.
import type { ColumnType, Generated, Insertable, Selectable, Updateable } from "kysely";

/** JSON text with a database default, so inserts may leave it out. */
type JsonText = ColumnType<string, string | undefined, string>;

export interface OrgsTable {
  id: Generated<number>;
  slug: string;
  created_date: string;
  /** The number the org's next user gets (src/db/repositories/orgs.ts, allocateUserNumbers). */
  next_user_number: ColumnType<number, number | undefined, number>;
  /** The number the org's next webhook gets. */
  next_webhook_number: ColumnType<number, number | undefined, number>;
  /** The number the org's next SCIM connection gets. */
  next_scim_connection_number: ColumnType<number, number | undefined, number>;
}

export interface DevUsersTable {
  /** Database-wide; what foreign keys (and tokens) refer to. Never on the wire. */
  id: Generated<number>;
  org_id: number;
  /**
   * The user's number in its org, the `<n>` of `DEVU-<n>` and of its DON: unique per org, handed
   * out in creation order by the org's counter, and never changed.
   */
  number: ColumnType<number, number, never>;
  email: string;
  email_lower: string;
  display_name: string;
  full_name: string;
  state: string;
  role: ColumnType<string, string | undefined, string>;
  job_title: string | null;
  experience_start_date: string | null;
  reports_to_id: number | null;
  /** JSON text: an object. */
  custom_fields: JsonText;
  /** JSON text: StoredJobHistoryItem[]. */
  job_history: JsonText;
  /** JSON text: number[] of availability mode enum ids. */
  availability_modes: JsonText;
  /** JSON text: string[]. */
  skills: JsonText;
  /** JSON text: string[]; mirrored in dev_user_phone_numbers for filtering. */
  phone_numbers: JsonText;
  timezone: string | null;
  created_by_id: number | null;
  modified_by_id: number | null;
  created_date: string;
  modified_date: string;
  /** Tokens minted before the last deactivation carry an older generation and are refused. */
  token_generation: ColumnType<number, number | undefined, number>;
}

export interface DevUserPhoneNumbersTable {
  dev_user_id: number;
  phone_number: string;
}

export interface ExternalIdentitiesTable {
  id: Generated<number>;
  org_id: number;
  dev_user_id: number;
  issuer: string;
  external_id: string;
  display_name: string | null;
  /** 0 or 1: one integer type on both SQLite and PostgreSQL. */
  is_verified: ColumnType<number, number | undefined, number>;
  created_date: string;
}

export interface SigningKeysTable {
  kid: string;
  alg: string;
  private_jwk: string;
  public_jwk: string;
  created_date: string;
  retired_date: string | null;
}

/** Per org, the seq its next journal entry gets (src/db/repositories/journal.ts). */
export interface JournalHeadsTable {
  org_id: number;
  next_seq: number;
}

export interface JournalTable {
  id: Generated<number>;
  org_id: number;
  /** The entry's number in its org: strictly increasing in commit order. */
  seq: ColumnType<number, number, never>;
  created_date: string;
  actor_type: string;
  /** The acting dev user's number in the org, for actor_type 'dev_user'. */
  actor_id: number | null;
  operation: string;
  object_type: string;
  /** A dev user's number in the org, or the org's own id. */
  object_id: number | null;
  /** A second dev user's number: a merge's secondary. */
  related_id: number | null;
  /** JSON text, or null. */
  before: string | null;
  after: string | null;
  details: string | null;
  request_id: string | null;
}

export interface AuthTokensTable {
  id: Generated<number>;
  org_id: number;
  /** The token's `jti` claim: how a token names its row. */
  jti: string;
  /** The user the token acts as, by number in the org. */
  subject: number;
  type: "pat" | "pat:act-as" | "session:onetime";
  /** Space-separated and sorted; null for the subject's full rights. */
  scopes: string | null;
  token_hint: string | null;
  /** The subject's token generation when the token was minted. */
  generation: number;
  created_by_type: "dev_user" | "cli" | "system";
  /** The dev user who made it, by number, for created_by_type 'dev_user'. */
  created_by: number | null;
  /** The maker's token generation at minting (act-as tokens end with the maker's deactivation). */
  created_by_generation: number | null;
  issued_at: string;
  expires_at: string;
  modified_date: string;
  modified_by: number | null;
  revoked_at: string | null;
}

export interface WebhooksTable {
  id: Generated<number>;
  org_id: number;
  /** The `<n>` of its DON, `…:webhook/<n>`: per org, never reused. */
  number: ColumnType<number, number, never>;
  url: string;
  secret: string;
  status: string;
  /** JSON text: string[]. */
  event_types: JsonText;
  /** JSON text: {name, value}[]. */
  headers: JsonText;
  created_by_id: number | null;
  modified_by_id: number | null;
  created_date: string;
  modified_date: string;
  verify_challenge: string | null;
  verify_deadline: string | null;
  consecutive_failures: ColumnType<number, number | undefined, number>;
  failing_since: string | null;
  last_error: string | null;
  /** Its receiver failed: nothing is sent to it before then, and then one probe. */
  paused_until: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface DeliveryCursorsTable {
  org_id: number;
  last_seq: number;
}

export interface WebhookDeliveriesTable {
  id: Generated<number>;
  org_id: number;
  webhook_id: number;
  journal_seq: number;
  event_id: string;
  type: string;
  ordering_key: string;
  body: string;
  state: string;
  attempts: ColumnType<number, number | undefined, number>;
  next_attempt_date: string;
  lease_until: string | null;
  last_status: number | null;
  last_error: string | null;
  last_latency_ms: number | null;
  created_date: string;
  delivered_date: string | null;
}

/** An identity provider's SCIM 2.0 connection to an org (src/scim, services/scim-connections.ts). */
export interface ScimConnectionsTable {
  id: Generated<number>;
  org_id: number;
  /** The `<n>` of its DON, `…:scim_connection/<n>`: per org, never reused. */
  number: ColumnType<number, number, never>;
  /** The issuer of the identities its users are linked by (externalId). */
  issuer: string;
  /** What users it creates are: 'admin' or 'member'. */
  default_role: string;
  /** 0 or 1. */
  enabled: number;
  /** SHA-256 (hex) of the bearer token; null once revoked. */
  token_hash: string | null;
  token_issued_date: string | null;
  created_by_id: number | null;
  modified_by_id: number | null;
  created_date: string;
  modified_date: string;
}

/** Per connection and user: the SCIM attributes the directory has no field for, as sent. */
export interface ScimUserAttributesTable {
  connection_id: number;
  dev_user_id: number;
  org_id: number;
  /** JSON text: an object. */
  attributes: string;
}

export interface Database {
  orgs: OrgsTable;
  dev_users: DevUsersTable;
  dev_user_phone_numbers: DevUserPhoneNumbersTable;
  external_identities: ExternalIdentitiesTable;
  signing_keys: SigningKeysTable;
  journal: JournalTable;
  journal_heads: JournalHeadsTable;
  webhooks: WebhooksTable;
  auth_tokens: AuthTokensTable;
  delivery_cursors: DeliveryCursorsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  scim_connections: ScimConnectionsTable;
  scim_user_attributes: ScimUserAttributesTable;
}

export type OrgRow = Selectable<OrgsTable>;
export type DevUserRow = Selectable<DevUsersTable>;
export type NewDevUser = Insertable<DevUsersTable>;
export type NewIdentity = Insertable<ExternalIdentitiesTable>;
export type DevUserPatch = Updateable<DevUsersTable>;
export type IdentityRow = Selectable<ExternalIdentitiesTable>;
export type SigningKeyRow = Selectable<SigningKeysTable>;
export type JournalRow = Selectable<JournalTable>;
export type WebhookRow = Selectable<WebhooksTable>;
export type AuthTokenRow = Selectable<AuthTokensTable>;
export type NewAuthToken = Insertable<AuthTokensTable>;
export type WebhookPatch = Updateable<WebhooksTable>;
export type DeliveryRow = Selectable<WebhookDeliveriesTable>;
export type ScimConnectionRow = Selectable<ScimConnectionsTable>;
export type ScimConnectionPatch = Updateable<ScimConnectionsTable>;
export type NewJournalEntry = Omit<Insertable<JournalTable>, "seq">;

/** Job history as stored: enum fields as their ids. */
export interface StoredJobHistoryItem {
  employment_status?: number;
  end_date?: string;
  is_current?: boolean;
  location?: string;
  start_date?: string;
  title?: string;
}

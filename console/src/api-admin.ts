// The operations behind the webhooks, tokens and audit-log pages, typed as the service answers
// them. They go through `call` like every other request, so failures become sentences the same way.
import { type AuditEntry, call, type UserSummary } from "./api";

export type { AuditEntry };

/** The events this service sends (a subscription to any other type never fires). */
export const EVENT_TYPES = [
  "dev_user_created",
  "dev_user_updated",
  "dev_user_deleted",
  "webhook_created",
  "webhook_updated",
  "webhook_deleted",
] as const;

export interface Webhook {
  id: string;
  url: string;
  status: string;
  secret: string;
  event_types?: string[];
  created_date?: string;
  created_by?: UserSummary;
}

export interface Delivery {
  event_id: string;
  type: string;
  state: string;
  attempts: number;
  created_date: string;
  next_attempt_date?: string;
  delivered_date?: string;
  last_status?: number;
  last_error?: string;
  last_latency_ms?: number;
}

export interface DeliveryPage {
  deliveries: Delivery[];
  next_cursor?: string;
  health: { consecutive_failures: number; failing_since?: string; last_error?: string };
}

export const webhooksApi = {
  list: () => call<{ webhooks: Webhook[] }>("webhooks.list").then((r) => r.webhooks),
  get: (id: string) => call<{ webhook: Webhook }>("webhooks.get", { id }).then((r) => r.webhook),
  create: (url: string, eventTypes: string[]) =>
    call<{ webhook: Webhook }>("webhooks.create", { url, event_types: eventTypes }).then((r) => r.webhook),
  setActive: (id: string, active: boolean) =>
    call<{ webhook: Webhook }>("webhooks.update", { id, action: active ? "activate" : "deactivate" }).then(
      (r) => r.webhook,
    ),
  remove: (id: string) => call<object>("webhooks.delete", { id }),
  deliveries: (webhook: string, cursor?: string) =>
    call<DeliveryPage>("webhooks.deliveries.list", { webhook, limit: 25, ...(cursor ? { cursor } : {}) }),
  redeliver: (webhook: string, eventId: string) =>
    call<{ redelivered: number }>("webhooks.deliveries.redeliver", { webhook, event_id: eventId }).then(
      (r) => r.redelivered,
    ),
};

export const PAT = "urn:devrev:params:oauth:token-type:pat";

/** Scopes a token may be narrowed to; the admin-only ones are refused to members by the service. */
export const SCOPES: { name: string; label: string; adminOnly?: boolean }[] = [
  { name: "directory:read", label: "Read the directory" },
  { name: "users:write", label: "Change users" },
  { name: "identities:write", label: "Link and unlink identities" },
  { name: "tokens:manage", label: "Manage tokens" },
  { name: "webhooks:manage", label: "Manage webhooks", adminOnly: true },
  { name: "audit:read", label: "Read the audit log", adminOnly: true },
  { name: "scim:manage", label: "Manage SCIM connections", adminOnly: true },
];

export interface AuthToken {
  id: string;
  status?: string;
  scopes?: string[];
  token_hint?: string;
  issued_at?: string;
  expires_at?: string;
  requested_token_type?: string;
}

export const tokensApi = {
  list: () => call<{ tokens: AuthToken[] }>("auth-tokens.list", { requested_token_type: PAT }).then((r) => r.tokens),
  create: (input: { scopes: string[]; hint?: string; days: number }) =>
    call<{ access_token: string; expires_in: number }>("auth-tokens.create", {
      requested_token_type: PAT,
      expires_in: input.days,
      ...(input.scopes.length > 0 ? { scope: input.scopes.join(" ") } : {}),
      ...(input.hint ? { token_hint: input.hint } : {}),
    }),
  revoke: (tokenId: string) => call<object>("auth-tokens.delete", { token_id: tokenId }),
};

export interface ScimConnection {
  id: string;
  issuer: string;
  default_role: string;
  enabled: boolean;
  token_status: string;
  token_issued_date?: string;
  created_date: string;
}

interface WithToken {
  scim_connection: ScimConnection;
  token?: string;
}

export const scimApi = {
  list: () => call<{ scim_connections: ScimConnection[] }>("scim-connections.list").then((r) => r.scim_connections),
  create: (issuer: string, defaultRole: string) =>
    call<WithToken>("scim-connections.create", { issuer, default_role: defaultRole }),
  setEnabled: (id: string, enabled: boolean) => call<WithToken>("scim-connections.update", { id, enabled }),
  rotate: (id: string) => call<WithToken>("scim-connections.update", { id, rotate_token: true }),
};

export const OPERATIONS = [
  "dev_users.create",
  "dev_users.update",
  "dev_users.self.update",
  "dev_users.activate",
  "dev_users.deactivate",
  "dev_users.merge",
  "dev_users.identities.link",
  "dev_users.identities.unlink",
  "dev_users.role.set",
  "dev_users.scim.create",
  "dev_users.scim.update",
  "dev_users.scim.delete",
  "auth_tokens.create",
  "auth_tokens.update",
  "auth_tokens.delete",
  "directory.load",
  "directory.reset",
  "webhooks.create",
  "webhooks.update",
  "webhooks.delete",
  "webhooks.verify",
  "webhooks.redeliver",
  "scim_connections.create",
  "scim_connections.update",
  "scim_connections.delete",
];

export interface AuditFilters {
  actor?: string;
  operation?: string;
  object?: string;
  /** Date-times, inclusive. */
  from?: string;
  to?: string;
}

export interface AuditPage {
  audit_logs: AuditEntry[];
  next_cursor?: string;
  prev_cursor?: string;
}

export const auditApi = {
  list: (f: AuditFilters, cursor?: { cursor: string; mode: "after" | "before" }) =>
    call<AuditPage>("audit-logs.list", {
      limit: 25,
      ...(f.actor ? { actor: f.actor } : {}),
      ...(f.object ? { object: f.object } : {}),
      ...(f.operation ? { operation: [f.operation] } : {}),
      ...(f.from ? { from: f.from } : {}),
      ...(f.to ? { to: f.to } : {}),
      ...cursor,
    }),
};

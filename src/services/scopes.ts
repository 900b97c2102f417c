// Token scopes: least privilege on top of the user's role. A token without scopes has its user's
// full rights; a scoped one may call only the operations its scopes name, and never more than
// its user's role allows (the role is read on every request, so a demotion ends admin rights at
// once on every token). Each route names the one scope it needs (`config.scope`).
import { ApiError, assertThat, forbidden } from "../errors.js";

export const SCOPES = {
  "directory:read": "read dev users and their identities: dev-users.get, .list, .self",
  "users:write": "dev-users.create, .update, .self.update, .activate, .deactivate, .merge",
  "identities:write": "dev-users.identities.link and .unlink",
  "webhooks:manage": "webhooks.* and their delivery log (admins)",
  "audit:read": "audit-logs.list and .fetch (admins)",
  "tokens:manage": "auth-tokens.create, .list, .get, .update, .delete of another token, .self.delete",
  "scim:manage": "scim-connections.* (admins)",
} as const;

export type Scope = keyof typeof SCOPES;
export const SCOPE_NAMES = Object.keys(SCOPES) as Scope[];
/** Scopes only an admin's token may carry: every operation they open is admin-only. */
const ADMIN_SCOPES: ReadonlySet<Scope> = new Set(["webhooks:manage", "audit:read", "scim:manage"]);

const isScope = (s: string): s is Scope => Object.hasOwn(SCOPES, s);

/** Parsed once per distinct value: authentication asks on every request. */
const parsed = new Map<string, ReadonlySet<Scope>>();

/** A token's stored scopes (space-separated, or null) as a set; undefined for full rights. */
export function scopeSet(stored: string | null): ReadonlySet<Scope> | undefined {
  if (stored === null) return undefined;
  let set = parsed.get(stored);
  if (!set) {
    set = new Set(stored.split(" ").filter(isScope));
    if (parsed.size < 1024) parsed.set(stored, set);
  }
  return set;
}

/**
 * `scope` as asked for on create, checked against the scopes' table, the subject's role, and
 * the scopes of the token asking (a scoped token cannot mint a broader one). Returns the stored
 * form: sorted and space-separated, or null for full rights.
 */
export function requestedScopes(
  raw: string | undefined,
  role: "admin" | "member",
  callerScopes: ReadonlySet<Scope> | undefined,
): string | null {
  if (raw === undefined || raw.trim() === "") {
    // A scoped token's new token is scoped as narrowly as itself, and a member's never carries
    // an admin's scope (an admin's scoped token acting as a member).
    if (!callerScopes) return null;
    return [...callerScopes]
      .filter((s) => role === "admin" || !ADMIN_SCOPES.has(s))
      .sort()
      .join(" ");
  }
  const asked = [...new Set(raw.trim().split(/\s+/))];
  for (const s of asked) {
    assertThat(
      isScope(s),
      () =>
        new ApiError("invalid_enum_value", `scope: "${s}" is not one of ${SCOPE_NAMES.join(", ")}`, {
          field_name: "scope",
          allowed_values: SCOPE_NAMES,
          value: s,
        }),
    );
    assertThat(role === "admin" || !ADMIN_SCOPES.has(s), () =>
      forbidden(`the scope ${s} needs the admin role, and the token's user is a member`),
    );
    assertThat(!callerScopes || callerScopes.has(s), () =>
      forbidden(`a token cannot grant the scope ${s}, which the token making it lacks`),
    );
  }
  return asked.sort().join(" ");
}

/** Refuses a call that needs `scope` from a token whose scopes lack it. */
export function requireScope(scopes: ReadonlySet<Scope> | undefined, scope: Scope): void {
  assertThat(!scopes || scopes.has(scope), () =>
    forbidden(`this token lacks the scope ${scope}, which this operation needs`),
  );
}

/**
 * What an operation needs: a scope; "full" for one no scoped token may call; null where the service
 * decides (auth-tokens.*: whether a scope is needed depends on which token the call names); or
 * "scim" for SCIM's own (/scim/v2), which take a SCIM connection's token and no API token at all.
 */
export type OperationScope = Scope | "full" | "scim" | null;

/** The scope each authenticated operation needs. An operation missing here cannot be registered (app.ts). */
export const OPERATION_SCOPES: Record<string, OperationScope> = {
  "dev-users-get": "directory:read",
  "dev-users-get-post": "directory:read",
  "dev-users-list": "directory:read",
  "dev-users-list-post": "directory:read",
  "dev-users-self": "directory:read",
  "dev-users-self-post": "directory:read",
  "dev-users-create": "users:write",
  "dev-users-update": "users:write",
  "dev-users-self-update": "users:write",
  "dev-users-activate": "users:write",
  "dev-users-deactivate": "users:write",
  "dev-users-merge": "users:write",
  "dev-users-identities-link": "identities:write",
  "dev-users-identities-unlink": "identities:write",
  "webhooks-create": "webhooks:manage",
  "webhooks-get": "webhooks:manage",
  "webhooks-get-post": "webhooks:manage",
  "webhooks-list": "webhooks:manage",
  "webhooks-list-post": "webhooks:manage",
  "webhooks-update": "webhooks:manage",
  "webhooks-delete": "webhooks:manage",
  "webhooks-deliveries-list": "webhooks:manage",
  "webhooks-deliveries-list-post": "webhooks:manage",
  "webhooks-deliveries-redeliver": "webhooks:manage",
  "audit-logs-list": "audit:read",
  "audit-logs-list-post": "audit:read",
  "export-audit-logs": "audit:read",
  "auth-tokens-create": null,
  "auth-tokens-get": null,
  "auth-tokens-get-post": null,
  "auth-tokens-list": null,
  "auth-tokens-list-post": null,
  "auth-tokens-info": null,
  "auth-tokens-info-post": null,
  "auth-tokens-update": null,
  "auth-tokens-delete": null,
  "auth-tokens-self-delete": null,
  "devusers-reset": "full",
  "scim-connections-create": "scim:manage",
  "scim-connections-get": "scim:manage",
  "scim-connections-get-post": "scim:manage",
  "scim-connections-list": "scim:manage",
  "scim-connections-list-post": "scim:manage",
  "scim-connections-update": "scim:manage",
  "scim-connections-delete": "scim:manage",
  // SCIM (/scim/v2): one route for the whole prefix (src/scim/routes.ts).
  scim: "scim",
};

/** Refuses a call to `operation` that the token's scopes do not open. */
export function requireOperationScope(scopes: ReadonlySet<Scope> | undefined, need: OperationScope): void {
  // A SCIM route never authenticates an API token (app.ts); refused here too, whatever the token.
  if (need === "scim") throw forbidden("API tokens do not work under /scim/v2");
  if (!scopes || need === null) return;
  if (need === "full") throw forbidden("this operation needs a token without scopes (the user's full rights)");
  requireScope(scopes, need);
}

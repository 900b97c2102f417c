// SCIM connections: one per identity provider, made by an org's admin through the API
// (scim-connections.*) or the CLI (devusers scim ...). A connection's bearer token is shown once,
// when made, and kept only as its SHA-256; it opens /scim/v2 of the connection's org and nothing
// else, and no API token opens /scim/v2 (app.ts). A revoked token, a disabled or a deleted
// connection is refused from the next request on: every SCIM request reads its connection's row.
import type { Kysely } from "kysely";
import { findDevUsers } from "../db/repositories/dev-users.js";
import { findOrgBySlug } from "../db/repositories/orgs.js";
import {
  deleteScimConnection,
  findScimConnectionByIssuer,
  findScimConnectionByNumber,
  insertScimConnection,
  listScimConnections,
  updateScimConnection,
} from "../db/repositories/scim-connections.js";
import type { Database, ScimConnectionPatch, ScimConnectionRow } from "../db/types.js";
import { ApiError, assertThat, notFound, valueNotPermitted } from "../errors.js";
import { AdminError } from "./admin.js";
import type { Caller, Deps } from "./context.js";
import { type Context, contextOf, type Journal, journalled } from "./journal.js";
import { toUserSummary } from "./mapper.js";
import { requireAdmin } from "./policy.js";
import { hashScimToken, newScimToken as newToken } from "./scim-auth.js";
import type { UserSummary } from "./wire.js";

/** Each connection's users are read by every list and get of it: bounded per org, like webhooks. */
export const MAX_SCIM_CONNECTIONS_PER_ORG = 20;
export const MAX_ISSUER_LENGTH = 128;

export const scimConnectionDon = (org: string, n: number) => `don:identity:dvrv-us-1:devo/${org}:scim_connection/${n}`;
export const SCIM_CONNECTION_DON_RE =
  /^don:identity:dvrv-us-1:devo\/([A-Za-z0-9_-]+):scim_connection\/([1-9][0-9]{0,14})$/;

/** The number a connection DON names in the caller's org; another org's DON names nothing here. */
export function parseScimConnectionId(value: string, field: string, org: string): number {
  const m = SCIM_CONNECTION_DON_RE.exec(value);
  assertThat(m, () => new ApiError("invalid_id", `${field}: not a SCIM connection id`, { field_name: field }));
  assertThat(m[1] === org, () => notFound("SCIM connection"));
  return Number(m[2]);
}

export interface WireScimConnection {
  id: string;
  issuer: string;
  default_role: "admin" | "member";
  enabled: boolean;
  /** `active` while the connection holds a token, `revoked` once it was revoked without a new one. */
  token_status: "active" | "revoked";
  token_issued_date?: string;
  created_by?: UserSummary;
  created_date: string;
  modified_by?: UserSummary;
  modified_date: string;
}

export interface CreateScimConnectionInput {
  issuer: string;
  default_role?: "admin" | "member";
  enabled?: boolean;
}

export interface UpdateScimConnectionInput {
  id: string;
  default_role?: "admin" | "member";
  enabled?: boolean;
  /** A new token; the one before stops at once. */
  rotate_token?: boolean;
  /** No token at all until one is rotated in: every request of the provider is refused. */
  revoke_token?: boolean;
}

/** A connection and, when one was just made, its token: the only time it is shown. */
export interface ScimConnectionWithToken {
  scim_connection: WireScimConnection;
  token?: string;
}

/** Who manages an org's connections: an admin through the API, or the CLI. */
interface Manager {
  orgId: number;
  org: string;
  context: Context;
  /** The dev user making the change (a primary key), none for the CLI. */
  byId: number | null;
}

const managerOf = (caller: Caller): Manager => {
  requireAdmin(caller);
  return { orgId: caller.orgId, org: caller.org, context: contextOf(caller), byId: caller.userId };
};

async function toWire(db: Kysely<Database>, m: Manager, rows: ScimConnectionRow[]): Promise<WireScimConnection[]> {
  const ids = new Set<number>();
  for (const r of rows) for (const id of [r.created_by_id, r.modified_by_id]) if (id !== null) ids.add(id);
  const users = new Map((await findDevUsers(db, m.orgId, [...ids])).map((u) => [u.id, u]));
  const summary = (id: number | null) => {
    const u = id === null ? undefined : users.get(id);
    return u && toUserSummary(m.org, u);
  };
  return rows.map((r) => {
    const w: WireScimConnection = {
      id: scimConnectionDon(m.org, Number(r.number)),
      issuer: r.issuer,
      default_role: r.default_role === "admin" ? "admin" : "member",
      enabled: r.enabled === 1,
      token_status: r.token_hash === null ? "revoked" : "active",
      created_date: r.created_date,
      modified_date: r.modified_date,
    };
    if (r.token_issued_date !== null) w.token_issued_date = r.token_issued_date;
    const createdBy = summary(r.created_by_id);
    const modifiedBy = summary(r.modified_by_id);
    if (createdBy) w.created_by = createdBy;
    if (modifiedBy) w.modified_by = modifiedBy;
    return w;
  });
}

const toWireOne = async (db: Kysely<Database>, m: Manager, row: ScimConnectionRow) => (await toWire(db, m, [row]))[0]!;

function checkIssuer(raw: string): string {
  const issuer = raw.trim();
  assertThat(issuer !== "", () => valueNotPermitted("issuer", "must not be empty"));
  assertThat(issuer.length <= MAX_ISSUER_LENGTH, () =>
    valueNotPermitted("issuer", `must be at most ${MAX_ISSUER_LENGTH} characters`),
  );
  return issuer;
}

async function create(deps: Deps, m: Manager, input: CreateScimConnectionInput): Promise<ScimConnectionWithToken> {
  const issuer = checkIssuer(input.issuer);
  const token = newToken();
  return journalled(deps, m.context, async (trx, journal) => {
    const now = deps.now();
    assertThat((await listScimConnections(trx, m.orgId)).length < MAX_SCIM_CONNECTIONS_PER_ORG, () =>
      valueNotPermitted("issuer", `an org has at most ${MAX_SCIM_CONNECTIONS_PER_ORG} SCIM connections`),
    );
    // Two connections of one issuer would provision each other's users.
    assertThat(
      !(await findScimConnectionByIssuer(trx, m.orgId, issuer)),
      () => new ApiError("conflict", `the org already has a SCIM connection for issuer "${issuer}"`),
    );
    const row = await insertScimConnection(trx, {
      org_id: m.orgId,
      issuer,
      default_role: input.default_role ?? "member",
      enabled: input.enabled === false ? 0 : 1,
      token_hash: hashScimToken(token),
      token_issued_date: now,
      created_by_id: m.byId,
      modified_by_id: m.byId,
      created_date: now,
      modified_date: now,
    });
    const wire = await toWireOne(trx, m, row);
    await record(journal, "scim_connections.create", row, undefined, wire, { token: "issued" });
    return { scim_connection: wire, token };
  });
}

async function record(
  journal: Journal,
  operation: "scim_connections.create" | "scim_connections.update" | "scim_connections.delete",
  row: ScimConnectionRow,
  before: WireScimConnection | undefined,
  after: WireScimConnection | undefined,
  details?: Record<string, unknown>,
) {
  // The token itself is never recorded, nor its hash.
  await journal.record({
    operation,
    object: { type: "scim_connection", id: Number(row.number) },
    before,
    after,
    details,
  });
}

type Changes = Omit<UpdateScimConnectionInput, "id">;

async function update(
  deps: Deps,
  m: Manager,
  find: (trx: Kysely<Database>) => Promise<ScimConnectionRow | undefined>,
  changes: Changes,
): Promise<ScimConnectionWithToken> {
  assertThat(!(changes.rotate_token && changes.revoke_token), () =>
    valueNotPermitted("revoke_token", "give rotate_token or revoke_token, not both"),
  );
  const token = changes.rotate_token ? newToken() : undefined;
  return journalled(deps, m.context, async (trx, journal) => {
    const row = await find(trx);
    assertThat(row, () => notFound("SCIM connection"));
    const now = deps.now();
    const patch: ScimConnectionPatch = {};
    if (changes.default_role !== undefined && changes.default_role !== row.default_role)
      patch.default_role = changes.default_role;
    const enabled = changes.enabled === undefined ? undefined : changes.enabled ? 1 : 0;
    if (enabled !== undefined && enabled !== row.enabled) patch.enabled = enabled;
    let tokenChange: string | undefined;
    if (token !== undefined) {
      patch.token_hash = hashScimToken(token);
      patch.token_issued_date = now;
      tokenChange = row.token_hash === null ? "issued" : "rotated";
    } else if (changes.revoke_token && row.token_hash !== null) {
      patch.token_hash = null;
      patch.token_issued_date = null;
      tokenChange = "revoked";
    }
    if (Object.keys(patch).length === 0) {
      journal.unchanged();
      return { scim_connection: await toWireOne(trx, m, row) };
    }
    const after = await updateScimConnection(trx, row.id, { ...patch, modified_date: now, modified_by_id: m.byId });
    assertThat(after, () => notFound("SCIM connection"));
    const wire = await toWireOne(trx, m, after);
    const details = tokenChange === undefined ? undefined : { token: tokenChange };
    await record(journal, "scim_connections.update", after, await toWireOne(trx, m, row), wire, details);
    return token === undefined ? { scim_connection: wire } : { scim_connection: wire, token };
  });
}

async function remove(
  deps: Deps,
  m: Manager,
  find: (trx: Kysely<Database>) => Promise<ScimConnectionRow | undefined>,
): Promise<void> {
  await journalled(deps, m.context, async (trx, journal) => {
    const row = await find(trx);
    assertThat(row, () => notFound("SCIM connection"));
    const before = await toWireOne(trx, m, row);
    // Its users stay, with their identities from its issuer: they are the directory's now.
    await deleteScimConnection(trx, row.id);
    await record(journal, "scim_connections.delete", row, before, undefined);
  });
}

// ---- through the API ----------------------------------------------------------------------

const byId = (m: Manager, id: string) => (trx: Kysely<Database>) =>
  findScimConnectionByNumber(trx, m.orgId, parseScimConnectionId(id, "id", m.org));

export const createScimConnection = (deps: Deps, caller: Caller, input: CreateScimConnectionInput) =>
  create(deps, managerOf(caller), input);

export async function getScimConnection(deps: Deps, caller: Caller, id: string): Promise<WireScimConnection> {
  const m = managerOf(caller);
  const row = await byId(m, id)(deps.db.kysely);
  assertThat(row, () => notFound("SCIM connection"));
  return toWireOne(deps.db.kysely, m, row);
}

export async function listScimConnectionsOf(deps: Deps, caller: Caller): Promise<WireScimConnection[]> {
  const m = managerOf(caller);
  return toWire(deps.db.kysely, m, await listScimConnections(deps.db.kysely, m.orgId));
}

export function updateScimConnectionById(deps: Deps, caller: Caller, input: UpdateScimConnectionInput) {
  const m = managerOf(caller);
  const { id, ...changes } = input;
  return update(deps, m, byId(m, id), changes);
}

export function deleteScimConnectionById(deps: Deps, caller: Caller, id: string): Promise<void> {
  const m = managerOf(caller);
  return remove(deps, m, byId(m, id));
}

// ---- through the CLI, by org and issuer ---------------------------------------------------

/** The CLI's manager of an org's connections. */
async function cliManager(deps: Deps, org: string): Promise<Manager> {
  const row = await findOrgBySlug(deps.db.kysely, org);
  if (!row) throw new AdminError(`no org ${org}: give it its first admin with devusers token create first`);
  return { orgId: row.id, org, context: { actor: { type: "cli" }, orgId: row.id }, byId: null };
}

const byIssuer = (m: Manager, issuer: string) => (trx: Kysely<Database>) =>
  findScimConnectionByIssuer(trx, m.orgId, issuer);

export const cliScimConnections = {
  create: async (deps: Deps, org: string, input: CreateScimConnectionInput) =>
    create(deps, await cliManager(deps, org), input),
  list: async (deps: Deps, org: string) => {
    const m = await cliManager(deps, org);
    return toWire(deps.db.kysely, m, await listScimConnections(deps.db.kysely, m.orgId));
  },
  update: async (deps: Deps, org: string, issuer: string, changes: Changes) => {
    const m = await cliManager(deps, org);
    return update(deps, m, byIssuer(m, issuer), changes);
  },
  delete: async (deps: Deps, org: string, issuer: string) => {
    const m = await cliManager(deps, org);
    return remove(deps, m, byIssuer(m, issuer));
  },
};

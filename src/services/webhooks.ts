// DevRev's webhooks.* operations: admin-only, within the caller's org, every change journalled.
// What a webhook receives, and when, is the delivery worker's (src/delivery).
import { randomBytes } from "node:crypto";
import type { Kysely } from "kysely";
import { findDevUsers } from "../db/repositories/dev-users.js";
import { findOrgById } from "../db/repositories/orgs.js";
import {
  deleteWebhook,
  findWebhook,
  findWebhookByNumber,
  insertWebhook,
  listWebhooks,
  updateWebhook,
} from "../db/repositories/webhooks.js";
import type { Database, WebhookPatch, WebhookRow } from "../db/types.js";
import { ApiError, assertThat, notFound, valueNotPermitted } from "../errors.js";
import type { Caller, Deps } from "./context.js";
import { type Journal, journalled } from "./journal.js";
import { toUserSummary } from "./mapper.js";
import { requireAdmin } from "./policy.js";
import { checkWebhookUrl } from "./webhook-url.js";
import type { UserSummary } from "./wire.js";

export interface WebhookHeader {
  name: string;
  value: string;
}

export interface WireWebhook {
  id: string;
  created_by?: UserSummary;
  created_date: string;
  modified_by?: UserSummary;
  modified_date: string;
  event_types: string[];
  headers: WebhookHeader[];
  secret: string;
  status: string;
  url: string;
}

export interface CreateWebhookInput {
  url: string;
  secret?: string;
  event_types?: string[];
  headers?: WebhookHeader[];
}

export interface UpdateWebhookInput {
  id: string;
  action?: "activate" | "deactivate";
  url?: string;
  secret?: string;
  event_types?: { add?: string[]; remove?: string[]; set?: string[] };
  headers?: { add?: WebhookHeader[]; remove?: string[]; set?: WebhookHeader[] };
}

/** How long an endpoint has to answer the verify event (DevRev: 3 minutes from the create). */
export const VERIFY_WINDOW_MS = 3 * 60_000;
const MAX_HEADERS = 8;
export const MAX_WEBHOOKS_PER_ORG = 100;
const HEADER_NAME_RE = /^[A-Za-z0-9_-]{1,64}$/;
/** Headers every delivery sets itself: a webhook's own headers may not replace them. */
const RESERVED_HEADERS = new Set(["content-type", "content-length", "host", "x-devrev-signature", "user-agent"]);

export const webhookDon = (org: string, n: number) => `don:integration:dvrv-us-1:devo/${org}:webhook/${n}`;
const WEBHOOK_DON_RE = /^don:integration:dvrv-us-1:devo\/([A-Za-z0-9_-]+):webhook\/([1-9][0-9]{0,14})$/;

/** The number a webhook DON names in the caller's org; another org's DON names nothing here. */
export function parseWebhookId(value: string, field: string, org: string): number {
  const m = WEBHOOK_DON_RE.exec(value);
  assertThat(m, () => new ApiError("invalid_id", `${field}: not a webhook id`, { field_name: field }));
  assertThat(m[1] === org, () => notFound("webhook"));
  return Number(m[2]);
}

/** A secret as the API takes it: base64 of 8 to 32 bytes. */
function checkSecret(secret: string): string {
  const bad = () => valueNotPermitted("secret", "must be base64 of 8 to 32 bytes");
  assertThat(/^[A-Za-z0-9+/]*={0,2}$/.test(secret) && secret.length % 4 === 0, bad);
  const bytes = Buffer.from(secret, "base64");
  assertThat(bytes.length >= 8 && bytes.length <= 32 && bytes.toString("base64") === secret, bad);
  return secret;
}

const newSecret = () => randomBytes(32).toString("base64");

function checkHeaders(headers: WebhookHeader[], field: string): WebhookHeader[] {
  assertThat(headers.length <= MAX_HEADERS, valueNotPermitted(field, `at most ${MAX_HEADERS} headers`));
  const seen = new Set<string>();
  for (const h of headers) {
    const name = h.name.toLowerCase();
    assertThat(HEADER_NAME_RE.test(h.name), () =>
      valueNotPermitted(field, `"${h.name}": a header name is letters, digits, - and _`),
    );
    assertThat(!RESERVED_HEADERS.has(name), () => valueNotPermitted(field, `"${h.name}" is set by every delivery`));
    // What HTTP carries as is: visible ASCII, spaces and tabs (Node refuses anything else at send).
    assertThat(/^[\t\x20-\x7e]{0,1024}$/.test(h.value), () =>
      valueNotPermitted(field, `"${h.name}": the value must be at most 1024 visible ASCII characters`),
    );
    assertThat(!seen.has(name), () => valueNotPermitted(field, `"${h.name}" is given twice`));
    seen.add(name);
  }
  return headers;
}

const unique = (types: string[]) => [...new Set(types)];

/** The API form of webhooks, with the users who made and last changed them. */
async function toWire(db: Kysely<Database>, caller: Caller, rows: WebhookRow[]): Promise<WireWebhook[]> {
  const ids = new Set<number>();
  for (const r of rows) {
    if (r.created_by_id !== null) ids.add(r.created_by_id);
    if (r.modified_by_id !== null) ids.add(r.modified_by_id);
  }
  const users = new Map((await findDevUsers(db, caller.orgId, [...ids])).map((u) => [u.id, u]));
  const summary = (id: number | null) => {
    const u = id === null ? undefined : users.get(id);
    return u && toUserSummary(caller.org, u);
  };
  return rows.map((r) => {
    const w: WireWebhook = {
      id: webhookDon(caller.org, Number(r.number)),
      created_date: r.created_date,
      modified_date: r.modified_date,
      event_types: JSON.parse(r.event_types) as string[],
      headers: JSON.parse(r.headers) as WebhookHeader[],
      secret: r.secret,
      status: r.status,
      url: r.url,
    };
    const createdBy = summary(r.created_by_id);
    const modifiedBy = summary(r.modified_by_id);
    if (createdBy) w.created_by = createdBy;
    if (modifiedBy) w.modified_by = modifiedBy;
    return w;
  });
}

const toWireOne = async (db: Kysely<Database>, caller: Caller, row: WebhookRow) =>
  (await toWire(db, caller, [row]))[0]!;

/**
 * A webhook as the journal (and so the audit log and other webhooks' events) sees it: no secret,
 * header names without their values, and the URL without its query (often a credential).
 */
export function withoutSecrets({ secret: _secret, ...rest }: WireWebhook) {
  const url = new URL(rest.url);
  url.search = "";
  return { ...rest, url: url.toString(), headers: rest.headers.map((h) => ({ name: h.name, value: "" })) };
}

async function record(
  journal: Journal,
  operation: "webhooks.create" | "webhooks.update" | "webhooks.delete",
  row: WebhookRow,
  before: WireWebhook | undefined,
  after: WireWebhook | undefined,
) {
  await journal.record({
    operation,
    object: { type: "webhook", id: Number(row.number) },
    before: before && withoutSecrets(before),
    after: after && withoutSecrets(after),
  });
}

export async function createWebhook(deps: Deps, caller: Caller, input: CreateWebhookInput): Promise<WireWebhook> {
  requireAdmin(caller);
  const url = checkWebhookUrl(input.url, "url", deps.allowPrivateWebhookTargets ?? false);
  const secret = input.secret === undefined || input.secret === "" ? newSecret() : checkSecret(input.secret);
  const headers = checkHeaders(input.headers ?? [], "headers");
  return journalled(deps, caller, async (trx, journal) => {
    const now = deps.now();
    // Each webhook costs every delivery round a handshake or a fan-out: bounded per org.
    assertThat((await listWebhooks(trx, caller.orgId)).length < MAX_WEBHOOKS_PER_ORG, () =>
      valueNotPermitted("url", `an org has at most ${MAX_WEBHOOKS_PER_ORG} webhooks; delete one first`),
    );
    const row = await insertWebhook(trx, {
      org_id: caller.orgId,
      url,
      secret,
      status: "unverified",
      event_types: JSON.stringify(unique(input.event_types ?? [])),
      headers: JSON.stringify(headers),
      created_by_id: caller.userId,
      modified_by_id: caller.userId,
      created_date: now,
      modified_date: now,
      verify_challenge: newChallenge(),
      verify_deadline: new Date(Date.parse(now) + VERIFY_WINDOW_MS).toISOString(),
    });
    const wire = await toWireOne(trx, caller, row);
    await record(journal, "webhooks.create", row, undefined, wire);
    return wire;
  });
}

export const newChallenge = () => randomBytes(24).toString("base64");

async function load(trx: Kysely<Database>, caller: Caller, id: string): Promise<WebhookRow> {
  const row = await findWebhookByNumber(trx, caller.orgId, parseWebhookId(id, "id", caller.org));
  assertThat(row, () => notFound("webhook"));
  return row;
}

export async function getWebhook(deps: Deps, caller: Caller, id: string): Promise<WireWebhook> {
  requireAdmin(caller);
  return toWireOne(deps.db.kysely, caller, await load(deps.db.kysely, caller, id));
}

export async function listOrgWebhooks(deps: Deps, caller: Caller): Promise<WireWebhook[]> {
  requireAdmin(caller);
  return toWire(deps.db.kysely, caller, await listWebhooks(deps.db.kysely, caller.orgId));
}

/** `add` and `remove`, or `set` alone, as DevRev's update takes them. */
function assertSetAlone(change: { add?: unknown; remove?: unknown; set?: unknown }, field: string): void {
  assertThat(
    change.set === undefined || (change.add === undefined && change.remove === undefined),
    valueNotPermitted(field, "set cannot be given with add or remove"),
  );
}

function changedEventTypes(current: string[], change: UpdateWebhookInput["event_types"]): string[] | undefined {
  if (!change) return undefined;
  assertSetAlone(change, "event_types");
  const { add, remove, set } = change;
  if (set !== undefined) return unique(set);
  const removed = new Set(remove ?? []);
  return unique([...current, ...(add ?? [])]).filter((t) => !removed.has(t));
}

function changedHeaders(current: WebhookHeader[], change: UpdateWebhookInput["headers"]): WebhookHeader[] | undefined {
  if (!change) return undefined;
  assertSetAlone(change, "headers");
  const { add, remove, set } = change;
  if (set !== undefined) return checkHeaders(set, "headers");
  const removed = new Set([...(remove ?? []), ...(add ?? []).map((h) => h.name)].map((n) => n.toLowerCase()));
  return checkHeaders([...current.filter((h) => !removed.has(h.name.toLowerCase())), ...(add ?? [])], "headers");
}

export async function updateWebhookById(deps: Deps, caller: Caller, input: UpdateWebhookInput): Promise<WireWebhook> {
  requireAdmin(caller);
  const url =
    input.url === undefined ? undefined : checkWebhookUrl(input.url, "url", deps.allowPrivateWebhookTargets ?? false);
  // An empty secret asks for a new one (DevRev's update).
  const secret = input.secret === undefined ? undefined : input.secret === "" ? newSecret() : checkSecret(input.secret);
  return journalled(deps, caller, async (trx, journal) => {
    const row = await load(trx, caller, input.id);
    const now = deps.now();
    const patch: WebhookPatch = { modified_date: now, modified_by_id: caller.userId };
    if (url !== undefined) patch.url = url;
    if (secret !== undefined) patch.secret = secret;
    const types = changedEventTypes(JSON.parse(row.event_types) as string[], input.event_types);
    if (types) patch.event_types = JSON.stringify(types);
    const headers = changedHeaders(JSON.parse(row.headers) as WebhookHeader[], input.headers);
    if (headers) patch.headers = JSON.stringify(headers);
    // Deactivated, it receives nothing until activated again. Activated, or given a new URL or
    // secret while active, it must pass the verify handshake again before object events resume.
    let status = row.status;
    let handshake = false;
    if (input.action === "deactivate") status = "inactive";
    else if (input.action === "activate" && status !== "active") {
      status = "unverified";
      handshake = true;
    }
    const newTarget = (url !== undefined && url !== row.url) || secret !== undefined;
    if (newTarget && status !== "inactive") {
      status = "unverified";
      handshake = true;
    }
    if (status !== row.status) patch.status = status;
    if (handshake) {
      patch.verify_challenge = newChallenge();
      patch.verify_deadline = new Date(Date.parse(now) + VERIFY_WINDOW_MS).toISOString();
    }
    if (status === "inactive") {
      patch.verify_challenge = null;
      patch.verify_deadline = null;
    }
    const updated = await updateWebhook(trx, row.id, patch);
    assertThat(updated, () => notFound("webhook"));
    const after = await toWireOne(trx, caller, updated);
    await record(journal, "webhooks.update", updated, await toWireOne(trx, caller, row), after);
    return after;
  });
}

export async function deleteWebhookById(deps: Deps, caller: Caller, id: string): Promise<void> {
  requireAdmin(caller);
  await journalled(deps, caller, async (trx, journal) => {
    const row = await load(trx, caller, id);
    const before = await toWireOne(trx, caller, row);
    await deleteWebhook(trx, row.id);
    await record(journal, "webhooks.delete", row, before, undefined);
  });
}

/**
 * The verify handshake succeeded: an unverified webhook whose challenge is still this one turns
 * active. Journalled as the service's own change.
 */
export async function markVerified(deps: Deps, webhookId: number, challenge: string): Promise<void> {
  await journalled(deps, { actor: { type: "system" } }, async (trx, journal) => {
    const row = await findWebhook(trx, webhookId);
    if (row?.status !== "unverified" || row.verify_challenge !== challenge) return journal.unchanged();
    const org = await findOrgById(trx, row.org_id);
    if (!org) return journal.unchanged();
    const caller: Caller = { userId: 0, orgId: row.org_id, org: org.slug, role: "admin" };
    const updated = await updateWebhook(trx, row.id, {
      status: "active",
      verify_challenge: null,
      verify_deadline: null,
      // The receiver just answered: a pause from before is over.
      paused_until: null,
      modified_date: deps.now(),
    });
    if (!updated) return journal.unchanged();
    await journal.record({
      operation: "webhooks.verify",
      orgId: row.org_id,
      object: { type: "webhook", id: Number(row.number) },
      before: withoutSecrets(await toWireOne(trx, caller, row)),
      after: withoutSecrets(await toWireOne(trx, caller, updated)),
    });
  });
}

// DevRev's auth-tokens.* operations: personal tokens a user mints, sees and revokes, act-as tokens
// an admin mints for another user, and scopes that narrow any of them (services/scopes.ts). The
// secret is returned by create alone; every change is journalled with the token's id.
import type { Kysely } from "kysely";
import {
  countLiveAuthTokens,
  deleteDeadAuthTokens,
  findAuthToken,
  liveAuthTokens,
  updateAuthToken,
} from "../db/repositories/auth-tokens.js";
import { findDevUserByNumber, lockDevUserByNumber } from "../db/repositories/dev-users.js";
import type { AuthTokenRow, Database } from "../db/types.js";
import { ApiError, assertThat, forbidden, notFound, valueNotPermitted } from "../errors.js";
import { devUserDisplayId, devUserDon, parseDevUserId } from "../ids.js";
import { TOKEN_ISSUER } from "./auth.js";
import type { Caller, CallerToken, Deps } from "./context.js";
import { type Journal, journalled } from "./journal.js";
import type { KeyRing } from "./keys.js";
import { requestedScopes, requireScope } from "./scopes.js";
import { EXCHANGE_GRANT, exchangeSigninToken } from "./token-exchange.js";
import {
  API_TOKEN_TYPES,
  DEVREV_TOKEN_TYPES,
  parseTokenDon,
  recordToken,
  TOKEN_TYPE_URN,
  type TokenType,
  tokenDon,
  toWireTokens,
  type WireAuthToken,
} from "./token-records.js";

export const DEFAULT_EXPIRES_DAYS = 30;
/** DevRev's own bound (its SDK documents 1825 days). */
export const MAX_EXPIRES_DAYS = 1825;
export const MAX_EXPIRES_MINUTES = 1440;
/**
 * Live (unrevoked, unexpired) personal tokens one user may hold through the API, and act-as
 * tokens one admin may have made: each is a row every list reads.
 */
export const MAX_LIVE_TOKENS = 50;
/** How long a revoked or expired token is still shown by get, before its row is forgotten. */
const KEEP_DEAD_DAYS = 30;
const GRANT_TYPES = ["urn:devrev:params:oauth:grant-type:token-issue", EXCHANGE_GRANT];
const SUPPORTED_TYPES = API_TOKEN_TYPES.map((t) => TOKEN_TYPE_URN[t]);

export interface CreateTokenInput {
  requested_token_type?: string;
  grant_type?: string;
  act_as?: string;
  expires_in?: number;
  expires_in_mins?: number;
  scope?: string;
  token_hint?: string;
  aud?: string[];
  client_id?: string;
  subject_token?: string;
  subject_token_type?: string;
  rev_info?: unknown;
}

export interface CreateTokenOutput {
  access_token: string;
  expires_in: number;
  token_type: "bearer";
  scope?: string;
}

const enumError = (field: string, value: string, allowed: string[]) =>
  new ApiError("invalid_enum_value", `${field}: "${value}" is not one of ${allowed.join(", ")}`, {
    field_name: field,
    allowed_values: allowed,
    value,
  });

function tokenType(raw: string | undefined, field: string): TokenType {
  assertThat(
    raw !== undefined,
    () => new ApiError("missing_required_field", `${field} is required`, { field_name: field }),
  );
  const found = API_TOKEN_TYPES.map((t) => [t, TOKEN_TYPE_URN[t]] as const).find(([, urn]) => urn === raw);
  if (!found) {
    // Application tokens would need service accounts, which this directory does not have.
    throw enumError(field, raw, SUPPORTED_TYPES);
  }
  return found[0];
}

function lifetimeSeconds(input: CreateTokenInput): number {
  const { expires_in: days, expires_in_mins: minutes } = input;
  assertThat(
    days === undefined || minutes === undefined,
    valueNotPermitted("expires_in_mins", "give expires_in (days) or expires_in_mins, not both"),
  );
  if (minutes !== undefined) {
    assertThat(
      minutes >= 1 && minutes <= MAX_EXPIRES_MINUTES,
      valueNotPermitted("expires_in_mins", `must be from 1 to ${MAX_EXPIRES_MINUTES} minutes`),
    );
    return minutes * 60;
  }
  const d = days ?? DEFAULT_EXPIRES_DAYS;
  assertThat(
    d >= 1 && d <= MAX_EXPIRES_DAYS,
    valueNotPermitted("expires_in", `must be from 1 to ${MAX_EXPIRES_DAYS} days`),
  );
  return d * 86_400;
}

/** Fields of DevRev's create that other token types and exchanges use: refused, never ignored. */
function refuseUnsupported(input: CreateTokenInput): void {
  if (input.grant_type !== undefined && !GRANT_TYPES.includes(input.grant_type))
    throw enumError("grant_type", input.grant_type, GRANT_TYPES);
  for (const field of ["subject_token", "subject_token_type", "rev_info", "client_id"] as const) {
    assertThat(
      input[field] === undefined,
      valueNotPermitted(field, "only personal and act-as tokens are issued here, which take no such field"),
    );
  }
  if (input.aud !== undefined)
    assertThat(
      input.aud.every((a) => a === TOKEN_ISSUER),
      valueNotPermitted("aud", `tokens from this service have the one audience "${TOKEN_ISSUER}"`),
    );
}

const callerToken = (caller: Caller): CallerToken => {
  assertThat(caller.token, () => forbidden("this operation needs a token"));
  return caller.token;
};

export async function createAuthToken(
  deps: Deps,
  keys: KeyRing,
  caller: Caller,
  input: CreateTokenInput,
): Promise<CreateTokenOutput> {
  const own = callerToken(caller);
  if (input.grant_type === EXCHANGE_GRANT || own.type === "session:onetime") {
    return exchangeSigninToken(deps, keys, caller, { ...input, ttlSeconds: lifetimeSeconds(input) });
  }
  requireScope(own.scopes, "tokens:manage");
  // An act-as token holds its maker's authority for one purpose; tokens it minted would hold it
  // out of the maker's sight, listed as the subject's own.
  assertThat(own.type !== "pat:act-as", () => forbidden("a token acting as another user cannot mint tokens"));
  refuseUnsupported(input);
  const type = tokenType(input.requested_token_type, "requested_token_type");
  const ttlSeconds = lifetimeSeconds(input);
  if (type === "pat") {
    assertThat(
      input.act_as === undefined,
      valueNotPermitted("act_as", `needs requested_token_type ${TOKEN_TYPE_URN["pat:act-as"]}`),
    );
  } else {
    assertThat(
      input.act_as !== undefined,
      () => new ApiError("missing_required_field", "act_as is required", { field_name: "act_as" }),
    );
    assertThat(caller.role === "admin", () => forbidden("only an admin may create a token that acts as another user"));
  }
  const maker = caller.row!;
  const subjectNumber = input.act_as === undefined ? maker.number : parseDevUserId(input.act_as, "act_as", caller.org);
  const signing = await keys.signingKey();
  const signer = { signingKey: async () => signing };
  const made = await journalled(deps, caller, async (trx, journal) => {
    // The cap is counted for whoever it bounds (the subject of personal tokens, the maker of
    // act-as ones), under that user's lock, so that concurrent creates count in turn.
    await lockDevUserByNumber(trx, caller.orgId, type === "pat" ? subjectNumber : maker.number);
    const subject = await findDevUserByNumber(trx, caller.orgId, subjectNumber);
    assertThat(subject, () => notFound("dev user"));
    assertThat(
      subject.state === "active",
      valueNotPermitted("act_as", `the user is ${subject.state}; only active users hold tokens`),
    );
    const role = subject.role === "admin" ? "admin" : "member";
    const scopes = requestedScopes(input.scope, role, own.scopes);
    const now = deps.now();
    const bounded = type === "pat" ? { subject: subject.number, type } : { createdBy: maker.number, type };
    const live = await countLiveAuthTokens(trx, caller.orgId, bounded, now);
    assertThat(live < MAX_LIVE_TOKENS, () =>
      type === "pat"
        ? new ApiError("bad_request", `a user holds at most ${MAX_LIVE_TOKENS} live personal tokens; revoke one first`)
        : new ApiError("bad_request", `an admin makes at most ${MAX_LIVE_TOKENS} live act-as tokens; revoke one first`),
    );
    const cutoff = new Date(Date.parse(now) - KEEP_DEAD_DAYS * 86_400_000).toISOString();
    await deleteDeadAuthTokens(trx, caller.orgId, subject.number, cutoff);
    return recordToken(
      trx,
      journal,
      signer,
      {
        orgId: caller.orgId,
        org: caller.org,
        subject,
        type,
        scopes,
        hint: input.token_hint,
        ttlSeconds,
        createdBy: { type: "dev_user", number: maker.number },
        makerGeneration: maker.token_generation,
      },
      now,
    );
  });
  const out: CreateTokenOutput = { access_token: made.token, expires_in: ttlSeconds, token_type: "bearer" };
  if (made.row.scopes !== null) out.scope = made.row.scopes;
  return out;
}

/**
 * A token of the caller's org that the caller may see: its own, or any as an admin. Anything
 * else is not found, whether it exists or not.
 */
async function visibleToken(db: Kysely<Database>, caller: Caller, id: string | undefined): Promise<AuthTokenRow> {
  const jti = id === undefined ? callerToken(caller).jti : jtiOf(id, caller.org);
  const row = await findAuthToken(db, caller.orgId, jti);
  assertThat(row && (caller.role === "admin" || Number(row.subject) === caller.row!.number), () => notFound("token"));
  return row;
}

function jtiOf(id: string, org: string): string {
  const parsed = parseTokenDon(id, org);
  if (parsed === "other_org") throw notFound("token");
  assertThat(
    parsed,
    () => new ApiError("invalid_id", `token_id: "${id}" is not a token id`, { field_name: "token_id" }),
  );
  return parsed.jti;
}

const isOwn = (caller: Caller, id: string | undefined) =>
  id === undefined || (caller.token !== undefined && id === tokenDon(caller.org, caller.token.jti));

async function wireOne(db: Kysely<Database>, caller: Caller, row: AuthTokenRow, now: string): Promise<WireAuthToken> {
  return (await toWireTokens(db, caller.orgId, caller.org, [row], now))[0]!;
}

export async function getAuthToken(deps: Deps, caller: Caller, id: string): Promise<WireAuthToken> {
  if (!isOwn(caller, id)) requireScope(callerToken(caller).scopes, "tokens:manage");
  const row = await visibleToken(deps.db.kysely, caller, id);
  return wireOne(deps.db.kysely, caller, row, deps.now());
}

export interface ListTokensInput {
  subject?: string;
  requested_token_type?: string;
  client_id?: string;
}

/**
 * A type a filter names: one issued here; "none" for one of DevRev's this service never issues
 * (which then matches nothing); anything else is refused.
 */
function filterType(raw: string | undefined): TokenType | "none" | undefined {
  if (raw === undefined) return undefined;
  if (!(SUPPORTED_TYPES as readonly string[]).includes(raw) && DEVREV_TOKEN_TYPES.includes(raw)) return "none";
  return tokenType(raw, "requested_token_type");
}

/**
 * The caller's live tokens, or `subject`'s for an admin. Asked for act-as tokens without a
 * subject, an admin gets those it made, whoever they act as.
 */
export async function listAuthTokens(deps: Deps, caller: Caller, input: ListTokensInput): Promise<WireAuthToken[]> {
  requireScope(callerToken(caller).scopes, "tokens:manage");
  const type = filterType(input.requested_token_type);
  const me = caller.row!.number;
  const subject = input.subject === undefined ? me : parseDevUserId(input.subject, "subject", caller.org);
  assertThat(subject === me || caller.role === "admin", () =>
    forbidden("only an admin may list another user's tokens"),
  );
  if (subject !== me)
    assertThat(await findDevUserByNumber(deps.db.kysely, caller.orgId, subject), () => notFound("dev user"));
  // No token here has a client_id (there are no application tokens): asking for one finds none.
  if (input.client_id !== undefined || type === "none") return [];
  const now = deps.now();
  const filter = type === "pat:act-as" && input.subject === undefined ? { createdBy: me, type } : { subject, type };
  const rows = await liveAuthTokens(deps.db.kysely, caller.orgId, filter, now);
  return toWireTokens(deps.db.kysely, caller.orgId, caller.org, rows, now);
}

export interface UpdateTokenInput {
  token_id: string;
  token_hint: string;
}

export async function updateAuthTokenHint(deps: Deps, caller: Caller, input: UpdateTokenInput): Promise<WireAuthToken> {
  requireScope(callerToken(caller).scopes, "tokens:manage");
  return journalled(deps, caller, async (trx, journal) => {
    const row = await visibleToken(trx, caller, input.token_id);
    const now = deps.now();
    const after = await updateAuthToken(trx, row.id, {
      token_hint: input.token_hint,
      modified_date: now,
      modified_by: caller.row!.number,
    });
    await journal.record({
      operation: "auth_tokens.update",
      object: { type: "dev_user", id: Number(row.subject) },
      details: {
        token_id: tokenDon(caller.org, row.jti),
        token_hint: { before: row.token_hint, after: input.token_hint },
      },
    });
    return wireOne(trx, caller, after, now);
  });
}

async function revoke(trx: Kysely<Database>, caller: Caller, journal: Journal, row: AuthTokenRow, now: string) {
  await updateAuthToken(trx, row.id, { revoked_at: now, modified_date: now, modified_by: caller.row!.number });
  await journal.record({
    operation: "auth_tokens.delete",
    object: { type: "dev_user", id: Number(row.subject) },
    details: { token_id: tokenDon(caller.org, row.jti) },
  });
}

/** Revokes one token: the calling one when `token_id` is absent. Revoking a revoked one is a no-op. */
export async function deleteAuthToken(deps: Deps, caller: Caller, input: { token_id?: string }): Promise<void> {
  if (!isOwn(caller, input.token_id)) requireScope(callerToken(caller).scopes, "tokens:manage");
  await journalled(deps, caller, async (trx, journal) => {
    const row = await visibleToken(trx, caller, input.token_id);
    if (row.revoked_at !== null) return journal.unchanged();
    await revoke(trx, caller, journal, row, deps.now());
  });
}

/**
 * Revokes every live token of one type (personal ones when not said) the caller made: its own
 * personal tokens (the CLI's among them), or the act-as tokens it made for others.
 */
export async function selfDeleteAuthTokens(
  deps: Deps,
  caller: Caller,
  input: { requested_token_type?: string },
): Promise<void> {
  requireScope(callerToken(caller).scopes, "tokens:manage");
  const type = filterType(input.requested_token_type ?? TOKEN_TYPE_URN.pat);
  await journalled(deps, caller, async (trx, journal) => {
    if (type === "none" || type === undefined) return journal.unchanged();
    const now = deps.now();
    const me = caller.row!.number;
    const filter = type === "pat" ? { subject: me, type } : { createdBy: me, type };
    const rows = await liveAuthTokens(trx, caller.orgId, filter, now);
    if (rows.length === 0) return journal.unchanged();
    for (const row of rows) await revoke(trx, caller, journal, row, now);
  });
}

export interface TokenInfo {
  organization: { id: string; display_id: string; slug: string };
  token: { expiry: number; issued_at: number; issuer: string; subject: string };
  user: { id: string; display_id: string; display_name: string; email: string; full_name?: string; type: "dev_user" };
}

/** What the calling token says, and who it names now. */
export function authTokenInfo(caller: Caller): TokenInfo {
  const token = callerToken(caller);
  const row = caller.row!;
  const user: TokenInfo["user"] = {
    id: devUserDon(caller.org, row.number),
    display_id: devUserDisplayId(row.number),
    display_name: row.display_name,
    email: row.email,
    type: "dev_user",
  };
  if (row.full_name) user.full_name = row.full_name;
  return {
    organization: { id: `don:identity:dvrv-us-1:devo/${caller.org}`, display_id: caller.org, slug: caller.org },
    token: { expiry: token.expiresAt, issued_at: token.issuedAt, issuer: TOKEN_ISSUER, subject: user.id },
    user,
  };
}

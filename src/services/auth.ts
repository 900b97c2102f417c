// Tokens: EdDSA JWTs this service signs. A token names a user and an org; the user's state and
// role are current on every request, so deactivation and role changes take effect at once: the
// row is read again, or reused only while the database reports no write since it was read.
import { randomUUID } from "node:crypto";
import { jwtVerify, SignJWT } from "jose";
import { type CallerExtra, findCallerWithToken, type TokenState } from "../db/repositories/auth-tokens.js";
import { findOrgBySlug } from "../db/repositories/orgs.js";
import type { IdentityRow } from "../db/types.js";
import { ApiError, assertThat, unauthenticated } from "../errors.js";
import { ORG_SLUG_RE } from "../ids.js";
import { type Caller, CallerMemo, type Deps } from "./context.js";
import { ALG, type KeyRing } from "./keys.js";
import { scopeSet } from "./scopes.js";
import { canonicalSegments, hasDuplicateKeys } from "./token-format.js";

export interface TokenClaims {
  /** The user's number in its org (what `DEVU-<n>` shows), never the database-wide key. */
  sub: number;
  org: string;
  exp: number;
  kid: string;
  /** The user's token generation when it was minted: a deactivation since ends the token. */
  gen: number;
  jti: string;
  iat: number;
}

/** How a SCIM connection's token starts (services/scim-connections.ts): it is no JWT. */
export const SCIM_TOKEN_PREFIX = "devusers_scim_";

/** Who makes the tokens, and for whom: every token this service mints names both, and must. */
export const TOKEN_ISSUER = "devusers";
export const TOKEN_AUDIENCE = "devusers";
/** The longest lifetime any token is minted with (ten years); a longer one was not made here. */
export const MAX_TOKEN_TTL_SECONDS = 3650 * 86_400;
/** How far ahead of our clock another instance's may run when it mints a token. */
export const CLOCK_SKEW_SECONDS = 60;

export async function mintToken(
  keys: Pick<KeyRing, "signingKey">,
  user: { number: number; token_generation: number },
  org: string,
  ttlSeconds: number,
  jti: string = randomUUID(),
  now = Math.floor(Date.now() / 1000),
): Promise<string> {
  const { kid, key } = await keys.signingKey();
  return new SignJWT({ org, gen: user.token_generation })
    .setProtectedHeader({ alg: ALG, kid, typ: "JWT" })
    .setIssuer(TOKEN_ISSUER)
    .setAudience(TOKEN_AUDIENCE)
    .setSubject(String(user.number))
    .setJti(jti)
    .setIssuedAt(now)
    .setExpirationTime(now + ttlSeconds)
    .sign(key);
}

/** Accepts `Bearer <t>` and a bare `<t>` (what DevRev's SDK sends). */
export function tokenFromHeader(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const trimmed = header.trim();
  const match = /^bearer\s+(.+)$/i.exec(trimmed);
  const token = (match ? match[1]! : trimmed).trim();
  return token === "" ? undefined : token;
}

/** Node keeps the first of several Authorization headers and drops the rest: refuse them instead. */
export function assertOneAuthorization(rawHeaders: string[]): void {
  let seen = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length === 13 && name.toLowerCase() === "authorization") seen++;
  }
  assertThat(seen <= 1, () => new ApiError("bad_request", "a request may carry only one Authorization header"));
}

const SUB_RE = /^[1-9][0-9]{0,14}$/;
const isInt = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v);

/** The claims of a verified payload, or undefined when any is missing, mistyped or out of range. */
function readClaims(payload: Record<string, unknown>, kid: string, nowSec: number): TokenClaims | undefined {
  const { sub, org, exp, iat, gen, jti, aud, iss } = payload;
  if (typeof sub !== "string" || !SUB_RE.test(sub)) return undefined;
  if (typeof org !== "string" || !ORG_SLUG_RE.test(org)) return undefined;
  if (iss !== TOKEN_ISSUER || aud !== TOKEN_AUDIENCE) return undefined;
  if (typeof jti !== "string" || jti === "" || jti.length > 64) return undefined;
  if (!isInt(gen) || gen < 0 || !isInt(exp) || !isInt(iat)) return undefined;
  if (iat > nowSec + CLOCK_SKEW_SECONDS || exp - iat > MAX_TOKEN_TTL_SECONDS) return undefined;
  return { sub: Number(sub), org, exp, kid, gen, jti, iat };
}

const CACHE_MAX = 10_000;

/**
 * Verifies a token's signature once; later requests with it only check expiry and that its key
 * is still live. Then reads the caller's row, every time.
 */
export class Authenticator {
  private cache = new Map<string, TokenClaims>();
  /** Org ids never change once made, so a slug is looked up once per process. */
  private orgIds = new Map<string, number>();
  /** By org and token; only where the database has a data version (SQLite). */
  private memos = new Map<string, CallerMemo>();

  constructor(
    private readonly deps: Deps,
    private readonly keys: KeyRing,
  ) {}

  async verify(token: string): Promise<TokenClaims> {
    const cached = this.cache.get(token);
    if (cached) {
      await this.keys.refresh();
      if (cached.exp * 1000 > Date.now() && this.keys.isActive(cached.kid)) return cached;
      this.cache.delete(token);
      throw unauthenticated("the token has expired or its signing key was retired");
    }
    // Only the canonical spelling, without repeated keys: then one token is one string.
    const segments = canonicalSegments(token);
    assertThat(segments, () => unauthenticated("the token is malformed"));
    let header: Record<string, unknown>;
    try {
      header = JSON.parse(segments.header) as Record<string, unknown>;
      JSON.parse(segments.payload);
    } catch {
      throw unauthenticated("the token is malformed");
    }
    assertThat(!hasDuplicateKeys(segments.header) && !hasDuplicateKeys(segments.payload), () =>
      unauthenticated("the token repeats a key in its header or payload"),
    );
    const kid = header.kid;
    assertThat(typeof kid === "string", () => unauthenticated("the token names no signing key"));
    const key = await this.keys.verificationKey(kid);
    assertThat(key, () => unauthenticated("the token's signing key is unknown or retired"));
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, key, {
        algorithms: [ALG],
        issuer: TOKEN_ISSUER,
        audience: TOKEN_AUDIENCE,
        requiredClaims: ["sub", "exp", "iat", "jti"],
        clockTolerance: CLOCK_SKEW_SECONDS,
      }));
    } catch {
      throw unauthenticated("the token is invalid or expired");
    }
    const nowSec = Math.floor(Date.now() / 1000);
    const claims = readClaims(payload, kid, nowSec);
    assertThat(claims, () => unauthenticated("the token's claims are malformed or out of range"));
    // jose's clock tolerance is for another instance's clock running ahead (iat); a token whose
    // exp has passed here is expired here, as it is on the cached path.
    assertThat(claims.exp * 1000 > Date.now(), () => unauthenticated("the token has expired"));
    if (this.cache.size >= CACHE_MAX) this.cache.clear();
    this.cache.set(token, claims);
    return claims;
  }
  /** Checks the token itself (signature, expiry, key): no database read once a token is known. */
  async verifyHeader(header: string | undefined): Promise<{ token: string; claims: TokenClaims }> {
    const token = tokenFromHeader(header);
    assertThat(token, () => unauthenticated("an Authorization header with a token is required"));
    assertThat(!token.startsWith(SCIM_TOKEN_PREFIX), () =>
      unauthenticated("a SCIM connection's token works only under /scim/v2"),
    );
    return { token, claims: await this.verify(token) };
  }

  /**
   * The caller's org, current row and token row, in one read: a deactivated user and a revoked
   * token are refused on their very next request. The rows are read again unless nothing has been
   * written since they were last read (SQLite's data version; on PostgreSQL, always).
   */
  async callerFor(
    claims: TokenClaims,
    opts: { identities?: boolean; user?: number; head?: boolean } = {},
  ): Promise<Caller> {
    let orgId = this.orgIds.get(claims.org);
    if (orgId === undefined) {
      const org = await findOrgBySlug(this.deps.db.kysely, claims.org);
      assertThat(org, unauthenticated("the token's org does not exist"));
      orgId = org.id;
      this.orgIds.set(claims.org, orgId);
    }
    // Taken before the read: a write that lands while it is under way leaves this memo stale
    // from the start, never current.
    const version = this.deps.db.dataVersion();
    const key = `${orgId}/${claims.jti}`;
    let memo = version === undefined ? undefined : this.memos.get(key);
    let user = memo && memo.version === version ? memo.row : undefined;
    let token: TokenState | undefined = memo?.token;
    let identities: IdentityRow[] | undefined;
    let fetched: Caller["fetched"];
    let head: number | undefined;
    if (!user) {
      // Where no memo keeps them (PostgreSQL), the caller's statement also reads what the request
      // answers with: the caller's own identities (self), or the user a get or a link names; or,
      // for a page a replica serves, the org's journal head on the primary.
      const extra: CallerExtra | undefined =
        version !== undefined
          ? undefined
          : opts.user !== undefined
            ? { target: opts.user }
            : opts.identities
              ? { identities: true }
              : opts.head
                ? { head: true }
                : undefined;
      const target = extra && "target" in extra ? extra.target : undefined;
      const found = await findCallerWithToken(this.deps.db.kysely, orgId, claims.sub, claims.jti, extra);
      if (found && target !== undefined) fetched = { number: target, user: found.target ?? null };
      assertThat(found && found.user.state === "active", () => unauthenticated("the token's user is not active"));
      user = found.user;
      token = found.token;
      identities = found.identities;
      head = found.head;
      // Every token minted here has its row; one without was minted before tokens were
      // recorded (version 0.2), or elsewhere with a leaked key.
      assertThat(token, () => unauthenticated("the token is not one this service recorded; ask for a new one"));
      memo = undefined;
      if (version !== undefined) {
        memo = new CallerMemo(this.deps.db, version, user, token);
        if (this.memos.size >= CACHE_MAX) this.memos.clear();
        this.memos.set(key, memo);
      }
    }
    // On every request, remembered rows or not: the claims must match the token's row (a holder
    // of the signing key could re-sign a known jti for another user, or for longer).
    assertThat(token && token.subject === claims.sub, () =>
      unauthenticated("the token is not one this service recorded; ask for a new one"),
    );
    assertThat(!token.revoked, () => unauthenticated("the token was revoked"));
    assertThat(claims.exp <= token.expiresAt, () => unauthenticated("the token outlives its record"));
    assertThat(user.token_generation === claims.gen, () =>
      unauthenticated("the token was ended when its user was deactivated; ask for a new one"),
    );
    assertThat(token.makerHolds, () =>
      unauthenticated("the admin who made this act-as token is no longer an active admin"),
    );
    const role = user.role === "admin" ? "admin" : "member";
    return {
      userId: user.id,
      orgId,
      org: claims.org,
      role,
      row: user,
      identities,
      fetched,
      journalHead: head,
      memo,
      token: {
        jti: claims.jti,
        type: token.type,
        scopes: scopeSet(token.scopes),
        issuedAt: claims.iat,
        expiresAt: claims.exp,
      },
    };
  }
}

// Tokens: EdDSA JWTs this service signs. A token names a user and an org; the user's state and
// role are current on every request, so deactivation and role changes take effect at once: the
// row is read again, or reused only while the database reports no write since it was read.
import { decodeProtectedHeader, jwtVerify, SignJWT } from "jose";
import { findDevUser } from "../db/repositories/dev-users.js";
import { findOrgBySlug } from "../db/repositories/orgs.js";
import { assertThat, unauthenticated } from "../errors.js";
import { type Caller, CallerMemo, type Deps } from "./context.js";
import { ALG, type KeyRing } from "./keys.js";

export interface TokenClaims {
  sub: number;
  org: string;
  exp: number;
  kid: string;
}

export async function mintToken(keys: KeyRing, sub: number, org: string, ttlSeconds: number): Promise<string> {
  const { kid, key } = await keys.signingKey();
  return new SignJWT({ org })
    .setProtectedHeader({ alg: ALG, kid, typ: "JWT" })
    .setSubject(String(sub))
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
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

const CACHE_MAX = 10_000;

/**
 * Verifies a token's signature once; later requests with it only check expiry and that its key
 * is still live. Then reads the caller's row, every time.
 */
export class Authenticator {
  private cache = new Map<string, TokenClaims>();
  /** Org ids never change once made, so a slug is looked up once per process. */
  private orgIds = new Map<string, number>();
  /** By user id; only where the database has a data version (SQLite). */
  private memos = new Map<number, CallerMemo>();

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
    let kid: string | undefined;
    try {
      kid = decodeProtectedHeader(token).kid;
    } catch {
      throw unauthenticated("the token is malformed");
    }
    assertThat(typeof kid === "string", unauthenticated("the token names no signing key"));
    const key = await this.keys.verificationKey(kid);
    assertThat(key, unauthenticated("the token's signing key is unknown or retired"));
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, key, { algorithms: [ALG], requiredClaims: ["sub", "exp"] }));
    } catch {
      throw unauthenticated("the token is invalid or expired");
    }
    const sub = Number(payload.sub);
    assertThat(
      Number.isSafeInteger(sub) && sub > 0 && typeof payload.org === "string" && typeof payload.exp === "number",
      unauthenticated("the token's claims are malformed"),
    );
    const claims: TokenClaims = { sub, org: payload.org as string, exp: payload.exp as number, kid };
    if (this.cache.size >= CACHE_MAX) this.cache.clear();
    this.cache.set(token, claims);
    return claims;
  }
  /** Checks the token itself (signature, expiry, key): no database read once a token is known. */
  async verifyHeader(header: string | undefined): Promise<{ token: string; claims: TokenClaims }> {
    const token = tokenFromHeader(header);
    assertThat(token, () => unauthenticated("an Authorization header with a token is required"));
    return { token, claims: await this.verify(token) };
  }

  /**
   * The caller's org and current row: a deactivated user is refused at once. The row is read
   * again unless nothing has been written since it was last read.
   */
  async callerFor(claims: TokenClaims): Promise<Caller> {
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
    let memo = version === undefined ? undefined : this.memos.get(claims.sub);
    let user = memo && memo.version === version && memo.row.org_id === orgId ? memo.row : undefined;
    if (!user) {
      user = await findDevUser(this.deps.db.kysely, orgId, claims.sub);
      assertThat(user && user.state === "active", () => unauthenticated("the token's user is not active"));
      memo = undefined;
      if (version !== undefined) {
        memo = new CallerMemo(this.deps.db, version, user);
        if (this.memos.size >= CACHE_MAX) this.memos.clear();
        this.memos.set(claims.sub, memo);
      }
    }
    const role = user.role === "admin" ? "admin" : "member";
    return { userId: user.id, orgId, org: claims.org, role, row: user, memo };
  }
}

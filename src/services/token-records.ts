// A minted token's row and journal entry, and the wire form of a token's row. Shared by the API
// (auth-tokens.create) and the CLI and harness (services/admin.ts): a token from either is
// recorded the same way, so it can be listed and revoked the same way.
import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import { insertAuthToken, liveAuthTokens, updateAuthToken } from "../db/repositories/auth-tokens.js";
import { findDevUsersByNumbers } from "../db/repositories/dev-users.js";
import type { AuthTokenRow, Database, DevUserRow } from "../db/types.js";
import { devUserDon } from "../ids.js";
import { mintToken } from "./auth.js";
import type { Actor, Journal } from "./journal.js";
import type { KeyRing } from "./keys.js";
import { toUserSummary } from "./mapper.js";
import type { UserSummary } from "./wire.js";

export const TOKEN_TYPE_URN = {
  pat: "urn:devrev:params:oauth:token-type:pat",
  "pat:act-as": "urn:devrev:params:oauth:token-type:pat:act-as",
  // A sign-in link's token (`devusers console`): accepted only to be exchanged, once, for a
  // personal token (services/token-exchange.ts). Never minted through auth-tokens.create.
  "session:onetime": "urn:devrev:params:oauth:token-type:session:onetime",
} as const;

export type TokenType = keyof typeof TOKEN_TYPE_URN;

/** The types auth-tokens.create mints. */
export const API_TOKEN_TYPES: readonly TokenType[] = ["pat", "pat:act-as"];

/** Every token type DevRev's spec names (auth-token-requested-token-type); this service issues two. */
export const DEVREV_TOKEN_TYPES: readonly string[] = [
  "urn:devrev:params:oauth:token-type:aat",
  "urn:devrev:params:oauth:token-type:aat:act-as",
  "urn:devrev:params:oauth:token-type:aat:public",
  "urn:devrev:params:oauth:token-type:dev",
  "urn:devrev:params:oauth:token-type:dev:connect",
  "urn:devrev:params:oauth:token-type:gat",
  "urn:devrev:params:oauth:token-type:pat",
  "urn:devrev:params:oauth:token-type:pat:act-as",
  "urn:devrev:params:oauth:token-type:rat",
  "urn:devrev:params:oauth:token-type:rev",
  "urn:devrev:params:oauth:token-type:session",
  "urn:devrev:params:oauth:token-type:session:dev0",
  "urn:devrev:params:oauth:token-type:session:onetime",
  "urn:devrev:params:oauth:token-type:session:rev:act-as",
  "urn:devrev:params:oauth:token-type:super",
  "urn:devrev:params:oauth:token-type:sys",
  "urn:ietf:params:oauth:token-type:jwt",
];

/** Who may mint tokens: SCIM connections mint none. */
export type TokenMaker = Exclude<Actor, { type: "scim_connection" }>;

export interface NewToken {
  orgId: number;
  org: string;
  subject: DevUserRow;
  type: TokenType;
  /** Stored form (services/scopes.ts): sorted, space-separated; null for full rights. */
  scopes: string | null;
  hint?: string;
  ttlSeconds: number;
  createdBy: TokenMaker;
  /** The maker's token generation, for a dev user maker. */
  makerGeneration?: number;
}

export const tokenDon = (org: string, jti: string) => `don:identity:dvrv-us-1:devo/${org}:token/${jti}`;

const TOKEN_DON_RE = /^don:identity:dvrv-us-1:devo\/([A-Za-z0-9_-]+):token\/([A-Za-z0-9-]{1,64})$/;

/** The jti a token id names in `org`, or undefined (another org's, or not a token id at all). */
export function parseTokenDon(value: string, org: string): { jti: string } | "other_org" | undefined {
  const m = TOKEN_DON_RE.exec(value);
  if (!m) return undefined;
  return m[1] === org ? { jti: m[2]! } : "other_org";
}

/**
 * Records a token, signs it and journals it, in the caller's write transaction: the token is
 * handed out only if all three commit. `signer` holds a key read before the transaction (on
 * SQLite the transaction holds the one writer, which the key ring's own read would wait for).
 */
export async function recordToken(
  trx: Kysely<Database>,
  journal: Journal,
  signer: Pick<KeyRing, "signingKey">,
  spec: NewToken,
  now: string,
): Promise<{ token: string; row: AuthTokenRow }> {
  const iat = Math.floor(Date.parse(now) / 1000);
  const jti = randomUUID();
  const createdBy = spec.createdBy.type === "dev_user" ? spec.createdBy.number : null;
  const row = await insertAuthToken(trx, {
    org_id: spec.orgId,
    jti,
    subject: spec.subject.number,
    type: spec.type,
    scopes: spec.scopes,
    token_hint: spec.hint ?? null,
    generation: spec.subject.token_generation,
    created_by_type: spec.createdBy.type,
    created_by: createdBy,
    created_by_generation: spec.makerGeneration ?? null,
    issued_at: new Date(iat * 1000).toISOString(),
    expires_at: new Date((iat + spec.ttlSeconds) * 1000).toISOString(),
    modified_date: now,
    modified_by: createdBy,
  });
  const token = await mintToken(signer, spec.subject, spec.org, spec.ttlSeconds, jti, iat);
  await journal.record({
    operation: "auth_tokens.create",
    orgId: spec.orgId,
    object: { type: "dev_user", id: spec.subject.number },
    // The token itself is never recorded: only what names and bounds it.
    details: {
      token_id: tokenDon(spec.org, jti),
      requested_token_type: TOKEN_TYPE_URN[spec.type],
      scopes: spec.scopes === null ? null : spec.scopes.split(" "),
      expires_at: row.expires_at,
      ...(spec.hint === undefined ? {} : { token_hint: spec.hint }),
    },
  });
  return { token, row };
}

export interface WireAuthToken {
  id: string;
  created_by?: UserSummary;
  created_date: string;
  modified_by?: UserSummary;
  modified_date: string;
  expires_at: string;
  issued_at: string;
  requested_token_type: string;
  scopes?: string[];
  status: "active" | "expired" | "revoked";
  subject: string;
  token_hint?: string;
}

/**
 * A token is revoked when its row says so, or when its subject was deactivated since it was
 * minted (the generation moved on), or when the subject is gone.
 */
export function tokenStatus(row: AuthTokenRow, subject: DevUserRow | undefined, now: string): WireAuthToken["status"] {
  if (row.revoked_at !== null || !subject || subject.token_generation !== row.generation) return "revoked";
  return row.expires_at <= now ? "expired" : "active";
}

/** Rows to wire tokens, with the summaries of their subjects, creators and modifiers. */
export async function toWireTokens(
  db: Kysely<Database>,
  orgId: number,
  org: string,
  rows: AuthTokenRow[],
  now: string,
): Promise<WireAuthToken[]> {
  const numbers = new Set<number>();
  for (const r of rows) {
    numbers.add(Number(r.subject));
    if (r.created_by !== null) numbers.add(Number(r.created_by));
    if (r.modified_by !== null) numbers.add(Number(r.modified_by));
  }
  const users = new Map((await findDevUsersByNumbers(db, orgId, [...numbers])).map((u) => [Number(u.number), u]));
  const summary = (n: number | null) => {
    const u = n === null ? undefined : users.get(Number(n));
    return u && toUserSummary(org, u);
  };
  return rows.map((r) => {
    const t: WireAuthToken = {
      id: tokenDon(org, r.jti),
      created_date: r.issued_at,
      modified_date: r.modified_date,
      expires_at: r.expires_at,
      issued_at: r.issued_at,
      requested_token_type: TOKEN_TYPE_URN[r.type],
      status: tokenStatus(r, users.get(Number(r.subject)), now),
      subject: devUserDon(org, Number(r.subject)),
    };
    const createdBy = summary(r.created_by);
    const modifiedBy = summary(r.modified_by);
    if (createdBy) t.created_by = createdBy;
    if (modifiedBy) t.modified_by = modifiedBy;
    if (r.scopes !== null) t.scopes = r.scopes.split(" ");
    if (r.token_hint !== null) t.token_hint = r.token_hint;
    return t;
  });
}

/**
 * A demotion ends the act-as tokens its user made, for good: authentication already refuses them
 * while the maker is not an admin, and revoking them keeps a later promotion from reviving them.
 */
export async function endActAsTokensOf(
  trx: Kysely<Database>,
  journal: Journal,
  org: { id: number; slug: string },
  maker: number,
  now: string,
): Promise<void> {
  const rows = await liveAuthTokens(trx, org.id, { createdBy: maker, type: "pat:act-as" }, now);
  for (const row of rows) {
    await updateAuthToken(trx, row.id, { revoked_at: now, modified_date: now });
    await journal.record({
      operation: "auth_tokens.delete",
      orgId: org.id,
      object: { type: "dev_user", id: Number(row.subject) },
      details: { token_id: tokenDon(org.slug, row.jti), reason: "its maker is no longer an admin" },
    });
  }
}

// A SCIM connection's token: 32 random bytes behind a prefix, no JWT, kept only as its SHA-256.
// Every request under /scim/v2 finds its connection (and org) by the hash, read now: a token
// rotated away or revoked, a disabled or a deleted connection is refused at its next request.
import { createHash, randomBytes } from "node:crypto";
import { findScimConnectionByTokenHash } from "../db/repositories/scim-connections.js";
import { assertThat, forbidden, unauthenticated } from "../errors.js";
import { SCIM_TOKEN_PREFIX, tokenFromHeader } from "./auth.js";
import type { Deps, ScimCaller } from "./context.js";

const SCIM_TOKEN_RE = /^devusers_scim_[A-Za-z0-9_-]{43}$/;

export const hashScimToken = (token: string) => createHash("sha256").update(token).digest("hex");
export const newScimToken = () => `${SCIM_TOKEN_PREFIX}${randomBytes(32).toString("base64url")}`;

/**
 * The connection an Authorization header's token belongs to, read now (one indexed statement):
 * a token revoked, rotated away, or of a disabled or deleted connection is refused at once.
 */
export async function authenticateScim(deps: Deps, header: string | undefined): Promise<ScimCaller> {
  const token = tokenFromHeader(header);
  assertThat(token, () => unauthenticated("a SCIM connection's token is required: Authorization: Bearer <token>"));
  if (!SCIM_TOKEN_RE.test(token)) {
    throw unauthenticated(
      token.split(".").length === 3
        ? "API tokens do not work under /scim/v2; use the token of the org's SCIM connection"
        : "the token is not a SCIM connection's token",
    );
  }
  const row = await findScimConnectionByTokenHash(deps.db.kysely, hashScimToken(token));
  assertThat(row, () => unauthenticated("the token is not a SCIM connection's token, or it was revoked"));
  assertThat(row.enabled === 1, () => forbidden(`the SCIM connection for issuer "${row.issuer}" is disabled`));
  return {
    connectionId: Number(row.id),
    number: Number(row.number),
    orgId: Number(row.org_id),
    org: row.org_slug,
    issuer: row.issuer,
    defaultRole: row.default_role === "admin" ? "admin" : "member",
  };
}

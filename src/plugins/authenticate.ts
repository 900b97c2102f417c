// Who is calling, on every request but the public ones: the token's signature and claims first (no
// database work), then the rate limit by the user the token proves, then one read of the caller's
// row and token. Some operations have that read also fetch what they answer with: the caller's own
// identities (self), the dev user the request names (get, link), or, for a page a replica may
// serve, how far the org's journal had come on the primary. A GET names its user in its query,
// known here; a POST in its body, which is parsed after this first hook, so those finish
// authentication in preValidation, before their body is validated or anything else is read.
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { ApiError, unavailable } from "../errors.js";
import { parseDevUserId } from "../ids.js";
import { type Authenticator, assertOneAuthorization, type TokenClaims } from "../services/auth.js";
import type { Deps, ScimCaller } from "../services/context.js";
import { authenticateScim } from "../services/scim-auth.js";
import { requireOperationScope } from "../services/scopes.js";
import { refuseOnetimeToken } from "../services/token-exchange.js";
import { RateLimiter } from "./rate-limit.js";

declare module "fastify" {
  interface FastifyRequest {
    /** Claims whose signature is checked, for an operation that reads its caller after parsing. */
    verifiedClaims?: TokenClaims;
  }
}

/** Operations answered with the caller's own row and identities. */
const SELF_READS = new Set(["dev-users-self", "dev-users-self-post"]);
/** Operations whose pages a replica may serve: the caller's statement reads the org's journal head. */
const PAGE_READS = new Set(["dev-users-list", "dev-users-list-post", "audit-logs-list", "audit-logs-list-post"]);
/** Operations that name one dev user in their query, and the field that does. */
const QUERY_TARGETS: Record<string, string> = { "dev-users-get": "id" };
/** Operations that name one dev user in their body, and the field that does. */
const BODY_TARGETS: Record<string, string> = {
  "dev-users-get-post": "id",
  "dev-users-identities-link": "dev_user",
};

/** The dev user a field names, when it parses; one that does not is left to the route to refuse. */
function named(source: unknown, field: string, org: string): number | undefined {
  const id = (source as Record<string, unknown> | undefined)?.[field];
  if (typeof id !== "string") return undefined;
  try {
    return parseDevUserId(id, field, org);
  } catch {
    return undefined;
  }
}

export interface AuthenticationOptions {
  auth: Authenticator;
  deps: Deps;
  limiter: RateLimiter;
  isDraining: () => boolean;
  onRateLimited: () => void;
}

export function registerAuthentication(app: FastifyInstance, o: AuthenticationOptions): void {
  /** Counts a request against its key's limit: the rate-limit headers, or a 429. */
  async function limit(reply: FastifyReply, key: string): Promise<void> {
    const decision = await o.limiter.hit(key);
    if (!decision) return;
    reply.header("x-ratelimit-limit", decision.limit);
    reply.header("x-ratelimit-remaining", decision.remaining);
    reply.header("x-ratelimit-reset", decision.reset);
    if (decision.retryAfter !== undefined) {
      o.onRateLimited();
      throw new ApiError("too_many_requests", `rate limit of ${decision.limit} requests exceeded`, {
        retry_after: decision.retryAfter,
      });
    }
  }

  /**
   * Under /scim/v2 only a SCIM connection's token is taken, and its row is read on every request:
   * a revoked token or a disabled connection stops at once. Limits are per connection.
   */
  async function authenticateScimRequest(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    let scim: ScimCaller | undefined;
    let authError: unknown;
    try {
      assertOneAuthorization(req.raw.rawHeaders);
      scim = await authenticateScim(o.deps, req.headers.authorization);
    } catch (err) {
      authError = err;
    }
    await limit(reply, scim ? `scim:${scim.connectionId}` : `ip:${req.ip}`);
    if (authError || !scim) throw authError;
    req.scim = { ...scim, requestId: req.id };
  }

  const operationOf = (req: FastifyRequest) =>
    (req.routeOptions.schema as { operationId?: string } | undefined)?.operationId;

  const replica = o.deps.db.pages !== o.deps.db.kysely;
  /** The caller's row and token, read once: every check of them, then the token's scopes. */
  async function finish(req: FastifyRequest, claims: TokenClaims, id: string | undefined, user?: number) {
    req.caller = await o.auth.callerFor(claims, {
      identities: id !== undefined && SELF_READS.has(id),
      user,
      head: replica && id !== undefined && PAGE_READS.has(id),
    });
    req.caller.requestId = req.id;
    refuseOnetimeToken(req.caller, id);
    // A route without a scope decision (none should exist) is open to unscoped tokens only.
    const scope = req.routeOptions.config.scope;
    requireOperationScope(req.caller.token?.scopes, scope === undefined ? "full" : scope);
  }

  app.addHook("onRequest", async (req, reply) => {
    if (req.routeOptions.config.public) return;
    if (o.isDraining()) throw unavailable("the service is shutting down");
    // The token's own checks come first (no database work), so the limit applies per user a valid
    // token proves (however many tokens they hold), and per IP otherwise, before any database
    // read: a flood of bad tokens is refused cheaply.
    if (req.routeOptions.config.scope === "scim") return authenticateScimRequest(req, reply);
    let verified: { claims: TokenClaims } | undefined;
    let authError: unknown;
    if (req.routeOptions.url !== undefined) {
      try {
        assertOneAuthorization(req.raw.rawHeaders);
        verified = await o.auth.verifyHeader(req.headers.authorization);
      } catch (err) {
        authError = err;
      }
    }
    await limit(reply, verified ? RateLimiter.subjectKey(verified.claims.org, verified.claims.sub) : `ip:${req.ip}`);
    if (authError) throw authError;
    if (!verified) return;
    const id = operationOf(req);
    if (id !== undefined && Object.hasOwn(BODY_TARGETS, id) && req.method === "POST") {
      req.verifiedClaims = verified.claims;
      return;
    }
    const field = id !== undefined && Object.hasOwn(QUERY_TARGETS, id) ? QUERY_TARGETS[id] : undefined;
    const user = field === undefined ? undefined : named(req.query, field, verified.claims.org);
    await finish(req, verified.claims, id, user);
  });

  // Registered after the hook that reads a missing POST body as {}, so the body is there.
  app.addHook("preValidation", async (req) => {
    const claims = req.verifiedClaims;
    if (!claims) return;
    req.verifiedClaims = undefined;
    const id = operationOf(req);
    const field = id === undefined ? undefined : BODY_TARGETS[id];
    await finish(req, claims, id, field === undefined ? undefined : named(req.body, field, claims.org));
  });
}

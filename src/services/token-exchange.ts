// Sign-in links (`devusers console --email`): a short-lived one-time token, exchanged once, RFC
// 8693 style, through auth-tokens.create for a personal token of the same user, which is what the
// console then holds. The one-time token is revoked in the transaction that mints the new one, so
// of two exchanges of one link one gets a token and the other a 401, and a link seen later in a
// browser's history or a proxy's log is worth nothing.
import { revokeAuthTokenIfLive } from "../db/repositories/auth-tokens.js";
import { findDevUserByNumber } from "../db/repositories/dev-users.js";
import { assertThat, unauthenticated, valueNotPermitted } from "../errors.js";
import type { Caller, Deps } from "./context.js";
import { journalled } from "./journal.js";
import type { KeyRing } from "./keys.js";
import { recordToken, TOKEN_TYPE_URN, tokenDon } from "./token-records.js";

export const EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange";
/** How long a sign-in link works. */
export const SIGNIN_LINK_SECONDS = 600;

export interface ExchangeInput {
  grant_type?: string;
  subject_token?: string;
  subject_token_type?: string;
  requested_token_type?: string;
  act_as?: string;
  scope?: string;
  token_hint?: string;
  ttlSeconds: number;
}

/** The `jti` claim of a JWT's payload, unverified: compared with the caller's verified one. */
function jtiOf(jwt: string): string | undefined {
  const payload = jwt.split(".")[1];
  if (payload === undefined) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { jti?: unknown };
    return typeof claims.jti === "string" ? claims.jti : undefined;
  } catch {
    return undefined;
  }
}

export async function exchangeSigninToken(
  deps: Deps,
  keys: KeyRing,
  caller: Caller,
  input: ExchangeInput,
): Promise<{ access_token: string; expires_in: number; token_type: "bearer" }> {
  const own = caller.token!;
  // Only a sign-in link's token is exchanged, and it is good for nothing else.
  assertThat(input.grant_type === EXCHANGE_GRANT, () =>
    unauthenticated("a sign-in link's token is only exchanged for a session (grant_type token-exchange)"),
  );
  assertThat(own.type === "session:onetime", () =>
    valueNotPermitted("grant_type", "only a sign-in link's token, sent as the bearer, is exchanged here"),
  );
  assertThat(
    input.subject_token_type === TOKEN_TYPE_URN["session:onetime"],
    valueNotPermitted("subject_token_type", `must be ${TOKEN_TYPE_URN["session:onetime"]}`),
  );
  assertThat(
    typeof input.subject_token === "string" && jtiOf(input.subject_token) === own.jti,
    valueNotPermitted("subject_token", "must be the sign-in link's token, the one sent as the bearer"),
  );
  assertThat(
    input.requested_token_type === undefined || input.requested_token_type === TOKEN_TYPE_URN.pat,
    valueNotPermitted("requested_token_type", `an exchange gives a ${TOKEN_TYPE_URN.pat}`),
  );
  assertThat(input.act_as === undefined, valueNotPermitted("act_as", "an exchange gives the link's own user a token"));
  assertThat(input.scope === undefined, valueNotPermitted("scope", "an exchange gives the user's full rights"));
  const signing = await keys.signingKey();
  const signer = { signingKey: async () => signing };
  const made = await journalled(deps, caller, async (trx, journal) => {
    const now = deps.now();
    const spent = await revokeAuthTokenIfLive(trx, caller.orgId, own.jti, now, caller.row!.number);
    assertThat(spent, () => unauthenticated("the sign-in link was used already; ask for a new one"));
    await journal.record({
      operation: "auth_tokens.delete",
      object: { type: "dev_user", id: caller.row!.number },
      details: { token_id: tokenDon(caller.org, own.jti), reason: "sign-in link exchanged" },
    });
    const subject = await findDevUserByNumber(trx, caller.orgId, caller.row!.number);
    assertThat(subject && subject.state === "active", () => unauthenticated("the token's user is not active"));
    return recordToken(
      trx,
      journal,
      signer,
      {
        orgId: caller.orgId,
        org: caller.org,
        subject,
        type: "pat",
        scopes: null,
        hint: input.token_hint ?? "console session",
        ttlSeconds: input.ttlSeconds,
        createdBy: { type: "dev_user", number: caller.row!.number },
        makerGeneration: subject.token_generation,
      },
      now,
    );
  });
  return { access_token: made.token, expires_in: input.ttlSeconds, token_type: "bearer" };
}

/** Refused for a sign-in link's token: every operation but its exchange. */
export function refuseOnetimeToken(caller: Caller, operationId: string | undefined): void {
  if (caller.token?.type !== "session:onetime") return;
  assertThat(operationId === "auth-tokens-create", () =>
    unauthenticated("a sign-in link's token is only exchanged for a session; open the link in the console"),
  );
}

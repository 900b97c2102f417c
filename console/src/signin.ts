// Signing in and out, through the public auth-tokens operations. A sign-in link
// (/console/#signin=<one-time token>, from `devusers console --email <e>`) is exchanged once, RFC
// 8693 style, for a session token; the fragment never reaches a server or a log, and is removed
// from the address bar before anything else happens.
import { call } from "./api";
import { session } from "./session";

export const ONETIME_TYPE = "urn:devrev:params:oauth:token-type:session:onetime";
export const EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange";
const PAT = "urn:devrev:params:oauth:token-type:pat";
/** A console session lasts a working day at most. */
const SESSION_MINUTES = 720;

/** The one-time token of a sign-in link in the address bar, which is removed from it at once. */
export function takeSigninFragment(): string | undefined {
  const m = /^#signin=([^&]+)/.exec(location.hash);
  if (!m) return undefined;
  history.replaceState(null, "", `${location.pathname}${location.search}#/users`);
  return decodeURIComponent(m[1]!);
}

export async function exchangeSigninToken(onetime: string): Promise<void> {
  const made = await call<{ access_token: string }>(
    "auth-tokens.create",
    {
      grant_type: EXCHANGE_GRANT,
      subject_token: onetime,
      subject_token_type: ONETIME_TYPE,
      requested_token_type: PAT,
      expires_in_mins: SESSION_MINUTES,
      token_hint: "console session",
    },
    onetime,
  );
  session.set(made.access_token);
}

/** A pasted token is checked before it is kept. */
export async function signInWithToken(token: string): Promise<void> {
  await call("auth-tokens.info", {}, token);
  session.set(token);
}

/** Revokes the session token, then forgets it, whatever the answer (a 401 means it already ended). */
export async function signOut(): Promise<void> {
  try {
    await call("auth-tokens.delete", {});
  } finally {
    session.clear();
  }
}

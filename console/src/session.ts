// The session token: in sessionStorage (this tab only, gone when it closes), never in a cookie a
// cross-site request could carry, never in a URL.
const KEY = "devusers.session";

type Listener = () => void;
const listeners = new Set<Listener>();
let expiredNotice = false;

export const session = {
  token(): string | undefined {
    return sessionStorage.getItem(KEY) ?? undefined;
  },
  set(token: string): void {
    sessionStorage.setItem(KEY, token);
    expiredNotice = false;
    for (const l of listeners) l();
  },
  clear(): void {
    sessionStorage.removeItem(KEY);
    for (const l of listeners) l();
  },
  /** A 401: the token ended (revoked, expired, user deactivated); the console asks to sign in again. */
  expired(): void {
    if (!session.token()) return;
    expiredNotice = true;
    session.clear();
  },
  /** Whether the last session ended by a 401, which the sign-in page says once. */
  takeExpiredNotice(): boolean {
    const was = expiredNotice;
    expiredNotice = false;
    return was;
  },
  subscribe(listener: Listener): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
};

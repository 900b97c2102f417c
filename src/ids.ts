// DevRev ids: a DON (don:identity:dvrv-us-1:devo/<org>:devu/<n>) or a display id (DEVU-<n>). `<n>`
// is the user's number in its org (dev_users.number), not a primary key: orgs number their users
// independently, so no org learns anything from another's numbers.
import { invalidId, notFound } from "./errors.js";

const DON_RE = /^don:identity:dvrv-us-1:devo\/([A-Za-z0-9_-]+):devu\/([1-9][0-9]{0,14})$/;
const DISPLAY_RE = /^DEVU-([1-9][0-9]{0,14})$/i;
export const ORG_SLUG_RE = /^[A-Za-z0-9_-]{1,64}$/;

export const devUserDon = (org: string, n: number) => `don:identity:dvrv-us-1:devo/${org}:devu/${n}`;
export const devUserDisplayId = (n: number) => `DEVU-${n}`;

/**
 * Reads a dev user id in either form and returns the user's number in `org`, to be looked up in
 * that org only (the ...ByNumber repository functions). A well-formed DON of another org names no
 * user the caller can see, so it is a 404 rather than a 400: the caller learns nothing about other
 * orgs.
 */
export function parseDevUserId(value: string, field: string, org: string): number {
  const display = DISPLAY_RE.exec(value);
  if (display) return Number(display[1]);
  const don = DON_RE.exec(value);
  if (!don) throw invalidId(field, value);
  if (don[1] !== org) throw notFound("dev user");
  return Number(don[2]);
}

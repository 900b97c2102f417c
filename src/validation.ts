// Checks on values shared by the API and the CLI.
import { assertThat, valueNotPermitted } from "./errors.js";

const EMAIL_RE = /^[^\s@]+@[^\s@]+$/;

export const isEmail = (value: string) => EMAIL_RE.test(value);

// ISO-8601: a date, or a date and time with Z or an offset. Years 0000-9999 only, so that the
// stored text (always the UTC form with milliseconds) sorts and compares correctly as text.
const ISO_RE = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):(\d{2})))?$/;

/** Whether the parts name a real moment: Date.parse would roll 2026-02-30 over into March. */
function inRange(m: RegExpExecArray): boolean {
  const [y, mo, d, h = 0, mi = 0, s = 0, oh = 0, om = 0] = m.slice(1).map((p) => (p === undefined ? 0 : Number(p)));
  const lastDay = new Date(Date.UTC(y!, mo!, 0)).getUTCDate();
  return mo! >= 1 && mo! <= 12 && d! >= 1 && d! <= lastDay && h <= 23 && mi <= 59 && s <= 59 && oh <= 23 && om <= 59;
}

/** Reads an ISO-8601 date-time strictly and returns its canonical UTC form, or answers 400. */
export function isoDateTime(value: string, field: string): string {
  const m = ISO_RE.exec(value);
  const t = m && inRange(m) ? Date.parse(value) : Number.NaN;
  const out = Number.isFinite(t) ? new Date(t).toISOString() : "";
  assertThat(/^\d{4}-/.test(out), () =>
    valueNotPermitted(field, "must be an ISO-8601 date-time such as 2026-01-31T09:00:00Z (years 0000-9999)"),
  );
  return out;
}

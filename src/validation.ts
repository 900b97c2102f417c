// Checks on values shared by the API and the CLI.
import { assertThat, valueNotPermitted } from "./errors.js";

const EMAIL_RE = /^[^\s@]+@[^\s@]+$/;

export const isEmail = (value: string) => EMAIL_RE.test(value);

// ISO-8601: a date, or a date and time with Z or an offset. Years 0000-9999 only, so that the
// stored text (always the UTC form with milliseconds) sorts and compares correctly as text.
const ISO_RE = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2}))?$/;

/** Reads an ISO-8601 date-time strictly and returns its canonical UTC form, or answers 400. */
export function isoDateTime(value: string, field: string): string {
  const t = ISO_RE.test(value) ? Date.parse(value) : Number.NaN;
  const out = Number.isFinite(t) ? new Date(t).toISOString() : "";
  assertThat(
    /^\d{4}-/.test(out),
    valueNotPermitted(field, "must be an ISO-8601 date-time such as 2026-01-31T09:00:00Z (years 0000-9999)"),
  );
  return out;
}

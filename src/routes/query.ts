// GET requests carry the POST body's fields in the query string. These helpers turn a query into
// that body shape, so one schema validates both and one service call serves both.

/** Reads one array parameter in any of its forms: repeated, `a,b`, or the SDK's `"a","b"`. */
export function splitList(raw: unknown): string[] {
  const values = Array.isArray(raw) ? raw : [raw];
  const out: string[] = [];
  for (const v of values) {
    const s = String(v);
    if (s.includes('"')) {
      for (const m of s.matchAll(/"((?:[^"\\]|\\.)*)"/g)) out.push(m[1]!.replace(/\\(.)/g, "$1"));
    } else {
      for (const part of s.split(",")) if (part !== "") out.push(part);
    }
  }
  return out;
}

const LIST_ARRAYS = new Set(["email", "state", "sort_by", "phone_numbers", "timezone"]);
const NUMBER_RE = /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/;

/**
 * Numbers are read as numbers, so the schema says what is wrong with them (`limit=1.5`: an
 * integer is expected, not a fraction); anything else stays a string (`limit=ten`: not a number).
 */
const integerOrString = (v: unknown) => (typeof v === "string" && NUMBER_RE.test(v) ? Number(v) : v);

export function listQueryToBody(query: Record<string, unknown>): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  const identity: Record<string, unknown> = {};
  const dates: Record<string, Record<string, unknown>> = {};
  for (const [key, value] of Object.entries(query)) {
    if (LIST_ARRAYS.has(key)) body[key] = splitList(value);
    else if (key === "limit") body.limit = integerOrString(value);
    else if (key === "external_identity.issuer") identity.issuer = value;
    else if (key === "external_identity.id") identity.id = value;
    else if (key === "staged_info.is_staged")
      body.staged_info = { is_staged: value === "true" ? true : value === "false" ? false : value };
    else if (/^(created|modified)_date\.[a-z_]+$/.test(key)) {
      const [field, prop] = key.split(".") as [string, string];
      dates[field] ??= {};
      dates[field][prop] = prop === "days" ? integerOrString(value) : value;
    } else body[key] = value;
  }
  if (Object.keys(identity).length > 0) body.external_identity = [identity];
  Object.assign(body, dates);
  return body;
}

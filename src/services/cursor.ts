// Opaque list cursors: the sort they belong to, the key of the row a page ends on, and which
// way to read from it. Keyset cursors stay correct while rows are inserted.
import { valueNotPermitted } from "../errors.js";

export interface Cursor {
  sort: string;
  key: (string | number)[];
  direction: "after" | "before";
}

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify({ v: 1, s: c.sort, k: c.key, d: c.direction })).toString("base64url");
}

const badCursor = () => valueNotPermitted("cursor", "this cursor cannot be read; start again without one");

export function decodeCursor(raw: string): Cursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(raw, "base64url").toString("utf8"));
  } catch {
    throw badCursor();
  }
  const c = parsed as { v?: unknown; s?: unknown; k?: unknown; d?: unknown };
  if (
    typeof c !== "object" ||
    c === null ||
    c.v !== 1 ||
    typeof c.s !== "string" ||
    !Array.isArray(c.k) ||
    !c.k.every((x) => typeof x === "string" || typeof x === "number") ||
    (c.d !== "after" && c.d !== "before")
  ) {
    throw badCursor();
  }
  return { sort: c.s, key: c.k as (string | number)[], direction: c.d };
}

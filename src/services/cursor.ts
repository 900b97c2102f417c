// List cursors: the sort they belong to, the key of the row a page ends on, and which way to read
// from it. Keyset cursors stay correct while rows are inserted. A cursor is base64url JSON that
// anyone can read, so it holds only what the page already showed: the boundary row's sort values
// and its number in the org (the `<n>` of its DEVU-<n>), never a database-wide id.
import { valueNotPermitted } from "../errors.js";

export interface Cursor {
  sort: string;
  key: (string | number)[];
  direction: "after" | "before";
}

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify({ v: 2, s: c.sort, k: c.key, d: c.direction })).toString("base64url");
}

const badCursor = () => valueNotPermitted("cursor", "this cursor cannot be read; start again without one");

/**
 * Version 1 cursors, from before users were numbered per org, end in the boundary row's primary
 * key, sorted as `id`. They were made for rows that existed then, and every such row has
 * number = id: read as numbers, they go on where they left off.
 */
const fromV1 = (sort: string) =>
  sort
    .split(",")
    .map((k) => (k.startsWith("id:") ? `number:${k.slice(3)}` : k))
    .join(",");

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
    (c.v !== 1 && c.v !== 2) ||
    typeof c.s !== "string" ||
    !Array.isArray(c.k) ||
    !c.k.every((x) => typeof x === "string" || typeof x === "number") ||
    (c.d !== "after" && c.d !== "before")
  ) {
    throw badCursor();
  }
  return { sort: c.v === 1 ? fromV1(c.s) : c.s, key: c.k as (string | number)[], direction: c.d };
}

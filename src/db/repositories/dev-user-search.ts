// dev-users.list's `search`: a prefix of the lower-cased display name, full name or email, as
// ranges the search indexes serve (docs/design.md).
import { type Expression, type ExpressionBuilder, type SqlBool, sql } from "kysely";
import type { Database } from "../types.js";

type Eb = ExpressionBuilder<Database, "dev_users">;

/**
 * The least string above every string that starts with `prefix`, in code point order (which
 * is UTF-8 byte order), or none when no string is above them all.
 */
function prefixEnd(prefix: string): string | undefined {
  const points = [...prefix];
  while (points.length > 0) {
    const last = points.pop()!.codePointAt(0)!;
    if (last < 0x10ffff) return points.join("") + String.fromCodePoint(last === 0xd7ff ? 0xe000 : last + 1);
  }
  return undefined;
}

/**
 * The searched columns as the search indexes hold them (migration 2026-12-02T15-00-00):
 * lower-cased, and on PostgreSQL in the "C" collation, whose order is code point order, so that
 * a prefix is one range of each index whatever the database's collation.
 */
const searched = (pg: boolean) =>
  pg
    ? [
        sql<string>`lower(dev_users.display_name) collate "C"`,
        sql<string>`lower(dev_users.full_name) collate "C"`,
        sql<string>`dev_users.email_lower collate "C"`,
      ]
    : [
        sql<string>`lower(dev_users.display_name)`,
        sql<string>`lower(dev_users.full_name)`,
        sql<string>`dev_users.email_lower`,
      ];

export function searchExpr(eb: Eb, prefix: string, pg: boolean): Expression<SqlBool> {
  const end = prefixEnd(prefix);
  return eb.or(
    searched(pg).map((col) =>
      end === undefined ? eb(col, ">=", prefix) : eb.and([eb(col, ">=", prefix), eb(col, "<", end)]),
    ),
  );
}

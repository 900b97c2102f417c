import type { Db } from "../db/database.js";
import type { DevUserRow } from "../db/types.js";

/** Who is calling: read from a verified token and a fresh look at the user row. */
export interface Caller {
  userId: number;
  orgId: number;
  org: string;
  role: "admin" | "member";
  /** The caller's row as read when the request was authenticated: saves a query in hydrate. */
  row?: DevUserRow;
}

/** What every service needs: the database, and a clock tests can pin. */
export interface Deps {
  db: Db;
  now: () => string;
}

export const systemClock = () => new Date().toISOString();

// Database errors, read the same way on SQLite and PostgreSQL.

export type UniqueRule = "identity_owner" | "user_issuer" | "org_email" | "other";

interface DriverError {
  code?: string;
  constraint?: string;
  message?: string;
  /** PostgreSQL: the server function that raised the error (the same in every language). */
  routine?: string;
}

/** Which unique rule a write broke, or null when the error is not a unique violation. */
export function uniqueViolation(err: unknown): UniqueRule | null {
  const e = err as DriverError;
  if (e?.code === "23505") {
    switch (e.constraint) {
      case "external_identities_org_issuer_id_uq":
        return "identity_owner";
      case "external_identities_user_issuer_uq":
        return "user_issuer";
      case "dev_users_org_email_uq":
        return "org_email";
      default:
        return "other";
    }
  }
  if (e?.code === "SQLITE_CONSTRAINT_UNIQUE" || e?.code === "SQLITE_CONSTRAINT_PRIMARYKEY") {
    const msg = e.message ?? "";
    if (msg.includes("external_identities.external_id")) return "identity_owner";
    if (msg.includes("external_identities.dev_user_id")) return "user_issuer";
    if (msg.includes("dev_users.email_lower")) return "org_email";
    return "other";
  }
  return null;
}

const UNAVAILABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "57P01", // admin_shutdown
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now
  "57014", // query_canceled (statement_timeout)
  "40P01", // deadlock_detected: nothing was written; the client may retry
  "40001", // serialization_failure: likewise
  "08000",
  "08003",
  "08006",
  "08001",
  "53300", // too_many_connections
  "SQLITE_BUSY",
  "SQLITE_IOERR",
  "SQLITE_FULL",
]);

/** PostgreSQL refusing a prepared statement whose result columns a migration has changed. */
export function stalePlan(err: unknown): boolean {
  const e = err as DriverError;
  return e?.code === "0A000" && e.routine === "RevalidateCachedQuery";
}

/** True when the database could not be reached or did not answer in time: a 503, not a 500. */
export function isUnavailable(err: unknown): boolean {
  const e = err as DriverError;
  if (e?.code && UNAVAILABLE_CODES.has(e.code)) return true;
  if (stalePlan(err)) return true; // that connection is replaced: a retry succeeds
  // SQLITE_BUSY_SNAPSHOT, SQLITE_BUSY_TIMEOUT, SQLITE_IOERR_FSYNC, ...: the extended codes.
  if (e?.code && /^SQLITE_(BUSY|IOERR|FULL|LOCKED)/.test(e.code)) return true;
  const msg = e?.message ?? "";
  return (
    msg.includes("timeout exceeded when trying to connect") ||
    msg.includes("Connection terminated") ||
    msg.includes("Query read timeout") ||
    msg.includes("connect ECONNREFUSED") ||
    // node-postgres, for a query sent on a connection that already failed or was ended
    msg.includes("is not queryable")
  );
}

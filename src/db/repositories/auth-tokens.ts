// Rows of the tokens the service has minted (see the auth-tokens migration). Authentication reads
// a token's row together with its user's, in one statement: revocation costs no extra round trip.
import { type Kysely, sql } from "kysely";
import { prepared } from "../prepared.js";
import type { AuthTokenRow, Database, DevUserRow, NewAuthToken } from "../types.js";

/** What authentication needs of a token's row. */
export interface TokenState {
  subject: number;
  type: AuthTokenRow["type"];
  scopes: string | null;
  generation: number;
  expires_at: string;
  revoked_at: string | null;
}

const callerRow = prepared((db, orgId: number, number: number, jti: string) =>
  db
    .selectFrom("dev_users")
    .leftJoin("auth_tokens", (join) =>
      join.onRef("auth_tokens.org_id", "=", "dev_users.org_id").on("auth_tokens.jti", "=", jti),
    )
    .selectAll("dev_users")
    .select([
      "auth_tokens.subject as t_subject",
      "auth_tokens.type as t_type",
      "auth_tokens.scopes as t_scopes",
      "auth_tokens.generation as t_generation",
      "auth_tokens.expires_at as t_expires_at",
      "auth_tokens.revoked_at as t_revoked_at",
    ])
    .where("dev_users.org_id", "=", orgId)
    .where("dev_users.number", "=", number),
);

/**
 * The user an org knows by `number`, and the row of the token `jti` of that org (undefined when
 * the org has no such token): what authentication checks on every request.
 */
export async function findCallerWithToken(
  db: Kysely<Database>,
  orgId: number,
  number: number,
  jti: string,
): Promise<{ user: DevUserRow; token: TokenState | undefined } | undefined> {
  const row = await callerRow.first(db, orgId, number, jti);
  if (!row) return undefined;
  const { t_subject, t_type, t_scopes, t_generation, t_expires_at, t_revoked_at, ...user } = row;
  const token =
    t_subject === null || t_type === null || t_generation === null || t_expires_at === null
      ? undefined
      : {
          subject: Number(t_subject),
          type: t_type,
          scopes: t_scopes,
          generation: Number(t_generation),
          expires_at: t_expires_at,
          revoked_at: t_revoked_at,
        };
  return { user, token };
}

export async function insertAuthToken(db: Kysely<Database>, row: NewAuthToken): Promise<AuthTokenRow> {
  return db.insertInto("auth_tokens").values(row).returningAll().executeTakeFirstOrThrow();
}

export function findAuthToken(db: Kysely<Database>, orgId: number, jti: string): Promise<AuthTokenRow | undefined> {
  return db.selectFrom("auth_tokens").selectAll().where("org_id", "=", orgId).where("jti", "=", jti).executeTakeFirst();
}

/** Whose live tokens: a user by number, and its token generation (older ones ended with it). */
export interface TokenSubject {
  number: number;
  token_generation: number;
}

/** A subject's live tokens (not revoked, of its generation, not expired at `now`), oldest first. */
export function liveAuthTokens(
  db: Kysely<Database>,
  orgId: number,
  subject: TokenSubject,
  now: string,
  type?: AuthTokenRow["type"],
): Promise<AuthTokenRow[]> {
  let q = db
    .selectFrom("auth_tokens")
    .selectAll()
    .where("org_id", "=", orgId)
    .where("subject", "=", subject.number)
    .where("generation", "=", subject.token_generation)
    .where("revoked_at", "is", null)
    .where("expires_at", ">", now);
  if (type !== undefined) q = q.where("type", "=", type);
  return q.orderBy("id").execute();
}

export async function countLiveAuthTokens(
  db: Kysely<Database>,
  orgId: number,
  subject: TokenSubject,
  now: string,
): Promise<number> {
  const row = await db
    .selectFrom("auth_tokens")
    .select(sql<number>`count(*)`.as("n"))
    .where("org_id", "=", orgId)
    .where("subject", "=", subject.number)
    .where("generation", "=", subject.token_generation)
    .where("revoked_at", "is", null)
    .where("expires_at", ">", now)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function updateAuthToken(
  db: Kysely<Database>,
  id: number,
  patch: Partial<Pick<AuthTokenRow, "token_hint" | "modified_date" | "modified_by" | "revoked_at">>,
): Promise<AuthTokenRow> {
  return db.updateTable("auth_tokens").set(patch).where("id", "=", id).returningAll().executeTakeFirstOrThrow();
}

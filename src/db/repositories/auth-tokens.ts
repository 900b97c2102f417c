// Rows of the tokens the service has minted (see the auth-tokens migration). Authentication reads
// a token's row together with its user's, in one statement: revocation costs no extra round trip.
import { type Kysely, sql } from "kysely";
import { prepared } from "../prepared.js";
import type { AuthTokenRow, Database, DevUserRow, IdentityRow, NewAuthToken } from "../types.js";
import { identitiesJson } from "./identities.js";

/** What authentication needs of a token's row. */
export interface TokenState {
  subject: number;
  type: AuthTokenRow["type"];
  scopes: string | null;
  generation: number;
  /** Seconds since the epoch: the JWT's `exp` must not outlast it. */
  expiresAt: number;
  revoked: boolean;
  /** For an act-as token: whether its maker is still an active admin of the generation it had. */
  makerHolds: boolean;
}

const callerQuery = (db: Kysely<Database>, orgId: number, number: number, jti: string) =>
  db
    .selectFrom("dev_users")
    .leftJoin("auth_tokens", (join) =>
      join.onRef("auth_tokens.org_id", "=", "dev_users.org_id").on("auth_tokens.jti", "=", jti),
    )
    // The maker of an act-as token, whose authority it holds (none for other tokens).
    .leftJoin("dev_users as maker", (join) =>
      join
        .onRef("maker.org_id", "=", "auth_tokens.org_id")
        .onRef("maker.number", "=", "auth_tokens.created_by")
        .on("auth_tokens.type", "=", "pat:act-as"),
    )
    .selectAll("dev_users")
    .select([
      "auth_tokens.subject as t_subject",
      "auth_tokens.type as t_type",
      "auth_tokens.scopes as t_scopes",
      "auth_tokens.generation as t_generation",
      "auth_tokens.expires_at as t_expires_at",
      "auth_tokens.revoked_at as t_revoked_at",
      "auth_tokens.created_by_generation as t_maker_generation",
      "maker.role as m_role",
      "maker.state as m_state",
      "maker.token_generation as m_generation",
    ])
    .where("dev_users.org_id", "=", orgId)
    .where("dev_users.number", "=", number);

const callerRow = prepared(callerQuery);
// The same, with the caller's identities as JSON (PostgreSQL): dev-users.self is then answered from
// this one statement, where it took a second round trip for the identities.
const callerRowWithIdentities = prepared((db, orgId: number, number: number, jti: string) =>
  callerQuery(db, orgId, number, jti).select(identitiesJson("dev_users.id").as("c_identities")),
);

/** A user of the caller's org, with its identities, as JSON (PostgreSQL): dev-users.get in the same read. */
export interface FetchedUser {
  row: DevUserRow;
  /** The row's version (xmin), as a link's one statement checks it. */
  version: string;
  identities: IdentityRow[];
}

// The caller and the user a dev-users.get or a link names, in one statement. The org is the caller's
// own (from the token, whose signature was checked before any read), so the target cannot be
// another org's; authentication still decides before anything of it is answered.
const callerRowWithUser = prepared((db, orgId: number, number: number, jti: string, target: number) =>
  callerQuery(db, orgId, number, jti).select(
    sql<FetchedUser | null>`(select json_build_object('row', row_to_json(t), 'version', t.xmin::text,
      'identities', ${identitiesJson("t.id")})
      from dev_users t where t.org_id = dev_users.org_id and t.number = ${target})`.as("c_target"),
  ),
);

// The same, with the org's journal head as the primary has it: where list pages come from a
// replica, the replica serves a page only once it has replayed at least that far.
const callerRowWithHead = prepared((db, orgId: number, number: number, jti: string) =>
  callerQuery(db, orgId, number, jti).select(
    sql<number | null>`(select h.next_seq from journal_heads h where h.org_id = dev_users.org_id)`.as("c_head"),
  ),
);

/** What the caller's statement reads besides the caller and its token (PostgreSQL only). */
export type CallerExtra =
  /** The caller's identities, in link order. */
  | { identities: true }
  /** This user of the org, by number, with its identities: null if none. */
  | { target: number }
  /** The org's journal head (0 if the org has journalled nothing). */
  | { head: true };

/**
 * The user an org knows by `number`, and the row of the token `jti` of that org (undefined when
 * the org has no such token): what authentication checks on every request.
 */
export async function findCallerWithToken(
  db: Kysely<Database>,
  orgId: number,
  number: number,
  jti: string,
  extra?: CallerExtra,
): Promise<
  | {
      user: DevUserRow;
      token: TokenState | undefined;
      identities?: IdentityRow[];
      target?: FetchedUser | null;
      head?: number;
    }
  | undefined
> {
  const row:
    | ({ c_identities?: IdentityRow[]; c_target?: FetchedUser | null; c_head?: number | null } & NonNullable<
        Awaited<ReturnType<typeof callerRow.first>>
      >)
    | undefined =
    extra && "target" in extra
      ? await callerRowWithUser.first(db, orgId, number, jti, extra.target)
      : extra && "identities" in extra
        ? await callerRowWithIdentities.first(db, orgId, number, jti)
        : extra && "head" in extra
          ? await callerRowWithHead.first(db, orgId, number, jti)
          : await callerRow.first(db, orgId, number, jti);
  if (!row) return undefined;
  const {
    c_identities: identities,
    c_target: fetched,
    c_head: head,
    t_subject,
    t_type,
    t_scopes,
    t_generation,
    t_expires_at,
    t_revoked_at,
    t_maker_generation,
    m_role,
    m_state,
    m_generation,
    ...user
  } = row;
  const token =
    t_subject === null || t_type === null || t_generation === null || t_expires_at === null
      ? undefined
      : {
          subject: Number(t_subject),
          type: t_type,
          scopes: t_scopes,
          generation: Number(t_generation),
          expiresAt: Math.floor(Date.parse(t_expires_at) / 1000),
          revoked: t_revoked_at !== null,
          makerHolds:
            t_type !== "pat:act-as" ||
            (m_role === "admin" &&
              m_state === "active" &&
              m_generation !== null &&
              t_maker_generation !== null &&
              Number(m_generation) === Number(t_maker_generation)),
        };
  if (extra && "target" in extra) return { user, token, target: fetched ?? null };
  if (extra && "head" in extra) return { user, token, head: Number(head ?? 0) };
  return identities === undefined ? { user, token } : { user, token, identities };
}

export async function insertAuthToken(db: Kysely<Database>, row: NewAuthToken): Promise<AuthTokenRow> {
  return db.insertInto("auth_tokens").values(row).returningAll().executeTakeFirstOrThrow();
}

export function findAuthToken(db: Kysely<Database>, orgId: number, jti: string): Promise<AuthTokenRow | undefined> {
  return db.selectFrom("auth_tokens").selectAll().where("org_id", "=", orgId).where("jti", "=", jti).executeTakeFirst();
}

/** Which live tokens: a subject's, or those a dev user made; of one type, or any. */
export interface LiveTokenFilter {
  subject?: number;
  createdBy?: number;
  type?: AuthTokenRow["type"];
}

/**
 * Live tokens (not revoked, not expired at `now`, and of their subject's current generation:
 * a deactivation since ended them), oldest first.
 */
function live(db: Kysely<Database>, orgId: number, f: LiveTokenFilter, now: string) {
  let q = db
    .selectFrom("auth_tokens")
    .innerJoin("dev_users as s", (join) =>
      join
        .onRef("s.org_id", "=", "auth_tokens.org_id")
        .onRef("s.number", "=", "auth_tokens.subject")
        .onRef("s.token_generation", "=", "auth_tokens.generation"),
    )
    .where("auth_tokens.org_id", "=", orgId)
    .where("auth_tokens.revoked_at", "is", null)
    .where("auth_tokens.expires_at", ">", now);
  if (f.subject !== undefined) q = q.where("auth_tokens.subject", "=", f.subject);
  if (f.createdBy !== undefined)
    q = q.where("auth_tokens.created_by_type", "=", "dev_user").where("auth_tokens.created_by", "=", f.createdBy);
  if (f.type !== undefined) q = q.where("auth_tokens.type", "=", f.type);
  return q;
}

export function liveAuthTokens(
  db: Kysely<Database>,
  orgId: number,
  f: LiveTokenFilter,
  now: string,
): Promise<AuthTokenRow[]> {
  return live(db, orgId, f, now).selectAll("auth_tokens").orderBy("auth_tokens.id").execute();
}

export async function countLiveAuthTokens(
  db: Kysely<Database>,
  orgId: number,
  f: LiveTokenFilter,
  now: string,
): Promise<number> {
  const row = await live(db, orgId, f, now).select(sql<number>`count(*)`.as("n")).executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Forgets a subject's tokens revoked or expired before `cutoff`: they can no longer be shown. */
export async function deleteDeadAuthTokens(
  db: Kysely<Database>,
  orgId: number,
  subject: number,
  cutoff: string,
): Promise<void> {
  await db
    .deleteFrom("auth_tokens")
    .where("org_id", "=", orgId)
    .where("subject", "=", subject)
    .where((eb) => eb.or([eb("revoked_at", "<", cutoff), eb("expires_at", "<", cutoff)]))
    .execute();
}

export async function updateAuthToken(
  db: Kysely<Database>,
  id: number,
  patch: Partial<Pick<AuthTokenRow, "token_hint" | "modified_date" | "modified_by" | "revoked_at">>,
): Promise<AuthTokenRow> {
  return db.updateTable("auth_tokens").set(patch).where("id", "=", id).returningAll().executeTakeFirstOrThrow();
}

/** Revokes a live token of the org by jti and returns its row; undefined if it was revoked already. */
export function revokeAuthTokenIfLive(
  db: Kysely<Database>,
  orgId: number,
  jti: string,
  now: string,
  by: number,
): Promise<AuthTokenRow | undefined> {
  return db
    .updateTable("auth_tokens")
    .set({ revoked_at: now, modified_date: now, modified_by: by })
    .where("org_id", "=", orgId)
    .where("jti", "=", jti)
    .where("revoked_at", "is", null)
    .returningAll()
    .executeTakeFirst();
}

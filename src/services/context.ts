import type { Db } from "../db/database.js";
import type { FetchedUser, TokenState } from "../db/repositories/auth-tokens.js";
import type { DevUserRow, IdentityRow } from "../db/types.js";
import type { Operation } from "./journal.js";
import type { Scope } from "./scopes.js";

/** Who is calling: read from a verified token and a fresh look at the user row. */
export interface Caller {
  userId: number;
  orgId: number;
  org: string;
  role: "admin" | "member";
  /** The caller's row as read when the request was authenticated: saves a query in hydrate. */
  row?: DevUserRow;
  /** The caller's identities, when authentication read them with the row (PostgreSQL, self). */
  identities?: IdentityRow[];
  /** The user this request asks for, by number, read with the caller (null: the org has none). */
  fetched?: { number: number; user: FetchedUser | null };
  /** The org's journal head on the primary, read with the caller for a page a replica serves. */
  journalHead?: number;
  /** What is remembered about the caller between requests, where the database can tell. */
  memo?: CallerMemo;
  /** The request's id (Fastify's), recorded with every change it makes. */
  requestId?: string;
  /** The token the request came with; absent for callers outside a request (CLI, harness). */
  token?: CallerToken;
}

/**
 * An identity provider calling under /scim/v2 with its connection's token: it acts in the
 * connection's org only, and its writes are journalled with the connection as the actor.
 */
export interface ScimCaller {
  connectionId: number;
  /** The connection's number in its org (the `<n>` of its DON). */
  number: number;
  orgId: number;
  org: string;
  /** What its users' linked identities carry as their issuer (externalId is the id). */
  issuer: string;
  defaultRole: "admin" | "member";
  requestId?: string;
}

/** The calling token, as its claims and its row say. */
export interface CallerToken {
  jti: string;
  type: "pat" | "pat:act-as" | "session:onetime";
  /** Undefined for the user's full rights. */
  scopes: ReadonlySet<Scope> | undefined;
  /** Seconds since the epoch. */
  issuedAt: number;
  expiresAt: number;
}

/**
 * The caller's row, and its identities once read, kept across requests for as long as the
 * database's data version holds: any write, by this process or another, ends it. Authentication
 * checks the version at the start of every request; within the request, `current` only asks
 * whether the request has written since (no I/O).
 */
export class CallerMemo {
  identities?: IdentityRow[];

  constructor(
    private readonly db: Db,
    readonly version: number,
    readonly row: DevUserRow,
    readonly token: TokenState,
  ) {}

  get current(): boolean {
    return this.db.lastDataVersion() === this.version;
  }
}

/** What every service needs: the database, and a clock tests can pin. */
export interface Deps {
  db: Db;
  now: () => string;
  /** Whether webhooks may point at private addresses (WEBHOOK_PRIVATE_TARGETS); false if unset. */
  allowPrivateWebhookTargets?: boolean;
  /**
   * Told after every journalled write commits, with the operations it recorded (the delivery
   * worker starts a round at once, or, while no webhook is active, only for a webhook's change).
   */
  changed?: (operations: readonly Operation[]) => void;
}

export const systemClock = () => new Date().toISOString();

// Signing keys live in the database so every instance and the CLI sign and verify alike.
import { randomUUID } from "node:crypto";
import { type CryptoKey, exportJWK, generateKeyPair, importJWK, type JWK } from "jose";
import type { Kysely } from "kysely";
import { activeSigningKeys, insertSigningKey, retireSigningKey } from "../db/repositories/signing-keys.js";
import type { Database } from "../db/types.js";

export const ALG = "EdDSA";
/** How stale the in-memory key set may get: bounds how long a retired key keeps working. */
const REFRESH_MS = 1000;
const FORCED_RELOAD_MS = 50;

export async function createSigningKey(db: Kysely<Database>, now: string): Promise<string> {
  const { privateKey, publicKey } = await generateKeyPair(ALG, { crv: "Ed25519", extractable: true });
  const kid = randomUUID();
  await insertSigningKey(db, {
    kid,
    alg: ALG,
    private_jwk: JSON.stringify(await exportJWK(privateKey)),
    public_jwk: JSON.stringify(await exportJWK(publicKey)),
    created_date: now,
    retired_date: null,
  });
  return kid;
}

/** Makes sure one active key exists (first start). */
export async function ensureSigningKey(db: Kysely<Database>, now: string): Promise<void> {
  const keys = await activeSigningKeys(db);
  if (keys.length === 0) await createSigningKey(db, now);
}

export async function retireKey(db: Kysely<Database>, kid: string, now: string): Promise<boolean> {
  return (await retireSigningKey(db, kid, now)) > 0;
}

interface LoadedKey {
  kid: string;
  publicKey: CryptoKey;
  privateJwk: JWK;
}

export class KeyRing {
  private keys = new Map<string, LoadedKey>();
  private newest: LoadedKey | undefined;
  private loadedAt = 0;
  private lastForced = 0;
  private loading: Promise<void> | undefined;

  constructor(private readonly db: Kysely<Database>) {}

  private async load(): Promise<void> {
    const rows = await activeSigningKeys(this.db);
    const next = new Map<string, LoadedKey>();
    for (const row of rows) {
      const known = this.keys.get(row.kid);
      next.set(
        row.kid,
        known ?? {
          kid: row.kid,
          publicKey: (await importJWK(JSON.parse(row.public_jwk) as JWK, row.alg)) as CryptoKey,
          privateJwk: JSON.parse(row.private_jwk) as JWK,
        },
      );
    }
    this.keys = next;
    this.newest = rows[0] ? next.get(rows[0].kid) : undefined;
    this.loadedAt = Date.now();
  }

  /** Reloads when stale; concurrent callers share one reload. */
  async refresh(force = false): Promise<void> {
    if (!force && Date.now() - this.loadedAt < REFRESH_MS) return;
    this.loading ??= this.load().finally(() => {
      this.loading = undefined;
    });
    await this.loading;
  }

  async verificationKey(kid: string): Promise<CryptoKey | undefined> {
    await this.refresh();
    // A key added since the last load (`keys rotate`, another instance): look again at once, so
    // its first tokens work everywhere. Lookups wait for a reload already under way, and tokens
    // with made-up key ids cannot start one more than 20 times a second.
    if (!this.keys.has(kid)) {
      if (this.loading) await this.loading;
      else if (Date.now() - this.lastForced >= FORCED_RELOAD_MS) {
        this.lastForced = Date.now();
        await this.refresh(true);
      }
    }
    return this.keys.get(kid)?.publicKey;
  }

  isActive(kid: string): boolean {
    return this.keys.has(kid);
  }

  async signingKey(): Promise<{ kid: string; key: CryptoKey }> {
    await this.refresh(true);
    const newest = this.newest;
    if (!newest) throw new Error("no active signing key: run `devusers keys rotate`");
    return { kid: newest.kid, key: (await importJWK(newest.privateJwk, ALG)) as CryptoKey };
  }
}

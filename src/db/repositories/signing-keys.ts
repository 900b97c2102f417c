import type { Kysely } from "kysely";
import type { Database, SigningKeyRow } from "../types.js";

export async function activeSigningKeys(db: Kysely<Database>): Promise<SigningKeyRow[]> {
  return db
    .selectFrom("signing_keys")
    .selectAll()
    .where("retired_date", "is", null)
    .orderBy("created_date", "desc")
    .orderBy("kid", "desc")
    .execute();
}

export async function allSigningKeys(db: Kysely<Database>): Promise<SigningKeyRow[]> {
  return db.selectFrom("signing_keys").selectAll().orderBy("created_date").orderBy("kid").execute();
}

export async function insertSigningKey(db: Kysely<Database>, row: SigningKeyRow): Promise<void> {
  await db.insertInto("signing_keys").values(row).execute();
}

export async function retireSigningKey(db: Kysely<Database>, kid: string, now: string): Promise<number> {
  const res = await db
    .updateTable("signing_keys")
    .set({ retired_date: now })
    .where("kid", "=", kid)
    .where("retired_date", "is", null)
    .executeTakeFirst();
  return Number(res.numUpdatedRows);
}

// Frozen in time. A user's token generation: every token carries the generation it was minted in,
// and deactivation moves it on, so that tokens from before a deactivation never work again, even
// once the user is re-activated.
import type { Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable("dev_users")
    .addColumn("token_generation", "integer", (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("dev_users").dropColumn("token_generation").execute();
}

import { sql, type Kysely } from 'kysely';

// A product's picture: a path served by Fulcrum (`/images/demo/mug.svg`) or an https URL; null when unset.
// The API validates the form (catalog.schemas.ts); the check only bounds the length.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table products add column image_url text check (length(image_url) <= 2048)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table products drop column image_url`.execute(db);
}

import { sql, type Kysely } from 'kysely';

// An image uploaded for a product (PUT /api/v1/admin/products/:id/image), kept in the database so that backups,
// replicas and every API process see it without a shared disk. One per product; replacing it overwrites the row.
// The API checks the type by the bytes' signature and the size (2 MiB); the checks here bound what may be stored.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table product_images (
      product_id text primary key references products (id) on delete cascade,
      content_type text not null check (content_type in ('image/png', 'image/jpeg', 'image/webp')),
      bytes bytea not null check (octet_length(bytes) between 1 and 2097152),
      etag text not null check (length(etag) between 1 and 64),
      created_at timestamptz not null
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table product_images`.execute(db);
}

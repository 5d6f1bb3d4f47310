import { sql, type Kysely } from 'kysely';

// Issue 12: an admin can disable an account (PATCH /api/v1/admin/users/:id { disabled: true }). Null: enabled.
// Every authenticated request and socket handshake reads it (by primary key), so a disabled account's access
// tokens stop working at its next request.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table users add column disabled_at timestamptz`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table users drop column disabled_at`.execute(db);
}

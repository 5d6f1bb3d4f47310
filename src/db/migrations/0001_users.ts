import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table users (
      id text primary key,
      email text not null,
      name text not null,
      password_hash text not null,
      role text not null default 'customer' check (role in ('customer', 'support', 'admin')),
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    )`.execute(db);
  await sql`create unique index users_email_key on users (lower(email))`.execute(db);

  // Opaque refresh tokens, stored as SHA-256 hashes; a family is one login's rotation chain.
  await sql`
    create table refresh_tokens (
      id text primary key,
      user_id text not null references users (id) on delete cascade,
      family_id text not null,
      token_hash text not null unique,
      created_at timestamptz not null default now(),
      expires_at timestamptz not null,
      used_at timestamptz,
      revoked_at timestamptz
    )`.execute(db);
  await sql`create index refresh_tokens_family_idx on refresh_tokens (family_id)`.execute(db);
  await sql`create index refresh_tokens_user_idx on refresh_tokens (user_id)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table refresh_tokens`.execute(db);
  await sql`drop table users`.execute(db);
}

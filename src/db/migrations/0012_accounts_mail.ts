import { sql, type Kysely } from 'kysely';

// Issue 16: accounts a customer can recover (password reset, e-mail verification and change, deletion) and the mail
// every shop sends, made by the worker from the outbox and kept in `mails` (the record of what was sent, per event).
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table users add column email_verified_at timestamptz`.execute(db);
  // An address the user asked to move to: it replaces `email` once its verification token is used.
  await sql`alter table users add column pending_email text`.execute(db);
  // Set when the account was deleted: its personal data is erased, the row stays for its orders and payments.
  await sql`alter table users add column deleted_at timestamptz`.execute(db);
  // Accounts that existed before verification was asked for keep working as they did: counted as verified.
  await sql`update users set email_verified_at = created_at`.execute(db);

  // Single-use tokens mailed to the user (password reset, e-mail verification); only their SHA-256 is stored.
  await sql`
    create table account_tokens (
      id text primary key,
      user_id text not null references users (id) on delete cascade,
      purpose text not null check (purpose in ('password_reset', 'verify_email')),
      token_hash text not null unique,
      -- verify_email: the address this token verifies (the current one, or the pending new one).
      email text,
      created_at timestamptz not null default now(),
      expires_at timestamptz not null,
      used_at timestamptz
    )`.execute(db);
  await sql`create index account_tokens_user_idx on account_tokens (user_id, purpose)`.execute(db);

  // Every mail Fulcrum made: one per event (event_key), sent by the worker, kept for admins to read.
  await sql`
    create table mails (
      id text primary key,
      event_key text not null unique,
      user_id text references users (id) on delete set null,
      to_address text not null,
      subject text not null,
      text_body text not null,
      html_body text not null,
      status text not null default 'pending' check (status in ('pending', 'sent', 'failed')),
      attempts integer not null default 0,
      last_error text,
      next_attempt_at timestamptz not null default now(),
      -- While a worker is sending it; a claim left by a dead worker is never sent again (at most once).
      locked_until timestamptz,
      created_at timestamptz not null default now(),
      sent_at timestamptz
    )`.execute(db);
  // The sender's queue: pending mails that are due.
  await sql`create index mails_due_idx on mails (next_attempt_at) where status = 'pending'`.execute(db);
  // The admin list, newest first, optionally by recipient and status.
  await sql`create index mails_created_idx on mails (created_at desc, id desc)`.execute(db);
  await sql`create index mails_to_idx on mails (lower(to_address), created_at desc, id desc)`.execute(db);

  // The mail sink of the outbox: set once the worker made the event's mails (or found it needs none).
  await sql`alter table outbox add column mailed_at timestamptz`.execute(db);
  // Events committed before this migration make no mail.
  await sql`update outbox set mailed_at = now()`.execute(db);
  await sql`create index outbox_unmailed_idx on outbox (id) where mailed_at is null`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index outbox_unmailed_idx`.execute(db);
  await sql`alter table outbox drop column mailed_at`.execute(db);
  await sql`drop table mails`.execute(db);
  await sql`drop table account_tokens`.execute(db);
  await sql`alter table users drop column deleted_at`.execute(db);
  await sql`alter table users drop column pending_email`.execute(db);
  await sql`alter table users drop column email_verified_at`.execute(db);
}

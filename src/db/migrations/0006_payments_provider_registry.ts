import { sql, type Kysely } from 'kysely';

// Payment providers are chosen by the application (the payments runtime's set,
// src/modules/payments/providers/provider-set.ts), which validates every name it stores; a check listing them here would make each new provider a migration too.
// Postgres named 0003's inline check `payments_provider_check`.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table payments drop constraint if exists payments_provider_check`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table payments add constraint payments_provider_check check (provider in ('stripe', 'manual'))`.execute(db);
}

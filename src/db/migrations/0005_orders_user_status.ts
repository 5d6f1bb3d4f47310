import { sql, type Kysely } from 'kysely';

// A customer's order list filtered by status (`GET /orders?status=` by its owner, or staff with
// `userId` and `status`): served by its own index instead of filtering every order of that status.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create index orders_user_status_created_idx on orders (user_id, status, created_at desc, id desc)`.execute(
    db,
  );
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index orders_user_status_created_idx`.execute(db);
}

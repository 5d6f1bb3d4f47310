import { sql } from 'kysely';
import type { Executor } from '../../db/database.ts';

/** Orders placed since `since`, and what the paid ones brought in (total less refunds), per currency. */
export async function ordersSince(
  db: Executor,
  since: Date,
): Promise<{ orders: number; revenue: { currency: string; amount: number }[] }> {
  // A range on created_at: orders_created_idx.
  const rows = await db
    .selectFrom('orders')
    .select([
      'currency',
      (eb) => eb.fn.countAll<string>().as('orders'),
      sql<string>`coalesce(sum(total_amount - refunded_amount) filter (where paid_at is not null), 0)`.as('revenue'),
      sql<string>`count(*) filter (where paid_at is not null)`.as('paid'),
    ])
    .where('created_at', '>=', since)
    .groupBy('currency')
    .orderBy('currency')
    .execute();
  return {
    orders: rows.reduce((n, r) => n + Number(r.orders), 0),
    revenue: rows.filter((r) => Number(r.paid) > 0).map((r) => ({ currency: r.currency, amount: Number(r.revenue) })),
  };
}

/** Orders placed per minute from `since` on (minutes without orders are absent). */
export async function ordersPerMinute(db: Executor, since: Date): Promise<Map<number, number>> {
  const rows = await db
    .selectFrom('orders')
    .select([sql<Date>`date_trunc('minute', created_at)`.as('minute'), (eb) => eb.fn.countAll<string>().as('orders')])
    .where('created_at', '>=', since)
    .groupBy(sql`date_trunc('minute', created_at)`)
    .execute();
  return new Map(rows.map((r) => [new Date(r.minute).getTime(), Number(r.orders)]));
}

/** Rows of the webhook inbox not processed: waiting (pending), between tries (failed) and given up (dead). */
export async function inboxDepth(db: Executor): Promise<{ pending: number; failed: number; dead: number }> {
  // webhook_inbox_status_received_idx; processed rows are not read.
  const rows = await db
    .selectFrom('webhook_inbox')
    .select(['status', (eb) => eb.fn.countAll<string>().as('n')])
    .where('status', 'in', ['pending', 'failed', 'dead'])
    .groupBy('status')
    .execute();
  const count = (status: string) => Number(rows.find((r) => r.status === status)?.n ?? 0);
  return { pending: count('pending'), failed: count('failed'), dead: count('dead') };
}

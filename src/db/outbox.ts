import { sql, type QueryCreator, type RawBuilder } from 'kysely';
import type { Executor } from './database.ts';
import type { DB } from './schema.ts';

/** `order.updated` as docs/api.md's Socket.IO section sends it (without eventId, which the outbox row carries). */
export interface OrderUpdatedPayload {
  orderId: string;
  status: string;
  /** The order's current payment status; null until a payment exists. */
  paymentStatus: string | null;
  at: string;
}

export interface PaymentUpdatedPayload {
  paymentId: string;
  orderId: string;
  status: string;
  at: string;
}

export type OutboxMessage =
  { type: 'order.updated'; payload: OrderUpdatedPayload } | { type: 'payment.updated'; payload: PaymentUpdatedPayload };

export type AppendOutboxInput = OutboxMessage & { userId: string };

/**
 * Appends a message for one user inside the caller's transaction. It has no eventId yet: the outbox relay numbers
 * each user's rows 1, 2, 3… as it publishes them (realtime's `listUnpublishedForSockets`, or `numberEvents` for
 * RabbitMQ), so that transactions of one user never queue on a shared counter row (issue 11) and a rolled-back
 * transaction spends no number.
 */
export async function appendOutbox(trx: Executor, input: AppendOutboxInput): Promise<{ id: number }> {
  const row = await trx
    .insertInto('outbox')
    .values({ user_id: input.userId, type: input.type, payload: JSON.stringify(input.payload) })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { id: Number(row.id) };
}

/**
 * appendOutbox as a data-modifying CTE (`outbox_row`, or `name`) for a statement that writes several tables at once;
 * it writes only when the CTE named `gate` returns a row. The caller puts it in its WITH list.
 */
export function appendOutboxInline(input: AppendOutboxInput, gate: string, name = 'outbox_row'): RawBuilder<unknown> {
  return sql`
    ${sql.id(name)} as (
      insert into outbox (user_id, type, payload)
      select ${input.userId}::text, ${input.type}::text, ${JSON.stringify(input.payload)}::jsonb
      from ${sql.table(gate)}
      returning id
    )`;
}

/**
 * Marks outbox rows read by the mail pass (`mailed_at`, where it is still null). A builder, not a call: the mail
 * repository sends it alone or as a data-modifying CTE of the insert that makes the rows' mails (insertMails).
 */
export function markOutboxMailed(qb: QueryCreator<DB>, ids: readonly number[], now: Date) {
  return qb.updateTable('outbox').set({ mailed_at: now }).where('id', 'in', ids).where('mailed_at', 'is', null);
}

import { sql, type RawBuilder } from 'kysely';
import type { Executor } from './database.ts';

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
 * Appends a message for one user inside the caller's transaction, numbered with the user's next eventId.
 *
 * The counter upsert takes the user's counter row lock and holds it to commit, so two transactions of one
 * user commit in eventId order: a relay reading committed rows never sees eventId n+1 before n (no gaps at
 * the seam). Call it last in a transaction, after the other locks, so the counter lock is held briefly.
 */
export async function appendOutbox(trx: Executor, input: AppendOutboxInput): Promise<{ id: number; eventId: number }> {
  const result = await sql<{ id: number; event_id: number }>`
    with counter as (
      insert into user_event_counters (user_id, last_event_id) values (${input.userId}, 1)
      on conflict (user_id) do update set last_event_id = user_event_counters.last_event_id + 1
      returning last_event_id
    )
    insert into outbox (user_id, event_id, type, payload)
    select ${input.userId}, last_event_id, ${input.type}, ${JSON.stringify(input.payload)}::jsonb from counter
    returning id, event_id`.execute(trx);
  const row = result.rows[0];
  if (row === undefined) throw new Error('outbox insert returned no row');
  return { id: Number(row.id), eventId: Number(row.event_id) };
}

/**
 * appendOutbox as two data-modifying CTEs (`outbox_counter`, `outbox_row`) for a statement that writes several
 * tables at once; they write only when the CTE named `gate` returns a row. The caller puts them in its WITH list.
 */
export function appendOutboxInline(input: AppendOutboxInput, gate: string): RawBuilder<unknown> {
  return sql`
    outbox_counter as (
      insert into user_event_counters (user_id, last_event_id) select ${input.userId}::text, 1 from ${sql.table(gate)}
      on conflict (user_id) do update set last_event_id = user_event_counters.last_event_id + 1
      returning last_event_id
    ),
    outbox_row as (
      insert into outbox (user_id, event_id, type, payload)
      select ${input.userId}::text, last_event_id, ${input.type}::text, ${JSON.stringify(input.payload)}::jsonb
      from outbox_counter
      returning id
    )`;
}

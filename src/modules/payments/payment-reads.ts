import { sql } from 'kysely';
import type { Executor } from '../../db/database.ts';
import type { InboxChunk, InboxRow } from '../webhooks/index.ts';
import type { PaymentRef } from './facts.ts';
import { paymentColumnsSql } from './payment-columns.ts';
import * as repo from './payments.repository.ts';
import type { PaymentRow } from './payments.repository.ts';

/**
 * The first reads of one worker transaction's events (issue 11): every payment the chunk's events name is read in
 * one statement when the first of them needs it, instead of one read per event (a payment's sandbox sequence has
 * two events that name it). Each event's first read is then taken from these rows, kept as this transaction sees
 * them: a payment the transaction paid at once replaces its row (`wrote`), and any other write the confirmation
 * makes (the locked path may touch the order's other payments) drops them all, so the next event reads afresh
 * (`forget`). A ref these rows do not answer is read on its own (findPaymentByRef), as it was without them.
 */
export class PaymentReads {
  #rows: PaymentRow[] | undefined;
  readonly #refs: () => PaymentRef[];

  constructor(refs: () => PaymentRef[]) {
    this.#refs = refs;
  }

  async find(db: Executor, ref: PaymentRef): Promise<PaymentRow | undefined> {
    this.#rows ??= await paymentsForRefs(db, this.#refs());
    return pickByRef(this.#rows, ref) ?? repo.findPaymentByRef(db, ref);
  }

  /** This transaction wrote the payment: its row as written. */
  wrote(payment: PaymentRow): void {
    if (this.#rows !== undefined) this.#rows = this.#rows.map((row) => (row.id === payment.id ? payment : row));
  }

  /** This transaction wrote something else: read again. */
  forget(): void {
    this.#rows = undefined;
  }
}

const MEMO = 'payments.reads';

/** The chunk's PaymentReads, made on its first use; `refOf` names the payment a row's event is about. */
export function paymentReadsOf(chunk: InboxChunk, refOf: (row: InboxRow) => PaymentRef | undefined): PaymentReads {
  let reads = chunk.memo.get(MEMO) as PaymentReads | undefined;
  if (reads === undefined) {
    reads = new PaymentReads(() => chunk.rows.flatMap((row) => refOf(row) ?? []));
    chunk.memo.set(MEMO, reads);
  }
  return reads;
}

/**
 * Every payment any of these refs may name, in one statement: what `pickByRef` chooses from for a chunk of gateway
 * events (payment-reads.ts).
 */
export async function paymentsForRefs(db: Executor, refs: readonly PaymentRef[]): Promise<PaymentRow[]> {
  const all = (key: keyof PaymentRef) => [...new Set(refs.flatMap((ref) => (ref[key] === null ? [] : [ref[key]])))];
  const [ids, sessions, intents] = [all('paymentId'), all('sessionId'), all('paymentIntentId')];
  if (ids.length + sessions.length + intents.length === 0) return [];
  const { rows } = await sql<PaymentRow>`
    select ${paymentColumnsSql()} from payments
    where id = any(${ids}::text[]) or gateway_session_id = any(${sessions}::text[])
      or gateway_payment_intent_id = any(${intents}::text[])`.execute(db);
  return rows;
}

/**
 * The payment a ref names among `rows`, by findPaymentByRef's rule: by our id (unless its stored session
 * contradicts the ref's), else by the session, else by the payment intent.
 */
export function pickByRef(rows: readonly PaymentRow[], ref: PaymentRef): PaymentRow | undefined {
  if (ref.paymentId !== null) {
    const byId = rows.find((row) => row.id === ref.paymentId);
    if (
      byId !== undefined &&
      (ref.sessionId === null || byId.gateway_session_id === null || byId.gateway_session_id === ref.sessionId)
    ) {
      return byId;
    }
  }
  if (ref.sessionId !== null) {
    const bySession = rows.find((row) => row.gateway_session_id === ref.sessionId);
    if (bySession !== undefined) return bySession;
  }
  if (ref.paymentIntentId !== null) return rows.find((row) => row.gateway_payment_intent_id === ref.paymentIntentId);
  return undefined;
}

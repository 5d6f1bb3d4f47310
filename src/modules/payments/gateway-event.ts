import type { Db, Tx } from '../../db/database.ts';
import type { AfterCommit } from '../../db/transaction.ts';
import type { HandledEvent, InboxChunk, InboxQuickHandler, InboxRow } from '../webhooks/index.ts';
import { applyPaymentFact, decideOnFirstRead } from './confirmation.ts';
import type { PaymentsDeps } from './deps.ts';
import { describeOutcome, type PaymentOutcome } from './outcome.ts';
import type { PaymentRef } from './facts.ts';
import { markPaidAtOnce } from './paid-at-once.ts';
import { paymentReadsOf } from './payment-reads.ts';
import { issueRefunds } from './payments.service.ts';
import type { EventTranslation } from './providers/index.ts';

/**
 * At intake, for a verified event: its outcome when the provider does not act on its type (the worker would store
 * exactly this without reading anything), else undefined. An event that cannot be translated is the worker's to
 * judge (it fails and retries there, as before).
 */
export function outcomeAtIntake(translate: (payload: unknown) => EventTranslation, event: unknown): string | undefined {
  let translated: EventTranslation;
  try {
    translated = translate(event);
  } catch {
    return undefined;
  }
  return 'ignored' in translated ? describeOutcome({ kind: 'event_ignored', why: translated.ignored }) : undefined;
}

/**
 * The inbox worker's handler for a gateway event (webhook, or found by reconciliation), inside the worker's
 * transaction: the row's provider translates the stored event into a payment fact (`translateEvent`, e.g.
 * stripe-events.ts `factOfEvent`), applyPaymentFact applies it, and what it decided is stored as the row's
 * outcome. Refunds the confirmation recorded are asked of the gateway after the commit.
 */
export async function handleGatewayEvent(
  deps: PaymentsDeps,
  trx: Tx,
  row: InboxRow,
  after: AfterCommit,
  chunk?: InboxChunk,
): Promise<HandledEvent> {
  const translate = deps.providers[row.provider]?.translateEvent;
  const done = (outcome: PaymentOutcome): HandledEvent => ({ outcome: describeOutcome(outcome) });
  if (translate === undefined) return done({ kind: 'unknown_provider', provider: row.provider });
  const translated = translate(row.payload);
  if ('ignored' in translated) return done({ kind: 'event_ignored', why: translated.ignored });
  const reads = chunk === undefined ? undefined : paymentReadsOf(chunk, (r) => refOfEvent(deps, r));
  const result = await applyPaymentFact(trx, translated.fact, webhookContext(deps), reads);
  const refunds = result.refundsToIssue;
  if (refunds.length > 0) {
    // Failed: the event is applied; what follows (a refund request) is retried by reconciliation.
    after(() => issueRefunds(deps, refunds), {
      logger: deps.logger,
      message: 'work after a webhook event failed',
      fields: { inboxId: row.id },
    });
  }
  return done(result.outcome);
}

/**
 * The handler's quick path for a row the worker claimed alone (webhooks' InboxQuickHandler), without a transaction,
 * for the two commonest events: one that changes nothing (a repeated confirmation, an unknown payment, …: decided on
 * the first read, decideOnFirstRead, the row marked on its own) and the common confirmation (markPaidAtOnce, the row marked in the same statement). Two
 * statements instead of five (BEGIN, read, write, mark, COMMIT). Anything else — or a guard of the one statement
 * failing, which then wrote nothing — answers undefined: the worker applies the row with handleGatewayEvent in a
 * transaction, as before.
 */
export async function quickGatewayEvent(
  deps: PaymentsDeps,
  db: Db,
  row: InboxRow,
  finish: Parameters<InboxQuickHandler>[2],
): Promise<HandledEvent | undefined> {
  const translated = deps.providers[row.provider]?.translateEvent?.(row.payload);
  if (translated === undefined || 'ignored' in translated) return undefined;
  const { fact } = translated;
  const first = await decideOnFirstRead(db, fact);
  if ('decided' in first) {
    const outcome = describeOutcome(first.decided.outcome);
    return (await finish.alone(outcome)) ? { outcome } : undefined;
  }
  if (fact.kind !== 'paid') return undefined;
  const outcome = describeOutcome({ kind: 'paid', from: 'PENDING' });
  const paid = await markPaidAtOnce(db, first.found, fact, webhookContext(deps), finish.inline(outcome, 'paid_order'));
  return paid === undefined ? undefined : { outcome };
}

/** Who applies a gateway event, and when. */
const webhookContext = (deps: PaymentsDeps) => ({ at: deps.clock.now(), actor: 'system:webhook' });

/**
 * The inbox worker's lane for a row: the payment its event is about (its id, else its session or payment intent), so
 * that one payment's events are applied in one lane; undefined for what names no payment.
 */
export function paymentOfEvent(deps: Pick<PaymentsDeps, 'providers'>, row: InboxRow): string | undefined {
  const ref = refOfEvent(deps, row);
  return ref === undefined ? undefined : (ref.paymentId ?? ref.sessionId ?? ref.paymentIntentId ?? undefined);
}

/** The payment a row's event names, as its provider translates it; undefined for what names none. */
function refOfEvent(deps: Pick<PaymentsDeps, 'providers'>, row: InboxRow): PaymentRef | undefined {
  try {
    const translated = deps.providers[row.provider]?.translateEvent?.(row.payload);
    return translated === undefined || 'ignored' in translated ? undefined : translated.fact.ref;
  } catch {
    return undefined;
  }
}

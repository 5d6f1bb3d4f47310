// What applying one payment fact decided, as data. The inbox stores it as text (webhook_inbox.outcome, shown by
// GET /admin/webhook-events): describeOutcome is the one place that text is written.
import type { RefundStatusColumn } from '../../db/schema.ts';
import type { OrderStatus } from '../orders/index.ts';
import { describeMoney } from './payment-events.ts';
import type { PaymentStatus } from './payment-status.ts';

export interface ConfirmContext {
  at: Date;
  /** Who reported the fact, for the audit trail: `system:webhook`, `system:reconciliation`, an admin's id. */
  actor: string;
}

interface Money {
  amount: number;
  currency: string;
}

/** A fact the payment's status makes moot (a decline for a paid payment, a late failure, …). */
export type IgnorableFact = 'processing' | 'declined' | 'failed' | 'expired' | 'canceled';

/** What a refund fact did to the refund it is about. */
export type RefundChange =
  | { kind: 'recorded'; refundId: string; status: RefundStatusColumn }
  | { kind: 'moved'; refundId: string; from: RefundStatusColumn; to: RefundStatusColumn }
  | { kind: 'linked'; refundId: string };

export type PaymentOutcome =
  /** No payment matches the fact's references. */
  | { kind: 'unknown_payment' }
  | { kind: 'ignored'; fact: IgnorableFact; status: PaymentStatus }
  /** The fact was applied before: nothing changes. */
  | { kind: 'duplicate'; of: 'status' | 'held_money'; status: PaymentStatus }
  | { kind: 'duplicate'; of: 'processing' | 'decline' }
  | { kind: 'duplicate'; of: 'refund'; refundId: string; status: RefundStatusColumn }
  /** Still PENDING: the money is on its way (the customer was told once). */
  | { kind: 'processing' }
  /** Still PENDING: one attempt declined, the checkout stays open. */
  | { kind: 'declined'; reason: string }
  | { kind: 'closed'; to: 'FAILED' | 'EXPIRED' }
  | { kind: 'canceled'; reason: string }
  | { kind: 'open' }
  /** Mismatched money held for an admin (held-money.ts). */
  | { kind: 'flagged'; reason: string }
  /** SUCCEEDED, and the order CREATED -> PAID. */
  | { kind: 'paid'; from: PaymentStatus }
  /** SUCCEEDED for an order closed meanwhile: refunded in full (refundId null: nothing was left to refund). */
  | { kind: 'paid_closed_order'; from: PaymentStatus; order: OrderStatus; refundId: string | null }
  /** Money that will never be the order's payment, recorded on the payment and refunded (held-money.ts). */
  | {
      kind: 'held_money_refunded';
      from: PaymentStatus;
      to: PaymentStatus;
      money: Money;
      why: string;
      refundId: string | null;
    }
  /** An admin refunded flagged money: PENDING -> CANCELED. */
  | { kind: 'flag_refunded'; refundId: string | null }
  | {
      kind: 'refund';
      change: RefundChange;
      /** The failed refund left money owed back: the payment is flagged for an admin. */
      flagged: boolean;
      payment: { from: PaymentStatus; to: PaymentStatus } | null;
    }
  /** The gateway's total refunded on the charge (informational) beside the succeeded refunds here. */
  | { kind: 'refund_total'; reported: Money; here: Money }
  /** An inbox row whose provider is not registered. */
  | { kind: 'unknown_provider'; provider: string }
  /** An event that is not a payment fact; `why` is the provider's word (`ignored: … is not handled`). */
  | { kind: 'event_ignored'; why: string };

/** What a confirmation did about one payment, and the refunds to ask of the gateway after commit. */
export interface ConfirmResult {
  outcome: PaymentOutcome;
  paymentId: string | null;
  /** Refunds recorded in this transaction that the gateway must be asked for after commit. */
  refundsToIssue: string[];
}

const money = (m: Money): string => describeMoney(m.amount, m.currency);

const ignoredAs: Record<IgnorableFact, string> = {
  processing: 'processing, payment already',
  declined: 'decline, payment already',
  failed: 'late failure, payment is',
  expired: 'expiry, payment is',
  canceled: 'cancel, payment is',
};

function describeRefund(o: Extract<PaymentOutcome, { kind: 'refund' }>): string {
  const { change } = o;
  let text =
    change.kind === 'recorded'
      ? `refund ${change.refundId} recorded from the gateway as ${change.status}`
      : change.kind === 'moved'
        ? `refund ${change.refundId} ${change.from} -> ${change.to}`
        : `refund ${change.refundId} linked`;
  if (o.flagged) text = `${text}; flagged for an admin`;
  return o.payment === null ? text : `${text}; payment ${o.payment.from} -> ${o.payment.to}`;
}

function describeDuplicate(o: Extract<PaymentOutcome, { kind: 'duplicate' }>): string {
  switch (o.of) {
    case 'status':
      return `duplicate: already ${o.status}`;
    case 'held_money':
      return `duplicate: money already recorded on the ${o.status} payment`;
    case 'processing':
      return 'duplicate: processing already recorded';
    case 'decline':
      return 'duplicate: decline already recorded';
    case 'refund':
      return `duplicate: refund ${o.refundId} already ${o.status}`;
  }
}

/** The outcome as the inbox stores it (docs/api.md § Webhook inbox: `PENDING -> SUCCEEDED; order CREATED -> PAID`). */
export function describeOutcome(o: PaymentOutcome): string {
  switch (o.kind) {
    case 'unknown_payment':
      return 'ignored: unknown payment';
    case 'ignored':
      return `ignored: ${ignoredAs[o.fact]} ${o.status}`;
    case 'duplicate':
      return describeDuplicate(o);
    case 'processing':
      return 'processing: waiting for the asynchronous payment';
    case 'declined':
      return `decline recorded (${o.reason}); payment stays PENDING`;
    case 'closed':
      return `PENDING -> ${o.to}`;
    case 'canceled':
      return `PENDING -> CANCELED (${o.reason})`;
    case 'open':
      return 'open: nothing to do';
    case 'flagged':
      return `flagged: ${o.reason}`;
    case 'paid':
      return `${o.from} -> SUCCEEDED; order CREATED -> PAID`;
    case 'paid_closed_order':
      return `${o.from} -> SUCCEEDED for a ${o.order} order; ${o.refundId === null ? 'nothing left to refund' : `refund ${o.refundId} issued`}`;
    case 'held_money_refunded': {
      const moved = o.from === o.to ? o.from : `${o.from} -> ${o.to}`;
      if (o.refundId === null) return `${moved}; money recorded, nothing to refund`;
      return `${moved}; ${money(o.money)} recorded and refunded as ${o.refundId} (${o.why})`;
    }
    case 'flag_refunded':
      return o.refundId === null
        ? 'PENDING -> CANCELED; nothing to refund'
        : `PENDING -> CANCELED; flagged money refunded as ${o.refundId}`;
    case 'refund':
      return describeRefund(o);
    case 'refund_total':
      return `noted: gateway reports ${money(o.reported)} refunded, succeeded refunds here ${money(o.here)}`;
    case 'unknown_provider':
      return `ignored: unknown provider ${o.provider}`;
    case 'event_ignored':
      return o.why;
  }
}

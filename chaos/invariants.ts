// The invariants checked after every chaos run (issue 15, point 2), each a named, pure check over a
// Snapshot: Fulcrum's tables, the gateway's (sandbox's) own records and what each customer's socket received.
// A check returns its violations; none means it holds.
import { orderTransitions, type OrderStatus } from '../src/modules/orders/order-status.ts';

export interface SnapshotOrder {
  id: string;
  user_id: string;
  status: OrderStatus;
  currency: string;
  total_amount: number;
  refunded_amount: number;
  stock_released_at: Date | null;
}

export interface SnapshotItem {
  order_id: string;
  product_id: string;
  quantity: number;
}

export interface SnapshotOrderEvent {
  order_id: string;
  seq: number;
  type: string;
  from_status: OrderStatus | null;
  to_status: OrderStatus;
  actor: string;
}

export interface SnapshotPayment {
  id: string;
  order_id: string;
  user_id: string;
  provider: string;
  status: 'PENDING' | 'SUCCEEDED' | 'FAILED' | 'EXPIRED' | 'CANCELED' | 'PARTIALLY_REFUNDED' | 'REFUNDED';
  amount: number;
  currency: string;
  refunded_amount: number;
  gateway_session_id: string | null;
  gateway_payment_intent_id: string | null;
  flagged_reason: string | null;
  captured_amount: number | null;
  captured_currency: string | null;
}

export interface SnapshotRefund {
  id: string;
  payment_id: string;
  gateway_refund_id: string | null;
  amount: number;
  currency: string;
  status: 'PENDING' | 'SUCCEEDED' | 'FAILED';
  failure_reason: string | null;
  initiated_by: string;
}

export interface SnapshotInboxRow {
  id: string;
  event_id: string;
  type: string;
  status: 'pending' | 'processed' | 'failed' | 'dead';
  attempts: number;
  last_error: string | null;
}

export interface SnapshotOutboxRow {
  user_id: string;
  event_id: number;
  type: string;
  orderId: string | null;
  status: string | null;
}

/** A payment intent as the gateway reports it (`GET /v1/payment_intents/:id`, charge expanded). */
export interface GatewayIntent {
  id: string;
  status: string;
  amount: number;
  currency: string;
  /** The charge's `amount_refunded` (succeeded refunds, and pending ones until they fail). */
  amountRefunded: number;
  /** `metadata.paymentId`: Fulcrum's payment. */
  paymentId: string | null;
}

export interface GatewayRefund {
  id: string;
  paymentIntent: string;
  amount: number;
  currency: string;
  status: string;
}

export interface SocketRecord {
  userId: string;
  /** Outbox events in arrival order, across reconnections. */
  received: { eventId: number; type: string; orderId: string | null; status: string | null }[];
}

export interface Snapshot {
  orders: SnapshotOrder[];
  items: SnapshotItem[];
  orderEvents: SnapshotOrderEvent[];
  payments: SnapshotPayment[];
  refunds: SnapshotRefund[];
  products: { id: string; stock: number }[];
  /** Stock each product was created with (nobody changes it afterwards in a run). */
  initialStock: Record<string, number>;
  inbox: SnapshotInboxRow[];
  outbox: SnapshotOutboxRow[];
  /** Payments an admin sees as flagged (`GET /api/v1/admin/payments?flagged=true`). */
  flaggedPaymentIds: string[];
  gateway: { intents: GatewayIntent[]; refunds: GatewayRefund[] };
  /** The customers whose sockets were followed during the run. */
  sockets: SocketRecord[];
}

export interface Violation {
  invariant: string;
  message: string;
  /** Orders, payments, refunds, users, events involved: the run's event log is filtered by them. */
  ids: string[];
}

export interface Invariant {
  name: string;
  description: string;
  check(s: Snapshot): Violation[];
}

const capturedStatuses: readonly SnapshotPayment['status'][] = ['SUCCEEDED', 'PARTIALLY_REFUNDED', 'REFUNDED'];
const paidOrLater: readonly OrderStatus[] = ['PAID', 'SHIPPED', 'DELIVERED'];

const isCaptured = (p: SnapshotPayment): boolean => capturedStatuses.includes(p.status);

/** Money the payment took from the customer: its amount once captured, else money held (flagged, late), else 0. */
export function capturedOf(p: SnapshotPayment): number {
  if (isCaptured(p)) return p.amount;
  return p.captured_amount ?? 0;
}

function refundsOf(s: Snapshot, paymentId: string): SnapshotRefund[] {
  return s.refunds.filter((r) => r.payment_id === paymentId);
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

/** Captured money not (yet) given back by a succeeded refund. */
export function unrefundedOf(s: Snapshot, p: SnapshotPayment): number {
  const refunded = sum(
    refundsOf(s, p.id)
      .filter((r) => r.status === 'SUCCEEDED')
      .map((r) => r.amount),
  );
  return capturedOf(p) - refunded;
}

function byId<T extends { id: string }>(rows: readonly T[]): Map<string, T> {
  return new Map(rows.map((r) => [r.id, r]));
}

function violation(invariant: string, message: string, ids: readonly (string | null | undefined)[]): Violation {
  return { invariant, message, ids: ids.filter((id): id is string => typeof id === 'string') };
}

const oneMoneyHoldingPayment: Invariant = {
  name: 'one-money-holding-payment',
  description: 'at most one payment per order holds money that has not been refunded',
  check(s) {
    const out: Violation[] = [];
    for (const order of s.orders) {
      const holding = s.payments.filter((p) => p.order_id === order.id && unrefundedOf(s, p) > 0);
      if (holding.length > 1) {
        const list = holding.map((p) => `${p.id} ${p.status} holds ${unrefundedOf(s, p)} ${p.currency}`).join(', ');
        out.push(
          violation(
            this.name,
            `order ${order.id} (${order.status}) has ${holding.length} payments holding money: ${list}`,
            [order.id, order.user_id, ...holding.map((p) => p.id)],
          ),
        );
      }
    }
    return out;
  },
};

const paidOrderHasItsPayment: Invariant = {
  name: 'paid-order-has-its-payment',
  description:
    'every PAID, SHIPPED or DELIVERED order has exactly one succeeded payment whose amount and currency equal its total, and the gateway took that money',
  check(s) {
    const out: Violation[] = [];
    const intents = byId(s.gateway.intents);
    for (const order of s.orders.filter((o) => paidOrLater.includes(o.status))) {
      const succeeded = s.payments.filter((p) => p.order_id === order.id && isCaptured(p));
      const ids = [order.id, order.user_id, ...succeeded.map((p) => p.id)];
      if (succeeded.length !== 1) {
        out.push(
          violation(
            this.name,
            `order ${order.id} is ${order.status} with ${succeeded.length} succeeded payments (${succeeded.map((p) => `${p.id} ${p.status}`).join(', ') || 'none'})`,
            ids,
          ),
        );
        continue;
      }
      const p = succeeded[0]!;
      if (p.amount !== order.total_amount || p.currency !== order.currency) {
        out.push(
          violation(
            this.name,
            `order ${order.id} totals ${order.total_amount} ${order.currency} but its payment ${p.id} is ${p.amount} ${p.currency}`,
            ids,
          ),
        );
      }
      if (p.provider !== 'stripe') continue;
      const intent = p.gateway_payment_intent_id === null ? undefined : intents.get(p.gateway_payment_intent_id);
      if (intent === undefined || intent.status !== 'succeeded') {
        out.push(
          violation(
            this.name,
            `order ${order.id} is ${order.status} but the gateway has no succeeded payment intent for ${p.id} (${p.gateway_payment_intent_id ?? 'no intent id'}${intent === undefined ? '' : `, ${intent.status}`})`,
            [...ids, p.gateway_payment_intent_id],
          ),
        );
      } else if (intent.amount !== p.amount || intent.currency !== p.currency) {
        out.push(
          violation(
            this.name,
            `payment ${p.id} of ${order.id} is ${p.amount} ${p.currency} but the gateway took ${intent.amount} ${intent.currency}`,
            [...ids, intent.id],
          ),
        );
      }
    }
    return out;
  },
};

const gatewayMoneyAccounted: Invariant = {
  name: 'gateway-money-accounted',
  description:
    'every payment the gateway says succeeded belongs to a PAID-or-later order, is refunded in full, or is flagged for an admin',
  check(s) {
    const out: Violation[] = [];
    const orders = byId(s.orders);
    const flagged = new Set(s.flaggedPaymentIds);
    for (const intent of s.gateway.intents.filter((i) => i.status === 'succeeded')) {
      const kept = intent.amount - intent.amountRefunded;
      if (kept <= 0) continue;
      // Only the payment that recorded this very intent accounts for it: a second intent of one payment (a
      // second session, a second charge) is money no payment holds, whatever its metadata says.
      const payment = s.payments.find((p) => p.gateway_payment_intent_id === intent.id);
      if (payment === undefined) {
        const named = s.payments.find((p) => p.id === intent.paymentId);
        out.push(
          violation(
            this.name,
            `the gateway kept ${kept} ${intent.currency} of ${intent.id}, which no payment records${named === undefined ? '' : ` (its metadata names ${named.id}, ${named.status}, whose intent is ${named.gateway_payment_intent_id ?? 'none'})`}`,
            [intent.id, intent.paymentId, named?.order_id, named?.user_id],
          ),
        );
        continue;
      }
      const order = orders.get(payment.order_id);
      const ids = [intent.id, payment.id, payment.order_id, payment.user_id];
      if (flagged.has(payment.id)) continue;
      if (order !== undefined && paidOrLater.includes(order.status) && isCaptured(payment)) continue;
      out.push(
        violation(
          this.name,
          `the gateway kept ${kept} ${intent.currency} of ${intent.id} for payment ${payment.id} (${payment.status}) of order ${payment.order_id} (${order?.status ?? 'missing'}), neither refunded nor flagged for an admin`,
          ids,
        ),
      );
    }
    return out;
  },
};

const cancelledMoneyRefunded: Invariant = {
  name: 'cancelled-money-refunded',
  description: 'money on a CANCELLED order is refunded in full (or flagged for an admin)',
  check(s) {
    const out: Violation[] = [];
    const flagged = new Set(s.flaggedPaymentIds);
    for (const order of s.orders.filter((o) => o.status === 'CANCELLED')) {
      for (const p of s.payments.filter((x) => x.order_id === order.id)) {
        const left = unrefundedOf(s, p);
        if (left > 0 && !flagged.has(p.id)) {
          const refunds = refundsOf(s, p.id)
            .map((r) => `${r.id} ${r.amount} ${r.status}${r.failure_reason === null ? '' : ` (${r.failure_reason})`}`)
            .join(', ');
          out.push(
            violation(
              this.name,
              `cancelled order ${order.id}: payment ${p.id} (${p.status}) still holds ${left} ${p.currency} of ${capturedOf(p)}; refunds: ${refunds || 'none'}`,
              [order.id, order.user_id, p.id, ...refundsOf(s, p.id).map((r) => r.id)],
            ),
          );
        }
      }
    }
    return out;
  },
};

const refundsWithinCaptured: Invariant = {
  name: 'refunds-within-captured',
  description: "refunded ≤ captured for every payment, and the payment's refunded amount is its succeeded refunds",
  check(s) {
    const out: Violation[] = [];
    for (const p of s.payments) {
      const refunds = refundsOf(s, p.id);
      const captured = capturedOf(p);
      const succeeded = sum(refunds.filter((r) => r.status === 'SUCCEEDED').map((r) => r.amount));
      const committed = sum(refunds.filter((r) => r.status !== 'FAILED').map((r) => r.amount));
      const ids = [p.id, p.order_id, p.user_id, ...refunds.map((r) => r.id)];
      if (committed > captured) {
        out.push(
          violation(
            this.name,
            `payment ${p.id} captured ${captured} but has ${committed} refunded or being refunded`,
            ids,
          ),
        );
      }
      if (p.refunded_amount > captured) {
        out.push(
          violation(this.name, `payment ${p.id} says ${p.refunded_amount} refunded of ${captured} captured`, ids),
        );
      }
      if (p.refunded_amount !== Math.min(succeeded, captured)) {
        out.push(
          violation(
            this.name,
            `payment ${p.id} says ${p.refunded_amount} refunded, its succeeded refunds add up to ${succeeded}`,
            ids,
          ),
        );
      }
    }
    return out;
  },
};

const gatewayStatus: Record<string, SnapshotRefund['status']> = {
  succeeded: 'SUCCEEDED',
  failed: 'FAILED',
  canceled: 'FAILED',
  pending: 'PENDING',
  requires_action: 'PENDING',
};

const gatewayRefundsMatch: Invariant = {
  name: 'gateway-refunds-match',
  description:
    "the gateway's refunds equal ours: each refund in both with the same amount and status, none missing on either side",
  check(s) {
    const out: Violation[] = [];
    const ours = new Map(s.refunds.filter((r) => r.gateway_refund_id !== null).map((r) => [r.gateway_refund_id!, r]));
    const payments = byId(s.payments);
    for (const g of s.gateway.refunds) {
      const r = ours.get(g.id);
      if (r === undefined) {
        out.push(
          violation(
            this.name,
            `gateway refund ${g.id} (${g.amount} ${g.currency}, ${g.status}) of ${g.paymentIntent} is not recorded`,
            [g.id, g.paymentIntent],
          ),
        );
        continue;
      }
      const p = payments.get(r.payment_id);
      const ids = [r.id, g.id, r.payment_id, p?.order_id, p?.user_id];
      if (r.amount !== g.amount || r.currency !== g.currency) {
        out.push(
          violation(
            this.name,
            `refund ${r.id} is ${r.amount} ${r.currency}, the gateway's ${g.id} ${g.amount} ${g.currency}`,
            ids,
          ),
        );
      }
      if (gatewayStatus[g.status] !== r.status) {
        out.push(violation(this.name, `refund ${r.id} is ${r.status}, the gateway's ${g.id} is ${g.status}`, ids));
      }
    }
    const known = new Set(s.gateway.refunds.map((g) => g.id));
    for (const r of s.refunds) {
      const p = payments.get(r.payment_id);
      const ids = [r.id, r.gateway_refund_id, r.payment_id, p?.order_id, p?.user_id];
      if (r.gateway_refund_id !== null && !known.has(r.gateway_refund_id)) {
        out.push(
          violation(
            this.name,
            `refund ${r.id} names gateway refund ${r.gateway_refund_id}, which the gateway does not have`,
            ids,
          ),
        );
      }
      if (r.gateway_refund_id === null && r.status !== 'FAILED' && p?.provider === 'stripe') {
        out.push(violation(this.name, `refund ${r.id} (${r.status}, ${r.amount}) was never sent to the gateway`, ids));
      }
    }
    return out;
  },
};

const stockConserved: Invariant = {
  name: 'stock-conserved',
  description: 'stock is never negative, and initial stock = current stock + units held by orders not cancelled',
  check(s) {
    const out: Violation[] = [];
    const status = new Map(s.orders.map((o) => [o.id, o.status]));
    for (const product of s.products) {
      const initial = s.initialStock[product.id];
      if (initial === undefined) continue; // not one of the run's products
      const heldBy = s.items.filter((i) => i.product_id === product.id && status.get(i.order_id) !== 'CANCELLED');
      const held = sum(heldBy.map((i) => i.quantity));
      if (product.stock < 0)
        out.push(violation(this.name, `product ${product.id} has stock ${product.stock}`, [product.id]));
      if (initial !== product.stock + held) {
        out.push(
          violation(
            this.name,
            `product ${product.id}: initial ${initial} ≠ stock ${product.stock} + ${held} held by ${heldBy.length} open orders`,
            [product.id, ...heldBy.map((i) => i.order_id)],
          ),
        );
      }
    }
    for (const order of s.orders) {
      const released = order.stock_released_at !== null;
      if (released !== (order.status === 'CANCELLED')) {
        out.push(
          violation(
            this.name,
            `order ${order.id} is ${order.status} with its stock ${released ? '' : 'not '}released`,
            [order.id, order.user_id],
          ),
        );
      }
    }
    return out;
  },
};

const orderHistory: Invariant = {
  name: 'order-history',
  description: "every order's history follows the state machine (order-status.ts) from CREATED to its current status",
  check(s) {
    const out: Violation[] = [];
    const events = new Map<string, SnapshotOrderEvent[]>();
    for (const e of s.orderEvents) {
      const list = events.get(e.order_id) ?? [];
      list.push(e);
      events.set(e.order_id, list);
    }
    for (const order of s.orders) {
      const history = (events.get(order.id) ?? []).sort((a, b) => a.seq - b.seq);
      const ids = [order.id, order.user_id];
      const first = history[0];
      if (first === undefined || first.from_status !== null || first.to_status !== 'CREATED') {
        out.push(violation(this.name, `order ${order.id} does not begin with its creation`, ids));
        continue;
      }
      let current: OrderStatus = 'CREATED';
      for (const e of history.slice(1)) {
        if (e.from_status !== current) {
          out.push(
            violation(
              this.name,
              `order ${order.id} event ${e.seq} ${e.type} starts from ${e.from_status} while the order was ${current}`,
              ids,
            ),
          );
          break;
        }
        if (e.to_status !== current && !(orderTransitions[current] as readonly OrderStatus[]).includes(e.to_status)) {
          out.push(
            violation(this.name, `order ${order.id} event ${e.seq} ${e.type} moves ${current} → ${e.to_status}`, ids),
          );
          break;
        }
        current = e.to_status;
      }
      if (current !== order.status) {
        out.push(violation(this.name, `order ${order.id} is ${order.status} but its history ends at ${current}`, ids));
      }
    }
    return out;
  },
};

const inboxProcessed: Invariant = {
  name: 'inbox-processed',
  description: 'no webhook inbox row is left pending, failed or dead (dead rows are listed with their reason)',
  check(s) {
    return s.inbox
      .filter((r) => r.status !== 'processed')
      .map((r) =>
        violation(
          this.name,
          `inbox row ${r.id} (${r.type} ${r.event_id}) is ${r.status} after ${r.attempts} attempts${r.last_error === null ? '' : `: ${r.last_error}`}`,
          [r.id, r.event_id],
        ),
      );
  },
};

const socketDelivery: Invariant = {
  name: 'socket-delivery',
  description:
    "every committed order change reached the customer's socket exactly once, in eventId order, and every status change of an order is in its owner's outbox",
  check(s) {
    const out: Violation[] = [];
    const outboxBy = new Map<string, SnapshotOutboxRow[]>();
    for (const row of s.outbox) {
      const list = outboxBy.get(row.user_id) ?? [];
      list.push(row);
      outboxBy.set(row.user_id, list);
    }
    for (const socket of s.sockets) {
      const expected = (outboxBy.get(socket.userId) ?? []).sort((a, b) => a.event_id - b.event_id);
      const got = socket.received;
      const describe = (e: { eventId?: number; event_id?: number; type: string; status: string | null }) =>
        `#${e.eventId ?? e.event_id} ${e.type} ${e.status ?? ''}`.trim();
      const n = Math.max(expected.length, got.length);
      for (let i = 0; i < n; i++) {
        const want = expected[i];
        const have = got[i];
        if (
          want === undefined ||
          have === undefined ||
          have.eventId !== want.event_id ||
          have.type !== want.type ||
          have.orderId !== want.orderId ||
          have.status !== want.status
        ) {
          const seen = got
            .slice(Math.max(0, i - 2), i + 3)
            .map(describe)
            .join(', ');
          const committed = expected
            .slice(Math.max(0, i - 2), i + 3)
            .map(describe)
            .join(', ');
          out.push(
            violation(
              this.name,
              `user ${socket.userId}'s socket: at position ${i + 1} received ${have === undefined ? 'nothing' : describe(have)}, committed ${want === undefined ? 'nothing' : describe(want)} (received … ${seen} …; committed … ${committed} …)`,
              [socket.userId, want?.orderId, have?.orderId],
            ),
          );
          break;
        }
      }
    }
    const changes = new Map<string, number>();
    for (const e of s.orderEvents) {
      if (e.from_status !== e.to_status) changes.set(e.order_id, (changes.get(e.order_id) ?? 0) + 1);
    }
    const messages = new Map<string, number>();
    for (const row of s.outbox) {
      if (row.type === 'order.updated' && row.orderId !== null)
        messages.set(row.orderId, (messages.get(row.orderId) ?? 0) + 1);
    }
    for (const order of s.orders) {
      const c = changes.get(order.id) ?? 0;
      const m = messages.get(order.id) ?? 0;
      if (c !== m) {
        out.push(
          violation(
            this.name,
            `order ${order.id} changed status ${c} times but ${m} order.updated messages were committed`,
            [order.id, order.user_id],
          ),
        );
      }
    }
    return out;
  },
};

export const invariants: readonly Invariant[] = [
  oneMoneyHoldingPayment,
  paidOrderHasItsPayment,
  gatewayMoneyAccounted,
  cancelledMoneyRefunded,
  refundsWithinCaptured,
  gatewayRefundsMatch,
  stockConserved,
  orderHistory,
  inboxProcessed,
  socketDelivery,
];

export function checkAll(s: Snapshot): Violation[] {
  return invariants.flatMap((inv) => inv.check(s));
}

// Reads a Snapshot for the invariants: Fulcrum's tables, the gateway's own records through Stripe's API
// (as the sandbox reports them), and the admin's list of flagged payments.
import Stripe from 'stripe';
import type { Db } from '../src/db/database.ts';
import type {
  GatewayIntent,
  GatewayRefund,
  Snapshot,
  SnapshotInboxRow,
  SnapshotOrder,
  SnapshotOutboxRow,
  SnapshotPayment,
  SnapshotRefund,
} from './invariants.ts';

export type DatabaseSnapshot = Omit<Snapshot, 'initialStock' | 'flaggedPaymentIds' | 'gateway' | 'sockets'>;

function payloadField(payload: unknown, key: string): string | null {
  const value = payload !== null && typeof payload === 'object' ? (payload as Record<string, unknown>)[key] : undefined;
  return typeof value === 'string' ? value : null;
}

/** Fulcrum's side, straight from its tables. */
export async function readDatabase(db: Db): Promise<DatabaseSnapshot> {
  const [orders, items, orderEvents, payments, refunds, products, inbox, outbox] = await Promise.all([
    db
      .selectFrom('orders')
      .select(['id', 'user_id', 'status', 'currency', 'total_amount', 'refunded_amount', 'stock_released_at'])
      .execute() as Promise<SnapshotOrder[]>,
    db.selectFrom('order_items').select(['order_id', 'product_id', 'quantity']).execute(),
    db
      .selectFrom('order_events')
      .select(['order_id', 'seq', 'type', 'from_status', 'to_status', 'actor'])
      .orderBy('order_id')
      .orderBy('seq')
      .execute(),
    db
      .selectFrom('payments')
      .select([
        'id',
        'order_id',
        'user_id',
        'provider',
        'status',
        'amount',
        'currency',
        'refunded_amount',
        'gateway_session_id',
        'gateway_payment_intent_id',
        'flagged_reason',
        'captured_amount',
        'captured_currency',
      ])
      .execute() as Promise<SnapshotPayment[]>,
    db
      .selectFrom('refunds')
      .select([
        'id',
        'payment_id',
        'gateway_refund_id',
        'amount',
        'currency',
        'status',
        'failure_reason',
        'initiated_by',
      ])
      .execute() as Promise<SnapshotRefund[]>,
    db.selectFrom('products').select(['id', 'stock']).execute(),
    db
      .selectFrom('webhook_inbox')
      .select(['id', 'event_id', 'type', 'status', 'attempts', 'last_error'])
      .execute() as Promise<SnapshotInboxRow[]>,
    db.selectFrom('outbox').select(['user_id', 'event_id', 'type', 'payload']).orderBy('id').execute(),
  ]);
  return {
    orders,
    items,
    orderEvents,
    payments,
    refunds,
    products,
    inbox,
    outbox: outbox.map((row): SnapshotOutboxRow => ({
      user_id: row.user_id,
      // 0: not numbered yet, i.e. never published (the relay numbers rows as it publishes them).
      event_id: row.event_id ?? 0,
      type: row.type,
      orderId: payloadField(row.payload, 'orderId'),
      status: payloadField(row.payload, 'status'),
    })),
  };
}

export function stripeClient(apiBase: string): Stripe {
  const url = new URL(apiBase);
  return new Stripe('sk_test_chaos', {
    host: url.hostname,
    port: Number(url.port),
    protocol: url.protocol === 'https:' ? 'https' : 'http',
    telemetry: false,
    maxNetworkRetries: 2,
    timeout: 20_000,
  });
}

/**
 * The gateway's side, through its API alone: every payment intent and refund its event log names, each
 * fetched as it is now.
 */
export async function readGateway(stripe: Stripe): Promise<Snapshot['gateway']> {
  const intentIds = new Set<string>();
  const refundIds = new Set<string>();
  for await (const event of stripe.events.list({ limit: 100 })) {
    const object = event.data.object as { id?: unknown; object?: unknown };
    if (typeof object.id !== 'string') continue;
    if (object.object === 'payment_intent') intentIds.add(object.id);
    if (object.object === 'refund') refundIds.add(object.id);
  }
  const intents: GatewayIntent[] = [];
  for (const id of intentIds) {
    const intent = await stripe.paymentIntents.retrieve(id, { expand: ['latest_charge'] });
    const charge = intent.latest_charge as Stripe.Charge | null;
    const paymentId = intent.metadata?.paymentId;
    intents.push({
      id,
      status: intent.status,
      amount: charge?.amount ?? intent.amount,
      currency: intent.currency,
      amountRefunded: charge?.amount_refunded ?? 0,
      paymentId: typeof paymentId === 'string' ? paymentId : null,
    });
  }
  const refunds: GatewayRefund[] = [];
  for (const id of refundIds) {
    const refund = await stripe.refunds.retrieve(id);
    const intent = refund.payment_intent;
    refunds.push({
      id,
      paymentIntent: typeof intent === 'string' ? intent : (intent?.id ?? ''),
      amount: refund.amount,
      currency: refund.currency,
      status: refund.status ?? 'unknown',
    });
  }
  return { intents, refunds };
}

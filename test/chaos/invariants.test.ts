// The chaos harness's invariants, each fed a state that breaks it (and a clean one that passes). Tier 1:
// no external services; the database-backed case runs on an in-memory PGlite.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openDatabase } from '../../src/db/database.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { checkAll, invariants, type Snapshot, type Violation } from '../../chaos/invariants.ts';
import { readDatabase } from '../../chaos/snapshot.ts';

const USER = 'usr_a';
const PRODUCT = 'prd_a';
const released = new Date('2026-01-01T00:00:00Z');

/**
 * A shop after a short run, consistent in every way: ord_paid paid with pay_1 (2 units of the product);
 * ord_gone paid with pay_2 and then cancelled by an admin, refunded in full (1 unit, given back).
 */
function cleanState(): Snapshot {
  return {
    orders: [
      {
        id: 'ord_paid',
        user_id: USER,
        status: 'PAID',
        currency: 'usd',
        total_amount: 2000,
        refunded_amount: 0,
        stock_released_at: null,
      },
      {
        id: 'ord_gone',
        user_id: USER,
        status: 'CANCELLED',
        currency: 'usd',
        total_amount: 1000,
        refunded_amount: 1000,
        stock_released_at: released,
      },
    ],
    items: [
      { order_id: 'ord_paid', product_id: PRODUCT, quantity: 2 },
      { order_id: 'ord_gone', product_id: PRODUCT, quantity: 1 },
    ],
    orderEvents: [
      { order_id: 'ord_paid', seq: 1, type: 'order.created', from_status: null, to_status: 'CREATED', actor: USER },
      {
        order_id: 'ord_paid',
        seq: 2,
        type: 'order.paid',
        from_status: 'CREATED',
        to_status: 'PAID',
        actor: 'system:payments',
      },
      { order_id: 'ord_gone', seq: 1, type: 'order.created', from_status: null, to_status: 'CREATED', actor: USER },
      {
        order_id: 'ord_gone',
        seq: 2,
        type: 'order.paid',
        from_status: 'CREATED',
        to_status: 'PAID',
        actor: 'system:payments',
      },
      {
        order_id: 'ord_gone',
        seq: 3,
        type: 'order.cancelled',
        from_status: 'PAID',
        to_status: 'CANCELLED',
        actor: 'usr_admin',
      },
      {
        order_id: 'ord_gone',
        seq: 4,
        type: 'refund.succeeded',
        from_status: 'CANCELLED',
        to_status: 'CANCELLED',
        actor: 'system:webhook',
      },
    ],
    payments: [
      {
        id: 'pay_1',
        order_id: 'ord_paid',
        user_id: USER,
        provider: 'stripe',
        status: 'SUCCEEDED',
        amount: 2000,
        currency: 'usd',
        refunded_amount: 0,
        gateway_session_id: 'cs_1',
        gateway_payment_intent_id: 'pi_1',
        flagged_reason: null,
        captured_amount: null,
        captured_currency: null,
      },
      {
        id: 'pay_2',
        order_id: 'ord_gone',
        user_id: USER,
        provider: 'stripe',
        status: 'REFUNDED',
        amount: 1000,
        currency: 'usd',
        refunded_amount: 1000,
        gateway_session_id: 'cs_2',
        gateway_payment_intent_id: 'pi_2',
        flagged_reason: null,
        captured_amount: null,
        captured_currency: null,
      },
    ],
    refunds: [
      {
        id: 'ref_2',
        payment_id: 'pay_2',
        gateway_refund_id: 're_2',
        amount: 1000,
        currency: 'usd',
        status: 'SUCCEEDED',
        failure_reason: null,
        initiated_by: 'usr_admin',
      },
    ],
    products: [{ id: PRODUCT, stock: 3 }],
    initialStock: { [PRODUCT]: 5 },
    inbox: [
      {
        id: 'whk_1',
        event_id: 'evt_1',
        type: 'checkout.session.completed',
        status: 'processed',
        attempts: 1,
        last_error: null,
      },
    ],
    outbox: [
      { user_id: USER, event_id: 1, type: 'order.updated', orderId: 'ord_paid', status: 'CREATED' },
      { user_id: USER, event_id: 2, type: 'payment.updated', orderId: 'ord_paid', status: 'SUCCEEDED' },
      { user_id: USER, event_id: 3, type: 'order.updated', orderId: 'ord_paid', status: 'PAID' },
      { user_id: USER, event_id: 4, type: 'order.updated', orderId: 'ord_gone', status: 'CREATED' },
      { user_id: USER, event_id: 5, type: 'order.updated', orderId: 'ord_gone', status: 'PAID' },
      { user_id: USER, event_id: 6, type: 'order.updated', orderId: 'ord_gone', status: 'CANCELLED' },
    ],
    flaggedPaymentIds: [],
    gateway: {
      intents: [
        { id: 'pi_1', status: 'succeeded', amount: 2000, currency: 'usd', amountRefunded: 0, paymentId: 'pay_1' },
        { id: 'pi_2', status: 'succeeded', amount: 1000, currency: 'usd', amountRefunded: 1000, paymentId: 'pay_2' },
      ],
      refunds: [{ id: 're_2', paymentIntent: 'pi_2', amount: 1000, currency: 'usd', status: 'succeeded' }],
    },
    sockets: [{ userId: USER, received: [] }],
  };
}

/** The clean state with the socket having received the whole outbox, in order. */
function clean(): Snapshot {
  const s = cleanState();
  s.sockets[0]!.received = s.outbox.map((o) => ({
    eventId: o.event_id,
    type: o.type,
    orderId: o.orderId,
    status: o.status,
  }));
  return s;
}

function check(name: string, s: Snapshot): Violation[] {
  const invariant = invariants.find((i) => i.name === name);
  assert.ok(invariant, `no invariant ${name}`);
  return invariant.check(s);
}

/** Exactly the named invariant fails, naming `ids`. */
function assertBroken(name: string, s: Snapshot, ids: string[], message?: RegExp): void {
  const found = check(name, s);
  assert.ok(found.length > 0, `${name} did not report the violation`);
  const named = new Set(found.flatMap((v) => v.ids));
  for (const id of ids) assert.ok(named.has(id), `${name} does not name ${id}: ${JSON.stringify(found)}`);
  if (message !== undefined) assert.match(found.map((v) => v.message).join('\n'), message);
  for (const v of found) assert.equal(v.invariant, name);
}

describe('chaos invariants', () => {
  it('a consistent shop passes every check', () => {
    assert.deepEqual(checkAll(clean()), []);
  });

  it('one-money-holding-payment: a second payment of the order keeping money', () => {
    const s = clean();
    s.payments.push({
      ...s.payments[0]!,
      id: 'pay_dup',
      status: 'CANCELED',
      gateway_payment_intent_id: 'pi_dup',
      captured_amount: 2000,
      captured_currency: 'usd',
    });
    assertBroken('one-money-holding-payment', s, ['ord_paid', 'pay_1', 'pay_dup']);
    // Refunded in full, the late money no longer counts.
    s.refunds.push({
      id: 'ref_dup',
      payment_id: 'pay_dup',
      gateway_refund_id: 're_dup',
      amount: 2000,
      currency: 'usd',
      status: 'SUCCEEDED',
      failure_reason: null,
      initiated_by: 'system',
    });
    assert.deepEqual(check('one-money-holding-payment', s), []);
  });

  it('paid-order-has-its-payment: no payment, a wrong amount, money the gateway never took', () => {
    const none = clean();
    none.payments[0]!.status = 'EXPIRED';
    assertBroken('paid-order-has-its-payment', none, ['ord_paid'], /0 succeeded payments/);
    const wrong = clean();
    wrong.payments[0]!.amount = 1999;
    assertBroken('paid-order-has-its-payment', wrong, ['ord_paid', 'pay_1'], /1999/);
    const unpaid = clean();
    unpaid.gateway.intents[0]!.status = 'requires_payment_method';
    assertBroken('paid-order-has-its-payment', unpaid, ['ord_paid', 'pay_1', 'pi_1'], /no succeeded payment intent/);
  });

  it('gateway-money-accounted: money kept for nobody, or for a payment that is not its order’s', () => {
    const stray = clean();
    stray.gateway.intents.push({
      id: 'pi_x',
      status: 'succeeded',
      amount: 700,
      currency: 'usd',
      amountRefunded: 0,
      paymentId: null,
    });
    assertBroken('gateway-money-accounted', stray, ['pi_x'], /no payment records/);
    const second = clean();
    second.gateway.intents.push({ ...second.gateway.intents[0]!, id: 'pi_1b' });
    assertBroken('gateway-money-accounted', second, ['pi_1b', 'pay_1', 'ord_paid'], /metadata names pay_1/);
    const closed = clean();
    closed.payments.push({
      ...closed.payments[0]!,
      id: 'pay_3',
      order_id: 'ord_gone',
      status: 'EXPIRED',
      gateway_payment_intent_id: 'pi_3',
    });
    closed.gateway.intents.push({
      id: 'pi_3',
      status: 'succeeded',
      amount: 1000,
      currency: 'usd',
      amountRefunded: 0,
      paymentId: 'pay_3',
    });
    assertBroken('gateway-money-accounted', closed, ['pi_3', 'pay_3', 'ord_gone']);
    closed.flaggedPaymentIds.push('pay_3');
    assert.deepEqual(check('gateway-money-accounted', closed), [], 'flagged for an admin: accounted for');
  });

  it('cancelled-money-refunded: a refund that failed leaves money on a cancelled order', () => {
    const s = clean();
    s.refunds[0]!.status = 'FAILED';
    s.refunds[0]!.failure_reason = 'expired_or_canceled_card';
    assertBroken(
      'cancelled-money-refunded',
      s,
      ['ord_gone', 'pay_2', 'ref_2'],
      /still holds 1000 usd.*expired_or_canceled_card/,
    );
    s.flaggedPaymentIds.push('pay_2');
    assert.deepEqual(check('cancelled-money-refunded', s), []);
  });

  it('refunds-within-captured: more refunded than captured, or a payment disagreeing with its refunds', () => {
    const over = clean();
    over.refunds.push({ ...over.refunds[0]!, id: 'ref_more', gateway_refund_id: 're_more', amount: 1 });
    assertBroken('refunds-within-captured', over, ['pay_2', 'ref_more'], /captured 1000 but has 1001/);
    const stale = clean();
    stale.payments[1]!.refunded_amount = 400;
    assertBroken('refunds-within-captured', stale, ['pay_2'], /says 400 refunded/);
  });

  it('gateway-refunds-match: statuses, amounts, a refund missing on either side', () => {
    const status = clean();
    status.gateway.refunds[0]!.status = 'failed';
    assertBroken('gateway-refunds-match', status, ['ref_2', 're_2'], /SUCCEEDED, the gateway's re_2 is failed/);
    const amount = clean();
    amount.gateway.refunds[0]!.amount = 900;
    assertBroken('gateway-refunds-match', amount, ['ref_2'], /900/);
    const unknown = clean();
    unknown.gateway.refunds.push({
      id: 're_9',
      paymentIntent: 'pi_1',
      amount: 5,
      currency: 'usd',
      status: 'succeeded',
    });
    assertBroken('gateway-refunds-match', unknown, ['re_9'], /not recorded/);
    const unsent = clean();
    unsent.refunds.push({
      ...unsent.refunds[0]!,
      id: 'ref_unsent',
      payment_id: 'pay_1',
      gateway_refund_id: null,
      amount: 5,
      status: 'PENDING',
    });
    assertBroken('gateway-refunds-match', unsent, ['ref_unsent'], /never sent/);
    const vanished = clean();
    vanished.gateway.refunds = [];
    assertBroken('gateway-refunds-match', vanished, ['ref_2'], /does not have/);
  });

  it('stock-conserved: a unit lost, negative stock, a cancelled order keeping its stock', () => {
    const lost = clean();
    lost.products[0]!.stock = 2;
    assertBroken('stock-conserved', lost, [PRODUCT], /initial 5 ≠ stock 2 \+ 2/);
    const negative = clean();
    negative.products[0]!.stock = -1;
    negative.initialStock[PRODUCT] = 1;
    assertBroken('stock-conserved', negative, [PRODUCT], /stock -1/);
    const kept = clean();
    kept.orders[1]!.stock_released_at = null;
    assertBroken('stock-conserved', kept, ['ord_gone'], /not released/);
  });

  it('order-history: a move the state machine lacks, a history that ends elsewhere', () => {
    const skip = clean();
    skip.orderEvents[1] = { ...skip.orderEvents[1]!, type: 'order.shipped', to_status: 'SHIPPED' };
    skip.orders[0]!.status = 'SHIPPED';
    assertBroken('order-history', skip, ['ord_paid'], /CREATED → SHIPPED/);
    const back = clean();
    back.orderEvents.push({
      order_id: 'ord_gone',
      seq: 5,
      type: 'order.paid',
      from_status: 'CANCELLED',
      to_status: 'PAID',
      actor: 'system:payments',
    });
    back.orders[1]!.status = 'PAID';
    assertBroken('order-history', back, ['ord_gone'], /CANCELLED → PAID/);
    const ends = clean();
    ends.orders[0]!.status = 'DELIVERED';
    assertBroken('order-history', ends, ['ord_paid'], /history ends at PAID/);
  });

  it('inbox-processed: a row left failed, a dead row listed with its reason', () => {
    const s = clean();
    s.inbox.push({
      id: 'whk_2',
      event_id: 'evt_2',
      type: 'refund.failed',
      status: 'dead',
      attempts: 8,
      last_error: 'payment lost its order',
    });
    s.inbox.push({
      id: 'whk_3',
      event_id: 'evt_3',
      type: 'refund.updated',
      status: 'failed',
      attempts: 2,
      last_error: null,
    });
    assertBroken('inbox-processed', s, ['whk_2', 'evt_2', 'whk_3'], /dead after 8 attempts: payment lost its order/);
  });

  it('socket-delivery: an event missing, received twice, out of order; a status change never sent', () => {
    const missing = clean();
    missing.sockets[0]!.received.splice(3, 1);
    assertBroken('socket-delivery', missing, [USER], /position 4 received #5/);
    const twice = clean();
    twice.sockets[0]!.received.splice(2, 0, { ...twice.sockets[0]!.received[1]! });
    assertBroken('socket-delivery', twice, [USER], /position 3 received #2/);
    const swapped = clean();
    const r = swapped.sockets[0]!.received;
    [r[0], r[1]] = [r[1]!, r[0]!];
    assertBroken('socket-delivery', swapped, [USER]);
    const unsent = clean();
    unsent.outbox.splice(5, 1);
    unsent.sockets[0]!.received.splice(5, 1);
    assertBroken('socket-delivery', unsent, ['ord_gone'], /changed status 3 times but 2/);
  });

  it('reads a database: a consistent one passes, a unit of stock gone missing is reported', async () => {
    const database = await openDatabase({ url: 'memory://', dataDir: '' });
    try {
      await migrateToLatest(database.db);
      const db = database.db;
      const at = new Date();
      await db
        .insertInto('users')
        .values({ id: USER, email: 'a@example.test', name: 'A', password_hash: 'x' })
        .execute();
      await db
        .insertInto('products')
        .values({
          id: PRODUCT,
          sku: 'A-1',
          name: 'A',
          description: null,
          price_amount: 1000,
          currency: 'usd',
          stock: 3,
        })
        .execute();
      const s = clean();
      for (const o of s.orders) {
        await db
          .insertInto('orders')
          .values({ ...o, shipping_address: null, expires_at: at })
          .execute();
      }
      for (const [i, item] of s.items.entries()) {
        await db
          .insertInto('order_items')
          .values({
            ...item,
            line_no: i + 1,
            sku: 'A-1',
            name: 'A',
            unit_amount: 1000,
            line_total: 1000 * item.quantity,
          })
          .execute();
      }
      for (const e of s.orderEvents)
        await db
          .insertInto('order_events')
          .values({ ...e, reason: null, at })
          .execute();
      for (const p of s.payments) await db.insertInto('payments').values(p).execute();
      for (const r of s.refunds) await db.insertInto('refunds').values(r).execute();
      for (const row of s.inbox) {
        await db
          .insertInto('webhook_inbox')
          .values({ ...row, provider: 'stripe', payload: '{}', next_attempt_at: at, received_at: at })
          .execute();
      }
      for (const o of s.outbox) {
        await db
          .insertInto('outbox')
          .values({
            user_id: o.user_id,
            event_id: o.event_id,
            type: o.type as 'order.updated',
            payload: JSON.stringify({ orderId: o.orderId, status: o.status }),
          })
          .execute();
      }
      const fromDb = (): Promise<Snapshot> =>
        readDatabase(db).then((read) => ({
          ...read,
          initialStock: s.initialStock,
          flaggedPaymentIds: [],
          gateway: s.gateway,
          sockets: s.sockets,
        }));
      assert.deepEqual(checkAll(await fromDb()), []);
      await db.updateTable('products').set({ stock: 2 }).execute();
      const found = checkAll(await fromDb());
      assert.deepEqual(
        found.map((v) => v.invariant),
        ['stock-conserved'],
      );
    } finally {
      await database.close();
    }
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { applyPaymentFact } from '../../src/modules/payments/confirmation.ts';
import type { PaymentFact, PaymentRef } from '../../src/modules/payments/facts.ts';
import { PaymentReads, pickByRef } from '../../src/modules/payments/payment-reads.ts';
import { findPaymentByRef, type PaymentRow } from '../../src/modules/payments/payments.repository.ts';
import type { Counted } from '../helpers.ts';
import { newOrder, paymentRow, startCountingShop, startPayment, type Shop } from './support.ts';

// The inbox worker's chunk reads its payments once (issue 11, payment-reads.ts): the events of one transaction take
// their first read from one statement, and what the transaction writes is what the next event sees.
describe('payments: one read for a chunk of gateway events', () => {
  let counted: Counted;
  let shop: Shop;
  let close: () => Promise<void>;
  before(async () => {
    ({ shop, counted, close } = await startCountingShop());
  });
  after(() => close());

  const pending = async (): Promise<PaymentRow> => {
    const order = await newOrder(shop);
    return paymentRow(shop, (await startPayment(shop, order.id)).id);
  };
  const ctx = () => ({ at: shop.clock.now(), actor: 'system:webhook' });
  /** Facts applied in order in one transaction, their first reads from one PaymentReads over their refs. */
  async function chunk(facts: PaymentFact[], reads = new PaymentReads(() => facts.map((f) => f.ref))) {
    counted.reset();
    const outcomes = await shop.app.database.db.transaction().execute(async (trx) => {
      const done = [];
      for (const fact of facts) done.push((await applyPaymentFact(trx, fact, ctx(), reads)).outcome);
      return done;
    });
    return { outcomes, statements: counted.statements };
  }
  /** A sandbox payment's two confirming events: payment_intent.succeeded (by id) and checkout.session.completed. */
  const confirmations = (p: PaymentRow): PaymentFact[] => [
    {
      kind: 'paid',
      ref: { paymentId: p.id, sessionId: null, paymentIntentId: `pi_${p.id}` },
      amount: p.amount,
      currency: p.currency,
      paymentIntentId: `pi_${p.id}`,
    },
    {
      kind: 'paid',
      ref: { paymentId: p.id, sessionId: p.gateway_session_id, paymentIntentId: `pi_${p.id}` },
      amount: p.amount,
      currency: p.currency,
      paymentIntentId: `pi_${p.id}`,
    },
  ];

  it("three payments' confirming events: one read for all, one statement per payment paid, none for the repeats", async () => {
    const payments = [await pending(), await pending(), await pending()];
    const { outcomes, statements } = await chunk(payments.flatMap(confirmations));
    assert.deepEqual(
      outcomes,
      payments.flatMap(() => [
        { kind: 'paid', from: 'PENDING' },
        { kind: 'duplicate', of: 'status', status: 'SUCCEEDED' },
      ]),
    );
    // Read one by one it was 6 reads and 3 writes; a repeat judged on a stale PENDING row would go the locked way.
    assert.equal(statements, 1 + payments.length);
    for (const p of payments) assert.equal((await paymentRow(shop, p.id)).status, 'SUCCEEDED');
  });

  it('after the locked path wrote, the next event reads afresh and sees what it wrote', async () => {
    const p = await pending();
    const processing: PaymentFact = {
      kind: 'processing',
      ref: { paymentId: p.id, sessionId: null, paymentIntentId: null },
      paymentIntentId: `pi_async_${p.id}`,
    };
    const reads = new PaymentReads(() => [processing.ref]);
    counted.reset();
    const [first, second] = await shop.app.database.db.transaction().execute(async (trx) => {
      const one = await applyPaymentFact(trx, processing, ctx(), reads); // the locked path records the intent
      const before = counted.statements;
      const two = await applyPaymentFact(trx, processing, ctx(), reads);
      return [one.outcome, { outcome: two.outcome, statements: counted.statements - before }];
    });
    assert.deepEqual(first, { kind: 'processing' });
    // Read afresh: the intent is recorded, a repeat decided on that read (with the row read before the write it would
    // lock the order and the payment to find the same).
    assert.deepEqual(second, { outcome: { kind: 'duplicate', of: 'processing' }, statements: 1 });
    assert.equal((await paymentRow(shop, p.id)).gateway_payment_intent_id, `pi_async_${p.id}`);
  });

  it('a payment the chunk did not name is read on its own: unknown stays unknown, a known one is found', async () => {
    const known = await pending();
    const unknown: PaymentFact = {
      kind: 'expired',
      ref: { paymentId: 'pay_nobody', sessionId: null, paymentIntentId: null },
    };
    const elsewhere: PaymentFact = {
      kind: 'open',
      ref: { paymentId: known.id, sessionId: null, paymentIntentId: null },
    };
    // The reads were made for no ref at all: each fact misses them and reads alone.
    const { outcomes, statements } = await chunk([unknown, elsewhere], new PaymentReads(() => []));
    assert.deepEqual(outcomes, [{ kind: 'unknown_payment' }, { kind: 'open' }]);
    assert.equal(statements, 2, 'nothing to read for no ref; then each fact reads its own');
  });

  it('picks the payment a ref names exactly as findPaymentByRef reads it', async () => {
    const a = await pending();
    const b = await pending();
    const db = shop.app.database.db;
    await db
      .updateTable('payments')
      .set({ gateway_payment_intent_id: `pi_pick_${b.id}` })
      .where('id', '=', b.id)
      .execute();
    const rows = await db.selectFrom('payments').selectAll().where('id', 'in', [a.id, b.id]).execute();
    const refs: [string, PaymentRef][] = [
      ['by id', { paymentId: a.id, sessionId: null, paymentIntentId: null }],
      ['by id, its own session', { paymentId: a.id, sessionId: a.gateway_session_id, paymentIntentId: null }],
      [
        "an id whose session contradicts: the session's payment",
        { paymentId: a.id, sessionId: b.gateway_session_id, paymentIntentId: null },
      ],
      [
        'an unknown id: the session',
        { paymentId: 'pay_nobody', sessionId: b.gateway_session_id, paymentIntentId: null },
      ],
      ['by the intent', { paymentId: null, sessionId: null, paymentIntentId: `pi_pick_${b.id}` }],
      [
        'an unknown session: the intent',
        { paymentId: null, sessionId: 'cs_nobody', paymentIntentId: `pi_pick_${b.id}` },
      ],
      ['nothing known', { paymentId: 'pay_nobody', sessionId: 'cs_nobody', paymentIntentId: 'pi_nobody' }],
      ['no ref at all', { paymentId: null, sessionId: null, paymentIntentId: null }],
    ];
    for (const [what, ref] of refs) {
      assert.equal(pickByRef(rows, ref)?.id, (await findPaymentByRef(db, ref))?.id, what);
    }
    assert.equal(pickByRef(rows, refs[2]![1])?.id, b.id, 'the contradicted id is not taken');
  });
});

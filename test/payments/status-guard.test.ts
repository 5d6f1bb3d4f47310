import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { movePayment, setPaymentStatus } from '../../src/modules/payments/payment-events.ts';
import { updatePaymentFrom } from '../../src/modules/payments/payments.repository.ts';
import { AppError } from '../../src/shared/errors.ts';
import { newOrder, outboxFor, paymentRow, startPayment, startShop, type Shop } from './support.ts';

// Every payment status UPDATE is checked against paymentTransitions and guarded by the status it moves from
// (`WHERE status = <from>`): a refused move or a lost race writes nothing and says so (409 invalid_transition).
describe('payments: status updates are guarded by the status they move from', () => {
  let shop: Shop;
  before(async () => {
    shop = await startShop();
  });
  after(() => shop.close());

  const db = () => shop.app.database.db;
  const invalidTransition = (message: RegExp) => (error: unknown) => {
    assert.ok(error instanceof AppError, String(error));
    assert.equal(error.code, 'invalid_transition');
    assert.equal(error.kind, 'conflict');
    assert.match(error.message, message);
    return true;
  };

  it('the repository writes only while the row is in the status it moves from', async () => {
    const order = await newOrder(shop);
    const { id } = await startPayment(shop, order.id);
    const at = shop.clock.now();
    assert.equal(await updatePaymentFrom(db(), id, 'SUCCEEDED', { status: 'REFUNDED', updated_at: at }), undefined);
    assert.equal((await paymentRow(shop, id)).status, 'PENDING', 'a guard that does not match writes nothing');
    const moved = await updatePaymentFrom(db(), id, 'PENDING', { status: 'EXPIRED', updated_at: at });
    assert.equal(moved?.status, 'EXPIRED');
    assert.equal((await paymentRow(shop, id)).status, 'EXPIRED');
  });

  it('a lost race (the row moved since it was read) is 409, writes nothing and tells nobody', async () => {
    const order = await newOrder(shop);
    const { id } = await startPayment(shop, order.id);
    const stale = await paymentRow(shop, id); // PENDING, as a confirmation read it
    // Meanwhile something else gave the payment up.
    await updatePaymentFrom(db(), id, 'PENDING', { status: 'CANCELED', failure_reason: 'order is CANCELLED' });
    const before = await outboxFor(shop, order.id);

    await assert.rejects(
      db()
        .transaction()
        .execute((trx) =>
          setPaymentStatus(trx, stale, 'SUCCEEDED', { succeeded_at: shop.clock.now() }, shop.clock.now()),
        ),
      invalidTransition(new RegExp(`${id} changed while this ran \\(it is no longer PENDING\\)`)),
    );
    const row = await paymentRow(shop, id);
    assert.equal(row.status, 'CANCELED', 'the winner’s status stands');
    assert.equal(row.failure_reason, 'order is CANCELLED');
    assert.equal(row.succeeded_at, null);
    assert.deepEqual(await outboxFor(shop, order.id), before, 'no payment.updated for a move that did not happen');
  });

  it('a move the table refuses is 409 and writes nothing, even when the guard would match', async () => {
    const order = await newOrder(shop);
    const { id } = await startPayment(shop, order.id);
    await updatePaymentFrom(db(), id, 'PENDING', { status: 'CANCELED' });
    const canceled = await paymentRow(shop, id);
    for (const to of ['FAILED', 'EXPIRED', 'PENDING', 'REFUNDED'] as const) {
      await assert.rejects(
        movePayment(db(), canceled, to, { updated_at: shop.clock.now() }),
        invalidTransition(new RegExp(`cannot go from CANCELED to ${to}`)),
      );
    }
    assert.equal((await paymentRow(shop, id)).status, 'CANCELED');
  });

  it('an allowed move from the status the row is in is written, and staying put updates other columns', async () => {
    const order = await newOrder(shop);
    const { id } = await startPayment(shop, order.id);
    const pending = await paymentRow(shop, id);
    const same = await movePayment(db(), pending, 'PENDING', {
      failure_reason: 'card_declined',
      updated_at: shop.clock.now(),
    });
    assert.equal(same.status, 'PENDING');
    assert.equal(same.failure_reason, 'card_declined');
    const failed = await movePayment(db(), same, 'FAILED', { updated_at: shop.clock.now() });
    assert.equal(failed.status, 'FAILED');
    assert.equal((await paymentRow(shop, id)).status, 'FAILED');
  });
});

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import Stripe from 'stripe';
import { expireOrders } from '../../src/modules/orders/index.ts';
import { isMissingSession, MISSING_SESSION } from '../../src/modules/payments/providers/stripe-errors.ts';
import { call } from '../helpers.ts';
import { checkout, getOrder, newOrder, paymentRow, startPayment, startShop, type Shop } from './support.ts';

const TTL_S = 60;
const AFTER_S = 10;

// A gateway that answers 404 resource_missing for the order's own checkout session (the sandbox lost a session it
// had acknowledged, say) has answered: nothing can be paid through that session. The payment is closed and the
// order goes on as without a payment — it used to be taken for an outage, so the order stayed CREATED with its
// stock reserved forever and every new checkout was refused with payment_already_pending.
describe('payments: the gateway says the checkout session does not exist', () => {
  let shop: Shop;
  before(async () => {
    shop = await startShop({
      env: { ORDER_TTL_SECONDS: String(TTL_S), RECONCILE_AFTER_SECONDS: String(AFTER_S) },
    });
  });
  after(() => shop.close());

  /** The gateway forgets the payment's session: its id now names nothing there. */
  const loseSession = async (paymentId: string) => {
    const lost = `cs_test_lost${randomBytes(12).toString('hex')}`;
    await shop.app.database.db
      .updateTable('payments')
      .set({ gateway_session_id: lost })
      .where('id', '=', paymentId)
      .execute();
    await assert.rejects(shop.stripe.checkout.sessions.retrieve(lost), { statusCode: 404, code: 'resource_missing' });
  };
  const stock = async () => (await call(shop.app, 'GET', `/api/v1/products/${shop.product.id}`)).body.stock as number;

  it('expiry closes the payment, cancels the order and releases its stock', async () => {
    const before = await stock();
    const order = await newOrder(shop);
    const payment = await startPayment(shop, order.id);
    await loseSession(payment.id);
    assert.equal(await stock(), before - 2);

    shop.clock.advance(TTL_S * 1000 + 1_000);
    const expired = await expireOrders(
      { db: shop.app.database.db, hooks: shop.app.payments.orderHooks },
      shop.clock.now(),
    );
    assert.equal(expired, 1);
    assert.equal((await getOrder(shop, order.id)).body.status, 'CANCELLED');
    const row = await paymentRow(shop, payment.id);
    assert.equal(row.status, 'FAILED');
    assert.equal(row.failure_reason, MISSING_SESSION);
    assert.equal(await stock(), before, 'the reservation is given back');
  });

  it('reconciliation closes the payment, so the customer can pay the order again', async () => {
    const order = await newOrder(shop);
    const payment = await startPayment(shop, order.id);
    await loseSession(payment.id);
    const refused = await checkout(shop, order.id);
    assert.equal(refused.status, 409, 'while the payment is pending a new checkout is refused');
    assert.equal(refused.body.code, 'payment_already_pending');

    shop.clock.advance(AFTER_S * 1000 + 1_000);
    const report = await shop.app.payments.reconcileOnce();
    assert.ok(report !== null && report.payments >= 1);
    assert.equal((await paymentRow(shop, payment.id)).status, 'FAILED');
    assert.equal((await getOrder(shop, order.id)).body.status, 'CREATED', 'the order is still payable');
    const again = await checkout(shop, order.id);
    assert.equal(again.status, 201, JSON.stringify(again.body));
    assert.notEqual(again.body.payment.id, payment.id);
  });

  it('a 404 that names the other mode (a misconfigured key) is not taken for a missing session', () => {
    const missing = (message: string) =>
      Stripe.errors.StripeError.generate({
        type: 'invalid_request_error',
        code: 'resource_missing',
        message,
        statusCode: 404,
      });
    assert.equal(isMissingSession(missing("No such checkout.session: 'cs_test_x'")), true);
    assert.equal(
      isMissingSession(
        missing(
          "No such checkout.session: 'cs_live_x'; a similar object exists in live mode, but a test mode key was used to make this request.",
        ),
      ),
      false,
    );
    assert.equal(isMissingSession(new Error('socket hang up')), false);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { transitionOrder } from '../../../src/modules/orders/index.ts';
import { call, createUser } from '../../helpers.ts';
import { createProduct, markPaid, placeOrder, type TestProduct } from '../../shop.ts';
import {
  assertAccessible,
  assertNoHorizontalOverflow,
  startBrowserShop,
  type BrowserShop,
  type User,
} from './support.ts';

/**
 * Issue 13 point 1 in the browser: the admin orders list is live (staff feed), every action carries If-Match,
 * and an action taken on a stale view is refused (412) — the page then shows the order as it is and asks again.
 */
describe('browser: the admin orders list, live and safe against stale views', () => {
  let shop: BrowserShop;
  let admin: User;
  let otherAdmin: User;
  let customer: User;
  let product: TestProduct;

  before(async () => {
    shop = await startBrowserShop();
    admin = await createUser(shop.app, 'admin');
    otherAdmin = await createUser(shop.app, 'admin');
    customer = await createUser(shop.app, 'customer');
    product = await createProduct(shop.app, admin.token, { price: { amount: 2500, currency: 'usd' }, stock: 100 });
  });
  after(() => shop.close());

  const newOrder = async (): Promise<string> => {
    const res = await placeOrder(shop.app, customer.token, { items: [{ productId: product.id, quantity: 2 }] });
    assert.equal(res.status, 201);
    return res.body.id as string;
  };
  const orderOf = async (id: string) =>
    (await call(shop.app, 'GET', `/api/v1/orders/${id}`, { token: admin.token })).body;
  const row = (page: Page, id: string) => page.locator(`#orders tr[data-order-id="${id}"]`);
  const statusOf = (page: Page, id: string, status: string) =>
    row(page, id)
      .locator('.status')
      .filter({ hasText: new RegExp(`^${status}$`) });
  const openDashboard = async (width = 1280): Promise<Page> => {
    const page = await shop.staffPage(admin, width);
    await page.goto(`${shop.app.baseUrl}/admin`);
    await page.locator('#live').filter({ hasText: 'Live' }).waitFor();
    return page;
  };

  it('new orders and status changes appear live, in place', async () => {
    const page = await openDashboard();
    const id = await newOrder();
    await statusOf(page, id, 'CREATED').waitFor();
    await markPaid(shop.app, id);
    await statusOf(page, id, 'PAID').waitFor();
    await page
      .locator('#orders-live')
      .filter({ hasText: `Order ${id} is now PAID` })
      .waitFor();
    await page.screenshot({ path: '/tmp/admin-orders-1280.png', fullPage: true });
    assert.deepEqual(shop.pageErrors, []);
    await page.close();
  });

  it('the customer pays while the cancel question is open: 412, the row shows PAID, the new question says it refunds', async () => {
    const page = await openDashboard();
    const id = await newOrder();
    await statusOf(page, id, 'CREATED').waitFor();
    await row(page, id).getByRole('button', { name: 'Cancel' }).click();
    const dialog = page.locator('#confirm');
    await dialog.filter({ hasText: 'It is not paid' }).waitFor();
    await page.screenshot({ path: '/tmp/admin-cancel-question.png' });

    await markPaid(shop.app, id); // the customer's payment lands meanwhile
    await page.locator('#confirm-yes').click();
    await dialog.filter({ hasText: 'changed while you were looking at it: it is now PAID' }).waitFor();
    assert.match((await page.locator('#confirm-text').textContent()) ?? '', /It is paid: cancelling refunds \$50\.00/);
    await statusOf(page, id, 'PAID').waitFor();
    await page.screenshot({ path: '/tmp/admin-stale-412.png' });
    assert.equal((await orderOf(id)).status, 'PAID', 'the stale cancel did nothing');

    await page.locator('#confirm-no').click();
    await dialog.waitFor({ state: 'hidden' });
    assert.equal((await orderOf(id)).status, 'PAID', 'Back leaves it');
    await page.close();
  });

  it('another admin ships while this page is cut off from the feed: Ship gets 412, the row shows their shipment', async () => {
    const id = await newOrder();
    await markPaid(shop.app, id);
    // A page whose live feed is gone (a laptop back from sleep, a proxy that drops WebSockets): its view goes stale.
    const page = await shop.staffPage(admin);
    await page.route('**/socket.io/**', (route) => route.abort());
    await page.goto(`${shop.app.baseUrl}/admin`);
    await statusOf(page, id, 'PAID').waitFor();
    await shop.app.database.db.transaction().execute((trx) =>
      transitionOrder(trx, id, 'SHIPPED', {
        actor: { id: otherAdmin.id, role: 'admin' },
        at: new Date(),
        shipment: { carrier: 'UPS', trackingNumber: 'THEIRS-1' },
      }),
    );
    await row(page, id).getByLabel(`Carrier for ${id}`).fill('DHL');
    await row(page, id).getByLabel(`Tracking number for ${id}`).fill('MINE-1');
    await row(page, id).getByRole('button', { name: 'Ship' }).click();
    await page
      .locator('#notice')
      .filter({ hasText: 'changed while you were looking at it: it is now SHIPPED' })
      .waitFor();
    await page.locator('#notice').filter({ hasText: 'Nothing was done.' }).waitFor();
    await statusOf(page, id, 'SHIPPED').waitFor();
    await row(page, id).getByText('UPS THEIRS-1').waitFor();
    await page.screenshot({ path: '/tmp/admin-stale-ship.png' });
    const order = await orderOf(id);
    assert.equal(order.shipment.trackingNumber, 'THEIRS-1', 'the other admin’s shipment stands');
    await page.close();
  });

  it('an order placed and paid while the list is still loading stays on it, PAID, when the older list arrives', async () => {
    // The list's answer is read before the order exists and handed to the page only after the live events were shown:
    // the whole-list answer must not wipe what the feed showed meanwhile (a clean-clone CI run lost such a row).
    const page = await shop.staffPage(admin);
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let read!: () => void;
    const listRead = new Promise<void>((resolve) => (read = resolve));
    let held = false;
    await page.route('**/api/v1/orders?*', async (route) => {
      if (held) return route.continue();
      held = true;
      const response = await route.fetch();
      read();
      await released;
      await route.fulfill({ response });
    });
    await page.goto(`${shop.app.baseUrl}/admin`);
    await page.locator('#live').filter({ hasText: 'Live' }).waitFor();
    await listRead;
    const id = await newOrder();
    await markPaid(shop.app, id);
    await statusOf(page, id, 'PAID').waitFor();
    release();
    await page.locator('#orders:not([aria-busy])').waitFor();
    await page.locator('#orders tr').nth(1).waitFor();
    assert.equal(await row(page, id).count(), 1, 'the order is listed once');
    assert.equal(await row(page, id).locator('.status').textContent(), 'PAID');
    await page.close();
  });

  it('cancelling a PAID order says before confirming that it refunds the amount, then refunds it', async () => {
    const page = await openDashboard();
    const id = await newOrder();
    await markPaid(shop.app, id);
    await statusOf(page, id, 'PAID').waitFor();
    await row(page, id).getByRole('button', { name: 'Cancel & refund' }).click();
    await page
      .locator('#confirm')
      .filter({ hasText: 'It is paid: cancelling refunds $50.00 to the customer.' })
      .waitFor();
    await page.locator('#confirm-no').click();
    assert.equal((await orderOf(id)).status, 'PAID');
    await page.close();
  });

  it('a partial refund of a DELIVERED order from the dashboard: typed in dollars, the order stays DELIVERED', async () => {
    const id = await newOrder();
    const checkout = await call(shop.app, 'POST', `/api/v1/orders/${id}/checkout`, {
      token: customer.token,
      body: {},
      headers: { 'idempotency-key': `r-${id}` },
    });
    assert.equal(checkout.status, 201);
    const session = (checkout.body.payment.checkoutUrl as string).split('/').pop()!;
    const paid = await fetch(`${shop.app.sandbox!.url}/_sandbox/checkout/sessions/${session}/pay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(paid.status, 200);
    const page = await openDashboard();
    await statusOf(page, id, 'PAID').waitFor();
    const post = (path: string, body?: unknown) =>
      call(shop.app, 'POST', path, { token: admin.token, ...(body ? { body } : {}) });
    assert.equal((await post(`/api/v1/admin/orders/${id}/ship`, { carrier: 'UPS', trackingNumber: 'R1' })).status, 200);
    assert.equal((await post(`/api/v1/admin/orders/${id}/deliver`)).status, 200);
    await statusOf(page, id, 'DELIVERED').waitFor();

    await row(page, id).getByRole('button', { name: 'Refund…' }).click();
    const dialog = page.locator('#refund');
    await dialog.filter({ hasText: 'Up to $50.00 can be refunded. The order stays DELIVERED.' }).waitFor();
    await dialog.getByLabel('Amount').fill('12.505');
    await dialog.getByRole('button', { name: 'Refund' }).click();
    await page.locator('#refund-error').filter({ hasText: 'Type an amount' }).waitFor();
    await dialog.getByLabel('Amount').fill('12.50');
    await dialog.getByLabel('Reason').fill('Scratched lid');
    await assertAccessible(page, 'the refund dialog');
    await page.screenshot({ path: '/tmp/admin-refund-dialog.png' });
    await dialog.getByRole('button', { name: 'Refund' }).click();
    await page.locator('#notice').filter({ hasText: 'Refund of $12.50 for order' }).waitFor();
    await row(page, id).getByText('refunded $12.50').waitFor();
    await statusOf(page, id, 'DELIVERED').waitFor();
    const order = await orderOf(id);
    assert.equal(order.status, 'DELIVERED');
    assert.equal(order.refunded.amount, 1250);
    await page.close();
  });

  it('at 390 px the list is cards, the page does not scroll sideways; no serious axe violations at either width', async () => {
    await newOrder();
    for (const width of [1280, 390]) {
      const page = await openDashboard(width);
      await page.locator('#orders tr[data-order-id]').first().waitFor();
      await assertNoHorizontalOverflow(page, `admin orders at ${width} px`);
      await assertAccessible(page, `admin orders at ${width} px`);
      await page.screenshot({ path: `/tmp/admin-orders-${width}.png`, fullPage: true });
      if (width === 390) {
        assert.equal(await page.locator('#tabs').isVisible(), false, 'the tabs fold behind Menu');
        await page.getByRole('button', { name: 'Menu' }).click();
        assert.equal(await page.locator('#tabs').isVisible(), true);
      }
      await page.close();
    }
  });

  it('before login nothing that needs one shows: no tabs, no orders', async () => {
    const page = await shop.newPage(390);
    await page.goto(`${shop.app.baseUrl}/admin`);
    await page.locator('#login').waitFor();
    assert.equal(await page.locator('#tabs').isVisible(), false);
    assert.equal(await page.locator('#menu').isVisible(), false);
    assert.equal(await page.locator('#orders-tab').isVisible(), false);
    await assertAccessible(page, 'admin login at 390 px');
    await page.screenshot({ path: '/tmp/admin-login-390.png', fullPage: true });
    await page.close();
  });
});

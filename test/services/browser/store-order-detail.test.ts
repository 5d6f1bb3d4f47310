import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { call, createUser } from '../../helpers.ts';
import { createProduct, type TestProduct } from '../../shop.ts';
import { createdOrder, paidOrder } from './order-fixtures.ts';
import {
  assertAccessible,
  assertNoHorizontalOverflow,
  startBrowserShop,
  type BrowserShop,
  type User,
} from './support.ts';

/** Issue 13 point 2 on the storefront: the customer's order detail from "My orders", at 1280 and 390 px. */
describe('browser: the customer’s order detail', () => {
  let shop: BrowserShop;
  let admin: User;
  let product: TestProduct;

  before(async () => {
    shop = await startBrowserShop();
    admin = await createUser(shop.app, 'admin');
    product = await createProduct(shop.app, admin.token, {
      name: 'Linen apron',
      price: { amount: 1800, currency: 'usd' },
      stock: 100,
    });
  });
  after(() => shop.close());

  const customerPage = async (user: User, width = 1280): Promise<Page> => {
    const page = await shop.customerPage(user, width);
    await page.goto(`${shop.app.baseUrl}/`);
    await page.locator('#live').filter({ hasText: 'connected' }).waitFor();
    return page;
  };
  const openDetail = async (page: Page, id: string) => {
    await page.getByRole('button', { name: `Details of order ${id}` }).click();
    await page.locator('#order-detail h2').filter({ hasText: id }).waitFor();
    return page.locator('#order-detail');
  };

  it('shows items, address, payment and refund, tracking and the timeline, in the shop’s words', async () => {
    const user = await createUser(shop.app);
    const id = await paidOrder(shop.app, user, admin, product, {
      refund: 600,
      ship: { carrier: 'DHL', trackingNumber: 'JD0142' },
    });
    for (const width of [1280, 390]) {
      const page = await customerPage(user, width);
      const panel = await openDetail(page, id);
      for (const text of [
        'Shipped — $6.00 refunded',
        'Linen apron',
        `Test customer <${user.email}>`,
        'Ada Lovelace',
        '12 St James Sq',
        '$36.00 — PARTIALLY_REFUNDED',
        'Refund $6.00 — SUCCEEDED',
        'Dented box',
        'DHL',
        'JD0142',
        'Order placed',
        'Refund completed',
      ])
        await panel.getByText(text, { exact: false }).first().waitFor();
      // The customer sees who did what in words, not account ids.
      const timeline = (await panel.locator('ol.timeline').textContent()) ?? '';
      assert.match(timeline, /Order placed — you/);
      assert.match(timeline, /Shipped \(PAID → SHIPPED\) — the shop/);
      assert.doesNotMatch(timeline, /usr_|system:/);
      await assertNoHorizontalOverflow(page, `customer order detail at ${width} px`);
      await assertAccessible(page, `customer order detail at ${width} px`);
      await page.screenshot({ path: `/tmp/wt13a-store-detail-${width}.png`, fullPage: true });
      await panel.getByRole('button', { name: 'Close' }).click();
      await panel.waitFor({ state: 'hidden' });
      await page.close();
    }
  });

  it('an unpaid order says until when it is held, and the open detail follows the order live', async () => {
    const user = await createUser(shop.app);
    const id = await createdOrder(shop.app, user, product, 1);
    const page = await customerPage(user, 390);
    const panel = await openDetail(page, id);
    await panel.getByText('cancelled automatically if not paid by then').waitFor();
    await panel.getByText('No payment yet.').waitFor();
    const cancelled = await call(shop.app, 'POST', `/api/v1/orders/${id}/cancel`, { token: admin.token, body: {} });
    assert.equal(cancelled.status, 200);
    await panel.getByText('Cancelled', { exact: false }).first().waitFor();
    await panel.locator('li[data-type="order.cancelled"]').waitFor();
    assert.equal(await panel.getByText('cancelled automatically if not paid by then').count(), 0);
    await page.close();
  });

  it('another customer’s order cannot be opened (the API answers 404)', async () => {
    const owner = await createUser(shop.app);
    const id = await createdOrder(shop.app, owner, product, 1);
    const stranger = await createUser(shop.app);
    for (const path of [`/api/v1/orders/${id}/payments`, `/api/v1/orders/${id}/events`]) {
      assert.equal((await call(shop.app, 'GET', path, { token: stranger.token })).status, 404);
    }
    assert.deepEqual(shop.pageErrors, []);
  });
});

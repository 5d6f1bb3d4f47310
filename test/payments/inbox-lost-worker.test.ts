import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { call } from '../helpers.ts';
import { drainInbox, inboxRows, postEvent, startShop, stripeEvent, type Shop } from './support.ts';

const LEASE_MS = 60_000;

// A row whose processing kills its worker (out of memory, a crash) never reaches the worker's catch, which is
// where a failure is counted as final: the claim that finds its lease run out for the last time must end it.
describe('webhook inbox: a row that kills its worker every time', () => {
  let shop: Shop;
  before(async () => {
    shop = await startShop({ env: { WEBHOOK_MAX_ATTEMPTS: '3' } });
  });
  after(() => shop.close());

  it('is claimed WEBHOOK_MAX_ATTEMPTS times, then marked dead instead of claimed again; an admin retry revives it', async () => {
    // An event the worker must apply (an event of a type Fulcrum ignores is stored processed at intake).
    const event = stripeEvent('checkout.session.expired', { id: 'cs_lost', object: 'checkout.session' });
    assert.equal((await postEvent(shop, event)).status, 200);
    const rowOf = async () => (await inboxRows(shop)).find((r) => r.event_id === event.id)!;

    for (let attempt = 1; attempt <= 3; attempt += 1) {
      const dying = await shop.app.payments.inbox.claim(100); // the worker dies holding it
      assert.deepEqual(
        dying.rows.map((r) => r.event_id),
        [event.id],
        `claim ${attempt}: a lost lease below the limit is taken over`,
      );
      const row = await rowOf();
      assert.equal(row.attempts, attempt);
      assert.equal(row.status, 'pending');
      assert.equal((await shop.app.payments.inbox.claim(100)).rows.length, 0, 'not while the lease holds');
      shop.clock.advance(LEASE_MS + 1_000);
    }

    const next = await shop.app.payments.inbox.claim(100);
    assert.equal(next.rows.length, 0, 'not claimed a fourth time');
    const dead = await rowOf();
    assert.equal(dead.status, 'dead');
    assert.equal(dead.attempts, 3);
    assert.match(dead.last_error ?? '', /^worker lost the row 3 times/);
    assert.equal(dead.locked_until, null);
    assert.equal(dead.lease_id, null);
    shop.clock.advance(3_600_000);
    assert.equal(await shop.app.payments.inbox.processInboxOnce(), 0, 'a dead row stays dead');

    const token = await shop.app.deps.tokens.issueAccessToken({ id: shop.admin.id, role: 'admin' });
    const listed = await call(shop.app, 'GET', '/api/v1/admin/webhook-events?status=dead', { token });
    assert.ok(
      listed.body.data.some((e: { eventId: string }) => e.eventId === event.id),
      'shown to admins',
    );
    const retried = await call(shop.app, 'POST', `/api/v1/admin/webhook-events/${dead.id}/retry`, { token });
    assert.equal(retried.status, 202);
    await drainInbox(shop);
    const processed = await rowOf();
    assert.equal(processed.status, 'processed');
    assert.equal(processed.attempts, 1);
  });

  it('a row that failed normally before is counted the same: lost on its last attempt, it is dead', async () => {
    const event = stripeEvent('checkout.session.completed', {});
    (event.data as { object: unknown }).object = null; // the handler throws on it
    assert.equal((await postEvent(shop, event)).status, 200);
    const rowOf = async () => (await inboxRows(shop)).find((r) => r.event_id === event.id)!;
    await drainInbox(shop);
    assert.equal((await rowOf()).status, 'failed');
    assert.equal((await rowOf()).attempts, 1);
    shop.clock.advance(1_100);
    await drainInbox(shop);
    assert.equal((await rowOf()).attempts, 2);
    shop.clock.advance(2_100);
    const dying = await shop.app.payments.inbox.claim(100);
    assert.deepEqual(
      dying.rows.map((r) => r.event_id),
      [event.id],
    );
    assert.equal((await rowOf()).attempts, 3);
    shop.clock.advance(LEASE_MS + 1_000);
    assert.equal((await shop.app.payments.inbox.claim(100)).rows.length, 0);
    const dead = await rowOf();
    assert.equal(dead.status, 'dead');
    assert.match(dead.last_error ?? '', /^worker lost the row 3 times/);
  });
});

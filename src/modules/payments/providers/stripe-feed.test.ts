import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Stripe from 'stripe';
import { listEventsSince } from './stripe-feed.ts';

/** Stripe's event list over an in-memory log: newest first, `created[gte]`, `starting_after`, `ending_before`. */
function fakeEventLog() {
  const log: Stripe.Event[] = []; // oldest first
  let calls = 0;
  const add = (n: number, created: number) => {
    for (let i = 0; i < n; i += 1) {
      const id = `evt_${String(log.length).padStart(6, '0')}`;
      log.push({ id, type: 'checkout.session.completed', created, object: 'event' } as Stripe.Event);
    }
  };
  const gone = (id: string) =>
    new Stripe.errors.StripeInvalidRequestError({ type: 'invalid_request_error', message: `No such event: '${id}'` });
  const events = {
    list(params: Stripe.EventListParams) {
      calls += 1;
      const gte = typeof params.created === 'object' ? (params.created.gte ?? 0) : 0;
      const inWindow = log.filter((e) => e.created >= gte);
      const limit = params.limit ?? 10;
      let data: Stripe.Event[];
      let hasMore: boolean;
      if (params.ending_before !== undefined) {
        const at = log.findIndex((e) => e.id === params.ending_before);
        if (at < 0) throw gone(params.ending_before);
        const newer = log.slice(at + 1);
        data = newer.slice(0, limit).reverse();
        hasMore = newer.length > limit;
      } else {
        let older = [...inWindow].reverse();
        if (params.starting_after !== undefined) {
          const at = older.findIndex((e) => e.id === params.starting_after);
          if (at < 0) throw gone(params.starting_after);
          older = older.slice(at + 1);
        }
        data = older.slice(0, limit);
        hasMore = older.length > limit;
      }
      return Promise.resolve({ object: 'list', data, has_more: hasMore, url: '/v1/events' });
    },
  };
  return {
    stripe: { events } as unknown as Pick<Stripe, 'events'>,
    add,
    log,
    get calls() {
      return calls;
    },
  };
}

const since = new Date(1_000 * 1000);

describe('the Stripe event feed', () => {
  it('without a cursor, reads the whole window over several runs (1,000 per run), then only what is new', async () => {
    const feed = fakeEventLog();
    feed.add(50, 500); // before the window: never read
    feed.add(2_500, 2_000);
    const seen: string[] = [];
    let cursor: string | null = null;
    const runs: number[] = [];
    for (let run = 0; run < 3; run += 1) {
      const page = await listEventsSince(feed.stripe, cursor, since);
      runs.push(page.events.length);
      seen.push(...page.events.map((e) => e.id));
      cursor = page.cursor;
      if (run === 0) feed.add(30, 3_000); // new events while the window is being read
    }
    assert.deepEqual(runs, [1_000, 30 + 900, 600], 'at most 10 pages a run: the new ones first, then older ones');
    assert.equal(new Set(seen).size, seen.length, 'nothing twice');
    assert.deepEqual(
      [...seen].sort(),
      feed.log.slice(50).map((e) => e.id),
      'every event of the window, none before it',
    );
    assert.equal(cursor, feed.log.at(-1)!.id, 'backfill done: the cursor is the newest event');

    feed.add(7, 4_000);
    const next = await listEventsSince(feed.stripe, cursor, since);
    assert.deepEqual(
      next.events.map((e) => e.id),
      feed.log.slice(-7).map((e) => e.id),
      'oldest first',
    );
    const idle = await listEventsSince(feed.stripe, next.cursor, since);
    assert.deepEqual(idle, { events: [], cursor: next.cursor });
  });

  it('a cursor the gateway no longer knows: starts again from the time window', async () => {
    const feed = fakeEventLog();
    feed.add(5, 500);
    feed.add(12, 2_000);
    const page = await listEventsSince(feed.stripe, 'evt_gone', since);
    assert.deepEqual(
      page.events.map((e) => e.id),
      feed.log.slice(5).map((e) => e.id),
    );
    assert.equal(page.cursor, feed.log.at(-1)!.id);
  });

  it('a backfill whose event is gone ends; other gateway errors are GatewayErrors', async () => {
    const feed = fakeEventLog();
    feed.add(3, 2_000);
    const newest = feed.log.at(-1)!.id;
    const page = await listEventsSince(
      feed.stripe,
      JSON.stringify({ after: newest, backfill: { before: 'evt_gone', gte: 1_000 } }),
      since,
    );
    assert.deepEqual(page, { events: [], cursor: newest });

    const broken = {
      events: { list: () => Promise.reject(new Stripe.errors.StripeAPIError({ message: 'down', type: 'api_error' })) },
    } as unknown as Pick<Stripe, 'events'>;
    await assert.rejects(listEventsSince(broken, null, since), { name: 'GatewayError' });
    await assert.rejects(listEventsSince(broken, newest, since), { name: 'GatewayError' });
  });

  it('with no event in the window, saves no cursor', async () => {
    const feed = fakeEventLog();
    feed.add(3, 500);
    assert.deepEqual(await listEventsSince(feed.stripe, null, since), { events: [], cursor: null });
  });
});

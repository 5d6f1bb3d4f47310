import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, test } from 'node:test';
import Stripe from 'stripe';
import { startSandbox } from './index.ts';
import type { DeliveryLogEntry } from './state.ts';
import { pay, sessionParams, startHarness, typesReceived, waitFor } from './test-helpers.ts';
import type { Harness } from './test-helpers.ts';

async function deliveries(h: Harness, eventId?: string): Promise<DeliveryLogEntry[]> {
  const query = eventId === undefined ? '' : `?eventId=${eventId}`;
  const { json } = await h.control('GET', `/_sandbox/deliveries${query}`);
  return (json as { data: DeliveryLogEntry[] }).data;
}

/** Creates and expires a session: exactly one event, checkout.session.expired. */
async function expireOne(h: Harness): Promise<string> {
  const session = await h.stripe.checkout.sessions.create(sessionParams());
  await h.stripe.checkout.sessions.expire(session.id);
  const [event] = (await h.stripe.events.list({ type: 'checkout.session.expired', limit: 1 })).data;
  assert.ok(event);
  assert.equal((event.data.object as Stripe.Checkout.Session).id, session.id);
  return event.id;
}

function receivedIds(h: Harness, eventId: string): number {
  return h.receiver.received.filter((d) => d.event.id === eventId).length;
}

describe('webhook delivery', () => {
  let h: Harness;
  afterEach(() => h.close());

  test('every state change is sent, signed with Stripe’s scheme and verified by constructEvent', async () => {
    h = await startHarness();
    const session = await h.stripe.checkout.sessions.create(sessionParams());
    await pay(h, session.id);
    await waitFor('four events', () => (h.receiver.received.length >= 4 ? true : undefined));
    assert.deepEqual(typesReceived(h.receiver).sort(), [
      'charge.succeeded',
      'checkout.session.completed',
      'payment_intent.created',
      'payment_intent.succeeded',
    ]);
    assert.deepEqual(h.receiver.rejected, []);
    for (const { event, raw, headers } of h.receiver.received) {
      assert.equal(headers['user-agent'], 'Stripe/1.0 (+https://stripe.com/docs/webhooks)');
      assert.match(headers['content-type'] ?? '', /^application\/json/);
      const signature = String(headers['stripe-signature']);
      const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(signature);
      assert.ok(match, signature);
      const expected = createHmac('sha256', h.sandbox.webhookSecret).update(`${match[1]}.${raw}`).digest('hex');
      assert.equal(match[2], expected);
      assert.equal(event.pending_webhooks, 1);
      assert.throws(
        () => Stripe.webhooks.constructEvent(raw, signature, 'whsec_not_the_secret'),
        Stripe.errors.StripeSignatureVerificationError,
      );
    }
    const completed = h.receiver.received.find((d) => d.event.type === 'checkout.session.completed');
    assert.ok(completed?.event.type === 'checkout.session.completed');
    assert.equal(completed.event.data.object.id, session.id);
    assert.equal(completed.event.data.object.payment_status, 'paid');
    assert.match(h.sandbox.webhookSecret, /^whsec_/);

    const log = await waitFor('four log entries', async () => {
      const entries = await deliveries(h);
      return entries.length === 4 ? entries : undefined;
    });
    for (const entry of log) {
      assert.equal(entry.statusCode, 200);
      assert.equal(entry.attempt, 1);
      assert.match(entry.at, /^\d{4}-\d\d-\d\dT/);
    }
    const listed = await h.stripe.events.retrieve(completed.event.id);
    assert.equal(listed.pending_webhooks, 0);
  });

  test('a 500 is retried until a 2xx; the log shows every attempt', async () => {
    h = await startHarness();
    h.receiver.respond = (_event, nth) => (nth === 1 ? 500 : 200);
    const eventId = await expireOne(h);
    await waitFor('the retry', () => (receivedIds(h, eventId) === 2 ? true : undefined));
    const log = await waitFor('two attempts logged', async () => {
      const entries = await deliveries(h, eventId);
      return entries.length === 2 ? entries : undefined;
    });
    assert.deepEqual(
      log.map((e) => [e.attempt, e.statusCode, e.type]),
      [
        [1, 500, 'checkout.session.expired'],
        [2, 200, 'checkout.session.expired'],
      ],
    );
    assert.equal((await h.stripe.events.list({ delivery_success: true })).data[0]?.id, eventId);
  });

  test('once the schedule is used up the last delay repeats, until a 2xx; the log says when the next try is', async () => {
    h = await startHarness({ retryDelaysMs: [5, 10] });
    let failing = true;
    h.receiver.respond = () => (failing ? 503 : 200);
    const eventId = await expireOne(h);
    await waitFor('five failed attempts', async () => ((await deliveries(h, eventId)).length >= 5 ? true : undefined));
    const undelivered = await h.stripe.events.list({ delivery_success: false });
    assert.deepEqual(
      undelivered.data.map((e) => e.id),
      [eventId],
    );
    assert.equal(undelivered.data[0]?.pending_webhooks, 1);
    failing = false;
    const log = await waitFor('the 2xx', async () => {
      const entries = await deliveries(h, eventId);
      return entries.at(-1)?.statusCode === 200 ? entries : undefined;
    });
    const last = log.length;
    assert.ok(last >= 6, `${last} attempts`);
    assert.deepEqual(
      log.map((e) => e.attempt),
      Array.from({ length: last }, (_, i) => i + 1),
    );
    assert.deepEqual(
      log.map((e) => e.statusCode),
      [...Array<number>(last - 1).fill(503), 200],
    );
    // nextRetryAt − at: the schedule (5, 10), then its last delay again and again; null once delivered.
    assert.deepEqual(
      log.map((e) => (e.nextRetryAt === null ? null : Date.parse(e.nextRetryAt) - Date.parse(e.at))),
      [5, ...Array<number>(last - 2).fill(10), null],
    );
    assert.equal((await h.stripe.events.retrieve(eventId)).pending_webhooks, 0);
    assert.equal((await h.stripe.events.list({ delivery_success: true })).data[0]?.id, eventId);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal((await deliveries(h, eventId)).length, last, 'no attempt after the 2xx');
  });

  test('retryDelaysMs must list at least one delay, the last at least 1 ms', async () => {
    await assert.rejects(startSandbox({ port: 0, retryDelaysMs: [] }), /one or more/);
    await assert.rejects(startSandbox({ port: 0, retryDelaysMs: [5, 0] }), /at least 1 ms/);
    await assert.rejects(startSandbox({ port: 0, retryDelaysMs: [5, -1] }), /non-negative/);
    h = await startHarness({ retryDelaysMs: [0, 1] });
  });

  test('a connection error is an attempt with statusCode null; a new endpoint gets the retry', async () => {
    h = await startHarness({ webhookUrl: 'http://127.0.0.1:1/unreachable', retryDelaysMs: [5, 600_000] });
    const eventId = await expireOne(h);
    const log = await waitFor('two failed attempts', async () => {
      const entries = await deliveries(h, eventId);
      return entries.length === 2 ? entries : undefined;
    });
    assert.deepEqual(
      log.map((e) => [e.attempt, e.statusCode]),
      [
        [1, null],
        [2, null],
      ],
    );
    assert.ok(log[0]?.error);
    assert.equal((await h.stripe.events.retrieve(eventId)).pending_webhooks, 1);
    h.sandbox.setWebhookEndpoint(h.receiver.url);
    const flushed = await h.control('POST', '/_sandbox/webhooks/flush');
    assert.deepEqual(flushed.json, { flushed: 1 });
    assert.equal(receivedIds(h, eventId), 1);
    assert.equal((await deliveries(h, eventId))[2]?.statusCode, 200);
  });

  test('an endpoint that does not answer in time is a failed attempt, retried', async () => {
    let calls = 0;
    const hanging = http.createServer((req, res) => {
      calls++;
      if (calls > 1) res.writeHead(204).end();
      // The first request is never answered.
    });
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/`;
    h = await startHarness({ webhookUrl: url, webhookTimeoutMs: 50, retryDelaysMs: [5] });
    try {
      const eventId = await expireOne(h);
      const log = await waitFor('the timeout, then the retry', async () => {
        const entries = await deliveries(h, eventId);
        return entries.length === 2 ? entries : undefined;
      });
      assert.deepEqual(
        log.map((e) => [e.attempt, e.statusCode]),
        [
          [1, null],
          [2, 204],
        ],
      );
      assert.match(log[0]?.error ?? '', /no answer within 50 ms/);
    } finally {
      hanging.closeAllConnections();
      hanging.close();
    }
  });

  test('events made before there is an endpoint are only listed; a new secret signs what follows', async () => {
    h = await startHarness({ webhookUrl: undefined });
    const before = await expireOne(h);
    h.sandbox.setWebhookEndpoint(h.receiver.url, 'whsec_rotated');
    assert.equal(h.sandbox.webhookSecret, 'whsec_rotated');
    h.receiver.secret = 'whsec_rotated';
    const afterwards = await expireOne(h);
    await waitFor('the second event', () => (receivedIds(h, afterwards) === 1 ? true : undefined));
    assert.equal(receivedIds(h, before), 0);
    assert.deepEqual(h.receiver.rejected, []);
  });
});

describe('webhook faults', () => {
  let h: Harness;
  afterEach(() => h.close());

  test('duplicate: n sends each event n extra times with the same id', async () => {
    h = await startHarness();
    assert.equal((await h.control('POST', '/_sandbox/faults', { duplicate: 2 })).status, 200);
    const eventId = await expireOne(h);
    await waitFor('three copies', () => (receivedIds(h, eventId) === 3 ? true : undefined));
    const log = await waitFor('three entries', async () => {
      const entries = await deliveries(h, eventId);
      return entries.length === 3 ? entries : undefined;
    });
    assert.deepEqual(
      log.map((e) => e.duplicate),
      [false, true, true],
    );
    const bodies = new Set(h.receiver.received.map((d) => d.event.id));
    assert.deepEqual([...bodies], [eventId]);
  });

  test('reorder holds events and sends them newest first on flush', async () => {
    h = await startHarness();
    await h.control('POST', '/_sandbox/faults', { reorder: true, reorderWindowMs: 600_000 });
    const ids = [await expireOne(h), await expireOne(h), await expireOne(h)];
    assert.deepEqual(await deliveries(h), []);
    assert.deepEqual(await h.control('POST', '/_sandbox/webhooks/flush'), { status: 200, json: { flushed: 3 } });
    assert.deepEqual(
      h.receiver.received.map((d) => d.event.id),
      [...ids].reverse(),
    );
  });

  test('reorder releases the batch by itself after its window', async () => {
    h = await startHarness();
    await h.control('POST', '/_sandbox/faults', { reorder: true, reorderWindowMs: 30 });
    // One payment makes four events at once, so they share one batch.
    const session = await h.stripe.checkout.sessions.create(sessionParams());
    await pay(h, session.id);
    await waitFor('the four events', () => (h.receiver.received.length === 4 ? true : undefined));
    const newestFirst = (await h.stripe.events.list({ limit: 4 })).data.map((e) => e.id);
    assert.deepEqual(
      h.receiver.received.map((d) => d.event.id),
      newestFirst,
    );
  });

  test('delayMs holds deliveries until flushed (or until the delay passes)', async () => {
    h = await startHarness();
    await h.control('POST', '/_sandbox/faults', { delayMs: 600_000 });
    const held = await expireOne(h);
    assert.deepEqual(await deliveries(h), []);
    assert.equal((await h.stripe.events.retrieve(held)).pending_webhooks, 1);
    await h.control('POST', '/_sandbox/webhooks/flush');
    assert.equal(receivedIds(h, held), 1);
    assert.equal((await h.stripe.events.retrieve(held)).pending_webhooks, 0);

    await h.control('POST', '/_sandbox/faults', { delayMs: 20 });
    const short = await expireOne(h);
    await waitFor('the delayed event', () => (receivedIds(h, short) === 1 ? true : undefined));
  });

  test('dropRate 1 drops every delivery; the event is still listed for reconciliation', async () => {
    h = await startHarness();
    await h.control('POST', '/_sandbox/faults', { dropRate: 1 });
    const eventId = await expireOne(h);
    assert.deepEqual(await h.control('POST', '/_sandbox/webhooks/flush'), { status: 200, json: { flushed: 0 } });
    assert.equal(h.receiver.received.length, 0);
    const log = await deliveries(h, eventId);
    assert.equal(log.length, 1);
    assert.equal(log[0]?.dropped, true);
    assert.equal(log[0]?.statusCode, null);
    const listed = await h.stripe.events.list({ type: 'checkout.session.expired' });
    assert.deepEqual(
      listed.data.map((e) => e.id),
      [eventId],
    );

    await h.control('DELETE', '/_sandbox/faults');
    const next = await expireOne(h);
    await waitFor('delivery after the faults are cleared', () => (receivedIds(h, next) === 1 ? true : undefined));
  });

  test('signatureAgeSeconds signs every attempt that old: past the tolerance only the event log has it', async () => {
    h = await startHarness();
    await h.control('POST', '/_sandbox/faults', { signatureAgeSeconds: 301 });
    const stale = await expireOne(h);
    await h.control('DELETE', '/_sandbox/faults');
    const log = await waitFor('three refused attempts', async () => {
      const entries = await deliveries(h, stale);
      return entries.length >= 3 ? entries : undefined;
    });
    assert.deepEqual(
      log.slice(0, 3).map((e) => [e.attempt, e.statusCode]),
      [
        [1, 400],
        [2, 400],
        [3, 400],
      ],
      'retries keep the old signature even after the fault is cleared',
    );
    assert.equal(receivedIds(h, stale), 0);
    for (const raw of h.receiver.rejected) {
      const event = JSON.parse(raw) as Stripe.Event;
      assert.equal(event.id, stale);
    }
    assert.equal((await h.stripe.events.retrieve(stale)).pending_webhooks, 1, 'listed as undelivered');

    await h.control('POST', '/_sandbox/faults', { signatureAgeSeconds: 120 });
    const young = await expireOne(h);
    await waitFor('a signature inside the tolerance', () => (receivedIds(h, young) === 1 ? true : undefined));
    const [delivery] = h.receiver.received.filter((d) => d.event.id === young);
    const t = Number(/t=(\d+)/.exec(String(delivery?.headers['stripe-signature']))?.[1]);
    assert.ok(Math.abs(Date.now() / 1000 - 120 - t) < 5, `signed 120 s back: t=${t}`);
  });

  test('bad fault settings are refused', async () => {
    h = await startHarness();
    for (const body of [
      { dropRate: 2 },
      { duplicate: -1 },
      { reorder: 'yes' },
      { nonsense: 1 },
      [1],
      { signatureAgeSeconds: 86_401 },
    ]) {
      assert.equal((await h.control('POST', '/_sandbox/faults', body)).status, 400, JSON.stringify(body));
    }
    const current = await h.control('POST', '/_sandbox/faults', { apiLatencyMs: 5 });
    assert.equal((current.json as { apiLatencyMs: number }).apiLatencyMs, 5);
    const cleared = await h.control('DELETE', '/_sandbox/faults');
    assert.equal((cleared.json as { apiLatencyMs: number }).apiLatencyMs, 0);
  });
});

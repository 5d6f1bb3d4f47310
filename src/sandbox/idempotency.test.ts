import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import Stripe from 'stripe';
import { pay, sdkFor, sessionParams, startHarness } from './test-helpers.ts';
import type { Harness } from './test-helpers.ts';

describe('Idempotency-Key, as Stripe honours it', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  beforeEach(() => h.control('DELETE', '/_sandbox/faults'));
  after(() => h.close());

  test('the same key and parameters replay the first answer', async () => {
    const first = await h.stripe.checkout.sessions.create(sessionParams(), { idempotencyKey: 'replay-1' });
    const second = await h.stripe.checkout.sessions.create(sessionParams(), { idempotencyKey: 'replay-1' });
    assert.equal(second.id, first.id);
    assert.equal(second.lastResponse.headers['idempotent-replayed'], 'true');
    assert.equal(second.lastResponse.idempotencyKey, 'replay-1');
    assert.equal(first.lastResponse.headers['idempotent-replayed'], undefined);
  });

  test('the same key with other parameters is a StripeIdempotencyError', async () => {
    await h.stripe.checkout.sessions.create(sessionParams(), { idempotencyKey: 'mismatch-1' });
    await assert.rejects(
      h.stripe.checkout.sessions.create(sessionParams({ client_reference_id: 'ord_2' }), {
        idempotencyKey: 'mismatch-1',
      }),
      (err: unknown) => {
        assert.ok(err instanceof Stripe.errors.StripeIdempotencyError);
        assert.equal(err.statusCode, 400);
        assert.equal(err.rawType, 'idempotency_error');
        assert.match(err.message, /^Keys for idempotent requests can only be used with the same parameters/);
        assert.match(err.message, /Try using a key other than 'mismatch-1'/);
        return true;
      },
    );
  });

  test('the same key on another endpoint is a StripeIdempotencyError', async () => {
    const session = await h.stripe.checkout.sessions.create(sessionParams(), { idempotencyKey: 'endpoint-1' });
    await assert.rejects(
      h.stripe.checkout.sessions.expire(session.id, {}, { idempotencyKey: 'endpoint-1' }),
      Stripe.errors.StripeIdempotencyError,
    );
  });

  test('a refund replayed with its key is made once', async () => {
    const session = await h.stripe.checkout.sessions.create(sessionParams());
    await pay(h, session.id);
    const intent = (await h.stripe.checkout.sessions.retrieve(session.id)).payment_intent as string;
    const a = await h.stripe.refunds.create({ payment_intent: intent, amount: 100 }, { idempotencyKey: 'refund-1' });
    const b = await h.stripe.refunds.create({ payment_intent: intent, amount: 100 }, { idempotencyKey: 'refund-1' });
    assert.equal(b.id, a.id);
    const pi = await h.stripe.paymentIntents.retrieve(intent, { expand: ['latest_charge'] });
    assert.equal((pi.latest_charge as Stripe.Charge).amount_refunded, 100);
  });

  test('nothing is saved for a validation failure: the key can be used again', async () => {
    await assert.rejects(
      h.stripe.checkout.sessions.create({ ...sessionParams(), mode: undefined }, { idempotencyKey: 'invalid-1' }),
      { param: 'mode' },
    );
    const ok = await h.stripe.checkout.sessions.create(sessionParams(), { idempotencyKey: 'invalid-1' });
    assert.equal(ok.status, 'open');
  });

  test('a business error (expiring twice) is saved and replayed', async () => {
    const session = await h.stripe.checkout.sessions.create(sessionParams());
    await h.stripe.checkout.sessions.expire(session.id);
    const again = () => h.stripe.checkout.sessions.expire(session.id, {}, { idempotencyKey: 'expire-twice' });
    await assert.rejects(again(), { statusCode: 400 });
    await assert.rejects(again(), (err: unknown) => {
      assert.ok(err instanceof Stripe.errors.StripeInvalidRequestError);
      assert.equal(err.headers?.['idempotent-replayed'], 'true');
      return true;
    });
  });

  /** Two calls with one key, the second sent while the first is held by the injected latency. */
  async function racePair(stripe: Stripe, key: string): Promise<PromiseSettledResult<Stripe.Checkout.Session>[]> {
    const first = stripe.checkout.sessions.create(sessionParams(), { idempotencyKey: key });
    await new Promise((r) => setTimeout(r, 50));
    const second = stripe.checkout.sessions.create(sessionParams(), { idempotencyKey: key });
    return Promise.allSettled([first, second]);
  }

  /** Whichever arrived first succeeded; the other got 409 idempotency_key_in_use. */
  function assertOneInUse(results: PromiseSettledResult<Stripe.Checkout.Session>[]): void {
    const fulfilled = results.filter((r) => r.status === 'fulfilled');
    const rejected = results.filter((r) => r.status === 'rejected');
    assert.equal(fulfilled.length, 1);
    assert.equal(rejected.length, 1);
    const err: unknown = rejected[0]?.reason;
    assert.ok(err instanceof Stripe.errors.StripeAPIError);
    assert.equal(err.statusCode, 409);
    assert.equal(err.code, 'idempotency_key_in_use');
    assert.equal(err.rawType, 'invalid_request_error');
    assert.equal(err.headers?.['stripe-should-retry'], 'false');
  }

  test('while the first request is in flight the same key gets 409 idempotency_key_in_use', async () => {
    await h.control('POST', '/_sandbox/faults', { apiLatencyMs: 600 });
    assertOneInUse(await racePair(h.stripe, 'inflight-1'));
  });

  test('with retries on, the SDK does not retry a 409 marked Stripe-Should-Retry: false', async () => {
    await h.control('POST', '/_sandbox/faults', { apiLatencyMs: 600 });
    const retrying = sdkFor(h.sandbox.port, 'sk_test_sandbox', { maxNetworkRetries: 3 });
    let attempts = 0;
    retrying.on('request', () => attempts++);
    assertOneInUse(await racePair(retrying, 'inflight-2'));
    assert.equal(attempts, 2);
  });

  test('a client that timed out and retries with its key gets the original answer', async () => {
    await h.control('POST', '/_sandbox/faults', { apiLatencyMs: 1000 });
    const impatient = sdkFor(h.sandbox.port, 'sk_test_sandbox', { timeout: 250 });
    await assert.rejects(
      impatient.checkout.sessions.create(sessionParams(), { idempotencyKey: 'timeout-1' }),
      Stripe.errors.StripeConnectionError,
    );
    await h.control('DELETE', '/_sandbox/faults');
    // The first call is still being answered: 409 until then, then the replay.
    let replay: Stripe.Response<Stripe.Checkout.Session> | undefined;
    while (replay === undefined) {
      try {
        replay = await h.stripe.checkout.sessions.create(sessionParams(), { idempotencyKey: 'timeout-1' });
      } catch (err) {
        if (!(err instanceof Stripe.errors.StripeAPIError && err.statusCode === 409)) throw err;
        await new Promise((r) => setTimeout(r, 25));
      }
    }
    assert.equal(replay.lastResponse.headers['idempotent-replayed'], 'true');
  });

  test('apiErrorRate 1 makes every call a StripeAPIError 500, and nothing is saved for its key', async () => {
    await h.control('POST', '/_sandbox/faults', { apiErrorRate: 1 });
    await assert.rejects(
      h.stripe.checkout.sessions.create(sessionParams(), { idempotencyKey: 'flaky-1' }),
      (err: unknown) => {
        assert.ok(err instanceof Stripe.errors.StripeAPIError);
        assert.equal(err.statusCode, 500);
        assert.equal(err.rawType, 'api_error');
        return true;
      },
    );
    await assert.rejects(h.stripe.events.list(), Stripe.errors.StripeAPIError);
    await h.control('DELETE', '/_sandbox/faults');
    const ok = await h.stripe.checkout.sessions.create(sessionParams(), { idempotencyKey: 'flaky-1' });
    assert.equal(ok.lastResponse.headers['idempotent-replayed'], undefined);
  });

  test('with a seeded apiErrorRate the SDK’s own retries get through', async () => {
    // seed 9 draws 0.19…, 0.85…: the first call fails (< 0.5), the retry succeeds.
    await h.control('POST', '/_sandbox/faults', { apiErrorRate: 0.5, seed: 9 });
    const retrying = sdkFor(h.sandbox.port, 'sk_test_sandbox', { maxNetworkRetries: 2 });
    let attempts = 0;
    retrying.on('request', () => attempts++);
    const session = await retrying.checkout.sessions.create(sessionParams());
    assert.equal(session.status, 'open');
    assert.equal(attempts, 2);
  });
});

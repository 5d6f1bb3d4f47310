import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { sessionExpiry } from './checkout.service.ts';

const MIN = 60_000;
const now = new Date('2026-05-01T12:00:00Z');
const at = (minutes: number) => new Date(now.getTime() + minutes * MIN);

describe('checkout session expiry', () => {
  it('closes with the order when the gateway allows it', () => {
    assert.deepEqual(sessionExpiry(at(120), now), at(120));
  });
  it('never sooner than the gateway allows: an order expiring earlier gets the shortest session', () => {
    assert.deepEqual(sessionExpiry(at(10), now), at(31));
  });
  it('never later than 24 hours', () => {
    assert.deepEqual(sessionExpiry(at(7 * 24 * 60), now), at(24 * 60 - 1));
  });
  it('property: always inside Stripe’s window with a minute of margin each side', () => {
    fc.assert(
      fc.property(fc.integer({ min: -10_000, max: 100_000 }), (minutes) => {
        const t = sessionExpiry(at(minutes), now).getTime() - now.getTime();
        assert.ok(t >= 31 * MIN && t <= 24 * 60 * MIN - MIN);
      }),
    );
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  isFinal,
  orderStatuses,
  orderTransitions,
  parties,
  transition,
  type OrderStatus,
  type Party,
} from './order-status.ts';

// Written out by hand from docs/api.md (order statuses), independently of the module's tables.
const allowed: Record<string, readonly Party[]> = {
  'CREATED>PAID': ['system'],
  'CREATED>CANCELLED': ['owner', 'admin', 'system'],
  'PAID>SHIPPED': ['admin'],
  'PAID>CANCELLED': ['admin'],
  'SHIPPED>DELIVERED': ['admin', 'system'],
};
// Moves that exist but this party makes only from another state: 409, not 403.
const elsewhere: Record<string, readonly Party[]> = {
  'PAID>CANCELLED': ['owner', 'system'],
};

function expected(from: OrderStatus, to: OrderStatus, party: Party): 'ok' | 'invalid_transition' | 'forbidden' {
  const move = `${from}>${to}`;
  if (!(move in allowed)) return 'invalid_transition';
  if (allowed[move]!.includes(party)) return 'ok';
  return elsewhere[move]?.includes(party) === true ? 'invalid_transition' : 'forbidden';
}

describe('order state machine', () => {
  for (const from of orderStatuses) {
    for (const to of orderStatuses) {
      for (const party of parties) {
        const want = expected(from, to, party);
        it(`${from} -> ${to} by ${party}: ${want}`, () => {
          const order = { id: 'ord_x', status: from };
          const result = transition(order, to, party);
          if (want === 'ok') {
            assert.deepEqual(result, { ok: true, from, order: { id: 'ord_x', status: to } });
          } else {
            assert.deepEqual(result, { ok: false, error: want });
          }
          assert.equal(order.status, from, 'the input is not changed');
        });
      }
    }
  }

  it('has exactly the lifecycle of docs/api.md in its table', () => {
    const moves = orderStatuses.flatMap((from) => orderTransitions[from].map((to) => `${from}>${to}`));
    assert.deepEqual(moves.sort(), Object.keys(allowed).sort());
    assert.deepEqual(
      orderStatuses.filter((s) => isFinal(s)),
      ['DELIVERED', 'CANCELLED'],
    );
  });

  const action = fc.record({ to: fc.constantFrom(...orderStatuses), party: fc.constantFrom(...parties) });
  const lifecycles = [
    ['CREATED', 'PAID', 'SHIPPED', 'DELIVERED'],
    ['CREATED', 'PAID', 'CANCELLED'],
    ['CREATED', 'CANCELLED'],
  ];

  it('property: any sequence of actions walks a prefix of a valid lifecycle and stops at a final state', () => {
    fc.assert(
      fc.property(fc.array(action, { maxLength: 40 }), (actions) => {
        let order = { status: 'CREATED' as OrderStatus };
        const path: OrderStatus[] = ['CREATED'];
        for (const { to, party } of actions) {
          const before = order.status;
          const result = transition(order, to, party);
          if (result.ok) {
            assert.ok(!isFinal(before), 'nothing leaves a final state');
            assert.ok((allowed[`${before}>${to}`] ?? []).includes(party), `${party} may move ${before} -> ${to}`);
            order = result.order;
            path.push(order.status);
          } else {
            assert.equal(order.status, before);
          }
        }
        assert.ok(
          lifecycles.some((l) => path.every((s, i) => l[i] === s)),
          `path ${path.join(' -> ')} is a valid lifecycle prefix`,
        );
        if (path.includes('SHIPPED')) assert.ok(path.indexOf('PAID') < path.indexOf('SHIPPED'), 'paid before shipped');
      }),
    );
  });

  it('property: customers and support alone can never get an order paid, shipped or delivered', () => {
    fc.assert(
      fc.property(fc.array(action, { maxLength: 40 }), (actions) => {
        let order = { status: 'CREATED' as OrderStatus };
        for (const { to, party } of actions) {
          if (party !== 'owner' && party !== 'support') continue;
          const result = transition(order, to, party);
          if (result.ok) order = result.order;
        }
        assert.ok(order.status === 'CREATED' || order.status === 'CANCELLED');
      }),
    );
  });
});

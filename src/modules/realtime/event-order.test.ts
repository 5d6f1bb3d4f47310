import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { OutboxRow } from './events.ts';
import { inEventIdOrder } from './realtime.repository.ts';

const row = (id: number, user: string, eventId: number): OutboxRow => ({
  id,
  user_id: user,
  event_id: eventId,
  type: 'order.updated',
  payload: {},
});

describe('a batch of outbox rows as the relay publishes it', () => {
  it('keeps id order, but puts each user’s rows in eventId order in the places they hold', () => {
    // Row 11 of usr_a committed after row 12 had been numbered, so it got the later number.
    const rows = [row(10, 'usr_a', 4), row(11, 'usr_a', 6), row(12, 'usr_b', 1), row(13, 'usr_a', 5)];
    assert.deepEqual(
      inEventIdOrder(rows).map((r) => [r.id, r.user_id, r.event_id]),
      [
        [10, 'usr_a', 4],
        [13, 'usr_a', 5],
        [12, 'usr_b', 1],
        [11, 'usr_a', 6],
      ],
    );
  });

  it('leaves a batch already in order as it is', () => {
    const rows = [row(1, 'usr_a', 1), row(2, 'usr_b', 1), row(3, 'usr_a', 2)];
    assert.deepEqual(inEventIdOrder(rows), rows);
  });
});

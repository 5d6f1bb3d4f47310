import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { STAFF_FEED } from '../../src/modules/realtime/events.ts';
import { numberEvents } from '../../src/modules/realtime/index.ts';
import { listUnpublishedForSockets } from '../../src/modules/realtime/realtime.repository.ts';
import { countingDatabase, createTestDatabase, type TestDatabase } from '../helpers.ts';
import { append } from './support.ts';

/**
 * The socket sink's read gives each row it reads its user's eventId and the staff feed's number in the same statement
 * (issue 11: the relay numbered in one statement and read in another, each rewriting the rows). What was numbered
 * before keeps its numbers.
 */
describe('outbox relay: the sockets read numbers what it reads, in one statement', () => {
  let t: TestDatabase;
  before(async () => {
    t = await createTestDatabase();
  });
  after(() => t.drop());

  const numbersOf = async (ids: number[]) =>
    (
      await t.database.db
        .selectFrom('outbox')
        .select(['id', 'event_id', 'staff_seq'])
        .where('id', 'in', ids)
        .orderBy('id')
        .execute()
    ).map((r) => [Number(r.id), r.event_id === null ? null : Number(r.event_id), r.staff_seq]);
  const counter = async (userId: string) =>
    Number(
      (
        await t.database.db
          .selectFrom('user_event_counters')
          .select('last_event_id')
          .where('user_id', '=', userId)
          .executeTakeFirst()
      )?.last_event_id ?? 0,
    );

  it('fresh rows get the next eventIds per user and the next feed numbers in id order; numbered rows keep theirs', async () => {
    // usr_a: one row numbered earlier by the RabbitMQ loop (numberEvents: eventId, no feed number), then two fresh.
    const a1 = await append(t.database, 'usr_a', 'CREATED');
    assert.equal(await numberEvents(t.database.db, 100), 1);
    const b1 = await append(t.database, 'usr_b', 'CREATED');
    const a2 = await append(t.database, 'usr_a', 'PAID');
    const b2 = await append(t.database, 'usr_b', 'CANCELLED');
    const a3 = await append(t.database, 'usr_a', 'SHIPPED');
    // A row both numbered and fed before (a relay that died before marking it published) keeps both.
    const c1 = await append(t.database, 'usr_c', 'CREATED');
    await t.database.db.updateTable('outbox').set({ event_id: 7, staff_seq: 40 }).where('id', '=', c1.id).execute();
    await sql`insert into user_event_counters (user_id, last_event_id) values ('usr_c', 7), (${STAFF_FEED}, 40)
      on conflict (user_id) do update set last_event_id = excluded.last_event_id`.execute(t.database.db);

    const { database, counted } = countingDatabase(t.database);
    const rows = await listUnpublishedForSockets(database.db, 100);
    assert.equal(counted.statements, 1, 'numbering both ways and reading: one statement');

    const ids = [a1.id, b1.id, a2.id, b2.id, a3.id, c1.id].map(Number);
    const expected = [
      [Number(a1.id), 1, 41],
      [Number(b1.id), 1, 42],
      [Number(a2.id), 2, 43],
      [Number(b2.id), 2, 44],
      [Number(a3.id), 3, 45],
      [Number(c1.id), 7, 40],
    ];
    assert.deepEqual(await numbersOf(ids), expected, 'what is stored');
    const read = new Map(rows.map((r) => [r.id, [r.id, r.event_id, r.staff_seq]]));
    assert.deepEqual(
      ids.map((id) => read.get(id)),
      expected,
      'what the sockets are given is what is stored',
    );
    assert.deepEqual([await counter('usr_a'), await counter('usr_b'), await counter(STAFF_FEED)], [3, 2, 45]);

    // Read again before being marked published: the same numbers, no new ones taken.
    counted.reset();
    const again = await listUnpublishedForSockets(database.db, 100);
    assert.deepEqual(
      ids.map((id) => again.find((r) => r.id === id)).map((r) => [r!.id, r!.event_id, r!.staff_seq]),
      expected,
    );
    assert.deepEqual([await counter('usr_a'), await counter('usr_b'), await counter(STAFF_FEED)], [3, 2, 45]);
  });

  it('the limit takes the oldest unpublished rows: a user’s later row waits, and is numbered after the earlier', async () => {
    await t.database.db.updateTable('outbox').set({ published_at: new Date() }).execute();
    const d1 = await append(t.database, 'usr_d', 'CREATED');
    const d2 = await append(t.database, 'usr_d', 'PAID');
    const first = await listUnpublishedForSockets(t.database.db, 1);
    assert.deepEqual(
      first.map((r) => [r.id, r.event_id]),
      [[Number(d1.id), 1]],
    );
    assert.deepEqual(await numbersOf([Number(d2.id)]), [[Number(d2.id), null, null]], 'beyond the limit: untouched');
    const second = await listUnpublishedForSockets(t.database.db, 10);
    assert.deepEqual(
      second.map((r) => [r.id, r.event_id]),
      [
        [Number(d1.id), 1],
        [Number(d2.id), 2],
      ],
    );
    assert.equal(second[1]!.staff_seq, second[0]!.staff_seq + 1);
  });
});

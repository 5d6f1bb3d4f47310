import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { KyselyPlugin } from 'kysely';
import { CountStatements, createTestDatabase, type TestDatabase } from '../../../test/helpers.ts';
import { createInboxIntake } from './inbox-intake.ts';
import type { NewInboxEvent } from './inbox.repository.ts';

// Webhook deliveries that arrive together share one insert (issue 11: intake was one statement per event).
describe('inbox intake: deliveries arriving together are stored by one statement', () => {
  let t: TestDatabase;
  before(async () => {
    t = await createTestDatabase();
  });
  after(() => t.drop());

  let n = 0;
  const event = (over: Partial<NewInboxEvent> = {}): NewInboxEvent => {
    n += 1;
    const eventId = over.eventId ?? `evt_intake_${n}`;
    return {
      provider: 'stripe',
      eventId,
      type: 'checkout.session.completed',
      payload: JSON.stringify({ id: eventId, type: 'checkout.session.completed', data: { object: {} } }),
      ...over,
    };
  };
  const rowsOf = (eventIds: string[]) =>
    t.database.db
      .selectFrom('webhook_inbox')
      .select(['event_id', 'status', 'outcome', 'processed_at'])
      .where('event_id', 'in', eventIds)
      .orderBy('event_id')
      .execute();

  it('32 at once: the first two alone, the other 30 in one statement; each gets its own answer', async () => {
    const counter = new CountStatements();
    const intake = createInboxIntake(t.database.db.withPlugin(counter));
    const events = Array.from({ length: 30 }, (_, i) =>
      event(i % 5 === 4 ? { type: 'payment_intent.created', processedOutcome: 'ignored: changes nothing' } : {}),
    );
    // The same event delivered twice within the batch: the first is new, the second a duplicate.
    const twice = event();
    events.splice(10, 0, twice);
    events.splice(20, 0, { ...twice });
    const answers = await Promise.all(events.map((e) => intake.store(e, new Date())));

    assert.equal(counter.count, 3, 'two alone while nothing ran, then everything that queued behind them');
    assert.deepEqual(
      answers,
      events.map((e, i) => e.processedOutcome === undefined && i !== 20),
      'new and waiting: true; stored processed or a duplicate: false',
    );
    const rows = await rowsOf(events.map((e) => e.eventId));
    assert.equal(rows.length, 31, 'every distinct event once');
    for (const row of rows) {
      const done = row.outcome !== null;
      assert.equal(row.status, done ? 'processed' : 'pending', row.event_id);
      assert.equal(row.processed_at !== null, done, row.event_id);
    }
  });

  it('one at a time: each delivery is written at once, alone', async () => {
    const counter = new CountStatements();
    const intake = createInboxIntake(t.database.db.withPlugin(counter));
    const events = [event(), event(), event()];
    for (const e of events) assert.equal(await intake.store(e, new Date()), true);
    assert.equal(counter.count, 3);
    assert.equal((await rowsOf(events.map((e) => e.eventId))).length, 3);
    assert.equal(await intake.store({ ...events[0]! }, new Date()), false, 'a later duplicate stores nothing');
  });

  it('a batch with a row the database refuses: written again row by row, only that delivery fails', async () => {
    const intake = createInboxIntake(t.database.db);
    const bad = event({ payload: '{"id": "not json' });
    const events = [event(), event(), event(), bad, event(), event()];
    const results = await Promise.allSettled(events.map((e) => intake.store(e, new Date())));
    assert.deepEqual(
      results.map((r) => r.status),
      events.map((e) => (e === bad ? 'rejected' : 'fulfilled')),
    );
    const rows = await rowsOf(events.map((e) => e.eventId));
    assert.deepEqual(
      rows.map((r) => r.event_id),
      events
        .filter((e) => e !== bad)
        .map((e) => e.eventId)
        .sort(),
    );
  });

  it('a database refusing every statement: every delivery fails and nothing is stored', async () => {
    let away = true;
    const outage: KyselyPlugin = {
      transformQuery: (args) => {
        if (away) throw new Error('the database is away');
        return args.node;
      },
      transformResult: (args) => Promise.resolve(args.result),
    };
    const intake = createInboxIntake(t.database.db.withPlugin(outage));
    const events = Array.from({ length: 6 }, () => event());
    const results = await Promise.allSettled(events.map((e) => intake.store(e, new Date())));
    assert.ok(results.every((r) => r.status === 'rejected'));
    assert.deepEqual(await rowsOf(events.map((e) => e.eventId)), []);
    // Not stuck: with the database back, the gateway's retries are stored.
    away = false;
    assert.deepEqual(
      await Promise.all(events.map((e) => intake.store(e, new Date()))),
      events.map(() => true),
    );
    assert.equal((await rowsOf(events.map((e) => e.eventId))).length, 6);
  });
});

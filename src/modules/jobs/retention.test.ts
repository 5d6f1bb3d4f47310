import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { sql } from 'kysely';
import { createTestDatabase, type TestDatabase } from '../../../test/helpers.ts';
import type { Db } from '../../db/database.ts';
import { appendOutbox } from '../../db/outbox.ts';
import { createLogger } from '../../observability/logger.ts';
import { numberEvents } from '../realtime/index.ts';
import { manualClock } from '../../shared/clock.ts';
import { pruneOnce, type RetentionPolicy } from './retention.ts';
import { startWorkerJobs } from './worker.ts';

const HOUR = 3600_000;
const DAY = 24 * HOUR;
const now = new Date('2026-06-01T00:00:00Z');
const ago = (ms: number) => new Date(now.getTime() - ms);
const policy: RetentionPolicy = { replayWindowMs: 7 * DAY, inboxRetentionMs: 30 * DAY, amqp: false };

/** One outbox event for `userId`, created `age` before now, published to the given sinks. */
async function event(db: Db, userId: string, age: number, sinks: { socket?: boolean; amqp?: boolean } = {}) {
  const { id } = await db.transaction().execute((trx) =>
    appendOutbox(trx, {
      userId,
      type: 'order.updated',
      payload: { orderId: 'ord_r', status: 'CREATED', paymentStatus: null, at: now.toISOString() },
    }),
  );
  await db
    .updateTable('outbox')
    .set({
      created_at: ago(age),
      published_at: sinks.socket === false ? null : ago(age),
      amqp_published_at: sinks.amqp === true ? ago(age) : null,
    })
    .where('id', '=', id)
    .execute();
  // Numbered as the relay numbers rows when it publishes them.
  await numberEvents(db, 100);
  const row = await db.selectFrom('outbox').select('event_id').where('id', '=', id).executeTakeFirstOrThrow();
  return Number(row.event_id);
}

async function eventIds(db: Db, userId: string): Promise<number[]> {
  const rows = await db
    .selectFrom('outbox')
    .select('event_id')
    .where('user_id', '=', userId)
    .orderBy('event_id')
    .execute();
  return rows.map((r) => Number(r.event_id));
}

type InboxStatus = 'pending' | 'processed' | 'failed' | 'dead';
async function inboxRow(db: Db, id: string, status: InboxStatus, receivedAge: number, processedAge?: number) {
  await db
    .insertInto('webhook_inbox')
    .values({
      id,
      provider: 'stripe',
      event_id: `evt_${id}`,
      type: 'payment_intent.succeeded',
      payload: '{}',
      status,
      next_attempt_at: ago(receivedAge),
      received_at: ago(receivedAge),
      processed_at: processedAge === undefined ? null : ago(processedAge),
    })
    .execute();
}

async function idempotencyKey(db: Db, key: string, age: number, state: 'done' | 'in_progress', lockedUntil?: Date) {
  await db
    .insertInto('idempotency_keys')
    .values({
      scope: 'usr_retention',
      key,
      method: 'POST',
      route: '/api/v1/orders',
      fingerprint: 'f',
      state,
      response_status: state === 'done' ? 201 : null,
      response_body: state === 'done' ? '{}' : null,
      locked_until: lockedUntil ?? null,
      lease_id: lockedUntil === undefined ? null : 'lease',
      created_at: ago(age),
      updated_at: ago(age),
    })
    .execute();
}

describe('retention', () => {
  let t: TestDatabase;
  let db: Db;
  before(async () => {
    t = await createTestDatabase();
    db = t.database.db;
  });
  after(() => t.drop());
  beforeEach(async () => {
    await sql`delete from outbox`.execute(db);
    await sql`delete from user_event_counters`.execute(db);
    await sql`delete from webhook_inbox`.execute(db);
    await sql`delete from idempotency_keys`.execute(db);
  });

  it('deletes published outbox events older than the replay window, oldest first, keeping the rest', async () => {
    // usr_a: three old published events, then a young one.
    for (const age of [9 * DAY, 8 * DAY, 7 * DAY + HOUR]) await event(db, 'usr_a', age);
    await event(db, 'usr_a', 6 * DAY);
    // usr_b: old but never published (Socket.IO's sink was down): kept, and so is everything after it.
    await event(db, 'usr_b', 10 * DAY, { socket: false });
    await event(db, 'usr_b', 9 * DAY, { socket: false });
    const deleted = await pruneOnce(db, now, policy);
    assert.deepEqual(deleted, { outbox: 3, idempotencyKeys: 0, inbox: 0 });
    assert.deepEqual(await eventIds(db, 'usr_a'), [4]);
    assert.deepEqual(await eventIds(db, 'usr_b'), [1, 2]);
  });

  it('an old event a sink has not published holds back every later one, so no user is left with a hole', async () => {
    await event(db, 'usr_a', 10 * DAY);
    await event(db, 'usr_b', 10 * DAY, { socket: false });
    await event(db, 'usr_a', 9 * DAY);
    assert.equal((await pruneOnce(db, now, policy)).outbox, 1);
    assert.deepEqual(await eventIds(db, 'usr_a'), [2]);
    // Once the relay has published it, the rest goes.
    await db.updateTable('outbox').set({ published_at: now }).where('user_id', '=', 'usr_b').execute();
    assert.equal((await pruneOnce(db, now, policy)).outbox, 2);
  });

  it('with AMQP_URL an event goes only once RabbitMQ has it too', async () => {
    await event(db, 'usr_a', 9 * DAY, { amqp: true });
    await event(db, 'usr_a', 8 * DAY, { amqp: false });
    await event(db, 'usr_a', 8 * DAY, { amqp: true });
    const deleted = await pruneOnce(db, now, { ...policy, amqp: true });
    assert.equal(deleted.outbox, 1);
    assert.deepEqual(await eventIds(db, 'usr_a'), [2, 3]);
    // Without RabbitMQ configured, its column does not hold anything back.
    assert.equal((await pruneOnce(db, now, policy)).outbox, 2);
  });

  it('never leaves a hole in what a replay reads: nothing after the first event younger than the window goes', async () => {
    // Ids 1..3 for usr_a; id 2 is young (its transaction began later than id 3's), so only id 1 may go:
    // deleting id 3 would leave usr_a with events 2 and 4 and a replay after 2 would miss 3.
    await event(db, 'usr_a', 9 * DAY);
    await event(db, 'usr_a', 6 * DAY);
    await event(db, 'usr_a', 8 * DAY);
    await event(db, 'usr_a', 5 * DAY);
    assert.equal((await pruneOnce(db, now, policy)).outbox, 1);
    assert.deepEqual(await eventIds(db, 'usr_a'), [2, 3, 4]);
  });

  it('deletes processed inbox rows past their age; pending, failed and dead rows stay whatever their age', async () => {
    await inboxRow(db, 'whk_old_processed', 'processed', 40 * DAY, 40 * DAY);
    await inboxRow(db, 'whk_young_processed', 'processed', 10 * DAY, 10 * DAY);
    // Received long ago but processed only lately (an admin retried it): kept until its processing is old too.
    await inboxRow(db, 'whk_retried', 'processed', 40 * DAY, 2 * DAY);
    await inboxRow(db, 'whk_pending', 'pending', 50 * DAY);
    await inboxRow(db, 'whk_failed', 'failed', 50 * DAY);
    await inboxRow(db, 'whk_dead', 'dead', 60 * DAY);
    const deleted = await pruneOnce(db, now, policy);
    assert.deepEqual(deleted, { outbox: 0, idempotencyKeys: 0, inbox: 1 });
    const left = await db.selectFrom('webhook_inbox').select('id').orderBy('id').execute();
    assert.deepEqual(
      left.map((r) => r.id),
      ['whk_dead', 'whk_failed', 'whk_pending', 'whk_retried', 'whk_young_processed'],
    );
    // A shorter WEBHOOK_INBOX_RETENTION_DAYS reaches the younger processed rows, still never the others.
    assert.equal((await pruneOnce(db, now, { ...policy, inboxRetentionMs: 1 * DAY })).inbox, 2);
    const kept = await db.selectFrom('webhook_inbox').select('status').execute();
    assert.deepEqual(kept.map((r) => r.status).sort(), ['dead', 'failed', 'pending']);
  });

  it('deletes idempotency keys older than 24 hours, unless a request still holds one', async () => {
    await idempotencyKey(db, 'old', 25 * HOUR, 'done');
    await idempotencyKey(db, 'young', 23 * HOUR, 'done');
    await idempotencyKey(db, 'old-held', 25 * HOUR, 'in_progress', new Date(now.getTime() + 60_000));
    await idempotencyKey(db, 'old-abandoned', 25 * HOUR, 'in_progress', ago(HOUR));
    assert.equal((await pruneOnce(db, now, policy)).idempotencyKeys, 2);
    const left = await db.selectFrom('idempotency_keys').select('key').orderBy('key').execute();
    assert.deepEqual(
      left.map((r) => r.key),
      ['old-held', 'young'],
    );
  });

  it('works in batches: a pass stops after maxBatches and the next pass goes on', async () => {
    for (let i = 0; i < 5; i++) await event(db, 'usr_a', 10 * DAY);
    for (let i = 0; i < 5; i++) await inboxRow(db, `whk_${i}`, 'processed', 40 * DAY, 40 * DAY);
    const small = { ...policy, batchSize: 2, maxBatches: 2 };
    assert.deepEqual(await pruneOnce(db, now, small), { outbox: 4, idempotencyKeys: 0, inbox: 4 });
    assert.deepEqual(await pruneOnce(db, now, small), { outbox: 1, idempotencyKeys: 0, inbox: 1 });
    assert.deepEqual(await pruneOnce(db, now, small), { outbox: 0, idempotencyKeys: 0, inbox: 0 });
  });

  it('two nodes pruning at once delete each row once between them (the advisory lock)', async () => {
    for (let i = 0; i < 6; i++) await event(db, 'usr_a', 10 * DAY);
    for (let i = 0; i < 6; i++) await inboxRow(db, `whk_${i}`, 'processed', 40 * DAY, 40 * DAY);
    const small = { ...policy, batchSize: 2 };
    const results = await Promise.all([pruneOnce(db, now, small), pruneOnce(db, now, small)]);
    const sum = (k: 'outbox' | 'inbox') => results.reduce((n, r) => n + r[k], 0);
    // A node that finds the lock taken stops; whatever it left, a later pass takes.
    const later = await pruneOnce(db, now, small);
    assert.equal(sum('outbox') + later.outbox, 6);
    assert.equal(sum('inbox') + later.inbox, 6);
    assert.deepEqual(await eventIds(db, 'usr_a'), []);
  });

  it("runs as the worker's `retention` job with the configured policy", async () => {
    await event(db, 'usr_a', 3 * DAY);
    await event(db, 'usr_a', 1 * HOUR);
    await inboxRow(db, 'whk_8d', 'processed', 8 * DAY, 8 * DAY);
    const worker = startWorkerJobs({
      db,
      clock: manualClock(now),
      logger: createLogger('silent'),
      retention: { replayWindowMs: 2 * DAY, inboxRetentionMs: 7 * DAY, amqp: false },
    });
    try {
      await worker.jobs.find((j) => j.name === 'retention')!.tick();
    } finally {
      await worker.stop();
    }
    assert.deepEqual(await eventIds(db, 'usr_a'), [2]);
    assert.equal((await db.selectFrom('webhook_inbox').select('id').execute()).length, 0);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import pg from 'pg';
import { NOTIFY_CHANNELS } from '../../../src/db/commit-signals.ts';
import { openDatabase, type Database } from '../../../src/db/database.ts';
import { createInboxWorker, insertInboxEvent, type InboxWorker } from '../../../src/modules/webhooks/index.ts';
import {
  listenForInboxEvents,
  wakeInboxWorker,
  type InboxListener,
} from '../../../src/modules/webhooks/inbox-listener.ts';
import { startOutboxRelay } from '../../../src/modules/realtime/outbox-relay.ts';
import { appendOutbox, type AppendOutboxInput } from '../../../src/db/outbox.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { systemClock } from '../../../src/shared/clock.ts';
import { waitUntil } from '../../realtime/support.ts';
import { createServerDatabase, type ServerDatabase } from '../support.ts';

// A split deployment: an API process stores a webhook, a worker process applies it. The worker hears of the
// row through migration 0008's NOTIFY, not its poll (an hour here). Needs the PostgreSQL server.

const logger = createLogger(process.env.TEST_LOG ?? 'silent');
const HOUR = 3_600_000;

describe('webhook inbox: a worker process is woken by NOTIFY when another connection stores an event', () => {
  let s: ServerDatabase;
  let apiNode: Database; // stands for the API process: its own pool
  let worker: InboxWorker;
  let listener: InboxListener;
  const handled: string[] = [];
  /** Calls of onNotify: one per notification heard, and one after each LISTEN (for rows stored meanwhile). */
  let notified = 0;

  before(async () => {
    s = await createServerDatabase();
    apiNode = await openDatabase({ url: s.url, dataDir: '' });
    worker = createInboxWorker({
      db: s.database.db,
      clock: systemClock,
      logger,
      maxAttempts: 3,
      pollMs: HOUR,
      handle: async (_trx, row) => {
        handled.push(row.event_id);
        return { outcome: 'handled' };
      },
    });
    worker.start();
    const onNotify = () => {
      notified += 1;
      worker.wake();
    };
    listener = listenForInboxEvents({ url: s.url, logger, onNotify, minBackoffMs: 50 });
    await waitUntil(() => listener.isListening(), 'the listener to LISTEN');
  });
  after(async () => {
    await listener?.close();
    await worker?.stop();
    await apiNode?.close();
    await s?.drop();
  });

  /** Stored through the API node's connection: the listener hears it, and the worker (polling hourly) applies it. */
  const store = async (eventId: string) => {
    const before = notified; // taken while listening: the call after LISTEN is already counted
    assert.equal(
      await insertInboxEvent(
        apiNode.db,
        { provider: 'stripe', eventId, type: 'test.event', payload: '{}' },
        new Date(),
      ),
      true,
    );
    await waitUntil(() => notified > before, `the notification for ${eventId}`);
    await waitUntil(() => handled.includes(eventId), `${eventId} processed`);
  };

  it('an event stored through another connection is heard and processed, though the worker polls hourly', async () => {
    await store('evt_notify_1');
    await store('evt_notify_2');
  });

  it('the listener reconnects after its connection is killed, and hears again', async () => {
    await sql`select pg_terminate_backend(pid) from pg_stat_activity
              where application_name = 'fulcrum-inbox-listener' and datname = current_database()`.execute(
      s.database.db,
    );
    await waitUntil(() => !listener.isListening(), 'the listener to notice', 5_000);
    await waitUntil(() => listener.isListening(), 'the listener to LISTEN again', 5_000);
    await store('evt_notify_after_kill');
  });

  it('a database sends its own notifySource as the payload; a listener ignores that payload and hears others', async () => {
    // What apiNode's commit sends, read by a plain LISTEN.
    const raw = new pg.Client({ connectionString: s.url });
    await raw.connect();
    const payloads: string[] = [];
    raw.on('notification', (m) => payloads.push(m.payload ?? ''));
    await raw.query(`listen ${NOTIFY_CHANNELS.webhook_inbox}`);
    let own: InboxListener | undefined;
    try {
      await insertInboxEvent(
        apiNode.db,
        { provider: 'stripe', eventId: 'evt_payload', type: 'test.event', payload: '{}' },
        new Date(),
      );
      await waitUntil(() => payloads.length > 0, 'the NOTIFY after the commit');
      assert.deepEqual(payloads, [apiNode.notifySource]);
      assert.notEqual(apiNode.notifySource, s.database.notifySource);

      // A listener of the process whose database is s.database: its own NOTIFY is not passed on, another's is.
      let heard = 0;
      own = listenForInboxEvents({
        url: s.url,
        logger,
        onNotify: () => (heard += 1),
        ignorePayload: s.database.notifySource,
      });
      await waitUntil(
        () => own!.isListening() && heard === 1,
        'the listener to LISTEN (one call for rows stored meanwhile)',
      );
      // Both from one session, in this order: the second arrives after the first would have.
      await sql`select pg_notify(${NOTIFY_CHANNELS.webhook_inbox}, ${s.database.notifySource})`.execute(s.database.db);
      await sql`select pg_notify(${NOTIFY_CHANNELS.webhook_inbox}, ${apiNode.notifySource})`.execute(s.database.db);
      await waitUntil(() => heard === 2, 'the other process’s NOTIFY');
      await sql`select pg_notify(${NOTIFY_CHANNELS.webhook_inbox}, ${s.database.notifySource})`.execute(s.database.db);
      await sql`select pg_notify(${NOTIFY_CHANNELS.webhook_inbox}, 'another')`.execute(s.database.db);
      await waitUntil(() => heard === 3, 'the next other NOTIFY');
      assert.equal(heard, 3);
    } finally {
      await own?.close();
      await raw.end();
    }
  });

  it('no NOTIFY for what a consumer of the same process takes: its inbox worker, its active relay; again once they stop', async () => {
    const raw = new pg.Client({ connectionString: s.url });
    await raw.connect();
    const heard: string[] = [];
    raw.on('notification', (m) => heard.push(`${m.channel} ${m.payload === apiNode.notifySource ? 'api' : 'own'}`));
    await raw.query(`listen ${NOTIFY_CHANNELS.webhook_inbox}`);
    await raw.query(`listen ${NOTIFY_CHANNELS.outbox}`);
    const relay = startOutboxRelay({ database: s.database, logger, clock: systemClock, publishToSockets: () => {} });
    const stopWaking = wakeInboxWorker(s.database, logger, () => {});
    const outboxRow: AppendOutboxInput = {
      userId: 'usr_notify',
      type: 'order.updated',
      payload: { orderId: 'ord_notify', status: 'CREATED', paymentStatus: null, at: new Date().toISOString() },
    };
    const storeBoth = async (database: Database, eventId: string) => {
      await insertInboxEvent(
        database.db,
        { provider: 'stripe', eventId, type: 'test.event', payload: '{}' },
        new Date(),
      );
      await appendOutbox(database.db, outboxRow);
    };
    try {
      await waitUntil(() => relay.isActive(), 'the relay to lead');
      await storeBoth(s.database, 'evt_taken_here');
      // apiNode's come after s.database's would have (each is sent once its commit resolves).
      await new Promise((resolve) => setTimeout(resolve, 200));
      await storeBoth(apiNode, 'evt_from_api');
      await waitUntil(() => heard.length >= 2, 'the API node’s NOTIFYs');
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.deepEqual(heard.sort(), [`${NOTIFY_CHANNELS.outbox} api`, `${NOTIFY_CHANNELS.webhook_inbox} api`]);

      await relay.stop();
      await stopWaking();
      heard.length = 0;
      await storeBoth(s.database, 'evt_nobody_here');
      await waitUntil(() => heard.length >= 2, 'the NOTIFYs once nothing here takes the rows');
      assert.deepEqual(heard.sort(), [`${NOTIFY_CHANNELS.outbox} own`, `${NOTIFY_CHANNELS.webhook_inbox} own`]);
    } finally {
      await relay.stop();
      await stopWaking();
      await raw.end();
    }
  });
});

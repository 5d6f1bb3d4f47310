import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { startOutboxRelay, type OutboxRelay, type RealtimeEvent } from '../../../src/modules/realtime/index.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { systemClock } from '../../../src/shared/clock.ts';
import { append, unpublished, waitUntil } from '../../realtime/support.ts';
import { createServerDatabase, type ServerDatabase } from '../support.ts';

// These need the PostgreSQL server (LISTEN/NOTIFY, advisory locks across connections): they always run against it.

const logger = createLogger(process.env.TEST_LOG ?? 'silent');
const HOUR = 3_600_000;

describe('outbox relay on the PostgreSQL server', () => {
  let s: ServerDatabase;
  const relayConnections = async () => {
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity
      where application_name = 'fulcrum-outbox-relay' and datname = current_database()`.execute(s.database.db);
    return rows[0]?.n ?? -1;
  };
  before(async () => {
    s = await createServerDatabase();
  });
  after(() => s.drop());

  const start = (sent: RealtimeEvent[], pollMs: number): OutboxRelay =>
    startOutboxRelay({
      database: s.database,
      logger,
      clock: systemClock,
      publishToSockets: (events) => sent.push(...events),
      pollMs,
    });

  it('is woken by the insert trigger’s NOTIFY, with polling out of the picture', async () => {
    const sent: RealtimeEvent[] = [];
    const relay = start(sent, HOUR);
    try {
      await waitUntil(() => relay.isActive(), 'the relay to become active');
      await relay.drain(); // the start's own pass is over: only the NOTIFY can send what follows
      // The poll is an hour away, so whatever arrives was carried by the insert trigger's notification.
      for (const status of ['CREATED', 'PAID']) {
        await append(s.database, 'usr_n', status);
        await waitUntil(
          () => sent.some((e) => e.userId === 'usr_n' && e.data.status === status),
          `the notified relay to send ${status}`,
        );
      }
    } finally {
      await relay.stop();
    }
  });

  it('only one relay is active at a time; when it stops another takes over and nothing is lost', async () => {
    const sentA: RealtimeEvent[] = [];
    const sentB: RealtimeEvent[] = [];
    const a = start(sentA, 50);
    await waitUntil(() => a.isActive(), 'the first relay to become active');
    const b = start(sentB, 50);
    try {
      for (let i = 0; i < 5; i++) await append(s.database, 'usr_lead', `S${i}`);
      await waitUntil(async () => (await unpublished(s.database)) === 0, 'the first batch to be sent');
      for (let i = 0; i < 3; i++) await b.drain(); // each drain is an attempt at the lock
      assert.equal(b.isActive(), false, 'the second relay stays on standby');
      assert.equal(sentB.length, 0);
      assert.equal(await relayConnections(), 2, 'one connection per relay, however often the standby tries');
      await a.stop();
      for (let i = 5; i < 10; i++) await append(s.database, 'usr_lead', `S${i}`);
      await waitUntil(() => sentB.length >= 5, 'the standby to take over');
      assert.equal(b.isActive(), true);
      const all = [...sentA, ...sentB].filter((e) => e.userId === 'usr_lead').map((e) => e.eventId);
      assert.deepEqual([...new Set(all)], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    } finally {
      await a.stop();
      await b.stop();
    }
  });

  it('a relay whose connection is killed reconnects, takes the lock again and sends what came meanwhile', async () => {
    const sent: RealtimeEvent[] = [];
    const relay = start(sent, 50);
    try {
      await waitUntil(() => relay.isActive(), 'active');
      await append(s.database, 'usr_kill', 'A');
      await waitUntil(() => sent.some((e) => e.userId === 'usr_kill'), 'the first row');
      await sql`select pg_terminate_backend(pid) from pg_stat_activity
                where application_name = 'fulcrum-outbox-relay' and datname = current_database()`.execute(
        s.database.db,
      );
      await append(s.database, 'usr_kill', 'B');
      await waitUntil(() => sent.filter((e) => e.userId === 'usr_kill').length >= 2, 'the row after the kill');
      assert.equal(relay.isActive(), true);
      assert.deepEqual([...new Set(sent.filter((e) => e.userId === 'usr_kill').map((e) => e.eventId))], [1, 2]);
    } finally {
      await relay.stop();
    }
  });
});

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openDatabase } from '../src/db/database.ts';
import { migrateToLatest } from '../src/db/migrate.ts';
import { call } from './helpers.ts';
import { startFulcrum } from './realtime/processes.ts';

const HOUR = 3600_000;

// On PGlite one process holds DATA_DIR (its lock file proves it), so every lease found in the database at start was
// left by a process that died without releasing it: a request in progress under an idempotency key, webhook events
// a worker had claimed, a reconciliation run. Each would block its work until the lease ran out (a minute for keys
// and events, a reconciliation interval for the run); the starting process ends them at once instead.
describe('PGlite start: leases left by a killed process are ended', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'fulcrum-dead-leases-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('a retried request takes its key over, claimed events are processed, reconciliation is free', async () => {
    // What a process killed mid-way leaves behind, written straight into the database while nothing runs.
    const database = await openDatabase({ url: undefined, dataDir });
    await migrateToLatest(database.db);
    const now = new Date();
    const later = new Date(now.getTime() + HOUR);
    const userId = `usr_${randomBytes(10).toString('hex')}`;
    const password = 'correct horse battery staple';
    await database.db
      .insertInto('idempotency_keys')
      .values({
        scope: userId,
        key: 'dead-request',
        method: 'POST',
        route: '/api/v1/orders',
        fingerprint: 'whatever',
        state: 'in_progress',
        response_status: null,
        response_body: null,
        locked_until: later,
        lease_id: 'lease-of-the-dead',
        created_at: now,
        updated_at: now,
      })
      .execute();
    const event = { id: `evt_dead_${randomBytes(8).toString('hex')}`, type: 'customer.created', data: { object: {} } };
    await database.db
      .insertInto('webhook_inbox')
      .values({
        id: `whk_${randomBytes(10).toString('hex')}`,
        provider: 'stripe',
        event_id: event.id,
        type: event.type,
        payload: JSON.stringify(event),
        next_attempt_at: now,
        received_at: now,
        attempts: 1,
        locked_until: later,
        lease_id: 'lease-of-the-dead-worker',
      })
      .execute();
    await database.db
      .insertInto('job_state')
      .values({
        key: 'payments.reconcile.lease',
        value: JSON.stringify({ holder: 'the-dead', until: later.toISOString() }),
        updated_at: now,
      })
      .execute();
    await database.close();

    const fulcrum = await startFulcrum('all', {
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      HOST: '127.0.0.1',
      PORT: '0',
      DATA_DIR: dataDir,
      SANDBOX_PORT: 'off',
      SEED_DEMO: 'false',
      JWT_SECRET: `dead-leases-${randomBytes(24).toString('hex')}`,
      FULCRUM_ADMIN_EMAIL: 'owner@example.test',
      FULCRUM_ADMIN_PASSWORD: password,
    });
    let stopped: boolean;
    try {
      const ended = fulcrum.logs.find((l) => l.msg === 'leases left by a previous process ended');
      assert.deepEqual(ended?.released, { idempotencyKeys: 1, inboxEvents: 1, reconciliation: true });

      const login = await call({ baseUrl: fulcrum.url }, 'POST', '/api/v1/auth/login', {
        body: { email: 'owner@example.test', password },
      });
      assert.equal(login.status, 200);
      const events = await waitForProcessed(fulcrum.url, login.body.accessToken as string, event.id);
      assert.equal(events, 'processed', 'the worker took the claimed event without waiting for its lease');
    } finally {
      stopped = (await fulcrum.stop()) === 0;
    }
    assert.ok(stopped, 'stopped cleanly');

    const reopened = await openDatabase({ url: undefined, dataDir });
    try {
      const key = await reopened.db
        .selectFrom('idempotency_keys')
        .select(['locked_until', 'lease_id'])
        .where('key', '=', 'dead-request')
        .executeTakeFirstOrThrow();
      assert.ok(key.locked_until !== null && key.locked_until < later, 'the request lease was ended');
      const lease = await reopened.db
        .selectFrom('job_state')
        .select('value')
        .where('key', '=', 'payments.reconcile.lease')
        .executeTakeFirstOrThrow();
      assert.ok(new Date((lease.value as { until: string }).until) < later, 'the reconciliation lease was ended');
    } finally {
      await reopened.close();
    }
  });
});

/** The inbox row's status as admins see it, once it is no longer pending. */
async function waitForProcessed(baseUrl: string, token: string, eventId: string): Promise<string> {
  const end = Date.now() + 30_000;
  for (;;) {
    const res = await call({ baseUrl }, 'GET', '/api/v1/admin/webhook-events', { token });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const row = (res.body.data as { eventId: string; status: string }[]).find((e) => e.eventId === eventId);
    if (row !== undefined && row.status !== 'pending') return row.status;
    if (Date.now() > end) return row?.status ?? 'missing';
    await new Promise((r) => setTimeout(r, 100));
  }
}

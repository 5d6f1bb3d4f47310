import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import express from 'express';
import { call, createTestDatabase, type TestDatabase } from '../../test/helpers.ts';
import { createLogger } from '../observability/logger.ts';
import { manualClock } from '../shared/clock.ts';
import { invalid, notFound } from '../shared/errors.ts';
import { createAuthenticate } from './authenticate.ts';
import { canonicalJson, createIdempotency, deleteExpiredIdempotencyKeys, fingerprintOf } from './idempotency.ts';
import { errorHandler } from './problem.ts';

describe('idempotency keys', () => {
  let t: TestDatabase;
  const clock = manualClock(new Date('2026-03-01T00:00:00Z'));
  const server = { baseUrl: '' };
  let close: () => Promise<void>;
  let runs = 0;
  let failNext = false;
  let gate: Promise<void> = Promise.resolve();

  before(async () => {
    t = await createTestDatabase();
    const logger = createLogger('silent');
    const app = express();
    app.use(express.json());
    const authenticate = createAuthenticate((token) => Promise.resolve({ id: token, role: 'customer' as const }));
    const idem = createIdempotency({ db: t.database.db, clock, logger });
    const handle: express.RequestHandler = async (req, res) => {
      runs += 1;
      await gate;
      if (failNext) {
        failNext = false;
        throw new Error('boom');
      }
      const body = req.body as { bad?: boolean; missing?: boolean };
      if (body.bad === true) throw invalid([{ path: 'body.bad', message: 'bad' }]);
      if (body.missing === true) throw notFound('Thing');
      res.status(201).json({ run: runs, path: req.path, body: req.body as unknown });
    };
    app.post('/a', authenticate, idem, handle);
    app.post('/b', authenticate, idem, handle);
    app.post('/empty', authenticate, idem, (_req, res) => {
      runs += 1;
      res.status(204).end();
    });
    app.use(errorHandler(logger));
    const http = app.listen(0, '127.0.0.1');
    await once(http, 'listening');
    server.baseUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    close = () => new Promise((resolve) => http.close(() => resolve()));
  });
  after(async () => {
    await close();
    await t.drop();
  });
  beforeEach(() => {
    runs = 0;
    failNext = false;
    gate = Promise.resolve();
  });

  const post = (path: string, key: string | undefined, body: unknown, user = 'usr_1') =>
    call(server, 'POST', path, {
      body,
      token: user,
      headers: key === undefined ? {} : { 'idempotency-key': key },
    });

  it('replays the first response with Idempotent-Replayed and runs the handler once', async () => {
    const first = await post('/a', 'k-replay', { x: 1, y: [1, 2] });
    assert.equal(first.status, 201);
    assert.equal(first.headers.get('idempotent-replayed'), null);
    const again = await post('/a', 'k-replay', { y: [1, 2], x: 1 });
    assert.equal(again.status, 201);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.match(again.headers.get('content-type') ?? '', /^application\/json/);
    assert.deepEqual(again.body, first.body);
    assert.equal(runs, 1);
  });

  it('scopes keys to the caller', async () => {
    await post('/a', 'k-scope', { x: 1 }, 'usr_1');
    const other = await post('/a', 'k-scope', { x: 1 }, 'usr_2');
    assert.equal(other.status, 201);
    assert.equal(other.headers.get('idempotent-replayed'), null);
    assert.equal(runs, 2);
  });

  it('answers 422 idempotency_key_reused for another body or another route', async () => {
    await post('/a', 'k-reuse', { x: 1 });
    const otherBody = await post('/a', 'k-reuse', { x: 2 });
    assert.equal(otherBody.status, 422);
    assert.equal(otherBody.body.code, 'idempotency_key_reused');
    assert.match(otherBody.headers.get('content-type') ?? '', /^application\/problem\+json/);
    const otherRoute = await post('/b', 'k-reuse', { x: 1 });
    assert.equal(otherRoute.status, 422);
    assert.equal(runs, 1);
  });

  it('answers 400 idempotency_key_required without a key, 400 validation_failed for a malformed one', async () => {
    const missing = await post('/a', undefined, {});
    assert.equal(missing.status, 400);
    assert.equal(missing.body.code, 'idempotency_key_required');
    const long = await post('/a', 'x'.repeat(256), {});
    assert.equal(long.status, 400);
    assert.equal(long.body.code, 'validation_failed');
    assert.equal(long.body.errors[0].path, 'headers.Idempotency-Key');
    assert.equal((await post('/a', 'x'.repeat(255), {})).status, 201);
    assert.equal(runs, 1);
  });

  it('answers 409 idempotency_request_in_progress while the first request runs', async () => {
    let open!: () => void;
    gate = new Promise((resolve) => (open = resolve));
    const first = post('/a', 'k-busy', { x: 1 });
    while (runs === 0) await new Promise((r) => setTimeout(r, 5));
    const second = await post('/a', 'k-busy', { x: 1 });
    assert.equal(second.status, 409);
    assert.equal(second.body.code, 'idempotency_request_in_progress');
    assert.ok(second.headers.get('retry-after'));
    open();
    assert.equal((await first).status, 201);
    const third = await post('/a', 'k-busy', { x: 1 });
    assert.equal(third.headers.get('idempotent-replayed'), 'true');
    assert.equal(runs, 1);
  });

  it('records a response sent with a bare end() (204) and replays it', async () => {
    const first = await post('/empty', 'k-204', { x: 1 });
    assert.equal(first.status, 204);
    const again = await post('/empty', 'k-204', { x: 1 });
    assert.equal(again.status, 204);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.equal(runs, 1);
  });

  it('does not store a 5xx: the same request can be retried and then succeeds', async () => {
    failNext = true;
    const failed = await post('/a', 'k-5xx', { x: 1 });
    assert.equal(failed.status, 500);
    const retried = await post('/a', 'k-5xx', { x: 1 });
    assert.equal(retried.status, 201);
    assert.equal(retried.headers.get('idempotent-replayed'), null);
    assert.equal(runs, 2);
  });

  it('does not store a 400 (nothing ran) but stores and replays other 4xx', async () => {
    assert.equal((await post('/a', 'k-400', { bad: true })).status, 400);
    const fixed = await post('/a', 'k-400', { bad: false });
    assert.equal(fixed.status, 201, 'the key is free again after a 400');
    const missing = await post('/a', 'k-404', { missing: true });
    assert.equal(missing.status, 404);
    const replayed = await post('/a', 'k-404', { missing: true });
    assert.equal(replayed.status, 404);
    assert.equal(replayed.headers.get('idempotent-replayed'), 'true');
    assert.match(replayed.headers.get('content-type') ?? '', /^application\/problem\+json/);
    assert.deepEqual(replayed.body, missing.body);
    assert.equal(runs, 3);
  });

  it('lets a retry take over a key whose request died mid-way, once its lease is over', async () => {
    const { db } = t.database;
    const now = clock.now();
    // A request that claimed the key and then died: in progress, never finished.
    await db
      .insertInto('idempotency_keys')
      .values({
        scope: 'usr_1',
        key: 'k-dead',
        method: 'POST',
        route: '/a',
        fingerprint: fingerprintOf('POST', '/a', { x: 1 }),
        state: 'in_progress',
        response_status: null,
        response_body: null,
        locked_until: new Date(now.getTime() + 60_000),
        lease_id: 'dead-lease',
        created_at: now,
        updated_at: now,
      })
      .execute();
    assert.equal((await post('/a', 'k-dead', { x: 1 })).status, 409, 'lease still running');
    clock.advance(61_000);
    const retried = await post('/a', 'k-dead', { x: 1 });
    assert.equal(retried.status, 201);
    assert.equal(runs, 1);
    const row = await db
      .selectFrom('idempotency_keys')
      .selectAll()
      .where('key', '=', 'k-dead')
      .executeTakeFirstOrThrow();
    assert.equal(row.state, 'done');
    assert.notEqual(row.lease_id, 'dead-lease');
  });

  it('when retries of a dead request race, exactly one takes it over', async () => {
    const { db } = t.database;
    const now = clock.now();
    await db
      .insertInto('idempotency_keys')
      .values({
        scope: 'usr_1',
        key: 'k-dead-race',
        method: 'POST',
        route: '/a',
        fingerprint: fingerprintOf('POST', '/a', { x: 1 }),
        state: 'in_progress',
        response_status: null,
        response_body: null,
        locked_until: new Date(now.getTime() - 1),
        lease_id: 'dead-lease',
        created_at: now,
        updated_at: now,
      })
      .execute();
    const results = await Promise.all(Array.from({ length: 10 }, () => post('/a', 'k-dead-race', { x: 1 })));
    assert.equal(runs, 1);
    for (const r of results) assert.ok([201, 409].includes(r.status), `status ${r.status}`);
  });

  it('cleanup deletes keys older than 24 hours and keeps younger ones', async () => {
    await post('/a', 'k-young', { x: 1 });
    clock.advance(23 * 3600_000);
    await deleteExpiredIdempotencyKeys(t.database.db, clock.now());
    assert.equal((await post('/a', 'k-young', { x: 1 })).headers.get('idempotent-replayed'), 'true');
    clock.advance(2 * 3600_000);
    const deleted = await deleteExpiredIdempotencyKeys(t.database.db, clock.now(), { batchSize: 2 });
    assert.ok(deleted >= 1);
    const left = await t.database.db
      .selectFrom('idempotency_keys')
      .select('key')
      .where('created_at', '<', new Date(clock.now().getTime() - 24 * 3600_000))
      .execute();
    assert.deepEqual(left, []);
  });

  it('canonicalises bodies: key order does not matter, values do', () => {
    assert.equal(
      canonicalJson({ b: 1, a: { d: [1, { f: 2, e: 1 }], c: null } }),
      '{"a":{"c":null,"d":[1,{"e":1,"f":2}]},"b":1}',
    );
    assert.equal(fingerprintOf('POST', '/x', { a: 1, b: 2 }), fingerprintOf('POST', '/x', { b: 2, a: 1 }));
    assert.notEqual(fingerprintOf('POST', '/x', { a: 1 }), fingerprintOf('POST', '/x', { a: '1' }));
    assert.notEqual(fingerprintOf('POST', '/x', {}), fingerprintOf('POST', '/y', {}));
  });
});

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { PASSWORD, register } from '../../../src/modules/auth/test-helpers.ts';
import { call, startTestApp, type TestApp } from '../../helpers.ts';
import { SERVICES } from '../support.ts';

// Against Redis (TEST_REDIS_URL, else the local one). Without Redis: src/modules/auth/rate-limits-redis-down.test.ts.
const REDIS_URL = SERVICES.redis;
const LOGIN = '/api/v1/auth/login';
// Parallel test files (and earlier runs) share the Redis: this run's keys are its own.
const prefix = `fulcrum-test:${randomBytes(6).toString('hex')}`;

const login = (app: TestApp, email: string, password: string) =>
  call(app, 'POST', LOGIN, { body: { email, password } });

async function fail(app: TestApp, email: string): Promise<void> {
  const res = await login(app, email, 'wrong password!!');
  assert.equal(res.status, 401, JSON.stringify(res.body));
}

function assertBlocked(res: { status: number; headers: Headers; body: { code?: string } }): void {
  assert.equal(res.status, 429, JSON.stringify(res.body));
  assert.equal(res.body.code, 'rate_limited');
  const retryAfter = Number(res.headers.get('retry-after'));
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1, `Retry-After: ${res.headers.get('retry-after')}`);
}

describe('rate limits shared through Redis by two API nodes', () => {
  let a: TestApp;
  let b: TestApp;
  let redis: Redis;
  before(async () => {
    const env = { REDIS_URL, RATE_LIMIT_KEY_PREFIX: prefix };
    a = await startTestApp({ env });
    b = await startTestApp({ env, database: a.database });
    await Promise.all([a.built.rateLimits.ready(), b.built.rateLimits.ready()]);
    redis = new Redis(REDIS_URL);
  });
  after(async () => {
    redis.disconnect();
    // The helper closes the HTTP server (and with it the limiters' Redis); Socket.IO's Redis is closed here.
    for (const app of [b, a]) {
      await app.built.realtime.close();
      await app.close();
    }
  });

  it('10 failures split across the nodes block the 11th attempt, right password or not, on either node', async () => {
    const { user } = await register(a);
    for (let i = 0; i < 10; i++) await fail(i % 2 === 0 ? a : b, user.email);
    assertBlocked(await login(b, user.email, PASSWORD));
    assertBlocked(await login(a, user.email, PASSWORD));
  });

  it('a success on one node resets the count on the other', async () => {
    const { user } = await register(a);
    for (let i = 0; i < 6; i++) await fail(a, user.email);
    assert.equal((await login(b, user.email, PASSWORD)).status, 200);
    // Without the reset, node a would be at 6 + 9 failures and refuse the next attempt.
    for (let i = 0; i < 9; i++) await fail(a, user.email);
    assert.equal((await login(a, user.email, PASSWORD)).status, 200);
  });

  it('the global per-address limit counts requests of both nodes against one key', async () => {
    const key = `${prefix}:api:127.0.0.1`;
    const before = Number((await redis.get(key)) ?? 0);
    for (const app of [a, b, a, b]) assert.equal((await call(app, 'GET', '/api/v1/products')).status, 200);
    assert.ok(Number(await redis.get(key)) >= before + 4);
  });
});

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Logger } from '../../observability/logger.ts';
import { call, startTestApp, type TestApp } from '../../../test/helpers.ts';
import { createRateLimitStore } from './rate-limits.ts';
import { PASSWORD, register } from './test-helpers.ts';

// REDIS_URL set but nothing answers there: no Redis needed. The limits shared through a real Redis are
// tested in test/services/auth/shared-limits.test.ts.
const UNREACHABLE = 'redis://127.0.0.1:1';
const LOGIN = '/api/v1/auth/login';
const prefix = `fulcrum-test:${randomBytes(6).toString('hex')}`;

const login = (app: TestApp, email: string, password: string) =>
  call(app, 'POST', LOGIN, { body: { email, password } });

describe('rate limits while Redis is unreachable', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp({ env: { REDIS_URL: UNREACHABLE, RATE_LIMIT_KEY_PREFIX: prefix } });
  });
  after(async () => {
    await app.built.realtime.close();
    await app.close();
  });

  it('logins still work (the insurance limiter in memory) and still block after 10 failures', async () => {
    const { user } = await register(app);
    assert.equal((await login(app, user.email, PASSWORD)).status, 200);
    for (let i = 0; i < 10; i++) {
      assert.equal((await login(app, user.email, 'wrong password!!')).status, 401);
    }
    const blocked = await login(app, user.email, PASSWORD);
    assert.equal(blocked.status, 429, JSON.stringify(blocked.body));
    assert.equal(blocked.body.code, 'rate_limited');
    const retryAfter = Number(blocked.headers.get('retry-after'));
    assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1, `Retry-After: ${blocked.headers.get('retry-after')}`);
    assert.equal((await call(app, 'GET', '/api/v1/products')).status, 200);
  });

  it('says so in the log once, however often the connection fails within 10 s', async () => {
    // A "Redis" that resets every connection: each reconnection attempt the client makes is one more error.
    let attempts = 0;
    let onAttempt = () => {};
    const server = createServer((socket) => {
      attempts += 1;
      socket.resetAndDestroy();
      onAttempt();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `redis://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const warnings: string[] = [];
    let warned = () => {};
    const firstWarning = new Promise<void>((resolve) => (warned = resolve));
    const logger = {
      warn: (_obj: unknown, msg: string) => {
        warnings.push(msg);
        warned();
      },
      info: () => {},
    } as unknown as Logger;
    const store = createRateLimitStore({ redisUrl: url, keyPrefix: prefix, logger });
    try {
      const limiter = store.limiter({ name: 'probe', points: 2, duration: 60 });
      await limiter.consume('k');
      await limiter.consume('k');
      await assert.rejects(limiter.consume('k'), 'the insurance limiter counts while Redis is down');
      await firstWarning;
      assert.match(warnings[0]!, /rate limits/);
      // Each new connection comes after the previous one failed (its error already emitted): three more
      // failures, still the one warning.
      const seen = attempts;
      await new Promise<void>((resolve) => {
        onAttempt = () => attempts >= seen + 3 && resolve();
        onAttempt();
      });
      assert.equal(warnings.length, 1, warnings.join('\n'));
    } finally {
      await store.close();
      server.close();
    }
  });
});

import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { call } from '../../../test/helpers.ts';
import { PASSWORD, register, startAppWith, uniqueEmail } from './test-helpers.ts';

const LOGIN = '/api/v1/auth/login';
type App = Awaited<ReturnType<typeof startAppWith>>;

const login = (app: App, email: string, password: string) => call(app, 'POST', LOGIN, { body: { email, password } });

describe('auth: login brute-force protection', () => {
  let app: App;
  before(async () => {
    // A one-second block, so the test can watch it end; the per-address limit is tested below, on its own.
    app = await startAppWith({ loginLimiter: { blockSeconds: 1, maxFailuresPerAddress: 1000 } });
  });
  after(() => app.close());

  it('after 10 consecutive failures: 429 rate_limited with Retry-After, even for the right password, until the block ends', async () => {
    const { user } = await register(app);
    for (let i = 1; i <= 10; i++) {
      const res = await login(app, user.email, `wrong password ${i}`);
      assert.equal(res.status, 401, `failure ${i}`);
      assert.equal(res.body.code, 'invalid_credentials');
    }
    const blocked = await login(app, user.email, PASSWORD);
    assert.equal(blocked.status, 429);
    assert.equal(blocked.body.code, 'rate_limited');
    assert.equal(blocked.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    const retryAfter = Number(blocked.headers.get('retry-after'));
    assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1, `Retry-After: ${blocked.headers.get('retry-after')}`);
    // The same e-mail typed differently is the same key.
    assert.equal((await login(app, ` ${user.email.toUpperCase()}`, PASSWORD)).status, 429);

    // Other accounts from the same address are not affected.
    const other = await register(app);
    assert.equal((await login(app, other.user.email, PASSWORD)).status, 200);

    // Wait out the block (poll: no assumption about exact timing), then the right password works.
    await sleep(retryAfter * 1000);
    let after = await login(app, user.email, PASSWORD);
    for (let i = 0; after.status === 429 && i < 50; i++) {
      await sleep(200);
      after = await login(app, user.email, PASSWORD);
    }
    assert.equal(after.status, 200);
  });

  it('a success resets the count of failures', async () => {
    const { user } = await register(app);
    for (let i = 0; i < 9; i++) assert.equal((await login(app, user.email, 'wrong password!!')).status, 401);
    assert.equal((await login(app, user.email, PASSWORD)).status, 200);
    for (let i = 0; i < 9; i++) assert.equal((await login(app, user.email, 'wrong password!!')).status, 401);
    assert.equal((await login(app, user.email, PASSWORD)).status, 200);
  });

  it('failures for an unknown e-mail are counted and blocked the same way', async () => {
    const email = uniqueEmail('ghost');
    for (let i = 0; i < 10; i++) assert.equal((await login(app, email, 'wrong password!!')).status, 401);
    const res = await login(app, email, 'wrong password!!');
    assert.equal(res.status, 429);
    assert.ok(res.headers.get('retry-after'));
  });

  it('a burst of parallel guesses is counted too: at most 10 get a password check', async () => {
    const { user } = await register(app);
    const results = await Promise.all(
      Array.from({ length: 15 }, (_, i) => login(app, user.email, `parallel guess ${i}`)),
    );
    const statuses = results.map((r) => r.status);
    assert.equal(statuses.filter((s) => s === 401).length, 10);
    assert.equal(statuses.filter((s) => s === 429).length, 5);
  });
});

describe('auth: login limit per address across accounts (password spraying)', () => {
  let app: App;
  before(async () => {
    app = await startAppWith({ loginLimiter: { maxFailuresPerAddress: 6, addressBlockSeconds: 1 } });
  });
  after(() => app.close());

  it('failures spread over many e-mails block the address for every e-mail; successes do not count', async () => {
    const { user } = await register(app);
    // Successes give their point back: any number of them leaves the count alone.
    for (let i = 0; i < 8; i++) assert.equal((await login(app, user.email, PASSWORD)).status, 200);
    // One guess each on six accounts, none of them blocked on its own.
    for (let i = 0; i < 6; i++) {
      const res = await login(app, uniqueEmail(`sprayed${i}`), 'Summer2024!summer');
      assert.equal(res.status, 401, `guess ${i}`);
    }
    const blocked = await login(app, uniqueEmail('sprayed-next'), 'Summer2024!summer');
    assert.equal(blocked.status, 429);
    assert.equal(blocked.body.code, 'rate_limited');
    assert.match(blocked.body.detail, /from this address/);
    assert.ok(Number(blocked.headers.get('retry-after')) >= 1);
    // The right password of a real account is refused too while the address is blocked.
    assert.equal((await login(app, user.email, PASSWORD)).status, 429);

    // The block ends (polled: no assumption about exact timing).
    let after = await login(app, user.email, PASSWORD);
    for (let i = 0; after.status === 429 && i < 50; i++) {
      await sleep(200);
      after = await login(app, user.email, PASSWORD);
    }
    assert.equal(after.status, 200);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { call, createUser, startTestApp, type TestApp } from '../../../test/helpers.ts';
import { createLogger } from '../../observability/logger.ts';
import { systemClock } from '../../shared/clock.ts';
import { register, uniqueEmail } from '../auth/test-helpers.ts';
import { createMailQueue, keptTransport, sendDueMails } from './index.ts';

// docs/api.md § Mail: GET /api/v1/admin/mail?to=&status=
describe('the admin mail list', () => {
  let app: TestApp;
  let admin: Awaited<ReturnType<typeof createUser>>;
  before(async () => {
    app = await startTestApp({ env: { API_RATE_LIMIT_PER_MINUTE: '0' } });
    admin = await createUser(app, 'admin');
  });
  after(() => app.close());
  const list = (query = '', token = admin.token) => call(app, 'GET', `/api/v1/admin/mail${query}`, { token });

  it('lists mails newest first with their status, attempts and text, by recipient and status, in pages', async () => {
    const ann = await register(app, { email: uniqueEmail('ann') });
    const bob = await register(app, { email: uniqueEmail('bob') });
    await call(app, 'POST', '/api/v1/auth/password-reset', { body: { email: ann.user.email } });
    const res = await list(`?to=${encodeURIComponent(ann.user.email.toUpperCase())}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(Object.keys(res.body).sort(), ['data', 'nextCursor']);
    assert.equal(res.body.data.length, 2);
    const [reset, verify] = res.body.data;
    assert.deepEqual(Object.keys(reset).sort(), [
      'attempts',
      'createdAt',
      'eventId',
      'html',
      'id',
      'lastError',
      'sentAt',
      'status',
      'subject',
      'text',
      'to',
    ]);
    assert.match(reset.eventId, /^password_reset:atk_/);
    assert.match(verify.eventId, /^verify_email:atk_/);
    assert.equal(reset.to, ann.user.email);
    assert.equal(reset.status, 'pending');
    assert.equal(reset.attempts, 0);
    assert.equal(reset.lastError, null);
    assert.equal(reset.sentAt, null);
    assert.match(reset.text, /\/reset\?token=/);
    assert.match(reset.html, /<!doctype html>/);

    await sendDueMails({
      db: app.database.db,
      clock: systemClock,
      logger: createLogger('silent'),
      queue: createMailQueue({ name: 'x', url: 'https://x.example' }),
      transport: keptTransport,
      from: 'x@x.example',
    });
    const sent = await list(`?to=${encodeURIComponent(bob.user.email)}&status=sent`);
    assert.equal(sent.body.data.length, 1);
    assert.equal(sent.body.data[0].status, 'sent');
    assert.equal(sent.body.data[0].attempts, 1);
    assert.ok(sent.body.data[0].sentAt !== null);
    assert.deepEqual((await list(`?to=${encodeURIComponent(bob.user.email)}&status=failed`)).body.data, []);

    const first = await list('?limit=1');
    assert.equal(first.body.data.length, 1);
    assert.ok(first.body.nextCursor !== null);
    const second = await list(`?limit=1&cursor=${first.body.nextCursor}`);
    assert.equal(second.body.data.length, 1);
    assert.notEqual(second.body.data[0].id, first.body.data[0].id);
  });

  it('refuses other roles, bad filters and forged cursors', async () => {
    const support = await createUser(app, 'support');
    assert.equal((await list('', support.token)).status, 403);
    assert.equal((await call(app, 'GET', '/api/v1/admin/mail')).status, 401);
    for (const query of ['?status=lost', '?limit=0', '?cursor=nope', '?to=', '?from=x']) {
      const res = await list(query);
      assert.equal(res.status, 400, query);
      assert.equal(res.body.code, 'validation_failed');
    }
  });
});

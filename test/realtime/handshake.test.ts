import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { createTokenService } from '../../src/modules/auth/index.ts';
import { createUser } from '../helpers.ts';
import { connectClient, connectError, startRealtimeApp, waitUntil, type RealtimeTestApp } from './support.ts';

const ALLOWED = 'https://shop.example.test';

describe('realtime: the handshake', () => {
  let app: RealtimeTestApp;
  let user: Awaited<ReturnType<typeof createUser>>;
  before(async () => {
    app = await startRealtimeApp({ CORS_ORIGINS: `${ALLOWED}, https://admin.example.test` });
    user = await createUser(app);
  });
  after(() => app.close());

  const refused = async (options: Parameters<typeof connectError>[1]) => connectError(app.baseUrl, options);

  it('refuses a missing, empty, malformed or foreign-signed token with connect_error "unauthorized"', async () => {
    const foreign = createTokenService('another-secret-another-secret-another-secret-0', { now: () => new Date() });
    const forged = await foreign.issueAccessToken({ id: user.id, role: 'admin' });
    const unsigned = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(
      JSON.stringify({ sub: user.id, role: 'admin', exp: 9999999999, iat: 1 }),
    ).toString('base64url')}.`;
    for (const auth of [
      {},
      { token: '' },
      { token: 42 },
      { token: 'not.a.jwt' },
      { token: forged },
      { token: unsigned },
    ]) {
      const error = await refused({ auth });
      assert.equal(error.message, 'unauthorized', JSON.stringify(auth));
    }
  });

  it('refuses an expired token with "unauthorized", telling token_expired in data.code', async () => {
    const past = createTokenService(app.config.JWT_SECRET!, { now: () => new Date(Date.now() - 16 * 60_000) });
    const error = await refused({ token: await past.issueAccessToken({ id: user.id, role: 'customer' }) });
    assert.equal(error.message, 'unauthorized');
    assert.equal(error.data?.code, 'token_expired');
  });

  it('refuses a token with a role the server does not know', async () => {
    const key = new TextEncoder().encode(app.config.JWT_SECRET);
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ role: 'root' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(user.id)
      .setIssuer('fulcrum')
      .setAudience('fulcrum-api')
      .setIssuedAt(now)
      .setExpirationTime(now + 60)
      .sign(key);
    assert.equal((await refused({ token })).message, 'unauthorized');
  });

  it('refuses an Origin outside CORS_ORIGINS and the server’s own; allows listed ones and none', async () => {
    const error = await refused({ token: user.token, origin: 'https://evil.example.test' });
    assert.equal(error.message, 'forbidden');
    assert.equal(error.data?.code, 'forbidden_origin');
    for (const origin of [ALLOWED, 'https://admin.example.test', new URL(app.config.PUBLIC_URL).origin, undefined]) {
      const c = await connectClient(app.baseUrl, { token: user.token, ...(origin === undefined ? {} : { origin }) });
      assert.equal(c.socket.connected, true, String(origin));
      c.close();
    }
    assert.equal((await refused({ token: user.token, origin: 'null' })).message, 'forbidden');
  });

  it('refuses a lastEventId that is not a non-negative integer with "validation_failed"', async () => {
    for (const lastEventId of [-1, 1.5, '3', 'abc', {}, Number.MAX_SAFE_INTEGER + 2]) {
      const error = await refused({ token: user.token, lastEventId });
      assert.equal(error.message, 'validation_failed', JSON.stringify(lastEventId));
    }
  });

  it('while shutting down, new sockets are refused and open ones are closed by the server', async () => {
    const other = await startRealtimeApp();
    try {
      const someone = await createUser(other);
      const open = await connectClient(other.baseUrl, { token: someone.token });
      let reason = '';
      open.socket.on('disconnect', (r) => (reason = r));
      other.built.beginShutdown();
      assert.equal((await connectError(other.baseUrl, { token: someone.token })).message, 'service_unavailable');
      await other.built.realtime.close();
      await waitUntil(() => reason !== '', 'the open socket to be closed');
      assert.equal(reason, 'transport close', 'closed so that clients reconnect, to another node');
    } finally {
      await other.close();
    }
  });
});

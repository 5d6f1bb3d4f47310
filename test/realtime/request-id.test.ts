import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp } from '../helpers.ts';

// docs/api.md: X-Request-Id on every response — Socket.IO's own HTTP answers (long-polling) included.
describe('Socket.IO HTTP responses carry X-Request-Id', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp();
  });
  after(async () => {
    await app.built.realtime.close();
    await app.close();
  });

  const poll = (headers: Record<string, string> = {}) =>
    fetch(`${app.baseUrl}/socket.io/?EIO=4&transport=polling`, { headers });

  it('makes one for the polling handshake, and echoes a sane one', async () => {
    const fresh = await poll();
    assert.equal(fresh.status, 200);
    assert.match(await fresh.text(), /"sid"/, 'the engine.io open packet');
    assert.match(fresh.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);

    const echoed = await poll({ 'X-Request-Id': 'trace-42.a:b' });
    await echoed.text();
    assert.equal(echoed.headers.get('x-request-id'), 'trace-42.a:b');

    const replaced = await poll({ 'X-Request-Id': 'bad id <script>' });
    await replaced.text();
    assert.match(replaced.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
  });
});

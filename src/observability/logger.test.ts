import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { call, createTestDatabase, testConfig, type TestDatabase } from '../../test/helpers.ts';
import { buildApp, type BuiltApp } from '../app.ts';
import { accessLog, loggableUrl } from './access-log.ts';
import { ConfigError, loadConfig } from '../config.ts';
import { createTokenService } from '../modules/auth/index.ts';
import { systemClock } from '../shared/clock.ts';
import { createLogger, resolveLogFormat, writeThrough, type LogDestination } from './logger.ts';

/** Collects what a logger writes; `isTTY` plays a terminal. */
function sink(isTTY = false): LogDestination & { text(): string; lines(): string[] } {
  const chunks: string[] = [];
  return {
    isTTY,
    write(line: string) {
      chunks.push(line);
    },
    text: () => chunks.join(''),
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l !== ''),
  };
}

const ESC = '\u001b[';

const isJson = (line: string): boolean => {
  try {
    return typeof JSON.parse(line) === 'object';
  } catch {
    return false;
  }
};

describe('LOG_FORMAT', () => {
  it('auto is pretty on a terminal and JSON otherwise; pretty and json force theirs', () => {
    assert.equal(resolveLogFormat('auto', true), 'pretty');
    assert.equal(resolveLogFormat('auto', false), 'json');
    for (const tty of [true, false]) {
      assert.equal(resolveLogFormat('pretty', tty), 'pretty');
      assert.equal(resolveLogFormat('json', tty), 'json');
    }
  });

  it('is auto by default, accepts pretty and json, and refuses anything else with one line', () => {
    assert.equal(loadConfig({}).LOG_FORMAT, 'auto');
    assert.equal(loadConfig({ LOG_FORMAT: 'pretty' }).LOG_FORMAT, 'pretty');
    assert.equal(loadConfig({ LOG_FORMAT: 'json' }).LOG_FORMAT, 'json');
    assert.throws(
      () => loadConfig({ LOG_FORMAT: 'yaml' }),
      (error: unknown) =>
        error instanceof ConfigError && error.problems.join('\n') === 'config: LOG_FORMAT must be auto, pretty or json',
    );
  });

  it('json: one JSON object per line, as before', () => {
    for (const destination of [sink(false), sink(true)]) {
      const logger = createLogger('info', { format: 'json', destination });
      logger.info({ orderId: 'ord_1' }, 'order placed');
      const [line] = destination.lines();
      const entry = JSON.parse(line!) as Record<string, unknown>;
      assert.equal(entry.msg, 'order placed');
      assert.equal(entry.orderId, 'ord_1');
      assert.equal(entry.level, 30);
      assert.equal(entry.service, 'fulcrum');
    }
  });

  it('pretty: a readable line with the time, level, message and fields; a request is one short line', () => {
    const destination = sink(false);
    const logger = createLogger('info', { format: 'pretty', destination });
    logger.info({ orderId: 'ord_1' }, 'order placed');
    logger.info({ reqId: 'r-1', method: 'GET', url: '/api/v1/products', status: 200, ms: 3.14159 }, 'request');
    logger.warn({ password: 'hunter2 hunter2', refreshToken: 'rt' }, 'careful');
    const lines = destination.lines();
    assert.equal(lines.length, 3, destination.text());
    for (const line of lines) assert.ok(!isJson(line), line);
    assert.match(lines[0]!, /^\[\d\d:\d\d:\d\d\] INFO: order placed \{"orderId":"ord_1"\}$/);
    assert.match(lines[1]!, /^\[\d\d:\d\d:\d\d\] INFO: GET \/api\/v1\/products 200 3\.1 ms$/);
    assert.match(lines[2]!, /WARN: careful/);
    assert.doesNotMatch(destination.text(), /hunter2|"rt"/, 'redaction holds in pretty lines too');
    assert.ok(!destination.text().includes(ESC), 'no colours when not on a terminal');
  });

  it('auto: pretty with colours on a terminal, JSON when piped', () => {
    const terminal = sink(true);
    const saved = process.env.NO_COLOR;
    delete process.env.NO_COLOR;
    try {
      createLogger('info', { format: 'auto', destination: terminal }).info('hello');
    } finally {
      if (saved !== undefined) process.env.NO_COLOR = saved;
    }
    assert.ok(!isJson(terminal.lines()[0]!));
    assert.match(terminal.text(), /hello/);
    assert.ok(terminal.text().includes(ESC), 'colours on a terminal');
    const piped = sink(false);
    createLogger('info', { format: 'auto', destination: piped }).info('hello');
    assert.equal((JSON.parse(piped.lines()[0]!) as { msg: string }).msg, 'hello');
  });

  it('writeThrough puts text as it is after what was logged before', () => {
    for (const format of ['json', 'pretty'] as const) {
      const destination = sink(false);
      const logger = createLogger('info', { format, destination });
      logger.info('before');
      writeThrough(logger, '\n  Fulcrum is running.\n\n');
      logger.info('after');
      const text = destination.text();
      assert.ok(text.indexOf('before') < text.indexOf('Fulcrum is running.'), text);
      assert.ok(text.indexOf('Fulcrum is running.') < text.indexOf('after'), text);
      assert.ok(text.includes('\n  Fulcrum is running.\n\n'));
    }
  });
});

describe('the access log', () => {
  let test: TestDatabase;
  let built: BuiltApp;
  let app: { baseUrl: string };
  const debug = sink(false);

  before(async () => {
    test = await createTestDatabase();
    const config = testConfig({ LOG_LEVEL: 'debug' });
    built = buildApp({
      config,
      database: test.database,
      logger: createLogger('debug', { format: 'json', destination: debug }),
      clock: systemClock,
      tokens: createTokenService(config.JWT_SECRET!, systemClock),
    });
    built.server.listen(0, '127.0.0.1');
    await once(built.server, 'listening');
    app = { baseUrl: `http://127.0.0.1:${(built.server.address() as AddressInfo).port}` };
  });
  after(async () => {
    await built.payments.stop();
    built.server.closeAllConnections();
    await new Promise<void>((resolve) => built.server.close(() => resolve()));
    await test.drop();
  });

  const requests = () =>
    debug
      .lines()
      .map((l) => JSON.parse(l) as { msg: string; level: number; url: string; status: number })
      .filter((e) => e.msg === 'request');

  /** The entry of `url`, once the response's finish event has written it. */
  async function entryOf(url: string): Promise<{ level: number; status: number; url: string }> {
    for (let i = 0; i < 200; i++) {
      const found = requests().find((e) => e.url === url);
      if (found !== undefined) return found;
      await new Promise((r) => setImmediate(r));
    }
    throw new Error(`no access log entry for ${url}: ${debug.text()}`);
  }

  it('logs static files (pages, scripts, images, API docs) at debug and API calls at info', async () => {
    const statics = ['/', '/admin', '/store.js', '/styles.css', '/images/demo/mug.svg', '/docs', '/docs/init.js'];
    for (const path of statics) {
      const res = await fetch(`${app.baseUrl}${path}`);
      assert.equal(res.status, 200, path);
      await res.arrayBuffer();
      assert.equal((await entryOf(path)).level, 20, `${path} at debug`);
    }
    for (const path of ['/api/v1/products', '/api/v1/setup', '/healthz', '/openapi.json']) {
      assert.equal((await call(app, 'GET', path)).status, 200, path);
      assert.equal((await entryOf(path)).level, 30, `${path} at info`);
    }
    // A request that reaches no file is worth seeing: an API 404 and a missing image stay at info.
    await call(app, 'GET', '/api/v1/nothing');
    assert.equal((await entryOf('/api/v1/nothing')).level, 30);
    await call(app, 'GET', '/images/demo/missing.svg');
    assert.equal((await entryOf('/images/demo/missing.svg')).level, 30);
  });

  it('never writes a setup token from the address', async () => {
    const token = 'S3cr3t-setup-token_value';
    await fetch(`${app.baseUrl}/admin?setup=${token}`).then((r) => r.arrayBuffer());
    await fetch(`${app.baseUrl}/api/v1/setup?x=1&setup=${token}`).then((r) => r.arrayBuffer());
    await entryOf('/admin?setup=[redacted]');
    await entryOf('/api/v1/setup?x=1&setup=[redacted]');
    assert.doesNotMatch(debug.text(), new RegExp(token));
    assert.equal(loggableUrl('/admin?a=1&SETUP=abc&b=2#x'), '/admin?a=1&SETUP=[redacted]&b=2#x');
    assert.equal(loggableUrl('/admin?setupx=1'), '/admin?setupx=1');
  });
});

describe('the access log below info', () => {
  it('leaves requests alone at warn (no listener, no line) and follows each answer at info', () => {
    const lines = sink(false);
    for (const [level, listeners] of [
      ['warn', 0],
      ['error', 0],
      ['info', 1],
    ] as const) {
      const res = new EventEmitter() as EventEmitter & { statusCode: number; getHeader(name: string): string };
      Object.assign(res, { statusCode: 200, getHeader: () => 'rid' });
      let passed = 0;
      const middleware = accessLog(createLogger(level, { format: 'json', destination: lines }));
      middleware({ method: 'GET', path: '/x', originalUrl: '/x' } as never, res as never, () => {
        passed += 1;
      });
      assert.equal(passed, 1, level);
      assert.equal(res.listenerCount('finish'), listeners, level);
      res.emit('finish');
    }
    assert.equal(lines.lines().filter((l) => (JSON.parse(l) as { msg: string }).msg === 'request').length, 1);
  });
});

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ConfigError, configVariables, loadConfig } from './config.ts';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('configuration', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({});
    assert.equal(c.PORT, 3000);
    assert.equal(c.HOST, '127.0.0.1');
    assert.equal(c.DATABASE_URL, undefined);
    assert.equal(c.DATA_DIR, './data');
    assert.equal(c.SANDBOX_PORT, 12111);
    assert.equal(c.PUBLIC_URL, 'http://127.0.0.1:3000');
    assert.equal(c.ORDER_TTL_SECONDS, 1800);
    assert.equal(c.RECONCILE_INTERVAL_SECONDS, 60);
    assert.equal(c.RECONCILE_AFTER_SECONDS, 300);
    assert.equal(c.WEBHOOK_MAX_ATTEMPTS, 8);
    assert.equal(c.LOG_LEVEL, 'info');
    assert.equal(c.SHUTDOWN_TIMEOUT_MS, 10000);
    assert.ok(Object.isFrozen(c));
  });

  it('parses the values it is given', () => {
    const c = loadConfig({
      PORT: '8080',
      SANDBOX_PORT: 'off',
      DATABASE_URL: 'postgres://u@localhost/db',
      CORS_ORIGINS: 'https://shop.example, http://localhost:5173',
      PUBLIC_URL: 'https://api.example/',
    });
    assert.equal(c.PORT, 8080);
    assert.equal(c.SANDBOX_PORT, null);
    assert.deepEqual(c.CORS_ORIGINS, ['https://shop.example', 'http://localhost:5173']);
    assert.equal(c.PUBLIC_URL, 'https://api.example');
    assert.equal(loadConfig({ DATABASE_URL: 'memory://' }).DATABASE_URL, 'memory://');
  });

  it('derives a valid PUBLIC_URL from any HOST when none is given', () => {
    assert.equal(loadConfig({ HOST: '0.0.0.0' }).PUBLIC_URL, 'http://127.0.0.1:3000');
    assert.equal(loadConfig({ HOST: '::' }).PUBLIC_URL, 'http://127.0.0.1:3000');
    assert.equal(loadConfig({ HOST: '::1', PORT: '8080' }).PUBLIC_URL, 'http://[::1]:8080');
    assert.equal(loadConfig({ HOST: 'shop.internal' }).PUBLIC_URL, 'http://shop.internal:3000');
    for (const HOST of ['0.0.0.0', '::', '::1', 'localhost'])
      assert.doesNotThrow(() => new URL(loadConfig({ HOST }).PUBLIC_URL));
  });

  it('the PostgreSQL pool: 2-200 connections, 20 by default', () => {
    assert.equal(loadConfig({}).DATABASE_POOL_SIZE, 20);
    assert.equal(loadConfig({ DATABASE_POOL_SIZE: '48' }).DATABASE_POOL_SIZE, 48);
    for (const value of ['1', '201', 'lots']) {
      const problems = problemsOf({ DATABASE_POOL_SIZE: value });
      assert.equal(problems.length, 1, `DATABASE_POOL_SIZE=${value}`);
      assert.ok(problems[0]!.startsWith('config: DATABASE_POOL_SIZE '), problems[0]);
    }
  });

  it('the inbox worker: batch size 1-1000 (default 100), lanes 1-16 (unset: chosen by the database)', () => {
    assert.equal(loadConfig({}).WEBHOOK_WORKER_BATCH_SIZE, 100);
    assert.equal(loadConfig({}).WEBHOOK_WORKER_CONCURRENCY, undefined);
    const c = loadConfig({ WEBHOOK_WORKER_BATCH_SIZE: '250', WEBHOOK_WORKER_CONCURRENCY: '8' });
    assert.equal(c.WEBHOOK_WORKER_BATCH_SIZE, 250);
    assert.equal(c.WEBHOOK_WORKER_CONCURRENCY, 8);
    for (const [name, value] of [
      ['WEBHOOK_WORKER_BATCH_SIZE', '0'],
      ['WEBHOOK_WORKER_BATCH_SIZE', '1001'],
      ['WEBHOOK_WORKER_CONCURRENCY', '0'],
      ['WEBHOOK_WORKER_CONCURRENCY', '17'],
      ['WEBHOOK_WORKER_CONCURRENCY', 'many'],
    ] as const) {
      const problems = problemsOf({ [name]: value });
      assert.equal(problems.length, 1, `${name}=${value}`);
      assert.ok(problems[0]!.startsWith(`config: ${name} `), problems[0]);
    }
  });

  it('the relay: OUTBOX_RELAY_MIN_INTERVAL_MS 0-1000 (unset: chosen by the database)', () => {
    assert.equal(loadConfig({}).OUTBOX_RELAY_MIN_INTERVAL_MS, undefined);
    assert.equal(loadConfig({ OUTBOX_RELAY_MIN_INTERVAL_MS: '0' }).OUTBOX_RELAY_MIN_INTERVAL_MS, 0);
    assert.equal(loadConfig({ OUTBOX_RELAY_MIN_INTERVAL_MS: '40' }).OUTBOX_RELAY_MIN_INTERVAL_MS, 40);
    for (const value of ['-1', '1001', 'soon']) {
      const problems = problemsOf({ OUTBOX_RELAY_MIN_INTERVAL_MS: value });
      assert.equal(problems.length, 1, `OUTBOX_RELAY_MIN_INTERVAL_MS=${value}`);
      assert.ok(problems[0]!.startsWith('config: OUTBOX_RELAY_MIN_INTERVAL_MS '), problems[0]);
    }
  });

  it('PGLITE_THREAD: true by default, false turns it off, anything else refused', () => {
    assert.equal(loadConfig({}).PGLITE_THREAD, true);
    assert.equal(loadConfig({ PGLITE_THREAD: 'false' }).PGLITE_THREAD, false);
    assert.equal(loadConfig({ PGLITE_THREAD: 'true' }).PGLITE_THREAD, true);
    for (const value of ['yes', '0', 'TRUE']) {
      assert.deepEqual(problemsOf({ PGLITE_THREAD: value }), ['config: PGLITE_THREAD must be true or false'], value);
    }
  });

  it('docs/configuration.md has a row for every variable the schema reads', () => {
    const doc = readFileSync(new URL('../docs/configuration.md', import.meta.url), 'utf8');
    const missing = configVariables.filter((name) => !new RegExp(`^\\| \`${name}\` +\\|`, 'm').test(doc));
    assert.deepEqual(missing, []);
  });

  it('reports one line per problem, naming the variable', () => {
    const problems = problemsOf({
      PORT: 'eighty',
      DATABASE_URL: 'mysql://x',
      JWT_SECRET: 'short',
      WEBHOOK_MAX_ATTEMPTS: '0',
      LOG_LEVEL: 'loud',
    });
    assert.equal(problems.length, 5);
    for (const name of ['PORT', 'DATABASE_URL', 'JWT_SECRET', 'WEBHOOK_MAX_ATTEMPTS', 'LOG_LEVEL']) {
      assert.ok(
        problems.some((p) => p.startsWith(`config: ${name} `)),
        `${name} in ${problems.join(' | ')}`,
      );
    }
  });

  it('requires JWT_SECRET in production and the admin pair together', () => {
    const safe = { NODE_ENV: 'production', SANDBOX_PORT: 'off', PUBLIC_URL: 'https://shop.example', MAIL: 'off' };
    assert.deepEqual(problemsOf(safe), ['config: JWT_SECRET is required when NODE_ENV=production (at least 32 bytes)']);
    assert.equal(problemsOf({ ...safe, JWT_SECRET: 'x'.repeat(32) }).length, 0);
    assert.equal(problemsOf({ FULCRUM_ADMIN_EMAIL: 'a@b.example' }).length, 1);
    assert.equal(problemsOf({ STRIPE_SECRET_KEY: 'sk_test_123' }).length, 1);
  });

  it('retention: the replay window in hours (default 7 days), processed inbox rows kept at least 7 days', () => {
    const c = loadConfig({});
    assert.equal(c.REALTIME_REPLAY_WINDOW_HOURS, 168);
    assert.equal(c.WEBHOOK_INBOX_RETENTION_DAYS, 30);
    const set = loadConfig({ REALTIME_REPLAY_WINDOW_HOURS: '24', WEBHOOK_INBOX_RETENTION_DAYS: '7' });
    assert.equal(set.REALTIME_REPLAY_WINDOW_HOURS, 24);
    assert.equal(set.WEBHOOK_INBOX_RETENTION_DAYS, 7);
    // Stripe redelivers for three days: a shorter inbox retention would let a redelivery count as new.
    assert.deepEqual(problemsOf({ WEBHOOK_INBOX_RETENTION_DAYS: '3', REALTIME_REPLAY_WINDOW_HOURS: '0' }), [
      'config: REALTIME_REPLAY_WINDOW_HOURS must be at least 1',
      'config: WEBHOOK_INBOX_RETENTION_DAYS must be at least 7',
    ]);
  });

  it('production refuses unsafe settings, one line each: sandbox, memory://, no JWT_SECRET, key without secret, http', () => {
    const problems = problemsOf({
      NODE_ENV: 'production',
      DATABASE_URL: 'memory://',
      PUBLIC_URL: 'http://shop.example',
      MAIL: 'off',
    });
    assert.deepEqual(problems, [
      'config: JWT_SECRET is required when NODE_ENV=production (at least 32 bytes)',
      'config: DATABASE_URL=memory:// loses every order at restart; NODE_ENV=production needs postgres:// or unset (DATA_DIR)',
      'config: the built-in Stripe sandbox would start with NODE_ENV=production (it takes any card and its controls have no authentication): set STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET, or SANDBOX_PORT=off',
      'config: PUBLIC_URL must be an https:// URL when NODE_ENV=production (it is http://shop.example); http:// is accepted only on a loopback host',
    ]);
    const safe = {
      NODE_ENV: 'production',
      JWT_SECRET: 'x'.repeat(32),
      STRIPE_SECRET_KEY: 'sk_live_123',
      STRIPE_WEBHOOK_SECRET: 'whsec_123',
      PUBLIC_URL: 'https://shop.example',
      SMTP_URL: 'smtp://mail.example:587',
    };
    assert.deepEqual(problemsOf(safe), []);
    // A real key without its webhook secret, and an unset PUBLIC_URL (it would be http://HOST:PORT).
    const { STRIPE_WEBHOOK_SECRET: _secret, PUBLIC_URL: _url, ...unsafe } = safe;
    assert.deepEqual(problemsOf({ ...unsafe, HOST: '0.0.0.0' }), [
      'config: PUBLIC_URL must be an https:// URL when NODE_ENV=production (it is unset); http:// is accepted only on a loopback host',
      'config: STRIPE_WEBHOOK_SECRET is required when STRIPE_SECRET_KEY is set',
    ]);
    // The sandbox does not start with STRIPE_API_BASE (a sandbox run on its own) or SANDBOX_PORT=off.
    const { STRIPE_SECRET_KEY: _key, ...keyless } = safe;
    assert.deepEqual(problemsOf({ ...keyless, STRIPE_API_BASE: 'http://sandbox:12111' }), []);
    assert.deepEqual(problemsOf({ ...keyless, SANDBOX_PORT: 'off' }), []);
    // http on this machine only (a demo on one host) is accepted.
    for (const url of ['http://localhost:8080', 'http://127.0.0.1:3000', 'http://[::1]:3000']) {
      assert.deepEqual(problemsOf({ ...safe, PUBLIC_URL: url }), [], url);
    }
    // Outside production none of this applies.
    assert.deepEqual(problemsOf({ DATABASE_URL: 'memory://', PUBLIC_URL: 'http://shop.example' }), []);
  });

  it('mail: SMTP_URL (smtp or smtps), MAIL on or off, SHOP_NAME, MAIL_FROM, REQUIRE_VERIFIED_EMAIL_FOR_CHECKOUT', () => {
    const c = loadConfig({});
    assert.equal(c.SMTP_URL, undefined);
    assert.equal(c.MAIL, 'on');
    assert.equal(c.SHOP_NAME, 'Fulcrum');
    assert.equal(c.REQUIRE_VERIFIED_EMAIL_FOR_CHECKOUT, false);
    assert.equal(loadConfig({ REQUIRE_VERIFIED_EMAIL_FOR_CHECKOUT: 'true' }).REQUIRE_VERIFIED_EMAIL_FOR_CHECKOUT, true);
    assert.equal(loadConfig({ SMTP_URL: 'smtps://u:p@mail.example:465' }).SMTP_URL, 'smtps://u:p@mail.example:465');
    const bads: Record<string, string>[] = [
      { SMTP_URL: 'http://mail.example' },
      { MAIL: 'no' },
      { REQUIRE_VERIFIED_EMAIL_FOR_CHECKOUT: 'yes' },
    ];
    for (const bad of bads) {
      assert.equal(problemsOf(bad).length, 1, JSON.stringify(bad));
    }
  });

  it('production without SMTP_URL refuses to start unless MAIL=off', () => {
    const safe = {
      NODE_ENV: 'production',
      SANDBOX_PORT: 'off',
      PUBLIC_URL: 'https://shop.example',
      JWT_SECRET: 'x'.repeat(32),
    };
    assert.deepEqual(problemsOf(safe), [
      'config: SMTP_URL is required when NODE_ENV=production (customers would get no mail); set MAIL=off to run without mail on purpose',
    ]);
    assert.deepEqual(problemsOf({ ...safe, MAIL: 'off' }), []);
    assert.deepEqual(problemsOf({ ...safe, SMTP_URL: 'smtp://mail.example:587' }), []);
  });

  it('METRICS_TOKEN: 32–512 characters a bearer token may hold', () => {
    assert.equal(loadConfig({ METRICS_TOKEN: 'm'.repeat(32) }).METRICS_TOKEN, 'm'.repeat(32));
    assert.equal(problemsOf({ METRICS_TOKEN: 'short' }).length, 1);
    assert.equal(problemsOf({ METRICS_TOKEN: `${'m'.repeat(32)} space` }).length, 1);
  });

  it('production with unsafe settings stops the process with exit code 1, one line per problem', () => {
    const result = spawnSync(process.execPath, ['src/main.ts', 'all'], {
      env: { PATH: process.env.PATH, NODE_ENV: 'production', DATABASE_URL: 'memory://', MAIL: 'off' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(result.status, 1);
    const lines = result.stderr.trim().split('\n');
    assert.equal(lines.length, 4, result.stderr);
    for (const name of ['JWT_SECRET', 'DATABASE_URL', 'the built-in Stripe sandbox', 'PUBLIC_URL']) {
      assert.ok(
        lines.some((l) => l.startsWith(`config: ${name}`)),
        `${name} in ${result.stderr}`,
      );
    }
  });

  it('stops the process at start with exit code 1 and one line per problem', () => {
    const result = spawnSync(process.execPath, ['src/main.ts', 'api'], {
      env: { PATH: process.env.PATH, PORT: '99999', SANDBOX_PORT: 'sometimes' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(result.status, 1);
    const lines = result.stderr.trim().split('\n');
    assert.equal(lines.length, 2, result.stderr);
    assert.ok(lines.some((l) => l.startsWith('config: PORT ')));
    assert.ok(lines.some((l) => l.startsWith('config: SANDBOX_PORT ')));
  });
});

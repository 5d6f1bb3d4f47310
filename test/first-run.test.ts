import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DEMO_PRODUCTS } from '../src/modules/catalog/demo-catalog.ts';
import { freePort } from './process-helpers.ts';

/**
 * The first run as a process, from the outside (the browser version is test/services/browser/first-run.test.ts):
 * an empty DATA_DIR gets the demo catalog once and a start banner with the links and a setup link; each
 * start replaces the token; once an admin exists the banner has none; the token is written nowhere else.
 */

interface Started {
  child: ChildProcess;
  port: number;
  base: string;
  stdout(): string;
  stderr(): string;
  /** The setup token of the banner's link, if it has one. */
  token: string | undefined;
  stop(): Promise<number | null>;
}

const BANNER_END = /\n {4}Test card .*\n\n(?: {2}No admin yet\.[^\n]*\n[^\n]*\n\n {4}\S+\n\n)?/;

async function start(dataDir: string, env: Record<string, string> = {}): Promise<Started> {
  const port = await freePort();
  const child = spawn(process.execPath, ['src/main.ts', 'all'], {
    env: { PATH: process.env.PATH, DATA_DIR: dataDir, PORT: String(port), SANDBOX_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = once(child, 'exit');
  await new Promise<void>((resolve, reject) => {
    const check = () => {
      if (/Fulcrum is running\./.test(out) && BANNER_END.test(out.slice(out.indexOf('Fulcrum is running.')))) {
        child.stdout.off('data', check);
        resolve();
      }
    };
    child.stdout.on('data', check);
    void exited.then(() => reject(new Error(`fulcrum exited before its banner:\n${out}\n${err}`)));
  });
  const token = /\/admin\?setup=(\S+)/.exec(out)?.[1];
  return {
    child,
    port,
    base: `http://127.0.0.1:${port}`,
    stdout: () => out,
    stderr: () => err,
    token: token === undefined ? undefined : decodeURIComponent(token),
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      const [code] = (await exited) as [number | null];
      return code;
    },
  };
}

async function json(url: string, init?: RequestInit): Promise<{ status: number; body: any }> {
  const res = await fetch(url, init);
  return { status: res.status, body: await res.json() };
}

const setup = (base: string, token: string, email: string) =>
  json(`${base}/api/v1/setup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token, email, password: 'correct horse battery', name: 'Ada Admin' }),
  });

/** The banner's lines and everything else printed. */
function split(stdout: string): { banner: string; rest: string[] } {
  const from = stdout.lastIndexOf('\n\n  Fulcrum is running.');
  const match = BANNER_END.exec(stdout.slice(from));
  assert.ok(from >= 0 && match !== null, stdout);
  const to = from + match.index + match[0].length;
  const rest = (stdout.slice(0, from) + '\n' + stdout.slice(to)).split('\n').filter((l) => l !== '');
  return { banner: stdout.slice(from, to), rest };
}

describe('the first run, as a process', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'fulcrum-first-run-'));
  const running: Started[] = [];
  after(async () => {
    for (const p of running) await p.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const tokens: string[] = [];

  it('an empty DATA_DIR: the demo catalog, and a banner with the links, the test card and a setup link', async () => {
    const p = await start(dataDir, { LOG_FORMAT: 'json' });
    running.push(p);
    const { banner, rest } = split(p.stdout());
    const links: [string, string][] = [
      ['Storefront', `${p.base}/`],
      ['Admin', `${p.base}/admin`],
      ['API docs', `${p.base}/docs`],
    ];
    for (const [label, url] of links) {
      assert.match(banner, new RegExp(`${label}\\s+${url.replaceAll('.', '\\.')}\\s`));
    }
    assert.match(banner, /Sandbox\s+http:\/\/127\.0\.0\.1:\d+\s/);
    assert.match(banner, /Test card\s+4242 4242 4242 4242/);
    assert.ok(p.token !== undefined && p.token.length >= 32, banner);
    assert.ok(banner.includes(`${p.base}/admin?setup=`));
    // LOG_FORMAT=json: everything but the banner is one JSON entry per line.
    for (const line of rest) assert.doesNotThrow(() => JSON.parse(line), line);

    const products = await json(`${p.base}/api/v1/products?limit=100`);
    assert.equal(products.body.data.length, DEMO_PRODUCTS.length);
    const image = await fetch(`${p.base}${products.body.data[0].imageUrl}`);
    assert.equal(image.status, 200);
    assert.match(image.headers.get('content-type') ?? '', /^image\/svg\+xml/);
    await image.arrayBuffer();
    assert.deepEqual((await json(`${p.base}/api/v1/setup`)).body, { needed: true });
    tokens.push(p.token);
    assert.equal(await p.stop(), 0, p.stderr());
    running.pop();
  });

  it('a restart replaces the token (the old one is refused) and seeds nothing more; the new one makes the admin', async () => {
    const p = await start(dataDir, { LOG_FORMAT: 'json' });
    running.push(p);
    assert.ok(p.token !== undefined);
    assert.notEqual(p.token, tokens[0]);
    tokens.push(p.token);
    const products = await json(`${p.base}/api/v1/products?limit=100`);
    assert.equal(products.body.data.length, DEMO_PRODUCTS.length, 'not seeded twice');

    const old = await setup(p.base, tokens[0]!, 'old@example.test');
    assert.equal(old.status, 403);
    assert.equal(old.body.code, 'forbidden');
    const made = await setup(p.base, p.token, 'ada@example.test');
    assert.equal(made.status, 201, JSON.stringify(made.body));
    assert.equal(made.body.user.role, 'admin');
    const again = await setup(p.base, p.token, 'eve@example.test');
    assert.equal(again.status, 409);
    assert.equal(again.body.code, 'setup_done');
    assert.equal(await p.stop(), 0, p.stderr());
    running.pop();
  });

  it('once an admin exists: a banner without a setup link; the tokens were printed nowhere but the banners', async () => {
    const p = await start(dataDir, { LOG_FORMAT: 'pretty' });
    running.push(p);
    assert.equal(p.token, undefined);
    const { banner, rest } = split(p.stdout());
    assert.doesNotMatch(banner, /setup|No admin/);
    assert.match(banner, /Storefront/);
    // LOG_FORMAT=pretty: readable lines, not JSON.
    assert.ok(rest.length > 0);
    for (const line of rest) {
      assert.match(line, /^\[\d\d:\d\d:\d\d\] (INFO|WARN|DEBUG): /, line);
      assert.throws(() => JSON.parse(line));
    }
    assert.deepEqual((await json(`${p.base}/api/v1/setup`)).body, { needed: false });
    assert.equal((await json(`${p.base}/api/v1/products?limit=100`)).body.data.length, DEMO_PRODUCTS.length);
    await fetch(`${p.base}/admin?setup=${tokens[1]}`).then((r) => r.arrayBuffer());
    assert.equal(await p.stop(), 0, p.stderr());
    running.pop();
    for (const token of tokens) {
      assert.ok(!p.stdout().includes(token) && !p.stderr().includes(token), 'not in the logs of a later start');
    }
  });

  it('FULCRUM_ADMIN_EMAIL makes the first admin at start (no setup link); SEED_DEMO=false leaves the catalog empty', async () => {
    const other = mkdtempSync(join(tmpdir(), 'fulcrum-first-run-env-'));
    try {
      const p = await start(other, {
        SEED_DEMO: 'false',
        FULCRUM_ADMIN_EMAIL: 'ops@example.test',
        FULCRUM_ADMIN_PASSWORD: 'correct horse battery',
      });
      running.push(p);
      assert.equal(p.token, undefined);
      assert.doesNotMatch(split(p.stdout()).banner, /setup/);
      assert.deepEqual((await json(`${p.base}/api/v1/setup`)).body, { needed: false });
      assert.deepEqual((await json(`${p.base}/api/v1/products`)).body.data, []);
      assert.equal(await p.stop(), 0, p.stderr());
      running.pop();
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });
});

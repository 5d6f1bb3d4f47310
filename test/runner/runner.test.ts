import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, globSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../process-helpers.ts';
import {
  checkAmqp,
  checkChromium,
  checkPostgres,
  checkRedis,
  preflight,
  serviceAddresses,
  type ServiceAddresses,
} from './preflight.ts';
import { allTestFiles, isServicesTest, ROOT, testFiles } from './tiers.ts';
import { MAX_RERUN_FILES } from './deaths.ts';

// The two tiers (npm test, npm run test:services) and the preflight of the second, without any service:
// every check here runs against a local server this file opens, a closed port, or a file it writes.

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function npm(args: string[], env: Record<string, string>): Promise<Run> {
  const child = spawn('npm', ['run', '--silent', ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function listen(onConnection: (socket: Socket) => void): Promise<{ server: Server; port: number }> {
  const server = createServer(onConnection);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port };
}

/** Accepts connections and never says a word. */
const silent = () => listen(() => {});

const int16 = (n: number) => Buffer.from([(n >> 8) & 0xff, n & 0xff]);
const int32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};
const cstr = (s: string) => Buffer.from(`${s}\0`);
const pgMessage = (type: string, body: Buffer) => Buffer.concat([Buffer.from(type), int32(body.length + 4), body]);

/**
 * Just enough of PostgreSQL's protocol for the check: trust authentication, and one answer to any query —
 * a single boolean column, `canCreate`.
 */
function fakePostgres(canCreate: boolean) {
  return listen((socket) => {
    let pending = Buffer.alloc(0);
    let started = false;
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      for (;;) {
        if (!started) {
          if (pending.length < 8 || pending.length < pending.readInt32BE(0)) return;
          const code = pending.readInt32BE(4);
          pending = pending.subarray(pending.readInt32BE(0));
          if (code === 80877103) {
            socket.write('N'); // SSLRequest: no
            continue;
          }
          started = true;
          socket.write(Buffer.concat([pgMessage('R', int32(0)), pgMessage('Z', Buffer.from('I'))]));
          continue;
        }
        if (pending.length < 5 || pending.length < 1 + pending.readInt32BE(1)) return;
        const type = String.fromCharCode(pending[0]!);
        pending = pending.subarray(1 + pending.readInt32BE(1));
        if (type === 'X') socket.end();
        if (type !== 'Q') continue;
        const column = Buffer.concat([cstr('ok'), int32(0), int16(0), int32(16), int16(1), int32(-1), int16(0)]);
        socket.write(
          Buffer.concat([
            pgMessage('T', Buffer.concat([int16(1), column])),
            pgMessage('D', Buffer.concat([int16(1), int32(1), Buffer.from(canCreate ? 't' : 'f')])),
            pgMessage('C', cstr('SELECT 1')),
            pgMessage('Z', Buffer.from('I')),
          ]),
        );
      }
    });
  });
}

/** Redis answering +PONG to PING and `auth` to AUTH (default +OK): RESP arrays only, as the check sends. */
function fakeRedis(auth = '+OK') {
  const commands: string[][] = [];
  const started = listen((socket) => {
    let pending = '';
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      for (;;) {
        const match = /^\*(\d+)\r\n((?:\$\d+\r\n[^\r]*\r\n)*)/.exec(pending);
        if (match === null) return;
        const parts = [...match[2]!.matchAll(/\$\d+\r\n([^\r]*)\r\n/g)].map((m) => m[1]!);
        if (parts.length < Number(match[1])) return;
        pending = pending.slice(match[0].length);
        commands.push(parts);
        socket.write(parts[0]!.toUpperCase() === 'PING' ? '+PONG\r\n' : `${auth}\r\n`);
      }
    });
  });
  return started.then((s) => ({ ...s, commands }));
}

const amqpDefs = createRequire(import.meta.url)(
  join(dirname(createRequire(import.meta.url).resolve('amqplib')), 'lib', 'defs.js'),
) as {
  encodeMethod(id: number, channel: number, fields: Record<string, unknown>): Buffer;
  ConnectionStart: number;
  ConnectionStartOk: number;
  ConnectionTune: number;
  ConnectionOpen: number;
  ConnectionOpenOk: number;
  ConnectionClose: number;
  ConnectionCloseOk: number;
};

/** An AMQP 0-9-1 broker that opens a connection for anyone (encoded with amqplib's own frame definitions). */
function fakeBroker() {
  const methods: number[] = [];
  const started = listen((socket) => {
    let pending = Buffer.alloc(0);
    let greeted = false;
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      if (!greeted) {
        if (pending.length < 8) return;
        if (pending.subarray(0, 4).toString() !== 'AMQP') return void socket.destroy();
        pending = pending.subarray(8);
        greeted = true;
        socket.write(
          amqpDefs.encodeMethod(amqpDefs.ConnectionStart, 0, {
            versionMajor: 0,
            versionMinor: 9,
            serverProperties: {},
            mechanisms: Buffer.from('PLAIN'),
            locales: Buffer.from('en_US'),
          }),
        );
      }
      while (pending.length >= 8 && pending.length >= 8 + pending.readUInt32BE(3)) {
        const size = pending.readUInt32BE(3);
        const frame = pending.subarray(0, 8 + size);
        pending = pending.subarray(8 + size);
        if (frame[0] !== 1) continue; // heartbeats and the like
        const method = frame.readUInt32BE(7);
        methods.push(method);
        if (method === amqpDefs.ConnectionStartOk) {
          socket.write(
            amqpDefs.encodeMethod(amqpDefs.ConnectionTune, 0, { channelMax: 0, frameMax: 131072, heartbeat: 0 }),
          );
        } else if (method === amqpDefs.ConnectionOpen) {
          socket.write(amqpDefs.encodeMethod(amqpDefs.ConnectionOpenOk, 0, { knownHosts: '' }));
        } else if (method === amqpDefs.ConnectionClose) {
          socket.end(amqpDefs.encodeMethod(amqpDefs.ConnectionCloseOk, 0, {}));
        }
      }
    });
  });
  return started.then((s) => ({ ...s, methods }));
}

describe('the tiers', () => {
  it('every test file is in exactly one tier, and the services tier is exactly test/services/', () => {
    const bare = testFiles('bare');
    const services = testFiles('services');
    assert.deepEqual([...bare, ...services].sort(), allTestFiles());
    assert.ok(bare.includes('test/startup.test.ts') && bare.includes('src/config.test.ts'));
    assert.ok(bare.includes('test/runner/runner.test.ts'));
    assert.ok(services.includes('test/services/realtime/redis.test.ts'));
    assert.deepEqual(
      services.filter((f) => !f.startsWith('test/services/')),
      [],
    );
    assert.deepEqual(
      bare.filter((f) => f.startsWith('test/services/')),
      [],
    );
  });

  it('selects by directory, at any depth, and nothing outside src/ and test/', () => {
    const root = mkdtempSync(join(tmpdir(), 'fulcrum-tiers-'));
    try {
      for (const file of [
        'src/a.test.ts',
        'src/deep/er/b.test.ts',
        'src/helper.ts',
        'test/c.test.ts',
        'test/servicesextra/d.test.ts',
        'test/services/e.test.ts',
        'test/services/browser/f.test.ts',
        'test/services/support.ts',
        'bench/g.test.ts',
        'node_modules/h.test.ts',
      ]) {
        mkdirSync(dirname(join(root, file)), { recursive: true });
        writeFileSync(join(root, file), '');
      }
      assert.deepEqual(testFiles('bare', root), [
        'src/a.test.ts',
        'src/deep/er/b.test.ts',
        'test/c.test.ts',
        'test/servicesextra/d.test.ts',
      ]);
      assert.deepEqual(testFiles('services', root), ['test/services/browser/f.test.ts', 'test/services/e.test.ts']);
      assert.equal(isServicesTest('./test/services/e.test.ts'), true);
      assert.equal(isServicesTest('test/servicesextra/d.test.ts'), false);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('no first-tier test file or helper names a service address, its variable, or the browser', () => {
    // The first tier must pass with PostgreSQL, Redis, RabbitMQ and Chromium absent: none of its files may
    // default to them. (CI also runs it with every service address at a closed port.)
    const forbidden = new RegExp(
      [
        'playwright',
        '/usr/bin/chromium',
        String.raw`process\.env\.(?:TEST_REDIS_URL|TEST_AMQP_URL|CHROMIUM_PATH)`,
        String.raw`(?:127\.0\.0\.1|localhost|\[::1\]):(?:5432|6379|5672)\b`,
        String.raw`from '[^']*(?:services/support|runner/preflight)\.ts'`,
      ].join('|'),
      'i',
    );
    const helpers = globSync(['test/**/*.ts', 'src/**/test-helpers.ts'], { cwd: ROOT }).filter(
      (f) => !isServicesTest(f),
    );
    const files = [...new Set([...testFiles('bare'), ...helpers])].filter((f) => !f.startsWith('test/runner/'));
    const offenders = files.filter((f) => forbidden.test(readFileSync(join(ROOT, f), 'utf8')));
    assert.deepEqual(offenders, [], 'these belong under test/services/');
  });
});

describe('npm run test:services when no service is there', () => {
  let dir: string;
  let fixture: string;
  let marker: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'fulcrum-preflight-'));
    fixture = join(dir, 'fixture.test.ts');
    marker = join(dir, 'ran');
    // A test that leaves a mark when it runs.
    writeFileSync(
      fixture,
      `import { writeFileSync } from 'node:fs';\nimport { test } from 'node:test';\n` +
        `test('leaves a mark', () => writeFileSync(process.env.FULCRUM_TEST_MARKER!, 'ran'));\n`,
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('fails at once with one line per missing service, saying how to start it, and runs no test', async () => {
    const port = await freePort();
    const run = await npm(['test:services', '--', fixture], {
      FULCRUM_TEST_MARKER: marker,
      TEST_DATABASE_URL: `postgres://postgres:secret@127.0.0.1:${port}/postgres`,
      TEST_REDIS_URL: `redis://127.0.0.1:${port}`,
      TEST_AMQP_URL: `amqp://guest:guest@127.0.0.1:${port}`,
      CHROMIUM_PATH: join(dir, 'no-chromium'),
    });
    assert.equal(run.code, 2, run.stderr);
    const lines = run.stderr.trimEnd().split('\n');
    assert.match(lines[0]!, /^npm run test:services: 4 of the services its tests need are missing; no test was run:$/);
    const missing = lines.slice(1);
    assert.equal(missing.length, 4, run.stderr);
    const expected: [RegExp, RegExp][] = [
      [/^ {2}missing PostgreSQL at postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/postgres: /, /pg_ctlcluster/],
      [/^ {2}missing Redis at redis:\/\/127\.0\.0\.1:\d+: /, /redis-server --daemonize yes/],
      [/^ {2}missing RabbitMQ at amqp:\/\/guest:\*\*\*@127\.0\.0\.1:\d+: /, /rabbitmq-server -detached/],
      [/^ {2}missing Chromium at .*no-chromium: not found/, /apt-get install -y chromium/],
    ];
    expected.forEach(([where, how], i) => {
      assert.match(missing[i]!, where);
      assert.match(missing[i]!, how);
    });
    assert.ok(!run.stderr.includes('secret'), 'no password printed');
    assert.equal(existsSync(marker), false, 'the test did not run');
    assert.doesNotMatch(run.stdout, /tests \d|# tests|leaves a mark/);
  });

  it('the same test file runs when the tier allows it (so the mark above means something)', async () => {
    const run = await npm(['test', '--', fixture], { FULCRUM_TEST_MARKER: marker });
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.equal(readFileSync(marker, 'utf8'), 'ran');
    rmSync(marker);
  });

  it('npm test refuses a file of the services tier, naming the command that runs it', async () => {
    const run = await npm(['test', '--', 'test/services/realtime/redis.test.ts'], {});
    assert.equal(run.code, 1);
    assert.match(
      run.stderr,
      /needs services: run it with `npm run test:services -- test\/services\/realtime\/redis\.test\.ts`/,
    );
  });
});

describe('the preflight checks, against local stand-ins', () => {
  const servers: Server[] = [];
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'fulcrum-checks-'));
  });
  after(() => {
    for (const s of servers) s.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const keep = <T extends { server: Server }>(s: T): T => {
    servers.push(s.server);
    return s;
  };

  it('addresses: the environment, else the local defaults', () => {
    assert.deepEqual(serviceAddresses({}), {
      postgres: 'postgres://postgres@127.0.0.1:5432/postgres',
      redis: 'redis://127.0.0.1:6379',
      amqp: 'amqp://guest:guest@127.0.0.1:5672',
      chromium: '/usr/bin/chromium',
    });
    assert.deepEqual(
      serviceAddresses({
        TEST_DATABASE_URL: 'postgres://h/d',
        TEST_REDIS_URL: 'redis://r',
        TEST_AMQP_URL: 'amqp://a',
        CHROMIUM_PATH: '/c',
      }),
      { postgres: 'postgres://h/d', redis: 'redis://r', amqp: 'amqp://a', chromium: '/c' },
    );
  });

  it('all four there: nothing missing', async () => {
    const pg = keep(await fakePostgres(true));
    const redis = keep(await fakeRedis());
    const broker = keep(await fakeBroker());
    const chromium = join(dir, 'chromium');
    writeFileSync(chromium, '#!/bin/sh\n');
    chmodSync(chromium, 0o755);
    const addresses: ServiceAddresses = {
      postgres: `postgres://postgres@127.0.0.1:${pg.port}/postgres`,
      redis: `redis://127.0.0.1:${redis.port}`,
      amqp: `amqp://guest:guest@127.0.0.1:${broker.port}`,
      chromium,
    };
    assert.deepEqual(await preflight(addresses, 5_000), []);
    assert.deepEqual(redis.commands, [['PING']]);
    assert.ok(broker.methods.includes(amqpDefs.ConnectionOpen), 'the AMQP connection was opened');
    assert.ok(broker.methods.includes(amqpDefs.ConnectionClose), 'and closed again');
  });

  it('PostgreSQL: a user who may not create databases is not enough', async () => {
    const pg = keep(await fakePostgres(false));
    assert.match(
      (await checkPostgres(`postgres://postgres@127.0.0.1:${pg.port}/postgres`, 5_000)) ?? '',
      /may not create databases/,
    );
  });

  it('Redis: AUTH first when the URL has a password; an error answer is reported', async () => {
    const good = keep(await fakeRedis());
    assert.equal(await checkRedis(`redis://:pw@127.0.0.1:${good.port}`, 5_000), undefined);
    assert.equal(await checkRedis(`redis://me:pw@127.0.0.1:${good.port}`, 5_000), undefined);
    assert.deepEqual(good.commands, [['AUTH', 'pw'], ['PING'], ['AUTH', 'me', 'pw'], ['PING']]);
    const refusing = keep(await fakeRedis('-WRONGPASS invalid username-password pair'));
    assert.match((await checkRedis(`redis://:bad@127.0.0.1:${refusing.port}`, 5_000)) ?? '', /WRONGPASS/);
  });

  it('a closed port is reported as refused', async () => {
    const port = await freePort();
    assert.match((await checkPostgres(`postgres://postgres@127.0.0.1:${port}/postgres`, 5_000)) ?? '', /ECONNREFUSED/);
    assert.match((await checkRedis(`redis://127.0.0.1:${port}`, 5_000)) ?? '', /ECONNREFUSED/);
    assert.match((await checkAmqp(`amqp://guest:guest@127.0.0.1:${port}`, 5_000)) ?? '', /ECONNREFUSED/);
  });

  it('a server that accepts and never answers is given up at the bound, not waited for', async () => {
    const { port } = keep(await silent());
    for (const problem of [
      await checkPostgres(`postgres://postgres@127.0.0.1:${port}/postgres`, 300),
      await checkRedis(`redis://127.0.0.1:${port}`, 300),
      await checkAmqp(`amqp://guest:guest@127.0.0.1:${port}`, 300),
    ]) {
      assert.match(problem ?? '', /no answer within 300 ms|timeout/i);
    }
  });

  it('Chromium: an executable file, nothing else', async () => {
    const file = join(dir, 'not-executable');
    writeFileSync(file, '');
    chmodSync(file, 0o644);
    assert.equal(await checkChromium(join(dir, 'absent')), 'not found');
    assert.equal(await checkChromium(file), 'not executable');
    assert.equal(await checkChromium(dir), 'not a file');
  });
});

describe('npm test when a test file’s process dies', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'fulcrum-deaths-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  interface Fixture {
    /** The runs (1, 2, …) on which it dies. */
    dieOn?: number[];
    /** How it dies: a statement. */
    how?: string;
    /** In which of its two tests it dies: the first (before any passed) or the second (after one passed). */
    at?: 'first' | 'second';
    /** Its second test fails. */
    failing?: boolean;
    /** Statements its first test runs (e.g. a throw left behind for after it ended). */
    first?: string;
  }

  /**
   * A test file that counts its runs in `<name>.runs` and, on the runs in `dieOn`, writes a line on stderr and ends
   * its process the way `how` says, in the test `at` names.
   */
  function fixture(name: string, options: Fixture): { file: string; runs: () => number } {
    const { dieOn = [], how = '', at = 'second', failing = false, first = '' } = options;
    const file = join(dir, `${name}.test.ts`);
    const count = join(dir, `${name}.runs`);
    const die = [
      `    if (${JSON.stringify(dieOn)}.includes(run)) {`,
      `      process.stderr.write('${name}: last words on run ' + run + '\\n');`,
      `      await new Promise((r) => setTimeout(r, 50));`,
      `      ${how};`,
      `    }`,
    ];
    writeFileSync(
      file,
      [
        `import assert from 'node:assert/strict';`,
        `import { appendFileSync, readFileSync } from 'node:fs';`,
        `import { describe, it } from 'node:test';`,
        `appendFileSync(${JSON.stringify(count)}, 'x');`,
        `const run = readFileSync(${JSON.stringify(count)}, 'utf8').length;`,
        `describe('${name}', () => {`,
        `  it('first', async () => {`,
        ...(at === 'first' ? die : []),
        `    ${first}`,
        `  });`,
        `  it('second', async () => {`,
        ...(at === 'second' ? die : []),
        `    await new Promise((r) => setTimeout(r, 50));`,
        `    assert.equal(${failing ? 1 : 0}, 0);`,
        `  });`,
        `});`,
      ].join('\n'),
    );
    return { file, runs: () => (existsSync(count) ? readFileSync(count, 'utf8').length : 0) };
  }

  const sigkill = `process.kill(process.pid, 'SIGKILL')`;

  it('a file killed once, with no failing test, gets a post-mortem and a second run that decides: passed', async () => {
    const killed = fixture('killed-once', { dieOn: [1], how: sigkill });
    const run = await npm(['test', '--', killed.file], {});
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.equal(killed.runs(), 2);
    assert.match(
      run.stderr,
      /killed-once\.test\.ts: its process ended with signal SIGKILL while none of its tests had failed \(tests and suites passed before it ended: 1\); the last lines it wrote on stderr:\n {2}killed-once: last words on run 1\n/,
    );
    assert.match(
      run.stderr,
      /npm test: 1 file's process died .* Running it once more; that run decides: .*killed-once\.test\.ts/,
    );
    assert.match(run.stderr, /the second run of .*killed-once\.test\.ts passed/);
  });

  it('a file that exits before any test passed, every time (exit code 3), fails after its second run', async () => {
    const exits = fixture('exits', { dieOn: [1, 2], how: 'process.exit(3)', at: 'first' });
    const run = await npm(['test', '--', exits.file], {});
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.equal(exits.runs(), 2, 'run twice, not more');
    assert.match(
      run.stderr,
      /exits\.test\.ts: its process ended with exit code 3 .*passed before it ended: 0\).*\n {2}exits: last words on run 2\n/,
    );
    assert.match(run.stderr, /the second run of .*exits\.test\.ts failed \(exit code 1\)/);
  });

  it('an exit code after a test passed is a failure of its own: a post-mortem, no second run', async () => {
    const exits = fixture('exits-late', { dieOn: [1], how: 'process.exit(1)' });
    const run = await npm(['test', '--', exits.file], {});
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.equal(exits.runs(), 1);
    assert.match(run.stderr, /exits-late\.test\.ts: its process ended with exit code 1 .*passed before it ended: 1\)/);
    assert.doesNotMatch(run.stderr, /once more/);
  });

  it('a throw left behind by a passing test is never run again; Node’s error is in the post-mortem', async () => {
    const leaves = fixture('leaves-a-throw', {
      first: `setTimeout(() => { throw new Error('thrown after the end'); }, 5);`,
    });
    const run = await npm(['test', '--', leaves.file], {});
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.equal(leaves.runs(), 1);
    assert.match(run.stderr, /leaves-a-throw\.test\.ts: its process ended with exit code 1/);
    assert.match(run.stderr, /\(node\) .*asynchronous activity after the test ended.*thrown after the end/);
    assert.doesNotMatch(run.stderr, /once more/);
  });

  it('a failing test is never run again, even beside a file that died', async () => {
    const failing = fixture('fails', { failing: true });
    const killed = fixture('killed-beside', { dieOn: [1], how: sigkill });
    const run = await npm(['test', '--', failing.file, killed.file], {});
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.equal(failing.runs(), 1);
    assert.equal(killed.runs(), 1, 'no second run while a test failed');
    assert.match(run.stderr, /killed-beside\.test\.ts: its process ended with signal SIGKILL/);
    assert.doesNotMatch(run.stderr, /fails\.test\.ts: its process ended/, 'a failing test is not a death');
    assert.doesNotMatch(run.stderr, /once more/);
  });

  it('more files dying than MAX_RERUN_FILES at once is a failure, not a second run', async () => {
    const many = Array.from({ length: MAX_RERUN_FILES + 1 }, (_, i) =>
      fixture(`many-${i}`, { dieOn: [1], how: sigkill }),
    );
    const run = await npm(['test', '--', ...many.map((f) => f.file)], {});
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.deepEqual(
      many.map((f) => f.runs()),
      many.map(() => 1),
    );
    assert.equal(run.stderr.match(/its process ended with signal SIGKILL/g)?.length, many.length);
  });

  it('with a --test-reporter of your own: neither the post-mortem nor a second run', async () => {
    const killed = fixture('own-reporter', { dieOn: [1], how: sigkill });
    const run = await npm(['test', '--', '--test-reporter=tap', killed.file], {});
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.equal(killed.runs(), 1);
    assert.match(run.stdout, /not ok 1 - .*own-reporter\.test\.ts/);
    assert.doesNotMatch(run.stderr, /its process ended|once more/);
  });
});

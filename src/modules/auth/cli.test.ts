import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { call, createTestDatabase, startTestApp } from '../../../test/helpers.ts';
import { openDatabase, type Database } from '../../db/database.ts';
import { newId } from '../../shared/ids.ts';
import { hashPassword } from './password.ts';
import { PASSWORD, uniqueEmail } from './test-helpers.ts';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The CLI runs against its own database: a fresh one on the TEST_DATABASE_URL server, or PGlite files
 * in a temporary DATA_DIR (PGlite allows one process at a time, so the test opens it only between runs).
 */
describe('cli create-admin', () => {
  let env: Record<string, string>;
  let withDatabase: <T>(fn: (database: Database) => Promise<T>) => Promise<T>;
  let cleanup: () => Promise<void>;

  before(async () => {
    const base = { PATH: process.env.PATH ?? '', NODE_ENV: 'test', LOG_LEVEL: 'silent' };
    if (process.env.TEST_DATABASE_URL) {
      const test = await createTestDatabase();
      env = { ...base, DATABASE_URL: test.database.url ?? '' };
      withDatabase = (fn) => fn(test.database);
      cleanup = () => test.drop();
    } else {
      const dataDir = mkdtempSync(join(tmpdir(), 'fulcrum-cli-'));
      env = { ...base, DATA_DIR: dataDir };
      withDatabase = async (fn) => {
        const database = await openDatabase({ url: undefined, dataDir });
        try {
          return await fn(database);
        } finally {
          await database.close();
        }
      };
      cleanup = async () => rmSync(dataDir, { recursive: true, force: true });
    }
  });
  after(() => cleanup());

  function cli(args: string[], stdin: string): Promise<Run> {
    const child = spawn(process.execPath, ['src/cli.ts', ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.end(stdin);
    return new Promise((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  }

  const roleOf = (email: string) =>
    withDatabase(async (database) => {
      const row = await database.db.selectFrom('users').select('role').where('email', '=', email).executeTakeFirst();
      return row?.role;
    });

  it('creates an admin from a password piped on stdin, who can sign in and change roles', async () => {
    const email = uniqueEmail('boss');
    const run = await cli(['create-admin', email.toUpperCase()], `${PASSWORD}\n`);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`^created admin ${email} \\(usr_[a-z0-9]+\\)\\n$`));
    assert.ok(!run.stdout.includes(PASSWORD) && !run.stderr.includes(PASSWORD));
    await withDatabase(async (database) => {
      const app = await startTestApp({ database });
      try {
        const login = await call(app, 'POST', '/api/v1/auth/login', { body: { email, password: PASSWORD } });
        assert.equal(login.status, 200);
        assert.equal(login.body.user.role, 'admin');
        const reg = await call(app, 'POST', '/api/v1/auth/register', {
          body: { email: uniqueEmail(), password: PASSWORD, name: 'Sam' },
        });
        const patch = await call(app, 'PATCH', `/api/v1/admin/users/${reg.body.user.id}`, {
          token: login.body.accessToken,
          body: { role: 'support' },
        });
        assert.equal(patch.status, 200);
      } finally {
        await app.close();
      }
    });
  });

  it('promotes an existing user to admin and leaves their password as it was', async () => {
    const email = uniqueEmail('cust');
    await withDatabase(async (database) => {
      await database.db
        .insertInto('users')
        .values({ id: newId('usr'), email, name: 'Cus', password_hash: await hashPassword(PASSWORD) })
        .execute();
    });
    const run = await cli(['create-admin', email], 'some other password\n');
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^promoted existing user to admin \(password unchanged\): /);
    assert.equal(await roleOf(email), 'admin');
    await withDatabase(async (database) => {
      const app = await startTestApp({ database });
      try {
        const login = await call(app, 'POST', '/api/v1/auth/login', { body: { email, password: PASSWORD } });
        assert.equal(login.status, 200);
      } finally {
        await app.close();
      }
    });
    const again = await cli(['create-admin', email], `${PASSWORD}\n`);
    assert.equal(again.code, 0);
    assert.match(again.stdout, /^already an admin/);
  });

  it('exits 1 with a clear message for a short password, and creates nothing', async () => {
    const email = uniqueEmail('short');
    const run = await cli(['create-admin', email], 'elevenchars\n');
    assert.equal(run.code, 1);
    assert.match(run.stderr, /password must be 12–128 characters/);
    assert.equal(run.stdout, '');
    assert.equal(await roleOf(email), undefined);
  });

  it('exits 1 for an empty stdin, a bad e-mail, a missing e-mail or an unknown command', async () => {
    const empty = await cli(['create-admin', uniqueEmail()], '');
    assert.equal(empty.code, 1);
    assert.match(empty.stderr, /password/);
    const bad = await cli(['create-admin', 'not-an-email'], `${PASSWORD}\n`);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /not an e-mail address/);
    const missing = await cli(['create-admin'], `${PASSWORD}\n`);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /usage: npm run cli -- create-admin <email>/);
    const unknown = await cli(['make-coffee'], '');
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /usage/);
  });
});

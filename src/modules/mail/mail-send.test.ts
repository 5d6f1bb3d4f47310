import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { SMTPServer } from 'smtp-server';
import { CountStatements, createTestDatabase, type TestDatabase } from '../../../test/helpers.ts';
import { createLogger } from '../../observability/logger.ts';
import { manualClock } from '../../shared/clock.ts';
import { startWorkerJobs } from '../jobs/worker.ts';
import {
  createMailQueue,
  keptTransport,
  MAIL_MAX_ATTEMPTS,
  mailBackoffMs,
  mailOnce,
  sendDueMails,
  smtpTransport,
  type MailTransport,
  type MailWorkerDeps,
} from './index.ts';
import { MAIL_LEASE_MS } from './mail-worker.ts';

/** CountStatements that makes its `failAt`-th statement fail, as a database gone at that moment would. */
class FailingAt extends CountStatements {
  readonly failAt: number;
  constructor(failAt: number) {
    super();
    this.failAt = failAt;
  }
  override transformQuery(args: Parameters<CountStatements['transformQuery']>[0]) {
    const node = super.transformQuery(args);
    if (this.count === this.failAt) throw new Error('connection lost');
    return node;
  }
}

interface Received {
  from: string;
  to: string[];
  raw: string;
}

/**
 * A real SMTP server (smtp-server, nodemailer's authors) on 127.0.0.1 and a free port, in this process. It refuses
 * the first `refusals` messages with a 451 and keeps the ones it accepts.
 */
async function startSmtp() {
  const received: Received[] = [];
  const state = { refusals: 0 };
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS', 'AUTH'],
    authOptional: true,
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        if (state.refusals > 0) {
          state.refusals -= 1;
          const error = Object.assign(new Error('Try again later'), { responseCode: 451 });
          callback(error);
          return;
        }
        received.push({
          from: session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address,
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
  });
  server.listen(0, '127.0.0.1');
  await once(server.server, 'listening');
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    received,
    state,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

// docs/api.md § Mail: sending, retries with backoff, at most once.
describe('sending mail', () => {
  const clock = manualClock(new Date('2026-06-01T12:00:00Z'));
  let t: TestDatabase;
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  let deps: MailWorkerDeps;
  const queue = createMailQueue({ name: 'Hat Shop', url: 'https://hats.example' });
  before(async () => {
    t = await createTestDatabase();
    smtp = await startSmtp();
    deps = {
      db: t.database.db,
      clock,
      logger: createLogger('silent'),
      queue,
      transport: smtpTransport(smtp.url),
      from: '"Hat Shop" <shop@hats.example>',
    };
  });
  after(async () => {
    deps.transport.close();
    await smtp.close();
    await t.drop();
  });
  beforeEach(async () => {
    await t.database.db.deleteFrom('mails').execute();
    smtp.received.length = 0;
    smtp.state.refusals = 0;
  });

  const enqueue = (eventKey: string, to = 'ann@example.test') =>
    queue.enqueue(
      t.database.db,
      {
        eventKey,
        userId: null,
        to,
        template: 'password-reset',
        vars: { name: 'Ann', token: 'tok-123' },
      },
      clock.now(),
    );
  const row = async (eventKey: string) =>
    t.database.db.selectFrom('mails').selectAll().where('event_key', '=', eventKey).executeTakeFirstOrThrow();

  it('delivers the text and HTML versions to the recipient, once', async () => {
    assert.equal(await enqueue('password_reset:a'), true);
    assert.equal(await enqueue('password_reset:a'), false, 'one mail per event');
    assert.deepEqual(await sendDueMails(deps), { sent: 1, failed: 0 });
    assert.equal(smtp.received.length, 1);
    const [mail] = smtp.received;
    assert.equal(mail!.from, 'shop@hats.example');
    assert.deepEqual(mail!.to, ['ann@example.test']);
    assert.match(mail!.raw, /^Subject: Reset your Hat Shop password\r?$/m);
    assert.match(mail!.raw, /Content-Type: text\/plain/);
    assert.match(mail!.raw, /Content-Type: text\/html/);
    assert.match(mail!.raw, /https:\/\/hats\.example\/reset\?token(=3D|=)tok-123/);
    const sent = await row('password_reset:a');
    assert.equal(sent.status, 'sent');
    assert.equal(sent.attempts, 1);
    assert.deepEqual(sent.sent_at, clock.now());
    assert.deepEqual(await sendDueMails(deps), { sent: 0, failed: 0 });
    assert.equal(smtp.received.length, 1, 'nothing sent twice');
  });

  it('a server that refuses and then accepts: retried after the backoff, delivered once', async () => {
    smtp.state.refusals = 1;
    await enqueue('password_reset:b');
    assert.deepEqual(await sendDueMails(deps), { sent: 0, failed: 1 });
    const waiting = await row('password_reset:b');
    assert.equal(waiting.status, 'pending');
    assert.equal(waiting.attempts, 1);
    assert.match(waiting.last_error ?? '', /451|Try again later/);
    assert.deepEqual(waiting.next_attempt_at, new Date(clock.now().getTime() + mailBackoffMs(1)));
    // Not before its time.
    assert.deepEqual(await sendDueMails(deps), { sent: 0, failed: 0 });
    clock.advance(mailBackoffMs(1));
    assert.deepEqual(await sendDueMails(deps), { sent: 1, failed: 0 });
    assert.equal(smtp.received.length, 1);
    const sent = await row('password_reset:b');
    assert.equal(sent.status, 'sent');
    assert.equal(sent.attempts, 2);
    assert.equal(sent.last_error, null);
  });

  it(`a server that keeps refusing: failed after ${MAIL_MAX_ATTEMPTS} tries, with the last error`, async () => {
    smtp.state.refusals = 1000;
    await enqueue('password_reset:c');
    for (let attempt = 1; attempt <= MAIL_MAX_ATTEMPTS; attempt += 1) {
      assert.deepEqual(await sendDueMails(deps), { sent: 0, failed: 1 });
      clock.advance(mailBackoffMs(attempt));
    }
    const failed = await row('password_reset:c');
    assert.equal(failed.status, 'failed');
    assert.equal(failed.attempts, MAIL_MAX_ATTEMPTS);
    assert.match(failed.last_error ?? '', /Try again later/);
    assert.deepEqual(await sendDueMails(deps), { sent: 0, failed: 0 });
    assert.equal(smtp.received.length, 0);
  });

  it('a server that cannot be reached counts as a refusal; backoff doubles up to an hour', async () => {
    await enqueue('password_reset:d');
    const closed = smtpTransport('smtp://127.0.0.1:1');
    try {
      assert.deepEqual(await sendDueMails({ ...deps, transport: closed }), { sent: 0, failed: 1 });
    } finally {
      closed.close();
    }
    assert.match((await row('password_reset:d')).last_error ?? '', /ECONNREFUSED|connect/i);
    assert.deepEqual(
      [1, 2, 3, 7, 8, 20].map(mailBackoffMs),
      [30_000, 60_000, 120_000, 1_920_000, 3_600_000, 3_600_000],
    );
  });

  it('a claim left by a worker that died while sending is failed, never sent again (at most once)', async () => {
    await enqueue('password_reset:e');
    await t.database.db
      .updateTable('mails')
      .set({ attempts: 1, locked_until: new Date(clock.now().getTime() - 1) })
      .where('event_key', '=', 'password_reset:e')
      .execute();
    assert.deepEqual(await sendDueMails(deps), { sent: 0, failed: 0 });
    const failed = await row('password_reset:e');
    assert.equal(failed.status, 'failed');
    assert.match(failed.last_error ?? '', /stopped while sending/);
    assert.equal(smtp.received.length, 0);
  });

  it('without SMTP_URL the mail is kept: marked sent, readable, nothing leaves', async () => {
    await enqueue('password_reset:f');
    assert.deepEqual(await sendDueMails({ ...deps, transport: keptTransport }), { sent: 1, failed: 0 });
    assert.equal((await row('password_reset:f')).status, 'sent');
    assert.equal(smtp.received.length, 0);
  });

  // Issue 11: keeping cannot fail, so a kept batch is neither claimed nor read back: one statement marks it sent.
  it('kept: a batch of 6 costs what a batch of 1 does — the look for run-out claims, and one update marking them sent', async () => {
    const batchOf = async (n: number) => {
      await t.database.db.deleteFrom('mails').execute();
      for (let i = 0; i < n; i += 1) await enqueue(`password_reset:k${n}-${i}`, `k${i}@example.test`);
      const { counter, deps: counting } = counted({ transport: keptTransport });
      assert.deepEqual(await sendDueMails(counting), { sent: n, failed: 0 });
      const rows = await t.database.db
        .selectFrom('mails')
        .select(['status', 'sent_at', 'attempts', 'locked_until'])
        .execute();
      assert.deepEqual(
        rows,
        Array.from({ length: n }, () => ({ status: 'sent', sent_at: clock.now(), attempts: 1, locked_until: null })),
      );
      return counter.kinds;
    };
    const one = await batchOf(1);
    assert.deepEqual(one, ['UpdateQueryNode', 'SelectQueryNode', 'UpdateQueryNode']);
    assert.deepEqual(await batchOf(6), one);
    assert.equal(smtp.received.length, 0);
  });

  it('kept: a mail not due yet, or claimed by another worker, is left as it is', async () => {
    await enqueue('password_reset:due');
    await enqueue('password_reset:later');
    await enqueue('password_reset:held');
    await t.database.db
      .updateTable('mails')
      .set({ next_attempt_at: new Date(clock.now().getTime() + 60_000) })
      .where('event_key', '=', 'password_reset:later')
      .execute();
    const lease = new Date(clock.now().getTime() + MAIL_LEASE_MS);
    await t.database.db
      .updateTable('mails')
      .set({ locked_until: lease, attempts: 1 })
      .where('event_key', '=', 'password_reset:held')
      .execute();
    assert.deepEqual(await sendDueMails({ ...deps, transport: keptTransport }), { sent: 1, failed: 0 });
    assert.equal((await row('password_reset:due')).status, 'sent');
    const later = await row('password_reset:later');
    assert.deepEqual([later.status, later.attempts, later.sent_at], ['pending', 0, null]);
    const held = await row('password_reset:held');
    assert.deepEqual([held.status, held.attempts, held.locked_until], ['pending', 1, lease]);
  });

  it('kept: a batch whose update fails stays pending and unclaimed, and the next pass keeps it once', async () => {
    await enqueue('password_reset:k-lost-1');
    await enqueue('password_reset:k-lost-2');
    // Counted: the look for run-out claims, the due subquery, the update: the third fails.
    const { deps: failing } = counted({ transport: keptTransport }, new FailingAt(3));
    await assert.rejects(sendDueMails(failing), /connection lost/);
    for (const key of ['password_reset:k-lost-1', 'password_reset:k-lost-2']) {
      const mail = await row(key);
      assert.deepEqual([mail.status, mail.attempts, mail.locked_until], ['pending', 0, null], key);
    }
    assert.deepEqual(await sendDueMails({ ...deps, transport: keptTransport }), { sent: 2, failed: 0 });
    assert.deepEqual(await sendDueMails({ ...deps, transport: keptTransport }), { sent: 0, failed: 0 });
    for (const key of ['password_reset:k-lost-1', 'password_reset:k-lost-2']) {
      const mail = await row(key);
      assert.deepEqual([mail.status, mail.attempts], ['sent', 1], key);
    }
  });

  it('kept: one pass of the mail job keeps 45 due mails, in batches', async () => {
    for (let i = 0; i < 45; i++) await enqueue(`password_reset:kmany-${i}`, `km${i}@example.test`);
    const done = await mailOnce({ ...deps, transport: keptTransport, batchSize: 20 });
    assert.deepEqual(done, { read: 0, sent: 45, failed: 0 });
    const pending = await t.database.db.selectFrom('mails').select('id').where('status', '=', 'pending').execute();
    assert.equal(pending.length, 0);
  });

  it("runs as the worker's `mail` job", async () => {
    await enqueue('password_reset:g');
    const worker = startWorkerJobs({
      db: t.database.db,
      clock,
      logger: createLogger('silent'),
      intervals: { orderExpiryMs: 3600_000, retentionMs: 3600_000, mailMs: 3600_000 },
      mail: { queue, transport: deps.transport, from: deps.from },
    });
    try {
      await worker.jobs.find((j) => j.name === 'mail')!.tick();
    } finally {
      await worker.stop();
    }
    assert.equal((await row('password_reset:g')).status, 'sent');
    assert.equal(smtp.received.length, 1);
  });

  // Performance issue 11: the sends of a batch are marked in one statement.
  const counted = (overrides: Partial<MailWorkerDeps> = {}, counter = new CountStatements()) => ({
    counter,
    deps: { ...deps, ...overrides, db: t.database.db.withPlugin(counter) },
  });

  it('a batch of 6 mails costs the statements of a batch of 1: expire old claims, claim, one mark for all sent', async () => {
    const batchOf = async (n: number) => {
      await t.database.db.deleteFrom('mails').execute();
      smtp.received.length = 0;
      for (let i = 0; i < n; i += 1) await enqueue(`password_reset:n${n}-${i}`, `to${i}@example.test`);
      const { counter, deps: counting } = counted();
      assert.deepEqual(await sendDueMails(counting), { sent: n, failed: 0 });
      assert.equal(smtp.received.length, n, 'one transport call per mail');
      const rows = await t.database.db.selectFrom('mails').select(['status', 'sent_at', 'attempts']).execute();
      assert.deepEqual(
        rows,
        Array.from({ length: n }, () => ({ status: 'sent', sent_at: clock.now(), attempts: 1 })),
      );
      return counter.kinds;
    };
    const one = await batchOf(1);
    const six = await batchOf(6);
    // Three statements; CountStatements also sees the claim's `due` subquery (built on the counted db) as a node.
    assert.deepEqual(one, ['UpdateQueryNode', 'SelectQueryNode', 'UpdateQueryNode', 'UpdateQueryNode']);
    assert.deepEqual(six, one, `6 mails: ${six.length} statements, 1 mail: ${one.length}`);
  });

  it('a refusal in a batch: only that mail waits for its retry; the others are sent, and it goes out later', async () => {
    await enqueue('password_reset:ann', 'ann@example.test');
    await enqueue('password_reset:bob', 'bob@example.test');
    await enqueue('password_reset:cara', 'cara@example.test');
    const inner = deps.transport;
    const tried: string[] = [];
    const refusingBob: MailTransport = {
      kind: 'smtp',
      async send(mail) {
        tried.push(mail.to);
        if (mail.to === 'bob@example.test') throw new Error('550 mailbox busy');
        await inner.send(mail);
      },
      close: () => undefined,
    };
    const { counter, deps: counting } = counted({ transport: refusingBob });
    assert.deepEqual(await sendDueMails(counting), { sent: 2, failed: 1 });
    assert.deepEqual(tried.sort(), ['ann@example.test', 'bob@example.test', 'cara@example.test']);
    // Expire old claims, claim (its subquery counted apart), mark bob's refusal, mark ann and cara sent.
    assert.deepEqual(counter.kinds, [
      'UpdateQueryNode',
      'SelectQueryNode',
      'UpdateQueryNode',
      'UpdateQueryNode',
      'UpdateQueryNode',
    ]);
    for (const key of ['password_reset:ann', 'password_reset:cara']) {
      const mail = await row(key);
      assert.equal(mail.status, 'sent', key);
      assert.deepEqual(mail.sent_at, clock.now());
      assert.equal(mail.locked_until, null);
    }
    const bob = await row('password_reset:bob');
    assert.equal(bob.status, 'pending');
    assert.equal(bob.sent_at, null);
    assert.equal(bob.locked_until, null);
    assert.equal(bob.attempts, 1);
    assert.equal(bob.last_error, '550 mailbox busy');
    assert.deepEqual(bob.next_attempt_at, new Date(clock.now().getTime() + mailBackoffMs(1)));
    assert.deepEqual(smtp.received.map((m) => m.to).sort(), [['ann@example.test'], ['cara@example.test']]);

    clock.advance(mailBackoffMs(1));
    assert.deepEqual(await sendDueMails(deps), { sent: 1, failed: 0 });
    assert.equal((await row('password_reset:bob')).status, 'sent');
    assert.equal(smtp.received.length, 3, 'ann and cara were not sent again');
  });

  it('a worker that dies after sending, before its one mark: the batch is failed when the claim runs out, not sent again', async () => {
    await enqueue('password_reset:x1', 'x1@example.test');
    await enqueue('password_reset:x2', 'x2@example.test');
    // Counted: expire old claims, the claim's subquery, the claim, the mark sent: the fourth fails.
    const { deps: dying } = counted({}, new FailingAt(4));
    await assert.rejects(sendDueMails(dying), /connection lost/);
    assert.equal(smtp.received.length, 2, 'both reached the server');
    for (const key of ['password_reset:x1', 'password_reset:x2']) {
      const mail = await row(key);
      assert.equal(mail.status, 'pending');
      assert.notEqual(mail.locked_until, null, 'still claimed');
    }
    assert.deepEqual(await sendDueMails(deps), { sent: 0, failed: 0 }, 'claimed: not due');
    clock.advance(MAIL_LEASE_MS + 1);
    assert.deepEqual(await sendDueMails(deps), { sent: 0, failed: 0 });
    for (const key of ['password_reset:x1', 'password_reset:x2']) {
      const mail = await row(key);
      assert.equal(mail.status, 'failed', key);
      assert.match(mail.last_error ?? '', /stopped while sending/);
    }
    assert.equal(smtp.received.length, 2, 'never sent a second time');
  });

  it('one pass of the mail job sends more than one batch: 45 due mails go out in one mailOnce', async () => {
    for (let i = 0; i < 45; i++) await enqueue(`password_reset:many-${i}`, `m${i}@example.test`);
    const done = await mailOnce({ ...deps, batchSize: 20 });
    assert.equal(done.sent, 45);
    assert.equal(smtp.received.length, 45);
    const pending = await t.database.db.selectFrom('mails').select('id').where('status', '=', 'pending').execute();
    assert.equal(pending.length, 0);
  });

  it('a pass of three batches looks for run-out claims once, in its first batch', async () => {
    for (let i = 0; i < 45; i++) await enqueue(`password_reset:pass-${i}`, `p${i}@example.test`);
    // A claim left by a worker that died, its lease run out: the pass's look finds it.
    await enqueue('password_reset:pass-dead', 'dead@example.test');
    await t.database.db
      .updateTable('mails')
      .set({ locked_until: new Date(clock.now().getTime() - 1), attempts: 1 })
      .where('event_key', '=', 'password_reset:pass-dead')
      .execute();
    const { counter, deps: counting } = counted({ batchSize: 20 });
    const done = await mailOnce(counting);
    assert.equal(done.sent, 45);
    const dead = await t.database.db
      .selectFrom('mails')
      .select(['status', 'last_error'])
      .where('event_key', '=', 'password_reset:pass-dead')
      .executeTakeFirstOrThrow();
    assert.equal(dead.status, 'failed');
    // The outbox read, then per batch: (the look for run-out claims,) the claim and its `due` subquery, the mark.
    const batch = ['SelectQueryNode', 'UpdateQueryNode', 'UpdateQueryNode'];
    assert.deepEqual(counter.kinds, ['SelectQueryNode', 'UpdateQueryNode', ...batch, ...batch, ...batch]);
  });
});

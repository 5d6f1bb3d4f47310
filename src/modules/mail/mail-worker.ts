import type { Db } from '../../db/database.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Clock } from '../../shared/clock.ts';
import {
  claimDueMails,
  failAbandonedClaims,
  keepDueMails,
  markAttemptFailed,
  markSentMany,
} from './mail.repository.ts';
import { mailsForEvents } from './order-mails.ts';
import type { MailQueue } from './queue.ts';
import type { MailTransport } from './transport.ts';

/** A mail is tried this many times (the first try included) before it is failed for good. */
export const MAIL_MAX_ATTEMPTS = 8;
/** A claim lasts this long; a worker that died while sending leaves it to run out. */
export const MAIL_LEASE_MS = 5 * 60_000;

/** Wait before the next try after `attempts` failed ones: 30 s, 1 min, 2 min, … at most an hour. */
export function mailBackoffMs(attempts: number): number {
  return Math.min(3600_000, 30_000 * 2 ** Math.max(0, attempts - 1));
}

export interface MailWorkerDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  queue: MailQueue;
  transport: MailTransport;
  /** MAIL_FROM */
  from: string;
  batchSize?: number;
}

/**
 * Reads outbox rows no mail pass has read (outbox.mailed_at null), makes their mails and marks the rows read, the
 * mails and the mark in one statement: a mail exists once per event whatever happens (its event key), and a row is
 * marked only with its mails. No transaction: on PGlite, whose one session a transaction holds from begin to commit,
 * a batch's reads and the rendering of up to 100 mails between them held every request and confirmation (issue 11:
 * 0.3–0.4 s every pass at 200 payments/s). Two passes at once (two `worker` nodes whose ticks meet) may read and
 * render the same rows: each mail is still made once, and each row marked once. The batch costs a constant number
 * of statements whatever its size: the select, at most five reads for its mails (mailsForEvents), the insert that
 * marks. Returns how many rows were read.
 */
export async function mailFromOutbox(deps: MailWorkerDeps): Promise<number> {
  const { db, clock, queue } = deps;
  const rows = await db
    .selectFrom('outbox')
    .select(['id', 'type', 'payload'])
    .where('mailed_at', 'is', null)
    .orderBy('id')
    .limit(deps.batchSize ?? 100)
    .execute();
  if (rows.length === 0) return 0;
  await mailsForEvents(
    db,
    queue,
    rows.map((row) => ({ ...row, id: Number(row.id) })),
    clock.now(),
  );
  return rows.length;
}

/**
 * Sends the due mails once each; a refusal is retried with backoff, up to MAIL_MAX_ATTEMPTS tries. The batch is
 * claimed in one statement and the mails the server accepted are marked sent in one statement after the sends (a
 * refusal is marked as it happens). A worker that dies in between leaves its claims to run out: those mails are
 * failed, never sent again — the ones it had sent included (docs/api.md § Mail, at most once).
 */
export async function sendDueMails(
  deps: MailWorkerDeps,
  options: { abandonedClaims: boolean } = { abandonedClaims: true },
): Promise<{ sent: number; failed: number }> {
  const { db, clock, logger, transport } = deps;
  if (options.abandonedClaims) {
    const abandoned = await failAbandonedClaims(db, clock.now());
    if (abandoned > 0) logger.warn({ abandoned }, 'mails whose sending was interrupted: failed, not sent again');
  }
  // Kept, not sent: nothing can refuse the mail, so there is nothing to claim it against (one statement a batch).
  if (transport.kind === 'kept') return { sent: await keepDueMails(db, clock.now(), deps.batchSize ?? 20), failed: 0 };
  const claimed = await claimDueMails(db, clock.now(), MAIL_LEASE_MS, deps.batchSize ?? 20);
  const sent: string[] = [];
  let failed = 0;
  try {
    for (const mail of claimed) {
      try {
        await transport.send({
          from: deps.from,
          to: mail.to_address,
          subject: mail.subject,
          text: mail.text_body,
          html: mail.html_body,
        });
        sent.push(mail.id);
      } catch (error) {
        const text = error instanceof Error ? error.message : String(error);
        const last = mail.attempts >= MAIL_MAX_ATTEMPTS;
        const retryAt = last ? null : new Date(clock.now().getTime() + mailBackoffMs(mail.attempts));
        await markAttemptFailed(db, mail.id, text, retryAt);
        logger.warn({ mailId: mail.id, attempts: mail.attempts, err: error, final: last }, 'mail not accepted');
        failed += 1;
      }
    }
  } finally {
    // Also when marking a refusal threw: what the server accepted is recorded as sent.
    await markSentMany(db, sent, clock.now());
  }
  return { sent: sent.length, failed };
}

/** One tick of the worker's `mail` job: outbox rows to mails, then the due mails out. */
export async function mailOnce(deps: MailWorkerDeps): Promise<{ read: number; sent: number; failed: number }> {
  let read = 0;
  for (let batch = 0; batch < 10; batch += 1) {
    const n = await mailFromOutbox(deps);
    read += n;
    if (n < (deps.batchSize ?? 100)) break;
  }
  // Full batches go on at once (up to 10 a pass), so a burst of orders is mailed in seconds, not at one batch a pass.
  // Run-out claims (MAIL_LEASE_MS after they were taken) are looked for once a pass, not once a batch: one that runs
  // out meanwhile is found by the next pass, and the look walks every pending mail (issue 11: repeated per batch, it
  // was a fifth of the mail job's database time while a backlog drained).
  let sent = 0;
  let failed = 0;
  for (let batch = 0; batch < 10; batch += 1) {
    const done = await sendDueMails(deps, { abandonedClaims: batch === 0 });
    sent += done.sent;
    failed += done.failed;
    if (done.sent + done.failed < (deps.batchSize ?? 20)) break;
  }
  return { read, sent, failed };
}

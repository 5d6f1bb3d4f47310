import { sql, type QueryCreator, type Selectable } from 'kysely';
import type { Executor } from '../../db/database.ts';
import { markOutboxMailed } from '../../db/outbox.ts';
import { PARTIAL_INDEX } from '../../db/partial-index.ts';
import { keysetPage, type Page } from '../../db/keyset.ts';
import type { DB, MailsTable, MailStatusColumn } from '../../db/schema.ts';
import type { Cursor } from '../../shared/cursor.ts';
import { newId } from '../../shared/ids.ts';
import type { RenderedMail } from './templates.ts';

export type MailRow = Selectable<MailsTable>;

export interface NewMail extends RenderedMail {
  /** What the mail is about, e.g. `order.paid:ord_…`: a second mail for the same key is never made. */
  eventKey: string;
  userId: string | null;
  to: string;
}

/** Inserts the mail unless one exists for its event; true when this call made it. */
export async function insertMail(db: Executor, mail: NewMail, now: Date): Promise<boolean> {
  return (await insertMails(db, [mail], now)) === 1;
}

/**
 * Inserts the mails in one statement, each unless one exists for its event (`on conflict do nothing`). Two mails
 * with one key in the list: the first is kept, the others dropped before the insert. Returns how many were made;
 * an empty list sends nothing. With `outboxRead`, the same statement also marks those outbox rows read by the mail
 * pass (`mailed_at`, where it is still null): the mails and the mark are written together or not at all, and with no
 * mail to make the mark is sent alone.
 */
export async function insertMails(
  db: Executor,
  mails: readonly NewMail[],
  now: Date,
  outboxRead: readonly number[] = [],
): Promise<number> {
  const byKey = new Map<string, NewMail>();
  for (const mail of mails) if (!byKey.has(mail.eventKey)) byKey.set(mail.eventKey, mail);
  const mark = (qb: QueryCreator<DB>) => markOutboxMailed(qb, outboxRead, now);
  if (byKey.size === 0) {
    if (outboxRead.length > 0) await mark(db).execute();
    return 0;
  }
  const values = [...byKey.values()].map((mail) => ({
    id: newId('eml'),
    event_key: mail.eventKey,
    user_id: mail.userId,
    to_address: mail.to,
    subject: mail.subject,
    text_body: mail.text,
    html_body: mail.html,
    next_attempt_at: now,
    created_at: now,
  }));
  // A data-modifying CTE runs once, to completion, whether or not the insert reads it (PostgreSQL's WITH).
  const into = outboxRead.length === 0 ? db : db.with('outbox_read', mark);
  const rows = await into
    .insertInto('mails')
    .values(values)
    .onConflict((oc) => oc.column('event_key').doNothing())
    .returning('id')
    .execute();
  return rows.length;
}

/** Up to `limit` due pending mails no one holds, oldest due first, locked; rows another worker holds are skipped. */
function dueMails(db: Executor, now: Date, limit: number) {
  return db
    .selectFrom('mails')
    .select('id')
    .where('status', '=', PARTIAL_INDEX.pending)
    .where('locked_until', 'is', null)
    .where('next_attempt_at', '<=', now)
    .orderBy('next_attempt_at')
    .limit(limit)
    .forUpdate()
    .skipLocked();
}

/**
 * Claims up to `limit` due pending mails for one sending attempt: attempts + 1 and a lease. Rows another worker
 * holds are skipped (`skip locked`), so two workers never send one mail.
 */
export async function claimDueMails(db: Executor, now: Date, leaseMs: number, limit: number): Promise<MailRow[]> {
  return db
    .updateTable('mails')
    .set({ locked_until: new Date(now.getTime() + leaseMs), attempts: sql<number>`attempts + 1` })
    .where('id', 'in', dueMails(db, now, limit))
    .returningAll()
    .execute();
}

/**
 * Without a mail server (the kept transport) "sending" is keeping, which cannot fail: up to `limit` due pending mails
 * are marked sent (one attempt) in one statement, with no claim before and nothing read back (issue 11: claiming,
 * reading the bodies and marking them again cost two row versions per mail). Rows another worker holds are skipped.
 * Returns how many were marked.
 */
export async function keepDueMails(db: Executor, now: Date, limit: number): Promise<number> {
  const result = await db
    .updateTable('mails')
    .set({ status: 'sent', sent_at: now, attempts: sql<number>`attempts + 1`, locked_until: null, last_error: null })
    .where('id', 'in', dueMails(db, now, limit))
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** The mails the server accepted, in one statement (a batch's successes); nothing is sent for an empty list. */
export async function markSentMany(db: Executor, ids: readonly string[], now: Date): Promise<void> {
  if (ids.length === 0) return;
  await db
    .updateTable('mails')
    .set({ status: 'sent', sent_at: now, locked_until: null, last_error: null })
    .where('id', 'in', ids)
    .execute();
}

/** The server refused or could not be reached: tried again at `retryAt`, or failed for good when it is null. */
export async function markAttemptFailed(db: Executor, id: string, error: string, retryAt: Date | null): Promise<void> {
  await db
    .updateTable('mails')
    .set({
      status: retryAt === null ? 'failed' : 'pending',
      last_error: error.slice(0, 1000),
      locked_until: null,
      ...(retryAt === null ? {} : { next_attempt_at: retryAt }),
    })
    .where('id', '=', id)
    .execute();
}

/**
 * Claims whose lease ran out: the worker died while sending, and the server may have taken the mail. Not sent
 * again (at most once per event): failed, with the reason, for an admin to see.
 */
export async function failAbandonedClaims(db: Executor, now: Date): Promise<number> {
  const result = await db
    .updateTable('mails')
    .set({
      status: 'failed',
      locked_until: null,
      last_error: 'the worker stopped while sending: not sent again, as it may have arrived',
    })
    .where('status', '=', PARTIAL_INDEX.pending)
    .where('locked_until', '<', now)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

export interface MailFilter {
  to?: string | undefined;
  status?: MailStatusColumn | undefined;
  after?: Cursor | undefined;
  limit: number;
}

/** Newest first; `to` is compared in lower case. A page by keysetPage. */
export async function listMails(db: Executor, filter: MailFilter): Promise<Page<MailRow>> {
  let query = db.selectFrom('mails').selectAll();
  if (filter.to !== undefined) query = query.where((eb) => eb(eb.fn('lower', ['to_address']), '=', filter.to!));
  if (filter.status !== undefined) query = query.where('status', '=', filter.status);
  return keysetPage(query, { at: 'created_at', after: filter.after, limit: filter.limit });
}

/**
 * An account was deleted: its mails keep their record (event, status, dates) without the address or the text.
 * Mails not sent yet are failed: there is nobody to send them to.
 */
export async function eraseUserMails(db: Executor, userId: string): Promise<void> {
  await db
    .updateTable('mails')
    .set({
      to_address: '',
      subject: '[erased]',
      text_body: '',
      html_body: '',
      status: sql`case when status = 'pending' then 'failed' else status end`,
      last_error: sql`case when status = 'pending' then 'the account was deleted' else last_error end`,
      locked_until: null,
    })
    .where('user_id', '=', userId)
    .execute();
}

import type { Executor } from '../../db/database.ts';
import { eraseUserMails, insertMail, insertMails } from './mail.repository.ts';
import { renderMail, type Shop, type TemplateName } from './templates.ts';

export interface QueuedMail {
  /** What the mail is about; one mail per key, ever (e.g. `password_reset:<token id>`). */
  eventKey: string;
  userId: string | null;
  to: string;
  template: TemplateName;
  vars: Record<string, string>;
}

/**
 * Puts a rendered mail in the `mails` table, in the caller's transaction: the worker sends it after commit.
 * Nothing is sent inside a request. True when this call made the mail (false: one exists for the key).
 */
export interface MailQueue {
  enqueue(db: Executor, mail: QueuedMail, now: Date): Promise<boolean>;
  /**
   * Several mails in one insert (the outbox pass's batch), each unless one exists for its key; for one key given
   * twice, the first is kept. Returns how many this call made. An empty list sends no statement, unless
   * `outboxRead` names outbox rows to mark read by the mail pass in that same statement (insertMails).
   */
  enqueueMany(db: Executor, mails: readonly QueuedMail[], now: Date, outboxRead?: readonly number[]): Promise<number>;
  /** An account was deleted: its mails lose their address and text; pending ones are failed. */
  eraseUser(db: Executor, userId: string): Promise<void>;
}

export function createMailQueue(shop: Shop): MailQueue {
  return {
    enqueue(db, mail, now) {
      const rendered = renderMail(mail.template, mail.vars, shop);
      return insertMail(db, { ...rendered, eventKey: mail.eventKey, userId: mail.userId, to: mail.to }, now);
    },
    enqueueMany(db, mails, now, outboxRead) {
      const rendered = mails.map((mail) => ({
        ...renderMail(mail.template, mail.vars, shop),
        eventKey: mail.eventKey,
        userId: mail.userId,
        to: mail.to,
      }));
      return insertMails(db, rendered, now, outboxRead);
    },
    eraseUser: eraseUserMails,
  };
}

import { z } from 'zod';
import type { Db } from '../../db/database.ts';
import { actorOf } from '../../http/authenticate.ts';
import type { ModuleRoutes } from '../../http/routes.ts';
import { listQuery } from '../../http/validate.ts';
import { decodeCursor } from '../../shared/cursor.ts';
import { requirePermission } from '../../shared/permissions.ts';
import { listMails, type MailRow } from './mail.repository.ts';

const mailStatuses = ['pending', 'sent', 'failed'] as const;

export const listMailQuery = z.strictObject({
  ...listQuery,
  /** The recipient, compared in lower case. */
  to: z.string().trim().toLowerCase().min(1).max(254).optional(),
  status: z.enum(mailStatuses).optional(),
});

export const mailSchema = z.object({
  id: z.string(),
  to: z.string(),
  subject: z.string(),
  text: z.string(),
  html: z.string(),
  status: z.enum(mailStatuses),
  attempts: z.number().int(),
  lastError: z.string().nullable(),
  /** What the mail is about, one mail per key: `order.paid:<order id>`, `password_reset:<token id>`, … */
  eventId: z.string(),
  createdAt: z.string(),
  sentAt: z.string().nullable(),
});

export const mailList = z.object({ data: z.array(mailSchema), nextCursor: z.string().nullable() });

export function toMailResponse(row: MailRow): z.infer<typeof mailSchema> {
  return {
    id: row.id,
    to: row.to_address,
    subject: row.subject,
    text: row.text_body,
    html: row.html_body,
    status: row.status,
    attempts: row.attempts,
    lastError: row.last_error,
    eventId: row.event_key,
    createdAt: row.created_at.toISOString(),
    sentAt: row.sent_at?.toISOString() ?? null,
  };
}

/** GET /api/v1/admin/mail: every mail Fulcrum made, newest first (admin: mails carry reset links). */
export function mailRoutes({ route }: ModuleRoutes, db: Db): void {
  route(
    {
      method: 'get',
      path: '/',
      summary: 'Mails Fulcrum made, newest first, by recipient and status (admin)',
      tags: ['admin'],
      auth: true,
      query: listMailQuery,
      responses: { 200: { description: 'A page of mails', schema: mailList } },
    },
    async ({ query }, req, res) => {
      requirePermission(actorOf(req), 'read_mail');
      const page = await listMails(db, {
        to: query.to,
        status: query.status,
        after: query.cursor === undefined ? undefined : decodeCursor(query.cursor),
        limit: query.limit,
      });
      res.json({ data: page.rows.map(toMailResponse), nextCursor: page.nextCursor });
    },
  );
}

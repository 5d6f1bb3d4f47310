import type { Db } from '../../db/database.ts';
import type { Actor } from '../../shared/actor.ts';
import { decodeCursor } from '../../shared/cursor.ts';
import { AppError, notFound } from '../../shared/errors.ts';
import { requirePermission } from '../auth/index.ts';
import * as inbox from './inbox.repository.ts';
import { toWebhookEventResponse, type WebhookEventResponse } from './webhooks.schemas.ts';

/** GET /admin/webhook-events: the inbox, newest first; support and admin (`read_all`). */
export async function listWebhookEvents(
  db: Db,
  actor: Actor,
  query: { status?: inbox.InboxRow['status'] | undefined; cursor?: string | undefined; limit: number },
): Promise<{ data: WebhookEventResponse[]; nextCursor: string | null }> {
  requirePermission(actor, 'read_all');
  const page = await inbox.listInbox(db, {
    status: query.status,
    after: query.cursor === undefined ? undefined : decodeCursor(query.cursor),
    limit: query.limit,
  });
  return { data: page.rows.map(toWebhookEventResponse), nextCursor: page.nextCursor };
}

/**
 * POST /admin/webhook-events/:id/retry (`retry_webhook_events`, admin): a failed or dead row goes back
 * to pending with fresh attempts. Unknown: not_found; pending or processed: invalid_transition.
 */
export async function retryWebhookEvent(db: Db, actor: Actor, id: string, now: Date): Promise<WebhookEventResponse> {
  requirePermission(actor, 'retry_webhook_events');
  const row = await inbox.requeue(db, id, now);
  if (row !== undefined) return toWebhookEventResponse(row);
  const existing = await inbox.findInboxRow(db, id);
  if (existing === undefined) throw notFound('Webhook event');
  throw new AppError('conflict', 'invalid_transition', `A ${existing.status} event is not retried.`, {
    extra: { status: existing.status },
  });
}

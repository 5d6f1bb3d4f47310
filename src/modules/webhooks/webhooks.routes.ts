import { z } from 'zod';
import type { Database } from '../../db/database.ts';
import type { ModuleContext } from '../../http/module-context.ts';
import type { ModuleRoutes } from '../../http/routes.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Clock } from '../../shared/clock.ts';
import { actorOf } from '../../http/authenticate.ts';
import { listWebhookEvents, retryWebhookEvent } from './webhooks.service.ts';
import {
  listWebhookEventsQuery,
  webhookEventList,
  webhookEventParams,
  webhookEventSchema,
} from './webhooks.schemas.ts';

/** What the inbox admin routes need from the payments side: its worker, woken when a row is re-queued. */
export interface InboxWakeUp {
  /** Rows were stored or re-queued: process them now rather than at the next poll. */
  onStored(): void;
}

/** What the webhook routes need from the app. */
export type WebhooksContext = ModuleContext<{ database: Database; clock: Clock; logger: Logger }>;

const tags = ['webhooks'];

/**
 * GET /api/v1/admin/webhook-events and POST …/:id/retry. The intake route, POST /api/v1/webhooks/stripe, is the
 * payments module's (payments/stripe-webhook.routes.ts): it knows the provider's signatures and events.
 */
export function webhooksRoutes(ctx: WebhooksContext, intake: InboxWakeUp): void {
  adminWebhookRoutes(ctx.define('/api/v1/admin/webhook-events'), ctx.deps, intake);
}

/** The inbox as support sees it, and the admin's retry of a dead event. */
function adminWebhookRoutes(
  admin: ModuleRoutes,
  { database, clock }: WebhooksContext['deps'],
  intake: InboxWakeUp,
): void {
  const db = database.db;
  admin.route(
    {
      method: 'get',
      path: '/',
      summary: 'Webhook inbox, newest first, filtered by status (support and admin)',
      tags,
      auth: true,
      query: listWebhookEventsQuery,
      responses: { 200: { description: 'A page of inbox rows', schema: webhookEventList } },
    },
    async ({ query }, req, res) => {
      res.json(await listWebhookEvents(db, actorOf(req), query));
    },
  );
  admin.route(
    {
      method: 'post',
      path: '/:id/retry',
      summary: 'Process a failed or dead inbox row again, with fresh attempts (admin)',
      tags,
      auth: true,
      params: webhookEventParams,
      responses: {
        202: { description: 'Queued for the worker', schema: z.object({ event: webhookEventSchema }) },
        404: { description: 'not_found' },
        409: { description: 'invalid_transition: the row is pending or processed' },
      },
    },
    async ({ params }, req, res) => {
      const event = await retryWebhookEvent(db, actorOf(req), params.id, clock.now());
      intake.onStored();
      res.status(202).json({ event });
    },
  );
}

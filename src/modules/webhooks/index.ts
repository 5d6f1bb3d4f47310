import { webhooksRoutes, type WebhookIntake, type WebhooksContext } from './webhooks.routes.ts';

// The webhook inbox: storage, the worker that drains it, and the routes. Provider specifics (signatures,
// what an event means) come from the payments module through WebhookIntake and the worker's handler.
export { deleteProcessedBefore, insertInboxEvent, type InboxRow, type NewInboxEvent } from './inbox.repository.ts';
export {
  createInboxWorker,
  defaultBackoffMs,
  type HandledEvent,
  type InboxHandler,
  type InboxWorker,
  type InboxWorkerOptions,
} from './worker.ts';
export type { WebhookIntake } from './webhooks.routes.ts';
export {
  INBOX_CHANNEL,
  listenForInboxEvents,
  type InboxListener,
  type InboxListenerOptions,
} from './inbox-listener.ts';
export { releaseInboxLeases } from './inbox-leases.ts';
export { toWebhookEventResponse, type WebhookEventResponse } from './webhooks.schemas.ts';

/** Mounts POST /api/v1/webhooks/stripe (raw body) and /api/v1/admin/webhook-events. */
export function webhooksModule(ctx: WebhooksContext & { deps: { payments: { webhooks: WebhookIntake } } }): void {
  webhooksRoutes(ctx, ctx.deps.payments.webhooks);
}

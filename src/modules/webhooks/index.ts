import { webhooksRoutes, type InboxWakeUp, type WebhooksContext } from './webhooks.routes.ts';

// The webhook inbox: storage, the worker that drains it, and its admin routes. Provider specifics (signatures,
// what an event means) are the payments module's: it owns the intake route (POST /api/v1/webhooks/stripe),
// stores events with insertInboxEvent and gives the worker its handler.
export { deleteProcessedBefore, insertInboxEvent, type InboxRow, type NewInboxEvent } from './inbox.repository.ts';
export { createInboxIntake, type InboxIntake } from './inbox-intake.ts';
export {
  createInboxWorker,
  defaultBackoffMs,
  type HandledEvent,
  type InboxChunk,
  type InboxHandler,
  type InboxQuickHandler,
  type InboxWorker,
  type InboxWorkerOptions,
} from './worker.ts';
export type { InboxWakeUp } from './webhooks.routes.ts';
export {
  INBOX_CHANNEL,
  listenForInboxEvents,
  wakeInboxWorker,
  type InboxListener,
  type InboxListenerOptions,
} from './inbox-listener.ts';
export { releaseInboxLeases } from './inbox-leases.ts';
export { toWebhookEventResponse, type WebhookEventResponse } from './webhooks.schemas.ts';

/** Defines the routes under /api/v1/admin/webhook-events (the payments module defines the intake route). */
export function webhooksModule(ctx: WebhooksContext & { deps: { payments: { webhooks: InboxWakeUp } } }): void {
  webhooksRoutes(ctx, ctx.deps.payments.webhooks);
}

import { z } from 'zod';
import type { Database } from '../../db/database.ts';
import type { ModuleContext } from '../../http/module-context.ts';
import type { ModuleRoutes } from '../../http/routes.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Clock } from '../../shared/clock.ts';
import { actorOf } from '../../http/authenticate.ts';
import { findInputProblem } from '../../http/input-guard.ts';
import { AppError } from '../../shared/errors.ts';
import * as inbox from './inbox.repository.ts';
import { listWebhookEvents, retryWebhookEvent } from './webhooks.service.ts';
import {
  listWebhookEventsQuery,
  rawBody,
  WEBHOOK_MAX_DEPTH,
  webhookEventEnvelope,
  webhookEventList,
  webhookEventParams,
  webhookEventSchema,
} from './webhooks.schemas.ts';

/** What the webhook routes need from the payments side: signature checks and a worker to wake. */
export interface WebhookIntake {
  /** Verifies a delivery over its raw bytes; throws when the signature is missing, wrong or stale. */
  verify(provider: 'stripe', raw: Buffer, signature: string | undefined): { eventId: string; type: string };
  /** Rows were stored or re-queued: process them now rather than at the next poll. */
  onStored(): void;
}

/** What the webhook routes need from the app. */
export type WebhooksContext = ModuleContext<{ database: Database; clock: Clock; logger: Logger }>;

const tags = ['webhooks'];

function invalidEvent(logger: Logger, why: string): AppError {
  logger.warn({ why }, 'signed webhook that is not a well-formed event refused');
  return new AppError(
    'invalid',
    'invalid_event',
    'The body is signed but is not a well-formed event; nothing was stored.',
  );
}

/**
 * A signed body is still checked before it is stored (docs/api.md § Stripe webhooks): an event envelope (id,
 * type, created, data.object) whose strings `jsonb` can hold. Stripe never sends anything else, so this is a
 * sender with the secret and a bug: it gets a 4xx naming the problem, not a 500 that would be retried for days.
 */
function assertWellFormedEvent(body: Buffer, logger: Logger): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw invalidEvent(logger, 'signed body that is not JSON');
  }
  const problem = findInputProblem(parsed, 'body', WEBHOOK_MAX_DEPTH);
  if (problem !== undefined) throw invalidEvent(logger, `${problem.path} ${problem.message}`);
  const envelope = webhookEventEnvelope.safeParse(parsed);
  if (!envelope.success) throw invalidEvent(logger, envelope.error.issues[0]?.message ?? 'not an event');
}

export function webhooksRoutes(ctx: WebhooksContext, intake: WebhookIntake): void {
  const { database, clock, logger } = ctx.deps;
  const db = database.db;

  ctx.define('/api/v1/webhooks', { rawBody: true }).route(
    {
      method: 'post',
      path: '/stripe',
      summary: 'Stripe webhook: signature checked over the raw body, then the event is stored for the worker',
      tags,
      auth: false,
      body: rawBody,
      responses: {
        200: { description: 'Stored (or already stored)', schema: z.object({ received: z.literal(true) }) },
        400: {
          description:
            'invalid_signature: missing, wrong or older than 300 s; invalid_event: signed but not a well-formed event. Nothing stored',
        },
        500: { description: 'Not stored (database unavailable): the gateway retries' },
      },
    },
    async ({ body }, req, res) => {
      let event: { eventId: string; type: string };
      try {
        event = intake.verify('stripe', body, req.get('Stripe-Signature'));
      } catch (error) {
        // Past the signature the SDK parses the body: a SyntaxError is signed bytes that are not JSON, a TypeError
        // signed JSON that is not an object (`null`).
        if (error instanceof SyntaxError || error instanceof TypeError) {
          throw invalidEvent(logger, 'signed body that is not a JSON object');
        }
        logger.warn({ err: error }, 'webhook with a bad signature refused');
        throw new AppError('invalid', 'invalid_signature', 'The Stripe-Signature header does not verify this body.');
      }
      assertWellFormedEvent(body, logger);
      // Stored before the 2xx: a database failure throws here and the gateway gets a 5xx, so it retries.
      const isNew = await inbox.insertInboxEvent(
        db,
        { provider: 'stripe', eventId: event.eventId, type: event.type, payload: body.toString('utf8') },
        clock.now(),
      );
      if (isNew) intake.onStored();
      res.json({ received: true });
    },
  );

  adminWebhookRoutes(ctx.define('/api/v1/admin/webhook-events'), ctx.deps, intake);
}

/** The inbox as support sees it, and the admin's retry of a dead event. */
function adminWebhookRoutes(
  admin: ModuleRoutes,
  { database, clock }: WebhooksContext['deps'],
  intake: WebhookIntake,
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

import { z } from 'zod';
import type { Database } from '../../db/database.ts';
import type { ModuleContext } from '../../http/module-context.ts';
import { findInputProblem } from '../../http/input-guard.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Clock } from '../../shared/clock.ts';
import { AppError } from '../../shared/errors.ts';
import { createInboxIntake } from '../webhooks/index.ts';
import type { VerifiedWebhook } from './providers/types.ts';

/** How the webhook route reaches the providers and the inbox worker (the payments runtime's `webhooks`). */
export interface WebhookIntake {
  /** Verifies a delivery over its raw bytes; throws when the signature is missing, wrong or stale. */
  verify(provider: 'stripe', raw: Buffer, signature: string | undefined): VerifiedWebhook;
  /**
   * The outcome of a verified event that changes nothing whatever the database holds (the provider does not act on
   * its type): it is stored already processed. Undefined when the worker must apply it.
   */
  outcomeAtIntake(provider: 'stripe', event: unknown): string | undefined;
  /** Rows were stored or re-queued: process them now rather than at the next poll. */
  onStored(): void;
}

/** The exact bytes, whatever their type: the signature is checked over them, not over parsed JSON. */
const rawBody = z.unknown().transform((v) => (Buffer.isBuffer(v) ? v : Buffer.alloc(0)));

/**
 * What a signed delivery must be for the inbox to take it (docs/api.md § Stripe webhooks): a Stripe event
 * envelope with an id and a type the inbox can key on and a `data.object` member. Other fields are kept as
 * they come. Anything else — valid JSON that is not an event, a string with NUL or a lone surrogate, which
 * `jsonb` refuses — is `400 invalid_event` and stored nowhere.
 */
const webhookEventEnvelope = z.object({
  id: z.string().regex(/^[A-Za-z0-9_]{1,255}$/, 'must be an event id'),
  object: z.literal('event'),
  type: z.string().regex(/^[a-z0-9_]+(\.[a-z0-9_]+){1,5}$/, 'must be an event type'),
  created: z.number().int().min(0),
  // `object` must be there; what it holds is the worker's to judge (a row it cannot apply fails and retries).
  data: z.looseObject({}).refine((d) => 'object' in d, 'must have an object member'),
});

/** Stripe events nest a dozen levels at most; deeper than this is not an event. */
const WEBHOOK_MAX_DEPTH = 64;

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
 * `parsed` is the body as the signature's verification parsed it (JSON.parse of its UTF-8 text).
 */
function assertWellFormedEvent(parsed: unknown, logger: Logger): void {
  const problem = findInputProblem(parsed, 'body', WEBHOOK_MAX_DEPTH);
  if (problem !== undefined) throw invalidEvent(logger, `${problem.path} ${problem.message}`);
  const envelope = webhookEventEnvelope.safeParse(parsed);
  if (!envelope.success) throw invalidEvent(logger, envelope.error.issues[0]?.message ?? 'not an event');
}

/**
 * POST /api/v1/webhooks/stripe, mounted before any JSON parsing so it sees the exact bytes: the signature is
 * checked, the event stored in the webhook inbox (createInboxIntake, a duplicate changes nothing), the inbox worker
 * woken, and the answer is 200. An event of a type the provider does not act on is stored already processed. Nothing else happens in the request: the worker applies the event
 * (gateway-event.ts, handleGatewayEvent).
 */
export function stripeWebhookRoutes(
  ctx: ModuleContext<{ database: Database; clock: Clock; logger: Logger }>,
  intake: WebhookIntake,
): void {
  const { database, clock, logger } = ctx.deps;
  // Deliveries arriving together are stored by one statement (inbox-intake.ts); each answer still waits for its row.
  const inbox = createInboxIntake(database.db);
  ctx.define('/api/v1/webhooks', { rawBody: true }).route(
    {
      method: 'post',
      path: '/stripe',
      summary: 'Stripe webhook: signature checked over the raw body, then the event is stored for the worker',
      tags: ['webhooks'],
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
      let event: VerifiedWebhook;
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
      // The SDK decodes the bytes without a leading byte-order mark, so a mark before a signed event verifies and
      // parses; the bytes as they came, which are stored, are not JSON (and jsonb refuses them): refused as before.
      if (body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf) {
        throw invalidEvent(logger, 'signed body that starts with a byte-order mark');
      }
      assertWellFormedEvent(event.event, logger);
      // Stored before the 2xx: a database failure throws here and the gateway gets a 5xx, so it retries. An event
      // that changes nothing (payment_intent.created, charge.succeeded, …) is stored processed: the worker skips it.
      const isNew = await inbox.store(
        {
          provider: 'stripe',
          eventId: event.eventId,
          type: event.type,
          payload: body.toString('utf8'),
          processedOutcome: intake.outcomeAtIntake('stripe', event.event),
        },
        clock.now(),
      );
      if (isNew) intake.onStored();
      res.json({ received: true });
    },
  );
}

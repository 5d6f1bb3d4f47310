import { z } from 'zod';
import type { InboxStatusColumn } from '../../db/schema.ts';
import { listQuery } from '../../http/validate.ts';
import type { InboxRow } from './inbox.repository.ts';

export const inboxStatuses = ['pending', 'processed', 'failed', 'dead'] as const satisfies readonly InboxStatusColumn[];

/** The exact bytes, whatever their type: the signature is checked over them, not over parsed JSON. */
export const rawBody = z.unknown().transform((v) => (Buffer.isBuffer(v) ? v : Buffer.alloc(0)));

/**
 * What a signed delivery must be for the inbox to take it (docs/api.md § Stripe webhooks): a Stripe event
 * envelope with an id and a type the inbox can key on and a `data.object` member. Other fields are kept as
 * they come. Anything else — valid JSON that is not an event, a string with NUL or a lone surrogate, which
 * `jsonb` refuses — is `400 invalid_event` and stored nowhere.
 */
export const webhookEventEnvelope = z.object({
  id: z.string().regex(/^[A-Za-z0-9_]{1,255}$/, 'must be an event id'),
  object: z.literal('event'),
  type: z.string().regex(/^[a-z0-9_]+(\.[a-z0-9_]+){1,5}$/, 'must be an event type'),
  created: z.number().int().min(0),
  // `object` must be there; what it holds is the worker's to judge (a row it cannot apply fails and retries).
  data: z.looseObject({}).refine((d) => 'object' in d, 'must have an object member'),
});

/** Stripe events nest a dozen levels at most; deeper than this is not an event. */
export const WEBHOOK_MAX_DEPTH = 64;

export const listWebhookEventsQuery = z.strictObject({ ...listQuery, status: z.enum(inboxStatuses).optional() });
export const webhookEventParams = z.strictObject({ id: z.string().min(1).max(64) });

export const webhookEventSchema = z.object({
  id: z.string(),
  provider: z.string(),
  eventId: z.string(),
  type: z.string(),
  status: z.enum(inboxStatuses),
  attempts: z.number().int(),
  lastError: z.string().nullable(),
  /** Extension: what processing decided (e.g. `PENDING -> SUCCEEDED; order CREATED -> PAID`, `ignored: …`). */
  outcome: z.string().nullable(),
  receivedAt: z.string(),
  processedAt: z.string().nullable(),
});
export type WebhookEventResponse = z.infer<typeof webhookEventSchema>;

export const webhookEventList = z.object({ data: z.array(webhookEventSchema), nextCursor: z.string().nullable() });

export function toWebhookEventResponse(row: InboxRow): WebhookEventResponse {
  return {
    id: row.id,
    provider: row.provider,
    eventId: row.event_id,
    type: row.type,
    status: row.status,
    attempts: row.attempts,
    lastError: row.last_error,
    outcome: row.outcome,
    receivedAt: row.received_at.toISOString(),
    processedAt: row.processed_at === null ? null : row.processed_at.toISOString(),
  };
}

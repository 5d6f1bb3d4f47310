import { z } from 'zod';
import type { InboxStatusColumn } from '../../db/schema.ts';
import { listQuery } from '../../http/validate.ts';
import type { InboxRow } from './inbox.repository.ts';

export const inboxStatuses = ['pending', 'processed', 'failed', 'dead'] as const satisfies readonly InboxStatusColumn[];

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

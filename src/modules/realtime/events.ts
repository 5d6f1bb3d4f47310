import { z } from 'zod';

/** `order.updated` as docs/api.md's Socket.IO section sends it. */
export interface OrderUpdatedEvent {
  eventId: number;
  orderId: string;
  status: string;
  paymentStatus: string | null;
  at: string;
}

/** `payment.updated`: `PENDING` means processing. */
export interface PaymentUpdatedEvent {
  eventId: number;
  paymentId: string;
  orderId: string;
  status: string;
  at: string;
}

/**
 * One outbox message on its way to sockets: what the relay sends between nodes and what replay reads.
 * `data` is exactly what the client receives; `userId` says whose it is and never leaves the server.
 */
export type RealtimeEvent =
  | { userId: string; eventId: number; type: 'order.updated'; orderId: string; data: OrderUpdatedEvent }
  | { userId: string; eventId: number; type: 'payment.updated'; orderId: string; data: PaymentUpdatedEvent };

export type RealtimeEventType = RealtimeEvent['type'];

/**
 * The staff feed (support, admin; the `/staff` namespace): every order.updated and payment.updated of every user,
 * numbered in one sequence of its own (outbox.staff_seq). Its stream in the hub and its counter row in
 * user_event_counters go by this name, which no user id can be (those are `usr_…`).
 */
export const STAFF_FEED = 'staff:feed';

/** The staff feed's copy of an event: the same message with the feed's number as its eventId. */
export function staffCopy(event: RealtimeEvent, seq: number): RealtimeEvent {
  return { ...event, userId: STAFF_FEED, eventId: seq, data: { ...event.data, eventId: seq } } as RealtimeEvent;
}

/** The node-to-node message (a server-side emit through the Redis adapter) carrying relayed events. */
export const RELAYED = 'fulcrum:outbox';

/** An outbox row as the relay and replay read it. */
export interface OutboxRow {
  id: number;
  user_id: string;
  event_id: number;
  type: RealtimeEventType;
  payload: unknown;
}

const at = z.union([z.string(), z.date().transform((d) => d.toISOString())]);
const orderPayload = z.object({
  orderId: z.string(),
  status: z.string(),
  paymentStatus: z.string().nullable().default(null),
  at,
});
const paymentPayload = z.object({ paymentId: z.string(), orderId: z.string(), status: z.string(), at });

/**
 * Maps a row to the message clients get, naming each field (a row is never sent as it is).
 * Null for a payload of the wrong shape: the caller logs it and moves past it, so one bad row never blocks a user.
 */
export function toRealtimeEvent(row: OutboxRow): RealtimeEvent | null {
  const eventId = Number(row.event_id);
  switch (row.type) {
    case 'order.updated': {
      const parsed = orderPayload.safeParse(row.payload);
      if (!parsed.success) return null;
      const { orderId, status, paymentStatus } = parsed.data;
      const data = { eventId, orderId, status, paymentStatus, at: parsed.data.at };
      return { userId: row.user_id, eventId, type: row.type, orderId, data };
    }
    case 'payment.updated': {
      const parsed = paymentPayload.safeParse(row.payload);
      if (!parsed.success) return null;
      const { paymentId, orderId, status } = parsed.data;
      const data = { eventId, paymentId, orderId, status, at: parsed.data.at };
      return { userId: row.user_id, eventId, type: row.type, orderId, data };
    }
  }
}

const orderData = z.object({
  eventId: z.number(),
  orderId: z.string(),
  status: z.string(),
  paymentStatus: z.string().nullable(),
  at: z.string(),
});
const paymentData = z.object({
  eventId: z.number(),
  paymentId: z.string(),
  orderId: z.string(),
  status: z.string(),
  at: z.string(),
});
const relayed = z.discriminatedUnion('type', [
  z.object({
    userId: z.string(),
    eventId: z.number(),
    type: z.literal('order.updated'),
    orderId: z.string(),
    data: orderData,
  }),
  z.object({
    userId: z.string(),
    eventId: z.number(),
    type: z.literal('payment.updated'),
    orderId: z.string(),
    data: paymentData,
  }),
]);

/** Events as another node sent them through Redis: checked before they reach a socket. */
export const relayedEventsSchema = z.array(relayed).max(10_000);

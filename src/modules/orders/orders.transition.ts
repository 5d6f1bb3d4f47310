import type { Updateable } from 'kysely';
import type { Executor } from '../../db/database.ts';
import { appendOutbox } from '../../db/outbox.ts';
import type { OrdersTable } from '../../db/schema.ts';
import type { Actor } from '../../shared/actor.ts';
import { conflict, forbidden, notFound, type AppError } from '../../shared/errors.ts';
import { can, type Permission } from '../auth/index.ts';
import { restock } from '../catalog/index.ts';
import type { VersionCondition } from '../../http/if-match.ts';
import type { OrderRow } from './orders.mapper.ts';
import * as repo from './orders.repository.ts';
import { checkOrderVersion } from './orders.version.ts';
import { transition, type OrderStatus, type Party, type TransitionRefusal } from './order-status.ts';

/** A person (from a token) or a part of the system, e.g. `{ system: 'expiry' }`, `{ system: 'payments' }`. */
export type OrderActor = Actor | { system: string };

export interface TransitionOptions {
  actor: OrderActor;
  at: Date;
  reason?: string | null;
  /** Required to ship. */
  shipment?: { carrier: string; trackingNumber: string };
  /** The order's payment status for the realtime message; null until a payment exists. */
  paymentStatus?: string | null;
  /** Event type in the audit trail; defaults to `order.<status>` (e.g. the expiry job says `order.expired`). */
  eventType?: string;
  /** The client's If-Match: checked against the locked row; another version is StaleOrderError (412), nothing done. */
  ifMatch?: VersionCondition;
}

export const eventTypes: Record<OrderStatus, string> = {
  CREATED: 'order.created',
  PAID: 'order.paid',
  SHIPPED: 'order.shipped',
  DELIVERED: 'order.delivered',
  CANCELLED: 'order.cancelled',
};

export function actorLabel(actor: OrderActor): string {
  return 'system' in actor ? `system:${actor.system}` : actor.id;
}

/**
 * The permission that makes a person the `admin` party of a move to this status (docs/api.md's table:
 * ship, deliver, cancel a paid order); moves without one (PAID) are the system's alone.
 */
const adminMovePermissions: Partial<Record<OrderStatus, Permission>> = {
  SHIPPED: 'ship',
  DELIVERED: 'deliver',
  CANCELLED: 'cancel_paid_order',
};

/**
 * The actor's relation to the order for a move to `to`, or null when the actor may not even see it:
 * decided through the permission table, never by role name.
 */
export function partyOf(actor: OrderActor, order: { user_id: string }, to: OrderStatus): Party | null {
  if ('system' in actor) return 'system';
  const permission = adminMovePermissions[to];
  if (permission !== undefined && can(actor, permission)) return 'admin';
  if (actor.id === order.user_id) return 'owner';
  return can(actor, 'read_all') ? 'support' : null;
}

export function refusalError(error: TransitionRefusal, from: OrderStatus, to: OrderStatus): AppError {
  return error === 'forbidden'
    ? forbidden(`You may not move an order from ${from} to ${to}.`)
    : conflict('invalid_transition', `An order in status ${from} cannot become ${to}.`, { status: from });
}

/**
 * Moves an order along the state machine inside the caller's transaction — the one way any module
 * changes an order's status (payments marks orders PAID with it, inside its own transaction):
 * lock the row, check the client's If-Match, decide with the pure transition(), guarded UPDATE … WHERE
 * status = $from AND version = $read, release the
 * stock when it becomes CANCELLED, append the order event and the outbox message.
 *
 * Throws AppError: not_found (unknown, or not visible to the actor), forbidden, conflict invalid_transition.
 */
export async function transitionOrder(
  trx: Executor,
  orderId: string,
  to: OrderStatus,
  options: TransitionOptions,
): Promise<OrderRow> {
  const current = await repo.lockOrder(trx, orderId);
  const party = current === undefined ? null : partyOf(options.actor, current, to);
  if (current === undefined || party === null) throw notFound('Order');
  checkOrderVersion(options.ifMatch, current);
  const decision = transition(current, to, party);
  if (!decision.ok) throw refusalError(decision.error, current.status, to);

  const { at } = options;
  const values: Updateable<OrdersTable> & { status: OrderStatus } = { status: to, updated_at: at };
  switch (to) {
    case 'PAID':
      values.paid_at = at;
      break;
    case 'SHIPPED':
      if (options.shipment === undefined) throw new Error('shipping needs a carrier and tracking number');
      values.shipped_at = at;
      values.carrier = options.shipment.carrier;
      values.tracking_number = options.shipment.trackingNumber;
      break;
    case 'DELIVERED':
      values.delivered_at = at;
      break;
    case 'CANCELLED':
      values.cancelled_at = at;
      values.cancellation_reason = options.reason ?? null;
      break;
    case 'CREATED':
      break;
  }
  const updated = await repo.updateOrderStatus(trx, orderId, decision.from, values, current.version);
  if (updated === undefined) {
    throw conflict('invalid_transition', 'The order changed while this request ran; reload it and retry.');
  }
  if (to === 'CANCELLED') await releaseStock(trx, orderId, at);
  await repo.appendOrderEvent(trx, {
    orderId,
    type: options.eventType ?? eventTypes[to],
    from: decision.from,
    to,
    actor: actorLabel(options.actor),
    reason: options.reason ?? null,
    at,
  });
  await appendOutbox(trx, {
    userId: updated.user_id,
    type: 'order.updated',
    payload: { orderId, status: to, paymentStatus: options.paymentStatus ?? null, at: at.toISOString() },
  });
  return updated;
}

/**
 * Gives an order's reserved units back to the catalog, at most once per order whoever calls it
 * (transitionOrder already does when an order becomes CANCELLED). Returns false when already released.
 */
export async function releaseStock(trx: Executor, orderId: string, at: Date = new Date()): Promise<boolean> {
  if (!(await repo.markStockReleased(trx, orderId, at))) return false;
  await restock(trx, await repo.reservedLines(trx, orderId));
  return true;
}

import type { Db, Executor, Tx } from '../../db/database.ts';
import { inTransaction, type AfterCommit } from '../../db/transaction.ts';
import type { VersionCondition } from '../../http/if-match.ts';
import type { Actor } from '../../shared/actor.ts';
import type { Clock } from '../../shared/clock.ts';
import { decodeCursor } from '../../shared/cursor.ts';
import { conflict, forbidden, invalid, notFound } from '../../shared/errors.ts';
import { can, requirePermission } from '../auth/index.ts';
import { toOrderEventResponse, toOrderResponse, type OrderRow, type PaymentSummary } from './orders.mapper.ts';
import * as repo from './orders.repository.ts';
import type { ListOrdersQuery, OrderEventResponse, OrderResponse } from './orders.schemas.ts';
import { partyOf, refusalError, transitionOrder } from './orders.transition.ts';
import { checkOrderVersion } from './orders.version.ts';
import { transition } from './order-status.ts';

/**
 * Where the payments module plugs into orders. Each is optional; while absent, orders behave as
 * they would in a shop without payments (an admin cancelling a PAID order gets 409 invalid_transition).
 */
export interface OrderHooks {
  /**
   * Called inside the cancel transaction, after the order became CANCELLED, when an admin cancels a PAID
   * order: refund in full (record the refund; call the gateway after commit). Absent: such cancels are refused.
   * Registers with `after` the work to run once the transaction has committed (the gateway call).
   */
  onPaidOrderCancelled?: (
    trx: Tx,
    input: { order: OrderRow; actor: Actor; reason: string | null },
    after: AfterCommit,
  ) => Promise<void>;
  /**
   * Asked by expiry, outside any transaction, before an unpaid order is cancelled: payments closes the
   * order's open checkout at the gateway, or learns it was paid ('keep'). Absent: expiry just cancels.
   */
  beforeExpire?: (orderId: string) => Promise<'cancel' | 'keep'>;
  /**
   * Called inside the cancel transaction (customer, admin, or expiry), after an unpaid (CREATED) order became
   * CANCELLED: payments gives up a payment left waiting for an admin and refunds its money. Registers with
   * `after` the work to run once the transaction has committed (the gateway call). `actor` is the audit label
   * (a user id, `system:expiry`).
   */
  onUnpaidOrderCancelled?: (
    trx: Executor,
    input: { orderId: string; actor: string; reason: string | null },
    after: AfterCommit,
  ) => Promise<void>;
  /** The current payment of each order, for the `payment` field of responses. Absent: `payment` is null. */
  loadPayments?: (db: Executor, orderIds: readonly string[]) => Promise<ReadonlyMap<string, PaymentSummary>>;
  /** The order's payment status for realtime messages sent by orders' own transitions. Absent: null. */
  paymentStatusOf?: (trx: Executor, orderId: string) => Promise<string | null>;
}

export interface OrdersDeps {
  db: Db;
  clock: Clock;
  orderTtlSeconds: number;
  hooks: OrderHooks;
}

export interface OrderPage {
  data: OrderResponse[];
  nextCursor: string | null;
}

/** Owners see their orders, `read_all` (support, admin) sees all; anyone else is told it does not exist. */
export function canSeeOrder(actor: Actor, order: { user_id: string }): boolean {
  return order.user_id === actor.id || can(actor, 'read_all');
}

/** Loads an order the actor may see, or not_found (for another customer's order too). */
export async function findVisibleOrder(db: Executor, actor: Actor, orderId: string): Promise<OrderRow> {
  const order = await repo.findOrder(db, orderId);
  if (order === undefined || !canSeeOrder(actor, order)) throw notFound('Order');
  return order;
}

async function present(deps: OrdersDeps, orders: readonly OrderRow[]): Promise<OrderResponse[]> {
  const ids = orders.map((o) => o.id);
  const [items, payments, customers] = await Promise.all([
    repo.itemsOf(deps.db, ids),
    deps.hooks.loadPayments?.(deps.db, ids) ?? Promise.resolve(undefined),
    repo.customersOf(
      deps.db,
      orders.map((o) => o.user_id),
    ),
  ]);
  const itemsByOrder = Map.groupBy(items, (i) => i.order_id);
  return orders.map((o) =>
    toOrderResponse(o, itemsByOrder.get(o.id) ?? [], payments?.get(o.id) ?? null, customers.get(o.user_id) ?? null),
  );
}

export async function getOrder(deps: OrdersDeps, actor: Actor, orderId: string): Promise<OrderResponse> {
  const [order] = await present(deps, [await findVisibleOrder(deps.db, actor, orderId)]);
  return order!;
}

/**
 * Customers list their own orders (a userId or email other than theirs is 403); staff list everyone's, filtered
 * by owner (id or e-mail), status and a range of creation times.
 */
export async function listOrders(deps: OrdersDeps, actor: Actor, query: ListOrdersQuery): Promise<OrderPage> {
  checkListQuery(query);
  let userId = query.userId;
  if (query.email !== undefined) {
    userId = await repo.userIdByEmail(deps.db, query.email);
    if (userId === undefined && can(actor, 'read_all')) return { data: [], nextCursor: null };
  }
  if (!can(actor, 'read_all')) {
    if (userId !== undefined && userId !== actor.id) throw forbidden('You may list only your own orders.');
    if (query.email !== undefined && userId === undefined) throw forbidden('You may list only your own orders.');
    userId = actor.id;
  }
  const page = await repo.listOrders(deps.db, {
    userId,
    status: query.status,
    createdFrom: query.createdFrom,
    createdTo: query.createdTo,
    after: query.cursor === undefined ? undefined : decodeCursor(query.cursor),
    limit: query.limit,
  });
  return { data: await present(deps, page.rows), nextCursor: page.nextCursor };
}

/** What the schema cannot say alone: one owner filter at a time, and a range that is not empty. */
function checkListQuery(query: ListOrdersQuery): void {
  if (query.email !== undefined && query.userId !== undefined) {
    throw invalid([{ path: 'query.email', message: 'give userId or email, not both' }]);
  }
  if (query.createdFrom !== undefined && query.createdTo !== undefined && query.createdFrom >= query.createdTo) {
    throw invalid([{ path: 'query.createdTo', message: 'must be after createdFrom' }]);
  }
}

export async function listOrderEvents(
  deps: OrdersDeps,
  actor: Actor,
  orderId: string,
): Promise<{ data: OrderEventResponse[] }> {
  await findVisibleOrder(deps.db, actor, orderId);
  const events = await repo.eventsOf(deps.db, orderId);
  return { data: events.map(toOrderEventResponse) };
}

/** Owner or admin cancels a CREATED order; an admin a PAID one through the refund hook. Stock goes back. */
export async function cancelOrder(
  deps: OrdersDeps,
  actor: Actor,
  orderId: string,
  reason: string | null,
  ifMatch?: VersionCondition,
): Promise<OrderResponse> {
  const at = deps.clock.now();
  const { onPaidOrderCancelled } = deps.hooks;
  let followedUp = false; // work registered to run after the commit (a refund) changes the order's `refunded`
  const order = await inTransaction(deps.db, async (trx, after) => {
    const current = await repo.lockOrder(trx, orderId);
    const party = current === undefined ? null : partyOf(actor, current, 'CANCELLED');
    if (current === undefined || party === null) throw notFound('Order');
    checkOrderVersion(ifMatch, current);
    const wasPaid = current.status === 'PAID';
    if (wasPaid) {
      const decision = transition(current, 'CANCELLED', party);
      if (!decision.ok) throw refusalError(decision.error, current.status, 'CANCELLED');
      if (onPaidOrderCancelled === undefined) {
        // Seam for the payments module: a paid order is cancelled only together with its refund.
        throw conflict('invalid_transition', 'A paid order cannot be cancelled until refunds are available.', {
          status: current.status,
        });
      }
    }
    const updated = await transitionOrder(trx, orderId, 'CANCELLED', {
      actor,
      at,
      reason,
      paymentStatus: (await deps.hooks.paymentStatusOf?.(trx, orderId)) ?? null,
      ifMatch,
    });
    const followUp: AfterCommit = (job, log) => {
      followedUp = true;
      after(job, log);
    };
    if (wasPaid) await onPaidOrderCancelled!(trx, { order: updated, actor, reason }, followUp);
    else await deps.hooks.onUnpaidOrderCancelled?.(trx, { orderId, actor: actor.id, reason }, followUp);
    return updated;
  });
  // Resolved once the work registered after the commit has run: the refund moved `refunded`.
  const current = followedUp ? ((await repo.findOrder(deps.db, orderId)) ?? order) : order;
  const [response] = await present(deps, [current]);
  return response!;
}

async function adminTransition(
  deps: OrdersDeps,
  actor: Actor,
  orderId: string,
  to: 'SHIPPED' | 'DELIVERED',
  shipment: { carrier: string; trackingNumber: string } | undefined,
  ifMatch: VersionCondition,
): Promise<OrderResponse> {
  requirePermission(actor, to === 'SHIPPED' ? 'ship' : 'deliver', 'Only admins may ship and deliver orders.');
  const at = deps.clock.now();
  const order = await deps.db.transaction().execute(async (trx) =>
    transitionOrder(trx, orderId, to, {
      actor,
      at,
      ...(shipment === undefined ? {} : { shipment }),
      ifMatch,
      paymentStatus: (await deps.hooks.paymentStatusOf?.(trx, orderId)) ?? null,
    }),
  );
  const [response] = await present(deps, [order]);
  return response!;
}

/** PAID → SHIPPED (admin). */
export function shipOrder(
  deps: OrdersDeps,
  actor: Actor,
  orderId: string,
  shipment: { carrier: string; trackingNumber: string },
  ifMatch?: VersionCondition,
): Promise<OrderResponse> {
  return adminTransition(deps, actor, orderId, 'SHIPPED', shipment, ifMatch);
}

/** SHIPPED → DELIVERED (admin). */
export function deliverOrder(
  deps: OrdersDeps,
  actor: Actor,
  orderId: string,
  ifMatch?: VersionCondition,
): Promise<OrderResponse> {
  return adminTransition(deps, actor, orderId, 'DELIVERED', undefined, ifMatch);
}

/**
 * The order as GET /orders/:id shows it, for the body of a 412 (the caller already passed the visibility
 * check, inside the transaction that failed).
 */
export function presentOrderById(deps: OrdersDeps, orderId: string): Promise<OrderResponse> {
  return loadOrderResponse(deps.db, orderId, deps.hooks.loadPayments);
}

/** One order as GET /orders/:id shows it, without a visibility check (callers made theirs). */
export async function loadOrderResponse(
  db: Db,
  orderId: string,
  loadPayments?: OrderHooks['loadPayments'],
): Promise<OrderResponse> {
  const order = await repo.findOrder(db, orderId);
  if (order === undefined) throw notFound('Order');
  const [items, payments, customers] = await Promise.all([
    repo.itemsOf(db, [orderId]),
    loadPayments?.(db, [orderId]),
    repo.customersOf(db, [order.user_id]),
  ]);
  return toOrderResponse(order, items, payments?.get(orderId) ?? null, customers.get(order.user_id) ?? null);
}

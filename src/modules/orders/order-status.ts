// The order lifecycle as data (docs/api.md § Order statuses). Pure: no I/O, no clock.

export const orderStatuses = ['CREATED', 'PAID', 'SHIPPED', 'DELIVERED', 'CANCELLED'] as const;
export type OrderStatus = (typeof orderStatuses)[number];

export const orderTransitions = {
  CREATED: ['PAID', 'CANCELLED'],
  PAID: ['SHIPPED', 'CANCELLED'],
  SHIPPED: ['DELIVERED'],
  DELIVERED: [],
  CANCELLED: [],
} as const satisfies Record<OrderStatus, readonly OrderStatus[]>;

/** Who asks, seen from the order: its owner, staff, or the system (payments, the expiry job). */
export type Party = 'owner' | 'support' | 'admin' | 'system';
export const parties: readonly Party[] = ['owner', 'support', 'admin', 'system'];

/**
 * Who may make each move; the type allows only moves the table has. Paying is the system's (a verified
 * gateway event); the owner may cancel an unpaid order; an admin cancels paid ones (with a full refund),
 * ships and delivers. Support reads only.
 */
export const transitionPermissions: {
  [F in OrderStatus]: { [T in (typeof orderTransitions)[F][number]]: readonly Party[] };
} = {
  CREATED: { PAID: ['system'], CANCELLED: ['owner', 'admin', 'system'] },
  PAID: { SHIPPED: ['admin'], CANCELLED: ['admin'] },
  SHIPPED: { DELIVERED: ['admin', 'system'] },
  DELIVERED: {},
  CANCELLED: {},
};

export type TransitionRefusal = 'invalid_transition' | 'forbidden';

export type TransitionResult<O> = { ok: true; from: OrderStatus; order: O } | { ok: false; error: TransitionRefusal };

export function isOrderStatus(value: string): value is OrderStatus {
  return (orderStatuses as readonly string[]).includes(value);
}

export function allowedTargets(from: OrderStatus): readonly OrderStatus[] {
  return orderTransitions[from];
}

/** The parties allowed to move an order from `from` to `to`; empty when the table has no such move. */
export function partiesFor(from: OrderStatus, to: OrderStatus): readonly Party[] {
  const row = transitionPermissions[from] as Partial<Record<OrderStatus, readonly Party[]>>;
  return row[to] ?? [];
}

/** True when `party` may reach `to` from some state: refusing it here is about the state, not about who asks. */
function mayEverReach(party: Party, to: OrderStatus): boolean {
  return orderStatuses.some((from) => partiesFor(from, to).includes(party));
}

/**
 * Moves an order to `to` on behalf of `party`, or says why not:
 * - `invalid_transition`: the table has no such move from here, or this party makes it only from another
 *   state (an owner cancelling a paid order);
 * - `forbidden`: the move exists but this party may never make it (support cancelling, an owner shipping).
 */
export function transition<O extends { status: OrderStatus }>(
  order: O,
  to: OrderStatus,
  party: Party,
): TransitionResult<O> {
  const from = order.status;
  if (!allowedTargets(from).includes(to)) return { ok: false, error: 'invalid_transition' };
  if (partiesFor(from, to).includes(party)) return { ok: true, from, order: { ...order, status: to } };
  return { ok: false, error: mayEverReach(party, to) ? 'invalid_transition' : 'forbidden' };
}

/** Statuses from which nothing can happen any more. */
export function isFinal(status: OrderStatus): boolean {
  return orderTransitions[status].length === 0;
}

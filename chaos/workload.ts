// The random concurrent workload of a chaos run: customers ordering (with repeated idempotency keys),
// checking out (sometimes twice at once), paying with succeeding, declined and asynchronous cards through
// the sandbox's pay control, cancelling; an admin shipping, delivering, cancelling paid orders and firing
// full and partial refunds that race each other. Every request and answer goes into the event log.
import { randomUUID } from 'node:crypto';
import { call, num, text, type FollowedSocket, type Reply } from './client.ts';
import type { Violation } from './invariants.ts';
import type { EventLog } from './log.ts';
import type { Random } from './prng.ts';

export interface Customer {
  index: number;
  userId: string;
  token: string;
  socket?: FollowedSocket;
  orders: string[];
}

export interface World {
  log: EventLog;
  /** Live API base URLs now. */
  apis(): string[];
  sandboxUrl: string;
  adminToken: string;
  customers: Customer[];
  products: { id: string; price: number; stock: number }[];
  /** Every order id the workload learnt, with its owner and when it expires (ms). */
  orders: Map<string, { customer: number; expiresAt: number }>;
  /** The checkout session of each order that got one. */
  sessions: Map<string, string>;
  /** What the workload itself saw go wrong (an idempotent replay naming another order). */
  observations: Violation[];
  /** 5xx answers other than 502/503, counted (reported, not failed: a killed connection may cause one). */
  serverErrors: { what: string; status: number; body: unknown }[];
  stopAt: number;
}

/**
 * Cards and how often they are used: paid, declined, asynchronous success and failure, and the two whose
 * refunds fail (pending, or first reported succeeded).
 */
const cards: readonly (readonly [number, string])[] = [
  [40, '4242424242424242'],
  [10, '4000000000000002'],
  [4, '4000000000009995'],
  [12, '4000000000003220'],
  [6, '4000000000003238'],
  [10, '4000000000005126'],
  [10, '4000000000005134'],
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function shuffle<T>(r: Random, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = r.int(0, i);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function api(world: World, r: Random): string | undefined {
  const live = world.apis();
  return live.length === 0 ? undefined : r.pick(live);
}

async function send(
  world: World,
  r: Random,
  method: string,
  path: string,
  options: { token: string; body?: unknown; key?: string },
): Promise<Reply> {
  const base = api(world, r);
  if (base === undefined) return { status: 0, body: { error: 'no API process alive' } };
  const reply = await call(base, method, path, options);
  if (reply.status >= 500 && reply.status !== 502 && reply.status !== 503) {
    world.serverErrors.push({ what: `${method} ${path}`, status: reply.status, body: reply.body });
  }
  return reply;
}

const brief = (reply: Reply): string =>
  reply.status === 0
    ? `no answer (${text(reply.body, 'error') ?? '?'})`
    : `${reply.status}${text(reply.body, 'code') === undefined ? '' : ` ${text(reply.body, 'code')}`}`;

async function placeOrder(world: World, r: Random, c: Customer): Promise<void> {
  const who = `customer ${c.index}`;
  const chosen = shuffle(r, world.products).slice(0, r.int(1, 2));
  const body = { items: chosen.map((p) => ({ productId: p.id, quantity: r.int(1, 2) })) };
  const key = `order-${c.index}-${r.seed().toString(36)}`;
  const copies = r.weighted([
    [6, 1],
    [3, 2],
    [1, 3],
  ] as const);
  const describe = body.items.map((i) => `${i.quantity}×${i.productId}`).join(' + ');
  const seen = new Set<string>();
  let expiresAt: number | undefined;
  for (let attempt = 1; attempt <= 3; attempt++) {
    const replies = await Promise.all(
      Array.from({ length: attempt === 1 ? copies : 1 }, () =>
        send(world, r, 'POST', '/api/v1/orders', { token: c.token, body, key }),
      ),
    );
    for (const reply of replies) {
      const id = reply.status === 201 ? text(reply.body, 'id') : undefined;
      world.log.add(
        who,
        `place order (key ${key}${copies > 1 && attempt === 1 ? `, ${copies} at once` : ''}) ${describe}: ${brief(reply)}${id === undefined ? '' : ` ${id}`}`,
        [c.userId, id],
      );
      if (id !== undefined) seen.add(id);
      const expires = text(reply.body, 'expiresAt');
      if (expires !== undefined) expiresAt = Date.parse(expires);
    }
    const settled = replies.some(
      (x) =>
        x.status === 201 ||
        (x.status >= 400 && x.status < 500 && text(x.body, 'code') !== 'idempotency_request_in_progress'),
    );
    if (settled) break;
    await sleep(r.int(500, 1500));
  }
  if (seen.size > 1) {
    world.observations.push({
      invariant: 'idempotent-replay',
      message: `one Idempotency-Key (${key}) of ${c.userId} answered different orders: ${[...seen].join(', ')}`,
      ids: [c.userId, ...seen],
    });
  }
  const [orderId] = [...seen];
  if (orderId === undefined) return;
  if (!c.orders.includes(orderId)) c.orders.push(orderId);
  world.orders.set(orderId, { customer: c.index, expiresAt: expiresAt ?? Date.now() });
  if (r.chance(0.2)) {
    // The same request again later (a client retrying after a lost answer): the same order, never a second one.
    await sleep(r.int(100, 1500));
    const again = await send(world, r, 'POST', '/api/v1/orders', { token: c.token, body, key });
    const replayed = again.status === 201 ? text(again.body, 'id') : undefined;
    world.log.add(who, `replay order key ${key}: ${brief(again)}${replayed === undefined ? '' : ` ${replayed}`}`, [
      c.userId,
      orderId,
    ]);
    if (replayed !== undefined && replayed !== orderId) {
      world.observations.push({
        invariant: 'idempotent-replay',
        message: `replaying Idempotency-Key ${key} of ${c.userId} answered ${replayed}, not ${orderId}`,
        ids: [c.userId, orderId, replayed],
      });
    }
  }
}

async function pay(world: World, r: Random, c: Customer, orderId: string, sessionId: string): Promise<void> {
  const who = `customer ${c.index}`;
  const copies = r.weighted([
    [8, 1],
    [2, 2],
  ] as const);
  const attempt = async (card: string) => {
    let reply: Reply;
    try {
      const res = await fetch(`${world.sandboxUrl}/_sandbox/checkout/sessions/${sessionId}/pay`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ card }),
        signal: AbortSignal.timeout(20_000),
      });
      reply = { status: res.status, body: await res.json().catch((): unknown => undefined) };
    } catch (error) {
      reply = { status: 0, body: { error: error instanceof Error ? error.message : String(error) } };
    }
    const outcome = text(reply.body, 'outcome') ?? brief(reply);
    const intent = text(reply.body, 'payment_intent', 'id');
    world.log.add(
      who,
      `pay ${orderId} session ${sessionId} with ${card}: ${outcome}${intent === undefined ? '' : ` ${intent}`}`,
      [c.userId, orderId, sessionId, intent],
    );
    return outcome;
  };
  const outcomes = await Promise.all(Array.from({ length: copies }, () => attempt(r.weighted(cards))));
  if (outcomes.includes('declined') && r.chance(0.5)) {
    await sleep(r.int(100, 1000));
    await attempt(r.chance(0.7) ? '4242424242424242' : r.weighted(cards));
  }
}

async function checkout(world: World, r: Random, c: Customer, orderId: string): Promise<void> {
  const who = `customer ${c.index}`;
  const copies = r.weighted([
    [6, 1],
    [4, 2],
  ] as const);
  const replies = await Promise.all(
    Array.from({ length: copies }, () =>
      send(world, r, 'POST', `/api/v1/orders/${orderId}/checkout`, { token: c.token, body: {}, key: randomUUID() }),
    ),
  );
  let sessionId: string | undefined;
  const closed = replies.some((x) => ['invalid_transition', 'order_already_paid'].includes(text(x.body, 'code') ?? ''));
  if (closed) forget(c, orderId);
  for (const reply of replies) {
    const paymentId = text(reply.body, 'payment', 'id');
    const sid = text(reply.body, 'payment', 'checkoutUrl')?.split('/').at(-1);
    sessionId ??= sid;
    if (sid !== undefined) world.sessions.set(orderId, sid);
    world.log.add(
      who,
      `checkout ${orderId}${copies > 1 ? ` (${copies} at once)` : ''}: ${brief(reply)}${paymentId === undefined ? '' : ` ${paymentId} ${text(reply.body, 'payment', 'status')}`}${sid === undefined ? '' : ` session ${sid}`}`,
      [c.userId, orderId, paymentId, sid],
    );
  }
  if (sessionId !== undefined && r.chance(0.85)) {
    await sleep(r.int(0, 600));
    const paying = pay(world, r, c, orderId, sessionId);
    // Now and then the customer (or the admin) cancels while the payment goes through.
    if (r.chance(0.12)) {
      const [token, who] = r.chance(0.5) ? [c.token, `customer ${c.index}`] : [world.adminToken, 'admin'];
      await Promise.all([paying, sleep(r.int(0, 300)).then(() => cancel(world, r, token, who, orderId, [c.userId]))]);
    } else {
      await paying;
    }
  }
}

/**
 * Expiry races (runs that wait for expiry): customers pay sessions of unpaid orders around the moment their
 * orders expire — just before, while the expiry job runs, or after it closed the session.
 */
export async function latePayers(world: World, r: Random): Promise<void> {
  const late = [...world.sessions].filter(() => r.chance(0.7));
  await Promise.all(
    late.map(async ([orderId, sessionId]) => {
      const known = world.orders.get(orderId);
      const c = known === undefined ? undefined : world.customers[known.customer];
      if (known === undefined || c === undefined) return;
      const now = await send(world, r, 'GET', `/api/v1/orders/${orderId}`, { token: c.token });
      if (text(now.body, 'status') !== 'CREATED') return;
      await sleep(Math.max(0, known.expiresAt + r.int(-2_000, 11_000) - Date.now()));
      world.log.add(`customer ${c.index}`, `pays ${orderId} as it expires`, [orderId, sessionId]);
      await pay(world, r, c, orderId, sessionId);
    }),
  );
}

/** The customer stops acting on an order it learnt is paid or closed (the admin still may). */
function forget(c: Customer, orderId: string): void {
  c.orders = c.orders.filter((id) => id !== orderId);
}

async function cancel(world: World, r: Random, token: string, who: string, orderId: string, ids: string[]) {
  const reply = await send(world, r, 'POST', `/api/v1/orders/${orderId}/cancel`, {
    token,
    body: { reason: `${who} changed their mind` },
  });
  const owner = world.customers[world.orders.get(orderId)?.customer ?? -1];
  if (owner !== undefined && (reply.status === 200 || text(reply.body, 'code') === 'invalid_transition')) {
    forget(owner, orderId);
  }
  world.log.add(
    who,
    `cancel ${orderId}: ${brief(reply)}${reply.status === 200 ? ` ${text(reply.body, 'status')}` : ''}`,
    [...ids, orderId],
  );
}

export async function customerLoop(world: World, r: Random, c: Customer): Promise<void> {
  while (Date.now() < world.stopAt) {
    const open = c.orders;
    const action =
      open.length === 0
        ? 'order'
        : r.weighted([
            [30, 'order'],
            [45, 'checkout'],
            [10, 'cancel'],
            [15, 'idle'],
          ] as const);
    if (action === 'order') await placeOrder(world, r, c);
    else if (action === 'checkout') await checkout(world, r, c, r.pick(open));
    else if (action === 'cancel') await cancel(world, r, c.token, `customer ${c.index}`, r.pick(open), [c.userId]);
    await sleep(r.int(50, 500));
  }
}

async function refundRace(world: World, r: Random, orderId: string, payment: { id: string; amount: number }) {
  const n = r.int(1, 3);
  const key = randomUUID();
  const asks = Array.from({ length: n }, (_, i) => {
    const full = r.chance(0.35);
    const amount = full ? undefined : r.int(1, Math.max(1, Math.floor(payment.amount / 2)));
    // Now and then a copy reuses the first one's key: the same refund, once.
    const reuse = i > 0 && r.chance(0.25);
    return { amount, key: reuse ? key : i === 0 ? key : randomUUID() };
  });
  // A reused key must carry the same body as the first.
  for (const ask of asks) if (ask.key === key) ask.amount = asks[0]!.amount;
  const replies = await Promise.all(
    asks.map((ask) =>
      send(world, r, 'POST', `/api/v1/admin/payments/${payment.id}/refunds`, {
        token: world.adminToken,
        body: ask.amount === undefined ? {} : { amount: ask.amount },
        key: ask.key,
      }),
    ),
  );
  replies.forEach((reply, i) => {
    const refundId = text(reply.body, 'refund', 'id');
    world.log.add(
      'admin',
      `refund ${asks[i]!.amount ?? 'all'} of ${payment.id} (key …${asks[i]!.key.slice(-6)}${n > 1 ? `, ${n} at once` : ''}): ${brief(reply)}${refundId === undefined ? '' : ` ${refundId} ${text(reply.body, 'refund', 'status')}`}`,
      [orderId, payment.id, refundId],
    );
  });
}

export async function adminLoop(world: World, r: Random): Promise<void> {
  while (Date.now() < world.stopAt) {
    await sleep(r.int(150, 900));
    const ids = [...world.orders.keys()];
    if (ids.length === 0) continue;
    const orderId = r.pick(ids);
    const got = await send(world, r, 'GET', `/api/v1/orders/${orderId}`, { token: world.adminToken });
    if (got.status !== 200) continue;
    const status = text(got.body, 'status');
    const paymentId = text(got.body, 'payment', 'id');
    const paymentStatus = text(got.body, 'payment', 'status') ?? '';
    const amount = num(got.body, 'payment', 'amount', 'amount') ?? 0;
    const payment = paymentId === undefined ? null : { id: paymentId, amount };
    const captured = payment !== null && ['SUCCEEDED', 'PARTIALLY_REFUNDED'].includes(paymentStatus);
    const choice = r.weighted([
      [status === 'PAID' ? 30 : 0, 'ship'],
      [status === 'SHIPPED' ? 20 : 0, 'deliver'],
      [status === 'PAID' ? 20 : status === 'CREATED' ? 8 : 0, 'cancel'],
      [captured ? 35 : 0, 'refund'],
      [10, 'nothing'],
    ] as const);
    if (choice === 'ship') {
      const reply = await send(world, r, 'POST', `/api/v1/admin/orders/${orderId}/ship`, {
        token: world.adminToken,
        body: { carrier: 'Chaos Post', trackingNumber: `CP${r.seed()}` },
      });
      world.log.add('admin', `ship ${orderId}: ${brief(reply)}`, [orderId]);
    } else if (choice === 'deliver') {
      const reply = await send(world, r, 'POST', `/api/v1/admin/orders/${orderId}/deliver`, {
        token: world.adminToken,
      });
      world.log.add('admin', `deliver ${orderId}: ${brief(reply)}`, [orderId]);
    } else if (choice === 'cancel') {
      await cancel(world, r, world.adminToken, 'admin', orderId, payment === null ? [] : [payment.id]);
    } else if (choice === 'refund' && payment !== null) {
      // Sometimes the refunds race a cancel of the paid order (which refunds everything left).
      const cancelToo = status === 'PAID' && r.chance(0.25);
      await Promise.all([
        refundRace(world, r, orderId, payment),
        cancelToo ? cancel(world, r, world.adminToken, 'admin', orderId, [payment.id]) : Promise.resolve(),
      ]);
    }
  }
}

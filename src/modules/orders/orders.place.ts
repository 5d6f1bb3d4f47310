import type { ExistingKey, InlineRecord } from '../../http/idempotency.ts';
import { assertAccountRow } from '../auth/index.ts';
import type { Actor } from '../../shared/actor.ts';
import { AppError, conflict, invalid } from '../../shared/errors.ts';
import { newId } from '../../shared/ids.ts';
import { commonCurrency, money, multiply, sum, toCurrency } from '../../shared/money.ts';
import { toOrderResponse, type OrderItemRow, type OrderRow } from './orders.mapper.ts';
import {
  isDeadlock,
  LINES_CHANGED,
  readForOrder,
  refusalOf,
  type OrderRead,
  writeOrder,
  type OrderableProduct,
} from './orders.place-statement.ts';
import type { OrderResponse, PlaceOrderInput } from './orders.schemas.ts';
import type { OrdersDeps } from './orders.service.ts';

interface Line {
  productId: string;
  quantity: number;
  /** Index of the product's first line in the request, for error paths. */
  index: number;
}

/** One line per product, quantities summed, in order of first appearance. */
export function mergeLines(items: readonly { productId: string; quantity: number }[]): Line[] {
  const byProduct = new Map<string, Line>();
  items.forEach((item, index) => {
    const line = byProduct.get(item.productId);
    if (line === undefined) byProduct.set(item.productId, { ...item, index });
    else line.quantity += item.quantity;
  });
  return [...byProduct.values()];
}

/** Attempts before giving up on a catalog that keeps changing under the order (or on deadlocks). */
const ATTEMPTS = 3;

/**
 * The route's Idempotency-Key (`lookupInHandler`): read by the order's first statement and settled with what it
 * read before anything is priced.
 */
export interface OrderIdempotency {
  scope: string;
  key: string;
  /** 'replayed': the key's recorded answer was sent, nothing more to do; else how to record this order's answer. */
  settle(existing: ExistingKey | undefined): Promise<'replayed' | ((order: OrderResponse) => InlineRecord)>;
}

/**
 * Places an order: prices from the catalog only, stock for every line reserved with the order or none at all.
 * Two statements whatever the number of lines: one reads the products, the customer's account (401 unless it
 * exists and is enabled — the order route leaves that check to this read) and the Idempotency-Key; one writes
 * everything (stock, order, lines, audit entry, outbox message, the key's answer) — see writeOrder. If a product
 * changed between the two, the write refuses itself and the order is priced again from a new read.
 * With `idempotency`: undefined when the key's recorded answer was replayed instead.
 */
export function placeOrder(deps: OrdersDeps, actor: Actor, input: PlaceOrderInput): Promise<OrderResponse>;
export function placeOrder(
  deps: OrdersDeps,
  actor: Actor,
  input: PlaceOrderInput,
  idempotency: OrderIdempotency | undefined,
): Promise<OrderResponse | undefined>;
export async function placeOrder(
  deps: OrdersDeps,
  actor: Actor,
  input: PlaceOrderInput,
  idempotency?: OrderIdempotency,
): Promise<OrderResponse | undefined> {
  const lines = mergeLines(input.items);
  let record: ((order: OrderResponse) => InlineRecord) | undefined;
  for (let attempt = 1; ; attempt += 1) {
    const now = deps.clock.now();
    const read = await readForOrder(
      deps.db,
      actor.id,
      lines.map((l) => l.productId),
      attempt === 1 ? idempotency : undefined,
    );
    if (attempt === 1) {
      // The account first: a disabled account gets neither an order nor a replay of an earlier answer. Once per
      // request, as authentication checks it: a retry after a race is the same request (and a 401 raised after
      // the key was settled would be recorded under it).
      assertAccountRow(read.account);
    }
    if (attempt === 1 && idempotency !== undefined) {
      const settled = await idempotency.settle(read.key);
      if (settled === 'replayed') return undefined;
      record = settled;
    }
    const { order, items, response } = priceOrder(deps, actor, input, lines, read, now);
    const recording = record?.(response);
    try {
      await writeOrder(deps.db, {
        order,
        items,
        lines: lines.map((line) => {
          const p = read.products.find((candidate) => candidate.id === line.productId)!;
          return { ...line, priceAmount: p.price_amount, currency: p.currency, sku: p.sku, name: p.name };
        }),
        outbox: {
          userId: actor.id,
          type: 'order.updated',
          payload: { orderId: order.id, status: 'CREATED', paymentStatus: null, at: now.toISOString() },
        },
        idempotency: recording === undefined ? undefined : { update: recording.update, refusal: recording.refusal },
      });
    } catch (error) {
      const refusal = refusalOf(error);
      if (recording !== undefined && refusal === recording.refusal) throw recording.refused();
      const again = refusal === LINES_CHANGED || isDeadlock(error);
      if (again && attempt < ATTEMPTS) continue;
      if (again) throw conflict('order_conflict', 'The products changed while the order was placed; try again.');
      throw error;
    }
    recording?.committed();
    return response;
  }
}

/**
 * The order as the catalog prices it now, checked line by line: every product known and active (400), one
 * currency (422), enough stock (409 — the write checks it again, atomically).
 */
function priceOrder(
  deps: OrdersDeps,
  actor: Actor,
  input: PlaceOrderInput,
  lines: readonly Line[],
  read: OrderRead,
  now: Date,
): { order: OrderRow; items: OrderItemRow[]; response: OrderResponse } {
  const { byId, currency } = orderable(lines, read.products);
  const short = lines.filter((l) => byId.get(l.productId)!.stock < l.quantity).map((l) => l.productId);
  if (short.length > 0) {
    throw conflict('insufficient_stock', 'Not enough stock for some products.', { productIds: short });
  }
  const orderId = newId('ord');
  const items = lines.map((line, i): OrderItemRow => {
    const product = byId.get(line.productId)!;
    const unit = money(product.price_amount, currency);
    return {
      order_id: orderId,
      line_no: i + 1,
      product_id: product.id,
      sku: product.sku,
      name: product.name,
      quantity: line.quantity,
      unit_amount: unit.amount,
      line_total: multiply(unit, line.quantity).amount,
    };
  });
  const total = sum(
    items.map((i) => money(i.line_total, currency)),
    currency,
  );
  const order: OrderRow = {
    id: orderId,
    user_id: actor.id,
    status: 'CREATED',
    currency,
    total_amount: total.amount,
    refunded_amount: 0,
    shipping_address: input.shippingAddress ?? null,
    carrier: null,
    tracking_number: null,
    shipped_at: null,
    delivered_at: null,
    created_at: now,
    updated_at: now,
    expires_at: new Date(now.getTime() + deps.orderTtlSeconds * 1000),
    paid_at: null,
    cancelled_at: null,
    cancellation_reason: null,
    stock_released_at: null,
    // Migration 0011's default: a new order is at version 1; every update of its row adds one.
    version: 1,
  };
  return { order, items, response: toOrderResponse(order, items, null, read.customer) };
}

/** The lines' products: each must exist and be active, and all must share one currency. */
function orderable(lines: readonly Line[], products: readonly OrderableProduct[]) {
  const byId = new Map(products.map((p) => [p.id, p]));
  const unknown = lines.filter((l) => byId.get(l.productId)?.active !== true);
  if (unknown.length > 0) {
    throw invalid(
      unknown.map((l) => ({ path: `body.items.${l.index}.productId`, message: 'unknown or inactive product' })),
      'Some products cannot be ordered.',
    );
  }
  const currency = commonCurrency(products.map((p) => ({ currency: toCurrency(p.currency) })));
  if (currency === undefined) {
    throw new AppError('unprocessable', 'mixed_currency', 'All products of one order must share a currency.');
  }
  return { byId, currency };
}

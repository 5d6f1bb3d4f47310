import type { Tx } from '../../db/database.ts';
import { appendOutbox } from '../../db/outbox.ts';
import type { Actor } from '../../shared/actor.ts';
import { AppError, conflict, invalid } from '../../shared/errors.ts';
import { newId } from '../../shared/ids.ts';
import { commonCurrency, money, multiply, sum, toCurrency } from '../../shared/money.ts';
import { lockProducts, reserveStock } from '../catalog/index.ts';
import { toOrderResponse } from './orders.mapper.ts';
import * as repo from './orders.repository.ts';
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

/**
 * Places an order: prices from the catalog only, stock for every line reserved in the same transaction
 * or none at all. A fixed number of statements whatever the number of lines: lock the products, take the
 * stock, insert the order, its lines, its first event and the outbox message.
 */
export async function placeOrder(
  deps: OrdersDeps,
  actor: Actor,
  input: PlaceOrderInput,
  /** Runs last inside the transaction: the route records the idempotent answer with the order itself. */
  recordResult?: (trx: Tx, order: OrderResponse) => Promise<void>,
): Promise<OrderResponse> {
  const lines = mergeLines(input.items);
  const now = deps.clock.now();
  const orderId = newId('ord');

  return deps.db.transaction().execute(async (trx) => {
    const { byId, currency } = await lockOrderable(trx, lines);
    const taken = new Set(await reserveStock(trx, lines));
    const short = lines.filter((l) => !taken.has(l.productId)).map((l) => l.productId);
    if (short.length > 0) {
      // Throwing rolls back the lines that were taken: all or nothing.
      throw conflict('insufficient_stock', 'Not enough stock for some products.', { productIds: short });
    }
    const priced = lines.map((line, i) => {
      const product = byId.get(line.productId)!;
      const unit = money(product.price_amount, currency);
      return { line, product, unit, lineTotal: multiply(unit, line.quantity), lineNo: i + 1 };
    });
    const total = sum(
      priced.map((p) => p.lineTotal),
      currency,
    );
    const { order, customer } = await repo.insertOrder(trx, {
      id: orderId,
      user_id: actor.id,
      status: 'CREATED',
      currency,
      total_amount: total.amount,
      shipping_address: input.shippingAddress === undefined ? null : JSON.stringify(input.shippingAddress),
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
    });
    const items = await repo.insertItems(
      trx,
      priced.map((p) => ({
        order_id: orderId,
        line_no: p.lineNo,
        product_id: p.product.id,
        sku: p.product.sku,
        name: p.product.name,
        quantity: p.line.quantity,
        unit_amount: p.unit.amount,
        line_total: p.lineTotal.amount,
      })),
    );
    await announcePlaced(trx, orderId, actor.id, now);
    const response = toOrderResponse(order, items, null, customer);
    await recordResult?.(trx, response);
    return response;
  });
}

/** Locks the lines' products: each must exist and be active, and all must share one currency. */
async function lockOrderable(trx: Tx, lines: readonly Line[]) {
  const products = await lockProducts(
    trx,
    lines.map((l) => l.productId),
  );
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

/** The order's first audit entry and its outbox message (socket, mail, RabbitMQ). */
async function announcePlaced(trx: Tx, orderId: string, userId: string, now: Date): Promise<void> {
  await repo.appendOrderEvent(trx, {
    orderId,
    type: 'order.created',
    from: null,
    to: 'CREATED',
    actor: userId,
    reason: null,
    at: now,
  });
  await appendOutbox(trx, {
    userId,
    type: 'order.updated',
    payload: { orderId, status: 'CREATED', paymentStatus: null, at: now.toISOString() },
  });
}

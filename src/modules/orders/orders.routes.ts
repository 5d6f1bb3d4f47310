import type { RequestHandler, Response } from 'express';
import type { Database } from '../../db/database.ts';
import type { ModuleContext } from '../../http/module-context.ts';
import type { ModuleRoutes } from '../../http/routes.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Clock } from '../../shared/clock.ts';
import { actorOf } from '../../http/authenticate.ts';
import { ifMatchOf, sendVersioned } from '../../http/if-match.ts';
import { createIdempotency, keyToLookUpOf, recordIdempotentResultInline } from '../../http/idempotency.ts';
import {
  cancelOrderBody,
  listOrdersQuery,
  orderEventListSchema,
  orderListSchema,
  orderParams,
  orderSchema,
  placeOrderBody,
  shipOrderBody,
  type OrderResponse,
} from './orders.schemas.ts';
import { placeOrder } from './orders.place.ts';
import * as service from './orders.service.ts';
import type { OrderHooks, OrdersDeps } from './orders.service.ts';
import { withCurrentOrder } from './orders.version.ts';

const tags = ['orders'];
const stale = {
  description: 'precondition_failed: If-Match names an older version of the order; `order` is the order as it is now',
};

/** What the order routes need from the app: the settings they read are passed in, not imported. */
export interface OrdersModuleDeps {
  database: Database;
  clock: Clock;
  logger: Logger;
  config: { ORDER_TTL_SECONDS: number };
}

/** /api/v1/orders for everyone signed in; /api/v1/admin/orders for shipping and delivery. */
export function ordersRoutes(ctx: ModuleContext<OrdersModuleDeps>, hooks: OrderHooks): void {
  const { database, clock, config, logger } = ctx.deps;
  const deps: OrdersDeps = { db: database.db, clock, orderTtlSeconds: config.ORDER_TTL_SECONDS, hooks };
  // Placing an order is one statement, which records the key's answer itself: no claim before it, and the key is
  // read by the order's first statement (lookupInHandler) like the account (accountCheckedByHandler).
  const idempotency = createIdempotency({ db: database.db, clock, logger, lookupInHandler: true });
  const orders = ctx.define('/api/v1/orders');
  placeAndReadRoutes(orders, deps, idempotency);
  changeOrderRoutes(orders, ctx.define('/api/v1/admin/orders'), deps);
}

/** POST /orders: the account, the key and the products read by the order's first statement. */
function placeRoute(orders: ModuleRoutes, deps: OrdersDeps, idempotency: RequestHandler): void {
  orders.route(
    {
      method: 'post',
      path: '/',
      summary: 'Place an order: prices from the catalog, stock reserved for every line or none',
      tags,
      auth: true,
      accountCheckedByHandler: true,
      idempotent: true,
      before: [idempotency],
      body: placeOrderBody,
      responses: { 201: { description: 'The order, CREATED', schema: orderSchema } },
    },
    async ({ body }, req, res) => {
      const key = keyToLookUpOf(req);
      const order = await placeOrder(
        deps,
        actorOf(req),
        body,
        key && {
          scope: key.scope,
          key: key.key,
          settle: async (existing) => {
            const claim = await key.settle(existing);
            if (claim === undefined) return 'replayed';
            return (placed) => recordIdempotentResultInline(claim, 201, placed, deps.clock.now());
          },
        },
      );
      if (order === undefined) return; // the key's recorded answer was sent
      res.status(201);
      sendOrder(res, order);
    },
  );
}

/** POST /orders (under the caller's Idempotency-Key), GET /orders, /orders/:id and /orders/:id/events. */
function placeAndReadRoutes(orders: ModuleRoutes, deps: OrdersDeps, idempotency: RequestHandler): void {
  placeRoute(orders, deps, idempotency);

  orders.route(
    {
      method: 'get',
      path: '/',
      summary: 'List orders newest first: your own; support and admin see all, filtered by userId and status',
      tags,
      auth: true,
      query: listOrdersQuery,
      responses: { 200: { description: 'A page of orders', schema: orderListSchema } },
    },
    async ({ query }, req, res) => {
      res.json(await service.listOrders(deps, actorOf(req), query));
    },
  );

  orders.route(
    {
      method: 'get',
      path: '/:id',
      summary: 'Get an order (another customer’s is 404)',
      tags,
      auth: true,
      params: orderParams,
      responses: { 200: { description: 'The order', schema: orderSchema } },
    },
    async ({ params }, req, res) => {
      sendOrder(res, await service.getOrder(deps, actorOf(req), params.id));
    },
  );

  orders.route(
    {
      method: 'get',
      path: '/:id/events',
      summary: 'The order’s audit trail, oldest first',
      tags,
      auth: true,
      params: orderParams,
      responses: { 200: { description: 'Events', schema: orderEventListSchema } },
    },
    async ({ params }, req, res) => {
      res.json(await service.listOrderEvents(deps, actorOf(req), params.id));
    },
  );
}

/** Cancel, ship and deliver: each takes If-Match. */
function changeOrderRoutes(orders: ModuleRoutes, admin: ModuleRoutes, deps: OrdersDeps): void {
  // A stale If-Match: 412 with the order as it is now.
  const guarded = <T>(work: () => Promise<T>) =>
    withCurrentOrder(work, (orderId) => service.presentOrderById(deps, orderId));

  orders.route(
    {
      method: 'post',
      path: '/:id/cancel',
      versioned: true,
      summary: 'Cancel an order: the owner while CREATED; an admin also when PAID (refunded in full)',
      tags,
      auth: true,
      params: orderParams,
      body: cancelOrderBody,
      responses: { 200: { description: 'The cancelled order', schema: orderSchema }, 412: stale },
    },
    async ({ params, body }, req, res) => {
      const ifMatch = ifMatchOf(req);
      const actor = actorOf(req);
      sendOrder(res, await guarded(() => service.cancelOrder(deps, actor, params.id, body.reason ?? null, ifMatch)));
    },
  );

  admin.route(
    {
      method: 'post',
      path: '/:id/ship',
      versioned: true,
      summary: 'Ship a PAID order (admin)',
      tags,
      auth: true,
      params: orderParams,
      body: shipOrderBody,
      responses: { 200: { description: 'The shipped order', schema: orderSchema }, 412: stale },
    },
    async ({ params, body }, req, res) => {
      const ifMatch = ifMatchOf(req);
      sendOrder(res, await guarded(() => service.shipOrder(deps, actorOf(req), params.id, body, ifMatch)));
    },
  );

  admin.route(
    {
      method: 'post',
      path: '/:id/deliver',
      versioned: true,
      summary: 'Mark a SHIPPED order delivered (admin)',
      tags,
      auth: true,
      params: orderParams,
      responses: { 200: { description: 'The delivered order', schema: orderSchema }, 412: stale },
    },
    async ({ params }, req, res) => {
      const ifMatch = ifMatchOf(req);
      sendOrder(res, await guarded(() => service.deliverOrder(deps, actorOf(req), params.id, ifMatch)));
    },
  );
}

/** An order answer carries `ETag: "<version>"`, the value If-Match names on the next change. */
function sendOrder(res: Response, order: OrderResponse): void {
  sendVersioned(res, order.version, order);
}

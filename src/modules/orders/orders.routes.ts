import type { ModuleContext } from '../../app.ts';
import { actorOf } from '../../http/authenticate.ts';
import { createIdempotency, idempotencyClaimOf, recordIdempotentResult } from '../../http/idempotency.ts';
import {
  cancelOrderBody,
  listOrdersQuery,
  orderEventListSchema,
  orderListSchema,
  orderParams,
  orderSchema,
  placeOrderBody,
  shipOrderBody,
} from './orders.schemas.ts';
import { placeOrder } from './orders.place.ts';
import * as service from './orders.service.ts';
import type { OrderHooks, OrdersDeps } from './orders.service.ts';

const tags = ['orders'];

/** /api/v1/orders for everyone signed in; /api/v1/admin/orders for shipping and delivery. */
export function ordersRoutes(ctx: ModuleContext, hooks: OrderHooks): void {
  const { database, clock, config, logger } = ctx.deps;
  const deps: OrdersDeps = { db: database.db, clock, orderTtlSeconds: config.ORDER_TTL_SECONDS, hooks };
  const idempotency = createIdempotency({ db: database.db, clock, logger });
  const orders = ctx.define('/api/v1/orders');
  const admin = ctx.define('/api/v1/admin/orders');

  orders.route(
    {
      method: 'post',
      path: '/',
      summary: 'Place an order: prices from the catalog, stock reserved for every line or none',
      tags,
      auth: true,
      idempotent: true,
      before: [idempotency],
      body: placeOrderBody,
      responses: { 201: { description: 'The order, CREATED', schema: orderSchema } },
    },
    async ({ body }, req, res) => {
      const claim = idempotencyClaimOf(req);
      const order = await placeOrder(deps, actorOf(req), body, async (trx, placed) => {
        if (claim !== undefined) await recordIdempotentResult(trx, claim, 201, placed, clock.now());
      });
      res.status(201).json(order);
    },
  );

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
      res.json(await service.getOrder(deps, actorOf(req), params.id));
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

  orders.route(
    {
      method: 'post',
      path: '/:id/cancel',
      summary: 'Cancel an order: the owner while CREATED; an admin also when PAID (refunded in full)',
      tags,
      auth: true,
      params: orderParams,
      body: cancelOrderBody,
      responses: { 200: { description: 'The cancelled order', schema: orderSchema } },
    },
    async ({ params, body }, req, res) => {
      res.json(await service.cancelOrder(deps, actorOf(req), params.id, body.reason ?? null));
    },
  );

  admin.route(
    {
      method: 'post',
      path: '/:id/ship',
      summary: 'Ship a PAID order (admin)',
      tags,
      auth: true,
      params: orderParams,
      body: shipOrderBody,
      responses: { 200: { description: 'The shipped order', schema: orderSchema } },
    },
    async ({ params, body }, req, res) => {
      res.json(await service.shipOrder(deps, actorOf(req), params.id, body));
    },
  );

  admin.route(
    {
      method: 'post',
      path: '/:id/deliver',
      summary: 'Mark a SHIPPED order delivered (admin)',
      tags,
      auth: true,
      params: orderParams,
      responses: { 200: { description: 'The delivered order', schema: orderSchema } },
    },
    async ({ params }, req, res) => {
      res.json(await service.deliverOrder(deps, actorOf(req), params.id));
    },
  );
}

import type { Database } from '../../db/database.ts';
import type { ModuleContext } from '../../http/module-context.ts';
import type { ModuleRoutes } from '../../http/routes.ts';
import type { Clock } from '../../shared/clock.ts';
import { actorOf } from '../../http/authenticate.ts';
import {
  adminListQuery,
  createProductBody,
  productListSchema,
  productParams,
  productSchema,
  publicListQuery,
  updateProductBody,
} from './catalog.schemas.ts';
import { imageRoutes } from './catalog.image-routes.ts';
import * as service from './catalog.service.ts';

const tags = ['catalog'];

/** What the catalog routes need from the app. */
export type CatalogContext = ModuleContext<{ database: Database; clock: Clock }>;

/** Public catalog under /api/v1/products; staff and admin views under /api/v1/admin/products. */
export function catalogRoutes(ctx: CatalogContext): void {
  const deps = { db: ctx.deps.database.db, clock: ctx.deps.clock };
  const open = ctx.define('/api/v1/products');
  const admin = ctx.define('/api/v1/admin/products');
  publicCatalogRoutes(open, deps);
  adminCatalogRoutes(admin, deps);
  imageRoutes(open, admin, deps);
}

type CatalogDeps = { db: Database['db']; clock: Clock };

function publicCatalogRoutes(open: ModuleRoutes, deps: CatalogDeps): void {
  open.route(
    {
      method: 'get',
      path: '/',
      summary: 'List active products, newest first (cursor pagination); q searches names',
      tags,
      auth: false,
      query: publicListQuery,
      responses: { 200: { description: 'A page of products', schema: productListSchema } },
    },
    async ({ query }, _req, res) => {
      res.json(await service.listActiveProducts(deps, query));
    },
  );

  open.route(
    {
      method: 'get',
      path: '/:id',
      summary: 'Get an active product',
      tags,
      auth: false,
      params: productParams,
      responses: { 200: { description: 'The product', schema: productSchema } },
    },
    async ({ params }, _req, res) => {
      res.json(await service.getActiveProduct(deps, params.id));
    },
  );
}

function adminCatalogRoutes(admin: ModuleRoutes, deps: CatalogDeps): void {
  admin.route(
    {
      method: 'get',
      path: '/',
      summary: 'List every product, inactive ones included (support, admin); filter with active=true|false',
      tags,
      auth: true,
      query: adminListQuery,
      responses: { 200: { description: 'A page of products', schema: productListSchema } },
    },
    async ({ query }, req, res) => {
      res.json(await service.listAllProducts(deps, actorOf(req), query));
    },
  );

  admin.route(
    {
      method: 'get',
      path: '/:id',
      summary: 'Get any product, inactive ones included (support, admin)',
      tags,
      auth: true,
      params: productParams,
      responses: { 200: { description: 'The product', schema: productSchema } },
    },
    async ({ params }, req, res) => {
      res.json(await service.getAnyProduct(deps, actorOf(req), params.id));
    },
  );

  admin.route(
    {
      method: 'post',
      path: '/',
      summary: 'Create a product (admin)',
      tags,
      auth: true,
      body: createProductBody,
      responses: { 201: { description: 'Created', schema: productSchema } },
    },
    async ({ body }, req, res) => {
      res.status(201).json(await service.createProduct(deps, actorOf(req), body));
    },
  );

  admin.route(
    {
      method: 'patch',
      path: '/:id',
      summary:
        'Change a product (admin): name, description, price, stock (absolute), active, imageUrl (null removes it)',
      tags,
      auth: true,
      params: productParams,
      body: updateProductBody,
      responses: { 200: { description: 'The changed product', schema: productSchema } },
    },
    async ({ params, body }, req, res) => {
      res.json(await service.updateProduct(deps, actorOf(req), params.id, body));
    },
  );
}

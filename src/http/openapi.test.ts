import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Router } from 'express';
import { call, startTestApp, type TestApp } from '../../test/helpers.ts';
import { toOpenApiPath } from './openapi.ts';

interface Layer {
  handle: unknown;
  route?: { path: string; methods: Record<string, boolean> };
}

/** Reads Express's own routing table (not our registry), so a route added around defineRoutes is caught. */
function expressRoutes(app: TestApp): string[] {
  const routers = app.built.registry.routers;
  const out: string[] = [];
  const walk = (stack: Layer[], base: string) => {
    for (const layer of stack) {
      if (layer.route !== undefined) {
        for (const [method, on] of Object.entries(layer.route.methods)) {
          if (on && method !== '_all') out.push(`${method} ${`${base}${layer.route.path}`.replace(/(.)\/$/, '$1')}`);
        }
      } else if (typeof layer.handle === 'function' && 'stack' in layer.handle) {
        if (!routers.has(layer.handle as Router)) continue; // docs and static assets are not API routes
        walk((layer.handle as unknown as { stack: Layer[] }).stack, base);
      } else if (typeof layer.handle === 'function' && 'routers' in layer.handle) {
        // app.ts's dispatch by base path: the modules' routers, whose routes carry their whole paths.
        walk(
          (layer.handle.routers as Router[]).map((router) => ({ handle: router })),
          '',
        );
      }
    }
  };
  walk((app.built.app as unknown as { router: { stack: Layer[] } }).router.stack, '');
  return out;
}

describe('OpenAPI document', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp();
  });
  after(() => app.close());

  it('is OpenAPI 3.1 and lists every route Express serves', async () => {
    const res = await call(app, 'GET', '/openapi.json');
    assert.equal(res.status, 200);
    assert.equal(res.body.openapi, '3.1.0');
    const routes = expressRoutes(app);
    assert.ok(routes.length >= 3, `found routes: ${routes.join(', ')}`);
    const missing = routes.filter((r) => {
      const [method, path] = r.split(' ') as [string, string];
      return res.body.paths[toOpenApiPath(path)]?.[method] === undefined;
    });
    assert.deepEqual(missing, []);
  });

  it('would notice a route registered behind the registry’s back', () => {
    const router = [...app.built.registry.routers][0]!;
    router.get('/sneaky-undocumented', (_req, res) => {
      res.end();
    });
    const doc = JSON.stringify(app.built.registry.routes.map((r) => r.path));
    const routes = expressRoutes(app);
    assert.ok(routes.some((r) => r.endsWith('/sneaky-undocumented')));
    assert.ok(!doc.includes('sneaky-undocumented'));
  });

  it('serves the rendered docs page and its assets', async () => {
    const page = await fetch(`${app.baseUrl}/docs`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /swagger-ui/);
    const asset = await fetch(`${app.baseUrl}/docs/assets/swagger-ui-bundle.js`);
    assert.equal(asset.status, 200);
    await asset.arrayBuffer();
  });
});

describe('OpenAPI document: If-Match (issue 13)', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp();
  });
  after(() => app.close());

  it('every state change of an order documents the optional If-Match header and the 412; reads do not', async () => {
    const doc = (await call(app, 'GET', '/openapi.json')).body as {
      paths: Record<
        string,
        Record<
          string,
          { parameters: { name: string; in: string; required: boolean }[]; responses: Record<string, unknown> }
        >
      >;
    };
    const changes = [
      '/api/v1/orders/{id}/cancel',
      '/api/v1/admin/orders/{id}/ship',
      '/api/v1/admin/orders/{id}/deliver',
      '/api/v1/admin/payments/{id}/refunds',
      '/api/v1/admin/payments/{id}/confirm',
    ];
    for (const path of changes) {
      const op = doc.paths[path]?.post;
      assert.ok(op, path);
      const header = op.parameters.find((p) => p.name === 'If-Match');
      assert.deepEqual(header && { in: header.in, required: header.required }, { in: 'header', required: false }, path);
      assert.ok('412' in op.responses, `${path} documents 412`);
    }
    const read = doc.paths['/api/v1/orders/{id}']?.get;
    assert.ok(read && !read.parameters.some((p) => p.name === 'If-Match'));
  });
});

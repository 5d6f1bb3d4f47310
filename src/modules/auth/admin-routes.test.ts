import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Role } from '../../db/schema.ts';
import { call, createUser, startTestApp, type TestApp } from '../../../test/helpers.ts';
import { can, type Permission } from '../../shared/permissions.ts';
import { solidPng } from '../../../test/png.ts';

interface AdminRoute {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** As registered (`:id`), to compare with the app's route table. */
  path: string;
  permission: Permission;
  body?: unknown;
  /** A raw body (an image upload) instead of JSON. */
  image?: Uint8Array;
  idempotent?: boolean;
}

// Every /api/v1/admin route, a valid request for it, and the permission of docs/api.md's table it needs.
const adminRoutes: AdminRoute[] = [
  { method: 'GET', path: '/api/v1/admin/products', permission: 'read_all' },
  { method: 'GET', path: '/api/v1/admin/products/:id', permission: 'read_all' },
  {
    method: 'POST',
    path: '/api/v1/admin/products',
    permission: 'products_write',
    body: { sku: 'SKU-FORBIDDEN', name: 'Nope', price: { amount: 100, currency: 'usd' }, stock: 1 },
  },
  { method: 'PATCH', path: '/api/v1/admin/products/:id', permission: 'products_write', body: { stock: 5 } },
  {
    method: 'PUT',
    path: '/api/v1/admin/products/:id/image',
    permission: 'products_write',
    image: solidPng(2, 2, [1, 2, 3]),
  },
  { method: 'DELETE', path: '/api/v1/admin/products/:id/image', permission: 'products_write' },
  { method: 'GET', path: '/api/v1/admin/stats', permission: 'read_all' },
  {
    method: 'POST',
    path: '/api/v1/admin/orders/:id/ship',
    permission: 'ship',
    body: { carrier: 'ups', trackingNumber: '1Z' },
  },
  { method: 'POST', path: '/api/v1/admin/orders/:id/deliver', permission: 'deliver' },
  { method: 'POST', path: '/api/v1/admin/payments/:id/refunds', permission: 'refund', body: {}, idempotent: true },
  // Confirming a manual payment is money movement like a refund: admins only.
  { method: 'POST', path: '/api/v1/admin/payments/:id/confirm', permission: 'refund' },
  { method: 'GET', path: '/api/v1/admin/payments', permission: 'read_all' },
  // Settling flagged money (accept it, or refund it) is money movement: admins only.
  { method: 'POST', path: '/api/v1/admin/payments/:id/resolve', permission: 'refund', body: { action: 'refund' } },
  { method: 'GET', path: '/api/v1/admin/webhook-events', permission: 'read_all' },
  { method: 'POST', path: '/api/v1/admin/webhook-events/:id/retry', permission: 'retry_webhook_events' },
  { method: 'PATCH', path: '/api/v1/admin/users/:id', permission: 'change_roles', body: { role: 'support' } },
  { method: 'DELETE', path: '/api/v1/admin/users/:id', permission: 'delete_accounts' },
  { method: 'GET', path: '/api/v1/admin/mail', permission: 'read_mail' },
];

const roles: Role[] = ['customer', 'support', 'admin'];

describe('admin routes answer through the permission table', () => {
  let app: TestApp;
  const tokens = new Map<Role, string>();
  before(async () => {
    app = await startTestApp();
    for (const role of roles) tokens.set(role, (await createUser(app, role)).token);
  });
  after(() => app.close());

  const sendImage = async (path: string, bytes: Uint8Array, token: string) => {
    const res = await fetch(`${app.baseUrl}${path}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'image/png' },
      body: bytes,
    });
    return { status: res.status, body: (await res.json()) as { code?: string } };
  };

  it('the list above covers every /api/v1/admin route the app registers', () => {
    const registered = app.built.registry.routes
      .filter((r) => r.path.startsWith('/api/v1/admin'))
      .map((r) => `${r.method.toUpperCase()} ${r.path}`)
      .sort();
    assert.deepEqual(registered, adminRoutes.map((r) => `${r.method} ${r.path}`).sort());
  });

  for (const route of adminRoutes) {
    for (const role of roles) {
      const allowed = can({ id: 'usr_x', role }, route.permission);
      it(`${route.method} ${route.path}: ${role === 'admin' ? 'an' : 'a'} ${role} ${allowed ? 'gets past' : 'gets 403'} (${route.permission})`, async () => {
        // Unknown ids: whoever may act gets 404 (or 200 for lists), whoever may not gets 403 before any lookup.
        const path = route.path.replace(':id', `xxx_${randomBytes(6).toString('hex')}`);
        const res =
          route.image === undefined
            ? await call(app, route.method, path, {
                token: tokens.get(role)!,
                ...(route.body === undefined ? {} : { body: route.body }),
                ...(route.idempotent === true
                  ? { headers: { 'idempotency-key': randomBytes(8).toString('hex') } }
                  : {}),
              })
            : await sendImage(path, route.image, tokens.get(role)!);
        if (allowed) assert.ok([200, 201, 404].includes(res.status), `${res.status} ${JSON.stringify(res.body)}`);
        else {
          assert.equal(res.status, 403, JSON.stringify(res.body));
          assert.equal(res.body.code, 'forbidden');
        }
      });
    }
  }
});

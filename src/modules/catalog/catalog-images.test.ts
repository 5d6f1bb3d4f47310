import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { call, createUser, startTestApp, type TestApp } from '../../../test/helpers.ts';
import { solidPng } from '../../../test/png.ts';
import { sniffImageType } from './catalog.images.ts';

type User = Awaited<ReturnType<typeof createUser>>;

describe('product images (issue 13)', () => {
  let app: TestApp;
  let admin: User;
  let support: User;
  let customer: User;
  let seq = 0;
  const png = solidPng(4, 3, [200, 40, 40]);

  before(async () => {
    app = await startTestApp();
    admin = await createUser(app, 'admin');
    support = await createUser(app, 'support');
    customer = await createUser(app, 'customer');
  });
  after(() => app.close());

  const product = async (active = true) => {
    const res = await call(app, 'POST', '/api/v1/admin/products', {
      token: admin.token,
      body: {
        sku: `IMG-${process.pid}-${++seq}`,
        name: 'Poster',
        price: { amount: 900, currency: 'eur' },
        stock: 3,
        active,
      },
    });
    assert.equal(res.status, 201);
    return res.body.id as string;
  };
  const upload = async (id: string, bytes: Uint8Array, type = 'image/png', token: string | null = admin.token) => {
    const headers: Record<string, string> = { 'content-type': type };
    if (token !== null) headers.authorization = `Bearer ${token}`;
    const res = await fetch(`${app.baseUrl}/api/v1/admin/products/${id}/image`, {
      method: 'PUT',
      headers,
      body: bytes,
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text === '' ? undefined : JSON.parse(text) };
  };
  const imageRows = async (id: string) =>
    (await app.database.db.selectFrom('product_images').select('etag').where('product_id', '=', id).execute()).length;

  it('knows PNG, JPEG and WebP by their bytes, and nothing else', () => {
    assert.equal(sniffImageType(png), 'image/png');
    assert.equal(sniffImageType(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10])), 'image/jpeg');
    assert.equal(sniffImageType(Buffer.from('RIFF\x10\x00\x00\x00WEBPVP8 ', 'latin1')), 'image/webp');
    assert.equal(sniffImageType(Buffer.from('RIFF\x10\x00\x00\x00WAVEfmt ', 'latin1')), undefined);
    assert.equal(sniffImageType(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>')), undefined);
    assert.equal(sniffImageType(Buffer.alloc(0)), undefined);
  });

  it('stores an upload, points imageUrl at it and serves it with its type, nosniff and an ETag', async () => {
    const id = await product();
    const put = await upload(id, png);
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.match(put.body.imageUrl, new RegExp(`^/api/v1/products/${id}/image\\?v=[0-9a-f]{32}$`));
    const read = await call(app, 'GET', `/api/v1/products/${id}`);
    assert.equal(read.body.imageUrl, put.body.imageUrl);

    const res = await fetch(`${app.baseUrl}${put.body.imageUrl}`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/png');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.match(res.headers.get('cache-control') ?? '', /immutable/);
    const etag = res.headers.get('etag');
    assert.match(etag ?? '', /^"[0-9a-f]{32}"$/);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), png);

    const again = await fetch(`${app.baseUrl}${put.body.imageUrl}`, { headers: { 'if-none-match': etag! } });
    assert.equal(again.status, 304);
    // Without the v of the current bytes the answer must be revalidated, never kept.
    const bare = await fetch(`${app.baseUrl}/api/v1/products/${id}/image`);
    assert.equal(bare.status, 200);
    assert.match(bare.headers.get('cache-control') ?? '', /max-age=0/);
  });

  it('replaces an image (a new imageUrl) and deletes it (imageUrl null, the bytes gone, 404)', async () => {
    const id = await product();
    const first = await upload(id, png);
    const second = await upload(id, solidPng(2, 2, [0, 0, 255]));
    assert.equal(second.status, 200);
    assert.notEqual(second.body.imageUrl, first.body.imageUrl);
    assert.equal(await imageRows(id), 1);

    const removed = await call(app, 'DELETE', `/api/v1/admin/products/${id}/image`, { token: admin.token });
    assert.equal(removed.status, 200);
    assert.equal(removed.body.imageUrl, null);
    assert.equal(await imageRows(id), 0);
    const gone = await call(app, 'GET', `/api/v1/products/${id}/image`);
    assert.equal(gone.status, 404);
    assert.equal(gone.body.code, 'not_found');
    // Deleting again is not an error: there is simply no image.
    assert.equal((await call(app, 'DELETE', `/api/v1/admin/products/${id}/image`, { token: admin.token })).status, 200);
  });

  it('drops the uploaded bytes when PATCH sets another imageUrl', async () => {
    const id = await product();
    await upload(id, png);
    const patched = await call(app, 'PATCH', `/api/v1/admin/products/${id}`, {
      token: admin.token,
      body: { imageUrl: '/images/demo/mug.svg' },
    });
    assert.equal(patched.status, 200);
    assert.equal(await imageRows(id), 0);
  });

  it('serves the image of an inactive product (the dashboard shows it) by its unguessable id', async () => {
    const id = await product(false);
    const put = await upload(id, png);
    assert.equal((await fetch(`${app.baseUrl}${put.body.imageUrl}`)).status, 200);
  });

  it('refuses over 2 MiB with 413 payload_too_large, and changes nothing', async () => {
    const id = await product();
    const big = Buffer.concat([png, Buffer.alloc(2 * 1024 * 1024)]);
    const res = await upload(id, big);
    assert.equal(res.status, 413);
    assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    assert.equal(res.body.code, 'payload_too_large');
    assert.equal(await imageRows(id), 0);
  });

  it('refuses bytes that are not the image they claim with 415 unsupported_image, and changes nothing', async () => {
    const id = await product();
    for (const [bytes, type] of [
      [Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'), 'image/png'],
      [Buffer.from('<html><script>alert(1)</script></html>'), 'image/jpeg'],
      [png, 'image/jpeg'],
      [png, 'image/webp'],
      [Buffer.alloc(0), 'image/png'],
    ] as const) {
      const res = await upload(id, bytes, type);
      assert.equal(res.status, 415, `${type} ${bytes.length}`);
      assert.equal(res.body.code, 'unsupported_image');
    }
    const read = await call(app, 'GET', `/api/v1/admin/products/${id}`, { token: admin.token });
    assert.equal(read.body.imageUrl, null);
    assert.equal(await imageRows(id), 0);
  });

  it('refuses a Content-Type other than PNG, JPEG or WebP with 415 unsupported_media_type', async () => {
    const id = await product();
    for (const type of ['image/svg+xml', 'text/html', 'application/octet-stream', 'image/png-but-not']) {
      const res = await upload(id, png, type);
      assert.equal(res.status, 415, type);
      assert.equal(res.body.code, 'unsupported_media_type');
    }
    // JSON is read (and refused as malformed) by the JSON parser before the route: a 400, still nothing stored.
    assert.equal((await upload(id, png, 'application/json')).status, 400);
    assert.equal(await imageRows(id), 0);
  });

  it('documents the upload as bytes of the three types, and the image answer as bytes, in /openapi.json', async () => {
    const doc = (await call(app, 'GET', '/openapi.json')).body;
    const types = ['image/png', 'image/jpeg', 'image/webp'];
    assert.deepEqual(Object.keys(doc.paths['/api/v1/admin/products/{id}/image'].put.requestBody.content), types);
    assert.deepEqual(Object.keys(doc.paths['/api/v1/products/{id}/image'].get.responses['200'].content), types);
  });

  it('lets only admins change images: 401 anonymous, 403 customer and support; 404 unknown product', async () => {
    const id = await product();
    assert.equal((await upload(id, png, 'image/png', null)).status, 401);
    for (const user of [customer, support]) {
      const res = await upload(id, png, 'image/png', user.token);
      assert.equal(res.status, 403);
      assert.equal(res.body.code, 'forbidden');
      const del = await call(app, 'DELETE', `/api/v1/admin/products/${id}/image`, { token: user.token });
      assert.equal(del.status, 403);
    }
    assert.equal((await call(app, 'DELETE', `/api/v1/admin/products/${id}/image`)).status, 401);
    assert.equal(await imageRows(id), 0);
    const unknown = await upload('prd_doesnotexist0000000', png);
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.code, 'not_found');
    const unknownDelete = await call(app, 'DELETE', '/api/v1/admin/products/prd_doesnotexist0000000/image', {
      token: admin.token,
    });
    assert.equal(unknownDelete.status, 404);
    assert.equal((await call(app, 'GET', '/api/v1/products/prd_doesnotexist0000000/image')).status, 404);
    assert.equal((await call(app, 'GET', `/api/v1/products/${id}/image?v=zz`)).status, 400);
  });
});

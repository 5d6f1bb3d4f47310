import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PluginTransformQueryArgs, RootOperationNode } from 'kysely';
import {
  call,
  CountStatements,
  createTestDatabase,
  createUser,
  startTestApp,
  type TestApp,
  type TestDatabase,
} from '../../../test/helpers.ts';
import { solidPng } from '../../../test/png.ts';

/** Records, for every statement on product_images, whether it names the `bytes` column. */
class ImageReads extends CountStatements {
  reads: { bytes: boolean }[] = [];
  override transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    const text = JSON.stringify(args.node);
    if (args.node.kind === 'SelectQueryNode' && text.includes('"product_images"')) {
      this.reads.push({ bytes: text.includes('"bytes"') });
    }
    return super.transformQuery(args);
  }
}

// Issue 11: a conditional GET of an image reads its ETag alone; the bytes only when they are sent.
describe('product image: If-None-Match is compared before the bytes are read', () => {
  let owned: TestDatabase;
  let app: TestApp;
  const reads = new ImageReads();

  before(async () => {
    owned = await createTestDatabase();
    app = await startTestApp({ database: { ...owned.database, db: owned.database.db.withPlugin(reads) } });
  });
  after(async () => {
    await app.close();
    await owned.drop();
  });

  it('a 304 reads no bytes; a 200 reads them', async () => {
    const admin = await createUser(app, 'admin');
    const created = await call(app, 'POST', '/api/v1/admin/products', {
      token: admin.token,
      body: { sku: `IMG304-${process.pid}`, name: 'Lamp', price: { amount: 100, currency: 'usd' }, stock: 1 },
    });
    const put = await fetch(`${app.baseUrl}/api/v1/admin/products/${created.body.id}/image`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${admin.token}`, 'content-type': 'image/png' },
      body: solidPng(3, 3, [9, 9, 9]),
    });
    const { imageUrl } = (await put.json()) as { imageUrl: string };

    reads.reads = [];
    const full = await fetch(`${app.baseUrl}${imageUrl}`);
    assert.equal(full.status, 200);
    assert.equal(
      Buffer.from(await full.arrayBuffer())
        .subarray(1, 4)
        .toString(),
      'PNG',
    );
    assert.ok(
      reads.reads.some((r) => r.bytes),
      'a 200 reads the bytes',
    );

    reads.reads = [];
    const etag = full.headers.get('etag')!;
    for (const match of [etag, `W/${etag}`, '*']) {
      const again = await fetch(`${app.baseUrl}${imageUrl}`, { headers: { 'if-none-match': match } });
      assert.equal(again.status, 304);
      assert.equal(again.headers.get('etag'), etag);
      assert.equal(again.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    }
    assert.equal(reads.reads.length, 3, 'one read per request');
    assert.deepEqual(
      reads.reads.filter((r) => r.bytes),
      [],
      'no 304 read the bytes',
    );
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { call, createUser, startTestApp, type TestApp } from '../../../test/helpers.ts';

type User = Awaited<ReturnType<typeof createUser>>;

describe('catalog search: GET /api/v1/products?q= (issue 13)', () => {
  let app: TestApp;
  let admin: User;
  const tag = `s${process.pid}`;

  before(async () => {
    app = await startTestApp();
    admin = await createUser(app, 'admin');
    const names = [`Blue ${tag} Mug`, `Red ${tag} mug`, `${tag} Poster`, `100% ${tag}_Cotton`, `Hidden ${tag} Mug`];
    for (const [i, name] of names.entries()) {
      const res = await call(app, 'POST', '/api/v1/admin/products', {
        token: admin.token,
        body: {
          sku: `SEARCH-${tag}-${i}`,
          name,
          price: { amount: 500, currency: 'usd' },
          stock: 1,
          active: !name.startsWith('Hidden'),
        },
      });
      assert.equal(res.status, 201);
    }
  });
  after(() => app.close());

  const names = async (path: string, token?: string) => {
    const res = await call(app, 'GET', path, token === undefined ? {} : { token });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return (res.body.data as { name: string }[]).map((p) => p.name).sort();
  };

  it('finds active products whose name contains the text, case-insensitively', async () => {
    assert.deepEqual(await names(`/api/v1/products?q=${tag}%20MUG`), [`Blue ${tag} Mug`, `Red ${tag} mug`]);
    assert.deepEqual(await names(`/api/v1/products?q=%20%20poster%20`), [`${tag} Poster`]);
  });

  it('matches % and _ as themselves, not as wildcards', async () => {
    assert.deepEqual(await names('/api/v1/products?q=100%25'), [`100% ${tag}_Cotton`]);
    assert.deepEqual(await names(`/api/v1/products?q=${tag}_`), [`100% ${tag}_Cotton`]);
    assert.deepEqual(await names(`/api/v1/products?q=${tag}%25`), []);
  });

  it('pages through the results with the cursor', async () => {
    const first = await call(app, 'GET', `/api/v1/products?q=${tag}&limit=2`);
    assert.equal(first.body.data.length, 2);
    const second = await call(app, 'GET', `/api/v1/products?q=${tag}&limit=2&cursor=${first.body.nextCursor}`);
    assert.equal(second.body.data.length, 2);
    assert.equal(second.body.nextCursor, null);
  });

  it('searches inactive products too on the admin list', async () => {
    assert.deepEqual(await names(`/api/v1/admin/products?q=hidden%20${tag}`, admin.token), [`Hidden ${tag} Mug`]);
    assert.deepEqual(await names(`/api/v1/products?q=hidden%20${tag}`), []);
  });

  it('refuses an empty, blank, too long or repeated q with 400 validation_failed naming query.q', async () => {
    for (const query of ['q=', 'q=%20%20', `q=${'x'.repeat(101)}`, 'q=a&q=b', 'q=%00']) {
      const res = await call(app, 'GET', `/api/v1/products?${query}`);
      assert.equal(res.status, 400, query);
      assert.equal(res.body.code, 'validation_failed', query);
    }
    const blank = await call(app, 'GET', '/api/v1/products?q=%20');
    assert.ok(
      (blank.body.errors as { path: string }[]).some((e) => e.path === 'query.q'),
      JSON.stringify(blank.body),
    );
  });
});

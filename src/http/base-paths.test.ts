import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import express, { type Router } from 'express';
import { byBasePath } from './base-paths.ts';

function router(routes: Record<string, string>): Router {
  const r = express.Router({ caseSensitive: true });
  for (const [path, answer] of Object.entries(routes)) r.get(path, (_req, res) => void res.send(answer));
  return r;
}

describe('byBasePath', () => {
  let server: ReturnType<ReturnType<typeof express>['listen']>;
  let base = '';
  before(async () => {
    const failing = express.Router();
    failing.get('/a/fail', () => {
      throw new Error('thrown in a route');
    });
    failing.get('/a/later', async () => {
      await Promise.resolve();
      throw new Error('rejected in a route');
    });
    const app = express();
    app.use(
      byBasePath([
        ['', router({ '/healthz': 'ops' })],
        ['/a', router({ '/a/one': 'first router of /a' })],
        ['/a', router({ '/a/two': 'second router of /a', '/a/one': 'never: the first answers' })],
        ['/a', failing],
        ['/b/c', router({ '/b/c/:id': 'b/c by id' })],
      ]),
    );
    app.use((_req, res) => void res.status(404).send('fell through'));
    app.use((error: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      res.status(500).send(error.message);
    });
    server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server.close());

  const get = async (path: string) => {
    const res = await fetch(`${base}${path}`);
    return `${res.status} ${await res.text()}`;
  };

  it('answers from the routers of the longest base path, in their order, then falls through', async () => {
    assert.equal(await get('/a/one'), '200 first router of /a');
    assert.equal(await get('/a/two'), '200 second router of /a');
    assert.equal(await get('/a/two/'), '200 second router of /a');
    assert.equal(await get('/b/c/42'), '200 b/c by id');
    assert.equal(await get('/healthz'), '200 ops');
    for (const path of ['/a/three', '/A/one', '/b/c', '/b/c/1/2', '/nothing']) {
      assert.equal(await get(path), '404 fell through', path);
    }
  });

  it('passes a thrown or rejected error on to the error handler', async () => {
    assert.equal(await get('/a/fail'), '500 thrown in a route');
    assert.equal(await get('/a/later'), '500 rejected in a route');
  });

  it('refuses a base path under another (the order would no longer be Express’s)', () => {
    assert.throws(
      () =>
        byBasePath([
          ['/api/v1/admin', router({})],
          ['/api/v1/admin/products', router({})],
        ]),
      /base path \/api\/v1\/admin\/products lies under \/api\/v1\/admin/,
    );
    assert.doesNotThrow(() =>
      byBasePath([
        ['/api/v1/admin', router({})],
        ['/api/v1/administration', router({})],
        ['', router({})],
      ]),
    );
  });

  it('a path without a leading slash (never from Express) falls through at once instead of looping', () => {
    const dispatch = byBasePath([['/a', router({ '/a/one': 'not reached' })]]);
    const passed: unknown[] = [];
    dispatch({ path: 'a/one' } as express.Request, {} as express.Response, (error?: unknown) => passed.push(error));
    assert.deepEqual(passed, [undefined]);
  });
});

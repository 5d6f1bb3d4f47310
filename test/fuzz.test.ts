import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { SignJWT } from 'jose';
import { createTokenService } from '../src/modules/auth/index.ts';
import { call, createUser, startTestApp, type TestApp } from './helpers.ts';
import {
  anyString,
  changedParts,
  documentedCodes,
  fillPath,
  FUZZ_RUNS,
  FUZZ_SEED,
  fuzzOptions,
  jsonValue,
  keysOf,
  objectText,
  poisonBody,
  poisonQuery,
  poisonString,
  rawUrlText,
  snapshot,
  stripeSignature,
} from './fuzz-support.ts';

/**
 * Issue 12: no input reaches a 5xx. A property-based fuzzer walks every route of the registry (so a route added
 * tomorrow is fuzzed without touching this file) as anonymous, customer, support and admin, and sends hostile
 * paths, query strings, headers and bodies. Each request carries at least one part the route must refuse, so
 * every answer must be a 4xx problem document whose `code` docs/api.md lists with that status, and the shop's
 * state (every state table's rows, stock, balances) must be what it was.
 *
 * The seed is printed; `FUZZ_SEED=<seed> npm test -- test/fuzz.test.ts` replays a run, `FUZZ_RUNS` sets how
 * many requests each route gets (25 by default).
 */
const WEBHOOK_SECRET = 'whsec_fuzz_0123456789abcdef0123456789abcdef';

// Started when the file loads, so that each route of its registry gets a test of its own.
const app: TestApp = await startTestApp({
  env: { API_RATE_LIMIT_PER_MINUTE: '0', STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET },
});

describe(`fuzzing every route with hostile input (FUZZ_SEED=${FUZZ_SEED}, FUZZ_RUNS=${FUZZ_RUNS})`, () => {
  const codes = documentedCodes();
  const roles = ['anonymous', 'customer', 'support', 'admin'] as const;
  type Role = (typeof roles)[number];
  const tokens = {} as Record<Exclude<Role, 'anonymous'>, string>;
  /** Real ids of each type, used where another type is expected (and, as noise, where it is). */
  const ids: Record<string, string[]> = {};
  let forgedTokens: string[] = [];
  let state: Record<string, string>;

  before(async () => {
    console.log(`fuzz seed ${FUZZ_SEED}: reproduce with FUZZ_SEED=${FUZZ_SEED} npm test -- test/fuzz.test.ts`);
    const admin = await createUser(app, 'admin');
    const support = await createUser(app, 'support');
    const customer = await createUser(app, 'customer');
    Object.assign(tokens, { admin: admin.token, support: support.token, customer: customer.token });
    ids.usr = [admin.id, support.id, customer.id];
    const product = async (sku: string, active: boolean) => {
      const res = await call(app, 'POST', '/api/v1/admin/products', {
        token: admin.token,
        body: { sku, name: `Fuzz ${sku}`, price: { amount: 1500, currency: 'eur' }, stock: 50, active },
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return res.body.id as string;
    };
    ids.prd = [await product('FUZZ-1', true), await product('FUZZ-2', false)];
    const order = await call(app, 'POST', '/api/v1/orders', {
      token: customer.token,
      headers: { 'idempotency-key': randomUUID() },
      body: { items: [{ productId: ids.prd[0], quantity: 2 }] },
    });
    assert.equal(order.status, 201, JSON.stringify(order.body));
    const checkout = await call(app, 'POST', `/api/v1/orders/${order.body.id}/checkout`, {
      token: customer.token,
      headers: { 'idempotency-key': randomUUID() },
      body: { provider: 'manual' },
    });
    assert.equal(checkout.status, 201, JSON.stringify(checkout.body));
    ids.ord = [order.body.id];
    ids.pay = [checkout.body.payment.id];
    const event = JSON.stringify({
      id: 'evt_fuzz_fixture',
      object: 'event',
      type: 'customer.created',
      created: Math.floor(Date.now() / 1000),
      data: { object: { id: 'cus_1' } },
    });
    const stored = await call(app, 'POST', '/api/v1/webhooks/stripe', {
      rawBody: event,
      headers: {
        'content-type': 'application/json',
        'stripe-signature': stripeSignature(event, WEBHOOK_SECRET, Math.floor(Date.now() / 1000)),
      },
    });
    assert.equal(stored.status, 200, JSON.stringify(stored.body));
    const inbox = await app.database.db.selectFrom('webhook_inbox').select('id').execute();
    ids.whk = inbox.map((r) => r.id);
    ids.ref = ['ref_00000000000000000000'];

    // Tokens that must be refused wherever a token is needed.
    const secret = app.config.JWT_SECRET!;
    const past = createTokenService(secret, { now: () => new Date(Date.now() - 3600_000) });
    const key = new TextEncoder().encode(secret);
    const sign = (claims: Record<string, unknown>, sub: string) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(sub)
        .setIssuer('fulcrum')
        .setAudience('fulcrum-api')
        .setIssuedAt()
        .setExpirationTime('10m')
        .sign(key);
    const valid = tokens.admin;
    forgedTokens = [
      `${valid.slice(0, -2)}${valid.endsWith('AA') ? 'BB' : 'AA'}`,
      `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${valid.split('.')[1]}.`,
      await past.issueAccessToken({ id: admin.id, role: 'admin' }),
      await sign({ role: 'root' }, admin.id),
      await sign({ role: 'admin' }, 'usr_no_such_account'),
      await createTokenService('another-secret-another-secret-0123456789', {
        now: () => new Date(),
      }).issueAccessToken({ id: admin.id, role: 'admin' }),
      'not.a.token',
      'x'.repeat(9000),
    ];
    state = await snapshot(app);
  });
  after(() => app.close());

  interface Sent {
    method: string;
    path: string;
    headers: Record<string, string>;
    body?: string | Buffer;
  }

  async function send(request: Sent): Promise<{ status: number; type: string; body: any; text: string }> {
    const res = await fetch(`${app.baseUrl}${request.path}`, {
      method: request.method.toUpperCase(),
      headers: request.headers,
      ...(request.body === undefined ? {} : { body: request.body }),
    });
    const text = await res.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { status: res.status, type: res.headers.get('content-type') ?? '', body, text };
  }

  async function assertRefusedAndNothingChanged(request: Sent): Promise<void> {
    const res = await send(request);
    const shown = `${request.method.toUpperCase()} ${request.path.slice(0, 300)} → ${res.status} ${res.text.slice(0, 300)}`;
    assert.ok(res.status >= 400 && res.status < 500, `not a 4xx: ${shown}`);
    assert.match(res.type, /^application\/problem\+json/, `not a problem document: ${shown}`);
    const code = (res.body as { code?: unknown } | undefined)?.code;
    assert.ok(typeof code === 'string' && codes.has(code), `code not in docs/api.md: ${shown}`);
    assert.ok(codes.get(code)!.has(res.status), `code ${code} with an undocumented status: ${shown}`);
    assert.equal((res.body as { status: number }).status, res.status, shown);
    const now = await snapshot(app);
    const changed = changedParts(state, now);
    state = now;
    assert.deepEqual(changed, [], `state changed (${changed.join(', ')}) after ${shown}`);
  }

  // --- one request: a role, a poison the route must refuse, and noise ---

  type Poison = 'params' | 'query' | 'body' | 'contentType' | 'contentEncoding' | 'token' | 'cursor';

  /**
   * A cursor the API never made and must refuse, though it decodes: dates PostgreSQL cannot hold or the API never
   * writes, ids that are not ids, other shapes.
   */
  const forgedCursor = fc
    .oneof(
      fc
        .tuple(
          fc.oneof(
            fc.constantFrom(
              '-271821-04-20T00:00:00.000Z',
              '+275760-09-13T00:00:00.000Z',
              '+010000-01-01T00:00:00.000Z',
            ),
            fc.constantFrom(
              '0000-01-01T00:00:00.000Z',
              '2024-02-30T00:00:00.000Z',
              '2024-01-01T00:00:00Z',
              '2024-01-01',
            ),
            anyString,
          ),
          fc.oneof(fc.constantFrom('ord_x'), poisonString, fc.constantFrom('', 'a b', 'x'.repeat(65))),
        )
        .filter(([at, id]) => !(/^[1-9]\d{3}-\d{2}-\d{2}T/.test(at) && /^\w{1,64}$/.test(id) && !isNaN(Date.parse(at))))
        .map((pair) => JSON.stringify(pair)),
      jsonValue,
    )
    .map((text) => Buffer.from(text).toString('base64url'));

  function requestFor(route: (typeof app.built.registry.routes)[number]): fc.Arbitrary<Sent> {
    const { spec } = route;
    const hasParams = /:[A-Za-z]+/.test(route.path);
    const sendsBody = route.method !== 'get';
    const bodyKeys = keysOf(spec.body);
    const queryKeys = keysOf(spec.query);
    const poisons: Poison[] = ['query'];
    if (queryKeys.includes('cursor')) poisons.push('cursor');
    if (hasParams) poisons.push('params');
    if (sendsBody) poisons.push('body', 'contentType', 'contentEncoding');
    if (spec.auth) poisons.push('token');

    const foreignIds = Object.values(ids).flat();
    // The id types this route's own parameters take (`/admin/products/:id` takes prd_…): an id of one of them may
    // exist, so it is never a poison here.
    const typeOfSegment: Record<string, string> = {
      products: 'prd',
      orders: 'ord',
      users: 'usr',
      payments: 'pay',
      'webhook-events': 'whk',
      refunds: 'ref',
    };
    const ownTypes = new Set(
      [...route.path.matchAll(/([^/]+)\/:[A-Za-z]+/g)].map((m) => typeOfSegment[m[1] ?? ''] ?? m[1] ?? ''),
    );
    // Never empty: `/products/` is another route (the list), not a hostile id.
    const param = fc
      .oneof(
        rawUrlText,
        fc.constantFrom(...foreignIds).map(encodeURIComponent),
        poisonString.map((s) => encodeURIComponent(s.toWellFormed()) + '%00'),
      )
      .filter((v) => v !== '');
    /** A value that is never an existing id of this route's type: another type's id, or hostile text. */
    const poisonParam = fc.oneof(
      rawUrlText.filter((v) => v !== '' && !foreignIds.includes(v)),
      fc.constantFrom(...foreignIds).filter((id) => !ownTypes.has(id.slice(0, 3))),
      fc.constantFrom('%', '%E0%A4%A', '%00', 'x'.repeat(70)),
    );
    const role = fc.constantFrom(...roles);
    const idempotencyKey = fc.oneof(fc.uuid(), fc.constantFrom('', ' ', 'k'.repeat(300), 'cl\u00e9', 'a\tb'));
    const anyBody = fc.oneof(poisonBody(bodyKeys), jsonValue);

    return fc
      .record({
        poison: fc.constantFrom(...poisons),
        role,
        param,
        poisonParam,
        query: fc.option(poisonQuery(queryKeys), { nil: undefined }),
        poisonQuery: poisonQuery(queryKeys),
        forgedCursor,
        body: anyBody,
        poisonBody: poisonBody(bodyKeys),
        contentType: fc.constantFrom(
          'application/json',
          'application/json; charset=utf-8',
          'application/merge-patch+json',
          'APPLICATION/JSON',
        ),
        lyingType: fc.constantFrom(
          'text/plain',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
          'application/xml',
          'image/png',
        ),
        lyingEncoding: fc.constantFrom('gzip', 'deflate', 'br', 'compress', 'identity, gzip', 'x-unknown'),
        honestGzip: fc.boolean(),
        forged: fc.constantFrom(...forgedTokens),
        authScheme: fc.constantFrom('Bearer', 'bearer', 'Basic', 'Bearer  ', 'Token'),
        idempotencyKey,
        extraHeaders: fc.dictionary(
          fc.constantFrom('x-request-id', 'accept', 'accept-encoding', 'x-forwarded-for', 'origin', 'range'),
          anyString.map((s) => s.replace(/[^\x20-\x7e]/g, '').slice(0, 200)),
          { maxKeys: 2 },
        ),
      })
      .map((g) => {
        const headers: Record<string, string> = { ...g.extraHeaders };
        if (g.role !== 'anonymous') headers.authorization = `Bearer ${tokens[g.role]}`;
        if (g.poison === 'token') {
          headers.authorization = g.authScheme === 'Bearer' ? `Bearer ${g.forged}` : `${g.authScheme} ${g.forged}`;
        }
        if (spec.idempotent === true) headers['idempotency-key'] = g.idempotencyKey;
        const pathValue = g.poison === 'params' ? g.poisonParam : g.param;
        const query =
          g.poison === 'query' ? g.poisonQuery : g.poison === 'cursor' ? `cursor=${g.forgedCursor}` : g.query;
        let path = hasParams ? fillPath(route, pathValue) : route.path;
        if (query !== undefined && query !== '') path += `?${query}`;
        const request: Sent = { method: route.method, path, headers };
        if (!sendsBody) return request;
        const text = g.poison === 'body' || g.poison === 'contentEncoding' ? g.poisonBody : g.body;
        headers['content-type'] = g.poison === 'contentType' ? g.lyingType : g.contentType;
        request.body = text;
        if (g.poison === 'contentEncoding') {
          headers['content-encoding'] = g.lyingEncoding;
          // An honest gzip of a poisoned body is refused for what it holds; a lie is refused for the lie.
          if (g.honestGzip && g.lyingEncoding === 'gzip') request.body = gzipSync(text);
        }
        if (g.poison === 'contentType' && text === '') request.body = '{}';
        return request;
      });
  }

  it('has a fixture of every id type and a route registry to walk', () => {
    assert.ok(app.built.registry.routes.length >= 30, 'the registry lists the routes');
    for (const prefix of ['usr', 'prd', 'ord', 'pay', 'whk']) assert.ok(ids[prefix]!.length > 0, prefix);
  });

  // One test per route of the registry: a new route is fuzzed without a line here.
  for (const route of app.built.registry.routes) {
    if (route.path === '/api/v1/webhooks/stripe') continue; // below, with valid signatures
    it(`${route.method.toUpperCase()} ${route.path}: every hostile request is a 4xx problem and changes nothing`, async () => {
      await fc.assert(fc.asyncProperty(requestFor(route), assertRefusedAndNothingChanged), fuzzOptions());
    });
  }

  it('paths outside the registry and unknown methods are 404 problems', async () => {
    const path = fc.tuple(rawUrlText, rawUrlText).map(([a, b]) => `/api/v1/${a}/${b}`);
    const method = fc.constantFrom('get', 'post', 'put', 'delete', 'patch');
    await fc.assert(
      fc.asyncProperty(path, method, async (p, m) =>
        assertRefusedAndNothingChanged({ method: m, path: p, headers: { authorization: `Bearer ${tokens.admin}` } }),
      ),
      fuzzOptions(),
    );
  });

  // --- HTTP framing that lies: what Node's parser refuses must still be a problem document ---

  /** Writes `raw` on a fresh connection and reads until the server closes it. */
  const rawExchange = (raw: Buffer): Promise<string> =>
    new Promise((resolve, reject) => {
      const socket = connect(Number(new URL(app.baseUrl).port), '127.0.0.1');
      let text = '';
      socket.on('data', (chunk) => (text += chunk.toString('latin1')));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
      socket.write(raw);
    });

  it('lying Content-Length and Transfer-Encoding, broken chunks, bad header bytes: a 4xx problem, nothing changed', async () => {
    const body = fc.oneof(jsonValue, poisonBody(['email', 'password']));
    const framing = fc.oneof(
      // Two different lengths, length and chunked together, a length that is not a number.
      body.map((b) => `Content-Length: ${b.length}\r\nContent-Length: ${b.length + 1}\r\n\r\n${b}`),
      body.map((b) => `Content-Length: ${b.length}\r\nTransfer-Encoding: chunked\r\n\r\n${b}`),
      fc.constantFrom('-1', 'abc', '1e3', '0x10', '99999999999999999999').map((n) => `Content-Length: ${n}\r\n\r\n{}`),
      // Chunks that lie about their size.
      fc
        .tuple(body, fc.constantFrom('zz', '-5', 'ffffffffffffffffff', ''))
        .map(([b, size]) => `Transfer-Encoding: chunked\r\n\r\n${size}\r\n${b}\r\n0\r\n\r\n`),
      // A length shorter than the body: the rest is read as a request and is not one.
      body.map((b) => `Content-Length: 1\r\n\r\n{${b}GARBAGE\r\n\r\n`),
      // Bytes a header may not hold, and headers over the limit.
      fc.constantFrom('\u0000', '\u0001', '\u007f', '\r').map((c) => `X-Bad: a${c}b\r\nContent-Length: 2\r\n\r\n{}`),
      fc.integer({ min: 17, max: 40 }).map((k) => `X-Big: ${'h'.repeat(k * 1024)}\r\nContent-Length: 2\r\n\r\n{}`),
    );
    const requestLine = fc.constantFrom(
      'POST /api/v1/auth/login HTTP/1.1',
      'POST /api/v1/orders HTTP/1.1',
      'PATCH /api/v1/admin/users/usr_x HTTP/1.1',
      'POST /api/v1/webhooks/stripe HTTP/1.1',
      'POST /api/v1/auth/login HTTP/9.9',
      'POST /api/v1/%zz HTTP/1.1',
    );
    await fc.assert(
      fc.asyncProperty(requestLine, framing, async (line, rest) => {
        const head = `${line}\r\nHost: fuzz\r\nContent-Type: application/json\r\nAuthorization: Bearer ${tokens.admin}\r\n`;
        const answer = await rawExchange(Buffer.from(head + rest, 'latin1'));
        const last = answer.split(/(?=HTTP\/1\.1 \d{3} )/).pop() ?? '';
        const shown = `${JSON.stringify((head + rest).slice(0, 200))} → ${last.slice(0, 300)}`;
        const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(last)?.[1]);
        assert.ok(status >= 400 && status < 500, `not a 4xx: ${shown}`);
        assert.match(last, /\r\ncontent-type: application\/problem\+json/i, shown);
        const problem = JSON.parse(last.slice(last.indexOf('\r\n\r\n') + 4)) as { code: string; status: number };
        assert.ok(codes.get(problem.code)?.has(status), `code ${problem.code} with ${status}: ${shown}`);
        const now = await snapshot(app);
        assert.deepEqual(changedParts(state, now), [], shown);
      }),
      fuzzOptions(),
    );
  });

  // --- the webhook endpoint, with valid signatures ---

  const now = () => Math.floor(Date.now() / 1000);
  const signedPost = (payload: string | Buffer, headers: Record<string, string> = {}): Sent => ({
    method: 'post',
    path: '/api/v1/webhooks/stripe',
    headers: {
      'content-type': 'application/json',
      'stripe-signature': stripeSignature(payload, WEBHOOK_SECRET, now()),
      ...headers,
    },
    body: payload,
  });

  /** Signed bodies that are not well-formed events: never stored, never a 5xx. */
  const malformedEvent = fc.oneof(
    jsonValue.filter((v) => !v.startsWith('{')),
    poisonBody(['id', 'object', 'type', 'created', 'data']),
    fc
      .record({
        id: fc.oneof(
          jsonValue,
          poisonString.map((s) => JSON.stringify(s)),
        ),
        type: fc.oneof(jsonValue, fc.constant('"checkout.session.completed"')),
        created: fc.oneof(jsonValue, fc.constant('1700000000')),
        data: fc.oneof(
          jsonValue,
          poisonString.map((s) => `{"object":{"id":${JSON.stringify(s)}}}`),
        ),
        object: fc.constantFrom('"event"', '"v2.core.event"', 'null', '1'),
      })
      // At least one member is wrong: the envelope itself, or a string jsonb refuses.
      .filter(
        (e) => !(/^"[A-Za-z0-9_]{1,255}"$/.test(e.id) && e.object === '"event"' && /^"[a-z0-9_.]+"$/.test(e.type)),
      )
      .map((e) => objectText(Object.entries(e))),
    fc.tuple(poisonString, fc.constantFrom('id', 'type', 'data')).map(([s, where]) => {
      const event: Record<string, unknown> = {
        id: 'evt_fuzz_1',
        object: 'event',
        type: 'checkout.session.completed',
        created: 1700000000,
        data: { object: { id: 'cs_1', metadata: {} } },
      };
      if (where === 'data') event.data = { object: { id: 'cs_1', metadata: { note: s } } };
      else event[where] = s;
      return JSON.stringify(event);
    }),
    fc
      .integer({ min: 65, max: 4000 })
      .map(
        (n) =>
          `{"id":"evt_deep","object":"event","type":"a.b","created":1,"data":{"object":${'['.repeat(n)}${']'.repeat(n)}}}`,
      ),
    fc.uint8Array({ minLength: 1, maxLength: 200 }).map((b) => Buffer.from(b)),
  );

  it('the webhook endpoint: a signed body that is not a well-formed event is 400 invalid_event, nothing stored', async () => {
    await fc.assert(
      fc.asyncProperty(malformedEvent, async (payload) => {
        const res = await send(signedPost(payload));
        assert.ok(res.status === 400, `${res.status} ${res.text.slice(0, 200)} for ${String(payload).slice(0, 200)}`);
        assert.match(res.body.code, /^invalid_(event|signature)$/);
        const after = await snapshot(app);
        const changed = changedParts(state, after);
        // Once seen on PostgreSQL under a loaded CI run: the inbox changed after a refused request. The rows are
        // printed so that the next occurrence says what changed.
        if (changed.length > 0) {
          const rows = await app.database.db.selectFrom('webhook_inbox').selectAll().execute();
          assert.fail(`state changed (${changed.join(', ')}); inbox now: ${JSON.stringify(rows).slice(0, 3000)}`);
        }
      }),
      fuzzOptions(),
    );
  });

  it('the webhook endpoint: forged, stale and hostile signature headers and lying encodings are 4xx, nothing stored', async () => {
    const header = fc.oneof(
      anyString.map((s) => s.replace(/[^\x20-\x7e]/g, '')),
      fc.constantFrom('', 't=', 'v1=', 't=1,v1=00', `t=${now()},v1=${'0'.repeat(64)}`, 't=-1,v1=x', 't=1e999,v1=a'),
      fc.integer({ min: 301, max: 10 ** 9 }).map((age) => {
        const body = '{"id":"evt_old","object":"event","type":"a.b","created":1,"data":{"object":{}}}';
        return stripeSignature(body, WEBHOOK_SECRET, now() - age);
      }),
    );
    await fc.assert(
      fc.asyncProperty(
        header,
        jsonValue,
        fc.constantFrom(undefined, 'gzip', 'deflate', 'x-unknown'),
        async (h, body, enc) =>
          assertRefusedAndNothingChanged({
            method: 'post',
            path: '/api/v1/webhooks/stripe',
            headers: {
              'content-type': 'application/json',
              'stripe-signature': h,
              ...(enc === undefined ? {} : { 'content-encoding': enc }),
            },
            body,
          }),
      ),
      fuzzOptions(),
    );
  });

  it('the webhook endpoint: the fixed cases of the decision (docs/api.md § Stripe webhooks)', async () => {
    const cases: [string, string | Buffer][] = [
      ['not JSON', 'this is not json'],
      ['JSON null', 'null'],
      ['a number', '42'],
      ['an array', '[]'],
      ['no id', '{"object":"event","type":"a.b","created":1,"data":{"object":{}}}'],
      ['a NUL escape', '{"id":"evt_1","object":"event","type":"a.b","created":1,"data":{"object":{"x":"\\u0000"}}}'],
      [
        'a lone surrogate',
        '{"id":"evt_1","object":"event","type":"a.b","created":1,"data":{"object":{"x":"\\ud800"}}}',
      ],
    ];
    for (const [what, payload] of cases) {
      const res = await send(signedPost(payload));
      assert.equal(res.status, 400, `${what}: ${res.text}`);
      assert.equal(res.body.code, 'invalid_event', what);
    }
    // A byte-order mark before a signed event: the SDK drops it as it decodes, so the signature over the text without
    // it verifies and the SDK parses the event; the bytes as they came (which the inbox would store) are not JSON.
    const event = '{"id":"evt_bom","object":"event","type":"a.b","created":1,"data":{"object":{}}}';
    const bom = await send({
      ...signedPost(event),
      body: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(event)]),
    });
    assert.equal(bom.status, 400, bom.text);
    assert.equal(bom.body.code, 'invalid_event');
    // Signed with the mark, it never verifies.
    const signedWithMark = await send(signedPost(`\ufeff${event}`));
    assert.equal(signedWithMark.status, 400, signedWithMark.text);
    assert.equal(signedWithMark.body.code, 'invalid_signature');
    // Bytes that are not UTF-8: the SDK checks the signature over their decoded text, so it never verifies.
    const bytes = Buffer.from([0x7b, 0xff, 0xfe, 0x7d]);
    const res = await send(signedPost(bytes));
    assert.equal(res.status, 400, res.text);
    assert.equal(res.body.code, 'invalid_signature');
    assert.deepEqual(changedParts(state, await snapshot(app)), []);
  });
});

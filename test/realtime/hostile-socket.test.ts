import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { io as connect, type Socket } from 'socket.io-client';
import {
  MAX_CONNECTIONS_PER_USER,
  MAX_MESSAGE_BYTES,
  MESSAGES_PER_SECOND,
} from '../../src/modules/realtime/realtime.server.ts';
import { createUser } from '../helpers.ts';
import { anyString, changedParts, FUZZ_SEED, fuzzOptions, jsonValue, poisonString, snapshot } from '../fuzz-support.ts';
import { connectClient, connectError, startRealtimeApp, waitUntil, type RealtimeTestApp } from './support.ts';

/**
 * Issue 12, the Socket.IO side (docs/api.md § Socket.IO, limits): hostile handshakes are refused with a documented
 * message, hostile messages get a documented error or nothing, oversized payloads and floods close the socket
 * cleanly, one user cannot hold more than MAX_CONNECTIONS_PER_USER sockets on a node, and nothing changes.
 */
const HANDSHAKE_MESSAGES = new Set(['unauthorized', 'forbidden', 'validation_failed', 'too_many_connections']);
const ACK_ERRORS = new Set(['not_found', 'validation_failed', 'rate_limited', 'too_many_subscriptions']);

/** The value a JSON text stands for (the fuzzer's texts), or the text itself when it does not parse. */
const valueOf = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
};

describe(`Socket.IO under hostile input (FUZZ_SEED=${FUZZ_SEED})`, () => {
  let app: RealtimeTestApp;
  let user: Awaited<ReturnType<typeof createUser>>;
  let state: Record<string, string>;
  before(async () => {
    app = await startRealtimeApp();
    user = await createUser(app, 'admin');
    state = await snapshot(app);
  });
  after(() => app.close());

  /**
   * How a handshake with `auth` ends: the connect_error's message, or `closed` when the server closed the
   * connection (an `auth` that is not an object is not a valid CONNECT packet: Socket.IO drops the connection).
   */
  const refusal = (auth: unknown): Promise<string> => {
    const socket = connect(app.baseUrl, {
      path: '/socket.io',
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      auth: auth as Record<string, unknown>,
    });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('neither refused nor closed within 10 s')), 10_000);
      const done = (outcome: string) => {
        clearTimeout(timer);
        socket.close();
        resolve(outcome);
      };
      socket.once('connect', () => done('connected'));
      socket.once('connect_error', (error) => done(error.message));
      socket.once('disconnect', () => done('closed'));
    });
  };

  const healthy = async () => {
    const probe = await connectClient(app.baseUrl, { token: user.token });
    probe.close();
    assert.equal((await fetch(`${app.baseUrl}/healthz`)).status, 200);
    assert.deepEqual(changedParts(state, await snapshot(app)), []);
  };

  it('hostile handshakes are refused with a documented message, and nothing changes', async () => {
    const forgedToken = fc.oneof(
      anyString,
      poisonString,
      fc.constantFrom('', 'null', `${user.token}x`, user.token.split('.').slice(0, 2).join('.')),
    );
    const auth = fc.oneof(
      fc.record({ token: fc.oneof(forgedToken, jsonValue.map(valueOf)) }),
      fc.record({ token: fc.constant(user.token), lastEventId: jsonValue.map(valueOf) }).filter((a) => {
        const id = a.lastEventId;
        return !(id === null || (Number.isSafeInteger(id) && (id as number) >= 0));
      }),
      jsonValue.map(valueOf).filter((v) => typeof v !== 'object' || v === null || !('token' in v)),
    );
    await fc.assert(
      fc.asyncProperty(auth, async (a) => {
        const outcome = await refusal(a);
        assert.ok(
          HANDSHAKE_MESSAGES.has(outcome) || outcome === 'closed',
          `${outcome} for ${JSON.stringify(a).slice(0, 200)}`,
        );
      }),
      fuzzOptions(),
    );
    await healthy();
  });

  it('hostile messages get a documented error or nothing; the socket stays up and nothing changes', async () => {
    const client = await connectClient(app.baseUrl, { token: user.token });
    const event = fc.constantFrom('order:subscribe', 'order:unsubscribe', 'order:subscribe', 'unknown', 'disconnect');
    const payload = fc.oneof(
      jsonValue.map(valueOf),
      poisonString.map((orderId) => ({ orderId })),
      anyString.map((orderId) => ({ orderId })),
      fc.integer({ min: 1, max: 40 }).map((n) => JSON.parse('['.repeat(n) + ']'.repeat(n)) as unknown),
    );
    let sent = 0;
    await fc.assert(
      fc.asyncProperty(event, payload, async (name, data) => {
        // Within the flood limit: this test is about what the messages hold, the flood is tested below.
        if (++sent % (MESSAGES_PER_SECOND / 2) === 0) await new Promise((r) => setTimeout(r, 1_000));
        if (name === 'unknown' || name === 'disconnect') {
          // A reserved or unknown event: socket.io-client refuses to emit `disconnect`; the server ignores the rest.
          if (name === 'unknown') client.socket.emit('made:up', data);
          return;
        }
        const reply = (await client.socket.timeout(10_000).emitWithAck(name, data)) as { ok: boolean; error?: string };
        assert.ok(
          reply.ok || ACK_ERRORS.has(reply.error ?? ''),
          `${name} ${JSON.stringify(data)} → ${JSON.stringify(reply)}`,
        );
      }),
      fuzzOptions(),
    );
    assert.equal(client.socket.connected, true);
    client.close();
    await healthy();
  });

  it(`a message over ${MAX_MESSAGE_BYTES} bytes closes that connection cleanly; others are untouched`, async () => {
    const big = await connectClient(app.baseUrl, { token: user.token });
    const other = await connectClient(app.baseUrl, { token: user.token });
    const closed = new Promise<string>((resolve) => big.socket.once('disconnect', resolve));
    big.socket.emit('order:subscribe', { orderId: 'x'.repeat(MAX_MESSAGE_BYTES + 1) });
    assert.match(await closed, /transport (close|error)/);
    assert.equal(other.socket.connected, true);
    other.close();
    await healthy();
  });

  it(`a flood past ${MESSAGES_PER_SECOND} messages a second: the server disconnects that socket, others stay`, async () => {
    const flooder = await connectClient(app.baseUrl, { token: user.token });
    const other = await connectClient(app.baseUrl, { token: user.token });
    const closed = new Promise<string>((resolve) => flooder.socket.once('disconnect', resolve));
    for (let i = 0; i < MESSAGES_PER_SECOND * 4; i++) flooder.socket.emit('made:up', { i });
    assert.equal(await closed, 'io server disconnect');
    assert.equal(other.socket.connected, true);
    other.close();
    await healthy();
  });

  it(`one user holds at most ${MAX_CONNECTIONS_PER_USER} sockets on a node; closing one makes room`, async () => {
    const heavy = await createUser(app, 'customer');
    state = await snapshot(app);
    const open: Socket[] = [];
    for (let i = 0; i < MAX_CONNECTIONS_PER_USER; i++) {
      open.push((await connectClient(app.baseUrl, { token: heavy.token })).socket);
    }
    const refused = await connectError(app.baseUrl, { token: heavy.token });
    assert.equal(refused.message, 'too_many_connections');
    // Another user is not affected.
    (await connectClient(app.baseUrl, { token: user.token })).close();
    open.pop()!.close();
    // The server learns of the close asynchronously: try until the slot is free (bounded by waitUntil).
    let again: Socket | undefined;
    await waitUntil(async () => {
      const socket = connect(app.baseUrl, {
        path: '/socket.io',
        transports: ['websocket'],
        reconnection: false,
        forceNew: true,
        auth: { token: heavy.token },
      });
      const ok = await new Promise<boolean>((resolve) => {
        socket.once('connect', () => resolve(true));
        socket.once('connect_error', () => resolve(false));
      });
      if (ok) again = socket;
      else socket.close();
      return ok;
    }, 'a free slot after closing one socket');
    again?.close();
    for (const socket of open) socket.close();
    await healthy();
  });
});

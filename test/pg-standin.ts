import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { PGlite } from '@electric-sql/pglite';
import { Kysely } from 'kysely';
import { migrateToLatest } from '../src/db/migrate.ts';
import { PGliteDialect } from '../src/db/pglite-dialect.ts';
import { inProcess } from '../src/db/pglite-thread.ts';
import type { DB } from '../src/db/schema.ts';

/**
 * A PostgreSQL server stand-in for tier-1 tests: PGlite in memory behind a TCP port that speaks the wire
 * protocol (PGlite answers the startup and every later message itself; this only frames them). Every
 * connection shares PGlite's one session, so it suits probes and simple queries, not concurrent transactions.
 */
export interface PgStandIn {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` */
  url: string;
  port: number;
  /** Stops listening and drops every connection, as a server that went away; `start()` may bring it back. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
  /** From now on messages are read and never answered, as a server that hangs with its connections open. */
  freeze(): void;
  close(): Promise<void>;
}

/** A port that nothing listens on (taken, then released): connecting to it is refused. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Starts the stand-in on `port` (0: a free one), migrated to the latest schema. */
export async function startPgStandIn(port = 0): Promise<PgStandIn> {
  const lite = await PGlite.create();
  const db = new Kysely<DB>({ dialect: new PGliteDialect(inProcess(lite)) });
  await migrateToLatest(db);
  const sockets = new Set<Socket>();
  // One queue for every connection: PGlite runs one message at a time.
  let queue: Promise<unknown> = Promise.resolve();
  let frozen = false;
  const serve = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let pending = Buffer.alloc(0);
    let started = false;
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      for (;;) {
        // The startup message has no type byte: length first. Every later message: type, then length.
        const header = started ? 5 : 4;
        if (pending.length < header) return;
        const size = started ? pending.readInt32BE(1) + 1 : pending.readInt32BE(0);
        if (pending.length < size) return;
        const message = new Uint8Array(pending.subarray(0, size));
        pending = pending.subarray(size);
        started = true;
        if (frozen) continue;
        queue = queue.then(async () => {
          if (socket.destroyed) return;
          const reply = await lite.execProtocolRaw(message);
          if (reply.length > 0 && !socket.destroyed) socket.write(reply);
        });
      }
    });
  };
  let server: Server | undefined;
  const start = async () => {
    server = createServer(serve);
    server.listen(port, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as { port: number }).port;
  };
  const stop = async () => {
    const closing = server;
    server = undefined;
    if (closing === undefined) return;
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => closing.close(() => resolve()));
  };
  await start();
  return {
    get url() {
      return `postgres://postgres@127.0.0.1:${port}/postgres`;
    },
    get port() {
      return port;
    },
    start,
    stop,
    freeze() {
      frozen = true;
    },
    async close() {
      await stop();
      await queue.catch(() => {});
      await db.destroy();
    },
  };
}

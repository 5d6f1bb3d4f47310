import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import amqp, { type ChannelModel } from 'amqplib';
import pg from 'pg';

/**
 * The services the second tier (`npm run test:services`, the tests under test/services/) needs, where it
 * looks for them, and a check of each with a short bound: the runner checks them all before any test
 * runs and stops, one line per missing service, when one is not there.
 */

export interface ServiceAddresses {
  /** A PostgreSQL server whose user may create databases (each test makes its own). */
  postgres: string;
  redis: string;
  amqp: string;
  /** The Chromium the browser tests drive (never a downloaded browser build). */
  chromium: string;
}

/** From the environment (TEST_DATABASE_URL, TEST_REDIS_URL, TEST_AMQP_URL, CHROMIUM_PATH), else the local defaults. */
export function serviceAddresses(env: NodeJS.ProcessEnv = process.env): ServiceAddresses {
  return {
    postgres: env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres',
    redis: env.TEST_REDIS_URL || 'redis://127.0.0.1:6379',
    amqp: env.TEST_AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672',
    chromium: env.CHROMIUM_PATH || '/usr/bin/chromium',
  };
}

export type ServiceName = 'PostgreSQL' | 'Redis' | 'RabbitMQ' | 'Chromium';

export interface Missing {
  service: ServiceName;
  /** One line: the service, where it was looked for, what went wrong and how to start it. */
  line: string;
}

/** How to provide each service on a Debian machine like CI's (`.ci/run` does exactly this). */
export const HOW_TO_START: Record<ServiceName, string> = {
  PostgreSQL:
    'start it with `pg_ctlcluster <version> main start` (`pg_lsclusters` lists them; `apt-get install -y postgresql` if none), or set TEST_DATABASE_URL',
  Redis:
    'start it with `redis-server --daemonize yes` (`apt-get install -y redis-server` if missing), or set TEST_REDIS_URL',
  RabbitMQ:
    'start it with `rabbitmq-server -detached` (`apt-get install -y rabbitmq-server` if missing), or set TEST_AMQP_URL',
  Chromium: 'install it with `apt-get install -y chromium`, or set CHROMIUM_PATH',
};

const DEFAULT_TIMEOUT_MS = 3_000;

/** The URL without its password, for messages. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

function messageOf(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return messageOf(error.errors[0]);
  if (error instanceof Error) return error.message || (error as NodeJS.ErrnoException).code || error.name;
  return String(error);
}

/** Runs `attempt`; fails with "no answer within …" when it takes longer than `timeoutMs`, after `abandon`. */
async function bounded<T>(attempt: Promise<T>, timeoutMs: number, abandon: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      abandon();
      reject(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  try {
    return await Promise.race([attempt, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Connects, checks that the user may create databases; resolves with a problem, or undefined when usable. */
export async function checkPostgres(url: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  client.on('error', () => {}); // reported through the attempt below
  try {
    const canCreate = await bounded(
      (async () => {
        await client.connect();
        const { rows } = await client.query<{ ok: boolean }>(
          'select (rolcreatedb or rolsuper) as ok from pg_roles where rolname = current_user',
        );
        return rows[0]?.ok === true;
      })(),
      timeoutMs,
      () => void client.end().catch(() => {}),
    );
    return canCreate ? undefined : 'its user may not create databases (the tests make one each)';
  } catch (error) {
    return messageOf(error);
  } finally {
    await client.end().catch(() => {});
  }
}

/** One RESP command as an array of bulk strings. */
function resp(...args: string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
}

/** AUTH (when the URL has a password), then PING: resolves with a problem, or undefined on +PONG. */
export async function checkRedis(url: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<string | undefined> {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return 'not a URL';
  }
  const host = target.hostname.replace(/^\[|\]$/g, '');
  const port = Number(target.port || 6379);
  const socket: Socket =
    target.protocol === 'rediss:' ? connectTls({ host, port, servername: host }) : connectTcp({ host, port });
  const commands: string[] = [];
  if (target.password !== '') {
    const password = decodeURIComponent(target.password);
    commands.push(
      target.username === '' ? resp('AUTH', password) : resp('AUTH', decodeURIComponent(target.username), password),
    );
  }
  commands.push(resp('PING'));
  const conversation = new Promise<string | undefined>((resolve) => {
    let buffered = '';
    let answered = 0;
    socket.once(target.protocol === 'rediss:' ? 'secureConnect' : 'connect', () => socket.write(commands.join('')));
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      let end: number;
      while ((end = buffered.indexOf('\r\n')) !== -1) {
        const line = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        answered += 1;
        const isLast = answered === commands.length;
        if (line.startsWith('-')) return resolve(`answered ${line.slice(1)}`);
        if (isLast) return resolve(line === '+PONG' ? undefined : `answered ${JSON.stringify(line)} to PING`);
      }
    });
    socket.once('error', (error) => resolve(messageOf(error)));
    socket.once('close', () => resolve('closed the connection'));
  });
  try {
    return await bounded(conversation, timeoutMs, () => socket.destroy());
  } catch (error) {
    return messageOf(error);
  } finally {
    socket.destroy();
  }
}

/** Opens an AMQP connection (handshake and login) and closes it: resolves with a problem, or undefined. */
export async function checkAmqp(url: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<string | undefined> {
  let opened: ChannelModel | undefined;
  let isAbandoned = false;
  const attempt = amqp.connect(url, { timeout: timeoutMs }).then((model) => {
    opened = model;
    model.on('error', () => {});
    if (isAbandoned) void model.close().catch(() => {});
    return model;
  });
  try {
    await bounded(attempt, timeoutMs, () => (isAbandoned = true));
    return undefined;
  } catch (error) {
    attempt.catch(() => {});
    return messageOf(error);
  } finally {
    await opened?.close().catch(() => {});
  }
}

/** An executable file at `path`: resolves with a problem, or undefined. */
export async function checkChromium(path: string): Promise<string | undefined> {
  try {
    if (!(await stat(path)).isFile()) return 'not a file';
    await access(path, constants.X_OK);
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'not found';
    if (code === 'EACCES') return 'not executable';
    return messageOf(error);
  }
}

/** Every service checked at once; the missing ones, in a fixed order (empty: all there). */
export async function preflight(
  addresses: ServiceAddresses = serviceAddresses(),
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<Missing[]> {
  const checks: [ServiceName, string, Promise<string | undefined>][] = [
    ['PostgreSQL', redact(addresses.postgres), checkPostgres(addresses.postgres, timeoutMs)],
    ['Redis', redact(addresses.redis), checkRedis(addresses.redis, timeoutMs)],
    ['RabbitMQ', redact(addresses.amqp), checkAmqp(addresses.amqp, timeoutMs)],
    ['Chromium', addresses.chromium, checkChromium(addresses.chromium)],
  ];
  const missing: Missing[] = [];
  for (const [service, where, check] of checks) {
    const problem = await check;
    if (problem !== undefined) {
      missing.push({ service, line: `${service} at ${where}: ${problem} — ${HOW_TO_START[service]}` });
    }
  }
  return missing;
}

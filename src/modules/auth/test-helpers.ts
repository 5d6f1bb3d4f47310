// Helpers for the auth module's tests (not loaded by the application).
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { buildApp, type AppDeps } from '../../app.ts';
import { createLogger } from '../../observability/logger.ts';
import { systemClock } from '../../shared/clock.ts';
import { call, createTestDatabase, testConfig } from '../../../test/helpers.ts';
import { createTokenService } from './tokens.ts';
import type { SessionDto } from './auth.schemas.ts';

export const PASSWORD = 'correct horse battery staple';

export function uniqueEmail(tag = 'u'): string {
  return `${tag}_${randomBytes(6).toString('hex')}@example.test`;
}

/** Registers a fresh customer over HTTP and returns the session. */
export async function register(
  app: { baseUrl: string },
  body: { email?: string; password?: string; name?: string } = {},
): Promise<SessionDto & { password: string }> {
  const password = body.password ?? PASSWORD;
  const res = await call<SessionDto>(app, 'POST', '/api/v1/auth/register', {
    body: { email: body.email ?? uniqueEmail(), password, name: body.name ?? 'Ann Example' },
  });
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { ...res.body, password };
}

/** Like startTestApp, with extra dependencies (e.g. a short login block). */
export async function startAppWith(
  extra: Partial<AppDeps>,
): Promise<{ baseUrl: string; deps: AppDeps; close(): Promise<void> }> {
  const test = await createTestDatabase();
  const database = test.database;
  const config = testConfig();
  const clock = extra.clock ?? systemClock;
  const deps: AppDeps = {
    config,
    database,
    logger: createLogger(config.LOG_LEVEL),
    clock,
    tokens: createTokenService(config.JWT_SECRET ?? '', clock),
    ...extra,
  };
  const built = buildApp(deps);
  built.server.listen(0, '127.0.0.1');
  await once(built.server, 'listening');
  const { port } = built.server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    deps,
    async close() {
      built.server.closeAllConnections();
      await new Promise<void>((resolve) => built.server.close(() => resolve()));
      await test.drop();
    },
  };
}

/** The claims of a JWT, unverified: for asserting what the server put in. */
export function claimsOf(token: string): Record<string, unknown> {
  const payload = token.split('.')[1] ?? '';
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** Mails made for an address, oldest first (the `mails` table: the worker sends them later). */
export async function mailsTo(
  db: import('../../db/database.ts').Db,
  to: string,
): Promise<{ event_key: string; subject: string; text_body: string; html_body: string; status: string }[]> {
  return db
    .selectFrom('mails')
    .select(['event_key', 'subject', 'text_body', 'html_body', 'status'])
    .where('to_address', '=', to)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
}

/** The token in a mailed link (`/reset?token=…`, `/verify?token=…`). */
export function tokenIn(text: string): string {
  const match = /token=([\w-]+)/.exec(text);
  if (match === null) throw new Error(`no token in: ${text}`);
  return match[1]!;
}

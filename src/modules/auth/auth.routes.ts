import type { ModuleRoutes } from '../../http/routes.ts';
import { actorOf } from '../../http/authenticate.ts';
import { loginBody, refreshTokenBody, registerBody, sessionResponse, userResponse } from './auth.schemas.ts';
import type { AuthService } from './auth.service.ts';

const tags = ['auth'];

/** /api/v1/auth: parse → service → send. */
export function authRoutes(routes: ModuleRoutes, auth: AuthService): void {
  credentialRoutes(routes, auth);
  sessionRoutes(routes, auth);
}

/** Register, login and refresh: the routes that hand out sessions. */
function credentialRoutes({ route }: ModuleRoutes, auth: AuthService): void {
  route(
    {
      method: 'post',
      path: '/register',
      summary: 'Create a customer account and sign in',
      tags,
      auth: false,
      body: registerBody,
      responses: {
        201: { description: 'Created and signed in', schema: sessionResponse },
        409: { description: 'email_taken' },
      },
    },
    async ({ body }, _req, res) => {
      res.status(201).json(await auth.register(body));
    },
  );

  route(
    {
      method: 'post',
      path: '/login',
      summary: 'Sign in with e-mail and password',
      tags,
      auth: false,
      body: loginBody,
      responses: {
        200: { description: 'Signed in', schema: sessionResponse },
        401: { description: 'invalid_credentials (the same for an unknown e-mail and a wrong password)' },
        429: { description: 'rate_limited: 10 consecutive failures for this e-mail from this address' },
      },
    },
    async ({ body }, req, res) => {
      res.json(await auth.login(body, req.ip ?? req.socket.remoteAddress ?? 'unknown'));
    },
  );

  route(
    {
      method: 'post',
      path: '/refresh',
      summary: 'Exchange a refresh token for a new pair; the old refresh token is spent',
      tags,
      auth: false,
      body: refreshTokenBody,
      responses: {
        200: { description: 'A new access and refresh token', schema: sessionResponse },
        401: { description: 'unauthorized, or refresh_token_reused (the whole family is then revoked)' },
      },
    },
    async ({ body }, _req, res) => {
      res.json(await auth.refresh(body.refreshToken));
    },
  );
}

/** Logout and the caller's own account. */
function sessionRoutes({ route }: ModuleRoutes, auth: AuthService): void {
  route(
    {
      method: 'post',
      path: '/logout',
      summary: 'Revoke the refresh token and its family (always 204, even for an unknown token)',
      tags,
      auth: false,
      body: refreshTokenBody,
      responses: { 204: { description: 'Signed out' } },
    },
    async ({ body }, _req, res) => {
      await auth.logout(body.refreshToken);
      res.status(204).end();
    },
  );

  route(
    {
      method: 'get',
      path: '/me',
      summary: 'The signed-in user',
      tags,
      auth: true,
      responses: { 200: { description: 'The user', schema: userResponse } },
    },
    async (_input, req, res) => {
      res.json({ user: await auth.me(actorOf(req)) });
    },
  );
}

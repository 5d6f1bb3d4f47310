import { z } from 'zod';
import type { ModuleRoutes } from '../../http/routes.ts';
import { emailSchema, newPasswordSchema, sessionResponse } from './auth.schemas.ts';
import { assertNewPassword } from './password-policy.ts';
import type { SetupService } from './setup.service.ts';

const tags = ['setup'];

export const setupBody = z.strictObject({
  /** From the start banner's link `/admin?setup=<token>`. */
  token: z.string().min(1).max(512),
  email: emailSchema,
  password: newPasswordSchema,
  name: z.string().trim().min(1).max(200),
});

export const setupStatus = z.object({ needed: z.boolean() });

/** /api/v1/setup: the first admin of a fresh install, with the one-time token of the start banner. */
export function setupRoutes({ route }: ModuleRoutes, setup: SetupService): void {
  route(
    {
      method: 'get',
      path: '/',
      summary: 'Whether the first admin still has to be created (true while no admin exists)',
      tags,
      auth: false,
      responses: { 200: { description: 'Setup status', schema: setupStatus } },
    },
    async (_input, _req, res) => {
      res.json({ needed: await setup.needed() });
    },
  );

  route(
    {
      method: 'post',
      path: '/',
      summary: 'Create the first admin with the one-time setup token printed at start, and sign in',
      tags,
      auth: false,
      body: setupBody,
      responses: {
        201: { description: 'The first admin, signed in', schema: sessionResponse },
        403: { description: 'forbidden: the token is wrong, used, expired (1 hour) or replaced by a restart' },
        409: { description: 'setup_done: an admin exists already; email_taken' },
      },
    },
    async ({ body }, _req, res) => {
      await assertNewPassword(body.password, body.email);
      res.status(201).json(await setup.complete(body));
    },
  );
}

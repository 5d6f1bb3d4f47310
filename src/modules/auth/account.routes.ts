import { z } from 'zod';
import { actorOf } from '../../http/authenticate.ts';
import type { ModuleRoutes } from '../../http/routes.ts';
import {
  changeEmailBody,
  changePasswordBody,
  deleteMeBody,
  passwordResetBody,
  passwordResetConfirmBody,
  sessionResponse,
  updateMeBody,
  userResponse,
  verifyEmailBody,
} from './auth.schemas.ts';
import type { ProfileService } from './profile.service.ts';
import type { RecoveryService } from './recovery.service.ts';

const tags = ['auth'];
const accepted = z.object({ accepted: z.literal(true) });
const ipOf = (req: { ip?: string | undefined; socket: { remoteAddress?: string | undefined } }): string =>
  req.ip ?? req.socket.remoteAddress ?? 'unknown';
const badToken = { description: 'invalid_token: unknown, already used or expired (the detail says which)' };
const wrongPassword = { description: 'wrong_password: the password given is not the account’s' };

/** /api/v1/auth: password reset and e-mail verification (public, the token is the proof). */
export function recoveryRoutes({ route }: ModuleRoutes, recovery: RecoveryService): void {
  route(
    {
      method: 'post',
      path: '/password-reset',
      summary: 'Mail a password reset link (202 whatever the address: nothing tells whether it has an account)',
      tags,
      auth: false,
      body: passwordResetBody,
      responses: {
        202: {
          description: 'Accepted; a link valid 30 minutes is mailed if the address has an account',
          schema: accepted,
        },
        429: {
          description:
            'rate_limited: over 5 requests for this e-mail or 20 from this address within an hour; nothing sent',
        },
      },
    },
    async ({ body }, req, res) => {
      await recovery.requestPasswordReset(body.email, ipOf(req));
      res.status(202).json({ accepted: true });
    },
  );
  route(
    {
      method: 'post',
      path: '/password-reset/confirm',
      summary: 'Set a new password with the mailed token; every session is signed out',
      tags,
      auth: false,
      body: passwordResetConfirmBody,
      responses: { 204: { description: 'Password set; refresh tokens revoked, sockets closed' }, 400: badToken },
    },
    async ({ body }, _req, res) => {
      await recovery.confirmPasswordReset(body.token, body.password);
      res.status(204).end();
    },
  );
  route(
    {
      method: 'post',
      path: '/verify-email',
      summary: 'Verify the address with the mailed token (a pending new address becomes the account’s)',
      tags,
      auth: false,
      body: verifyEmailBody,
      responses: {
        200: { description: 'Verified', schema: userResponse },
        400: badToken,
        409: { description: 'email_taken (another account took the new address meanwhile), email_changed' },
      },
    },
    async ({ body }, _req, res) => {
      res.json({ user: await recovery.verifyEmail(body.token) });
    },
  );
  route(
    {
      method: 'post',
      path: '/verify-email/resend',
      summary: 'Mail a new verification link (for the pending address, else the unverified one)',
      tags,
      auth: true,
      responses: {
        202: { description: 'Mailed', schema: accepted },
        409: { description: 'email_already_verified: nothing to verify' },
        429: { description: 'rate_limited: over 5 links within an hour' },
      },
    },
    async (_input, req, res) => {
      await recovery.resendVerification(actorOf(req));
      res.status(202).json({ accepted: true });
    },
  );
}

/** /api/v1/auth/me, /password, /email: the signed-in user's own account. */
export function profileRoutes({ route }: ModuleRoutes, profile: ProfileService): void {
  route(
    {
      method: 'patch',
      path: '/me',
      summary: 'Change the signed-in user’s name',
      tags,
      auth: true,
      body: updateMeBody,
      responses: { 200: { description: 'The user', schema: userResponse } },
    },
    async ({ body }, req, res) => {
      res.json({ user: await profile.updateName(actorOf(req), body.name) });
    },
  );
  route(
    {
      method: 'post',
      path: '/password',
      summary: 'Change the password; every other session is signed out, this one gets a new pair',
      tags,
      auth: true,
      body: changePasswordBody,
      responses: {
        200: { description: 'A new access and refresh token', schema: sessionResponse },
        403: wrongPassword,
        429: { description: 'rate_limited: 10 wrong passwords, as for login' },
      },
    },
    async ({ body }, req, res) => {
      res.json(await profile.changePassword(actorOf(req), body, ipOf(req)));
    },
  );
  route(
    {
      method: 'post',
      path: '/email',
      summary: 'Ask to change the e-mail address: a link is mailed to the new one, which counts once verified',
      tags,
      auth: true,
      body: changeEmailBody,
      responses: {
        202: { description: 'The user, with pendingEmail set', schema: userResponse },
        403: wrongPassword,
        409: { description: 'email_taken, email_unchanged' },
        429: { description: 'rate_limited: 10 wrong passwords, as for login' },
      },
    },
    async ({ body }, req, res) => {
      res.status(202).json({ user: await profile.changeEmail(actorOf(req), body, ipOf(req)) });
    },
  );
  route(
    {
      method: 'delete',
      path: '/me',
      summary: 'Delete the account: personal data erased, orders and payments kept anonymised, signed out everywhere',
      tags,
      auth: true,
      body: deleteMeBody,
      responses: {
        204: { description: 'Deleted' },
        403: { description: 'wrong_password; forbidden for the last admin' },
        429: { description: 'rate_limited: 10 wrong passwords, as for login' },
      },
    },
    async ({ body }, req, res) => {
      await profile.deleteOwnAccount(actorOf(req), body.password, ipOf(req));
      res.status(204).end();
    },
  );
}

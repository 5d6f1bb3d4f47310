import type { Db } from '../../db/database.ts';
import { actorOf } from '../../http/authenticate.ts';
import type { ModuleRoutes } from '../../http/routes.ts';
import type { Clock } from '../../shared/clock.ts';
import { setAccountDisabled, type SessionControl } from './accounts.ts';
import { updateUserBody, userIdParams, userResponse } from './auth.schemas.ts';
import type { ProfileService } from './profile.service.ts';
import { changeUserRole } from './users.service.ts';

/** /api/v1/admin/users */
export function adminUsersRoutes(
  { route }: ModuleRoutes,
  db: Db,
  clock: Clock,
  sessions: SessionControl,
  profile: ProfileService,
): void {
  route(
    {
      method: 'patch',
      path: '/:id',
      summary: "Change a user's role, or disable or enable the account (admin only)",
      tags: ['admin'],
      auth: true,
      params: userIdParams,
      body: updateUserBody,
      responses: {
        200: { description: 'The updated user', schema: userResponse },
        403: { description: 'forbidden: not an admin, or an admin changing their own role or disabling themselves' },
        404: { description: 'not_found' },
      },
    },
    async ({ params, body }, req, res) => {
      const actor = actorOf(req);
      let user = body.role === undefined ? undefined : await changeUserRole(db, clock, actor, params.id, body.role);
      if (body.disabled !== undefined) {
        user = await setAccountDisabled(db, clock, sessions, actor, params.id, body.disabled);
      }
      res.json({ user });
    },
  );
  route(
    {
      method: 'delete',
      path: '/:id',
      summary: 'Delete an account: personal data erased, orders and payments kept anonymised (admin only)',
      tags: ['admin'],
      auth: true,
      params: userIdParams,
      responses: {
        204: { description: 'Deleted; its tokens are revoked and its sockets closed' },
        403: { description: 'forbidden: not an admin, or an admin deleting themselves (DELETE /auth/me does that)' },
        404: { description: 'not_found, also for an account already deleted' },
      },
    },
    async ({ params }, req, res) => {
      await profile.deleteAccountAsAdmin(actorOf(req), params.id);
      res.status(204).end();
    },
  );
}

import type { Db } from '../../db/database.ts';
import { actorOf } from '../../http/authenticate.ts';
import type { ModuleRoutes } from '../../http/routes.ts';
import type { Clock } from '../../shared/clock.ts';
import { changeRoleBody, userIdParams, userResponse } from './auth.schemas.ts';
import { changeUserRole } from './users.service.ts';

/** /api/v1/admin/users */
export function adminUsersRoutes({ route }: ModuleRoutes, db: Db, clock: Clock): void {
  route(
    {
      method: 'patch',
      path: '/:id',
      summary: "Change a user's role (admin only)",
      tags: ['admin'],
      auth: true,
      params: userIdParams,
      body: changeRoleBody,
      responses: {
        200: { description: 'The updated user', schema: userResponse },
        403: { description: 'forbidden: not an admin, or an admin changing their own role' },
        404: { description: 'not_found' },
      },
    },
    async ({ params, body }, req, res) => {
      res.json({ user: await changeUserRole(db, clock, actorOf(req), params.id, body.role) });
    },
  );
}

import type { ModuleContext } from '../../app.ts';
import { adminUsersRoutes } from './admin-users.routes.ts';
import { authRoutes } from './auth.routes.ts';
import { createAuthService } from './auth.service.ts';
import { createLoginLimiter } from './login-limiter.ts';
import { prepareDummyHash } from './password.ts';

export { createTokenService, type TokenService } from './tokens.ts';
export type { LoginLimiterOptions } from './login-limiter.ts';
export { createRateLimitStore, type RateLimitStore } from './rate-limits.ts';
export { can, requirePermission, permissions, type Permission } from './permissions.ts';
export { toUserDto, type UserDto } from './auth.schemas.ts';
export { ensureAdmin, createOrPromoteAdmin } from './users.service.ts';

/** Mounts /api/v1/auth and /api/v1/admin/users. */
export function authModule(ctx: ModuleContext): void {
  const { database, tokens, clock, loginLimiter, rateLimits } = ctx.deps;
  prepareDummyHash();
  const limiter = createLoginLimiter(rateLimits, loginLimiter);
  const auth = createAuthService({ db: database.db, tokens, clock, limiter });
  authRoutes(ctx.define('/api/v1/auth'), auth);
  adminUsersRoutes(ctx.define('/api/v1/admin/users'), database.db, clock);
}

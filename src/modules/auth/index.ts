import type { ModuleContext } from '../../app.ts';
import { adminUsersRoutes } from './admin-users.routes.ts';
import { authRoutes } from './auth.routes.ts';
import { createAuthService, createSessionIssuer } from './auth.service.ts';
import { createLoginLimiter } from './login-limiter.ts';
import { prepareDummyHash } from './password.ts';
import { loadBlocklist } from './password-policy.ts';
import { setupRoutes } from './setup.routes.ts';
import { createSetupService } from './setup.service.ts';

export { createTokenService, type TokenService } from './tokens.ts';
export { withAccountCheck, type SessionControl } from './accounts.ts';
export type { LoginLimiterOptions } from './login-limiter.ts';
export { createRateLimitStore, type RateLimitStore } from './rate-limits.ts';
export { can, requirePermission, permissions, type Permission } from './permissions.ts';
export { toUserDto, type UserDto } from './auth.schemas.ts';
export { ensureAdmin, createOrPromoteAdmin } from './users.service.ts';
export { issueSetupToken, SETUP_TOKEN_TTL_MS } from './setup.service.ts';

/** Mounts /api/v1/auth, /api/v1/setup and /api/v1/admin/users. */
export function authModule(ctx: ModuleContext): void {
  const { database, tokens, clock, loginLimiter, rateLimits, sessions } = ctx.deps;
  prepareDummyHash();
  // The password blocklist is decompressed ahead of the first registration; a failure surfaces there.
  loadBlocklist().catch(() => undefined);
  const limiter = createLoginLimiter(rateLimits, loginLimiter);
  const auth = createAuthService({ db: database.db, tokens, clock, limiter });
  authRoutes(ctx.define('/api/v1/auth'), auth);
  const setup = createSetupService({ db: database.db, clock, issueSession: createSessionIssuer({ tokens, clock }) });
  setupRoutes(ctx.define('/api/v1/setup'), setup);
  adminUsersRoutes(ctx.define('/api/v1/admin/users'), database.db, clock, sessions);
}

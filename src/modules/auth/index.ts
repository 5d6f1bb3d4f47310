import type { ModuleContext } from '../../app.ts';

export { createTokenService, type TokenService } from './tokens.ts';

/** Mounts /api/v1/auth and /api/v1/admin/users. */
export function authModule(_ctx: ModuleContext): void {}

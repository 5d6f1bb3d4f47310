import type { ModuleRoutes } from './routes.ts';

/**
 * What a module gets to declare its routes: the dependencies it names (`Deps`, a slice of what app.ts
 * holds) and `define(basePath)`, which gives a documented, validated router. Each module declares its own
 * `Deps`, so no module imports app.ts (which imports every module).
 */
export interface ModuleContext<Deps> {
  deps: Deps;
  define(basePath: string, options?: { rawBody?: boolean }): ModuleRoutes;
}

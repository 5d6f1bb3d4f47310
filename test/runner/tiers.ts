import { globSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The two tiers of tests, by where a file lives:
 * - tier 1 (`npm test`): every `src/**\/*.test.ts` and `test/**\/*.test.ts` outside `test/services/` — PGlite
 *   and in-process servers only, so it passes on a machine with Node and `npm install` alone;
 * - tier 2 (`npm run test:services`): every `test/**\/*.test.ts` under `test/services/` — the tests that need
 *   a real PostgreSQL, Redis, RabbitMQ or Chromium (see preflight.ts).
 */

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const SERVICES_DIR = 'test/services/';

export type Tier = 'bare' | 'services';

/** Whether a path relative to the repository (forward slashes) belongs to the services tier. */
export function isServicesTest(relativePath: string): boolean {
  return relativePath.replaceAll('\\', '/').replace(/^\.\//, '').startsWith(SERVICES_DIR);
}

/** Every test file of the repository, relative to its root, sorted. */
export function allTestFiles(root = ROOT): string[] {
  return globSync(['src/**/*.test.ts', 'test/**/*.test.ts'], { cwd: root })
    .map((p) => p.replaceAll('\\', '/'))
    .sort();
}

/** The test files of a tier, relative to the repository root, sorted. */
export function testFiles(tier: Tier, root = ROOT): string[] {
  return allTestFiles(root).filter((p) => isServicesTest(p) === (tier === 'services'));
}

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

// `npm run lint:deps` (part of `npm run check`) runs dependency-cruiser with .dependency-cruiser.cjs. These
// tests run that same configuration over small planted trees, so a rule that stopped catching what it is for
// fails here, not silently.
const config = fileURLToPath(new URL('../../.dependency-cruiser.cjs', import.meta.url));
const depcruise = fileURLToPath(
  new URL('../../node_modules/dependency-cruiser/bin/dependency-cruiser.mjs', import.meta.url),
);

const roots: string[] = [];
after(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

const tsconfig = JSON.stringify({
  compilerOptions: {
    module: 'nodenext',
    moduleResolution: 'nodenext',
    allowImportingTsExtensions: true,
    verbatimModuleSyntax: true,
    noEmit: true,
  },
  include: ['src'],
});

/** A project in a temporary directory holding `files` and a tsconfig.json. */
function project(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'fulcrum-boundaries-'));
  roots.push(root);
  for (const [path, text] of Object.entries({ 'tsconfig.json': tsconfig, ...files })) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

interface Violation {
  rule: { name: string };
  from: string;
  to: string;
  cycle?: { name: string }[];
}

function run(root: string, outputType: 'json' | 'err') {
  return spawnSync(process.execPath, [depcruise, 'src', '--config', config, '--output-type', outputType], {
    cwd: root,
    encoding: 'utf8',
  });
}

/** The rules' violations over `root`'s src/ (the JSON report), and whether the check as run by npm fails. */
function cruise(root: string): { status: number | null; violations: Violation[] } {
  const json = run(root, 'json');
  assert.ok(json.stdout.length > 0, json.stderr);
  const report = JSON.parse(json.stdout) as { summary: { violations: Violation[] } };
  return { status: run(root, 'err').status, violations: report.summary.violations };
}

/** Two modules that respect the rules: b uses a through its index.ts, a's index uses its own file. */
const sound: Record<string, string> = {
  'src/modules/a/index.ts': "export { inner } from './inner.ts';\n",
  'src/modules/a/inner.ts': 'export const inner = 1;\n',
  'src/modules/b/index.ts': "import { inner } from '../a/index.ts';\nexport const b = inner + 1;\n",
  'src/main.ts': "import { b } from './modules/b/index.ts';\nexport const main = b;\n",
};

describe('module boundaries (.dependency-cruiser.cjs)', () => {
  it('passes a tree where modules meet only at their index.ts and nothing imports in a circle', () => {
    const { status, violations } = cruise(project(sound));
    assert.deepEqual(violations, []);
    assert.equal(status, 0);
  });

  it('fails a module that reaches past another module’s index.ts', () => {
    const { status, violations } = cruise(
      project({
        ...sound,
        'src/modules/b/index.ts': "import { inner } from '../a/inner.ts';\nexport const b = inner;\n",
      }),
    );
    assert.notEqual(status, 0);
    assert.deepEqual(
      violations.map((v) => [v.rule.name, v.from, v.to]),
      [['one-door', 'src/modules/b/index.ts', 'src/modules/a/inner.ts']],
    );
  });

  it('fails main.ts (outside the modules) reaching past an index.ts, type-only imports included', () => {
    const { status, violations } = cruise(
      project({
        ...sound,
        'src/main.ts': "import type { inner } from './modules/a/inner.ts';\nexport type Main = typeof inner;\n",
      }),
    );
    assert.notEqual(status, 0);
    assert.deepEqual(
      violations.map((v) => [v.rule.name, v.from, v.to]),
      [['one-door-from-outside', 'src/main.ts', 'src/modules/a/inner.ts']],
    );
  });

  it('fails an import cycle, even one made of type-only imports through an index.ts', () => {
    const { status, violations } = cruise(
      project({
        ...sound,
        'src/app.ts': "import { b } from './modules/b/index.ts';\nexport interface Context { b: typeof b }\n",
        'src/modules/b/index.ts':
          "import type { Context } from '../../app.ts';\nimport { inner } from '../a/index.ts';\nexport const b = inner;\nexport type B = Context;\n",
      }),
    );
    assert.notEqual(status, 0);
    const cycles = violations.filter((v) => v.rule.name === 'no-cycle');
    assert.ok(cycles.length > 0, JSON.stringify(violations));
    assert.ok(cycles.every((v) => ['src/app.ts', 'src/modules/b/index.ts'].includes(v.from)));
  });

  it('fails a module that imports config.ts instead of being given its settings', () => {
    const { status, violations } = cruise(
      project({
        ...sound,
        'src/config.ts': 'export interface Config { PORT: number }\n',
        'src/modules/a/inner.ts':
          "import type { Config } from '../../config.ts';\nexport const inner = 1;\nexport type C = Config;\n",
      }),
    );
    assert.notEqual(status, 0);
    assert.deepEqual(
      violations.map((v) => [v.rule.name, v.from, v.to]),
      [['settings-passed-in', 'src/modules/a/inner.ts', 'src/config.ts']],
    );
  });

  it('allows a module’s own files and tests to reach into it', () => {
    const { violations } = cruise(
      project({
        ...sound,
        'src/modules/a/inner.test.ts': "import { inner } from './inner.ts';\nexport const t = inner;\n",
        'src/modules/b/b.test.ts': "import { inner } from '../a/inner.ts';\nexport const t = inner;\n",
      }),
    );
    assert.deepEqual(violations, []);
  });
});

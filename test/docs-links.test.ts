import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { anchorsOf } from '../scripts/check-docs-links.ts';

const script = fileURLToPath(new URL('../scripts/check-docs-links.ts', import.meta.url));

// The forbidden references are assembled here, so that this file does not contain them itself.
const up = '..';
const outsideDoc = ['DES', 'IGN'].join('') + '.md';
const contractDoc = ['A', 'PI'].join('') + '.md';
const outsideDir = `${up}/shared`;

const roots: string[] = [];
after(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

/** A project in a temporary directory (not a git work tree, so the script walks it). */
function project(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'fulcrum-docs-links-'));
  roots.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

function check(root: string): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [script, root], { encoding: 'utf8' });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** A project whose every reference and link is sound. */
const goodFiles: Record<string, string> = {
  'README.md': '# Shop\n\nSee [the API](docs/api.md#error-codes) and [the docs](docs/).\n',
  'docs/api.md':
    '# API\n\n## Error codes\n\nSee [operations](operations.md#runbook-dead-events) and [code](../src/shared/errors.ts).\n',
  'docs/operations.md': '# Operations\n\n## Runbook: dead events\n\nBack to [the top](#operations).\n',
  'src/shared/errors.ts': 'export const x = 1;\n',
  'src/modules/orders/orders.ts': `import { x } from '${up}/${up}/shared/errors.ts';\nexport const y = x;\n`,
  'src/modules/orders/README.md': '# Orders\n\nThe contract is [docs/api.md](../../../docs/api.md).\n',
};

describe('scripts/check-docs-links.ts', () => {
  it('passes a project whose links resolve and whose own src/shared is imported', () => {
    const result = check(project(goodFiles));
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /no reference outside the repository/);
  });

  it('fails on a path to the shared directory outside the repository', () => {
    const root = project({ ...goodFiles, 'README.md': `# Shop\n\nThe design lives in \`${outsideDir}/\`.\n` });
    const result = check(root);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /^README\.md:3: .*leads outside the repository/m);
  });

  it('fails on a source comment naming an outside document', () => {
    const root = project({
      ...goodFiles,
      'src/modules/orders/orders.ts': `// As ${contractDoc} says.\nexport const y = 1;\n`,
      'src/sandbox/index.ts': `// See ${up}/${up}/${outsideDir}/${outsideDoc}.\n`,
    });
    const result = check(root);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /^src\/modules\/orders\/orders\.ts:1: names /m);
    assert.match(result.stderr, /^src\/sandbox\/index\.ts:1: /m);
  });

  it('fails on a relative link to a file that does not exist', () => {
    const root = project({ ...goodFiles, 'docs/api.md': '# API\n\nSee [the guide](guide.md).\n' });
    const result = check(root);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /^docs\/api\.md:3: link guide\.md: docs\/guide\.md does not exist/m);
  });

  it('fails on an anchor no heading makes, and ignores links inside code', () => {
    const root = project({
      ...goodFiles,
      'README.md':
        '# Shop\n\n```md\n[not a link](nowhere.md)\n```\n\n`[nor this](nowhere.md)` but [this](docs/operations.md#runbook).\n',
    });
    const result = check(root);
    assert.equal(result.status, 1);
    assert.doesNotMatch(result.stderr, /nowhere/);
    assert.match(result.stderr, /^README\.md:7: link docs\/operations\.md#runbook: no heading makes #runbook/m);
  });

  it('fails on an npm script the README shows that package.json does not have', () => {
    const scripts = JSON.stringify({ scripts: { start: 'x', api: 'y', 'test:services': 'z' } });
    const good = project({
      ...goodFiles,
      'package.json': scripts,
      'README.md': '# Shop\n\n```sh\nnpm run api\nnpm run test:services -- a.ts\n```\n\nThen `npm run api`.\n',
    });
    assert.equal(check(good).status, 0, check(good).stderr);
    const bad = project({
      ...goodFiles,
      'package.json': scripts,
      'README.md': '# Shop\n\n```sh\nnpm run api\nnpm run worker # jobs\n```\n',
    });
    const result = check(bad);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /^README\.md:5: `npm run worker`: package\.json has no such script/m);
    assert.doesNotMatch(result.stderr, /npm run api/);
  });

  it('makes anchors as GitHub does', () => {
    const anchors = anchorsOf(
      '# Socket.IO\n## Orders — `/api/v1/orders`\n## Notes\n## Notes\n```\n# not a heading\n```\n',
    );
    assert.deepEqual([...anchors], ['socketio', 'orders--apiv1orders', 'notes', 'notes-1']);
  });
});

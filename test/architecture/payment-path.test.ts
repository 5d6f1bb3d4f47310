import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const doc = 'docs/architecture.md';

/** The numbered steps of docs/architecture.md § The path at a glance, in order. */
function steps(): string[] {
  const text = readFileSync(resolve(root, doc), 'utf8');
  const start = text.indexOf('### The path at a glance');
  assert.ok(start >= 0, `${doc} has a section "The path at a glance"`);
  const end = text.indexOf('\n### ', start + 1);
  return text
    .slice(start, end)
    .split(/\n(?=\d+\. )/)
    .filter((p) => /^\d+\. /.test(p))
    .map((p) => p.split('\n\n')[0]!);
}

/** The `[`name`](path)` links of a step. */
const linksOf = (step: string): { name: string; file: string }[] =>
  [...step.matchAll(/\[`(\w+)`\]\(\.\.\/([^)#]+)\)/g)].map((m) => ({ name: m[1]!, file: m[2]! }));

/** Whether `source` defines `name`: a function, a constant, a method or a property holding a function. */
const defines = (source: string, name: string): boolean =>
  new RegExp(`(function|const|let) ${name}\\b|^\\s+(async )?${name}\\(|^\\s+${name}\\??:`, 'm').test(source);

// The walk through a payment in docs/architecture.md stays true: each step links a function that its file defines,
// and the path stays short (issue 14: aim for no more than 10 files; it is 11, the last hop being realtime's own).
describe('docs: the path of one payment at a glance', () => {
  const links = steps().flatMap(linksOf);

  it('walks checkout, webhook, inbox, worker, handler, confirmation, order, outbox, relay and socket', () => {
    assert.deepEqual(
      links.map((l) => l.name),
      [
        'startCheckout',
        'stripeWebhookRoutes',
        'insertInboxEvent',
        'createInboxWorker',
        'handleGatewayEvent',
        'applyPaymentFact',
        'transitionOrder',
        'appendOutbox',
        'startOutboxRelay',
        'publish',
        'deliver',
      ],
    );
  });

  for (const { name, file } of links) {
    it(`${name} is defined in ${file}`, () => {
      assert.ok(defines(readFileSync(resolve(root, file), 'utf8'), name), `${file} defines ${name}`);
    });
  }

  it('every other function a step names is defined in a file the step links or names', () => {
    for (const step of steps()) {
      const files = [
        ...linksOf(step).map((l) => l.file),
        ...[...step.matchAll(/`(src\/[\w/.-]+\.ts)`/g)].map((m) => m[1]!),
      ];
      const sources = files.map((f) => readFileSync(resolve(root, f), 'utf8'));
      for (const [, name] of step.matchAll(/`([a-z]+[A-Z]\w*)`/g)) {
        assert.ok(
          sources.some((source) => defines(source, name!)),
          `${name} (step "${step.slice(0, 30)}…") is in none of ${files.join(', ')}`,
        );
      }
    }
  });

  it('names at most 11 files', () => {
    assert.ok(new Set(links.map((l) => l.file)).size <= 11);
  });
});

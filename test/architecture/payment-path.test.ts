import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const doc = 'docs/architecture.md';

/** The `[`name`](path)` links of docs/architecture.md § The path at a glance, in order. */
function pathLinks(): { name: string; file: string }[] {
  const text = readFileSync(resolve(root, doc), 'utf8');
  const start = text.indexOf('### The path at a glance');
  assert.ok(start >= 0, `${doc} has a section "The path at a glance"`);
  const end = text.indexOf('\n### ', start + 1);
  const steps = text
    .slice(start, end)
    .split('\n\n')
    .filter((p) => /^\d+\. /.test(p.trim()))
    .join('\n');
  return [...steps.matchAll(/\[`(\w+)`\]\(\.\.\/([^)#]+)\)/g)].map((m) => ({ name: m[1]!, file: m[2]! }));
}

// The walk through a payment in docs/architecture.md stays true: each step links a function that its file defines,
// and the path stays short (issue 14: aim for no more than 10 files; it is 11, the last hop being realtime's own).
describe('docs: the path of one payment at a glance', () => {
  const links = pathLinks();

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
      const source = readFileSync(resolve(root, file), 'utf8');
      const defined = new RegExp(`(function ${name}\\b|const ${name}\\b|^\\s+(async )?${name}\\()`, 'm');
      assert.match(source, defined, `${file} defines ${name}`);
    });
  }

  it('names at most 11 files', () => {
    assert.ok(new Set(links.map((l) => l.file)).size <= 11);
  });
});

// The start banner: what a person at the terminal needs to use Fulcrum, printed once the server listens.
// The first admin's one-time setup link appears here and nowhere else (never through the logger).

export const TEST_CARD = '4242 4242 4242 4242';

export interface BannerInput {
  /** Where the shop is reached, without a trailing slash (PUBLIC_URL, or the address it listens on). */
  baseUrl: string;
  /** The built-in Stripe sandbox, when it runs. */
  sandboxUrl?: string | undefined;
  /** Whether payments are in test mode (the sandbox, or an sk_test_ key): then the test card is shown. */
  testMode: boolean;
  /** The setup token, while no admin exists. */
  setup?: { token: string; expiresAt: Date } | undefined;
  /** Bold and colour for a terminal. */
  color?: boolean;
}

/** The link that opens the "create the first admin" form with the token filled in. */
export function setupLink(baseUrl: string, token: string): string {
  return `${baseUrl}/admin?setup=${encodeURIComponent(token)}`;
}

export function renderBanner(input: BannerInput): string {
  const color = input.color === true;
  const bold = (s: string) => (color ? `\u001b[1m${s}\u001b[22m` : s);
  const cyan = (s: string) => (color ? `\u001b[36m${s}\u001b[39m` : s);
  const dim = (s: string) => (color ? `\u001b[2m${s}\u001b[22m` : s);
  const rows: [string, string, string][] = [
    ['Storefront', `${input.baseUrl}/`, 'the shop: register, order, pay'],
    ['Admin', `${input.baseUrl}/admin`, 'orders, products, payments'],
    ['API docs', `${input.baseUrl}/docs`, 'try every route; /openapi.json'],
  ];
  if (input.sandboxUrl !== undefined) rows.push(['Sandbox', input.sandboxUrl, 'the built-in Stripe (test mode)']);
  if (input.testMode) rows.push(['Test card', TEST_CARD, 'pays; 4000 0000 0000 0002 is declined']);
  const width = Math.max(...rows.map(([, value]) => value.length));

  const lines = ['', `  ${bold('Fulcrum is running.')}`, ''];
  for (const [label, value, note] of rows)
    lines.push(`    ${label.padEnd(10)}  ${cyan(value.padEnd(width))}  ${dim(note)}`);
  lines.push('');
  if (input.setup !== undefined) {
    const until = input.setup.expiresAt.toTimeString().slice(0, 5);
    lines.push(`  ${bold('No admin yet.')} Create the first one by opening this link`);
    lines.push(`  (it works once, until ${until}, and a restart replaces it):`);
    lines.push('');
    lines.push(`    ${cyan(setupLink(input.baseUrl, input.setup.token))}`);
    lines.push('');
  }
  return `${lines.join('\n')}\n`;
}

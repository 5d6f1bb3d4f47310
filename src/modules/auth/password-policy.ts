import { invalid } from '../../shared/errors.ts';

/**
 * What a new password must be besides 12–128 characters (docs/api.md § Accounts, NIST SP 800-63B §3.1.1.2):
 *
 * 1. not common: neither the password nor its core (lower case, without the digits and symbols at its ends and
 *    the spaces, dots, dashes and underscores inside) is on the list of 49,233 passwords most found in breaches
 *    (`passwords-common` of @zxcvbn-ts/language-common) — `Password1234!` and `pass word 2024` are refused;
 * 2. not repetitive: not one sequence repeated (`abcabcabcabc`), not fewer than 4 different characters;
 * 3. not built from the account's e-mail address or the shop's name: once those words (the whole address, its
 *    local part and that part's pieces, the domain's labels but the last, the shop's name; 3 letters or more)
 *    are taken out, at least 4 letters must remain — `ada.lovelace1815!` for ada.lovelace@example.com is
 *    refused, `lovelace rides a comet` for ada@example.com is not.
 *
 * Login never checks this: a password set before the rule keeps working.
 */
export const SHOP_NAMES: readonly string[] = ['fulcrum'];

let blocklist: Promise<ReadonlySet<string>> | undefined;

/** Loaded on first use (decompressing the list takes a few hundred ms); authModule starts it at mount. */
export function loadBlocklist(): Promise<ReadonlySet<string>> {
  blocklist ??= import('@zxcvbn-ts/language-common').then(({ dictionary }) => new Set(dictionary['passwords-common']));
  return blocklist;
}

const edges = /^[^\p{L}]+|[^\p{L}]+$/gu;
const separators = /[\s._-]+/gu;
const letters = /\p{L}/gu;

function contextWords(email: string | undefined, shopNames: readonly string[]): string[] {
  const words = new Set<string>(shopNames.map((n) => n.toLowerCase()));
  if (email !== undefined) {
    const lower = email.toLowerCase();
    const at = lower.lastIndexOf('@');
    const local = at < 0 ? lower : lower.slice(0, at);
    const domain = at < 0 ? '' : lower.slice(at + 1);
    words.add(lower);
    words.add(local);
    for (const piece of local.split(/[._+-]+/)) words.add(piece);
    for (const label of domain.split('.').slice(0, -1)) words.add(label);
  }
  // Longest first, so `ada.lovelace` goes before `ada`.
  return [...words].filter((w) => w.replace(/[^\p{L}\p{N}]/gu, '').length >= 3).sort((a, b) => b.length - a.length);
}

/** Why `password` may not be a new password, or undefined when it may. */
export async function passwordProblem(
  password: string,
  context: { email?: string | undefined; shopNames?: readonly string[] } = {},
): Promise<string | undefined> {
  const list = await loadBlocklist();
  const lower = password.toLowerCase();
  const core = lower.replace(edges, '');
  if (list.has(lower) || list.has(core) || list.has(core.replace(separators, ''))) {
    return 'is too common: it is on a list of passwords leaked in breaches; choose another';
  }
  if (/^(.+?)\1+$/su.test(password) || new Set(password).size < 4) {
    return 'is too repetitive: it repeats one short sequence or uses fewer than 4 different characters';
  }
  let rest = lower;
  let found = false;
  for (const word of contextWords(context.email, context.shopNames ?? SHOP_NAMES)) {
    if (rest.includes(word)) {
      found = true;
      rest = rest.split(word).join(' ');
    }
  }
  if (found && (rest.match(letters)?.length ?? 0) < 4) {
    return "must not be built from your e-mail address or the shop's name";
  }
  return undefined;
}

/** Throws 400 validation_failed with the reason at `path` (e.g. `body.password`) when the password is refused. */
export async function assertNewPassword(password: string, email: string | undefined, path = 'body.password') {
  const problem = await passwordProblem(password, { email });
  if (problem !== undefined) throw invalid([{ path, message: problem }], 'This password is not allowed.');
}

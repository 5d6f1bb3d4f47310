import { argon2, randomBytes, timingSafeEqual } from 'node:crypto';

/** argon2id parameters (OWASP): memory in KiB, passes, lanes. Raise them here; old hashes keep verifying. */
export interface Argon2Params {
  memory: number;
  passes: number;
  parallelism: number;
}

export const PASSWORD_PARAMS: Readonly<Argon2Params> = Object.freeze({ memory: 19456, passes: 2, parallelism: 1 });
const SALT_BYTES = 16;
const TAG_BYTES = 32;
const ARGON2_VERSION = 19;

// Bounds on what a stored hash may ask for, so a corrupt or hostile row cannot make verify allocate gigabytes.
const MAX_MEMORY_KIB = 1 << 20;
const MAX_PASSES = 64;
const MAX_PARALLELISM = 16;

const phc = /^\$argon2id\$v=(\d+)\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

interface Parsed extends Argon2Params {
  salt: Buffer;
  tag: Buffer;
}

function derive(password: string, salt: Buffer, params: Argon2Params, tagLength: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    argon2(
      'argon2id',
      {
        message: password,
        nonce: salt,
        parallelism: params.parallelism,
        tagLength,
        memory: params.memory,
        passes: params.passes,
      },
      (error, key) => (error === null ? resolve(key) : reject(error)),
    );
  });
}

/** PHC strings use unpadded standard base64. */
const b64 = (buf: Buffer): string => buf.toString('base64').replace(/=+$/, '');

function parse(encoded: string): Parsed | undefined {
  const m = phc.exec(encoded);
  if (m === null) return undefined;
  const [, v, mem, t, p, salt, tag] = m as unknown as [string, string, string, string, string, string, string];
  const parsed = {
    memory: Number(mem),
    passes: Number(t),
    parallelism: Number(p),
    salt: Buffer.from(salt, 'base64'),
    tag: Buffer.from(tag, 'base64'),
  };
  const sane =
    Number(v) === ARGON2_VERSION &&
    parsed.parallelism >= 1 &&
    parsed.parallelism <= MAX_PARALLELISM &&
    parsed.memory >= 8 * parsed.parallelism &&
    parsed.memory <= MAX_MEMORY_KIB &&
    parsed.passes >= 1 &&
    parsed.passes <= MAX_PASSES &&
    parsed.salt.length >= 8 &&
    parsed.tag.length >= 16;
  return sane ? parsed : undefined;
}

/** `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<tag>`: self-describing, so parameters can be raised later. */
export async function hashPassword(password: string, params: Argon2Params = PASSWORD_PARAMS): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const tag = await derive(password, salt, params, TAG_BYTES);
  return `$argon2id$v=${ARGON2_VERSION}$m=${params.memory},t=${params.passes},p=${params.parallelism}$${b64(salt)}$${b64(tag)}`;
}

/** Verifies with the parameters recorded in the hash; an unparsable hash never matches. */
export async function verifyPassword(encoded: string, password: string): Promise<boolean> {
  const parsed = parse(encoded);
  // An unusable stored hash costs the same time as a real one: the answer time reveals nothing.
  if (parsed === undefined) return verifyAgainstDummy(password);
  const tag = await derive(password, parsed.salt, parsed, parsed.tag.length);
  return timingSafeEqual(tag, parsed.tag);
}

/** True when the hash was made with weaker parameters than today's: rehash it at the next successful login. */
export function needsRehash(encoded: string, params: Argon2Params = PASSWORD_PARAMS): boolean {
  const parsed = parse(encoded);
  return (
    parsed === undefined ||
    parsed.memory < params.memory ||
    parsed.passes < params.passes ||
    parsed.parallelism < params.parallelism ||
    parsed.tag.length < TAG_BYTES
  );
}

let dummy: Promise<string> | undefined;

function dummyHash(): Promise<string> {
  dummy ??= hashPassword(randomBytes(18).toString('base64url'));
  return dummy;
}

/** Computes the dummy hash ahead of the first login with an unknown e-mail (called when the module mounts). */
export function prepareDummyHash(): void {
  // A failure surfaces at the first use instead, through verifyAgainstDummy.
  dummyHash().catch(() => undefined);
}

/**
 * Spends the same work as a real verification when the e-mail is unknown (or the stored hash is
 * unusable), so the answer time does not reveal whether an account exists. Always false.
 */
export async function verifyAgainstDummy(password: string): Promise<false> {
  const parsed = parse(await dummyHash());
  if (parsed !== undefined) await derive(password, parsed.salt, parsed, parsed.tag.length);
  return false;
}

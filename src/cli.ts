// Operator commands: `npm run cli -- create-admin <email>` (the password is read from stdin, never an argument).
import './require-node.ts';
import { text } from 'node:stream/consumers';
import { ConfigError, loadConfig } from './config.ts';
import { DataDirLockedError, openDatabase } from './db/database.ts';
import { migrateToLatest } from './db/migrate.ts';
import { createOrPromoteAdmin, emailSchema, newPasswordSchema } from './modules/auth/index.ts';

const usage = 'usage: npm run cli -- create-admin <email>   (the password is read from stdin)';

class CliError extends Error {}

/** Reads one line from a terminal without echoing it. */
function promptHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  stdin.resume();
  return new Promise((resolve, reject) => {
    let chars: string[] = [];
    const finish = () => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') {
          finish();
          resolve(chars.join(''));
          return;
        }
        if (ch === '\u0003') {
          finish();
          reject(new CliError('cancelled'));
          return;
        }
        if (ch === '\u007f' || ch === '\b') chars = chars.slice(0, -1);
        else chars.push(ch);
      }
    };
    stdin.on('data', onData);
  });
}

/** A terminal gets a prompt without echo (asked twice); piped stdin is read whole and its first line taken. */
async function readPassword(): Promise<string> {
  if (process.stdin.isTTY) {
    const first = await promptHidden('Password (12–128 characters): ');
    const again = await promptHidden('Repeat the password: ');
    if (first !== again) throw new CliError('the two passwords differ');
    return first;
  }
  const input = await text(process.stdin);
  return input.split(/\r?\n/)[0] ?? '';
}

async function createAdmin(args: string[]): Promise<void> {
  if (args.length !== 1 || args[0] === undefined) throw new CliError(usage);
  const email = emailSchema.safeParse(args[0]);
  if (!email.success) throw new CliError(`not an e-mail address: ${args[0]}`);
  const password = newPasswordSchema.safeParse(await readPassword());
  if (!password.success) throw new CliError('the password must be 12–128 characters');

  const config = loadConfig();
  const database = await openDatabase({ url: config.DATABASE_URL, dataDir: config.DATA_DIR });
  try {
    await migrateToLatest(database.db);
    const { outcome, user } = await createOrPromoteAdmin(database.db, email.data, password.data);
    const said = {
      created: 'created admin',
      promoted: 'promoted existing user to admin (password unchanged):',
      already_admin: 'already an admin (unchanged):',
    }[outcome];
    console.log(`${said} ${user.email} (${user.id})`);
  } finally {
    await database.close();
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  try {
    if (command !== 'create-admin') throw new CliError(usage);
    await createAdmin(args);
    return 0;
  } catch (error) {
    if (error instanceof CliError || error instanceof DataDirLockedError) {
      console.error(`error: ${error.message}`);
      return 1;
    }
    if (error instanceof ConfigError) {
      for (const line of error.problems) console.error(line);
      return 1;
    }
    throw error;
  }
}

process.exitCode = await main(process.argv.slice(2));

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { START_BOUND_MS } from '../process-helpers.ts';

/** Fulcrum as real processes (`node src/main.ts <mode>`), for the multi-node tests. */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface FulcrumProcess {
  mode: string;
  child: ChildProcess;
  /** `http://host:port` once listening (API modes). */
  url: string;
  /** Every log line so far, parsed. */
  logs: Record<string, unknown>[];
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Starts `node src/main.ts mode` with exactly `env` (plus PATH and HOME), and resolves once it logged
 * "fulcrum started"; rejects with its output if it exits, or has not started within START_BOUND_MS.
 */
export function startFulcrum(mode: 'api' | 'worker' | 'all', env: Record<string, string>): Promise<FulcrumProcess> {
  const child = spawn(process.execPath, ['src/main.ts', mode], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  const output: string[] = [];
  const proc: FulcrumProcess = {
    mode,
    child,
    url: '',
    logs,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const [code] = (await exited) as [number | null];
      return code;
    },
  };
  let pending = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      output.push(line);
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        logs.push(entry);
        if (entry.msg === 'listening' && typeof entry.url === 'string') proc.url = entry.url;
      } catch {
        // not a log line
      }
    }
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => output.push(chunk));
  return new Promise((resolve, reject) => {
    const fail = (why: string) => {
      clearInterval(poll);
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`fulcrum ${mode} ${why}:\n${output.slice(-30).join('\n')}`));
    };
    const timer = setTimeout(() => fail(`did not start within ${START_BOUND_MS / 1000} s`), START_BOUND_MS);
    const poll = setInterval(() => {
      if (logs.some((l) => l.msg === 'fulcrum started')) {
        clearInterval(poll);
        clearTimeout(timer);
        resolve(proc);
      } else if (child.exitCode !== null) fail(`exited with ${child.exitCode}`);
    }, 20);
  });
}

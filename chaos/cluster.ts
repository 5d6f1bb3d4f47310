// Fulcrum as real processes for one chaos run: the database (a fresh PostgreSQL database, or PGlite files),
// the `api`/`worker` (or `all`) processes, the Stripe sandbox (embedded, or `npm run sandbox` on its own),
// and a small webhook load balancer in front of the API processes. Processes are SIGKILLed and restarted
// on the same database and ports.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import http from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** How long a process may take to start: PGlite's first start (migrations) is slow on a busy machine. */
const READY_BOUND_S = 180;

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface ManagedProcess {
  name: string;
  /** `api`, `worker`, `all`, or `sandbox`. */
  role: string;
  /** Where it listens (API processes and the sandbox); 0 for workers. */
  port: number;
  readonly alive: boolean;
  /** Alive and done starting. */
  readonly ready: boolean;
  /** Starts it and resolves once it is ready; rejects when it exits first or takes longer than the bound. */
  start(): Promise<void>;
  /** SIGKILL; resolves once it exited. */
  kill(): Promise<void>;
  /** SIGTERM (graceful), then SIGKILL after a bound. */
  stop(): Promise<void>;
  /** The last lines it printed, for a report. */
  tail(lines?: number): string[];
}

interface ProcessSpec {
  name: string;
  role: string;
  port: number;
  args: string[];
  env: Record<string, string>;
  /** True once this line (stdout) shows it is ready. */
  ready: (line: string) => boolean;
  logDir: string;
}

function managed(spec: ProcessSpec): ManagedProcess {
  let child: ChildProcess | undefined;
  let log: WriteStream | undefined;
  let starts = 0;
  let ready = false;
  const recent: string[] = [];
  const remember = (line: string) => {
    recent.push(line);
    if (recent.length > 200) recent.shift();
  };
  const isAlive = () => child !== undefined && child.exitCode === null && child.signalCode === null;
  return {
    name: spec.name,
    role: spec.role,
    port: spec.port,
    get alive() {
      return isAlive();
    },
    get ready() {
      return ready && isAlive();
    },
    start() {
      // Two children on one data directory or port would leave the harness tracking the wrong one.
      if (isAlive()) return Promise.reject(new Error(`${spec.name} is already running`));
      starts += 1;
      log ??= createWriteStream(join(spec.logDir, `${spec.name}.log`), { flags: 'a' });
      log.write(`--- start ${starts} at ${new Date().toISOString()}\n`);
      const proc = spawn(process.execPath, spec.args, {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...spec.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child = proc;
      const out = log;
      ready = false;
      return new Promise<void>((resolve, reject) => {
        let pending = '';
        const timer = setTimeout(() => {
          if (ready) return;
          proc.kill('SIGKILL');
          reject(
            new Error(`${spec.name} did not become ready within ${READY_BOUND_S} s:\n${recent.slice(-20).join('\n')}`),
          );
        }, READY_BOUND_S * 1000);
        proc.stdout.setEncoding('utf8').on('data', (chunk: string) => {
          out.write(chunk);
          pending += chunk;
          const lines = pending.split('\n');
          pending = lines.pop() ?? '';
          for (const line of lines) {
            remember(line);
            if (!ready && spec.ready(line)) {
              ready = true;
              clearTimeout(timer);
              resolve();
            }
          }
        });
        proc.stderr.setEncoding('utf8').on('data', (chunk: string) => {
          out.write(chunk);
          for (const line of chunk.split('\n')) if (line !== '') remember(line);
        });
        proc.once('exit', (code, signal) => {
          out.write(`--- exit ${code ?? signal} at ${new Date().toISOString()}\n`);
          if (!ready) {
            clearTimeout(timer);
            reject(
              new Error(
                `${spec.name} exited (${code ?? signal}) before it was ready:\n${recent.slice(-20).join('\n')}`,
              ),
            );
          }
        });
      });
    },
    async kill() {
      const proc = child;
      if (proc === undefined || !isAlive()) return;
      const exited = once(proc, 'exit');
      proc.kill('SIGKILL');
      await exited;
    },
    async stop() {
      const proc = child;
      if (proc === undefined || !isAlive()) return;
      const exited = once(proc, 'exit');
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
    tail: (lines = 20) => recent.slice(-lines),
  };
}

const isStarted = (line: string): boolean => line.includes('"fulcrum started"');

export interface ClusterOptions {
  /** A PostgreSQL server URL (its `postgres` database) to create the run's database on; undefined: PGlite. */
  pgAdminUrl: string | undefined;
  redisUrl: string;
  /** The sandbox as its own process (`npm run sandbox`) instead of inside an API process. */
  standaloneSandbox: boolean;
  /** Name of the run's database and directory. */
  runName: string;
  /** Where the processes' logs and data go. */
  workDir: string;
  env: Record<string, string>;
}

export interface Cluster {
  /** Fulcrum's processes (the ones SIGKILLed). */
  fulcrum: ManagedProcess[];
  sandbox: { url: string; process: ManagedProcess | undefined };
  /** Base URLs of the API processes now alive. */
  liveApis(): string[];
  apiUrl(proc: ManagedProcess): string;
  /** The run's own database URL (PostgreSQL), or undefined on PGlite. */
  databaseUrl: string | undefined;
  /** PGlite's directory (the `all` process's DATA_DIR). */
  dataDir: string;
  /** Terminates every server connection to the run's database (PostgreSQL only); the number ended. */
  terminateBackends(): Promise<number>;
  startAll(): Promise<void>;
  stopAll(): Promise<void>;
  /** Drops the run's database. */
  destroy(): Promise<void>;
  admin: { email: string; password: string };
  webhookSecret: string;
}

/** Clusters not yet stopped: an interrupted harness kills their processes and drops their databases. */
const running = new Set<Cluster>();

/** SIGKILLs every process of every running cluster and drops their databases (Ctrl-C, a timeout). */
export async function abortAll(): Promise<void> {
  await Promise.all(
    [...running].map(async (cluster) => {
      await Promise.all(
        [...cluster.fulcrum, ...(cluster.sandbox.process === undefined ? [] : [cluster.sandbox.process])].map((p) =>
          p.kill(),
        ),
      );
      await cluster.destroy().catch(() => {});
    }),
  );
}

export async function createCluster(options: ClusterOptions): Promise<Cluster> {
  const { runName, workDir } = options;
  mkdirSync(workDir, { recursive: true });
  const webhookSecret = `whsec_${randomBytes(18).toString('hex')}`;
  const admin = {
    email: `admin@${runName.replace(/_/g, '-')}.test`,
    password: `Pw-${randomBytes(12).toString('base64url')}`,
  };
  const jwtSecret = randomBytes(32).toString('hex');

  let databaseUrl: string | undefined;
  if (options.pgAdminUrl !== undefined) {
    const client = new pg.Client({ connectionString: options.pgAdminUrl, connectionTimeoutMillis: 5_000 });
    await client.connect();
    try {
      await client.query(`create database ${runName}`);
    } finally {
      await client.end();
    }
    const url = new URL(options.pgAdminUrl);
    url.pathname = `/${runName}`;
    databaseUrl = url.toString();
  }

  const sandboxPort = await freePort();
  const sandboxUrl = `http://127.0.0.1:${sandboxPort}`;
  const common: Record<string, string> = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    LOG_FORMAT: 'json',
    HOST: '127.0.0.1',
    JWT_SECRET: jwtSecret,
    STRIPE_WEBHOOK_SECRET: webhookSecret,
    FULCRUM_ADMIN_EMAIL: admin.email,
    FULCRUM_ADMIN_PASSWORD: admin.password,
    API_RATE_LIMIT_PER_MINUTE: '0',
    RATE_LIMIT_KEY_PREFIX: `chaos:${runName}`,
    SEED_DEMO: 'false',
    SHUTDOWN_TIMEOUT_MS: '5000',
    ...options.env,
  };
  const fulcrum: ManagedProcess[] = [];
  const apiPorts = new Map<ManagedProcess, number>();
  const dataDir = join(workDir, 'data');
  const newFulcrum = (name: string, mode: 'api' | 'worker' | 'all', port: number, env: Record<string, string>) => {
    const proc = managed({
      name,
      role: mode,
      port,
      args: ['src/main.ts', mode],
      env: { ...common, PORT: String(port), ...env },
      ready: isStarted,
      logDir: workDir,
    });
    fulcrum.push(proc);
    if (mode !== 'worker') apiPorts.set(proc, port);
    return proc;
  };

  // Webhooks of the sandbox run on its own go through this balancer to a live API process, as a load
  // balancer in front of the API would send them. The embedded sandbox posts to its own process.
  const balancerPort = await freePort();
  const balancer = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const targets = liveApis();
      const target = targets[Math.floor(Math.random() * targets.length)];
      if (target === undefined) {
        res.writeHead(502).end();
        return;
      }
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) {
        if (typeof v === 'string' && k !== 'host' && k !== 'connection' && k !== 'content-length') headers[k] = v;
      }
      fetch(`${target}${req.url ?? '/'}`, {
        method: req.method ?? 'POST',
        headers,
        body: Buffer.concat(chunks),
        signal: AbortSignal.timeout(15_000),
      })
        .then(async (answer) => {
          const body = Buffer.from(await answer.arrayBuffer());
          res
            .writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'text/plain' })
            .end(body);
        })
        .catch(() => {
          if (!res.headersSent) res.writeHead(502);
          res.end();
        });
    });
  });
  balancer.listen(balancerPort, '127.0.0.1');
  await once(balancer, 'listening');
  const balancerUrl = `http://127.0.0.1:${balancerPort}/api/v1/webhooks/stripe`;

  let sandboxProcess: ManagedProcess | undefined;
  if (options.standaloneSandbox) {
    sandboxProcess = managed({
      name: 'sandbox',
      role: 'sandbox',
      port: sandboxPort,
      args: [
        'src/sandbox/main.ts',
        '--port',
        String(sandboxPort),
        '--webhook-url',
        balancerUrl,
        '--webhook-secret',
        webhookSecret,
        '--data-file',
        join(workDir, 'sandbox.json'),
        '--retry-delays',
        '250,500,1000,2000,4000',
      ],
      env: {},
      ready: (line) => line.startsWith('Stripe sandbox listening'),
      logDir: workDir,
    });
  }
  const stripeEnv: Record<string, string> = options.standaloneSandbox
    ? { SANDBOX_PORT: 'off', STRIPE_API_BASE: sandboxUrl }
    : {};

  if (databaseUrl === undefined) {
    // PGlite: one `all` process on its DATA_DIR; the embedded sandbox keeps its data file there too.
    newFulcrum('all', 'all', await freePort(), {
      DATA_DIR: dataDir,
      ...(options.standaloneSandbox ? stripeEnv : { SANDBOX_PORT: String(sandboxPort) }),
    });
  } else {
    const server = { DATABASE_URL: databaseUrl, REDIS_URL: options.redisUrl };
    // Embedded: the sandbox lives in api1 (its data file in api1's DATA_DIR); the others reach it there.
    const reach = options.standaloneSandbox ? stripeEnv : { SANDBOX_PORT: 'off', STRIPE_API_BASE: sandboxUrl };
    newFulcrum('api1', 'api', await freePort(), {
      ...server,
      DATA_DIR: join(workDir, 'api1'),
      ...(options.standaloneSandbox ? stripeEnv : { SANDBOX_PORT: String(sandboxPort) }),
    });
    newFulcrum('api2', 'api', await freePort(), { ...server, DATA_DIR: join(workDir, 'api2'), ...reach });
    newFulcrum('worker1', 'worker', 0, { ...server, DATA_DIR: join(workDir, 'worker1'), ...reach });
    newFulcrum('worker2', 'worker', 0, { ...server, DATA_DIR: join(workDir, 'worker2'), ...reach });
  }

  function liveApis(): string[] {
    return fulcrum.filter((p) => p.alive && apiPorts.has(p)).map((p) => `http://127.0.0.1:${apiPorts.get(p)}`);
  }

  const cluster: Cluster = {
    fulcrum,
    sandbox: { url: sandboxUrl, process: sandboxProcess },
    liveApis,
    apiUrl: (proc) => `http://127.0.0.1:${apiPorts.get(proc) ?? 0}`,
    databaseUrl,
    dataDir,
    admin,
    webhookSecret,
    async terminateBackends() {
      if (options.pgAdminUrl === undefined) return 0;
      const client = new pg.Client({ connectionString: options.pgAdminUrl, connectionTimeoutMillis: 5_000 });
      await client.connect();
      try {
        const { rows } = await client.query<{ ended: boolean }>(
          'select pg_terminate_backend(pid) as ended from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
          [runName],
        );
        return rows.filter((r) => r.ended).length;
      } finally {
        await client.end();
      }
    },
    async startAll() {
      if (sandboxProcess !== undefined) await sandboxProcess.start();
      // The first process migrates alone (on PGlite there is only one); the rest start together.
      const [first, ...rest] = fulcrum;
      await first!.start();
      await Promise.all(rest.map((p) => p.start()));
    },
    async stopAll() {
      running.delete(cluster);
      await Promise.all(fulcrum.map((p) => p.stop()));
      await sandboxProcess?.stop();
      const closed = new Promise<void>((resolve) => balancer.close(() => resolve()));
      balancer.closeAllConnections();
      await closed;
    },
    async destroy() {
      if (options.pgAdminUrl === undefined) return;
      const client = new pg.Client({ connectionString: options.pgAdminUrl, connectionTimeoutMillis: 5_000 });
      await client.connect();
      try {
        await client.query(`drop database if exists ${runName} with (force)`);
      } finally {
        await client.end();
      }
    },
  };
  running.add(cluster);
  return cluster;
}

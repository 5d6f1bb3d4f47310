import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { configVariables, loadConfig } from '../src/config.ts';
import {
  checkDeploy,
  readDeployFiles,
  runtimeImports,
  variablesReadByCode,
  type CodeFacts,
  type DeployFiles,
} from './deploy/check.ts';
import { startTestApp, type TestApp } from './helpers.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

/** A copy of `text` with `from` replaced by `to`; fails if `from` is not there, so a case cannot go stale. */
function edit(text: string, from: string | RegExp, to: string): string {
  assert.ok(typeof from === 'string' ? text.includes(from) : from.test(text), `the file still has ${String(from)}`);
  return text.replace(from, to);
}

// No container engine runs here: the Dockerfile, compose.yaml (with deploy/Caddyfile) and the CI workflow are
// read and checked against the code instead — variables against config.ts, commands against package.json,
// main.ts's roles and the sandbox's flags, health checks against the routes, ports and credentials against each
// other — and the workflow against .ci/run and actionlint.
describe('deploy files agree with the code', () => {
  let app: TestApp;
  let facts: CodeFacts;
  let files: DeployFiles;
  before(async () => {
    app = await startTestApp();
    facts = {
      configVariables,
      loadConfig,
      routes: app.built.registry.routes,
      variablesReadByCode: variablesReadByCode(root),
      runtimeImports: runtimeImports(root),
    };
    files = readDeployFiles(root);
  });
  after(() => app.close());

  const problemsWith = (changes: Partial<DeployFiles>) => checkDeploy({ ...files, ...changes }, facts);
  const assertProblem = async (changes: Partial<DeployFiles>, expected: RegExp) => {
    const problems = await problemsWith(changes);
    assert.ok(
      problems.some((p) => expected.test(p)),
      `expected a problem matching ${String(expected)}, got:\n${problems.join('\n')}`,
    );
  };

  it('the files as committed: no problem', async () => {
    assert.deepEqual(await checkDeploy(files, facts), []);
  });

  it('the health checks ask routes the app serves', async () => {
    // What the Dockerfile and Caddy ask is answered by a running app, not only listed.
    const res = await fetch(`${app.baseUrl}/readyz`);
    assert.equal(res.status, 200);
  });

  describe('a modified copy is caught', () => {
    it('compose sets a variable config.ts does not read', () =>
      assertProblem(
        { compose: edit(files.compose, 'LOG_LEVEL: ${LOG_LEVEL:-info}', 'LOG_LEVL: ${LOG_LEVEL:-info}') },
        /compose\.yaml: service api1 sets LOG_LEVL, which src\/config\.ts does not read/,
      ));

    it('compose gives a value production refuses (no JWT_SECRET)', () =>
      assertProblem(
        { compose: edit(files.compose, /^ {2}JWT_SECRET: .*\n/m, '') },
        /service api1: its environment is refused: config: JWT_SECRET is required when NODE_ENV=production/,
      ));

    it('compose has a $ it cannot interpolate', () =>
      assertProblem(
        { compose: edit(files.compose, 'e.g. the output of openssl rand -hex 32', 'e.g. $(openssl rand -hex 32)') },
        /has a \$ compose cannot interpolate/,
      ));

    it('compose runs a role main.ts does not have', () =>
      assertProblem(
        { compose: edit(files.compose, "['node', 'src/main.ts', 'worker']", "['node', 'src/main.ts', 'workers']") },
        /runs src\/main\.ts workers, but main\.ts knows api\|worker\|all\|migrate/,
      ));

    it('the sandbox is given a flag it does not have', () =>
      assertProblem(
        { compose: edit(files.compose, '- --public-url', '- --public-address') },
        /npm run sandbox -- --public-address: src\/sandbox\/main\.ts has no such option/,
      ));

    it('the worker keeps the image health check it cannot pass', () =>
      assertProblem(
        { compose: edit(files.compose, /\n {4}healthcheck:\n {6}disable: true/, '') },
        /service worker: a worker serves no HTTP/,
      ));

    it('a URL with credentials RabbitMQ does not have', () =>
      assertProblem(
        { compose: edit(files.compose, 'AMQP_URL: amqp://fulcrum:', 'AMQP_URL: amqp://guest:') },
        /service worker: AMQP_URL says user guest, rabbitmq has fulcrum/,
      ));

    it('a URL at a port its service does not listen on', () =>
      assertProblem(
        { compose: edit(files.compose, '@postgres:5432/fulcrum', '@postgres:5433/fulcrum') },
        /DATABASE_URL uses postgres:5433, but postgres listens on 5432/,
      ));

    it('the proxy sends to a port the API nodes do not listen on', () =>
      assertProblem(
        { caddyfile: edit(files.caddyfile, 'api2:3000', 'api2:3001') },
        /upstream api2:3001, but api2 listens on 3000/,
      ));

    it('the proxy checks a path that is not a route', () =>
      assertProblem(
        { caddyfile: edit(files.caddyfile, 'health_uri /readyz', 'health_uri /ready') },
        /health_uri \/ready is not a GET route/,
      ));

    it('the image checks health on a path that is not a route', () =>
      assertProblem(
        { dockerfile: edit(files.dockerfile, '127.0.0.1:3000/readyz', '127.0.0.1:3000/ready') },
        /no route GET \/ready/,
      ));

    it('the image starts node through a shell (SIGTERM would not reach it)', () =>
      assertProblem(
        { dockerfile: edit(files.dockerfile, 'CMD ["node", "src/main.ts", "all"]', 'CMD node src/main.ts all') },
        /CMD in shell form/,
      ));

    it('the image runs as root', () =>
      assertProblem({ dockerfile: edit(files.dockerfile, /^USER node$/m, 'USER root') }, /the process runs as root/));

    it('the image installs the development dependencies', () =>
      assertProblem(
        { dockerfile: edit(files.dockerfile, 'npm ci --omit=dev', 'npm ci') },
        /must be npm ci --omit=dev/,
      ));

    it('the image sets a variable config.ts does not read', () =>
      assertProblem(
        { dockerfile: edit(files.dockerfile, 'PORT=3000', 'PORT=3000 LISTEN_PORT=3000') },
        /Dockerfile: sets LISTEN_PORT, which src\/config\.ts does not read/,
      ));

    it('the workflow runs a script package.json does not have, and misses one .ci/run runs', async () => {
      const problems = await problemsWith({
        workflow: edit(files.workflow, /run: npm run test:services\n/, 'run: npm run test:service\n'),
      });
      assert.ok(problems.some((p) => /runs `npm run test:service`, but package\.json has no such script/.test(p)));
      assert.ok(problems.some((p) => /\.ci\/run runs `npm run test:services`, the workflow does not/.test(p)));
    });

    it('.ci/run gains a step the workflow does not mirror', () =>
      assertProblem(
        { ciRun: `${files.ciRun}\nstep npm run bench\n` },
        /\.ci\/run runs `npm run bench`, the workflow does not/,
      ));

    it('the workflow sets a variable nothing reads', () =>
      assertProblem(
        { workflow: edit(files.workflow, 'TEST_AMQP_URL: amqp://fulcrum', 'TEST_AMPQ_URL: amqp://fulcrum') },
        /sets TEST_AMPQ_URL, which neither src\/config\.ts, the tests nor \.ci\/run read/,
      ));

    it('the workflow points the tests at RabbitMQ with a user the service does not have', () =>
      assertProblem(
        {
          workflow: edit(
            files.workflow,
            'TEST_AMQP_URL: amqp://fulcrum:fulcrum@',
            'TEST_AMQP_URL: amqp://guest:guest@',
          ),
        },
        /TEST_AMQP_URL's user is not the RabbitMQ service's/,
      ));

    it('actionlint finds a mistake in the workflow', () =>
      assertProblem(
        { workflow: edit(files.workflow, 'group: ci-${{ github.ref }}', 'group: ci-${{ github.reff }}') },
        /ci\.yml:\d+:\d+ actionlint \[expression\] property "reff" is not defined/,
      ));
  });
});

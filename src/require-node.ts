// Imported first by the entry points (main.ts, cli.ts), so it runs before any other module.
// package.json has no `engines` field: npm would warn on every `npm install` where the system Node is older,
// although the project brings its own Node (the dev dependency `node@24`, used by every npm script).
// The check happens here instead, where it matters: when Fulcrum actually runs.

export const REQUIRED_NODE_MAJOR = 24;

/** The line to print when `version` (e.g. `20.20.2`) is too old to run Fulcrum; undefined when it will do. */
export function nodeVersionProblem(version: string, execPath: string): string | undefined {
  const major = Number.parseInt(version.split('.')[0] ?? '', 10);
  if (Number.isSafeInteger(major) && major >= REQUIRED_NODE_MAJOR) return undefined;
  return (
    `Fulcrum needs Node ${REQUIRED_NODE_MAJOR} or newer, but this is Node ${version} (${execPath}). ` +
    `Run it through npm (npm start, npm run migrate, npm run cli -- …): npm install brings Node ${REQUIRED_NODE_MAJOR} ` +
    `as the dev dependency node@${REQUIRED_NODE_MAJOR} and every npm script uses it.`
  );
}

const problem = nodeVersionProblem(process.versions.node, process.execPath);
if (problem !== undefined) {
  console.error(problem);
  process.exit(1);
}

// `node scripts/check-docs-links.ts [root]` (part of `npm run check`): the repository's documentation is
// docs/, so
//  1. no file of the project may point at the design documents that used to live outside the repository
//     (a relative path to a `shared` directory that leaves the repository, or the names of those
//     documents), and
//  2. every relative link in the project's Markdown files must reach an existing file, and every `#anchor`
//     into a Markdown file one of its headings.
// Prints one line per problem (`file:line: …`) and exits 1 when there is any; exits 0 otherwise.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface Problem {
  file: string;
  line: number;
  message: string;
}

/** The names of the outside documents (built from parts so that this file does not name them itself). */
const outsideNames = ['DESIGN', 'STYLE', 'STRIPE', 'API'].map((n) => `${n}.md`);
const outsideName = new RegExp(`(?<![\\w.-])(?:${outsideNames.map((n) => n.replace('.', '\\.')).join('|')})(?![\\w-])`);
/** A relative path up to a `shared` directory: judged by where it leads, since `src/shared/` is the project's own. */
const sharedPath = /(?:\.\.\/)+shared(?![\w-])/g;

/** Directories never scanned when the root is not a git work tree. */
const skippedDirs = new Set(['node_modules', '.git', 'data', 'coverage']);

/** Files of the project: git's tracked and untracked-but-not-ignored files, or a walk of the directory. */
export function projectFiles(root: string): string[] {
  let listed: string[] | undefined;
  try {
    const out = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      maxBuffer: 64 * 1024 * 1024,
    });
    // Only when root is the top of the work tree: inside a larger repository the listing would be partial.
    const top = execFileSync('git', ['rev-parse', '--show-toplevel'], { cwd: root, encoding: 'utf8' }).trim();
    if (resolve(top) === resolve(root)) listed = out.split('\0').filter((f) => f !== '');
  } catch {
    listed = undefined;
  }
  const files = listed ?? walk(root, root);
  return files.filter((f) => existsSync(join(root, f)) && statSync(join(root, f)).isFile()).sort();
}

function walk(root: string, dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (!skippedDirs.has(entry.name)) out.push(...walk(root, join(dir, entry.name)));
    } else if (entry.isFile()) {
      out.push(relative(root, join(dir, entry.name)).split(sep).join('/'));
    }
  }
  return out;
}

function readText(path: string): string | undefined {
  const bytes = readFileSync(path);
  // Binary files (a NUL in the first 8 kB) are not documentation.
  if (bytes.subarray(0, 8192).includes(0)) return undefined;
  return bytes.toString('utf8');
}

/** Check 1: references to the outside documents. */
export function outsideReferences(root: string, file: string, text: string): Problem[] {
  const problems: Problem[] = [];
  const top = resolve(root);
  const lines = text.split('\n');
  lines.forEach((content, index) => {
    const name = outsideName.exec(content);
    if (name !== null) {
      problems.push({
        file,
        line: index + 1,
        message: `names ${name[0]}, a document outside the repository: point at docs/ instead`,
      });
    }
    for (const match of content.matchAll(sharedPath)) {
      const target = resolve(top, dirname(file), match[0]);
      if (target !== top && !target.startsWith(top + sep)) {
        problems.push({
          file,
          line: index + 1,
          message: `${match[0]} leads outside the repository: point at docs/ instead`,
        });
      }
    }
  });
  return problems;
}

/** GitHub's heading anchors: lower case, punctuation removed, spaces to hyphens, repeats numbered. */
export function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of withoutCode(markdown).split('\n')) {
    const heading = /^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading?.[1] === undefined) continue;
    const text = heading[1]
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
      .replace(/<[^>]+>/g, '')
      .toLowerCase();
    const base = text.replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

/** Markdown with fenced code blocks and inline code spans blanked (kept as empty lines, so line numbers hold). */
function withoutCode(markdown: string): string {
  let fence: string | undefined;
  return markdown
    .split('\n')
    .map((line) => {
      const marker = /^ {0,3}(`{3,}|~{3,})/.exec(line)?.[1];
      if (fence !== undefined) {
        if (marker !== undefined && marker[0] === fence[0] && marker.length >= fence.length) fence = undefined;
        return '';
      }
      if (marker !== undefined) {
        fence = marker;
        return '';
      }
      return line;
    })
    .join('\n');
}

function withoutInlineCode(line: string): string {
  return line.replace(/(`+)(?:(?!\1).)+?\1/g, (span) => ' '.repeat(span.length));
}

const linkPattern = /\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]+)>?(?:\s+["'(][^)]*)?\)|<a\s[^>]*href="([^"]+)"/g;

/** Check 2: relative links of a Markdown file. */
export function brokenLinks(root: string, file: string, text: string): Problem[] {
  const problems: Problem[] = [];
  const lines = withoutCode(text).split('\n');
  lines.forEach((raw, index) => {
    const line = withoutInlineCode(raw);
    for (const match of line.matchAll(linkPattern)) {
      const target = match[1] ?? match[2];
      if (target === undefined || /^[a-z][a-z\d+.-]*:/i.test(target) || target.startsWith('//')) continue;
      const [pathPart = '', anchor] = target.split('#', 2);
      const path = decodeURIComponent(pathPart.split('?')[0] ?? '');
      const resolved = path === '' ? join(root, file) : resolve(root, dirname(file), path);
      const shown = path === '' ? `#${anchor ?? ''}` : target;
      if (path.startsWith('/')) {
        problems.push({ file, line: index + 1, message: `link ${shown} is absolute: make it relative to ${file}` });
        continue;
      }
      if (!existsSync(resolved)) {
        problems.push({ file, line: index + 1, message: `link ${shown}: ${relative(root, resolved)} does not exist` });
        continue;
      }
      if (anchor !== undefined && anchor !== '' && resolved.endsWith('.md') && statSync(resolved).isFile()) {
        const anchors = anchorsOf(readFileSync(resolved, 'utf8'));
        if (!anchors.has(decodeURIComponent(anchor).toLowerCase())) {
          problems.push({ file, line: index + 1, message: `link ${shown}: no heading makes #${anchor}` });
        }
      }
    }
  });
  return problems;
}

/** Check 3: every `npm run <script>` a Markdown file shows, code blocks included, is a script of package.json. */
export function missingScripts(file: string, text: string, scripts: ReadonlySet<string>): Problem[] {
  const problems: Problem[] = [];
  text.split('\n').forEach((line, index) => {
    for (const match of line.matchAll(/\bnpm run(?:-script)? ([a-z][\w:.-]*)/g)) {
      const name = match[1]!.replace(/[.:]+$/, '');
      if (!scripts.has(name)) {
        problems.push({ file, line: index + 1, message: `\`npm run ${name}\`: package.json has no such script` });
      }
    }
  });
  return problems;
}

function scriptsOf(root: string): Set<string> | undefined {
  const path = join(root, 'package.json');
  const text = existsSync(path) ? readText(path) : undefined;
  if (text === undefined) return undefined;
  const { scripts } = JSON.parse(text) as { scripts?: Record<string, string> };
  return new Set(Object.keys(scripts ?? {}));
}

export function checkDocs(root: string): { files: number; problems: Problem[] } {
  const files = projectFiles(root);
  const problems: Problem[] = [];
  const scripts = scriptsOf(root);
  for (const file of files) {
    if (file === 'package-lock.json') continue;
    const text = readText(join(root, file));
    if (text === undefined) continue;
    problems.push(...outsideReferences(root, file, text));
    if (file.endsWith('.md')) problems.push(...brokenLinks(root, file, text));
    if (file.endsWith('.md') && scripts !== undefined) problems.push(...missingScripts(file, text, scripts));
  }
  return { files: files.length, problems };
}

function main(): void {
  const root = resolve(process.argv[2] ?? process.cwd());
  const { files, problems } = checkDocs(root);
  for (const p of problems) console.error(`${p.file}:${p.line}: ${p.message}`);
  if (problems.length > 0) {
    console.error(`check-docs-links: ${problems.length} problem(s) in ${files} files`);
    process.exitCode = 1;
    return;
  }
  console.log(
    `check-docs-links: ${files} files, no reference outside the repository, every relative link resolves, every npm script shown exists`,
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) main();

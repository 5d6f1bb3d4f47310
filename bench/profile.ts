import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The parts of a V8 `.cpuprofile` (node --cpu-prof) the summary reads. */
export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }[];
  /** Microseconds on the monotonic clock (CLOCK_MONOTONIC on Linux, as process.hrtime). */
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  /** `name file:line`, the file relative to the repository. */
  name: string;
  ms: number;
  /** Share of the window's sampled time that was not idle. */
  share: number;
}

export interface ProfileSummary {
  /** Sampled milliseconds in the window, idle included. */
  totalMs: number;
  idleMs: number;
  top: SelfTime[];
  /** Self time by area: a package under node_modules, a directory of src/, node's internals, wasm, GC. */
  areas: SelfTime[];
  /** True when a window was asked for but lay outside the profile, and the whole profile was summarised. */
  windowMissed: boolean;
}

/** Where a function lives, coarsely: `pkg:<name>`, `src/<dir>`, `node`, `wasm`, or the V8 pseudo-frame's name. */
export function areaOf(url: string, functionName: string, root: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : 'native';
  if (url.startsWith('wasm://')) return 'wasm';
  if (url.startsWith('node:')) return 'node';
  const file = url.replace(/^file:\/\//, '').replace(`${root}/`, '');
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file);
  if (pkg !== null) return `pkg:${pkg[1]}`;
  const src = /^src\/(?:modules\/)?([^/]+)/.exec(file);
  if (src !== null) return `src/${src[1]!.replace(/\.ts$/, '')}`;
  return file;
}

function frameName(frame: CpuProfile['nodes'][number]['callFrame'], root: string): string {
  const name = frame.functionName === '' ? '(anonymous)' : frame.functionName;
  if (frame.url === '') return name;
  const file = frame.url.replace(/^file:\/\//, '').replace(`${root}/`, '');
  return `${name} ${file}:${frame.lineNumber + 1}`;
}

/**
 * Self time per function within [fromUs, toUs] (microseconds on the profile's clock; the whole profile when
 * omitted or when the window misses it), the `top` largest first. Each sample counts for the time to the next
 * one. `(idle)` is left out of the ranking and reported apart; `(program)` and `(garbage collector)` are ranked.
 */
export function summarizeProfile(
  profile: CpuProfile,
  options: { fromUs?: number; toUs?: number; top?: number; root?: string } = {},
): ProfileSummary {
  const root = options.root ?? process.cwd();
  const names = new Map(profile.nodes.map((n) => [n.id, frameName(n.callFrame, root)]));
  const areaById = new Map(profile.nodes.map((n) => [n.id, areaOf(n.callFrame.url, n.callFrame.functionName, root)]));
  const areas = new Map<string, number>();
  const overlaps =
    options.fromUs !== undefined &&
    options.toUs !== undefined &&
    options.fromUs < profile.endTime &&
    options.toUs > profile.startTime;
  const from = overlaps ? options.fromUs! : -Infinity;
  const to = overlaps ? options.toUs! : Infinity;
  const self = new Map<string, number>();
  let t = profile.startTime;
  let total = 0;
  let idle = 0;
  for (let i = 0; i < profile.samples.length; i += 1) {
    t += profile.timeDeltas[i] ?? 0;
    const duration = profile.timeDeltas[i + 1] ?? 0;
    if (t < from || t > to || duration <= 0) continue;
    const name = names.get(profile.samples[i]!) ?? '(unknown)';
    total += duration;
    if (name === '(idle)') idle += duration;
    else {
      self.set(name, (self.get(name) ?? 0) + duration);
      const area = areaById.get(profile.samples[i]!) ?? '(unknown)';
      areas.set(area, (areas.get(area) ?? 0) + duration);
    }
  }
  const busy = total - idle;
  const ranked = (m: Map<string, number>, n: number) =>
    [...m]
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .slice(0, n)
      .map(([name, us]) => ({ name, ms: us / 1000, share: busy > 0 ? us / busy : 0 }));
  const top = ranked(self, options.top ?? 10);
  return {
    totalMs: total / 1000,
    idleMs: idle / 1000,
    top,
    areas: ranked(areas, 8),
    windowMissed: options.fromUs !== undefined && !overlaps,
  };
}

export function formatProfile(title: string, s: ProfileSummary): string {
  const busy = s.totalMs - s.idleMs;
  const lines = [
    `${title}: ${(busy / 1000).toFixed(1)} s busy of ${(s.totalMs / 1000).toFixed(1)} s sampled` +
      (s.windowMissed ? ' (the whole profile: the window was outside it)' : ''),
    ...s.top.map((e) => `  ${(e.share * 100).toFixed(1).padStart(5)} %  ${e.ms.toFixed(0).padStart(7)} ms  ${e.name}`),
    `  by area: ${s.areas.map((a) => `${a.name} ${(a.share * 100).toFixed(0)} %`).join(', ')}`,
  ];
  return lines.join('\n');
}

/** The one `.cpuprofile` a process wrote into `dir`. */
/**
 * Every thread's profile in `dir` (node --cpu-prof writes one per thread: CPU.<date>.<time>.<pid>.<thread id>.<n>),
 * the main thread's (id 0) first: with PGLITE_THREAD, the second is PGlite's thread.
 */
export function readProfiles(dir: string): { thread: number; profile: CpuProfile }[] {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  if (files.length === 0) throw new Error(`no .cpuprofile in ${dir}`);
  return files
    .map((file) => ({
      thread: Number(file.split('.').at(-3)),
      profile: JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile,
    }))
    .sort((a, b) => a.thread - b.thread);
}

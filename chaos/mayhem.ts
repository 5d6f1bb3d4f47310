// What goes wrong during a run: the sandbox's faults switched at random (duplicated, reordered, dropped and
// delayed webhooks, signatures past the 300 s tolerance, API errors and latency), Fulcrum processes SIGKILLed
// at random moments and restarted on the same database, and (PostgreSQL) the database's connections killed.
import type { Cluster, ManagedProcess } from './cluster.ts';
import type { EventLog } from './log.ts';
import type { Random } from './prng.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A random fault set for `POST /_sandbox/faults` (which replaces the whole set). */
export function randomFaults(r: Random): Record<string, number | boolean> {
  if (r.chance(0.2)) return {};
  const faults: Record<string, number | boolean> = { seed: r.int(0, 2 ** 31 - 1) };
  if (r.chance(0.3)) faults.duplicate = r.int(1, 2);
  if (r.chance(0.25)) faults.delayMs = r.int(200, 3000);
  if (r.chance(0.25)) {
    faults.reorder = true;
    faults.reorderWindowMs = r.int(200, 1500);
  }
  if (r.chance(0.25)) faults.dropRate = Number((0.1 + r.next() * 0.4).toFixed(2));
  // Mostly past Stripe's 300 s tolerance (refused forever: only reconciliation repairs those), sometimes inside it.
  if (r.chance(0.15)) faults.signatureAgeSeconds = r.chance(0.75) ? r.int(301, 900) : r.int(30, 250);
  if (r.chance(0.2)) faults.apiErrorRate = Number((0.05 + r.next() * 0.25).toFixed(2));
  if (r.chance(0.2)) faults.apiLatencyMs = r.int(100, 2500);
  return faults;
}

export async function setFaults(sandboxUrl: string, faults: Record<string, number | boolean> | null): Promise<boolean> {
  try {
    const res = await fetch(`${sandboxUrl}/_sandbox/faults`, {
      method: faults === null ? 'DELETE' : 'POST',
      headers: { 'content-type': 'application/json' },
      ...(faults === null ? {} : { body: JSON.stringify(faults) }),
      signal: AbortSignal.timeout(5_000),
    });
    return res.ok;
  } catch {
    return false;
  }
}

export function describeFaults(faults: Record<string, number | boolean>): string {
  const shown = Object.entries(faults).filter(([k]) => k !== 'seed');
  return shown.length === 0 ? 'none' : shown.map(([k, v]) => `${k}=${v}`).join(' ');
}

/** Switches the sandbox's faults every 0.8–3 s until `stopAt`. */
export async function faultLoop(log: EventLog, r: Random, sandboxUrl: string, stopAt: number): Promise<void> {
  while (Date.now() < stopAt) {
    const faults = randomFaults(r);
    const ok = await setFaults(sandboxUrl, faults);
    log.add('chaos', `faults: ${describeFaults(faults)}${ok ? '' : ' (the sandbox did not answer)'}`);
    await sleep(Math.min(r.int(800, 3000), Math.max(0, stopAt - Date.now())));
  }
}

/** SIGKILL, a pause, a restart on the same database and ports. */
export async function killAndRestart(log: EventLog, proc: ManagedProcess, pauseMs: number): Promise<void> {
  if (!proc.alive) return;
  await proc.kill();
  log.add('chaos', `SIGKILL ${proc.name}`, [proc.name]);
  await sleep(pauseMs);
  try {
    await proc.start();
    log.add('chaos', `${proc.name} restarted`, [proc.name]);
  } catch (error) {
    log.add(
      'chaos',
      `${proc.name} did not restart: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`,
      [proc.name],
    );
  }
}

/**
 * Kills at random moments of the workload: `kills` SIGKILLs of random Fulcrum processes and, on PostgreSQL,
 * `terminations` rounds of pg_terminate_backend on the run's database.
 */
export async function killLoop(
  log: EventLog,
  r: Random,
  cluster: Cluster,
  window: { start: number; stopAt: number },
  counts: { kills: number; terminations: number },
): Promise<void> {
  const span = window.stopAt - window.start;
  const plan: { at: number; what: 'kill' | 'terminate' }[] = [
    ...Array.from({ length: counts.kills }, () => ({
      at: window.start + span * (0.05 + 0.85 * r.next()),
      what: 'kill' as const,
    })),
    ...Array.from({ length: counts.terminations }, () => ({
      at: window.start + span * (0.05 + 0.9 * r.next()),
      what: 'terminate' as const,
    })),
  ].sort((a, b) => a.at - b.at);
  const restarts: Promise<void>[] = [];
  // A process between its kill and its restart is not picked again: two kills planned a moment apart once
  // both picked the same process and restarted it twice, the second start refused by the first's DATA_DIR lock.
  const restarting = new Set<ManagedProcess>();
  for (const step of plan) {
    await sleep(Math.max(0, step.at - Date.now()));
    if (step.what === 'terminate') {
      try {
        const ended = await cluster.terminateBackends();
        log.add('chaos', `pg_terminate_backend: ${ended} connections of the run's database ended`);
      } catch (error) {
        log.add('chaos', `pg_terminate_backend failed: ${String(error)}`);
      }
      continue;
    }
    const alive = cluster.fulcrum.filter((p) => p.ready && !restarting.has(p));
    if (alive.length === 0) continue;
    const victim = r.pick(alive);
    restarting.add(victim);
    restarts.push(killAndRestart(log, victim, r.int(200, 3000)).finally(() => restarting.delete(victim)));
  }
  await Promise.all(restarts);
}

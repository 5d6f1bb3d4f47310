// The run's event log: what the workload asked and got, which faults were on, what was killed. A failing
// invariant prints the entries about the ids it names, so the events that led there can be read back.

export interface LogEntry {
  /** Milliseconds since the run started. */
  t: number;
  /** Who acted: `customer 2`, `admin`, `chaos`, `settle`. */
  who: string;
  what: string;
  /** Ids the entry is about (orders, payments, users, sessions, refunds, processes). */
  ids: string[];
}

export interface EventLog {
  readonly entries: LogEntry[];
  add(who: string, what: string, ids?: readonly (string | null | undefined)[]): void;
  /** The entries about any of `ids`, and every chaos entry (faults, kills) in between. */
  about(ids: readonly string[], limit?: number): LogEntry[];
}

export function createEventLog(start = Date.now()): EventLog {
  const entries: LogEntry[] = [];
  return {
    entries,
    add(who, what, ids = []) {
      entries.push({ t: Date.now() - start, who, what, ids: ids.filter((id): id is string => typeof id === 'string') });
    },
    about(ids, limit = 100) {
      // A customer's or product's id matches most of the run: the order's, payment's and refund's ids tell more.
      const specific = ids.filter((id) => !/^(usr|prd)_/.test(id));
      const wanted = new Set(specific.length > 0 ? specific : ids);
      const related = entries.filter((e) => e.ids.some((id) => wanted.has(id)));
      if (related.length === 0) return entries.filter((e) => e.who === 'chaos').slice(-limit);
      const from = related[0]!.t;
      const to = related[related.length - 1]!.t;
      const picked = entries.filter(
        (e) => e.ids.some((id) => wanted.has(id)) || (e.who === 'chaos' && e.t >= from && e.t <= to),
      );
      return picked.slice(-limit);
    },
  };
}

export function formatEntry(e: LogEntry): string {
  return `${(e.t / 1000).toFixed(3).padStart(8)}s  ${e.who.padEnd(11)} ${e.what}`;
}

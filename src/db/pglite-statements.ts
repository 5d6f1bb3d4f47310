import { parse, protocol, type PGlite, type Results } from '@electric-sql/pglite';
import { planChanged, type StatementNames } from './prepared.ts';

/** One parameterised statement on PGlite and its result, as `PGlite.query` gives it. */
export type PGliteQuery = <R>(text: string, values: readonly unknown[]) => Promise<Results<R>>;

const { bind, describe, execute, sync } = protocol.serialize;

/**
 * Named (prepared) statements on PGlite (issue 11). `PGlite.query` parses, analyses and plans its text on every call
 * and crosses into PGlite's WebAssembly six times (parse, describe, bind, describe, execute, sync). Here a text seen
 * before (`names`, the same rules as on a server: see prepared.ts) is parsed once into a statement of that name, its
 * parameter types kept, and each later call is one crossing: bind, describe, execute and sync in one message. PGlite's
 * own serializers and parsers turn values into text and rows back, so a statement gives what `PGlite.query` gives.
 * Measured on the order path's read (a script, 3 × 3,000 calls): 0.74–0.97 ms with `PGlite.query`, 0.13–0.25 ms named.
 *
 * PGlite is one session, so a statement prepared once stays prepared for as long as the instance lives (Fulcrum's
 * `names` take whole-row statements too there, and give new names after a statement that changes a table: see
 * prepared.ts). Texts without a name (past the limit, `names` undefined) go through `PGlite.query` unchanged. Each
 * call holds PGlite's query lock (`runExclusive`), as `PGlite.query` does.
 */
export function pgliteQuery(pglite: PGlite, names: StatementNames | undefined): PGliteQuery {
  const named = namedStatements({
    // Under PGlite's query lock, as PGlite.query runs; an error response is thrown as PGlite.query throws it.
    exchange: (message) => pglite.runExclusive(() => pglite.execProtocolStream(message, { syncToFs: false })),
    serializers: pglite.serializers,
    parsers: pglite.parsers,
  });
  return async <R>(text: string, values: readonly unknown[]): Promise<Results<R>> => {
    const name = names?.nameOf(text);
    // A closed PGlite: its own query says so (the protocol calls below would not).
    if (name === undefined || pglite.closed) return pglite.query<R>(text, values as unknown[]);
    const result = await forgetIfPlanChanged(names!, named<R>(name, text, values));
    // As PGlite.query does after each statement outside its own transactions (a no-op on Node's file systems).
    await pglite.syncToFs();
    return result;
  };
}

/**
 * A named statement's answer; if its tables changed under it since it was prepared (planChanged: something changed
 * them without passing `names`), every name is forgotten so the next call prepares the text afresh, and it fails.
 */
export async function forgetIfPlanChanged<T>(names: StatementNames, answer: Promise<T>): Promise<T> {
  try {
    return await answer;
  } catch (error) {
    if (planChanged(error)) names.forget();
    throw error;
  }
}

/** A message PGlite's protocol parser gives, and the type parsers PGlite reads rows with. */
export type BackendMessage = Parameters<typeof parse.parseResults>[0][number];
export type TypeParsers = Parameters<typeof parse.parseResults>[1];

/** What named statements need of PGlite: one protocol exchange, and its type serializers and parsers. */
export interface ProtocolExchange {
  /** Sends frontend messages ending in Sync; resolves with the backend's messages, throws its error response. */
  exchange(message: Uint8Array): Promise<BackendMessage[]>;
  serializers: PGlite['serializers'];
  parsers: TypeParsers;
}

/**
 * Runs a statement by name: parsed (and described) the first time, each later call one exchange of bind, describe,
 * execute and sync. Two calls that meet a new name at once parse it once.
 */
export function namedStatements(port: ProtocolExchange) {
  const parameterTypes = new Map<string, Promise<number[]>>();

  function prepare(name: string, text: string): Promise<number[]> {
    const known = parameterTypes.get(name);
    if (known !== undefined) return known;
    // Parse and describe in one crossing; an error (syntax, unknown table, an aborted transaction) throws here, the
    // sync in the same message has ended it on PGlite's side, and nothing is remembered: the next call tries again.
    const types = port
      .exchange(frames(protocol.serialize.parse({ name, text }), describe({ type: 'S', name }), sync()))
      .then((messages) => parse.parseDescribeStatementResults(messages));
    parameterTypes.set(name, types);
    types.catch(() => parameterTypes.delete(name));
    return types;
  }

  return async <R>(name: string, text: string, values: readonly unknown[]): Promise<Results<R>> => {
    const types = await prepare(name, text);
    const serialized = values.map((value, i) => serialize(port.serializers, value, types[i]));
    const messages = await port.exchange(
      frames(bind({ statement: name, values: serialized }), describe({ type: 'P' }), execute({}), sync()),
    );
    return parse.parseResults(messages, port.parsers)[0] as Results<R>;
  };
}

/** A value as PGlite.query sends it: its serializer for the parameter's type, else its text; null for null. */
function serialize(
  serializers: ProtocolExchange['serializers'],
  value: unknown,
  type: number | undefined,
): string | null {
  if (value === null || value === undefined) return null;
  const serializer = type === undefined ? undefined : serializers[type];
  if (serializer !== undefined) return serializer(value);
  return (value as { toString(): string }).toString(); // PGlite.query's own fallback for a type without one
}

/** Byte arrays one after another in one new array. */
export function frames(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((length, part) => length + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

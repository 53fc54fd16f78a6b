// The building blocks of every parser of outside input (a webview's messages, the engine's
// requests, an import request): a result that is the value or the reason it was refused, the
// checks every parser makes, and one short rendering of a refused value. No `vscode`, DOM or Node
// import: the host, the engine, the views and the tests share it.
import { CnnSlicerError } from './errors';

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

export const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
export const refuse = (reason: string): { ok: false; reason: string } => ({ ok: false, reason });

/** A plain object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An integer ≥ 0 that a double holds exactly. */
export function isIndex(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** A short rendering of a refused value for a message or the log, never the whole of a large one. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (typeof value === 'object') return 'an object';
  return String(value);
}

/** Runs the field parsers in order; the first refusal wins. Fields parsed as undefined are left out. */
export function fields<T>(parsers: { [K in keyof T]: () => Parsed<T[K]> }): Parsed<T> {
  const out: Partial<T> = {};
  for (const key of Object.keys(parsers) as (keyof T)[]) {
    const r = parsers[key]();
    if (!r.ok) return r;
    if (r.value !== undefined) out[key] = r.value;
  }
  return ok(out as T);
}

/** `parse` for a value that may be absent. */
export const optional = <T>(value: unknown, parse: (v: unknown) => Parsed<T>): Parsed<T | undefined> => (value === undefined ? ok(undefined) : parse(value));

/** The value, or a `bad-request` error with the reason: for the engine, whose handlers throw. */
export function orThrow<T>(parsed: Parsed<T>): T {
  if (!parsed.ok) throw new CnnSlicerError('bad-request', parsed.reason);
  return parsed.value;
}

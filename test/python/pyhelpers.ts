// Shared by the tests under test/python: choosing the interpreter (or skipping when there is none),
// running the helper script, and comparing tensors bit for bit.
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { describePythonSearch, findPython, runPython, type PythonResult, type RunPythonOptions } from '../support/python';

export const ROUNDTRIP_SCRIPT = path.join(__dirname, 'scripts', 'roundtrip.py');

/**
 * The interpreter for a suite, from a mocha `before` hook. Without one, the suite is skipped on a
 * developer's machine, but fails under CI, where a missing interpreter means a broken image rather
 * than a choice.
 */
export function requirePython(ctx: Mocha.Context, require: readonly string[] = ['numpy']): string {
  const python = findPython({ require });
  if (python !== undefined) return python;
  const why = describePythonSearch({ require });
  if (process.env.CI) throw new Error(`${why}; CI must run the Python tests`);
  console.log(`      skipped: ${why}`);
  ctx.skip();
}

/** Runs one subcommand of scripts/roundtrip.py. */
export function roundtrip(python: string, args: readonly string[], opts: RunPythonOptions = {}): Promise<PythonResult> {
  return runPython(python, [ROUNDTRIP_SCRIPT, ...args], opts);
}

/** Parses the JSON a subcommand printed, showing its stderr when it did not print JSON. */
export function parseOutput<T>(result: PythonResult): T {
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    throw new Error(`expected JSON from python (exit ${result.status}), got:\n${result.stdout}\n--- stderr ---\n${result.stderr}`);
  }
}

export function bytesOf(view: ArrayBufferView): Buffer {
  return Buffer.from(view.buffer, view.byteOffset, view.byteLength);
}

export function sha256(view: ArrayBufferView): string {
  return createHash('sha256').update(bytesOf(view)).digest('hex');
}

/**
 * Where two float32 arrays differ: same bit pattern, or both NaN (a NaN's payload is not a value).
 * Returns a description of the first few differences, empty when they agree.
 */
export function float32Differences(actual: Float32Array, expected: Float32Array, limit = 5): string[] {
  if (actual.length !== expected.length) return [`length ${actual.length}, expected ${expected.length}`];
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const e = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  const out: string[] = [];
  for (let i = 0; i < a.length && out.length < limit; i++) {
    if (a[i] === e[i] || (Number.isNaN(actual[i]) && Number.isNaN(expected[i]))) continue;
    out.push(`[${i}] ${actual[i]} (0x${a[i].toString(16)}), expected ${expected[i]} (0x${e[i].toString(16)})`);
  }
  return out;
}

/** A Float32Array over a copy of `bytes`, so its alignment never depends on where the bytes came from. */
export function float32FromBytes(bytes: Uint8Array): Float32Array {
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return new Float32Array(copy.buffer, 0, copy.byteLength / 4);
}

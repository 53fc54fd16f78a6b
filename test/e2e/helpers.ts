// Small pieces the end-to-end suites share: deterministic fixture values and a poll from this
// process until what the workbench shows holds.
import * as assert from 'node:assert';

/** Deterministic values in [-1, 1), so a run written on disk is the same at every test run. */
export function filled(length: number, seed: number): Float32Array {
  const out = new Float32Array(length);
  let s = seed >>> 0;
  for (let i = 0; i < length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

export const product = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

/** Reads `read` until `ok` holds, from this process: the page's own timers would need helpers tsx adds to named functions. */
export async function until<T>(what: string, read: () => Promise<T>, ok: (value: T) => boolean, timeout = 60_000): Promise<T> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) assert.fail(`${what}: still ${JSON.stringify(value)} after ${timeout} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

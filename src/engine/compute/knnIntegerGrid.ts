// The exact-grid test of the integer k-NN path (knnInteger.ts): whether every value is one of at
// most 256 levels of a grid, the levels themselves, and which MatMulInteger variant onnxruntime
// computes exactly on this machine.
import type { Tensor } from 'onnxruntime-node';
import { loadOrt } from '../onnx/ortRuntime';
import { type IntegerGemmVariant, knnIntegerBlockSession } from './graphs';

/** The points as levels 0…255 of a grid offset + level·scale. */
export interface ExactGrid {
  /** n × d levels, in shared memory for the worker threads. */
  readonly levels: Uint8Array;
  readonly scale: number;
}

/**
 * Whether every value is offset + p·scale for an integer p in 0…255, up to the rounding that
 * storing it in float32 (or computing it in a few float32 operations) leaves: 2⁻²⁰ of the largest
 * magnitude. The offset is the minimum; the scales tried are (max − min)/255, which fits any set
 * that uses both end levels (images scaled from 8-bit pixels, normalised or not), then 1/255 and 1
 * (pixels /255 or raw, whose range falls short of an end level). A grid must be resolved: the
 * admitted rounding under 1/16 of a step, so each value names one level.
 */
export function exactGrid(points: Float32Array, n: number, d: number, range?: { min: number; max: number }): ExactGrid | undefined {
  let { min, max } = range ?? { min: Infinity, max: -Infinity };
  if (range === undefined) {
    for (let t = 0; t < points.length; t++) {
      const v = points[t];
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  if (!(max > min)) return undefined;
  const tolerance = 2 ** -20 * Math.max(Math.abs(min), Math.abs(max));
  let levels: Uint8Array | undefined;
  for (const scale of [(max - min) / 255, 1 / 255, 1]) {
    if ((max - min) / scale > 255 * (1 + 2 ** -40) || tolerance > scale / 16) continue;
    levels ??= new Uint8Array(new SharedArrayBuffer(n * d));
    const grid = Float64Array.from({ length: 256 }, (_, p) => min + p * scale);
    if (quantise(points, min, 1 / scale, grid, tolerance, levels) === points.length) return { levels, scale };
  }
  return undefined;
}

/**
 * Writes each value's level on `grid` into `levels` until a value is more than `tolerance` off
 * every level; returns how many were written.
 */
function quantise(points: Float32Array, min: number, inverse: number, grid: Float64Array, tolerance: number, levels: Uint8Array): number {
  let t = 0;
  for (; t < points.length; t++) {
    const v = points[t];
    // Rounds to nearest: v − min ≥ 0, and (v − min)·inverse ≤ 255 by the caller's range check.
    const p = ((v - min) * inverse + 0.5) | 0;
    if (p > 255 || Math.abs(v - grid[p]) > tolerance) break;
    levels[t] = p;
  }
  return t;
}

/**
 * The int8 (or uint8) right-hand operand [d, n] of the integer product: the levels transposed,
 * less 128 for 'u8s8' (see buildKnnIntegerBlockGraph). Tiled, so that neither side of the
 * transposition strides through memory a byte at a time for long.
 */
export function transposedOperand(levels: Uint8Array, n: number, d: number, variant: IntegerGemmVariant): Uint8Array {
  const out = new Uint8Array(new SharedArrayBuffer(n * d));
  const shift = variant === 'u8s8' ? 128 : 0;
  const tile = 64;
  for (let j0 = 0; j0 < n; j0 += tile) {
    const j1 = Math.min(n, j0 + tile);
    for (let t0 = 0; t0 < d; t0 += tile) {
      const t1 = Math.min(d, t0 + tile);
      for (let j = j0; j < j1; j++) {
        for (let t = t0; t < t1; t++) out[t * n + j] = (levels[j * d + t] - shift) & 255;
      }
    }
  }
  return out;
}

/** An onnxruntime tensor of the integer graph's operands; typed arrays must not be shared (onnxruntime-node refuses them). */
export function integerTensor(type: 'uint8' | 'int8' | 'int32', data: Uint8Array | Int8Array | Int32Array, dims: number[]): Tensor {
  return new (loadOrt().Tensor)(type, data, dims);
}

/** A private copy of the right-hand operand as the tensor type its variant takes. */
export function operandTensor(xT: Uint8Array, variant: IntegerGemmVariant, d: number, n: number): Tensor {
  const local = new Uint8Array(xT.length);
  local.set(xT);
  return variant === 'u8s8' ? integerTensor('int8', new Int8Array(local.buffer), [d, n]) : integerTensor('uint8', local, [d, n]);
}

/**
 * Runs a product whose exact result is known, with the values that make a kernel saturate
 * (255 × 127 and 255 × −128 in adjacent terms, ragged sizes): MLAS without VNNI multiplies u8 × s8
 * with vpmaddubsw, whose int16 pair sums clip.
 */
export async function integerGemmIsExact(variant: IntegerGemmVariant): Promise<boolean> {
  const session = await knnIntegerBlockSession(variant);
  const m = 9;
  const n = 37;
  const d = 131;
  const q = new Uint8Array(m * d);
  const x = new Uint8Array(n * d);
  let seed = 12345;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
  for (let t = 0; t < d; t++) {
    q[t] = 255;
    q[d + t] = t % 2 === 0 ? 255 : 0;
    for (let r = 2; r < m; r++) q[r * d + t] = next();
    x[t] = 255;
    x[d + t] = 0;
    x[2 * d + t] = t % 3 === 0 ? 0 : 255;
    for (let j = 3; j < n; j++) x[j * d + t] = next();
  }
  const xT = transposedOperand(x, n, d, variant);
  const shift = variant === 'u8s8' ? 128 : 0;
  let y: Int32Array;
  try {
    const out = await session.run({ Q: integerTensor('uint8', q, [m, d]), XT: operandTensor(xT, variant, d, n) });
    y = out.Y.data as Int32Array;
  } catch {
    return false;
  }
  for (let r = 0; r < m; r++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let t = 0; t < d; t++) s += q[r * d + t] * (x[j * d + t] - shift);
      if (y[r * n + j] !== s) return false;
    }
  }
  return true;
}

let variantChoice: Promise<IntegerGemmVariant | undefined> | undefined;

/** The fastest integer product variant that is exact on this CPU, if any; decided once per thread. */
export function exactIntegerVariant(): Promise<IntegerGemmVariant | undefined> {
  variantChoice ??= (async () => {
    for (const variant of ['u8s8', 'u8u8'] as const) {
      try {
        if (await integerGemmIsExact(variant)) return variant;
      } catch {
        // This variant cannot even be loaded: try the next.
      }
    }
    return undefined;
  })();
  return variantChoice;
}

/** The levels without the dimensions that are constant over all points: they add nothing to any distance. */
export function dropConstantDimensions(levels: Uint8Array, n: number, d: number): { levels: Uint8Array; d: number } {
  const keep: number[] = [];
  for (let t = 0; t < d; t++) {
    const first = levels[t];
    for (let i = 1; i < n; i++) {
      if (levels[i * d + t] !== first) {
        keep.push(t);
        break;
      }
    }
  }
  // At least one, so that the product keeps a shape (all points equal: every distance is 0).
  if (keep.length === 0) keep.push(0);
  if (keep.length === d) return { levels, d };
  const kept = keep.length;
  const out = new Uint8Array(new SharedArrayBuffer(n * kept));
  for (let i = 0; i < n; i++) for (let t = 0; t < kept; t++) out[i * kept + t] = levels[i * d + keep[t]];
  return { levels: out, d: kept };
}

// A deterministic tiny CNN checkpoint and a plain-loop forward pass of it, so engine tests can run
// real ONNX models without Python and check onnxruntime's results against an independent
// computation.
//   input [batch,1,8,8] → Conv 4×3×3 pads 1 'conv1' → Relu 'relu1' → MaxPool 2×2 'pool1'
//   → Flatten → Gemm 64→3 'logits'
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { CnnSlicerError } from '../../src/shared/errors';
import { GraphBuilder, floatAttr } from '../../src/core/onnx/graphBuilder';
export { seededRandom } from './seededRandom';
import { seededRandom } from './seededRandom';

export const TINY_INPUT_SHAPE = [1, 8, 8] as const;
export const TINY_SAMPLE_SIZE = 64;
export const TINY_OUTPUTS = ['conv1', 'relu1', 'pool1', 'logits'] as const;
export type TinyOutput = (typeof TINY_OUTPUTS)[number];
/** Per-sample shape of each graph output. */
export const TINY_OUTPUT_SHAPES: Record<TinyOutput, number[]> = {
  conv1: [4, 8, 8],
  relu1: [4, 8, 8],
  pool1: [4, 4, 4],
  logits: [3],
};

/** `n` values uniform in [lo, hi). */
export function randomFloats(rand: () => number, n: number, lo = -1, hi = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * rand();
  return out;
}

export interface TinyCnnWeights {
  /** [4, 1, 3, 3] */
  readonly convW: Float32Array;
  /** [4] */
  readonly convB: Float32Array;
  /** [3, 64], applied transposed (Gemm transB=1), as torch's Linear stores it. */
  readonly fcW: Float32Array;
  /** [3] */
  readonly fcB: Float32Array;
}

export function tinyCnnWeights(seed = 1): TinyCnnWeights {
  const rand = seededRandom(seed);
  return {
    convW: randomFloats(rand, 36, -0.5, 0.5),
    convB: randomFloats(rand, 4, -0.1, 0.1),
    fcW: randomFloats(rand, 192, -0.3, 0.3),
    fcB: randomFloats(rand, 3, -0.1, 0.1),
  };
}

export function buildTinyCnn(w: TinyCnnWeights = tinyCnnWeights()): Uint8Array {
  return (
    new GraphBuilder('tiny_cnn')
      .input('input', 'float32', ['batch', 1, 8, 8])
      .initializer('conv1.weight', w.convW, [4, 1, 3, 3])
      .initializer('conv1.bias', w.convB, [4])
      .initializer('fc.weight', w.fcW, [3, 64])
      .initializer('fc.bias', w.fcB, [3])
      .node('Conv', ['input', 'conv1.weight', 'conv1.bias'], ['conv1'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [1, 1], group: 1 })
      .node('Relu', ['conv1'], ['relu1'])
      .node('MaxPool', ['relu1'], ['pool1'], { kernel_shape: [2, 2], strides: [2, 2] })
      .node('Flatten', ['pool1'], ['flat'], { axis: 1 })
      // alpha/beta spelled out so a FLOAT attribute with an integral value goes through onnxruntime.
      .node('Gemm', ['flat', 'fc.weight', 'fc.bias'], ['logits'], { transB: 1, alpha: floatAttr(1), beta: floatAttr(1) })
      .output('conv1', ['batch', 4, 8, 8])
      .output('relu1', ['batch', 4, 8, 8])
      .output('pool1', ['batch', 4, 4, 4])
      .output('logits', ['batch', 3])
      .toModelBytes()
  );
}

export function writeTinyCnn(path: string, w: TinyCnnWeights = tinyCnnWeights()): string {
  writeFileSync(path, buildTinyCnn(w));
  return path;
}

/** The forward pass by direct loops (in float64), for `n` samples of 1×8×8 concatenated in `input`. */
export function tinyCnnReference(w: TinyCnnWeights, input: Float32Array, n: number): Record<TinyOutput, Float32Array> {
  if (input.length !== n * TINY_SAMPLE_SIZE) throw new Error(`input holds ${input.length} values, expected ${n * TINY_SAMPLE_SIZE}`);
  const conv1 = new Float32Array(n * 256);
  const relu1 = new Float32Array(n * 256);
  const pool1 = new Float32Array(n * 64);
  const logits = new Float32Array(n * 3);
  for (let s = 0; s < n; s++) {
    const x = (r: number, c: number) => (r < 0 || r >= 8 || c < 0 || c >= 8 ? 0 : input[s * 64 + r * 8 + c]);
    for (let o = 0; o < 4; o++) {
      for (let r = 0; r < 8; r++) {
        for (let c = 0; c < 8; c++) {
          let acc = w.convB[o];
          for (let kr = 0; kr < 3; kr++) for (let kc = 0; kc < 3; kc++) acc += w.convW[o * 9 + kr * 3 + kc] * x(r + kr - 1, c + kc - 1);
          const i = s * 256 + o * 64 + r * 8 + c;
          conv1[i] = acc;
          relu1[i] = Math.max(0, acc);
        }
      }
      for (let r = 0; r < 4; r++) {
        for (let c = 0; c < 4; c++) {
          const base = s * 256 + o * 64;
          const a = relu1[base + 2 * r * 8 + 2 * c];
          const b = relu1[base + 2 * r * 8 + 2 * c + 1];
          const d = relu1[base + (2 * r + 1) * 8 + 2 * c];
          const e = relu1[base + (2 * r + 1) * 8 + 2 * c + 1];
          pool1[s * 64 + o * 16 + r * 4 + c] = Math.max(a, b, d, e);
        }
      }
    }
    for (let k = 0; k < 3; k++) {
      let acc = w.fcB[k];
      for (let j = 0; j < 64; j++) acc += w.fcW[k * 64 + j] * pool1[s * 64 + j];
      logits[s * 3 + k] = acc;
    }
  }
  return { conv1, relu1, pool1, logits };
}

// Assertions shared by the engine tests that run these models.

/** Elementwise |a-b| <= tol·max(1,|b|): absolute near zero, relative for large activations. */
export function assertClose(actual: Float32Array, expected: Float32Array, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= tol * Math.max(1, Math.abs(expected[i])))) assert.fail(`${what}[${i}]: ${actual[i]} vs ${expected[i]} (diff ${d})`);
  }
}

/** Awaits `p`, expecting a CnnSlicerError with this code whose message mentions each of `mentions`. */
export async function rejectsWith(p: Promise<unknown>, code: string, ...mentions: string[]): Promise<CnnSlicerError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof CnnSlicerError, `expected a CnnSlicerError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    for (const m of mentions) assert.ok(err.message.includes(m), `"${err.message}" should mention ${m}`);
    return err;
  }
  assert.fail(`expected a ${code} rejection`);
}

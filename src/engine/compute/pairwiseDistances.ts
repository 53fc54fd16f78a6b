// Per-channel distances between the feature maps of every pair of probe samples: the input of the
// channel-capacity estimator (paper §5.3.1), which bins them into a 2-D histogram per channel pair.
//
// Layout of the result, which src/engine/estimators/channelCapacity.ts reads as is:
//   data[c · pairs + p] is the distance in channel c for the p-th pair, pairs in the order
//   (0,1), (0,2) … (0,n−1), (1,2) … (n−2,n−1), i.e. p(i, j) = i·n − i·(i+1)/2 + (j − i − 1).
//
// Precision. Distances come from |a|² + |b|² − 2a·b, accumulated in float32 by one GEMM over
// augmented, channel-centred maps (see graphs.ts). By the standard bound for a dot product of
// S + 2 terms, plus the float32 rounding of |a|² and |b|², the error of D² is at most about
// 3(S + 2)·2⁻²⁴·(|a|² + |b|²) (centred norms): an absolute error, so a distance D is off by at most
// that / (2D), or by its square root as D → 0. For 16×16 maps (S = 256) that is ≈ 4.6·10⁻⁵ of the
// squared norms in the worst case (typically ~√S·2⁻²⁴, a hundred times less): far below the
// width of a histogram bin (max / B, B ≈ 16–32), so at most a pair sitting on a bin edge can
// change bin, which moves a capacity by O(1/pairs) bits. Negative D² from rounding are clamped to
// 0. No float64 pass: the estimator only bins these.
import type { Tensor } from 'onnxruntime-node';
import { CnnSlicerError } from '../../shared/errors';
import { makeTensor } from '../onnx/ortRuntime';
import { channelDistancesSession } from './graphs';

export interface PairwiseOptions {
  signal?: AbortSignal;
  /** Called after each chunk of channels with the number of channels done and C. */
  onProgress?: (done: number, total: number) => void;
  /**
   * Most channels per onnxruntime call; by default as many as keep one [channels, n, n] block
   * ≤ maxBlockBytes. C is split evenly into calls of at least 2 channels (see below).
   */
  chunkChannels?: number;
  /** Bound on one float32 [channels, n, n] block; default 64 MiB (onnxruntime holds a few such). */
  maxBlockBytes?: number;
}

export interface ChannelDistances {
  readonly channels: number;
  /** n·(n−1)/2 */
  readonly pairs: number;
  /** channels × pairs, see the top of this file for the order. */
  readonly data: Float32Array;
}

const DEFAULT_BLOCK_BYTES = 64 * 1024 * 1024;
// The result alone is C·n(n−1)/2 floats; past this the request is refused rather than left to
// fail as an out-of-memory deep inside a typed-array allocation.
const MAX_RESULT_VALUES = 2 ** 28;

/** The pair index of samples i < j among n, in the order used by `data`. */
export function pairIndex(i: number, j: number, n: number): number {
  return i * n - (i * (i + 1)) / 2 + (j - i - 1);
}

function checkSignal(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CnnSlicerError('cancelled', 'the pairwise distance computation was cancelled');
}

/** Flat positions i·n + j of the upper triangle, in pair order: the graph's Gather indices. */
export function upperTriangle(n: number): BigInt64Array {
  const out = new BigInt64Array((n * (n - 1)) / 2);
  let p = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) out[p++] = BigInt(i * n + j);
  }
  return out;
}

/**
 * Checks the request of pairwiseChannelDistances / forEachChannelChunk (throwing `bad-request`) and
 * returns its pair count.
 */
export function checkMaps(maps: Float32Array, n: number, C: number, S: number): number {
  for (const [name, v] of [
    ['n', n],
    ['C', C],
    ['S', S],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) throw new CnnSlicerError('bad-request', `pairwise distances: ${name} must be a positive integer, not ${v}`);
  }
  if (n < 2) throw new CnnSlicerError('bad-request', 'pairwise distances need at least 2 samples');
  if (maps.length !== n * C * S)
    throw new CnnSlicerError('bad-request', `pairwise distances: ${maps.length} values do not make ${n} samples × ${C} channels × ${S} values`);
  for (let i = 0; i < maps.length; i++) {
    if (!Number.isFinite(maps[i])) {
      const sample = Math.floor(i / (C * S));
      throw new CnnSlicerError('bad-request', `pairwise distances: sample ${sample}, channel ${Math.floor(i / S) % C} has a non-finite value (${maps[i]})`);
    }
  }
  return (n * (n - 1)) / 2;
}

/**
 * Channels per onnxruntime call: as many as keep one float32 [channels, n, n] block within
 * maxBlockBytes, C split evenly, at least 2. Every call gets the same number of channels, the last
 * chunk padded with zero maps: onnxruntime's MatMul takes another code path for a batch of one,
 * whose roundings differ in the last bit, and results should not depend on the memory budget
 * (cached results are keyed by their inputs, not by how they were chunked). Splitting C evenly
 * keeps the padding under one channel per chunk.
 */
export function chunkPlan(n: number, C: number, opts: Pick<PairwiseOptions, 'chunkChannels' | 'maxBlockBytes'>): { perChunk: number; chunks: number } {
  const blockBytes = opts.maxBlockBytes ?? DEFAULT_BLOCK_BYTES;
  const maxPerChunk = Math.max(1, Math.min(C, opts.chunkChannels ?? Math.floor(blockBytes / (4 * n * n))));
  if (!Number.isInteger(maxPerChunk))
    throw new CnnSlicerError('bad-request', `pairwise distances: chunkChannels must be an integer, not ${opts.chunkChannels}`);
  const chunks = Math.ceil(C / maxPerChunk);
  const perChunk = Math.max(2, Math.ceil(C / chunks));
  return { perChunk, chunks: Math.ceil(C / perChunk) };
}

/** Channels [c0, c0 + cs) of n × C × S maps as the graph's [perChunk, n, S] input, the rest of `block` zero. */
export function fillBlock(maps: Float32Array, n: number, C: number, S: number, c0: number, cs: number, block: Float32Array): void {
  // [n, C, S] → [cs, n, S]: each map is S contiguous values.
  for (let c = 0; c < cs; c++) {
    for (let i = 0; i < n; i++) {
      const src = (i * C + c0 + c) * S;
      block.set(maps.subarray(src, src + S), (c * n + i) * S);
    }
  }
  block.fill(0, cs * n * S);
}

/**
 * The distances of pairwiseChannelDistances, a chunk of channels at a time: `onChunk(c0, count,
 * distances)` gets channels [c0, c0 + count) as count × pairs values (valid only during the call),
 * so that a caller can reduce them (bin them, take maxima) without ever holding C × pairs floats.
 * The chunks and their values are exactly those pairwiseChannelDistances assembles.
 */
export async function forEachChannelChunk(
  maps: Float32Array,
  n: number,
  C: number,
  S: number,
  onChunk: (c0: number, count: number, distances: Float32Array) => void,
  opts: PairwiseOptions = {},
): Promise<number> {
  const pairs = checkMaps(maps, n, C, S);
  checkSignal(opts.signal);
  const { perChunk } = chunkPlan(n, C, opts);
  const session = await channelDistancesSession();
  const pairsTensor = makeTensor(upperTriangle(n), [pairs]);
  const block = new Float32Array(perChunk * n * S);
  for (let c0 = 0; c0 < C; c0 += perChunk) {
    checkSignal(opts.signal);
    const c1 = Math.min(C, c0 + perChunk);
    fillBlock(maps, n, C, S, c0, c1 - c0, block);
    let out;
    try {
      out = await session.run({ M: makeTensor(block, [perChunk, n, S]), PAIRS: pairsTensor });
    } catch (err) {
      throw new CnnSlicerError(
        'internal',
        `pairwise distances for channels ${c0}…${c1 - 1} failed in onnxruntime: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    const d = out.D as Tensor;
    onChunk(c0, c1 - c0, (d.data as Float32Array).subarray(0, (c1 - c0) * pairs));
    // onnxruntime's output is released now rather than at the next collection.
    d.dispose();
    opts.onProgress?.(c1, C);
    await new Promise<void>((r) => setImmediate(r));
  }
  checkSignal(opts.signal);
  return pairs;
}

/**
 * For each channel, the Euclidean distance between the feature maps of every pair of samples.
 * `maps` is n × C × S (sample-major, as activations are stored: N×C×H×W with S = H·W). Holds
 * C × n(n−1)/2 floats: the channel capacity uses forEachChannelChunk instead.
 */
export async function pairwiseChannelDistances(maps: Float32Array, n: number, C: number, S: number, opts: PairwiseOptions = {}): Promise<ChannelDistances> {
  const pairs = checkMaps(maps, n, C, S);
  if (C * pairs > MAX_RESULT_VALUES) {
    throw new CnnSlicerError(
      'bad-request',
      `pairwise distances: ${C} channels × ${pairs} sample pairs is more than ${MAX_RESULT_VALUES} values; use fewer probe samples`,
    );
  }
  const data = new Float32Array(C * pairs);
  await forEachChannelChunk(maps, n, C, S, (c0, _count, distances) => data.set(distances, c0 * pairs), opts);
  return { channels: C, pairs, data };
}

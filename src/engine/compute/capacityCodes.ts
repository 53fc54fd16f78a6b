// A layer's feature maps straight to the channel capacity's bin codes, a chunk of channels at a
// time, so that the C × n(n−1)/2 float32 distances (1 GB for 512 channels over 1,000 probe
// samples) never exist at once: each chunk of distances from onnxruntime is binned into one byte a
// pair and dropped. With capacityRange 'channel' a channel's bins need only its own maximum, known
// once its chunk is there; with 'layer' they need the layer's, so a first pass over the chunks
// takes the maxima and a second recomputes the distances and bins them (the distances cost a
// small share of the capacity matrix). The codes are those codeDistances gives for the whole
// layer's distances, byte for byte.
import { availableParallelism } from 'node:os';
import { CnnSlicerError } from '../../shared/errors';
import { allocateCodes, codeChannelChunk, maxDistance, type CapacityParams, type CodedChannels, type CodeStorage } from '../estimators/channelCapacity';
import { executionProviderInUse } from '../onnx/ortRuntime';
import { codeChannelMapsParallel, codesWorkersAvailable } from './capacityCodesParallel';
import { channelDistancesSession } from './graphs';
import { forEachChannelChunk, type PairwiseOptions } from './pairwiseDistances';

export interface CodeMapsOptions extends PairwiseOptions {
  /** Increasing pair indices to code (samplePairs); every pair when absent. */
  sample?: Int32Array;
  /**
   * Worker threads for the distances and binning (capacityCodesParallel.ts). Default: the
   * CNNSLICER_THREADS environment variable, else every core from PARALLEL_MIN_VALUES distances,
   * else none. Used only with shared storage and onnxruntime on the CPU (a CUDA session's floats
   * could differ from the workers' CPU sessions'); the codes are the same either way.
   */
  threads?: number;
  /**
   * capacityRange 'layer' only: the layer's largest pair distance, known already (a layer coded a
   * chunk of channels at a time, capacityTiles.ts). Its first pass is then skipped; the coding
   * stays on this thread.
   */
  layerUpper?: number;
}

/** C × pairs from which the default computes on worker threads (~0.4 s on one core; a worker starts in ~0.2 s). */
const PARALLEL_MIN_VALUES = 2 ** 25;

function threadsFor(C: number, allPairs: number, asked: number | undefined): number {
  if (asked !== undefined) return asked;
  const env = Number(process.env.CNNSLICER_THREADS);
  if (Number.isInteger(env) && env >= 1) return env;
  return C * allPairs >= PARALLEL_MIN_VALUES ? availableParallelism() : 1;
}

/**
 * Bin codes of every channel of `maps` (n × C × S, sample-major) for the channel capacity, into
 * `storage` (a WebAssembly arena for the fast kernel, else shared or plain memory).
 */
export async function codeChannelMaps(
  maps: Float32Array,
  n: number,
  C: number,
  S: number,
  params: CapacityParams,
  storage: CodeStorage = {},
  opts: CodeMapsOptions = {},
): Promise<CodedChannels> {
  const allPairs = (n * (n - 1)) / 2;
  const coded = allocateCodes(C, opts.sample?.length ?? Math.max(allPairs, 1), params, storage);
  const given = params.capacityRange === 'layer' ? opts.layerUpper : undefined;
  const passes = params.capacityRange === 'layer' && given === undefined ? 2 : 1;
  const threads = given !== undefined ? 1 : threadsFor(C, allPairs, opts.threads);
  if (threads > 1 && n >= 2 && coded.codes.buffer instanceof SharedArrayBuffer && codesWorkersAvailable()) {
    // The calling thread's session fixes the execution provider (CUDA where it works).
    await channelDistancesSession();
    if (executionProviderInUse() === 'cpu') {
      try {
        await codeChannelMapsParallel(maps, n, C, S, passes === 2, coded, threads, opts);
        return coded;
      } catch (err) {
        // A worker that could not start or failed: this thread computes everything again (an
        // error of the data itself then surfaces here too).
        if (err instanceof CnnSlicerError && (err.code === 'cancelled' || err.code === 'bad-request')) throw err;
      }
    }
  }
  const progress = (pass: number) => (done: number, total: number) => opts.onProgress?.(pass * total + done, passes * total);
  let layerUpper: number | undefined = given;
  if (passes === 2) layerUpper = await layerMaxDistance(maps, n, C, S, { ...opts, onProgress: progress(0) });
  await forEachChannelChunk(maps, n, C, S, (c0, _count, distances) => codeChannelChunk(coded, c0, distances, allPairs, layerUpper, opts.sample), {
    ...opts,
    onProgress: progress(passes - 1),
  });
  return coded;
}

/**
 * The largest pair distance over every channel of n × C × S maps: the bins' upper end for
 * capacityRange 'layer' (the first pass of codeChannelMaps, and of a layer coded a tile at a
 * time, analysis/capacityTiles.ts). Throws on a non-finite distance.
 */
export async function layerMaxDistance(maps: Float32Array, n: number, C: number, S: number, opts: PairwiseOptions = {}): Promise<number> {
  const allPairs = (n * (n - 1)) / 2;
  let max = 0;
  await forEachChannelChunk(
    maps,
    n,
    C,
    S,
    (c0, count, distances) => {
      for (let c = 0; c < count; c++) max = Math.max(max, maxDistance(distances, c * allPairs, allPairs, c0 + c));
    },
    opts,
  );
  return max;
}

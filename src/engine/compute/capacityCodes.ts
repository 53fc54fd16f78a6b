// A layer's feature maps straight to the channel capacity's bin codes, a chunk of channels at a
// time, so that the C × n(n−1)/2 float32 distances (1 GB for 512 channels over 1,000 probe
// samples) never exist at once: each chunk of distances from onnxruntime is binned into one byte a
// pair and dropped. With capacityRange 'channel' a channel's bins need only its own maximum, known
// once its chunk is there; with 'layer' they need the layer's, so a first pass over the chunks
// takes the maxima and a second recomputes the distances and bins them (the distances cost a
// small share of the capacity matrix). The codes are those codeDistances gives for the whole
// layer's distances, byte for byte.
import { allocateCodes, codeChannelChunk, maxDistance, type CapacityParams, type CodedChannels, type CodeStorage } from '../estimators/channelCapacity';
import { forEachChannelChunk, type PairwiseOptions } from './pairwiseDistances';

export interface CodeMapsOptions extends PairwiseOptions {
  /** Increasing pair indices to code (samplePairs); every pair when absent. */
  sample?: Int32Array;
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
  const passes = params.capacityRange === 'layer' ? 2 : 1;
  const progress = (pass: number) => (done: number, total: number) => opts.onProgress?.(pass * total + done, passes * total);
  let layerUpper: number | undefined;
  if (passes === 2) {
    let max = 0;
    await forEachChannelChunk(
      maps,
      n,
      C,
      S,
      (c0, count, distances) => {
        for (let c = 0; c < count; c++) max = Math.max(max, maxDistance(distances, c * allPairs, allPairs, c0 + c));
      },
      { ...opts, onProgress: progress(0) },
    );
    layerUpper = max;
  }
  await forEachChannelChunk(maps, n, C, S, (c0, _count, distances) => codeChannelChunk(coded, c0, distances, allPairs, layerUpper, opts.sample), {
    ...opts,
    onProgress: progress(passes - 1),
  });
  return coded;
}

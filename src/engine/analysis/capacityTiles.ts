// The channel-capacity matrix of two layers with the bin codes held a tile at a time, so that its
// memory is bounded whatever the layers' channel counts. The codes take one byte per channel and
// sample pair: two MobileNetV2 layers of 960 channels over 1,000 probe samples (499,500 pairs)
// need 960 MB of them at once, and an analysis that computed such matrices one after the other
// peaked at 2.7 GB. Above CAPACITY_CODE_BUDGET the columns (layer li) are coded a chunk of
// channels at a time and, for each chunk, the rows (layer lj) a chunk at a time; the rows' codes
// are recomputed for every column chunk (their distances cost little next to the counting).
//
// Every cell depends only on its two channels' codes, and a channel's codes only on its own
// distances (capacityRange 'channel') or the layer's largest distance ('layer', taken once over
// the whole layer first), so the matrix is the one the untiled computation gives, bit for bit.
import { CnnSlicerError } from '../../shared/errors';
import { codeChannelMaps, layerMaxDistance } from '../compute/capacityCodes';
import { capacityMatrixOfCodes } from '../compute/capacityParallel';
import { codeBytes, type CapacityMatrix, type CapacityParams } from '../estimators';
import { createCapacityArena, type CapacityArena } from '../estimators/capacityWasm';

/** Bytes of bin codes held at once: with both layers' activations and the threads' buffers, an analysis stays under ~1.2 GB. */
export const CAPACITY_CODE_BUDGET = 384 * 1024 * 1024;

export interface TiledCapacityOptions {
  readonly signal?: AbortSignal;
  /** Sampled pair indices (capacityPairs), or every pair. */
  readonly sample?: Int32Array;
  readonly onProgress?: (done: number, total: number) => void;
  /** Bytes of codes held at once; CAPACITY_CODE_BUDGET by default (tests make tiles small). */
  readonly budget?: number;
}

/** One layer's maps, n × C × S, sample-major. */
export interface LayerMaps {
  readonly data: Float32Array;
  readonly channels: number;
  readonly mapSize: number;
}

/** Channels [c0, c0 + count) of n × C × S maps, as n × count × S. */
function channelRange(maps: LayerMaps, n: number, c0: number, count: number): Float32Array {
  if (c0 === 0 && count === maps.channels) return maps.data;
  const { data, channels: C, mapSize: S } = maps;
  const out = new Float32Array(n * count * S);
  for (let i = 0; i < n; i++) out.set(data.subarray((i * C + c0) * S, (i * C + c0 + count) * S), i * count * S);
  return out;
}

/** Column and row chunk sizes whose codes fit the budget together (at least one channel each). */
export function tilePlan(columns: number, rows: number, pairs: number, budget: number): { colChunk: number; rowChunk: number } {
  const perChannel = codeBytes(1, pairs);
  if ((columns + rows) * perChannel <= budget) return { colChunk: columns, rowChunk: rows };
  const colChunk = Math.max(1, Math.min(columns, Math.floor(budget / (2 * perChannel))));
  const rowChunk = Math.max(1, Math.min(rows, Math.floor(budget / perChannel) - colChunk));
  return { colChunk, rowChunk };
}

/** The capacity matrix between every channel of `li` (columns) and of `lj` (rows) over n samples. */
export async function capacityMatrixTiled(
  li: LayerMaps,
  lj: LayerMaps,
  n: number,
  params: CapacityParams,
  options: TiledCapacityOptions = {},
): Promise<CapacityMatrix> {
  if (n < 2) throw new CnnSlicerError('bad-request', `channel capacity needs at least 2 samples; the slice has ${n}`);
  const { signal, sample } = options;
  const pairs = sample?.length ?? (n * (n - 1)) / 2;
  const { colChunk, rowChunk } = tilePlan(li.channels, lj.channels, pairs, options.budget ?? CAPACITY_CODE_BUDGET);
  const colTiles = Math.ceil(li.channels / colChunk);
  const rowTiles = Math.ceil(lj.channels / rowChunk);
  const tiles = colTiles * rowTiles;
  // Each tile: code the rows, count; the columns are coded once per column chunk.
  const steps = tiles * 2 + colTiles;
  let step = 0;
  const progress = (done: number, total: number): void => options.onProgress?.(step + (total > 0 ? Math.min(done / total, 1) : 0), steps);

  const layer = params.capacityRange === 'layer' && tiles > 1;
  const upperI = layer ? await layerMaxDistance(li.data, n, li.channels, li.mapSize, signal ? { signal } : {}) : undefined;
  const upperJ = layer ? await layerMaxDistance(lj.data, n, lj.channels, lj.mapSize, signal ? { signal } : {}) : undefined;

  // One WebAssembly arena for a tile's codes, reused by every tile (a memory cannot shrink, and a
  // new one per tile would leave the old ones to the garbage collector).
  const arena: CapacityArena | undefined = createCapacityArena([codeBytes(colChunk, pairs), codeBytes(rowChunk, pairs)]);
  const start = arena?.next ?? 0;
  // Channels [c0, c0 + count) of a layer as codes, in the arena after what it holds now.
  const codeRange = (maps: LayerMaps, c0: number, count: number, upper: number | undefined) =>
    codeChannelMaps(
      channelRange(maps, n, c0, count),
      n,
      count,
      maps.mapSize,
      params,
      { arena, shared: true },
      { ...(signal ? { signal } : {}), ...(sample ? { sample } : {}), ...(upper !== undefined ? { layerUpper: upper } : {}), onProgress: progress },
    );
  const capacity = new Float32Array(li.channels * lj.channels);
  const hA = new Float32Array(li.channels);
  const hB = new Float32Array(lj.channels);
  for (let a0 = 0; a0 < li.channels; a0 += colChunk) {
    const aCount = Math.min(colChunk, li.channels - a0);
    if (arena !== undefined) arena.next = start;
    const columns = await codeRange(li, a0, aCount, upperI);
    step++;
    const mark = arena?.next ?? 0;
    for (let b0 = 0; b0 < lj.channels; b0 += rowChunk) {
      const bCount = Math.min(rowChunk, lj.channels - b0);
      if (arena !== undefined) arena.next = mark;
      const rows = await codeRange(lj, b0, bCount, upperJ);
      step++;
      const m = await capacityMatrixOfCodes(columns, rows, { ...(signal ? { signal } : {}), onProgress: progress });
      step++;
      for (let b = 0; b < bCount; b++) capacity.set(m.capacity.subarray(b * aCount, (b + 1) * aCount), (b0 + b) * li.channels + a0);
      hA.set(m.hA, a0);
      hB.set(m.hB, b0);
    }
  }
  options.onProgress?.(steps, steps);
  return { rowsChannels: lj.channels, colsChannels: li.channels, capacity, hA, hB };
}

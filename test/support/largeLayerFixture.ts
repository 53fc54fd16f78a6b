// A synthetic run of a real network's size for the layer view's browser test and benchmark: 140
// layers named like MobileNetV2's, and a 512 × 1,280 channel-capacity matrix (li 512 channels, lj
// 1,280) with planted blocks of similar channels in shuffled order and one strong pair.
import * as path from 'node:path';
import { resolveEstimatorParams, sortOrder } from '../../src/engine/estimators';
import type { ChannelCapacityResult, MeasureSeries } from '../../src/shared/measures';
import type { RunInfo } from '../../src/shared/runFormat';
import { seededRandom } from './seededRandom';

export const COLS = 512;
export const ROWS = 1280;
export const BLOCKS = 8;
export const LI = 'features.17.conv.2';
export const LJ = 'features.18';
export const HOT = { column: 333, row: 777 };

export function syntheticRun(): RunInfo {
  const layers = [];
  for (let i = 0; layers.length < 138; i++)
    for (let j = 0; j < 8 && layers.length < 138; j++) layers.push({ name: `features.${i}.conv.${j}`, kind: 'conv', shape: [32, 8, 8] });
  layers.push({ name: LI, kind: 'conv', shape: [COLS, 4, 4] }, { name: LJ, kind: 'relu', shape: [ROWS, 4, 4] });
  return {
    dir: path.join('/synthetic', 'mobilenet-like'),
    name: 'synthetic 140-layer run',
    incompleteEpochs: [],
    manifest: {
      format: 'cnnslicer-run',
      version: 1,
      model: { name: 'synthetic' },
      layers,
      classes: Array.from({ length: 10 }, (_, i) => `class ${i}`),
      probe: { file: 'probe.safetensors', count: 500, inputShape: [3, 64, 64] },
      epochs: [0, 1].map((epoch) => ({ epoch, metrics: {}, activations: `epochs/epoch-${epoch}/activations.safetensors` })),
      complete: true,
    },
  } as RunInfo;
}

/** Block of a row or column channel: planted in a shuffled order, so channel order shows no structure. */
function blockAssignment(n: number, seed: number): Int32Array {
  const rand = seededRandom(seed);
  const perm = Int32Array.from({ length: n }, (_, i) => i % BLOCKS);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [perm[i], perm[j]] = [perm[j], perm[i]];
  }
  return perm;
}

export const rowBlock = blockAssignment(ROWS, 11);
export const colBlock = blockAssignment(COLS, 12);

export function matrix(): ChannelCapacityResult {
  const rand = seededRandom(3);
  const capacity = new Float32Array(ROWS * COLS);
  for (let r = 0; r < ROWS; r++) for (let c = 0; c < COLS; c++) capacity[r * COLS + c] = 0.1 + 0.15 * rand() + (rowBlock[r] === colBlock[c] ? 0.5 : 0);
  capacity[HOT.row * COLS + HOT.column] = 3;
  const order = (which: 'rows' | 'cols', stat: 'max' | 'mean'): Int32Array => sortOrder(capacity, ROWS, COLS, which, stat);
  return {
    layerI: LI,
    layerJ: LJ,
    epoch: 1,
    rows: ROWS,
    cols: COLS,
    capacity,
    hA: new Float32Array(COLS).fill(4),
    hB: new Float32Array(ROWS).fill(4),
    order: { colsByMax: order('cols', 'max'), colsByMean: order('cols', 'mean'), rowsByMax: order('rows', 'max'), rowsByMean: order('rows', 'mean') },
    pairs: 124_750,
  };
}

/** The engine's answer to every channelCapacity request: the one synthetic matrix. */
export function capacitySeries(result: ChannelCapacityResult): MeasureSeries<ChannelCapacityResult> {
  return { items: [result], params: resolveEstimatorParams(), cached: 0 };
}

// The paper's measures over slices of a run: this layer takes a query (samples x, layer l,
// epoch t or all epochs), materialises the slice, runs the estimator and caches the result on
// disk, keyed by the content of the files it was computed from, the parameters and the
// estimator version.
import { CnnSlicerError } from '../../shared/errors';
import type { SampleSelection } from '../../shared/engineProtocol';
import type {
  ChannelCapacityResult,
  ChannelEntropiesResult,
  EpochSelection,
  EstimatorParams,
  InterSampleEntropyResult,
  LabelEntropiesResult,
  MeasureSeries,
} from '../../shared/measures';
import { interSampleCeiling } from '../../shared/measures';
import { LOGITS_NAME } from '../../shared/runFormat';
import type { ResultCache } from '../cache/resultCache';
import { interSampleEntropyThreaded } from '../compute/interSampleThreads';
import { knn } from '../compute/knn';
import {
  channelEntropyByClass,
  confusionMatrix,
  effectiveK,
  ESTIMATOR_VERSION,
  featureMapEntropies,
  labelEntropies,
  predictionsFromLogits,
  resolveEstimatorParams,
  samplePairs,
  sortOrder,
} from '../estimators';
import type { RunReader } from '../run/runReader';
import { capacityMatrixTiled } from './capacityTiles';

export interface MeasureContext {
  /** Where results are kept between sessions; without it every query computes. */
  readonly cache?: ResultCache;
  readonly signal?: AbortSignal;
  /** Progress over the whole query, in steps of its own choosing. */
  readonly onProgress?: (done: number, total: number, message?: string) => void;
}

function product(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

export function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CnnSlicerError('cancelled', 'the request was cancelled');
}

/** The epochs a request names, each checked against the run. */
export function selectEpochs(reader: RunReader, epoch: EpochSelection): number[] {
  if (epoch === 'all') return reader.manifest.epochs.map((e) => e.epoch);
  reader.epochEntry(epoch);
  return [epoch];
}

/** [channels, values per channel] of a layer's per-sample shape; a dense layer is one map of F values for entropy, F channels of one value for capacity. */
function layerShape(reader: RunReader, layer: string): readonly number[] {
  if (layer === 'input') return reader.manifest.probe.inputShape;
  if (layer === LOGITS_NAME) return [reader.manifest.classes.length];
  const info = reader.manifest.layers.find((l) => l.name === layer);
  if (!info) throw new CnnSlicerError('bad-request', `layer "${layer}" is not in the run (layers: ${reader.manifest.layers.map((l) => l.name).join(', ')})`);
  return info.shape;
}

/** A result from the cache, or computed and cached: keyed by estimator, parameters, version and the content of the files it reads. */
export async function cachedValue<T>(
  ctx: MeasureContext,
  reader: RunReader,
  estimator: string,
  params: unknown,
  layers: readonly string[],
  epoch: number,
  compute: () => Promise<T>,
): Promise<{ value: T; cached: boolean }> {
  if (!ctx.cache) return { value: await compute(), cached: false };
  const files = await reader.dependencyFiles(layers, epoch);
  // The cache's own hasher keeps its index of file hashes beside the results it keys.
  const content = await ctx.cache.content.runContentKey(files);
  return ctx.cache.getOrCompute({ estimator, version: ESTIMATOR_VERSION, params, content }, compute);
}

/** One result per epoch, with progress over the epochs. */
export async function series<R>(
  reader: RunReader,
  epochs: readonly number[],
  ctx: MeasureContext,
  params: EstimatorParams,
  one: (epoch: number, progress: (done: number, total: number) => void) => Promise<{ value: R; cached: boolean }>,
): Promise<MeasureSeries<R>> {
  const items: R[] = [];
  let cached = 0;
  for (let i = 0; i < epochs.length; i++) {
    throwIfCancelled(ctx.signal);
    const step = (done: number, total: number): void => ctx.onProgress?.(i + (total > 0 ? done / total : 0), epochs.length, `epoch ${epochs[i]}`);
    step(0, 1);
    const r = await one(epochs[i], step);
    items.push(r.value);
    if (r.cached) cached++;
  }
  ctx.onProgress?.(epochs.length, epochs.length);
  return { items, params, cached };
}

/** Inter-sample entropy H(dCNN(x, l, −, t)) (§4.4.1) of a layer, the inputs (`input`) or the output (`logits`). */
export async function interSampleEntropyOf(
  reader: RunReader,
  query: { samples: SampleSelection; layer: string; epoch: EpochSelection; params?: Partial<EstimatorParams> },
  ctx: MeasureContext = {},
): Promise<MeasureSeries<InterSampleEntropyResult>> {
  const params = resolveEstimatorParams(query.params);
  const d = product(layerShape(reader, query.layer));
  // The probe inputs are the paper's dCNN(x, 0, −, 0): they do not change with training, so the
  // input layer is computed once and reported at epoch 0 whatever epochs were asked for.
  const epochs = query.layer === 'input' ? [0] : selectEpochs(reader, query.epoch);
  const key = { layer: query.layer, samples: query.samples, interK: params.interK, tol: params.sigmaRelativeTolerance, iter: params.sigmaMaxIterations };
  return series(reader, epochs, ctx, params, (epoch, progress) =>
    cachedValue(ctx, reader, 'interSampleEntropy', { ...key, epoch }, [query.layer], epoch, async () => {
      const slice = await reader.slice({ samples: query.samples, layer: query.layer, channel: 'all', epoch }, { signal: ctx.signal });
      const n = slice.sampleIndices.length;
      if (n < 3) throw new CnnSlicerError('bad-request', `inter-sample entropy needs at least 3 samples; the slice has ${n}`);
      const k = effectiveK(n, params);
      const graph = await knn(slice.data, n, d, k, { signal: ctx.signal, onProgress: (done, total) => progress(done, total + total / 10) });
      throwIfCancelled(ctx.signal);
      const h = interSampleEntropyThreaded(graph, params);
      const result: InterSampleEntropyResult = {
        layer: query.layer,
        epoch,
        n,
        d,
        k,
        entropy: h.entropy,
        ceiling: interSampleCeiling(n),
        unsolved: h.unsolved,
        unconverged: h.unconverged,
      };
      return result;
    }),
  );
}

/** Intra-sample entropy H(dCNN(x, l, c, t)) (§4.4.2) of every channel of a layer, per class and over all samples. */
export async function channelEntropiesOf(
  reader: RunReader,
  query: { layer: string; epoch: EpochSelection; params?: Partial<EstimatorParams> },
  ctx: MeasureContext = {},
): Promise<MeasureSeries<ChannelEntropiesResult>> {
  const params = resolveEstimatorParams(query.params);
  const shape = layerShape(reader, query.layer);
  // A dense layer has no spatial map: its F values are treated as one map (one "channel").
  const [channels, mapSize] = shape.length === 1 ? [1, shape[0]] : [shape[0], product(shape.slice(1))];
  const classes = reader.manifest.classes.length;
  const epochs = selectEpochs(reader, query.epoch);
  const key = { layer: query.layer, intraBins: params.intraBins, intraNormalization: params.intraNormalization };
  return series(reader, epochs, ctx, params, (epoch) =>
    cachedValue(ctx, reader, 'channelEntropies', { ...key, epoch }, [query.layer], epoch, async () => {
      const slice = await reader.slice({ samples: { kind: 'all' }, layer: query.layer, channel: 'all', epoch }, { signal: ctx.signal });
      const n = slice.sampleIndices.length;
      const maps = featureMapEntropies(slice.data, n, channels, mapSize, params);
      const labels = await reader.labels();
      const byClass = channelEntropyByClass(maps, labels, classes);
      const result: ChannelEntropiesResult = {
        layer: query.layer,
        epoch,
        classes,
        channels,
        perClass: byClass.perClass,
        perClassCount: byClass.perClassCount,
        all: byClass.all,
        allCount: byClass.allCount,
        nonFiniteValues: maps.nonFiniteValues,
      };
      return result;
    }),
  );
}

/** Confusion matrix, H(x.label | y = i) and H(y | x.label = i) (§5.2) from the logits at each epoch. */
export async function labelEntropiesOf(
  reader: RunReader,
  query: { epoch: EpochSelection },
  ctx: MeasureContext = {},
): Promise<MeasureSeries<LabelEntropiesResult>> {
  const params = resolveEstimatorParams();
  const classes = reader.manifest.classes.length;
  const epochs = selectEpochs(reader, query.epoch);
  return series(reader, epochs, ctx, params, (epoch) =>
    cachedValue(ctx, reader, 'labelEntropies', { epoch }, [LOGITS_NAME], epoch, async () => {
      const slice = await reader.slice({ samples: { kind: 'all' }, layer: LOGITS_NAME, channel: 'all', epoch }, { signal: ctx.signal });
      const n = slice.sampleIndices.length;
      const labels = await reader.labels();
      const predicted = predictionsFromLogits(slice.data, n, classes);
      const confusion = confusionMatrix(labels, predicted, classes);
      const h = labelEntropies(confusion, classes);
      let correct = 0;
      for (let c = 0; c < classes; c++) correct += confusion[c * classes + c];
      const result: LabelEntropiesResult = {
        epoch,
        classes,
        confusion,
        labelGivenPrediction: h.labelGivenPrediction,
        predictionGivenLabel: h.predictionGivenLabel,
        accuracy: n > 0 ? correct / n : 0,
      };
      return result;
    }),
  );
}

/** Channel capacity between every channel of layer li and every channel of layer lj (§5.3). */
export async function channelCapacityOf(
  reader: RunReader,
  query: { samples: SampleSelection; layerI: string; layerJ: string; epoch: EpochSelection; params?: Partial<EstimatorParams> },
  ctx: MeasureContext = {},
): Promise<MeasureSeries<ChannelCapacityResult>> {
  const params = resolveEstimatorParams(query.params);
  const shapeI = layerShape(reader, query.layerI);
  const shapeJ = layerShape(reader, query.layerJ);
  const epochs = selectEpochs(reader, query.epoch);
  // capacityPairs joins the key only when set, so that results cached before it existed still serve exact queries.
  const key = {
    layerI: query.layerI,
    layerJ: query.layerJ,
    samples: query.samples,
    capacityBins: params.capacityBins,
    capacityRange: params.capacityRange,
    ...(params.capacityPairs > 0 ? { capacityPairs: params.capacityPairs } : {}),
  };
  return series(reader, epochs, ctx, params, (epoch, progress) =>
    cachedValue(ctx, reader, 'channelCapacity', { ...key, epoch }, [query.layerI, query.layerJ], epoch, async () => {
      // Bin codes a tile of channels at a time (capacityTiles.ts), each chunk of distances binned
      // as onnxruntime gives it: neither every channel's distances nor, for wide layers, every
      // channel's codes are ever held at once.
      const maps = [];
      for (const [layer, shape] of [
        [query.layerI, shapeI],
        [query.layerJ, shapeJ],
      ] as const) {
        const slice = await reader.slice({ samples: query.samples, layer, channel: 'all', epoch }, { signal: ctx.signal });
        maps.push({ data: slice.data, channels: shape[0], mapSize: product(shape.slice(1)), n: slice.sampleIndices.length });
      }
      const n = maps[0].n;
      if (n < 2) throw new CnnSlicerError('bad-request', `channel capacity needs at least 2 samples; the slice has ${n}`);
      const allPairs = (n * (n - 1)) / 2;
      const sample = params.capacityPairs > 0 && params.capacityPairs < allPairs ? samplePairs(allPairs, params.capacityPairs) : undefined;
      throwIfCancelled(ctx.signal);
      const m = await capacityMatrixTiled(maps[0], maps[1], n, params, { signal: ctx.signal, ...(sample ? { sample } : {}), onProgress: progress });
      const result: ChannelCapacityResult = {
        layerI: query.layerI,
        layerJ: query.layerJ,
        epoch,
        rows: m.rowsChannels,
        cols: m.colsChannels,
        capacity: m.capacity,
        hA: m.hA,
        hB: m.hB,
        order: {
          colsByMax: sortOrder(m.capacity, m.rowsChannels, m.colsChannels, 'cols', 'max'),
          colsByMean: sortOrder(m.capacity, m.rowsChannels, m.colsChannels, 'cols', 'mean'),
          rowsByMax: sortOrder(m.capacity, m.rowsChannels, m.colsChannels, 'rows', 'max'),
          rowsByMean: sortOrder(m.capacity, m.rowsChannels, m.colsChannels, 'rows', 'mean'),
        },
        pairs: sample?.length ?? allPairs,
      };
      return result;
    }),
  );
}

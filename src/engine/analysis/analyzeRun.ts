// Everything the four views show for one run, computed in one pass over the measure layer: the
// training view (label entropies, confusion, loss, inter-sample entropy of the inputs and layers),
// the layer view (channel capacity between consecutive layers) and the channel view (channel
// entropies per class over epochs). `cnnslicer analyze` prints and saves it; each part is exactly
// what the corresponding single query returns, so the two can never disagree.
import { CnnSlicerError } from '../../shared/errors';
import type { SampleSelection } from '../../shared/engineProtocol';
import type {
  ChannelCapacityResult,
  ChannelEntropiesResult,
  EstimatorParams,
  InterSampleEntropyResult,
  LabelEntropiesResult,
  MeasureSeries,
} from '../../shared/measures';
import { LOGITS_NAME, type EpochMetrics, type LayerInfo } from '../../shared/runFormat';
import { resolveEstimatorParams } from '../estimators';
import type { RunReader } from '../run/runReader';
import { channelCapacityOf, channelEntropiesOf, interSampleEntropyOf, labelEntropiesOf, type MeasureContext } from './measures';

export interface AnalyzeOptions {
  /** Recorded layers to analyse, in any order (they are taken in the model's order); all by default. */
  readonly layers?: readonly string[];
  /** Finished epochs to analyse; all by default. */
  readonly epochs?: readonly number[] | 'all';
  readonly params?: Partial<EstimatorParams>;
  /** Whether to compute the channel-capacity matrices (the most expensive part); true by default. */
  readonly capacity?: boolean;
}

/** The run as the analysis saw it: enough to label every number without the manifest. */
export interface AnalyzedRunSummary {
  readonly name: string;
  readonly dir: string;
  readonly model: { readonly name?: string; readonly framework?: string };
  readonly classes: readonly string[];
  readonly probe: { readonly count: number; readonly inputShape: readonly number[]; readonly description?: string };
  /** The analysed layers, in the model's order. */
  readonly layers: readonly LayerInfo[];
  /** The analysed epochs, ascending, with the metrics the manifest records for them. */
  readonly epochs: readonly { readonly epoch: number; readonly metrics: EpochMetrics }[];
  readonly complete: boolean;
}

export interface InterSampleAtEpoch {
  readonly epoch: number;
  /** One per analysed layer, in `RunAnalysis.layers` order. */
  readonly layers: readonly InterSampleEntropyResult[];
  readonly logits: InterSampleEntropyResult;
}

export interface SkippedCapacityPair {
  readonly layerI: string;
  readonly layerJ: string;
  readonly reason: string;
}

export interface RunAnalysis {
  readonly run: AnalyzedRunSummary;
  readonly params: EstimatorParams;
  /** Names of the analysed layers, in the model's order. */
  readonly layers: readonly string[];
  readonly epochs: readonly number[];
  /** H(dCNN(all, l, −, t)) over every probe sample. */
  readonly interSample: {
    /** The probe inputs (layer 0) do not change with training: computed once, reported at epoch 0. */
    readonly input: InterSampleEntropyResult;
    readonly epochs: readonly InterSampleAtEpoch[];
  };
  /** Per analysed layer, one result per analysed epoch. */
  readonly channelEntropies: readonly { readonly layer: string; readonly items: readonly ChannelEntropiesResult[] }[];
  /** One per analysed epoch. */
  readonly labelEntropies: readonly LabelEntropiesResult[];
  /** False when the caller turned the capacity off. */
  readonly capacityRequested: boolean;
  /** The epoch the capacity matrices are for (the last analysed one); undefined when none were asked for or possible. */
  readonly capacityEpoch: number | undefined;
  /** li → lj for each pair of consecutive analysed layers that are both feature maps. */
  readonly capacity: readonly ChannelCapacityResult[];
  readonly capacitySkipped: readonly SkippedCapacityPair[];
  /** How many results were computed or read, and how many of them came from the on-disk cache. */
  readonly results: { readonly total: number; readonly cached: number };
}

const ALL_SAMPLES: SampleSelection = { kind: 'all' };

function isMap(layer: LayerInfo): boolean {
  return layer.shape.length >= 2;
}

/** The analysed layers in the model's order; a name the run does not record is a bad request. */
function selectLayers(reader: RunReader, names: readonly string[] | undefined): LayerInfo[] {
  const recorded = reader.manifest.layers;
  if (names === undefined) return [...recorded];
  const wanted = new Set<string>();
  for (const name of names) {
    if (name === 'input' || name === LOGITS_NAME) {
      throw new CnnSlicerError('bad-request', `"${name}" is always analysed; list only recorded layers (${recorded.map((l) => l.name).join(', ')})`);
    }
    if (!recorded.some((l) => l.name === name)) {
      throw new CnnSlicerError('bad-request', `layer "${name}" is not in the run (layers: ${recorded.map((l) => l.name).join(', ')})`);
    }
    wanted.add(name);
  }
  return recorded.filter((l) => wanted.has(l.name));
}

function selectEpochList(reader: RunReader, epochs: readonly number[] | 'all' | undefined): number[] {
  if (epochs === undefined || epochs === 'all') return reader.manifest.epochs.map((e) => e.epoch);
  // epochEntry throws the run's own "not in the run (epochs: …)" message before any work starts.
  for (const e of epochs) reader.epochEntry(e);
  return [...new Set(epochs)].sort((a, b) => a - b);
}

/**
 * Computes the analysis. Every name and epoch is checked before the first estimator runs, so a
 * typo fails at once rather than after minutes of work. Progress counts one step per measure
 * result, each step subdivided by the measure's own progress.
 */
export async function analyzeRun(reader: RunReader, options: AnalyzeOptions = {}, ctx: MeasureContext = {}): Promise<RunAnalysis> {
  const params = resolveEstimatorParams(options.params);
  const layers = selectLayers(reader, options.layers);
  const epochs = selectEpochList(reader, options.epochs);
  const layerNames = layers.map((l) => l.name);
  const capacityEpoch = options.capacity === false || epochs.length === 0 ? undefined : epochs[epochs.length - 1];

  const pairs: { layerI: string; layerJ: string }[] = [];
  const capacitySkipped: SkippedCapacityPair[] = [];
  if (capacityEpoch !== undefined) {
    for (let i = 0; i + 1 < layers.length; i++) {
      const [a, b] = [layers[i], layers[i + 1]];
      if (isMap(a) && isMap(b)) pairs.push({ layerI: a.name, layerJ: b.name });
      else {
        const dense = [a, b].filter((l) => !isMap(l)).map((l) => l.name);
        capacitySkipped.push({ layerI: a.name, layerJ: b.name, reason: `${dense.join(' and ')} ${dense.length > 1 ? 'are dense layers' : 'is a dense layer'} (no channels of maps)` });
      }
    }
  }

  const steps = 1 + epochs.length * (layers.length + 1) + layers.length * epochs.length + epochs.length + pairs.length;
  let done = 0;
  let total = 0;
  let cached = 0;
  const run = async <R>(message: string, measure: (sub: MeasureContext) => Promise<MeasureSeries<R>>): Promise<R> => {
    const sub: MeasureContext = {
      ...(ctx.cache ? { cache: ctx.cache } : {}),
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      onProgress: (d, t) => ctx.onProgress?.(done + (t > 0 ? Math.min(d / t, 1) : 0), steps, message),
    };
    ctx.onProgress?.(done, steps, message);
    const series = await measure(sub);
    if (series.items.length !== 1) throw new CnnSlicerError('internal', `${message}: expected one result, got ${series.items.length}`);
    done++;
    total++;
    cached += series.cached;
    return series.items[0];
  };

  const input = await run('inter-sample entropy of the inputs', (sub) =>
    interSampleEntropyOf(reader, { samples: ALL_SAMPLES, layer: 'input', epoch: 'all', params }, sub),
  );
  const interEpochs: InterSampleAtEpoch[] = [];
  for (const epoch of epochs) {
    const perLayer: InterSampleEntropyResult[] = [];
    for (const layer of layerNames) {
      perLayer.push(await run(`inter-sample entropy of ${layer}, epoch ${epoch}`, (sub) => interSampleEntropyOf(reader, { samples: ALL_SAMPLES, layer, epoch, params }, sub)));
    }
    const logits = await run(`inter-sample entropy of the logits, epoch ${epoch}`, (sub) =>
      interSampleEntropyOf(reader, { samples: ALL_SAMPLES, layer: LOGITS_NAME, epoch, params }, sub),
    );
    interEpochs.push({ epoch, layers: perLayer, logits });
  }

  const channelEntropies: { layer: string; items: ChannelEntropiesResult[] }[] = [];
  for (const layer of layerNames) {
    const items: ChannelEntropiesResult[] = [];
    for (const epoch of epochs) {
      items.push(await run(`channel entropies of ${layer}, epoch ${epoch}`, (sub) => channelEntropiesOf(reader, { layer, epoch, params }, sub)));
    }
    channelEntropies.push({ layer, items });
  }

  const labelEntropies: LabelEntropiesResult[] = [];
  for (const epoch of epochs) labelEntropies.push(await run(`label entropies, epoch ${epoch}`, (sub) => labelEntropiesOf(reader, { epoch }, sub)));

  const capacity: ChannelCapacityResult[] = [];
  for (const p of pairs) {
    const epoch = capacityEpoch as number;
    capacity.push(
      await run(`channel capacity ${p.layerI} → ${p.layerJ}, epoch ${epoch}`, (sub) =>
        channelCapacityOf(reader, { samples: ALL_SAMPLES, layerI: p.layerI, layerJ: p.layerJ, epoch, params }, sub),
      ),
    );
  }
  ctx.onProgress?.(steps, steps);

  const m = reader.manifest;
  const info = reader.info;
  return {
    run: {
      name: info.name,
      dir: info.dir,
      model: { ...m.model },
      classes: [...m.classes],
      probe: { count: m.probe.count, inputShape: [...m.probe.inputShape], ...(m.probe.description !== undefined ? { description: m.probe.description } : {}) },
      layers,
      epochs: epochs.map((epoch) => ({ epoch, metrics: reader.epochEntry(epoch).metrics })),
      complete: m.complete === true,
    },
    params,
    layers: layerNames,
    epochs,
    interSample: { input, epochs: interEpochs },
    channelEntropies,
    labelEntropies,
    capacityRequested: options.capacity !== false,
    capacityEpoch: pairs.length > 0 ? capacityEpoch : undefined,
    capacity,
    capacitySkipped,
    results: { total, cached },
  };
}

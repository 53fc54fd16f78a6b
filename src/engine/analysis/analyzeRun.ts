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

/**
 * Which analysed layers the channel capacity is computed between (each with the next one of the
 * same selection, both feature maps):
 * - `all`: every analysed layer (the paper's consecutive layers);
 * - `conv`: the convolutions only;
 * - `blocks`: the outputs of blocks (layers of kind "block", recorded with the probe's
 *   `layers="blocks"` or `"all"`);
 * - `auto` (default): `blocks` when at least two analysed layers are blocks, else `conv` when more
 *   than AUTO_CONV_ABOVE layers are analysed, else `all`. On a ResNet-18 `all` means 50 pairs up
 *   to 512 × 512 channels, most of them a layer against its own batch norm or ReLU (a near-diagonal
 *   matrix); between convolutions or blocks each matrix compares two transformations.
 */
export type CapacityLayerRule = 'auto' | 'all' | 'conv' | 'blocks';
export const AUTO_CONV_ABOVE = 16;

/** One finished result, as analyzeRun hands it out while it works (for output that survives a kill). */
export type AnalysisItem =
  | { readonly kind: 'activations'; readonly epoch: number }
  | { readonly kind: 'interSample'; readonly result: InterSampleEntropyResult }
  | { readonly kind: 'channelEntropies'; readonly result: ChannelEntropiesResult }
  | { readonly kind: 'labelEntropies'; readonly result: LabelEntropiesResult }
  | { readonly kind: 'channelCapacity'; readonly result: ChannelCapacityResult };

export interface ItemDone {
  readonly item: AnalysisItem;
  /** What the item was, in words, e.g. "inter-sample entropy of conv1, epoch 3". */
  readonly label: string;
  /** Items finished so far (this one included) and in all. */
  readonly done: number;
  readonly total: number;
  readonly seconds: number;
  readonly cached: boolean;
  /** Seconds the rest should take, from a cost model scaled by the time the work done so far took; undefined until there is a measure. */
  readonly secondsLeft: number | undefined;
}

export interface AnalyzeOptions {
  /** Recorded layers to analyse, in any order (they are taken in the model's order); all by default. */
  readonly layers?: readonly string[];
  /** Finished epochs to analyse; all by default. */
  readonly epochs?: readonly number[] | 'all';
  readonly params?: Partial<EstimatorParams>;
  /** Whether to compute the channel-capacity matrices (the most expensive part); true by default. */
  readonly capacity?: boolean;
  /** Which layers the capacity is computed between; `auto` by default. */
  readonly capacityLayers?: CapacityLayerRule;
  /** Called after every result, in the order they are computed. */
  readonly onItem?: (done: ItemDone) => void;
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
  /** The rule the capacity pairs were chosen by (never `auto`: what `auto` chose) and why. */
  readonly capacityLayers: { readonly rule: Exclude<CapacityLayerRule, 'auto'>; readonly reason: string };
  /** How many results were computed or read, and how many of them came from the on-disk cache. */
  readonly results: { readonly total: number; readonly cached: number };
}

const ALL_SAMPLES: SampleSelection = { kind: 'all' };

function isMap(layer: LayerInfo): boolean {
  return layer.shape.length >= 2;
}

function product(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
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

/** The rule `auto` stands for with these layers, and why. */
export function resolveCapacityLayers(
  layers: readonly LayerInfo[],
  requested: CapacityLayerRule = 'auto',
): { rule: Exclude<CapacityLayerRule, 'auto'>; reason: string } {
  if (requested !== 'auto') return { rule: requested, reason: 'as asked' };
  const blocks = layers.filter((l) => l.kind === 'block').length;
  if (blocks >= 2) return { rule: 'blocks', reason: `auto: the run records ${blocks} block outputs` };
  if (layers.length > AUTO_CONV_ABOVE)
    return { rule: 'conv', reason: `auto: ${layers.length} layers analysed (more than ${AUTO_CONV_ABOVE}), so between convolutions` };
  return { rule: 'all', reason: `auto: ${layers.length} layers analysed` };
}

/** Consecutive pairs of the layers the rule keeps; pairs with a dense layer are skipped, with the reason. */
function capacityPairs(
  layers: readonly LayerInfo[],
  rule: Exclude<CapacityLayerRule, 'auto'>,
): { pairs: { layerI: string; layerJ: string }[]; skipped: SkippedCapacityPair[] } {
  const kept = rule === 'all' ? layers : layers.filter((l) => l.kind === (rule === 'conv' ? 'conv' : 'block'));
  const pairs: { layerI: string; layerJ: string }[] = [];
  const skipped: SkippedCapacityPair[] = [];
  for (let i = 0; i + 1 < kept.length; i++) {
    const [a, b] = [kept[i], kept[i + 1]];
    if (isMap(a) && isMap(b)) pairs.push({ layerI: a.name, layerJ: b.name });
    else {
      const dense = [a, b].filter((l) => !isMap(l)).map((l) => l.name);
      skipped.push({
        layerI: a.name,
        layerJ: b.name,
        reason: `${dense.join(' and ')} ${dense.length > 1 ? 'are dense layers' : 'is a dense layer'} (no channels of maps)`,
      });
    }
  }
  return { pairs, skipped };
}

/** One unit of work of the plan: how to compute it and what it is expected to cost (arbitrary units). */
interface Step {
  readonly label: string;
  readonly cost: number;
  readonly run: (sub: MeasureContext) => Promise<{ item: AnalysisItem; cached: boolean }>;
}

/**
 * Computes the analysis. Every name and epoch is checked before the first estimator runs, so a
 * typo fails at once rather than after minutes of work. The work goes epoch by epoch (everything
 * of one epoch reads the same activations, computed once for a checkpoint epoch), then the
 * capacity. Progress counts one step per measure result, each step subdivided by the measure's
 * own progress; `onItem` hears of each result as it is finished.
 */
export async function analyzeRun(reader: RunReader, options: AnalyzeOptions = {}, ctx: MeasureContext = {}): Promise<RunAnalysis> {
  const params = resolveEstimatorParams(options.params);
  const layers = selectLayers(reader, options.layers);
  const epochs = selectEpochList(reader, options.epochs);
  const layerNames = layers.map((l) => l.name);
  const capacityEpoch = options.capacity === false || epochs.length === 0 ? undefined : epochs[epochs.length - 1];
  const capacityLayers = resolveCapacityLayers(layers, options.capacityLayers);
  const { pairs, skipped: capacitySkipped } = capacityEpoch !== undefined ? capacityPairs(layers, capacityLayers.rule) : { pairs: [], skipped: [] };

  // Costs: operation counts of each estimator, weighted by what one unit took on the development
  // machine (a ResNet-18 of 1,000 probe images: k-NN of 65,536-D layers 2.8 s, channel entropies
  // of one 1 s, a 512 × 512 capacity 65 s, the forward pass 47 s). Only their ratios matter: the
  // time left is rescaled by what the finished steps actually took.
  const m = reader.manifest;
  const n = m.probe.count;
  const sizeOf = (name: string): number =>
    name === 'input'
      ? product(m.probe.inputShape)
      : name === LOGITS_NAME
        ? m.classes.length
        : product((layers.find((l) => l.name === name) as LayerInfo).shape);
  const interCost = (name: string): number => n * n * sizeOf(name) + 200 * n * n;
  const intraCost = (name: string): number => 340 * n * sizeOf(name);
  const capacityCost = (a: string, b: string): number => {
    const [la, lb] = [layers.find((l) => l.name === a) as LayerInfo, layers.find((l) => l.name === b) as LayerInfo];
    return ((12 * (n * (n - 1))) / 2) * la.shape[0] * lb.shape[0] + n * n * (sizeOf(a) + sizeOf(b));
  };

  const results = {
    input: undefined as InterSampleEntropyResult | undefined,
    inter: new Map<string, InterSampleEntropyResult>(),
    channels: new Map<string, ChannelEntropiesResult>(),
    labels: new Map<number, LabelEntropiesResult>(),
    capacity: [] as ChannelCapacityResult[],
  };
  const one = async <R>(series: Promise<MeasureSeries<R>>, message: string): Promise<{ value: R; cached: boolean }> => {
    const s = await series;
    if (s.items.length !== 1) throw new CnnSlicerError('internal', `${message}: expected one result, got ${s.items.length}`);
    return { value: s.items[0], cached: s.cached > 0 };
  };
  const steps: Step[] = [];
  steps.push({
    label: 'inter-sample entropy of the inputs',
    cost: interCost('input'),
    run: async (sub) => {
      const r = await one(interSampleEntropyOf(reader, { samples: ALL_SAMPLES, layer: 'input', epoch: 'all', params }, sub), 'input');
      results.input = r.value;
      return { item: { kind: 'interSample', result: r.value }, cached: r.cached };
    },
  });
  const forwardCost = (): number => 640 * n * reader.manifest.layers.reduce((sum, l) => sum + product(l.shape), 0);
  for (const epoch of epochs) {
    if (reader.needsMaterializing(epoch)) {
      // Its own step, so that the progress says what takes the time and the time left is not thrown off.
      steps.push({
        label: `activations of epoch ${epoch} (the checkpoint run once over the ${n} probe samples)`,
        cost: forwardCost(),
        run: async (sub) => {
          const { computed } = await reader.prepareEpoch(epoch, {
            ...(sub.signal ? { signal: sub.signal } : {}),
            ...(sub.onProgress ? { onProgress: sub.onProgress } : {}),
          });
          return { item: { kind: 'activations', epoch }, cached: !computed };
        },
      });
    }
    steps.push({
      label: `label entropies, epoch ${epoch}`,
      cost: intraCost(LOGITS_NAME),
      run: async (sub) => {
        const r = await one(labelEntropiesOf(reader, { epoch }, sub), 'labels');
        results.labels.set(epoch, r.value);
        return { item: { kind: 'labelEntropies', result: r.value }, cached: r.cached };
      },
    });
    for (const layer of [...layerNames, LOGITS_NAME]) {
      const label = layer === LOGITS_NAME ? `inter-sample entropy of the logits, epoch ${epoch}` : `inter-sample entropy of ${layer}, epoch ${epoch}`;
      steps.push({
        label,
        cost: interCost(layer),
        run: async (sub) => {
          const r = await one(interSampleEntropyOf(reader, { samples: ALL_SAMPLES, layer, epoch, params }, sub), label);
          results.inter.set(`${layer}\0${epoch}`, r.value);
          return { item: { kind: 'interSample', result: r.value }, cached: r.cached };
        },
      });
    }
    for (const layer of layerNames) {
      const label = `channel entropies of ${layer}, epoch ${epoch}`;
      steps.push({
        label,
        cost: intraCost(layer),
        run: async (sub) => {
          const r = await one(channelEntropiesOf(reader, { layer, epoch, params }, sub), label);
          results.channels.set(`${layer}\0${epoch}`, r.value);
          return { item: { kind: 'channelEntropies', result: r.value }, cached: r.cached };
        },
      });
    }
  }
  for (const p of pairs) {
    const epoch = capacityEpoch as number;
    const label = `channel capacity ${p.layerI} → ${p.layerJ}, epoch ${epoch}`;
    steps.push({
      label,
      cost: capacityCost(p.layerI, p.layerJ),
      run: async (sub) => {
        const r = await one(channelCapacityOf(reader, { samples: ALL_SAMPLES, layerI: p.layerI, layerJ: p.layerJ, epoch, params }, sub), label);
        results.capacity.push(r.value);
        return { item: { kind: 'channelCapacity', result: r.value }, cached: r.cached };
      },
    });
  }

  const total = steps.length;
  const totalCost = steps.reduce((sum, st) => sum + st.cost, 0);
  let doneCost = 0;
  let computedCost = 0;
  let computedSeconds = 0;
  let cached = 0;
  let resultCount = 0;
  for (const [i, step] of steps.entries()) {
    const sub: MeasureContext = {
      ...(ctx.cache ? { cache: ctx.cache } : {}),
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      onProgress: (d, t) => ctx.onProgress?.(i + (t > 0 ? Math.min(d / t, 1) : 0), total, step.label),
    };
    ctx.onProgress?.(i, total, step.label);
    const started = performance.now();
    const r = await step.run(sub);
    const seconds = (performance.now() - started) / 1000;
    doneCost += step.cost;
    // A step that materialises activations is progress, not a result.
    if (r.item.kind !== 'activations') {
      resultCount++;
      if (r.cached) cached++;
    }
    if (!r.cached) {
      computedCost += step.cost;
      computedSeconds += seconds;
    }
    const secondsLeft = computedCost > 0 ? ((totalCost - doneCost) * computedSeconds) / computedCost : undefined;
    options.onItem?.({ item: r.item, label: step.label, done: i + 1, total, seconds, cached: r.cached, secondsLeft });
  }
  ctx.onProgress?.(total, total);

  const info = reader.info;
  const get = <V>(map: Map<string, V>, key: string): V => map.get(key) as V;
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
    interSample: {
      input: results.input as InterSampleEntropyResult,
      epochs: epochs.map((epoch) => ({
        epoch,
        layers: layerNames.map((l) => get(results.inter, `${l}\0${epoch}`)),
        logits: get(results.inter, `${LOGITS_NAME}\0${epoch}`),
      })),
    },
    channelEntropies: layerNames.map((layer) => ({ layer, items: epochs.map((epoch) => get(results.channels, `${layer}\0${epoch}`)) })),
    labelEntropies: epochs.map((epoch) => results.labels.get(epoch) as LabelEntropiesResult),
    capacityRequested: options.capacity !== false,
    capacityEpoch: pairs.length > 0 ? capacityEpoch : undefined,
    capacity: results.capacity,
    capacitySkipped,
    capacityLayers,
    results: { total: resultCount, cached },
  };
}

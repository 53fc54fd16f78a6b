// One parser per wire shape of a request's parameters: the engine's handlers (through orThrow),
// the host (for what a webview asks the engine) and the importer use these and nothing else, so a
// request is accepted or refused the same way, with the same message, wherever it comes from.
import type { DeconvnetParams } from './deconvnet';
import type { SliceParams } from './engineProtocol';
import type { InfoPlaneParams, InformationMatrixParams, LayerInformationParams } from './information';
import {
  ESTIMATOR_DEFAULTS,
  type ChannelCapacityParams,
  type ChannelEntropiesParams,
  type EpochSelection,
  type EstimatorParams,
  type InterSampleEntropyParams,
  type LabelEntropiesParams,
} from './measures';
import { describeValue, fields, isIndex, isRecord, ok, optional, refuse, type Parsed } from './parse';
import type { SampleSelection } from './sampleSelection';

/** Longest path a request may name; a real run path is far shorter, and the engine rejects what is not a run anyway. */
export const MAX_PATH_CHARS = 4096;
/** Sample indices one request may list: a probe set of a million samples, which no view shows at once. */
export const MAX_SAMPLE_INDICES = 1_000_000;

/**
 * The parameters object of `method`. `missingIsEmpty`: nothing counts as no parameters (a webview's
 * postMessage drops an undefined `params`); the engine, whose callers always send an object, refuses it.
 */
export function parseParamsObject(method: string, params: unknown, missingIsEmpty = false): Parsed<Record<string, unknown>> {
  const p = params === undefined && missingIsEmpty ? {} : params;
  return isRecord(p) ? ok(p) : refuse(`"${method}" expects an object of parameters, got ${describeValue(params)}`);
}

export function parseRunPath(value: unknown, field = 'run'): Parsed<string> {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_PATH_CHARS)
    return refuse(`"${field}" must be the path of a run directory or its manifest, got ${describeValue(value)}`);
  return ok(value);
}

/** A layer name; `what` says which layers the request takes. */
export function parseLayer(value: unknown, field: string, what = 'a layer name, "input" or "logits"'): Parsed<string> {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_PATH_CHARS)
    return refuse(`"${field}" must be ${what}, got ${describeValue(value)}`);
  return ok(value);
}

export function parseEpochSelection(value: unknown): Parsed<EpochSelection> {
  if (value === 'all' || isIndex(value)) return ok(value);
  return refuse(`"epoch" must be an integer ≥ 0 or "all", got ${describeValue(value)}`);
}

/** An integer ≥ 0 in `field`. */
export function parseIndex(value: unknown, field: string): Parsed<number> {
  return isIndex(value) ? ok(value) : refuse(`"${field}" must be an integer ≥ 0, got ${describeValue(value)}`);
}

export function parseSamples(value: unknown): Parsed<SampleSelection> {
  if (!isRecord(value)) return refuse(`"samples" must be an object with a "kind", got ${describeValue(value)}`);
  switch (value.kind) {
    case 'all':
      return ok({ kind: 'all' });
    case 'class':
      return isIndex(value.classIndex)
        ? ok({ kind: 'class', classIndex: value.classIndex })
        : refuse(`"samples.classIndex" must be an integer ≥ 0, got ${describeValue(value.classIndex)}`);
    case 'indices': {
      const indices = value.indices;
      if (!Array.isArray(indices) || indices.length > MAX_SAMPLE_INDICES)
        return refuse(`"samples.indices" must be an array of at most ${MAX_SAMPLE_INDICES} integers ≥ 0, got ${describeValue(indices)}`);
      const bad = indices.findIndex((i) => !isIndex(i));
      if (bad >= 0) return refuse(`"samples.indices[${bad}]" must be an integer ≥ 0, got ${describeValue(indices[bad])}`);
      return ok({ kind: 'indices', indices: [...(indices as number[])] });
    }
    default:
      return refuse(`"samples.kind" must be "all", "class" or "indices", got ${describeValue(value.kind)}`);
  }
}

/** The estimator parameters' names, from their defaults. */
export const ESTIMATOR_PARAM_NAMES = Object.keys(ESTIMATOR_DEFAULTS) as readonly (keyof EstimatorParams)[];

/** Estimator overrides: known names with values of their default's type; the engine checks their ranges (resolveEstimatorParams). */
export function parseEstimatorParams(value: unknown): Parsed<Partial<EstimatorParams> | undefined> {
  if (value === undefined) return ok(undefined);
  if (!isRecord(value)) return refuse(`"params" must be an object of estimator parameters, got ${describeValue(value)}`);
  const out: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(value)) {
    if (!(ESTIMATOR_PARAM_NAMES as readonly string[]).includes(name))
      return refuse(`unknown estimator parameter ${describeValue(name)} (known: ${ESTIMATOR_PARAM_NAMES.join(', ')})`);
    const kind = typeof ESTIMATOR_DEFAULTS[name as keyof EstimatorParams];
    if (typeof v !== kind) return refuse(`estimator parameter "${name}" must be a ${kind}, got ${describeValue(v)}`);
    out[name] = v;
  }
  return ok(out as Partial<EstimatorParams>);
}

export function parseRunInfoParams(p: Record<string, unknown>): Parsed<{ run: string }> {
  return fields({ run: () => parseRunPath(p.run) });
}

export function parseSliceParams(p: Record<string, unknown>): Parsed<SliceParams> {
  return fields<SliceParams>({
    run: () => parseRunPath(p.run),
    samples: () => parseSamples(p.samples),
    layer: () => parseLayer(p.layer, 'layer'),
    channel: () =>
      p.channel === 'all' || isIndex(p.channel) ? ok(p.channel) : refuse(`"channel" must be an integer ≥ 0 or "all", got ${describeValue(p.channel)}`),
    epoch: () => parseIndex(p.epoch, 'epoch'),
  });
}

export function parseInterSampleEntropyParams(p: Record<string, unknown>): Parsed<InterSampleEntropyParams> {
  return fields<InterSampleEntropyParams>({
    run: () => parseRunPath(p.run),
    samples: () => parseSamples(p.samples),
    layer: () => parseLayer(p.layer, 'layer'),
    epoch: () => parseEpochSelection(p.epoch),
    params: () => parseEstimatorParams(p.params),
  });
}

export function parseChannelEntropiesParams(p: Record<string, unknown>): Parsed<ChannelEntropiesParams> {
  return fields<ChannelEntropiesParams>({
    run: () => parseRunPath(p.run),
    layer: () => parseLayer(p.layer, 'layer'),
    epoch: () => parseEpochSelection(p.epoch),
    params: () => parseEstimatorParams(p.params),
  });
}

export function parseLabelEntropiesParams(p: Record<string, unknown>): Parsed<LabelEntropiesParams> {
  return fields<LabelEntropiesParams>({ run: () => parseRunPath(p.run), epoch: () => parseEpochSelection(p.epoch) });
}

export function parseChannelCapacityParams(p: Record<string, unknown>): Parsed<ChannelCapacityParams> {
  return fields<ChannelCapacityParams>({
    run: () => parseRunPath(p.run),
    samples: () => parseSamples(p.samples),
    layerI: () => parseLayer(p.layerI, 'layerI'),
    layerJ: () => parseLayer(p.layerJ, 'layerJ'),
    epoch: () => parseEpochSelection(p.epoch),
    params: () => parseEstimatorParams(p.params),
  });
}

export function parseInfoPlaneParams(p: Record<string, unknown>): Parsed<InfoPlaneParams> {
  return fields<InfoPlaneParams>({
    run: () => parseRunPath(p.run),
    samples: () => parseSamples(p.samples),
    epoch: () => parseEpochSelection(p.epoch),
    params: () => parseEstimatorParams(p.params),
  });
}

export function parseLayerInformationParams(p: Record<string, unknown>): Parsed<LayerInformationParams> {
  const what = 'a recorded layer, "input" or "labels"';
  return fields<LayerInformationParams>({
    run: () => parseRunPath(p.run),
    samples: () => parseSamples(p.samples),
    layerA: () => parseLayer(p.layerA, 'layerA', what),
    layerB: () => parseLayer(p.layerB, 'layerB', what),
    epoch: () => parseEpochSelection(p.epoch),
    params: () => parseEstimatorParams(p.params),
  });
}

/** At most this many representations in one matrix: a 140-layer network and its inputs and labels, with room. */
export const MAX_INFORMATION_LAYERS = 256;

export function parseInformationMatrixParams(p: Record<string, unknown>): Parsed<InformationMatrixParams> {
  return fields<InformationMatrixParams>({
    run: () => parseRunPath(p.run),
    samples: () => parseSamples(p.samples),
    epoch: () => parseIndex(p.epoch, 'epoch'),
    layers: () =>
      optional(p.layers, (v) => {
        if (!Array.isArray(v) || v.length > MAX_INFORMATION_LAYERS)
          return refuse(`"layers" must be an array of at most ${MAX_INFORMATION_LAYERS} layer names, got ${describeValue(v)}`);
        const out: string[] = [];
        for (let i = 0; i < v.length; i++) {
          const l = parseLayer(v[i], `layers[${i}]`, 'a recorded layer, "input" or "labels"');
          if (!l.ok) return l;
          out.push(l.value);
        }
        return ok(out);
      }),
    params: () => parseEstimatorParams(p.params),
  });
}

export function parseDeconvnetParams(p: Record<string, unknown>): Parsed<DeconvnetParams> {
  return fields<DeconvnetParams>({
    run: () => parseRunPath(p.run),
    layer: () => parseLayer(p.layer, 'layer', 'the name of a recorded layer'),
    channel: () => parseIndex(p.channel, 'channel'),
    epoch: () => parseIndex(p.epoch, 'epoch'),
    samples: () => parseSamples(p.samples),
  });
}

/** The parameters of `method` with `parse`, from whatever arrived. */
export function parseMethodParams<T>(method: string, params: unknown, parse: (p: Record<string, unknown>) => Parsed<T>, missingIsEmpty = false): Parsed<T> {
  const p = parseParamsObject(method, params, missingIsEmpty);
  return p.ok ? parse(p.value) : p;
}

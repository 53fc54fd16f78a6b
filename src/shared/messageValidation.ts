// Checks on everything a webview sends its host. A webview runs in a sandboxed iframe, but what it
// posts is still input from outside the extension host: a bug in a view, or a crafted page that got
// script into it, must not be able to make the host do more than the protocol allows. Each parser
// returns the value with exactly the declared shape (unknown fields dropped), or the reason it was
// refused, which the host logs. No `vscode`, DOM or Node import: the host, the views and the unit
// tests share it.
import { parseExportContent } from './exportProtocol';
import type { LinkedSelection } from './linkedSelection';
import { describeValue, fields, isIndex, isRecord, ok, optional, refuse, type Parsed } from './parse';
import {
  parseChannelCapacityParams,
  parseChannelEntropiesParams,
  parseDeconvnetParams,
  parseIndex,
  parseInfoPlaneParams,
  parseInformationMatrixParams,
  parseInterSampleEntropyParams,
  parseLabelEntropiesParams,
  parseLayer,
  parseMethodParams,
  parseRunInfoParams,
  parseRunPath,
  parseSamples,
  parseSliceParams,
} from './requestParams';
import {
  HOST_METHODS,
  MAX_LAYER_VIEW_OTHERS,
  MAX_VIEW_RUNS,
  MAX_WEBVIEW_LOG_CHARS,
  PERSISTED_STATE_VERSION,
  WEBVIEW_ENGINE_METHODS,
  type CapacitySort,
  type ChannelSelection,
  type InfoPlaneSelection,
  type LayerSelection,
  type PersistedViewState,
  type QuerySamples,
  type QuerySelection,
  type TrainingSelection,
  type WebviewMethod,
  type WebviewParams,
  type WebviewToHost,
} from './webviewProtocol';

export type { Parsed } from './parse';
export { describeValue } from './parse';

export function isWebviewMethod(value: unknown): value is WebviewMethod {
  return typeof value === 'string' && ((WEBVIEW_ENGINE_METHODS as readonly string[]).includes(value) || (HOST_METHODS as readonly string[]).includes(value));
}

/** The envelope of a message from a view. Request parameters are checked by parseRequestParams. */
export function parseWebviewMessage(value: unknown): Parsed<WebviewToHost> {
  if (!isRecord(value)) return refuse(`a message must be an object, got ${describeValue(value)}`);
  switch (value.type) {
    case 'ready':
      return ok({ type: 'ready' });
    case 'request':
      if (!isIndex(value.id)) return refuse(`a request needs an integer id ≥ 0, got ${describeValue(value.id)}`);
      if (!isWebviewMethod(value.method)) return refuse(`request ${value.id} names no method a view may call: ${describeValue(value.method)}`);
      return ok({ type: 'request', id: value.id, method: value.method, params: value.params });
    case 'cancel':
      if (!isIndex(value.id)) return refuse(`a cancel needs an integer id ≥ 0, got ${describeValue(value.id)}`);
      return ok({ type: 'cancel', id: value.id });
    case 'log': {
      if (value.level !== 'info' && value.level !== 'warn' && value.level !== 'error')
        return refuse(`a log message needs a level info, warn or error, got ${describeValue(value.level)}`);
      if (typeof value.message !== 'string') return refuse(`a log message needs a text, got ${describeValue(value.message)}`);
      const message = value.message.length > MAX_WEBVIEW_LOG_CHARS ? `${value.message.slice(0, MAX_WEBVIEW_LOG_CHARS)}…` : value.message;
      return ok({ type: 'log', level: value.level, message });
    }
    case 'select': {
      const selection = parseLinkedSelection(value.selection);
      return selection.ok ? ok({ type: 'select', selection: selection.value }) : refuse(`a select message: ${selection.reason}`);
    }
    case 'exportAsked':
      return ok({ type: 'exportAsked' });
    case 'exportContent':
      return parseExportContent(value);
    default:
      return refuse(`unknown message type ${describeValue(value.type)}`);
  }
}

type ParamParsers = { [M in WebviewMethod]: (p: Record<string, unknown>) => Parsed<WebviewParams<M>> };

const PARAM_PARSERS: ParamParsers = {
  runInfo: parseRunInfoParams,
  slice: parseSliceParams,
  interSampleEntropy: parseInterSampleEntropyParams,
  channelEntropies: parseChannelEntropiesParams,
  labelEntropies: parseLabelEntropiesParams,
  channelCapacity: parseChannelCapacityParams,
  deconvnet: parseDeconvnetParams,
  infoPlane: parseInfoPlaneParams,
  informationMatrix: parseInformationMatrixParams,
  addRuns: () => ok({}),
  removeRun: (p) => fields({ run: () => parseRunPath(p.run) }),
  showRunSummary: (p) => fields({ run: () => parseRunPath(p.run) }),
  query: (p) => parseLinkedSelection(p),
  revealSource: (p) => fields({ run: () => parseRunPath(p.run), layer: () => parseLayer(p.layer, 'layer') }),
  openInfoPlane: (p) => {
    const selection = parseInfoPlaneSelection(p);
    if (!selection.ok) return selection;
    const run = parseRunPath(p.run);
    return run.ok ? ok({ ...selection.value, run: run.value }) : run;
  },
};

/** The parameters of a request, with exactly the fields its method takes. */
export function parseRequestParams<M extends WebviewMethod>(method: M, params: unknown): Parsed<WebviewParams<M>> {
  return parseMethodParams(method, params, PARAM_PARSERS[method] as (p: Record<string, unknown>) => Parsed<WebviewParams<M>>, true);
}

/** The run every request that reads a run names, for the host to check it is one of the view's. */
export function requestedRun(params: object): string | undefined {
  const run = (params as { run?: unknown }).run;
  return typeof run === 'string' ? run : undefined;
}

/** The training view's selection; unknown fields are dropped, a wrong field is refused. */
export function parseTrainingSelection(value: unknown): Parsed<TrainingSelection> {
  if (!isRecord(value)) return refuse(`a training selection must be an object, got ${describeValue(value)}`);
  return fields<TrainingSelection>({
    run: () => (value.run === undefined ? ok(undefined) : parseRunPath(value.run)),
    epoch: () =>
      value.epoch === undefined || isIndex(value.epoch)
        ? ok(value.epoch as number | undefined)
        : refuse(`"epoch" must be an integer ≥ 0, got ${describeValue(value.epoch)}`),
    logLoss: () =>
      value.logLoss === undefined || typeof value.logLoss === 'boolean'
        ? ok(value.logLoss as boolean | undefined)
        : refuse(`"logLoss" must be true or false, got ${describeValue(value.logLoss)}`),
  });
}

/**
 * State a serializer receives after a reload. It was written by the view's own setState, but VS
 * Code keeps it on disk between sessions, where an older build's state (or a damaged file) waits.
 */
export function parsePersistedState<S>(value: unknown, parseSelection: (value: unknown) => Parsed<S>): Parsed<PersistedViewState<S>> {
  if (!isRecord(value)) return refuse(`the saved view state must be an object, got ${describeValue(value)}`);
  if (value.version !== PERSISTED_STATE_VERSION)
    return refuse(`the saved view state has version ${describeValue(value.version)}; this build reads version ${PERSISTED_STATE_VERSION}`);
  const runs = value.runs;
  if (!Array.isArray(runs) || runs.length === 0 || runs.length > MAX_VIEW_RUNS)
    return refuse(`the saved view state must name 1 to ${MAX_VIEW_RUNS} runs, got ${describeValue(runs)}`);
  const dirs: string[] = [];
  for (const run of runs) {
    const r = parseRunPath(run);
    if (!r.ok) return r;
    if (!dirs.includes(r.value)) dirs.push(r.value);
  }
  const selection = parseSelection(value.selection);
  if (!selection.ok) return selection;
  return ok({ version: PERSISTED_STATE_VERSION, runs: dirs, selection: selection.value });
}

function parseIndexField(field: string): (v: unknown) => Parsed<number> {
  return (v) => parseIndex(v, field);
}

function parseLayerList(value: unknown, field: string, max: number): Parsed<readonly string[]> {
  if (!Array.isArray(value) || value.length > max) return refuse(`"${field}" must be an array of at most ${max} layer names, got ${describeValue(value)}`);
  const out: string[] = [];
  for (const v of value) {
    const r = parseLayer(v, field);
    if (!r.ok) return r;
    out.push(r.value);
  }
  return ok(out);
}

/** A class index or 'all' (the all-samples circle of the channel view). */
function parseClassChoice(field: string): (v: unknown) => Parsed<number | 'all'> {
  return (v) => (v === 'all' || isIndex(v) ? ok(v) : refuse(`"${field}" must be a class index or "all", got ${describeValue(v)}`));
}

/** What a view publishes for the other views to follow. */
export function parseLinkedSelection(value: unknown): Parsed<LinkedSelection> {
  if (!isRecord(value)) return refuse(`a linked selection must be an object, got ${describeValue(value)}`);
  return fields<LinkedSelection>({
    run: () => parseRunPath(value.run),
    layer: () => optional(value.layer, (v) => parseLayer(v, 'layer')),
    // The query view may compare more layers than the layer view shows; a view takes what it can.
    otherLayers: () => optional(value.otherLayers, (v) => parseLayerList(v, 'otherLayers', MAX_VIEW_RUNS)),
    channel: () => optional(value.channel, parseIndexField('channel')),
    epoch: () => optional(value.epoch, parseIndexField('epoch')),
    samples: () => optional(value.samples, parseSamples),
  });
}

function parseCapacitySort(field: string): (v: unknown) => Parsed<CapacitySort> {
  return (v) =>
    v === 'none' || v === 'max' || v === 'mean' || v === 'similar'
      ? ok(v)
      : refuse(`"${field}" must be "none", "max", "mean" or "similar", got ${describeValue(v)}`);
}

/** The layer view's selection; unknown fields are dropped, a wrong field is refused. */
export function parseLayerSelection(value: unknown): Parsed<LayerSelection> {
  if (!isRecord(value)) return refuse(`a layer view selection must be an object, got ${describeValue(value)}`);
  return fields<LayerSelection>({
    run: () => optional(value.run, parseRunPath),
    layer: () => optional(value.layer, (v) => parseLayer(v, 'layer')),
    otherLayers: () => optional(value.otherLayers, (v) => parseLayerList(v, 'otherLayers', MAX_LAYER_VIEW_OTHERS)),
    epoch: () => optional(value.epoch, parseIndexField('epoch')),
    samples: () => optional(value.samples, parseSamples),
    sortColumns: () => optional(value.sortColumns, parseCapacitySort('sortColumns')),
    sortRows: () => optional(value.sortRows, parseCapacitySort('sortRows')),
    scale: () => optional(value.scale, (v) => (v === 'epoch' || v === 'run' ? ok(v) : refuse(`"scale" must be "epoch" or "run", got ${describeValue(v)}`))),
    cell: () =>
      optional(value.cell, (v) => {
        if (!isRecord(v)) return refuse(`"cell" must be an object, got ${describeValue(v)}`);
        return fields<NonNullable<LayerSelection['cell']>>({
          otherLayer: () => parseLayer(v.otherLayer, 'cell.otherLayer'),
          column: () => parseIndexField('cell.column')(v.column),
          row: () => parseIndexField('cell.row')(v.row),
        });
      }),
  });
}

/** The channel view's selection; unknown fields are dropped, a wrong field is refused. */
export function parseChannelSelection(value: unknown): Parsed<ChannelSelection> {
  if (!isRecord(value)) return refuse(`a channel view selection must be an object, got ${describeValue(value)}`);
  return fields<ChannelSelection>({
    run: () => optional(value.run, parseRunPath),
    layer: () => optional(value.layer, (v) => parseLayer(v, 'layer')),
    epoch: () => optional(value.epoch, parseIndexField('epoch')),
    channel: () => optional(value.channel, parseIndexField('channel')),
    zoom: () => optional(value.zoom, parseClassChoice('zoom')),
    projectClass: () => optional(value.projectClass, parseClassChoice('projectClass')),
  });
}

/** Layers one query may select: far more than any model the views can draw, few enough to bound a message. */
const MAX_QUERY_LAYERS = 4096;
/** A sample count or seed: any probe set fits, and a seed stays an exact integer. */
const MAX_QUERY_COUNT = 2 ** 31 - 1;

function parseQuerySamples(value: unknown): Parsed<QuerySamples> {
  if (!isRecord(value)) return refuse(`"samples" must be an object with a "kind", got ${describeValue(value)}`);
  const count = (v: unknown, field: string): Parsed<number> =>
    isIndex(v) && v >= 1 && v <= MAX_QUERY_COUNT ? ok(v) : refuse(`"samples.${field}" must be an integer ≥ 1, got ${describeValue(v)}`);
  switch (value.kind) {
    case 'all':
      return ok({ kind: 'all' });
    case 'classes': {
      const classes = value.classes;
      if (!Array.isArray(classes) || classes.length > MAX_QUERY_LAYERS || !classes.every(isIndex))
        return refuse(`"samples.classes" must be an array of class indices, got ${describeValue(classes)}`);
      return ok({ kind: 'classes', classes: [...new Set(classes as number[])].sort((a, b) => a - b) });
    }
    case 'first': {
      const n = count(value.count, 'count');
      return n.ok ? ok({ kind: 'first', count: n.value }) : n;
    }
    case 'random': {
      const n = count(value.count, 'count');
      if (!n.ok) return n;
      if (!isIndex(value.seed) || value.seed > MAX_QUERY_COUNT) return refuse(`"samples.seed" must be an integer ≥ 0, got ${describeValue(value.seed)}`);
      return ok({ kind: 'random', count: n.value, seed: value.seed });
    }
    default:
      return refuse(`"samples.kind" must be "all", "classes", "first" or "random", got ${describeValue(value.kind)}`);
  }
}

/** The query view's selection; unknown fields are dropped, a wrong field is refused. */
export function parseQuerySelection(value: unknown): Parsed<QuerySelection> {
  if (!isRecord(value)) return refuse(`a query view selection must be an object, got ${describeValue(value)}`);
  return fields<QuerySelection>({
    run: () => optional(value.run, parseRunPath),
    layers: () => optional(value.layers, (v) => parseLayerList(v, 'layers', MAX_QUERY_LAYERS)),
    layer: () => optional(value.layer, (v) => parseLayer(v, 'layer')),
    channel: () => optional(value.channel, parseIndexField('channel')),
    epoch: () => optional(value.epoch, parseIndexField('epoch')),
    samples: () => optional(value.samples, parseQuerySamples),
  });
}

/** The information-plane view's selection; unknown fields are dropped, a wrong field is refused. */
export function parseInfoPlaneSelection(value: unknown): Parsed<InfoPlaneSelection> {
  if (!isRecord(value)) return refuse(`an information-plane selection must be an object, got ${describeValue(value)}`);
  return fields<InfoPlaneSelection>({
    run: () => optional(value.run, parseRunPath),
    epoch: () => optional(value.epoch, parseIndexField('epoch')),
    layer: () => optional(value.layer, (v) => parseLayer(v, 'layer', 'a layer name or "input"')),
    samples: () => optional(value.samples, parseSamples),
  });
}

// What the engine does for each request. Parameters arrive from another process, so the static
// types of EngineMethods are only a promise: every handler checks its input before trusting it.
import type { DeconvnetParams } from '../shared/deconvnet';
import type { EngineMethod, EngineParams, EngineResult, SampleSelection, SliceParams, SliceResult } from '../shared/engineProtocol';
import { CnnSlicerError } from '../shared/errors';
import type { EpochSelection, EstimatorParams } from '../shared/measures';
import type { RunInfo } from '../shared/runFormat';
import { channelCapacityOf, channelEntropiesOf, interSampleEntropyOf, labelEntropiesOf, type MeasureContext } from './analysis/measures';
import type { ResultCache } from './cache/resultCache';
import { deconvnet } from './deconvnet/deconvnet';
import { runImportRequest } from './importer/importRequest';
import { RunReader } from './run/runReader';

export interface RequestContext {
  /** Aborted when the host cancels this request (or gives up on it) or the engine shuts down. */
  readonly signal: AbortSignal;
  /** Reports how far the request got; `total` 0 means unknown. */
  progress(done: number, total: number, message?: string): void;
}

export type Handler<M extends EngineMethod> = (params: EngineParams<M>, ctx: RequestContext) => Promise<EngineResult<M>>;
export type Handlers = { [M in EngineMethod]: Handler<M> };

/**
 * The part of RunRegistry the handlers use. Declared structurally so the dispatcher can be tested
 * with a stand-in; main.ts passes the real registry, which the compiler checks against this.
 */
export interface RunSource {
  get(runPathOrManifest: string): Promise<{
    refreshedInfo(): Promise<RunInfo>;
    slice(params: SliceParams, ctx?: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void }): Promise<SliceResult>;
  }>;
}

export interface HandlerOptions {
  readonly runs: RunSource;
  /** On-disk cache of measure results; without it every measure is computed. */
  readonly cache?: ResultCache;
  /** Enables `hang`; main.ts sets it from CNNSLICER_ENGINE_TEST_HOOKS=1. */
  readonly testHooks?: boolean;
}

/** The longest a test hook may sleep or hang, so a mistyped argument cannot wedge an engine for hours. */
export const MAX_TEST_HOOK_MS = 10 * 60 * 1000;
/** How often `sleep` wakes up to report progress. */
const SLEEP_STEP_MS = 50;

export function createHandlers(options: HandlerOptions): Handlers {
  const { runs } = options;
  const testHooks = options.testHooks === true;
  return {
    async ping(params) {
      expectRecord(params, 'ping');
      const all: Readonly<Record<string, string | undefined>> = process.versions;
      const versions: Record<string, string> = {};
      for (const key of ['node', 'v8', 'uv', 'modules', 'napi', 'electron']) {
        const v = all[key];
        if (typeof v === 'string') versions[key] = v;
      }
      return { pid: process.pid, versions };
    },

    async runInfo(params) {
      const p = expectRecord(params, 'runInfo');
      const run = expectRunPath(p.run);
      return (await runs.get(run)).refreshedInfo();
    },

    async slice(params, ctx) {
      const p = validateSliceParams(params);
      throwIfCancelled(ctx.signal);
      const reader = await runs.get(p.run);
      throwIfCancelled(ctx.signal);
      return reader.slice(p, { signal: ctx.signal, onProgress: (done, total) => ctx.progress(done, total) });
    },

    async interSampleEntropy(params, ctx) {
      const p = expectRecord(params, 'interSampleEntropy');
      const query = {
        samples: validateSamples(p.samples),
        layer: expectLayer(p.layer, 'layer'),
        epoch: expectEpochSelection(p.epoch),
        params: expectEstimatorParams(p.params),
      };
      const reader = await measureReader(runs, p.run);
      return interSampleEntropyOf(reader, query, measureContext(ctx, options.cache));
    },

    async channelEntropies(params, ctx) {
      const p = expectRecord(params, 'channelEntropies');
      const query = { layer: expectLayer(p.layer, 'layer'), epoch: expectEpochSelection(p.epoch), params: expectEstimatorParams(p.params) };
      const reader = await measureReader(runs, p.run);
      return channelEntropiesOf(reader, query, measureContext(ctx, options.cache));
    },

    async labelEntropies(params, ctx) {
      const p = expectRecord(params, 'labelEntropies');
      const query = { epoch: expectEpochSelection(p.epoch) };
      const reader = await measureReader(runs, p.run);
      return labelEntropiesOf(reader, query, measureContext(ctx, options.cache));
    },

    async channelCapacity(params, ctx) {
      const p = expectRecord(params, 'channelCapacity');
      const query = {
        samples: validateSamples(p.samples),
        layerI: expectLayer(p.layerI, 'layerI'),
        layerJ: expectLayer(p.layerJ, 'layerJ'),
        epoch: expectEpochSelection(p.epoch),
        params: expectEstimatorParams(p.params),
      };
      const reader = await measureReader(runs, p.run);
      return channelCapacityOf(reader, query, measureContext(ctx, options.cache));
    },

    async deconvnet(params, ctx) {
      const p = validateDeconvnetParams(params);
      throwIfCancelled(ctx.signal);
      const reader = await measureReader(runs, p.run);
      return deconvnet(reader, p, { signal: ctx.signal, onProgress: (done, total) => ctx.progress(done, total) });
    },

    async importOnnx(params, ctx) {
      // Validation, progress, cancellation and the clean-up of a failed import live with the importer.
      return runImportRequest(params, ctx);
    },

    async sleep(params, ctx) {
      const ms = expectHookMs(params, 'sleep');
      const start = Date.now();
      ctx.progress(0, ms);
      for (;;) {
        const elapsed = Date.now() - start;
        if (elapsed >= ms) break;
        await delay(Math.min(SLEEP_STEP_MS, ms - elapsed), ctx.signal);
        ctx.progress(Math.min(Date.now() - start, ms), ms);
      }
      return { slept: Date.now() - start };
    },

    async hang(params) {
      // Refused without the switch: a real engine must never be able to wedge itself on request.
      if (!testHooks) throw new CnnSlicerError('bad-request', '"hang" is a test hook; start the engine with CNNSLICER_ENGINE_TEST_HOOKS=1 to enable it');
      const ms = expectHookMs(params, 'hang');
      const end = Date.now() + ms;
      // Deliberately synchronous: the point is to starve the event loop, heartbeats included.
      while (Date.now() < end) {
        /* spin */
      }
      return { hung: ms };
    },
  };
}

/**
 * The reader behind a measure request. Measures need the whole reader (labels, manifest, the
 * files a result depends on), which the registry always provides; RunSource only narrows what
 * the transport tests have to fake.
 */
async function measureReader(runs: RunSource, run: unknown): Promise<RunReader> {
  const reader = await runs.get(expectRunPath(run));
  if (!(reader instanceof RunReader)) throw new CnnSlicerError('internal', 'measures need a RunReader');
  return reader;
}

function measureContext(ctx: RequestContext, cache: ResultCache | undefined): MeasureContext {
  return { cache, signal: ctx.signal, onProgress: (done, total, message) => ctx.progress(done, total, message) };
}

function expectLayer(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0)
    throw new CnnSlicerError('bad-request', `"${field}" must be a layer name, "input" or "logits", got ${describe(value)}`);
  return value;
}

function expectEpochSelection(value: unknown): EpochSelection {
  if (value === 'all' || isIndex(value)) return value;
  throw new CnnSlicerError('bad-request', `"epoch" must be an integer ≥ 0 or "all", got ${describe(value)}`);
}

const ESTIMATOR_PARAM_NAMES = [
  'intraBins',
  'intraNormalization',
  'interK',
  'sigmaRelativeTolerance',
  'sigmaMaxIterations',
  'capacityBins',
  'capacityRange',
  'capacityPairs',
] as const;

/** Estimator overrides: only known names; their values are checked by resolveEstimatorParams. */
function expectEstimatorParams(value: unknown): Partial<EstimatorParams> | undefined {
  if (value === undefined) return undefined;
  if (!isRecord(value)) throw new CnnSlicerError('bad-request', `"params" must be an object of estimator parameters, got ${describe(value)}`);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (!(ESTIMATOR_PARAM_NAMES as readonly string[]).includes(k))
      throw new CnnSlicerError('bad-request', `unknown estimator parameter "${k}" (known: ${ESTIMATOR_PARAM_NAMES.join(', ')})`);
    out[k] = v;
  }
  return out as Partial<EstimatorParams>;
}

function throwIfCancelled(signal: AbortSignal): void {
  if (signal.aborted) throw new CnnSlicerError('cancelled', 'the request was cancelled');
}

/** Resolves after `ms`, or rejects with `cancelled` as soon as `signal` aborts. */
function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(new CnnSlicerError('cancelled', 'the request was cancelled'));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new CnnSlicerError('cancelled', 'the request was cancelled'));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function expectRecord(params: unknown, method: EngineMethod): Record<string, unknown> {
  if (!isRecord(params)) throw new CnnSlicerError('bad-request', `"${method}" expects an object of parameters, got ${describe(params)}`);
  return params;
}

function expectRunPath(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0)
    throw new CnnSlicerError('bad-request', `"run" must be the path of a run directory or its manifest, got ${describe(value)}`);
  return value;
}

function expectHookMs(params: unknown, method: 'sleep' | 'hang'): number {
  const ms = expectRecord(params, method).ms;
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0 || ms > MAX_TEST_HOOK_MS) {
    throw new CnnSlicerError('bad-request', `"${method}" expects "ms" between 0 and ${MAX_TEST_HOOK_MS}, got ${describe(ms)}`);
  }
  return ms;
}

function isIndex(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function validateSamples(value: unknown): SampleSelection {
  if (!isRecord(value)) throw new CnnSlicerError('bad-request', `"samples" must be an object with a "kind", got ${describe(value)}`);
  switch (value.kind) {
    case 'all':
      return { kind: 'all' };
    case 'class':
      if (!isIndex(value.classIndex)) throw new CnnSlicerError('bad-request', `"samples.classIndex" must be an integer ≥ 0, got ${describe(value.classIndex)}`);
      return { kind: 'class', classIndex: value.classIndex };
    case 'indices': {
      const indices = value.indices;
      if (!Array.isArray(indices)) throw new CnnSlicerError('bad-request', `"samples.indices" must be an array of integers ≥ 0, got ${describe(indices)}`);
      const bad = indices.findIndex((i) => !isIndex(i));
      if (bad >= 0) throw new CnnSlicerError('bad-request', `"samples.indices[${bad}]" must be an integer ≥ 0, got ${describe(indices[bad])}`);
      return { kind: 'indices', indices: indices as number[] };
    }
    default:
      throw new CnnSlicerError('bad-request', `"samples.kind" must be "all", "class" or "indices", got ${describe(value.kind)}`);
  }
}

export function validateSliceParams(params: unknown): SliceParams {
  const p = expectRecord(params, 'slice');
  const run = expectRunPath(p.run);
  const samples = validateSamples(p.samples);
  if (typeof p.layer !== 'string' || p.layer.length === 0)
    throw new CnnSlicerError('bad-request', `"layer" must be a layer name, "input" or "logits", got ${describe(p.layer)}`);
  if (p.channel !== 'all' && !isIndex(p.channel))
    throw new CnnSlicerError('bad-request', `"channel" must be an integer ≥ 0 or "all", got ${describe(p.channel)}`);
  if (!isIndex(p.epoch)) throw new CnnSlicerError('bad-request', `"epoch" must be an integer ≥ 0, got ${describe(p.epoch)}`);
  return { run, samples, layer: p.layer, channel: p.channel, epoch: p.epoch };
}

export function validateDeconvnetParams(params: unknown): DeconvnetParams {
  const p = expectRecord(params, 'deconvnet');
  const run = expectRunPath(p.run);
  if (typeof p.layer !== 'string' || p.layer.length === 0)
    throw new CnnSlicerError('bad-request', `"layer" must be the name of a recorded layer, got ${describe(p.layer)}`);
  if (!isIndex(p.channel)) throw new CnnSlicerError('bad-request', `"channel" must be an integer ≥ 0, got ${describe(p.channel)}`);
  if (!isIndex(p.epoch)) throw new CnnSlicerError('bad-request', `"epoch" must be an integer ≥ 0, got ${describe(p.epoch)}`);
  const samples = validateSamples(p.samples);
  return { run, layer: p.layer, channel: p.channel, epoch: p.epoch, samples };
}

/** A short rendering of a bad value for an error message; never the whole of a large value. */
function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (typeof value === 'object') return 'an object';
  return String(value);
}

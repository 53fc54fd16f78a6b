// What the engine does for each request. Parameters arrive from another process, so the static
// types of EngineMethods are only a promise: every handler checks its input before trusting it.
import type { EngineMethod, EngineParams, EngineResult, SliceParams, SliceResult } from '../shared/engineProtocol';
import { CnnSlicerError } from '../shared/errors';
import { describeValue, orThrow } from '../shared/parse';
import {
  parseChannelCapacityParams,
  parseChannelEntropiesParams,
  parseDeconvnetParams,
  parseInfoPlaneParams,
  parseInformationMatrixParams,
  parseInterSampleEntropyParams,
  parseLayerInformationParams,
  parseLabelEntropiesParams,
  parseMethodParams,
  parseParamsObject,
  parseRunInfoParams,
  parseSliceParams,
} from '../shared/requestParams';
import type { RunInfo } from '../shared/runFormat';
import { infoPlaneOf, informationMatrixOf, layerInformationOf } from './analysis/information';
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
      const { run } = orThrow(parseMethodParams('runInfo', params, parseRunInfoParams));
      return (await runs.get(run)).refreshedInfo();
    },

    async slice(params, ctx) {
      const p = orThrow(parseMethodParams('slice', params, parseSliceParams));
      throwIfCancelled(ctx.signal);
      const reader = await runs.get(p.run);
      throwIfCancelled(ctx.signal);
      return reader.slice(p, { signal: ctx.signal, onProgress: (done, total) => ctx.progress(done, total) });
    },

    async interSampleEntropy(params, ctx) {
      const query = orThrow(parseMethodParams('interSampleEntropy', params, parseInterSampleEntropyParams));
      const reader = await measureReader(runs, query.run);
      return interSampleEntropyOf(reader, query, measureContext(ctx, options.cache));
    },

    async channelEntropies(params, ctx) {
      const query = orThrow(parseMethodParams('channelEntropies', params, parseChannelEntropiesParams));
      const reader = await measureReader(runs, query.run);
      return channelEntropiesOf(reader, query, measureContext(ctx, options.cache));
    },

    async labelEntropies(params, ctx) {
      const query = orThrow(parseMethodParams('labelEntropies', params, parseLabelEntropiesParams));
      const reader = await measureReader(runs, query.run);
      return labelEntropiesOf(reader, query, measureContext(ctx, options.cache));
    },

    async channelCapacity(params, ctx) {
      const query = orThrow(parseMethodParams('channelCapacity', params, parseChannelCapacityParams));
      const reader = await measureReader(runs, query.run);
      return channelCapacityOf(reader, query, measureContext(ctx, options.cache));
    },

    async layerInformation(params, ctx) {
      const query = orThrow(parseMethodParams('layerInformation', params, parseLayerInformationParams));
      const reader = await measureReader(runs, query.run);
      return layerInformationOf(reader, query, measureContext(ctx, options.cache));
    },

    async informationMatrix(params, ctx) {
      const query = orThrow(parseMethodParams('informationMatrix', params, parseInformationMatrixParams));
      const reader = await measureReader(runs, query.run);
      return informationMatrixOf(reader, query, measureContext(ctx, options.cache));
    },

    async infoPlane(params, ctx) {
      const query = orThrow(parseMethodParams('infoPlane', params, parseInfoPlaneParams));
      const reader = await measureReader(runs, query.run);
      return infoPlaneOf(reader, query, measureContext(ctx, options.cache));
    },

    async deconvnet(params, ctx) {
      const p = orThrow(parseMethodParams('deconvnet', params, parseDeconvnetParams));
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
      // The last step's report may have come a millisecond short of the end (a timer fires up to
      // 1 ms early by Date.now()); the request is done, so its progress says so.
      ctx.progress(ms, ms);
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
async function measureReader(runs: RunSource, run: string): Promise<RunReader> {
  const reader = await runs.get(run);
  if (!(reader instanceof RunReader)) throw new CnnSlicerError('internal', 'measures need a RunReader');
  return reader;
}

function measureContext(ctx: RequestContext, cache: ResultCache | undefined): MeasureContext {
  return { cache, signal: ctx.signal, onProgress: (done, total, message) => ctx.progress(done, total, message) };
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

function expectRecord(params: unknown, method: EngineMethod): Record<string, unknown> {
  return orThrow(parseParamsObject(method, params));
}

function expectHookMs(params: unknown, method: 'sleep' | 'hang'): number {
  const ms = expectRecord(params, method).ms;
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0 || ms > MAX_TEST_HOOK_MS) {
    throw new CnnSlicerError('bad-request', `"${method}" expects "ms" between 0 and ${MAX_TEST_HOOK_MS}, got ${describeValue(ms)}`);
  }
  return ms;
}

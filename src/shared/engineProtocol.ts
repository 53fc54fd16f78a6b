// The host ↔ engine protocol. The engine is a child process (child_process.fork with
// `serialization: 'advanced'`), so typed arrays travel as structured clones, not as JSON.
import type { DeconvnetParams, DeconvnetResult } from './deconvnet';
import type { ErrorInfo } from './errors';
import type {
  InfoPlaneEpoch,
  InfoPlaneParams,
  InformationMatrixParams,
  InformationMatrixResult,
  LayerInformationParams,
  LayerInformationResult,
} from './information';
import type {
  ChannelCapacityParams,
  ChannelCapacityResult,
  ChannelEntropiesParams,
  ChannelEntropiesResult,
  InterSampleEntropyParams,
  InterSampleEntropyResult,
  LabelEntropiesParams,
  LabelEntropiesResult,
  MeasureSeries,
} from './measures';
import type { LayerInfo, RunInfo } from './runFormat';
import type { SampleSelection } from './sampleSelection';
import { isRecord } from './parse';

export type { SampleSelection } from './sampleSelection';

export interface SliceParams {
  /** Run directory (absolute) or its manifest. */
  readonly run: string;
  readonly samples: SampleSelection;
  /** Layer name; `logits` for the output; `input` for the probe inputs themselves (the paper's layer 0). */
  readonly layer: string;
  /** One channel (dimension 1 of an N×C×H×W map or one feature of N×F), or all. */
  readonly channel: number | 'all';
  readonly epoch: number;
}

export interface SliceResult {
  /** [n, C, H, W], [n, 1, H, W] for one channel of a map, [n, F] or [n, 1] for dense layers. */
  readonly shape: readonly number[];
  /** Row-major values, always float32 (float16 files are widened). */
  readonly data: Float32Array;
  /** The probe indices of the n rows, in order. */
  readonly sampleIndices: Int32Array;
  /** Where the values came from. */
  readonly source: 'activations' | 'checkpoint' | 'probe';
}

/** The labelled images an import draws its probe set from (docs/outside-models.md). */
export type ImportDataset =
  | { readonly kind: 'mnist'; readonly dir?: string; readonly split?: 'train' | 'test' }
  | { readonly kind: 'cifar10'; readonly dir: string; readonly split?: 'train' | 'test' }
  | { readonly kind: 'imageFolder'; readonly dir: string };

/** Probe samples an import draws when the request does not say, class-balanced. */
export const DEFAULT_IMPORT_PROBE_COUNT = 1000;

export interface ImportOnnxParams {
  /** One .onnx file or one folder of per-epoch .onnx files, as absolute paths (the engine's cwd is not the user's). */
  readonly models: readonly string[];
  readonly dataset: ImportDataset;
  /**
   * The run folder to write (absolute). It must not hold a run yet. When the import fails or is
   * cancelled, a folder this request created is removed again, so no half-written run is left.
   */
  readonly out: string;
  /** The run's name; default the folder's name. */
  readonly name?: string;
  /** Default DEFAULT_IMPORT_PROBE_COUNT. */
  readonly probeCount?: number;
  /** Seed of the probe draw; default 0. */
  readonly seed?: number;
  /** Per-channel (or single) mean and std applied after scaling pixels to [0, 1]. */
  readonly normalization?: { readonly mean: readonly number[]; readonly std: readonly number[] };
}

export interface ImportOnnxResult {
  /** The run folder written. */
  readonly dir: string;
  readonly layers: readonly LayerInfo[];
  readonly epochs: readonly number[];
}

/** Every request the engine answers: its parameters and its result. */
export interface EngineMethods {
  /** Liveness check; returns the engine's pid. */
  ping: { params: Record<string, never>; result: { pid: number; versions: Record<string, string> } };
  runInfo: { params: { readonly run: string }; result: RunInfo };
  slice: { params: SliceParams; result: SliceResult };
  /** Inter-sample entropy of a layer's slice (paper §4.4.1), per epoch. */
  interSampleEntropy: { params: InterSampleEntropyParams; result: MeasureSeries<InterSampleEntropyResult> };
  /** Intra-sample entropy per channel, per class and overall (§4.4.2, §5.4), per epoch. */
  channelEntropies: { params: ChannelEntropiesParams; result: MeasureSeries<ChannelEntropiesResult> };
  /** Confusion matrix and label entropies (§5.2), per epoch. */
  labelEntropies: { params: LabelEntropiesParams; result: MeasureSeries<LabelEntropiesResult> };
  /** Channel-capacity matrix between two layers (§5.3), per epoch. */
  channelCapacity: { params: ChannelCapacityParams; result: MeasureSeries<ChannelCapacityResult> };
  /** One channel of a layer projected back to input space by a deconvnet (§5.4, Fig. 13C), from an epoch's checkpoint. */
  deconvnet: { params: DeconvnetParams; result: DeconvnetResult };
  /** Matrix-based Rényi information I_α between two representations (layers, `input`, `labels`), per epoch (issue 16). */
  layerInformation: { params: LayerInformationParams; result: MeasureSeries<LayerInformationResult> };
  /** The representations' I_α matrix at one epoch; the diagonal holds each one's S_α. */
  informationMatrix: { params: InformationMatrixParams; result: InformationMatrixResult };
  /** The information plane (issue 16): I(X; T) and I(T; Y) in bits of the input and every recorded layer, per epoch. */
  infoPlane: { params: InfoPlaneParams; result: MeasureSeries<InfoPlaneEpoch> };
  /**
   * Turns an outside ONNX classifier (or a folder of per-epoch checkpoints) and a dataset into a run.
   * Progress is reported per model and per batch of probe samples; cancellable.
   */
  importOnnx: { params: ImportOnnxParams; result: ImportOnnxResult };
  /** Test hook: works for `ms` milliseconds with progress, honouring cancellation. */
  sleep: { params: { readonly ms: number }; result: { slept: number } };
  /**
   * Test hook: blocks the engine's event loop for `ms` milliseconds, so no heartbeat goes out.
   * Refused unless the engine was started with CNNSLICER_ENGINE_TEST_HOOKS=1.
   */
  hang: { params: { readonly ms: number }; result: { hung: number } };
}

export type EngineMethod = keyof EngineMethods;

export type EngineParams<M extends EngineMethod> = EngineMethods[M]['params'];
export type EngineResult<M extends EngineMethod> = EngineMethods[M]['result'];

export type HostToEngine =
  { readonly type: 'request'; readonly id: number; readonly method: EngineMethod; readonly params: unknown } | { readonly type: 'cancel'; readonly id: number };

export interface ProgressInfo {
  /** Units done and total; total 0 means unknown. */
  readonly done: number;
  readonly total: number;
  readonly message?: string;
}

export type EngineToHost =
  | { readonly type: 'ready'; readonly pid: number }
  | { readonly type: 'heartbeat'; readonly time: number }
  | { readonly type: 'progress'; readonly id: number; readonly progress: ProgressInfo }
  | { readonly type: 'response'; readonly id: number; readonly ok: true; readonly result: unknown }
  | { readonly type: 'response'; readonly id: number; readonly ok: false; readonly error: ErrorInfo }
  | { readonly type: 'log'; readonly level: 'info' | 'warn' | 'error'; readonly message: string };

/** Milliseconds between two heartbeats of a healthy engine. */
export const HEARTBEAT_INTERVAL_MS = 1000;

const METHODS: readonly EngineMethod[] = [
  'ping',
  'runInfo',
  'slice',
  'interSampleEntropy',
  'channelEntropies',
  'labelEntropies',
  'channelCapacity',
  'deconvnet',
  'layerInformation',
  'informationMatrix',
  'infoPlane',
  'importOnnx',
  'sleep',
  'hang',
];

export function isEngineMethod(value: unknown): value is EngineMethod {
  return typeof value === 'string' && (METHODS as readonly string[]).includes(value);
}

/** Validates a message that claims to come from the host; anything malformed yields undefined. */
export function parseHostMessage(value: unknown): HostToEngine | undefined {
  if (!isRecord(value) || !Number.isSafeInteger(value.id)) return undefined;
  const id = value.id as number;
  if (value.type === 'cancel') return { type: 'cancel', id };
  if (value.type === 'request' && isEngineMethod(value.method)) return { type: 'request', id, method: value.method, params: value.params };
  return undefined;
}

/** Validates a message that claims to come from the engine; anything malformed yields undefined. */
export function parseEngineMessage(value: unknown): EngineToHost | undefined {
  if (!isRecord(value)) return undefined;
  switch (value.type) {
    case 'ready':
      return typeof value.pid === 'number' ? { type: 'ready', pid: value.pid } : undefined;
    case 'heartbeat':
      return typeof value.time === 'number' ? { type: 'heartbeat', time: value.time } : undefined;
    case 'progress': {
      const p = value.progress;
      if (!Number.isSafeInteger(value.id) || !isRecord(p) || typeof p.done !== 'number' || typeof p.total !== 'number') return undefined;
      return {
        type: 'progress',
        id: value.id as number,
        progress: { done: p.done, total: p.total, message: typeof p.message === 'string' ? p.message : undefined },
      };
    }
    case 'response': {
      if (!Number.isSafeInteger(value.id)) return undefined;
      const id = value.id as number;
      if (value.ok === true) return { type: 'response', id, ok: true, result: value.result };
      const e = value.error;
      if (value.ok === false && isRecord(e) && typeof e.code === 'string' && typeof e.message === 'string') {
        return {
          type: 'response',
          id,
          ok: false,
          error: { code: e.code as ErrorInfo['code'], message: e.message, file: typeof e.file === 'string' ? e.file : undefined },
        };
      }
      return undefined;
    }
    case 'log':
      if ((value.level === 'info' || value.level === 'warn' || value.level === 'error') && typeof value.message === 'string') {
        return { type: 'log', level: value.level, message: value.message };
      }
      return undefined;
    default:
      return undefined;
  }
}

// Materialises layer activations at a checkpoint epoch by running the epoch's model.onnx on probe
// inputs (docs/run-format.md, "Checkpoints").
import { stat } from 'node:fs/promises';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { CnnSlicerError } from '../../shared/errors';
import { createSession, makeTensor } from '../onnx/ortRuntime';

export interface MaterializeOptions {
  /** Absolute path of the epoch's model.onnx. */
  modelPath: string;
  /** The probe inputs of those probe indices, concatenated, each of size prod(inputShape). */
  inputs: (rows: readonly number[]) => Promise<Float32Array>;
  /** One sample, e.g. [1,28,28]. */
  inputShape: readonly number[];
  /** Which probe samples (probe indices); result rows are in this order, repeats allowed. */
  sampleIndices: readonly number[];
  /** Graph output names to fetch (layer names and/or 'logits'). */
  outputs: readonly string[];
  /** Samples per session.run; default 256. */
  batchSize?: number;
  /** Checked between batches; abort → CnnSlicerError('cancelled'). */
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

export interface MaterializedOutput {
  /** [n, ...per-sample dims]. */
  readonly shape: number[];
  readonly data: Float32Array;
}

export const DEFAULT_BATCH_SIZE = 256;

// --- Session cache --------------------------------------------------------------------------
// Two entries: clicking through the layers of one epoch reuses its session, and comparing two
// epochs does not thrash. Keyed by path and validated by mtime and size, so a checkpoint rewritten
// in place (a run still being trained) is reloaded.

interface CacheEntry {
  readonly path: string;
  readonly mtimeMs: number;
  readonly size: number;
  readonly session: Promise<InferenceSession>;
  /** Requests currently using the session; an evicted session is released when this drops to 0. */
  users: number;
  evicted: boolean;
}

const CACHE_SIZE = 2;
// Insertion order is recency order: a hit is deleted and re-inserted.
const cache = new Map<string, CacheEntry>();

function releaseIfIdle(entry: CacheEntry): Promise<void> {
  if (!entry.evicted || entry.users > 0) return Promise.resolve();
  // A session that failed to load has nothing to release.
  return entry.session.then((s) => s.release()).catch(() => undefined);
}

function evict(entry: CacheEntry): Promise<void> {
  if (cache.get(entry.path) === entry) cache.delete(entry.path);
  entry.evicted = true;
  return releaseIfIdle(entry);
}

async function acquire(modelPath: string): Promise<CacheEntry> {
  let st;
  try {
    st = await stat(modelPath);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CnnSlicerError('not-found', 'the checkpoint model does not exist', modelPath);
    throw new CnnSlicerError('model-error', `cannot read the checkpoint model: ${(err as Error).message}`, modelPath);
  }
  if (!st.isFile()) throw new CnnSlicerError('model-error', 'the checkpoint model is not a file', modelPath);

  let entry = cache.get(modelPath);
  if (entry !== undefined && (entry.mtimeMs !== st.mtimeMs || entry.size !== st.size)) {
    void evict(entry);
    entry = undefined;
  }
  if (entry === undefined) {
    const session = createSession(modelPath, modelPath);
    const created: CacheEntry = { path: modelPath, mtimeMs: st.mtimeMs, size: st.size, session, users: 0, evicted: false };
    entry = created;
    // A model that fails to load must not stay cached: the file may be fixed and retried.
    session.catch(() => evict(created));
    while (cache.size >= CACHE_SIZE) {
      const oldest = cache.values().next().value as CacheEntry;
      void evict(oldest);
    }
  } else {
    cache.delete(modelPath);
  }
  cache.set(modelPath, entry);
  entry.users++;
  return entry;
}

function release(entry: CacheEntry): void {
  entry.users--;
  void releaseIfIdle(entry);
}

/** Releases every cached session; one in use by a request is released when that request ends. */
export async function disposeSessions(): Promise<void> {
  await Promise.all([...cache.values()].map(evict));
}

// --- Materialisation --------------------------------------------------------------------------

function product(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

function fmt(shape: readonly (number | string)[]): string {
  return `[${shape.join(', ')}]`;
}

function validateOptions(opts: MaterializeOptions): number {
  const batchSize = opts.batchSize ?? DEFAULT_BATCH_SIZE;
  const bad = (msg: string) => new CnnSlicerError('bad-request', msg, opts.modelPath);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw bad(`batch size ${batchSize} is not a positive integer`);
  if (opts.inputShape.length === 0 || opts.inputShape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw bad(`input shape ${fmt(opts.inputShape)} is not a list of positive integers`);
  }
  if (opts.sampleIndices.length === 0) throw bad('no sample indices given');
  for (const i of opts.sampleIndices) if (!Number.isInteger(i) || i < 0) throw bad(`sample index ${i} is not a non-negative integer`);
  if (opts.outputs.length === 0) throw bad('no outputs requested');
  return batchSize;
}

/** Checks the session against the checkpoint contract before anything is run. */
function validateSession(session: InferenceSession, opts: MaterializeOptions, outputs: readonly string[]): void {
  const file = opts.modelPath;
  if (session.inputNames.length !== 1) {
    throw new CnnSlicerError(
      'model-error',
      `a checkpoint has exactly one input (the probe batch); this model has ${session.inputNames.length}: ${session.inputNames.join(', ')}`,
      file,
    );
  }
  const available = new Set(session.outputNames);
  const missing = outputs.filter((o) => !available.has(o));
  if (missing.length > 0) {
    throw new CnnSlicerError(
      'model-error',
      `the model has no output ${missing.map((m) => `'${m}'`).join(', ')} (its outputs: ${session.outputNames.join(', ')})`,
      file,
    );
  }
  // Metadata lets a wrong input shape or type be reported in the run's own terms rather than as
  // an onnxruntime shape error from deep inside the first operator.
  const meta = session.inputMetadata[0];
  if (meta !== undefined && meta.isTensor) {
    if (meta.type !== 'float32')
      throw new CnnSlicerError('model-error', `the model's input '${meta.name}' is ${meta.type}, a checkpoint's input is float32`, file);
    const shapeMismatch =
      meta.shape.length !== opts.inputShape.length + 1 || meta.shape.slice(1).some((d, k) => typeof d === 'number' && d !== opts.inputShape[k]);
    if (shapeMismatch) {
      throw new CnnSlicerError(
        'model-error',
        `the model's input '${meta.name}' has shape ${fmt(meta.shape)}, the probe inputs are [batch, ${opts.inputShape.join(', ')}]`,
        file,
      );
    }
    if (typeof meta.shape[0] === 'number') {
      throw new CnnSlicerError(
        'model-error',
        `the model's input '${meta.name}' has a fixed batch dimension ${meta.shape[0]}; a checkpoint needs a dynamic one`,
        file,
      );
    }
  }
  for (const m of session.outputMetadata) {
    if (outputs.includes(m.name) && m.isTensor && m.type !== 'float32') {
      throw new CnnSlicerError('model-error', `the model's output '${m.name}' is ${m.type}, activations must be float32`, file);
    }
  }
}

function cancelled(file: string, done: number, total: number): CnnSlicerError {
  return new CnnSlicerError('cancelled', `materialising activations cancelled after ${done} of ${total} samples`, file);
}

/** One batch of a checkpoint run: rows [start, start + count) of `sampleIndices`, each output [count, ...dims]. */
export interface CheckpointBatch {
  readonly start: number;
  readonly count: number;
  readonly total: number;
  /**
   * Per requested output: its per-sample dims and the batch's values. The arrays are onnxruntime's
   * and valid only until the callback's promise settles: copy what must outlive it.
   */
  readonly outputs: ReadonlyMap<string, { readonly dims: readonly number[]; readonly data: Float32Array }>;
}

/**
 * Runs the checkpoint on the given probe samples batch by batch, handing each batch's outputs to
 * `onBatch` before the next batch runs: what a caller that streams the outputs to disk needs, so
 * that memory is one batch whatever the number of samples. Per-sample shapes are checked to be the
 * same in every batch.
 */
export async function runCheckpointBatches(opts: MaterializeOptions, onBatch: (batch: CheckpointBatch) => Promise<void> | void): Promise<void> {
  const batchSize = validateOptions(opts);
  const file = opts.modelPath;
  const outputs = [...new Set(opts.outputs)];
  const total = opts.sampleIndices.length;
  const sampleSize = product(opts.inputShape);
  if (opts.signal?.aborted) throw cancelled(file, 0, total);

  const entry = await acquire(file);
  try {
    const session = await entry.session;
    validateSession(session, opts, outputs);
    const inputName = session.inputNames[0];
    const shapes = new Map<string, readonly number[]>();
    for (let start = 0; start < total; start += batchSize) {
      if (opts.signal?.aborted) throw cancelled(file, start, total);
      const rows = opts.sampleIndices.slice(start, start + batchSize);
      const data = await opts.inputs(rows);
      if (data.length !== rows.length * sampleSize) {
        throw new CnnSlicerError(
          'internal',
          `probe inputs for ${rows.length} samples of shape ${fmt(opts.inputShape)} should hold ${rows.length * sampleSize} values, got ${data.length}`,
          file,
        );
      }
      if (opts.signal?.aborted) throw cancelled(file, start, total);

      let out: InferenceSession.ReturnType;
      try {
        out = await session.run({ [inputName]: makeTensor(data, [rows.length, ...opts.inputShape]) }, outputs);
      } catch (err) {
        throw new CnnSlicerError('model-error', `running the model failed: ${err instanceof Error ? err.message : String(err)}`, file);
      }

      const batch = new Map<string, { dims: readonly number[]; data: Float32Array }>();
      try {
        for (const name of outputs) {
          const t = out[name] as Tensor | undefined;
          if (t === undefined) throw new CnnSlicerError('model-error', `the model did not return output '${name}'`, file);
          if (t.type !== 'float32') throw new CnnSlicerError('model-error', `the model's output '${name}' is ${t.type}, activations must be float32`, file);
          const dims = t.dims;
          if (dims.length === 0 || dims[0] !== rows.length) {
            throw new CnnSlicerError(
              'model-error',
              `output '${name}' has shape ${fmt(dims)} for a batch of ${rows.length}; its first dimension must be the batch`,
              file,
            );
          }
          const perDims = dims.slice(1);
          const seen = shapes.get(name);
          if (seen === undefined) shapes.set(name, perDims);
          else if (seen.length !== perDims.length || perDims.some((d, k) => d !== seen[k])) {
            throw new CnnSlicerError('model-error', `output '${name}' has per-sample shape ${fmt(perDims)} in one batch and ${fmt(seen)} in another`, file);
          }
          batch.set(name, { dims: perDims, data: t.data as Float32Array });
        }
        await onBatch({ start, count: rows.length, total, outputs: batch });
      } finally {
        // Back to onnxruntime's arena, so the next batch reuses the memory.
        for (const name of Object.keys(out)) (out[name] as Tensor).dispose();
      }
      opts.onProgress?.(Math.min(start + batchSize, total), total);
    }
  } finally {
    release(entry);
  }
}

/**
 * Runs the checkpoint on the given probe samples and returns each requested output as one
 * [n, ...per-sample dims] array, rows in the order of `sampleIndices`.
 */
export async function materializeOutputs(opts: MaterializeOptions): Promise<Map<string, MaterializedOutput>> {
  const result = new Map<string, { shape: number[]; data: Float32Array; perSample: number }>();
  await runCheckpointBatches(opts, (batch) => {
    for (const [name, out] of batch.outputs) {
      let acc = result.get(name);
      if (acc === undefined) {
        const perSample = product(out.dims);
        acc = { shape: [batch.total, ...out.dims], data: new Float32Array(batch.total * perSample), perSample };
        result.set(name, acc);
      }
      acc.data.set(out.data, batch.start * acc.perSample);
    }
  });
  return new Map([...result].map(([name, r]) => [name, { shape: r.shape, data: r.data }]));
}

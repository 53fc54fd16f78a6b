// Reads one run: its validated manifest and any slice dCNN(x, l, c, t) of it, streamed from disk.
// Only the bytes a slice needs are read; epochs stored as checkpoints are recomputed on demand.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { CnnSlicerError } from '../../shared/errors';
import type { SampleSelection, SliceParams, SliceResult } from '../../shared/engineProtocol';
import { LOGITS_NAME, PROBE_INPUTS_NAME, PROBE_LABELS_NAME, type EpochEntry, type RunInfo, type RunManifest } from '../../shared/runFormat';
import { ActivationCache, DamagedEntryError, type EpochSource } from '../cache/activationCache';
import { errnoCode, errorText } from '../cache/contentKey';
import { materializeOutputs } from './checkpoint';
import { decodeFloat16 } from '../../core/run/float16';
import { parseManifest } from '../../core/run/manifest';
import { EPOCHS_FOLDER, locateRun, resolveInsideRun } from '../../core/run/runPaths';
import { SafetensorsFile, type SafetensorsDType } from '../../core/run/safetensors';

/** A manifest larger than this is not a manifest. */
const MAX_MANIFEST_BYTES = 64 * 1024 * 1024;
/** How many activation files a reader keeps open between slices. */
const OPEN_FILES = 4;

export interface RunReaderOptions {
  /**
   * Where checkpoint epochs are materialised once and read from (activationCache.ts). Without
   * one, every slice of a checkpoint epoch runs the model for that slice alone.
   */
  readonly activationCache?: ActivationCache;
  /** Where a cache problem that only costs time is reported. */
  readonly log?: (level: 'info' | 'warn' | 'error', message: string) => void;
}

/** Samples per forward pass when a checkpoint runs for a single slice (no activation cache). */
const DIRECT_BATCH_SIZE = 32;

export interface SliceContext {
  readonly signal?: AbortSignal;
  readonly onProgress?: (done: number, total: number) => void;
}

/** The per-sample shape of a slice target and where its values live. */
interface SliceTarget {
  readonly shape: readonly number[];
}

function product(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

function shapesEqual(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Widens raw little-endian tensor bytes to float32. */
export function bytesToFloat32(bytes: Uint8Array, dtype: SafetensorsDType, file: string): Float32Array {
  const size = dtype === 'F32' ? 4 : 2;
  // A slice of a read buffer may start at any byte: copied into an aligned buffer then, and only
  // then (a layer of 1,000 samples × 65,536 values is 131 MB of float16: no copy to spare).
  let aligned = bytes;
  if (bytes.byteOffset % size !== 0) {
    aligned = new Uint8Array(bytes.byteLength);
    aligned.set(bytes);
  }
  if (dtype === 'F32') return new Float32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 4);
  if (dtype === 'F16') return decodeFloat16(new Uint16Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 2));
  throw new CnnSlicerError('corrupt', `tensor has dtype ${dtype}; activations must be F16 or F32`, file);
}

export class RunReader {
  private labelsCache: Int32Array | undefined;
  private probeFile: SafetensorsFile | undefined;
  private readonly openFiles = new Map<string, Promise<SafetensorsFile>>();
  private closed = false;
  private cacheFailed = false;

  private constructor(
    private runInfo: RunInfo,
    /** Real path of the run directory, the root every manifest path must stay under. */
    private readonly realDir: string,
    private readonly manifestFile: string,
    private readonly options: RunReaderOptions,
  ) {}

  static async open(runPathOrManifest: string, options: RunReaderOptions = {}): Promise<RunReader> {
    const { dir, manifest: manifestFile } = await locateRun(runPathOrManifest);
    const realDir = await fs.realpath(dir);
    const stat = await fs.stat(manifestFile);
    if (stat.size > MAX_MANIFEST_BYTES)
      throw new CnnSlicerError('corrupt', `manifest is ${stat.size} bytes, more than the ${MAX_MANIFEST_BYTES} a manifest may have`, manifestFile);
    const manifest = parseManifest(await fs.readFile(manifestFile, 'utf8'), manifestFile);
    const incompleteEpochs = await findIncompleteEpochs(dir, manifest);
    const info: RunInfo = { dir, name: manifest.name ?? path.basename(dir), manifest, incompleteEpochs };
    const reader = new RunReader(info, realDir, manifestFile, options);
    try {
      await reader.checkProbe();
    } catch (err) {
      await reader.close();
      throw err;
    }
    return reader;
  }

  /** The run as last seen; `refreshedInfo` looks at the disk again. */
  get info(): RunInfo {
    return this.runInfo;
  }

  get manifest(): RunManifest {
    return this.runInfo.manifest;
  }

  /**
   * The run info with the epochs being written looked up again: an epoch folder can appear
   * long before the manifest that names it changes, and the manifest is what keys this reader.
   */
  async refreshedInfo(): Promise<RunInfo> {
    const incompleteEpochs = await findIncompleteEpochs(this.runInfo.dir, this.runInfo.manifest);
    this.runInfo = { ...this.runInfo, incompleteEpochs };
    return this.runInfo;
  }

  /** Opens the probe file and checks its tensors against the manifest. */
  private async checkProbe(): Promise<void> {
    const probe = this.manifest.probe;
    const file = await this.openInsideRun(probe.file);
    this.probeFile = file;
    const inputs = file.entry(PROBE_INPUTS_NAME);
    if (inputs.dtype !== 'F32' && inputs.dtype !== 'F16')
      throw new CnnSlicerError('corrupt', `"${PROBE_INPUTS_NAME}" has dtype ${inputs.dtype}; expected F32 or F16`, file.path);
    const expected = [probe.count, ...probe.inputShape];
    if (!shapesEqual(inputs.shape, expected)) {
      throw new CnnSlicerError(
        'corrupt',
        `"${PROBE_INPUTS_NAME}" has shape [${inputs.shape.join(', ')}], the manifest says [${expected.join(', ')}]`,
        file.path,
      );
    }
    const labels = file.entry(PROBE_LABELS_NAME);
    if (labels.dtype !== 'I64' && labels.dtype !== 'I32')
      throw new CnnSlicerError('corrupt', `"${PROBE_LABELS_NAME}" has dtype ${labels.dtype}; expected I64 or I32`, file.path);
    if (!shapesEqual(labels.shape, [probe.count])) {
      throw new CnnSlicerError('corrupt', `"${PROBE_LABELS_NAME}" has shape [${labels.shape.join(', ')}], expected [${probe.count}]`, file.path);
    }
  }

  private async openInsideRun(relative: string): Promise<SafetensorsFile> {
    const abs = await resolveInsideRun(this.realDir, relative, this.manifestFile);
    return SafetensorsFile.open(abs);
  }

  /** The probe labels, validated to lie in 0 … classes − 1. */
  async labels(): Promise<Int32Array> {
    if (this.labelsCache) return this.labelsCache;
    const file = this.requireProbe();
    const raw = await file.readTensor(PROBE_LABELS_NAME);
    const n = this.manifest.probe.count;
    const k = this.manifest.classes.length;
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const v = raw instanceof BigInt64Array ? Number(raw[i]) : (raw as Int32Array)[i];
      if (!Number.isInteger(v) || v < 0 || v >= k) {
        throw new CnnSlicerError('corrupt', `label of probe sample ${i} is ${v}, outside 0 … ${k - 1} (${k} classes)`, file.path);
      }
      labels[i] = v;
    }
    this.labelsCache = labels;
    return labels;
  }

  /** Probe inputs of the given samples, concatenated, as float32. */
  async probeInputs(rows: readonly number[]): Promise<Float32Array> {
    const file = this.requireProbe();
    const entry = file.entry(PROBE_INPUTS_NAME);
    const bytes = await file.readRows(PROBE_INPUTS_NAME, rows, 0, product(this.manifest.probe.inputShape));
    return bytesToFloat32(bytes, entry.dtype, file.path);
  }

  private requireProbe(): SafetensorsFile {
    if (this.closed || !this.probeFile) throw new CnnSlicerError('internal', 'the run reader is closed', this.info.dir);
    return this.probeFile;
  }

  /** Turns the paper's x into probe indices, checking every index. */
  async resolveSamples(samples: SampleSelection): Promise<Int32Array> {
    const n = this.manifest.probe.count;
    switch (samples.kind) {
      case 'all':
        return Int32Array.from({ length: n }, (_, i) => i);
      case 'class': {
        const k = this.manifest.classes.length;
        if (!Number.isInteger(samples.classIndex) || samples.classIndex < 0 || samples.classIndex >= k) {
          throw new CnnSlicerError('bad-request', `class ${samples.classIndex} does not exist (the run has ${k} classes)`);
        }
        const labels = await this.labels();
        const out: number[] = [];
        labels.forEach((label, i) => {
          if (label === samples.classIndex) out.push(i);
        });
        return Int32Array.from(out);
      }
      case 'indices': {
        for (const i of samples.indices) {
          if (!Number.isInteger(i) || i < 0 || i >= n)
            throw new CnnSlicerError('bad-request', `probe sample ${i} does not exist (the probe set has ${n} samples)`);
        }
        return Int32Array.from(samples.indices);
      }
    }
  }

  epochEntry(epoch: number): EpochEntry {
    const entry = this.manifest.epochs.find((e) => e.epoch === epoch);
    if (entry) return entry;
    if (this.info.incompleteEpochs.includes(epoch)) {
      throw new CnnSlicerError('incomplete', `epoch ${epoch} is still being written`, this.info.dir);
    }
    const known = this.manifest.epochs.map((e) => e.epoch);
    throw new CnnSlicerError('bad-request', `epoch ${epoch} is not in the run (epochs: ${known.length > 0 ? known.join(', ') : 'none yet'})`, this.info.dir);
  }

  /**
   * Real paths of the files a slice of these layers at this epoch is read from: the probe set
   * (inputs and labels), plus the epoch's activations or, when it has none, its checkpoint.
   * Results computed from a slice depend on these files and nothing else.
   */
  async dependencyFiles(layers: readonly string[], epoch: number): Promise<string[]> {
    const files = [await resolveInsideRun(this.realDir, this.manifest.probe.file, this.manifestFile)];
    if (layers.some((l) => l !== 'input')) {
      const entry = this.epochEntry(epoch);
      const relative = entry.activations ?? entry.checkpoint;
      if (relative !== undefined) files.push(await resolveInsideRun(this.realDir, relative, this.manifestFile));
    }
    return files;
  }

  /** The per-sample shape of a layer name, including the pseudo-layers `input` and `logits`. */
  private target(layer: string): SliceTarget {
    if (layer === 'input') return { shape: this.manifest.probe.inputShape };
    if (layer === LOGITS_NAME) return { shape: [this.manifest.classes.length] };
    const info = this.manifest.layers.find((l) => l.name === layer);
    if (!info) throw new CnnSlicerError('bad-request', `layer "${layer}" is not in the run (layers: ${this.manifest.layers.map((l) => l.name).join(', ')})`);
    return { shape: info.shape };
  }

  /** dCNN(x, l, c, t): the activations of a set of samples at one layer, one channel or all, one epoch. */
  async slice(params: Omit<SliceParams, 'run'> & { run?: string }, ctx: SliceContext = {}): Promise<SliceResult> {
    const target = this.target(params.layer);
    const channelCount = target.shape[0];
    const perChannel = product(target.shape.slice(1));
    let elemStart = 0;
    let elemCount = product(target.shape);
    let outSample: readonly number[] = target.shape;
    if (params.channel !== 'all') {
      const c = params.channel;
      if (!Number.isInteger(c) || c < 0 || c >= channelCount) {
        throw new CnnSlicerError('bad-request', `channel ${c} does not exist in "${params.layer}" (it has ${channelCount})`);
      }
      elemStart = c * perChannel;
      elemCount = perChannel;
      outSample = target.shape.length === 1 ? [1] : [1, ...target.shape.slice(1)];
    }
    const rows = await this.resolveSamples(params.samples);
    const shape = [rows.length, ...outSample];
    const rowList = Array.from(rows);

    if (params.layer === 'input') {
      const all = await this.probeInputs(rowList);
      return { shape, data: pickElements(all, rows.length, product(target.shape), elemStart, elemCount), sampleIndices: rows, source: 'probe' };
    }

    const entry = this.epochEntry(params.epoch);
    // A class with no probe sample is a valid, empty slice; nothing needs reading or running.
    if (rows.length === 0)
      return { shape, data: new Float32Array(0), sampleIndices: rows, source: entry.activations !== undefined ? 'activations' : 'checkpoint' };
    if (entry.activations !== undefined) {
      const file = await this.activationsFile(entry.activations);
      const tensor = file.entry(params.layer);
      const expectedDtype = entry.dtype === 'float16' ? 'F16' : 'F32';
      if (tensor.dtype !== expectedDtype) {
        throw new CnnSlicerError('corrupt', `"${params.layer}" has dtype ${tensor.dtype}, the manifest says ${entry.dtype ?? 'float32'}`, file.path);
      }
      const expected = [this.manifest.probe.count, ...target.shape];
      if (!shapesEqual(tensor.shape, expected)) {
        throw new CnnSlicerError('corrupt', `"${params.layer}" has shape [${tensor.shape.join(', ')}], expected [${expected.join(', ')}]`, file.path);
      }
      if (ctx.signal?.aborted) throw new CnnSlicerError('cancelled', 'the request was cancelled');
      const bytes = await file.readRows(params.layer, rowList, elemStart, elemCount);
      ctx.onProgress?.(rows.length, rows.length);
      return { shape, data: bytesToFloat32(bytes, tensor.dtype, file.path), sampleIndices: rows, source: 'activations' };
    }

    const checkpoint = entry.checkpoint;
    if (checkpoint === undefined)
      throw new CnnSlicerError('invalid-manifest', `epoch ${entry.epoch} has neither activations nor a checkpoint`, this.manifestFile);
    const modelPath = await resolveInsideRun(this.realDir, checkpoint, this.manifestFile);
    const cache = this.options.activationCache;
    if (cache !== undefined && !this.cacheFailed) {
      try {
        const data = await this.sliceFromCache(cache, entry.epoch, modelPath, params.layer, rowList, elemStart, elemCount, ctx);
        return { shape, data, sampleIndices: rows, source: 'checkpoint' };
      } catch (err) {
        // A cache that cannot be written (full disk, read-only folder) costs time, never a result.
        const code = errnoCode(err);
        if (code === undefined || err instanceof CnnSlicerError) throw err;
        this.cacheFailed = true;
        this.options.log?.(
          'warn',
          `the activation cache in ${cache.dir} cannot be used (${errorText(err)}); checkpoint epochs of ${this.info.name} are recomputed per slice`,
        );
      }
    }
    const outputs = await materializeOutputs({
      modelPath,
      inputs: (r) => this.probeInputs(r),
      inputShape: this.manifest.probe.inputShape,
      sampleIndices: rowList,
      outputs: [params.layer],
      batchSize: DIRECT_BATCH_SIZE,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      ...(ctx.onProgress ? { onProgress: ctx.onProgress } : {}),
    });
    const out = outputs.get(params.layer);
    if (!out) throw new CnnSlicerError('model-error', `the checkpoint returned no "${params.layer}" output`, modelPath);
    const perSample = product(out.shape.slice(1));
    if (perSample !== product(target.shape)) {
      throw new CnnSlicerError(
        'model-error',
        `output "${params.layer}" has ${perSample} values per sample, the manifest says [${target.shape.join(', ')}]`,
        modelPath,
      );
    }
    return { shape, data: pickElements(out.data, rows.length, perSample, elemStart, elemCount), sampleIndices: rows, source: 'checkpoint' };
  }

  /**
   * Whether an epoch's layers are read from a checkpoint through the activation cache, so that
   * its first slice runs the model over the whole probe set (what `prepareEpoch` does up front).
   */
  needsMaterializing(epoch: number): boolean {
    const entry = this.epochEntry(epoch);
    return entry.activations === undefined && entry.checkpoint !== undefined && this.options.activationCache !== undefined && !this.cacheFailed;
  }

  /**
   * Makes sure a checkpoint epoch's activation cache entry exists (runs the model once over the
   * probe set if not), so that a long job can show that step as its own. Nothing to do for an
   * epoch stored as activations, or without an activation cache.
   */
  async prepareEpoch(epoch: number, ctx: SliceContext = {}): Promise<{ computed: boolean }> {
    const cache = this.options.activationCache;
    if (!this.needsMaterializing(epoch) || cache === undefined) return { computed: false };
    const present = await cache.has(this.epochSource(await this.checkpointPath(epoch)), await this.probePath());
    // The logits are the cheapest slice to read once the entry is there.
    await this.slice({ samples: { kind: 'indices', indices: [0] }, layer: LOGITS_NAME, channel: 'all', epoch }, ctx);
    return { computed: !present };
  }

  private async checkpointPath(epoch: number): Promise<string> {
    const checkpoint = this.epochEntry(epoch).checkpoint;
    if (checkpoint === undefined) throw new CnnSlicerError('internal', `epoch ${epoch} has no checkpoint`, this.manifestFile);
    return resolveInsideRun(this.realDir, checkpoint, this.manifestFile);
  }

  private probePath(): Promise<string> {
    return resolveInsideRun(this.realDir, this.manifest.probe.file, this.manifestFile);
  }

  /** What the activation cache needs to know of a checkpoint epoch. */
  private epochSource(modelPath: string): EpochSource {
    const m = this.manifest;
    const outputs = [...m.layers.map((l) => ({ name: l.name, shape: l.shape })), { name: LOGITS_NAME, shape: [m.classes.length] }];
    return { modelPath, inputShape: m.probe.inputShape, count: m.probe.count, outputs, inputs: (r) => this.probeInputs(r) };
  }

  /**
   * Rows of a layer at a checkpoint epoch, read from the epoch's activation cache entry (computed
   * first if needed). A damaged entry is deleted by the check and computed once more.
   */
  private async sliceFromCache(
    cache: ActivationCache,
    epoch: number,
    modelPath: string,
    layer: string,
    rows: readonly number[],
    elemStart: number,
    elemCount: number,
    ctx: SliceContext,
  ): Promise<Float32Array> {
    for (let attempt = 0; ; attempt++) {
      const key = `cache:${epoch}`;
      // Not opened through openCached's shared promise: each query waits on the cache with its own
      // signal and progress, and the cache shares the computation while any of them still wants it.
      let file: SafetensorsFile;
      const kept = this.openFiles.get(key);
      if (kept !== undefined) file = await kept;
      else {
        const opened = await this.openCacheEntry(cache, modelPath, ctx);
        const raced = this.openFiles.get(key);
        if (raced !== undefined) {
          await opened.close();
          file = await raced;
        } else file = await this.openCached(key, () => Promise.resolve(opened));
      }
      try {
        await cache.verify(file, layer);
        if (ctx.signal?.aborted) throw new CnnSlicerError('cancelled', 'the request was cancelled');
        const bytes = await file.readRows(layer, rows, elemStart, elemCount);
        return bytesToFloat32(bytes, file.entry(layer).dtype, file.path);
      } catch (err) {
        if (!(err instanceof DamagedEntryError) || attempt > 0) throw err;
        this.forget(key);
      }
    }
  }

  private async openCacheEntry(cache: ActivationCache, modelPath: string, ctx: SliceContext): Promise<SafetensorsFile> {
    return cache.open(this.epochSource(modelPath), await this.probePath(), {
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      ...(ctx.onProgress ? { onProgress: ctx.onProgress } : {}),
    });
  }

  private activationsFile(relative: string): Promise<SafetensorsFile> {
    return this.openCached(relative, () => this.openInsideRun(relative));
  }

  /** An open file from the reader's few kept open, opened with `open` when it is not among them. */
  private openCached(key: string, open: () => Promise<SafetensorsFile>): Promise<SafetensorsFile> {
    let file = this.openFiles.get(key);
    if (!file) {
      file = open();
      // Failed opens are not cached: the next slice retries and reports the error again.
      file.catch(() => {
        if (this.openFiles.get(key) === file) this.openFiles.delete(key);
      });
      this.openFiles.set(key, file);
      if (this.openFiles.size > OPEN_FILES) {
        const [oldest, oldFile] = this.openFiles.entries().next().value as [string, Promise<SafetensorsFile>];
        this.openFiles.delete(oldest);
        retire(oldFile);
      }
    } else {
      // Refresh its place in the LRU order.
      this.openFiles.delete(key);
      this.openFiles.set(key, file);
    }
    return file;
  }

  private forget(key: string): void {
    const file = this.openFiles.get(key);
    this.openFiles.delete(key);
    if (file) retire(file);
  }

  async close(): Promise<void> {
    this.closed = true;
    const files = [...this.openFiles.values()];
    this.openFiles.clear();
    await Promise.all(files.map((f) => f.then((x) => x.close()).catch(() => undefined)));
    await this.probeFile?.close();
    this.probeFile = undefined;
  }
}

/** Closes a file no longer kept open, later, so that a slice still reading from it can finish. */
function retire(file: Promise<SafetensorsFile>): void {
  setTimeout(() => file.then((f) => f.close()).catch(() => undefined), 30_000).unref();
}

/** Takes elements [start, start+count) of each row of a rows×rowSize array. */
function pickElements(all: Float32Array, rows: number, rowSize: number, start: number, count: number): Float32Array {
  if (start === 0 && count === rowSize) return all;
  const out = new Float32Array(rows * count);
  for (let r = 0; r < rows; r++) out.set(all.subarray(r * rowSize + start, r * rowSize + start + count), r * count);
  return out;
}

/**
 * Epochs whose folder is on disk but which the manifest does not name yet: they are being
 * written (or their writer died before publishing them), so they are reported, never read.
 */
async function findIncompleteEpochs(dir: string, manifest: RunManifest): Promise<number[]> {
  const listed = new Set(manifest.epochs.map((e) => e.epoch));
  const found = new Set<number>();
  let entries: string[] = [];
  try {
    entries = await fs.readdir(path.join(dir, EPOCHS_FOLDER));
  } catch {
    return [];
  }
  for (const name of entries) {
    const m = /^epoch-(\d+)$/.exec(name);
    if (m && !listed.has(Number(m[1]))) found.add(Number(m[1]));
  }
  return [...found].sort((a, b) => a - b);
}

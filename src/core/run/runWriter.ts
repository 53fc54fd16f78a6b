// Writes a run in the format of docs/run-format.md, following its atomic-writing rules: every
// file goes through a temp name and a rename, and the manifest is rewritten last, naming only
// complete files. Used by the built-in trainers, the ONNX importer, tests and set-up scripts.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { CnnSlicerError } from '../../shared/errors';
import {
  LOGITS_NAME,
  MANIFEST_FILE,
  PROBE_INPUTS_NAME,
  PROBE_LABELS_NAME,
  RUN_FORMAT_NAME,
  RUN_FORMAT_VERSION,
  type EpochEntry,
  type EpochMetrics,
  type LayerInfo,
  type RunManifest,
  type TensorDType,
} from '../../shared/runFormat';
import { writeFileAtomic } from './atomicWrite';
import { encodeFloat16 } from './float16';
import { validateManifest } from './manifest';
import { EPOCHS_FOLDER, epochFolderName } from './runPaths';
import { writeSafetensors, type TensorToWrite } from './safetensorsWrite';

export const PROBE_FILE = 'probe.safetensors';
export const ACTIVATIONS_FILE = 'activations.safetensors';
export const CHECKPOINT_FILE = 'model.onnx';

export interface RunWriterOptions {
  readonly name?: string;
  readonly model: { readonly name?: string; readonly framework?: string };
  readonly layers: readonly LayerInfo[];
  readonly classes: readonly string[];
  readonly probe: {
    /** N × prod(inputShape) values, row-major. */
    readonly inputs: Float32Array;
    readonly inputShape: readonly number[];
    readonly labels: Int32Array | readonly number[];
    readonly description?: string;
  };
  /** Replace a run already in `dir`. Without it, an existing run is refused: a writer never rewrites files a manifest names. */
  readonly overwrite?: boolean;
}

export interface EpochData {
  readonly metrics: Readonly<Record<string, number | undefined>>;
  /** Layer name → N × prod(layer.shape) values. Every recorded layer must be present. */
  readonly activations?: ReadonlyMap<string, Float32Array>;
  /** N × classes values; required with activations. */
  readonly logits?: Float32Array;
  /** Element type to store activations in; float32 by default. */
  readonly dtype?: TensorDType;
  /** ONNX checkpoint bytes, or the path of an .onnx file to copy. */
  readonly checkpoint?: Uint8Array | string;
}

function product(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/** JSON has no NaN or Infinity: a metric that is not finite is written as null (read back as absent). */
function manifestJson(manifest: RunManifest): string {
  return JSON.stringify(manifest, (_key, value) => (typeof value === 'number' && !Number.isFinite(value) ? null : value), 2) + '\n';
}

export class RunWriter {
  private manifest: RunManifest;

  private constructor(
    readonly dir: string,
    manifest: RunManifest,
  ) {
    this.manifest = manifest;
  }

  /** Creates the run directory, writes the probe set and a manifest with no epochs yet. */
  static async create(dir: string, options: RunWriterOptions): Promise<RunWriter> {
    const abs = path.resolve(dir);
    const n = options.probe.labels.length;
    const perSample = product(options.probe.inputShape);
    if (options.probe.inputs.length !== n * perSample) {
      throw new CnnSlicerError(
        'bad-request',
        `probe inputs hold ${options.probe.inputs.length} values; ${n} samples of [${options.probe.inputShape.join(', ')}] need ${n * perSample}`,
        abs,
      );
    }
    for (const label of options.probe.labels) {
      if (!Number.isInteger(label) || label < 0 || label >= options.classes.length) {
        throw new CnnSlicerError('bad-request', `probe label ${label} is outside 0 … ${options.classes.length - 1}`, abs);
      }
    }
    const manifest = validateManifest(
      {
        format: RUN_FORMAT_NAME,
        version: RUN_FORMAT_VERSION,
        ...(options.name !== undefined ? { name: options.name } : {}),
        createdAt: new Date().toISOString(),
        model: options.model,
        layers: options.layers,
        classes: options.classes,
        probe: {
          file: PROBE_FILE,
          count: n,
          inputShape: options.probe.inputShape,
          ...(options.probe.description !== undefined ? { description: options.probe.description } : {}),
        },
        epochs: [],
        complete: false,
      },
      path.join(abs, MANIFEST_FILE),
    );
    const existing = await fs.stat(path.join(abs, MANIFEST_FILE)).catch(() => undefined);
    if (existing) {
      if (!options.overwrite) throw new CnnSlicerError('bad-request', 'the folder already holds a run; choose another folder or pass overwrite', abs);
      await fs.rm(abs, { recursive: true, force: true });
    }
    await fs.mkdir(abs, { recursive: true });
    const labels = BigInt64Array.from(Array.from(options.probe.labels, (l) => BigInt(l)));
    await writeSafetensors(path.join(abs, PROBE_FILE), [
      { name: PROBE_INPUTS_NAME, dtype: 'F32', shape: [n, ...options.probe.inputShape], data: options.probe.inputs },
      { name: PROBE_LABELS_NAME, dtype: 'I64', shape: [n], data: labels },
    ]);
    const writer = new RunWriter(abs, manifest);
    await writer.publish();
    return writer;
  }

  get current(): RunManifest {
    return this.manifest;
  }

  /** Writes one finished epoch's files, then publishes the manifest that names them. */
  async writeEpoch(epoch: number, data: EpochData): Promise<void> {
    // Everything is checked and gathered before the first byte is written, so a refused call
    // leaves no epoch folder behind (a reader would report it as an epoch being written).
    const last = this.manifest.epochs.at(-1);
    if (this.manifest.complete) throw new CnnSlicerError('bad-request', `the run is finished; epoch ${epoch} cannot be added`, this.dir);
    if (!Number.isSafeInteger(epoch) || epoch < 0) throw new CnnSlicerError('bad-request', `epoch ${epoch} must be an integer ≥ 0`, this.dir);
    if (last && epoch <= last.epoch) throw new CnnSlicerError('bad-request', `epoch ${epoch} does not follow epoch ${last.epoch}`, this.dir);
    if (!data.activations && data.checkpoint === undefined)
      throw new CnnSlicerError('bad-request', `epoch ${epoch} needs activations or a checkpoint`, this.dir);
    if (!data.activations && data.logits)
      throw new CnnSlicerError('bad-request', `epoch ${epoch}: logits are stored with the activations; pass both`, this.dir);
    const dtype = data.dtype ?? 'float32';
    const tensors = data.activations ? this.activationTensors(epoch, data.activations, data.logits, dtype) : undefined;
    const checkpoint = typeof data.checkpoint === 'string' ? await fs.readFile(data.checkpoint) : data.checkpoint;

    const folder = `${EPOCHS_FOLDER}/${epochFolderName(epoch)}`;
    await fs.mkdir(path.join(this.dir, folder), { recursive: true });
    let entry: EpochEntry = { epoch, metrics: data.metrics as EpochMetrics };
    if (tensors) {
      await writeSafetensors(path.join(this.dir, folder, ACTIVATIONS_FILE), tensors, { format: RUN_FORMAT_NAME, epoch: String(epoch) });
      entry = { ...entry, activations: `${folder}/${ACTIVATIONS_FILE}`, dtype };
    }
    if (checkpoint !== undefined) {
      await writeFileAtomic(path.join(this.dir, folder, CHECKPOINT_FILE), checkpoint);
      entry = { ...entry, checkpoint: `${folder}/${CHECKPOINT_FILE}` };
    }
    this.manifest = { ...this.manifest, epochs: [...this.manifest.epochs, entry] };
    await this.publish();
  }

  private activationTensors(
    epoch: number,
    activations: ReadonlyMap<string, Float32Array>,
    logits: Float32Array | undefined,
    dtype: TensorDType,
  ): TensorToWrite[] {
    const n = this.manifest.probe.count;
    const wanted: { name: string; shape: readonly number[]; data: Float32Array | undefined }[] = [
      ...this.manifest.layers.map((l) => ({ name: l.name, shape: l.shape, data: activations.get(l.name) })),
      { name: LOGITS_NAME, shape: [this.manifest.classes.length], data: logits },
    ];
    for (const name of activations.keys()) {
      if (!this.manifest.layers.some((l) => l.name === name))
        throw new CnnSlicerError('bad-request', `epoch ${epoch}: "${name}" is not a recorded layer`, this.dir);
    }
    return wanted.map(({ name, shape, data }) => {
      if (!data) throw new CnnSlicerError('bad-request', `epoch ${epoch}: no activations for "${name}"`, this.dir);
      const full = [n, ...shape];
      if (data.length !== product(full))
        throw new CnnSlicerError('bad-request', `epoch ${epoch}: "${name}" has ${data.length} values, [${full.join(', ')}] needs ${product(full)}`, this.dir);
      return dtype === 'float16' ? { name, dtype: 'F16', shape: full, data: encodeFloat16(data) } : { name, dtype: 'F32', shape: full, data };
    });
  }

  /** Marks the run finished: readers stop treating it as live. */
  async finish(): Promise<void> {
    this.manifest = { ...this.manifest, complete: true };
    await this.publish();
  }

  private async publish(): Promise<void> {
    await writeFileAtomic(path.join(this.dir, MANIFEST_FILE), manifestJson(this.manifest));
  }
}

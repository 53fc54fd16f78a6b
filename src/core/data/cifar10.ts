// CIFAR-10 in its standard "binary version" (cifar-10-batches-bin): data_batch_1…5.bin and
// test_batch.bin, each a plain sequence of records of 1 label byte + 3072 pixel bytes (1024 red,
// 1024 green, 1024 blue, each a 32×32 row-major plane). The files carry no header, so the only
// integrity check available is the length: a truncated download would otherwise shift every
// later record by a few bytes and read as noise with plausible labels.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CnnSlicerError } from '../../shared/errors';

export const CIFAR_CHANNELS = 3;
export const CIFAR_SIZE = 32;
export const CIFAR_PIXELS = CIFAR_CHANNELS * CIFAR_SIZE * CIFAR_SIZE;
export const CIFAR_RECORD_BYTES = 1 + CIFAR_PIXELS;
export const CIFAR_CLASSES = 10;
export const CIFAR_CLASS_NAMES: readonly string[] = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

export type CifarSplitName = 'train' | 'test';

const FILES: Record<CifarSplitName, readonly string[]> = {
  train: ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'],
  test: ['test_batch.bin'],
};
const META_FILE = 'batches.meta.txt';

export interface Cifar10Split {
  readonly count: number;
  readonly labels: Uint8Array;
  /** count × 3 × 32 × 32 bytes, channel-major per image, exactly as stored. */
  readonly pixels: Uint8Array;
  readonly classNames: readonly string[];
  readonly files: readonly string[];
}

async function readWhole(file: string): Promise<Uint8Array | undefined> {
  try {
    return await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new CnnSlicerError('corrupt', `cannot read: ${err instanceof Error ? err.message : String(err)}`, file);
  }
}

/** Checks one batch file and returns its records' labels and pixels. */
export function parseCifarBatch(bytes: Uint8Array, file: string): { labels: Uint8Array; pixels: Uint8Array } {
  if (bytes.length === 0) throw new CnnSlicerError('corrupt', 'the CIFAR-10 batch file is empty', file);
  if (bytes.length % CIFAR_RECORD_BYTES !== 0) {
    const whole = Math.floor(bytes.length / CIFAR_RECORD_BYTES);
    throw new CnnSlicerError(
      'corrupt',
      `the file has ${bytes.length} bytes, not a multiple of the ${CIFAR_RECORD_BYTES}-byte CIFAR-10 record (1 label + 3072 pixels): ${whole} whole records and ${bytes.length - whole * CIFAR_RECORD_BYTES} bytes left over — truncated, or not a CIFAR-10 binary batch`,
      file,
    );
  }
  const count = bytes.length / CIFAR_RECORD_BYTES;
  const labels = new Uint8Array(count);
  const pixels = new Uint8Array(count * CIFAR_PIXELS);
  for (let i = 0; i < count; i++) {
    const at = i * CIFAR_RECORD_BYTES;
    const label = bytes[at];
    if (label >= CIFAR_CLASSES) throw new CnnSlicerError('corrupt', `record ${i} (byte ${at}) has label ${label}, not a class 0…${CIFAR_CLASSES - 1}`, file);
    labels[i] = label;
    pixels.set(bytes.subarray(at + 1, at + CIFAR_RECORD_BYTES), i * CIFAR_PIXELS);
  }
  return { labels, pixels };
}

/** batches.meta.txt holds one class name per line (with a trailing blank line in the official archive). */
function parseMeta(text: string, file: string): string[] {
  const names = text
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (names.length !== CIFAR_CLASSES) throw new CnnSlicerError('corrupt', `lists ${names.length} class names; CIFAR-10 has ${CIFAR_CLASSES}`, file);
  if (new Set(names).size !== names.length) throw new CnnSlicerError('corrupt', 'lists a class name twice', file);
  return names;
}

/** Loads one split of the binary CIFAR-10 from `dir` (the cifar-10-batches-bin folder). */
export async function loadCifar10(dir: string, split: CifarSplitName): Promise<Cifar10Split> {
  const names = FILES[split];
  if (names === undefined) throw new CnnSlicerError('bad-request', `unknown CIFAR-10 split "${String(split)}" (train or test)`);
  const files = names.map((n) => join(dir, n));
  const contents = await Promise.all(files.map(readWhole));
  const missing = files.filter((_, i) => contents[i] === undefined);
  if (missing.length > 0) {
    throw new CnnSlicerError(
      'not-found',
      `the CIFAR-10 ${split} split needs ${names.join(', ')}; missing: ${missing.map((m) => m.slice(dir.length + 1)).join(', ')}`,
      missing[0],
    );
  }
  const parts = contents.map((bytes, i) => parseCifarBatch(bytes!, files[i]));
  const count = parts.reduce((a, p) => a + p.labels.length, 0);
  const labels = new Uint8Array(count);
  const pixels = new Uint8Array(count * CIFAR_PIXELS);
  let at = 0;
  for (const p of parts) {
    labels.set(p.labels, at);
    pixels.set(p.pixels, at * CIFAR_PIXELS);
    at += p.labels.length;
  }
  const metaFile = join(dir, META_FILE);
  const meta = await readWhole(metaFile);
  const classNames = meta === undefined ? CIFAR_CLASS_NAMES : parseMeta(new TextDecoder().decode(meta), metaFile);
  return { count, labels, pixels, classNames, files };
}

/**
 * The chosen images as [n, 3, 32, 32] floats: each byte / 255, then, when given, (v − mean[c]) /
 * std[c] per channel (the normalisation most CIFAR models were trained with).
 */
export function cifarAsFloat32(
  split: Pick<Cifar10Split, 'count' | 'pixels'>,
  indices: ArrayLike<number>,
  mean?: readonly number[],
  std?: readonly number[],
): Float32Array {
  return normalizedBytes(split.pixels, split.count, [CIFAR_CHANNELS, CIFAR_SIZE * CIFAR_SIZE], indices, mean, std);
}

/**
 * Shared by every image reader: rows of `channels × plane` bytes → floats in [0, 1], optionally
 * standardised per channel. mean/std of length 1 apply to every channel.
 */
export function normalizedBytes(
  pixels: Uint8Array,
  count: number,
  [channels, plane]: readonly [number, number],
  indices: ArrayLike<number>,
  mean?: readonly number[],
  std?: readonly number[],
): Float32Array {
  const check = (what: string, v: readonly number[] | undefined): void => {
    if (v === undefined) return;
    if (v.length !== 1 && v.length !== channels)
      throw new CnnSlicerError('bad-request', `${what} has ${v.length} values; give 1 or one per channel (${channels})`);
    if (v.some((x) => !Number.isFinite(x) || (what === 'std' && x <= 0)))
      throw new CnnSlicerError('bad-request', `${what} [${v.join(', ')}] must hold finite numbers${what === 'std' ? ' > 0' : ''}`);
  };
  check('mean', mean);
  check('std', std);
  const size = channels * plane;
  const out = new Float32Array(indices.length * size);
  for (let r = 0; r < indices.length; r++) {
    const i = indices[r];
    if (!Number.isInteger(i) || i < 0 || i >= count) throw new CnnSlicerError('bad-request', `image index ${i} is outside 0…${count - 1}`);
    for (let c = 0; c < channels; c++) {
      const m = mean === undefined ? 0 : mean.length === 1 ? mean[0] : mean[c];
      const s = std === undefined ? 1 : std.length === 1 ? std[0] : std[c];
      const src = i * size + c * plane;
      const dst = r * size + c * plane;
      for (let p = 0; p < plane; p++) out[dst + p] = (pixels[src + p] / 255 - m) / s;
    }
  }
  return out;
}

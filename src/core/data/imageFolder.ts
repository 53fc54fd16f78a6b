// A labelled image dataset as a folder with one sub-folder per class (the torchvision
// ImageFolder layout): <dir>/<class>/<image>.png|.pgm|.ppm. Classes are the sub-folder names in
// sorted order, as torchvision numbers them, so a model trained with ImageFolder gets the same
// label indices here. Decoding is built in (node:zlib for PNG's deflate) to avoid a native or
// large image dependency; formats outside the small supported set are refused by name rather
// than decoded wrongly.
import { readdir, readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { CnnSlicerError } from '../../shared/errors';
import { normalizedBytes } from './cifar10';

export const IMAGE_EXTENSIONS = ['.png', '.pgm', '.ppm'] as const;

export interface DecodedImage {
  readonly width: number;
  readonly height: number;
  /** 1 (grey) or 3 (RGB); an alpha channel is dropped. */
  readonly channels: 1 | 3;
  /** channels × height × width bytes, channel-major (planar), like the model inputs. */
  readonly planes: Uint8Array;
}

export interface ImageFolderDataset {
  readonly count: number;
  readonly labels: Uint8Array;
  /** count × channels × height × width bytes. */
  readonly pixels: Uint8Array;
  readonly channels: 1 | 3;
  readonly height: number;
  readonly width: number;
  readonly classNames: readonly string[];
  readonly files: readonly string[];
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** Keeps a corrupt header from asking for gigabytes. */
const MAX_PIXELS = 64 * 1024 * 1024;

function corrupt(file: string, message: string): CnnSlicerError {
  return new CnnSlicerError('corrupt', message, file);
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Decodes an 8-bit, non-interlaced grey, grey+alpha, RGB or RGBA PNG. */
export function decodePng(bytes: Uint8Array, file: string): DecodedImage {
  if (bytes.length < 8 || PNG_SIGNATURE.some((b, i) => bytes[i] !== b)) throw corrupt(file, 'not a PNG file (bad signature)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 8;
  let header: { width: number; height: number; depth: number; colorType: number; interlace: number } | undefined;
  const idat: Uint8Array[] = [];
  let ended = false;
  while (at < bytes.length) {
    if (at + 12 > bytes.length) throw corrupt(file, `truncated PNG: a chunk header at byte ${at} runs past the end`);
    const length = view.getUint32(at);
    const type = String.fromCharCode(bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]);
    const dataStart = at + 8;
    if (dataStart + length + 4 > bytes.length)
      throw corrupt(file, `truncated PNG: chunk ${type} of ${length} bytes at byte ${at} runs past the end of the file`);
    const data = bytes.subarray(dataStart, dataStart + length);
    if (type === 'IHDR') {
      if (length !== 13) throw corrupt(file, `PNG IHDR chunk has ${length} bytes, not 13`);
      const d = new DataView(data.buffer, data.byteOffset, data.byteLength);
      header = { width: d.getUint32(0), height: d.getUint32(4), depth: data[8], colorType: data[9], interlace: data[12] };
    } else if (type === 'IDAT') {
      idat.push(data);
    } else if (type === 'IEND') {
      ended = true;
      break;
    }
    at = dataStart + length + 4;
  }
  if (header === undefined) throw corrupt(file, 'PNG has no IHDR chunk');
  if (!ended) throw corrupt(file, 'truncated PNG: no IEND chunk');
  const { width, height, depth, colorType, interlace } = header;
  const samplesPerPixel = ({ 0: 1, 2: 3, 4: 2, 6: 4 } as Record<number, number | undefined>)[colorType];
  if (samplesPerPixel === undefined) {
    const what = colorType === 3 ? 'palette (indexed-colour)' : `colour type ${colorType}`;
    throw corrupt(file, `${what} PNGs are not supported; save it as 8-bit greyscale, RGB or RGBA`);
  }
  if (depth !== 8) throw corrupt(file, `${depth}-bit PNGs are not supported; save it with 8 bits per channel`);
  if (interlace !== 0) throw corrupt(file, 'interlaced (Adam7) PNGs are not supported; save it non-interlaced');
  if (width === 0 || height === 0 || width * height > MAX_PIXELS) throw corrupt(file, `PNG of ${width} × ${height} pixels`);

  let raw: Uint8Array;
  try {
    raw = inflateSync(Buffer.concat(idat));
  } catch (err) {
    throw corrupt(file, `PNG image data does not inflate: ${err instanceof Error ? err.message : String(err)}`);
  }
  const stride = width * samplesPerPixel;
  if (raw.length !== height * (stride + 1))
    throw corrupt(file, `PNG image data holds ${raw.length} bytes, a ${width} × ${height} image needs ${height * (stride + 1)}`);

  // Undo the per-row filters in place, into a buffer without the filter bytes.
  const px = new Uint8Array(height * stride);
  const bpp = samplesPerPixel;
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const src = y * (stride + 1) + 1;
    const dst = y * stride;
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? px[dst + x - bpp] : 0;
      const b = y > 0 ? px[dst - stride + x] : 0;
      const c = x >= bpp && y > 0 ? px[dst - stride + x - bpp] : 0;
      const v = raw[src + x];
      let out: number;
      switch (filter) {
        case 0:
          out = v;
          break;
        case 1:
          out = v + a;
          break;
        case 2:
          out = v + b;
          break;
        case 3:
          out = v + ((a + b) >> 1);
          break;
        case 4:
          out = v + paeth(a, b, c);
          break;
        default:
          throw corrupt(file, `PNG row ${y} has unknown filter type ${filter}`);
      }
      px[dst + x] = out & 0xff;
    }
  }
  const channels: 1 | 3 = samplesPerPixel <= 2 ? 1 : 3;
  return { width, height, channels, planes: toPlanar(px, width * height, samplesPerPixel, channels) };
}

function toPlanar(interleaved: Uint8Array, plane: number, step: number, channels: number): Uint8Array {
  const out = new Uint8Array(plane * channels);
  for (let c = 0; c < channels; c++) for (let p = 0; p < plane; p++) out[c * plane + p] = interleaved[p * step + c];
  return out;
}

/** Decodes a binary (P5 greyscale or P6 RGB) Netpbm image with maxval ≤ 255. */
export function decodeNetpbm(bytes: Uint8Array, file: string): DecodedImage {
  let at = 0;
  // The header is whitespace-separated tokens with '#' comments to the end of a line.
  const token = (): string => {
    for (;;) {
      while (at < bytes.length && /\s/.test(String.fromCharCode(bytes[at]))) at++;
      if (bytes[at] !== 0x23) break;
      while (at < bytes.length && bytes[at] !== 0x0a) at++;
    }
    const start = at;
    while (at < bytes.length && !/\s/.test(String.fromCharCode(bytes[at]))) at++;
    return String.fromCharCode(...bytes.subarray(start, at));
  };
  const magic = token();
  if (magic !== 'P5' && magic !== 'P6') {
    const known = ['P1', 'P2', 'P3', 'P4'].includes(magic);
    throw corrupt(
      file,
      known
        ? `Netpbm format ${magic} (plain text or 1-bit) is not supported; use binary P5 (PGM) or P6 (PPM)`
        : 'not a binary PGM/PPM file (no P5/P6 signature)',
    );
  }
  const [w, h, maxval] = [token(), token(), token()].map((t) => (/^\d+$/.test(t) ? Number(t) : NaN));
  if (!(w > 0) || !(h > 0) || !(maxval > 0) || w * h > MAX_PIXELS)
    throw corrupt(file, 'bad PGM/PPM header: width, height and maxval must be positive integers');
  if (maxval > 255) throw corrupt(file, `16-bit PGM/PPM (maxval ${maxval}) is not supported; use maxval 255`);
  at++; // the single whitespace byte that ends the header
  const channels: 1 | 3 = magic === 'P5' ? 1 : 3;
  const size = w * h * channels;
  if (bytes.length - at !== size)
    throw corrupt(file, `${magic} image of ${w} × ${h} needs ${size} pixel bytes after the header, the file has ${Math.max(0, bytes.length - at)}`);
  const body = bytes.subarray(at);
  const px = maxval === 255 ? body : body.map((v) => Math.round((v * 255) / maxval));
  return { width: w, height: h, channels, planes: toPlanar(px, w * h, channels, channels) };
}

export function decodeImage(bytes: Uint8Array, file: string): DecodedImage {
  const ext = extname(file).toLowerCase();
  if (ext === '.png') return decodePng(bytes, file);
  if (ext === '.pgm' || ext === '.ppm') return decodeNetpbm(bytes, file);
  throw new CnnSlicerError('bad-request', `unsupported image type "${ext}" (supported: ${IMAGE_EXTENSIONS.join(', ')})`, file);
}

async function listDir(dir: string): Promise<import('node:fs').Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new CnnSlicerError('not-found', 'the image folder does not exist', dir);
    throw new CnnSlicerError('corrupt', `cannot list: ${err instanceof Error ? err.message : String(err)}`, dir);
  }
}

/**
 * Reads every image of the folder. All must have one size; when some are colour and some grey,
 * the grey ones are widened to three equal channels, so one model input shape fits all.
 */
export async function loadImageFolder(dir: string): Promise<ImageFolderDataset> {
  const entries = await listDir(dir);
  const classNames = entries
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
  if (classNames.length === 0)
    throw new CnnSlicerError('bad-request', 'the image folder has no class sub-folders (expected <folder>/<class>/<image>.png)', dir);
  if (classNames.length > 255) throw new CnnSlicerError('bad-request', `the image folder has ${classNames.length} classes; at most 255 are supported`, dir);
  const images: { file: string; label: number; image: DecodedImage }[] = [];
  for (let label = 0; label < classNames.length; label++) {
    const classDir = join(dir, classNames[label]);
    const files = (await listDir(classDir))
      .filter((e) => e.isFile() && (IMAGE_EXTENSIONS as readonly string[]).includes(extname(e.name).toLowerCase()))
      .map((e) => e.name)
      .sort();
    if (files.length === 0)
      throw new CnnSlicerError('bad-request', `class folder "${classNames[label]}" holds no ${IMAGE_EXTENSIONS.join('/')} images`, classDir);
    for (const name of files) {
      const file = join(classDir, name);
      images.push({ file, label, image: decodeImage(await readFile(file), file) });
    }
  }
  const first = images[0].image;
  for (const { file, image } of images) {
    if (image.width !== first.width || image.height !== first.height) {
      throw new CnnSlicerError(
        'bad-request',
        `image is ${image.width} × ${image.height}, but ${images[0].file} is ${first.width} × ${first.height}; all images must have one size`,
        file,
      );
    }
  }
  const channels: 1 | 3 = images.some((i) => i.image.channels === 3) ? 3 : 1;
  const plane = first.width * first.height;
  const pixels = new Uint8Array(images.length * channels * plane);
  images.forEach(({ image }, i) => {
    const base = i * channels * plane;
    if (image.channels === channels) pixels.set(image.planes, base);
    else for (let c = 0; c < channels; c++) pixels.set(image.planes, base + c * plane);
  });
  return {
    count: images.length,
    labels: Uint8Array.from(images, (i) => i.label),
    pixels,
    channels,
    height: first.height,
    width: first.width,
    classNames,
    files: images.map((i) => i.file),
  };
}

/** The chosen images as [n, C, H, W] floats: byte / 255, then optionally (v − mean) / std per channel. */
export function imageFolderAsFloat32(ds: ImageFolderDataset, indices: ArrayLike<number>, mean?: readonly number[], std?: readonly number[]): Float32Array {
  return normalizedBytes(ds.pixels, ds.count, [ds.channels, ds.height * ds.width], indices, mean, std);
}

// Minimal .npy (NumPy format 1.0) reader and writer, so the benchmarks and cross-checks can hand
// arrays to bench/reference/estimators_ref.py and read its results back without a Python bridge.
// Only what that needs: little-endian numeric dtypes, C order.
import { readFileSync, writeFileSync } from 'node:fs';

export type NpyArray = Float32Array | Float64Array | Int32Array | Uint8Array | BigInt64Array;

const DESCR: [string, new (n: number) => NpyArray][] = [
  ['<f4', Float32Array],
  ['<f8', Float64Array],
  ['<i4', Int32Array],
  ['|u1', Uint8Array],
  ['<i8', BigInt64Array],
];

function descrOf(data: NpyArray): string {
  for (const [descr, ctor] of DESCR) if (data instanceof ctor) return descr;
  throw new Error('unsupported array type for .npy');
}

/** The bytes of a .npy file holding `data` with `shape` (C order). */
export function encodeNpy(data: NpyArray, shape: readonly number[]): Uint8Array {
  const size = shape.reduce((a, b) => a * b, 1);
  if (size !== data.length) throw new Error(`.npy: shape [${shape.join(', ')}] holds ${size} values, data has ${data.length}`);
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descrOf(data)}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // Magic (6) + version (2) + header length (2) + header, padded with spaces and a final newline
  // to a multiple of 64 bytes, as the format asks so the data is aligned.
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set([0x93, ...new TextEncoder().encode('NUMPY'), 1, 0], 0);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out;
}

export function writeNpy(path: string, data: NpyArray, shape: readonly number[]): void {
  writeFileSync(path, encodeNpy(data, shape));
}

export function readNpy(path: string): { data: NpyArray; shape: number[] } {
  const bytes = readFileSync(path);
  if (bytes[0] !== 0x93 || bytes.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(`${path}: not a .npy file`);
  const major = bytes[6];
  const headerLength = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = bytes.toString('latin1', start, start + headerLength);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  if (/'fortran_order':\s*True/.test(header)) throw new Error(`${path}: Fortran order is not supported`);
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1] ?? '';
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number);
  const ctor = DESCR.find(([d]) => d === descr)?.[1];
  if (ctor === undefined) throw new Error(`${path}: dtype ${descr} is not supported`);
  const body = bytes.subarray(start + headerLength);
  const copy = new Uint8Array(body.length);
  copy.set(body);
  const data = new (ctor as unknown as new (b: ArrayBuffer) => NpyArray)(copy.buffer);
  return { data, shape };
}

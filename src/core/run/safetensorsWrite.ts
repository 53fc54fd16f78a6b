// Writing safetensors files (the reading side is safetensors.ts): the layout of a file about to be
// written, its header, and the file itself, written atomically.
import { CnnSlicerError } from '../../shared/errors';
import { writeFileAtomicStreamed } from './atomicWrite';
import { DTYPE_SIZE, DTYPES, isNonNegativeSafeInteger, LITTLE_ENDIAN, MAX_HEADER_BYTES, METADATA_KEY, quote, type SafetensorsDType } from './safetensors';

export interface TensorToWrite {
  readonly name: string;
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
  readonly data: ArrayBufferView;
}

function invalidWrite(message: string): CnnSlicerError {
  return new CnnSlicerError('internal', `cannot write safetensors: ${message}`);
}

/** A tensor's place in a file about to be written: name, dtype and shape, no data yet. */
export interface TensorLayoutEntry {
  readonly name: string;
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
}

/** Where everything of a file goes: its header bytes and each tensor's absolute byte range in the file. */
export interface SafetensorsLayout {
  readonly header: Uint8Array;
  /** name → [begin, end) as absolute file positions (header included). */
  readonly ranges: ReadonlyMap<string, { readonly begin: number; readonly end: number }>;
  readonly fileBytes: number;
}

/**
 * The layout of a file from its tensors' names, dtypes and shapes alone, for writers that stream
 * data into place (possibly out of order) after writing or reserving the header. Tensors are laid
 * out in the given order.
 */
export function safetensorsLayout(tensors: readonly TensorLayoutEntry[], metadata?: Readonly<Record<string, string>>): SafetensorsLayout {
  // Built as text, not with JSON.stringify of one object: assigning a key such as "__proto__"
  // to an object literal would set its prototype instead of adding a tensor.
  const parts: string[] = [];
  if (metadata !== undefined) {
    const entries = Object.keys(metadata).map((k) => {
      const v = metadata[k];
      if (typeof v !== 'string') throw invalidWrite(`metadata value of ${quote(k)} is not a string`);
      return `${JSON.stringify(k)}:${JSON.stringify(v)}`;
    });
    parts.push(`${JSON.stringify(METADATA_KEY)}:{${entries.join(',')}}`);
  }
  const seen = new Set<string>();
  const relative: [string, number, number][] = [];
  let offset = 0;
  for (const t of tensors) {
    if (t.name === METADATA_KEY) throw invalidWrite(`${METADATA_KEY} is reserved and cannot name a tensor`);
    if (seen.has(t.name)) throw invalidWrite(`tensor ${quote(t.name)} appears twice`);
    seen.add(t.name);
    if (!DTYPES.has(t.dtype)) throw invalidWrite(`tensor ${quote(t.name)} has unknown dtype ${quote(String(t.dtype))}`);
    if (!t.shape.every((d) => isNonNegativeSafeInteger(d)))
      throw invalidWrite(`tensor ${quote(t.name)} shape [${t.shape.join(', ')}] is not non-negative integers`);
    const bytes = t.shape.reduce((acc, d) => acc * BigInt(d), 1n) * BigInt(DTYPE_SIZE[t.dtype]);
    const end = BigInt(offset) + bytes;
    if (end > BigInt(Number.MAX_SAFE_INTEGER)) throw invalidWrite('total data size exceeds 2^53 bytes');
    parts.push(`${JSON.stringify(t.name)}:${JSON.stringify({ dtype: t.dtype, shape: t.shape.map((d) => d + 0), data_offsets: [offset, Number(end)] })}`);
    relative.push([t.name, offset, Number(end)]);
    offset = Number(end);
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const padded = Math.ceil((8 + json.length) / 8) * 8;
  if (padded - 8 > MAX_HEADER_BYTES) throw invalidWrite(`header of ${padded - 8} bytes exceeds the limit of ${MAX_HEADER_BYTES}`);
  const header = new Uint8Array(padded);
  new DataView(header.buffer).setBigUint64(0, BigInt(padded - 8), true);
  header.set(json, 8);
  header.fill(0x20, 8 + json.length);
  const ranges = new Map(relative.map(([name, b, e]) => [name, { begin: padded + b, end: padded + e }]));
  return { header, ranges, fileBytes: padded + offset };
}

/**
 * The 8-byte length followed by the header JSON, padded with spaces so data starts at a multiple
 * of 8; tensors laid out in the given order. Validates that data byte length matches shape×dtype.
 */
export function encodeSafetensorsHeader(tensors: readonly TensorToWrite[], metadata?: Readonly<Record<string, string>>): Uint8Array {
  for (const t of tensors) {
    if (!DTYPES.has(t.dtype) || !t.shape.every((d) => isNonNegativeSafeInteger(d))) continue; // reported by safetensorsLayout
    const expected = t.shape.reduce((acc, d) => acc * BigInt(d), 1n) * BigInt(DTYPE_SIZE[t.dtype]);
    if (expected !== BigInt(t.data.byteLength)) {
      throw invalidWrite(
        `tensor ${quote(t.name)} of dtype ${t.dtype} and shape [${t.shape.join(', ')}] needs ${expected} bytes but its data has ${t.data.byteLength}`,
      );
    }
  }
  return safetensorsLayout(tensors, metadata).header;
}

/**
 * Writes atomically (temp file, fsync, rename). Streams the header and then each tensor's bytes,
 * so a file of several GB never exists as one buffer.
 */
export async function writeSafetensors(path: string, tensors: readonly TensorToWrite[], metadata?: Readonly<Record<string, string>>): Promise<void> {
  if (!LITTLE_ENDIAN && tensors.some((t) => DTYPE_SIZE[t.dtype] > 1)) {
    throw new CnnSlicerError('internal', 'multi-byte tensors need a little-endian machine', path);
  }
  const header = encodeSafetensorsHeader(tensors, metadata);
  await writeFileAtomicStreamed(path, async (write) => {
    await write(header);
    for (const t of tensors) {
      if (t.data.byteLength > 0) await write(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    }
  });
}

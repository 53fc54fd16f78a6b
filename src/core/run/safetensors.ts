// Reading and writing safetensors files (run-format.md, "Safetensors, and what a reader checks").
// Every file the engine reads may come from a crashed writer, a foreign tool or a hostile
// workspace, so the header is validated completely before any offset in it is used, and every
// failure is a CnnSlicerError('corrupt') naming the file.

import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import { CnnSlicerError } from '../../shared/errors';
import { isRecord } from '../../shared/parse';

export type SafetensorsDType = 'BOOL' | 'U8' | 'I8' | 'U16' | 'I16' | 'F16' | 'BF16' | 'U32' | 'I32' | 'F32' | 'U64' | 'I64' | 'F64';

export const DTYPE_SIZE: Readonly<Record<SafetensorsDType, number>> = Object.freeze({
  BOOL: 1,
  U8: 1,
  I8: 1,
  U16: 2,
  I16: 2,
  F16: 2,
  BF16: 2,
  U32: 4,
  I32: 4,
  F32: 4,
  U64: 8,
  I64: 8,
  F64: 8,
});

// A Set, not `in DTYPE_SIZE`: a dtype such as "constructor" must not find Object.prototype.
export const DTYPES: ReadonlySet<string> = new Set(Object.keys(DTYPE_SIZE));

export const MAX_HEADER_BYTES = 100_000_000;

export const METADATA_KEY = '__metadata__';

export interface TensorEntry {
  readonly name: string;
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
  /** Byte offsets relative to the data section. */
  readonly begin: number;
  readonly end: number;
}

export interface SafetensorsHeader {
  readonly tensors: ReadonlyMap<string, TensorEntry>;
  readonly metadata: ReadonlyMap<string, string>;
  /** Absolute offset of the data section: 8 + header length. */
  readonly dataStart: number;
  readonly fileSize: number;
}

// Typed arrays use the platform's byte order and safetensors is little-endian. Every platform
// VS Code runs on is little-endian; refuse loudly rather than return byte-swapped numbers.
export const LITTLE_ENDIAN = os.endianness() === 'LE';

function corrupt(message: string, file: string): CnnSlicerError {
  return new CnnSlicerError('corrupt', message, file);
}

export function isNonNegativeSafeInteger(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/**
 * A header value for a corruption message: unlike parse.ts's describeValue (for requests), it
 * names the JSON type and quotes the value, since the reader of the message is debugging a file.
 */
function describeHeaderValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${truncateForMessage(JSON.stringify(v))}`;
  if (typeof v === 'number') return `the number ${v}`;
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

function truncateForMessage(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

export function quote(name: string): string {
  return truncateForMessage(JSON.stringify(name));
}

/** The header length from the first 8 bytes, validated before it is trusted as a number. */
function headerLength(prefix: Uint8Array, fileSize: number, file: string): number {
  if (fileSize < 8) {
    throw corrupt(`file is ${fileSize} bytes, too short for the 8-byte header length of a safetensors file`, file);
  }
  if (prefix.length < 8) {
    throw corrupt(`only ${prefix.length} bytes of the file could be read, the 8-byte header length needs 8`, file);
  }
  // Read as a u64: a huge value must be rejected as itself, not wrapped or rounded by a double.
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(fileSize - 8)) {
    throw corrupt(`header length ${n} exceeds file size ${fileSize} (at most ${fileSize - 8} bytes follow the length)`, file);
  }
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw corrupt(`header length ${n} exceeds the limit of ${MAX_HEADER_BYTES} bytes`, file);
  }
  return Number(n);
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Rejects an object with the same key twice. JSON.parse silently keeps the last one, which would
 * let two tools disagree about what a file holds. Runs only on text JSON.parse accepted, so it
 * needs to track nothing but strings and nesting.
 */
function findDuplicateKey(text: string): string | undefined {
  // One entry per open container: the keys seen so far for an object, null for an array.
  const stack: (Set<string> | null)[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const start = i;
      i++;
      while (text.charCodeAt(i) !== 0x22) i += text.charCodeAt(i) === 0x5c /* \ */ ? 2 : 1;
      const top = stack[stack.length - 1];
      if (expectKey && top) {
        const raw = text.slice(start, i + 1);
        // Escapes ("\u0061" vs "a") must compare equal, as they do after parsing.
        const key = raw.includes('\\') ? (JSON.parse(raw) as string) : raw.slice(1, -1);
        if (top.has(key)) return key;
        top.add(key);
        expectKey = false;
      }
    } else if (c === 0x7b /* { */) {
      stack.push(new Set());
      expectKey = true;
    } else if (c === 0x5b /* [ */) {
      stack.push(null);
      expectKey = false;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
      expectKey = false;
    } else if (c === 0x2c /* , */) {
      expectKey = stack[stack.length - 1] != null;
    }
  }
  return undefined;
}

/** Pure validation of the first bytes of a file. `file` is the name used in errors. Throws CnnSlicerError('corrupt'). */
export function parseSafetensorsHeader(prefix: Uint8Array, fileSize: number, file: string): SafetensorsHeader {
  if (!isNonNegativeSafeInteger(fileSize)) {
    throw new CnnSlicerError('internal', `parseSafetensorsHeader: file size ${fileSize} is not a non-negative integer`, file);
  }
  const n = headerLength(prefix, fileSize, file);
  const dataStart = 8 + n;
  if (prefix.length < dataStart) {
    throw corrupt(`only ${prefix.length} bytes of the file could be read, the header needs ${dataStart}`, file);
  }

  let text: string;
  try {
    text = utf8.decode(prefix.subarray(8, dataStart));
  } catch {
    throw corrupt('header is not valid UTF-8', file);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw corrupt(`header is not valid JSON: ${truncateForMessage(why)}`, file);
  }
  if (!isRecord(json)) {
    throw corrupt(`header must be a JSON object, found ${describeHeaderValue(json)}`, file);
  }
  const dup = findDuplicateKey(text);
  if (dup !== undefined) {
    throw corrupt(`header has the key ${quote(dup)} twice`, file);
  }

  const metadata = new Map<string, string>();
  const tensors = new Map<string, TensorEntry>();
  // Object.keys sees "__proto__" as an ordinary own key: JSON.parse defines properties, it does not assign them.
  for (const name of Object.keys(json)) {
    const value = json[name];
    if (name === METADATA_KEY) {
      if (!isRecord(value)) throw corrupt(`${METADATA_KEY} must be an object of strings, found ${describeHeaderValue(value)}`, file);
      for (const key of Object.keys(value)) {
        const v = value[key];
        if (typeof v !== 'string') throw corrupt(`${METADATA_KEY} value of ${quote(key)} must be a string, found ${describeHeaderValue(v)}`, file);
        metadata.set(key, v);
      }
      continue;
    }
    tensors.set(name, parseTensorEntry(name, value, file));
  }

  checkLayout(tensors, fileSize, dataStart, file);
  return { tensors, metadata, dataStart, fileSize };
}

function parseTensorEntry(name: string, value: unknown, file: string): TensorEntry {
  const what = `tensor ${quote(name)}`;
  if (!isRecord(value)) throw corrupt(`${what} must be an object, found ${describeHeaderValue(value)}`, file);
  for (const key of Object.keys(value)) {
    if (key !== 'dtype' && key !== 'shape' && key !== 'data_offsets') {
      throw corrupt(`${what} has an unexpected field ${quote(key)}`, file);
    }
  }
  for (const key of ['dtype', 'shape', 'data_offsets']) {
    if (!Object.hasOwn(value, key)) throw corrupt(`${what} has no ${key}`, file);
  }
  const { dtype, shape, data_offsets: offsets } = value;
  if (typeof dtype !== 'string' || !DTYPES.has(dtype)) {
    throw corrupt(`${what} has unknown dtype ${typeof dtype === 'string' ? quote(dtype) : describeHeaderValue(dtype)}`, file);
  }
  if (!Array.isArray(shape)) throw corrupt(`${what} shape must be an array, found ${describeHeaderValue(shape)}`, file);
  for (const d of shape) {
    if (!isNonNegativeSafeInteger(d)) throw corrupt(`${what} shape has ${describeHeaderValue(d)}, dimensions must be non-negative integers`, file);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2) {
    throw corrupt(
      `${what} data_offsets must be [begin, end], found ${Array.isArray(offsets) ? `${offsets.length} elements` : describeHeaderValue(offsets)}`,
      file,
    );
  }
  const [begin, end] = offsets as unknown[];
  if (!isNonNegativeSafeInteger(begin) || !isNonNegativeSafeInteger(end)) {
    throw corrupt(`${what} data_offsets must be non-negative integers, found [${describeHeaderValue(begin)}, ${describeHeaderValue(end)}]`, file);
  }
  if (begin > end) throw corrupt(`${what} data_offsets begin ${begin} is after end ${end}`, file);

  const size = DTYPE_SIZE[dtype as SafetensorsDType];
  // BigInt: a shape like [2^40, 2^40] must compare as itself, not as an overflowed double.
  const expected = shape.reduce((acc: bigint, d: number) => acc * BigInt(d), 1n) * BigInt(size);
  if (expected !== BigInt(end - begin)) {
    throw corrupt(
      `${what} of dtype ${dtype} and shape [${shape.join(', ')}] needs ${expected} bytes but data_offsets [${begin}, ${end}] span ${end - begin}`,
      file,
    );
  }
  // `+ 0` turns a JSON -0 into 0 so shapes compare and print normally.
  return { name, dtype: dtype as SafetensorsDType, shape: shape.map((d: number) => d + 0), begin: begin + 0, end: end + 0 };
}

/** The tensors must tile the data section exactly: from 0, without gaps or overlaps, to the end of the file. */
function checkLayout(tensors: ReadonlyMap<string, TensorEntry>, fileSize: number, dataStart: number, file: string): void {
  // Zero-size tensors sort before a tensor starting at the same offset, so they never look like an overlap.
  const sorted = [...tensors.values()].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expected = 0;
  let previous: TensorEntry | undefined;
  for (const t of sorted) {
    if (t.begin > expected) {
      throw corrupt(
        previous === undefined
          ? `tensor data does not start at 0: the first tensor ${quote(t.name)} begins at ${t.begin}`
          : `gap of ${t.begin - expected} bytes between tensor ${quote(previous.name)} (ends at ${expected}) and tensor ${quote(t.name)} (begins at ${t.begin})`,
        file,
      );
    }
    if (t.begin < expected) {
      throw corrupt(`tensor ${quote(t.name)} [${t.begin}, ${t.end}] overlaps tensor ${quote(previous!.name)} [${previous!.begin}, ${previous!.end}]`, file);
    }
    expected = t.end;
    previous = t;
  }
  const dataSize = fileSize - dataStart;
  if (expected < dataSize) {
    throw corrupt(
      `${dataSize - expected} trailing bytes after the last tensor: data ends at byte ${dataStart + expected} but the file has ${fileSize} bytes`,
      file,
    );
  }
  if (expected > dataSize) {
    throw corrupt(`truncated: header says data ends at byte ${dataStart + expected} but the file has ${fileSize} bytes`, file);
  }
}

/** fs reads are limited to 2^31 - 1 bytes each. */
const MAX_READ = 1 << 30;
/** readRows reads across a gap of at most this many bytes rather than issuing another read. */
const COALESCE_GAP = 64 * 1024;
/** ...as long as one coalesced read stays below this size. */
const COALESCE_SPAN = 8 * 1024 * 1024;
/** readRows keeps at most this many reads in flight. */
const READ_CONCURRENCY = 8;

export class SafetensorsFile {
  private closed = false;
  private reads = 0;

  private constructor(
    readonly path: string,
    readonly header: SafetensorsHeader,
    private readonly fh: fsp.FileHandle,
  ) {}

  /** Reads only the header (fd kept open); errors name `path`. */
  static async open(path: string): Promise<SafetensorsFile> {
    let fh: fsp.FileHandle;
    try {
      // Checked before opening: opening a FIFO for reading blocks until someone writes to it.
      if (!(await fsp.stat(path)).isFile()) throw corrupt('not a regular file', path);
      fh = await fsp.open(path, 'r');
    } catch (err) {
      if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) throw new CnnSlicerError('not-found', 'file does not exist', path);
      throw err;
    }
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw corrupt('not a regular file', path);
      const fileSize = st.size;
      const lenBytes = await readFully(fh, 0, Math.min(8, fileSize));
      const n = headerLength(lenBytes, fileSize, path);
      const prefix = new Uint8Array(8 + n);
      prefix.set(lenBytes, 0);
      prefix.set(await readFully(fh, 8, n), 8);
      const header = parseSafetensorsHeader(prefix, fileSize, path);
      return new SafetensorsFile(path, header, fh);
    } catch (err) {
      await fh.close().catch(() => undefined);
      throw err;
    }
  }

  /** How many fs reads this file has issued: lets tests (and benchmarks) see that coalescing works. */
  get fsReadCount(): number {
    return this.reads;
  }

  entry(name: string): TensorEntry {
    const e = this.header.tensors.get(name);
    if (e === undefined) throw corrupt(`no tensor "${name}"`, this.path);
    return e;
  }

  /** Bytes [byteOffset, byteOffset+byteLength) of one tensor's data, bounds-checked against the tensor. */
  async readBytes(name: string, byteOffset: number, byteLength: number): Promise<Uint8Array> {
    const e = this.entry(name);
    const size = e.end - e.begin;
    if (!isNonNegativeSafeInteger(byteOffset) || !isNonNegativeSafeInteger(byteLength) || byteOffset + byteLength > size) {
      throw this.badRequest(`bytes [${byteOffset}, ${byteOffset + byteLength}) are outside tensor ${quote(name)} of ${size} bytes`);
    }
    const out = new Uint8Array(byteLength);
    await this.readInto(out, this.header.dataStart + e.begin + byteOffset);
    return out;
  }

  /**
   * For a tensor whose dim 0 indexes rows: for each row r in `rows` (any order, repeats allowed),
   * the elements [elemStart, elemStart+elemCount) of that row, concatenated in the order of
   * `rows`. Adjacent reads are coalesced into one fs read. Bounds-checked.
   */
  async readRows(name: string, rows: readonly number[], elemStart: number, elemCount: number): Promise<Uint8Array> {
    const e = this.entry(name);
    if (e.shape.length === 0) throw this.badRequest(`tensor ${quote(name)} is a scalar and has no rows`);
    const numRows = e.shape[0];
    // BigInt: with zero rows the other dimensions may multiply past 2^53 (the tensor is still empty).
    const rowElems = e.shape.slice(1).reduce((acc, d) => acc * BigInt(d), 1n);
    if (!isNonNegativeSafeInteger(elemStart) || !isNonNegativeSafeInteger(elemCount) || BigInt(elemStart) + BigInt(elemCount) > rowElems) {
      throw this.badRequest(`elements [${elemStart}, ${elemStart + elemCount}) are outside the ${rowElems} elements of a row of tensor ${quote(name)}`);
    }
    for (const r of rows) {
      if (!Number.isSafeInteger(r) || r < 0 || r >= numRows) throw this.badRequest(`row ${r} is outside tensor ${quote(name)} of ${numRows} rows`);
    }
    const elemSize = DTYPE_SIZE[e.dtype];
    const segBytes = elemCount * elemSize;
    const out = new Uint8Array(rows.length * segBytes);
    if (rows.length === 0 || segBytes === 0) return out;
    // A row exists, so a row's bytes are within the file and fit a double exactly.
    const rowBytes = Number(rowElems) * elemSize;
    const base = this.header.dataStart + e.begin + elemStart * elemSize;
    const filePos = (r: number): number => base + r * rowBytes;

    // Read each distinct row once, in file order, merging neighbours, then copy to every place it is wanted.
    const order = rows.map((_, i) => i).sort((a, b) => rows[a] - rows[b] || a - b);
    interface Run {
      start: number;
      end: number;
      /** Indexes into `order` of the positions this run serves. */
      from: number;
      to: number;
    }
    const runs: Run[] = [];
    for (let k = 0; k < order.length; k++) {
      const pos = filePos(rows[order[k]]);
      const last = runs[runs.length - 1];
      // In file order a position is never before the previous one; a repeat is equal to it and is served by the same bytes.
      if (last !== undefined && pos - last.end <= COALESCE_GAP && pos + segBytes - last.start <= COALESCE_SPAN) {
        last.end = pos + segBytes;
        last.to = k + 1;
      } else {
        runs.push({ start: pos, end: pos + segBytes, from: k, to: k + 1 });
      }
    }

    const serve = async (run: Run): Promise<void> => {
      // The common case, consecutive rows asked for in order and without gaps, reads straight into place.
      const first = order[run.from];
      let direct = true;
      for (let k = run.from; k < run.to && direct; k++) {
        direct = order[k] === first + (k - run.from) && filePos(rows[order[k]]) === run.start + (k - run.from) * segBytes;
      }
      if (direct) {
        await this.readInto(out.subarray(first * segBytes, (first + run.to - run.from) * segBytes), run.start);
        return;
      }
      const buf = new Uint8Array(run.end - run.start);
      await this.readInto(buf, run.start);
      for (let k = run.from; k < run.to; k++) {
        const i = order[k];
        const at = filePos(rows[i]) - run.start;
        out.set(buf.subarray(at, at + segBytes), i * segBytes);
      }
    };
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < runs.length) await serve(runs[next++]);
    };
    await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, runs.length) }, worker));
    return out;
  }

  /**
   * The whole tensor as its natural typed array (Float32Array for F32, Uint16Array raw bits for
   * F16/BF16, BigInt64Array for I64, Int32Array for I32, Uint8Array for U8/BOOL, etc.). Copies
   * into an aligned buffer.
   */
  async readTensor(name: string): Promise<ArrayBufferView> {
    const e = this.entry(name);
    const byteLength = e.end - e.begin;
    const buffer = new ArrayBuffer(byteLength);
    await this.readInto(new Uint8Array(buffer), this.header.dataStart + e.begin);
    if (!LITTLE_ENDIAN && DTYPE_SIZE[e.dtype] > 1) {
      throw new CnnSlicerError('internal', 'multi-byte tensors need a little-endian machine', this.path);
    }
    const n = byteLength / DTYPE_SIZE[e.dtype];
    switch (e.dtype) {
      case 'BOOL':
      case 'U8':
        return new Uint8Array(buffer, 0, n);
      case 'I8':
        return new Int8Array(buffer, 0, n);
      case 'U16':
      case 'F16':
      case 'BF16':
        return new Uint16Array(buffer, 0, n);
      case 'I16':
        return new Int16Array(buffer, 0, n);
      case 'U32':
        return new Uint32Array(buffer, 0, n);
      case 'I32':
        return new Int32Array(buffer, 0, n);
      case 'F32':
        return new Float32Array(buffer, 0, n);
      case 'U64':
        return new BigUint64Array(buffer, 0, n);
      case 'I64':
        return new BigInt64Array(buffer, 0, n);
      case 'F64':
        return new Float64Array(buffer, 0, n);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fh.close();
  }

  private badRequest(message: string): CnnSlicerError {
    return new CnnSlicerError('bad-request', message, this.path);
  }

  private async readInto(dst: Uint8Array, position: number): Promise<void> {
    if (this.closed) throw new CnnSlicerError('internal', 'read after close', this.path);
    let done = 0;
    while (done < dst.length) {
      this.reads++;
      const { bytesRead } = await this.fh.read(dst, done, Math.min(dst.length - done, MAX_READ), position + done);
      // The header was checked against the size at open; a short read means the file shrank since.
      if (bytesRead === 0) throw corrupt(`truncated: expected ${dst.length} bytes at byte ${position} but the file ends at byte ${position + done}`, this.path);
      done += bytesRead;
    }
  }
}

async function readFully(fh: fsp.FileHandle, position: number, length: number): Promise<Uint8Array> {
  const buf = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, done, Math.min(length - done, MAX_READ), position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done === length ? buf : buf.subarray(0, done);
}

function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}

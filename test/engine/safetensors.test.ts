import * as assert from 'node:assert';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { CnnSlicerError } from '../../src/shared/errors';
import { decodeFloat16, encodeFloat16, float16BitsToFloat32 } from '../../src/core/run/float16';
import { writeFileAtomic, writeFileAtomicStreamed } from '../../src/core/run/atomicWrite';
import { DTYPE_SIZE, SafetensorsFile, parseSafetensorsHeader, type SafetensorsDType } from '../../src/core/run/safetensors';
import { encodeSafetensorsHeader, writeSafetensors, type TensorToWrite } from '../../src/core/run/safetensorsWrite';

const ALL_DTYPES = Object.keys(DTYPE_SIZE) as SafetensorsDType[];

function bitsOf(x: number): number {
  const f = new Float32Array([x]);
  return new Uint32Array(f.buffer)[0];
}

function fromBits(b: number): number {
  return new Float32Array(new Uint32Array([b]).buffer)[0];
}

/** The value of a half bit pattern computed arithmetically, independent of the implementation's bit twiddling. */
function halfValue(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 31) return m === 0 ? sign * Infinity : NaN;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

/** Positive finite halves in increasing order: index === bit pattern. */
const POSITIVE_HALVES = Array.from({ length: 0x7c00 }, (_, h) => halfValue(h));

/** Nearest half by search, ties to the even bit pattern: the reference encodeFloat16 is checked against. */
function referenceEncode(x: number): number {
  if (Number.isNaN(x)) return -1;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  // 65520 is halfway between 65504 (the largest half) and 65536 (the next step, infinity): ties go to even, i.e. Inf.
  if (a >= 65520) return sign | 0x7c00;
  let lo = 0;
  let hi = POSITIVE_HALVES.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (POSITIVE_HALVES[mid] <= a) lo = mid;
    else hi = mid - 1;
  }
  if (POSITIVE_HALVES[lo] === a || lo === POSITIVE_HALVES.length - 1) return sign | lo;
  const below = a - POSITIVE_HALVES[lo];
  const above = POSITIVE_HALVES[lo + 1] - a;
  if (below < above) return sign | lo;
  if (above < below) return sign | (lo + 1);
  return sign | (lo % 2 === 0 ? lo : lo + 1);
}

function encodeOne(x: number): number {
  return encodeFloat16(new Float32Array([x]))[0];
}

describe('float16', () => {
  const all = new Uint16Array(65536).map((_, i) => i);

  it('decodes every bit pattern to the value the IEEE formula gives, keeping -0', () => {
    const out = decodeFloat16(all);
    for (let h = 0; h < 65536; h++) {
      const expected = halfValue(h);
      if (Number.isNaN(expected)) assert.ok(Number.isNaN(out[h]), `0x${h.toString(16)}`);
      else assert.ok(Object.is(out[h], expected), `0x${h.toString(16)}: ${out[h]} vs ${expected}`);
    }
    assert.ok(Object.is(out[0x8000], -0));
    assert.strictEqual(out[0x0001], 2 ** -24);
    assert.strictEqual(out[0x03ff], 1023 * 2 ** -24);
    assert.strictEqual(out[0x7bff], 65504);
    assert.strictEqual(out[0xfc00], -Infinity);
  });

  it('keeps the NaN payload and its quiet/signalling bit when widening', () => {
    const out = new Uint32Array(decodeFloat16(all).buffer);
    for (let h = 0; h < 65536; h++) {
      if ((h & 0x7c00) !== 0x7c00 || (h & 0x3ff) === 0) continue;
      const expected = (((h & 0x8000) << 16) | 0x7f800000 | ((h & 0x3ff) << 13)) >>> 0;
      assert.strictEqual(out[h], expected, `0x${h.toString(16)}`);
    }
    assert.strictEqual(out[0x7e00], 0x7fc00000); // the canonical quiet NaN
    assert.strictEqual(out[0x7c01], 0x7f802000); // signalling: the quiet bit stays clear
  });

  it('round-trips all 65536 bit patterns exactly through decode then encode, NaNs included', () => {
    const back = encodeFloat16(decodeFloat16(all));
    for (let h = 0; h < 65536; h++) assert.strictEqual(back[h], h, `0x${h.toString(16)} came back as 0x${back[h].toString(16)}`);
  });

  it('float16BitsToFloat32 agrees with decodeFloat16 on every pattern', () => {
    const out = decodeFloat16(all);
    for (let h = 0; h < 65536; h++) {
      const v = float16BitsToFloat32(h);
      if (Number.isNaN(out[h])) assert.ok(Number.isNaN(v));
      else assert.ok(Object.is(v, out[h]), `0x${h.toString(16)}`);
    }
  });

  it('decodes into a caller-supplied view at an offset and refuses a length mismatch', () => {
    const backing = new Float32Array(10).fill(7);
    const view = backing.subarray(3, 6);
    const ret = decodeFloat16(new Uint16Array([0x3c00, 0xc000, 0x7c00]), view);
    assert.strictEqual(ret, view);
    assert.deepStrictEqual([...backing], [7, 7, 7, 1, -2, Infinity, 7, 7, 7, 7]);
    assert.throws(() => decodeFloat16(new Uint16Array(2), new Float32Array(3)), RangeError);
  });

  it('encodes known values like numpy astype(float16)', () => {
    const cases: [number, number][] = [
      [0, 0x0000],
      [-0, 0x8000],
      [1, 0x3c00],
      [-2, 0xc000],
      [65504, 0x7bff],
      [65519, 0x7bff], // below the midpoint to infinity
      [65520, 0x7c00], // the exact midpoint ties to even, which is infinity
      [1e10, 0x7c00],
      [-1e10, 0xfc00],
      [Infinity, 0x7c00],
      [-Infinity, 0xfc00],
      [6.103515625e-5, 0x0400], // 2^-14, the smallest normal
      [6.1e-5, 0x03ff], // just below it: the largest subnormal
      [2 ** -24, 0x0001], // the smallest subnormal
      [2 ** -25, 0x0000], // halfway between 0 and 2^-24: ties to even, 0
      [1.5 * 2 ** -25, 0x0001],
      [3 * 2 ** -25, 0x0002], // halfway between subnormals 1 and 2: ties to even, 2
      [5 * 2 ** -25, 0x0002], // halfway between 2 and 3: ties to even, 2
      [2 ** -26, 0x0000],
      [-(2 ** -24), 0x8001],
      [1 + 2 ** -11, 0x3c00], // halfway between 1 and 1+2^-10: ties to even, 1
      [1 + 3 * 2 ** -11, 0x3c02], // halfway between 1+2^-10 and 1+2^-9: ties to even, the latter
      [1 + 2 ** -11 + 2 ** -20, 0x3c01], // just above a tie rounds up
      [0.1, 0x2e66],
      [3.14159, 0x4248],
      [2048 + 1, 0x6800], // 2049 is a tie between 2048 and 2050 at this exponent
      [2048 + 3, 0x6802],
    ];
    for (const [x, h] of cases) assert.strictEqual(encodeOne(x), h, `${x} -> 0x${encodeOne(x).toString(16)}, expected 0x${h.toString(16)}`);
    for (const nan of [NaN, fromBits(0x7f800001), fromBits(0xffc00000), fromBits(0x7fbfffff)]) {
      const h = encodeOne(nan);
      assert.ok((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0, `NaN became 0x${h.toString(16)}`);
    }
  });

  it('rounds every midpoint between adjacent halves, and its float32 neighbours, to the nearest half with ties to even', () => {
    const xs: number[] = [];
    for (let h = 0; h < 0x7bff; h++) {
      const mid = (POSITIVE_HALVES[h] + POSITIVE_HALVES[h + 1]) / 2;
      assert.strictEqual(Math.fround(mid), mid); // midpoints need only 12 significant bits
      const b = bitsOf(mid);
      xs.push(mid, fromBits(b + 1), fromBits(b - 1), -mid);
    }
    const mid = 65520;
    xs.push(mid, fromBits(bitsOf(mid) + 1), fromBits(bitsOf(mid) - 1));
    const got = encodeFloat16(new Float32Array(xs));
    for (let i = 0; i < xs.length; i++) {
      assert.strictEqual(got[i], referenceEncode(xs[i]), `${xs[i]}: got 0x${got[i].toString(16)}, expected 0x${referenceEncode(xs[i]).toString(16)}`);
    }
  });

  it('agrees with the nearest-half reference on arbitrary float32 values', () => {
    fc.assert(
      fc.property(fc.array(fc.float({ noNaN: true }), { minLength: 1, maxLength: 64 }), (values) => {
        const got = encodeFloat16(new Float32Array(values));
        values.forEach((v, i) => assert.strictEqual(got[i], referenceEncode(Math.fround(v)), `${v}`));
      }),
      { numRuns: 300 },
    );
  });
});

describe('atomicWrite', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'cnnslicer-atomic-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('writes bytes and strings, replaces an existing file, and leaves no temp file', async () => {
    const file = path.join(dir, 'a.bin');
    await writeFileAtomic(file, new Uint8Array([1, 2, 3]));
    assert.deepStrictEqual([...readFileSync(file)], [1, 2, 3]);
    await writeFileAtomic(file, 'héllo');
    assert.strictEqual(readFileSync(file, 'utf8'), 'héllo');
    assert.ok(!existsSync(`${file}.tmp`));
  });

  it('streams chunks in call order, even when the body does not await each write', async () => {
    const file = path.join(dir, 'streamed.bin');
    await writeFileAtomicStreamed(file, async (write) => {
      await write(new Uint8Array([1, 2]));
      const pending = [write(new Uint8Array([3])), write(new Uint8Array(0)), write(new Uint8Array([4, 5, 6]).subarray(1))];
      await Promise.all(pending);
    });
    assert.deepStrictEqual([...readFileSync(file)], [1, 2, 3, 5, 6]);
  });

  it('keeps the old file and removes the temp file when the body fails', async () => {
    const file = path.join(dir, 'keep.bin');
    writeFileSync(file, 'old');
    await assert.rejects(
      writeFileAtomicStreamed(file, async (write) => {
        await write(new Uint8Array([9, 9, 9, 9]));
        throw new Error('body failed');
      }),
      /body failed/,
    );
    assert.strictEqual(readFileSync(file, 'utf8'), 'old');
    assert.ok(!existsSync(`${file}.tmp`));
  });

  it('refuses writes after the body has finished', async () => {
    const file = path.join(dir, 'late.bin');
    let late: ((chunk: Uint8Array) => Promise<void>) | undefined;
    await writeFileAtomicStreamed(file, async (write) => {
      late = write;
      await write(new Uint8Array([1]));
    });
    await assert.rejects(late!(new Uint8Array([2])), /after its body finished/);
    assert.deepStrictEqual([...readFileSync(file)], [1]);
  });

  it('reports a missing folder as not-found naming the target', async () => {
    const file = path.join(dir, 'no-such-folder', 'x.bin');
    await assert.rejects(writeFileAtomic(file, 'x'), (err: unknown) => err instanceof CnnSlicerError && err.code === 'not-found' && err.file === file);
  });
});

/** Random contents of the right byte length for a tensor. */
function randomTensor(name: string, dtype: SafetensorsDType, shape: number[]): TensorToWrite {
  const n = shape.reduce((a, b) => a * b, 1);
  return { name, dtype, shape, data: new Uint8Array(randomBytes(n * DTYPE_SIZE[dtype])) };
}

function bytesOf(v: ArrayBufferView): Uint8Array {
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

function isCode(code: string, file?: string) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof CnnSlicerError, `expected a CnnSlicerError, got ${String(err)}`);
    assert.strictEqual(err.code, code, err.message);
    if (file !== undefined) assert.strictEqual(err.file, file);
    return true;
  };
}

describe('safetensors', function () {
  this.timeout(20000);
  let dir: string;
  let counter = 0;
  const tmpFile = () => path.join(dir, `t${counter++}.safetensors`);
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'cnnslicer-st-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const expectedClass: Record<SafetensorsDType, abstract new (...args: never[]) => unknown> = {
    BOOL: Uint8Array,
    U8: Uint8Array,
    I8: Int8Array,
    U16: Uint16Array,
    I16: Int16Array,
    F16: Uint16Array,
    BF16: Uint16Array,
    U32: Uint32Array,
    I32: Int32Array,
    F32: Float32Array,
    U64: BigUint64Array,
    I64: BigInt64Array,
    F64: Float64Array,
  };

  it('round-trips a tensor of every dtype, with metadata, as the natural typed array', async () => {
    const file = tmpFile();
    const tensors = ALL_DTYPES.map((dt, i) => randomTensor(`t_${dt}`, dt, [i + 1, 3]));
    await writeSafetensors(file, tensors, { format: 'pt', note: 'ünïcode ✓' });
    const f = await SafetensorsFile.open(file);
    try {
      assert.deepStrictEqual(
        [...f.header.metadata],
        [
          ['format', 'pt'],
          ['note', 'ünïcode ✓'],
        ],
      );
      assert.strictEqual(f.header.tensors.size, ALL_DTYPES.length);
      for (const t of tensors) {
        const e = f.entry(t.name);
        assert.strictEqual(e.dtype, t.dtype);
        assert.deepStrictEqual(e.shape, t.shape);
        const got = await f.readTensor(t.name);
        assert.strictEqual(got.constructor, expectedClass[t.dtype], t.dtype);
        assert.strictEqual(got.byteOffset % DTYPE_SIZE[t.dtype], 0);
        assert.deepStrictEqual(bytesOf(got), bytesOf(t.data));
      }
      // Laid out in the given order, back to back.
      const entries = tensors.map((t) => f.entry(t.name));
      for (let i = 1; i < entries.length; i++) assert.strictEqual(entries[i].begin, entries[i - 1].end);
      assert.strictEqual(entries[0].begin, 0);
    } finally {
      await f.close();
    }
  });

  it('round-trips typed values, including float16 and int64 extremes', async () => {
    const file = tmpFile();
    const f32 = new Float32Array([0, -0, 1.5, -Infinity, NaN, 3.4e38, 1e-45]);
    const i64 = new BigInt64Array([0n, -1n, 9223372036854775807n, -9223372036854775808n]);
    const f16 = encodeFloat16(new Float32Array([0.5, -65504, 6e-8]));
    await writeSafetensors(file, [
      { name: 'f32', dtype: 'F32', shape: [7], data: f32 },
      { name: 'i64', dtype: 'I64', shape: [2, 2], data: i64 },
      { name: 'f16', dtype: 'F16', shape: [3], data: f16 },
    ]);
    const f = await SafetensorsFile.open(file);
    try {
      assert.deepStrictEqual(bytesOf(await f.readTensor('f32')), bytesOf(f32));
      assert.deepStrictEqual([...((await f.readTensor('i64')) as BigInt64Array)], [...i64]);
      assert.deepStrictEqual([...decodeFloat16((await f.readTensor('f16')) as Uint16Array)], [0.5, -65504, 5.960464477539063e-8]);
    } finally {
      await f.close();
    }
  });

  it('pads the header with spaces so data starts at a multiple of 8, whatever the name lengths', () => {
    for (let len = 0; len <= 24; len++) {
      for (const metadata of [undefined, { k: 'v'.repeat(len) }]) {
        const tensors = [randomTensor('x'.repeat(len), 'U8', [len]), randomTensor('y', 'F32', [2])];
        const prefix = encodeSafetensorsHeader(tensors, metadata);
        assert.strictEqual(prefix.length % 8, 0);
        const n = Number(new DataView(prefix.buffer).getBigUint64(0, true));
        assert.strictEqual(n, prefix.length - 8);
        const text = new TextDecoder().decode(prefix.subarray(8));
        assert.match(text, /^\{.*\} *$/);
        assert.ok(text.length - text.trimEnd().length < 8, 'no more padding than needed');
        const dataSize = tensors.reduce((a, t) => a + t.data.byteLength, 0);
        const header = parseSafetensorsHeader(prefix, prefix.length + dataSize, 'mem');
        assert.strictEqual(header.dataStart, prefix.length);
        assert.strictEqual(header.dataStart % 8, 0);
      }
    }
  });

  it('writes views that are slices of a larger buffer, not the whole buffer', async () => {
    const file = tmpFile();
    const backing = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]);
    await writeSafetensors(file, [
      { name: 'mid', dtype: 'F32', shape: [3], data: backing.subarray(2, 5) },
      { name: 'bytes', dtype: 'U8', shape: [2], data: new Uint8Array(backing.buffer, 5, 2) },
    ]);
    const f = await SafetensorsFile.open(file);
    try {
      assert.deepStrictEqual([...((await f.readTensor('mid')) as Float32Array)], [3, 4, 5]);
      assert.deepStrictEqual(bytesOf(await f.readTensor('bytes')), new Uint8Array(backing.buffer, 5, 2));
      assert.strictEqual(f.header.fileSize, f.header.dataStart + 14);
    } finally {
      await f.close();
    }
  });

  it('handles zero-size tensors, scalars and an empty file', async () => {
    const file = tmpFile();
    const tensors: TensorToWrite[] = [
      randomTensor('empty1', 'F32', [0]),
      randomTensor('scalar', 'F64', []),
      randomTensor('empty2', 'I64', [3, 0, 2]),
      randomTensor('after', 'U8', [2]),
      // Zero rows make the tensor empty however large the other dimensions are.
      { name: 'huge-but-empty', dtype: 'F32', shape: [0, 2 ** 40, 2 ** 40], data: new Float32Array(0) },
    ];
    await writeSafetensors(file, tensors);
    const f = await SafetensorsFile.open(file);
    try {
      assert.strictEqual(((await f.readTensor('empty1')) as Float32Array).length, 0);
      assert.deepStrictEqual(bytesOf(await f.readTensor('scalar')), bytesOf(tensors[1].data));
      assert.strictEqual(((await f.readTensor('empty2')) as BigInt64Array).length, 0);
      assert.deepStrictEqual(bytesOf(await f.readTensor('after')), bytesOf(tensors[3].data));
      assert.strictEqual((await f.readRows('huge-but-empty', [], 0, 5)).length, 0);
      await assert.rejects(f.readRows('huge-but-empty', [0], 0, 1), isCode('bad-request', file));
      await assert.rejects(f.readRows('scalar', [0], 0, 1), isCode('bad-request', file));
    } finally {
      await f.close();
    }
    const none = tmpFile();
    await writeSafetensors(none, []);
    const g = await SafetensorsFile.open(none);
    assert.strictEqual(g.header.tensors.size, 0);
    assert.strictEqual(g.header.fileSize, g.header.dataStart);
    await g.close();
  });

  it('treats names like __proto__ and constructor as ordinary tensor names', async () => {
    const file = tmpFile();
    const names = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', '', 'é层 "quoted" \\ \n'];
    const tensors = names.map((n, i) => randomTensor(n, 'I32', [i + 1]));
    // JSON.parse, because an object literal would treat __proto__ as the prototype rather than a key.
    await writeSafetensors(file, tensors, JSON.parse('{"__proto__":"meta-proto","constructor":"c"}') as Record<string, string>);
    const f = await SafetensorsFile.open(file);
    try {
      assert.deepStrictEqual([...f.header.tensors.keys()].sort(), [...names].sort());
      for (const t of tensors) assert.deepStrictEqual(bytesOf(await f.readTensor(t.name)), bytesOf(t.data));
      assert.deepStrictEqual(
        [...f.header.metadata],
        [
          ['__proto__', 'meta-proto'],
          ['constructor', 'c'],
        ],
      );
      assert.throws(() => f.entry('valueOf'), isCode('corrupt', file));
    } finally {
      await f.close();
    }
    // The parser neither picked up nor polluted Object.prototype.
    assert.strictEqual(({} as Record<string, unknown>).dtype, undefined);
  });

  it('parses a hand-written "__proto__" tensor into the map', () => {
    const json = '{"__proto__":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"constructor":{"dtype":"U8","shape":[],"data_offsets":[2,3]}}';
    const text = new TextEncoder().encode(json);
    const bytes = new Uint8Array(8 + text.length + 3);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(text.length), true);
    bytes.set(text, 8);
    const h = parseSafetensorsHeader(bytes, bytes.length, 'mem');
    assert.deepStrictEqual(h.tensors.get('__proto__'), { name: '__proto__', dtype: 'U8', shape: [2], begin: 0, end: 2 });
    assert.deepStrictEqual(h.tensors.get('constructor'), { name: 'constructor', dtype: 'U8', shape: [], begin: 2, end: 3 });
    // A data section that does not start at a multiple of 8 is not padded, but still valid.
    assert.notStrictEqual(h.dataStart % 8, 0);
  });

  it('refuses to encode inconsistent tensors', () => {
    const bad: [string, TensorToWrite[], RegExp][] = [
      ['byte length', [{ name: 'a', dtype: 'F32', shape: [3], data: new Uint8Array(11) }], /needs 12 bytes but its data has 11/],
      ['duplicate', [randomTensor('a', 'U8', [1]), randomTensor('a', 'U8', [1])], /appears twice/],
      ['reserved', [randomTensor('__metadata__', 'U8', [1])], /reserved/],
      ['shape', [{ name: 'a', dtype: 'U8', shape: [-1], data: new Uint8Array(0) }], /non-negative/],
      ['dtype', [{ name: 'a', dtype: 'F8' as SafetensorsDType, shape: [1], data: new Uint8Array(1) }], /unknown dtype/],
      ['overflowing shape', [{ name: 'a', dtype: 'F32', shape: [2 ** 40, 2 ** 40], data: new Uint8Array(4) }], /needs 4835703278458516698824704 bytes/],
    ];
    for (const [what, tensors, message] of bad) {
      assert.throws(
        () => encodeSafetensorsHeader(tensors),
        (err: unknown) => isCode('internal')(err) && message.test((err as Error).message),
        what,
      );
    }
    assert.throws(() => encodeSafetensorsHeader([], { k: 3 } as unknown as Record<string, string>), isCode('internal'));
  });

  it('reports a missing file as not-found and a directory as corrupt, both naming the path', async () => {
    const missing = path.join(dir, 'missing.safetensors');
    await assert.rejects(SafetensorsFile.open(missing), isCode('not-found', missing));
    const below = path.join(dir, 'missing-dir', 'x.safetensors');
    await assert.rejects(SafetensorsFile.open(below), isCode('not-found', below));
    const folder = path.join(dir, 'folder.safetensors');
    mkdirSync(folder);
    await assert.rejects(SafetensorsFile.open(folder), isCode('corrupt', folder));
  });

  it('refuses a FIFO without blocking on it', async function () {
    if (process.platform === 'win32') this.skip();
    const fifo = path.join(dir, 'fifo.safetensors');
    execFileSync('mkfifo', [fifo]);
    await assert.rejects(SafetensorsFile.open(fifo), (err: unknown) => isCode('corrupt', fifo)(err) && /not a regular file/.test((err as Error).message));
  });

  it('names the missing tensor exactly', async () => {
    const file = tmpFile();
    await writeSafetensors(file, [randomTensor('a', 'U8', [1])]);
    const f = await SafetensorsFile.open(file);
    try {
      assert.throws(
        () => f.entry('b'),
        (err: unknown) => isCode('corrupt', file)(err) && (err as CnnSlicerError).detail === 'no tensor "b"',
      );
      await assert.rejects(f.readTensor('b'), isCode('corrupt', file));
    } finally {
      await f.close();
    }
  });

  it('reads byte ranges and refuses ranges outside the tensor', async () => {
    const file = tmpFile();
    const a = randomTensor('a', 'U8', [10]);
    const b = randomTensor('b', 'F32', [5]);
    await writeSafetensors(file, [a, b]);
    const f = await SafetensorsFile.open(file);
    try {
      assert.deepStrictEqual(await f.readBytes('b', 4, 8), bytesOf(b.data).subarray(4, 12));
      assert.deepStrictEqual(await f.readBytes('b', 0, 20), bytesOf(b.data));
      assert.deepStrictEqual(await f.readBytes('a', 10, 0), new Uint8Array(0));
      for (const [off, len] of [
        [0, 21],
        [16, 5],
        [-1, 2],
        [0.5, 1],
        [0, -1],
        [Number.MAX_SAFE_INTEGER, 1],
      ]) {
        await assert.rejects(f.readBytes('b', off, len), isCode('bad-request', file), `[${off}, +${len})`);
      }
    } finally {
      await f.close();
    }
  });

  it('readRows returns exactly the requested slices of readTensor, for random shapes, rows and ranges', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ALL_DTYPES),
        fc.integer({ min: 1, max: 12 }),
        fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 0, maxLength: 3 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        fc.nat(),
        fc.nat(),
        async (dtype, numRows, rest, rowSeeds, a, b) => {
          const rowElems = rest.reduce((x, y) => x * y, 1);
          const start = a % (rowElems + 1);
          const count = b % (rowElems - start + 1);
          const rows = rowSeeds.map((s) => s % numRows);
          const file = tmpFile();
          const t = randomTensor('t', dtype, [numRows, ...rest]);
          await writeSafetensors(file, [randomTensor('before', 'U8', [3]), t, randomTensor('after', 'U8', [5])]);
          const f = await SafetensorsFile.open(file);
          try {
            const whole = bytesOf(await f.readTensor('t'));
            const size = DTYPE_SIZE[dtype];
            const expected = new Uint8Array(rows.length * count * size);
            rows.forEach((r, i) => expected.set(whole.subarray((r * rowElems + start) * size, (r * rowElems + start + count) * size), i * count * size));
            assert.deepStrictEqual(await f.readRows('t', rows, start, count), expected);
          } finally {
            await f.close();
            rmSync(file);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  describe('readRows coalescing', () => {
    let file: string;
    let small: TensorToWrite; // [64, 1000] F32: 4000-byte rows
    let wide: TensorToWrite; // [8, 20000] F32: 80000-byte rows, more than the coalescing gap
    let big: TensorToWrite; // [40, 262144] F32: 1 MiB rows
    before(async () => {
      file = tmpFile();
      small = randomTensor('small', 'F32', [64, 1000]);
      wide = randomTensor('wide', 'F32', [8, 20000]);
      big = randomTensor('big', 'F32', [40, 262144]);
      await writeSafetensors(file, [small, wide, big]);
    });

    function expectedRows(t: TensorToWrite, rows: number[], start: number, count: number): Uint8Array {
      const rowElems = t.shape.slice(1).reduce((a, b) => a * b, 1);
      const src = bytesOf(t.data);
      const out = new Uint8Array(rows.length * count * 4);
      rows.forEach((r, i) => out.set(src.subarray((r * rowElems + start) * 4, (r * rowElems + start + count) * 4), i * count * 4));
      return out;
    }

    async function readCounting(t: TensorToWrite, rows: number[], start: number, count: number): Promise<number> {
      const f = await SafetensorsFile.open(file);
      try {
        const before = f.fsReadCount;
        const got = await f.readRows(t.name, rows, start, count);
        assert.deepStrictEqual(got, expectedRows(t, rows, start, count));
        return f.fsReadCount - before;
      } finally {
        await f.close();
      }
    }

    const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);

    it('reads consecutive whole rows in one read', async () => {
      assert.strictEqual(await readCounting(small, range(0, 64), 0, 1000), 1);
      assert.strictEqual(await readCounting(small, range(10, 20), 0, 1000), 1);
    });

    it('reads rows asked for out of order, or repeated, in one read', async () => {
      assert.strictEqual(await readCounting(small, range(0, 64).reverse(), 0, 1000), 1);
      assert.strictEqual(await readCounting(small, [5, 3, 4, 4, 3, 5, 5], 0, 1000), 1);
      assert.strictEqual(await readCounting(small, [7, 7, 7], 0, 1000), 1);
    });

    it('reads partial rows with small gaps between them in one read', async () => {
      assert.strictEqual(await readCounting(small, [0, 2, 4, 6, 15, 1], 100, 10), 1);
    });

    it('does not read across gaps larger than the coalescing limit', async () => {
      assert.strictEqual(await readCounting(wide, [0, 2, 4, 6], 0, 10), 4);
      assert.strictEqual(await readCounting(wide, [1, 2, 3], 0, 20000), 1); // whole rows are contiguous whatever their size
      assert.strictEqual(await readCounting(wide, [6, 0, 6, 1], 5, 10), 3);
    });

    it('caps a coalesced read at a few MiB', async () => {
      assert.strictEqual(await readCounting(big, range(0, 40), 0, 262144), 5);
      assert.strictEqual(await readCounting(big, [39, 0], 262143, 1), 2);
    });

    it('refuses rows and element ranges outside the tensor', async () => {
      const f = await SafetensorsFile.open(file);
      try {
        for (const [rows, start, count] of [
          [[64], 0, 1],
          [[-1], 0, 1],
          [[1.5], 0, 1],
          [[0], 999, 2],
          [[0], -1, 1],
          [[0], 0, 1001],
          [[], 0, 1001],
          [[NaN], 0, 1],
        ] as [number[], number, number][]) {
          await assert.rejects(f.readRows('small', rows, start, count), isCode('bad-request', file), JSON.stringify([rows, start, count]));
        }
      } finally {
        await f.close();
      }
    });
  });

  it('refuses reads after close, and close is idempotent', async () => {
    const file = tmpFile();
    await writeSafetensors(file, [randomTensor('a', 'U8', [4])]);
    const f = await SafetensorsFile.open(file);
    await f.close();
    await f.close();
    await assert.rejects(f.readTensor('a'), isCode('internal', file));
  });

  it('leaves only the final file behind after writing', async () => {
    const sub = path.join(dir, 'clean');
    mkdirSync(sub);
    await writeSafetensors(path.join(sub, 'x.safetensors'), [randomTensor('a', 'U8', [4])]);
    assert.deepStrictEqual(readdirSync(sub), ['x.safetensors']);
  });
});

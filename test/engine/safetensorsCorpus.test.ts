// Malformed safetensors files: every one must be refused as CnnSlicerError('corrupt') naming the
// file, with a message that says what is wrong, and nothing a file contains may make the reader
// throw anything else or hang.

import * as assert from 'node:assert';
import { promises as fsp, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { CnnSlicerError } from '../../src/shared/errors';
import {
  DTYPE_SIZE,
  MAX_HEADER_BYTES,
  SafetensorsFile,
  parseSafetensorsHeader,
  type SafetensorsDType,
  type SafetensorsHeader,
} from '../../src/core/run/safetensors';
import { encodeSafetensorsHeader, type TensorToWrite } from '../../src/core/run/safetensorsWrite';

const ALL_DTYPES = Object.keys(DTYPE_SIZE) as SafetensorsDType[];

/** A file: the 8-byte length (the header's own length unless `length` says otherwise), the header, then `data` zero bytes. */
function build(header: string | Uint8Array, data: number, length?: bigint): Uint8Array {
  const h = typeof header === 'string' ? new TextEncoder().encode(header) : header;
  const out = new Uint8Array(8 + h.length + data);
  new DataView(out.buffer).setBigUint64(0, length ?? BigInt(h.length), true);
  out.set(h, 8);
  return out;
}

const T = (dtype: string, shape: unknown, offsets: unknown) => ({ dtype, shape, data_offsets: offsets });
const json = (o: unknown) => JSON.stringify(o);

interface Case {
  readonly what: string;
  readonly bytes: Uint8Array;
  /** The file's size when it is larger than `bytes` (the rest is zeros, sparse on disk). */
  readonly fileSize?: number;
  readonly message: RegExp;
}

const deep = 100_000;
const cases: Case[] = [
  { what: 'empty file', bytes: new Uint8Array(0), message: /file is 0 bytes, too short/ },
  { what: '7-byte file', bytes: new Uint8Array(7), message: /file is 7 bytes, too short/ },
  { what: 'header length beyond the file', bytes: build('{}', 10, 1000n), message: /header length 1000 exceeds file size 20/ },
  {
    what: 'header length beyond the cap',
    bytes: build('', 0, BigInt(MAX_HEADER_BYTES + 1)),
    fileSize: MAX_HEADER_BYTES + 100,
    message: /header length 100000001 exceeds the limit of 100000000 bytes/,
  },
  { what: 'header length the largest u64', bytes: build('{}', 0, 2n ** 64n - 1n), message: /header length 18446744073709551615 exceeds file size 10/ },
  { what: 'header length 2^53 + 1, which a double would round', bytes: build('{}', 0, 2n ** 53n + 1n), message: /header length 9007199254740993 exceeds/ },
  { what: 'empty header', bytes: build('', 0), message: /not valid JSON/ },
  { what: 'not JSON', bytes: build('{dtype: F32}', 0), message: /not valid JSON/ },
  { what: 'JSON followed by garbage', bytes: build('{} x', 0), message: /not valid JSON/ },
  { what: 'header padded with NULs instead of spaces', bytes: build('{}\0\0\0\0\0\0', 0), message: /not valid JSON/ },
  { what: 'JSON array', bytes: build('[]', 0), message: /must be a JSON object, found an array/ },
  { what: 'JSON null', bytes: build('null', 0), message: /must be a JSON object, found null/ },
  { what: 'JSON number', bytes: build('42', 0), message: /must be a JSON object, found the number 42/ },
  { what: 'JSON string', bytes: build('"{}"', 0), message: /must be a JSON object, found the string/ },
  { what: 'deeply nested array', bytes: build('['.repeat(deep) + ']'.repeat(deep), 0), message: /must be a JSON object|not valid JSON/ },
  {
    what: 'invalid UTF-8 in a name',
    bytes: build(
      new Uint8Array([...new TextEncoder().encode('{"'), 0xff, 0xfe, ...new TextEncoder().encode('":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}')]),
      0,
    ),
    message: /not valid UTF-8/,
  },
  { what: 'overlong UTF-8 encoding', bytes: build(new Uint8Array([0x7b, 0x22, 0xc0, 0xaf, 0x22, 0x3a, 0x31, 0x7d]), 0), message: /not valid UTF-8/ },
  { what: 'UTF-8 byte order mark', bytes: build(new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d]), 0), message: /not valid JSON/ },
  { what: 'unknown dtype', bytes: build(json({ a: T('F8', [2], [0, 2]) }), 2), message: /tensor "a" has unknown dtype "F8"/ },
  { what: 'lower-case dtype', bytes: build(json({ a: T('f32', [1], [0, 4]) }), 4), message: /unknown dtype "f32"/ },
  { what: 'dtype naming an Object.prototype member', bytes: build(json({ a: T('constructor', [1], [0, 4]) }), 4), message: /unknown dtype "constructor"/ },
  { what: 'dtype not a string', bytes: build(json({ a: { dtype: 4, shape: [1], data_offsets: [0, 4] } }), 4), message: /unknown dtype the number 4/ },
  { what: 'negative dimension', bytes: build(json({ a: T('U8', [-1], [0, 0]) }), 0), message: /shape has the number -1/ },
  { what: 'fractional dimension', bytes: build(json({ a: T('U8', [1.5], [0, 1]) }), 1), message: /shape has the number 1.5/ },
  { what: 'dimension as a string', bytes: build(json({ a: T('U8', ['2'], [0, 2]) }), 2), message: /shape has the string "2"/ },
  {
    what: 'dimension beyond 2^53',
    bytes: build('{"a":{"dtype":"U8","shape":[9007199254740993],"data_offsets":[0,0]}}', 0),
    message: /shape has the number 9007199254740992/,
  },
  { what: 'shape not an array', bytes: build(json({ a: T('U8', 3, [0, 3]) }), 3), message: /shape must be an array, found the number 3/ },
  {
    what: 'deeply nested shape',
    bytes: build(`{"a":{"dtype":"U8","shape":${'['.repeat(deep)}${']'.repeat(deep)},"data_offsets":[0,0]}}`, 0),
    message: /shape has an array|not valid JSON/,
  },
  { what: 'missing data_offsets', bytes: build(json({ a: { dtype: 'U8', shape: [1] } }), 1), message: /tensor "a" has no data_offsets/ },
  { what: 'missing dtype', bytes: build(json({ a: { shape: [1], data_offsets: [0, 1] } }), 1), message: /tensor "a" has no dtype/ },
  { what: 'missing shape', bytes: build(json({ a: { dtype: 'U8', data_offsets: [0, 1] } }), 1), message: /tensor "a" has no shape/ },
  { what: 'data_offsets of one element', bytes: build(json({ a: T('U8', [1], [1]) }), 1), message: /data_offsets must be \[begin, end\], found 1 elements/ },
  {
    what: 'data_offsets not an array',
    bytes: build(json({ a: T('U8', [1], { begin: 0, end: 1 }) }), 1),
    message: /data_offsets must be \[begin, end\], found an object/,
  },
  { what: 'negative offset', bytes: build(json({ a: T('U8', [4], [-4, 0]) }), 0), message: /data_offsets must be non-negative integers/ },
  { what: 'offsets as strings', bytes: build(json({ a: T('U8', [1], ['0', '1']) }), 1), message: /data_offsets must be non-negative integers/ },
  { what: 'fractional offset', bytes: build(json({ a: T('U8', [1], [0, 1.5]) }), 1), message: /data_offsets must be non-negative integers/ },
  { what: 'begin after end', bytes: build(json({ a: T('U8', [0], [8, 4]) }), 8), message: /data_offsets begin 8 is after end 4/ },
  {
    what: 'byte length mismatch',
    bytes: build(json({ a: T('F32', [3], [0, 8]) }), 8),
    message: /dtype F32 and shape \[3\] needs 12 bytes but data_offsets \[0, 8\] span 8/,
  },
  {
    what: 'shape whose product overflows a double',
    bytes: build(json({ a: T('F32', [2 ** 40, 2 ** 40], [0, 4]) }), 4),
    message: /needs 4835703278458516698824704 bytes but data_offsets \[0, 4\] span 4/,
  },
  {
    what: 'shape whose product wraps a 64-bit integer to the right size',
    // 2^62 × 4 bytes wraps to 0 in u64 arithmetic: must not pass as an empty tensor.
    bytes: build('{"a":{"dtype":"F32","shape":[4194304,4194304,262144],"data_offsets":[0,0]}}', 0),
    message: /needs 18446744073709551616 bytes/,
  },
  {
    what: 'dimensions past 2^1000 before a zero, with data',
    bytes: build(json({ a: T('U8', [...Array<number>(21).fill(2 ** 52), 0], [0, 4]) }), 4),
    message: /needs 0 bytes but data_offsets \[0, 4\] span 4/,
  },
  { what: 'data not starting at 0', bytes: build(json({ a: T('U8', [2], [2, 4]) }), 4), message: /does not start at 0: the first tensor "a" begins at 2/ },
  {
    what: 'gap between tensors',
    bytes: build(json({ a: T('U8', [2], [0, 2]), b: T('U8', [2], [3, 5]) }), 5),
    message: /gap of 1 bytes between tensor "a" \(ends at 2\) and tensor "b" \(begins at 3\)/,
  },
  {
    what: 'overlapping tensors',
    bytes: build(json({ a: T('U8', [4], [0, 4]), b: T('U8', [2], [2, 4]) }), 4),
    message: /tensor "b" \[2, 4\] overlaps tensor "a" \[0, 4\]/,
  },
  { what: 'two tensors on the same bytes', bytes: build(json({ a: T('U8', [4], [0, 4]), b: T('I32', [1], [0, 4]) }), 4), message: /overlaps/ },
  {
    what: 'zero-size tensor inside another',
    bytes: build(json({ a: T('U8', [4], [0, 4]), b: T('U8', [0], [2, 2]) }), 4),
    message: /tensor "b" \[2, 2\] overlaps tensor "a"/,
  },
  { what: 'trailing bytes after the last tensor', bytes: build(json({ a: T('U8', [2], [0, 2]) }), 5), message: /3 trailing bytes after the last tensor/ },
  { what: 'data but no tensors', bytes: build('{}', 16), message: /16 trailing bytes/ },
  {
    what: 'truncated data',
    bytes: build(json({ a: T('F32', [4], [0, 16]) }), 10),
    message: /truncated: header says data ends at byte \d+ but the file has \d+ bytes/,
  },
  {
    what: 'metadata value not a string',
    bytes: build(json({ __metadata__: { epoch: 3 } }), 0),
    message: /__metadata__ value of "epoch" must be a string, found the number 3/,
  },
  { what: 'metadata value null', bytes: build(json({ __metadata__: { k: null } }), 0), message: /__metadata__ value of "k" must be a string, found null/ },
  { what: 'metadata an array', bytes: build(json({ __metadata__: ['a'] }), 0), message: /__metadata__ must be an object of strings, found an array/ },
  { what: 'metadata a string', bytes: build(json({ __metadata__: 'x' }), 0), message: /__metadata__ must be an object of strings/ },
  { what: 'tensor entry a number', bytes: build(json({ a: 42 }), 0), message: /tensor "a" must be an object, found the number 42/ },
  { what: 'tensor entry an array', bytes: build(json({ a: ['U8', [1], [0, 1]] }), 1), message: /tensor "a" must be an object, found an array/ },
  { what: 'tensor entry null', bytes: build(json({ a: null }), 0), message: /tensor "a" must be an object, found null/ },
  {
    what: 'unexpected field in a tensor entry',
    bytes: build(json({ a: { ...T('U8', [1], [0, 1]), offset: 0 } }), 1),
    message: /tensor "a" has an unexpected field "offset"/,
  },
  {
    what: 'duplicate tensor name',
    bytes: build('{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', 1),
    message: /the key "a" twice/,
  },
  {
    what: 'duplicate name spelled with an escape',
    bytes: build('{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"\\u0061":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', 1),
    message: /the key "a" twice/,
  },
  {
    what: 'duplicate field inside a tensor entry',
    bytes: build('{"a":{"dtype":"F32","dtype":"U8","shape":[1],"data_offsets":[0,1]}}', 1),
    message: /the key "dtype" twice/,
  },
  {
    what: '__proto__ tensor with a bad entry',
    bytes: build('{"__proto__":{"dtype":"U8","shape":[2],"data_offsets":[0,1]}}', 1),
    message: /tensor "__proto__" of dtype U8/,
  },
];

function assertCorrupt(err: unknown, file: string, message?: RegExp): true {
  assert.ok(err instanceof CnnSlicerError, `expected a CnnSlicerError, got ${err instanceof Error ? `${err.constructor.name}: ${err.message}` : String(err)}`);
  assert.strictEqual(err.code, 'corrupt', err.message);
  assert.strictEqual(err.file, file);
  if (message !== undefined) assert.match(err.detail, message);
  return true;
}

/** The invariants every accepted header satisfies, checked independently of the parser. */
function assertConsistent(h: SafetensorsHeader, bytes: Uint8Array): void {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  assert.strictEqual(h.dataStart, 8 + n);
  assert.strictEqual(h.fileSize, bytes.length);
  const sorted = [...h.tensors.values()].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const t of sorted) {
    assert.strictEqual(h.tensors.get(t.name), t);
    assert.ok(ALL_DTYPES.includes(t.dtype));
    assert.strictEqual(t.begin, at);
    assert.strictEqual(BigInt(t.end - t.begin), t.shape.reduce((a, d) => a * BigInt(d), 1n) * BigInt(DTYPE_SIZE[t.dtype]));
    at = t.end;
  }
  assert.strictEqual(h.dataStart + at, h.fileSize);
}

describe('safetensors malformed corpus', function () {
  this.timeout(20000);
  let dir: string;
  let counter = 0;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'cnnslicer-corpus-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  async function writeCase(c: { bytes: Uint8Array; fileSize?: number }): Promise<string> {
    const file = path.join(dir, `case-${counter++}.safetensors`);
    await fsp.writeFile(file, c.bytes);
    if (c.fileSize !== undefined) await fsp.truncate(file, c.fileSize);
    return file;
  }

  it('has at least 20 distinct cases', () => {
    assert.ok(cases.length >= 20);
    assert.strictEqual(new Set(cases.map((c) => c.what)).size, cases.length);
    assert.strictEqual(new Set(cases.map((c) => Buffer.from(c.bytes).toString('base64'))).size, cases.length);
  });

  for (const c of cases) {
    it(`refuses ${c.what}`, async () => {
      const size = c.fileSize ?? c.bytes.length;
      assert.throws(
        () => parseSafetensorsHeader(c.bytes, size, 'mem.safetensors'),
        (err) => assertCorrupt(err, 'mem.safetensors', c.message),
      );
      const file = await writeCase(c);
      await assert.rejects(SafetensorsFile.open(file), (err) => assertCorrupt(err, file, c.message));
    });
  }

  it('accepts the valid neighbours of the corpus, so each refusal is for the reason named', async () => {
    const valid: [string, Uint8Array][] = [
      ['no tensors, no data', build('{}', 0)],
      ['only metadata', build(json({ __metadata__: { a: 'b' } }), 0)],
      ['empty metadata', build(json({ __metadata__: {} }), 0)],
      ['whitespace around the object', build(' \t\n{}\r\n  ', 0)],
      [
        'zero-size tensors sharing an offset with the next',
        build(json({ z1: T('U8', [0], [0, 0]), z2: T('F32', [3, 0], [0, 0]), a: T('U8', [2], [0, 2]), z3: T('I64', [0], [2, 2]) }), 2),
      ],
      ['tensors listed out of offset order', build(json({ b: T('U8', [2], [2, 4]), a: T('U8', [2], [0, 2]) }), 4)],
      ['negative zero dimension', build('{"a":{"dtype":"U8","shape":[-0, 3],"data_offsets":[0,0]}}', 0)],
      ['a huge shape with a zero dimension', build(json({ a: T('F64', [2 ** 40, 0, 2 ** 40], [0, 0]) }), 0)],
      // In doubles the leading dimensions multiply to Infinity, and Infinity × 0 is NaN.
      ['dimensions past 2^1000 before a zero', build(json({ a: T('U8', [...Array<number>(21).fill(2 ** 52), 0], [0, 0]) }), 0)],
      ['the same key in different objects', build('{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"__metadata__":{"a":"dtype","shape":"x"}}', 1)],
      ['a name with escapes', build('{"a\\"\\\\\\u00e9":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', 1)],
    ];
    for (const [what, bytes] of valid) {
      const h = parseSafetensorsHeader(bytes, bytes.length, 'mem');
      assertConsistent(h, bytes);
      const file = await writeCase({ bytes });
      const f = await SafetensorsFile.open(file);
      assert.strictEqual(f.header.tensors.size, h.tensors.size, what);
      await f.close();
    }
    const h = parseSafetensorsHeader(valid[7][1], valid[7][1].length, 'mem');
    assert.deepStrictEqual(h.tensors.get('a')?.shape, [2 ** 40, 0, 2 ** 40]);
    const negZero = parseSafetensorsHeader(valid[6][1], valid[6][1].length, 'mem');
    assert.ok(Object.is(negZero.tensors.get('a')?.shape[0], 0));
  });

  it('refuses a prefix shorter than the header it announces, with a clear message', () => {
    const bytes = build('{}', 6);
    assert.throws(
      () => parseSafetensorsHeader(bytes.subarray(0, 9), bytes.length, 'f'),
      (err) => assertCorrupt(err, 'f', /only 9 bytes of the file could be read, the header needs 10/),
    );
    assert.throws(
      () => parseSafetensorsHeader(bytes.subarray(0, 5), bytes.length, 'f'),
      (err) => assertCorrupt(err, 'f', /only 5 bytes/),
    );
  });

  it('reads a header from a prefix that holds more than the header', () => {
    const bytes = build(json({ a: T('U8', [3], [0, 3]) }), 3);
    const h = parseSafetensorsHeader(bytes, bytes.length, 'f');
    assert.deepStrictEqual(h.tensors.get('a'), { name: 'a', dtype: 'U8', shape: [3], begin: 0, end: 3 });
  });

  it('refuses a file that shrinks after it was opened, as corrupt', async () => {
    const bytes = build(json({ a: T('U8', [64], [0, 64]) }), 64);
    const file = await writeCase({ bytes });
    const f = await SafetensorsFile.open(file);
    try {
      await fsp.truncate(file, bytes.length - 10);
      await assert.rejects(f.readTensor('a'), (err) => assertCorrupt(err, file, /truncated/));
    } finally {
      await f.close();
    }
  });

  // ---- generated inputs ----

  /**
   * What the generated inputs ended as, by kind, so a property can also check that its generator
   * reaches the checks it is meant to exercise instead of failing every input at the first one.
   */
  let outcomes: string[] = [];
  function assertReached(expected: (RegExp | 'accepted')[]): void {
    for (const e of expected) {
      const hit = e === 'accepted' ? outcomes.includes('accepted') : outcomes.some((o) => e.test(o));
      assert.ok(hit, `no generated input reached ${String(e)} in ${outcomes.length} runs`);
    }
  }
  beforeEach(() => {
    outcomes = [];
  });

  /** Parses, and either checks the result's invariants or checks the error is a corrupt CnnSlicerError: never anything else. */
  function parseOrCorrupt(bytes: Uint8Array): void {
    let h: SafetensorsHeader;
    try {
      h = parseSafetensorsHeader(bytes, bytes.length, 'gen');
    } catch (err) {
      assertCorrupt(err, 'gen');
      outcomes.push((err as CnnSlicerError).detail);
      return;
    }
    outcomes.push('accepted');
    assertConsistent(h, bytes);
  }

  /** Opens from disk and reads every tensor and some rows; results must match the raw bytes, or the error must be a corrupt CnnSlicerError. */
  async function openOrCorrupt(bytes: Uint8Array): Promise<void> {
    const file = path.join(dir, `gen-${counter++}.safetensors`);
    await fsp.writeFile(file, bytes);
    try {
      let f: SafetensorsFile;
      try {
        f = await SafetensorsFile.open(file);
      } catch (err) {
        assertCorrupt(err, file);
        return;
      }
      try {
        assertConsistent(f.header, bytes);
        for (const e of f.header.tensors.values()) {
          const view = await f.readTensor(e.name);
          const raw = bytes.subarray(f.header.dataStart + e.begin, f.header.dataStart + e.end);
          assert.deepStrictEqual(new Uint8Array(view.buffer, view.byteOffset, view.byteLength), raw);
          if (e.shape.length > 0 && e.shape[0] > 0 && e.end > e.begin) {
            const rowBytes = (e.end - e.begin) / e.shape[0];
            const rows = [e.shape[0] - 1, 0, e.shape[0] - 1];
            const got = await f.readRows(e.name, rows, 0, rowBytes / DTYPE_SIZE[e.dtype]);
            rows.forEach((r, i) => assert.deepStrictEqual(got.subarray(i * rowBytes, (i + 1) * rowBytes), raw.subarray(r * rowBytes, (r + 1) * rowBytes)));
          }
        }
      } finally {
        await f.close();
      }
    } finally {
      await fsp.rm(file, { force: true });
    }
  }

  it('never throws anything but corrupt on arbitrary bytes', () => {
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      // Behind a length that fits, so the bytes reach the UTF-8 and JSON checks.
      fc.tuple(fc.uint8Array({ maxLength: 200 }), fc.nat({ max: 32 })).map(([h, d]) => build(h, d)),
    );
    fc.assert(fc.property(bytes, parseOrCorrupt), { numRuns: 1000 });
    assertReached([/too short/, /header length \d+ exceeds file size/, /not valid UTF-8/, /not valid JSON/]);
  });

  it('never throws anything but corrupt on arbitrary text behind a correct length', () => {
    const text = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.string({ unit: 'binary', maxLength: 100 }),
      fc.json({ maxDepth: 4 }),
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify({ a: v })),
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify({ __metadata__: v })),
      fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }).map((d) => JSON.stringify({ __metadata__: d })),
    );
    // Mostly no data, which is all a header without tensors may be followed by.
    const dataLength = fc.oneof(fc.constant(0), fc.nat({ max: 64 }));
    fc.assert(
      fc.property(text, dataLength, (t, data) => parseOrCorrupt(build(t, data))),
      { numRuns: 1000 },
    );
    assertReached(['accepted', /not valid JSON/, /must be a JSON object/, /tensor "a" must be an object/, /__metadata__/]);
  });

  // Entries built from plausible and implausible parts, so generated headers reach every field check.
  const dtypeArb = fc.oneof(fc.constantFrom<unknown>(...ALL_DTYPES, 'F8', 'f32', 'constructor', '__proto__', ''), fc.jsonValue({ maxDepth: 1 }));
  const dimArb = fc.oneof(fc.nat({ max: 5 }), fc.constantFrom<unknown>(-1, 1.5, 2 ** 40, 2 ** 53, -0, '2', null, []));
  const shapeArb = fc.oneof({ weight: 4, arbitrary: fc.array(dimArb, { maxLength: 4 }) }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) });
  const offsetArb = fc.oneof(fc.nat({ max: 80 }), fc.constantFrom<unknown>(-1, 0.5, 2 ** 53, '0', null));
  const offsetsArb = fc.oneof({ weight: 4, arbitrary: fc.tuple(offsetArb, offsetArb) }, { weight: 1, arbitrary: fc.array(offsetArb, { maxLength: 3 }) });
  const entryArb = fc.oneof(
    { weight: 6, arbitrary: fc.record({ dtype: dtypeArb, shape: shapeArb, data_offsets: offsetsArb }, { requiredKeys: [] }) },
    { weight: 1, arbitrary: fc.record({ dtype: dtypeArb, shape: shapeArb, data_offsets: offsetsArb, extra: fc.jsonValue({ maxDepth: 1 }) }) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  );
  const nameArb = fc.oneof(fc.constantFrom('a', 'b', 'c', '__proto__', 'constructor', '__metadata__'), fc.string({ maxLength: 6 }));
  const metadataArb = fc.oneof(fc.dictionary(fc.string({ maxLength: 4 }), fc.string({ maxLength: 4 }), { maxKeys: 3 }), fc.jsonValue({ maxDepth: 2 }));

  /**
   * Entries whose sizes are right, laid out one after another but with the occasional nudge of a
   * begin offset and in shuffled order, so generated headers reach the layout checks.
   */
  const layoutArb = fc
    .array(
      fc.record({
        dtype: fc.constantFrom(...ALL_DTYPES),
        shape: fc.array(fc.nat({ max: 4 }), { maxLength: 3 }),
        nudge: fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -8, max: 8 }) }),
        // An extra dimension of 2 that the offsets do not account for: the size check must catch it.
        reshape: fc.oneof({ weight: 8, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
        sortKey: fc.nat(),
      }),
      { maxLength: 5 },
    )
    .map((specs) => {
      let at = 0;
      const pairs = specs.map((sp, i): [string, unknown, number] => {
        const size = sp.shape.reduce((a, b) => a * b, 1) * DTYPE_SIZE[sp.dtype];
        const begin = Math.max(0, at + sp.nudge);
        at = begin + size;
        return [`t${i}`, T(sp.dtype, sp.reshape ? [...sp.shape, 2] : sp.shape, [begin, begin + size]), sp.sortKey];
      });
      pairs.sort((x, y) => x[2] - y[2]);
      return { pairs: pairs.map(([n, e]): [string, unknown] => [n, e]), end: at };
    });

  /** Header text from [name, entry] pairs: written by hand so "__proto__" and repeated names reach the parser as such. */
  function headerText(pairs: [string, unknown][]): string {
    return `{${pairs.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`;
  }

  it('never throws anything but corrupt on structured headers of random tensors', () => {
    const loose = fc
      .tuple(
        fc.array(fc.tuple(nameArb, fc.oneof({ weight: 5, arbitrary: entryArb }, { weight: 1, arbitrary: metadataArb })), { maxLength: 5 }),
        fc.nat({ max: 100 }),
      )
      .map(([pairs, data]) => build(headerText(pairs), data));
    const laidOut = fc
      .tuple(layoutArb, fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -8, max: 8 }) }))
      .map(([{ pairs, end }, slack]) => build(headerText(pairs), Math.max(0, end + slack)));
    fc.assert(fc.property(fc.oneof(loose, laidOut), parseOrCorrupt), { numRuns: 1500 });
    assertReached([
      'accepted',
      /does not start at 0/,
      /gap of/,
      /overlaps/,
      /trailing bytes/,
      /^truncated/,
      /needs \d+ bytes but data_offsets/,
      /unexpected field/,
      /twice/,
      /unknown dtype/,
      /shape has/,
      /data_offsets must be/,
      /__metadata__/,
    ]);
  });

  // ---- valid files with mutations, read from disk ----

  const tensorArb: fc.Arbitrary<TensorToWrite> = fc
    .tuple(fc.constantFrom(...ALL_DTYPES), fc.array(fc.nat({ max: 4 }), { maxLength: 3 }), fc.nat())
    .map(([dtype, shape, seed]) => {
      const n = shape.reduce((a, b) => a * b, 1) * DTYPE_SIZE[dtype];
      const data = new Uint8Array(n).map((_, i) => (seed + i * 131) & 0xff);
      return { name: '', dtype, shape, data };
    });
  const validFileArb = fc
    .tuple(
      fc.uniqueArray(
        fc.tuple(
          fc.string({ maxLength: 5 }).filter((s) => s !== '__metadata__'),
          tensorArb,
        ),
        { selector: ([n]) => n, minLength: 1, maxLength: 4 },
      ),
      fc.option(fc.dictionary(fc.string({ maxLength: 4 }), fc.string({ maxLength: 4 }), { maxKeys: 2 }), { nil: undefined }),
    )
    .map(([named, metadata]) => {
      const tensors = named.map(([name, t]) => ({ ...t, name }));
      const header = encodeSafetensorsHeader(tensors, metadata);
      const total = tensors.reduce((a, t) => a + t.data.byteLength, header.length);
      const bytes = new Uint8Array(total);
      bytes.set(header, 0);
      let at = header.length;
      for (const t of tensors) {
        bytes.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
        at += t.data.byteLength;
      }
      return bytes;
    });

  type Mutation =
    | { kind: 'flip'; at: number; bit: number }
    | { kind: 'flip-tail'; fromEnd: number; bit: number }
    | { kind: 'truncate'; at: number }
    | { kind: 'cut-end'; count: number }
    | { kind: 'append'; bytes: Uint8Array }
    | { kind: 'edit-header'; at: number; op: 'delete' | 'insert' | 'replace'; char: string; fixLength: boolean }
    | { kind: 'edit-digit'; nth: number; digit: string }
    | { kind: 'length'; value: bigint }
    | { kind: 'length-delta'; delta: number };
  const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat({ max: 7 }) }),
    // Near the end, mostly in tensor data: the file stays valid and must read back as the new bytes.
    fc.record({ kind: fc.constant('flip-tail' as const), fromEnd: fc.nat({ max: 31 }), bit: fc.nat({ max: 7 }) }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('cut-end' as const), count: fc.integer({ min: 1, max: 16 }) }),
    fc.record({ kind: fc.constant('append' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
    fc.record({
      kind: fc.constant('edit-header' as const),
      at: fc.nat(),
      op: fc.constantFrom('delete' as const, 'insert' as const, 'replace' as const),
      char: fc.constantFrom('0', '1', '9', '-', '.', 'e', ',', ']', '[', '{', '}', '"', ':', ' ', 'x', '\\'),
      fixLength: fc.boolean(),
    }),
    // Keeps the JSON valid while changing a shape or an offset: reaches the size and layout checks.
    fc.record({ kind: fc.constant('edit-digit' as const), nth: fc.nat(), digit: fc.constantFrom('0', '1', '2', '3', '4', '7', '8', '9') }),
    fc.record({ kind: fc.constant('length' as const), value: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) }),
    fc.record({ kind: fc.constant('length-delta' as const), delta: fc.integer({ min: -9, max: 9 }) }),
  );

  /** The header text of a file and the bytes after it, when its length field fits the file. */
  function splitHeader(bytes: Uint8Array): { text: string; n: bigint; data: Uint8Array } | undefined {
    if (bytes.length < 8) return undefined;
    const n = new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true);
    if (8n + n > BigInt(bytes.length)) return undefined;
    const end = 8 + Number(n);
    return { text: new TextDecoder().decode(bytes.subarray(8, end)), n, data: bytes.subarray(end) };
  }

  function mutate(src: Uint8Array, m: Mutation): Uint8Array {
    const bytes = new Uint8Array(src);
    if (bytes.length === 0) return bytes;
    switch (m.kind) {
      case 'flip':
        bytes[m.at % bytes.length] ^= 1 << m.bit;
        return bytes;
      case 'flip-tail':
        bytes[bytes.length - 1 - (m.fromEnd % bytes.length)] ^= 1 << m.bit;
        return bytes;
      case 'truncate':
        return bytes.subarray(0, m.at % bytes.length);
      case 'cut-end':
        return bytes.subarray(0, Math.max(0, bytes.length - m.count));
      case 'append':
        return concat(bytes, m.bytes);
      case 'edit-header': {
        const split = splitHeader(bytes);
        if (split === undefined) return bytes;
        const { text, n, data } = split;
        const at = m.at % (text.length + 1);
        const edited =
          m.op === 'delete'
            ? text.slice(0, at) + text.slice(at + 1)
            : m.op === 'insert'
              ? text.slice(0, at) + m.char + text.slice(at)
              : text.slice(0, at) + m.char + text.slice(at + 1);
        // Without fixLength the old length stays, so the header and data boundaries disagree.
        return concat(build(edited, 0, m.fixLength ? undefined : n), data);
      }
      case 'edit-digit': {
        const split = splitHeader(bytes);
        if (split === undefined) return bytes;
        const digits = [...split.text.matchAll(/[0-9]/g)].map((d) => d.index);
        if (digits.length === 0) return bytes;
        const at = digits[m.nth % digits.length];
        return concat(build(split.text.slice(0, at) + m.digit + split.text.slice(at + 1), 0), split.data);
      }
      case 'length':
        if (bytes.length < 8) return bytes;
        new DataView(bytes.buffer).setBigUint64(0, m.value, true);
        return bytes;
      case 'length-delta': {
        if (bytes.length < 8) return bytes;
        const view = new DataView(bytes.buffer);
        const n = view.getBigUint64(0, true) + BigInt(m.delta);
        view.setBigUint64(0, BigInt.asUintN(64, n), true);
        return bytes;
      }
    }
  }

  function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
    const out = new Uint8Array(a.length + b.length);
    out.set(a);
    out.set(b, a.length);
    return out;
  }

  it('reads every valid generated file back exactly', async () => {
    await fc.assert(
      fc.asyncProperty(validFileArb, async (bytes) => {
        assertConsistent(parseSafetensorsHeader(bytes, bytes.length, 'gen'), bytes);
        await openOrCorrupt(bytes);
      }),
      { numRuns: 200 },
    );
  });

  it('never throws anything but corrupt on mutated valid files, read from disk', async () => {
    await fc.assert(
      fc.asyncProperty(validFileArb, fc.array(mutationArb, { minLength: 1, maxLength: 3 }), async (bytes, mutations) => {
        const mutated = mutations.reduce(mutate, bytes);
        parseOrCorrupt(mutated);
        await openOrCorrupt(mutated);
      }),
      { numRuns: 400 },
    );
    assertReached(['accepted', /exceeds file size/, /not valid JSON/, /^truncated/, /trailing bytes/, /needs \d+ bytes but data_offsets/]);
  });
});

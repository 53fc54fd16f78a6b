// Runs cross the language boundary both ways: the Python package writes runs the engine reads, and
// the engine's writer produces runs the Python package reads. Both directions are checked bit for
// bit, float16 edge cases included, since a probe written in Python is the main way runs are made.
import * as assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { RunReader } from '../../src/engine/run/runReader';
import { RunWriter } from '../../src/core/run/runWriter';
import { SafetensorsFile } from '../../src/core/run/safetensors';
import { writeSafetensors } from '../../src/core/run/safetensorsWrite';
import { encodeFloat16, float16BitsToFloat32 } from '../../src/core/run/float16';
import { CnnSlicerError } from '../../src/shared/errors';
import type { LayerInfo, TensorDType } from '../../src/shared/runFormat';
import { seededRandom } from '../support/runFixtures';
import { bytesOf, float32Differences, float32FromBytes, parseOutput, requirePython, roundtrip, sha256 } from './pyhelpers';

function product(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/** The first 8 bytes of a safetensors file, as the header length. */
function headerLength(file: string): number {
  return Number(readFileSync(file).readBigUInt64LE(0));
}

describe('python interop', function () {
  let python: string;
  let tmp: string;

  before(function () {
    python = requirePython(this);
  });

  beforeEach(function () {
    tmp = mkdtempSync(path.join(tmpdir(), 'cnnslicer-py-'));
  });

  afterEach(function () {
    rmSync(tmp, { recursive: true, force: true });
  });

  describe('a run written by the Python RunWriter', function () {
    const layers: LayerInfo[] = [
      { name: 'features.0', kind: 'conv', shape: [4, 5, 5], op: 'Conv2d', source: { file: 'model.py', line: 7 } },
      { name: 'features.2', kind: 'pool', shape: [4, 2, 2], op: 'MaxPool2d' },
      { name: 'classifier', kind: 'linear', shape: [7] },
    ];
    const classes = ['cat', 'dog', 'oiseau é'];
    const n = 13;
    const inputShape = [1, 6, 6];
    const epochs: { epoch: number; dtype: TensorDType; metrics: Record<string, number | string> }[] = [
      { epoch: 0, dtype: 'float16', metrics: { loss: 'nan', accuracy: 0.25 } },
      { epoch: 3, dtype: 'float32', metrics: { loss: 0.5, accuracy: 0.75, gradNorm: 'inf' } },
    ];
    const tensorNames = [...layers.map((l) => l.name), 'logits'];
    const shapeOf = (name: string): number[] => (name === 'logits' ? [classes.length] : [...layers.find((l) => l.name === name)!.shape]);
    let run: string;
    let dump: string;

    beforeEach(async function () {
      run = path.join(tmp, 'run');
      dump = path.join(tmp, 'dump');
      const config = { seed: 20240611, n, inputShape, layers, classes, epochs, name: 'python-written', modelName: 'TinyNet' };
      await roundtrip(python, ['write-run', run, dump], { input: JSON.stringify(config), check: true });
    });

    it('has the manifest the spec describes, non-finite metrics written as null', async function () {
      const raw = JSON.parse(readFileSync(path.join(run, 'cnnslicer.json'), 'utf8'));
      assert.equal(raw.format, 'cnnslicer-run');
      assert.equal(raw.version, 1);
      assert.equal(raw.epochs[0].metrics.loss, null);
      assert.equal(raw.epochs[1].metrics.gradNorm, null);
      assert.match(raw.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
      assert.deepEqual(Object.keys(raw).sort(), ['classes', 'complete', 'createdAt', 'epochs', 'format', 'layers', 'model', 'name', 'probe', 'version']);

      const reader = await RunReader.open(run);
      try {
        const m = reader.info.manifest;
        assert.equal(m.name, 'python-written');
        assert.deepEqual(m.model, { name: 'TinyNet', framework: 'numpy' });
        assert.deepEqual(m.layers, layers);
        assert.deepEqual(m.classes, classes);
        assert.deepEqual(m.probe, { file: 'probe.safetensors', count: n, inputShape, description: 'seeded normal noise' });
        assert.equal(m.complete, true);
        assert.deepEqual(
          m.epochs.map((e) => [e.epoch, e.dtype, e.activations, e.checkpoint]),
          [
            [0, 'float16', 'epochs/epoch-0000/activations.safetensors', undefined],
            [3, 'float32', 'epochs/epoch-0003/activations.safetensors', undefined],
          ],
        );
        // The engine carries null (not finite) as an absent value.
        assert.ok('loss' in m.epochs[0].metrics);
        assert.equal(m.epochs[0].metrics.loss, undefined);
        assert.equal(m.epochs[0].metrics.accuracy, 0.25);
        assert.deepEqual(m.epochs[1].metrics, { loss: 0.5, accuracy: 0.75, gradNorm: undefined });
        assert.deepEqual(reader.info.incompleteEpochs, []);
      } finally {
        await reader.close();
      }
    });

    it('stores every tensor byte for byte as numpy holds it', async function () {
      for (const e of epochs) {
        const file = path.join(run, 'epochs', `epoch-${String(e.epoch).padStart(4, '0')}`, 'activations.safetensors');
        assert.equal(headerLength(file) % 8, 0, 'the header is padded to a multiple of 8');
        const st = await SafetensorsFile.open(file);
        try {
          assert.deepEqual([...st.header.tensors.keys()], tensorNames, 'layers in forward order, then logits');
          assert.deepEqual(Object.fromEntries(st.header.metadata), { format: 'cnnslicer-run', epoch: String(e.epoch) });
          for (const name of tensorNames) {
            const entry = st.header.tensors.get(name)!;
            assert.equal(entry.dtype, e.dtype === 'float16' ? 'F16' : 'F32', name);
            assert.deepEqual(entry.shape, [n, ...shapeOf(name)], name);
            const data = await st.readTensor(name);
            assert.ok(e.dtype === 'float16' ? data instanceof Uint16Array : data instanceof Float32Array, `${name}: typed array kind`);
            const expected = readFileSync(path.join(dump, String(e.epoch), `${name}.raw`));
            assert.ok(bytesOf(data).equals(expected), `epoch ${e.epoch} ${name}: bytes differ from numpy's tobytes()`);
          }
        } finally {
          await st.close();
        }
      }

      const probe = await SafetensorsFile.open(path.join(run, 'probe.safetensors'));
      try {
        assert.equal(probe.header.tensors.get('inputs')!.dtype, 'F32');
        assert.equal(probe.header.tensors.get('labels')!.dtype, 'I64');
        const labels = await probe.readTensor('labels');
        assert.ok(labels instanceof BigInt64Array);
        assert.deepEqual(Array.from(labels, Number), Array.from({ length: n }, (_, i) => i % classes.length));
        assert.ok(bytesOf(await probe.readTensor('inputs')).equals(readFileSync(path.join(dump, 'probe', 'inputs.raw'))));
        assert.ok(bytesOf(labels).equals(readFileSync(path.join(dump, 'probe', 'labels.raw'))));
      } finally {
        await probe.close();
      }
    });

    it('slices to numpy’s float32 values, float16 widened exactly', async function () {
      const reader = await RunReader.open(run);
      try {
        for (const e of epochs) {
          for (const name of tensorNames) {
            const expected = float32FromBytes(readFileSync(path.join(dump, String(e.epoch), `${name}.f32`)));
            const s = await reader.slice({ run, samples: { kind: 'all' }, layer: name, channel: 'all', epoch: e.epoch });
            assert.deepEqual(s.shape, [n, ...shapeOf(name)]);
            assert.deepEqual(Array.from(s.sampleIndices), Array.from({ length: n }, (_, i) => i));
            assert.deepEqual(float32Differences(s.data, expected), [], `epoch ${e.epoch} ${name}`);
          }
          // One channel of a map: the rows' channel-2 blocks, in sample order.
          const conv = layers[0];
          const per = product(conv.shape.slice(1));
          const all = float32FromBytes(readFileSync(path.join(dump, String(e.epoch), `${conv.name}.f32`)));
          const want = new Float32Array(n * per);
          for (let i = 0; i < n; i++) want.set(all.subarray(i * product(conv.shape) + 2 * per, i * product(conv.shape) + 3 * per), i * per);
          const one = await reader.slice({ run, samples: { kind: 'all' }, layer: conv.name, channel: 2, epoch: e.epoch });
          assert.deepEqual(one.shape, [n, 1, ...conv.shape.slice(1)]);
          assert.deepEqual(float32Differences(one.data, want), []);
        }
        const inputs = await reader.slice({ run, samples: { kind: 'all' }, layer: 'input', channel: 'all', epoch: 0 });
        assert.deepEqual(float32Differences(inputs.data, float32FromBytes(readFileSync(path.join(dump, 'probe', 'inputs.raw')))), []);
      } finally {
        await reader.close();
      }
    });

    it('holds the special values it was given', async function () {
      // Guards the test itself: the bit-exact comparisons above mean little if the edge cases never reached the file.
      const f16 = float32FromBytes(readFileSync(path.join(dump, '0', 'classifier.f32')));
      const f32 = float32FromBytes(readFileSync(path.join(dump, '3', 'classifier.f32')));
      const has = (a: Float32Array, pred: (v: number) => boolean): boolean => a.some(pred);
      for (const a of [f16, f32]) {
        assert.ok(has(a, Number.isNaN), 'NaN');
        assert.ok(has(a, (v) => v === Infinity) && has(a, (v) => v === -Infinity), '±Inf');
        assert.ok(has(a, (v) => Object.is(v, -0)), '-0');
        assert.ok(has(a, (v) => v === 65504), '65504');
        assert.ok(has(a, (v) => v === 2 ** -24), 'smallest float16 subnormal');
      }
      assert.ok(has(f32, (v) => v === 2 ** -149), 'float32 subnormal in the float32 epoch');
    });
  });

  describe('a run written by the TypeScript RunWriter', function () {
    const layers: LayerInfo[] = [
      { name: 'conv1d', kind: 'conv', shape: [3, 8], op: 'Conv1d' },
      { name: 'block.relu', kind: 'activation', shape: [3, 8] },
      { name: 'head', kind: 'linear', shape: [6], source: { file: '/abs/model.py', line: 40 } },
    ];
    const classes = ['a', 'b', 'c', 'd'];
    const n = 11;
    const inputShape = [2, 4, 4];

    /** Seeded values over many magnitudes, with float16's edge cases at fixed places. */
    function values(count: number, rand: () => number): Float32Array {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = (rand() * 2 - 1) * 10 ** Math.floor(rand() * 14 - 9);
      const special = [
        Infinity, -Infinity, -0, 0, 65504, 65519.99, 65520, -65536, 2 ** -24, 2 ** -25, 3 * 2 ** -25, 2 ** -25 * 1.0001,
        2 ** -14 - 2 ** -25, 1 + 2 ** -11, 1 + 3 * 2 ** -11, -(1 + 2 ** -11), 2 ** -149, -1e-40, 3.4028234663852886e38, 1e-5, 0.1, 1 / 3,
      ];
      special.forEach((v, k) => (out[(k * 7) % count] = v));
      // The canonical quiet NaN, set through its bits so no engine canonicalisation is involved.
      new Uint32Array(out.buffer)[(special.length * 7) % count] = 0x7fc00000;
      return out;
    }

    it('reads back in Python bit for bit, float16 encoded exactly as numpy rounds', async function () {
      const run = path.join(tmp, 'run');
      const sources = path.join(tmp, 'sources');
      const rand = seededRandom(7);
      const inputs = Float32Array.from({ length: n * product(inputShape) }, () => rand() * 2 - 1);
      const labels = Int32Array.from({ length: n }, (_, i) => (i * 3) % classes.length);
      const w = await RunWriter.create(run, {
        name: 'ts-written',
        model: { name: 'Conv1dNet', framework: 'test' },
        layers,
        classes,
        probe: { inputs, inputShape, labels },
      });
      const epochs: { epoch: number; dtype: TensorDType; metrics: Record<string, number> }[] = [
        { epoch: 1, dtype: 'float16', metrics: { loss: NaN, accuracy: 0.5 } },
        { epoch: 2, dtype: 'float32', metrics: { loss: 0.125, accuracy: -Infinity } },
      ];
      const written = new Map<number, Map<string, Float32Array>>();
      for (const e of epochs) {
        const acts = new Map<string, Float32Array>();
        for (const l of layers) acts.set(l.name, values(n * product(l.shape), rand));
        const logits = values(n * classes.length, rand);
        await w.writeEpoch(e.epoch, { metrics: e.metrics, activations: acts, logits, dtype: e.dtype });
        const all = new Map([...acts, ['logits', logits]]);
        written.set(e.epoch, all);
        mkdirSync(path.join(sources, String(e.epoch)), { recursive: true });
        for (const [name, v] of all) writeFileSync(path.join(sources, String(e.epoch), `${name}.f32`), bytesOf(v));
      }
      await w.finish();

      interface TensorReport {
        dtype: string;
        shape: number[];
        sha256: string;
        numpySha256?: string;
        mismatches?: unknown[];
      }
      const report = parseOutput<{
        numpy: string;
        manifest: Record<string, unknown> & { epochs: { epoch: number; metrics: Record<string, number | null>; dtype: string; activations: string }[] };
        probe: Record<'inputs' | 'labels', TensorReport>;
        epochs: Record<string, Record<string, TensorReport>>;
      }>(await roundtrip(python, ['inspect-run', run, sources], { check: true }));

      assert.deepEqual(report.manifest.layers, layers);
      assert.deepEqual(report.manifest.classes, classes);
      assert.deepEqual(report.manifest.model, { name: 'Conv1dNet', framework: 'test' });
      assert.deepEqual(report.manifest.probe, { file: 'probe.safetensors', count: n, inputShape });
      assert.equal(report.manifest.complete, true);
      assert.deepEqual(
        report.manifest.epochs.map((e) => [e.epoch, e.dtype, e.activations, e.metrics]),
        [
          [1, 'float16', 'epochs/epoch-0001/activations.safetensors', { loss: null, accuracy: 0.5 }],
          [2, 'float32', 'epochs/epoch-0002/activations.safetensors', { loss: 0.125, accuracy: null }],
        ],
      );

      assert.deepEqual(report.probe.inputs, { dtype: 'float32', shape: [n, ...inputShape], sha256: sha256(inputs) });
      assert.deepEqual(report.probe.labels, { dtype: 'int64', shape: [n], sha256: sha256(BigInt64Array.from(labels, (l) => BigInt(l))) });

      for (const e of epochs) {
        const got = report.epochs[String(e.epoch)];
        const all = written.get(e.epoch)!;
        assert.deepEqual(Object.keys(got), [...all.keys()], 'tensors in manifest order');
        for (const [name, v] of all) {
          const t = got[name];
          const shape = [n, ...(name === 'logits' ? [classes.length] : layers.find((l) => l.name === name)!.shape)];
          const intended = e.dtype === 'float16' ? encodeFloat16(v) : v;
          assert.equal(t.dtype, e.dtype, name);
          assert.deepEqual(t.shape, shape, name);
          assert.deepEqual(t.mismatches, [], `epoch ${e.epoch} ${name}: encodeFloat16 and numpy disagree (numpy ${report.numpy})`);
          assert.equal(t.numpySha256, t.sha256, `epoch ${e.epoch} ${name}: numpy's narrowing of the source values`);
          assert.equal(t.sha256, sha256(intended), `epoch ${e.epoch} ${name}: the bytes TypeScript meant to write`);
        }
      }
    });
  });

  describe('encodeFloat16', function () {
    it('rounds like numpy at every float16 rounding boundary, NaN payloads included', async function () {
      // For each pair of neighbouring float16 values: the lower one, the float32 exactly halfway
      // (a tie, rounded to even) and the float32 values one ulp either side of it; both signs.
      const bits: number[] = [];
      const f32 = new Float32Array(1);
      const u32 = new Uint32Array(f32.buffer);
      for (let h = 0; h < 0x7c00; h++) {
        const lo = float16BitsToFloat32(h);
        // Past 65504 the next step would be 65536, so 65520 is where rounding turns to infinity.
        const hi = h === 0x7bff ? 65536 : float16BitsToFloat32(h + 1);
        f32[0] = lo;
        bits.push(u32[0]);
        f32[0] = (lo + hi) / 2;
        bits.push(u32[0], u32[0] - 1, u32[0] + 1);
      }
      // Infinity and NaNs: quiet and signalling, payloads in the bits float16 keeps and in those it drops.
      for (const nan of [0x7f800000, 0x7f800001, 0x7f801fff, 0x7f802000, 0x7fa00000, 0x7fc00000, 0x7fc00001, 0x7fffffff, 0x7fbfe000]) bits.push(nan);
      const positive = Uint32Array.from(bits);
      const all = new Uint32Array(positive.length * 2);
      all.set(positive);
      all.set(positive.map((b) => (b | 0x80000000) >>> 0), positive.length);
      const values = new Float32Array(all.buffer);

      const src = path.join(tmp, 'values.f32');
      const dest = path.join(tmp, 'numpy.f16');
      writeFileSync(src, bytesOf(values));
      await roundtrip(python, ['to-float16', src, dest], { check: true });
      const raw = readFileSync(dest);
      const numpy = new Uint16Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
      assert.equal(numpy.length, values.length);
      const ours = encodeFloat16(values);
      const differences: string[] = [];
      for (let i = 0; i < values.length && differences.length < 5; i++) {
        if (ours[i] !== numpy[i]) differences.push(`float32 0x${all[i].toString(16)}: encodeFloat16 0x${ours[i].toString(16)}, numpy 0x${numpy[i].toString(16)}`);
      }
      assert.deepEqual(differences, []);
    });
  });

  describe('the Python RunWriter refuses bad input', function () {
    const cases: { name: string; message: RegExp }[] = [
      { name: 'missing-layer', message: /every recorded layer plus 'logits' \(missing 'fc'\)/ },
      { name: 'extra-layer', message: /not recorded layers of this run: 'head'/ },
      { name: 'wrong-shape', message: /'conv' has shape \[5, 2, 3, 4\], expected \[5, 2, 3, 3\]/ },
      { name: 'wrong-logits', message: /'logits' has shape \[5, 3\], expected \[5, 2\]/ },
      { name: 'same-epoch', message: /epochs must strictly increase: epoch 0 after epoch 0/ },
      { name: 'bad-dtype', message: /dtype must be 'float16' or 'float32', got 'bfloat16'/ },
    ];
    for (const c of cases) {
      it(`${c.name}: RunFormatError, and the run stays readable at its last epoch`, async function () {
        const run = path.join(tmp, 'run');
        const res = await roundtrip(python, ['bad-input', c.name, run]);
        assert.equal(res.status, 1, `exit status; stdout: ${res.stdout}\nstderr: ${res.stderr}`);
        const last = res.stderr.trim().split('\n').at(-1) ?? '';
        assert.match(last, /^cnnslicer\.RunFormatError: /, res.stderr);
        assert.match(last, c.message);
        // Nothing of the refused epoch reached the disk, so the engine sees no half-written epoch.
        assert.deepEqual(readdirSync(path.join(run, 'epochs')), ['epoch-0000']);
        assert.ok(!readdirSync(path.join(run, 'epochs', 'epoch-0000')).some((f) => f.endsWith('.tmp')));
        const reader = await RunReader.open(run);
        try {
          assert.deepEqual(reader.info.manifest.epochs.map((e) => e.epoch), [0]);
          assert.deepEqual(reader.info.incompleteEpochs, []);
        } finally {
          await reader.close();
        }
      });
    }
  });

  describe('read_run keeps every path inside the run, as the engine does', function () {
    let run: string;

    beforeEach(async function () {
      run = path.join(tmp, 'run');
      const w = await RunWriter.create(run, {
        model: {},
        layers: [{ name: 'fc', kind: 'linear', shape: [2] }],
        classes: ['x', 'y'],
        probe: { inputs: new Float32Array([1, 2, 3]), inputShape: [1], labels: Int32Array.from([0, 1, 1]) },
      });
      await w.writeEpoch(0, { metrics: {}, activations: new Map([['fc', new Float32Array(6)]]), logits: new Float32Array(6) });
    });

    /** The parts of a manifest these tests change. */
    interface EditableManifest {
      version: number;
      probe: { file: string };
      epochs: { activations?: string }[];
    }

    function editManifest(edit: (m: EditableManifest) => void): void {
      const file = path.join(run, 'cnnslicer.json');
      const m = JSON.parse(readFileSync(file, 'utf8')) as EditableManifest;
      edit(m);
      writeFileSync(file, JSON.stringify(m));
    }

    it('opens the unmodified run and a symlink that stays inside it', async function () {
      symlinkSync(path.join(run, 'probe.safetensors'), path.join(run, 'alias.safetensors'));
      editManifest((m) => (m.probe.file = 'alias.safetensors'));
      const res = parseOutput<{ ok: boolean; loaded: Record<string, string[]> }>(await roundtrip(python, ['read-run', run], { check: true }));
      assert.deepEqual(res, { ok: true, loaded: { '0': ['fc', 'logits'] } });
      await (await RunReader.open(run)).close();
    });

    const escapes: { name: string; edit: (m: EditableManifest, outside: string) => void; code: string }[] = [
      { name: 'a ".." segment', edit: (m) => (m.probe.file = 'epochs/../../probe.safetensors'), code: 'path-escape' },
      { name: 'an absolute path', edit: (m, outside) => (m.probe.file = outside), code: 'path-escape' },
      { name: 'a backslash', edit: (m) => (m.epochs[0].activations = 'epochs\\epoch-0000\\activations.safetensors'), code: 'path-escape' },
      { name: 'an empty segment', edit: (m) => (m.epochs[0].activations = 'epochs//epoch-0000/activations.safetensors'), code: 'path-escape' },
      { name: 'a drive letter', edit: (m) => (m.epochs[0].activations = 'C:/activations.safetensors'), code: 'path-escape' },
      { name: 'a version this reader does not know', edit: (m) => (m.version = 2), code: 'unsupported-version' },
    ];
    for (const c of escapes) {
      it(`refuses a manifest with ${c.name}`, async function () {
        const outside = path.join(tmp, 'outside.safetensors');
        writeFileSync(outside, readFileSync(path.join(run, 'probe.safetensors')));
        editManifest((m) => c.edit(m, outside));
        const res = parseOutput<{ ok: boolean; file: string; code: string; message: string }>(await roundtrip(python, ['read-run', run], { check: true }));
        assert.deepEqual([res.ok, res.code, res.file], [false, c.code, path.join(run, 'cnnslicer.json')], res.message);
        await assert.rejects(RunReader.open(run), (err: unknown) => err instanceof CnnSlicerError && err.code === c.code);
      });
    }

    it('refuses a symlink inside the run that points outside it', async function () {
      const outside = path.join(tmp, 'outside.safetensors');
      writeFileSync(outside, readFileSync(path.join(run, 'probe.safetensors')));
      symlinkSync(outside, path.join(run, 'link.safetensors'));
      editManifest((m) => (m.probe.file = 'link.safetensors'));
      const res = parseOutput<{ ok: boolean; code: string; message: string }>(await roundtrip(python, ['read-run', run], { check: true }));
      assert.deepEqual([res.ok, res.code], [false, 'path-escape'], res.message);
      assert.match(res.message, /outside the run directory/);
      await assert.rejects(RunReader.open(run), (err: unknown) => err instanceof CnnSlicerError && err.code === 'path-escape');
    });
  });

  describe('read_safetensors validates files as the engine does', function () {
    let good: string;
    let goodBytes: Buffer;

    beforeEach(async function () {
      good = path.join(tmp, 'good.safetensors');
      await writeSafetensors(good, [
        { name: 'a', dtype: 'F32', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) },
        { name: 'b', dtype: 'I64', shape: [3], data: BigInt64Array.from([1n, -2n, 3n]) },
      ]);
      goodBytes = readFileSync(good);
    });

    /** A header of our own, followed by `data`, for layouts no writer would produce. */
    function handMade(header: object, data: Uint8Array): Buffer {
      let json = Buffer.from(JSON.stringify(header));
      json = Buffer.concat([json, Buffer.alloc(-json.length & 7, 0x20)]);
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(json.length));
      return Buffer.concat([len, json, data]);
    }

    const corruptions: { name: string; make: (good: Buffer) => Buffer; message: RegExp }[] = [
      { name: 'truncated', make: (g) => g.subarray(0, g.length - 3), message: /end at byte/ },
      {
        name: 'header length past the end of the file',
        make: (g) => {
          const c = Buffer.from(g);
          c.writeBigUInt64LE(BigInt(g.length));
          return c;
        },
        message: /header length \d+ exceeds/,
      },
      {
        name: 'header length over the 100,000,000-byte cap',
        make: (g) => {
          const c = Buffer.from(g);
          c.writeBigUInt64LE(2n ** 63n + 5n);
          return c;
        },
        message: /header length \d+ exceeds/,
      },
      { name: 'shorter than 8 bytes', make: (g) => g.subarray(0, 5), message: /shorter than the 8-byte header length/ },
      { name: 'trailing bytes', make: (g) => Buffer.concat([g, Buffer.from([0, 0, 0, 0])]), message: /the file has \d+ bytes/ },
      {
        name: 'header not JSON',
        make: () => handMade({}, new Uint8Array(0)).fill(0x7b, 8),
        message: /not valid JSON/,
      },
      {
        name: 'gap between tensors',
        make: () => handMade({ a: { dtype: 'U8', shape: [2], data_offsets: [0, 2] }, b: { dtype: 'U8', shape: [2], data_offsets: [3, 5] } }, new Uint8Array(5)),
        message: /a gap/,
      },
      {
        name: 'size not matching the shape',
        make: () => handMade({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, new Uint8Array(4)),
        message: /expected 8/,
      },
      {
        name: 'unknown dtype',
        make: () => handMade({ a: { dtype: 'F8', shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)),
        message: /unknown dtype/,
      },
    ];

    it('accepts the well-formed file', async function () {
      const res = parseOutput<{ ok: boolean; tensors: Record<string, { dtype: string; shape: number[]; sha256: string }> }>(await roundtrip(python, ['read-safetensors', good], { check: true }));
      assert.equal(res.ok, true);
      assert.deepEqual(res.tensors, {
        a: { dtype: 'float32', shape: [2, 3], sha256: sha256(Float32Array.from([1, 2, 3, 4, 5, 6])) },
        b: { dtype: 'int64', shape: [3], sha256: sha256(BigInt64Array.from([1n, -2n, 3n])) },
      });
    });

    for (const c of corruptions) {
      it(`rejects a file with ${c.name}, naming the file, as the engine does`, async function () {
        const bad = path.join(tmp, 'bad.safetensors');
        writeFileSync(bad, c.make(goodBytes));
        const res = parseOutput<{ ok: boolean; file: string; code: string; message: string }>(await roundtrip(python, ['read-safetensors', bad], { check: true }));
        assert.equal(res.ok, false, 'python accepted the file');
        assert.equal(res.file, bad);
        assert.equal(res.code, 'corrupt');
        assert.match(res.message, c.message);
        await assert.rejects(SafetensorsFile.open(bad), (err: unknown) => err instanceof CnnSlicerError && err.code === 'corrupt' && err.file === bad);
      });
    }

    it('reports a missing file as not-found', async function () {
      const missing = path.join(tmp, 'missing.safetensors');
      assert.ok(!existsSync(missing));
      const res = parseOutput<{ ok: boolean; file: string; code: string }>(await roundtrip(python, ['read-safetensors', missing], { check: true }));
      assert.deepEqual([res.ok, res.file, res.code], [false, missing, 'not-found']);
    });
  });
});

// The activation cache: a checkpoint epoch is run once into a float16 entry that every slice of the
// epoch reads; entries are keyed by content, checked against their checksums, capped in size with
// least-recently-used eviction, and written so that a concurrent reader never sees a partial one.
import * as assert from 'node:assert';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ActivationCache, capFromGiB, DEFAULT_ACTIVATION_CACHE_BYTES } from '../../src/engine/cache/activationCache';
import { disposeSessions } from '../../src/engine/run/checkpoint';
import { decodeFloat16, encodeFloat16 } from '../../src/core/run/float16';
import { RunReader } from '../../src/engine/run/runReader';
import { RunWriter } from '../../src/core/run/runWriter';
import { SafetensorsFile } from '../../src/core/run/safetensors';
import type { LayerInfo } from '../../src/shared/runFormat';
import { tempDir } from '../support/runFixtures';
import {
  buildTinyCnn,
  randomFloats,
  seededRandom,
  tinyCnnReference,
  tinyCnnWeights,
  TINY_INPUT_SHAPE,
  TINY_OUTPUT_SHAPES,
  type TinyOutput,
} from '../support/tinyCnn';

const LAYERS: LayerInfo[] = [
  { name: 'conv1', kind: 'conv', shape: TINY_OUTPUT_SHAPES.conv1 },
  { name: 'relu1', kind: 'activation', shape: TINY_OUTPUT_SHAPES.relu1 },
  { name: 'pool1', kind: 'pool', shape: TINY_OUTPUT_SHAPES.pool1 },
];
const OUTPUTS: TinyOutput[] = ['conv1', 'relu1', 'pool1', 'logits'];

/** The float32 reference rounded to float16, as the cache stores it. */
function asFloat16(values: Float32Array): Float32Array {
  return decodeFloat16(encodeFloat16(values));
}

async function entries(cacheDir: string): Promise<string[]> {
  const names = await fs.readdir(path.join(cacheDir, 'activations')).catch(() => [] as string[]);
  return names.filter((n) => n.endsWith('.safetensors')).sort();
}

describe('activation cache', () => {
  const n = 13;
  let root: string;
  let runDir: string;
  let inputs: Float32Array;
  const weights = [tinyCnnWeights(3), tinyCnnWeights(4), tinyCnnWeights(5)];
  const logs: string[] = [];
  const log = (level: string, message: string): void => {
    logs.push(`${level}: ${message}`);
  };

  before(async () => {
    root = tempDir();
    runDir = path.join(root, 'run');
    inputs = randomFloats(seededRandom(9), n * 64);
    const w = await RunWriter.create(runDir, {
      model: { name: 'tiny', framework: 'onnx' },
      layers: LAYERS,
      classes: ['a', 'b', 'c'],
      probe: { inputs, inputShape: [...TINY_INPUT_SHAPE], labels: Int32Array.from({ length: n }, (_, i) => i % 3) },
    });
    for (let e = 0; e < weights.length; e++) await w.writeEpoch(e, { metrics: { loss: 1 - e / 10 }, checkpoint: buildTinyCnn(weights[e]) });
  });
  after(async () => {
    await disposeSessions();
    await fs.rm(root, { recursive: true, force: true });
  });
  beforeEach(() => {
    logs.length = 0;
  });

  it('runs the epoch once and serves every layer, channel and sample set from the entry, rounded to float16', async () => {
    const cacheDir = path.join(root, 'c1');
    const cache = new ActivationCache({ dir: cacheDir, log, batchBytes: 4 * 1024 });
    const reader = await RunReader.open(runDir, { activationCache: cache });
    try {
      const ref = tinyCnnReference(weights[1], inputs, n);
      for (const layer of OUTPUTS) {
        const s = await reader.slice({ samples: { kind: 'all' }, layer, channel: 'all', epoch: 1 });
        assert.strictEqual(s.source, 'checkpoint');
        const expected = asFloat16(ref[layer]);
        // float16 of onnxruntime's float32 against float16 of the plain-loop reference: equal but
        // where the two float32 values straddle a rounding boundary (one float16 step).
        for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(s.data[i] - expected[i]) <= 2 ** -10 * Math.abs(expected[i]) + 1e-6, `${layer}[${i}]`);
      }
      assert.deepStrictEqual((await entries(cacheDir)).length, 1, 'one entry for one epoch');
      const one = await reader.slice({ samples: { kind: 'class', classIndex: 1 }, layer: 'relu1', channel: 2, epoch: 1 });
      const all = await reader.slice({ samples: { kind: 'all' }, layer: 'relu1', channel: 'all', epoch: 1 });
      const per = TINY_OUTPUT_SHAPES.relu1[1] * TINY_OUTPUT_SHAPES.relu1[2];
      const chans = TINY_OUTPUT_SHAPES.relu1[0];
      one.sampleIndices.forEach((sample, r) => {
        assert.deepStrictEqual(
          Array.from(one.data.subarray(r * per, (r + 1) * per)),
          Array.from(all.data.subarray((sample * chans + 2) * per, (sample * chans + 3) * per)),
        );
      });
    } finally {
      await reader.close();
    }
  });

  it('is keyed by content: a second reader and a second cache object on the same folder reuse the entry', async () => {
    const cacheDir = path.join(root, 'c2');
    const first = await RunReader.open(runDir, { activationCache: new ActivationCache({ dir: cacheDir }) });
    await first.slice({ samples: { kind: 'all' }, layer: 'pool1', channel: 'all', epoch: 0 });
    await first.close();
    const [entry] = await entries(cacheDir);
    const before = (await fs.stat(path.join(cacheDir, 'activations', entry))).ino;
    const second = await RunReader.open(runDir, { activationCache: new ActivationCache({ dir: cacheDir }) });
    const s = await second.slice({ samples: { kind: 'all' }, layer: 'conv1', channel: 'all', epoch: 0 });
    await second.close();
    assert.strictEqual(s.shape[0], n);
    assert.deepStrictEqual(await entries(cacheDir), [entry]);
    assert.strictEqual((await fs.stat(path.join(cacheDir, 'activations', entry))).ino, before, 'not rewritten');
  });

  it('recomputes a damaged entry instead of reading it', async () => {
    const cacheDir = path.join(root, 'c3');
    const warm = await RunReader.open(runDir, { activationCache: new ActivationCache({ dir: cacheDir }) });
    const good = await warm.slice({ samples: { kind: 'all' }, layer: 'relu1', channel: 'all', epoch: 2 });
    await warm.close();
    const [name] = await entries(cacheDir);
    const file = path.join(cacheDir, 'activations', name);
    // Flip bits inside relu1's data: the header still parses, only the checksum can tell.
    const st = await SafetensorsFile.open(file);
    const { begin } = st.entry('relu1');
    const dataStart = st.header.dataStart;
    await st.close();
    const fh = await fs.open(file, 'r+');
    await fh.write(Buffer.from([0xff, 0x7b, 0xff, 0x7b]), 0, 4, dataStart + begin + 40);
    await fh.close();

    const reader = await RunReader.open(runDir, { activationCache: new ActivationCache({ dir: cacheDir, log }) });
    try {
      const again = await reader.slice({ samples: { kind: 'all' }, layer: 'relu1', channel: 'all', epoch: 2 });
      assert.deepStrictEqual(Array.from(again.data), Array.from(good.data));
      assert.ok(
        logs.some((l) => l.includes('does not match its checksum')),
        logs.join('\n'),
      );
    } finally {
      await reader.close();
    }

    // A truncated entry (its header says more than the file holds) is deleted and recomputed too.
    await fs.truncate(file, 100);
    const third = await RunReader.open(runDir, { activationCache: new ActivationCache({ dir: cacheDir, log }) });
    try {
      const s = await third.slice({ samples: { kind: 'all' }, layer: 'relu1', channel: 'all', epoch: 2 });
      assert.deepStrictEqual(Array.from(s.data), Array.from(good.data));
      assert.ok(
        logs.some((l) => l.includes('unreadable activation cache entry')),
        logs.join('\n'),
      );
    } finally {
      await third.close();
    }
  });

  it('evicts the least recently used entries beyond its cap, never the one just written', async () => {
    const cacheDir = path.join(root, 'c4');
    const probe = await RunReader.open(runDir, { activationCache: new ActivationCache({ dir: path.join(root, 'c4-size') }) });
    await probe.slice({ samples: { kind: 'all' }, layer: 'conv1', channel: 'all', epoch: 0 });
    await probe.close();
    const [sized] = await entries(path.join(root, 'c4-size'));
    const entryBytes = (await fs.stat(path.join(root, 'c4-size', 'activations', sized))).size;

    // Room for two entries: the third epoch evicts the one used longest ago (epoch 1, since epoch 0
    // is read again in between).
    const cache = new ActivationCache({ dir: cacheDir, maxBytes: 2 * entryBytes + 10, log });
    const reader = await RunReader.open(runDir, { activationCache: cache });
    try {
      const ids: string[] = [];
      for (const epoch of [0, 1]) {
        await reader.slice({ samples: { kind: 'all' }, layer: 'conv1', channel: 'all', epoch });
        ids.push((await entries(cacheDir)).find((e) => !ids.includes(e)) as string);
        await new Promise((r) => setTimeout(r, 20));
      }
      // Touch epoch 0 through a fresh reader (the first keeps its files open and does not reopen).
      const other = await RunReader.open(runDir, { activationCache: new ActivationCache({ dir: cacheDir }) });
      await other.slice({ samples: { kind: 'all' }, layer: 'conv1', channel: 'all', epoch: 0 });
      await other.close();
      await new Promise((r) => setTimeout(r, 20));
      await reader.slice({ samples: { kind: 'all' }, layer: 'conv1', channel: 'all', epoch: 2 });
      const left = await entries(cacheDir);
      assert.strictEqual(left.length, 2, left.join(', '));
      assert.ok(left.includes(ids[0]), 'epoch 0, used recently, is kept');
      assert.ok(!left.includes(ids[1]), 'epoch 1, least recently used, is evicted');

      // A cap smaller than one entry still serves the epoch, and says why nothing is kept.
      const tiny = new ActivationCache({ dir: path.join(root, 'c5'), maxBytes: 1, log });
      const r2 = await RunReader.open(runDir, { activationCache: tiny });
      const s = await r2.slice({ samples: { kind: 'all' }, layer: 'pool1', channel: 'all', epoch: 1 });
      await r2.close();
      assert.strictEqual(s.shape[0], n);
      assert.ok(
        logs.some((l) => l.includes("more than the activation cache's cap")),
        logs.join('\n'),
      );
    } finally {
      await reader.close();
    }
  });

  it('lets concurrent readers share one computation, and two engines on one folder never see a partial entry', async () => {
    const cacheDir = path.join(root, 'c6');
    const cache = new ActivationCache({ dir: cacheDir, batchBytes: 2 * 1024 });
    const a = await RunReader.open(runDir, { activationCache: cache });
    const b = await RunReader.open(runDir, { activationCache: cache });
    // A second cache object on the same folder stands for a second engine process.
    const c = await RunReader.open(runDir, { activationCache: new ActivationCache({ dir: cacheDir, batchBytes: 2 * 1024 }) });
    const watcher = (async (): Promise<string[]> => {
      const seen: string[] = [];
      // While the entries are written, whatever carries an entry's final name must parse whole.
      for (let i = 0; i < 200; i++) {
        for (const e of await entries(cacheDir)) {
          const f = await SafetensorsFile.open(path.join(cacheDir, 'activations', e));
          seen.push(f.header.metadata.get('format') ?? '?');
          await f.close();
        }
        await new Promise((r) => setImmediate(r));
      }
      return seen;
    })();
    try {
      const [x, y, z] = await Promise.all([a, b, c].map((r) => r.slice({ samples: { kind: 'all' }, layer: 'relu1', channel: 'all', epoch: 2 })));
      assert.deepStrictEqual(Array.from(x.data), Array.from(y.data));
      assert.deepStrictEqual(Array.from(x.data), Array.from(z.data));
      const seen = await watcher;
      assert.ok(
        seen.every((f) => f === 'cnnslicer-activation-cache'),
        'only whole entries under final names',
      );
      assert.strictEqual((await entries(cacheDir)).length, 1);
      const staging = (await fs.readdir(path.join(cacheDir, 'activations'))).filter((f) => f.endsWith('.tmp'));
      assert.deepStrictEqual(staging, [], 'no staging file left behind');
    } finally {
      await Promise.all([a.close(), b.close(), c.close()]);
    }
  });

  it('abandons a computation only when every waiting query is cancelled, leaving no file', async () => {
    const cacheDir = path.join(root, 'c7');
    const cache = new ActivationCache({ dir: cacheDir, batchBytes: 1024 });
    const reader = await RunReader.open(runDir, { activationCache: cache });
    try {
      const keep = new AbortController();
      const drop = new AbortController();
      const kept = reader.slice({ samples: { kind: 'all' }, layer: 'conv1', channel: 'all', epoch: 0 }, { signal: keep.signal });
      const dropped = reader.slice({ samples: { kind: 'all' }, layer: 'pool1', channel: 'all', epoch: 0 }, { signal: drop.signal });
      drop.abort();
      await assert.rejects(dropped, /cancelled/);
      const s = await kept;
      assert.strictEqual(s.shape[0], n, 'the other query still gets its slice');

      const only = new AbortController();
      const lone = reader.slice(
        { samples: { kind: 'all' }, layer: 'conv1', channel: 'all', epoch: 1 },
        { signal: only.signal, onProgress: () => only.abort() },
      );
      await assert.rejects(lone, /cancelled/);
      await new Promise((r) => setTimeout(r, 50));
      const files = await fs.readdir(path.join(cacheDir, 'activations'));
      assert.strictEqual(files.length, 1, `only epoch 0's entry: ${files.join(', ')}`);
    } finally {
      await reader.close();
    }
  });

  it('a query cancelled before it arrives leaves the next query of the same epoch its own computation', async () => {
    // The order the previous test leaves to the scheduler, made certain: the cancelled query comes first.
    const cache = new ActivationCache({ dir: path.join(root, 'c7b'), batchBytes: 1024 });
    const reader = await RunReader.open(runDir, { activationCache: cache });
    try {
      const gone = new AbortController();
      gone.abort();
      const first = reader.slice({ samples: { kind: 'all' }, layer: 'pool1', channel: 'all', epoch: 0 }, { signal: gone.signal });
      const second = reader.slice({ samples: { kind: 'all' }, layer: 'conv1', channel: 'all', epoch: 0 });
      await assert.rejects(first, /cancelled/);
      assert.strictEqual((await second).shape[0], n, 'the live query gets its slice');
    } finally {
      await reader.close();
    }
  });

  it('reads the cap from GiB, refusing nonsense', () => {
    assert.strictEqual(capFromGiB(undefined, 'x'), DEFAULT_ACTIVATION_CACHE_BYTES);
    assert.strictEqual(capFromGiB('0.5', 'x'), 512 * 1024 ** 2);
    assert.throws(() => capFromGiB('-1', '--activation-cache-max'), /--activation-cache-max must be a number of GiB/);
    assert.throws(() => capFromGiB('lots', 'x'), RangeError);
  });
});

import * as assert from 'node:assert';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { CnnSlicerError } from '../../src/shared/errors';
import { channelCapacityOf, channelEntropiesOf, interSampleEntropyOf, labelEntropiesOf } from '../../src/engine/analysis/measures';
import { ResultCache } from '../../src/engine/cache/resultCache';
import { channelCapacity, featureMapEntropies, labelEntropies } from '../../src/engine/estimators';
import { interSampleEntropyDense } from '../../src/engine/estimators/interSampleEntropy';
import { RunReader } from '../../src/engine/run/runReader';
import { product, SMALL_LAYERS, tempDir, writeSmallRun, type SmallRun } from '../support/runFixtures';

// Each measure through the query layer equals the estimator applied to the slice by hand, for
// every epoch; the cache then answers the same query without recomputing.
describe('measures over run slices', () => {
  let run: SmallRun;
  let reader: RunReader;
  let cacheDir: string;
  before(async () => {
    run = await writeSmallRun({ n: 24, epochs: [0, 1, 2] });
    reader = await RunReader.open(run.dir);
    cacheDir = tempDir('cnnslicer-cache-');
  });
  after(async () => {
    await reader.close();
    run.cleanup();
    await fs.rm(cacheDir, { recursive: true, force: true });
  });

  it('inter-sample entropy of the inputs equals the dense reference (layer 0, epoch 0)', async () => {
    const s = await interSampleEntropyOf(reader, { samples: { kind: 'all' }, layer: 'input', epoch: 'all', params: { interK: 10 } });
    assert.strictEqual(s.items.length, 1, 'the inputs do not change with the epoch');
    const r = s.items[0];
    assert.strictEqual(r.epoch, 0);
    assert.strictEqual(r.n, 24);
    assert.strictEqual(r.d, 64);
    assert.strictEqual(r.k, 10);
    const ref = interSampleEntropyDense(run.inputs, 24, 64, 10);
    assert.ok(Math.abs(r.entropy - ref.entropy) < 1e-6 * ref.entropy, `${r.entropy} vs ${ref.entropy}`);
  });

  it('inter-sample entropy of a hidden layer at every epoch, k capped at n − 1', async () => {
    const s = await interSampleEntropyOf(reader, { samples: { kind: 'class', classIndex: 1 }, layer: 'conv1', epoch: 'all' });
    assert.deepStrictEqual(
      s.items.map((i) => i.epoch),
      [0, 1, 2],
    );
    const rows = Array.from({ length: 24 }, (_, i) => i).filter((i) => run.labels[i] === 1);
    for (const item of s.items) {
      assert.strictEqual(item.k, rows.length - 1);
      const values = run.values.get(item.epoch)!.get('conv1')!;
      const per = product(SMALL_LAYERS[0].shape);
      const pts = new Float32Array(rows.length * per);
      rows.forEach((r, i) => pts.set(values.subarray(r * per, (r + 1) * per), i * per));
      const ref = interSampleEntropyDense(pts, rows.length, per, rows.length - 1);
      assert.ok(Math.abs(item.entropy - ref.entropy) < 1e-6 * ref.entropy, `epoch ${item.epoch}: ${item.entropy} vs ${ref.entropy}`);
    }
  });

  it('channel entropies per class are the means of the per-map entropies', async () => {
    const s = await channelEntropiesOf(reader, { layer: 'pool1', epoch: 1 });
    const r = s.items[0];
    assert.strictEqual(r.channels, 4);
    assert.strictEqual(r.classes, 3);
    const maps = featureMapEntropies(run.values.get(1)!.get('pool1')!, 24, 4, 9, s.params);
    for (let k = 0; k < 3; k++) {
      for (let c = 0; c < 4; c++) {
        const mine = Array.from({ length: 24 }, (_, i) => i)
          .filter((i) => run.labels[i] === k)
          .map((i) => maps.entropy[i * 4 + c]);
        const mean = mine.reduce((a, b) => a + b, 0) / mine.length;
        assert.ok(Math.abs(r.perClass[k * 4 + c] - mean) < 1e-5, `class ${k} channel ${c}`);
        assert.strictEqual(r.perClassCount[k * 4 + c], mine.length);
      }
    }
  });

  it('label entropies come from the argmax of the logits', async () => {
    const s = await labelEntropiesOf(reader, { epoch: 'all' });
    assert.deepStrictEqual(
      s.items.map((i) => i.epoch),
      [0, 1, 2],
    );
    for (const item of s.items) {
      const logits = run.values.get(item.epoch)!.get('logits')!;
      const confusion = new Int32Array(9);
      let correct = 0;
      for (let i = 0; i < 24; i++) {
        const row = Array.from(logits.subarray(i * 3, i * 3 + 3));
        const p = row.indexOf(Math.max(...row));
        confusion[run.labels[i] * 3 + p]++;
        if (p === run.labels[i]) correct++;
      }
      assert.deepStrictEqual(item.confusion, confusion);
      assert.strictEqual(item.accuracy, correct / 24);
      const h = labelEntropies(confusion, 3);
      assert.deepStrictEqual(item.labelGivenPrediction, h.labelGivenPrediction);
      assert.deepStrictEqual(item.predictionGivenLabel, h.predictionGivenLabel);
    }
  });

  it('channel capacity equals the estimator on brute-force pair distances, with sort orders', async () => {
    const s = await channelCapacityOf(reader, { samples: { kind: 'all' }, layerI: 'conv1', layerJ: 'pool1', epoch: 2 });
    const r = s.items[0];
    assert.strictEqual(r.cols, 4);
    assert.strictEqual(r.rows, 4);
    assert.strictEqual(r.pairs, (24 * 23) / 2);
    const dist = (values: Float32Array, channels: number, size: number) => {
      const pairs = (24 * 23) / 2;
      const data = new Float32Array(channels * pairs);
      for (let c = 0; c < channels; c++) {
        let p = 0;
        for (let i = 0; i < 24; i++) {
          for (let j = i + 1; j < 24; j++) {
            let sum = 0;
            for (let x = 0; x < size; x++) {
              const d = values[(i * channels + c) * size + x] - values[(j * channels + c) * size + x];
              sum += d * d;
            }
            data[c * pairs + p++] = Math.sqrt(sum);
          }
        }
      }
      return { channels, pairs, data };
    };
    const want = channelCapacity(dist(run.values.get(2)!.get('conv1')!, 4, 36), dist(run.values.get(2)!.get('pool1')!, 4, 9), s.params);
    // Float32 GEMM distances can move a value across a bin edge; the matrices agree closely, not bit for bit.
    for (let i = 0; i < 16; i++) assert.ok(Math.abs(r.capacity[i] - want.capacity[i]) < 0.05, `cell ${i}: ${r.capacity[i]} vs ${want.capacity[i]}`);
    const colMax = Array.from({ length: 4 }, (_, c) => Math.max(...[0, 1, 2, 3].map((row) => r.capacity[row * 4 + c])));
    const order = Array.from(r.order.colsByMax);
    for (let i = 1; i < 4; i++) assert.ok(colMax[order[i - 1]] >= colMax[order[i]], 'columns sorted by max, largest first');
  });

  it('caches results on disk: a second reader on the same run answers from the cache', async () => {
    const cache = new ResultCache({ dir: cacheDir });
    const first = await labelEntropiesOf(reader, { epoch: 'all' }, { cache });
    assert.strictEqual(first.cached, 0);
    const again = await RunReader.open(run.dir);
    try {
      const second = await labelEntropiesOf(again, { epoch: 'all' }, { cache: new ResultCache({ dir: cacheDir }) });
      assert.strictEqual(second.cached, 3);
      assert.deepStrictEqual(second.items, first.items);
    } finally {
      await again.close();
    }
    // Another parameter value is another entry.
    const k5 = await interSampleEntropyOf(reader, { samples: { kind: 'all' }, layer: 'fc', epoch: 0, params: { interK: 5 } }, { cache });
    const k6 = await interSampleEntropyOf(reader, { samples: { kind: 'all' }, layer: 'fc', epoch: 0, params: { interK: 6 } }, { cache });
    assert.strictEqual(k6.cached, 0);
    assert.notStrictEqual(k5.items[0].entropy, k6.items[0].entropy);
    const entries = await fs.readdir(path.join(cacheDir, 'results'));
    assert.ok(entries.length >= 5, `entries: ${entries.length}`);
  });

  it('a cancelled query rejects with cancelled', async () => {
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(
      channelEntropiesOf(reader, { layer: 'conv1', epoch: 'all' }, { signal: controller.signal }),
      (err: unknown) => err instanceof CnnSlicerError && err.code === 'cancelled',
    );
  });

  it('reports progress over epochs', async () => {
    const seen: [number, number][] = [];
    await channelEntropiesOf(reader, { layer: 'fc', epoch: 'all' }, { onProgress: (d, t) => seen.push([d, t]) });
    assert.deepStrictEqual(seen.at(-1), [3, 3]);
    assert.ok(seen.every(([d, t], i) => t === 3 && (i === 0 || d >= seen[i - 1][0])));
  });
});

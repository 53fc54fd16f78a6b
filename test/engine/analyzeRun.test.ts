import * as assert from 'node:assert';
import { promises as fs } from 'node:fs';
import { CnnSlicerError } from '../../src/shared/errors';
import { analyzeRun, resolveCapacityLayers, type ItemDone } from '../../src/engine/analysis/analyzeRun';
import type { LayerInfo } from '../../src/shared/runFormat';
import { channelCapacityOf, channelEntropiesOf, interSampleEntropyOf, labelEntropiesOf } from '../../src/engine/analysis/measures';
import * as path from 'node:path';
import { ActivationCache } from '../../src/engine/cache/activationCache';
import { ResultCache } from '../../src/engine/cache/resultCache';
import { disposeSessions } from '../../src/engine/run/checkpoint';
import { RunWriter } from '../../src/core/run/runWriter';
import { buildTinyCnn, randomFloats, seededRandom, tinyCnnWeights, TINY_INPUT_SHAPE, TINY_OUTPUT_SHAPES } from '../support/tinyCnn';
import { RunReader } from '../../src/engine/run/runReader';
import { tempDir, writeSmallRun, type SmallRun } from '../support/runFixtures';

const ALL = { kind: 'all' } as const;
const PARAMS = { interK: 7, intraBins: 16 };

async function rejectsWith(promise: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof CnnSlicerError, String(err));
    assert.strictEqual(err.code, code);
    assert.match(err.message, message);
    return true;
  });
}

// analyzeRun must be exactly the individual queries put together: the CLI summary and the views
// read the same numbers.
describe('analyzeRun', function () {
  this.timeout(60000);
  let run: SmallRun;
  let reader: RunReader;
  before(async () => {
    run = await writeSmallRun({ n: 20, epochs: [0, 1, 2] });
    reader = await RunReader.open(run.dir);
  });
  after(async () => {
    await reader.close();
    run.cleanup();
  });

  it('gives the same numbers as the individual measure functions', async () => {
    const a = await analyzeRun(reader, { params: PARAMS });
    assert.deepStrictEqual(a.layers, ['conv1', 'pool1', 'fc']);
    assert.deepStrictEqual(a.epochs, [0, 1, 2]);
    assert.strictEqual(a.params.interK, 7);
    assert.strictEqual(a.params.intraBins, 16);
    assert.strictEqual(a.params.capacityBins, 16);
    assert.deepStrictEqual(
      a.run.epochs.map((e) => e.metrics.loss),
      [1, 1 / 2, 1 / 3],
    );
    assert.strictEqual(a.run.probe.count, 20);

    const input = await interSampleEntropyOf(reader, { samples: ALL, layer: 'input', epoch: 'all', params: PARAMS });
    assert.deepStrictEqual(a.interSample.input, input.items[0]);
    assert.deepStrictEqual(
      a.interSample.epochs.map((e) => e.epoch),
      [0, 1, 2],
    );
    for (const [li, layer] of a.layers.entries()) {
      const s = await interSampleEntropyOf(reader, { samples: ALL, layer, epoch: 'all', params: PARAMS });
      assert.deepStrictEqual(
        a.interSample.epochs.map((e) => e.layers[li]),
        s.items,
        layer,
      );
      const c = await channelEntropiesOf(reader, { layer, epoch: 'all', params: PARAMS });
      assert.strictEqual(a.channelEntropies[li].layer, layer);
      assert.deepStrictEqual(a.channelEntropies[li].items, c.items, layer);
    }
    const logits = await interSampleEntropyOf(reader, { samples: ALL, layer: 'logits', epoch: 'all', params: PARAMS });
    assert.deepStrictEqual(
      a.interSample.epochs.map((e) => e.logits),
      logits.items,
    );
    const labels = await labelEntropiesOf(reader, { epoch: 'all' });
    assert.deepStrictEqual(a.labelEntropies, labels.items);

    // conv1 → pool1 are both maps; pool1 → fc involves the dense fc and is skipped.
    assert.strictEqual(a.capacityEpoch, 2);
    const cap = await channelCapacityOf(reader, { samples: ALL, layerI: 'conv1', layerJ: 'pool1', epoch: 2, params: PARAMS });
    assert.deepStrictEqual(a.capacity, cap.items);
    assert.deepStrictEqual(
      a.capacitySkipped.map((s) => [s.layerI, s.layerJ]),
      [['pool1', 'fc']],
    );
    assert.match(a.capacitySkipped[0].reason, /fc is a dense layer/);
    // input + 3 epochs × (3 layers + logits) + 3 layers × 3 epochs + 3 label results + 1 capacity
    assert.deepStrictEqual(a.results, { total: 1 + 12 + 9 + 3 + 1, cached: 0 });
  });

  it('takes the chosen layers in the model order and the chosen epochs ascending; capacity at the last', async () => {
    const a = await analyzeRun(reader, { layers: ['pool1', 'conv1'], epochs: [2, 0], params: PARAMS });
    assert.deepStrictEqual(a.layers, ['conv1', 'pool1']);
    assert.deepStrictEqual(
      a.run.layers.map((l) => l.name),
      ['conv1', 'pool1'],
    );
    assert.deepStrictEqual(a.epochs, [0, 2]);
    assert.deepStrictEqual(
      a.interSample.epochs.map((e) => e.layers.map((r) => [r.layer, r.epoch])),
      [
        [
          ['conv1', 0],
          ['pool1', 0],
        ],
        [
          ['conv1', 2],
          ['pool1', 2],
        ],
      ],
    );
    assert.deepStrictEqual(
      a.labelEntropies.map((l) => l.epoch),
      [0, 2],
    );
    assert.deepStrictEqual(
      a.capacity.map((c) => [c.layerI, c.layerJ, c.epoch]),
      [['conv1', 'pool1', 2]],
    );
    assert.deepStrictEqual(a.capacitySkipped, []);
  });

  it('without capacity computes no matrix and says it was not asked for', async () => {
    const a = await analyzeRun(reader, { layers: ['conv1', 'pool1'], epochs: [1], capacity: false, params: PARAMS });
    assert.strictEqual(a.capacityRequested, false);
    assert.strictEqual(a.capacityEpoch, undefined);
    assert.deepStrictEqual(a.capacity, []);
    assert.deepStrictEqual(a.capacitySkipped, []);
  });

  it('reports progress over every step, never backwards, ending at the total', async () => {
    const seen: [number, number, string | undefined][] = [];
    await analyzeRun(reader, { layers: ['conv1', 'pool1'], epochs: [0, 1], params: PARAMS }, { onProgress: (d, t, m) => seen.push([d, t, m]) });
    const steps = 1 + 2 * 3 + 2 * 2 + 2 + 1;
    assert.ok(seen.length >= steps, `${seen.length} reports`);
    assert.ok(seen.every(([, t]) => t === steps));
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i][0] >= seen[i - 1][0], `progress went back at report ${i}: ${seen[i - 1][0]} → ${seen[i][0]}`);
    assert.deepStrictEqual(seen[seen.length - 1].slice(0, 2), [steps, steps]);
    const messages = new Set(seen.map(([, , m]) => m).filter((m) => m !== undefined));
    assert.ok(messages.has('inter-sample entropy of conv1, epoch 1'), [...messages].join('; '));
    assert.ok(messages.has('channel capacity conv1 → pool1, epoch 1'), [...messages].join('; '));
  });

  it('chooses the capacity layers: blocks when recorded, convolutions in large models, else every layer', async () => {
    const layer = (name: string, kind: LayerInfo['kind']): LayerInfo => ({ name, kind, shape: [4, 2, 2] });
    const small = [layer('conv1', 'conv'), layer('relu1', 'activation'), layer('conv2', 'conv')];
    assert.strictEqual(resolveCapacityLayers(small).rule, 'all');
    const large = Array.from({ length: 17 }, (_, i) => layer(`l${i}`, i % 2 === 0 ? 'conv' : 'norm'));
    assert.deepStrictEqual(resolveCapacityLayers(large), { rule: 'conv', reason: 'auto: 17 layers analysed (more than 16), so between convolutions' });
    const blocks = [...large, layer('layer1.0', 'block'), layer('layer1.1', 'block')];
    assert.strictEqual(resolveCapacityLayers(blocks).rule, 'blocks');
    assert.deepStrictEqual(resolveCapacityLayers(blocks, 'all'), { rule: 'all', reason: 'as asked' });

    // The small run has one convolution: asking for convolutions leaves no pair, and says so.
    const conv = await analyzeRun(reader, { layers: ['conv1', 'pool1'], epochs: [2], params: PARAMS, capacityLayers: 'conv' });
    assert.deepStrictEqual(conv.capacity, []);
    assert.deepStrictEqual(conv.capacityLayers, { rule: 'conv', reason: 'as asked' });
    const all = await analyzeRun(reader, { layers: ['conv1', 'pool1'], epochs: [2], params: PARAMS });
    assert.deepStrictEqual(all.capacityLayers.rule, 'all');
    assert.deepStrictEqual(
      all.capacity.map((c) => [c.layerI, c.layerJ]),
      [['conv1', 'pool1']],
    );
  });

  it('hands out every result as it is finished, epoch by epoch, with a time left once something was computed', async () => {
    const seen: ItemDone[] = [];
    const a = await analyzeRun(reader, { layers: ['conv1', 'pool1'], epochs: [0, 1], params: PARAMS, onItem: (d) => seen.push(d) });
    assert.strictEqual(seen.length, a.results.total);
    assert.deepStrictEqual(
      seen.map((d) => d.done),
      seen.map((_, i) => i + 1),
    );
    assert.ok(seen.every((d) => d.total === a.results.total));
    // Everything of epoch 0 before anything of epoch 1, the capacity last.
    const epochOf = (d: ItemDone): number =>
      d.item.kind === 'activations' ? d.item.epoch : d.item.kind === 'interSample' && d.item.result.layer === 'input' ? -1 : d.item.result.epoch;
    const order = seen.map(epochOf);
    assert.deepStrictEqual(
      order,
      [...order].sort((x, y) => x - y),
    );
    assert.strictEqual(seen[seen.length - 1].item.kind, 'channelCapacity');
    assert.ok(seen.filter((d) => !d.cached).every((d) => d.secondsLeft !== undefined && d.secondsLeft >= 0));
    assert.strictEqual(seen[seen.length - 1].secondsLeft, 0);
    const inter = seen.find((d) => d.item.kind === 'interSample' && d.item.result.layer === 'conv1' && d.item.result.epoch === 1);
    assert.ok(inter !== undefined && inter.item.kind === 'interSample');
    assert.deepStrictEqual(inter.item.result, a.interSample.epochs[1].layers[0]);
    assert.strictEqual(inter.item.result.ceiling, Math.log2(20 * 19));
  });

  it('runs each checkpoint epoch once, as a step of its own before the measures of that epoch', async () => {
    const root = tempDir('cnnslicer-analyze-ckpt-');
    try {
      const dir = path.join(root, 'run');
      const n = 12;
      const w = await RunWriter.create(dir, {
        model: { name: 'tiny', framework: 'onnx' },
        layers: [
          { name: 'conv1', kind: 'conv', shape: TINY_OUTPUT_SHAPES.conv1 },
          { name: 'pool1', kind: 'pool', shape: TINY_OUTPUT_SHAPES.pool1 },
        ],
        classes: ['a', 'b', 'c'],
        probe: { inputs: randomFloats(seededRandom(2), n * 64), inputShape: [...TINY_INPUT_SHAPE], labels: Int32Array.from({ length: n }, (_, i) => i % 3) },
      });
      for (const e of [0, 1]) await w.writeEpoch(e, { metrics: {}, checkpoint: buildTinyCnn(tinyCnnWeights(e + 1)) });
      const cache = new ActivationCache({ dir: path.join(root, 'cache') });
      const ckpt = await RunReader.open(dir, { activationCache: cache });
      try {
        const seen: ItemDone[] = [];
        const a = await analyzeRun(ckpt, { params: { interK: 5 }, onItem: (d) => seen.push(d) }, { onProgress: () => undefined });
        const kinds = seen.map((d) => (d.item.kind === 'activations' ? `activations ${d.item.epoch}` : d.item.kind));
        assert.deepStrictEqual(
          kinds.filter((k) => k.startsWith('activations')),
          ['activations 0', 'activations 1'],
        );
        assert.ok(
          kinds.indexOf('activations 1') > kinds.lastIndexOf('channelEntropies', kinds.indexOf('activations 1')),
          'epoch 1 after the measures of epoch 0',
        );
        assert.ok(
          seen.filter((d) => d.item.kind === 'activations').every((d) => !d.cached && /the checkpoint run once over the 12 probe samples/.test(d.label)),
        );
        assert.strictEqual(a.results.total, seen.length - 2, 'the activation steps are not results');
        // A second analysis finds the epochs already there.
        const again: ItemDone[] = [];
        await analyzeRun(ckpt, { params: { interK: 5 }, onItem: (d) => again.push(d) });
        assert.ok(again.filter((d) => d.item.kind === 'activations').every((d) => d.cached));
      } finally {
        await ckpt.close();
      }
    } finally {
      await disposeSessions();
      await fs.rm(root, { recursive: true, force: true });
    }
  });

  it('answers a second analysis from the cache with the same numbers', async () => {
    const dir = tempDir('cnnslicer-cache-');
    const cache = (): ResultCache => new ResultCache({ dir });
    try {
      const options = { layers: ['conv1', 'pool1'], epochs: [1, 2], params: PARAMS };
      const first = await analyzeRun(reader, options, { cache: cache() });
      assert.strictEqual(first.results.cached, 0);
      const second = await analyzeRun(reader, options, { cache: cache() });
      assert.strictEqual(second.results.cached, second.results.total);
      assert.deepStrictEqual({ ...second, results: undefined }, { ...first, results: undefined });
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses an unknown layer, a pseudo-layer, an epoch not in the run and bad parameters before computing anything', async () => {
    let progressed = 0;
    const ctx = { onProgress: () => progressed++ };
    await rejectsWith(analyzeRun(reader, { layers: ['conv1', 'conv9'] }, ctx), 'bad-request', /layer "conv9" is not in the run \(layers: conv1, pool1, fc\)/);
    await rejectsWith(analyzeRun(reader, { layers: ['logits'] }, ctx), 'bad-request', /"logits" is always analysed/);
    await rejectsWith(analyzeRun(reader, { epochs: [0, 7] }, ctx), 'bad-request', /epoch 7 is not in the run \(epochs: 0, 1, 2\)/);
    await rejectsWith(analyzeRun(reader, { params: { interK: 1 } }, ctx), 'bad-request', /interK/);
    assert.strictEqual(progressed, 0);
  });

  it('a cancelled analysis rejects with cancelled', async () => {
    const abort = new AbortController();
    abort.abort();
    await rejectsWith(analyzeRun(reader, { params: PARAMS }, { signal: abort.signal }), 'cancelled', /cancelled/);
  });
});

// The analyze summary at the size of real networks: 140 layers with torchvision's long names and
// 60 epochs still fit 160 columns, show the first and last epochs, and mark saturated values.
import * as assert from 'node:assert';
import type { RunAnalysis } from '../../src/engine/analysis/analyzeRun';
import { resolveEstimatorParams } from '../../src/engine/estimators/params';
import { formatAnalysis, shortName, shownEpochIndices, wrapList } from '../../src/engine/format/analysisText';
import type { ChannelCapacityResult, ChannelEntropiesResult, InterSampleEntropyResult, LabelEntropiesResult } from '../../src/shared/measures';
import type { LayerInfo } from '../../src/shared/runFormat';

const N = 500;
const CEILING = Math.log2(N * (N - 1));

function inter(layer: string, epoch: number, entropy: number): InterSampleEntropyResult {
  return { layer, epoch, n: N, d: 100, k: N - 1, entropy, ceiling: CEILING, unsolved: 0, unconverged: 0 };
}

function channels(layer: string, epoch: number, count: number): ChannelEntropiesResult {
  return {
    layer,
    epoch,
    classes: 10,
    channels: count,
    perClass: new Float32Array(10 * count).fill(2),
    perClassCount: new Int32Array(10 * count).fill(50),
    all: Float32Array.from({ length: count }, (_, c) => 1 + (c % 7) / 10),
    allCount: new Int32Array(count).fill(N),
    nonFiniteValues: 0,
  };
}

function labels(epoch: number): LabelEntropiesResult {
  const confusion = new Int32Array(100);
  for (let i = 0; i < 10; i++) confusion[i * 10 + 1] = 50;
  return {
    epoch,
    classes: 10,
    confusion,
    labelGivenPrediction: Array.from({ length: 10 }, (_, i) => (i === 1 ? 3.32 : undefined)),
    predictionGivenLabel: new Array<number>(10).fill(0),
    accuracy: 0.1,
  };
}

function fakeAnalysis(layerCount: number, epochCount: number): RunAnalysis {
  const layers: LayerInfo[] = Array.from({ length: layerCount }, (_, i) => ({
    name: `features.${Math.floor(i / 7)}.conv.${i % 7}.very_long_submodule_name_${i}`,
    kind: i % 3 === 0 ? 'conv' : 'activation',
    shape: [1280, 4, 4],
  }));
  const epochs = Array.from({ length: epochCount }, (_, i) => i);
  const names = layers.map((l) => l.name);
  const capacity: ChannelCapacityResult[] = [
    {
      layerI: names[0],
      layerJ: names[3],
      epoch: epochCount - 1,
      rows: 4,
      cols: 4,
      capacity: new Float32Array(16).fill(0.1),
      hA: new Float32Array(4).fill(3),
      hB: new Float32Array(4).fill(3),
      order: {
        colsByMax: Int32Array.from([0, 1, 2, 3]),
        colsByMean: Int32Array.from([0, 1, 2, 3]),
        rowsByMax: Int32Array.from([0, 1, 2, 3]),
        rowsByMean: Int32Array.from([0, 1, 2, 3]),
      },
      pairs: (N * (N - 1)) / 2,
    },
  ];
  return {
    run: {
      name: 'MNIST mobilenet_v2',
      dir: '/runs/mobilenet',
      model: { name: 'mobilenet_v2', framework: 'pytorch' },
      classes: Array.from({ length: 10 }, (_, i) => String(i)),
      probe: { count: N, inputShape: [1, 32, 32], description: 'MNIST test set padded to 32x32: 500 images (seed 0), '.repeat(5) },
      layers,
      epochs: epochs.map((epoch) => ({ epoch, metrics: { loss: 1 / (epoch + 1), accuracy: 0.5, eval_accuracy: 0.1 } })),
      complete: true,
    },
    params: resolveEstimatorParams(),
    layers: names,
    epochs,
    interSample: {
      input: inter('input', 0, 16.1),
      epochs: epochs.map((epoch) => ({ epoch, layers: names.map((l, i) => inter(l, epoch, i % 2 === 0 ? 17.7 : 15.2)), logits: inter('logits', epoch, 12) })),
    },
    channelEntropies: names.map((layer) => ({ layer, items: epochs.map((e) => channels(layer, e, 1280)) })),
    labelEntropies: epochs.map(labels),
    capacityRequested: true,
    capacityEpoch: epochCount - 1,
    capacity,
    capacitySkipped: [],
    capacityLayers: { rule: 'conv', reason: `auto: ${layerCount} layers analysed (more than 16), so between convolutions` },
    results: { total: 1, cached: 0 },
  };
}

describe('analyze summary at real-network size', () => {
  it('fits 160 columns with 140 long-named layers and 60 epochs, first and last epoch shown', () => {
    const text = formatAnalysis(fakeAnalysis(140, 60));
    const long = text.split('\n').filter((l) => l.length > 160);
    assert.deepStrictEqual(long, [], 'no line over 160 columns');
    const header = text.split('\n').find((l) => /^\s+layer\s+epoch 0/.test(l)) as string;
    assert.match(header, /epoch 0\b/);
    assert.match(header, /epoch 59$/);
    assert.match(text, /\(\d+ of 60 epochs shown; every epoch is in the JSON: --json FILE\)/);
    // Every layer has its row in the entropy table and the channel table.
    const rows = text.split('\n').filter((l) => /^\s+features\.\S+\s{2,}\d/.test(l));
    assert.strictEqual(rows.length, 2 * 140);
    assert.match(text, /Layers analysed \(140\): features\.0\.conv\.0\.very_long_submodule_name_0 \[1280×4×4\],/);
    assert.match(text, /features\.19\.conv\.6\.very_long_submodule_name_139 \[1280×4×4\]$/m);
  });

  it('marks values within half a bit of log2 n(n−1) and counts them', () => {
    const text = formatAnalysis(fakeAnalysis(4, 2));
    assert.ok(text.includes(`ceiling log2 n(n−1) = ${CEILING.toFixed(4)} bits for n = 500`));
    assert.match(text, /17\.7000\*/);
    assert.match(text, /15\.2000 /);
    // Layers 0 and 2 of 4, at 2 epochs: 4 saturated of 1 input + 2 × (4 layers + logits) values.
    assert.match(text, /4 of 11 values are within 0\.5 bit of the ceiling/);
    assert.match(text, /Channel capacity between consecutive convolutions \(auto: 4 layers analysed/);
  });

  it('shortens names in the middle, wraps lists, and spreads the shown epochs', () => {
    assert.strictEqual(shortName('layer2.0.downsample.0'), 'layer2.0.downsample.0');
    const s = shortName('a'.repeat(30) + 'MIDDLE' + 'b'.repeat(30), 21);
    assert.strictEqual(s.length, 21);
    assert.ok(s.startsWith('aaaaaaaaaa') && s.endsWith('bbbbbbbbbb') && s.includes('…'));
    const lines = wrapList(
      'Head:',
      Array.from({ length: 50 }, (_, i) => `item${i}`),
      40,
    );
    assert.ok(lines.every((l) => l.length <= 40));
    assert.strictEqual(lines.join(' ').replace(/\s+/g, ' '), `Head: ${Array.from({ length: 50 }, (_, i) => `item${i}`).join(', ')}`);
    assert.deepStrictEqual(shownEpochIndices(5, 10), [0, 1, 2, 3, 4]);
    assert.deepStrictEqual(shownEpochIndices(100, 3), [0, 50, 99]);
  });
});

// The layer CodeLens's decisions, without VS Code (src/extension/codeLens/layerLenses.ts): which
// recorded layers sit on which lines of a file, the lens text, and which view a click opens.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import {
  formatLensTitle,
  formatLensTooltip,
  latestEpoch,
  lensOpens,
  lensTargetsForFile,
  linesWithSeveralRuns,
  meanChannelEntropy,
  sourceFilesOf,
} from '../../src/extension/codeLens/layerLenses';
import type { InterSampleEntropyResult } from '../../src/shared/measures';
import type { LayerInfo, RunInfo } from '../../src/shared/runFormat';

const WS = path.resolve('/ws');
const MODEL = path.join(WS, 'model.py');

function run(dir: string, name: string, layers: LayerInfo[], epochs: number[] = [0, 1, 20]): RunInfo {
  return {
    dir,
    name,
    incompleteEpochs: [],
    manifest: {
      format: 'cnnslicer-run',
      version: 1,
      name,
      model: {},
      layers,
      classes: ['a', 'b'],
      probe: { file: 'probe.safetensors', count: 10, inputShape: [1, 8, 8] },
      epochs: epochs.map((epoch) => ({ epoch, metrics: {}, activations: `epochs/${epoch}.safetensors` })),
    },
  };
}

const LAYERS: LayerInfo[] = [
  { name: 'conv1', kind: 'conv', shape: [8, 26, 26], op: 'Conv2d', source: { file: 'model.py', line: 12 } },
  { name: 'relu1', kind: 'activation', shape: [8, 26, 26], source: { file: 'model.py', line: 13 } },
  { name: 'pool1', kind: 'pool', shape: [8, 13, 13], source: { file: 'other.py', line: 3 } },
  { name: 'fc', kind: 'linear', shape: [10], source: { file: 'model.py', line: 20 } },
  { name: 'flatten', kind: 'flatten', shape: [1352] },
];

/** Relative sources resolve against the workspace; every file exists. */
const resolve = (source: { file: string }): string => (path.isAbsolute(source.file) ? source.file : path.join(WS, source.file));
const same = (a: string, b: string): boolean => path.resolve(a) === path.resolve(b);

function inter(entropy: number): InterSampleEntropyResult {
  return { layer: 'conv1', epoch: 20, n: 1000, d: 5408, k: 10, entropy, ceiling: Math.log2(1000 * 999), unsolved: 0, unconverged: 0 };
}

describe('layer CodeLens', () => {
  it('finds the layers constructed in a file, on their 0-based lines, in line order', () => {
    const a = run(path.join(WS, 'runs', 'a'), 'run-a', LAYERS);
    const targets = lensTargetsForFile(MODEL, [a], resolve, same);
    assert.deepEqual(
      targets.map((t) => [t.layer.name, t.line, t.runName]),
      [
        ['conv1', 11, 'run-a'],
        ['relu1', 12, 'run-a'],
        ['fc', 19, 'run-a'],
      ],
    );
    assert.deepEqual(
      lensTargetsForFile(path.join(WS, 'other.py'), [a], resolve, same).map((t) => t.layer.name),
      ['pool1'],
    );
    assert.deepEqual(lensTargetsForFile(path.join(WS, 'unrelated.py'), [a], resolve, same), []);
    // A source that does not resolve gives no lens, and neither does a line number the format forbids.
    const broken = run(path.join(WS, 'runs', 'b'), 'run-b', [{ name: 'x', kind: 'conv', shape: [1, 1, 1], source: { file: 'model.py', line: 0 } }]);
    assert.deepEqual(lensTargetsForFile(MODEL, [broken], resolve, same), []);
    assert.deepEqual(
      lensTargetsForFile(MODEL, [a], () => undefined, same),
      [],
    );
  });

  it('names the run when a line holds layers of several runs (two runs of the same script)', () => {
    const a = run(path.join(WS, 'runs', 'a'), 'mnist-100', LAYERS);
    const b = run(path.join(WS, 'runs', 'b'), 'mnist-500', LAYERS.slice(0, 1));
    const targets = lensTargetsForFile(MODEL, [a, b], resolve, same);
    assert.deepEqual(
      targets.map((t) => `${t.runName}:${t.layer.name}`),
      ['mnist-100:conv1', 'mnist-500:conv1', 'mnist-100:relu1', 'mnist-100:fc'],
    );
    const several = linesWithSeveralRuns(targets);
    assert.deepEqual([...several], [11]);
    const measured = { kind: 'measured' as const, measures: { epoch: 20, meanChannelEntropy: 3.2145, interSampleEntropy: inter(11.23) } };
    assert.equal(
      formatLensTitle(targets[1], measured, { showRunName: several.has(targets[1].line) }),
      'CNNSlicer · mnist-500 · conv1: H̄ 3.21 bits (channels) · inter 11.2 bits · epoch 20',
    );
  });

  it('formats the lens: mean channel entropy, inter-sample entropy and the epoch, three significant digits', () => {
    const target = { layer: LAYERS[0], runName: 'run-a' };
    assert.equal(
      formatLensTitle(target, { kind: 'measured', measures: { epoch: 20, meanChannelEntropy: 3.2145, interSampleEntropy: inter(11.2349) } }),
      'CNNSlicer · conv1: H̄ 3.21 bits (channels) · inter 11.2 bits · epoch 20',
    );
    // A dense layer's features are one map: its entropy is not a mean over channels.
    assert.equal(
      formatLensTitle(
        { layer: LAYERS[3], runName: 'run-a' },
        { kind: 'measured', measures: { epoch: 3, meanChannelEntropy: 0.5, interSampleEntropy: inter(7) } },
      ),
      'CNNSlicer · fc: H 0.5 bits (features) · inter 7 bits · epoch 3',
    );
    // Parts the engine could not give are left out rather than shown as 0.
    assert.equal(
      formatLensTitle(target, { kind: 'measured', measures: { epoch: 2, meanChannelEntropy: undefined, interSampleEntropy: inter(9.87654) } }),
      'CNNSlicer · conv1: inter 9.88 bits · epoch 2',
    );
    assert.equal(formatLensTitle(target, { kind: 'no-epoch' }), 'CNNSlicer · conv1: no finished epoch yet');
    assert.equal(formatLensTitle(target, { kind: 'failed', reason: 'the engine crashed' }), 'CNNSlicer · conv1: entropy unavailable (the engine crashed)');
    const tooltip = formatLensTooltip(
      { ...target, runDir: '/ws/runs/a' },
      { kind: 'measured', measures: { epoch: 20, meanChannelEntropy: 3.2145, interSampleEntropy: inter(11.2349) } },
      'its channel view',
    );
    assert.equal(
      tooltip,
      [
        'conv1 (conv 8×26×26) in run run-a',
        '/ws/runs/a',
        'Mean intra-sample entropy of its channels over all probe samples at epoch 20: 3.21 bits',
        "Inter-sample entropy of the layer's output at epoch 20: 11.2 bits (N = 1000, k = 10)",
        'Its ceiling log2 N(N−1) is 19.9 bits',
        'Click to open its channel view.',
      ].join('\n'),
    );
    // Within half a bit of log2 N(N−1), the value says more about N than about the layer: flagged.
    const near = { ...inter(19.8), ceiling: Math.log2(1000 * 999) };
    assert.equal(
      formatLensTitle(target, { kind: 'measured', measures: { epoch: 2, meanChannelEntropy: undefined, interSampleEntropy: near } }),
      'CNNSlicer · conv1: inter 19.8 bits (≈ ceiling) · epoch 2',
    );
    assert.match(
      formatLensTooltip(
        { ...target, runDir: '/r' },
        { kind: 'measured', measures: { epoch: 2, meanChannelEntropy: undefined, interSampleEntropy: near } },
        'x',
      ),
      /is 19\.9 bits: the value is within half a bit of it \(saturated\)/,
    );
  });

  it('averages the channels that have maps, ignoring those without a sample', () => {
    assert.equal(meanChannelEntropy({ all: Float32Array.from([1, 2, 3, 6]), allCount: Int32Array.from([5, 5, 5, 5]) }), 3);
    assert.equal(meanChannelEntropy({ all: Float32Array.from([1, Number.NaN, 5]), allCount: Int32Array.from([5, 0, 5]) }), 3);
    assert.equal(meanChannelEntropy({ all: Float32Array.from([Number.NaN]), allCount: Int32Array.from([0]) }), undefined);
  });

  it('measures the newest finished epoch, and none before the first', () => {
    assert.equal(latestEpoch(run('/r', 'r', LAYERS, [0, 5, 12])), 12);
    assert.equal(latestEpoch(run('/r', 'r', LAYERS, [])), undefined);
  });

  it('opens the channel view for layers with feature maps (convolutions, pools), the query view for the others', () => {
    assert.equal(lensOpens(LAYERS[0]), 'channel');
    assert.equal(lensOpens(LAYERS[2]), 'channel');
    assert.equal(lensOpens(LAYERS[1]), 'query');
    assert.equal(lensOpens(LAYERS[3]), 'query');
    assert.equal(lensOpens({ kind: 'conv', shape: [16] }), 'query', 'a 1-D "convolution" output has no maps to show');
  });

  it('lists the files the runs name, so the provider also covers sources that are not Python', () => {
    const a = run(path.join(WS, 'runs', 'a'), 'run-a', [...LAYERS, { name: 'lua', kind: 'other', shape: [3], source: { file: 'net.lua', line: 4 } }]);
    assert.deepEqual(sourceFilesOf([a], resolve), [path.join(WS, 'model.py'), path.join(WS, 'net.lua'), path.join(WS, 'other.py')].sort());
  });
});

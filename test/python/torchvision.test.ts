// Real CNNs from torchvision under the probe, end to end: scripts/torchvision_driver.py builds
// ResNet-18, VGG-11-BN and MobileNetV2 as examples/torchvision_models.py does, trains each for two
// steps and records them; the engine must find what PyTorch computed, recompute every layer from
// the ONNX checkpoints, and import a plainly exported torchvision ResNet through the CLI.
import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { ActivationCache } from '../../src/engine/cache/activationCache';
import { disposeSessions, materializeOutputs } from '../../src/engine/run/checkpoint';
import { RunReader } from '../../src/engine/run/runReader';
import { MANIFEST_FILE, type LayerInfo } from '../../src/shared/runFormat';
import { REPO_ROOT, runPython } from '../support/python';
import { float32FromBytes, parseOutput, requirePython } from './pyhelpers';

const DRIVER = path.join(__dirname, 'scripts', 'torchvision_driver.py');
const MODELS = ['resnet18', 'vgg11_bn', 'mobilenet_v2'] as const;
const N = 16;
const PROBE_BIG = 500;

interface DriverReport {
  models: Record<string, { runningMeanMaxAbs: number; runningVarMaxDeviation: number }>;
  warnings: Record<string, string[]>;
  sizeWarning: { messages: string[]; categories: string[] };
  sizeWarningOff: string[];
  sizeWarningBlocks32: string[];
  import: { onnx: string };
}

function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Whether `actual` equals `expected` within float16 precision: each value within 2^-11 of its
 * own magnitude plus 2^-11 of the tensor's root mean square, which covers values that are a
 * cancellation's small remainder (a batch norm's output near its mean). Two float32
 * computations of the same network by different libraries differ by far less.
 */
function float16Close(actual: Float32Array, expected: Float32Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let sumSquares = 0;
  for (const v of expected) sumSquares += v * v;
  const rms = Math.sqrt(sumSquares / Math.max(1, expected.length));
  let worst = 0;
  let at = -1;
  for (let i = 0; i < actual.length; i++) {
    const tol = 2 ** -11 * (Math.abs(expected[i]) + rms) + 2 ** -24;
    const excess = Math.abs(actual[i] - expected[i]) / tol;
    if (!(excess <= worst)) {
      worst = excess;
      at = i;
    }
  }
  assert.ok(worst <= 1, `${what}: [${at}] is ${actual[at]}, expected ${expected[at]} (tensor rms ${rms}; beyond float16 precision by ${worst.toFixed(2)}x)`);
}

function blockNames(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${i}`);
}

const RESNET_BLOCKS = ['layer1', 'layer2', 'layer3', 'layer4'].flatMap((l) => blockNames(`${l}.`, 2));

describe('torchvision models under the probe', function () {
  this.timeout(300_000);
  let python: string;
  let out: string;
  let report: DriverReport;
  const readers = new Map<string, RunReader>();

  async function open(run: string): Promise<RunReader> {
    let reader = readers.get(run);
    if (reader === undefined) {
      reader = await RunReader.open(path.join(out, run));
      readers.set(run, reader);
    }
    return reader;
  }

  async function stored(reader: RunReader, layer: string, epoch = 1): Promise<Float32Array> {
    const s = await reader.slice({ samples: { kind: 'all' }, layer, channel: 'all', epoch });
    assert.equal(s.source, 'activations', `${layer} is read from the activations file`);
    return s.data;
  }

  function expected(model: string, name: string): Float32Array {
    return float32FromBytes(readFileSync(path.join(out, 'expected', model, `${name}.f32`)));
  }

  before(async function () {
    python = requirePython(this, ['torch', 'torchvision', 'numpy']);
    out = mkdtempSync(path.join(tmpdir(), 'cnnslicer-torchvision-'));
    const result = await runPython(python, [DRIVER, 'runs', out], { timeoutMs: 240_000 });
    report = parseOutput<DriverReport>(result);
  });

  after(async function () {
    await Promise.all([...readers.values()].map((r) => r.close()));
    await disposeSessions();
    if (out) rmSync(out, { recursive: true, force: true });
  });

  it('trained each model for two steps: batch-norm running statistics are no longer 0 and 1', function () {
    for (const model of MODELS) {
      const m = report.models[model];
      assert.ok(m.runningMeanMaxAbs > 0.05 && m.runningVarMaxDeviation > 0.05, `${model}: ${JSON.stringify(m)}`);
    }
  });

  for (const model of MODELS) {
    it(`${model}: the engine recomputes every layer and the logits from the checkpoint as PyTorch computed them in eval mode`, async function () {
      const reader = await open(`exact-${model}`);
      const m = reader.manifest;
      assert.equal(m.probe.count, N);
      const epoch = m.epochs.find((e) => e.epoch === 1);
      assert.ok(epoch?.checkpoint !== undefined && epoch.activations !== undefined && epoch.dtype === 'float32', `${model}: epoch 1 has both files in float32`);
      const names = [...m.layers.map((l) => l.name), 'logits'];
      const recomputed = await materializeOutputs({
        modelPath: path.join(out, `exact-${model}`, epoch.checkpoint),
        inputs: (rows) => reader.probeInputs(rows),
        inputShape: m.probe.inputShape,
        sampleIndices: Array.from({ length: N }, (_, i) => i),
        outputs: names,
      });
      for (const name of names) {
        const got = recomputed.get(name);
        assert.ok(got !== undefined, `${model}: the checkpoint has an output ${name}`);
        const shape = name === 'logits' ? [m.classes.length] : m.layers.find((l) => l.name === name)!.shape;
        assert.deepEqual(got.shape, [N, ...shape], `${model} ${name}: shape`);
        float16Close(got.data, await stored(reader, name), `${model} ${name}`);
      }
      // The logits the probe stored are PyTorch's own, computed without hooks.
      float16Close(await stored(reader, 'logits'), expected(model, 'logits'), `${model} logits vs PyTorch`);
    });
  }

  /** A copy of a store="both" run that names only the checkpoints: its layers can only come from recomputing. */
  function checkpointOnlyCopy(run: string): string {
    const dir = path.join(out, `${run}-checkpoint-only`);
    if (!existsSync(dir)) {
      cpSync(path.join(out, run), dir, { recursive: true });
      const file = path.join(dir, MANIFEST_FILE);
      const manifest = JSON.parse(readFileSync(file, 'utf8')) as { epochs: Record<string, unknown>[] };
      for (const e of manifest.epochs) {
        delete e.activations;
        delete e.dtype;
      }
      writeFileSync(file, JSON.stringify(manifest));
    }
    return dir;
  }

  for (const model of ['resnet18', 'mobilenet_v2'] as const) {
    it(`${model}: through the activation cache every layer is PyTorch's eval-mode output, from one run of the checkpoint per epoch`, async function () {
      const cacheDir = mkdtempSync(path.join(out, 'activation-cache-'));
      const dir = checkpointOnlyCopy(`exact-${model}`);
      const reader = await RunReader.open(dir, { activationCache: new ActivationCache({ dir: cacheDir, batchBytes: 4 * 1024 * 1024 }) });
      try {
        const both = await open(`exact-${model}`);
        for (const name of [...reader.manifest.layers.map((l) => l.name), 'logits']) {
          const s = await reader.slice({ samples: { kind: 'all' }, layer: name, channel: 'all', epoch: 1 });
          assert.equal(s.source, 'checkpoint');
          float16Close(s.data, await stored(both, name), `${model} ${name} from the activation cache`);
        }
        assert.equal(readdirSync(path.join(cacheDir, 'activations')).length, 1, 'one entry for the epoch');
      } finally {
        await reader.close();
      }
    });
  }

  it('ResNet-18 through the activation cache: a damaged entry is recomputed, two engines share a folder, the cap evicts the oldest entry', async function () {
    const dir = checkpointOnlyCopy('exact-resnet18');
    const cacheDir = mkdtempSync(path.join(out, 'activation-cache-'));
    const slice = (r: RunReader, epoch: number, layer = 'layer2.0.relu#2'): Promise<Float32Array> =>
      r.slice({ samples: { kind: 'all' }, layer, channel: 'all', epoch }).then((x) => x.data);
    // Two cache objects on one folder stand for two engine processes asking at the same time.
    const [a, b] = await Promise.all([0, 1].map(() => RunReader.open(dir, { activationCache: new ActivationCache({ dir: cacheDir }) })));
    const [x, y] = await Promise.all([slice(a, 1), slice(b, 1)]);
    assert.deepEqual(x, y);
    await Promise.all([a.close(), b.close()]);
    const entries = (): string[] => readdirSync(path.join(cacheDir, 'activations')).filter((f) => f.endsWith('.safetensors'));
    assert.equal(entries().length, 1);

    // Damage the middle of the entry: its checksums find it, and it is computed again.
    const file = path.join(cacheDir, 'activations', entries()[0]);
    const bytes = readFileSync(file);
    bytes.fill(0x7b, bytes.length >> 1, (bytes.length >> 1) + 64);
    writeFileSync(file, bytes);
    const warnings: string[] = [];
    const c = await RunReader.open(dir, { activationCache: new ActivationCache({ dir: cacheDir, log: (_l, m) => warnings.push(m) }) });
    try {
      for (const layer of c.manifest.layers.map((l) => l.name)) await slice(c, 1, layer);
      assert.deepEqual(await slice(c, 1), x);
      assert.ok(warnings.some((w) => w.includes('does not match its checksum')), warnings.join('\n'));

      // Room for one entry: reading MobileNetV2's epoch evicts ResNet-18's, the least recently used.
      const size = statSync(file).size;
      const capped = await RunReader.open(checkpointOnlyCopy('exact-mobilenet_v2'), { activationCache: new ActivationCache({ dir: cacheDir, maxBytes: size + 1 }) });
      try {
        await slice(capped, 1, 'features.3');
      } finally {
        await capped.close();
      }
      assert.equal(entries().length, 1);
      assert.ok(!existsSync(file), "ResNet-18's entry was evicted");
    } finally {
      await c.close();
    }
  });

  it('ResNet-18: each call of a block’s shared relu is its own layer, named #1 and #2, with the module’s kind, op and line', async function () {
    const reader = await open('exact-resnet18');
    const layers = reader.manifest.layers;
    const names = layers.map((l) => l.name);
    assert.deepEqual(names.slice(0, 11), [
      'conv1',
      'bn1',
      'relu',
      'layer1.0.conv1',
      'layer1.0.bn1',
      'layer1.0.relu#1',
      'layer1.0.conv2',
      'layer1.0.bn2',
      'layer1.0.relu#2',
      'layer1.0',
      'layer1.1.conv1',
    ]);
    for (const block of RESNET_BLOCKS) {
      assert.ok(!names.includes(`${block}.relu`), `${block}.relu is only recorded per call`);
      const first = layers.find((l) => l.name === `${block}.relu#1`);
      const second = layers.find((l) => l.name === `${block}.relu#2`);
      assert.ok(first && second, `${block} has relu#1 and relu#2`);
      for (const l of [first, second]) {
        assert.equal(l.kind, 'activation');
        assert.equal(l.op, 'ReLU');
      }
      // Forward order: the second call completes after bn2, before the block itself.
      assert.ok(names.indexOf(`${block}.relu#1`) < names.indexOf(`${block}.bn2`));
      assert.ok(names.indexOf(`${block}.bn2`) < names.indexOf(`${block}.relu#2`));
      assert.equal(names.indexOf(`${block}.relu#2`) + 1, names.indexOf(block));
      assert.deepEqual(second.source, first.source);
    }
    // Both calls link to the line in torchvision that built the shared module.
    const source = layers.find((l) => l.name === 'layer1.0.relu#1')!.source;
    assert.ok(source !== undefined, 'track_sources gave layer1.0.relu a line');
    assert.match(readFileSync(source.file, 'utf8').split('\n')[source.line - 1], /self\.relu = nn\.ReLU\(/);

    for (const name of ['layer1.0.relu#1', 'layer1.0.relu#2', 'layer1.0', 'layer2.0.relu#1', 'layer2.0']) {
      float16Close(await stored(reader, name), expected('resnet18', name), `resnet18 ${name} vs PyTorch`);
    }
    // The block's output is the sum after the residual connection and its relu: relu#2's value.
    assert.deepEqual(await stored(reader, 'layer1.0'), await stored(reader, 'layer1.0.relu#2'));
  });

  it('ResNet-18, default granularity: the leaves, 59 layers, every shared relu once per call', async function () {
    const leaves = (await open('leaves-resnet18')).manifest.layers;
    const all = (await open('exact-resnet18')).manifest.layers;
    assert.equal(leaves.length, 59);
    assert.deepEqual(
      leaves.map((l) => l.name),
      all.filter((l) => l.kind !== 'block').map((l) => l.name),
    );
    assert.equal(leaves.filter((l) => /\.relu#[12]$/.test(l.name)).length, 16);
  });

  it('ResNet-18, layers="blocks": the stem, the eight BasicBlocks with kind "block", the pool and fc', async function () {
    const reader = await open('blocks-resnet18');
    const picked = reader.manifest.layers.map(({ name, kind, op }) => ({ name, kind, op }));
    assert.deepEqual(picked, [
      { name: 'conv1', kind: 'conv', op: 'Conv2d' },
      { name: 'bn1', kind: 'norm', op: 'BatchNorm2d' },
      { name: 'relu', kind: 'activation', op: 'ReLU' },
      ...RESNET_BLOCKS.map((name) => ({ name, kind: 'block', op: 'BasicBlock' })),
      { name: 'avgpool', kind: 'pool', op: 'AdaptiveAvgPool2d' },
      { name: 'fc', kind: 'linear', op: 'Linear' },
    ]);
    assert.deepEqual(reader.manifest.layers.find((l) => l.name === 'layer4.1')?.shape, [512, 4, 4]);
    // Same model, same weights: the blocks run (float16) holds the values of the "all" run.
    const all = await open('exact-resnet18');
    for (const name of ['relu', 'layer1.0', 'layer2.0', 'layer4.1', 'fc', 'logits']) {
      float16Close(await stored(reader, name), await stored(all, name), `blocks-resnet18 ${name}`);
    }
  });

  it('MobileNetV2, layers="blocks": features.0 … features.18 as blocks, then the classifier’s linear layer', async function () {
    const reader = await open('blocks-mobilenet_v2');
    const picked = reader.manifest.layers.map(({ name, kind, op }: LayerInfo) => ({ name, kind, op }));
    assert.deepEqual(picked, [
      ...blockNames('features.', 19).map((name, i) => ({ name, kind: 'block', op: i === 0 || i === 18 ? 'Conv2dNormActivation' : 'InvertedResidual' })),
      { name: 'classifier.1', kind: 'linear', op: 'Linear' },
    ]);
    const all = await open('exact-mobilenet_v2');
    for (const name of ['features.0', 'features.1', 'features.3', 'features.18']) {
      float16Close(await stored(reader, name), expected('mobilenet_v2', name), `blocks-mobilenet_v2 ${name} vs PyTorch`);
      float16Close(await stored(all, name), expected('mobilenet_v2', name), `exact-mobilenet_v2 ${name} vs PyTorch`);
    }
    // features.3 has a residual connection; its output is its input plus its branch.
    float16Close(await stored(all, 'features.3'), expected('mobilenet_v2', 'features.3.residual'), 'features.3 = x + conv(x)');
  });

  it('warns once, at construction, when an epoch of activations would be large, with the estimate and store="checkpoint"', async function () {
    for (const model of MODELS) assert.deepEqual(report.warnings[model], [], `${model}: 16 probe samples, nothing to warn about`);
    const { messages, categories } = report.sizeWarning;
    assert.equal(messages.length, 1, messages.join('\n'));
    assert.deepEqual(categories, ['RuntimeWarning']);
    // N x (every layer's values + the logits) x 2 bytes of float16, from the run's own manifest.
    const manifest = (await open('warn-resnet18')).manifest;
    assert.equal(manifest.layers.length, 59);
    const bytes = PROBE_BIG * (manifest.layers.reduce((s, l) => s + product(l.shape), 0) + manifest.classes.length) * 2;
    assert.ok(bytes > 1.5e9, `ResNet-18 at 500 probe images is over 1.5 GB of float16 per epoch (${bytes})`);
    assert.ok(messages[0].includes(`${bytes.toLocaleString('en-US')} bytes`), messages[0]);
    assert.match(messages[0], /about 1\.7 GiB of activations per epoch/);
    assert.match(messages[0], /store="checkpoint"/);
    assert.match(messages[0], /activation_warning_bytes=268435456/);
    assert.deepEqual(report.sizeWarningOff, [], 'activation_warning_bytes=None never warns');

    const blocks = (await open('blocks-resnet18')).manifest;
    const blockBytes = PROBE_BIG * (blocks.layers.reduce((s, l) => s + product(l.shape), 0) + blocks.classes.length) * 4;
    assert.equal(report.sizeWarningBlocks32.length, 1);
    assert.ok(report.sizeWarningBlocks32[0].includes(`${blockBytes.toLocaleString('en-US')} bytes`), report.sizeWarningBlocks32[0]);
  });

  it('imports a torchvision ResNet-18 exported with plain torch.onnx.export through the CLI, logits as PyTorch computes them', async function () {
    const run = path.join(out, 'import-run');
    const cache = path.join(out, 'cli-cache');
    // The CLI as shipped: the bundle `npm run build` makes (CI's setup builds it).
    const cli = path.join(REPO_ROOT, 'dist', 'engine', 'cli.js');
    assert.ok(existsSync(cli), `${cli} is missing: run npm run build first`);
    const args = [cli, 'import', report.import.onnx];
    args.push('--dataset', 'mnist', '--probe', '20', '--mean', '0.1307', '--std', '0.3081', '--out', run);
    try {
      await promisify(execFile)(process.execPath, args, { cwd: REPO_ROOT, env: { ...process.env, CNNSLICER_CACHE_DIR: cache }, maxBuffer: 1 << 24 });
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      assert.fail(`cnnslicer import ${report.import.onnx} failed: ${(e.stderr || e.message).slice(-2000)}`);
    }
    const reader = await open('import-run');
    const m = reader.manifest;
    assert.deepEqual(m.probe.inputShape, [1, 28, 28]);
    assert.equal(m.probe.count, 20);
    const count = (kind: string): number => m.layers.filter((l) => l.kind === kind).length;
    // 20 convolutions (stem, 16 in blocks, 3 downsampling) with the batch norms folded into them,
    // 17 relus (the stem's and both calls of each block's), max pool and global average pool; fc's
    // Gemm is the graph output, the logits, not a layer.
    assert.equal(count('conv'), 20);
    assert.equal(count('activation'), 17);
    assert.equal(count('pool'), 2);
    assert.equal(m.layers.length, 39);
    assert.deepEqual(m.layers.at(-1)?.shape, [512, 1, 1]);

    const logits = await reader.slice({ samples: { kind: 'all' }, layer: 'logits', channel: 'all', epoch: 0 });
    assert.equal(logits.source, 'checkpoint');
    assert.deepEqual([...logits.shape], [20, 10]);
    const torch = parseOutput<{ shape: number[]; logits: number[] }>(
      await runPython(python, [DRIVER, 'logits', path.join(path.dirname(report.import.onnx), 'resnet18.pt'), run], { timeoutMs: 120_000 }),
    );
    assert.deepEqual(torch.shape, [20, 10]);
    float16Close(logits.data, Float32Array.from(torch.logits), 'imported logits vs PyTorch');
  });
});

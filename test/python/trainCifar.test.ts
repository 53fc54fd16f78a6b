// The built-in trainer on CIFAR-10 with real PyTorch on the CPU, on small generated files in the
// format of the standard binary batches (records of a label byte and 3×1024 pixel bytes): the run
// it writes must read back with the CIFAR CNN's layers and the classes of batches.meta.txt, and a
// malformed folder must fail with an error naming the file and the problem.
import * as assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { disposeSessions } from '../../src/engine/run/checkpoint';
import { RunReader } from '../../src/engine/run/runReader';
import { trainerArgs, TrainerProcess, type TrainerEvent, type TrainerOptions, type TrainerResult } from '../../src/extension/training/trainerProcess';
import { pythonEnv } from '../support/python';
import { requirePython } from './pyhelpers';

const RECORD = 3073;
/** Records per generated batch: 3 of each class, so 2 per class can be drawn for training and for the probe. */
const RECORDS = 30;
const CLASSES = ['plane', 'car', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
const BATCHES = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin', 'test_batch.bin'];
/** The CIFAR CNN's recorded layers, in forward order (flatten repeats its input and is not recorded). */
const LAYERS = ['conv1', 'relu1', 'conv2', 'relu2', 'pool1', 'conv3', 'relu3', 'conv4', 'relu4', 'pool2', 'conv5', 'relu5', 'pool3', 'fc1', 'relu6', 'fc2'];

/** One batch file: label i % 10 for record i, pixels from a seeded generator. */
function batch(records: number, seed: number): Buffer {
  const out = Buffer.alloc(records * RECORD);
  let s = seed >>> 0;
  for (let r = 0; r < records; r++) {
    out[r * RECORD] = r % 10;
    for (let i = 1; i < RECORD; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      out[r * RECORD + i] = s >>> 24;
    }
  }
  return out;
}

function writeCifar(dir: string): string {
  mkdirSync(dir, { recursive: true });
  BATCHES.forEach((f, i) => writeFileSync(path.join(dir, f), batch(RECORDS, i + 1)));
  // Blank lines, as at the end of the real file, are not class names.
  writeFileSync(path.join(dir, 'batches.meta.txt'), `${CLASSES.join('\n')}\n\n`);
  return dir;
}

/** A copy of the good folder with one change. */
function variant(good: string, dir: string, change: (dir: string) => void): string {
  mkdirSync(dir, { recursive: true });
  for (const f of [...BATCHES, 'batches.meta.txt']) copyFileSync(path.join(good, f), path.join(dir, f));
  change(dir);
  return dir;
}

describe('the built-in trainer on CIFAR-10 (cnnslicer.train --dataset cifar10)', function () {
  this.timeout(180_000);
  let python: string;
  let tmp: string;
  let good: string;
  const readers: RunReader[] = [];

  before(function () {
    python = requirePython(this, ['torch', 'numpy']);
    tmp = mkdtempSync(path.join(tmpdir(), 'cnnslicer-cifar-'));
    good = writeCifar(path.join(tmp, 'cifar-10-batches-bin'));
  });

  after(async function () {
    await Promise.all(readers.map((r) => r.close()));
    await disposeSessions();
    if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
  });

  function options(out: string, data: string, epochs = 2): TrainerOptions {
    return { dataset: 'cifar10', arch: 'cifar', perClass: 2, epochs, batchSize: 8, lr: 0.001, probe: 20, out, data, seed: 0, cifarRecords: RECORDS };
  }

  function train(args: readonly string[]): { result: Promise<TrainerResult>; events: TrainerEvent[] } {
    const events: TrainerEvent[] = [];
    const trainer = new TrainerProcess({ command: python, args, cwd: tmp, env: pythonEnv(), onEvent: (e) => events.push(e) });
    return { result: trainer.result, events };
  }

  it('trains the CIFAR CNN for 2 epochs into a run with its 16 layers and the classes of batches.meta.txt', async function () {
    const out = path.join(tmp, 'run');
    const { result, events } = train(trainerArgs(options(out, good)));
    assert.deepEqual(await result, { outcome: 'done', run: out, lastEpoch: 2 });
    assert.deepEqual(events.map((e) => e.event), ['start', 'epoch', 'epoch', 'done']);
    const start = events[0];
    assert.ok(start.event === 'start' && start.device === 'cpu', 'the start event says where it trains');

    const reader = await RunReader.open(out);
    readers.push(reader);
    const m = reader.manifest;
    assert.deepEqual(m.epochs.map((e) => e.epoch), [0, 1, 2]);
    assert.equal(m.complete, true);
    assert.deepEqual(m.classes, CLASSES);
    assert.equal(m.probe.count, 20);
    assert.deepEqual(m.probe.inputShape, [3, 32, 32]);
    assert.deepEqual(m.layers.map((l) => l.name), LAYERS);
    assert.ok(m.layers.length >= 11, 'the paper indexes layers up to 11');
    // The paper's case studies: layer 3 with at least 31 filters, layer 11 with channels.
    assert.deepEqual(m.layers[2].shape, [32, 32, 32]);
    assert.deepEqual(m.layers[10].shape, [128, 8, 8]);
    assert.deepEqual(m.layers.find((l) => l.name === 'fc1')?.shape, [256]);
    const conv1 = m.layers[0];
    assert.equal(path.basename(conv1.source?.file ?? ''), 'cifar10_pytorch.py', 'layers link to the example that defines the class');
    const slice = await reader.slice({ samples: { kind: 'all' }, layer: 'conv5', channel: 'all', epoch: 2 });
    assert.equal(slice.data.length, 20 * 128 * 8 * 8);
    assert.ok(slice.data.every((v) => Number.isFinite(v)));
  });

  async function failure(args: readonly string[]): Promise<string> {
    const r = await train(args).result;
    assert.equal(r.outcome, 'failed');
    return r.message ?? '';
  }

  it('refuses a truncated batch file, naming it', async function () {
    const dir = variant(good, path.join(tmp, 'truncated'), (d) => truncateSync(path.join(d, 'data_batch_3.bin'), RECORDS * RECORD - 1000));
    const message = await failure(trainerArgs(options(path.join(tmp, 'no-run-1'), dir)));
    assert.match(message, /data_batch_3\.bin: 91,190 bytes is not a whole number of 3073-byte CIFAR-10 records \(29 records and 2,073 bytes more\): the file is truncated/);
  });

  it('refuses a batch of whole records but the wrong size, and a label outside 0-9, naming the file', async function () {
    const short = variant(good, path.join(tmp, 'short'), (d) => writeFileSync(path.join(d, 'test_batch.bin'), batch(RECORDS - 1, 9)));
    assert.match(await failure(trainerArgs(options(path.join(tmp, 'no-run-2'), short))), /test_batch\.bin: 29 records \(89,117 bytes\), expected 30 \(92,190 bytes\)/);
    // The standard size is 10,000 records: real batches need no --cifar-records.
    const { cifarRecords: _, ...standard } = options(path.join(tmp, 'no-run-3'), good);
    assert.match(await failure(trainerArgs(standard)), /data_batch_1\.bin: 30 records \(92,190 bytes\), expected 10,000 \(30,730,000 bytes\)/);
    const badLabel = variant(good, path.join(tmp, 'label'), (d) => {
      const b = batch(RECORDS, 1);
      b[4 * RECORD] = 17;
      writeFileSync(path.join(d, 'data_batch_1.bin'), b);
    });
    assert.match(await failure(trainerArgs(options(path.join(tmp, 'no-run-4'), badLabel))), /data_batch_1\.bin: record 4 has label 17, outside 0-9/);
  });

  it('refuses a folder without the batches, and an MNIST architecture on CIFAR-10', async function () {
    const missing = variant(good, path.join(tmp, 'missing'), (d) => rmSync(path.join(d, 'data_batch_5.bin')));
    assert.match(await failure(trainerArgs(options(path.join(tmp, 'no-run-5'), missing))), /missing[/\\]?: not a CIFAR-10 binary folder, data_batch_5\.bin missing/);
    assert.match(await failure(trainerArgs({ ...options(path.join(tmp, 'no-run-6'), good), arch: 'small' })), /--arch small is a MNIST architecture and cannot train on --dataset cifar10/);
    assert.match(await failure(trainerArgs({ ...options(path.join(tmp, 'no-run-7'), good), dataset: 'mnist' })), /--arch cifar is a CIFAR-10 architecture and cannot train on --dataset mnist/);
  });
});

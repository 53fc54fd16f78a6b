// The probe in a Jupyter notebook: scripts/notebook_driver.py builds a notebook (a CNN defined in
// a cell, the probe, a training loop) and executes it with nbclient on an ipykernel kernel, as
// JupyterLab or VS Code runs one. The run it leaves must read back through the engine's RunReader
// whether the notebook ran to its end or the kernel was restarted in the middle of the loop.
import * as assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { disposeSessions, materializeOutputs } from '../../src/engine/run/checkpoint';
import { RunReader } from '../../src/engine/run/runReader';
import { formatRunSummary } from '../../src/extension/runs/runSummary';
import { jupyterEnv, NOTEBOOK_DRIVER, NOTEBOOK_MODULES } from '../support/jupyter';
import { runPython } from '../support/python';
import { parseOutput, requirePython } from './pyhelpers';

const LAYERS = [
  { name: 'conv1', shape: [4, 6, 6] },
  { name: 'relu1', shape: [4, 6, 6] },
  { name: 'pool', shape: [4, 3, 3] },
  { name: 'fc', shape: [4] },
];
const PROBE_COUNT = 32;

interface DriverReport {
  /** The text each executed cell printed (or its error), in cell order. */
  readonly outputs: string[];
  /** Restart only: how nbclient's execution of the loop cell ended once its kernel was killed. */
  readonly loopCell?: string;
  /** Restart only: the kernel's process id before and after the restart. */
  readonly kernelPids?: [number, number];
}

/** Whether every value of `actual` is `expected` rounded to float16, with float32 noise from a second library. */
function float16Close(actual: Float32Array, expected: Float32Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    const tol = 2 ** -11 * Math.abs(expected[i]) * 1.01 + 1e-5 * Math.max(1, Math.abs(expected[i])) + 2 ** -24;
    assert.ok(Math.abs(actual[i] - expected[i]) <= tol, `${what}: [${i}] is ${actual[i]}, expected ${expected[i]}`);
  }
}

/** Reads every layer of every listed epoch, and recomputes the last epoch's logits from its ONNX checkpoint. */
async function checkReadable(reader: RunReader, label: string): Promise<void> {
  const m = reader.manifest;
  for (const entry of m.epochs) {
    for (const layer of [...LAYERS.map((l) => l.name), 'logits']) {
      const s = await reader.slice({ samples: { kind: 'all' }, layer, channel: 'all', epoch: entry.epoch });
      assert.equal(s.source, 'activations', `${label}: epoch ${entry.epoch} ${layer}`);
      assert.equal(s.shape[0], PROBE_COUNT, `${label}: epoch ${entry.epoch} ${layer}: one row per probe sample`);
      assert.ok(s.data.length > 0 && s.data.every(Number.isFinite), `${label}: epoch ${entry.epoch} ${layer} holds finite values`);
    }
  }
  // The checkpoint was exported by torch.onnx inside the kernel; onnxruntime must compute from it
  // what PyTorch computed there.
  const last = m.epochs.at(-1);
  assert.ok(last?.checkpoint !== undefined, `${label}: the last epoch has a checkpoint`);
  const outputs = await materializeOutputs({
    modelPath: path.join(reader.info.dir, last.checkpoint),
    inputs: (rows) => reader.probeInputs(rows),
    inputShape: m.probe.inputShape,
    sampleIndices: Array.from({ length: PROBE_COUNT }, (_, i) => i),
    outputs: ['logits'],
  });
  const stored = await reader.slice({ samples: { kind: 'all' }, layer: 'logits', channel: 'all', epoch: last.epoch });
  float16Close(stored.data, outputs.get('logits')!.data, `${label}: epoch ${last.epoch} logits, stored and recomputed`);
}

describe('the probe in a Jupyter notebook (nbclient, ipykernel)', function () {
  this.timeout(240_000);
  let python: string;
  let tmp: string;
  const readers: RunReader[] = [];

  /** Executes the driver's scenario in a notebook folder of its own; returns the report and that folder. */
  async function execute(scenario: 'complete' | 'restart'): Promise<{ report: DriverReport; folder: string }> {
    const folder = path.join(tmp, scenario);
    mkdirSync(folder);
    const result = await runPython(python, [NOTEBOOK_DRIVER, scenario, folder], { env: jupyterEnv(path.join(tmp, `jupyter-${scenario}`)), timeoutMs: 200_000 });
    assert.equal(result.status, 0, `notebook_driver.py ${scenario} failed:\n${result.stderr}`);
    return { report: parseOutput<DriverReport>(result), folder };
  }

  async function open(folder: string): Promise<RunReader> {
    const reader = await RunReader.open(path.join(folder, 'runs', 'notebook'));
    readers.push(reader);
    return reader;
  }

  before(function () {
    python = requirePython(this, [...NOTEBOOK_MODULES]);
    tmp = mkdtempSync(path.join(tmpdir(), 'cnnslicer-notebook-'));
  });

  after(async function () {
    await Promise.all(readers.map((r) => r.close()));
    await disposeSessions();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('writes a complete, readable run from cells, without links into the kernel’s cell files', async function () {
    const { report, folder } = await execute('complete');
    const [, , dumped, , , loop, closed] = report.outputs;
    // The cells' code had a file on disk while the probe looked, as after a debugger session.
    assert.match(dumped, /^dumped \S*ipykernel_\d+\/\d+\.py True$/m);
    assert.deepEqual(loop.trim().split('\n'), ['cnnslicer-test: recorded epoch 1', 'cnnslicer-test: recorded epoch 2', 'cnnslicer-test: recorded epoch 3']);
    assert.match(closed, /^closed /);

    const reader = await open(folder);
    const m = reader.manifest;
    assert.equal(m.name, 'notebook run');
    assert.deepEqual(m.model, { name: 'Net', framework: 'pytorch' });
    assert.deepEqual(
      m.layers.map((l) => ({ name: l.name, shape: l.shape })),
      LAYERS,
    );
    assert.deepEqual(
      m.epochs.map((e) => e.epoch),
      [0, 1, 2, 3],
    );
    for (const e of m.epochs.slice(1)) {
      assert.equal(typeof e.metrics.loss, 'number', `epoch ${e.epoch} loss`);
      const accuracy = e.metrics.accuracy;
      assert.ok(typeof accuracy === 'number' && accuracy >= 0 && accuracy <= 1, `epoch ${e.epoch} accuracy ${accuracy}`);
    }
    assert.equal(m.complete, true);
    assert.deepEqual((await reader.refreshedInfo()).incompleteEpochs, []);
    // Layers built in the cell have no source location; the one built in blocks.py, a module
    // beside the notebook, points there, relative to source_root.
    assert.deepEqual(
      m.layers.map((l) => [l.name, l.source]),
      [
        ['conv1', undefined],
        ['relu1', undefined],
        ['pool', undefined],
        ['fc', { file: 'blocks.py', line: 5 }],
      ],
    );
    await checkReadable(reader, 'complete');
    assert.match(formatRunSummary(await reader.refreshedInfo()), /- Status: complete/);
  });

  it('leaves a readable run with the epochs recorded before a kernel restart in the middle of the loop', async function () {
    const { report, folder } = await execute('restart');
    const [first, , , , , loop, after] = report.outputs;
    assert.deepEqual(loop.trim().split('\n'), ['cnnslicer-test: recorded epoch 1', 'cnnslicer-test: recorded epoch 2']);
    // The restart killed the kernel: a new process, with none of the old one's variables.
    const [before, afterPid] = report.kernelPids ?? [];
    assert.ok(before !== undefined && afterPid !== undefined && before !== afterPid, `kernel pids ${String(report.kernelPids)}`);
    assert.equal(first.trim(), `kernel pid ${before}`);
    assert.deepEqual(after.trim().split('\n'), [`kernel pid ${afterPid}`, 'False']);
    assert.ok(report.loopCell === 'dead kernel' || report.loopCell === 'cancelled', `the loop cell ended: ${report.loopCell}`);

    const reader = await open(folder);
    const m = reader.manifest;
    assert.deepEqual(
      m.epochs.map((e) => e.epoch),
      [0, 1, 2],
    );
    // Nothing marked the run complete; the extension shows it as a run that may still grow.
    assert.equal(m.complete, false);
    const info = await reader.refreshedInfo();
    assert.deepEqual(info.incompleteEpochs, []);
    await checkReadable(reader, 'restart');
    assert.match(formatRunSummary(info), /- Status: not marked complete; more epochs may come/);
  });
});

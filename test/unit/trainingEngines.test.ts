// Train Model's choices that need no VS Code: which engine `auto` picks from what is available, how
// each engine is described in the quick pick, and whether a folder holds CIFAR-10.
import * as assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { CIFAR_BATCH_BYTES, CIFAR_BATCHES, checkCifarFolder } from '../../src/extension/training/datasets';
import {
  autoEngine,
  describeAuto,
  describeChoice,
  describeTfjs,
  describeTorch,
  resolveEngine,
  type TfjsBackendName,
  type TfjsStatus,
} from '../../src/extension/training/engineChoice';
import type { TorchStatus } from '../../src/extension/training/pythonInterpreter';

const torchCpu: TorchStatus = { ok: true, version: '1.13.0', cuda: false };
const torchCuda: TorchStatus = { ok: true, version: '2.3.0', cuda: true, gpu: 'NVIDIA H100' };
const noTorch: TorchStatus = { ok: false, problem: 'cannot import torch' };
const tfjs = (...backends: TfjsBackendName[]): TfjsStatus => ({
  ok: true,
  backends,
  best: backends[0],
  native: backends.some((b) => b.startsWith('tensorflow')),
  notes: [],
});
const noTfjs: TfjsStatus = { ok: false, problem: '@tensorflow/tfjs is not installed' };

describe('training engines: what auto picks', () => {
  it('picks PyTorch on CUDA, then TF.js tensorflow-gpu, PyTorch on the CPU, TF.js tensorflow, wasm, cpu', () => {
    assert.deepEqual(autoEngine(torchCuda, tfjs('tensorflow-gpu', 'tensorflow', 'wasm', 'cpu')), { engine: 'pytorch', device: 'cuda' });
    assert.deepEqual(autoEngine(torchCpu, tfjs('tensorflow-gpu', 'tensorflow', 'wasm', 'cpu')), { engine: 'tfjs', backend: 'tensorflow-gpu' });
    assert.deepEqual(autoEngine(torchCpu, tfjs('tensorflow', 'wasm', 'cpu')), { engine: 'pytorch', device: 'cpu' });
    assert.deepEqual(autoEngine(noTorch, tfjs('tensorflow', 'wasm', 'cpu')), { engine: 'tfjs', backend: 'tensorflow' });
    assert.deepEqual(autoEngine(noTorch, tfjs('wasm', 'cpu')), { engine: 'tfjs', backend: 'wasm' });
    assert.deepEqual(autoEngine(noTorch, tfjs('cpu')), { engine: 'tfjs', backend: 'cpu' });
    assert.deepEqual(autoEngine(torchCpu, noTfjs), { engine: 'pytorch', device: 'cpu' });
    assert.equal(autoEngine(noTorch, noTfjs), undefined);
  });

  it('resolves an explicit engine to its best device or backend, or to nothing when it is missing', () => {
    assert.deepEqual(resolveEngine('pytorch', torchCuda, noTfjs), { engine: 'pytorch', device: 'cuda' });
    assert.deepEqual(resolveEngine('pytorch', torchCpu, tfjs('tensorflow-gpu')), { engine: 'pytorch', device: 'cpu' });
    assert.deepEqual(resolveEngine('tfjs', torchCuda, tfjs('wasm', 'cpu')), { engine: 'tfjs', backend: 'wasm' });
    assert.equal(resolveEngine('pytorch', noTorch, tfjs('wasm')), undefined);
    assert.equal(resolveEngine('tfjs', torchCpu, noTfjs), undefined);
  });

  it('describes what each engine offers', () => {
    assert.equal(describeTorch(torchCpu), 'PyTorch 1.13.0, CPU');
    assert.equal(describeTorch(torchCuda), 'PyTorch 2.3.0, CUDA (NVIDIA H100)');
    assert.equal(describeTorch(noTorch), 'not available: cannot import torch');
    assert.equal(describeTfjs(tfjs('wasm', 'cpu')), 'TF.js: wasm backend (native not installed)');
    assert.equal(describeTfjs(tfjs('tensorflow', 'wasm', 'cpu')), 'TF.js: tensorflow backend');
    assert.equal(describeTfjs(tfjs('tensorflow-gpu', 'tensorflow')), 'TF.js: tensorflow-gpu backend (CUDA)');
    assert.equal(describeChoice({ engine: 'tfjs', backend: 'wasm' }), 'TF.js, wasm backend');
    assert.equal(describeAuto(torchCpu, tfjs('wasm')), 'fastest available: PyTorch, CPU');
    assert.match(describeAuto(noTorch, noTfjs), /no engine is available/);
  });
});

describe('training datasets: checking a CIFAR-10 folder', () => {
  let tmp: string;
  before(() => {
    tmp = mkdtempSync(path.join(tmpdir(), 'cnnslicer-datasets-'));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('accepts the six standard batches and names the missing, truncated or absent ones', () => {
    const dir = path.join(tmp, 'cifar-10-batches-bin');
    mkdirSync(dir);
    // Sparse files: the right size without writing 184 MB.
    for (const f of CIFAR_BATCHES) {
      writeFileSync(path.join(dir, f), '');
      truncateSync(path.join(dir, f), CIFAR_BATCH_BYTES);
    }
    assert.equal(checkCifarFolder(dir), undefined);
    truncateSync(path.join(dir, 'data_batch_4.bin'), CIFAR_BATCH_BYTES - 3073);
    assert.match(checkCifarFolder(dir) ?? '', /data_batch_4\.bin is 30,726,927 bytes; a CIFAR-10 binary batch is 30,730,000/);
    rmSync(path.join(dir, 'test_batch.bin'));
    assert.match(checkCifarFolder(dir) ?? '', /is not a CIFAR-10 binary folder: test_batch\.bin missing/);
    assert.match(checkCifarFolder(path.join(tmp, 'nowhere')) ?? '', /nowhere does not exist/);
    assert.match(checkCifarFolder(path.join(dir, 'data_batch_1.bin')) ?? '', /is not a folder/);
  });
});

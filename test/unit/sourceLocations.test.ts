// Where a layer's recorded source file is on this machine (src/extension/sourceLocations.ts): an
// absolute path as it is; a relative one against the workspace folder holding the run, then the
// run folder's parent, then the folders above it; the first file that exists wins. Checked on real
// files in a temporary tree.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { containingFolder, isInside, resolveSourceFile, samePath, sourceCandidates } from '../../src/extension/sourceLocations';
import { tempDir } from '../support/runFixtures';

const exists = (file: string): boolean => fs.existsSync(file) && fs.statSync(file).isFile();

function touch(file: string): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, 'import torch\n');
  return file;
}

describe('source locations', () => {
  let root: string;

  beforeEach(() => {
    root = fs.realpathSync(tempDir('cnnslicer-sources-'));
  });

  afterEach(() => {
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('takes an absolute path as it is, and only when that file exists', () => {
    const model = touch(path.join(root, 'elsewhere', 'model.py'));
    const roots = { runDir: path.join(root, 'ws', 'runs', 'a'), workspaceFolders: [path.join(root, 'ws')] };
    assert.equal(resolveSourceFile({ file: model, line: 3 }, roots, exists), model);
    assert.deepEqual(sourceCandidates(model, roots), [model]);
    assert.equal(resolveSourceFile({ file: path.join(root, 'elsewhere', 'gone.py'), line: 3 }, roots, exists), undefined);
  });

  it('resolves a relative path against the workspace folder that holds the run first', () => {
    const ws = path.join(root, 'ws');
    const runDir = path.join(ws, 'experiments', 'runs', 'mnist');
    // Both exist: the workspace folder's file is the one the probe's source_root meant.
    const inWorkspace = touch(path.join(ws, 'src', 'model.py'));
    touch(path.join(ws, 'experiments', 'runs', 'src', 'model.py'));
    const roots = { runDir, workspaceFolders: [path.join(root, 'other'), ws] };
    assert.equal(resolveSourceFile({ file: 'src/model.py', line: 10 }, roots, exists), inWorkspace);
    assert.equal(sourceCandidates('src/model.py', roots)[0], inWorkspace);
  });

  it('falls back to the run folder’s parent, then to the folders above it', () => {
    const runDir = path.join(root, 'outside', 'examples', 'sample-run');
    // The sample run: recorded relative to the repository root, two levels above the run.
    const script = touch(path.join(root, 'outside', 'examples', 'mnist_pytorch.py'));
    const roots = { runDir, workspaceFolders: [path.join(root, 'ws')] };
    assert.equal(resolveSourceFile({ file: 'examples/mnist_pytorch.py', line: 94 }, roots, exists), script);
    const candidates = sourceCandidates('examples/mnist_pytorch.py', roots);
    assert.equal(candidates[0], path.join(root, 'outside', 'examples', 'examples', 'mnist_pytorch.py'), 'the parent comes first');
    assert.equal(candidates[1], script);
    // Next to the run: the parent wins over the folders above.
    const beside = touch(path.join(root, 'outside', 'examples', 'examples', 'mnist_pytorch.py'));
    assert.equal(resolveSourceFile({ file: 'examples/mnist_pytorch.py', line: 94 }, roots, exists), beside);
  });

  it('reads `\\` separators written on Windows, and finds nothing for a file that exists nowhere', () => {
    const ws = path.join(root, 'ws');
    const model = touch(path.join(ws, 'pkg', 'net.py'));
    const roots = { runDir: path.join(ws, 'run'), workspaceFolders: [ws] };
    assert.equal(resolveSourceFile({ file: 'pkg\\net.py', line: 1 }, roots, exists), model);
    assert.equal(resolveSourceFile({ file: 'pkg/missing.py', line: 1 }, roots, exists), undefined);
    // A Windows drive path cannot be on this machine's disk (on Linux and macOS it is not absolute either).
    if (process.platform !== 'win32') assert.deepEqual(sourceCandidates('C:\\Users\\me\\net.py', roots), []);
  });

  it('picks the innermost workspace folder holding the run, and compares paths as the platform does', () => {
    const outer = path.join(root, 'ws');
    const inner = path.join(outer, 'nested');
    assert.equal(containingFolder(path.join(inner, 'runs', 'r'), [outer, inner]), inner);
    assert.equal(containingFolder(path.join(root, 'elsewhere'), [outer, inner]), undefined);
    assert.ok(isInside(path.join(outer, 'a'), outer));
    assert.ok(!isInside(path.join(root, 'ws-other'), outer), 'a sibling whose name starts the same is not inside');
    assert.ok(!isInside(path.join(outer, '..', 'x'), outer));
    assert.ok(isInside(path.join(outer, '..folder'), outer), 'a folder whose name starts with two dots is inside');
    assert.ok(samePath('/Work/Model.py', '/work/model.py', 'win32'));
    assert.ok(samePath('/Work/Model.py', '/work/model.py', 'darwin'));
    assert.ok(!samePath('/Work/Model.py', '/work/model.py', 'linux'));
    assert.ok(samePath('/work/a/../model.py', '/work/model.py', 'linux'));
  });
});

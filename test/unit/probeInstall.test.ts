// Install Probe's decisions without VS Code or Python: the pip command line, what pip's output and
// the verifying import mean, the messages, finding the bundled wheel, and cancelling a process.
// test/python/probeInstall.test.ts runs the same installer against real venvs.
import * as assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { findBundledWheel, runProcess } from '../../src/extension/probeInstall/installer';
import {
  classifyPipRun,
  classifyVerifyRun,
  installedMessage,
  pipInstallArgs,
  problemMessage,
  suggestsVenv,
  VERIFY_SCRIPT,
  wheelVersion,
  type InstallProblem,
  type ProcessRun,
} from '../../src/extension/probeInstall/pipOutcome';

const WHEEL = '/ext/dist/python/cnnslicer-0.1.0-py3-none-any.whl';

/** Debian 12's pip 23.0.1, verbatim, for a Python with an EXTERNALLY-MANAGED file. */
const EXTERNALLY_MANAGED = `error: externally-managed-environment

× This environment is externally managed
╰─> To install Python packages system-wide, try apt install
    python3-xyz, where xyz is the package you are trying to
    install.

note: If you believe this is a mistake, please contact your Python installation or OS distribution provider. You can override this, at the risk of breaking your Python installation or OS, by passing --break-system-packages.
hint: See PEP 668 for the detailed specification.
`;

const ran = (status: number | null, stderr = '', stdout = ''): ProcessRun => ({ status, stdout, stderr });
const verified = (info: object, before = ''): ProcessRun => ran(0, '', `${before}CNNSLICER-PROBE-CHECK ${JSON.stringify(info)}\n`);
const good = { python: '3.11.2', executable: '/venv/bin/python', missing: [], installed: '0.1.0', imported: '0.1.0', file: '/venv/lib/cnnslicer/__init__.py' };

describe('Install Probe: the pip command line', () => {
  it('installs only the wheel, offline, replacing an installed copy of the same version', () => {
    const args = pipInstallArgs(WHEEL);
    assert.deepEqual(args.slice(0, 3), ['-m', 'pip', 'install']);
    for (const flag of ['--no-index', '--no-deps', '--force-reinstall', '--no-input']) assert.ok(args.includes(flag), flag);
    assert.equal(args.at(-1), WHEEL);
    assert.ok(!args.some((a) => a.startsWith('--index-url') || a === '--upgrade' || a === '--break-system-packages'));
  });

  it('reads the version from the wheel name and nothing else', () => {
    assert.equal(wheelVersion('cnnslicer-0.1.0-py3-none-any.whl'), '0.1.0');
    assert.equal(wheelVersion('cnnslicer-1.2.3rc1-py3-none-any.whl'), '1.2.3rc1');
    assert.equal(wheelVersion('cnnslicer-0.1.0.tar.gz'), undefined);
    assert.equal(wheelVersion('other-0.1.0-py3-none-any.whl'), undefined);
    assert.equal(wheelVersion('cnnslicer-0.1.0-cp311-cp311-linux_x86_64.whl'), undefined);
  });
});

describe("Install Probe: what pip's run means", () => {
  it('is a success only on exit status 0', () => {
    assert.equal(classifyPipRun(ran(0, '', 'Successfully installed cnnslicer-0.1.0\n')), undefined);
  });

  it("recognises PEP 668's externally-managed-environment and suggests a venv", () => {
    const problem = classifyPipRun(ran(1, EXTERNALLY_MANAGED));
    assert.deepEqual(problem, { kind: 'externally-managed' });
    assert.ok(suggestsVenv(problem));
    assert.match(problemMessage(problem, '/usr/bin/python3'), /python3 -m venv \.venv/);
  });

  it('recognises an interpreter without pip', () => {
    const problem = classifyPipRun(ran(1, '/usr/bin/python3: No module named pip\n'));
    assert.deepEqual(problem, { kind: 'no-pip' });
    assert.ok(suggestsVenv(problem));
    assert.match(problemMessage(problem, '/usr/bin/python3'), /\/usr\/bin\/python3 has no pip.*python3 -m venv \.venv/);
  });

  it('tells a missing interpreter from one pip fails in', () => {
    assert.deepEqual(classifyPipRun({ status: null, stdout: '', stderr: '', spawnError: 'ENOENT' }), { kind: 'python-not-found', detail: 'no such file' });
    assert.deepEqual(classifyPipRun({ status: null, stdout: '', stderr: '', cancelled: true }), { kind: 'cancelled' });
  });

  it("quotes pip's ERROR lines for any other failure", () => {
    const stderr = "Processing ./cnnslicer-0.1.0-py3-none-any.whl\nERROR: Package 'cnnslicer' requires a different Python: 3.7.3 not in '>=3.8'\n";
    const problem = classifyPipRun(ran(1, stderr));
    assert.deepEqual(problem, { kind: 'pip-failed', detail: "ERROR: Package 'cnnslicer' requires a different Python: 3.7.3 not in '>=3.8'" });
    assert.ok(!suggestsVenv(problem));
  });
});

describe('Install Probe: what the verifying import says', () => {
  it('reports the version, the interpreter and that nothing is missing', () => {
    const outcome = classifyVerifyRun(verified(good, 'a sitecustomize that prints\n'), '0.1.0');
    assert.ok(outcome.ok);
    assert.equal(outcome.version, '0.1.0');
    assert.equal(outcome.file, good.file);
    assert.deepEqual(outcome.missing, []);
    assert.equal(installedMessage(outcome, '/venv/bin/python'), 'CNNSlicer probe 0.1.0 installed into /venv/bin/python.');
  });

  it('is installed but warns when torch or numpy are missing', () => {
    const noTorch = classifyVerifyRun(verified({ ...good, missing: ['torch'] }), '0.1.0');
    assert.ok(noTorch.ok);
    assert.match(
      installedMessage(noTorch, '/venv/bin/python'),
      /^CNNSlicer probe 0\.1\.0 installed into \/venv\/bin\/python, but torch is missing there.*pip install torch/,
    );
    // Without numpy `import cnnslicer` fails, but the package is installed: the user installs numpy.
    const noNumpy = classifyVerifyRun(
      verified({ ...good, missing: ['numpy', 'torch'], imported: undefined, file: undefined, importError: "ModuleNotFoundError: No module named 'numpy'" }),
      '0.1.0',
    );
    assert.ok(noNumpy.ok);
    assert.deepEqual(noNumpy.missing, ['numpy', 'torch']);
    assert.equal(noNumpy.file, undefined);
    assert.match(installedMessage(noNumpy, 'py'), /numpy and torch are missing there.*pip install numpy torch/);
  });

  it('finds another copy of cnnslicer that shadows the installed one', () => {
    const outcome = classifyVerifyRun(verified({ ...good, imported: '0.0.9', file: '/src/python/cnnslicer/__init__.py' }), '0.1.0');
    assert.deepEqual(outcome, { ok: false, problem: { kind: 'shadowed', expected: '0.1.0', found: '0.0.9', file: '/src/python/cnnslicer/__init__.py' } });
  });

  it('is not installed when the metadata has another version, or the import fails for another reason', () => {
    const other = classifyVerifyRun(verified({ ...good, installed: '0.0.9' }), '0.1.0');
    assert.deepEqual(other, { ok: false, problem: { kind: 'not-installed', detail: 'version 0.0.9 is installed, not 0.1.0' } });
    const broken = classifyVerifyRun(verified({ ...good, imported: undefined, importError: 'SyntaxError: invalid syntax' }), '0.1.0');
    assert.equal(broken.ok, false);
    assert.ok(!broken.ok && broken.problem.kind === 'not-installed' && /SyntaxError/.test(broken.problem.detail));
    const silent = classifyVerifyRun(ran(1, 'Traceback (most recent call last):\nKeyboardInterrupt\n'), '0.1.0');
    assert.deepEqual(silent, { ok: false, problem: { kind: 'not-installed', detail: 'Traceback (most recent call last): KeyboardInterrupt' } });
  });

  it('checks torch without importing it', () => {
    assert.match(VERIFY_SCRIPT, /find_spec\(m\)/);
    assert.doesNotMatch(VERIFY_SCRIPT, /import torch/);
  });

  it('has a message for every problem, naming the interpreter', () => {
    const problems: InstallProblem[] = [
      { kind: 'python-not-found', detail: 'no such file' },
      { kind: 'no-pip' },
      { kind: 'externally-managed' },
      { kind: 'pip-failed', detail: 'ERROR: x' },
      { kind: 'not-installed', detail: 'x' },
      { kind: 'shadowed', expected: '0.1.0', found: '0.0.9', file: 'f' },
      { kind: 'cancelled' },
    ];
    for (const p of problems) assert.match(problemMessage(p, '/my/python'), /\/my\/python/, p.kind);
    assert.match(problemMessage({ kind: 'no-wheel', folder: '/ext/dist/python' }, ''), /packaged without its probe wheel.*\/ext\/dist\/python/);
  });
});

describe('Install Probe: the bundled wheel and its process', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'cnnslicer-wheel-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('finds the wheel in dist/python, and none in an extension packaged without it', () => {
    assert.equal(findBundledWheel(dir), undefined);
    mkdirSync(path.join(dir, 'dist', 'python'), { recursive: true });
    writeFileSync(path.join(dir, 'dist', 'python', 'README.txt'), '');
    assert.equal(findBundledWheel(dir), undefined);
    for (const v of ['0.9.0', '0.10.0']) writeFileSync(path.join(dir, 'dist', 'python', `cnnslicer-${v}-py3-none-any.whl`), '');
    assert.deepEqual(findBundledWheel(dir), { path: path.join(dir, 'dist', 'python', 'cnnslicer-0.10.0-py3-none-any.whl'), version: '0.10.0' });
  });

  it('kills the process when cancelled and says so', async () => {
    const abort = new AbortController();
    const lines: string[] = [];
    // The process prints once it runs, then waits forever; the abort comes after that line.
    const run = await runProcess(process.execPath, ['-e', 'console.log("started"); setInterval(() => {}, 1000)'], {
      env: process.env,
      signal: abort.signal,
      onLine: (line) => {
        lines.push(line);
        abort.abort();
      },
    });
    assert.deepEqual(lines, ['started']);
    assert.equal(run.cancelled, true);
    assert.deepEqual(classifyPipRun(run), { kind: 'cancelled' });
  });

  it('reports an interpreter that does not exist', async () => {
    const run = await runProcess(path.join(dir, 'no-python'), ['-c', 'pass'], { env: process.env });
    assert.equal(run.spawnError, 'ENOENT');
    assert.equal(classifyPipRun(run)?.kind, 'python-not-found');
  });
});

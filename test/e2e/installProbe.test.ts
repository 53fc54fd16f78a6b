// End to end: CNNSlicer: Install Probe into Python Environment run from the command palette of a
// real VS Code 1.100.3 workbench (code-server), with cnnslicer.python.interpreterPath set to a
// fresh venv's python, as a user who installed the .vsix would: the wheel staged with the
// extension (dist/python) is pip-installed into the venv, the notification says so, pip's output
// is in the CNNSlicer log, and a script run by that python then imports the installed package.
// Needs scripts/e2e/install.sh to have been run once, and a Python that can make venvs.
import * as assert from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { findBundledWheel } from '../../src/extension/probeInstall/installer';
import { describePythonSearch, findPython } from '../support/python';
import { CodeServerSession } from './harness';
import { keepEvidenceOnFailure, skipUnlessReady, stageBuiltExtension } from './staging';

const root = path.resolve(__dirname, '..', '..');
const REQUIRE = ['numpy', 'venv', 'ensurepip'];

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('CNNSlicer: Install Probe into Python Environment in VS Code (code-server, end to end)', function () {
  this.timeout(300_000);
  let session: CodeServerSession | undefined;
  let scratch: string | undefined;
  let venvPython = '';
  let version = '';
  const evidence = keepEvidenceOnFailure(
    () => session,
    () => scratch,
  );

  before(async function () {
    const python = findPython({ require: REQUIRE });
    skipUnlessReady(
      this,
      'the Install Probe end-to-end suite',
      python === undefined ? [describePythonSearch({ require: REQUIRE })] : [],
      'Run scripts/e2e/install.sh for code-server and Chromium; the test needs a Python that can create venvs.',
    );
    if (python === undefined) return;
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'cnnslicer-e2e-install-'));
    const extensionDir = stageBuiltExtension(path.join(scratch, 'extension'));
    const wheel = findBundledWheel(extensionDir);
    assert.ok(wheel, 'the built extension has no probe wheel in dist/python (does the build Python have hatchling?)');
    version = wheel.version;
    // Seeing the system packages, so numpy and torch (where Debian has them) are there and the install reports nothing missing.
    const venv = path.join(scratch, 'venv');
    const made = spawnSync(python, ['-m', 'venv', '--system-site-packages', venv], { encoding: 'utf8', timeout: 240_000 });
    assert.equal(made.status, 0, `python -m venv failed:\n${made.stderr}`);
    venvPython = path.join(venv, 'bin', 'python');
    const workspace = path.join(scratch, 'workspace');
    fs.mkdirSync(workspace);
    fs.writeFileSync(path.join(workspace, 'README.md'), '# A workspace with a training script to attach the probe to\n');
    session = await CodeServerSession.start({
      workspace,
      extensionDir,
      settings: { 'cnnslicer.python.interpreterPath': venvPython },
      ...(process.env.CNNSLICER_SCREENSHOTS === '1' ? { screenshotDir: path.join(root, 'docs', 'images') } : {}),
    });
    try {
      await session.openWorkbench('README.md');
      // The extension's contributions are in the palette once its container is (the workbench lists them together).
      await session.openViewContainer('CNNSlicer');
    } catch (err) {
      await evidence.record('open-workbench');
      throw err;
    }
  });

  it('installs the bundled probe into the configured venv, says so, logs pip, and the venv then imports it', async () => {
    assert.ok(session);
    await session.runCommand('CNNSlicer: Install Probe into Python Environment');
    const done = session.notification(new RegExp(`CNNSlicer probe ${escapeRegExp(version)} installed into ${escapeRegExp(venvPython)}`));
    await done.waitFor({ state: 'visible', timeout: 180_000 });
    await session.screenshot('install-probe');
    await session.runCommand('CNNSlicer: Show Log');
    const log = await session.outputChannelText('CNNSlicer', /Successfully installed cnnslicer/);
    assert.match(log, /pip install --no-index --no-deps --force-reinstall/);

    // What the user's training script gets: run from elsewhere, with no PYTHONPATH.
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.PYTHONPATH;
    const res = spawnSync(venvPython, ['-c', 'import cnnslicer; print(cnnslicer.__version__); print(cnnslicer.__file__)'], {
      cwd: os.tmpdir(),
      env,
      encoding: 'utf8',
    });
    assert.equal(res.status, 0, res.stderr);
    const [imported, file] = res.stdout.trim().split('\n');
    assert.equal(imported, version);
    assert.ok(file.startsWith(path.dirname(path.dirname(venvPython))), `import cnnslicer found ${file}, outside the venv`);
  });
});

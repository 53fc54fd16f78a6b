// Install Probe against real interpreters: the wheel built as the extension's build builds it
// (scripts/build-wheel.mjs), installed by the command's own installProbe into fresh venvs, then
// imported from them; and the typed problems of a Python without pip and of an externally
// managed one. The environments have no PYTHONPATH, so `import cnnslicer` finds only the install.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { findBundledWheel, installProbe, type BundledWheel } from '../../src/extension/probeInstall/installer';
import { installedMessage } from '../../src/extension/probeInstall/pipOutcome';
import { PYTHON_PACKAGE_ROOT, REPO_ROOT } from '../support/python';
import { requirePython } from './pyhelpers';

/** The one source of the version (pyproject.toml reads it from here too). */
function sourceVersion(): string {
  const version = /^__version__ = "([^"]+)"$/m.exec(readFileSync(path.join(PYTHON_PACKAGE_ROOT, 'cnnslicer', '__init__.py'), 'utf8'))?.[1];
  if (version === undefined) throw new Error('python/cnnslicer/__init__.py has no __version__ = "…" line');
  return version;
}
const SOURCE_VERSION = sourceVersion();

/** The test process's environment without PYTHONPATH, as a user's interpreter runs. */
function plainEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PYTHONDONTWRITEBYTECODE: '1' };
  delete env.PYTHONPATH;
  return env;
}

function run(command: string, args: readonly string[], cwd = tmpdir()): string {
  const res = spawnSync(command, [...args], { cwd, env: plainEnv(), encoding: 'utf8', timeout: 240_000 });
  if (res.error !== undefined || res.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${res.error?.message ?? res.status}):\n${res.stderr}`);
  return res.stdout;
}

function buildWheel(python: string, outDir: string): void {
  const res = spawnSync(process.execPath, [path.join(REPO_ROOT, 'scripts', 'build-wheel.mjs'), outDir], {
    env: { ...process.env, CNNSLICER_PYTHON: python },
    encoding: 'utf8',
    timeout: 240_000,
  });
  assert.equal(res.status, 0, `build-wheel.mjs failed:\n${res.stdout}\n${res.stderr}`);
}

const venvPython = (venv: string): string => path.join(venv, process.platform === 'win32' ? 'Scripts' : 'bin', process.platform === 'win32' ? 'python.exe' : 'python');

describe('Install Probe into fresh Python environments', function () {
  this.timeout(300_000);
  let python: string;
  let tmp: string;
  let wheel: BundledWheel;
  let baseHasTorch: boolean;

  before(function () {
    python = requirePython(this, ['numpy', 'pip', 'hatchling', 'venv', 'ensurepip']);
    tmp = mkdtempSync(path.join(tmpdir(), 'cnnslicer-probe-install-'));
    // Laid out like the installed extension: <extension>/dist/python/cnnslicer-<version>-py3-none-any.whl.
    buildWheel(python, path.join(tmp, 'extension', 'dist', 'python'));
    const found = findBundledWheel(path.join(tmp, 'extension'));
    assert.ok(found, 'build-wheel.mjs left no wheel');
    wheel = found;
    baseHasTorch = spawnSync(python, ['-c', 'import torch'], { env: plainEnv(), stdio: 'ignore' }).status === 0;
  });

  after(() => {
    if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
  });

  it('builds a wheel of the version in cnnslicer/__init__.py, byte for byte the same each time', () => {
    assert.equal(wheel.version, SOURCE_VERSION);
    assert.equal(path.basename(wheel.path), `cnnslicer-${SOURCE_VERSION}-py3-none-any.whl`);
    const again = path.join(tmp, 'again');
    buildWheel(python, again);
    const digest = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');
    assert.equal(digest(path.join(again, path.basename(wheel.path))), digest(wheel.path));
  });

  it('installs into a venv that sees the system packages, where import cnnslicer then gives that version', async () => {
    const venv = path.join(tmp, 'with-system');
    run(python, ['-m', 'venv', '--system-site-packages', venv]);
    const steps: string[] = [];
    const log: string[] = [];
    const outcome = await installProbe({ python: venvPython(venv), wheel, env: plainEnv(), log: (l) => log.push(l), onStep: (s) => steps.push(s) });
    assert.ok(outcome.ok, `not installed: ${JSON.stringify(outcome)}\n${log.join('\n')}`);
    assert.equal(outcome.version, SOURCE_VERSION);
    assert.deepEqual(outcome.missing, baseHasTorch ? [] : ['torch']);
    assert.ok(outcome.file?.startsWith(venv), `import cnnslicer found ${outcome.file}, outside ${venv}`);
    assert.deepEqual(steps, [`pip install cnnslicer ${SOURCE_VERSION}`, 'checking import cnnslicer']);
    assert.ok(log.some((l) => l.includes('--no-index') && l.includes(wheel.path)), 'the pip command line is logged');
    if (baseHasTorch) assert.equal(installedMessage(outcome, venvPython(venv)), `CNNSlicer probe ${SOURCE_VERSION} installed into ${venvPython(venv)}.`);

    // The user's view: a script run by that interpreter from anywhere imports the installed package, the writer works.
    const elsewhere = path.join(tmp, 'elsewhere');
    mkdirSync(elsewhere);
    const script = 'import cnnslicer, numpy; print(cnnslicer.__version__); print(cnnslicer.__file__); print(cnnslicer.RunWriter.__name__)';
    const [version, file, writer] = run(venvPython(venv), ['-c', script], elsewhere).trim().split('\n');
    assert.equal(version, SOURCE_VERSION);
    assert.ok(file.startsWith(venv) && existsSync(file));
    assert.equal(writer, 'RunWriter');

    // Installing again (an extension update with the same version) reinstalls rather than skipping.
    const again = await installProbe({ python: venvPython(venv), wheel, env: plainEnv(), log: (l) => log.push(l) });
    assert.ok(again.ok);
    assert.ok(log.filter((l) => /Successfully installed cnnslicer/.test(l)).length === 2, log.join('\n'));
  });

  it('installs into a bare venv and reports numpy and torch missing there', async () => {
    const venv = path.join(tmp, 'bare');
    run(python, ['-m', 'venv', venv]);
    const outcome = await installProbe({ python: venvPython(venv), wheel, env: plainEnv() });
    assert.ok(outcome.ok, JSON.stringify(outcome));
    assert.equal(outcome.version, SOURCE_VERSION);
    assert.deepEqual(outcome.missing, ['numpy', 'torch']);
    assert.equal(outcome.file, undefined, 'import cnnslicer needs numpy');
    assert.match(installedMessage(outcome, venvPython(venv)), /installed into .*, but numpy and torch are missing there/);
    // pip's record of it is there: installing numpy is all that is left.
    assert.match(run(venvPython(venv), ['-m', 'pip', 'show', 'cnnslicer']), new RegExp(`^Version: ${SOURCE_VERSION.replace(/\./g, '\\.')}$`, 'm'));
  });

  it('says that a venv without pip has no pip', async () => {
    const venv = path.join(tmp, 'no-pip');
    run(python, ['-m', 'venv', '--without-pip', venv]);
    const outcome = await installProbe({ python: venvPython(venv), wheel, env: plainEnv() });
    assert.deepEqual(outcome, { ok: false, problem: { kind: 'no-pip' } });
  });

  it('says that an externally managed Python (PEP 668) refuses the install', async function () {
    // pip ignores the EXTERNALLY-MANAGED marker inside any venv (check_externally_managed returns
    // early there), so only a real distribution Python shows it. pip refuses before installing
    // anything; without the marker this test would install into that Python, so it is skipped.
    const marker = run(python, [
      '-c',
      'import os, sys, sysconfig; venv = sys.prefix != sys.base_prefix; m = os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED"); print("" if venv or not os.path.exists(m) else m)',
    ]).trim();
    if (marker === '') {
      console.log(`      skipped: ${python} is not an externally managed Python`);
      this.skip();
    }
    const outcome = await installProbe({ python, wheel, env: plainEnv() });
    assert.deepEqual(outcome, { ok: false, problem: { kind: 'externally-managed' } });
  });

  it('says that an interpreter that is not there cannot be started', async () => {
    const outcome = await installProbe({ python: path.join(tmp, 'no-such-python'), wheel, env: plainEnv() });
    assert.deepEqual(outcome, { ok: false, problem: { kind: 'python-not-found', detail: 'no such file' } });
  });
});

#!/usr/bin/env node
// Builds the `cnnslicer` Python package (python/) into a wheel that ships inside the extension, so
// CNNSlicer: Install Probe into Python Environment can `pip install` it offline into the user's
// interpreter. The user's environment never needs hatchling: only this build does.
//   node scripts/build-wheel.mjs [outDir]        (default dist/python)
// Uses the first of $CNNSLICER_PYTHON, /usr/bin/python3 and python3 that can import pip and
// hatchling (Debian: python3-pip, python3-hatchling), with no index and no build isolation, so it
// works offline. hatchling writes reproducible wheels (fixed timestamps, sorted entries): the same
// sources give the same bytes. Without such a Python the build goes on without the wheel; the
// command then says so, and `npm run package` fails in scripts/check-vsix.mjs.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The wheel's name as pip gives it: cnnslicer-<version>-py3-none-any.whl (pure Python). */
export const WHEEL_PATTERN = /^cnnslicer-([^-]+)-py3-none-any\.whl$/;

function candidates() {
  const out = [];
  if (process.env.CNNSLICER_PYTHON) out.push(process.env.CNNSLICER_PYTHON);
  // Debian's interpreter first: its hatchling is a system package, while a PATH python may be a pyenv without it.
  if (process.platform !== 'win32') out.push('/usr/bin/python3');
  out.push(process.platform === 'win32' ? 'python' : 'python3');
  return [...new Set(out)];
}

function canBuild(python) {
  const res = spawnSync(python, ['-c', 'import pip, hatchling'], { stdio: 'ignore', timeout: 60_000 });
  return res.error === undefined && res.status === 0;
}

/**
 * Builds the wheel into `outDir`, replacing any older one there. Returns `{ wheel, version }`, or
 * `{ skipped }` saying why no wheel was built; never throws for a missing or failing Python, so the
 * TypeScript bundles build regardless.
 */
export function buildWheel(outDir = join(root, 'dist', 'python')) {
  mkdirSync(outDir, { recursive: true });
  // A wheel left from an earlier version would be installed instead of the current sources.
  for (const name of readdirSync(outDir)) if (WHEEL_PATTERN.test(name)) rmSync(join(outDir, name));
  const python = candidates().find(canBuild);
  if (python === undefined) return { skipped: `no Python among ${candidates().join(', ')} can import pip and hatchling` };
  const res = spawnSync(
    python,
    [
      '-m',
      'pip',
      'wheel',
      '--no-deps',
      '--no-build-isolation',
      '--no-index',
      '--no-cache-dir',
      '--disable-pip-version-check',
      '-w',
      outDir,
      join(root, 'python'),
    ],
    { encoding: 'utf8', timeout: 300_000, env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } },
  );
  if (res.error !== undefined || res.status !== 0) {
    const why = res.error?.message ?? (res.stderr.trim().split('\n').slice(-3).join(' | ') || `exit status ${res.status}`);
    return { skipped: `${python} -m pip wheel failed: ${why}` };
  }
  const built = readdirSync(outDir).filter((n) => WHEEL_PATTERN.test(n));
  if (built.length !== 1) return { skipped: `pip wheel made ${built.length} cnnslicer wheels in ${outDir}` };
  const wheel = join(outDir, built[0]);
  // pip leaves it readable by its owner only; an extension installed for all users must let them read it.
  chmodSync(wheel, 0o644);
  return { wheel, version: WHEEL_PATTERN.exec(built[0])[1] };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = buildWheel(process.argv[2] ? resolve(process.argv[2]) : undefined);
  if (result.wheel === undefined) {
    console.warn(`warning: the probe's wheel was not built (${result.skipped}).`);
    process.exitCode = 1;
  } else {
    console.log(`built ${result.wheel}`);
  }
}

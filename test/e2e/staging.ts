// What every end-to-end suite does before it starts code-server: decide whether it may skip (not
// in CI), and stage the extension as the .vsix would hold it, built from the current sources.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { missingPrerequisites, stageExtension, type CodeServerSession } from './harness';

const root = path.resolve(__dirname, '..', '..');

/**
 * What the packaged extension holds (see .vscodeignore): the Python trainer loads its models from
 * examples/; the walkthrough's pages show images from docs/images/.
 */
const PACKAGED = { copy: ['package.json', 'dist', 'media', 'python', 'examples', 'docs/images'], nodeModules: ['onnxruntime-node', 'onnxruntime-common'] };

export function truthy(v: string | undefined): boolean {
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

/** In CI (or when asked for) a missing prerequisite fails the suite instead of skipping it. */
export function e2eRequired(): boolean {
  return truthy(process.env.CI) || truthy(process.env.CNNSLICER_E2E_REQUIRED);
}

/**
 * Skips the suite (mocha's `this` of a `before` hook) when code-server, Chromium or `extra`
 * prerequisites are missing, or throws the same reason where the suite is required.
 */
export function skipUnlessReady(
  hook: Mocha.Context,
  suite: string,
  extra: readonly string[] = [],
  hint = 'Run scripts/e2e/install.sh, which installs what is missing (into CNNSLICER_E2E_HOME, by default ~/.cache/cnnslicer-e2e).',
): void {
  const missing = [...missingPrerequisites(), ...extra];
  if (missing.length === 0) return;
  const reason = `${missing.join('; ')}. ${hint}`;
  if (e2eRequired()) throw new Error(reason);
  console.log(`    skipping ${suite}: ${reason}`);
  hook.skip();
}

/** The newest modification time of any file under `dir`, or 0 for none. */
function newestMtime(dir: string): number {
  if (!fs.existsSync(dir)) return 0;
  let newest = 0;
  for (const f of fs.readdirSync(dir, { recursive: true }).map(String)) {
    const st = fs.statSync(path.join(dir, f));
    if (st.isFile()) newest = Math.max(newest, st.mtimeMs);
  }
  return newest;
}

/** Builds the bundles when they are missing or older than the sources, so a test never drives a stale extension by accident. */
function ensureBuilt(force = false): void {
  const bundle = path.join(root, 'dist', 'extension', 'extension.js');
  const sourcesNewest = Math.max(newestMtime(path.join(root, 'src')), newestMtime(path.join(root, 'webview')));
  if (!force && fs.existsSync(bundle) && fs.statSync(bundle).mtimeMs >= sourcesNewest) return;
  const res = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: root, encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`node esbuild.mjs failed (${res.status}):\n${res.stdout}\n${res.stderr}`);
}

/** The extension as packaged, staged from the working tree into `dest`; returns the folder to install. */
export function stageBuiltExtension(dest: string): string {
  ensureBuilt();
  try {
    return stageExtension(root, dest, PACKAGED);
  } catch {
    // Another build in this working tree may have emptied dist/ while it was copied; once more.
    fs.rmSync(dest, { recursive: true, force: true });
    ensureBuilt(true);
    return stageExtension(root, dest, PACKAGED);
  }
}

export interface FailureEvidence {
  /** Marks the suite failed, keeps its files and prints the session's report (for a failing before-hook, which gets no afterEach). */
  record(title: string): Promise<void>;
}

/**
 * Registers the hooks every suite needs around its code-server session: after a failed test the
 * session's files are kept and its report (screenshot, logs) printed; at the end the session stops
 * and the scratch folder goes, unless something failed. Call inside the suite's describe.
 */
export function keepEvidenceOnFailure(session: () => CodeServerSession | undefined, scratch: () => string | undefined): FailureEvidence {
  let failed = false;
  const record = async (title: string): Promise<void> => {
    failed = true;
    const s = session();
    if (s === undefined) return;
    s.keepFiles();
    console.log(await s.failureReport(title));
  };
  afterEach(async function () {
    if (this.currentTest?.state === 'failed') await record(this.currentTest.title);
  });
  after(async () => {
    await session()?.stop();
    const dir = scratch();
    if (dir !== undefined && !failed) fs.rmSync(dir, { recursive: true, force: true });
  });
  return { record };
}

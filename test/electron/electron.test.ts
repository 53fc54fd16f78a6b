// The extension in desktop VS Code (Electron), through @vscode/test-electron: VS Code starts with the
// repository as its extension development path and runs inHost/index.ts inside its extension host,
// where the `vscode` API itself is at hand (the code-server suite in test/e2e can only drive the UI).
// Desktop VS Code cannot be downloaded on the machines this project is developed and tested on, so
// here the suite skips, saying why, and test/e2e is what covers the extension end to end.
import * as assert from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import { runTests } from '@vscode/test-electron';
import type { CheckResults } from './inHost';
import { writeSmallRun } from '../support/runFixtures';

const root = path.resolve(__dirname, '..', '..');
/** The release code-server 4.100.3 (test/e2e) is built from, and the oldest package.json's engines accepts. */
const VSCODE_VERSION = '1.100.3';
/** How long the update server has to answer before we conclude it cannot be reached from here. */
const REACH_TIMEOUT_MS = 20_000;
/** Once it has answered, the download itself (about 150 MB) gets this long in all. */
const DOWNLOAD_LIMIT_MS = 10 * 60_000;

function truthy(v: string | undefined): boolean {
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

function cachePath(): string {
  return process.env.CNNSLICER_VSCODE_CACHE ?? path.join(os.homedir(), '.cache', 'cnnslicer-vscode-test');
}

type Found = { executable: string } | { unavailable: string };

/**
 * Runs downloadAndUnzipVSCode in a child process. A request that never answers (a black-holed
 * network rather than a failed DNS lookup) would otherwise leave a socket open in mocha's process
 * and keep it alive after the tests; a child can simply be killed, and everything it opened with it.
 */
function downloadVSCode(): Promise<Found> {
  const cache = cachePath();
  // test-electron creates the cache folder without `recursive`, so its parent has to exist.
  fs.mkdirSync(path.dirname(cache), { recursive: true });
  const script = `
    const [moduleDir, version, cachePath, timeout] = process.argv.slice(1);
    const { downloadAndUnzipVSCode } = require(moduleDir);
    const send = (m) => process.stdout.write(JSON.stringify(m) + '\\n');
    const reporter = {
      report: (r) => send({ stage: r.stage, ...(r.error ? { error: String(r.error.message ?? r.error) } : {}) }),
      error: () => {},
    };
    downloadAndUnzipVSCode({ version, cachePath, timeout: Number(timeout), reporter }).then(
      (executable) => send({ executable }),
      (err) => send({ error: err instanceof Error ? err.message : String(err) }),
    );`;
  const moduleDir = path.dirname(require.resolve('@vscode/test-electron/package.json'));
  const posix = process.platform !== 'win32';
  const child = spawn(process.execPath, ['-e', script, moduleDir, VSCODE_VERSION, cache, String(REACH_TIMEOUT_MS)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so that killing it also ends the `tar` it extracts through.
    detached: posix,
  });
  return new Promise((resolve) => {
    let outcome: Found | undefined;
    let lastError: string | undefined;
    let stderr = '';
    let buffered = '';
    const giveUp = (why: string): void => {
      outcome ??= { unavailable: why };
      try {
        if (posix && child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
        else child.kill('SIGKILL');
      } catch {
        // Already gone.
      }
    };
    let deadline = setTimeout(() => giveUp(`no answer from update.code.visualstudio.com within ${REACH_TIMEOUT_MS / 1000} s`), REACH_TIMEOUT_MS);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        let msg: { stage?: string; error?: string; executable?: string };
        try {
          msg = JSON.parse(line) as typeof msg;
        } catch {
          // Something in test-electron printed to stdout itself; only our own lines are JSON.
          continue;
        }
        if (msg.executable !== undefined) outcome ??= { executable: msg.executable };
        else if (msg.error !== undefined && msg.stage === undefined)
          outcome ??= { unavailable: lastError !== undefined ? `${msg.error}: ${lastError}` : msg.error };
        else if (msg.error !== undefined) lastError = msg.error;
        if (msg.stage === 'resolvedVersion') {
          // The server answered; from here on test-electron's own idle timeout catches a stalled transfer.
          clearTimeout(deadline);
          deadline = setTimeout(() => giveUp(`downloading VS Code ${VSCODE_VERSION} took over ${DOWNLOAD_LIMIT_MS / 60_000} minutes`), DOWNLOAD_LIMIT_MS);
          console.log(`    looking for VS Code ${VSCODE_VERSION} in ${cache}, downloading it if missing`);
        }
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-2000);
    });
    child.on('close', (code, signal) => {
      clearTimeout(deadline);
      resolve(
        outcome ?? { unavailable: `the download process ended (${signal ?? `exit status ${code}`}) without a result${stderr ? `: ${stderr.trim()}` : ''}` },
      );
    });
  });
}

async function findVSCode(): Promise<Found> {
  const configured = process.env.CNNSLICER_VSCODE_EXECUTABLE;
  if (configured !== undefined && configured !== '') {
    // Asked for by name: a wrong path is a mistake to report, not a reason to skip.
    if (!fs.existsSync(configured)) throw new Error(`CNNSLICER_VSCODE_EXECUTABLE=${configured} does not exist`);
    return { executable: configured };
  }
  return downloadVSCode();
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

/** VS Code loads package.json's `main` from dist/, so a missing or stale bundle would test old code. */
function ensureBuilt(): void {
  const bundle = path.join(root, 'dist', 'extension', 'extension.js');
  const sourcesNewest = Math.max(newestMtime(path.join(root, 'src')), newestMtime(path.join(root, 'webview')));
  if (fs.existsSync(bundle) && fs.statSync(bundle).mtimeMs >= sourcesNewest) return;
  const res = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: root, encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`node esbuild.mjs failed (${res.status}):\n${res.stdout}\n${res.stderr}`);
}

/** The extension host requires plain JavaScript, and `vscode` is its own module, never bundled. */
async function buildInHostRunner(outDir: string): Promise<string> {
  const outfile = path.join(outDir, 'index.js');
  await esbuild.build({
    entryPoints: [path.join(__dirname, 'inHost', 'index.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['vscode'],
    sourcemap: 'inline',
    logLevel: 'warning',
  });
  return outfile;
}

describe('CNNSlicer in desktop VS Code (@vscode/test-electron)', function () {
  // Only a first download takes long; without network access the hook is over in well under a second.
  this.timeout(DOWNLOAD_LIMIT_MS + 5 * 60_000);
  let executable: string | undefined;
  /** The workspace, the built runner and VS Code's profile; kept when the test failed. */
  let scratch: string | undefined;
  let workspace: string | undefined;
  let runner: string | undefined;
  let failed = false;

  before(async function () {
    const found = await findVSCode();
    if ('unavailable' in found) {
      const reason = `VS Code cannot be downloaded here (${found.unavailable}); the code-server suite (test/e2e) covers the extension end to end`;
      // Not tied to CI: CI runs on these machines too, where this is the expected outcome.
      if (truthy(process.env.CNNSLICER_ELECTRON_REQUIRED)) throw new Error(reason);
      console.log(`    skipping the desktop VS Code suite: ${reason}`);
      this.skip();
    }
    executable = found.executable;
    if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
      throw new Error('VS Code needs a display and none is set (DISPLAY, WAYLAND_DISPLAY); run the suite under `xvfb-run -a`');
    }
    ensureBuilt();
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'cnnslicer-electron-'));
    workspace = path.join(scratch, 'workspace');
    await writeSmallRun({ dir: workspace });
    runner = await buildInHostRunner(path.join(scratch, 'out'));
  });

  after(() => {
    if (scratch === undefined) return;
    if (failed) console.log(`    kept ${scratch} (workspace, user-data/logs, the in-host checks' result.json)`);
    else fs.rmSync(scratch, { recursive: true, force: true });
  });

  it('activates in the extension host, registers its commands, and Refresh Runs resolves', async () => {
    assert.ok(executable && scratch && workspace && runner, 'the before hook did not prepare the run');
    const resultFile = path.join(scratch, 'result.json');
    try {
      let launchError: unknown;
      try {
        await runTests({
          vscodeExecutablePath: executable,
          extensionDevelopmentPath: root,
          extensionTestsPath: runner,
          extensionTestsEnv: { CNNSLICER_ELECTRON_WORKSPACE: workspace, CNNSLICER_ELECTRON_RESULT: resultFile },
          // A fresh profile per run, out of the repository (test-electron's default is ./.vscode-test).
          launchArgs: [
            workspace,
            '--disable-extensions',
            '--disable-workspace-trust',
            `--user-data-dir=${path.join(scratch, 'user-data')}`,
            `--extensions-dir=${path.join(scratch, 'extensions')}`,
          ],
        });
      } catch (err) {
        launchError = err;
      }
      // Without the result file VS Code never ran the checks, whatever its exit status says.
      assert.ok(
        fs.existsSync(resultFile),
        `the in-host checks did not run${launchError !== undefined ? ` (${String(launchError)})` : ''}; see VS Code's output above`,
      );
      const results = JSON.parse(fs.readFileSync(resultFile, 'utf8')) as CheckResults;
      if (results.failed.length > 0) {
        assert.fail(`checks failed in the extension host:\n${results.failed.map((f) => `✗ ${f.name}\n${f.message}`).join('\n\n')}`);
      }
      assert.ok(results.passed.length > 0, 'the in-host runner reported no checks at all');
      assert.strictEqual(launchError, undefined, `every check passed, yet VS Code exited with an error: ${String(launchError)}`);
    } catch (err) {
      failed = true;
      throw err;
    }
  });
});

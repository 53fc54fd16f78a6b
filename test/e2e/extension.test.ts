// End to end: the built extension installed in a real VS Code 1.100.3 workbench (code-server),
// driven through the UI a user sees: the activity bar, the Runs tree, the command palette, the
// quick pick, the training view's webview and the summary editor. The extension host and the engine it forks run server-side
// in Node, as under VS Code Remote. Needs scripts/e2e/install.sh to have been run once.
import * as assert from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RunWriter } from '../../src/core/run/runWriter';
import type { LayerInfo } from '../../src/shared/runFormat';
// For its declaration of window.cnnslicerCharts, which the training view's checks read.
import type {} from '../../webview/shared/charts';
import { CodeServerSession } from './harness';
import { keepEvidenceOnFailure, skipUnlessReady, stageBuiltExtension } from './staging';
import { filled, product } from './helpers';

const root = path.resolve(__dirname, '..', '..');
const RUN_NAME = 'e2e-small-cnn';
const TRAINING_TAB = `Training: ${RUN_NAME}`;
const RUN_FOLDER = 'runs/small';
const N = 20;
const CLASSES = Array.from({ length: 10 }, (_, i) => String(i));
const INPUT_SHAPE = [1, 8, 8];
const LAYERS: LayerInfo[] = [
  { name: 'conv1', kind: 'conv', shape: [4, 6, 6], op: 'Conv2d' },
  { name: 'fc', kind: 'linear', shape: [10], op: 'Linear' },
];
/** One entry per epoch; the summary and the tree must show these, formatted. */
const EPOCHS = [
  { epoch: 0, loss: 2.31, accuracy: 0.1, lossText: '2.31', accuracyText: '10.0%' },
  { epoch: 1, loss: 1.2, accuracy: 0.55, lossText: '1.2', accuracyText: '55.0%' },
  { epoch: 2, loss: 0.512, accuracy: 0.85, lossText: '0.512', accuracyText: '85.0%' },
];

/**
 * Writes the run's epochs and leaves it open, as a training script still running would: the last
 * test adds an epoch through the returned writer and finishes the run.
 */
async function writeRun(dir: string): Promise<RunWriter> {
  const writer = await RunWriter.create(dir, {
    name: RUN_NAME,
    model: { name: 'SmallCNN', framework: 'pytorch' },
    layers: LAYERS,
    classes: CLASSES,
    probe: { inputs: filled(N * product(INPUT_SHAPE), 1), inputShape: INPUT_SHAPE, labels: Array.from({ length: N }, (_, i) => i % CLASSES.length) },
  });
  for (const e of EPOCHS) {
    const activations = new Map(LAYERS.map((l, i) => [l.name, filled(N * product(l.shape), 100 * e.epoch + i + 2)] as const));
    await writer.writeEpoch(e.epoch, {
      metrics: { loss: e.loss, accuracy: e.accuracy },
      activations,
      logits: filled(N * CLASSES.length, 100 * e.epoch + 99),
      dtype: 'float32',
    });
  }
  return writer;
}

/** The epoch the last test writes while the training view is open. */
const LIVE_EPOCH = { epoch: 3, loss: 0.25, accuracy: 0.9, lossText: '0.25' };

describe('CNNSlicer in VS Code (code-server, end to end)', function () {
  this.timeout(180_000);
  let session: CodeServerSession | undefined;
  /** The staged extension and the workspace, kept when a test failed. */
  let scratch: string | undefined;
  const evidence = keepEvidenceOnFailure(
    () => session,
    () => scratch,
  );
  let liveWriter: RunWriter | undefined;

  const s = (): CodeServerSession => {
    assert.ok(session, 'the code-server session did not start');
    return session;
  };

  before(async function () {
    skipUnlessReady(this, 'the end-to-end suite');
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'cnnslicer-e2e-test-'));
    const extensionDir = stageBuiltExtension(path.join(scratch, 'extension'));
    const workspace = path.join(scratch, 'workspace');
    liveWriter = await writeRun(path.join(workspace, RUN_FOLDER));
    fs.writeFileSync(path.join(workspace, 'README.md'), '# A workspace holding one CNNSlicer run\n');
    session = await CodeServerSession.start({
      workspace,
      extensionDir,
      ...(process.env.CNNSLICER_SCREENSHOTS === '1' ? { screenshotDir: path.join(root, 'docs', 'images') } : {}),
    });
    try {
      await session.openWorkbench('README.md');
    } catch (err) {
      // A failing before-hook gets no afterEach, so the evidence is printed and kept here.
      await evidence.record('open-workbench');
      throw err;
    }
  });

  it('shows the CNNSlicer activity-bar entry, whose Runs view lists the workspace run', async () => {
    const sess = s();
    await sess.activityBarItem('CNNSlicer').waitFor({ state: 'visible', timeout: 60_000 });
    await sess.openViewContainer('CNNSlicer');
    const row = sess.treeRow('Runs', RUN_NAME);
    await row.waitFor({ state: 'visible', timeout: 60_000 });
    // The run is listed only once the engine has read it; while loading it would say `loading…`.
    await row.locator('.label-description', { hasText: '3 epochs · 2 layers' }).waitFor({ timeout: 60_000 });
    await sess.screenshot('runs-view');
  });

  it('Analyze Model: picking the run opens its training view beside, with the run’s classes, confusion matrix, loss and input entropy', async () => {
    const sess = s();
    // With a file open, "beside" means a second editor group.
    await sess.openFile('README.md');
    await sess.runCommand('CNNSlicer: Analyze Model');
    await sess.pickQuickInput(RUN_NAME);
    await sess.waitForTab(TRAINING_TAB);
    const readmeGroup = await sess.editorGroupOfTab('README.md');
    const trainingGroup = await sess.editorGroupOfTab(TRAINING_TAB);
    assert.ok(
      trainingGroup > readmeGroup && readmeGroup >= 0,
      `the training view opened in editor group ${trainingGroup}, README.md is in group ${readmeGroup}`,
    );
    const view = sess.webviewFrame();
    await view.locator('#runs .chip-name', { hasText: RUN_NAME }).waitFor({ timeout: 60_000 });
    // The newest epoch's matrix: the engine computed it from the run's logits, through the host.
    await view.locator('#epoch-label', { hasText: '2 (newest)' }).waitFor({ timeout: 60_000 });
    assert.deepEqual(await view.locator('#confusion th.col-head .class-name').allTextContents(), CLASSES);
    assert.deepEqual(await view.locator('#confusion th.row-head').allTextContents(), CLASSES);
    const counts = await view.locator('#confusion td.cell').evaluateAll((tds) => tds.map((td) => Number((td as HTMLElement).dataset.count)));
    assert.equal(counts.length, CLASSES.length ** 2);
    assert.equal(
      counts.reduce((a, b) => a + b, 0),
      N,
      'every probe sample is in the matrix once',
    );
    await view.locator('#matrix-caption', { hasText: `Epoch 2: ${N} samples` }).waitFor();
    const last = EPOCHS[EPOCHS.length - 1];
    await view.locator('#loss-values', { hasText: `${last.lossText} at epoch ${last.epoch}` }).waitFor();
    await view.locator('#input-entropy-values', { hasText: `N = ${N}, k = ${N - 1}` }).waitFor({ timeout: 60_000 });
    await view.locator('#estimator-params', { hasText: 'nearest neighbours' }).waitFor();
    // Typed arrays crossed postMessage intact: the label entropy lines have one point per epoch.
    const points = await view
      .locator('#chart-label-given-prediction')
      .evaluate(() => window.cnnslicerCharts?.get('chart-label-given-prediction')?.data.datasets[0]?.data.length);
    assert.equal(points, EPOCHS.length);
    assert.deepEqual(
      sess.consoleErrors.filter((e) => /Content Security Policy/i.test(e)),
      [],
      'the view ran under its CSP without violations',
    );
    if (process.env.CNNSLICER_SCREENSHOTS === '1') {
      // The view alone in the editor area, beside the Runs view: the image the README shows.
      await sess.runCommand('View: Toggle Maximize Editor Group');
      await view.locator('#input-entropy-values', { hasText: `k = ${N - 1}` }).waitFor();
      await sess.page.waitForTimeout(500);
      await sess.page.screenshot({ path: path.join(root, 'docs', 'images', 'training-view.png') });
      await sess.runCommand('View: Toggle Maximize Editor Group');
    }
  });

  it('the epoch slider moves the matrix, and a window reload restores the view where the user left it', async () => {
    const sess = s();
    const view = sess.webviewFrame();
    await view.locator('#epoch-slider').fill('0');
    await view.locator('#epoch-label', { hasText: /^0$/ }).waitFor();
    await view.locator('#matrix-caption', { hasText: 'Epoch 0:' }).waitFor();
    // VS Code asks the panel serializer to bring the view back from the state the view saved.
    // The command, unlike a bare page reload, waits for the workbench to save its state first.
    const reloaded = sess.page.waitForEvent('load', { timeout: 60_000 });
    await sess.runCommand('Developer: Reload Window');
    await reloaded;
    await sess.page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: 60_000 });
    await sess.waitForTab(TRAINING_TAB);
    await sess.tab(TRAINING_TAB).click();
    const restored = sess.webviewFrame();
    await restored.locator('#matrix-caption', { hasText: `Epoch 0: ${N} samples` }).waitFor({ timeout: 60_000 });
    await restored.locator('#epoch-label', { hasText: /^0$/ }).waitFor();
  });

  it('Show Run Summary, the run’s inline action in the Runs tree, opens its summary with layers, classes and epoch metrics', async () => {
    const sess = s();
    await sess.openViewContainer('CNNSlicer');
    const row = sess.treeRow('Runs', RUN_NAME);
    await row.hover();
    await row.locator('.actions .action-label[aria-label="Show Run Summary"]').click();
    const tab = await sess.waitForTab(`${RUN_NAME} summary.md`);
    assert.match(tab, new RegExp(`^${RUN_NAME} summary\\.md`));
    const text = await sess.readEditorText();
    assert.match(text, new RegExp(`^# Run \`${RUN_NAME}\``, 'm'));
    assert.match(text, /^1\. `conv1`: conv 4×6×6, `Conv2d`$/m);
    assert.match(text, /^2\. `fc`: linear 10, `Linear`$/m);
    assert.match(text, /^## Classes \(10\)$/m);
    assert.match(text, /^## Epochs \(3\)$/m);
    for (const e of EPOCHS) {
      const line = `- epoch ${e.epoch}: \`loss\` ${e.lossText}, \`accuracy\` ${e.accuracyText}, stored as activations`;
      assert.ok(text.split('\n').includes(line), `the summary has no line ${JSON.stringify(line)}:\n${text}`);
    }
    await sess.screenshot('run-summary');
  });

  it('logs activation, the engine start and the summary to the CNNSlicer output channel, shown by Show Log', async () => {
    const sess = s();
    await sess.runCommand('CNNSlicer: Show Log');
    // Analyze Model logs the summary it showed; the previous test ran it.
    const summaryLogged = new RegExp(`Summary of run ${RUN_NAME}`);
    const output = await sess.outputChannelText('CNNSlicer', summaryLogged);
    assert.match(output, /CNNSlicer activated/);
    // The engine is a child process of the extension host, which code-server runs server-side.
    assert.match(output, /engine ready \(pid \d+\)/);
    assert.match(output, summaryLogged);
  });

  it('expanding the run in the Runs tree shows Layers, and conv1 as conv 4×6×6', async () => {
    const sess = s();
    await sess.openViewContainer('CNNSlicer');
    // A click on a run opens its training view; a run node expands from its twistie.
    const run = sess.treeRow('Runs', RUN_NAME);
    if ((await run.getAttribute('aria-expanded')) === 'false') await run.locator('.monaco-tl-twistie').click();
    await run.and(sess.page.locator('[aria-expanded="true"]')).waitFor({ timeout: 30_000 });
    const layers = sess.treeRow('Runs', 'Layers');
    await sess.expandTreeRow(layers);
    const conv1 = sess.treeRow('Runs', 'conv1');
    await conv1.waitFor({ state: 'visible', timeout: 30_000 });
    assert.match(await conv1.locator('.label-description').innerText(), /conv 4×6×6/);
    const fc = sess.treeRow('Runs', 'fc');
    assert.match(await fc.locator('.label-description').innerText(), /linear 10/);
    await sess.screenshot('runs-tree-layers');
  });

  it('clicking the run in the Runs tree opens its training view', async () => {
    const sess = s();
    await sess.runCommand('View: Close All Editors');
    await sess.page.locator('.tabs-container .tab').first().waitFor({ state: 'detached', timeout: 30_000 });
    await sess.openViewContainer('CNNSlicer');
    await sess.treeRow('Runs', RUN_NAME).locator('.label-name').click();
    await sess.waitForTab(TRAINING_TAB);
    await sess.webviewFrame().locator('#epoch-label', { hasText: '2 (newest)' }).waitFor({ timeout: 60_000 });
  });

  it('follows a run still training: a new epoch on disk reaches the open training view', async () => {
    const sess = s();
    const view = sess.webviewFrame();
    await view.locator('#epoch-label', { hasText: '2 (newest)' }).waitFor({ timeout: 60_000 });
    assert.ok(liveWriter, 'the run was written by the before hook');
    await liveWriter.writeEpoch(LIVE_EPOCH.epoch, {
      metrics: { loss: LIVE_EPOCH.loss, accuracy: LIVE_EPOCH.accuracy },
      activations: new Map(LAYERS.map((l, i) => [l.name, filled(N * product(l.shape), 100 * LIVE_EPOCH.epoch + i + 2)] as const)),
      logits: filled(N * CLASSES.length, 100 * LIVE_EPOCH.epoch + 99),
      dtype: 'float32',
    });
    await liveWriter.finish();
    // The manifest watcher, the run index, the panel and the engine, in turn, bring it to the view.
    await view.locator('#epoch-label', { hasText: `${LIVE_EPOCH.epoch} (newest)` }).waitFor({ timeout: 60_000 });
    await view.locator('#matrix-caption', { hasText: `Epoch ${LIVE_EPOCH.epoch}: ${N} samples` }).waitFor();
    await view.locator('#loss-values', { hasText: `${LIVE_EPOCH.lossText} at epoch ${LIVE_EPOCH.epoch}` }).waitFor();
  });
});

// End to end, the query view and the links to code: the built extension in a real VS Code 1.100.3
// workbench (code-server), driven as a user drives it. Analyze Model opens the query view (and the
// training view); the Runs tree and the query view select layers for each other; Go to source opens
// the model's file at the layer's line; the CodeLens over that line shows the layer's entropies,
// measured by the engine, and opens the layer's view. Needs scripts/e2e/install.sh run once.
import * as assert from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { FrameLocator } from 'playwright-core';
import { RunWriter } from '../../src/core/run/runWriter';
import type { LayerInfo } from '../../src/shared/runFormat';
import { CodeServerSession } from './harness';
import { keepEvidenceOnFailure, skipUnlessReady, stageBuiltExtension } from './staging';
import { filled, product } from './helpers';

const root = path.resolve(__dirname, '..', '..');
const RUN_NAME = 'e2e-query-cnn';
const QUERY_TAB = `Query: ${RUN_NAME}`;
const TRAINING_TAB = `Training: ${RUN_NAME}`;
const CHANNEL_TAB = `Channels: ${RUN_NAME}`;
const N = 20;
const CLASSES = ['0', '1', '2', '3'];
const INPUT_SHAPE = [1, 8, 8];

/** The model's source, as the probe would have seen it: each layer's construction on its own line. */
const MODEL_PY = [
  'import torch.nn as nn',
  '',
  '',
  'class SmallCNN(nn.Module):',
  '    def __init__(self) -> None:',
  '        super().__init__()',
  '        self.conv1 = nn.Conv2d(1, 4, 3)',
  '        self.relu1 = nn.ReLU()',
  '        self.pool1 = nn.MaxPool2d(2)',
  '        self.fc = nn.Linear(36, 4)',
  '',
].join('\n');

const LAYERS: LayerInfo[] = [
  { name: 'conv1', kind: 'conv', shape: [4, 6, 6], op: 'Conv2d', source: { file: 'model.py', line: 7 } },
  { name: 'relu1', kind: 'activation', shape: [4, 6, 6], op: 'ReLU', source: { file: 'model.py', line: 8 } },
  { name: 'pool1', kind: 'pool', shape: [4, 3, 3], op: 'MaxPool2d', source: { file: 'model.py', line: 9 } },
  { name: 'fc', kind: 'linear', shape: [4], op: 'Linear', source: { file: 'model.py', line: 10 } },
];
const EPOCHS = [0, 1, 2];
const SCREENSHOTS = process.env.CNNSLICER_SCREENSHOTS === '1';
const SAMPLE_RUN = path.join(root, 'examples', 'sample-run');

async function writeRun(dir: string): Promise<void> {
  const writer = await RunWriter.create(dir, {
    name: RUN_NAME,
    model: { name: 'SmallCNN', framework: 'pytorch' },
    layers: LAYERS,
    classes: CLASSES,
    probe: { inputs: filled(N * product(INPUT_SHAPE), 1), inputShape: INPUT_SHAPE, labels: Array.from({ length: N }, (_, i) => i % CLASSES.length) },
  });
  for (const epoch of EPOCHS) {
    await writer.writeEpoch(epoch, {
      metrics: { loss: 2 / (epoch + 1), accuracy: 0.25 + 0.2 * epoch },
      activations: new Map(LAYERS.map((l, i) => [l.name, filled(N * product(l.shape), 100 * epoch + i + 2)] as const)),
      logits: filled(N * CLASSES.length, 100 * epoch + 99),
      dtype: 'float32',
    });
  }
  await writer.finish();
}

describe('CNNSlicer query view and CodeLens in VS Code (code-server, end to end)', function () {
  this.timeout(240_000);
  let session: CodeServerSession | undefined;
  let scratch: string | undefined;
  const evidence = keepEvidenceOnFailure(
    () => session,
    () => scratch,
  );

  const s = (): CodeServerSession => {
    assert.ok(session, 'the code-server session did not start');
    return session;
  };

  before(async function () {
    skipUnlessReady(this, 'the end-to-end suite');
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'cnnslicer-e2e-query-'));
    const extensionDir = stageBuiltExtension(path.join(scratch, 'extension'));
    const workspace = path.join(scratch, 'workspace');
    await writeRun(path.join(workspace, 'runs', 'small'));
    fs.writeFileSync(path.join(workspace, 'model.py'), MODEL_PY);
    fs.writeFileSync(path.join(workspace, 'README.md'), '# A model and one CNNSlicer run of it\n');
    // The README's picture shows the sample run (an MNIST CNN over 20 epochs) rather than this tiny one.
    if (SCREENSHOTS && fs.existsSync(SAMPLE_RUN)) fs.cpSync(SAMPLE_RUN, path.join(workspace, 'sample-run'), { recursive: true });
    session = await CodeServerSession.start({ workspace, extensionDir });
    try {
      await session.openWorkbench('README.md');
    } catch (err) {
      await evidence.record('open-workbench');
      throw err;
    }
  });

  /** The query view's document, once its tab is the one shown. */
  async function queryView(): Promise<FrameLocator> {
    const sess = s();
    await sess.tab(QUERY_TAB).click();
    const view = sess.webviewFrame();
    await view.locator('#run-title', { hasText: RUN_NAME }).waitFor({ timeout: 60_000 });
    return view;
  }

  async function pressedBlocks(view: FrameLocator): Promise<string[]> {
    return view.locator('#blocks button.block[aria-pressed="true"] .block-name').allTextContents();
  }

  it('Analyze Model opens the run’s query view and training view; the query view shows the run’s layers as blocks', async () => {
    const sess = s();
    await sess.openViewContainer('CNNSlicer');
    await sess.treeRow('Runs', RUN_NAME).locator('.label-description', { hasText: '3 epochs · 4 layers' }).waitFor({ timeout: 60_000 });
    await sess.openFile('README.md');
    await sess.runCommand('CNNSlicer: Analyze Model');
    await sess.pickQuickInput(RUN_NAME);
    await sess.waitForTab(QUERY_TAB);
    await sess.waitForTab(TRAINING_TAB);
    const readmeGroup = await sess.editorGroupOfTab('README.md');
    assert.ok((await sess.editorGroupOfTab(QUERY_TAB)) > readmeGroup, 'the query view opens beside the editor');
    const view = await queryView();
    await view.locator('#blocks button.block').first().waitFor({ timeout: 60_000 });
    assert.deepEqual(
      await view.locator('#blocks button.block .block-name').allTextContents(),
      LAYERS.map((l) => l.name),
    );
    assert.deepEqual(await view.locator('#blocks button.block .block-shape').allTextContents(), ['4×6×6', '4×6×6', '4×3×3', '4']);
    assert.equal(await view.locator('#l-axis rect.l-tick').count(), LAYERS.length);
    assert.equal(await view.locator('#epoch-label').textContent(), '2 (newest)');
    assert.deepEqual(
      sess.consoleErrors.filter((e) => /Content Security Policy/i.test(e)),
      [],
      'the view ran under its CSP without violations',
    );
  });

  it('clicking a layer in the Runs tree selects it in the query view; a block clicked in the query view is revealed and selected in the tree', async () => {
    const sess = s();
    await sess.openViewContainer('CNNSlicer');
    const run = sess.treeRow('Runs', RUN_NAME);
    if ((await run.getAttribute('aria-expanded')) === 'false') await run.locator('.monaco-tl-twistie').click();
    await run.and(sess.page.locator('[aria-expanded="true"]')).waitFor({ timeout: 30_000 });
    await sess.expandTreeRow(sess.treeRow('Runs', 'Layers'));
    await sess.treeRow('Runs', 'pool1').locator('.label-name').click();
    const view = await queryView();
    await view.locator('#blocks button.block[aria-pressed="true"]', { hasText: 'pool1' }).waitFor({ timeout: 30_000 });
    assert.deepEqual(await pressedBlocks(view), ['pool1']);

    await view.locator('#blocks button.block', { hasText: 'relu1' }).click();
    await sess.treeRow('Runs', 'relu1').and(sess.page.locator('[aria-selected="true"]')).waitFor({ timeout: 30_000 });
    assert.equal(await sess.treeRow('Runs', 'pool1').getAttribute('aria-selected'), 'false');
  });

  it('Go to source opens the model’s file at the focus layer’s line, beside the view', async () => {
    const sess = s();
    const view = await queryView();
    await view.locator('#blocks button.block', { hasText: 'pool1' }).click();
    const button = view.locator('#go-to-source', { hasText: 'Go to source (model.py:9)' });
    await button.waitFor();
    await button.click();
    await sess.waitForTab('model.py');
    // The line is selected: the status bar says where the cursor is.
    await sess.page.locator('[id="status.editor.selection"]', { hasText: 'Ln 9,' }).waitFor({ timeout: 30_000 });
    assert.notEqual(await sess.editorGroupOfTab('model.py'), await sess.editorGroupOfTab(QUERY_TAB));
  });

  it('a CodeLens over each recorded layer shows its measured entropies; clicking one opens that layer’s view', async () => {
    const sess = s();
    await sess.tab('model.py').click();
    const lenses = sess.page.locator('.editor-group-container.active .monaco-editor .codelens-decoration');
    const conv1 = lenses.filter({ hasText: /^CNNSlicer · conv1: H̄ \d+(\.\d+)? bits \(channels\) · inter -?\d+(\.\d+)? bits( \(≈ ceiling\))? · epoch 2$/ });
    await conv1.waitFor({ timeout: 120_000 });
    const fc = lenses.filter({ hasText: /^CNNSlicer · fc: H \d+(\.\d+)? bits \(features\) · inter -?\d+(\.\d+)? bits( \(≈ ceiling\))? · epoch 2$/ });
    await fc.waitFor({ timeout: 120_000 });
    // The editor keeps lenses in the DOM in no particular order: sorted by where they are drawn.
    const drawn = await lenses.evaluateAll((els) => els.map((e) => ({ text: (e.textContent ?? '').trim(), top: e.getBoundingClientRect().top })));
    const texts = drawn.sort((a, b) => a.top - b.top).map((d) => d.text);
    assert.deepEqual(
      texts.map((t) => /^CNNSlicer · (\S+):/.exec(t)?.[1]),
      LAYERS.map((l) => l.name),
      `one lens per recorded layer, in line order: ${texts.join(' | ')}`,
    );

    // A convolution opens its channel view beside the code.
    await conv1.locator('a').first().click();
    await sess.waitForTab(CHANNEL_TAB);
    assert.notEqual(await sess.editorGroupOfTab(CHANNEL_TAB), await sess.editorGroupOfTab('model.py'));

    // A dense layer has no maps: its lens opens the query view with that layer selected.
    await sess.tab('model.py').click();
    await fc.locator('a').first().click();
    const view = sess.webviewFrame();
    await view.locator('#blocks button.block[aria-pressed="true"]', { hasText: 'fc' }).waitFor({ timeout: 30_000 });
    assert.deepEqual(await pressedBlocks(view), ['fc']);
  });

  it('a view command from the palette asks for the run under its own title, starting on the run of the view in front', async () => {
    const sess = s();
    await queryView();
    await sess.runCommand('CNNSlicer: Open Training View');
    await sess.page
      .locator('.quick-input-widget .quick-input-title', { hasText: 'CNNSlicer: Open Training View' })
      .waitFor({ state: 'visible', timeout: 30_000 });
    await sess.page.locator('.quick-input-widget .quick-input-list .monaco-list-row.focused .label-name', { hasText: RUN_NAME }).waitFor({ timeout: 30_000 });
    await sess.page.keyboard.press('Enter');
    await sess.waitForTab(TRAINING_TAB);
  });

  it('Go to Layer finds a layer by part of its name and selects it in the Runs tree and the query view', async () => {
    const sess = s();
    await queryView();
    await sess.runCommand('CNNSlicer: Go to Layer...');
    await sess.page.locator('.quick-input-widget .quick-input-title', { hasText: 'CNNSlicer: Go to Layer' }).waitFor({ state: 'visible', timeout: 30_000 });
    await sess.page.locator('.quick-input-widget .quick-input-list .monaco-list-row.focused .label-name', { hasText: RUN_NAME }).waitFor({ timeout: 30_000 });
    await sess.page.keyboard.press('Enter');
    await sess.page.locator('.quick-input-widget .quick-input-title', { hasText: `Go to Layer of ${RUN_NAME}` }).waitFor({ state: 'visible', timeout: 30_000 });
    await sess.quickInputBox().fill('pool');
    await sess.page.locator('.quick-input-widget .quick-input-list .monaco-list-row.focused .label-name', { hasText: 'pool1' }).waitFor({ timeout: 30_000 });
    await sess.page.keyboard.press('Enter');
    await sess.treeRow('Runs', 'pool1').and(sess.page.locator('[aria-selected="true"]')).waitFor({ timeout: 30_000 });
    const view = await queryView();
    await view.locator('#blocks button.block[aria-pressed="true"]', { hasText: 'pool1' }).waitFor({ timeout: 30_000 });
  });

  it('Open Query View on the sample run, with a slice as in the paper’s Fig. 3, for the README', async function () {
    if (!SCREENSHOTS || !fs.existsSync(SAMPLE_RUN)) this.skip();
    const sess = s();
    await sess.runCommand('View: Close All Editors');
    await sess.runCommand('CNNSlicer: Open Query View');
    const manifest = JSON.parse(fs.readFileSync(path.join(SAMPLE_RUN, 'cnnslicer.json'), 'utf8')) as { name: string; layers: { name: string }[] };
    await sess.pickQuickInput(manifest.name);
    const view = sess.webviewFrame();
    await view.locator('#run-title', { hasText: manifest.name }).waitFor({ timeout: 60_000 });
    // Layers 1 to 3 (conv1, relu1, pool1), channel 5 of conv1, epoch 12 of 20.
    await view.locator('#blocks button.block').nth(0).click();
    await view
      .locator('#blocks button.block')
      .nth(2)
      .click({ modifiers: ['Shift'] });
    await view.locator('#channel-input').fill('5');
    await view.locator('#channel-input').press('Enter');
    await view.locator('#intersection').waitFor();
    await view.locator('#epoch-slider').fill('12');
    await view.locator('#epoch-label', { hasText: /^12$/ }).waitFor();
    assert.deepEqual(
      await pressedBlocks(view),
      manifest.layers.slice(0, 3).map((l) => l.name),
    );
    // The view alone in the editor area (all else was closed), beside the Runs view.
    await sess.page.waitForTimeout(500);
    await sess.page.screenshot({ path: path.join(root, 'docs', 'images', 'query-view.png') });
  });
});

// End to end, the layer view (paper §5.3) and the channel view (§5.4): the built extension in a
// real VS Code 1.100.3 workbench (code-server), on the MNIST sample run (examples/sample-run: a
// small CNN, 21 ONNX checkpoints, 1,000 probe images), driven as a user drives it: both views
// opened from the command palette with their quick picks, a heatmap cell clicked for its feature
// maps, a channel circle clicked for its deconvnet projections, and the linked selection carried
// from one view to the other through the extension host. The engine computes everything from the
// checkpoints. With CNNSLICER_SCREENSHOTS=1 it saves docs/images/layer-view.png and
// channel-view.png. Needs scripts/e2e/install.sh run once.
import * as assert from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { FrameLocator } from 'playwright-core';
import type {} from '../../webview/channel/main';
import type {} from '../../webview/layer/main';
import { CodeServerSession } from './harness';
import { keepEvidenceOnFailure, skipUnlessReady, stageBuiltExtension } from './staging';
import { until } from './helpers';

const root = path.resolve(__dirname, '..', '..');
const SAMPLE_RUN = path.join(root, 'examples', 'sample-run');
const RUN_NAME = 'MNIST small CNN';
const LAYER_TAB = `Layers: ${RUN_NAME}`;
const CHANNEL_TAB = `Channels: ${RUN_NAME}`;
const NEWEST = 20;
const SCREENSHOTS = process.env.CNNSLICER_SCREENSHOTS === '1';

describe('CNNSlicer layer and channel views in VS Code (code-server, end to end)', function () {
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
    if (!fs.existsSync(path.join(SAMPLE_RUN, 'cnnslicer.json'))) throw new Error(`${SAMPLE_RUN} is missing: npm run make-sample-run writes it`);
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'cnnslicer-e2e-layer-channel-'));
    const extensionDir = stageBuiltExtension(path.join(scratch, 'extension'));
    const workspace = path.join(scratch, 'workspace');
    fs.cpSync(SAMPLE_RUN, path.join(workspace, 'runs', 'mnist-small'), { recursive: true });
    fs.writeFileSync(path.join(workspace, 'README.md'), '# The MNIST sample run\n');
    session = await CodeServerSession.start({ workspace, extensionDir });
    try {
      await session.openWorkbench('README.md');
    } catch (err) {
      await evidence.record('open-workbench');
      throw err;
    }
  });

  /** The document of the view in the tab `title`, once that tab is shown. */
  async function viewIn(title: string): Promise<FrameLocator> {
    const sess = s();
    await sess.tab(title).click();
    const view = sess.webviewFrame();
    await view.locator('#run-title', { hasText: RUN_NAME }).waitFor({ timeout: 60_000 });
    return view;
  }

  async function choose(view: FrameLocator, selectId: string, optionText: string): Promise<void> {
    await view.locator(`#${selectId}`).click();
    await view.locator(`#${selectId} li[role="option"]`, { hasText: optionText }).first().click();
  }

  /**
   * Saves the view alone in the editor area, beside the Runs view: the README's image. The window
   * is made taller for it, so the view's lower half (feature maps, projections) is in the picture.
   */
  async function screenshotMaximized(file: string, settle: () => Promise<void>): Promise<void> {
    if (!SCREENSHOTS) return;
    const sess = s();
    const size = sess.page.viewportSize();
    await sess.openViewContainer('CNNSlicer');
    await sess.page.setViewportSize({ width: 1600, height: 1240 });
    await sess.runCommand('View: Toggle Maximize Editor Group');
    await settle();
    // Away from the tab just clicked, whose hover would be in the picture; the activity bar below its icons shows nothing.
    await sess.page.mouse.move(18, 760);
    await sess.page.waitForTimeout(800);
    await sess.page.screenshot({ path: path.join(root, 'docs', 'images', file) });
    await sess.runCommand('View: Toggle Maximize Editor Group');
    if (size !== null) await sess.page.setViewportSize(size);
  }

  it('Open Layer View asks for the run, li and lj, and shows the engine’s capacity matrix at the newest epoch', async () => {
    const sess = s();
    await sess.openViewContainer('CNNSlicer');
    await sess.treeRow('Runs', RUN_NAME).locator('.label-description', { hasText: '21 epochs · 7 layers' }).waitFor({ timeout: 60_000 });
    await sess.openFile('README.md');
    await sess.runCommand('CNNSlicer: Open Layer View');
    await sess.pickQuickInput(RUN_NAME);
    // The run's quick pick closes and the layer's opens: read the list once it is the layers'.
    const layers = ['input', 'conv1', 'relu1', 'pool1', 'conv2', 'relu2', 'pool2', 'fc', 'logits'];
    // li: the inputs, the layers in the model's order, the logits.
    // The list widget may keep a row of the run's pick it no longer shows, hence the filter.
    await until(
      'the layers offered for li',
      () => sess.quickInputLabels(),
      (labels) => labels.filter((l) => layers.includes(l)).join() === layers.join(),
    );
    await sess.pickQuickInput('conv1');
    await sess.pickQuickInput('conv2');
    await sess.waitForTab(LAYER_TAB);
    const view = await viewIn(LAYER_TAB);
    await view.locator('#epoch-label', { hasText: `${NEWEST} (newest)` }).waitFor();
    const canvas = view.locator('#heatmap-0');
    await canvas.waitFor({ timeout: 120_000 });
    await view.locator('#heatmap-caption-0', { hasText: `Epoch ${NEWEST}: 8 × 16 channels` }).waitFor({ timeout: 120_000 });
    const model = await canvas.evaluate(() => window.cnnslicerLayerView!());
    assert.equal(model.layer, 'conv1');
    assert.deepEqual(
      model.heatmaps.map((h) => [h.otherLayer, h.cols, h.rows, h.epoch]),
      [['conv2', 8, 16, NEWEST]],
    );
    const values = model.heatmaps[0].capacity.flat();
    assert.ok(
      values.every((v) => v >= 0 && v <= 4),
      'capacities in bits, within log2(16 bins)',
    );
    assert.ok(Math.max(...values) > Math.min(...values) + 0.1, 'the matrix is not flat');
    await view.locator('#estimator-params', { hasText: '499,500 sample pairs per histogram (all 1000 probe samples)' }).waitFor();

    // Sorted by max in both dimensions, as in the paper's Fig. 8, and compared with a second lj (Fig. 12).
    await choose(view, 'sort-columns', 'by max');
    await choose(view, 'sort-rows', 'by max');
    await view.locator('#add-other').click();
    await view.locator('#heatmap-caption-1', { hasText: `Epoch ${NEWEST}: 8 × 16 channels` }).waitFor({ timeout: 120_000 });
    const two = await canvas.evaluate(() => window.cnnslicerLayerView!());
    assert.deepEqual(
      two.heatmaps.map((h) => h.otherLayer),
      ['conv2', 'relu2'],
    );

    // A click on the top-left cell: the feature maps of its column and row filters, computed from the checkpoint.
    const g = two.heatmaps[0].geometry!;
    await canvas.click({ position: { x: g.x0 + g.cell / 2, y: g.y0 + g.cell / 2 } });
    const column = two.heatmaps[0].columns[0];
    const row = two.heatmaps[0].rowOrder[0];
    await view.locator('#detail-title', { hasText: `conv1 channel ${column} (column filter) and conv2 channel ${row} (row filter)` }).waitFor();
    await view.locator('#feature-maps canvas[data-role="row"]').nth(5).waitFor({ timeout: 60_000 });
    const sizes = await view
      .locator('#feature-maps canvas')
      .evaluateAll((cs) => (cs as HTMLCanvasElement[]).map((c) => `${c.dataset.role}:${c.width}×${c.height}`));
    assert.deepEqual(sizes, [...Array(6).fill('input:28×28'), ...Array(6).fill('column:26×26'), ...Array(6).fill('row:11×11')]);
    assert.deepEqual(
      sess.consoleErrors.filter((e) => /Content Security Policy/i.test(e)),
      [],
      'the view ran under its CSP without violations',
    );
    await screenshotMaximized('layer-view.png', () => view.locator('#feature-maps canvas[data-role="row"]').nth(5).waitFor());
  });

  it('Open Channel View shows a layer’s channels; a click on a channel circle shows its deconvnet projections, and the layer view outlines the channel', async () => {
    const sess = s();
    await sess.runCommand('CNNSlicer: Open Channel View');
    await sess.pickQuickInput(RUN_NAME);
    await sess.pickQuickInput('conv2');
    await sess.waitForTab(CHANNEL_TAB);
    const view = await viewIn(CHANNEL_TAB);
    const packing = view.locator('#packing');
    await view.locator('#packing-title', { hasText: `at epoch ${NEWEST}` }).waitFor({ timeout: 120_000 });
    let model = await until(
      'the circle packing',
      () => packing.evaluate(() => window.cnnslicerChannelView!()),
      (m) => m.circles.length > 0,
    );
    assert.equal(model.layer, 'conv2');
    assert.deepEqual(model.lines && [model.lines.channels, model.lines.classes, model.lines.epochs.length], [16, 10, 21]);
    assert.equal(model.groups.length, 11, 'ten digits and all samples, as in the paper’s Fig. 13(B)');
    assert.equal(model.circles.length, 11 * 16);

    // Zoom into the circle of digit 6 (Fig. 13E), then click its largest channel circle.
    const six = model.groups.find((g) => g.group === 6)!;
    const inside = model.circles.filter((c) => c.group === 6);
    let free: { x: number; y: number } | undefined;
    for (let a = 0; a < 72 && free === undefined; a++) {
      const x = six.sx + 0.95 * six.sr * Math.cos((a / 72) * 2 * Math.PI);
      const y = six.sy + 0.95 * six.sr * Math.sin((a / 72) * 2 * Math.PI);
      if (!inside.some((c) => (x - c.sx) ** 2 + (y - c.sy) ** 2 <= (c.sr + 1) ** 2)) free = { x, y };
    }
    assert.ok(free, 'a point of the class circle outside its channel circles');
    await packing.click({ position: free });
    await view.locator('#packing-title', { hasText: `at epoch ${NEWEST}: 6` }).waitFor();
    model = await until(
      'the zoom',
      () => packing.evaluate(() => window.cnnslicerChannelView!()),
      (m) => m.zoom === 6 && !m.animating,
    );
    const target = model.circles.filter((c) => c.group === 6).reduce((a, b) => (b.value > a.value ? b : a));
    await packing.click({ position: { x: target.sx, y: target.sy } });
    await view.locator('#deconv-title', { hasText: `conv2 channel ${target.channel}, class 6, epoch ${NEWEST}` }).waitFor();
    const projections = view.locator('#deconv-images canvas.projection-image');
    await projections.nth(7).waitFor({ timeout: 120_000 });
    // Real projections from the checkpoint: 28×28 images, not blank.
    const stats = await projections.evaluateAll((cs) =>
      (cs as HTMLCanvasElement[]).map((c) => {
        const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        const greys = new Set<number>();
        for (let i = 0; i < d.length; i += 4) greys.add(d[i]);
        return { size: `${c.width}×${c.height}`, levels: greys.size };
      }),
    );
    assert.equal(stats.length, 8);
    for (const st of stats) {
      assert.equal(st.size, '28×28');
      assert.ok(st.levels > 10, `a projection with ${st.levels} grey levels`);
    }
    await view.locator('#deconv-images canvas.input-image').nth(7).waitFor({ timeout: 60_000 });
    assert.equal(await view.locator('#deconv-message').textContent(), '');
    assert.deepEqual(
      sess.consoleErrors.filter((e) => /Content Security Policy/i.test(e)),
      [],
      'the view ran under its CSP without violations',
    );
    await screenshotMaximized('channel-view.png', () => projections.nth(7).waitFor());

    // The channel went through the host's linked selection to the layer view: conv2 is its lj, so a row is outlined.
    const layer = await viewIn(LAYER_TAB);
    const heatmap = layer.locator('#heatmap-0');
    await heatmap.waitFor({ timeout: 60_000 });
    await until(
      'the layer view’s outlined row',
      () => heatmap.evaluate(() => window.cnnslicerLayerView?.().heatmaps[0]?.linkedRow),
      (row) => row === target.channel,
    );
  });

  it('the Runs tree offers both views on a layer, and a click on a channel shows it in the channel view', async () => {
    const sess = s();
    await sess.openViewContainer('CNNSlicer');
    const run = sess.treeRow('Runs', RUN_NAME);
    if ((await run.getAttribute('aria-expanded')) === 'false') await run.locator('.monaco-tl-twistie').click();
    await sess.expandTreeRow(sess.treeRow('Runs', 'Layers'));
    const pool1 = sess.treeRow('Runs', 'pool1');
    await pool1.click({ button: 'right' });
    const menu = sess.page.locator('.monaco-menu .action-item');
    await menu.filter({ hasText: 'Open Layer View' }).first().waitFor();
    // The menu runs the item under the pointer on Enter; a click right after it opens can be taken for the right-click's release.
    await menu.filter({ hasText: 'Open Channel View' }).first().hover();
    await sess.page.keyboard.press('Enter');
    await sess.page.locator('.monaco-menu').waitFor({ state: 'hidden' });
    const view = await viewIn(CHANNEL_TAB);
    await until(
      'the channel view on pool1',
      () => view.locator('#packing').evaluate(() => window.cnnslicerChannelView!()),
      (m) => m.layer === 'pool1' && m.circles.length > 0,
      120_000,
    );
    // Channel 3 of pool1, clicked in the tree, is outlined in the channel view.
    await sess.openViewContainer('CNNSlicer');
    if ((await pool1.getAttribute('aria-expanded')) === 'false') await pool1.locator('.monaco-tl-twistie').click();
    await sess.treeRow('Runs', 'channel 3').locator('.label-name').click();
    const shown = sess.webviewFrame();
    await until(
      'the channel view’s channel',
      () => shown.locator('#packing').evaluate(() => window.cnnslicerChannelView?.().channel),
      (c) => c === 3,
    );
    await shown.locator('#deconv-title', { hasText: 'pool1 channel 3' }).waitFor({ timeout: 60_000 });
  });
});

// End to end on a real network: a torchvision ResNet-18 run (67 recorded layers, 64–512 channels,
// residual blocks) made at the start of the suite by examples/torchvision_models.py (random init,
// 200 MNIST training images, 1 epoch, 100 probe images, checkpoints; ~20 s), opened in a real VS
// Code workbench (code-server) with the built extension. Checked as a user meets it: the Runs tree
// groups the layers by module, the layer view computes and fits a 512 × 512 capacity matrix and
// zooms into it, and the channel view projects a channel of a residual block's output through the
// deconvnet. With CNNSLICER_SCREENSHOTS=1 it saves docs/images/resnet-*.png for the README.
// Needs scripts/e2e/install.sh run once, and Debian's python3-torch and python3-torchvision.
import * as assert from 'node:assert';
import { spawnSync } from 'node:child_process';
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
const PYTHON = process.env.CNNSLICER_PYTHON ?? '/usr/bin/python3';
const RUN_NAME = 'MNIST resnet18';
const SCREENSHOTS = process.env.CNNSLICER_SCREENSHOTS === '1';

function hasTorchvision(): boolean {
  return spawnSync(PYTHON, ['-c', 'import torch, torchvision'], { encoding: 'utf8' }).status === 0;
}

/** The small ResNet-18 run, as the README's torchvision example makes it. */
function makeResnetRun(out: string): void {
  const res = spawnSync(
    PYTHON,
    [
      path.join(root, 'examples', 'torchvision_models.py'),
      ...['--model', 'resnet18', '--per-class', '20', '--epochs', '1', '--probe', '100', '--layers', 'all', '--seed', '0', '--threads', '2', '--out', out],
    ],
    { encoding: 'utf8', timeout: 300_000 },
  );
  if (res.status !== 0) throw new Error(`examples/torchvision_models.py failed (${res.status}): ${res.stderr}`);
}

describe('CNNSlicer on a torchvision ResNet-18 in VS Code (code-server, end to end)', function () {
  this.timeout(300_000);
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
    if (!hasTorchvision()) {
      // CI installs python3-torchvision; a machine without it skips with the reason.
      if (process.env.CI) throw new Error(`${PYTHON} cannot import torch and torchvision (apt-get install python3-torch python3-torchvision)`);
      console.log(`    skipping: ${PYTHON} cannot import torch and torchvision`);
      this.skip();
    }
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'cnnslicer-e2e-resnet-'));
    const workspace = path.join(scratch, 'workspace');
    makeResnetRun(path.join(workspace, 'runs', 'resnet18'));
    const extensionDir = stageBuiltExtension(path.join(scratch, 'extension'));
    fs.writeFileSync(path.join(workspace, 'README.md'), '# A ResNet-18 run\n');
    session = await CodeServerSession.start({ workspace, extensionDir });
    try {
      await session.openWorkbench('README.md');
    } catch (err) {
      await evidence.record('open-workbench');
      throw err;
    }
  });

  async function viewIn(title: string): Promise<FrameLocator> {
    const sess = s();
    await sess.tab(title).click();
    const view = sess.webviewFrame();
    await view.locator('#run-title', { hasText: RUN_NAME }).waitFor({ timeout: 60_000 });
    return view;
  }

  /** Saves the workbench for the README, the editor group maximised when `maximise`, in a taller window. */
  async function screenshot(file: string, maximise = false): Promise<void> {
    if (!SCREENSHOTS) return;
    const sess = s();
    const size = sess.page.viewportSize();
    await sess.page.setViewportSize({ width: 1600, height: 1100 });
    if (maximise) await sess.runCommand('View: Toggle Maximize Editor Group');
    await sess.page.mouse.move(18, 760);
    await sess.page.waitForTimeout(1000);
    await sess.page.screenshot({ path: path.join(root, 'docs', 'images', file) });
    if (maximise) await sess.runCommand('View: Toggle Maximize Editor Group');
    if (size !== null) await sess.page.setViewportSize(size);
    // The workbench lays itself out again before it takes the next command.
    await sess.page.waitForTimeout(1000);
  }

  it('the Runs tree groups the 67 layers by module: layer1 … layer4 collapse, a block’s output is its group’s row', async () => {
    const sess = s();
    await sess.openViewContainer('CNNSlicer');
    await sess.treeRow('Runs', RUN_NAME).locator('.label-description', { hasText: '2 epochs · 67 layers' }).waitFor({ timeout: 60_000 });
    const run = sess.treeRow('Runs', RUN_NAME);
    if ((await run.getAttribute('aria-expanded')) === 'false') await run.locator('.monaco-tl-twistie').click();
    await sess.expandTreeRow(sess.treeRow('Runs', 'Layers'));
    const top = await until(
      'the top-level layer rows',
      () => sess.treeLabels('Runs'),
      (labels) => ['layer1', 'layer2', 'layer3', 'layer4', 'avgpool', 'fc'].every((l) => labels.includes(l)),
      120_000,
    );
    assert.ok(!top.includes('layer4.1.conv2'), 'blocks start collapsed');
    await sess.expandTreeRow(sess.treeRow('Runs', 'layer4'));
    await until(
      'layer4’s blocks',
      () => sess.treeLabels('Runs'),
      (labels) => labels.includes('0') && labels.includes('1'),
      120_000,
    );
  });

  it('the layer view fits a 512 × 512 capacity matrix, numbers its axes, and zooms into it', async () => {
    const sess = s();
    await sess.openFile('README.md');
    await sess.runCommand('CNNSlicer: Open Layer View');
    await sess.pickQuickInput(RUN_NAME);
    // 69 choices: typed, as a user finds one in a long list.
    for (const layer of ['layer4.1.conv1', 'layer4.1.conv2']) await typeAndPick(layer);
    const view = await viewIn(`Layers: ${RUN_NAME}`);
    const canvas = view.locator('#heatmap-0');
    await view.locator('#heatmap-caption-0', { hasText: 'Epoch 1: 512 × 512 channels' }).waitFor({ timeout: 240_000 });
    const model = await canvas.evaluate(() => window.cnnslicerLayerView!());
    const g = model.heatmaps[0].geometry!;
    assert.deepEqual([model.heatmaps[0].cols, model.heatmaps[0].rows], [512, 512]);
    assert.equal(g.zoom, 1);
    assert.ok(g.cell < 2, `the whole matrix fits: ${g.cell}-px cells`);
    assert.ok(g.columnLabelStep > 1 && g.columnLabelStep * g.cell >= 20, 'channel numbers on the axes, not overlapping');
    const box = await canvas.boundingBox();
    assert.ok(box !== null && box.height < 900, `the heatmap is ${box?.height} px tall: on one screen`);
    await choose(view, 'sort-rows', 'by similarity');
    await until(
      'the rows ordered by similarity',
      () => canvas.evaluate(() => window.cnnslicerLayerView!().heatmaps[0].rowOrder.slice(0, 5).join()),
      (order) => order !== '0,1,2,3,4',
      60_000,
    );
    await canvas.focus();
    for (let i = 0; i < 6; i++) await sess.page.keyboard.press('+');
    const zoomed = await canvas.evaluate(() => window.cnnslicerLayerView!().heatmaps[0].geometry!);
    assert.ok(zoomed.zoom > 5, `zoom ${zoomed.zoom}`);
    await view.locator('#heatmap-0-minimap').waitFor({ state: 'visible' });
    await sess.page.keyboard.press('0');
    if (SCREENSHOTS) {
      // For the README: both axes by similarity, zoomed in a little, with the minimap.
      await choose(view, 'sort-columns', 'by similarity');
      await canvas.focus();
      for (let i = 0; i < 2; i++) await sess.page.keyboard.press('+');
      await screenshot('resnet-layer-view.png', true);
    }
  });

  it('the channel view shows layer2.0’s 128 channels as top circles per class and projects one through the residual block', async () => {
    const sess = s();
    await sess.runCommand('CNNSlicer: Open Channel View');
    await sess.pickQuickInput(RUN_NAME);
    await typeAndPick('layer2.0');
    const view = await viewIn(`Channels: ${RUN_NAME}`);
    const packing = view.locator('#packing');
    await view.locator('#packing-title', { hasText: 'at epoch 1' }).waitFor({ timeout: 240_000 });
    const model = await until(
      'the circle packing',
      () => packing.evaluate(() => window.cnnslicerChannelView!()),
      (m) => m.circles.length > 0 && !m.animating,
      120_000,
    );
    assert.equal(model.layer, 'layer2.0');
    assert.equal(model.lines?.channels, 128);
    // 10 digits and all samples, each with its top 12 channels and one circle for the other 116.
    assert.equal(model.groups.length, 11);
    for (const g of model.groups) assert.ok(model.circles.filter((c) => c.group === g.group).length <= 13);
    const target = model.circles.filter((c) => c.group === 'all' && c.kind === 'channel').reduce((a, b) => (b.value > a.value ? b : a));
    await packing.click({ position: { x: target.sx, y: target.sy } });
    await view.locator('#deconv-title', { hasText: `layer2.0 channel ${target.channel}` }).waitFor({ timeout: 60_000 });
    const projections = view.locator('#deconv-images canvas.projection-image');
    await projections.nth(7).waitFor({ timeout: 120_000 });
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
      assert.equal(st.size, '32×32', 'projected back to the 1×32×32 input');
      assert.ok(st.levels > 10, `a projection with ${st.levels} grey levels`);
    }
    assert.equal(await view.locator('#deconv-message').textContent(), '');
    await screenshot('resnet-channel-view.png', true);
  });

  /** Types a layer's name into the layer pick once it is the one shown (the run's pick closes first), and picks it. */
  async function typeAndPick(layer: string): Promise<void> {
    const sess = s();
    await until(
      'the layer pick',
      () => sess.quickInputLabels(),
      (labels) => labels.some((l) => l.startsWith('layer') || l === 'conv1' || l === 'input'),
      30_000,
    );
    await sess.quickInputBox().fill(layer);
    await sess.pickQuickInput(layer);
  }

  async function choose(view: FrameLocator, selectId: string, optionText: string): Promise<void> {
    await view.locator(`#${selectId}`).click();
    await view.locator(`#${selectId} li[role="option"]`, { hasText: optionText }).first().click();
  }
});

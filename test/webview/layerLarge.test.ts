// The layer view at the size of real networks, in a real browser: a synthetic 140-layer run and a
// 512 × 1,280 channel-capacity matrix (li 512 channels, lj 1,280, as in MobileNetV2's last block),
// with planted blocks of similar channels and one strong pair. Checked by what a user sees and does:
// the heatmap fits the panel without a canvas past Chromium's limits, channel numbers on both axes
// never overlap, the strong pair is on screen although cells are a third of a pixel, Ctrl+wheel
// zooms about the pointer, dragging pans, the minimap and Fit work, the keyboard moves a cell
// cursor and selects, "by similarity" puts each planted block together, and a layer picked
// elsewhere does not replace a computed heatmap without asking.
import * as assert from 'node:assert/strict';
import type { LayerSelection, PanelRun } from '../../src/shared/webviewProtocol';
import type { LayerViewModel } from '../../webview/layer/viewModel';
import { BLOCKS, capacitySeries, colBlock, COLS, HOT, LI, LJ, matrix, rowBlock, ROWS, syntheticRun } from '../support/largeLayerFixture';
import { ensureViewBuilt, launchChromium, requireChromium, ViewPage, ViewServer } from './harness';

type Heatmap = LayerViewModel['heatmaps'][number];

describe('layer view at 512 × 1,280 channels (headless Chromium)', function () {
  this.timeout(120_000);
  const info = syntheticRun();
  const runs: PanelRun[] = [{ dir: info.dir, state: 'loaded', info }];
  const result = matrix();
  let server: ViewServer | undefined;
  let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;
  let view: ViewPage<LayerSelection> | undefined;

  before(async function () {
    requireChromium(this);
    ensureViewBuilt('layer');
    server = await ViewServer.start();
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  beforeEach(async () => {
    view = await ViewPage.open<LayerSelection>(browser!, server!, 'layer', {
      viewport: { width: 1200, height: 900 },
      onRequest: (method) => {
        if (method === 'channelCapacity') return capacitySeries(result);
        if (method === 'slice') throw new Error('no feature maps in this synthetic run');
        throw new Error(`the test answers no ${method}`);
      },
    });
    await view.waitForReady();
    await view.push({ kind: 'runs', runs });
    await view.push({ kind: 'selection', selection: { run: info.dir, layer: LI, otherLayers: [LJ] } });
    await view.page.waitForFunction(() => window.cnnslicerLayerView?.().heatmaps[0]?.geometry !== undefined);
  });

  afterEach(async () => {
    await view?.page.context().close();
  });

  async function heatmap(): Promise<Heatmap> {
    return view!.page.evaluate(() => window.cnnslicerLayerView!().heatmaps[0]);
  }

  async function canvasBox(): Promise<{ x: number; y: number; width: number; height: number }> {
    const box = await view!.page.locator('#heatmap-0').boundingBox();
    assert.ok(box);
    return box;
  }

  it('fits the whole matrix in the panel, numbers both axes without overlap, and never loses the strongest pair', async () => {
    const h = await heatmap();
    const g = h.geometry!;
    assert.equal(g.zoom, 1);
    assert.deepEqual(
      [g.visibleColumns, g.visibleRows],
      [
        [0, COLS],
        [0, ROWS],
      ],
    );
    assert.ok(g.cell < 1, `cells are ${g.cell} px: smaller than a pixel at this size`);
    const sizes = await view!.page.evaluate(() => {
      const c = document.getElementById('heatmap-0') as HTMLCanvasElement;
      const r = c.getBoundingClientRect();
      return { width: c.width, height: c.height, cssW: r.width, cssH: r.height, innerW: window.innerWidth, innerH: window.innerHeight };
    });
    assert.ok(sizes.width <= 8192 && sizes.height <= 8192, `backing store ${sizes.width} × ${sizes.height}`);
    assert.ok(sizes.cssW <= sizes.innerW && sizes.cssH <= sizes.innerH * 0.75, `the heatmap (${sizes.cssW} × ${sizes.cssH}) fits the panel`);
    // Labels 1-2-5 apart, and far enough apart for their text (3-digit numbers at 10 px: < 24 px wide, 13 px tall).
    assert.ok(g.columnLabelStep * g.cell >= 24 && g.rowLabelStep * g.cell >= 13);
    assert.ok(g.columnLabelStep <= 100 && g.rowLabelStep <= 100, 'yet numbered densely enough to read positions off');
    // The strong pair (3 bits, all else ≤ 0.75) is drawn as the darkest pixel (light theme) near its place.
    const hotPixel = await view!.page.evaluate(
      ({ g, hot }) => {
        const c = document.getElementById('heatmap-0') as HTMLCanvasElement;
        const ctx = c.getContext('2d')!;
        const scale = c.width / c.getBoundingClientRect().width;
        const d = ctx.getImageData(
          Math.round(g.plot.left * scale),
          Math.round(g.plot.top * scale),
          Math.round(g.plot.width * scale),
          Math.round(g.plot.height * scale),
        );
        let darkest = 1e9;
        let at = [0, 0];
        for (let i = 0; i < d.width * d.height; i++) {
          const sum = d.data[4 * i] + d.data[4 * i + 1] + d.data[4 * i + 2];
          if (sum < darkest) {
            darkest = sum;
            at = [(i % d.width) / scale, Math.floor(i / d.width) / scale];
          }
        }
        return { at, expected: [hot.column * g.cell, hot.row * g.cell] };
      },
      { g, hot: HOT },
    );
    assert.ok(Math.abs(hotPixel.at[0] - hotPixel.expected[0]) <= 1.5 && Math.abs(hotPixel.at[1] - hotPixel.expected[1]) <= 1.5, JSON.stringify(hotPixel));
    await view!.assertRanCleanly();
  });

  it('zooms about the pointer with Ctrl+wheel, pans by dragging, shows a minimap, and fits again with 0', async () => {
    const box = await canvasBox();
    const g0 = (await heatmap()).geometry!;
    // Whole pixels: the browser reports the pointer at integer positions.
    const px = Math.round(box.x + g0.plot.left + g0.plot.width * 0.4);
    const py = Math.round(box.y + g0.plot.top + g0.plot.height * 0.6);
    const cellUnder = (g: NonNullable<Heatmap['geometry']>): [number, number] => [(px - box.x - g.x0) / g.cell, (py - box.y - g.y0) / g.cell];
    const before = cellUnder(g0);
    await view!.page.mouse.move(px, py);
    await view!.page.keyboard.down('Control');
    for (let i = 0; i < 4; i++) await view!.page.mouse.wheel(0, -300);
    await view!.page.keyboard.up('Control');
    const g1 = (await heatmap()).geometry!;
    assert.ok(g1.zoom > 4, `zoom ${g1.zoom}`);
    const after = cellUnder(g1);
    assert.ok(Math.abs(after[0] - before[0]) < 0.5 && Math.abs(after[1] - before[1]) < 0.5, `the cell under the pointer stays: ${before} → ${after}`);
    assert.ok(g1.visibleColumns[1] - g1.visibleColumns[0] < COLS / 4);
    assert.ok(await view!.page.locator('#heatmap-0-minimap').isVisible(), 'a minimap while zoomed in');
    assert.match((await view!.page.locator('#heatmap-0-zoom').textContent()) ?? '', /×\d/);

    // A drag to the left shows channels further right.
    await view!.page.mouse.move(px, py);
    await view!.page.mouse.down();
    await view!.page.mouse.move(px - 60, py, { steps: 4 });
    await view!.page.mouse.up();
    const g2 = (await heatmap()).geometry!;
    assert.ok(g2.x0 < g1.x0 - 50, `panned: x0 ${g1.x0} → ${g2.x0}`);
    assert.equal((await heatmap()).selected, undefined, 'a drag does not select a cell');

    // The minimap: a click moves the view there.
    const mini = await view!.page.locator('#heatmap-0-minimap').boundingBox();
    assert.ok(mini);
    await view!.page.mouse.click(mini.x + 2, mini.y + 2);
    const g3 = (await heatmap()).geometry!;
    assert.deepEqual([g3.visibleColumns[0], g3.visibleRows[0]], [0, 0], 'the top-left corner');

    await view!.page.locator('#heatmap-0').focus();
    await view!.page.keyboard.press('0');
    const g4 = (await heatmap()).geometry!;
    assert.equal(g4.zoom, 1);
    assert.ok(!(await view!.page.locator('#heatmap-0-minimap').isVisible()), 'no minimap at fit');
    // Zoomed in, the numbers are every channel's.
    await view!.page.keyboard.press('+');
    for (let i = 0; i < 12; i++) await view!.page.keyboard.press('+');
    const g5 = (await heatmap()).geometry!;
    assert.equal(g5.cell, 48);
    assert.equal(g5.rowLabelStep, 1);
    assert.equal(g5.columnLabelStep, 1);
    await view!.assertRanCleanly();
  });

  it('moves a cell cursor with the arrow keys, names its channels, and selects it with Enter', async () => {
    await view!.page.locator('#heatmap-0').focus();
    for (let i = 0; i < 3; i++) await view!.page.keyboard.press('ArrowRight');
    await view!.page.keyboard.press('Control+ArrowDown');
    let h = await heatmap();
    assert.deepEqual(h.cursor, { columnPosition: 3, rowPosition: 10 });
    const tip = (await view!.page.locator('#view-tooltip').textContent()) ?? '';
    assert.match(tip, new RegExp(`${LI} channel 3 \\(column\\) × ${LJ} channel 10 \\(row\\)`));
    await view!.page.keyboard.press('Enter');
    await view!.page.waitForFunction(() => window.cnnslicerLayerView!().heatmaps[0].selected !== undefined);
    h = await heatmap();
    assert.deepEqual(h.selected, { column: 3, row: 10 });
    const published = view!.posted.filter((m) => m.type === 'select');
    assert.equal(published.at(-1)?.type === 'select' ? published.at(-1)?.selection.channel : undefined, 3);
  });

  it('orders rows and columns by similarity so each planted block is contiguous', async () => {
    const choose = async (id: string, text: string): Promise<void> => {
      await view!.page.locator(`#${id}`).click();
      await view!.page.locator(`#${id} li[role="option"]`, { hasText: text }).first().click();
    };
    await choose('sort-rows', 'by similarity');
    await choose('sort-columns', 'by similarity');
    await view!.page.waitForFunction(
      ({ rows, cols }) => {
        const h = window.cnnslicerLayerView!().heatmaps[0];
        return h.rowOrder.some((r, i) => r !== i) && h.columns.some((c, i) => c !== i) && h.rowOrder.length === rows && h.columns.length === cols;
      },
      { rows: ROWS, cols: COLS },
      { timeout: 30_000 },
    );
    const h = await heatmap();
    let rowChanges = 0;
    for (let p = 1; p < ROWS; p++) if (rowBlock[h.rowOrder[p]] !== rowBlock[h.rowOrder[p - 1]]) rowChanges++;
    let colChanges = 0;
    for (let p = 1; p < COLS; p++) if (colBlock[h.columns[p]] !== colBlock[h.columns[p - 1]]) colChanges++;
    assert.equal(rowChanges, BLOCKS - 1, 'rows: each block in one run');
    assert.equal(colChanges, BLOCKS - 1, 'columns: each block in one run');
    // Channel order had no structure: nearly every neighbour pair crossed blocks.
    assert.deepEqual(await view!.page.evaluate(() => document.getElementById('heatmap-message-0')?.textContent ?? ''), '', 'the "Ordering…" message is gone');
  });

  it('shows progress with Cancel while a matrix computes, keeps the previous heatmap dimmed, and computes again on request', async () => {
    let release: () => void = () => undefined;
    view!.answerWith(async (method, params) => {
      if (method !== 'channelCapacity') throw new Error(`the test answers no ${method}`);
      await new Promise<void>((resolve) => (release = resolve));
      return capacitySeries({ ...result, epoch: params.epoch as number });
    });
    // Epoch 0 is not computed yet: the slider asks for it.
    await view!.page.evaluate(() => {
      const slider = document.getElementById('epoch-slider') as HTMLInputElement;
      slider.value = '0';
      slider.dispatchEvent(new Event('input'));
    });
    await view!.waitForRequest('channelCapacity', view!.requests('channelCapacity').length + 1);
    await view!.page.locator('#heatmap-message-0-cancel').waitFor({ state: 'visible' });
    assert.match((await view!.page.locator('#heatmap-message-0').textContent()) ?? '', /Epoch 0: computing….*last one computed, dimmed/);
    assert.equal(await view!.page.locator('.heatmap.stale #heatmap-0').isVisible(), true, 'the epoch-1 heatmap stays, dimmed');
    assert.equal((await heatmap()).epoch, 1);
    await view!.page.locator('#heatmap-message-0-cancel').click();
    await view!.page.locator('#heatmap-message-0-retry').waitFor({ state: 'visible' });
    assert.match((await view!.page.locator('#heatmap-message-0').textContent()) ?? '', /Epoch 0: cancelled/);
    assert.ok(
      view!.posted.some((m) => m.type === 'cancel'),
      'the view told the host to cancel',
    );
    const asked = view!.requests('channelCapacity').length;
    await view!.page.waitForTimeout(400);
    assert.equal(view!.requests('channelCapacity').length, asked, 'a cancelled matrix is not asked for again by itself');
    assert.equal((await heatmap()).epoch, 1, 'the previous heatmap is still shown');
    await view!.page.locator('#heatmap-message-0-retry').click();
    await view!.waitForRequest('channelCapacity', asked + 1);
    release();
    await view!.page.waitForFunction(() => window.cnnslicerLayerView!().heatmaps[0].epoch === 0 && !document.querySelector('.heatmap.stale'));
    assert.equal((await view!.page.locator('#heatmap-message-0').textContent()) ?? '', '');
    await view!.assertRanCleanly();
  });

  it('asks before a layer picked elsewhere replaces the computed heatmap', async () => {
    const other = 'features.3.conv.1';
    await view!.push({ kind: 'linked', selection: { run: info.dir, layer: other } });
    await view!.page.locator('#pending-layer').waitFor({ state: 'visible' });
    assert.match((await view!.page.locator('#pending-layer').textContent()) ?? '', new RegExp(`${other.replace(/\./g, '\\.')} was selected elsewhere`));
    assert.equal(await view!.page.evaluate(() => window.cnnslicerLayerView!().layer), LI, 'li unchanged until the user says');
    await view!.page.locator('#pending-keep').click();
    assert.ok(!(await view!.page.locator('#pending-layer').isVisible()));
    assert.equal(await view!.page.evaluate(() => window.cnnslicerLayerView!().layer), LI);
    await view!.push({ kind: 'linked', selection: { run: info.dir, layer: other } });
    await view!.page.locator('#pending-show').click();
    await view!.page.waitForFunction((l) => window.cnnslicerLayerView!().layer === l, other);
    assert.ok(!(await view!.page.locator('#pending-layer').isVisible()));
  });
});

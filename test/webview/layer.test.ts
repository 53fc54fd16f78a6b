// The layer view (paper §5.3, Fig. 8–12) in a real browser: the built bundle under the host's CSP,
// its requests answered by the engine's own handlers on fixture runs, checked by what a user sees:
// the pixels of the heatmap's cells, the order of its columns and rows, the tooltip, the feature
// maps of a clicked cell, several lj on one colour scale, the epoch slider, the linked selection.
import * as assert from 'node:assert/strict';
import type { ChannelCapacityResult, MeasureSeries } from '../../src/shared/measures';
import { parseLayerSelection, parseLinkedSelection, parseWebviewMessage } from '../../src/shared/messageValidation';
import type { RunInfo } from '../../src/shared/runFormat';
import type { LayerSelection } from '../../src/shared/webviewProtocol';
// For its declaration of window.cnnslicerLayerView, which the page evaluations below read.
import type { LayerViewModel } from '../../webview/layer/viewModel';
import { HostError, requireChromium, type RequestHandler, type ViewPage } from './harness';
import { FixtureViewSuite, HOSTILE_NAME, type FixtureRuns, type OpenRunViewOptions } from './layerChannelFixture';

interface Rgb {
  r: number;
  g: number;
  b: number;
}

function luminance(c: Rgb): number {
  const ch = (v: number): number => {
    const s = v / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * ch(c.r) + 0.7152 * ch(c.g) + 0.0722 * ch(c.b);
}

type Heatmap = LayerViewModel['heatmaps'][number];

describe('layer view (headless Chromium)', function () {
  this.timeout(90_000);
  let suite: FixtureViewSuite<LayerSelection> | undefined;
  let runs: FixtureRuns;

  before(async function () {
    requireChromium(this);
    suite = await FixtureViewSuite.start<LayerSelection>('layer', 'cnnslicer-layer-view-');
    runs = suite.runs;
  });

  after(async () => {
    await suite?.stop();
  });

  afterEach(async function () {
    await suite?.views.closeViews(this.currentTest?.state === 'passed');
  });

  async function openLayer(run: RunInfo, selection: LayerSelection | undefined, options: OpenRunViewOptions = {}): Promise<ViewPage<LayerSelection>> {
    assert.ok(suite);
    return suite.open(run, selection, options);
  }

  async function model(view: ViewPage<LayerSelection>): Promise<LayerViewModel> {
    return view.page.evaluate(() => window.cnnslicerLayerView!());
  }

  /** Waits until every heatmap shows a matrix of `epoch` (and `count` heatmaps are shown). */
  async function heatmapsAt(view: ViewPage<LayerSelection>, epoch: number, count = 1): Promise<LayerViewModel> {
    await view.page.waitForFunction(
      ({ e, n }) => {
        const m = window.cnnslicerLayerView?.();
        return (
          m !== undefined &&
          m.heatmaps.length === n &&
          m.heatmaps.every((h) => h.epoch === e && h.geometry !== undefined) &&
          !document.querySelector('.heatmap.stale')
        );
      },
      { e: epoch, n: count },
    );
    return model(view);
  }

  /** The engine's answer for a pair at an epoch, as the view received it. */
  function answered(run: RunInfo, layerI: string, layerJ: string, epoch: number): ChannelCapacityResult {
    for (const a of runs.engine.answersOf('channelCapacity')) {
      if (a.params.run !== run.dir || a.params.layerI !== layerI || a.params.layerJ !== layerJ || a.result === undefined) continue;
      const item = (a.result as MeasureSeries<ChannelCapacityResult>).items.find((i) => i.epoch === epoch);
      if (item !== undefined) return item;
    }
    assert.fail(`the engine was never asked for ${layerI} × ${layerJ} at epoch ${epoch}`);
  }

  /** Pixel colours at the centre of every cell, [row position][column position]. */
  async function cellPixels(view: ViewPage<LayerSelection>, heatmap: Heatmap): Promise<Rgb[][]> {
    return view.page.evaluate(
      ({ id, g }) => {
        const canvas = document.getElementById(id) as HTMLCanvasElement;
        const ctx = canvas.getContext('2d')!;
        const scale = canvas.width / canvas.getBoundingClientRect().width;
        const out: { r: number; g: number; b: number }[][] = [];
        for (let r = 0; r < g.rows; r++) {
          const row: { r: number; g: number; b: number }[] = [];
          for (let c = 0; c < g.cols; c++) {
            const d = ctx.getImageData(Math.floor((g.x0 + (c + 0.5) * g.cell) * scale), Math.floor((g.y0 + (r + 0.5) * g.cell) * scale), 1, 1).data;
            row.push({ r: d[0], g: d[1], b: d[2] });
          }
          out.push(row);
        }
        return out;
      },
      { id: heatmap.canvasId, g: heatmap.geometry! },
    );
  }

  /** Picks an option of a vscode-single-select as a user does: open the list, click the option. */
  async function choose(view: ViewPage<LayerSelection>, selectId: string, optionText: string): Promise<void> {
    await view.page.locator(`#${selectId}`).click();
    await view.page.locator(`#${selectId} li[role="option"]`, { hasText: optionText }).first().click();
  }

  /** Values at each display position: value[rowPosition][columnPosition]. */
  function displayed(h: Heatmap): number[][] {
    return h.rowOrder.map((row) => h.columns.map((col) => h.capacity[row][col]));
  }

  function assertBrighterWhereSmaller(values: number[][], pixels: Rgb[][], theme: string): void {
    const cells = values.flatMap((row, r) => row.map((v, c) => ({ v, lum: luminance(pixels[r][c]) })));
    const lo = Math.min(...cells.map((c) => c.v));
    const hi = Math.max(...cells.map((c) => c.v));
    const sorted = [...cells].sort((a, b) => a.v - b.v);
    let compared = 0;
    for (let i = 0; i < sorted.length; i++) {
      for (let j = i + 1; j < sorted.length; j++) {
        // 8-bit colour cannot tell apart values closer than about 1/255 of the range.
        if (sorted[j].v - sorted[i].v < 0.02 * (hi - lo)) continue;
        compared++;
        assert.ok(
          sorted[i].lum > sorted[j].lum,
          `${theme}: capacity ${sorted[i].v} (luminance ${sorted[i].lum}) should be brighter than ${sorted[j].v} (${sorted[j].lum})`,
        );
      }
    }
    assert.ok(compared > 100, `only ${compared} pairs of cells were far enough apart to compare`);
  }

  it('draws the engine’s matrix between li (columns) and lj (rows), a cell brighter the smaller its capacity, in light and dark themes', async () => {
    const view = await openLayer(runs.wide, { run: runs.wide.dir, layer: 'a', otherLayers: ['b'] }, { theme: 'light' });
    const m = await heatmapsAt(view, 2);
    const heatmap = m.heatmaps[0];
    const result = answered(runs.wide, 'a', 'b', 2);
    assert.equal(heatmap.cols, 12, 'a column per channel of li');
    assert.equal(heatmap.rows, 10, 'a row per channel of lj');
    for (let b = 0; b < result.rows; b++) for (let a = 0; a < result.cols; a++) assert.equal(heatmap.capacity[b][a], result.capacity[b * result.cols + a]);
    // Channel order until asked to sort.
    assert.deepEqual(heatmap.columns, [...Array(12).keys()]);
    assert.deepEqual(heatmap.rowOrder, [...Array(10).keys()]);
    const values = displayed(heatmap);
    assertBrighterWhereSmaller(values, await cellPixels(view, heatmap), 'light');
    // The smallest capacity is the editor background itself in a light theme: the paper's white.
    const flat = values.flat();
    const at = flat.indexOf(Math.min(...flat));
    const pixels = await cellPixels(view, heatmap);
    assert.deepEqual(pixels[Math.floor(at / 12)][at % 12], { r: 255, g: 255, b: 255 });

    await view.setTheme('dark');
    await view.page.waitForFunction(() => document.querySelector('#legend-note')?.textContent?.includes('dark theme') === true);
    const dark = (await model(view)).heatmaps[0];
    assertBrighterWhereSmaller(displayed(dark), await cellPixels(view, dark), 'dark');
    const darkPixels = await cellPixels(view, dark);
    const top = flat.indexOf(Math.max(...flat));
    // In a dark theme the largest capacity sinks into the background (#1f1f1f).
    assert.deepEqual(darkPixels[Math.floor(top / 12)][top % 12], { r: 31, g: 31, b: 31 });
    // The legend states the scale's ends in bits.
    await view.page.locator('#legend-min', { hasText: Math.min(...flat).toPrecision(3) }).waitFor();
    await view.page.locator('#legend-max', { hasText: Math.max(...flat).toPrecision(3) }).waitFor();
    await view.page.locator('#legend', { hasText: 'smaller (brighter)' }).waitFor();
  });

  it('sorts the columns and rows by their max or mean, largest first, with the engine’s orders', async () => {
    const view = await openLayer(runs.wide, { run: runs.wide.dir, layer: 'a', otherLayers: ['b'] }, { theme: 'light' });
    await heatmapsAt(view, 2);
    const result = answered(runs.wide, 'a', 'b', 2);

    await choose(view, 'sort-columns', 'by max');
    await view.page.waitForFunction(() => window.cnnslicerLayerView?.().heatmaps[0].columns.join() !== [...Array(12).keys()].join());
    let h = (await model(view)).heatmaps[0];
    assert.deepEqual(h.columns, Array.from(result.order.colsByMax));
    const columnMax = h.columns.map((col) => Math.max(...h.capacity.map((row) => row[col])));
    for (let i = 1; i < columnMax.length; i++) assert.ok(columnMax[i] <= columnMax[i - 1], `column maxima ${columnMax.join(', ')} decrease left to right`);
    assert.ok(columnMax[0] > columnMax[columnMax.length - 1], 'the fixture’s columns have different maxima');
    // What the user sees: each column's darkest cell (its max, in a light theme) gets lighter left to right.
    const pixels = await cellPixels(view, h);
    const darkest = h.columns.map((_, c) => Math.min(...pixels.map((row) => luminance(row[c]))));
    assert.ok(darkest[0] < darkest[darkest.length - 1], 'the first column holds a darker cell than the last');
    for (let i = 1; i < darkest.length; i++)
      assert.ok(darkest[i] >= darkest[i - 1] - 0.01, `darkest cells by column: ${darkest.map((d) => d.toFixed(3)).join(', ')}`);

    await choose(view, 'sort-rows', 'by mean');
    await view.page.waitForFunction(() => window.cnnslicerLayerView?.().heatmaps[0].rowOrder.join() !== [...Array(10).keys()].join());
    h = (await model(view)).heatmaps[0];
    assert.deepEqual(h.rowOrder, Array.from(result.order.rowsByMean));
    assert.deepEqual(h.columns, Array.from(result.order.colsByMax), 'sorting the rows keeps the columns sorted');
    const rowMean = h.rowOrder.map((row) => h.capacity[row].reduce((a, b) => a + b, 0) / h.cols);
    for (let i = 1; i < rowMean.length; i++) assert.ok(rowMean[i] <= rowMean[i - 1] + 1e-6, `row means ${rowMean.join(', ')} decrease top to bottom`);
    assert.deepEqual((await view.savedState()) as unknown, {
      version: 1,
      runs: [runs.wide.dir],
      selection: { run: runs.wide.dir, layer: 'a', otherLayers: ['b'], sortColumns: 'max', sortRows: 'mean' },
    });

    await choose(view, 'sort-columns', 'channel order');
    await view.page.waitForFunction(() => window.cnnslicerLayerView?.().heatmaps[0].columns.join() === [...Array(12).keys()].join());
  });

  it('names both channels and the capacity of the cell under the pointer', async () => {
    const view = await openLayer(runs.wide, { run: runs.wide.dir, layer: 'a', otherLayers: ['b'], sortColumns: 'max' });
    const m = await heatmapsAt(view, 2);
    const h = m.heatmaps[0];
    const g = h.geometry!;
    const box = await view.page.locator(`#${h.canvasId}`).boundingBox();
    assert.ok(box);
    const [rowPos, colPos] = [3, 1];
    await view.page.mouse.move(box.x + g.x0 + (colPos + 0.5) * g.cell, box.y + g.y0 + (rowPos + 0.5) * g.cell);
    const column = h.columns[colPos];
    const row = h.rowOrder[rowPos];
    const value = answered(runs.wide, 'a', 'b', 2).capacity[row * 12 + column];
    const tooltip = view.page.locator('#view-tooltip');
    await tooltip.waitFor({ state: 'visible' });
    const text = (await tooltip.innerText()).split('\n');
    assert.equal(text[0], `a channel ${column} (column) × b channel ${row} (row)`);
    assert.equal(text[1], `capacity ${value.toPrecision(3)} bits at epoch 2`);
    assert.match(text[2], /^H\(A\) = [\d.]+ bits, H\(B\) = [\d.]+ bits$/);
    await view.page.mouse.move(box.x - 20, box.y - 20);
    await tooltip.waitFor({ state: 'hidden' });
  });

  it('a click on a cell shows the feature maps of its column and row filters for a few probe samples, and publishes the channel', async () => {
    const view = await openLayer(runs.wide, { run: runs.wide.dir, layer: 'a', otherLayers: ['b'] });
    const h = (await heatmapsAt(view, 2)).heatmaps[0];
    const g = h.geometry!;
    const box = await view.page.locator(`#${h.canvasId}`).boundingBox();
    assert.ok(box);
    await view.page.mouse.click(box.x + g.x0 + 4.5 * g.cell, box.y + g.y0 + 2.5 * g.cell);
    const slices = await view.waitForRequest('slice', 3);
    const samples = { kind: 'indices', indices: [0, 6, 12, 18, 24, 30] };
    assert.deepEqual(
      slices.map((s) => s.params),
      [
        { run: runs.wide.dir, samples, layer: 'input', channel: 'all', epoch: 0 },
        { run: runs.wide.dir, samples, layer: 'a', channel: 4, epoch: 2 },
        { run: runs.wide.dir, samples, layer: 'b', channel: 2, epoch: 2 },
      ],
    );
    await view.page.locator('#detail-title', { hasText: 'a channel 4 (column filter) and b channel 2 (row filter)' }).waitFor();
    await view.page.waitForFunction(() => document.querySelectorAll('#feature-maps canvas').length === 18);
    // Each map is the engine's slice, black at its minimum and white at its maximum.
    const maps = await view.page.$$eval('#feature-maps canvas[data-role="column"]', (canvases) =>
      (canvases as HTMLCanvasElement[]).map((c) => {
        const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        const greys: number[] = [];
        for (let i = 0; i < d.length; i += 4) greys.push(d[i]);
        return { w: c.width, h: c.height, greys };
      }),
    );
    const column = runs.engine.answersOf('slice').find((a) => a.params.layer === 'a')!.result as { data: Float32Array; shape: number[] };
    assert.deepEqual(column.shape, [6, 1, 6, 6]);
    for (let s = 0; s < 6; s++) {
      const values = Array.from(column.data.subarray(s * 36, (s + 1) * 36));
      const lo = Math.min(...values);
      const hi = Math.max(...values);
      assert.equal(maps[s].w, 6);
      assert.equal(maps[s].h, 6);
      for (let i = 0; i < 36; i++) assert.ok(Math.abs(maps[s].greys[i] - (255 * (values[i] - lo)) / (hi - lo)) <= 1, `sample ${s}, value ${i}`);
    }
    // The cell is outlined, and the column filter's channel goes to the other views.
    assert.deepEqual((await model(view)).heatmaps[0].selected, { column: 4, row: 2 });
    const published = view.posted.filter((m) => m.type === 'select');
    assert.deepEqual(published, [{ type: 'select', selection: { run: runs.wide.dir, layer: 'a', otherLayers: ['b'], channel: 4, epoch: 2 } }]);
  });

  it('steps through the epochs with the slider, asking the engine for each epoch once', async () => {
    const view = await openLayer(runs.wide, { run: runs.wide.dir, layer: 'a', otherLayers: ['b'] });
    await heatmapsAt(view, 2);
    for (const epoch of [0, 1, 2, 0]) {
      await view.page.locator('#epoch-slider').fill(String(epoch));
      const h = (await heatmapsAt(view, epoch)).heatmaps[0];
      const result = answered(runs.wide, 'a', 'b', epoch);
      assert.deepEqual(h.capacity.flat(), Array.from(result.capacity));
      await view.page.locator('#epoch-label', { hasText: epoch === 2 ? '2 (newest)' : new RegExp(`^${epoch}$`) }).waitFor();
    }
    const asked = view.requests('channelCapacity').map((r) => r.params.epoch);
    assert.deepEqual([...asked].sort(), [0, 1, 2], 'going back to an epoch already seen asks nothing');
  });

  it('compares li with several lj side by side on one colour scale, and scales over every epoch on request', async () => {
    const view = await openLayer(runs.wide, { run: runs.wide.dir, layer: 'a', otherLayers: ['b'] });
    await heatmapsAt(view, 2);
    await view.page.locator('#add-other').click();
    let m = await heatmapsAt(view, 2, 2);
    assert.deepEqual(
      m.heatmaps.map((h) => h.otherLayer),
      ['b', 'logits'],
    );
    const b = answered(runs.wide, 'a', 'b', 2);
    const logits = answered(runs.wide, 'a', 'logits', 2);
    const all = [...b.capacity, ...logits.capacity];
    assert.deepEqual(m.range, { lo: Math.min(...all), hi: Math.max(...all) }, 'one scale for both heatmaps');
    assert.equal(m.heatmaps[0].geometry!.cell, m.heatmaps[1].geometry!.cell, 'cells of the same size');
    assert.equal(m.heatmaps[1].rows, 3, 'the logits: one row per class');

    await choose(view, 'scale-select', 'all epochs');
    const seriesRequests = await view.waitForRequest('channelCapacity', 4);
    assert.deepEqual(
      seriesRequests.filter((r) => r.params.epoch === 'all').map((r) => r.params.layerJ),
      ['b', 'logits'],
    );
    await view.page.waitForFunction(() => window.cnnslicerLayerView?.().range?.lo === 0 && !document.querySelector('.heatmap-message:not(.empty)'));
    m = await model(view);
    const everyEpoch = [0, 1, 2].flatMap((e) => [...answered(runs.wide, 'a', 'b', e).capacity, ...answered(runs.wide, 'a', 'logits', e).capacity]);
    assert.deepEqual(m.range, { lo: 0, hi: Math.max(...everyEpoch) });
    await view.page.locator('#legend-note', { hasText: '0 to the largest capacity at any epoch' }).waitFor();

    await view.page.locator('#remove-other-1').click();
    await heatmapsAt(view, 2, 1);
    assert.deepEqual(((await view.savedState()) as { selection: LayerSelection }).selection.otherLayers, ['b']);
  });

  it('follows the linked selection: layers chosen elsewhere, and a channel outlined where its layer is shown', async () => {
    const view = await openLayer(runs.wide, { run: runs.wide.dir, layer: 'a', otherLayers: ['b'] });
    await heatmapsAt(view, 2);
    await view.push({ kind: 'linked', selection: { run: runs.wide.dir, layer: 'a', channel: 7 } });
    await view.page.waitForFunction(() => window.cnnslicerLayerView?.().heatmaps[0].linkedColumn === 7);
    await view.push({ kind: 'linked', selection: { run: runs.wide.dir, layer: 'b', channel: 3 } });
    await view.page.waitForFunction(() => window.cnnslicerLayerView?.().heatmaps[0].linkedRow === 3);
    assert.equal((await model(view)).layer, 'a', 'a channel of a layer on screen is outlined, not made li');
    // Another run's choice is not this view's business.
    await view.push({ kind: 'linked', selection: { run: '/elsewhere', layer: 'b', otherLayers: ['a'] } });
    await view.push({ kind: 'linked', selection: { run: runs.wide.dir, layer: 'b', otherLayers: ['a'], epoch: 1 } });
    const m = await heatmapsAt(view, 1);
    assert.equal(m.layer, 'b');
    assert.deepEqual(
      m.heatmaps.map((h) => h.otherLayer),
      ['a'],
    );
    assert.deepEqual(m.heatmaps[0].capacity.flat(), Array.from(answered(runs.wide, 'b', 'a', 1).capacity));
    assert.equal(view.posted.filter((p) => p.type === 'select').length, 0, 'following a selection publishes nothing back');
  });

  it('chooses li from the view itself and tells the other views', async () => {
    const view = await openLayer(runs.wide, { run: runs.wide.dir, layer: 'a', otherLayers: ['b'] });
    await heatmapsAt(view, 2);
    await choose(view, 'layer-select', 'b');
    const m = await heatmapsAt(view, 2);
    assert.equal(m.layer, 'b');
    assert.deepEqual(
      m.heatmaps.map((h) => h.otherLayer),
      ['logits'],
      'lj must differ from li: the next layer is taken',
    );
    assert.deepEqual(
      view.posted.filter((p) => p.type === 'select'),
      [{ type: 'select', selection: { run: runs.wide.dir, layer: 'b', otherLayers: ['logits'], epoch: 2 } }],
    );
  });

  it('shows run and class names containing markup as text, and says why when the engine fails', async () => {
    const failing: RequestHandler = (method, params) => {
      if (method === 'channelCapacity')
        throw new HostError({ code: 'corrupt', message: 'tensor "pool1" is truncated', file: '/runs/tiny/epochs/epoch-0003/activations.safetensors' });
      return runs.engine.requestHandler([runs.tiny])(method, params);
    };
    const view = await openLayer(runs.tiny, { run: runs.tiny.dir, layer: 'conv1', otherLayers: ['pool1'] }, { onRequest: failing });
    await view.page
      .locator('#heatmap-message-0', { hasText: 'Channel capacity failed: /runs/tiny/epochs/epoch-0003/activations.safetensors: tensor "pool1" is truncated' })
      .waitFor();
    assert.equal(await view.page.locator('#run-title').textContent(), `tiny ${HOSTILE_NAME}`);
    await view.page.locator('#samples-select').click();
    await view.page.locator('#samples-select li[role="option"]', { hasText: `class ${HOSTILE_NAME}` }).waitFor();
    assert.equal(await view.page.evaluate(() => document.querySelectorAll('img').length), 0, 'no <img> element was created from a name');
    assert.equal(await view.page.evaluate(() => (window as unknown as { __xss?: unknown }).__xss), undefined);
  });

  it('saves what it shows, and a reloaded view starts where the user left it', async () => {
    const first = await openLayer(runs.wide, { run: runs.wide.dir, layer: 'a', otherLayers: ['b'] });
    await heatmapsAt(first, 2);
    await choose(first, 'sort-columns', 'by mean');
    await first.page.locator('#epoch-slider').fill('1');
    await heatmapsAt(first, 1);
    const saved = await first.savedState();
    assert.deepEqual(saved, {
      version: 1,
      runs: [runs.wide.dir],
      selection: { run: runs.wide.dir, layer: 'a', otherLayers: ['b'], sortColumns: 'mean', epoch: 1 },
    });
    const reloaded = await openLayer(runs.wide, undefined, { savedState: saved });
    const h = (await heatmapsAt(reloaded, 1)).heatmaps[0];
    assert.deepEqual(h.columns, Array.from(answered(runs.wide, 'a', 'b', 1).order.colsByMean));
  });

  it('computes I_α between the inputs, every layer and the labels on request, as the engine answers', async () => {
    const view = await openLayer(runs.wide, { run: runs.wide.dir, layer: 'a', otherLayers: ['b'] });
    await heatmapsAt(view, 2);
    await view.page.locator('#information-message', { hasText: 'press Compute' }).waitFor();
    assert.equal(view.requests('informationMatrix').length, 0, 'nothing computed before the user asks');
    await view.page.locator('#information-compute').click();
    await view.page.locator('#information-table tbody tr').first().waitFor();
    const [answer] = runs.engine.answersOf('informationMatrix');
    const m = answer.result as { layers: string[]; information: Float64Array; epoch: number };
    assert.equal(m.epoch, 2);
    assert.deepEqual(m.layers, ['input', ...runs.wide.manifest.layers.map((l) => l.name), 'labels']);
    const cells = await view.page.$$eval('#information-table td', (tds) =>
      tds.map((td) => ({ row: td.getAttribute('data-row'), col: td.getAttribute('data-col'), title: td.getAttribute('title') })),
    );
    const k = m.layers.length;
    assert.equal(cells.length, k * k);
    for (const c of cells) {
      const i = m.layers.indexOf(c.row!);
      const j = m.layers.indexOf(c.col!);
      assert.match(c.title ?? '', new RegExp(`= ${String(m.information[i * k + j]).replace('.', '\\.')} bits$`));
      assert.equal(m.information[i * k + j], m.information[j * k + i]);
    }
    assert.equal(await view.page.locator('#information-message').textContent(), '');
    await view.assertRanCleanly();
  });

  it('posts only messages the host’s validation accepts', async () => {
    const view = await openLayer(runs.wide, { run: runs.wide.dir, layer: 'a', otherLayers: ['b'] });
    const h = (await heatmapsAt(view, 2)).heatmaps[0];
    const box = await view.page.locator(`#${h.canvasId}`).boundingBox();
    assert.ok(box);
    await view.page.mouse.click(box.x + h.geometry!.x0 + 1, box.y + h.geometry!.y0 + 1);
    await view.waitForRequest('slice', 3);
    await choose(view, 'samples-select', 'class dog');
    await view.waitForRequest('channelCapacity', 2);
    assert.deepEqual(view.requests('channelCapacity')[1].params.samples, { kind: 'class', classIndex: 1 });
    assert.ok(view.posted.length >= 6);
    // Nor from a selection it shares with the other views.
    view.assertPostedValid().forEach((parsed, i) => {
      const message = view.posted[i];
      if (parsed.type === 'select') assert.deepEqual(parsed.selection, message.type === 'select' ? message.selection : undefined);
    });
  });
});

describe('layer view selection and linked selection validation', () => {
  it('keeps the layer view’s fields, drops unknown ones and refuses wrong ones', () => {
    const good = {
      run: '/r',
      layer: 'conv1',
      otherLayers: ['conv2', 'pool2'],
      epoch: 3,
      samples: { kind: 'class', classIndex: 1 },
      sortColumns: 'max',
      sortRows: 'mean',
      scale: 'run',
      cell: { otherLayer: 'conv2', column: 1, row: 2, x: 1 },
      extra: true,
    };
    assert.deepEqual(parseLayerSelection(good), {
      ok: true,
      value: {
        run: '/r',
        layer: 'conv1',
        otherLayers: ['conv2', 'pool2'],
        epoch: 3,
        samples: { kind: 'class', classIndex: 1 },
        sortColumns: 'max',
        sortRows: 'mean',
        scale: 'run',
        cell: { otherLayer: 'conv2', column: 1, row: 2 },
      },
    });
    assert.deepEqual(parseLayerSelection({}), { ok: true, value: {} });
    const refused: [unknown, RegExp][] = [
      [[], /must be an object/],
      [{ otherLayers: ['a', 'b', 'c', 'd', 'e'] }, /at most 4 layer names/],
      [{ otherLayers: 'conv2' }, /at most 4 layer names/],
      [{ sortColumns: 'largest' }, /"sortColumns" must be "none", "max", "mean" or "similar"/],
      [{ scale: 'log' }, /"scale" must be "epoch" or "run"/],
      [{ epoch: -1 }, /"epoch" must be an integer ≥ 0/],
      [{ cell: { otherLayer: 'b', column: 0.5, row: 1 } }, /"cell.column" must be an integer/],
    ];
    for (const [value, reason] of refused) {
      const r = parseLayerSelection(value);
      assert.ok(!r.ok, `accepted ${JSON.stringify(value)}`);
      assert.match(r.reason, reason);
    }
  });

  it('accepts a view’s select message with a linked selection of a run, and nothing without a run', () => {
    assert.deepEqual(parseWebviewMessage({ type: 'select', selection: { run: '/r', layer: 'conv1', channel: 4, epoch: 2, junk: 1 } }), {
      ok: true,
      value: { type: 'select', selection: { run: '/r', layer: 'conv1', channel: 4, epoch: 2 } },
    });
    assert.ok(!parseLinkedSelection({ layer: 'conv1' }).ok, 'a selection names its run');
    assert.ok(!parseLinkedSelection({ run: '/r', channel: 'all' }).ok);
    const refused = parseWebviewMessage({ type: 'select', selection: { run: '/r', samples: { kind: 'some' } } });
    assert.ok(!refused.ok && /a select message: "samples.kind"/.test(refused.reason));
  });
});

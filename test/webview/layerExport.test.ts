// Exporting the layer view (issue 17) in a real browser: the built bundle under the host's CSP,
// its heatmaps computed by the engine's own handlers on the fixture runs, then asked for each
// export format as the host asks (an `exportRequest` message). Checked: the SVG parses and carries
// the title, axis titles, channel numbers and the legend in bits; the PNG is the SVG's size at
// twice the screen's pixel density and shows the theme's (or the print palette's) background; the
// CSV and JSON hold the values the view shows, in its order, under a header naming the run, the
// layers, the epoch, the samples and the estimator parameters; "light background for print"
// changes the colours of the file and nothing on screen.
import * as assert from 'node:assert/strict';
import type { ExportContent, ExportFormat } from '../../src/shared/exportProtocol';
import { EXPORT_JSON_FORMAT } from '../../src/shared/exportTable';
import { PRINT_PALETTE } from '../../src/shared/printPalette';
import type { LayerSelection } from '../../src/shared/webviewProtocol';
import type { LayerViewModel } from '../../webview/layer/viewModel';
import { parseExportCsv, pngSize } from '../support/exportFiles';
import { HostError, requireChromium, type RequestHandler, type ViewPage } from './harness';
import { FixtureViewSuite, HOSTILE_NAME, type FixtureRuns } from './layerChannelFixture';

type Ok = Extract<ExportContent, { ok: true }>;

/** What the page's DOMParser makes of an SVG file. */
interface SvgReading {
  readonly parseError: string | undefined;
  readonly rootName: string;
  readonly width: number;
  readonly height: number;
  readonly title: string;
  readonly texts: string[];
  readonly images: string[];
  readonly backgroundFill: string | null;
  readonly titleFill: string | null;
}

describe('layer view export (headless Chromium)', function () {
  this.timeout(90_000);
  let suite: FixtureViewSuite<LayerSelection> | undefined;
  let runs: FixtureRuns;

  before(async function () {
    requireChromium(this);
    suite = await FixtureViewSuite.start<LayerSelection>('layer', 'cnnslicer-layer-export-');
    runs = suite.runs;
  });

  after(async () => {
    await suite?.stop();
  });

  afterEach(async function () {
    await suite?.views.closeViews(this.currentTest?.state === 'passed', async (view) => {
      // What the view posted, its export answers included, is what the host's parsers accept.
      view.assertPostedValid();
    });
  });

  /** The wide run's heatmap of a × b at the newest epoch (2), once drawn. */
  async function openWide(
    theme: 'light' | 'dark',
    selection: Partial<LayerSelection> = {},
  ): Promise<{ view: ViewPage<LayerSelection>; model: LayerViewModel }> {
    assert.ok(suite);
    const view = await suite.open(runs.wide, { run: runs.wide.dir, layer: 'a', otherLayers: ['b'], ...selection }, { theme });
    await view.page.waitForFunction(() => {
      const m = window.cnnslicerLayerView?.();
      return (
        m !== undefined &&
        m.heatmaps.length > 0 &&
        m.heatmaps.every((h) => h.epoch === 2 && h.geometry !== undefined) &&
        !document.querySelector('.heatmap.stale')
      );
    });
    return { view, model: await view.page.evaluate(() => window.cnnslicerLayerView!()) };
  }

  async function exported(view: ViewPage<LayerSelection>, format: ExportFormat, light = false): Promise<Ok> {
    const answer = await view.requestExport(format, light);
    assert.ok(answer.ok, `the ${format} export failed: ${answer.ok ? '' : answer.message}`);
    assert.equal(answer.format, format);
    assert.equal(answer.encoding, format === 'png' ? 'base64' : 'utf8');
    return answer;
  }

  async function readSvg(view: ViewPage<LayerSelection>, text: string): Promise<SvgReading> {
    return view.page.evaluate((svgText) => {
      const doc = new DOMParser().parseFromString(svgText, 'image/svg+xml');
      const root = doc.documentElement;
      return {
        parseError: doc.querySelector('parsererror')?.textContent ?? undefined,
        rootName: `${root.namespaceURI} ${root.localName}`,
        width: Number(root.getAttribute('width')),
        height: Number(root.getAttribute('height')),
        title: root.querySelector('title')?.textContent ?? '',
        texts: Array.from(root.querySelectorAll('text')).map((t) => t.textContent ?? ''),
        images: Array.from(root.querySelectorAll('image')).map((i) => i.getAttribute('href') ?? ''),
        backgroundFill: root.querySelector('.figure-background')?.getAttribute('fill') ?? null,
        titleFill: root.getAttribute('fill'),
      };
    }, text);
  }

  it('exports the heatmap as an SVG that parses and holds the title, axis titles, channel numbers and legend in bits', async () => {
    const { view, model } = await openWide('light');
    const svg = await exported(view, 'svg');
    assert.equal(svg.fileName, 'wide-a-b-epoch2.svg');
    const r = await readSvg(view, svg.content);
    assert.equal(r.parseError, undefined, 'the SVG parses as XML');
    assert.equal(r.rootName, 'http://www.w3.org/2000/svg svg');
    assert.ok(r.width > 0 && r.height > 0, 'the figure has a size');
    assert.match(r.title, /Channel capacity between layers: wide/);
    assert.ok(r.texts.includes('Channel capacity between layers: wide'), 'the title is drawn');
    assert.ok(
      r.texts.some((t) => t.includes('li = a (columns) against lj = b (rows), epoch 2')),
      'the subtitle names the layers and the epoch',
    );
    assert.ok(
      r.texts.some((t) => t.includes('16 bins per distance axis')),
      'the subtitle names the estimator parameters',
    );
    assert.ok(r.texts.includes('a channels → (columns)'), 'the column axis title');
    assert.ok(r.texts.includes('b channels ↓ (rows)'), 'the row axis title');
    // Every one of the 12 columns and 10 rows is numbered at this size.
    for (let c = 0; c < 12; c++) assert.ok(r.texts.includes(String(c)), `column ${c} is numbered`);
    const range = model.range!;
    assert.ok(r.texts.includes(`${range.lo.toPrecision(3)} bits`), 'the legend’s low end in bits');
    assert.ok(r.texts.includes(`${range.hi.toPrecision(3)} bits`), 'the legend’s high end in bits');
    assert.ok(
      r.texts.some((t) => t.startsWith('Channel capacity, bits')),
      'the legend says what the colour means, in bits',
    );
    assert.equal(r.images.length, 1, 'one embedded raster per heatmap');
    assert.match(r.images[0], /^data:image\/png;base64,/);
    assert.equal(r.backgroundFill, 'rgb(255, 255, 255)', 'the light theme’s background');
  });

  it('exports a PNG at twice the screen’s pixel density of the SVG’s size, on the theme’s background', async () => {
    const { view } = await openWide('dark');
    const svg = await readSvg(view, (await exported(view, 'svg')).content);
    const png = await exported(view, 'png');
    assert.equal(png.fileName, 'wide-a-b-epoch2.png');
    const dpr = await view.page.evaluate(() => window.devicePixelRatio);
    const size = pngSize(Buffer.from(png.content, 'base64'));
    assert.deepEqual(size, { width: Math.round(svg.width * 2 * dpr), height: Math.round(svg.height * 2 * dpr) });
    // A corner is the dark theme's editor background (#1f1f1f).
    assert.deepEqual(await view.pngPixel(png.content, 2, 2), [31, 31, 31]);
  });

  it('exports the values shown as CSV and JSON, in the order shown, under a header of run, layers, epoch, samples and estimator parameters', async () => {
    const { view, model } = await openWide('light', { sortColumns: 'max', sortRows: 'mean' });
    const h = model.heatmaps[0];
    assert.notDeepEqual(h.columns, [...Array(12).keys()], 'the columns are sorted');
    const csv = await exported(view, 'csv');
    assert.equal(csv.fileName, 'wide-a-b-epoch2.csv');
    const table = parseExportCsv(csv.content);
    assert.equal(table.header.get('title'), 'Channel capacity between layers: wide');
    assert.equal(table.header.get('view'), 'layer');
    assert.equal(table.header.get('run'), 'wide');
    assert.equal(table.header.get('run_dir'), runs.wide.dir);
    assert.equal(table.header.get('li'), 'a');
    assert.equal(table.header.get('lj'), 'b');
    assert.equal(table.header.get('epoch'), '2');
    assert.equal(table.header.get('samples'), 'all 36 probe samples');
    assert.equal(table.header.get('unit'), 'bits');
    assert.equal(table.header.get('capacity_bins'), '16');
    assert.equal(table.header.get('capacity_range'), 'channel');
    assert.equal(table.header.get('sample_pairs_per_histogram'), String((36 * 35) / 2));
    assert.equal(table.header.get('sort_columns'), 'by max, largest first');
    assert.deepEqual(table.columns, ['lj', 'lj_channel', 'li_channel', 'capacity_bits']);
    // One row per cell, row by row as shown, each value the float32 the view holds.
    const expected = h.rowOrder.flatMap((row) => h.columns.map((column) => ({ row, column, value: h.capacity[row][column] })));
    assert.equal(table.rows.length, 120);
    table.rows.forEach((fields, i) => {
      const e = expected[i];
      assert.deepEqual(fields.slice(0, 3), ['b', String(e.row), String(e.column)], `row ${i}`);
      assert.equal(Math.fround(Number(fields[3])), e.value, `the value of b #${e.row} × a #${e.column}`);
      assert.ok(fields[3].length <= 11, `a float32 written with the digits it has: ${fields[3]}`);
    });

    const json = await exported(view, 'json');
    assert.equal(json.fileName, 'wide-a-b-epoch2.json');
    const data = JSON.parse(json.content) as { format: string; version: number; meta: Record<string, unknown>; columns: string[]; rows: unknown[][] };
    assert.equal(data.format, EXPORT_JSON_FORMAT);
    assert.equal(data.version, 1);
    assert.deepEqual(data.columns, table.columns);
    assert.equal(data.meta.epoch, 2);
    assert.deepEqual(data.meta.lj, ['b']);
    assert.equal(data.meta.capacity_bins, 16);
    assert.deepEqual(
      data.rows,
      table.rows.map((f) => [f[0], Number(f[1]), Number(f[2]), Number(f[3])]),
      'the JSON holds the CSV’s rows',
    );
  });

  it('exports every heatmap shown side by side, each with its own axis titles and rows', async () => {
    const { view, model } = await openWide('light', { otherLayers: ['b', 'input'] });
    assert.equal(model.heatmaps.length, 2);
    const svg = await readSvg(view, (await exported(view, 'svg')).content);
    assert.equal(svg.parseError, undefined);
    assert.ok(svg.texts.includes('b channels ↓ (rows)') && svg.texts.includes('input channels ↓ (rows)'), 'a row axis title per heatmap');
    assert.equal(svg.images.length, 2);
    const csv = parseExportCsv((await exported(view, 'csv')).content);
    assert.equal(csv.header.get('lj'), 'b, input');
    const cells = model.heatmaps.map((h) => h.rows * h.cols);
    assert.equal(csv.rows.length, cells[0] + cells[1]);
    assert.deepEqual([...new Set(csv.rows.map((r) => r[0]))], ['b', 'input']);
  });

  it('“light background for print” exports the print palette’s colours from a dark theme, and leaves the view in its theme', async () => {
    const { view } = await openWide('dark');
    const themed = await readSvg(view, (await exported(view, 'svg')).content);
    const print = await readSvg(view, (await exported(view, 'svg', true)).content);
    assert.equal(themed.backgroundFill, 'rgb(31, 31, 31)', 'as shown: the dark editor background');
    assert.equal(print.backgroundFill, 'rgb(255, 255, 255)', 'for print: white');
    assert.equal(print.titleFill, 'rgb(31, 31, 31)', `for print: the palette's ink ${PRINT_PALETTE.foreground}`);
    assert.notEqual(themed.images[0], print.images[0], 'the cells are drawn on the light ramp');
    const png = await exported(view, 'png', true);
    assert.deepEqual(await view.pngPixel(png.content, 2, 2), [255, 255, 255]);
    // The view itself is still dark: its theme class and variables are back, and it redrew in them.
    const after = await view.page.evaluate(() => ({
      bodyClass: document.body.className,
      background: getComputedStyle(document.documentElement).getPropertyValue('--vscode-editor-background').trim(),
    }));
    assert.match(after.bodyClass, /vscode-dark/);
    assert.doesNotMatch(after.bodyClass, /vscode-light/);
    assert.equal(after.background, '#1f1f1f');
    const again = await readSvg(view, (await exported(view, 'svg')).content);
    assert.equal(again.backgroundFill, 'rgb(31, 31, 31)');
  });

  it('writes a run named with markup as text, and proposes a file name without path characters', async () => {
    assert.ok(suite);
    const view = await suite.open(runs.tiny, { run: runs.tiny.dir, layer: 'conv1', otherLayers: ['pool1'], epoch: 0 });
    await view.page.waitForFunction(() => window.cnnslicerLayerView?.().heatmaps[0]?.epoch === 0 && !document.querySelector('.heatmap.stale'));
    const svg = await exported(view, 'svg');
    assert.doesNotMatch(svg.fileName, /[/\\<>:"|?*\s]/);
    assert.match(svg.fileName, /-conv1-pool1-epoch0\.svg$/);
    const r = await readSvg(view, svg.content);
    assert.equal(r.parseError, undefined);
    assert.ok(r.texts.includes(`Channel capacity between layers: tiny ${HOSTILE_NAME}`), 'the name is text');
    assert.equal(await view.page.evaluate(() => (window as unknown as { __xss?: number }).__xss), undefined);
    const csv = parseExportCsv((await exported(view, 'csv')).content);
    assert.equal(csv.header.get('run'), `tiny ${HOSTILE_NAME}`);
  });

  it('says there is nothing to export while the heatmap has not been computed, and the Export button asks the host', async () => {
    assert.ok(suite);
    const failing: RequestHandler = (method, params) => {
      if (method === 'channelCapacity') throw new HostError({ code: 'internal', message: 'no capacity here' });
      return runs.engine.requestHandler([runs.wide])(method, params);
    };
    const view = await suite.open(runs.wide, { run: runs.wide.dir, layer: 'a', otherLayers: ['b'] }, { onRequest: failing });
    await view.page.locator('#heatmap-message-0', { hasText: 'no capacity here' }).waitFor();
    for (const format of ['svg', 'png', 'csv', 'json'] as const) {
      const answer = await view.requestExport(format);
      assert.ok(!answer.ok, `${format}: nothing to export`);
      assert.match(answer.message, /no heatmap to export yet/);
    }
    await view.page.locator('#export-view').click();
    await view.page.waitForFunction(() => true);
    const deadline = Date.now() + 10_000;
    while (!view.posted.some((m) => m.type === 'exportAsked')) {
      assert.ok(Date.now() < deadline, 'the Export button posted no exportAsked');
      await new Promise((r) => setTimeout(r, 20));
    }
  });
});

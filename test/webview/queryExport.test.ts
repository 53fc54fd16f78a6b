// Exporting the query view (issue 17) in a real browser: the built bundle under the host's CSP, fed
// with the engine's own reading of a run written for the test, then asked for each export format
// as the host asks. Checked: the SVG parses and carries the hypercube as drawn (its L, C and T axis
// titles, the layer and channel slabs, their intersection, the epoch plane) with a title, the slice
// in the paper's notation, and a legend naming the samples X, the layer kinds and the selection in
// the colours drawn; the PNG is the SVG's size at twice the screen's pixel density; the CSV and JSON
// hold the layers as the row of blocks shows them and the selection under a header of run, slice,
// layers, channel, epoch, samples; "light background for print" draws the print palette's colours
// from a dark theme and leaves the view dark.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RunReader } from '../../src/engine/run/runReader';
import { RunWriter } from '../../src/core/run/runWriter';
import type { ExportContent, ExportFormat } from '../../src/shared/exportProtocol';
import { EXPORT_JSON_FORMAT } from '../../src/shared/exportTable';
import { PRINT_PALETTE } from '../../src/shared/printPalette';
import type { LayerInfo, RunInfo } from '../../src/shared/runFormat';
import type { PanelRun, QuerySelection } from '../../src/shared/webviewProtocol';
import { parseExportCsv, pngSize } from '../support/exportFiles';
import { product, randomArray, seededRandom, tempDir } from '../support/runFixtures';
import { requireChromium, ViewSuite, type RequestHandler, type ViewPage } from './harness';
import type { TestTheme } from './themes';

type Ok = Extract<ExportContent, { ok: true }>;

const HOSTILE_NAME = '<img src=x onerror=window.__xss=1>';
const CLASSES = ['zero', 'one', 'two'];
const N = 12;
const LAYERS: LayerInfo[] = [
  { name: 'conv1', kind: 'conv', shape: [4, 6, 6], op: 'Conv2d' },
  { name: HOSTILE_NAME, kind: 'activation', shape: [4, 6, 6], op: 'ReLU' },
  { name: 'pool1', kind: 'pool', shape: [4, 3, 3], op: 'MaxPool2d' },
  { name: 'conv2', kind: 'conv', shape: [8, 1, 1], op: 'Conv2d' },
  { name: 'fc', kind: 'linear', shape: [3] },
];
const EPOCHS = [0, 1, 2];

/** A run of LAYERS over EPOCHS written by the project's RunWriter, as the engine reads it back. */
async function writeRun(root: string): Promise<RunInfo> {
  const dir = path.join(root, 'query-run');
  const rand = seededRandom(11);
  const writer = await RunWriter.create(dir, {
    name: `query ${HOSTILE_NAME}`,
    model: { name: 'QueryCNN', framework: 'test' },
    layers: LAYERS,
    classes: CLASSES,
    probe: {
      inputs: randomArray(N * 64, rand),
      inputShape: [1, 8, 8],
      labels: Array.from({ length: N }, (_, i) => i % 3),
      description: 'seeded random inputs',
    },
  });
  for (const epoch of EPOCHS)
    await writer.writeEpoch(epoch, {
      metrics: { loss: 1 / (epoch + 1) },
      activations: new Map(LAYERS.map((l) => [l.name, randomArray(N * product(l.shape), rand)] as const)),
      logits: randomArray(N * CLASSES.length, rand),
    });
  await writer.finish();
  const reader = await RunReader.open(dir);
  try {
    return reader.info;
  } finally {
    await reader.close();
  }
}

/** What the page's DOMParser makes of an SVG file. */
interface SvgReading {
  readonly parseError: string | undefined;
  readonly rootName: string;
  readonly width: number;
  readonly height: number;
  readonly title: string;
  readonly texts: string[];
  readonly backgroundFill: string | null;
  readonly titleFill: string | null;
  /** The drawing's selection: layer slabs' spans, the intersection's layer and channel, whether the epoch plane is drawn. */
  readonly layerSlabs: string[];
  readonly intersection: { layer: string | null; channel: string | null; fill: string | null } | undefined;
  readonly epochPlane: boolean;
  readonly lTicks: number;
  readonly stylesheetFree: boolean;
  /** Legend entries: class and their swatch's fill. */
  readonly legend: { className: string; text: string; fill: string | null }[];
}

describe('query view export (headless Chromium)', function () {
  this.timeout(90_000);
  let suite: ViewSuite<QuerySelection> | undefined;
  let scratch: string | undefined;
  let info: RunInfo;

  before(async function () {
    requireChromium(this);
    suite = await ViewSuite.start<QuerySelection>('query');
    scratch = tempDir('cnnslicer-query-export-');
    info = await writeRun(scratch);
  });

  after(async () => {
    await suite?.stop();
    if (scratch !== undefined) fs.rmSync(scratch, { recursive: true, force: true });
  });

  afterEach(async function () {
    await suite?.closeViews(this.currentTest?.state === 'passed', async (view) => {
      assert.equal(await view.page.evaluate(() => (window as unknown as { __xss?: unknown }).__xss), undefined, 'a name from the run ran as script');
      view.assertPostedValid();
    });
  });

  /** The query view exports without asking its host anything: no request is answered. */
  const noRequests: RequestHandler = (method) => {
    throw new Error(`the export asked the host for ${method}`);
  };

  /** A selection of conv1 and pool1, channel 2 of conv1, at epoch 1: every shape of the selection is drawn. */
  const SLICE: QuerySelection = { layers: ['conv1', 'pool1'], layer: 'conv1', channel: 2, epoch: 1 };

  async function openQuery(theme: TestTheme, selection: QuerySelection = SLICE): Promise<ViewPage<QuerySelection>> {
    assert.ok(suite);
    const view = await suite.openView({ theme, onRequest: noRequests });
    await view.waitForReady();
    const runs: PanelRun[] = [{ dir: info.dir, state: 'loaded', info }];
    await view.push({ kind: 'runs', runs });
    await view.push({ kind: 'selection', selection: { run: info.dir, ...selection } });
    const pressed = selection.layers?.length ?? 0;
    await view.page.waitForFunction((n) => document.querySelectorAll('#blocks button.block[aria-pressed="true"]').length === n, pressed);
    return view;
  }

  async function exported(view: ViewPage<QuerySelection>, format: ExportFormat, light = false): Promise<Ok> {
    const answer = await view.requestExport(format, light);
    assert.ok(answer.ok, `the ${format} export failed: ${answer.ok ? '' : answer.message}`);
    assert.equal(answer.format, format);
    assert.equal(answer.encoding, format === 'png' ? 'base64' : 'utf8');
    return answer;
  }

  async function readSvg(view: ViewPage<QuerySelection>, text: string): Promise<SvgReading> {
    return view.page.evaluate((svgText) => {
      const doc = new DOMParser().parseFromString(svgText, 'image/svg+xml');
      const root = doc.documentElement;
      const cell = root.querySelector('.intersection');
      return {
        parseError: doc.querySelector('parsererror')?.textContent ?? undefined,
        rootName: `${root.namespaceURI} ${root.localName}`,
        width: Number(root.getAttribute('width')),
        height: Number(root.getAttribute('height')),
        title: root.querySelector('title')?.textContent ?? '',
        texts: Array.from(root.querySelectorAll('text')).map((t) => t.textContent ?? ''),
        backgroundFill: root.querySelector('.figure-background')?.getAttribute('fill') ?? null,
        titleFill: root.getAttribute('fill'),
        layerSlabs: Array.from(root.querySelectorAll('.layer-slab')).map((g) => `${g.getAttribute('data-from')}-${g.getAttribute('data-to')}`),
        intersection:
          cell === null
            ? undefined
            : {
                layer: cell.getAttribute('data-layer'),
                channel: cell.getAttribute('data-channel'),
                fill: cell.querySelector('.slab-front')?.getAttribute('fill') ?? null,
              },
        epochPlane: root.querySelector('.epoch-plane') !== null,
        lTicks: root.querySelectorAll('.l-tick').length,
        stylesheetFree: root.querySelector('style') === null && root.querySelector('[style]') === null,
        legend: Array.from(root.querySelectorAll('.legend-entry')).map((g) => ({
          className: g.getAttribute('class') ?? '',
          text: g.querySelector('text')?.textContent ?? '',
          fill: g.querySelector('rect')?.getAttribute('fill') ?? null,
        })),
      };
    }, text);
  }

  /** The computed fill of an element of the hypercube on screen. */
  async function shownFill(view: ViewPage<QuerySelection>, selector: string): Promise<string> {
    return view.page.$eval(selector, (el) => getComputedStyle(el).fill);
  }

  it('has an Export button in its toolbar that asks the host to export', async () => {
    const view = await openQuery('light');
    const button = view.page.locator('header.toolbar .toolbar-actions #export-view');
    assert.equal(await button.count(), 1);
    await button.click();
    const deadline = Date.now() + 10_000;
    while (!view.posted.some((m) => m.type === 'exportAsked')) {
      assert.ok(Date.now() < deadline, 'the Export button posted no exportAsked');
      await new Promise((r) => setTimeout(r, 20));
    }
  });

  it('exports the hypercube as an SVG that parses and holds the title, the slice, the axis labels X, L, C, T and the legend', async () => {
    const view = await openQuery('light');
    const svg = await exported(view, 'svg');
    assert.doesNotMatch(svg.fileName, /[/\\<>:"|?*\s]/);
    assert.match(svg.fileName, /^query-.*-hypercube-conv1-c2-epoch1\.svg$/);
    const r = await readSvg(view, svg.content);
    assert.equal(r.parseError, undefined, 'the SVG parses as XML');
    assert.equal(r.rootName, 'http://www.w3.org/2000/svg svg');
    assert.ok(r.width > 800 && r.height > 362, 'the figure holds the 800 × 362 hypercube and more');
    const title = `Hypercube dCNN(X, L, C, T) of query ${HOSTILE_NAME}`;
    assert.equal(r.title, title);
    assert.ok(r.texts.includes(title), 'the title is drawn, the run’s name as text');
    // The slice as the query bar writes it.
    const slice = await view.page.locator('#slice-text').textContent();
    assert.equal(slice, 'dCNN(x = all 12 samples, l = {conv1, pool1} (2 layers), c = channel 2, t = epoch 1)');
    assert.ok(r.texts.includes(`Slice ${slice}.`), 'the subtitle states the slice');
    // The four axes: L, C and T as the cube titles them, X in the legend.
    assert.ok(r.texts.includes('L (layers)'), 'the L axis title');
    assert.ok(r.texts.includes('C (channels, up to 8)'), 'the C axis title');
    assert.ok(r.texts.includes('T (epochs)'), 'the T axis title');
    assert.ok(r.texts.includes('X (samples): all 12 samples'), 'the samples X');
    for (let l = 1; l <= LAYERS.length; l++) assert.ok(r.texts.includes(String(l)), `layer ${l} is numbered on L`);
    assert.ok(r.texts.includes('0') && r.texts.includes('7'), 'the C axis’s channel numbers');
    assert.equal(r.lTicks, LAYERS.length);
    // The selection as drawn: a slab per run of adjacent selected layers, the intersection, the epoch plane.
    assert.deepEqual(r.layerSlabs, ['0-0', '2-2']);
    assert.deepEqual({ layer: r.intersection?.layer, channel: r.intersection?.channel }, { layer: '0', channel: '2' });
    assert.ok(r.epochPlane, 'the epoch plane at epoch 1');
    assert.ok(r.stylesheetFree, 'the colours are attributes, no stylesheet');
    // The legend: the kinds on the L axis and the selection's shapes, each in the colour the view shows.
    assert.deepEqual(
      r.legend.map((e) => e.text),
      [
        'convolution layer',
        'pooling layer',
        'activation layer',
        'fully connected layer',
        'selected layers (L slice, 2)',
        'channel 2 (C slice)',
        'conv1, channel 2',
        'epoch 1 (T slice)',
      ],
    );
    const legendFill = (className: string): string | null => r.legend.find((e) => e.className.includes(className))?.fill ?? null;
    assert.equal(legendFill('kind-conv'), await shownFill(view, '#cube .layer-column.kind-conv'));
    assert.equal(legendFill('kind-pool'), await shownFill(view, '#cube .layer-column.kind-pool'));
    assert.notEqual(legendFill('kind-conv'), legendFill('kind-pool'));
    assert.equal(legendFill('legend-intersection'), await shownFill(view, '#intersection .slab-front'));
    assert.equal(r.intersection?.fill, legendFill('legend-intersection'), 'the swatch is the intersection’s colour');
    assert.equal(r.backgroundFill, 'rgb(255, 255, 255)', 'the light theme’s background');
  });

  it('exports a PNG at twice the screen’s pixel density of the SVG’s size, on the theme’s background', async () => {
    const view = await openQuery('dark');
    const svg = await readSvg(view, (await exported(view, 'svg')).content);
    const png = await exported(view, 'png');
    assert.match(png.fileName, /-hypercube-conv1-c2-epoch1\.png$/);
    const dpr = await view.page.evaluate(() => window.devicePixelRatio);
    const size = pngSize(Buffer.from(png.content, 'base64'));
    assert.deepEqual(size, { width: Math.round(svg.width * 2 * dpr), height: Math.round(svg.height * 2 * dpr) });
    assert.deepEqual(await view.pngPixel(png.content, 2, 2), [31, 31, 31], 'the dark editor background');
  });

  it('exports the layers as the row of blocks shows them and the selection as CSV and JSON, under a header of run, slice, epoch and samples', async () => {
    const view = await openQuery('light', { ...SLICE, samples: { kind: 'random', count: 5, seed: 3 } });
    const csv = await exported(view, 'csv');
    assert.match(csv.fileName, /-hypercube-conv1-c2-epoch1\.csv$/);
    const table = parseExportCsv(csv.content);
    assert.equal(table.header.get('title'), `Hypercube dCNN(X, L, C, T) of query ${HOSTILE_NAME}`);
    assert.equal(table.header.get('view'), 'query');
    assert.equal(table.header.get('run'), `query ${HOSTILE_NAME}`);
    assert.equal(table.header.get('run_dir'), info.dir);
    assert.equal(table.header.get('model'), 'QueryCNN');
    assert.equal(table.header.get('slice'), await view.page.locator('#slice-text').textContent());
    assert.equal(table.header.get('layers'), 'conv1, pool1');
    assert.equal(table.header.get('focus_layer'), 'conv1');
    assert.equal(table.header.get('channel'), '2');
    assert.equal(table.header.get('epoch'), '1');
    assert.equal(table.header.get('epochs'), '0, 1, 2');
    assert.equal(table.header.get('samples'), '5 random samples (seed 3)');
    assert.equal(table.header.get('samples_selection'), JSON.stringify({ kind: 'random', count: 5, seed: 3 }));
    assert.equal(table.header.get('probe_samples'), String(N));
    assert.equal(table.header.get('l_axis'), `all ${LAYERS.length} layers`);
    assert.equal(table.header.get('c_axis'), 'up to 8 channels');
    assert.equal(table.header.get('query_target'), await view.page.locator('#query-target').textContent());
    assert.match(table.header.get('estimator_parameters') ?? '', /^none\. The query view measures nothing itself/);
    assert.deepEqual(table.columns, ['l', 'layer', 'kind', 'op', 'output_shape', 'channels', 'on_l_axis', 'selected', 'focus', 'channel']);
    // The rows are the blocks as shown: their numbers, names, shapes, and which are pressed.
    const blocks = await view.page.$$eval('#blocks button.block', (els) =>
      els.map((b) => ({
        index: b.querySelector('.block-index')?.textContent ?? '',
        name: b.querySelector('.block-name')?.textContent ?? '',
        op: b.querySelector('.block-op')?.textContent ?? '',
        shape: b.querySelector('.block-shape')?.textContent ?? '',
        pressed: b.getAttribute('aria-pressed') === 'true',
        focus: b.classList.contains('focus'),
      })),
    );
    assert.equal(table.rows.length, blocks.length);
    assert.equal(blocks.length, LAYERS.length);
    table.rows.forEach((f, i) => {
      const b = blocks[i];
      assert.equal(`L${f[0]}`, b.index, `row ${i}: the layer's number`);
      assert.equal(f[1], b.name);
      assert.equal(f[4], b.shape);
      assert.equal(f[5], String(LAYERS[i].shape[0]), 'the channels: the first dimension of the output');
      assert.equal(f[6], '1', 'every layer is on the L axis');
      assert.equal(f[7], b.pressed ? '1' : '0', `${b.name} selected as shown`);
      assert.equal(f[8], b.focus ? '1' : '0', `${b.name} the focus as shown`);
      assert.equal(f[9], b.focus ? '2' : '', 'the channel belongs to the focus layer');
      if (LAYERS[i].op !== undefined) assert.equal(f[3], b.op);
      else assert.equal(f[3], '', 'no op recorded: empty, where the block shows the kind instead');
    });
    assert.deepEqual(
      table.rows.map((f) => f[2]),
      ['convolution', 'activation', 'pooling', 'convolution', 'fully connected'],
    );

    const json = await exported(view, 'json');
    const data = JSON.parse(json.content) as { format: string; version: number; meta: Record<string, unknown>; columns: string[]; rows: unknown[][] };
    assert.equal(data.format, EXPORT_JSON_FORMAT);
    assert.deepEqual(data.columns, table.columns);
    assert.deepEqual(data.meta.layers, ['conv1', 'pool1']);
    assert.equal(data.meta.channel, 2);
    assert.equal(data.meta.epoch, 1);
    assert.deepEqual(data.meta.epochs, EPOCHS);
    assert.deepEqual(
      data.rows,
      table.rows.map((f) => [
        Number(f[0]),
        f[1],
        f[2],
        f[3] === '' ? null : f[3],
        f[4],
        Number(f[5]),
        Number(f[6]),
        Number(f[7]),
        Number(f[8]),
        f[9] === '' ? null : Number(f[9]),
      ]),
      'the JSON holds the CSV’s rows',
    );
  });

  it('exports one layer selected without a channel as shown: the C axis of that layer, no intersection', async () => {
    const view = await openQuery('light', { layers: [HOSTILE_NAME], layer: HOSTILE_NAME });
    const r = await readSvg(view, (await exported(view, 'svg')).content);
    assert.ok(r.texts.includes(`C (4 channels of ${HOSTILE_NAME})`), 'the C axis of the one selected layer, the name as text');
    assert.equal(r.intersection, undefined, 'no channel chosen: no intersection');
    assert.deepEqual(r.legend.map((e) => e.text).slice(-2), ['selected layers (L slice, 1)', 'epoch 2 (T slice)']);
    const table = parseExportCsv((await exported(view, 'csv')).content);
    assert.equal(table.header.get('channel'), 'all');
    assert.equal(table.header.get('epoch'), '2');
    assert.equal(table.header.get('epoch_is_newest'), 'true');
    assert.equal(table.header.get('c_axis'), `the 4 channels of ${HOSTILE_NAME}`);
    assert.deepEqual(
      table.rows.map((f) => f[7]),
      ['0', '1', '0', '0', '0'],
    );
  });

  it('“light background for print” exports the print palette’s colours from a dark theme, and leaves the view in its theme', async () => {
    const view = await openQuery('dark');
    const themed = await readSvg(view, (await exported(view, 'svg')).content);
    const print = await readSvg(view, (await exported(view, 'svg', true)).content);
    const fill = (r: SvgReading, className: string): string | null => r.legend.find((e) => e.className.includes(className))?.fill ?? null;
    assert.equal(themed.backgroundFill, 'rgb(31, 31, 31)', 'as shown: the dark editor background');
    assert.equal(fill(themed, 'kind-conv'), 'rgb(55, 148, 255)', 'as shown: the dark theme’s chart blue');
    assert.equal(fill(themed, 'legend-intersection'), 'rgb(241, 76, 76)', 'as shown: the dark theme’s chart red');
    assert.equal(print.backgroundFill, 'rgb(255, 255, 255)', 'for print: white');
    assert.equal(print.titleFill, 'rgb(31, 31, 31)', `for print: the palette's ink ${PRINT_PALETTE.foreground}`);
    assert.equal(fill(print, 'kind-conv'), 'rgb(26, 133, 255)', `for print: the palette's chart blue ${PRINT_PALETTE['charts-blue']}`);
    assert.equal(fill(print, 'legend-intersection'), 'rgb(229, 20, 0)', `for print: the palette's chart red ${PRINT_PALETTE['charts-red']}`);
    assert.equal(print.intersection?.fill, 'rgb(229, 20, 0)', 'the drawing too, not only its legend');
    const png = await exported(view, 'png', true);
    assert.deepEqual(await view.pngPixel(png.content, 2, 2), [255, 255, 255]);
    // The view itself is still dark.
    const after = await view.page.evaluate(() => ({
      bodyClass: document.body.className,
      background: getComputedStyle(document.documentElement).getPropertyValue('--vscode-editor-background').trim(),
    }));
    assert.match(after.bodyClass, /vscode-dark/);
    assert.doesNotMatch(after.bodyClass, /vscode-light/);
    assert.equal(after.background, '#1f1f1f');
    assert.equal(await shownFill(view, '#intersection .slab-front'), 'rgb(241, 76, 76)');
    const again = await readSvg(view, (await exported(view, 'svg')).content);
    assert.equal(fill(again, 'kind-conv'), 'rgb(55, 148, 255)');
  });

  it('says there is nothing to export before a run is shown', async () => {
    assert.ok(suite);
    const view = await suite.openView({ theme: 'light', onRequest: noRequests });
    await view.waitForReady();
    for (const format of ['svg', 'png', 'csv', 'json'] as const) {
      const answer = await view.requestExport(format);
      assert.ok(!answer.ok, `${format}: nothing to export`);
      assert.match(answer.message, /shows no run yet/);
    }
  });
});

// Exporting the channel view (issue 17) in a real browser: the built bundle under the host's CSP,
// its entropies computed by the engine's own handlers on the fixture runs, then asked for each
// export format as the host asks (an `exportRequest` message). The export is the circle packing
// (B). Checked: the SVG parses and carries the title (run, layer, epoch, samples, estimator
// parameters), a vector circle per circle the view draws, in the view's class colours, the
// labels the view writes, the colour scale in bits and the class legend; the PNG is the SVG's
// size at twice the screen's pixel density; the CSV and JSON hold every circle shown, in the
// packing's order, with the values the view holds (read through window.cnnslicerChannelView), a
// zoom and a top-channels packing included; "light background for print" gives the print
// palette's colours and leaves the view in its theme.
import * as assert from 'node:assert/strict';
import type { ExportContent, ExportFormat } from '../../src/shared/exportProtocol';
import { EXPORT_JSON_FORMAT } from '../../src/shared/exportTable';
import type { ChannelEntropiesResult, MeasureSeries } from '../../src/shared/measures';
import { PRINT_PALETTE } from '../../src/shared/printPalette';
import type { RunInfo } from '../../src/shared/runFormat';
import type { ChannelSelection } from '../../src/shared/webviewProtocol';
// For its declaration of window.cnnslicerChannelView, which the page evaluations below read.
import type { ChannelViewModel } from '../../webview/channel/viewModel';
import { parseExportCsv, pngSize } from '../support/exportFiles';
import { HostError, requireChromium, type RequestHandler, type ViewPage } from './harness';
import { FixtureViewSuite, HOSTILE_NAME, TINY_CLASSES, WIDE_CLASSES, type FixtureRuns } from './layerChannelFixture';
import type { TestTheme } from './themes';

type Ok = Extract<ExportContent, { ok: true }>;
type ScreenCircle = ChannelViewModel['circles'][number];

/** What the page's DOMParser makes of an SVG file. */
interface SvgReading {
  readonly parseError: string | undefined;
  readonly rootName: string;
  readonly width: number;
  readonly height: number;
  readonly title: string;
  readonly texts: string[];
  readonly backgroundFill: string | null;
  readonly rootFill: string | null;
  readonly classCircles: { group: string; stroke: string }[];
  readonly channelCircles: { group: string; channel: string; fill: string; stroke: string | null }[];
  readonly restCircles: { group: string; dashed: boolean }[];
  readonly channelLabels: string[];
  readonly classLabels: string[];
  readonly legendItems: { group: string; text: string; stroke: string }[];
}

describe('channel view export (headless Chromium)', function () {
  this.timeout(90_000);
  let suite: FixtureViewSuite<ChannelSelection> | undefined;
  let runs: FixtureRuns;

  before(async function () {
    requireChromium(this);
    suite = await FixtureViewSuite.start<ChannelSelection>('channel', 'cnnslicer-channel-export-');
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

  /** The view of `run`'s `layer`, once its packing of `epoch` is drawn and still. */
  async function openPacking(
    run: RunInfo,
    layer: string,
    epoch: number,
    theme: TestTheme = 'light',
    selection: Partial<ChannelSelection> = {},
  ): Promise<{ view: ViewPage<ChannelSelection>; model: ChannelViewModel }> {
    assert.ok(suite);
    const view = await suite.open(run, { run: run.dir, layer, ...selection }, { theme });
    return { view, model: await drawn(view, layer, epoch) };
  }

  async function drawn(view: ViewPage<ChannelSelection>, layer: string, epoch: number): Promise<ChannelViewModel> {
    await view.page.waitForFunction(
      ({ l, e }) => {
        const m = window.cnnslicerChannelView?.();
        return m !== undefined && m.layer === l && m.epoch === e && m.circles.length > 0 && !m.animating;
      },
      { l: layer, e: epoch },
    );
    return view.page.evaluate(() => window.cnnslicerChannelView!());
  }

  function entropiesOf(run: RunInfo, layer: string): MeasureSeries<ChannelEntropiesResult> {
    const a = runs.engine.answersOf('channelEntropies').find((x) => x.params.run === run.dir && x.params.layer === layer && x.result !== undefined);
    assert.ok(a, `the engine was never asked for the entropies of ${layer}`);
    return a.result as MeasureSeries<ChannelEntropiesResult>;
  }

  async function exported(view: ViewPage<ChannelSelection>, format: ExportFormat, light = false): Promise<Ok> {
    const answer = await view.requestExport(format, light);
    assert.ok(answer.ok, `the ${format} export failed: ${answer.ok ? '' : answer.message}`);
    assert.equal(answer.format, format);
    assert.equal(answer.encoding, format === 'png' ? 'base64' : 'utf8');
    return answer;
  }

  async function readSvg(view: ViewPage<ChannelSelection>, text: string): Promise<SvgReading> {
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
        backgroundFill: root.querySelector('.figure-background')?.getAttribute('fill') ?? null,
        rootFill: root.getAttribute('fill'),
        classCircles: Array.from(root.querySelectorAll('.packing .class-circle')).map((c) => ({
          group: c.getAttribute('data-group') ?? '',
          stroke: c.getAttribute('stroke') ?? '',
        })),
        channelCircles: Array.from(root.querySelectorAll('.packing .channel-circle')).map((c) => ({
          group: c.getAttribute('data-group') ?? '',
          channel: c.getAttribute('data-channel') ?? '',
          fill: c.getAttribute('fill') ?? '',
          stroke: c.getAttribute('stroke'),
        })),
        restCircles: Array.from(root.querySelectorAll('.packing .rest-circle')).map((c) => ({
          group: c.getAttribute('data-group') ?? '',
          dashed: c.getAttribute('stroke-dasharray') !== null,
        })),
        channelLabels: Array.from(root.querySelectorAll('.packing .channel-label')).map((t) => t.textContent ?? ''),
        classLabels: Array.from(root.querySelectorAll('.packing .class-label')).map((t) => t.textContent ?? ''),
        legendItems: Array.from(root.querySelectorAll('.group-legend .legend-item')).map((g) => ({
          group: g.getAttribute('data-group') ?? '',
          text: g.querySelector('text')?.textContent ?? '',
          stroke: g.querySelector('circle')?.getAttribute('stroke') ?? '',
        })),
      };
    }, text);
  }

  /** The class legend's swatch colours on screen, as the SVG writes colours (#rrggbb → rgb()). */
  async function swatchColors(view: ViewPage<ChannelSelection>): Promise<string[]> {
    return view.page.$$eval('#class-legend .swatch', (els) => els.map((el) => getComputedStyle(el).backgroundColor));
  }

  function hexToRgb(color: string): string {
    const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(color);
    return m === null ? color : `rgb(${parseInt(m[1], 16)}, ${parseInt(m[2], 16)}, ${parseInt(m[3], 16)})`;
  }

  /** The rows the table must hold: each class circle shown, then its channel and rest circles, as the view model lists them. */
  function expectedRows(model: ChannelViewModel, names: readonly string[]): (string | number | null)[][] {
    const name = (g: ScreenCircle['group']): string => (g === 'all' ? 'all samples' : names[g]);
    const rows: (string | number | null)[][] = [];
    for (const g of model.groups.filter((x) => x.shown)) {
      const inside = model.circles.filter((c) => c.shown && c.group === g.group);
      rows.push([name(g.group), 'class', null, inside.reduce((n, c) => n + (c.kind === 'rest' ? (c.count ?? 0) : 1), 0), g.value]);
      for (const c of inside)
        rows.push([name(g.group), c.kind, c.kind === 'channel' ? (c.channel ?? null) : null, c.kind === 'rest' ? (c.count ?? 0) : 1, c.value]);
    }
    return rows;
  }

  /** A CSV row's fields against an expected row: text as text, numbers as the view's (a channel's float32 read back exactly). */
  function assertRow(fields: readonly string[], expected: readonly (string | number | null)[], what: string): void {
    assert.deepEqual(fields.slice(0, 2), expected.slice(0, 2), what);
    assert.equal(fields[2], expected[2] === null ? '' : String(expected[2]), `${what}: channel`);
    assert.equal(Number(fields[3]), expected[3], `${what}: channels`);
    const value = expected[4] as number;
    if (expected[1] === 'channel') assert.equal(Math.fround(Number(fields[4])), value, `${what}: the float32 the view holds`);
    else assert.equal(Number(fields[4]), value, `${what}: the sum the view holds`);
  }

  it('has an Export button in the toolbar that asks the host to export', async () => {
    const { view } = await openPacking(runs.wide, 'a', 2);
    const button = view.page.locator('header.toolbar .toolbar-actions #export-view');
    assert.equal(await button.count(), 1);
    await button.click();
    const deadline = Date.now() + 10_000;
    while (!view.posted.some((m) => m.type === 'exportAsked')) {
      assert.ok(Date.now() < deadline, 'the Export button posted no exportAsked');
      await new Promise((r) => setTimeout(r, 20));
    }
  });

  it('exports the circle packing as an SVG that parses and holds the title, every circle drawn, the labels, the scale in bits and the class legend', async () => {
    const { view, model } = await openPacking(runs.wide, 'a', 2, 'light', { channel: 3 });
    const svg = await exported(view, 'svg');
    assert.equal(svg.fileName, 'wide-a-channels-epoch2.svg');
    const r = await readSvg(view, svg.content);
    assert.equal(r.parseError, undefined, 'the SVG parses as XML');
    assert.equal(r.rootName, 'http://www.w3.org/2000/svg svg');
    assert.ok(r.width > 0 && r.height > 0);
    assert.equal(r.title, 'Intra-sample entropy per class and channel: wide');
    assert.ok(r.texts.includes('Intra-sample entropy per class and channel: wide'), 'the title is drawn');
    const words = r.texts.join(' ');
    assert.match(words, /Layer a, epoch 2; all 36 probe samples, each class’s circle over its own \(cat 12, dog 12, bird 12\)/);
    const params = entropiesOf(runs.wide, 'a').params;
    assert.match(words, new RegExp(`${params.intraBins} equal-width bins over each map’s own min to max`));
    assert.match(words, /channel 3, selected/);
    // A vector circle per circle the canvas draws: the classes (and all samples) and every channel.
    const groups = model.groups.filter((g) => g.shown);
    const channels = model.circles.filter((c) => c.shown && c.kind === 'channel' && c.sr >= 0.3);
    assert.equal(groups.length, WIDE_CLASSES.length + 1);
    assert.deepEqual(
      r.classCircles.map((c) => c.group),
      groups.map((g) => String(g.group)),
    );
    assert.equal(r.channelCircles.length, channels.length);
    assert.equal(r.channelCircles.length, 12 * 4, 'every channel in every class circle');
    // Each class circle in its colour on screen (the legend's swatch); all samples in the ink.
    const swatches = await swatchColors(view);
    assert.deepEqual(
      r.classCircles.slice(0, 3).map((c) => hexToRgb(c.stroke)),
      swatches.slice(0, 3),
    );
    // The selected channel is outlined in every class, and only it.
    assert.deepEqual(
      r.channelCircles.filter((c) => c.stroke !== null).map((c) => [c.group, c.channel]),
      groups.map((g) => [String(g.group), '3']),
    );
    // The labels the canvas writes, where it writes them.
    assert.deepEqual(
      r.channelLabels,
      model.circles.filter((c) => c.shown && c.labelled).map((c) => String(c.channel)),
    );
    assert.deepEqual(
      r.classLabels,
      [...WIDE_CLASSES, 'all samples'].filter((_, i) => groups[i].labelled),
    );
    // The colour scale from 0 to the largest channel's entropy, in bits.
    const max = Math.max(...channels.map((c) => c.value));
    assert.ok(r.texts.includes('Channel circle colour and area: intra-sample entropy, bits'));
    assert.ok(r.texts.includes('0 bits') && r.texts.includes(`${max.toPrecision(4)} bits`), 'the scale’s ends in bits');
    // The class legend: each class with its total entropy, in its colour.
    assert.deepEqual(
      r.legendItems.map((l) => l.text),
      groups.map((g, i) => `${[...WIDE_CLASSES, 'all samples'][i]}: ${g.value.toPrecision(4)} bits`),
    );
    assert.deepEqual(
      r.legendItems.map((l) => l.stroke),
      r.classCircles.map((c) => c.stroke),
    );
    assert.equal(r.backgroundFill, 'rgb(255, 255, 255)', 'the light theme’s background');
  });

  it('exports a PNG at twice the screen’s pixel density of the SVG’s size, on the theme’s background', async () => {
    const { view } = await openPacking(runs.wide, 'a', 2, 'dark');
    const svg = await readSvg(view, (await exported(view, 'svg')).content);
    const png = await exported(view, 'png');
    assert.equal(png.fileName, 'wide-a-channels-epoch2.png');
    const dpr = await view.page.evaluate(() => window.devicePixelRatio);
    assert.deepEqual(pngSize(Buffer.from(png.content, 'base64')), { width: Math.round(svg.width * 2 * dpr), height: Math.round(svg.height * 2 * dpr) });
    assert.deepEqual(await view.pngPixel(png.content, 2, 2), [31, 31, 31], 'the dark theme’s editor background');
  });

  it('exports every circle shown as CSV and JSON, in the packing’s order, under a header of run, layer, epoch, samples and estimator parameters', async () => {
    const { view, model } = await openPacking(runs.wide, 'a', 1, 'light', { epoch: 1 });
    const csv = await exported(view, 'csv');
    assert.equal(csv.fileName, 'wide-a-channels-epoch1.csv');
    const table = parseExportCsv(csv.content);
    const params = entropiesOf(runs.wide, 'a').params;
    assert.equal(table.header.get('title'), 'Intra-sample entropy per class and channel: wide');
    assert.equal(table.header.get('view'), 'channel');
    assert.equal(table.header.get('run'), 'wide');
    assert.equal(table.header.get('run_dir'), runs.wide.dir);
    assert.equal(table.header.get('layer'), 'a');
    assert.equal(table.header.get('epoch'), '1');
    assert.equal(table.header.get('samples'), 'all 36 probe samples, each class’s circle over its own (cat 12, dog 12, bird 12)');
    assert.equal(table.header.get('unit'), 'bits');
    assert.equal(table.header.get('intra_bins'), String(params.intraBins));
    assert.equal(table.header.get('intra_normalization'), params.intraNormalization);
    assert.equal(table.header.get('channels_in_layer'), '12');
    assert.equal(table.header.get('channel_circles_per_class'), 'every channel');
    assert.deepEqual(table.columns, ['class', 'circle', 'channel', 'channels', 'entropy_bits']);
    const expected = expectedRows(model, WIDE_CLASSES);
    assert.equal(table.rows.length, 4 * (1 + 12));
    assert.equal(table.rows.length, expected.length);
    table.rows.forEach((fields, i) => assertRow(fields, expected[i], `row ${i}`));
    // The values are the engine's: class dog's channel 5 at epoch 1.
    const item = entropiesOf(runs.wide, 'a').items.find((x) => x.epoch === 1)!;
    const dog5 = table.rows.find((f) => f[0] === 'dog' && f[1] === 'channel' && f[2] === '5')!;
    assert.equal(Math.fround(Number(dog5[4])), item.perClass[1 * 12 + 5]);

    const json = await exported(view, 'json');
    assert.equal(json.fileName, 'wide-a-channels-epoch1.json');
    const data = JSON.parse(json.content) as { format: string; version: number; meta: Record<string, unknown>; columns: string[]; rows: unknown[][] };
    assert.equal(data.format, EXPORT_JSON_FORMAT);
    assert.equal(data.version, 1);
    assert.deepEqual(data.columns, table.columns);
    assert.equal(data.meta.epoch, 1);
    assert.equal(data.meta.intra_bins, params.intraBins);
    assert.deepEqual(
      data.rows,
      table.rows.map((f) => [f[0], f[1], f[2] === '' ? null : Number(f[2]), Number(f[3]), Number(f[4])]),
      'the JSON holds the CSV’s rows',
    );
  });

  it('exports a zoom as the one class shown, and a top-channels packing with its rest circle', async () => {
    const { view } = await openPacking(runs.wide, 'a', 2, 'light');
    // A command's selection that names the layer resets the zoom: the zoom comes after it, as a linked view's would.
    await view.push({ kind: 'selection', selection: { zoom: 1 } });
    // At rest on the zoomed class: until then the model still marks the previous packing's circles shown.
    await view.page.waitForFunction(() => {
      const m = window.cnnslicerChannelView?.();
      return m?.zoom === 1 && !m.animating && m.circles.every((c) => !c.shown || String(c.group) === '1');
    });
    const model = await drawn(view, 'a', 2);
    assert.equal(model.zoom, 1);
    const csv = parseExportCsv((await exported(view, 'csv')).content);
    assert.equal(csv.header.get('zoomed_into'), 'dog');
    assert.deepEqual([...new Set(csv.rows.map((f) => f[0]))], ['dog'], 'only the class shown');
    const expected = expectedRows(model, WIDE_CLASSES);
    assert.equal(csv.rows.length, 13);
    csv.rows.forEach((fields, i) => assertRow(fields, expected[i], `zoomed row ${i}`));
    const svg = await exported(view, 'svg');
    assert.equal(svg.fileName, 'wide-a-channels-epoch2-dog.svg');
    const r = await readSvg(view, svg.content);
    assert.deepEqual(
      r.classCircles.map((c) => c.group),
      ['1'],
    );
    assert.ok(r.texts.some((t) => t.includes('Zoomed into dog.')));

    // Back to every class, at most 6 channel circles per class: the others are one rest circle each.
    await view.page.locator('#zoom-out').click();
    await view.page.locator('#pack-top').click();
    await view.page.locator('#pack-top li[role="option"]', { hasText: 'top 6' }).first().click();
    await view.page.waitForFunction(() => {
      const m = window.cnnslicerChannelView?.();
      return m?.packTop === 6 && m.zoom === undefined && !m.animating;
    });
    const top = await view.page.evaluate(() => window.cnnslicerChannelView!());
    const table = parseExportCsv((await exported(view, 'csv')).content);
    assert.equal(table.header.get('channel_circles_per_class'), '6');
    const rows = expectedRows(top, WIDE_CLASSES);
    assert.equal(table.rows.length, rows.length);
    table.rows.forEach((fields, i) => assertRow(fields, rows[i], `top-6 row ${i}`));
    const rest = table.rows.filter((f) => f[1] === 'rest');
    assert.equal(rest.length, 4, 'one rest circle per class');
    assert.ok(rest.every((f) => f[3] === '6'));
    const restSvg = await readSvg(view, (await exported(view, 'svg')).content);
    assert.equal(restSvg.restCircles.length, 4);
    assert.ok(restSvg.restCircles.every((c) => c.dashed));
    assert.equal(restSvg.channelCircles.length, 4 * 6);
  });

  it('“light background for print” exports the print palette’s colours from a dark theme, and leaves the view dark', async () => {
    assert.ok(suite);
    const light = await openPacking(runs.wide, 'a', 2, 'light');
    const lightSwatches = await swatchColors(light.view);
    const { view } = await openPacking(runs.wide, 'a', 2, 'dark');
    const darkSwatches = await swatchColors(view);
    assert.notDeepEqual(darkSwatches.slice(0, 3), lightSwatches.slice(0, 3));
    const themed = await readSvg(view, (await exported(view, 'svg')).content);
    const print = await readSvg(view, (await exported(view, 'svg', true)).content);
    assert.equal(themed.backgroundFill, 'rgb(31, 31, 31)', 'as shown: the dark editor background');
    assert.deepEqual(
      themed.classCircles.slice(0, 3).map((c) => hexToRgb(c.stroke)),
      darkSwatches.slice(0, 3),
    );
    assert.equal(print.backgroundFill, 'rgb(255, 255, 255)', `for print: ${PRINT_PALETTE['editor-background']}`);
    assert.equal(print.rootFill, 'rgb(31, 31, 31)', `for print: the palette's ink ${PRINT_PALETTE.foreground}`);
    assert.deepEqual(
      print.classCircles.slice(0, 3).map((c) => hexToRgb(c.stroke)),
      lightSwatches.slice(0, 3),
      'for print: the light theme’s class colours',
    );
    // The channel of the largest entropy is the ramp's top: the print palette's chart blue.
    const blue = hexToRgb(PRINT_PALETTE['charts-blue']);
    assert.ok(
      print.channelCircles.some((c) => c.fill === blue),
      `a channel circle in ${blue}`,
    );
    assert.ok(!themed.channelCircles.some((c) => c.fill === blue), 'the dark theme’s blue differs');
    const png = await exported(view, 'png', true);
    assert.deepEqual(await view.pngPixel(png.content, 2, 2), [255, 255, 255]);
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

  it('writes names with markup as text, and proposes a file name without path characters', async () => {
    const { view } = await openPacking(runs.tiny, 'pool1', 3);
    const svg = await exported(view, 'svg');
    assert.doesNotMatch(svg.fileName, /[/\\<>:"|?*\s]/);
    assert.match(svg.fileName, /-pool1-channels-epoch3\.svg$/);
    const r = await readSvg(view, svg.content);
    assert.equal(r.parseError, undefined);
    assert.ok(r.texts.includes(`Intra-sample entropy per class and channel: tiny ${HOSTILE_NAME}`), 'the run’s name is text');
    assert.ok(
      r.legendItems.some((l) => l.text.startsWith(`${HOSTILE_NAME}: `)),
      'the class’s name is text',
    );
    assert.equal(await view.page.evaluate(() => (window as unknown as { __xss?: number }).__xss), undefined);
    const csv = parseExportCsv((await exported(view, 'csv')).content);
    assert.equal(csv.header.get('run'), `tiny ${HOSTILE_NAME}`);
    assert.deepEqual([...new Set(csv.rows.map((f) => f[0]))], [...TINY_CLASSES, 'all samples']);
  });

  it('says there is nothing to export while the entropies have not been computed', async () => {
    assert.ok(suite);
    const failing: RequestHandler = (method, params) => {
      if (method === 'channelEntropies') throw new HostError({ code: 'internal', message: 'no entropies here' });
      return runs.engine.requestHandler([runs.wide])(method, params);
    };
    const view = await suite.open(runs.wide, { run: runs.wide.dir, layer: 'a' }, { onRequest: failing });
    await view.page.locator('#data-message', { hasText: 'no entropies here' }).waitFor();
    for (const format of ['svg', 'png', 'csv', 'json'] as const) {
      const answer = await view.requestExport(format);
      assert.ok(!answer.ok, `${format}: nothing to export`);
      assert.match(answer.message, /no circle packing to export yet/);
    }
  });
});

// Exporting the information-plane view (issue 17) in a real browser: the built bundle under the
// host's CSP, its plane computed by the engine's own handlers (matrix-based Rényi information) on
// the fixture runs, then asked for each export format as the host asks. Checked: the SVG parses and
// carries the title with α and the σ rule, both axes' titles in bits, a trajectory per
// representation in the colour the view shows it in, the legend of representations, the depth
// scale and the epoch key; the PNG is the SVG's size at twice the screen's pixel density; the CSV
// and JSON hold every plotted value the view holds, under a header of run, representations,
// epochs, samples and estimator parameters; "light background for print" draws the light theme's
// colours from a dark theme and leaves the view dark.
import * as assert from 'node:assert/strict';
import type { ExportContent, ExportFormat } from '../../src/shared/exportProtocol';
import { EXPORT_JSON_FORMAT } from '../../src/shared/exportTable';
import { PRINT_PALETTE } from '../../src/shared/printPalette';
import type { InfoPlaneSelection } from '../../src/shared/webviewProtocol';
import type { InfoPlaneViewModel } from '../../webview/infoplane/viewModel';
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
  /** Per trajectory group: its layer, its line's colour, and its markers' epochs. */
  readonly trajectories: { layer: string; stroke: string | null; markers: string[]; points: number }[];
  readonly legendNames: string[];
  readonly backgroundFill: string | null;
  readonly titleFill: string | null;
}

describe('information-plane view export (headless Chromium)', function () {
  this.timeout(120_000);
  let suite: FixtureViewSuite<InfoPlaneSelection> | undefined;
  let runs: FixtureRuns;

  before(async function () {
    requireChromium(this);
    suite = await FixtureViewSuite.start<InfoPlaneSelection>('infoplane', 'cnnslicer-infoplane-export-');
    runs = suite.runs;
  });

  after(async () => {
    await suite?.stop();
  });

  afterEach(async function () {
    await suite?.views.closeViews(this.currentTest?.state === 'passed', async (view) => {
      view.assertPostedValid();
    });
  });

  /** The wide run's plane (the input, a and b over epochs 0–2), once drawn. */
  async function openWide(
    theme: 'light' | 'dark',
    selection: Partial<InfoPlaneSelection> = {},
  ): Promise<{ view: ViewPage<InfoPlaneSelection>; model: InfoPlaneViewModel }> {
    assert.ok(suite);
    const view = await suite.open(runs.wide, { run: runs.wide.dir, ...selection }, { theme });
    await view.page.waitForFunction(() => {
      const m = window.cnnslicerInfoPlaneView?.();
      return m !== undefined && m.markers.length === 3 && m.planeEpochs.length === 3;
    });
    return { view, model: await view.page.evaluate(() => window.cnnslicerInfoPlaneView!()) };
  }

  async function exported(view: ViewPage<InfoPlaneSelection>, format: ExportFormat, light = false): Promise<Ok> {
    const answer = await view.requestExport(format, light);
    assert.ok(answer.ok, `the ${format} export failed: ${answer.ok ? '' : answer.message}`);
    assert.equal(answer.format, format);
    assert.equal(answer.encoding, format === 'png' ? 'base64' : 'utf8');
    return answer;
  }

  async function readSvg(view: ViewPage<InfoPlaneSelection>, text: string): Promise<SvgReading> {
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
        trajectories: Array.from(root.querySelectorAll('g.trajectory')).map((g) => ({
          layer: g.getAttribute('data-layer') ?? '',
          stroke: g.querySelector('polyline')?.getAttribute('stroke') ?? null,
          markers: Array.from(g.querySelectorAll('circle.marker')).map((c) => c.getAttribute('data-epoch') ?? ''),
          points: g.querySelectorAll('circle').length,
        })),
        legendNames: Array.from(root.querySelectorAll('.legend-entry .legend-name')).map((t) => t.textContent ?? ''),
        backgroundFill: root.querySelector('.figure-background')?.getAttribute('fill') ?? null,
        titleFill: root.getAttribute('fill'),
      };
    }, text);
  }

  it('has an Export button in its toolbar that asks the host to export', async () => {
    const { view } = await openWide('light');
    const button = view.page.locator('header.toolbar .toolbar-actions #export-view');
    assert.equal(await button.count(), 1);
    await button.click();
    const deadline = Date.now() + 10_000;
    while (!view.posted.some((m) => m.type === 'exportAsked')) {
      assert.ok(Date.now() < deadline, 'the Export button posted no exportAsked');
      await new Promise((r) => setTimeout(r, 20));
    }
  });

  it('exports the plane as an SVG that parses and holds the title with α and σ, the axes in bits, a trajectory per layer and the legend', async () => {
    const { view, model } = await openWide('light');
    const svg = await exported(view, 'svg');
    assert.equal(svg.fileName, 'wide-information-plane-epoch2.svg');
    const r = await readSvg(view, svg.content);
    assert.equal(r.parseError, undefined, 'the SVG parses as XML');
    assert.equal(r.rootName, 'http://www.w3.org/2000/svg svg');
    assert.ok(r.width > 0 && r.height > 0, 'the figure has a size');
    const title = 'Information plane of wide (Rényi α = 1.01, σ by the median rule)';
    assert.equal(r.title, title);
    assert.ok(r.texts.includes(title), 'the title is drawn, with the estimator’s α and σ rule');
    assert.ok(
      r.texts.some((t) => t.includes('kernels over n = 36 samples (all 36 probe samples)')),
      'the subtitle names the samples',
    );
    assert.ok(r.texts.includes('I(X; T), bits'), 'the x axis title with its unit');
    assert.ok(r.texts.includes('I(T; Y), bits'), 'the y axis title with its unit');
    assert.ok(r.texts.includes('0'), 'the axes start at zero');
    // A trajectory per representation, in the colour the view draws it in, its marker at the marked epoch.
    assert.deepEqual(
      r.trajectories.map((t) => t.layer),
      model.trajectories.map((t) => t.layer),
    );
    assert.deepEqual(
      model.trajectories.map((t) => t.layer),
      ['input', 'a', 'b'],
    );
    r.trajectories.forEach((t, i) => {
      assert.equal(t.stroke, model.trajectories[i].color, `${t.layer} in its depth's colour`);
      assert.deepEqual(t.markers, [String(model.marked)], `${t.layer}'s marker at the marked epoch`);
      assert.equal(t.points, model.trajectories[i].IXT.filter((v) => v !== null).length, `a point per epoch of ${t.layer}`);
    });
    // The legend: every representation, the depth scale and the epochs' key.
    assert.ok(r.texts.includes('Representations T by depth'));
    assert.deepEqual(r.legendNames, ['input', 'a', 'b']);
    assert.ok(r.texts.includes('Colour: depth (input 0 to the last layer)'));
    assert.ok(r.texts.includes('0: input') && r.texts.includes('2: b'), 'the depth scale’s ends');
    assert.ok(r.texts.includes('first epoch (0)') && r.texts.includes('marked epoch (2)'), 'the epochs’ key');
    assert.equal(r.backgroundFill, 'rgb(255, 255, 255)', 'the light theme’s background');
  });

  it('exports a PNG at twice the screen’s pixel density of the SVG’s size, on the theme’s background', async () => {
    const { view } = await openWide('dark');
    const svg = await readSvg(view, (await exported(view, 'svg')).content);
    const png = await exported(view, 'png');
    assert.equal(png.fileName, 'wide-information-plane-epoch2.png');
    const dpr = await view.page.evaluate(() => window.devicePixelRatio);
    const size = pngSize(Buffer.from(png.content, 'base64'));
    assert.deepEqual(size, { width: Math.round(svg.width * 2 * dpr), height: Math.round(svg.height * 2 * dpr) });
    assert.deepEqual(await view.pngPixel(png.content, 2, 2), [31, 31, 31], 'the dark editor background');
  });

  it('exports every plotted value as CSV and JSON, one row per representation and epoch, under a header of run, epochs, samples and estimator parameters', async () => {
    const { view, model } = await openWide('light', { epoch: 1, layer: 'a' });
    assert.equal(model.marked, 1);
    assert.equal(model.selectedLayer, 'a');
    const csv = await exported(view, 'csv');
    assert.equal(csv.fileName, 'wide-information-plane-epoch1.csv');
    const table = parseExportCsv(csv.content);
    assert.equal(table.header.get('title'), 'Information plane of wide (Rényi α = 1.01, σ by the median rule)');
    assert.equal(table.header.get('view'), 'information plane');
    assert.equal(table.header.get('run'), 'wide');
    assert.equal(table.header.get('run_dir'), runs.wide.dir);
    assert.equal(table.header.get('representations'), 'input, a, b');
    assert.equal(table.header.get('epochs'), '0, 1, 2');
    assert.equal(table.header.get('marked_epoch'), '1');
    assert.equal(table.header.get('selected_layer'), 'a');
    assert.equal(table.header.get('samples'), 'all 36 probe samples');
    assert.equal(table.header.get('n'), String(model.n));
    assert.equal(table.header.get('unit'), 'bits');
    assert.equal(table.header.get('renyi_alpha'), '1.01');
    assert.equal(table.header.get('renyi_sigma'), 'median');
    assert.match(table.header.get('estimator') ?? '', /Parameters: α = 1\.01; σ of each representation: the median distance/);
    assert.deepEqual(table.columns, ['layer', 'depth', 'epoch', 'ixt_bits', 'ity_bits']);
    // The rows are the view's trajectories, shallowest first, epochs in order, the values exactly those it holds.
    const expected = model.trajectories.flatMap((t) => t.epochs.map((epoch, k) => ({ layer: t.layer, depth: t.depth, epoch, IXT: t.IXT[k], ITY: t.ITY[k] })));
    assert.equal(table.rows.length, 9);
    assert.equal(expected.length, 9);
    table.rows.forEach((fields, i) => {
      const e = expected[i];
      assert.deepEqual(fields.slice(0, 3), [e.layer, String(e.depth), String(e.epoch)], `row ${i}`);
      assert.ok(e.IXT !== null && e.ITY !== null, 'the engine gave every value');
      assert.equal(Number(fields[3]), e.IXT, `I(X; T) of ${e.layer} at ${e.epoch}`);
      assert.equal(Number(fields[4]), e.ITY, `I(T; Y) of ${e.layer} at ${e.epoch}`);
    });
    // The values shown in the table beside the plane at the marked epoch are among them.
    const shown = await view.page.$$eval('#layer-table tbody tr', (rows) =>
      rows.map((r) => Array.from(r.querySelectorAll('td')).map((td) => td.textContent ?? '')),
    );
    for (const [depth, layer, ixt, ity] of shown) {
      const row = table.rows.find((f) => f[0] === layer && f[2] === '1');
      assert.ok(row, `a row for ${layer} at the marked epoch`);
      assert.equal(row[1], depth);
      assert.equal(Number(Number(row[3]).toPrecision(6)), Number(ixt));
      assert.equal(Number(Number(row[4]).toPrecision(6)), Number(ity));
    }

    const json = await exported(view, 'json');
    assert.equal(json.fileName, 'wide-information-plane-epoch1.json');
    const data = JSON.parse(json.content) as { format: string; version: number; meta: Record<string, unknown>; columns: string[]; rows: unknown[][] };
    assert.equal(data.format, EXPORT_JSON_FORMAT);
    assert.equal(data.version, 1);
    assert.deepEqual(data.columns, table.columns);
    assert.deepEqual(data.meta.epochs, [0, 1, 2]);
    assert.equal(data.meta.renyi_alpha, 1.01);
    assert.equal(data.meta.marked_epoch, 1);
    assert.deepEqual(
      data.rows,
      table.rows.map((f) => [f[0], Number(f[1]), Number(f[2]), Number(f[3]), Number(f[4])]),
      'the JSON holds the CSV’s rows',
    );
  });

  it('draws the selected layer thicker on top and the others faded, as the view does', async () => {
    const { view } = await openWide('light', { layer: 'b' });
    const widths = await view.page.evaluate(
      async (text) => {
        const doc = new DOMParser().parseFromString(text, 'image/svg+xml');
        return Array.from(doc.querySelectorAll('g.trajectory')).map((g) => [
          g.getAttribute('data-layer'),
          g.querySelector('polyline')?.getAttribute('stroke-width'),
          g.querySelector('polyline')?.getAttribute('stroke'),
        ]);
      },
      (await exported(view, 'svg')).content,
    );
    assert.equal(widths[widths.length - 1][0], 'b', 'the selected trajectory is drawn last, on top');
    assert.equal(widths[widths.length - 1][1], '3.5');
    for (const [layer, width, stroke] of widths.slice(0, -1)) {
      assert.equal(width, '1.75', `${layer} is thin`);
      assert.match(stroke ?? '', /^rgba\(.*, 0\.45\)$/, `${layer} is faded`);
    }
  });

  it('“light background for print” exports the light theme’s colours from a dark theme, and leaves the view in its theme', async () => {
    const light = await openWide('light');
    const lightColors = light.model.trajectories.map((t) => t.color);
    const { view, model } = await openWide('dark');
    const darkColors = model.trajectories.map((t) => t.color);
    assert.notDeepEqual(darkColors, lightColors, 'the dark theme uses another part of viridis');
    const themed = await readSvg(view, (await exported(view, 'svg')).content);
    const print = await readSvg(view, (await exported(view, 'svg', true)).content);
    assert.equal(themed.backgroundFill, 'rgb(31, 31, 31)', 'as shown: the dark editor background');
    assert.deepEqual(
      themed.trajectories.map((t) => t.stroke),
      darkColors,
    );
    assert.equal(print.backgroundFill, 'rgb(255, 255, 255)', 'for print: white');
    assert.equal(print.titleFill, 'rgb(31, 31, 31)', `for print: the palette's ink ${PRINT_PALETTE.foreground}`);
    assert.deepEqual(
      print.trajectories.map((t) => t.stroke),
      lightColors,
      'for print: the light theme’s depth colours',
    );
    const png = await exported(view, 'png', true);
    assert.deepEqual(await view.pngPixel(png.content, 2, 2), [255, 255, 255]);
    // The view itself is still dark, and redrew in its own colours.
    const after = await view.page.evaluate(() => ({
      bodyClass: document.body.className,
      background: getComputedStyle(document.documentElement).getPropertyValue('--vscode-editor-background').trim(),
    }));
    assert.match(after.bodyClass, /vscode-dark/);
    assert.doesNotMatch(after.bodyClass, /vscode-light/);
    assert.equal(after.background, '#1f1f1f');
    await view.page.waitForFunction(
      (colors) => JSON.stringify(window.cnnslicerInfoPlaneView?.().trajectories.map((t) => t.color)) === JSON.stringify(colors),
      darkColors,
    );
    const again = await readSvg(view, (await exported(view, 'svg')).content);
    assert.deepEqual(
      again.trajectories.map((t) => t.stroke),
      darkColors,
    );
  });

  it('writes a run named with markup as text, and proposes a file name without path characters', async () => {
    assert.ok(suite);
    const view = await suite.open(runs.tiny, { run: runs.tiny.dir });
    await view.page.waitForFunction(() => (window.cnnslicerInfoPlaneView?.().markers.length ?? 0) > 0);
    const svg = await exported(view, 'svg');
    assert.doesNotMatch(svg.fileName, /[/\\<>:"|?*\s]/);
    assert.match(svg.fileName, /-information-plane-epoch3\.svg$/);
    const r = await readSvg(view, svg.content);
    assert.equal(r.parseError, undefined);
    assert.ok(r.title.startsWith(`Information plane of tiny ${HOSTILE_NAME} (`), 'the name is text');
    assert.equal(await view.page.evaluate(() => (window as unknown as { __xss?: number }).__xss), undefined);
    const csv = parseExportCsv((await exported(view, 'csv')).content);
    assert.equal(csv.header.get('run'), `tiny ${HOSTILE_NAME}`);
    assert.equal(csv.header.get('representations'), 'input, conv1, relu1, pool1');
  });

  it('says there is nothing to export while the plane has not been computed', async () => {
    assert.ok(suite);
    const failing: RequestHandler = (method, params) => {
      if (method === 'infoPlane') throw new HostError({ code: 'internal', message: 'no plane here' });
      return runs.engine.requestHandler([runs.wide])(method, params);
    };
    const view = await suite.open(runs.wide, { run: runs.wide.dir }, { onRequest: failing });
    await view.page.locator('#plane-message', { hasText: 'no plane here' }).waitFor();
    for (const format of ['svg', 'png', 'csv', 'json'] as const) {
      const answer = await view.requestExport(format);
      assert.ok(!answer.ok, `${format}: nothing to export`);
      assert.match(answer.message, /nothing to export yet/);
    }
  });
});

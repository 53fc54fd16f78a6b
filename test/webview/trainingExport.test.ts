// Exporting the training view (issue 17) in a real browser: the built bundle under the host's CSP,
// fed the label entropies the engine computed for the fixture runs, then asked for each export
// format as the host asks (an `exportRequest` message). The export is the label-entropy card,
// (B) and (C). Checked: the SVG parses and carries the title, both charts' axis titles, a line
// per class in the colour the chart draws it, the ∞ marks where the chart has them, and the class
// legend; the PNG is the SVG's size at twice the screen's pixel density; the CSV and JSON hold
// the values the charts show (read from the charts' own datasets), a hidden class left out, under
// a header naming the run, the epochs, the samples and the estimator; "light background for
// print" gives the print palette's colours and the light theme's class colours.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import type { ExportContent, ExportFormat } from '../../src/shared/exportProtocol';
import { EXPORT_JSON_FORMAT } from '../../src/shared/exportTable';
import { PRINT_PALETTE } from '../../src/shared/printPalette';
import type { PanelRun, TrainingSelection } from '../../src/shared/webviewProtocol';
// For its declaration of window.cnnslicerCharts, which the page evaluations below read.
import type {} from '../../webview/shared/charts';
import { parseExportCsv, pngSize } from '../support/exportFiles';
import { tempDir } from '../support/runFixtures';
import { HostError, requireChromium, ViewSuite, type RequestHandler, type ViewPage } from './harness';
import type { TestTheme } from './themes';
import { CLASSES, HOSTILE_NAME, writeTrainingRuns, type RecordedRun } from './trainingFixture';

type Ok = Extract<ExportContent, { ok: true }>;

/** A chart's lines as the view hands them to chart.js: the class lines, without the ∞ marks' datasets. */
interface ShownLine {
  readonly label: string;
  readonly color: string;
  readonly points: { x: number; y: number | null }[];
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
  readonly rootFill: string | null;
  /** Per chart (by its class): its lines' series names and colours, its axis titles and its ∞ marks. */
  readonly charts: Record<
    string,
    { lines: { series: string; stroke: string; segments: number }[]; axisTitles: string[]; marks: { series: string; fill: string }[]; cursor: boolean }
  >;
  readonly legend: { series: string; stroke: string }[];
}

const CHART_IDS = ['chart-label-given-prediction', 'chart-prediction-given-label'] as const;

describe('training view export (headless Chromium)', function () {
  this.timeout(90_000);
  let suite: ViewSuite<TrainingSelection> | undefined;
  let scratch: string | undefined;
  let small: RecordedRun;
  let large: RecordedRun;

  before(async function () {
    requireChromium(this);
    suite = await ViewSuite.start<TrainingSelection>('training');
    scratch = tempDir('cnnslicer-training-export-');
    ({ small, large } = await writeTrainingRuns(scratch));
  });

  after(async () => {
    await suite?.stop();
    if (scratch !== undefined) fs.rmSync(scratch, { recursive: true, force: true });
  });

  afterEach(async function () {
    await suite?.closeViews(this.currentTest?.state === 'passed', async (view) => {
      // What the view posted, its export answers included, is what the host's parsers accept.
      view.assertPostedValid();
    });
  });

  function recordedAnswers(runs: readonly RecordedRun[]): RequestHandler {
    return (method, params) => {
      const run = runs.find((r) => r.info.dir === params.run);
      if (run === undefined) throw new HostError({ code: 'bad-request', message: `the view does not show the run ${String(params.run)}` });
      if (method === 'labelEntropies') return run.labels;
      if (method === 'interSampleEntropy') return run.inputEntropy;
      throw new HostError({ code: 'bad-request', message: `no recorded answer for ${method}` });
    };
  }

  function panelRuns(runs: readonly RecordedRun[]): PanelRun[] {
    return runs.map((r) => ({ dir: r.info.dir, state: 'loaded', info: r.info }));
  }

  /** The view with `runs`, the first chosen, once its label-entropy charts show every epoch. */
  async function openTraining(runs: readonly RecordedRun[], theme: TestTheme = 'light', onRequest?: RequestHandler): Promise<ViewPage<TrainingSelection>> {
    assert.ok(suite);
    const view = await suite.openView({ theme, onRequest: onRequest ?? recordedAnswers(runs) });
    await view.waitForReady();
    await view.push({ kind: 'runs', runs: panelRuns(runs) });
    await view.push({ kind: 'selection', selection: { run: runs[0].info.dir } });
    if (onRequest === undefined) {
      const epochs = runs[0].labels.items.length;
      await view.page.waitForFunction((n) => (window.cnnslicerCharts?.get('chart-label-given-prediction')?.data.datasets[0]?.data.length ?? 0) === n, epochs);
    }
    return view;
  }

  async function shownLines(view: ViewPage<TrainingSelection>, chartId: string): Promise<ShownLine[]> {
    return view.page.evaluate(
      (id) =>
        (window.cnnslicerCharts?.get(id)?.data.datasets ?? [])
          .filter((d) => !String(d.label).startsWith('∞') && d.hidden !== true)
          .map((d) => ({
            label: String(d.label),
            color: String(d.borderColor),
            points: (d.data as { x: number; y: number | null }[]).map((p) => ({ x: p.x, y: p.y })),
          })),
      chartId,
    );
  }

  async function exported(view: ViewPage<TrainingSelection>, format: ExportFormat, light = false): Promise<Ok> {
    const answer = await view.requestExport(format, light);
    assert.ok(answer.ok, `the ${format} export failed: ${answer.ok ? '' : answer.message}`);
    assert.equal(answer.format, format);
    assert.equal(answer.encoding, format === 'png' ? 'base64' : 'utf8');
    return answer;
  }

  async function readSvg(view: ViewPage<TrainingSelection>, text: string): Promise<SvgReading> {
    return view.page.evaluate(
      ({ svgText, ids }) => {
        const doc = new DOMParser().parseFromString(svgText, 'image/svg+xml');
        const root = doc.documentElement;
        const charts: SvgReading['charts'] = {};
        for (const id of ids) {
          const chart = root.querySelector(`g.chart.${id}`);
          if (chart === null) continue;
          charts[id] = {
            lines: Array.from(chart.querySelectorAll('g.line')).map((l) => ({
              series: l.getAttribute('data-series') ?? '',
              stroke: l.getAttribute('stroke') ?? '',
              segments: l.querySelectorAll('polyline').length,
            })),
            axisTitles: Array.from(chart.querySelectorAll('.axis-title')).map((t) => t.textContent ?? ''),
            marks: Array.from(chart.querySelectorAll('.mark')).map((m) => ({
              series: m.getAttribute('data-series') ?? '',
              fill: m.getAttribute('fill') ?? '',
            })),
            cursor: chart.querySelector('.cursor') !== null,
          };
        }
        return {
          parseError: doc.querySelector('parsererror')?.textContent ?? undefined,
          rootName: `${root.namespaceURI} ${root.localName}`,
          width: Number(root.getAttribute('width')),
          height: Number(root.getAttribute('height')),
          title: root.querySelector('title')?.textContent ?? '',
          texts: Array.from(root.querySelectorAll('text')).map((t) => t.textContent ?? ''),
          backgroundFill: root.querySelector('.figure-background')?.getAttribute('fill') ?? null,
          rootFill: root.getAttribute('fill'),
          charts,
          legend: Array.from(root.querySelectorAll('.legend-item')).map((item) => ({
            series: item.getAttribute('data-series') ?? '',
            stroke: item.querySelector('line')?.getAttribute('stroke') ?? '',
          })),
        };
      },
      { svgText: text, ids: [...CHART_IDS] },
    );
  }

  it('has an Export button in the toolbar that asks the host to export', async () => {
    const view = await openTraining([small]);
    const button = view.page.locator('header.toolbar .toolbar-actions #export-view');
    assert.equal(await button.count(), 1);
    await button.click();
    const deadline = Date.now() + 10_000;
    while (!view.posted.some((m) => m.type === 'exportAsked')) {
      assert.ok(Date.now() < deadline, 'the Export button posted no exportAsked');
      await new Promise((r) => setTimeout(r, 20));
    }
  });

  it('exports the label-entropy charts as an SVG that parses and holds the title, axis titles, lines, ∞ marks and class legend', async () => {
    const view = await openTraining([small], 'light');
    const svg = await exported(view, 'svg');
    assert.match(svg.fileName, /^small-.*-label-entropies-epochs0-3\.svg$/);
    assert.doesNotMatch(svg.fileName, /[/\\<>:"|?*\s]/);
    const r = await readSvg(view, svg.content);
    assert.equal(r.parseError, undefined, 'the SVG parses as XML');
    assert.equal(r.rootName, 'http://www.w3.org/2000/svg svg');
    assert.ok(r.width > 0 && r.height > 0);
    const title = `Label entropies over epochs: ${small.info.name}`;
    assert.equal(r.title, title);
    assert.ok(r.texts.includes(title), 'the title is drawn, the run’s markup as text');
    assert.equal(await view.page.evaluate(() => (window as unknown as { __xss?: number }).__xss), undefined);
    const subtitle = r.texts.join(' ');
    assert.match(subtitle, /epochs 0–3; all 30 probe samples/);
    assert.match(subtitle, /marks epoch 3 \(accuracy 96\.7%\)/);
    assert.match(subtitle, /argmax of the logits/);
    assert.ok(r.texts.some((t) => t.startsWith('(B) H(label | y = i)')) && r.texts.some((t) => t.startsWith('(C) H(y | label = i)')));
    assert.ok(
      r.texts.some((t) => t.startsWith('∞ = never predicted')),
      'what ∞ means',
    );
    for (const [id, yTitle] of [
      ['chart-label-given-prediction', 'H(label | y = i), bits'],
      ['chart-prediction-given-label', 'H(y | label = i), bits'],
    ] as const) {
      const chart = r.charts[id];
      assert.ok(chart, `the chart ${id} is in the figure`);
      assert.deepEqual(chart.axisTitles, ['epoch', yTitle]);
      const shown = await shownLines(view, id);
      assert.deepEqual(
        chart.lines.map((l) => [l.series, l.stroke]),
        shown.map((l) => [l.label, l.color]),
        'a line per class, in the colour the chart draws it',
      );
      assert.ok(chart.cursor, 'the marked epoch');
    }
    // (B): class one never predicted at epoch 0, the markup-named class at epochs 0 and 1: their
    // lines start after the gap and an ∞ stands at each gap, in the class's colour.
    const b = r.charts['chart-label-given-prediction'];
    const bShown = await shownLines(view, 'chart-label-given-prediction');
    assert.deepEqual(
      b.marks.map((m) => m.series),
      ['one', HOSTILE_NAME, HOSTILE_NAME],
    );
    assert.deepEqual(
      b.marks.map((m) => m.fill),
      [bShown[1].color, bShown[2].color, bShown[2].color],
    );
    assert.deepEqual(r.charts['chart-prediction-given-label'].marks, [], '(C) is defined everywhere');
    assert.deepEqual(
      r.legend.map((l) => [l.series, l.stroke]),
      bShown.map((l) => [l.label, l.color]),
      'the class legend',
    );
    assert.ok(r.texts.includes(HOSTILE_NAME), 'a class named with markup is text in the legend');
    assert.equal(r.backgroundFill, 'rgb(255, 255, 255)', 'the light theme’s background');
  });

  it('exports a PNG at twice the screen’s pixel density of the SVG’s size, on the theme’s background', async () => {
    const view = await openTraining([small], 'dark');
    const svg = await readSvg(view, (await exported(view, 'svg')).content);
    const png = await exported(view, 'png');
    assert.match(png.fileName, /-label-entropies-epochs0-3\.png$/);
    const dpr = await view.page.evaluate(() => window.devicePixelRatio);
    assert.deepEqual(pngSize(Buffer.from(png.content, 'base64')), { width: Math.round(svg.width * 2 * dpr), height: Math.round(svg.height * 2 * dpr) });
    assert.deepEqual(await view.pngPixel(png.content, 2, 2), [31, 31, 31], 'the dark theme’s editor background');
  });

  it('exports the values the charts show as CSV and JSON, a hidden class left out, under a header of run, epochs, samples and estimator', async () => {
    const view = await openTraining([large, small], 'light');
    // The user hides class "zero" and looks at epoch 1 in the matrix.
    await view.page.locator('#class-legend .legend-item', { hasText: 'zero' }).click();
    await view.page.waitForFunction(() => window.cnnslicerCharts?.get('chart-label-given-prediction')?.data.datasets[0]?.hidden === true);
    await view.page.locator('#epoch-slider').fill('1');
    await view.page.locator('#epoch-label', { hasText: '1' }).waitFor();
    const b = await shownLines(view, 'chart-label-given-prediction');
    const c = await shownLines(view, 'chart-prediction-given-label');
    assert.deepEqual(
      b.map((l) => l.label),
      ['one', HOSTILE_NAME],
    );

    const csv = await exported(view, 'csv');
    assert.equal(csv.fileName, 'large-probe-label-entropies-epochs0-2.csv');
    const table = parseExportCsv(csv.content);
    assert.equal(table.header.get('title'), 'Label entropies over epochs: large-probe');
    assert.equal(table.header.get('view'), 'training');
    assert.equal(table.header.get('run'), 'large-probe');
    assert.equal(table.header.get('run_dir'), large.info.dir);
    assert.equal(table.header.get('epochs'), '0, 1, 2');
    assert.equal(table.header.get('marked_epoch'), '1');
    assert.equal(table.header.get('accuracy_at_marked_epoch'), String(large.labels.items[1].accuracy));
    assert.equal(table.header.get('samples'), 'all 60 probe samples');
    assert.equal(table.header.get('classes'), `one, ${HOSTILE_NAME}`);
    assert.equal(table.header.get('classes_hidden'), 'zero');
    assert.equal(table.header.get('unit'), 'bits');
    assert.match(table.header.get('measure') ?? '', /argmax of the logits/);
    assert.deepEqual(table.columns, ['epoch', 'class', 'h_label_given_prediction_bits', 'h_prediction_given_label_bits']);
    // One row per epoch and shown class, each value the one the chart plots (a gap: empty).
    const expected = b[0].points.flatMap((p, e) => b.map((line, k) => [String(p.x), line.label, line.points[e].y, c[k].points[e].y] as const));
    assert.equal(table.rows.length, 3 * 2);
    table.rows.forEach((row, i) => {
      const [epoch, name, hb, hc] = expected[i];
      assert.deepEqual(row.slice(0, 2), [epoch, name], `row ${i}`);
      assert.equal(row[2] === '' ? null : Number(row[2]), hb, `(B) of ${name} at epoch ${epoch}`);
      assert.equal(row[3] === '' ? null : Number(row[3]), hc, `(C) of ${name} at epoch ${epoch}`);
    });
    // The large run's class 2 is never predicted at epoch 0: its (B) is a gap, and an empty cell.
    assert.deepEqual(table.rows[1].slice(0, 3), ['0', HOSTILE_NAME, '']);

    const json = await exported(view, 'json');
    assert.equal(json.fileName, 'large-probe-label-entropies-epochs0-2.json');
    const data = JSON.parse(json.content) as { format: string; version: number; meta: Record<string, unknown>; columns: string[]; rows: unknown[][] };
    assert.equal(data.format, EXPORT_JSON_FORMAT);
    assert.equal(data.version, 1);
    assert.deepEqual(data.columns, table.columns);
    assert.deepEqual(data.meta.epochs, [0, 1, 2]);
    assert.deepEqual(data.meta.classes_hidden, ['zero']);
    assert.deepEqual(
      data.rows,
      expected.map(([epoch, name, hb, hc]) => [Number(epoch), name, hb, hc]),
      'the JSON holds the charts’ values, null at a gap',
    );

    // The figure leaves the hidden class out too, and marks epoch 1.
    const svg = await readSvg(view, (await exported(view, 'svg')).content);
    assert.deepEqual(
      svg.charts['chart-label-given-prediction'].lines.map((l) => l.series),
      ['one', HOSTILE_NAME],
    );
    assert.ok(svg.texts.some((t) => t.includes('Hidden in the view, and here: zero.')));
    assert.match(svg.texts.join(' '), /marks epoch 1 \(/);
  });

  it('“light background for print” exports the print palette and the light theme’s class colours from a dark theme, and leaves the view dark', async () => {
    const light = await openTraining([small], 'light');
    const lightColors = (await shownLines(light, 'chart-label-given-prediction')).map((l) => l.color);
    const view = await openTraining([small], 'dark');
    const darkColors = (await shownLines(view, 'chart-label-given-prediction')).map((l) => l.color);
    assert.notDeepEqual(darkColors, lightColors, 'the dark theme has its own class colours');
    const themed = await readSvg(view, (await exported(view, 'svg')).content);
    const print = await readSvg(view, (await exported(view, 'svg', true)).content);
    assert.equal(themed.backgroundFill, 'rgb(31, 31, 31)', 'as shown: the dark editor background');
    assert.deepEqual(
      themed.charts['chart-label-given-prediction'].lines.map((l) => l.stroke),
      darkColors,
    );
    assert.equal(print.backgroundFill, 'rgb(255, 255, 255)', `for print: ${PRINT_PALETTE['editor-background']}`);
    assert.equal(print.rootFill, 'rgb(31, 31, 31)', `for print: the palette's ink ${PRINT_PALETTE.foreground}`);
    assert.deepEqual(
      print.charts['chart-label-given-prediction'].lines.map((l) => l.stroke),
      lightColors,
      'for print: the light theme’s class colours',
    );
    assert.deepEqual(
      print.legend.map((l) => l.stroke),
      lightColors,
    );
    const png = await exported(view, 'png', true);
    assert.deepEqual(await view.pngPixel(png.content, 2, 2), [255, 255, 255]);
    // The view itself is still dark, and its charts are drawn in the dark colours again.
    const after = await view.page.evaluate(() => ({
      bodyClass: document.body.className,
      background: getComputedStyle(document.documentElement).getPropertyValue('--vscode-editor-background').trim(),
    }));
    assert.match(after.bodyClass, /vscode-dark/);
    assert.doesNotMatch(after.bodyClass, /vscode-light/);
    assert.equal(after.background, '#1f1f1f');
    await view.page.waitForFunction(
      (first) => String(window.cnnslicerCharts?.get('chart-label-given-prediction')?.data.datasets[0]?.borderColor) === first,
      darkColors[0],
    );
  });

  it('says there is nothing to export while the label entropies have not been computed', async () => {
    const failing: RequestHandler = (method, params) => {
      if (method === 'labelEntropies') throw new HostError({ code: 'internal', message: 'no label entropies here' });
      return recordedAnswers([small])(method, params);
    };
    const view = await openTraining([small], 'light', failing);
    await view.page.locator('#matrix-message', { hasText: 'no label entropies here' }).waitFor();
    for (const format of ['svg', 'png', 'csv', 'json'] as const) {
      const answer = await view.requestExport(format);
      assert.ok(!answer.ok, `${format}: nothing to export`);
      assert.match(answer.message, /no label entropies to export yet/);
    }
  });

  it('exports the classes in the run’s own order, every class when none is hidden', async () => {
    const view = await openTraining([small], 'light');
    const table = parseExportCsv((await exported(view, 'csv')).content);
    assert.equal(table.header.get('classes'), CLASSES.join(', '));
    assert.equal(table.header.has('classes_hidden'), false);
    assert.equal(table.rows.length, small.labels.items.length * CLASSES.length);
    assert.deepEqual(
      table.rows.slice(0, 3).map((r) => r[1]),
      CLASSES,
    );
  });
});

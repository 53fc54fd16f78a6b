// The training-performance view (paper §5.2, Fig. 4) in a real browser: the built bundle under the
// host's CSP, fed with engine results computed for real on fixture runs, checked by what a user
// sees: cell colours, tooltips, gaps and ∞ marks, the epoch slider, run colours, names as text.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import type { PanelRun, TrainingSelection } from '../../src/shared/webviewProtocol';
// For its declaration of window.cnnslicerCharts, which the page evaluations below read.
import type {} from '../../webview/shared/charts';
import { tempDir } from '../support/runFixtures';
import { HostError, requireChromium, ViewSuite, type RequestHandler, type ViewPage } from './harness';
import type { TestTheme } from './themes';
import { CLASSES, HOSTILE_NAME, withoutLastEpoch, writeTrainingRuns, type RecordedRun } from './trainingFixture';

interface Rgb {
  r: number;
  g: number;
  b: number;
}

function parseRgb(css: string): Rgb {
  const m = /rgba?\((\d+(?:\.\d+)?),\s*(\d+(?:\.\d+)?),\s*(\d+(?:\.\d+)?)/.exec(css);
  assert.ok(m, `not an rgb() colour: ${css}`);
  return { r: Number(m[1]), g: Number(m[2]), b: Number(m[3]) };
}

function hexRgb(hex: string): Rgb {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  assert.ok(m, `not a #rrggbb colour: ${hex}`);
  return { r: parseInt(m[1], 16), g: parseInt(m[2], 16), b: parseInt(m[3], 16) };
}

function luminance(c: Rgb): number {
  const ch = (v: number): number => {
    const s = v / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * ch(c.r) + 0.7152 * ch(c.g) + 0.0722 * ch(c.b);
}

function contrast(a: Rgb, b: Rgb): number {
  const [la, lb] = [luminance(a), luminance(b)];
  return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
}

interface CellInfo {
  row: number;
  col: number;
  count: number;
  text: string;
  background: string;
}

interface DatasetInfo {
  label: string;
  data: { x: number; y: number | null }[];
  borderColor: unknown;
  backgroundColor: unknown;
}

describe('training view (headless Chromium)', function () {
  this.timeout(60_000);
  let suite: ViewSuite<TrainingSelection> | undefined;
  let scratch: string | undefined;
  let small: RecordedRun;
  let large: RecordedRun;

  before(async function () {
    requireChromium(this);
    suite = await ViewSuite.start<TrainingSelection>('training');
    scratch = tempDir('cnnslicer-webview-');
    ({ small, large } = await writeTrainingRuns(scratch));
  });

  after(async () => {
    await suite?.stop();
    if (scratch !== undefined) fs.rmSync(scratch, { recursive: true, force: true });
  });

  // Every view opened by a test must have run without a CSP violation or an error in its console.
  afterEach(async function () {
    await suite?.closeViews(this.currentTest?.state === 'passed');
  });

  function recordedAnswers(runs: readonly RecordedRun[]): RequestHandler {
    return (method, params) => {
      if (method === 'addRuns') return { added: [] };
      const run = runs.find((r) => r.info.dir === params.run);
      if (run === undefined) throw new HostError({ code: 'bad-request', message: `the view does not show the run ${String(params.run)}` });
      if (method === 'labelEntropies') return run.labels;
      if (method === 'interSampleEntropy') return run.inputEntropy;
      if (method === 'removeRun') return { removed: true };
      if (method === 'showRunSummary') return {};
      throw new HostError({ code: 'bad-request', message: `no recorded answer for ${method}` });
    };
  }

  function panelRuns(runs: readonly RecordedRun[]): PanelRun[] {
    return runs.map((r) => ({ dir: r.info.dir, state: 'loaded', info: r.info }));
  }

  /** Opens the view as the host does: on `ready`, the runs, then the selection a command chose. */
  async function openTraining(
    runs: readonly RecordedRun[],
    options: { theme?: TestTheme; savedState?: unknown; selection?: TrainingSelection; onRequest?: RequestHandler } = {},
  ): Promise<ViewPage<TrainingSelection>> {
    assert.ok(suite);
    const view = await suite.openView({ theme: options.theme, savedState: options.savedState, onRequest: options.onRequest ?? recordedAnswers(runs) });
    await view.page.waitForFunction(() => true);
    await view.waitForReady();
    await view.push({ kind: 'runs', runs: panelRuns(runs) });
    // As ViewPanels does: a new panel gets the command's selection, a restored one keeps its own.
    const selection = options.selection ?? (options.savedState === undefined && runs.length > 0 ? { run: runs[0].info.dir } : undefined);
    if (selection !== undefined) await view.push({ kind: 'selection', selection });
    return view;
  }

  async function cells(view: ViewPage<TrainingSelection>): Promise<CellInfo[]> {
    await view.page.locator('#confusion td.cell').first().waitFor();
    return view.page.$$eval('#confusion td.cell', (tds) =>
      tds.map((td) => {
        const el = td as HTMLElement;
        return {
          row: Number(el.dataset.row),
          col: Number(el.dataset.col),
          count: Number(el.dataset.count),
          text: el.textContent ?? '',
          background: getComputedStyle(el).backgroundColor,
        };
      }),
    );
  }

  function countsOf(list: CellInfo[]): number[][] {
    const k = Math.round(Math.sqrt(list.length));
    const m = Array.from({ length: k }, () => new Array<number>(k).fill(-1));
    for (const c of list) m[c.row][c.col] = c.count;
    return m;
  }

  async function setEpochIndex(view: ViewPage<TrainingSelection>, index: number): Promise<void> {
    await view.page.locator('#epoch-slider').fill(String(index));
  }

  async function waitForEpochLabel(view: ViewPage<TrainingSelection>, text: string): Promise<void> {
    await view.page.locator('#epoch-label', { hasText: text }).waitFor();
  }

  async function datasets(view: ViewPage<TrainingSelection>, canvasId: string): Promise<DatasetInfo[]> {
    await view.page.waitForFunction((id) => window.cnnslicerCharts?.get(id) !== undefined, canvasId);
    return view.page.evaluate(
      (id) =>
        (window.cnnslicerCharts?.get(id)?.data.datasets ?? []).map((d) => ({
          label: String(d.label),
          data: (d.data as { x: number; y: number | null }[]).map((p) => ({ x: p.x, y: p.y })),
          borderColor: d.borderColor,
          backgroundColor: d.backgroundColor,
        })),
      canvasId,
    );
  }

  /** The one dataset of a bar chart: its values and bar colours. */
  async function bars(view: ViewPage<TrainingSelection>, canvasId: string): Promise<{ values: (number | null)[]; colors: string[] }> {
    await view.page.waitForFunction((id) => window.cnnslicerCharts?.get(id) !== undefined, canvasId);
    return view.page.evaluate((id) => {
      const d = window.cnnslicerCharts?.get(id)?.data.datasets[0];
      return { values: (d?.data ?? []) as (number | null)[], colors: (d?.backgroundColor ?? []) as string[] };
    }, canvasId);
  }

  async function chartOption(view: ViewPage<TrainingSelection>, canvasId: string, path: string[]): Promise<unknown> {
    return view.page.evaluate(
      ({ id, keys }) => {
        let v: unknown = window.cnnslicerCharts?.get(id)?.options;
        for (const k of keys) v = (v as Record<string, unknown> | undefined)?.[k];
        return v;
      },
      { id: canvasId, keys: path },
    );
  }

  it('shows the confusion matrix of the newest epoch, every probe sample counted once', async () => {
    const view = await openTraining([small]);
    await waitForEpochLabel(view, '3 (newest)');
    const last = small.plan[small.plan.length - 1];
    assert.deepEqual(
      countsOf(await cells(view)),
      last.map((row) => [...row]),
    );
    await view.page.locator('#matrix-caption', { hasText: `Epoch 3: ${small.info.manifest.probe.count} samples` }).waitFor();
    // Rows are true labels, columns predictions, both labelled with the run's class names.
    assert.deepEqual(await view.page.locator('#confusion th.row-head').allTextContents(), CLASSES);
    assert.deepEqual(await view.page.locator('#confusion th.col-head .class-name').allTextContents(), CLASSES);
  });

  it('colours cells by count: in a light theme a cell is darker the more instances it holds', async () => {
    const view = await openTraining([small], { theme: 'light' });
    await setEpochIndex(view, 2);
    await waitForEpochLabel(view, '2');
    const list = await cells(view);
    assert.deepEqual(
      countsOf(list),
      small.plan[2].map((row) => [...row]),
    );
    const background = hexRgb('#ffffff');
    const byCount = [...list].sort((a, b) => a.count - b.count);
    for (const c of byCount.filter((c) => c.count === 0))
      assert.deepEqual(parseRgb(c.background), background, 'a cell with no instance is the editor background');
    const nonZero = byCount.filter((c) => c.count > 0);
    // Epoch 2's non-zero counts are all different: 1, 2, 3, 7, 8, 9.
    assert.deepEqual(
      nonZero.map((c) => c.count),
      [1, 2, 3, 7, 8, 9],
    );
    const lum = nonZero.map((c) => luminance(parseRgb(c.background)));
    for (let i = 1; i < lum.length; i++)
      assert.ok(lum[i] < lum[i - 1], `count ${nonZero[i].count} (luminance ${lum[i]}) should be darker than count ${nonZero[i - 1].count} (${lum[i - 1]})`);
    assert.ok(lum[0] < luminance(background), 'even one instance is darker than an empty cell');
    // Counts are written in the cells, readable on their colour.
    const nine = list.find((c) => c.count === 9);
    assert.equal(nine?.text, '9');
  });

  it('shows "true <class> → predicted <class>: N" when hovering a cell', async () => {
    const view = await openTraining([small]);
    await setEpochIndex(view, 2);
    await waitForEpochLabel(view, '2');
    await view.page.locator('#confusion td.cell[data-row="2"][data-col="0"]').hover();
    const tooltip = view.page.locator('#view-tooltip');
    await tooltip.waitFor({ state: 'visible' });
    assert.equal(await tooltip.textContent(), `true ${HOSTILE_NAME} → predicted zero: 3`);
    await view.page.locator('#confusion td.cell[data-row="1"][data-col="1"]').hover();
    await view.page.locator('#view-tooltip', { hasText: 'true one → predicted one: 8' }).waitFor();
    await view.page.mouse.move(2, 2);
    await tooltip.waitFor({ state: 'hidden' });
  });

  it('draws undefined label entropies as gaps with ∞ marks at the top, never as 0', async () => {
    const view = await openTraining([small]);
    await waitForEpochLabel(view, '3 (newest)');
    const b = await datasets(view, 'chart-label-given-prediction');
    const lines = b.filter((d) => !d.label.startsWith('∞'));
    const marks = b.filter((d) => d.label.startsWith('∞'));
    assert.deepEqual(
      lines.map((d) => d.label),
      CLASSES,
    );
    const epochs = small.labels.items.map((i) => i.epoch);
    for (let c = 0; c < CLASSES.length; c++) {
      assert.deepEqual(
        lines[c].data.map((p) => p.x),
        epochs,
      );
      const expected = small.labels.items.map((item) => item.labelGivenPrediction[c] ?? null);
      assert.deepEqual(
        lines[c].data.map((p) => p.y),
        expected,
        `class ${c}: one point per epoch, null where the entropy is undefined`,
      );
    }
    // Class one was never predicted at epoch 0, the hostile-named class at epochs 0 and 1.
    assert.deepEqual(
      lines[1].data.filter((p) => p.y === null).map((p) => p.x),
      [0],
    );
    assert.deepEqual(
      lines[2].data.filter((p) => p.y === null).map((p) => p.x),
      [0, 1],
    );
    assert.ok(lines[0].data.every((p) => typeof p.y === 'number'));
    // spanGaps is off, so chart.js breaks the line at each null instead of bridging it.
    const spanGaps = await view.page.evaluate(() =>
      window.cnnslicerCharts
        ?.get('chart-label-given-prediction')
        ?.data.datasets.slice(0, 3)
        .map((d) => (d as { spanGaps?: unknown }).spanGaps),
    );
    assert.deepEqual(spanGaps, [false, false, false]);
    // One ∞ mark per gap, at the gap's epoch, above every value.
    const top = (await chartOption(view, 'chart-label-given-prediction', ['scales', 'y', 'max'])) as number;
    assert.deepEqual(
      marks.map((d) => [d.label, d.data.map((p) => p.x)]),
      [
        ['∞ zero', []],
        ['∞ one', [0]],
        [`∞ ${HOSTILE_NAME}`, [0, 1]],
      ],
    );
    for (const m of marks) for (const p of m.data) assert.ok(p.y !== null && p.y > Math.log2(3) && p.y <= top, `∞ mark at y = ${p.y}, axis top ${top}`);
    await view.page.locator('.infinity-note', { hasText: '∞ = never predicted' }).waitFor();
    // (C): every class has samples, so H(y | label = i) is defined everywhere.
    const c = await datasets(view, 'chart-prediction-given-label');
    assert.ok(c.filter((d) => !d.label.startsWith('∞')).every((d) => d.data.every((p) => typeof p.y === 'number')));
    assert.ok(c.filter((d) => d.label.startsWith('∞')).every((d) => d.data.length === 0));
    // At epoch 0 the matrix marks the never-predicted columns with the same ∞.
    await setEpochIndex(view, 0);
    await waitForEpochLabel(view, '0');
    assert.deepEqual(await view.page.locator('#confusion th.col-head.never .class-name').allTextContents(), ['one', HOSTILE_NAME]);
    assert.deepEqual(await view.page.locator('#confusion th.col-head.never .never-mark').allTextContents(), ['∞', '∞']);
  });

  it('the epoch slider moves the confusion matrix through the epochs', async () => {
    const view = await openTraining([small]);
    await waitForEpochLabel(view, '3 (newest)');
    for (const index of [0, 1, 2, 3]) {
      await setEpochIndex(view, index);
      await waitForEpochLabel(view, String(index));
      assert.deepEqual(
        countsOf(await cells(view)),
        small.plan[index].map((row) => [...row]),
        `epoch ${index}`,
      );
      await view.page.locator('#matrix-caption', { hasText: `Epoch ${index}:` }).waitFor();
    }
    const state = (await view.savedState()) as { selection: TrainingSelection };
    // The right end follows the newest epoch of a live run, so it is saved as "no epoch".
    assert.equal(state.selection.epoch, undefined);
    await setEpochIndex(view, 1);
    await waitForEpochLabel(view, '1');
    assert.equal(((await view.savedState()) as { selection: TrainingSelection }).selection.epoch, 1);
  });

  it('shows run and class names containing markup as text, and never runs it', async () => {
    const view = await openTraining([small, large]);
    await waitForEpochLabel(view, '3 (newest)');
    await view.page.locator('#runs .chip-name', { hasText: HOSTILE_NAME }).waitFor();
    assert.ok((await view.page.locator('#runs .chip-name').allTextContents()).includes(`small ${HOSTILE_NAME}`));
    assert.equal(await view.page.locator(`#confusion th.row-head[data-row="2"]`).textContent(), HOSTILE_NAME);
    assert.ok((await view.page.locator('#class-legend .legend-item').allTextContents()).includes(HOSTILE_NAME));
    assert.ok((await view.page.locator('#input-entropy-values .value-name').allTextContents()).includes(`small ${HOSTILE_NAME}`));
    assert.equal(await view.page.locator('#run-select vscode-option').first().textContent(), `small ${HOSTILE_NAME}`);
    assert.equal(await view.page.evaluate(() => document.querySelectorAll('img').length), 0, 'no <img> element was created from a name');
    assert.equal(await view.page.evaluate(() => (window as unknown as { __xss?: unknown }).__xss), undefined);
  });

  it('in dark and high-contrast themes a cell stands out from the background the more instances it holds, and a theme switch redraws', async () => {
    const view = await openTraining([small], { theme: 'light' });
    await setEpochIndex(view, 2);
    await waitForEpochLabel(view, '2');
    const lightTicks = await chartOption(view, 'chart-label-given-prediction', ['scales', 'x', 'ticks', 'color']);
    const lightClassColors = (await datasets(view, 'chart-label-given-prediction')).map((d) => d.borderColor);
    for (const [theme, background] of [
      ['dark', '#1f1f1f'],
      ['high-contrast', '#000000'],
    ] as const) {
      await view.setTheme(theme);
      await view.page.waitForFunction(
        (bg) => {
          const cell = document.querySelector<HTMLElement>('#confusion td.cell[data-count="0"]');
          return cell !== null && getComputedStyle(cell).backgroundColor === bg;
        },
        theme === 'dark' ? 'rgb(31, 31, 31)' : 'rgb(0, 0, 0)',
      );
      const nonZero = (await cells(view)).filter((c) => c.count > 0).sort((a, b) => a.count - b.count);
      const bg = hexRgb(background);
      const contrasts = nonZero.map((c) => contrast(parseRgb(c.background), bg));
      for (let i = 1; i < contrasts.length; i++)
        assert.ok(contrasts[i] > contrasts[i - 1], `${theme}: count ${nonZero[i].count} should stand out more than ${nonZero[i - 1].count}`);
      // Charts read theme colours at draw time: their text now has the theme's foreground.
      const ticks = await chartOption(view, 'chart-label-given-prediction', ['scales', 'x', 'ticks', 'color']);
      assert.notEqual(ticks, lightTicks);
      assert.deepEqual(parseRgb(String(ticks)), hexRgb(theme === 'dark' ? '#cccccc' : '#ffffff'));
    }
    const darkClassColors = (await datasets(view, 'chart-label-given-prediction')).map((d) => d.borderColor);
    assert.notDeepEqual(darkClassColors, lightClassColors, 'class colours switch to the palette for dark backgrounds');
  });

  it('follows a live run: a new epoch makes the view ask again, and the matrix moves to it', async () => {
    const before = withoutLastEpoch(small);
    let current = before;
    const view = await openTraining([before], { onRequest: (method, params) => recordedAnswers([current])(method, params) });
    await waitForEpochLabel(view, '2 (newest)');
    assert.equal(await view.page.locator('#epoch-slider').getAttribute('max'), '2');
    await view.waitForRequest('labelEntropies', 1);
    current = small;
    await view.push({ kind: 'runs', runs: panelRuns([small]) });
    const requests = await view.waitForRequest('labelEntropies', 2);
    assert.deepEqual(requests[1].params, { run: small.info.dir, epoch: 'all' });
    await waitForEpochLabel(view, '3 (newest)');
    assert.equal(await view.page.locator('#epoch-slider').getAttribute('max'), '3');
    assert.deepEqual(
      countsOf(await cells(view)),
      small.plan[3].map((row) => [...row]),
    );
    // The inputs do not change with training: their entropy is not asked for again.
    assert.equal(view.requests('interSampleEntropy').length, 1);
    // The loss chart gained the new epoch's point.
    const loss = await datasets(view, 'chart-loss');
    assert.deepEqual(
      loss[0].data.map((p) => p.y),
      small.losses,
    );
  });

  it('compares runs: one colour per run in the entropy bars and the loss lines, with the estimator’s k shown', async () => {
    const view = await openTraining([small, large]);
    await view.page.locator('#input-entropy-values li', { hasText: 'k = 59' }).waitFor();
    const entropyBars = await bars(view, 'chart-input-entropy');
    const losses = await datasets(view, 'chart-loss');
    assert.deepEqual(entropyBars.values, [small.inputEntropy.items[0].entropy, large.inputEntropy.items[0].entropy]);
    const barColors = entropyBars.colors;
    assert.deepEqual(
      losses.map((d) => d.borderColor),
      barColors,
      'a run has the same colour in (D) and (E)',
    );
    assert.notEqual(barColors[0], barColors[1]);
    assert.deepEqual(
      losses.map((d) => d.label),
      [small.info.name, large.info.name],
    );
    assert.deepEqual(
      losses.map((d) => d.data.map((p) => p.y)),
      [small.losses, large.losses],
    );
    // The swatches in the run chips are the run colours.
    const swatches = await view.page.$$eval('#runs .swatch', (els) => els.map((el) => getComputedStyle(el).backgroundColor));
    assert.deepEqual(
      swatches.map(parseRgb),
      barColors.map((c) => hexRgb(c)),
    );
    const values = await view.page.locator('#input-entropy-values').textContent();
    assert.match(values ?? '', /N = 30, k = 29/);
    assert.match(values ?? '', /N = 60, k = 59/);
    // Each bar has its ceiling log2 N(N−1) beside it, as a marker and in the text.
    const ceiling = await view.page.evaluate(() => {
      const d = window.cnnslicerCharts?.get('chart-input-entropy')?.data.datasets[1];
      return { label: d?.label, data: d?.data as (number | null)[] };
    });
    assert.equal(ceiling.label, 'ceiling log2 N(N−1)');
    assert.deepEqual(ceiling.data, [Math.log2(30 * 29), Math.log2(60 * 59)]);
    assert.match(
      values ?? '',
      new RegExp(
        `ceiling ${Math.log2(60 * 59)
          .toPrecision(3)
          .replace('.', '\\.')}`,
      ),
    );
    assert.match((await view.page.locator('#loss-values').textContent()) ?? '', /0\.32 at epoch 3.*0\.18 at epoch 2/s);
    const params = (await view.page.locator('#estimator-params').textContent()) ?? '';
    assert.match(params, new RegExp(`k = ${small.inputEntropy.params.interK} nearest neighbours`));
    assert.match(params, /relative tolerance of 1e-9/);
  });

  it('switches (A)–(C) to the run picked in the toolbar, and (E) to a log scale on request', async () => {
    const view = await openTraining([small, large]);
    await waitForEpochLabel(view, '3 (newest)');
    await view.page.locator('#runs .chip-name', { hasText: 'large-probe' }).click();
    await waitForEpochLabel(view, '2 (newest)');
    const list = await cells(view);
    assert.equal(
      list.reduce((a, c) => a + c.count, 0),
      large.info.manifest.probe.count,
    );
    await view.page.locator('#matrix-caption', { hasText: 'Epoch 2: 60 samples' }).waitFor();
    assert.equal(((await view.savedState()) as { selection: TrainingSelection }).selection.run, large.info.dir);
    await view.page.locator('#log-loss').click();
    await view.page.waitForFunction(
      () => (window.cnnslicerCharts?.get('chart-loss')?.options.scales?.y as { type?: string } | undefined)?.type === 'logarithmic',
    );
    assert.equal(((await view.savedState()) as { selection: TrainingSelection }).selection.logLoss, true);
  });

  it('follows a selection the host pushes (a run clicked in the Runs tree)', async () => {
    const view = await openTraining([small, large], { selection: { run: small.info.dir } });
    await waitForEpochLabel(view, '3 (newest)');
    await view.push({ kind: 'selection', selection: { run: large.info.dir } });
    await waitForEpochLabel(view, '2 (newest)');
    await view.page.locator('#runs .chip-name[aria-pressed="true"]', { hasText: 'large-probe' }).waitFor();
  });

  it('shares the run and epoch the user picks with the other views, and follows theirs', async () => {
    const view = await openTraining([small, large]);
    await waitForEpochLabel(view, '3 (newest)');
    await setEpochIndex(view, 1);
    await waitForEpochLabel(view, '1');
    const published = (): unknown[] => view.posted.filter((m) => m.type === 'select').map((m) => (m as { selection: unknown }).selection);
    assert.deepEqual(published().at(-1), { run: small.info.dir, epoch: 1 });
    // Another view chose epoch 0 of the large run: the matrix shows it.
    await view.push({ kind: 'linked', selection: { run: large.info.dir, epoch: 0, layer: 'fc' } });
    await waitForEpochLabel(view, '0');
    await view.page.locator('#matrix-caption', { hasText: 'Epoch 0: 60 samples' }).waitFor();
    // A choice about a run this view does not show changes nothing here.
    await view.push({ kind: 'linked', selection: { run: '/runs/elsewhere', epoch: 2 } });
    await view.push({ kind: 'selection', selection: {} });
    await view.page.locator('#matrix-caption', { hasText: 'Epoch 0: 60 samples' }).waitFor();
    assert.equal(await view.page.locator('#epoch-label').textContent(), '0');
  });

  it('saves its runs and selection, and a reloaded view starts where the user left it', async () => {
    const first = await openTraining([small]);
    await waitForEpochLabel(first, '3 (newest)');
    await setEpochIndex(first, 1);
    await waitForEpochLabel(first, '1');
    const saved = await first.savedState();
    assert.deepEqual(saved, { version: 1, runs: [small.info.dir], selection: { run: small.info.dir, epoch: 1 } });
    const reloaded = await openTraining([small], { savedState: saved });
    await waitForEpochLabel(reloaded, '1');
    assert.deepEqual(
      countsOf(await cells(reloaded)),
      small.plan[1].map((row) => [...row]),
    );
  });

  it('asks the host to add or remove runs, and to show a run’s summary', async () => {
    const view = await openTraining([small, large]);
    await waitForEpochLabel(view, '3 (newest)');
    await view.page.locator('#add-runs').click();
    await view.waitForRequest('addRuns', 1);
    await view.page.locator('#runs .chip-remove').nth(1).click();
    const [remove] = await view.waitForRequest('removeRun', 1);
    assert.deepEqual(remove.params, { run: large.info.dir });
    await view.page.locator('#show-summary').click();
    const [summary] = await view.waitForRequest('showRunSummary', 1);
    assert.deepEqual(summary.params, { run: small.info.dir });
    // The host confirms a removal by sending the remaining runs.
    await view.push({ kind: 'runs', runs: panelRuns([small]) });
    await view.page.waitForFunction(() => document.querySelectorAll('#runs .chip').length === 1);
    assert.equal(await view.page.locator('#runs .chip-remove').count(), 0, 'the last run cannot be removed');
  });

  it('says why when the engine fails, and what is still loading', async () => {
    const view = await openTraining([small], {
      onRequest: (method) => {
        if (method === 'labelEntropies')
          throw new HostError({
            code: 'corrupt',
            message: '"logits" has 2 columns, the run has 3 classes',
            file: '/runs/small/epochs/epoch-0003/activations.safetensors',
          });
        // The inter-sample entropy never answers: the view shows it is still computing.
        return new Promise(() => undefined);
      },
    });
    await view.page.locator('#matrix-message', { hasText: '"logits" has 2 columns, the run has 3 classes' }).waitFor();
    assert.match(
      (await view.page.locator('#matrix-message').textContent()) ?? '',
      /^Label entropies failed: \/runs\/small\/epochs\/epoch-0003\/activations\.safetensors: /,
    );
    await view.page.locator('#input-entropy-values', { hasText: 'computing…' }).waitFor();
    await view.push({
      kind: 'runs',
      runs: [
        ...panelRuns([small]),
        {
          dir: '/runs/broken',
          state: 'failed',
          error: { code: 'invalid-manifest', message: '"classes" must be an array', file: '/runs/broken/cnnslicer.json' },
        },
      ],
    });
    await view.page.locator('#status', { hasText: 'broken could not be read: /runs/broken/cnnslicer.json: "classes" must be an array' }).waitFor();
  });

  it('cancels the label entropies on request, keeps what it showed, and computes them again', async () => {
    let release: () => void = () => undefined;
    let held = true;
    const answers = recordedAnswers([small]);
    const view = await openTraining([small], {
      onRequest: async (method, params) => {
        if (method === 'labelEntropies' && held) await new Promise<void>((resolve) => (release = resolve));
        return answers(method, params);
      },
    });
    await view.page.locator('#matrix-message-cancel').waitFor({ state: 'visible' });
    assert.match((await view.page.locator('#matrix-message').textContent()) ?? '', /^Label entropies: computing…/);
    await view.page.locator('#matrix-message-cancel').click();
    await view.page.locator('#matrix-message-retry').waitFor({ state: 'visible' });
    assert.match((await view.page.locator('#matrix-message').textContent()) ?? '', /^Label entropies: cancelled\./);
    assert.ok(view.posted.some((m) => m.type === 'cancel'));
    assert.equal(view.requests('labelEntropies').length, 1, 'not asked again by itself');
    held = false;
    release();
    await view.page.locator('#matrix-message-retry').click();
    await view.waitForRequest('labelEntropies', 2);
    await cells(view);
    assert.equal(await view.page.locator('#matrix-message').textContent(), '');
  });

  it('cancels the inputs’ inter-sample entropy on request and computes it again', async () => {
    let hold = true;
    let release: () => void = () => undefined;
    const answers = recordedAnswers([small]);
    const view = await openTraining([small], {
      onRequest: async (method, params) => {
        if (method === 'interSampleEntropy' && hold) await new Promise<void>((resolve) => (release = resolve));
        return answers(method, params);
      },
    });
    await view.page.locator('#input-entropy-progress-cancel').waitFor({ state: 'visible' });
    await view.page.locator('#input-entropy-progress-cancel').click();
    await view.page.locator('#input-entropy-progress', { hasText: 'cancelled for 1 run' }).waitFor();
    await view.page.locator('#input-entropy-values li', { hasText: 'cancelled' }).waitFor();
    hold = false;
    release();
    await view.page.locator('#input-entropy-progress-retry').click();
    await view.waitForRequest('interSampleEntropy', 2);
    await view.page.locator('#input-entropy-values li', { hasText: 'bits (N =' }).waitFor();
    assert.equal(await view.page.locator('#input-entropy-progress').textContent(), '');
  });

  it('posts only messages the host’s validation accepts', async () => {
    const view = await openTraining([small, large]);
    await view.page.locator('#input-entropy-values li', { hasText: 'k = 59' }).waitFor();
    await setEpochIndex(view, 1);
    await view.page.locator('#add-runs').click();
    await view.waitForRequest('addRuns', 1);
    assert.ok(view.posted.length >= 4);
    view.assertPostedValid();
  });
});

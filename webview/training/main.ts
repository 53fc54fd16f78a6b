// The training-performance view (paper §5.2, Fig. 4): (A) the confusion matrix at a chosen epoch,
// (B) H(x.label | y = i) and (C) H(y | x.label = i) over the epochs, one line per class, (D) the
// inter-sample entropy of each run's input set, (E) each run's training loss. Several runs can be
// compared (Fig. 5): (D) and (E) show them all, one colour per run; (A)–(C) show the run chosen.
//
// The host sends the runs (and again whenever one gains an epoch); the view asks for what it draws
// and keeps what it got per run, so a new epoch costs one request that the engine's cache answers
// for every epoch but the new one.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import type { Chart, TooltipItem } from 'chart.js';
import { SATURATION_MARGIN_BITS, type InterSampleEntropyResult, type LabelEntropiesResult, type MeasureSeries } from '../../src/shared/measures';
import { parseTrainingSelection } from '../../src/shared/messageValidation';
import type { TrainingSelection } from '../../src/shared/webviewProtocol';
import { axisStyle, baseOptions, renderChart, textGlyph, tooltipStyle, verticalMarker } from '../shared/charts';
import { byId, card, frameScheduler, h, replaceChildren, setText, Tooltip } from '../shared/dom';
import { epochSliderControl, epochToKeep, showEpochOnSlider } from '../shared/epochSlider';
import { RequestError } from '../shared/hostClient';
import { markMilestone } from '../shared/milestones';
import { errorText, progressText, type FetchRequest, type Fetched } from '../shared/requests';
import { loadedRuns, runName, runStatusLines, selectedOrFirstRun, type LoadedRun } from '../shared/runs';
import { classColors, classDash, onThemeChange, runColors, themeColors, toCss, type ThemeColors } from '../shared/theme';
import { ConfusionMatrixView } from './confusionMatrix';
import {
  confusionTotals,
  entropyAxis,
  entropyLines,
  epochIndex,
  epochsKey,
  formatNumber,
  infinityMarks,
  lossLine,
  shortName,
  type EntropyKind,
  type XY,
} from './series';
import { ViewSession } from '../shared/viewSession';

/**
 * What the view has (or is getting) for one run, with the key of what the result depends on: the
 * view keeps one result per run, replaced when the key changes (a new epoch).
 */
interface RunFetched<T> extends Fetched<T> {
  readonly key: string;
}

markMilestone('script-start');
const session = new ViewSession<TrainingSelection>((value) => parseTrainingSelection(value));
const client = session.client;

const hiddenClasses = new Set<number>();
const labelData = new Map<string, RunFetched<MeasureSeries<LabelEntropiesResult>>>();
const inputEntropy = new Map<string, RunFetched<MeasureSeries<InterSampleEntropyResult>>>();

const epochCursorColor = (): string => toCss(themeColors().muted);
/** Read by the charts' cursor plugin at each draw; plugins stay with a chart when it is re-rendered. */
let cursorEpoch: number | undefined;
const cursorPlugin = verticalMarker<'line'>('epochCursor', () => cursorEpoch, epochCursorColor);

// ---------------------------------------------------------------------------------------------
// Layout, built once; render() fills it.

const root = byId('root');
const tooltip = new Tooltip('view-tooltip');

const addRunsButton = h('vscode-button', { attrs: { id: 'add-runs', secondary: true, title: 'Add runs to compare' } }, 'Add Runs…');
const summaryButton = h('vscode-button', { attrs: { id: 'show-summary', secondary: true, title: 'Open the chosen run’s summary' } }, 'Run Summary');
const runChips = h('ul', { className: 'run-chips', attrs: { id: 'runs', 'aria-label': 'Runs in this view' } });
const status = h('div', { className: 'status', attrs: { id: 'status', role: 'status', 'aria-live': 'polite' } });

const runSelect = h('vscode-single-select', { attrs: { id: 'run-select', 'aria-label': 'Run shown in (A), (B) and (C)' } });
const epochControl = epochSliderControl('Epoch', 'Epoch of the confusion matrix');
const { slider: epochSlider, output: epochLabel } = epochControl;
const matrixContainer = h('div', { className: 'matrix-wrap', attrs: { id: 'confusion' } });
const matrixCaption = h('p', { className: 'caption', attrs: { id: 'matrix-caption' } });
const matrixMessage = h('p', { className: 'message', attrs: { id: 'matrix-message' } });

const labelGivenPredictionCanvas = h('canvas', {
  attrs: { id: 'chart-label-given-prediction', role: 'img', 'aria-label': 'H(label | y = i) per class over epochs' },
});
const predictionGivenLabelCanvas = h('canvas', {
  attrs: { id: 'chart-prediction-given-label', role: 'img', 'aria-label': 'H(y | label = i) per class over epochs' },
});
const classLegend = h('ul', { className: 'class-legend', attrs: { id: 'class-legend', 'aria-label': 'Classes (click to hide or show a line)' } });
const labelMessage = h('p', { className: 'message', attrs: { id: 'label-message' } });

const inputEntropyCanvas = h('canvas', { attrs: { id: 'chart-input-entropy', role: 'img', 'aria-label': 'Inter-sample entropy of each run’s input set' } });
const inputEntropyValues = h('ul', { className: 'values', attrs: { id: 'input-entropy-values' } });

const lossCanvas = h('canvas', { attrs: { id: 'chart-loss', role: 'img', 'aria-label': 'Training loss over epochs, one line per run' } });
const lossValues = h('ul', { className: 'values', attrs: { id: 'loss-values' } });
const logLossCheckbox = h('vscode-checkbox', { attrs: { id: 'log-loss', label: 'Log scale' } });

const estimatorParams = h('footer', { className: 'params', attrs: { id: 'estimator-params' } });

replaceChildren(
  root,
  h('header', { className: 'toolbar' }, runChips, h('div', { className: 'toolbar-actions' }, addRunsButton, summaryButton)),
  status,
  h(
    'div',
    { className: 'cards' },
    card(
      'card-confusion',
      '(A) Confusion matrix',
      h('div', { className: 'controls' }, h('label', { className: 'control' }, h('span', {}, 'Run'), runSelect), epochControl.element),
      matrixMessage,
      matrixContainer,
      matrixCaption,
    ),
    card(
      'card-label-entropies',
      'Label entropies over epochs',
      h('h3', {}, '(B) H(label | y = i): uncertainty of the true class among samples predicted as i'),
      h('div', { className: 'chart-box' }, labelGivenPredictionCanvas),
      h(
        'p',
        { className: 'note infinity-note' },
        '∞ = never predicted: no sample was predicted as i at that epoch, so H(label | y = i) is undefined (a gap, not 0).',
      ),
      h('h3', {}, '(C) H(y | label = i): spread of the predictions for the samples of class i'),
      h('div', { className: 'chart-box' }, predictionGivenLabelCanvas),
      h('p', { className: 'note infinity-note' }, '∞ = no probe sample of class i.'),
      labelMessage,
      classLegend,
    ),
    card(
      'card-input-entropy',
      '(D) Inter-sample entropy of the input set',
      h('p', { className: 'note' }, 'Diversity of each run’s probe inputs, H(dCNN(x, 0, −, 0)); higher means more diverse data.'),
      h('div', { className: 'chart-box short' }, inputEntropyCanvas),
      inputEntropyValues,
    ),
    card(
      'card-loss',
      '(E) Training loss',
      h('div', { className: 'controls' }, logLossCheckbox),
      h('div', { className: 'chart-box short' }, lossCanvas),
      lossValues,
    ),
  ),
  estimatorParams,
);
root.removeAttribute('aria-busy');
markMilestone('page-built');

const matrix = new ConfusionMatrixView(matrixContainer, tooltip);

// ---------------------------------------------------------------------------------------------
// State helpers.

/** The run (A)–(C) show. */
function chosenRun(): LoadedRun | undefined {
  return selectedOrFirstRun(session.runs, session.selection.run);
}

function runColorOf(dir: string, palette: readonly string[]): string {
  const i = session.runs.findIndex((r) => r.dir === dir);
  return palette[Math.max(0, i)];
}

function select(change: Partial<TrainingSelection>): void {
  // Another run chosen needs its label entropies (the refresh requests them); otherwise nothing is requested.
  session.select(change);
  if ('run' in change || 'epoch' in change) publishSelection();
}

/** The epoch (A) shows for the chosen run, once its label entropies are here. */
function shownEpoch(chosen: LoadedRun | undefined): number | undefined {
  const items = chosen !== undefined ? (labelData.get(chosen.dir)?.value?.items ?? []) : [];
  const index = epochIndex(
    items.map((i) => i.epoch),
    session.selection.epoch,
  );
  return index >= 0 ? items[index].epoch : undefined;
}

/** Tells the other views (layer, channel) which run and epoch the user is looking at here. */
function publishSelection(): void {
  const chosen = chosenRun();
  if (chosen === undefined) return;
  const epoch = shownEpoch(chosen);
  client.publish(epoch !== undefined ? { run: chosen.dir, epoch } : { run: chosen.dir });
}

/**
 * Starts a request unless the result for `key` is there or on its way. A previous result stays
 * on screen until the new one arrives, so a live run does not flicker at each epoch.
 */
function fetchForRun<T>(store: Map<string, RunFetched<T>>, dir: string, key: string, request: FetchRequest<T>): void {
  const current = store.get(dir);
  if (current?.key === key) return;
  current?.abort?.abort();
  const entry: RunFetched<T> = { key, value: current?.value, abort: new AbortController() };
  store.set(dir, entry);
  const signal = entry.abort!.signal;
  request(signal, (progress) => {
    entry.progress = progress;
    scheduleRender();
  })
    .then(
      (value) => {
        if (store.get(dir) !== entry) return;
        entry.value = value;
        entry.error = undefined;
      },
      (err: unknown) => {
        if (store.get(dir) !== entry) return;
        if (err instanceof RequestError && err.cancelled) return;
        entry.error = err instanceof RequestError ? err.info : { code: 'internal', message: String(err) };
      },
    )
    .finally(() => {
      if (store.get(dir) !== entry) return;
      entry.abort = undefined;
      entry.progress = undefined;
      scheduleRender();
    });
}

/** Asks for what the runs on screen need and forgets what belongs to runs no longer shown. */
function requestData(): void {
  const dirs = new Set(session.runs.map((r) => r.dir));
  for (const store of [labelData, inputEntropy] as Map<string, RunFetched<unknown>>[]) {
    for (const [dir, entry] of store) {
      if (dirs.has(dir)) continue;
      entry.abort?.abort();
      store.delete(dir);
    }
  }
  for (const run of loadedRuns(session.runs)) {
    const probe = run.info.manifest.probe;
    // The inputs do not change with training: one result per probe set, whatever the epochs.
    fetchForRun(inputEntropy, run.dir, `${probe.file}|${probe.count}`, (signal, onProgress) =>
      client.request('interSampleEntropy', { run: run.dir, samples: { kind: 'all' }, layer: 'input', epoch: 'all' }, { signal, onProgress }),
    );
  }
  const chosen = chosenRun();
  if (chosen !== undefined && chosen.info.manifest.epochs.length > 0) {
    fetchForRun(labelData, chosen.dir, epochsKey(chosen.info), (signal, onProgress) =>
      client.request('labelEntropies', { run: chosen.dir, epoch: 'all' }, { signal, onProgress }),
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Rendering.

const scheduleRender = frameScheduler(() => render());

function render(): void {
  const colors = themeColors();
  const palette = runColors(Math.max(1, session.runs.length));
  renderToolbar(palette);
  renderStatus();
  const chosen = chosenRun();
  const labels = chosen !== undefined ? labelData.get(chosen.dir) : undefined;
  const items = labels?.value?.items ?? [];
  const index = epochIndex(
    items.map((i) => i.epoch),
    session.selection.epoch,
  );
  const current = index >= 0 ? items[index] : undefined;
  // Charts (B), (C) and (E) mark the epoch the matrix shows.
  cursorEpoch = current?.epoch;
  renderMatrixCard(chosen, labels, items, index, colors);
  renderLabelCharts(chosen, labels, items, current?.epoch, colors);
  renderInputEntropy(palette, colors);
  renderLoss(palette, colors, chosen, current?.epoch);
  renderParams();
}

let chipsSignature = '';

function renderToolbar(palette: readonly string[]): void {
  const chosen = chosenRun();
  const signature = JSON.stringify([session.runs.map((r) => [r.dir, r.state, runName(r)]), chosen?.dir, palette]);
  if (signature !== chipsSignature) {
    chipsSignature = signature;
    replaceChildren(
      runChips,
      ...session.runs.map((run) => {
        const swatch = h('span', { className: 'swatch', attrs: { 'aria-hidden': 'true' } });
        swatch.style.backgroundColor = runColorOf(run.dir, palette);
        const name = runName(run);
        const pick = h(
          'button',
          {
            className: 'chip-name',
            attrs: { type: 'button', 'aria-pressed': run.dir === chosen?.dir ? 'true' : 'false', title: run.dir, disabled: run.state !== 'loaded' },
          },
          swatch,
          name,
        );
        pick.addEventListener('click', () => select({ run: run.dir }));
        const remove =
          session.runs.length > 1
            ? h(
                'button',
                { className: 'chip-remove', attrs: { type: 'button', 'aria-label': `Remove ${name} from the view`, title: 'Remove from the view' } },
                '×',
              )
            : null;
        remove?.addEventListener('click', () => {
          client.request('removeRun', { run: run.dir }).catch((err: unknown) => client.log('warn', `removing a run failed: ${String(err)}`));
        });
        return h('li', { className: `chip state-${run.state}` }, pick, remove);
      }),
    );
  }
  summaryButton.toggleAttribute('disabled', chosen === undefined);
}

function renderStatus(): void {
  const lines = runStatusLines(session.runs, session.runsReceived, 'This view shows no run. Use Add Runs… to pick one.');
  replaceChildren(status, ...lines.map((l) => h('p', {}, l)));
}

let runOptionsSignature = '';

function renderMatrixCard(
  chosen: LoadedRun | undefined,
  labels: RunFetched<MeasureSeries<LabelEntropiesResult>> | undefined,
  items: readonly LabelEntropiesResult[],
  index: number,
  colors: ThemeColors,
): void {
  const loaded = loadedRuns(session.runs);
  const signature = JSON.stringify(loaded.map((r) => [r.dir, r.info.name]));
  if (signature !== runOptionsSignature) {
    runOptionsSignature = signature;
    replaceChildren(runSelect, ...loaded.map((r) => h('vscode-option', { attrs: { value: r.dir } }, r.info.name)));
  }
  if (chosen !== undefined && runSelect.value !== chosen.dir) runSelect.value = chosen.dir;
  runSelect.toggleAttribute('disabled', loaded.length < 2);

  showEpochOnSlider(
    epochSlider,
    epochLabel,
    items.map((item) => item.epoch),
    index,
  );
  const current = index >= 0 ? items[index] : undefined;
  // Screen readers would read the slider's position, not the epoch number it stands for.
  epochSlider.setAttribute('aria-valuetext', current === undefined ? 'no epoch' : `epoch ${current.epoch}`);

  let message = '';
  if (chosen === undefined) message = session.runs.length === 0 ? '' : 'No run has been read yet.';
  else if (chosen.info.manifest.epochs.length === 0) message = `${chosen.info.name} has no finished epoch yet.`;
  else if (labels?.error !== undefined) message = `Label entropies failed: ${errorText(labels.error)}`;
  else if (labels?.value === undefined) message = `Label entropies: ${progressText(labels?.progress)}`;
  setText(matrixMessage, message);
  matrixMessage.classList.toggle('error', labels?.error !== undefined);

  if (chosen === undefined || current === undefined) {
    matrix.render(undefined, colors);
    setText(matrixCaption, '');
    return;
  }
  const classes = chosen.info.manifest.classes;
  matrix.render({ classes, confusion: current.confusion, epoch: current.epoch }, colors);
  markMilestone('first-data');
  const totals = confusionTotals(current.confusion, classes.length);
  const never = totals.cols.filter((n) => n === 0).length;
  setText(
    matrixCaption,
    `Epoch ${current.epoch}: ${totals.total} samples, ${totals.correct} correct (accuracy ${formatNumber(100 * current.accuracy)}%). Rows: true label; columns: predicted label.` +
      (never > 0 ? ` ∞ marks ${never === 1 ? 'a class' : `${never} classes`} never predicted.` : ''),
  );
}

function renderLabelCharts(
  chosen: LoadedRun | undefined,
  labels: RunFetched<MeasureSeries<LabelEntropiesResult>> | undefined,
  items: readonly LabelEntropiesResult[],
  epoch: number | undefined,
  colors: ThemeColors,
): void {
  const classes = chosen?.info.manifest.classes ?? [];
  const palette = classColors(classes.length);
  renderClassLegend(classes, palette);
  setText(labelMessage, labels?.error !== undefined ? `Label entropies failed: ${errorText(labels.error)}` : '');
  labelMessage.classList.toggle('error', labels?.error !== undefined);
  const charts: [HTMLCanvasElement, EntropyKind, string, string][] = [
    [labelGivenPredictionCanvas, 'labelGivenPrediction', 'H(label | y = i), bits', 'never predicted'],
    [predictionGivenLabelCanvas, 'predictionGivenLabel', 'H(y | label = i), bits', 'no sample of this class'],
  ];
  for (const [canvas, kind, yTitle, infinityMeaning] of charts) {
    const lines = entropyLines(items, kind, classes.length);
    const marks = infinityMarks(lines);
    const axis = entropyAxis(lines, classes.length, marks);
    const glyphSize = Math.round(colors.fontSize * 1.6);
    const lineSets = lines.map((data, c) => ({
      type: 'line' as const,
      label: classes[c],
      data: data as XY[],
      borderColor: palette[c],
      backgroundColor: palette[c],
      borderDash: classDash(c),
      borderWidth: colors.kind.startsWith('high-contrast') ? 2.5 : 1.5,
      pointRadius: items.length > 40 ? 0 : 2,
      pointHoverRadius: 4,
      spanGaps: false,
      hidden: hiddenClasses.has(c),
    }));
    // The paper's ∞: a marker at the top of the axis at each epoch where a class's entropy is undefined.
    const markSets = classes.map((name, c) => ({
      type: 'line' as const,
      label: `∞ ${name}`,
      data: marks.filter((m) => m.classIndex === c).map((m) => ({ x: m.epoch, y: axis.markY(m.stack) })),
      borderColor: palette[c],
      backgroundColor: palette[c],
      showLine: false,
      pointStyle: textGlyph('∞', palette[c], colors.fontFamily, glyphSize),
      pointRadius: glyphSize / 2,
      pointHoverRadius: glyphSize / 2,
      clip: false as const,
      hidden: hiddenClasses.has(c),
    }));
    const first = items[0]?.epoch ?? 0;
    const last = items[items.length - 1]?.epoch ?? 1;
    renderChart(canvas, {
      type: 'line',
      data: { datasets: [...lineSets, ...markSets] },
      options: {
        ...baseOptions(colors),
        parsing: false,
        normalized: true,
        interaction: { mode: 'x', intersect: false },
        scales: {
          x: {
            type: 'linear',
            min: first === last ? first - 1 : first,
            max: first === last ? last + 1 : last,
            ...axisStyle(colors, 'epoch'),
            ticks: { color: toCss(colors.foreground), precision: 0 },
          },
          y: {
            type: 'linear',
            min: 0,
            max: axis.top,
            ...axisStyle(colors, yTitle),
            // The band above the largest entropy holds the ∞ marks, not values.
            ticks: {
              color: toCss(colors.foreground),
              maxTicksLimit: 7,
              callback: (value) => (Number(value) > axis.bandStart ? '' : formatNumber(Number(value))),
            },
          },
        },
        plugins: {
          tooltip: {
            ...tooltipStyle(colors),
            callbacks: {
              title: (tooltipItems: TooltipItem<'line'>[]) => (tooltipItems.length > 0 ? `epoch ${tooltipItems[0].parsed.x}` : ''),
              label: (item: TooltipItem<'line'>) => {
                const c = item.datasetIndex % Math.max(1, classes.length);
                return item.datasetIndex >= classes.length
                  ? `${classes[c]}: ∞ (${infinityMeaning})`
                  : `${classes[c]}: ${formatNumber(item.parsed.y ?? 0)} bits`;
              },
            },
          },
        },
        onClick: (_event, _elements, chart: Chart) => {
          const x = chart.scales.x.getValueForPixel(_event.x ?? 0);
          if (x === undefined || items.length === 0) return;
          const nearest = items.reduce((best, item) => (Math.abs(item.epoch - x) < Math.abs(best.epoch - x) ? item : best), items[0]);
          select({ epoch: nearest.epoch === items[items.length - 1].epoch ? undefined : nearest.epoch });
        },
      },
      plugins: [cursorPlugin],
    });
  }
}

let legendSignature = '';

function renderClassLegend(classes: readonly string[], palette: readonly string[]): void {
  const signature = JSON.stringify([classes, palette, [...hiddenClasses]]);
  if (signature === legendSignature) return;
  legendSignature = signature;
  replaceChildren(
    classLegend,
    ...classes.map((name, c) => {
      const swatch = h('span', { className: 'swatch line', attrs: { 'aria-hidden': 'true' } });
      swatch.style.backgroundColor = palette[c];
      const button = h(
        'button',
        { className: 'legend-item', attrs: { type: 'button', 'aria-pressed': hiddenClasses.has(c) ? 'false' : 'true', title: `Show or hide ${name}` } },
        swatch,
        name,
      );
      button.addEventListener('click', () => {
        if (hiddenClasses.has(c)) hiddenClasses.delete(c);
        else hiddenClasses.add(c);
        scheduleRender();
      });
      return h('li', {}, button);
    }),
  );
}

function renderInputEntropy(palette: readonly string[], colors: ThemeColors): void {
  const shown = session.runs;
  const values = shown.map((run) => inputEntropy.get(run.dir)?.value?.items[0]);
  renderChart(inputEntropyCanvas, {
    type: 'bar',
    data: {
      labels: shown.map((run) => {
        const n = run.state === 'loaded' ? run.info.manifest.probe.count : undefined;
        return n === undefined ? shortName(runName(run)) : [shortName(runName(run)), `N = ${n}`];
      }),
      datasets: [
        {
          label: 'inter-sample entropy',
          data: values.map((v) => (v === undefined ? null : v.entropy)),
          backgroundColor: shown.map((run) => runColorOf(run.dir, palette)),
          borderColor: shown.map((run) => runColorOf(run.dir, palette)),
          borderWidth: 1,
          maxBarThickness: 56,
        },
        {
          // The most the estimator can give for N samples: with k ≈ N real sets sit just below it.
          type: 'line' as const,
          label: 'ceiling log2 N(N−1)',
          data: values.map((v) => (v === undefined ? null : v.ceiling)),
          showLine: false,
          pointStyle: 'line',
          pointRadius: 22,
          pointBorderWidth: 2,
          borderColor: toCss(colors.foreground),
          backgroundColor: toCss(colors.foreground),
        },
      ],
    },
    options: {
      ...baseOptions(colors),
      scales: {
        x: { type: 'category', ...axisStyle(colors, 'run (probe set size)') },
        y: { type: 'linear', beginAtZero: true, ...axisStyle(colors, 'bits') },
      },
      plugins: {
        tooltip: {
          ...tooltipStyle(colors),
          callbacks: {
            label: (item: TooltipItem<'bar' | 'line'>) => {
              const v = values[item.dataIndex];
              if (v === undefined) return '';
              return item.datasetIndex === 0
                ? `H = ${formatNumber(v.entropy)} bits (N = ${v.n}, k = ${v.k})`
                : `ceiling log2 N(N−1) = ${formatNumber(v.ceiling)} bits`;
            },
          },
        },
      },
    },
  });
  replaceChildren(
    inputEntropyValues,
    ...shown.map((run) => {
      const fetched = inputEntropy.get(run.dir);
      const v = fetched?.value?.items[0];
      const swatch = h('span', { className: 'swatch', attrs: { 'aria-hidden': 'true' } });
      swatch.style.backgroundColor = runColorOf(run.dir, palette);
      let text: string;
      if (v !== undefined) {
        const below = v.ceiling - v.entropy;
        text = `${formatNumber(v.entropy)} bits (N = ${v.n}, k = ${v.k}); ceiling ${formatNumber(v.ceiling)}, ${formatNumber(below)} below${below < SATURATION_MARGIN_BITS ? ' (saturated)' : ''}`;
        if (v.unsolved > 0) text += `; ${v.unsolved} duplicate samples without σ`;
      } else if (fetched?.error !== undefined) text = `failed: ${errorText(fetched.error)}`;
      else if (run.state === 'failed') text = 'run not readable';
      else text = progressText(fetched?.progress);
      return h(
        'li',
        { className: fetched?.error !== undefined ? 'error' : '' },
        swatch,
        h('span', { className: 'value-name' }, runName(run)),
        ': ',
        h('span', { className: 'value' }, text),
      );
    }),
  );
}

function renderLoss(palette: readonly string[], colors: ThemeColors, chosen: LoadedRun | undefined, epoch: number | undefined): void {
  const loaded = loadedRuns(session.runs);
  const log = session.selection.logLoss === true;
  if (logLossCheckbox.checked !== log) logLossCheckbox.checked = log;
  const lines = loaded.map((run) => ({ run, line: lossLine(run.info) }));
  renderChart(lossCanvas, {
    type: 'line',
    data: {
      datasets: lines.map(({ run, line }) => ({
        label: run.info.name,
        // A log axis cannot show 0 or less: those losses become gaps.
        data: log ? line.map((p) => ({ x: p.x, y: p.y !== null && p.y > 0 ? p.y : null })) : line,
        borderColor: runColorOf(run.dir, palette),
        backgroundColor: runColorOf(run.dir, palette),
        borderWidth: run.dir === chosen?.dir ? 2.5 : 1.5,
        pointRadius: line.length > 40 ? 0 : 2,
        spanGaps: false,
      })),
    },
    options: {
      ...baseOptions(colors),
      parsing: false,
      interaction: { mode: 'nearest', intersect: false },
      scales: {
        x: { type: 'linear', ...axisStyle(colors, 'epoch'), ticks: { color: toCss(colors.foreground), precision: 0 } },
        y: { type: log ? 'logarithmic' : 'linear', ...axisStyle(colors, 'loss') },
      },
      plugins: {
        tooltip: {
          ...tooltipStyle(colors),
          callbacks: {
            title: (tooltipItems: TooltipItem<'line'>[]) => (tooltipItems.length > 0 ? `epoch ${tooltipItems[0].parsed.x}` : ''),
            label: (item: TooltipItem<'line'>) => `${lines[item.datasetIndex]?.run.info.name ?? ''}: loss ${formatNumber(item.parsed.y ?? 0)}`,
          },
        },
      },
    },
    plugins: [cursorPlugin],
  });
  replaceChildren(
    lossValues,
    ...lines.map(({ run, line }) => {
      const swatch = h('span', { className: 'swatch', attrs: { 'aria-hidden': 'true' } });
      swatch.style.backgroundColor = runColorOf(run.dir, palette);
      const recorded = line.filter((p): p is { x: number; y: number } => p.y !== null);
      const lastPoint = recorded[recorded.length - 1];
      const atEpoch = run.dir === chosen?.dir && epoch !== undefined ? line.find((p) => p.x === epoch) : undefined;
      let text = lastPoint === undefined ? 'no loss recorded' : `${formatNumber(lastPoint.y)} at epoch ${lastPoint.x}`;
      if (atEpoch !== undefined && atEpoch !== lastPoint && atEpoch.y !== null) text += `; ${formatNumber(atEpoch.y)} at epoch ${atEpoch.x}`;
      return h('li', {}, swatch, h('span', { className: 'value-name' }, run.info.name), ': ', h('span', { className: 'value' }, text));
    }),
  );
}

function renderParams(): void {
  const parts: (string | Node)[] = [
    h(
      'span',
      {},
      'Label entropies (A–C): Shannon entropy in bits of the confusion matrix’s columns (B) and rows (C); predictions are the argmax of the logits. ',
    ),
  ];
  const withParams = session.runs.map((run) => ({ run, series: inputEntropy.get(run.dir)?.value })).filter((x) => x.series !== undefined);
  const params = withParams[0]?.series?.params;
  if (params !== undefined) {
    const used = withParams.map(({ run, series }) => `${runName(run)} ${series?.items[0]?.k ?? '?'}`).join(', ');
    parts.push(
      h(
        'span',
        {},
        `Inter-sample entropy (D): k = ${params.interK} nearest neighbours requested (capped at N − 1; used: ${used}), σᵢ solved to a relative tolerance of ${params.sigmaRelativeTolerance} in at most ${params.sigmaMaxIterations} iterations (Eq. 5).`,
      ),
    );
  }
  replaceChildren(estimatorParams, ...parts);
}

// ---------------------------------------------------------------------------------------------
// Events.

runSelect.addEventListener('change', () => {
  if (runSelect.value !== '' && runSelect.value !== chosenRun()?.dir) select({ run: runSelect.value });
});

epochSlider.addEventListener('input', () => {
  const chosen = chosenRun();
  const items = chosen !== undefined ? (labelData.get(chosen.dir)?.value?.items ?? []) : [];
  const i = Number(epochSlider.value);
  if (!(i >= 0 && i < items.length)) return;
  select({
    epoch: epochToKeep(
      items.map((item) => item.epoch),
      items[i].epoch,
    ),
  });
});

logLossCheckbox.addEventListener('change', () => select({ logLoss: logLossCheckbox.checked }));

addRunsButton.addEventListener('click', () => {
  client.request('addRuns', {}).catch((err: unknown) => client.log('warn', `adding session.runs failed: ${String(err)}`));
});

summaryButton.addEventListener('click', () => {
  const chosen = chosenRun();
  if (chosen === undefined) return;
  client.request('showRunSummary', { run: chosen.dir }).catch((err: unknown) => client.log('warn', `showing the run summary failed: ${String(err)}`));
});

onThemeChange(() => {
  // Canvases and the matrix hold colours, not variables: they are drawn again.
  chipsSignature = '';
  legendSignature = '';
  render();
});

scheduleRender();
session.start({
  // A command chose a run (a click in the Runs tree); what the user set in the view stays.
  // The user chose a run's epoch in another view or in the Runs tree: the matrix follows.
  followLinked: (linked) =>
    session.runs.some((r) => r.dir === linked.run)
      ? { ...session.selection, run: linked.run, ...(linked.epoch !== undefined ? { epoch: linked.epoch } : {}) }
      : session.selection,
  refresh: () => {
    requestData();
    scheduleRender();
  },
});

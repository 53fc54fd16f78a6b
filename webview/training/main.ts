// The training-performance view (paper §5.2, Fig. 4): (A) the confusion matrix at a chosen epoch,
// (B) H(x.label | y = i) and (C) H(y | x.label = i) over the epochs, one line per class, (D) the
// inter-sample entropy of each run's input set, (E) each run's training loss. Several runs can be
// compared (Fig. 5): (D) and (E) show them all, one colour per run; (A)–(C) show the run chosen.
// Export… in the toolbar saves (B) and (C) as a figure or their values as a table (exportFigure.ts).
//
// The host sends the runs (and again whenever one gains an epoch); the view asks for what it draws
// and keeps what it got per run, so a new epoch costs one request that the engine's cache answers
// for every epoch but the new one.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import type { Chart, TooltipItem } from 'chart.js';
import { type LabelEntropiesResult, type MeasureSeries } from '../../src/shared/measures';
import { axisStyle, baseOptions, renderChart, textGlyph, tooltipStyle } from '../shared/charts';
import { frameScheduler, h, replaceChildren, setText } from '../shared/dom';
import { epochToKeep, showEpochOnSlider } from '../shared/epochSlider';
import { installExport } from '../shared/exportView';
import { RequestError } from '../shared/hostClient';
import { markMilestone } from '../shared/milestones';
import type { ProgressState } from '../shared/progressLine';
import { cancelFetch, errorText, progressText, type FetchRequest } from '../shared/requests';
import { loadedRuns, runName, runStatusLines, type LoadedRun } from '../shared/runs';
import { classColors, classDash, onThemeChange, runColors, themeColors, toCss, type ThemeColors } from '../shared/theme';
import { confusionTotals, entropyAxis, entropyLines, epochIndex, epochsKey, formatNumber, infinityMarks, type EntropyKind, type XY } from './series';
import { chosenRun, runColorOf, select } from './choices';
import {
  addRunsButton,
  classLegend,
  epochLabel,
  epochSlider,
  estimatorParams,
  labelGivenPredictionCanvas,
  labelMessage,
  logLossCheckbox,
  matrix,
  matrixCaption,
  matrixProgress,
  predictionGivenLabelCanvas,
  runChips,
  runSelect,
  status,
  summaryButton,
  toolbarActions,
} from './layout';
import { trainingExport } from './exportFigure';
import { renderInputEntropy, renderLoss } from './lossCharts';
import { client, cursorPlugin, hiddenClasses, inputEntropy, labelData, session, view, type RunFetched } from './state';

markMilestone('script-start');

// ---------------------------------------------------------------------------------------------
// State helpers.

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

/** The label entropies' line: computing (with Cancel), cancelled or failed (with Compute again), or nothing once in. */
function labelProgress(chosen: LoadedRun | undefined, labels: RunFetched<MeasureSeries<LabelEntropiesResult>> | undefined): ProgressState {
  if (chosen === undefined) return { text: session.runs.length === 0 ? '' : 'No run has been read yet.' };
  if (chosen.info.manifest.epochs.length === 0) return { text: `${chosen.info.name} has no finished epoch yet.` };
  const retry = (): void => {
    // The epochs already computed stay on screen while they are computed again.
    labelData.set(chosen.dir, { key: '', value: labels?.value });
    requestData();
    scheduleRender();
  };
  const cancel = (): void => {
    cancelFetch(labels);
    scheduleRender();
  };
  const shown = labels?.value !== undefined ? ` The matrix shows the ${labels.value.items.length} epochs computed before.` : '';
  if (labels?.error !== undefined) return { text: `Label entropies failed: ${errorText(labels.error)}`, error: true, retry };
  if (labels?.cancelled && labels.abort === undefined) return { text: `Label entropies: cancelled.${shown}`, retry };
  if (labels?.abort !== undefined) return { text: `Label entropies: ${progressText(labels.progress)}${shown}`, cancel };
  if (labels?.value === undefined) return { text: `Label entropies: ${progressText(undefined)}` };
  return { text: '' };
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
  view.cursorEpoch = current?.epoch;
  renderMatrixCard(chosen, labels, items, index, colors);
  renderLabelCharts(chosen, labels, items, current?.epoch, colors);
  renderInputEntropy(palette, colors, {
    retry: () => {
      // Cancelled entries are asked for again; a value they still hold stays on screen meanwhile.
      for (const [dir, entry] of inputEntropy) if (entry.cancelled && entry.abort === undefined) inputEntropy.set(dir, { key: '', value: entry.value });
      requestData();
      scheduleRender();
    },
    changed: scheduleRender,
  });
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

  matrixProgress.show(labelProgress(chosen, labels));

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

installExport(client, trainingExport, toolbarActions);

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

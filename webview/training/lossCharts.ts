// The training view's cards (D) and (E): the inter-sample entropy of each run's input set, and
// the training loss over epochs, one line per run.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import type { TooltipItem } from 'chart.js';
import { SATURATION_MARGIN_BITS } from '../../src/shared/measures';
import { axisStyle, baseOptions, renderChart, tooltipStyle } from '../shared/charts';
import { h, replaceChildren } from '../shared/dom';
import { cancelFetch, errorText, progressText } from '../shared/requests';
import { loadedRuns, runName, type LoadedRun } from '../shared/runs';
import { toCss, type ThemeColors } from '../shared/theme';
import { formatNumber, lossLine, shortName } from './series';
import { runColorOf } from './choices';
import { inputEntropyCanvas, inputEntropyProgress, inputEntropyValues, logLossCheckbox, lossCanvas, lossValues } from './layout';
import { cursorPlugin, inputEntropy, session } from './state';

/** The line under (D): Cancel while any run's input entropy is computed, Compute again for those cancelled. */
function renderInputProgress(retry: () => void, changed: () => void): void {
  const entries = session.runs.map((run) => inputEntropy.get(run.dir)).filter((e) => e !== undefined);
  const running = entries.filter((e) => e.abort !== undefined);
  const cancelled = entries.filter((e) => e.cancelled && e.abort === undefined);
  if (running.length > 0)
    inputEntropyProgress.show({
      text: `Inter-sample entropy of the inputs: computing for ${running.length} run${running.length === 1 ? '' : 's'}…`,
      cancel: () => {
        for (const e of running) cancelFetch(e);
        changed();
      },
    });
  else if (cancelled.length > 0)
    inputEntropyProgress.show({
      text: `Inter-sample entropy of the inputs: cancelled for ${cancelled.length} run${cancelled.length === 1 ? '' : 's'}.`,
      retry,
    });
  else inputEntropyProgress.show({ text: '' });
}

export function renderInputEntropy(palette: readonly string[], colors: ThemeColors, actions: { retry: () => void; changed: () => void }): void {
  renderInputProgress(actions.retry, actions.changed);
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
      else if (fetched?.cancelled && fetched.abort === undefined) text = 'cancelled';
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

export function renderLoss(palette: readonly string[], colors: ThemeColors, chosen: LoadedRun | undefined, epoch: number | undefined): void {
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

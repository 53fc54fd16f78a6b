// The layer view's colour scale and captions: the scale's ends (the heatmaps shown, or every
// epoch), its legend, and a heatmap's one-line summary.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import type { ChannelCapacityResult } from '../../src/shared/measures';
import { setText } from '../shared/dom';
import { type LoadedRun } from '../shared/runs';
import { type ThemeColors } from '../shared/theme';
import { capacityRamp, valueRange, type ScaleRange } from './capacityModel';
import { drawRampLegend } from './heatmap';
import { chosenLayer, chosenOthers, chosenSamples, epochsKey, pairKey } from './choices';
import { legendCanvas, legendMax, legendMin, legendNote } from './layout';
import { series, session } from './state';

export function formatBits(value: number): string {
  if (!Number.isFinite(value)) return '–';
  return Math.abs(value) >= 100 ? value.toFixed(0) : value.toPrecision(3);
}

/** "max 1.21 bits (conv1 #5 × conv2 #4), mean 0.598 bits; 8 × 16 channels". */
export function captionOf(result: ChannelCapacityResult): string {
  let best = -Infinity;
  let at = [0, 0];
  let sum = 0;
  for (let r = 0; r < result.rows; r++) {
    for (let c = 0; c < result.cols; c++) {
      const v = result.capacity[r * result.cols + c];
      sum += v;
      if (v > best) {
        best = v;
        at = [c, r];
      }
    }
  }
  const mean = sum / Math.max(1, result.rows * result.cols);
  return `Epoch ${result.epoch}: ${result.cols} × ${result.rows} channels; max ${formatBits(best)} bits (${result.layerI} #${at[0]} × ${result.layerJ} #${at[1]}), mean ${formatBits(mean)} bits.`;
}

/**
 * The colour scale's ends: the heatmaps shown (so Fig. 12's heatmaps share one scale), or with
 * "all epochs" from 0 to the largest capacity at any epoch of the pairs, so that a heatmap getting
 * brighter over the epochs (Fig. 11) is seen as such.
 */
export function scaleRange(run: LoadedRun, shown: readonly ChannelCapacityResult[]): ScaleRange | undefined {
  if (session.selection.scale === 'run') {
    const layer = chosenLayer(run);
    const all: ChannelCapacityResult[] = [...shown];
    for (const other of chosenOthers(run)) {
      const s = series.get(`${pairKey(run, layer, other, chosenSamples())}|all|${epochsKey(run)}`)?.value;
      if (s !== undefined) all.push(...s.items);
    }
    const r = valueRange(all);
    return r === undefined ? undefined : { lo: Math.min(0, r.lo), hi: r.hi };
  }
  return valueRange(shown);
}

export function renderLegend(range: ScaleRange | undefined, colors: ThemeColors): void {
  const ramp = capacityRamp(colors);
  drawRampLegend(legendCanvas, ramp, colors, 160, 12);
  setText(legendMin, range !== undefined ? `${formatBits(range.lo)}` : '–');
  setText(legendMax, range !== undefined ? `${formatBits(range.hi)}` : '–');
  const dark = ramp.small !== colors.background;
  setText(
    legendNote,
    `Brighter = smaller capacity: more information lost between the two channels (paper §5.3.2). ${dark ? 'In this dark theme the bright end is the light colour; large capacities fade into the background.' : 'Small capacities fade into the background; large ones are dark.'}${session.selection.scale === 'run' ? ' Scale: 0 to the largest capacity at any epoch.' : ' Scale: the heatmaps shown, min to max.'}`,
  );
}

// The readable summary of `cnnslicer analyze`. It fits SUMMARY_COLUMNS columns for any number of
// layers and epochs: layers are rows (a ResNet has 50, a MobileNet 140), epochs are columns, and
// when more epochs are analysed than fit, an evenly spread subset is shown and the JSON (which
// carries everything) is pointed to.
import { SATURATION_MARGIN_BITS, type InterSampleEntropyResult } from '../../shared/measures';
import type { RunAnalysis } from '../analysis/analyzeRun';
import { bits, capacityStats, channelStats, DEAD_CHANNEL_BITS, formatLabelTable, formatParams, percent, shapeText, summary } from './analysisSummary';
import { formatMetric, table } from './runSummary';

export const SUMMARY_COLUMNS = 160;
/** Layer names longer than this are shortened in the middle; the JSON has them whole. */
const NAME_COLUMN = 40;
/** A value and its saturation mark, e.g. "17.6543*". */
const VALUE_COLUMN = 8;

/** "layer2.0.downsample.0" as is; a longer name as its start and end around an ellipsis. */
export function shortName(name: string, width = NAME_COLUMN): string {
  if (name.length <= width) return name;
  const tail = Math.floor((width - 1) / 2);
  return `${name.slice(0, width - 1 - tail)}…${name.slice(name.length - tail)}`;
}

/** Words joined by ", " into lines of at most `width` columns, the first after `head`, the rest indented. */
export function wrapList(head: string, items: readonly string[], width = SUMMARY_COLUMNS, indent = '  '): string[] {
  const lines: string[] = [];
  let line = head;
  for (const [i, item] of items.entries()) {
    const piece = item + (i < items.length - 1 ? ',' : '');
    const sep = line === indent ? '' : ' ';
    if (line.length + sep.length + piece.length > width && line !== indent && line !== head) {
      lines.push(line);
      line = indent + piece;
    } else line += sep + piece;
  }
  lines.push(line);
  return lines;
}

/** Text broken at spaces into lines of at most `width` columns, continuation lines indented. */
export function wrapWords(text: string, width = SUMMARY_COLUMNS, indent = '  '): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = indent + word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  lines.push(line);
  return lines;
}

/** At most `max` of the epochs (indices into them): the first, the last and evenly spread between. */
export function shownEpochIndices(count: number, max: number): number[] {
  if (count <= max) return Array.from({ length: count }, (_, i) => i);
  if (max <= 1) return [count - 1];
  const picked = new Set<number>();
  for (let j = 0; j < max; j++) picked.add(Math.round((j * (count - 1)) / (max - 1)));
  return [...picked].sort((a, b) => a - b);
}

function saturated(r: InterSampleEntropyResult): boolean {
  return r.ceiling - r.entropy < SATURATION_MARGIN_BITS;
}

/** A value with a "*" when it is within SATURATION_MARGIN_BITS of its ceiling. */
function interCell(r: InterSampleEntropyResult): string {
  return `${bits(r.entropy)}${saturated(r) ? '*' : ' '}`;
}

export function formatAnalysis(a: RunAnalysis): string {
  const run = a.run;
  const lines: string[] = [];
  lines.push(`Run: ${run.name}`);
  lines.push(`Folder: ${run.dir}`);
  const model = [run.model.name, run.model.framework ? `(${run.model.framework})` : undefined].filter(Boolean).join(' ');
  if (model) lines.push(`Model: ${model}`);
  lines.push(
    ...wrapWords(
      `Probe set: ${run.probe.count} samples of [${run.probe.inputShape.join(', ')}]${run.probe.description ? ` — ${run.probe.description.trim()}` : ''}`,
    ),
  );
  lines.push(...wrapList(`Classes (${run.classes.length}):`, run.classes));
  lines.push(
    ...wrapList(`Layers analysed (${run.layers.length}):`, run.layers.length > 0 ? run.layers.map((l) => `${l.name} [${shapeText(l.shape)}]`) : ['none']),
  );
  lines.push(
    ...wrapList(
      `Epochs analysed (${a.epochs.length})${run.complete ? '' : ', run still open'}:`,
      a.epochs.length > 0 ? a.epochs.map(String) : ['none finished yet'],
    ),
  );
  lines.push(formatParams(a.params, a.interSample.input.k));

  const input = a.interSample.input;
  lines.push('');
  if (a.epochs.length === 0) {
    lines.push(`No finished epoch; inter-sample entropy of the inputs: ${bits(input.entropy)} bits (ceiling ${bits(input.ceiling)})`);
  } else {
    lines.push('Per epoch — loss and accuracy as recorded in training; probe accuracy from the logits:');
    const metricNames = [...new Set(run.epochs.flatMap((e) => Object.keys(e.metrics)))].filter((k) => k !== 'loss' && k !== 'accuracy').slice(0, 6);
    const header = ['epoch', 'loss', 'accuracy', 'probe acc.', ...metricNames];
    const rows = run.epochs.map((e, i) => [
      String(e.epoch),
      formatMetric('loss', e.metrics.loss),
      formatMetric('accuracy', e.metrics.accuracy),
      percent(a.labelEntropies[i].accuracy),
      ...metricNames.map((k) => formatMetric(k, e.metrics[k])),
    ]);
    lines.push(
      table(
        [header, ...rows],
        '  ',
        header.map((_, c) => c),
      ),
    );

    const named = [input.layer, ...a.layers, 'logits'];
    const nameWidth = Math.min(NAME_COLUMN, Math.max(...named.map((x) => x.length), 'layer'.length));
    const fit = Math.max(1, Math.floor((SUMMARY_COLUMNS - 2 - nameWidth) / (VALUE_COLUMN + 2 + 1)));
    const shown = shownEpochIndices(a.epochs.length, fit);
    lines.push('');
    lines.push(`Inter-sample entropy H(dCNN(all ${input.n} samples, l, −, t)) in bits, layers down, epochs across;`);
    lines.push(
      `ceiling log2 n(n−1) = ${bits(input.ceiling)} bits for n = ${input.n}; * = within ${SATURATION_MARGIN_BITS} bit of it (saturated: docs/estimators.md):`,
    );
    const eh = ['layer', ...shown.map((i) => `epoch ${a.epochs[i]}`)];
    const body = [
      ['input', ...shown.map(() => interCell(input))],
      ...a.layers.map((layer, li) => [shortName(layer, nameWidth), ...shown.map((i) => interCell(a.interSample.epochs[i].layers[li]))]),
      ['logits', ...shown.map((i) => interCell(a.interSample.epochs[i].logits))],
    ];
    lines.push(table([eh, ...body], '  ', eh.map((_, c) => c).slice(1)));
    if (shown.length < a.epochs.length) lines.push(`  (${shown.length} of ${a.epochs.length} epochs shown; every epoch is in the JSON: --json FILE)`);
    lines.push('  (the inputs do not change with training: their entropy is computed once)');
    const all = [input, ...a.interSample.epochs.flatMap((e) => [...e.layers, e.logits])];
    const sat = all.filter(saturated).length;
    if (sat > 0)
      lines.push(
        `  ${sat} of ${all.length} values are within ${SATURATION_MARGIN_BITS} bit of the ceiling: with k = ${input.k} ≈ n they say little about the layers`,
      );
    for (const r of all.filter((x) => x.unsolved > 0 || x.unconverged > 0)) {
      lines.push(`  note: ${r.layer} at epoch ${r.epoch}: ${r.unsolved} samples with duplicate neighbours (σ → 0), ${r.unconverged} σ not converged`);
    }
  }

  const last = a.epochs.length > 0 ? a.epochs[a.epochs.length - 1] : undefined;
  if (last !== undefined) {
    lines.push('');
    lines.push(`Channels at epoch ${last} — intra-sample entropy H(dCNN(all, l, c, t)) in bits, each channel's mean over all samples;`);
    lines.push(`dead = channels below ${DEAD_CHANNEL_BITS} bit:`);
    if (a.layers.length === 0) lines.push('  no layer analysed');
    else {
      const header = ['layer', 'shape', 'channels', 'mean', 'min (channel)', 'max (channel)', 'dead'];
      const rows = a.channelEntropies.map((ce, i) => {
        const s = channelStats(ce.items[ce.items.length - 1]);
        return [
          shortName(ce.layer),
          shapeText(run.layers[i].shape),
          String(s.channels),
          bits(s.mean),
          s.min ? `${bits(s.min.value)} (#${s.min.channel})` : '—',
          s.max ? `${bits(s.max.value)} (#${s.max.channel})` : '—',
          String(s.dead),
        ];
      });
      lines.push(table([header, ...rows], '  ', [2, 3, 4, 5, 6]));
      if (run.layers.some((l) => l.shape.length < 2)) lines.push('  (a dense layer has no maps: its values count as one channel)');
    }
    const le = a.labelEntropies[a.labelEntropies.length - 1];
    lines.push('');
    lines.push(`Labels at epoch ${last} (probe accuracy ${percent(le.accuracy)}), in bits:`);
    lines.push(formatLabelTable(le, run.classes));
    lines.push('');
  }

  if (a.epochs.length === 0) {
    lines.push('');
    lines.push('Channels, labels and channel capacity: no finished epoch yet.');
  } else if (!a.capacityRequested) {
    lines.push('Channel capacity: not computed (--no-capacity).');
  } else if (a.capacity.length === 0 && a.capacitySkipped.length === 0) {
    lines.push(`Channel capacity: needs two consecutive analysed ${ruleText(a)} with feature maps; there are none (${a.capacityLayers.reason}).`);
  } else {
    const pairs = a.capacity[0]?.pairs;
    lines.push(
      ...wrapWords(
        `Channel capacity between consecutive ${ruleText(a)} (${a.capacityLayers.reason})${a.capacityEpoch !== undefined ? ` at epoch ${a.capacityEpoch}` : ''}, in bits${pairs !== undefined ? ` (${pairs} sample pairs)` : ''}:`,
      ),
    );
    if (a.capacity.length > 0) {
      const header = ['from → to', 'to×from', 'mean', 'max (to ← from)', 'H(from) mean', 'H(to) mean'];
      const rows = a.capacity.map((r) => {
        const s = capacityStats(r);
        return [
          `${shortName(r.layerI, 30)} → ${shortName(r.layerJ, 30)}`,
          `${r.rows}×${r.cols}`,
          bits(s.mean),
          `${bits(s.max)} (#${s.maxRow} ← #${s.maxCol})`,
          bits(summary(r.hA).mean),
          bits(summary(r.hB).mean),
        ];
      });
      lines.push(table([header, ...rows], '  ', [2, 3, 4, 5]));
    }
    for (const s of a.capacitySkipped) lines.push(`  skipped ${s.layerI} → ${s.layerJ}: ${s.reason}`);
  }
  return lines.join('\n');
}

function ruleText(a: RunAnalysis): string {
  switch (a.capacityLayers.rule) {
    case 'all':
      return 'layers';
    case 'conv':
      return 'convolutions';
    case 'blocks':
      return 'block outputs';
  }
}

// Plain-text summary of a run, as `cnnslicer info` prints it.
import type { EpochEntry, RunInfo } from '../../shared/runFormat';

/**
 * Rows of cells in aligned columns, the first row being the header. Widths count UTF-16 units,
 * which is right for the symbols used here (×, —, ∞, →), all one column wide in a terminal.
 * `rightAligned` columns (numbers) are padded on the left so their digits line up.
 */
export function table(rows: readonly (readonly string[])[], indent = '  ', rightAligned: readonly number[] = []): string {
  if (rows.length === 0) return '';
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: readonly string[]): string =>
    indent +
    r
      .map((cell, c) => {
        if (rightAligned.includes(c)) return cell.padStart(widths[c]);
        return c === r.length - 1 ? cell : cell.padEnd(widths[c]);
      })
      .join('  ')
      .trimEnd();
  return rows.map(line).join('\n');
}

export function formatMetric(name: string, value: number | undefined): string {
  if (value === undefined) return '—';
  if (name === 'accuracy' && value >= 0 && value <= 1) return `${(value * 100).toFixed(2)}%`;
  return Math.abs(value) >= 1e4 || (value !== 0 && Math.abs(value) < 1e-3) ? value.toExponential(3) : value.toFixed(4);
}

function storedAs(e: EpochEntry): string {
  const parts: string[] = [];
  if (e.activations !== undefined) parts.push(`activations (${e.dtype ?? 'float32'})`);
  if (e.checkpoint !== undefined) parts.push('checkpoint');
  return parts.join(' + ');
}

export function formatRunInfo(info: RunInfo): string {
  const m = info.manifest;
  const lines: string[] = [];
  lines.push(`Run: ${info.name}`);
  lines.push(`Folder: ${info.dir}`);
  const model = [m.model.name, m.model.framework ? `(${m.model.framework})` : undefined].filter(Boolean).join(' ');
  if (model) lines.push(`Model: ${model}`);
  lines.push(`Probe set: ${m.probe.count} samples of [${m.probe.inputShape.join(', ')}]${m.probe.description ? ` — ${m.probe.description}` : ''}`);
  lines.push(`Classes (${m.classes.length}): ${m.classes.join(', ')}`);
  lines.push('');
  lines.push(`Layers (${m.layers.length}):`);
  lines.push(
    table([
      ['#', 'name', 'kind', 'shape', 'op', 'source'],
      ...m.layers.map((l, i) => [String(i + 1), l.name, l.kind, l.shape.join('×'), l.op ?? '', l.source ? `${l.source.file}:${l.source.line}` : '']),
    ]),
  );
  lines.push('');
  const metricNames = [...new Set(m.epochs.flatMap((e) => Object.keys(e.metrics)))];
  lines.push(`Epochs (${m.epochs.length})${m.complete ? '' : ', run still open'}:`);
  if (m.epochs.length > 0) {
    lines.push(
      table([
        ['epoch', ...metricNames, 'stored as'],
        ...m.epochs.map((e) => [String(e.epoch), ...metricNames.map((n) => formatMetric(n, e.metrics[n])), storedAs(e)]),
      ]),
    );
  } else {
    lines.push('  none finished yet');
  }
  if (info.incompleteEpochs.length > 0) lines.push(`Being written: epoch ${info.incompleteEpochs.join(', ')}`);
  return lines.join('\n');
}

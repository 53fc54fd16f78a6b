// The run summary: a markdown document describing a run, shown read-only beside the editor and
// written to the log. Names in a run come from whoever wrote it, so every such string goes into a
// code span (see codeSpan) where neither markdown nor HTML is interpreted. User strings are never put
// in table cells: a `|` splits a cell even inside a code span, and the escape for it differs between
// markdown engines, so the document uses lists.
import type { RunInfo } from '../../shared/runFormat';
import { countOf, describeLayer, epochLabel, epochStorage, formatShape, metricEntries } from './runText';

/**
 * Control characters and line breaks shown as escapes: a line break would end the code span's line
 * and let the next line start a heading, a list or raw HTML block.
 */
function escapeControlCharacters(text: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is escaped here
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    switch (c) {
      case '\n':
        return '\\n';
      case '\r':
        return '\\r';
      case '\t':
        return '\\t';
      default:
        return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
    }
  });
}

/**
 * `text` as a CommonMark inline code span that shows it verbatim (line breaks and control characters
 * excepted, shown as escapes). The fence is one backtick longer than the longest backtick run inside,
 * and a space pads each side when the text starts or ends with a backtick or a space, which the
 * renderer strips again.
 */
export function codeSpan(text: string): string {
  const body = escapeControlCharacters(text);
  if (body === '') return '` `';
  const longestRun = Math.max(0, ...(body.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longestRun + 1);
  const allSpaces = /^ +$/.test(body);
  const pad = !allSpaces && (/^[` ]/.test(body) || /[` ]$/.test(body)) ? ' ' : '';
  return `${fence}${pad}${body}${pad}${fence}`;
}

export function formatRunSummary(info: RunInfo): string {
  const m = info.manifest;
  const out: string[] = [];
  out.push(`# Run ${codeSpan(info.name)}`, '');
  out.push(`- Folder: ${codeSpan(info.dir)}`);
  if (m.model.name !== undefined || m.model.framework !== undefined) {
    const parts = [
      m.model.name !== undefined ? codeSpan(m.model.name) : undefined,
      m.model.framework !== undefined ? `(${codeSpan(m.model.framework)})` : undefined,
    ];
    out.push(`- Model: ${parts.filter((p) => p !== undefined).join(' ')}`);
  }
  out.push(`- Probe set: ${countOf(m.probe.count, 'sample')}, each ${formatShape(m.probe.inputShape)}, in ${codeSpan(m.probe.file)}`);
  if (m.probe.description !== undefined) out.push(`- Probe samples: ${codeSpan(m.probe.description)}`);
  if (m.createdAt !== undefined) out.push(`- Created: ${codeSpan(m.createdAt)}`);
  out.push(`- Status: ${m.complete === true ? 'complete' : 'not marked complete; more epochs may come'}`);
  out.push('');

  out.push(`## Layers (${m.layers.length})`, '');
  m.layers.forEach((layer, i) => {
    const op = layer.op !== undefined ? `, ${codeSpan(layer.op)}` : '';
    const source = layer.source !== undefined ? `, defined at ${codeSpan(`${layer.source.file}:${layer.source.line}`)}` : '';
    out.push(`${i + 1}. ${codeSpan(layer.name)}: ${describeLayer(layer)}${op}${source}`);
  });
  out.push('');

  out.push(`## Classes (${m.classes.length})`, '');
  m.classes.forEach((name, label) => out.push(`- ${label}: ${codeSpan(name)}`));
  out.push('');

  out.push(`## Epochs (${m.epochs.length})`, '');
  if (m.epochs.length === 0) out.push('No finished epoch yet.');
  for (const epoch of m.epochs) {
    const metrics = metricEntries(epoch.metrics).map((e) => `${codeSpan(e.name)} ${e.text}`);
    const facts = [...metrics, `stored as ${epochStorage(epoch)}`];
    out.push(`- ${epochLabel(epoch.epoch)}: ${facts.join(', ')}`);
  }
  out.push('');

  if (info.incompleteEpochs.length > 0) {
    out.push(`## Being written (${info.incompleteEpochs.length})`, '');
    out.push('Files of these epochs are on disk, but the manifest does not list them yet:', '');
    for (const epoch of [...info.incompleteEpochs].sort((a, b) => a - b)) out.push(`- ${epochLabel(epoch)}`);
    out.push('');
  }
  return out.join('\n');
}

/**
 * The path part of a summary document's URI, whose last segment VS Code shows as the tab title. It
 * ends in `.md` so the document opens as markdown; characters that would split or mangle a path
 * segment are replaced.
 */
export function summaryDocumentPath(runName: string): string {
  const safe = runName
    // eslint-disable-next-line no-control-regex -- control characters cannot be in a file name
    .replace(/[\u0000-\u001f\u007f/\\:*?"<>|#%]/g, '_')
    .trim()
    .slice(0, 80);
  return `/${safe === '' ? 'run' : safe} summary.md`;
}

/** What the summary document shows when its run cannot be read (e.g. it was deleted since). */
export function formatUnreadableRunSummary(runDir: string, problem: string): string {
  return ['# CNNSlicer run summary', '', `The run in ${codeSpan(runDir)} could not be read:`, '', `- ${codeSpan(problem)}`, ''].join('\n');
}

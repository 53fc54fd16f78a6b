// The text Attach Probe inserts, as snippet parts: plain text and numbered placeholders with
// defaults (the model, the probe inputs and labels, the run folder, the metrics). One snippet
// covers the loop from the Probe line before it (from `import cnnslicer` when that is needed) to
// `close()` after it, the lines in between carried through escaped, so the insertions are one
// edit, undone at once, whose
// placeholders the user tabs through. Free of `vscode`: the command turns the parts into a
// SnippetString, the tests into the text the defaults give.
import type { EpochLoop, ProbeAccess, TrainingScript } from './trainingScript';
import { importInsertLine } from './trainingScript';

export type SnippetPart = { readonly text: string } | { readonly placeholder: number; readonly value: string };

export interface LinePosition {
  readonly line: number;
  readonly character: number;
}

export interface AttachPlan {
  /**
   * The line `import cnnslicer` goes before, when the script has no module-level way to name
   * Probe. It is part of the one snippet (which then starts there), not an edit of its own: two
   * edits are two undo steps whenever VS Code puts a stop between them, as it did under load.
   */
  readonly importLine: number | undefined;
  /** What the snippet replaces: the loop's whole lines, from the import's line when there is one. */
  readonly start: LinePosition;
  readonly end: LinePosition;
  readonly parts: readonly SnippetPart[];
}

export interface AttachOptions {
  /** The run folder the placeholder proposes, e.g. `cnnslicer-runs/train`. */
  readonly runFolder: string;
  /** The document's line break. */
  readonly eol: string;
}

// Tab order: what the user must decide first comes first.
const MODEL = 1;
const INPUTS = 2;
const LABELS = 3;
const RUN_FOLDER = 4;
const METRICS = 5;

/** `cnnslicer-runs/<script name>`, the name reduced to what a Python string and a folder name take as is. */
export function defaultRunFolder(fileName: string): string {
  const base = fileName.split(/[\\/]/).pop() ?? '';
  const stem = base.replace(/\.pyw?$/i, '').replace(/[^\w.-]/g, '_');
  return `cnnslicer-runs/${stem === '' || /^\.+$/.test(stem) ? 'run' : stem}`;
}

/** Text as a snippet shows it literally: `$`, `}` and `\` are snippet syntax. */
export function escapeSnippetText(text: string): string {
  return text.replace(/[$}\\]/g, '\\$&');
}

/** The parts as snippet syntax (`${1:model}`, `$5`). */
export function snippetText(parts: readonly SnippetPart[]): string {
  return parts
    .map((p) => ('text' in p ? escapeSnippetText(p.text) : p.value === '' ? `\${${p.placeholder}}` : `\${${p.placeholder}:${escapeSnippetText(p.value)}}`))
    .join('');
}

/** The text the snippet leaves when every placeholder keeps its default. */
export function defaultText(parts: readonly SnippetPart[]): string {
  return parts.map((p) => ('text' in p ? p.text : p.value)).join('');
}

const probeClass = (access: ProbeAccess): string =>
  access.kind === 'class' ? access.name : access.kind === 'module' ? `${access.name}.Probe` : 'cnnslicer.Probe';

/** `<indent><probe> = cnnslicer.Probe(model, probe_inputs, probe_labels, "<run folder>")`, without a line break. */
function probeConstruction(indent: string, script: TrainingScript, runFolder: string): SnippetPart[] {
  return [
    { text: `${indent}${script.probeVariable} = ${probeClass(script.probeAccess)}(` },
    { placeholder: MODEL, value: 'model' },
    { text: ', ' },
    { placeholder: INPUTS, value: 'probe_inputs' },
    { text: ', ' },
    { placeholder: LABELS, value: 'probe_labels' },
    { text: ', ' },
    // The quotes are in the placeholder: a variable holding the folder replaces the whole string.
    { placeholder: RUN_FOLDER, value: `"${runFolder}"` },
    { text: ')' },
  ];
}

const physicalLines = (text: string): string[] => text.split(/\r\n|\r|\n/);

/**
 * The edit attaching a Probe to `loop` of the script `text`: the Probe created right before the
 * loop at its indentation, `epoch_end(<epoch>)` as the last statement of its body at the body's
 * indentation, and `close()` after the loop (its `else:` clause included) so the run is marked
 * complete; plus `import cnnslicer` when needed. Indentation is copied from the loop's own lines,
 * so a file indented with tabs gets tabs.
 */
export function planAttach(text: string, script: TrainingScript, loop: EpochLoop, options: AttachOptions): AttachPlan {
  const lines = physicalLines(text);
  const { eol } = options;
  const v = script.probeVariable;
  const importLine = script.probeAccess.kind === 'none' ? importInsertLine(script, loop.line) : undefined;
  // The lines between the import and the loop are carried through, escaped like the loop's own.
  const aboveLoop: SnippetPart[] =
    importLine === undefined
      ? []
      : [
          {
            text:
              `import cnnslicer${eol}` +
              lines
                .slice(importLine, loop.line)
                .map((l) => l + eol)
                .join(''),
          },
        ];
  const parts: SnippetPart[] = [
    ...aboveLoop,
    ...probeConstruction(loop.indent, script, options.runFolder),
    { text: eol + lines.slice(loop.line, loop.bodyEnd + 1).join(eol) + eol + `${loop.bodyIndent}${v}.epoch_end(${loop.epochVariable}` },
    { placeholder: METRICS, value: '' },
    { text: ')' },
  ];
  if (loop.loopEnd > loop.bodyEnd) parts.push({ text: eol + lines.slice(loop.bodyEnd + 1, loop.loopEnd + 1).join(eol) });
  parts.push({ text: `${eol}${loop.indent}${v}.close()` });
  return {
    importLine,
    start: { line: importLine ?? loop.line, character: 0 },
    end: { line: loop.loopEnd, character: lines[loop.loopEnd].length },
    parts,
  };
}

export interface TemplateOptions extends AttachOptions {
  /** The indentation of the line the template goes above. */
  readonly indent: string;
  /** One level of indentation in this editor (four spaces, a tab). */
  readonly indentUnit: string;
}

/**
 * For a script without an epoch loop: the usage as comments, inserted above the cursor's line,
 * for the user to uncomment and move into their own loop. Ends with a line break.
 */
export function templateParts(script: TrainingScript, options: TemplateOptions): SnippetPart[] {
  const { indent, indentUnit, eol } = options;
  const v = script.probeVariable;
  const c = `${indent}# `;
  const parts: SnippetPart[] = [{ text: `${c}CNNSlicer: no epoch loop found. Uncomment these lines and move them into your training loop:${eol}` }];
  if (script.probeAccess.kind === 'none') parts.push({ text: `${c}import cnnslicer${eol}` });
  parts.push(...probeConstruction(c, script, options.runFolder));
  parts.push(
    { text: `${eol}${c}for epoch in range(1, epochs + 1):${eol}${c}${indentUnit}...  # train one epoch${eol}${c}${indentUnit}${v}.epoch_end(epoch` },
    { placeholder: METRICS, value: ', loss=train_loss' },
    { text: `)${eol}${c}${v}.close()  # marks the run complete${eol}` },
  );
  return parts;
}

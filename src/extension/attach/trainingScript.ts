// What Attach Probe needs to know about a Python training script, read from its text alone (no
// Python runs, so it works in Restricted Mode): its epoch loops and where each one's body ends,
// whether it imports torch, how it imports cnnslicer, and whether it already creates a Probe.
// Free of `vscode`; the command and the CodeLens call it with the document's text.
import { logicalLines, type LogicalLine } from './pythonLines';

/** A `for … in …:` loop over epochs, with the lines the attached probe goes around. */
export interface EpochLoop {
  /** The `for` line (0-based): the Probe is created right before it, at its indentation. */
  readonly line: number;
  /** The header as written, strings shown as `""` and comments dropped, e.g. `for epoch in range(1, n + 1):`. */
  readonly header: string;
  readonly indent: string;
  /** The expression `epoch_end` is given: the loop variable whose name says epoch. */
  readonly epochVariable: string;
  /** The indentation of the loop body's first statement. */
  readonly bodyIndent: string;
  /** The last physical line of the body's last statement: `epoch_end` follows it, at `bodyIndent`. */
  readonly bodyEnd: number;
  /** The last physical line of the loop, its `else:` clause included: `close()` follows it. */
  readonly loopEnd: number;
}

/** How the script can name cnnslicer's Probe at module level. */
export type ProbeAccess = { readonly kind: 'module'; readonly name: string } | { readonly kind: 'class'; readonly name: string } | { readonly kind: 'none' };

export interface TrainingScript {
  readonly loops: readonly EpochLoop[];
  /** Some `import torch…` or `from torch… import` anywhere in the file. */
  readonly importsTorch: boolean;
  /** The first line creating a cnnslicer Probe, when the script already has one. */
  readonly probeLine: number | undefined;
  readonly probeAccess: ProbeAccess;
  /** The name for the probe variable: `probe`, unless the script already uses that name. */
  readonly probeVariable: string;
  /** The module-level statements (indentation ''), for placing an import. */
  readonly topLevel: readonly LogicalLine[];
}

interface Binding {
  readonly module: string;
  /** The imported name, for `from module import name`; undefined for `import module`. */
  readonly name: string | undefined;
  readonly as: string;
  readonly topLevel: boolean;
}

const IDENTIFIER = /[A-Za-z_]\w*/g;
const MODULE_NAME = /^[A-Za-z_][\w.]*$/;

/** The names an import statement binds; empty for any other statement. */
function importBindings(l: LogicalLine): Binding[] {
  const topLevel = l.indent === '';
  const plain = /^import\s+(.+)$/.exec(l.code);
  if (plain !== null) {
    return plain[1].split(',').flatMap((item): Binding[] => {
      const m = /^\s*([\w.]+)(?:\s+as\s+(\w+))?\s*$/.exec(item);
      if (m === null || !MODULE_NAME.test(m[1])) return [];
      // `import a.b` binds `a`; only `import a.b as c` binds the submodule itself.
      return [{ module: m[1], name: undefined, as: m[2] ?? m[1].split('.')[0], topLevel }];
    });
  }
  const from = /^from\s+([\w.]+)\s+import\s+(.+)$/.exec(l.code);
  if (from === null) return [];
  const names = from[2].replace(/^\(|\)$/g, '');
  return names.split(',').flatMap((item): Binding[] => {
    const m = /^\s*(\w+|\*)(?:\s+as\s+(\w+))?\s*$/.exec(item);
    if (m === null) return [];
    return [{ module: from[1], name: m[1], as: m[2] ?? m[1], topLevel }];
  });
}

const isTorch = (module: string): boolean => module === 'torch' || module.startsWith('torch.');
const isCnnslicer = (module: string): boolean => module === 'cnnslicer' || module.startsWith('cnnslicer.');

/** The index of the first `:` outside brackets in `code` (strings are already `""`), or -1. */
function topLevelColon(code: string): number {
  let depth = 0;
  for (let i = 0; i < code.length; i++) {
    const ch = code[i];
    if (ch === '(' || ch === '[' || ch === '{') depth++;
    else if ((ch === ')' || ch === ']' || ch === '}') && depth > 0) depth--;
    else if (ch === ':' && depth === 0) return i;
  }
  return -1;
}

/**
 * The loop variable that numbers epochs, for a `for` header whose body is on the following lines:
 * the first name of the target containing "epoch" (`for epoch in …`, `for epoch, lr in …`), or a
 * single-name target iterating over something that says epoch (`for i in range(num_epochs):`).
 * Undefined for any other statement, and for a loop written on one line (no body to extend).
 */
function epochVariableOf(code: string): string | undefined {
  const m = /^for\s+(.+?)\s+in\s+(.*)$/s.exec(code);
  if (m === null) return undefined;
  const colon = topLevelColon(code);
  if (colon !== code.length - 1) return undefined;
  const target = m[1];
  const iterable = m[2];
  if (!/^[\w\s,()[\]]+$/.test(target)) return undefined;
  const names = target.match(IDENTIFIER) ?? [];
  const named = names.find((name) => /epoch/i.test(name));
  if (named !== undefined) return named;
  if (names.length === 1 && names[0] !== '_' && /^\w+$/.test(target.trim()) && /epoch/i.test(iterable)) return names[0];
  return undefined;
}

/** True when `inner` is indented deeper than `outer` (Python forbids mixing tabs and spaces inconsistently). */
const deeper = (inner: string, outer: string): boolean => inner.length > outer.length && inner.startsWith(outer);

/** The index just past the block whose header is `lines[header]`: the first statement not indented deeper. */
function blockEnd(lines: readonly LogicalLine[], header: number): number {
  let k = header + 1;
  while (k < lines.length && deeper(lines[k].indent, lines[header].indent)) k++;
  return k;
}

function epochLoopAt(lines: readonly LogicalLine[], k: number): EpochLoop | undefined {
  const header = lines[k];
  const epochVariable = epochVariableOf(header.code);
  if (epochVariable === undefined) return undefined;
  const first = lines[k + 1];
  if (first === undefined || !deeper(first.indent, header.indent)) return undefined;
  const end = blockEnd(lines, k);
  const bodyEnd = lines[end - 1].end;
  let loopEnd = bodyEnd;
  // A for loop's `else:` runs once after the last epoch: close() belongs after it.
  const next = lines[end] as LogicalLine | undefined;
  if (next !== undefined && next.indent === header.indent && /^else\s*:/.test(next.code)) loopEnd = lines[blockEnd(lines, end) - 1].end;
  return { line: header.start, header: header.code, indent: header.indent, epochVariable, bodyIndent: first.indent, bodyEnd, loopEnd };
}

/** Reads a Python file's text. */
export function analyzeTrainingScript(text: string): TrainingScript {
  const lines = logicalLines(text);
  const bindings = lines.flatMap(importBindings);
  const importsTorch = bindings.some((b) => isTorch(b.module));
  const fromCnnslicer = bindings.filter((b) => isCnnslicer(b.module));

  // What a call creating a Probe looks like in this file: `cnnslicer.Probe(`, `cs.Probe(`, `Probe(`.
  const callers = new Set<string>(['cnnslicer.Probe']);
  for (const b of fromCnnslicer) {
    // `import cnnslicer as cs`, `from cnnslicer import probe`: a module holding Probe.
    if (b.name === undefined || b.name === 'probe') callers.add(`${b.as}.Probe`);
    else if (b.name === 'Probe') callers.add(b.as);
    else if (b.name === '*') callers.add('Probe');
  }
  const callPattern = new RegExp(`(?<![\\w.])(?:${[...callers].map((c) => c.replace(/\./g, '\\s*\\.\\s*')).join('|')})\\s*\\(`);
  const probeLine = lines.find((l) => callPattern.test(l.code))?.start;

  const moduleBinding = fromCnnslicer.find((b) => b.topLevel && b.name === undefined && b.module === 'cnnslicer');
  const classBinding = fromCnnslicer.find((b) => b.topLevel && b.name === 'Probe' && (b.module === 'cnnslicer' || b.module === 'cnnslicer.probe'));
  const probeAccess: ProbeAccess =
    classBinding !== undefined
      ? { kind: 'class', name: classBinding.as }
      : moduleBinding !== undefined
        ? { kind: 'module', name: moduleBinding.as }
        : { kind: 'none' };

  const used = lines.some((l) => /(?<![\w.])probe\b/.test(l.code));
  const loops = lines.flatMap((_, k) => epochLoopAt(lines, k) ?? []);
  return {
    loops,
    importsTorch,
    probeLine,
    probeAccess,
    probeVariable: used ? 'cnnslicer_probe' : 'probe',
    topLevel: lines.filter((l) => l.indent === ''),
  };
}

/**
 * Where `import cnnslicer` goes so that it runs before `loopLine`: after the last module-level
 * import above the loop; without one, after the module docstring, else before the first statement.
 * Returns the 0-based line the import is inserted at (before that line's first character).
 */
export function importInsertLine(script: TrainingScript, loopLine: number): number {
  const above = script.topLevel.filter((l) => l.start < loopLine);
  const imports = above.filter((l) => /^(?:import|from)\s/.test(l.code));
  if (imports.length > 0) return imports[imports.length - 1].end + 1;
  const first = script.topLevel[0] as LogicalLine | undefined;
  if (first === undefined) return 0;
  if (first.code === '""' && first.start < loopLine) return first.end + 1;
  return first.start;
}

/** The loop to attach to for a cursor on `line`: the innermost one whose lines hold it, else the only one. */
export function loopForCursor(loops: readonly EpochLoop[], line: number): EpochLoop | undefined {
  const holding = loops.filter((l) => l.line <= line && line <= l.loopEnd);
  if (holding.length > 0) return holding[holding.length - 1];
  return loops.length === 1 ? loops[0] : undefined;
}

// Shared by the Attach Probe tests (unit and Python): examples/mnist_pytorch.py with its probe taken
// out, an AttachPlan applied to text as VS Code applies it, and VS Code's snippet syntax read back.
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { defaultText, type AttachPlan, type SnippetPart } from '../../src/extension/attach/attachSnippet';
import { logicalLines } from '../../src/extension/attach/pythonLines';

export const MNIST_EXAMPLE = path.resolve(__dirname, '..', '..', 'examples', 'mnist_pytorch.py');

const indentOf = (line: string): number => line.length - line.trimStart().length;

/**
 * examples/mnist_pytorch.py as a training script without CNNSlicer: read from the real file so the
 * test follows it. Each removal must match exactly as often as stated, so a change to the example
 * fails here, loudly, instead of leaving a half-stripped script.
 */
export function mnistWithoutProbe(): string {
  let lines = readFileSync(MNIST_EXAMPLE, 'utf8').split('\n');
  const removeLines = (pattern: RegExp, expected: number): void => {
    const before = lines.length;
    lines = lines.filter((l) => !pattern.test(l));
    assert.equal(before - lines.length, expected, `lines matching ${pattern}`);
  };
  /** Removes each statement whose header matches, with the lines indented under it. */
  const removeBlocks = (header: RegExp, expected: number): void => {
    let found = 0;
    const out: string[] = [];
    for (let i = 0; i < lines.length; i++) {
      if (!header.test(lines[i])) {
        out.push(lines[i]);
        continue;
      }
      found++;
      const indent = indentOf(lines[i]);
      while (i + 1 < lines.length && (lines[i + 1].trim() === '' || indentOf(lines[i + 1]) > indent)) i++;
      // The blank line that ended the block stays.
      if (lines[i].trim() === '') out.push('');
    }
    assert.equal(found, expected, `blocks under ${header}`);
    lines = out;
  };
  removeLines(/^import cnnslicer\b/, 1);
  removeLines(/^\s*probe = None$/, 1);
  removeBlocks(/^\s*if not args\.no_probe:$/, 1);
  removeBlocks(/^\s*if probe is not None:$/, 2);
  // `with cnnslicer.track_sources():` around the model: the model line stays, one level up.
  const withAt = lines.findIndex((l) => /^\s*with cnnslicer\.track_sources\(\):$/.test(l));
  assert.ok(withAt >= 0, 'the example builds its model inside cnnslicer.track_sources()');
  assert.ok(indentOf(lines[withAt + 1]) > indentOf(lines[withAt]));
  lines.splice(withAt, 2, lines[withAt + 1].replace(/^ {4}/, ''));
  const text = lines.join('\n');
  // The code, that is: the docstring still tells of the probe.
  const code = logicalLines(text)
    .map((l) => l.code)
    .join('\n');
  assert.doesNotMatch(code, /cnnslicer/);
  assert.doesNotMatch(code, /(?<![\w.])probe\b/);
  return text;
}

/** Offsets of each line's start, whatever the line breaks. */
function lineStarts(text: string): number[] {
  const starts = [0];
  for (const m of text.matchAll(/\r\n|\r|\n/g)) starts.push((m.index ?? 0) + m[0].length);
  return starts;
}

/**
 * The text after the plan, as the command applies it (one snippet over the lines from the import
 * to the loop's end), with each placeholder's default or the value given for its number.
 */
export function applyPlan(text: string, plan: AttachPlan, values: ReadonlyMap<number, string> = new Map()): string {
  const starts = lineStarts(text);
  const startAt = starts[plan.start.line] + plan.start.character;
  const endAt = starts[plan.end.line] + plan.end.character;
  const filled = defaultText(
    plan.parts.map((p): SnippetPart => ('placeholder' in p && values.has(p.placeholder) ? { ...p, value: values.get(p.placeholder) ?? '' } : p)),
  );
  return text.slice(0, startAt) + filled + text.slice(endAt);
}

/**
 * VS Code's reading of snippet syntax, for what the tests produce: `\x` is x for x in `$ } \`,
 * `$1`/`${1}` are empty tab stops, `${1:default}` a placeholder (nesting allowed). Returns the text
 * with defaults and the placeholder numbers in order of appearance.
 */
export function readSnippet(snippet: string): { text: string; placeholders: number[] } {
  const placeholders: number[] = [];
  let i = 0;
  const read = (inPlaceholder: boolean): string => {
    let out = '';
    while (i < snippet.length) {
      const ch = snippet[i];
      if (ch === '\\' && '$}\\'.includes(snippet[i + 1] ?? '')) {
        out += snippet[i + 1];
        i += 2;
      } else if (ch === '}' && inPlaceholder) {
        i++;
        return out;
      } else if (ch === '$') {
        const simple = /^\$(\d+)/.exec(snippet.slice(i));
        const braced = /^\$\{(\d+)(:|\})/.exec(snippet.slice(i));
        if (simple !== null) {
          placeholders.push(Number(simple[1]));
          i += simple[0].length;
        } else if (braced !== null) {
          placeholders.push(Number(braced[1]));
          i += braced[0].length;
          if (braced[2] === ':') out += read(true);
        } else {
          throw new Error(`unescaped $ at ${i} of the snippet: ${snippet.slice(i, i + 20)}`);
        }
      } else {
        out += ch;
        i++;
      }
    }
    if (inPlaceholder) throw new Error('a placeholder is not closed');
    return out;
  };
  return { text: read(false), placeholders };
}

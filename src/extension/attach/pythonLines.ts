// Python source as logical lines, the unit Python's own grammar works in: a statement spread over
// several physical lines (open brackets, a backslash, a triple-quoted string) is one logical line,
// and blank or comment-only lines are none. Each line's code has its comments removed and every
// string literal replaced by `""`, so that `for epoch in` inside a docstring, or `#` inside a
// string, cannot be mistaken for code. Free of `vscode`, so it is unit-tested on plain text.
//
// Deliberately a scanner, not a parser: it never fails. Unterminated strings end at the end of
// their line (single-quoted) or of the file (triple-quoted), unbalanced closing brackets are
// ignored. Python 3.12's f-strings that nest the same quote (`f"{d["k"]}"`) are read as two
// strings, which only matters when such an f-string holds a `#` or a bracket.

export interface LogicalLine {
  /** First physical line, 0-based. */
  readonly start: number;
  /** Last physical line, 0-based (inclusive). */
  readonly end: number;
  /** The leading whitespace of the first physical line, exactly as written (tabs or spaces). */
  readonly indent: string;
  /** The code, strings as `""`, comments removed, each run of whitespace one space, trimmed. */
  readonly code: string;
}

const STRING_PREFIX = /(?:^|[^\w])([rbuf]{1,2})$/i;

/** Index just past the line break at `i` (`\n`, `\r\n` or `\r`), or `i` when there is none. */
function skipNewline(text: string, i: number): number {
  if (text[i] === '\r') return text[i + 1] === '\n' ? i + 2 : i + 1;
  if (text[i] === '\n') return i + 1;
  return i;
}

const isNewline = (ch: string | undefined): boolean => ch === '\n' || ch === '\r';

/** The logical lines of `text` in order. */
export function logicalLines(text: string): LogicalLine[] {
  const out: LogicalLine[] = [];
  const n = text.length;
  let i = 0;
  let line = 0;
  while (i < n) {
    const lineStart = i;
    while (i < n && (text[i] === ' ' || text[i] === '\t' || text[i] === '\f')) i++;
    const indent = text.slice(lineStart, i);
    if (i >= n) break;
    if (isNewline(text[i]) || text[i] === '#') {
      while (i < n && !isNewline(text[i])) i++;
      i = skipNewline(text, i);
      line++;
      continue;
    }
    const start = line;
    let code = '';
    let depth = 0;
    while (i < n) {
      const ch = text[i];
      if (ch === '#') {
        while (i < n && !isNewline(text[i])) i++;
        continue;
      }
      if (ch === '\\' && isNewline(text[i + 1])) {
        i = skipNewline(text, i + 1);
        line++;
        code += ' ';
        continue;
      }
      if (isNewline(ch)) {
        i = skipNewline(text, i);
        if (depth > 0) {
          line++;
          code += ' ';
          continue;
        }
        break;
      }
      if (ch === '"' || ch === "'") {
        // A prefix (r, b, f, rb, …) is part of the literal, not a name before it.
        const prefix = STRING_PREFIX.exec(code);
        if (prefix !== null) code = code.slice(0, code.length - prefix[1].length);
        const scanned = scanString(text, i);
        i = scanned.next;
        line += scanned.newlines;
        code += '""';
        continue;
      }
      if (ch === '(' || ch === '[' || ch === '{') depth++;
      else if ((ch === ')' || ch === ']' || ch === '}') && depth > 0) depth--;
      code += ch;
      i++;
    }
    // Runs of whitespace as one space: a header over several lines reads as one.
    out.push({ start, end: line, indent, code: code.replace(/\s+/g, ' ').trim() });
    line++;
  }
  return out;
}

/** The string literal whose opening quote is at `i`: where it ends and how many line breaks it spans. */
function scanString(text: string, i: number): { next: number; newlines: number } {
  const quote = text[i];
  const triple = text[i + 1] === quote && text[i + 2] === quote;
  let j = i + (triple ? 3 : 1);
  let newlines = 0;
  const n = text.length;
  while (j < n) {
    const ch = text[j];
    // In raw strings too a backslash keeps the next character from ending the literal.
    if (ch === '\\') {
      if (isNewline(text[j + 1])) {
        j = skipNewline(text, j + 1);
        newlines++;
      } else j += 2;
      continue;
    }
    if (isNewline(ch)) {
      if (!triple) return { next: j, newlines };
      j = skipNewline(text, j);
      newlines++;
      continue;
    }
    if (ch === quote) {
      if (!triple) return { next: j + 1, newlines };
      if (text[j + 1] === quote && text[j + 2] === quote) return { next: j + 3, newlines };
    }
    j++;
  }
  return { next: n, newlines };
}

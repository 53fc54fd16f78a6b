// The rules of docs/architecture.md that ESLint does not see: no import cycle, type-only imports
// included (import-x/no-cycle passes over those, and a type cycle still ties two modules'
// designs together), and no source file over MAX_LINES lines (one module, one job).
import * as assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(__dirname, '../..');

/** The most lines a file of src/ or webview/ may have. */
const MAX_LINES = 600;

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+'(\.{1,2}\/[^']+)'/g;

/** The modules a file imports (values and types), resolved to files. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const base = resolve(dirname(file), m[1]);
    const target = [`${base}.ts`, join(base, 'index.ts'), base].find((c) => existsSync(c) && statSync(c).isFile());
    if (target !== undefined) out.push(target);
  }
  return out;
}

/** One cycle of a module graph (each module to those it imports), or undefined. */
function findCycle(graph: ReadonlyMap<string, readonly string[]>): string[] | undefined {
  const files = [...graph.keys()];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (f: string): string[] | undefined => {
    state.set(f, 'open');
    stack.push(f);
    for (const g of graph.get(f) ?? []) {
      if (state.get(g) === 'open') return [...stack.slice(stack.indexOf(g)), g];
      if (state.get(g) === undefined && graph.has(g)) {
        const found = visit(g);
        if (found) return found;
      }
    }
    stack.pop();
    state.set(f, 'done');
    return undefined;
  };
  for (const f of files) {
    if (state.get(f) === undefined) {
      const found = visit(f);
      if (found) return found;
    }
  }
  return undefined;
}

describe('architecture (docs/architecture.md)', () => {
  const files = [...sourceFiles(join(root, 'src')), ...sourceFiles(join(root, 'webview'))];

  it('finds the imports it checks', () => {
    assert.ok(files.length > 100);
    assert.ok(importsOf(join(root, 'src/extension/extension.ts')).some((f) => f.endsWith('cnnslicerContext.ts')));
  });

  it('has no import cycle in src/ or webview/, type imports included', () => {
    const cycle = findCycle(new Map(files.map((f) => [f, importsOf(f)])));
    assert.equal(cycle, undefined, `import cycle: ${(cycle ?? []).map((f) => relative(root, f)).join(' → ')}`);
  });

  it(`has no file over ${MAX_LINES} lines in src/ or webview/`, () => {
    const long = files
      .map((f) => ({ file: relative(root, f), lines: readFileSync(f, 'utf8').split('\n').length }))
      .filter((f) => f.lines > MAX_LINES)
      .map((f) => `${f.file} (${f.lines})`);
    assert.deepEqual(long, [], `split by job: ${long.join(', ')}`);
  });

  it('sees a cycle when there is one, and none in a tree', () => {
    const cyclic = new Map([
      ['a', ['b']],
      ['b', ['c', 'd']],
      ['c', ['a']],
      ['d', []],
    ]);
    assert.deepEqual(findCycle(cyclic), ['a', 'b', 'c', 'a']);
    assert.equal(
      findCycle(
        new Map([
          ['a', ['b', 'c']],
          ['b', ['c']],
          ['c', []],
        ]),
      ),
      undefined,
    );
  });
});

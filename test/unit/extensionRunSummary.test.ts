import * as assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { codeSpan, formatRunSummary, formatUnreadableRunSummary, summaryDocumentPath } from '../../src/extension/runs/runSummary';
import { makeRun } from './extensionFixtures';

// markdown-it is the parser of VS Code's markdown preview, so it is the one whose reading of the
// summary matters. It comes with @vscode/vsce; its types are not installed, hence this interface.
interface MarkdownToken {
  readonly type: string;
  readonly tag: string;
  readonly content: string;
  readonly children: MarkdownToken[] | null;
}
interface MarkdownParser {
  parse(src: string, env: object): MarkdownToken[];
}
const MarkdownIt = createRequire(__filename)('markdown-it') as new (options: object) => MarkdownParser;
// As the VS Code preview configures it: raw HTML allowed, bare URLs linkified.
const markdown = new MarkdownIt({ html: true, linkify: true });

function flatten(tokens: readonly MarkdownToken[]): MarkdownToken[] {
  return tokens.flatMap((t) => [t, ...flatten(t.children ?? [])]);
}

/** What a code span shows for `text`: line breaks and control characters appear as escapes. */
function shown(text: string): string {
  // eslint-disable-next-line no-control-regex -- the control characters the summary must escape
  const escaped = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) =>
    c === '\n' ? '\\n' : c === '\r' ? '\\r' : c === '\t' ? '\\t' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return escaped === '' ? ' ' : escaped;
}

/** Strings built from the characters that mean something to markdown or HTML. */
const hostileString = fc.oneof(
  fc.string({
    unit: fc.constantFrom(
      '`',
      ' ',
      '\\',
      '|',
      '<',
      '>',
      '*',
      '_',
      '#',
      '[',
      ']',
      '(',
      ')',
      '!',
      '\n',
      '\r',
      '\t',
      '&',
      '-',
      '=',
      ':',
      'a',
      '1',
      '\u2028',
      '\u0000',
    ),
    maxLength: 24,
  }),
  fc.string({ unit: 'grapheme', maxLength: 24 }),
  fc.constantFrom(
    '<img src=x onerror=alert(1)>',
    '<script>alert(1)</script>',
    '`',
    '``',
    ' ` ',
    '# heading',
    '---',
    '[x](command:evil)',
    'http://example.com',
    '  ',
    '',
  ),
);

describe('extension run summary', () => {
  it('puts any text into one inline code span that shows it verbatim', () => {
    fc.assert(
      fc.property(hostileString, (text) => {
        const tokens = markdown.parse(`- a ${codeSpan(text)} b`, {});
        const inline = flatten(tokens).filter((t) => t.type === 'inline');
        assert.equal(inline.length, 1, `expected one paragraph for ${JSON.stringify(text)}`);
        const children = inline[0].children ?? [];
        assert.deepEqual(
          children.map((t) => t.type),
          ['text', 'code_inline', 'text'],
          `structure for ${JSON.stringify(text)}: ${JSON.stringify(children)}`,
        );
        assert.equal(children[1].content, shown(text));
      }),
      { numRuns: 2000 },
    );
  });

  it('uses a fence longer than any run of backticks inside', () => {
    assert.equal(codeSpan('a`b'), '``a`b``');
    assert.equal(codeSpan('``x'), '``` ``x ```');
    assert.equal(codeSpan('plain'), '`plain`');
  });

  it('summarises layers, classes, epochs with metrics and the epochs being written', () => {
    const text = formatRunSummary(makeRun({ incompleteEpochs: [3] }));
    assert.match(text, /^# Run `mnist`$/m);
    assert.match(text, /^- Folder: `\/work\/runs\/mnist`$/m);
    assert.match(text, /^- Model: `LeNet` \(`pytorch`\)$/m);
    assert.match(text, /^- Probe set: 300 samples, each 1×28×28, in `probe\.safetensors`$/m);
    assert.match(text, /^## Layers \(3\)$/m);
    assert.match(text, /^1\. `features\.0`: conv 16×28×28, `Conv2d`, defined at `model\.py:12`$/m);
    assert.match(text, /^3\. `classifier\.1`: linear 512, `Linear`$/m);
    assert.match(text, /^## Classes \(3\)$/m);
    assert.match(text, /^- 2: `two`$/m);
    assert.match(text, /^## Epochs \(3\)$/m);
    assert.match(text, /^- epoch 1: `loss` 0\.123, `accuracy` 97\.1%, stored as activations \+ checkpoint$/m);
    assert.match(text, /^- epoch 2: `loss` non-finite, `accuracy` 10\.0%, stored as checkpoint$/m);
    assert.match(text, /^## Being written \(1\)$/m);
    assert.match(text, /^- epoch 3$/m);
  });

  it('says so when a run has no finished epoch, and has no "being written" section when nothing is', () => {
    const text = formatRunSummary(makeRun({ manifest: { epochs: [] } }));
    assert.match(text, /^No finished epoch yet\.$/m);
    assert.doesNotMatch(text, /Being written/);
  });

  it('keeps its structure whatever names the run holds: no HTML, no links, no extra headings or lists', () => {
    fc.assert(
      fc.property(hostileString, hostileString, hostileString, (name, layer, cls) => {
        const info = makeRun({
          name,
          dir: `/runs/${name}`,
          manifest: {
            model: { name: layer, framework: cls },
            layers: [{ name: layer, kind: 'conv', shape: [4, 2, 2], op: cls, source: { file: name, line: 3 } }],
            classes: [cls, name],
            epochs: [{ epoch: 0, metrics: { [layer]: 1, loss: 0.5 }, activations: 'a.safetensors' }],
            probe: { file: 'probe.safetensors', count: 2, inputShape: [1, 2, 2], description: layer },
            createdAt: cls,
          },
        });
        const tokens = flatten(markdown.parse(formatRunSummary(info), {}));
        const types = new Set(tokens.map((t) => t.type));
        for (const forbidden of ['html_block', 'html_inline', 'link_open', 'image', 'hr', 'table_open', 'fence', 'code_block', 'blockquote_open']) {
          assert.ok(!types.has(forbidden), `${forbidden} in the summary of ${JSON.stringify([name, layer, cls])}`);
        }
        const headings = tokens.filter((t) => t.type === 'heading_open').map((t) => t.tag);
        assert.deepEqual(headings, ['h1', 'h2', 'h2', 'h2']);
        // 6 facts, 2 classes and 1 epoch as bullets; 1 layer as a numbered item.
        assert.equal(tokens.filter((t) => t.type === 'list_item_open').length, 10);
        const code = tokens.filter((t) => t.type === 'code_inline').map((t) => t.content);
        assert.ok(code.includes(shown(layer)) && code.includes(shown(cls)) && code.includes(shown(name)));
      }),
      { numRuns: 500 },
    );
  });

  it('names the summary document after the run, as one safe path segment ending in .md', () => {
    assert.equal(summaryDocumentPath('mnist'), '/mnist summary.md');
    assert.equal(summaryDocumentPath('a/b\\c:d?e#f%g'), '/a_b_c_d_e_f_g summary.md');
    assert.equal(summaryDocumentPath('   '), '/run summary.md');
    assert.equal(summaryDocumentPath('x'.repeat(200)), `/${'x'.repeat(80)} summary.md`);
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (name) => {
        const p = summaryDocumentPath(name);
        assert.ok(p.startsWith('/') && p.endsWith(' summary.md') && !p.slice(1).includes('/'));
      }),
    );
  });

  it('explains in the document why a run cannot be shown', () => {
    const text = formatUnreadableRunSummary('/gone', '/gone: no such file or directory');
    assert.match(text, /The run in `\/gone` could not be read/);
    assert.match(text, /^- `\/gone: no such file or directory`$/m);
  });
});

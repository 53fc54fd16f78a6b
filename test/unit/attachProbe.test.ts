// Attach Probe's decisions without VS Code (src/extension/attach/): which loops of a Python script
// run the epochs, where the Probe, epoch_end and close go, the import, and the snippet text. The
// results are compiled by Python (py_compile) and, for examples/mnist_pytorch.py with its probe
// taken out, compared with the example's own probe lines.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { defaultRunFolder, defaultText, planAttach, snippetText, templateParts, type AttachPlan } from '../../src/extension/attach/attachSnippet';
import { logicalLines } from '../../src/extension/attach/pythonLines';
import { analyzeTrainingScript, loopForCursor, type EpochLoop } from '../../src/extension/attach/trainingScript';
import { applyPlan, MNIST_EXAMPLE, mnistWithoutProbe, readSnippet } from '../support/attachScripts';
import { findPython } from '../support/python';

const OPTIONS = { runFolder: 'cnnslicer-runs/train', eol: '\n' };

function plan(text: string, loop?: EpochLoop, options = OPTIONS): AttachPlan {
  const script = analyzeTrainingScript(text);
  const chosen = loop ?? script.loops[0];
  assert.ok(chosen, 'the script has an epoch loop');
  return planAttach(text, script, chosen, options);
}

/** The text with every placeholder at its default. */
const attached = (text: string, options = OPTIONS): string => applyPlan(text, plan(text, undefined, options));

const lineOf = (text: string, pattern: RegExp): number => {
  const i = text.split(/\r\n|\n/).findIndex((l) => pattern.test(l));
  assert.ok(i >= 0, `no line matches ${pattern}`);
  return i;
};

let scratch = '';
const python = findPython({ require: [] });

/** Python's own verdict on the text: compiles, or the error it reports. */
function assertCompiles(source: string, name = 'attached.py'): void {
  if (python === undefined) return;
  const file = path.join(scratch, name);
  writeFileSync(file, source);
  const res = spawnSync(python, ['-m', 'py_compile', file], { encoding: 'utf8', env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } });
  assert.equal(res.status, 0, `py_compile: ${res.stderr}\n${source}`);
}

describe('Attach Probe: finding the epoch loop and writing the probe lines', () => {
  before(() => {
    scratch = mkdtempSync(path.join(tmpdir(), 'cnnslicer-attach-'));
    if (python === undefined) console.log('      (no Python interpreter: the py_compile checks are skipped)');
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  describe('examples/mnist_pytorch.py', () => {
    let original = '';
    let stripped = '';
    before(() => {
      original = readFileSync(MNIST_EXAMPLE, 'utf8');
      stripped = mnistWithoutProbe();
    });

    it('reads the example with its probe as already attached, at its Probe(…) line', () => {
      const script = analyzeTrainingScript(original);
      assert.equal(script.probeLine, lineOf(original, /^\s*probe = cnnslicer\.Probe\($/));
      assert.deepEqual(script.probeAccess, { kind: 'module', name: 'cnnslicer' });
    });

    it('finds the one epoch loop of the example without its probe, in main(), and nothing in strings or other loops', () => {
      const script = analyzeTrainingScript(stripped);
      assert.equal(script.importsTorch, true);
      assert.equal(script.probeLine, undefined);
      assert.equal(script.probeVariable, 'probe');
      assert.deepEqual(script.probeAccess, { kind: 'none' });
      assert.equal(script.loops.length, 1);
      const [loop] = script.loops;
      assert.deepEqual(loop, {
        line: lineOf(stripped, /^ {4}for epoch in range\(1, args\.epochs \+ 1\):$/),
        header: 'for epoch in range(1, args.epochs + 1):',
        indent: '    ',
        epochVariable: 'epoch',
        bodyIndent: '        ',
        bodyEnd: lineOf(stripped, /^ {8}print\(line, flush=True\)$/),
        loopEnd: lineOf(stripped, /^ {8}print\(line, flush=True\)$/),
      });
    });

    it('puts back the example’s probe structure: import, Probe before the loop, epoch_end ending its body, close after it; nothing else changes', () => {
      const p = plan(stripped);
      assert.equal(p.importLine, lineOf(stripped, /^import torch\.nn\.functional as F/) + 1);
      assert.deepEqual(p.start, { line: p.importLine, character: 0 }, 'one snippet from the import to the loop’s end: one undo step');
      const result = applyPlan(stripped, p);
      const inserted = [
        'import cnnslicer',
        '    probe = cnnslicer.Probe(model, probe_inputs, probe_labels, "cnnslicer-runs/train")',
        '        probe.epoch_end(epoch)',
        '    probe.close()',
      ];
      const lines = result.split('\n');
      assert.deepEqual(
        lines.filter((l) => inserted.includes(l)),
        inserted,
        'each line once, in this order',
      );
      assert.deepEqual(
        lines.filter((l) => !inserted.includes(l)),
        stripped.split('\n'),
      );
      assertCompiles(result, 'mnist_attached.py');

      // The same places as the example's own lines, in the order of execution.
      const order = (text: string): number[] => [
        lineOf(text, /^import cnnslicer/),
        lineOf(text, /^\s*probe = cnnslicer\.Probe\(/),
        lineOf(text, /^ {4}for epoch in range\(1, args\.epochs \+ 1\):$/),
        lineOf(text, /^\s*probe\.epoch_end\(epoch\b/),
        lineOf(text, /^\s*probe\.close\(\)$/),
      ];
      for (const text of [original, result]) {
        const o = order(text);
        assert.deepEqual(
          [...o].sort((a, b) => a - b),
          o,
        );
        // import next to the torch imports, Probe and close in main(), epoch_end inside the loop.
        assert.equal(lineOf(text, /^import torch\.nn\.functional as F/) + (text === original ? 2 : 1), o[0]);
        const loop = analyzeTrainingScript(text).loops[0];
        assert.ok(o[3] > loop.line && o[3] <= loop.bodyEnd, 'epoch_end is in the loop body');
        assert.ok(o[4] > loop.loopEnd, 'close comes after the loop');
      }
      // The attached script is now "already attached".
      assert.equal(analyzeTrainingScript(result).probeLine, lineOf(result, /^ {4}probe = cnnslicer\.Probe\(/));
    });
  });

  describe('hand-written loops', () => {
    const nested = [
      '"""Trains a model."""',
      'import torch',
      'from torch import nn',
      '',
      '',
      'def train(model, loader, start, n):',
      '    opt = torch.optim.SGD(model.parameters(), lr=0.1)',
      '    # the epochs',
      '    for epoch in range(start,',
      '                       n):  # a header on two lines',
      '        for x, y in loader:',
      '            loss = nn.functional.cross_entropy(model(x), y)',
      '            # a comment inside the body',
      '            loss.backward()',
      '            opt.step()',
      '        text = """',
      'for epoch in range(99):',
      '    not code',
      '"""',
      '    # a comment at the loop’s level, after its body',
      '',
      '    return model',
      '',
    ].join('\n');

    it('a loop in a function, with a two-line header, comments and a string inside, followed by more code', () => {
      const script = analyzeTrainingScript(nested);
      assert.equal(script.loops.length, 1, 'the loop inside the string is not code');
      const [loop] = script.loops;
      assert.deepEqual(
        { line: loop.line, header: loop.header, indent: loop.indent, bodyIndent: loop.bodyIndent, bodyEnd: loop.bodyEnd, loopEnd: loop.loopEnd },
        { line: 8, header: 'for epoch in range(start, n):', indent: '    ', bodyIndent: '        ', bodyEnd: 18, loopEnd: 18 },
      );
      const result = attached(nested);
      assert.equal(
        result,
        [
          '"""Trains a model."""',
          'import torch',
          'from torch import nn',
          'import cnnslicer',
          '',
          '',
          'def train(model, loader, start, n):',
          '    opt = torch.optim.SGD(model.parameters(), lr=0.1)',
          '    # the epochs',
          '    probe = cnnslicer.Probe(model, probe_inputs, probe_labels, "cnnslicer-runs/train")',
          '    for epoch in range(start,',
          '                       n):  # a header on two lines',
          '        for x, y in loader:',
          '            loss = nn.functional.cross_entropy(model(x), y)',
          '            # a comment inside the body',
          '            loss.backward()',
          '            opt.step()',
          '        text = """',
          'for epoch in range(99):',
          '    not code',
          '"""',
          '        probe.epoch_end(epoch)',
          '    probe.close()',
          '    # a comment at the loop’s level, after its body',
          '',
          '    return model',
          '',
        ].join('\n'),
      );
      assertCompiles(result);
    });

    it('a file indented with tabs gets tabs; a top-level loop', () => {
      const text = 'import torch\n\nfor epoch in range(3):\n\tx = torch.zeros(1)\n\tif epoch:\n\t\tprint(x)\nprint("done")\n';
      const result = attached(text);
      assert.equal(
        result,
        'import torch\nimport cnnslicer\n\nprobe = cnnslicer.Probe(model, probe_inputs, probe_labels, "cnnslicer-runs/train")\nfor epoch in range(3):\n\tx = torch.zeros(1)\n\tif epoch:\n\t\tprint(x)\n\tprobe.epoch_end(epoch)\nprobe.close()\nprint("done")\n',
      );
      assertCompiles(result);
    });

    it('`for i in range(num_epochs)` with an else clause, CRLF line breaks: epoch_end before else, close after it', () => {
      const text = "import torch\r\nnum_epochs = 2\r\nfor i in range(num_epochs):\r\n    pass\r\n\r\nelse:\r\n    print('trained')\r\nprint('after')\r\n";
      const script = analyzeTrainingScript(text);
      assert.deepEqual(
        script.loops.map((l) => [l.epochVariable, l.bodyEnd, l.loopEnd]),
        [['i', 3, 6]],
      );
      const result = attached(text, { ...OPTIONS, eol: '\r\n' });
      assert.equal(
        result,
        "import torch\r\nimport cnnslicer\r\nnum_epochs = 2\r\nprobe = cnnslicer.Probe(model, probe_inputs, probe_labels, \"cnnslicer-runs/train\")\r\nfor i in range(num_epochs):\r\n    pass\r\n    probe.epoch_end(i)\r\n\r\nelse:\r\n    print('trained')\r\nprobe.close()\r\nprint('after')\r\n",
      );
      assertCompiles(result);
    });

    it('uses the script’s own import of cnnslicer or Probe, and another variable when `probe` is taken', () => {
      const aliased = 'import torch\nimport cnnslicer as cs\nprobe = 0.5\nfor epoch in range(2):\n    print(probe)\n';
      const p = plan(aliased);
      assert.equal(p.importLine, undefined);
      assert.equal(
        applyPlan(aliased, p),
        'import torch\nimport cnnslicer as cs\nprobe = 0.5\ncnnslicer_probe = cs.Probe(model, probe_inputs, probe_labels, "cnnslicer-runs/train")\nfor epoch in range(2):\n    print(probe)\n    cnnslicer_probe.epoch_end(epoch)\ncnnslicer_probe.close()\n',
      );
      const imported = 'from cnnslicer import Probe as P\nimport torch\nfor epoch_idx, (x, y) in enumerate(batches):\n    step(x, y)\n';
      const result = attached(imported);
      assert.match(result, /^probe = P\(model, /m);
      assert.match(result, /^ {4}probe\.epoch_end\(epoch_idx\)$/m);
      assertCompiles(result);
    });

    it('puts the import after the module docstring when no import comes before the loop', () => {
      const text = '#!/usr/bin/env python3\n"""Doc."""\nfor epoch in range(2):\n    import torch\n    print(epoch)\n';
      const p = plan(text);
      assert.equal(p.importLine, 2);
      assertCompiles(applyPlan(text, p));
    });

    it('offers only loops over epochs whose body is on their own lines', () => {
      const text = [
        'import torch',
        'for epoch in range(3): train()',
        'for batch in loader:',
        '    step(batch)',
        'for _ in range(epochs):',
        '    step()',
        '# for epoch in range(3):',
        'x = "for epoch in range(3):"',
        'for ep in range(3):',
        '    for sub_epoch in range(2):',
        '        step()',
        '',
      ].join('\n');
      assert.deepEqual(
        analyzeTrainingScript(text).loops.map((l) => [l.line, l.epochVariable]),
        [[9, 'sub_epoch']],
      );
    });

    it('sees an existing Probe however cnnslicer is imported, but not one in a comment or a string', () => {
      assert.equal(analyzeTrainingScript('import cnnslicer as cs\np = cs . Probe(m, x, y, "r")\n').probeLine, 1);
      assert.equal(analyzeTrainingScript('from cnnslicer import Probe\n\nwith Probe(m, x, y, "r") as p:\n    pass\n').probeLine, 2);
      assert.equal(analyzeTrainingScript('def f():\n    return cnnslicer.Probe(\n        m, x, y, "r")\n').probeLine, 1);
      assert.equal(analyzeTrainingScript('import torch\n# probe = cnnslicer.Probe(m, x, y, "r")\ns = "cnnslicer.Probe(m)"\n').probeLine, undefined);
      assert.equal(analyzeTrainingScript('from other import Probe\np = Probe()\n').probeLine, undefined);
    });

    it('knows torch from any import of it, and only of it', () => {
      const imports = (text: string): boolean => analyzeTrainingScript(text).importsTorch;
      assert.equal(imports('import torch.nn as nn\n'), true);
      assert.equal(imports('from torch.utils.data import DataLoader\n'), true);
      assert.equal(imports('def f():\n    import numpy, torch\n'), true);
      assert.equal(imports('import torchvision_like\nimport numpy as torch_np\n# import torch\n'), false);
    });
  });

  describe('the snippet', () => {
    it('escapes the loop’s own text, so VS Code inserts it unchanged, and orders the placeholders model, inputs, labels, folder, metrics', () => {
      const text = 'import torch\nfor epoch in range(2):\n    d = {"cost": "$5"}\n    print(f"{d}\\\\n ${epoch} }}")\n';
      const p = plan(text);
      const snippet = snippetText(p.parts);
      const read = readSnippet(snippet);
      assert.equal(read.text, defaultText(p.parts));
      assert.deepEqual(read.placeholders, [1, 2, 3, 4, 5]);
      assert.ok(read.text.includes('    print(f"{d}\\\\n ${epoch} }}")\n'), 'the body comes through as written');
      assertCompiles(applyPlan(text, p));
    });

    it('fills the placeholders the user types, the run folder string included', () => {
      const text = 'import torch\nfor epoch in range(2):\n    step()\n';
      const result = applyPlan(
        text,
        plan(text),
        new Map([
          [1, 'net'],
          [2, 'x_probe'],
          [3, 'y_probe'],
          [4, 'out_dir'],
          [5, ', loss=loss'],
        ]),
      );
      assert.match(result, /^probe = cnnslicer\.Probe\(net, x_probe, y_probe, out_dir\)$/m);
      assert.match(result, /^ {4}probe\.epoch_end\(epoch, loss=loss\)$/m);
    });

    it('names the default run folder after the script', () => {
      assert.equal(defaultRunFolder('/work/train.py'), 'cnnslicer-runs/train');
      assert.equal(defaultRunFolder('/work/my script (v2).py'), 'cnnslicer-runs/my_script__v2_');
      assert.equal(defaultRunFolder('C:\\work\\t"q.pyw'), 'cnnslicer-runs/t_q');
      assert.equal(defaultRunFolder('Untitled-1'), 'cnnslicer-runs/Untitled-1');
    });

    it('without a loop, a commented template that compiles both as it is and uncommented', () => {
      const script = analyzeTrainingScript('import torch\n\nmodel = torch.nn.Linear(2, 2)\n');
      assert.deepEqual(script.loops, []);
      const parts = templateParts(script, { indent: '    ', indentUnit: '\t', eol: '\n', runFolder: 'cnnslicer-runs/t' });
      assert.deepEqual(readSnippet(snippetText(parts)).placeholders, [1, 2, 3, 4, 5]);
      const template = defaultText(parts);
      const lines = template.split('\n');
      assert.equal(lines.pop(), '', 'the template ends with a line break, above the cursor’s line');
      for (const l of lines) assert.match(l, /^ {4}# /);
      assert.deepEqual(lines.slice(1), [
        '    # import cnnslicer',
        '    # probe = cnnslicer.Probe(model, probe_inputs, probe_labels, "cnnslicer-runs/t")',
        '    # for epoch in range(1, epochs + 1):',
        '    # \t...  # train one epoch',
        '    # \tprobe.epoch_end(epoch, loss=train_loss)',
        '    # probe.close()  # marks the run complete',
      ]);
      assertCompiles(`def f():\n${template}    pass\n`);
      assertCompiles(
        lines
          .slice(1)
          .map((l) => l.slice('    # '.length))
          .join('\n'),
        'uncommented.py',
      );
    });
  });

  describe('logical lines and the cursor', () => {
    it('joins bracketed, backslash and triple-quoted continuations; skips blank and comment lines', () => {
      const text = 'a = (1,\n     2)  # c\n\n# only a comment\nb = 1 + \\\n    2\nc = """x\n# y\n"""\nd = r"\\"" # "\n';
      assert.deepEqual(
        logicalLines(text).map((l) => [l.start, l.end, l.code]),
        [
          [0, 1, 'a = (1, 2)'],
          [4, 5, 'b = 1 + 2'],
          [6, 8, 'c = ""'],
          [9, 9, 'd = ""'],
        ],
      );
    });

    it('picks the loop the cursor is in, else the only one', () => {
      const text = 'import torch\nfor epoch in range(2):\n    a()\nfor epoch in range(2):\n    b()\n';
      const { loops } = analyzeTrainingScript(text);
      assert.equal(loopForCursor(loops, 2)?.line, 1);
      assert.equal(loopForCursor(loops, 3)?.line, 3);
      assert.equal(loopForCursor(loops, 0), undefined, 'two loops and the cursor in neither: the user chooses');
      assert.equal(loopForCursor(loops.slice(0, 1), 0)?.line, 1);
    });
  });
});

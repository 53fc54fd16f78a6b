// End to end, Attach Probe in a real VS Code 1.100.3 workbench (code-server) on a workspace without
// any run: opening a PyTorch training script activates the extension and shows "Attach CNNSlicer"
// over its epoch loop; the command from the palette inserts the import, the Probe before the loop,
// epoch_end at the end of its body and close() after it, and one Undo takes all of it back; the
// lens does the same; a script without a loop gets a commented template at the cursor. Needs
// scripts/e2e/install.sh run once.
import * as assert from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { defaultRunFolder, planAttach } from '../../src/extension/attach/attachSnippet';
import { analyzeTrainingScript } from '../../src/extension/attach/trainingScript';
import { applyPlan } from '../support/attachScripts';
import { CodeServerSession } from './harness';
import { until } from './helpers';
import { keepEvidenceOnFailure, skipUnlessReady, stageBuiltExtension } from './staging';

const root = path.resolve(__dirname, '..', '..');
const COMMAND_TITLE = 'CNNSlicer: Attach Probe to Training Script';
const SCRIPT = 'train.py';
const NO_LOOP = 'model.py';

const TRAIN = [
  '"""A hand-written training loop."""',
  'import torch',
  'from torch import nn',
  '',
  '',
  'def train(model, loader, epochs):',
  '    opt = torch.optim.SGD(model.parameters(), lr=0.1)',
  '    for epoch in range(1, epochs + 1):',
  '        for x, y in loader:',
  '            opt.zero_grad()',
  '            loss = nn.functional.cross_entropy(model(x), y)',
  '            # one step',
  '            loss.backward()',
  '            opt.step()',
  '        print(epoch, loss.item())',
  '    return model',
  '',
].join('\n');

/** train.py as the command leaves it, placeholders at their defaults (test/unit/attachProbe.test.ts checks the plan itself). */
function attachedTrain(): string {
  const script = analyzeTrainingScript(TRAIN);
  return applyPlan(TRAIN, planAttach(TRAIN, script, script.loops[0], { runFolder: defaultRunFolder(SCRIPT), eol: '\n' }));
}

const MODEL = ['import torch', '', 'model = torch.nn.Linear(4, 2)', ''].join('\n');

describe('CNNSlicer: Attach Probe to Training Script in VS Code (code-server, end to end)', function () {
  this.timeout(180_000);
  let session: CodeServerSession | undefined;
  let scratch: string | undefined;
  let workspace = '';
  const evidence = keepEvidenceOnFailure(
    () => session,
    () => scratch,
  );

  const s = (): CodeServerSession => {
    assert.ok(session, 'the code-server session did not start');
    return session;
  };

  const lenses = () => s().page.locator('.editor-group-container.active .monaco-editor .codelens-decoration', { hasText: 'Attach CNNSlicer' });

  /** The text of the line drawn right below the lens: the line it stands over. */
  async function lineUnderLens(): Promise<string> {
    const lensTop = await lenses()
      .first()
      .evaluate((e) => e.getBoundingClientRect().top);
    const lines = await s()
      .page.locator('.editor-group-container.active .monaco-editor .view-line')
      .evaluateAll((els) => els.map((e) => ({ top: e.getBoundingClientRect().top, text: (e.textContent ?? '').replace(/\u00a0/g, ' ') })));
    const below = lines.filter((l) => l.top > lensTop).sort((a, b) => a.top - b.top)[0];
    return below?.text ?? '';
  }

  /** The editor's text once it equals `expected` (edits reach the DOM a moment after the command). */
  async function editorTextBecomes(expected: string, what: string): Promise<void> {
    const text = await until(
      what,
      () => s().readEditorText(),
      (t) => t === expected,
      30_000,
    );
    assert.equal(text, expected);
  }

  async function undoOnce(): Promise<void> {
    const sess = s();
    await sess.page
      .locator('.editor-group-container.active .monaco-editor .editor-scrollable')
      .first()
      .click({ position: { x: 8, y: 8 } });
    await sess.page.keyboard.press('Control+Z');
  }

  before(async function () {
    skipUnlessReady(this, 'the end-to-end suite');
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'cnnslicer-e2e-attach-'));
    const extensionDir = stageBuiltExtension(path.join(scratch, 'extension'));
    workspace = path.join(scratch, 'workspace');
    fs.mkdirSync(workspace, { recursive: true });
    fs.writeFileSync(path.join(workspace, SCRIPT), TRAIN);
    fs.writeFileSync(path.join(workspace, NO_LOOP), MODEL);
    session = await CodeServerSession.start({
      workspace,
      extensionDir,
      ...(process.env.CNNSLICER_SCREENSHOTS === '1' ? { screenshotDir: path.join(root, 'docs', 'images') } : {}),
    });
    try {
      await session.openWorkbench(SCRIPT);
    } catch (err) {
      await evidence.record('open-workbench');
      throw err;
    }
  });

  it('shows "Attach CNNSlicer" over the epoch loop of a script that imports torch, and nowhere else', async () => {
    const sess = s();
    await sess.openFile(SCRIPT);
    await lenses().first().waitFor({ timeout: 60_000 });
    assert.equal(await lenses().count(), 1, 'one lens: the inner `for x, y in loader` is no epoch loop');
    assert.equal((await lineUnderLens()).trim(), 'for epoch in range(1, epochs + 1):');
    await sess.screenshot('attach-probe-lens');
  });

  it('from the palette: the import, Probe, epoch_end and close in one edit, which one Undo takes back', async () => {
    const sess = s();
    const expected = attachedTrain();
    for (const line of [
      'import cnnslicer',
      '    probe = cnnslicer.Probe(model, probe_inputs, probe_labels, "cnnslicer-runs/train")',
      '        probe.epoch_end(epoch)',
      '    probe.close()',
    ])
      assert.ok(expected.split('\n').includes(line), `the plan writes ${line}`);

    await sess.runCommand(COMMAND_TITLE);
    await editorTextBecomes(expected, 'the attached probe in the editor');
    await sess.screenshot('attach-probe-attached');
    // Attached: the lens goes, since the script now creates a Probe.
    await until(
      'the lens to go',
      () => lenses().count(),
      (n) => n === 0,
      30_000,
    );

    await undoOnce();
    await editorTextBecomes(TRAIN, 'the original text after one Undo');
  });

  it('the lens attaches to its loop the same way', async () => {
    const expected = attachedTrain();
    const lens = lenses().first();
    await lens.waitFor({ timeout: 60_000 });
    await lens.locator('a', { hasText: 'Attach CNNSlicer' }).click();
    await editorTextBecomes(expected, 'the probe attached from the lens');
    await undoOnce();
    await editorTextBecomes(TRAIN, 'the original text after one Undo');
  });

  it('without an epoch loop, a commented template at the cursor', async () => {
    const sess = s();
    await sess.openFile(NO_LOOP);
    assert.equal(await lenses().count(), 0);
    await sess.runCommand(COMMAND_TITLE);
    const text = await until(
      'the template in the editor',
      () => sess.readEditorText(),
      (t) => t !== MODEL,
      30_000,
    );
    const lines = text.split('\n');
    const template = lines.slice(0, lines.length - MODEL.split('\n').length);
    assert.equal(lines.slice(template.length).join('\n'), MODEL, 'the file’s own lines follow, unchanged');
    assert.ok(template.length >= 6 && template.every((l) => l.startsWith('# ')), template.join('\n'));
    assert.ok(template.includes('# probe = cnnslicer.Probe(model, probe_inputs, probe_labels, "cnnslicer-runs/model")'), template.join('\n'));
    assert.ok(template.includes('#     probe.epoch_end(epoch, loss=train_loss)'), template.join('\n'));
  });
});

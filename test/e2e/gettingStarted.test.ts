// End to end, getting started: the built extension in a real VS Code 1.100.3 workbench
// (code-server). The CNNSlicer walkthrough opens from "Welcome: Open Walkthrough...", lists its
// steps, and its first step's button opens the sample run and checks the step off. Then a Jupyter
// notebook trains with the probe (test/python/scripts/notebook_driver.py: nbclient on an ipykernel
// kernel) in a folder of the workspace: its run appears in the Runs tree, live while the kernel
// trains, and stays there with its epochs after the kernel is restarted mid-loop. Needs
// scripts/e2e/install.sh run once; the notebook part needs a Python with torch, nbclient and ipykernel.
import * as assert from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { jupyterEnv, NOTEBOOK_DRIVER, NOTEBOOK_MODULES } from '../support/jupyter';
import { describePythonSearch, findPython, pythonEnv } from '../support/python';
import { CodeServerSession } from './harness';
import { until } from './helpers';
import { e2eRequired, keepEvidenceOnFailure, skipUnlessReady, stageBuiltExtension } from './staging';

const root = path.resolve(__dirname, '..', '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
  contributes: { walkthroughs: { title: string; steps: { id: string; title: string }[] }[] };
};
const WALKTHROUGH = pkg.contributes.walkthroughs[0];
/** The sample run's name, from its manifest: the views' tabs carry it. */
const SAMPLE_RUN_NAME = (JSON.parse(fs.readFileSync(path.join(root, 'examples', 'sample-run', 'cnnslicer.json'), 'utf8')) as { name: string }).name;
/** The name notebook_driver.py gives its run. */
const NOTEBOOK_RUN = 'notebook run';

describe('Getting started in VS Code: the walkthrough, and a notebook’s run (code-server, end to end)', function () {
  this.timeout(240_000);
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

  before(async function () {
    skipUnlessReady(this, 'the getting-started suite');
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'cnnslicer-e2e-start-'));
    const extensionDir = stageBuiltExtension(path.join(scratch, 'extension'));
    workspace = path.join(scratch, 'workspace');
    fs.mkdirSync(workspace);
    fs.writeFileSync(path.join(workspace, 'README.md'), '# A workspace without CNNSlicer runs yet\n');
    session = await CodeServerSession.start({ workspace, extensionDir });
    try {
      await session.openWorkbench('README.md');
    } catch (err) {
      await evidence.record('open-workbench');
      throw err;
    }
  });

  it('opens the CNNSlicer walkthrough with its steps; the first step’s button opens the sample run and checks the step off', async () => {
    const sess = s();
    const page = sess.page;
    await sess.runCommand('Welcome: Open Walkthrough...');
    await sess.pickQuickInput(WALKTHROUGH.title);
    const titles = await until(
      'the walkthrough’s steps',
      () => page.locator('button.getting-started-step .step-title').allInnerTexts(),
      (t) => t.length === WALKTHROUGH.steps.length,
    );
    assert.deepEqual(
      titles.map((t) => t.trim()),
      WALKTHROUGH.steps.map((step) => step.title),
    );
    // VS Code marks a step done with the codicon of its step-checked icon (pass-filled) and the
    // class `complete` on the step's check circle, which carries the step's full id.
    const checkOf = (stepId: string) => page.locator(`[data-done-step-id$="#${stepId}"]`);
    const done = async (): Promise<string[]> => {
      const out: string[] = [];
      for (const step of WALKTHROUGH.steps) {
        const classes = (await checkOf(step.id).getAttribute('class')) ?? '';
        if (classes.split(/\s+/).includes('complete')) out.push(step.id);
      }
      return out;
    };
    assert.deepEqual(await done(), [], 'no step is done before its command ran');

    const first = page.locator(`button.getting-started-step[data-step-id$="#${WALKTHROUGH.steps[0].id}"]`);
    await first.locator('.monaco-button', { hasText: 'Open the Sample Run' }).click();
    await sess.waitForTab(`Training: ${SAMPLE_RUN_NAME}`);
    await sess.waitForTab(`Query: ${SAMPLE_RUN_NAME}`);

    // The views open in front of the walkthrough; its tab brings it back, with the step checked.
    await page
      .locator('.tabs-container .tab')
      .filter({ hasText: /^\s*Walkthrough:/ })
      .first()
      .click();
    const check = checkOf(WALKTHROUGH.steps[0].id);
    await check.and(page.locator('.complete.codicon-getting-started-step-checked')).waitFor({ timeout: 30_000 });
    assert.equal(await check.getAttribute('aria-checked'), 'true');
    assert.deepEqual(await done(), [WALKTHROUGH.steps[0].id], 'only the step whose command ran is done');
  });

  it('lists a notebook’s run in the Runs tree, live while its kernel trains, with its epochs after a kernel restart', async function () {
    const python = findPython({ require: [...NOTEBOOK_MODULES] });
    if (python === undefined) {
      const why = describePythonSearch({ require: [...NOTEBOOK_MODULES] });
      if (e2eRequired()) assert.fail(why);
      console.log(`      skipped: ${why}`);
      this.skip();
    }
    const sess = s();
    const folder = path.join(workspace, 'notebooks');
    fs.mkdirSync(folder);
    const driver = spawn(python, [NOTEBOOK_DRIVER, 'restart', folder, '--hold'], {
      env: pythonEnv(jupyterEnv(path.join(scratch!, 'jupyter'))),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    driver.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => driver.on('close', resolve));
    const lines: string[] = [];
    const holding = new Promise<void>((resolve, reject) => {
      createInterface({ input: driver.stdout }).on('line', (line) => {
        lines.push(line);
        if (line === 'holding') resolve();
      });
      void exited.then((status) => reject(new Error(`notebook_driver.py exited (${status}) before holding:\n${stderr}`)));
    });
    try {
      await holding;
      // The kernel is alive, in its loop, with epochs 0 to 2 recorded.
      await sess.openViewContainer('CNNSlicer');
      const row = sess.treeRow('Runs', NOTEBOOK_RUN);
      await row.locator('.label-description', { hasText: '3 epochs · 4 layers · live' }).waitFor({ timeout: 60_000 });
    } finally {
      // The driver restarts the kernel on this line; closing stdin also lets it go on a failure.
      driver.stdin.end('\n');
    }
    assert.equal(await exited, 0, `notebook_driver.py failed:\n${stderr}`);
    const report = JSON.parse(lines[lines.length - 1]) as { kernelPids: [number, number] };
    assert.notEqual(report.kernelPids[0], report.kernelPids[1], 'the kernel was restarted');
    // The restart wrote nothing: the run keeps its three epochs, none being written. (A click on
    // the row would open the run's training view; its twistie only expands it.)
    const row = sess.treeRow('Runs', NOTEBOOK_RUN);
    assert.match(await row.locator('.label-description').innerText(), /^3 epochs · 4 layers/);
    await row.locator('.monaco-tl-twistie').click();
    await row.and(sess.page.locator('[aria-expanded="true"]')).waitFor({ timeout: 30_000 });
    const epochs = sess.treeRow('Runs', 'Epochs');
    await epochs.waitFor({ timeout: 30_000 });
    assert.equal((await epochs.locator('.label-description').innerText()).trim(), '3', 'three epochs, none being written');
  });
});

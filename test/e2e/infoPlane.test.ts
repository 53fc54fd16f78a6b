// End to end, the information-plane view: the built extension in a real VS Code 1.100.3 workbench
// (code-server), driven as a user drives it. The palette's command opens the view on the run picked,
// its request goes through the host's validation to the real engine and the engine's answer is on
// screen; the query view's Information plane button opens it too. With CNNSLICER_SCREENSHOTS=1 it
// also opens the MNIST sample run's plane and saves docs/images/information-plane.png (npm run
// information-plane computes that plane into $CNNSLICER_CACHE_DIR first, so the view reads it from
// the cache). Needs scripts/e2e/install.sh run once.
import * as assert from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { FrameLocator } from 'playwright-core';
import { RunWriter } from '../../src/core/run/runWriter';
import type { LayerInfo } from '../../src/shared/runFormat';
import { CodeServerSession } from './harness';
import { keepEvidenceOnFailure, skipUnlessReady, stageBuiltExtension } from './staging';
import { filled, product } from './helpers';

const RUN_NAME = 'e2e-infoplane-cnn';
const SCREENSHOTS = process.env.CNNSLICER_SCREENSHOTS === '1';
const SAMPLE_RUN = path.resolve(__dirname, '..', '..', 'examples', 'sample-run');
const SAMPLE_NAME = 'MNIST small CNN';
const PLANE_TAB = `Information plane: ${RUN_NAME}`;
const QUERY_TAB = `Query: ${RUN_NAME}`;
const N = 20;
const CLASSES = ['0', '1', '2', '3'];
const INPUT_SHAPE = [1, 8, 8];
const LAYERS: LayerInfo[] = [
  { name: 'conv1', kind: 'conv', shape: [4, 6, 6], op: 'Conv2d' },
  { name: 'pool1', kind: 'pool', shape: [4, 3, 3], op: 'MaxPool2d' },
  { name: 'fc', kind: 'linear', shape: [4], op: 'Linear' },
];
const EPOCHS = [0, 1, 2];

async function writeRun(dir: string): Promise<void> {
  const writer = await RunWriter.create(dir, {
    name: RUN_NAME,
    model: { name: 'SmallCNN', framework: 'pytorch' },
    layers: LAYERS,
    classes: CLASSES,
    probe: { inputs: filled(N * product(INPUT_SHAPE), 1), inputShape: INPUT_SHAPE, labels: Array.from({ length: N }, (_, i) => i % CLASSES.length) },
  });
  for (const epoch of EPOCHS) {
    await writer.writeEpoch(epoch, {
      metrics: { loss: 2 / (epoch + 1), accuracy: 0.25 + 0.2 * epoch },
      activations: new Map(LAYERS.map((l, i) => [l.name, filled(N * product(l.shape), 100 * epoch + i + 2)] as const)),
      logits: filled(N * CLASSES.length, 100 * epoch + 99),
      dtype: 'float32',
    });
  }
  await writer.finish();
}

/**
 * What the view shows once the engine answered: the plane drawn, or the engine's error. Until the
 * engine has the method's handler it answers "unknown method"; with it, a plane of every epoch.
 */
async function engineAnswer(view: FrameLocator): Promise<{ layers: string[]; message: string; error: boolean }> {
  const drawn = view.locator('#layer-table tbody tr').first();
  const failed = view.locator('#plane-message.error');
  await drawn.or(failed).first().waitFor({ timeout: 120_000 });
  return {
    layers: await view.locator('#layer-table tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-layer') ?? '')),
    message: (await view.locator('#plane-message').textContent()) ?? '',
    error: await failed.isVisible(),
  };
}

describe('CNNSlicer information-plane view in VS Code (code-server, end to end)', function () {
  this.timeout(240_000);
  let session: CodeServerSession | undefined;
  let scratch: string | undefined;
  const evidence = keepEvidenceOnFailure(
    () => session,
    () => scratch,
  );

  const s = (): CodeServerSession => {
    assert.ok(session, 'the code-server session did not start');
    return session;
  };

  before(async function () {
    skipUnlessReady(this, 'the end-to-end suite');
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'cnnslicer-e2e-infoplane-'));
    const extensionDir = stageBuiltExtension(path.join(scratch, 'extension'));
    const workspace = path.join(scratch, 'workspace');
    await writeRun(path.join(workspace, 'runs', 'small'));
    if (SCREENSHOTS) fs.cpSync(SAMPLE_RUN, path.join(workspace, 'runs', 'mnist-small'), { recursive: true });
    fs.writeFileSync(path.join(workspace, 'README.md'), '# One CNNSlicer run\n');
    session = await CodeServerSession.start({ workspace, extensionDir });
    try {
      await session.openWorkbench('README.md');
    } catch (err) {
      await evidence.record('open-workbench');
      throw err;
    }
  });

  it('Open Information Plane: the run picked opens its view, whose request the engine answers on screen', async () => {
    const sess = s();
    await sess.openViewContainer('CNNSlicer');
    await sess.runCommand('CNNSlicer: Open Information Plane');
    await sess.pickQuickInput(RUN_NAME);
    await sess.waitForTab(PLANE_TAB);
    const view = sess.webviewFrame();
    await view.locator('#run-title', { hasText: RUN_NAME }).waitFor({ timeout: 60_000 });
    const answer = await engineAnswer(view);
    assert.equal(answer.error, false, `the engine computed the plane: ${answer.message}`);
    assert.deepEqual(answer.layers, ['input', ...LAYERS.map((l) => l.name)]);
    assert.equal(await view.locator('#epoch-label').textContent(), `${EPOCHS[EPOCHS.length - 1]} (newest)`);
    // Nothing the view sent was dropped by the host's validation.
    await sess.runCommand('CNNSlicer: Show Log');
    assert.doesNotMatch(await sess.outputChannelText('CNNSlicer', /engine ready/), /infoplane view: dropped a message/);
  });

  it('the query view’s Information plane button opens the plane of its run', async () => {
    const sess = s();
    await sess.runCommand('View: Close All Editors');
    await sess.runCommand('CNNSlicer: Open Query View');
    await sess.pickQuickInput(RUN_NAME);
    await sess.waitForTab(QUERY_TAB);
    const query = sess.webviewFrame();
    await query.locator('#run-title', { hasText: RUN_NAME }).waitFor({ timeout: 60_000 });
    await query.locator('#open-infoplane:not([disabled])').click();
    await sess.waitForTab(PLANE_TAB);
    await sess.tab(PLANE_TAB).click();
    const view = sess.webviewFrame();
    await view.locator('#run-title', { hasText: RUN_NAME }).waitFor({ timeout: 60_000 });
    await engineAnswer(view);
  });

  it('the sample run’s information plane, for docs/information-plane.md', async function () {
    if (!SCREENSHOTS || !fs.existsSync(SAMPLE_RUN)) this.skip();
    this.timeout(900_000);
    const sess = s();
    await sess.runCommand('View: Close All Editors');
    await sess.runCommand('CNNSlicer: Open Information Plane');
    await sess.pickQuickInput(SAMPLE_NAME);
    await sess.waitForTab(`Information plane: ${SAMPLE_NAME}`);
    const view = sess.webviewFrame();
    await view.locator('#run-title', { hasText: SAMPLE_NAME }).waitFor({ timeout: 60_000 });
    // From the cache npm run information-plane filled: every epoch's plane, or the engine computes it (minutes).
    await view.locator('#layer-table tbody tr[data-layer="fc"]').waitFor({ timeout: 600_000 });
    await view.locator('#epoch-label', { hasText: '20 (newest)' }).waitFor();
    const size = sess.page.viewportSize();
    await sess.page.setViewportSize({ width: 1500, height: 1050 });
    await sess.page.mouse.move(18, 760);
    await sess.page.waitForTimeout(1500);
    await sess.page.screenshot({ path: path.resolve(__dirname, '..', '..', 'docs', 'images', 'information-plane.png') });
    if (size !== null) await sess.page.setViewportSize(size);
  });
});

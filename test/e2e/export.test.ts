// End to end, exporting a view (issue 17): the built extension in a real VS Code 1.100.3 workbench
// (code-server) on the MNIST sample run (examples/sample-run). The layer view is opened from the
// palette; `CNNSlicer: Export View...` exports its figure as PNG and SVG, and the view's own Export
// button its numbers as CSV, each through the quick pick and the save dialog as a user answers
// them. Checked on the files written: the PNG's size (its IHDR) is twice the figure's, the SVG
// holds the title and axis titles, and the CSV's rows are the capacities the view shows, under a
// header naming the run, layers, epoch and samples. Needs scripts/e2e/install.sh run once.
import * as assert from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { FrameLocator } from 'playwright-core';
import type {} from '../../webview/layer/viewModel';
import { parseExportCsv, pngSize } from '../support/exportFiles';
import { CodeServerSession } from './harness';
import { until } from './helpers';
import { keepEvidenceOnFailure, skipUnlessReady, stageBuiltExtension } from './staging';

const root = path.resolve(__dirname, '..', '..');
const SAMPLE_RUN = path.join(root, 'examples', 'sample-run');
const RUN_NAME = 'MNIST small CNN';
const LAYER_TAB = `Layers: ${RUN_NAME}`;
const NEWEST = 20;

describe('CNNSlicer: Export View in VS Code (code-server, end to end)', function () {
  this.timeout(300_000);
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
    skipUnlessReady(this, 'the export end-to-end suite');
    if (!fs.existsSync(path.join(SAMPLE_RUN, 'cnnslicer.json'))) throw new Error(`${SAMPLE_RUN} is missing: npm run make-sample-run writes it`);
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'cnnslicer-e2e-export-'));
    const extensionDir = stageBuiltExtension(path.join(scratch, 'extension'));
    workspace = path.join(scratch, 'workspace');
    fs.cpSync(SAMPLE_RUN, path.join(workspace, 'runs', 'mnist-small'), { recursive: true });
    fs.writeFileSync(path.join(workspace, 'README.md'), '# The MNIST sample run\n');
    fs.mkdirSync(path.join(workspace, 'figures'));
    session = await CodeServerSession.start({ workspace, extensionDir });
    try {
      await session.openWorkbench('README.md');
    } catch (err) {
      await evidence.record('open-workbench');
      throw err;
    }
  });

  /** Answers the export's quick pick and save dialog, and waits for "Exported to …"; returns the file. */
  async function saveAs(format: string, file: string): Promise<Buffer> {
    const sess = s();
    await sess.pickQuickInput(format);
    await sess.answerFileDialog(file);
    await sess.notification(`Exported to ${file}`).waitFor({ timeout: 60_000 });
    return fs.readFileSync(file);
  }

  it('exports the layer view of the sample run as PNG (twice the figure’s size), SVG and CSV (the capacities shown)', async () => {
    const sess = s();
    await sess.openViewContainer('CNNSlicer');
    await sess.treeRow('Runs', RUN_NAME).locator('.label-description', { hasText: '21 epochs · 7 layers' }).waitFor({ timeout: 60_000 });
    await sess.openFile('README.md');
    await sess.runCommand('CNNSlicer: Open Layer View');
    await sess.pickQuickInput(RUN_NAME);
    await until(
      'the layers offered for li',
      () => sess.quickInputLabels(),
      (labels) => labels.includes('conv1'),
    );
    await sess.pickQuickInput('conv1');
    await sess.pickQuickInput('conv2');
    await sess.waitForTab(LAYER_TAB);
    await sess.tab(LAYER_TAB).click();
    const view: FrameLocator = sess.webviewFrame();
    await view.locator('#run-title', { hasText: RUN_NAME }).waitFor({ timeout: 60_000 });
    await view.locator('#heatmap-caption-0', { hasText: `Epoch ${NEWEST}: 8 × 16 channels` }).waitFor({ timeout: 180_000 });
    const canvas = view.locator('#heatmap-0');
    const model = await canvas.evaluate(() => window.cnnslicerLayerView!());
    const dpr = await canvas.evaluate(() => window.devicePixelRatio);
    const heatmap = model.heatmaps[0];
    assert.deepEqual([heatmap.otherLayer, heatmap.cols, heatmap.rows, heatmap.epoch], ['conv2', 8, 16, NEWEST]);

    // From the palette: the figure as PNG, then as SVG on a light background for print.
    const pngFile = path.join(workspace, 'figures', 'layer.png');
    await sess.runCommand('CNNSlicer: Export View...');
    const png = await saveAs('PNG', pngFile);
    await sess.runCommand('CNNSlicer: Export View...');
    const svgFile = path.join(workspace, 'figures', 'layer-print.svg');
    const svg = (await saveAs('SVG, light background for print', svgFile)).toString('utf8');
    const width = Number(/<svg[^>]* width="(\d+)"/.exec(svg)?.[1]);
    const height = Number(/<svg[^>]* height="(\d+)"/.exec(svg)?.[1]);
    assert.ok(width > 0 && height > 0, 'the SVG states its size');
    assert.deepEqual(pngSize(png), { width: Math.round(width * 2 * dpr), height: Math.round(height * 2 * dpr) }, 'the PNG at twice the screen’s pixel density');
    assert.match(svg, /<title>Channel capacity between layers: MNIST small CNN<\/title>/);
    assert.match(svg, />conv1 channels → \(columns\)</);
    assert.match(svg, />conv2 channels ↓ \(rows\)</);
    assert.match(svg, /class="figure-background"[^>]* fill="rgb\(255, 255, 255\)"/, 'for print: a white background');

    // From the view's own Export button: the numbers behind the figure.
    await view.locator('#export-view').click();
    const csvFile = path.join(workspace, 'figures', 'layer.csv');
    const csv = parseExportCsv((await saveAs('CSV', csvFile)).toString('utf8'));
    assert.equal(csv.header.get('run'), RUN_NAME);
    assert.equal(csv.header.get('li'), 'conv1');
    assert.equal(csv.header.get('lj'), 'conv2');
    assert.equal(csv.header.get('epoch'), String(NEWEST));
    assert.equal(csv.header.get('samples'), 'all 1000 probe samples');
    assert.equal(csv.header.get('sample_pairs_per_histogram'), '499500');
    assert.deepEqual(csv.columns, ['lj', 'lj_channel', 'li_channel', 'capacity_bits']);
    assert.equal(csv.rows.length, 8 * 16, 'a row per cell of the 8 × 16 matrix');
    const shown = heatmap.rowOrder.flatMap((row) => heatmap.columns.map((column) => [row, column, heatmap.capacity[row][column]] as const));
    csv.rows.forEach((fields, i) => {
      const [row, column, value] = shown[i];
      assert.deepEqual(fields.slice(0, 3), ['conv2', String(row), String(column)]);
      assert.equal(Math.fround(Number(fields[3])), value, `conv2 #${row} × conv1 #${column}`);
    });
    assert.deepEqual(
      sess.consoleErrors.filter((e) => /Content Security Policy/i.test(e)),
      [],
      'the view exported under its CSP without violations',
    );
  });
});

// The information-plane view (issue 16) in a real browser: the built bundle under the host's CSP,
// fed with synthetic engine answers (the input and 7 layers × 21 epochs), checked by what a user
// sees and does: a trajectory per layer coloured by depth, the epoch slider moving every marker,
// the hover's exact values, a click publishing the layer and epoch, a linked selection moving the
// marker, a live run's new epoch asked for and shown, the engine's refusal shown, and Cancel.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import type { InfoPlaneEpoch } from '../../src/shared/information';
import { ESTIMATOR_DEFAULTS, type EstimatorParams, type MeasureSeries } from '../../src/shared/measures';
import type { RunInfo } from '../../src/shared/runFormat';
import type { InfoPlaneSelection, PanelRun, QuerySelection } from '../../src/shared/webviewProtocol';
// For its declaration of window.cnnslicerCharts, which the page evaluations below read.
import type {} from '../../webview/shared/charts';
import type { InfoPlaneViewModel } from '../../webview/infoplane/viewModel';
import { ensureViewBuilt, HostError, launchChromium, requireChromium, ViewPage, ViewServer, type RequestHandler } from './harness';
import type { TestTheme } from './themes';

const LAYERS = ['conv1', 'relu1', 'pool1', 'conv2', 'relu2', 'pool2', 'fc'];
const EPOCHS = 21;
const N = 200;

function syntheticRun(epochs: number): RunInfo {
  return {
    dir: path.join('/synthetic', 'infoplane-run'),
    name: 'synthetic 7-layer run',
    incompleteEpochs: [],
    manifest: {
      format: 'cnnslicer-run',
      version: 1,
      model: { name: 'synthetic' },
      layers: LAYERS.map((name, i) => ({ name, kind: i === 6 ? 'linear' : 'conv', shape: i === 6 ? [10] : [8, 8, 8] })),
      classes: Array.from({ length: 10 }, (_, i) => `class ${i}`),
      probe: { file: 'probe.safetensors', count: N, inputShape: [1, 28, 28] },
      epochs: Array.from({ length: epochs }, (_, epoch) => ({ epoch, metrics: {}, activations: `epochs/${epoch}/activations.safetensors` })),
      complete: false,
    },
  };
}

/** Values with three decimals: what the view shows as exact (six significant digits) is the value itself. */
function ixt(depth: number, epoch: number): number {
  return Math.round((7.5 - 0.7 * depth + 0.01 * depth * epoch) * 1000) / 1000;
}
function ity(depth: number, epoch: number): number {
  return Math.round((0.4 + 0.05 * depth + ((2.5 * epoch) / (EPOCHS - 1)) * (depth / 7)) * 1000) / 1000;
}

function planeEpoch(epoch: number): InfoPlaneEpoch {
  return {
    epoch,
    n: N,
    approximate: false,
    points: ['input', ...LAYERS].map((layer, depth) => ({ epoch, layer, depth, IXT: ixt(depth, epoch), ITY: ity(depth, epoch) })),
  };
}

/** The engine's answer for `epochs` epochs; its parameters carry the estimator's α and σ as the engine will name them. */
function planeSeries(epochs: number): MeasureSeries<InfoPlaneEpoch> {
  const params = { ...ESTIMATOR_DEFAULTS, renyiAlpha: 1.01, renyiSigma: 'median' } as EstimatorParams;
  return { items: Array.from({ length: epochs }, (_, e) => planeEpoch(e)), params, cached: 0 };
}

function luminance(css: string): number {
  const m = /rgba?\((\d+), (\d+), (\d+)/.exec(css);
  assert.ok(m, `not an rgb() colour: ${css}`);
  const ch = (v: number): number => {
    const s = v / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * ch(Number(m[1])) + 0.7152 * ch(Number(m[2])) + 0.0722 * ch(Number(m[3]));
}

describe('information-plane view (headless Chromium)', function () {
  this.timeout(90_000);
  const info = syntheticRun(EPOCHS);
  const runs: PanelRun[] = [{ dir: info.dir, state: 'loaded', info }];
  let server: ViewServer | undefined;
  let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;
  const opened: ViewPage<unknown>[] = [];

  before(async function () {
    requireChromium(this);
    ensureViewBuilt('infoplane');
    server = await ViewServer.start();
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  // Every view a passing test opened must have run cleanly, and every message it posted must pass the host's validation.
  afterEach(async function () {
    const passed = this.currentTest?.state === 'passed';
    for (const view of opened.splice(0)) {
      if (passed) {
        await view.assertRanCleanly();
        view.assertPostedValid();
      }
      await view.close();
    }
  });

  const answer: RequestHandler = (method) => {
    if (method === 'infoPlane') return planeSeries(EPOCHS);
    if (method === 'showRunSummary') return {};
    throw new HostError({ code: 'bad-request', message: `the test answers no ${method}` });
  };

  async function openPlane(
    options: { theme?: TestTheme; onRequest?: RequestHandler; selection?: InfoPlaneSelection; runs?: PanelRun[]; waitForPlane?: boolean } = {},
  ): Promise<ViewPage<InfoPlaneSelection>> {
    const view = await ViewPage.open<InfoPlaneSelection>(browser!, server!, 'infoplane', {
      theme: options.theme,
      viewport: { width: 1280, height: 900 },
      onRequest: options.onRequest ?? answer,
    });
    opened.push(view as ViewPage<unknown>);
    await view.waitForReady();
    await view.push({ kind: 'selection', selection: options.selection ?? { run: info.dir } });
    await view.push({ kind: 'runs', runs: options.runs ?? runs });
    if (options.waitForPlane !== false) await view.page.waitForFunction(() => (window.cnnslicerInfoPlaneView?.().markers.length ?? 0) > 0);
    return view;
  }

  async function model(view: ViewPage<InfoPlaneSelection>): Promise<InfoPlaneViewModel> {
    return view.page.evaluate(() => window.cnnslicerInfoPlaneView!());
  }

  function published(view: ViewPage<InfoPlaneSelection>): unknown[] {
    return view.posted.filter((m) => m.type === 'select').map((m) => (m as { selection: unknown }).selection);
  }

  it('draws a trajectory per representation over every epoch, coloured by depth, with a legend and the estimator’s parameters', async () => {
    const view = await openPlane();
    assert.deepEqual(view.requests('infoPlane')[0].params, { run: info.dir, samples: { kind: 'all' }, epoch: 'all' });
    const m = await model(view);
    assert.deepEqual(
      m.trajectories.map((t) => [t.layer, t.depth]),
      ['input', ...LAYERS].map((l, d) => [l, d]),
    );
    for (const t of m.trajectories) {
      assert.deepEqual(
        t.epochs,
        Array.from({ length: EPOCHS }, (_, e) => e),
      );
      assert.deepEqual(
        t.IXT,
        t.epochs.map((e) => ixt(t.depth, e)),
      );
      assert.deepEqual(
        t.ITY,
        t.epochs.map((e) => ity(t.depth, e)),
      );
    }
    assert.equal(m.points.length, 8 * EPOCHS);
    // The chart holds one line per representation in its colour, and depth reads as lightness.
    const datasets = await view.page.evaluate(() =>
      (window.cnnslicerCharts?.get('chart-infoplane')?.data.datasets ?? []).map((d) => ({
        label: String(d.label),
        color: d.borderColor,
        count: d.data.length,
      })),
    );
    assert.deepEqual(
      datasets.map((d) => [d.label, d.color, d.count]),
      m.trajectories.map((t) => [t.layer, t.color, EPOCHS]),
    );
    const lum = m.trajectories.map((t) => luminance(t.color));
    for (let i = 1; i < lum.length; i++) assert.ok(lum[i] > lum[i - 1], `depth ${i} is lighter than depth ${i - 1}: ${lum}`);
    // The legend: a row per representation in its colour, with its values at the marked (newest) epoch.
    assert.equal(m.marked, EPOCHS - 1);
    const rows = await view.page.$$eval('#layer-table tbody tr', (trs) =>
      trs.map((tr) => ({
        layer: tr.getAttribute('data-layer'),
        color: getComputedStyle(tr.querySelector('.swatch')!).backgroundColor,
        values: Array.from(tr.querySelectorAll('td.value'), (td) => td.textContent),
      })),
    );
    assert.deepEqual(
      rows.map((r) => [r.layer, r.color, r.values]),
      m.trajectories.map((t) => [t.layer, t.color, [String(ixt(t.depth, EPOCHS - 1)), String(ity(t.depth, EPOCHS - 1))]]),
    );
    const footer = await view.page.locator('#estimator-params').textContent();
    assert.match(footer ?? '', /Rényi α-order/);
    assert.match(footer ?? '', /Parameters: α = 1\.01; σ of each representation: the median distance between its samples/);
    assert.match(
      (await view.page.locator('#plane-caption').textContent()) ?? '',
      /8 representations \(the input and 7 layers\) over 21 epochs \(0 to 20\), from n = 200 samples/,
    );
  });

  it('keeps depth readable as lightness in a dark theme', async () => {
    const view = await openPlane({ theme: 'dark' });
    const lum = (await model(view)).trajectories.map((t) => luminance(t.color));
    for (let i = 1; i < lum.length; i++) assert.ok(lum[i] > lum[i - 1]);
    assert.ok(lum[0] > 0.04, `the input's trajectory is not lost in the dark background (luminance ${lum[0]})`);
  });

  it('moves every marker along its trajectory with the epoch slider, and tells the other views the epoch', async () => {
    const view = await openPlane();
    await view.page.locator('#epoch-slider').fill('5');
    await view.page.waitForFunction(() => window.cnnslicerInfoPlaneView?.().marked === 5);
    const m = await model(view);
    assert.equal(m.epoch, 5);
    assert.deepEqual(
      m.markers.map((p) => [p.layer, p.epoch, p.IXT, p.ITY]),
      m.trajectories.map((t) => [t.layer, 5, ixt(t.depth, 5), ity(t.depth, 5)]),
    );
    assert.equal(await view.page.locator('#epoch-label').textContent(), '5');
    assert.deepEqual(published(view).at(-1), { run: info.dir, epoch: 5 });
    assert.deepEqual(((await view.savedState()) as { selection: InfoPlaneSelection }).selection.epoch, 5);
  });

  it('gives a point’s exact values on hover', async () => {
    const view = await openPlane();
    const target = (await model(view)).points.find((p) => p.layer === 'conv2' && p.epoch === 7);
    assert.ok(target);
    await view.page.mouse.move(target.x, target.y);
    const tooltip = view.page.locator('#view-tooltip');
    await tooltip.waitFor({ state: 'visible' });
    const text = (await tooltip.innerText()).split('\n');
    assert.deepEqual(text.slice(0, 4), ['conv2 (depth 4)', 'epoch 7', `I(X; T) = ${ixt(4, 7)} bits`, `I(T; Y) = ${ity(4, 7)} bits`]);
    await view.page.mouse.move(5, 5);
    await tooltip.waitFor({ state: 'hidden' });
  });

  it('selects a point’s layer and epoch on click and publishes them; the input publishes only its epoch', async () => {
    const view = await openPlane();
    const pool1 = (await model(view)).points.find((p) => p.layer === 'pool1' && p.epoch === 3);
    assert.ok(pool1);
    await view.page.mouse.click(pool1.x, pool1.y);
    await view.page.waitForFunction(() => window.cnnslicerInfoPlaneView?.().selectedLayer === 'pool1');
    let m = await model(view);
    assert.equal(m.marked, 3);
    assert.deepEqual(published(view).at(-1), { run: info.dir, layer: 'pool1', epoch: 3 });
    // The selected trajectory is drawn thicker, on top; its legend row is marked.
    const widths = await view.page.evaluate(() =>
      (window.cnnslicerCharts?.get('chart-infoplane')?.data.datasets ?? []).map((d) => [String(d.label), (d as { borderWidth?: number }).borderWidth]),
    );
    assert.ok(
      widths.every(([label, w]) => (label === 'pool1' ? w === 3.5 : w === 1.75)),
      JSON.stringify(widths),
    );
    assert.equal(await view.page.locator('#layer-table tr.selected').getAttribute('data-layer'), 'pool1');
    // The input does not change with training: its 21 points are one. The hover says so, and a click
    // on it keeps the epoch marked rather than jumping to whichever epoch was drawn last.
    const input = m.points.find((p) => p.layer === 'input' && p.epoch === 12);
    assert.ok(input);
    await view.page.mouse.move(input.x, input.y);
    const tooltip = view.page.locator('#view-tooltip');
    await tooltip.waitFor({ state: 'visible' });
    assert.deepEqual((await tooltip.innerText()).split('\n').slice(0, 2), ['input (depth 0)', 'epoch 3 (the same point at 21 epochs, 0 to 20)']);
    await view.page.mouse.click(input.x, input.y);
    await view.page.waitForFunction(() => window.cnnslicerInfoPlaneView?.().selectedLayer === 'input');
    m = await model(view);
    assert.equal(m.marked, 3);
    assert.deepEqual(published(view).at(-1), { run: info.dir, epoch: 3 });
    // A legend row highlights its layer, keeping the epoch.
    await view.page.locator('#layer-table tr[data-layer="fc"]').click();
    await view.page.waitForFunction(() => window.cnnslicerInfoPlaneView?.().selectedLayer === 'fc');
    assert.deepEqual(published(view).at(-1), { run: info.dir, layer: 'fc', epoch: 3 });
  });

  it('follows a layer and an epoch chosen in another view', async () => {
    const view = await openPlane();
    await view.push({ kind: 'linked', selection: { run: info.dir, layer: 'relu2', channel: 3, epoch: 9 } });
    await view.page.waitForFunction(() => window.cnnslicerInfoPlaneView?.().marked === 9);
    const m = await model(view);
    assert.equal(m.selectedLayer, 'relu2');
    assert.equal(await view.page.locator('#epoch-label').textContent(), '9');
    // Another run's selection, or an epoch the run lacks, changes nothing.
    await view.push({ kind: 'linked', selection: { run: '/elsewhere', layer: 'fc', epoch: 2 } });
    await view.push({ kind: 'linked', selection: { run: info.dir, epoch: 99 } });
    await new Promise((r) => setTimeout(r, 200));
    const after = await model(view);
    assert.deepEqual([after.selectedLayer, after.marked], ['relu2', 9]);
    assert.equal(published(view).length, 0, 'following is not choosing: nothing is published back');
    assert.equal(view.requests('infoPlane').length, 1, 'the plane of every epoch is not asked for again');
  });

  it('asks again when a live run finishes an epoch, keeping the plane on screen until the new one arrives', async () => {
    const earlier = syntheticRun(EPOCHS - 1);
    let calls = 0;
    let release: (() => void) | undefined;
    const view = await openPlane({
      runs: [{ dir: earlier.dir, state: 'loaded', info: earlier }],
      onRequest: (method, params) => {
        if (method !== 'infoPlane') return answer(method, params);
        calls++;
        if (calls === 1) return planeSeries(EPOCHS - 1);
        return new Promise((resolve) => {
          release = () => resolve(planeSeries(EPOCHS));
        });
      },
    });
    assert.equal((await model(view)).marked, EPOCHS - 2);
    await view.push({ kind: 'runs', runs });
    await view.waitForRequest('infoPlane', 2);
    await view.page.locator('#plane-message', { hasText: 'Showing the epochs computed before until then.' }).waitFor();
    let m = await model(view);
    assert.equal(m.epoch, EPOCHS - 1, 'the slider is at the new epoch');
    assert.equal(m.planeEpochs.length, EPOCHS - 1, 'the plane computed before stays');
    assert.equal(m.marked, EPOCHS - 2, 'its markers stay at its newest epoch');
    assert.match((await view.page.locator('#plane-caption').textContent()) ?? '', /Epoch 20 is not in the plane yet/);
    while (release === undefined) await new Promise((r) => setTimeout(r, 20));
    release();
    await view.page.waitForFunction(() => window.cnnslicerInfoPlaneView?.().marked === 20);
    m = await model(view);
    assert.equal(m.planeEpochs.length, EPOCHS);
    assert.equal(await view.page.locator('#plane-message').isVisible(), false);
  });

  it('shows the engine’s refusal of an unknown method, and asks again on Compute again', async () => {
    const view = await openPlane({
      waitForPlane: false,
      onRequest: (method) => {
        if (method === 'infoPlane') throw new HostError({ code: 'bad-request', message: 'unknown method "infoPlane"' });
        throw new HostError({ code: 'bad-request', message: `the test answers no ${method}` });
      },
    });
    const message = view.page.locator('#plane-message');
    await view.page.locator('#plane-message.error', { hasText: 'Information plane failed: unknown method "infoPlane"' }).waitFor();
    assert.match((await message.textContent()) ?? '', /this engine does not compute the information plane/);
    assert.equal(await view.page.locator('#chart-infoplane').isVisible(), false, 'no plane is drawn without one');
    view.answerWith(answer);
    await view.page.locator('#plane-message-retry').click();
    await view.page.waitForFunction(() => (window.cnnslicerInfoPlaneView?.().markers.length ?? 0) > 0);
    assert.equal(view.requests('infoPlane').length, 2);
  });

  it('shows progress with Cancel, cancels the request, and computes again when asked', async () => {
    const view = await openPlane({ waitForPlane: false, onRequest: (method) => (method === 'infoPlane' ? new Promise(() => undefined) : {}) });
    const [request] = await view.waitForRequest('infoPlane', 1);
    await view.deliver({ type: 'progress', id: request.id, progress: { done: 3, total: 21 } });
    await view.page.locator('#plane-message', { hasText: 'computing… 14%' }).waitFor();
    await view.page.locator('#plane-message-cancel').click();
    await view.page.locator('#plane-message', { hasText: 'Information plane: cancelled.' }).waitFor();
    assert.ok(
      view.posted.some((m) => m.type === 'cancel' && m.id === request.id),
      'the host is told to cancel',
    );
    assert.equal(await view.page.locator('#plane-message-cancel').isVisible(), false);
    view.answerWith(answer);
    await view.page.locator('#plane-message-retry').click();
    await view.page.waitForFunction(() => (window.cnnslicerInfoPlaneView?.().markers.length ?? 0) > 0);
    assert.equal(view.requests('infoPlane').length, 2);
  });

  it('is opened from the query view’s toolbar on the run, its layer and epoch', async () => {
    ensureViewBuilt('query');
    const query = await ViewPage.open<QuerySelection>(browser!, server!, 'query', {
      viewport: { width: 1280, height: 900 },
      onRequest: (method) => {
        if (method === 'openInfoPlane') return {};
        throw new HostError({ code: 'bad-request', message: `the test answers no ${method}` });
      },
    });
    opened.push(query as ViewPage<unknown>);
    await query.waitForReady();
    await query.push({ kind: 'selection', selection: { run: info.dir, layers: ['conv2'], layer: 'conv2', epoch: 4 } });
    await query.push({ kind: 'runs', runs });
    await query.page.locator('#open-infoplane:not([disabled])').click();
    const [request] = await query.waitForRequest('openInfoPlane', 1);
    assert.deepEqual(request.params, { run: info.dir, layer: 'conv2', epoch: 4 });
  });
});

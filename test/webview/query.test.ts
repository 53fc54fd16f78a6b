// The query view (paper §5.1, Fig. 3) in a real browser: the built bundle under the host's CSP, fed
// with the engine's own reading of a run written for the test, and the engine's real slices for the
// class selections. Checked by what a user sees and does: the layer blocks, drags on the
// hypercube's L and C axes with the mouse, the Query button's request, names shown as text.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RunReader } from '../../src/engine/run/runReader';
import { RunWriter } from '../../src/core/run/runWriter';
import type { SliceResult } from '../../src/shared/engineProtocol';
import type { LinkedSelection } from '../../src/shared/linkedSelection';
import { parseRequestParams } from '../../src/shared/messageValidation';
import type { LayerInfo, RunInfo } from '../../src/shared/runFormat';
import { PERSISTED_STATE_VERSION, type PanelRun, type QuerySelection, type WebviewToHost } from '../../src/shared/webviewProtocol';
import { mobileNetV2Layers } from '../support/deepModels';
import { product, randomArray, seededRandom, tempDir } from '../support/runFixtures';
import { HostError, requireChromium, ViewSuite, type RequestHandler, type ViewPage } from './harness';

const HOSTILE_NAME = '<img src=x onerror=window.__xss=1>';
const CLASSES = ['zero', 'one', HOSTILE_NAME];
const N = 12;
const LAYERS: LayerInfo[] = [
  { name: 'conv1', kind: 'conv', shape: [4, 6, 6], op: 'Conv2d', source: { file: 'model.py', line: 12 } },
  { name: HOSTILE_NAME, kind: 'activation', shape: [4, 6, 6], op: 'ReLU' },
  { name: 'pool1', kind: 'pool', shape: [4, 3, 3], op: 'MaxPool2d', source: { file: 'model.py', line: 14 } },
  { name: 'conv2', kind: 'conv', shape: [8, 1, 1], op: 'Conv2d' },
  { name: 'fc', kind: 'linear', shape: [3], op: 'Linear' },
];
const EPOCHS = [0, 1, 2];

interface Fixture {
  readonly info: RunInfo;
  readonly labels: readonly number[];
  /** The engine's slices of the inputs' channel 0, one class each: what the view asks to learn a class's samples. */
  readonly classSlices: ReadonlyMap<number, SliceResult>;
}

async function writeFixture(root: string): Promise<Fixture> {
  const dir = path.join(root, 'query-run');
  const rand = seededRandom(5);
  const labels = Array.from({ length: N }, (_, i) => i % CLASSES.length);
  const writer = await RunWriter.create(dir, {
    name: `query ${HOSTILE_NAME}`,
    model: { name: 'QueryCNN', framework: 'test' },
    layers: LAYERS,
    classes: CLASSES,
    probe: { inputs: randomArray(N * 64, rand), inputShape: [1, 8, 8], labels, description: 'seeded random inputs' },
  });
  for (const epoch of EPOCHS) {
    await writer.writeEpoch(epoch, {
      metrics: { loss: 1 / (epoch + 1), accuracy: 0.4 + 0.2 * epoch },
      activations: new Map(LAYERS.map((l) => [l.name, randomArray(N * product(l.shape), rand)] as const)),
      logits: randomArray(N * CLASSES.length, rand),
    });
  }
  await writer.finish();
  const reader = await RunReader.open(dir);
  try {
    const classSlices = new Map<number, SliceResult>();
    for (let c = 0; c < CLASSES.length; c++)
      classSlices.set(c, await reader.slice({ samples: { kind: 'class', classIndex: c }, layer: 'input', channel: 0, epoch: 1 }));
    return { info: reader.info, labels, classSlices };
  } finally {
    await reader.close();
  }
}

/** A run of a MobileNetV2's 140 layers (module paths features.N.conv.M), as the engine reads it. */
async function writeDeepRun(root: string): Promise<RunInfo> {
  const dir = path.join(root, 'deep-run');
  const layers = mobileNetV2Layers();
  const n = 6;
  const rand = seededRandom(9);
  const writer = await RunWriter.create(dir, {
    name: 'mobilenet_v2 (140 layers)',
    model: { name: 'MobileNetV2', framework: 'test' },
    layers,
    classes: ['a', 'b', 'c'],
    probe: {
      inputs: randomArray(n * 16, rand),
      inputShape: [1, 4, 4],
      labels: Array.from({ length: n }, (_, i) => i % 3),
      description: 'seeded random inputs',
    },
  });
  for (const epoch of [0, 1]) {
    await writer.writeEpoch(epoch, {
      metrics: { loss: 1 / (epoch + 1), accuracy: 0.5 },
      activations: new Map(layers.map((l) => [l.name, randomArray(n * product(l.shape), rand)] as const)),
      logits: randomArray(n * 3, rand),
    });
  }
  await writer.finish();
  const reader = await RunReader.open(dir);
  try {
    return reader.info;
  } finally {
    await reader.close();
  }
}

describe('query view (headless Chromium)', function () {
  this.timeout(60_000);
  let suite: ViewSuite<QuerySelection> | undefined;
  let scratch: string | undefined;
  let fixture: Fixture;
  let deep: RunInfo;

  before(async function () {
    requireChromium(this);
    suite = await ViewSuite.start<QuerySelection>('query');
    scratch = tempDir('cnnslicer-query-');
    fixture = await writeFixture(scratch);
    deep = await writeDeepRun(scratch);
  });

  after(async () => {
    await suite?.stop();
    if (scratch !== undefined) fs.rmSync(scratch, { recursive: true, force: true });
  });

  // Every view opened by a test must have run without a CSP violation, an error, or injected script.
  afterEach(async function () {
    await suite?.closeViews(this.currentTest?.state === 'passed', async (view) => {
      assert.equal(await view.page.evaluate(() => (window as unknown as { __xss?: unknown }).__xss), undefined, 'a name from the run ran as script');
    });
  });

  /** Answers as the host does, from the fixture's engine results; the query's answer says the layer or channel view opened. */
  function recordedAnswers(): RequestHandler {
    return (method, params) => {
      if (params.run !== fixture.info.dir && params.run !== deep.dir)
        throw new HostError({ code: 'bad-request', message: `the view does not show the run ${String(params.run)}` });
      if (method === 'slice') {
        const samples = params.samples as { kind: string; classIndex?: number };
        const recorded =
          samples.kind === 'class' && params.layer === 'input' && params.channel === 0 ? fixture.classSlices.get(samples.classIndex ?? -1) : undefined;
        if (recorded === undefined) throw new HostError({ code: 'bad-request', message: `no recorded slice for ${JSON.stringify(params)}` });
        return recorded;
      }
      if (method === 'query') {
        const sel = params as unknown as LinkedSelection;
        return { target: sel.layer === undefined ? 'training' : (sel.otherLayers?.length ?? 0) > 0 ? 'layer' : 'channel', opened: true };
      }
      if (method === 'revealSource') return { file: path.join(scratch ?? '', 'model.py'), line: 12 };
      throw new HostError({ code: 'bad-request', message: `no recorded answer for ${method}` });
    };
  }

  async function openQuery(
    options: { selection?: QuerySelection; viewport?: { width: number; height: number }; info?: RunInfo; savedState?: unknown } = {},
  ): Promise<ViewPage<QuerySelection>> {
    assert.ok(suite);
    const info = options.info ?? fixture.info;
    const view = await suite.openView({
      onRequest: recordedAnswers(),
      ...(options.viewport ? { viewport: options.viewport } : {}),
      ...(options.savedState !== undefined ? { savedState: options.savedState } : {}),
    });
    await view.waitForReady();
    const runs: PanelRun[] = [{ dir: info.dir, state: 'loaded', info }];
    await view.push({ kind: 'runs', runs });
    await view.push({ kind: 'selection', selection: options.selection ?? { run: info.dir } });
    await view.page.locator('#blocks button.block').first().waitFor();
    return view;
  }

  /** The names of the selected blocks, once the view has drawn `expected` (it draws on the next frame), else as they are. */
  async function pressed(view: ViewPage<QuerySelection>, expected?: readonly string[]): Promise<string[]> {
    const read = (): Promise<string[]> =>
      view.page.$$eval('#blocks button.block[aria-pressed="true"] .block-name', (els) => els.map((e) => e.textContent ?? ''));
    const deadline = Date.now() + 5_000;
    let names = await read();
    while (expected !== undefined && JSON.stringify(names) !== JSON.stringify(expected) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      names = await read();
    }
    return names;
  }

  async function expectPressed(view: ViewPage<QuerySelection>, expected: readonly string[]): Promise<void> {
    assert.deepEqual(await pressed(view, expected), expected);
  }

  /** The block of one layer, by its exact name (`conv2` must not find conv1's `Conv2d`). */
  function block(view: ViewPage<QuerySelection>, name: string) {
    return view.page.locator('#blocks button.block').filter({ has: view.page.locator('.block-name').getByText(name, { exact: true }) });
  }

  function published(view: ViewPage<QuerySelection>): LinkedSelection[] {
    return view.posted.filter((m): m is Extract<WebviewToHost, { type: 'select' }> => m.type === 'select').map((m) => m.selection);
  }

  /** The page point at the centre of layer tick `index` on the L axis. */
  async function layerTickCentre(view: ViewPage<QuerySelection>, index: number): Promise<{ x: number; y: number }> {
    const box = await view.page.locator(`#l-axis rect.l-tick[data-index="${index}"]`).boundingBox();
    assert.ok(box, `no tick for layer ${index}`);
    return { x: box.x + box.width / 2, y: box.y + box.height / 2 };
  }

  /** The page y of the middle of channel `c` on the C axis as it is drawn now. */
  async function channelY(view: ViewPage<QuerySelection>, c: number): Promise<number> {
    // The cube is redrawn after every selection change, replacing the axis elements: read the
    // band and its scale from one drawing, waiting for the redraw to settle if it is under way.
    const geometry = await view.page.waitForFunction(() => {
      const axis = document.querySelector('#c-axis');
      const band = axis?.querySelector('rect.axis-band');
      const scale = Number(axis?.getAttribute('data-channels'));
      if (!band || !(scale > 0)) return undefined;
      const r = band.getBoundingClientRect();
      return { y: r.y, height: r.height, scale };
    });
    const { y, height, scale } = (await geometry.jsonValue()) as { y: number; height: number; scale: number };
    return y + ((c + 0.5) * height) / scale;
  }

  it('draws the architecture as a row of blocks: names as text, kinds colour-coded, output shapes C×H×W', async () => {
    const view = await openQuery();
    const blocks = view.page.locator('#blocks button.block');
    assert.deepEqual(
      await view.page.locator('#blocks button.block .block-name').allTextContents(),
      LAYERS.map((l) => l.name),
    );
    assert.deepEqual(await view.page.locator('#blocks button.block .block-shape').allTextContents(), ['4×6×6', '4×6×6', '4×3×3', '8×1×1', '3']);
    assert.deepEqual(
      await blocks.evaluateAll((els) => els.map((e) => Array.from(e.classList).find((c) => c.startsWith('kind-')))),
      LAYERS.map((l) => `kind-${l.kind}`),
    );
    // The kind colour is a theme colour: convolutions and pools differ.
    const bars = await view.page.locator('#blocks .kind-bar').evaluateAll((els) => els.map((e) => getComputedStyle(e).backgroundColor));
    assert.notEqual(bars[0], bars[2]);
    assert.equal(bars[0], bars[3], 'two convolutions share a colour');
    // The input and output blocks frame the layers.
    assert.equal(await view.page.locator('#block-input .block-shape').textContent(), '1×8×8');
    assert.equal(await view.page.locator('#block-output .block-shape').textContent(), String(CLASSES.length));
    // The hostile name is characters on screen, not an element.
    assert.equal(await view.page.locator('#blocks img').count(), 0);
    assert.equal(await view.page.locator('#cube img').count(), 0);
    assert.equal(await view.page.locator('#run-title').textContent(), `query ${HOSTILE_NAME}`);
    assert.deepEqual(await view.page.locator('#class-list label').allTextContents(), CLASSES);
    // The hypercube's axes: one L tick per layer, C as long as the widest layer, T one tick per epoch.
    assert.equal(await view.page.locator('#l-axis rect.l-tick').count(), LAYERS.length);
    assert.equal(await view.page.locator('#c-axis').getAttribute('data-channels'), '8');
    assert.equal(await view.page.locator('#t-axis').getAttribute('data-epochs'), String(EPOCHS.length));
    assert.equal(await view.page.locator('#epoch-label').textContent(), '2 (newest)');
  });

  it('clicking a block selects it and publishes it; Shift-click selects a range; Ctrl-click adds one', async () => {
    const view = await openQuery();
    await block(view, 'conv1').click();
    await expectPressed(view, ['conv1']);
    await block(view, 'pool1').click({ modifiers: ['Shift'] });
    await expectPressed(view, ['conv1', HOSTILE_NAME, 'pool1']);
    await block(view, 'fc').click({ modifiers: ['Control'] });
    await expectPressed(view, ['conv1', HOSTILE_NAME, 'pool1', 'fc']);
    // The focus stays on conv1, where the range began: only conv1 was published (the Runs tree follows it).
    assert.deepEqual(published(view), [{ run: fixture.info.dir, layer: 'conv1' }]);
    // The layer slab spans the range on the hypercube, and fc has a slab of its own.
    assert.deepEqual(
      await view.page
        .locator('#cube g.layer-slab')
        .evaluateAll((gs) => gs.map((g) => [Number(g.getAttribute('data-from')), Number(g.getAttribute('data-to'))])),
      [
        [0, 2],
        [4, 4],
      ],
    );
    // Keyboard: a block is a button, Enter selects it.
    await block(view, 'conv2').focus();
    await view.page.keyboard.press('Enter');
    await expectPressed(view, ['conv2']);
  });

  it('dragging along the L axis selects the layers between where the drag starts and ends', async () => {
    const view = await openQuery();
    const from = await layerTickCentre(view, 1);
    const to = await layerTickCentre(view, 3);
    await view.page.mouse.move(from.x, from.y);
    await view.page.mouse.down();
    await view.page.mouse.move((from.x + to.x) / 2, from.y, { steps: 4 });
    // While dragging, the slab follows the pointer before anything is committed.
    assert.ok((await view.page.locator('#cube g.layer-slab').count()) > 0);
    await view.page.mouse.move(to.x, to.y, { steps: 4 });
    await view.page.mouse.up();
    await expectPressed(view, [HOSTILE_NAME, 'pool1', 'conv2']);
    assert.deepEqual(
      await view.page.locator('#l-axis rect.l-tick.selected').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-index')))),
      [1, 2, 3],
    );
    assert.deepEqual(published(view), [{ run: fixture.info.dir, layer: HOSTILE_NAME }]);
    const state = (await view.savedState()) as { selection: QuerySelection };
    assert.deepEqual(state.selection.layers, [HOSTILE_NAME, 'pool1', 'conv2']);
    assert.match((await view.page.locator('#query-target').textContent()) ?? '', /opens the layer view/);
    // Dragging backwards past the axis's start clamps to the first layer.
    const start = await layerTickCentre(view, 2);
    await view.page.mouse.move(start.x, start.y);
    await view.page.mouse.down();
    await view.page.mouse.move(start.x - 2000, start.y, { steps: 3 });
    await view.page.mouse.up();
    await expectPressed(view, ['conv1', HOSTILE_NAME, 'pool1']);
  });

  it('dragging across L and C on the face selects one channel of a layer, drawn as the slices’ intersection', async () => {
    const view = await openQuery();
    const conv1 = await layerTickCentre(view, 0);
    // No layer is selected yet: the C axis spans the widest layer (conv2's 8 channels).
    const y1 = await channelY(view, 1);
    const y3 = await channelY(view, 3);
    await view.page.mouse.move(conv1.x, y1);
    await view.page.mouse.down();
    await view.page.mouse.move(conv1.x, y3, { steps: 5 });
    await view.page.mouse.up();
    await expectPressed(view, ['conv1']);
    const intersection = view.page.locator('#intersection');
    assert.equal(await intersection.getAttribute('data-layer'), '0');
    assert.equal(await intersection.getAttribute('data-channel'), '3');
    assert.equal(await view.page.locator('#channel-input').inputValue(), '3');
    assert.equal(await view.page.locator('#c-axis').getAttribute('data-channels'), '4', 'with one layer selected, C spans its channels');
    assert.deepEqual(published(view), [{ run: fixture.info.dir, layer: 'conv1', channel: 3 }]);
    assert.match((await view.page.locator('#slice-text').textContent()) ?? '', /l = conv1, c = channel 3, t = epoch 2/);

    // Dragging along C alone moves the channel within the selected layer.
    const band = await view.page.locator('#c-axis rect.axis-band').boundingBox();
    assert.ok(band);
    await view.page.mouse.move(band.x + band.width / 2, await channelY(view, 2));
    await view.page.mouse.down();
    await view.page.mouse.move(band.x + band.width / 2, await channelY(view, 0), { steps: 3 });
    await view.page.mouse.up();
    assert.equal(await intersection.getAttribute('data-channel'), '0');

    // Escape clears the channel, then the layers; C spans the widest layer again.
    await view.page.keyboard.press('Escape');
    assert.equal(await view.page.locator('#intersection').count(), 0);
    await view.page.keyboard.press('Escape');
    await expectPressed(view, []);
    assert.equal(await view.page.locator('#c-axis').getAttribute('data-channels'), '8');
    // Channel 6 of that axis is past conv1's last channel: pressing there selects conv1 without a channel.
    await view.page.mouse.click(conv1.x, await channelY(view, 6));
    await expectPressed(view, ['conv1']);
    assert.equal(await view.page.locator('#intersection').count(), 0);
    assert.equal(await view.page.locator('#channel-input').inputValue(), '');
  });

  it('Query sends the slice: the focus layer, the other layers, the epoch and the samples of the chosen classes', async () => {
    const view = await openQuery();
    await block(view, 'conv1').click();
    await block(view, 'pool1').click({ modifiers: ['Shift'] });
    await view.page.locator('#epoch-slider').fill('1');
    await view.page.locator('#epoch-label', { hasText: /^1$/ }).waitFor();
    await view.page.locator('#samples-classes').check();
    await view.page.locator('#classes-none').click();
    await view.page.locator('#class-list label', { hasText: 'zero' }).click();
    await view.page.locator('#class-list label', { hasText: HOSTILE_NAME }).click();
    assert.match((await view.page.locator('#slice-text').textContent()) ?? '', /x = 2 classes: zero, <img src=x onerror=window.__xss=1>/);
    await view.page.locator('#query-button').click();
    const [request] = await view.waitForRequest('query', 1);
    const expectedIndices = fixture.labels.flatMap((label, i) => (label === 0 || label === 2 ? [i] : []));
    const expected: LinkedSelection = {
      run: fixture.info.dir,
      layer: 'conv1',
      otherLayers: [HOSTILE_NAME, 'pool1'],
      epoch: 1,
      samples: { kind: 'indices', indices: expectedIndices },
    };
    assert.deepEqual(request.params, expected);
    // The host's own check accepts it as it is.
    assert.deepEqual(parseRequestParams('query', request.params), { ok: true, value: expected });
    // Two classes of three: the view learnt their samples from the engine, one input slice per class.
    assert.deepEqual(
      view.requests('slice').map((r) => (r.params.samples as { classIndex: number }).classIndex),
      [0, 2],
    );
    await view.page.locator('#query-status', { hasText: 'Sent to the layer view.' }).waitFor();
  });

  it('Query shows Cancel while it runs; Cancel stops it and the button queries again', async () => {
    const view = await openQuery();
    const answers = recordedAnswers();
    let hold = true;
    view.answerWith((method, params) => (method === 'query' && hold ? new Promise(() => undefined) : answers(method, params)));
    await block(view, 'conv1').click();
    await view.page.locator('#query-button').click();
    await view.waitForRequest('query', 1);
    await view.page.locator('#query-status-cancel').waitFor({ state: 'visible' });
    assert.equal(await view.page.locator('#query-status').textContent(), 'Querying…');
    await view.page.locator('#query-status-cancel').click();
    await view.page.locator('#query-status', { hasText: 'Query cancelled.' }).waitFor();
    assert.ok(
      view.posted.some((m) => m.type === 'cancel'),
      'the host is told to stop',
    );
    assert.ok(!(await view.page.locator('#query-status-cancel').isVisible()));
    hold = false;
    await view.page.locator('#query-button').click();
    await view.page.locator('#query-status', { hasText: 'Sent to the channel view.' }).waitFor();
  });

  it('Query on one layer and a channel goes to the channel view, with a seeded random sample; with no layer to the training view', async () => {
    const view = await openQuery({ selection: { run: fixture.info.dir, layers: ['pool1'], layer: 'pool1', channel: 2 } });
    await view.page.locator('#samples-count').check();
    await view.page.locator('#sample-mode').selectOption('random');
    await view.page.locator('#sample-count').fill('5');
    await view.page.locator('#sample-count').press('Tab');
    await view.page.locator('#sample-seed').fill('7');
    await view.page.locator('#sample-seed').press('Tab');
    await view.page.locator('#slice-text', { hasText: '5 random samples (seed 7)' }).waitFor();
    await view.page.locator('#query-button').click();
    const [first] = await view.waitForRequest('query', 1);
    const params = first.params as unknown as LinkedSelection;
    assert.equal(params.layer, 'pool1');
    assert.equal(params.otherLayers, undefined);
    assert.equal(params.channel, 2);
    assert.equal(params.epoch, 2);
    assert.equal(params.samples?.kind, 'indices');
    const indices = params.samples?.kind === 'indices' ? params.samples.indices : [];
    assert.equal(indices.length, 5);
    assert.equal(new Set(indices).size, 5);
    assert.ok(
      indices.every((i, k) => i >= 0 && i < N && (k === 0 || i > indices[k - 1])),
      `indices must be distinct probe samples in order: ${indices.join(', ')}`,
    );
    await view.page.locator('#query-status', { hasText: 'Sent to the channel view.' }).waitFor();
    // The same seed draws the same samples again.
    await view.page.locator('#query-button').click();
    const second = await view.waitForRequest('query', 2);
    assert.deepEqual((second[1].params as unknown as LinkedSelection).samples, params.samples);

    // Escape twice clears the channel, then the layers: the query is then about the input and output.
    await view.page.locator('#cube').focus();
    await view.page.keyboard.press('Escape');
    await view.page.keyboard.press('Escape');
    await expectPressed(view, []);
    await view.page.locator('#query-target', { hasText: 'opens the training view' }).waitFor();
    await view.page.locator('#query-button').click();
    const third = await view.waitForRequest('query', 3);
    assert.equal((third[2].params as unknown as LinkedSelection).layer, undefined);
    await view.page.locator('#query-status', { hasText: 'Sent to the training view.' }).waitFor();
  });

  it('follows a layer chosen in the Runs tree or another view, and keeps its own epoch and samples', async () => {
    const view = await openQuery();
    await block(view, 'conv1').click();
    await view.page.locator('#epoch-slider').fill('0');
    await view.push({ kind: 'linked', selection: { run: fixture.info.dir, layer: 'conv2', channel: 5 } });
    await expectPressed(view, ['conv2']);
    await expectPressed(view, ['conv2']);
    assert.equal(await view.page.locator('#intersection').getAttribute('data-channel'), '5');
    assert.equal(await view.page.locator('#epoch-label').textContent(), '0');
    // A layer this run does not have changes nothing.
    await view.push({ kind: 'linked', selection: { run: fixture.info.dir, layer: 'no-such-layer' } });
    await view.push({ kind: 'linked', selection: { run: fixture.info.dir, layer: 'fc' } });
    await expectPressed(view, ['fc']);
    await expectPressed(view, ['fc']);
    // The view does not echo what it was told back to the host.
    assert.deepEqual(published(view), [{ run: fixture.info.dir, layer: 'conv1' }]);
  });

  it('scrolls the row of blocks to the layer chosen elsewhere when it is out of view, and leaves a row the user scrolled alone', async () => {
    const view = await openQuery({ viewport: { width: 420, height: 700 } });
    const visible = (name: string) =>
      view.page.evaluate((n) => {
        const row = document.querySelector('#blocks')!.getBoundingClientRect();
        const b = Array.from(document.querySelectorAll('#blocks button.block'))
          .find((e) => e.querySelector('.block-name')?.textContent === n)!
          .getBoundingClientRect();
        return b.left >= row.left - 0.5 && b.right <= row.right + 0.5;
      }, name);
    assert.ok(await view.page.$eval('#blocks', (e) => e.scrollWidth > e.clientWidth), 'the row overflows at this width');
    await view.push({ kind: 'linked', selection: { run: fixture.info.dir, layer: 'fc' } });
    await expectPressed(view, ['fc']);
    await view.page.waitForFunction(() => document.querySelector('#blocks')!.scrollLeft > 0);
    assert.ok(await visible('fc'));
    await view.push({ kind: 'linked', selection: { run: fixture.info.dir, layer: 'conv1' } });
    await expectPressed(view, ['conv1']);
    await view.page.waitForFunction(() => document.querySelector('#blocks')!.scrollLeft === 0);
    // Scrolled by hand, then the same layer told again: the row stays.
    await view.page.$eval('#blocks', (e) => (e.scrollLeft = 60));
    await view.push({ kind: 'linked', selection: { run: fixture.info.dir, layer: 'conv1' } });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(await view.page.$eval('#blocks', (e) => e.scrollLeft), 60);
  });

  it('draws a selected layer’s slab inside the cube: its side face shows above the front face, never over the layers after it', async () => {
    const view = await openQuery();
    await block(view, 'conv1').click();
    await expectPressed(view, ['conv1']);
    await view.page.locator('.layer-slab .slab-side').waitFor();
    const hits = await view.page.evaluate(() => {
      const svg = document.querySelector<SVGSVGElement>('#cube')!;
      const side = document.querySelector<SVGPolygonElement>('.layer-slab .slab-side')!;
      const front = document.querySelector<SVGRectElement>('#cube-face')!;
      // Hit-testing sees what is drawn, clip paths included, once the shape takes pointer events.
      side.style.pointerEvents = 'all';
      const corner = side.points.getItem(0);
      const fy = front.y.baseVal.value;
      const fh = front.height.baseVal.value;
      // (Plain loops: a named function here would be compiled to a helper the page does not have.)
      const found: boolean[] = [];
      for (const y of [fy - 3, fy + fh / 2]) {
        const p = svg.createSVGPoint();
        p.x = corner.x + 10;
        p.y = y;
        const q = p.matrixTransform(svg.getScreenCTM()!);
        found.push(document.elementFromPoint(q.x, q.y) === side);
      }
      return { aboveFront: found[0], overLaterLayers: found[1] };
    });
    assert.deepEqual(hits, { aboveFront: true, overLaterLayers: false });
  });

  it('Go to source asks the host to open the focus layer’s recorded line; a layer without one cannot', async () => {
    const view = await openQuery();
    await block(view, 'pool1').click();
    const button = view.page.locator('#go-to-source');
    assert.equal(await button.textContent(), 'Go to source (model.py:14)');
    await button.click();
    const [request] = await view.waitForRequest('revealSource', 1);
    assert.deepEqual(request.params, { run: fixture.info.dir, layer: 'pool1' });
    await block(view, 'conv2').click();
    assert.equal(await button.textContent(), 'Go to source (not recorded)');
    assert.equal(await button.getAttribute('disabled'), '');
  });

  it('the hypercube is keyboard accessible: arrows move and extend the layer selection and pick channels, Page Up/Down the epoch', async () => {
    const view = await openQuery();
    await view.page.locator('#cube').focus();
    await view.page.keyboard.press('ArrowRight');
    await expectPressed(view, ['conv1']);
    await view.page.keyboard.press('ArrowRight');
    await expectPressed(view, [HOSTILE_NAME]);
    await view.page.keyboard.press('Shift+ArrowRight');
    await view.page.keyboard.press('Shift+ArrowRight');
    await expectPressed(view, [HOSTILE_NAME, 'pool1', 'conv2']);
    await view.page.keyboard.press('ArrowDown');
    assert.equal(await view.page.locator('#intersection').getAttribute('data-channel'), '0');
    await view.page.keyboard.press('ArrowDown');
    assert.equal(await view.page.locator('#intersection').getAttribute('data-channel'), '1');
    await view.page.keyboard.press('PageDown');
    assert.equal(await view.page.locator('#epoch-label').textContent(), '1');
    await view.page.keyboard.press('PageUp');
    assert.equal(await view.page.locator('#epoch-label').textContent(), '2 (newest)');
  });

  // A model of 140 layers (MobileNetV2's module paths): modules in the row, blocks on the L axis.
  describe('a deep model', () => {
    const layerIndex = (name: string): number => deep.manifest.layers.findIndex((l) => l.name === name);

    /** The chips of the row now on screen, by module path, with whether each is open. */
    async function chips(view: ViewPage<QuerySelection>): Promise<[string, boolean][]> {
      return view.page
        .locator('#blocks button.group-chip')
        .evaluateAll((els) => els.map((e): [string, boolean] => [e.getAttribute('data-path') ?? '', e.getAttribute('aria-expanded') === 'true']));
    }

    async function blockNames(view: ViewPage<QuerySelection>): Promise<string[]> {
      return view.page.locator('#blocks button.block .block-name').allTextContents();
    }

    function chip(view: ViewPage<QuerySelection>, path: string) {
      return view.page.locator(`#blocks button.group-chip[data-path="${path}"]`);
    }

    /** Whether the element's box lies inside the row's visible part (the row scrolls sideways). */
    async function inRowView(view: ViewPage<QuerySelection>, selector: string): Promise<boolean> {
      return view.page.evaluate((sel) => {
        const row = document.querySelector('#blocks')!.getBoundingClientRect();
        const el = document.querySelector(sel);
        if (el === null) return false;
        const b = el.getBoundingClientRect();
        return b.width > 0 && b.left >= row.left - 0.5 && b.right <= row.right + 0.5;
      }, selector);
    }

    /** The L axis's first and last layer index and its ticks' indices, once it spans `from` … `to`. */
    async function axisSpan(view: ViewPage<QuerySelection>, from: number, to: number): Promise<{ ticks: number[]; labels: string[] }> {
      await view.page.locator(`#l-axis[data-from="${from}"][data-to="${to}"]`).waitFor();
      return {
        ticks: await view.page.locator('#l-axis rect.l-tick').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-index')))),
        labels: await view.page.locator('#l-axis text.tick-label').allTextContents(),
      };
    }

    /** The page boxes of the band names and of the bands, by module path. */
    async function bandBoxes(view: ViewPage<QuerySelection>) {
      const read = (selector: string) =>
        view.page.locator(selector).evaluateAll((els) =>
          els.map((e) => {
            const r = e.getBoundingClientRect();
            return { path: e.getAttribute('data-path') ?? '', text: e.textContent ?? '', left: r.left, right: r.right, top: r.top, bottom: r.bottom };
          }),
        );
      return { labels: await read('#l-blocks text.band-label'), bands: await read('#l-blocks rect.l-band') };
    }

    type Box = { left: number; right: number; top: number; bottom: number };
    const intersect = (a: Box, b: Box): boolean => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;

    it('shows its modules as chips collapsed by default; a chip opens its layers in place and closes again, by click or keyboard', async () => {
      const view = await openQuery({ info: deep });
      const top = await chips(view);
      // features (139 of 140 layers) opens into its 19 blocks; classifier.1 is a lone layer.
      assert.deepEqual(
        top.map(([p]) => p),
        ['features.0', 'features.1.conv', ...Array.from({ length: 16 }, (_, k) => `features.${k + 2}.conv`), 'features.18'],
      );
      assert.ok(top.every(([, open]) => !open));
      assert.deepEqual(await blockNames(view), ['classifier.1']);
      assert.equal(await chip(view, 'features.7.conv').locator('.group-count').textContent(), '▸ 8 layers');

      await chip(view, 'features.7.conv').click();
      assert.deepEqual((await chips(view)).slice(7, 11), [
        ['features.7.conv', true],
        ['features.7.conv.0', false],
        ['features.7.conv.1', false],
        ['features.8.conv', false],
      ]);
      assert.deepEqual(await blockNames(view), ['features.7.conv.2', 'features.7.conv.3', 'classifier.1']);
      // The keyboard: Enter on a chip opens it, and the chip keeps the keyboard focus.
      await chip(view, 'features.7.conv.0').focus();
      await view.page.keyboard.press('Enter');
      assert.deepEqual(await blockNames(view), [
        'features.7.conv.0.0',
        'features.7.conv.0.1',
        'features.7.conv.0.2',
        'features.7.conv.2',
        'features.7.conv.3',
        'classifier.1',
      ]);
      assert.equal(await view.page.evaluate(() => document.activeElement?.getAttribute('data-path')), 'features.7.conv.0');
      await view.page.keyboard.press('Space');
      assert.deepEqual(await blockNames(view), ['features.7.conv.2', 'features.7.conv.3', 'classifier.1']);
      // A layer block in an open module selects as any block does.
      await block(view, 'features.7.conv.3').click();
      await expectPressed(view, ['features.7.conv.3']);
      assert.deepEqual(published(view), [{ run: deep.dir, layer: 'features.7.conv.3' }]);
      await chip(view, 'features.7.conv').click();
      assert.deepEqual(await blockNames(view), ['classifier.1']);
      assert.ok((await chips(view)).every(([, open]) => !open));
      // Closed, the module holding the selected layer is marked and says so.
      assert.match((await chip(view, 'features.7.conv').getAttribute('class')) ?? '', /holds-selection/);
      assert.match((await chip(view, 'features.7.conv').getAttribute('class')) ?? '', /holds-focus/);
      assert.equal(await chip(view, 'features.7.conv').locator('.group-selected').textContent(), '1 selected, focus inside');
      assert.doesNotMatch((await chip(view, 'features.8.conv').getAttribute('class')) ?? '', /holds-selection/);
    });

    it('shows a layer chosen elsewhere inside a closed module: its modules open and the row scrolls to it', async () => {
      const view = await openQuery({ info: deep, viewport: { width: 900, height: 1000 } });
      await view.push({ kind: 'linked', selection: { run: deep.dir, layer: 'features.15.conv.1.1' } });
      await expectPressed(view, ['features.15.conv.1.1']);
      const open = (await chips(view)).filter(([, o]) => o).map(([p]) => p);
      assert.deepEqual(open, ['features.15.conv', 'features.15.conv.1']);
      await view.page.waitForFunction(() => document.querySelector('#blocks')!.scrollLeft > 0);
      assert.ok(await inRowView(view, `#blocks button.block[data-index="${layerIndex('features.15.conv.1.1')}"]`), 'the chosen layer is on screen');
      // Another layer chosen: the modules opened for the last one close again, this one's open.
      await view.push({ kind: 'linked', selection: { run: deep.dir, layer: 'features.3.conv.2' } });
      await expectPressed(view, ['features.3.conv.2']);
      assert.deepEqual(
        (await chips(view)).filter(([, o]) => o).map(([p]) => p),
        ['features.3.conv'],
      );
      assert.ok(await inRowView(view, `#blocks button.block[data-index="${layerIndex('features.3.conv.2')}"]`));
      // The hypercube's keys move the focus on; the row follows into the next module.
      await view.page.locator('#cube').focus();
      await view.page.keyboard.press('ArrowRight');
      await view.page.keyboard.press('ArrowRight');
      await expectPressed(view, ['features.4.conv.0.0']);
      assert.deepEqual(
        (await chips(view)).filter(([, o]) => o).map(([p]) => p),
        ['features.4.conv', 'features.4.conv.0'],
      );
      assert.ok(await inRowView(view, `#blocks button.block[data-index="${layerIndex('features.4.conv.0.0')}"]`));
    });

    it('names the blocks in bands under the L axis without overlap; a band zooms L into its block, where selecting and querying work; All layers undoes it', async () => {
      const view = await openQuery({ info: deep });
      const whole = await axisSpan(view, 0, 139);
      assert.equal(whole.ticks.length, 140);
      assert.equal(whole.labels[0], '1');
      assert.equal(whole.labels[whole.labels.length - 1], '140');
      const { labels, bands } = await bandBoxes(view);
      assert.equal(bands.length, 19, 'a band per module, none for the lone classifier.1');
      assert.ok(labels.length >= 10, `only ${labels.length} band names drawn`);
      for (let i = 0; i < labels.length; i++) {
        const band = bands.find((b) => b.path === labels[i].path);
        assert.ok(band && labels[i].left >= band.left - 0.5 && labels[i].right <= band.right + 0.5, `${labels[i].text} leaves its band`);
        for (let j = i + 1; j < labels.length; j++) assert.ok(!intersect(labels[i], labels[j]), `${labels[i].text} overlaps ${labels[j].text}`);
      }
      // The layer numbers above do not overlap either.
      const numbers = await view.page.locator('#l-axis text.tick-label').evaluateAll((els) =>
        els.map((e) => {
          const r = e.getBoundingClientRect();
          return { left: r.left, right: r.right, top: r.top, bottom: r.bottom };
        }),
      );
      for (let i = 1; i < numbers.length; i++) assert.ok(!intersect(numbers[i - 1], numbers[i]));

      // A click on features.7.conv's band: L spans its 8 layers, 49 to 56, and its bands are its modules.
      await view.page.locator('#l-blocks rect.l-band[data-path="features.7.conv"]').click();
      const zoomed = await axisSpan(view, 48, 55);
      assert.deepEqual(zoomed.ticks, [48, 49, 50, 51, 52, 53, 54, 55]);
      assert.deepEqual([zoomed.labels[0], zoomed.labels[zoomed.labels.length - 1]], ['49', '56']);
      assert.deepEqual(await view.page.locator('#l-blocks text.band-label').allTextContents(), ['features.7.conv.0', 'features.7.conv.1']);
      assert.match((await view.page.locator('#l-range').textContent()) ?? '', /^features\.7\.conv: 49–56 of 140$/);
      assert.match((await view.page.locator('#l-axis-title').textContent()) ?? '', /layers 49–56 of 140: features\.7\.conv/);
      assert.equal(((await view.savedState()) as { selection: { layerZoom?: string } }).selection.layerZoom, 'features.7.conv');

      // Dragging along the zoomed axis selects those layers; Query sends them.
      const from = await layerTickCentre(view, 49);
      const to = await layerTickCentre(view, 51);
      await view.page.mouse.move(from.x, from.y);
      await view.page.mouse.down();
      await view.page.mouse.move(to.x, to.y, { steps: 4 });
      await view.page.mouse.up();
      await expectPressed(view, ['features.7.conv.0.1', 'features.7.conv.0.2', 'features.7.conv.1.0']);
      assert.deepEqual(
        await view.page
          .locator('#cube g.layer-slab')
          .evaluateAll((gs) => gs.map((g) => [Number(g.getAttribute('data-from')), Number(g.getAttribute('data-to'))])),
        [[49, 51]],
      );
      await view.page.locator('#query-button').click();
      const [request] = await view.waitForRequest('query', 1);
      assert.deepEqual(request.params, {
        run: deep.dir,
        layer: 'features.7.conv.0.1',
        otherLayers: ['features.7.conv.0.2', 'features.7.conv.1.0'],
        epoch: 1,
        samples: { kind: 'all' },
      });
      // The keys stay inside the zoomed block: End is its last layer, Home its first.
      await view.page.locator('#cube').focus();
      await view.page.keyboard.press('End');
      await expectPressed(view, ['features.7.conv.3']);
      await view.page.keyboard.press('ArrowRight');
      await expectPressed(view, ['features.7.conv.3']);
      await view.page.keyboard.press('Home');
      await expectPressed(view, ['features.7.conv.0.0']);
      await axisSpan(view, 48, 55);

      // All layers: the axis spans the model again.
      await view.page.locator('#l-zoom-out').click();
      assert.equal((await axisSpan(view, 0, 139)).ticks.length, 140);
      assert.equal(await view.page.locator('#l-zoom-out').isDisabled(), true);
      assert.equal(((await view.savedState()) as { selection: { layerZoom?: string } }).selection.layerZoom, undefined);
    });

    it('keeps the zoom in the saved state, zooms from an open module’s Zoom L, and shows all layers when a layer outside is chosen', async () => {
      const saved = { version: PERSISTED_STATE_VERSION, runs: [deep.dir], selection: { run: deep.dir, layerZoom: 'features.12.conv' } };
      const view = await openQuery({ info: deep, savedState: saved });
      await axisSpan(view, 88, 95);
      // Zoom L on an open module.
      await chip(view, 'features.2.conv').click();
      await view.page.locator('#blocks button.group-zoom[data-path="features.2.conv"]').click();
      await axisSpan(view, 8, 15);
      // A layer of the zoomed block chosen in the tree keeps the zoom; one outside shows every layer.
      await view.push({ kind: 'linked', selection: { run: deep.dir, layer: 'features.2.conv.1.0' } });
      await expectPressed(view, ['features.2.conv.1.0']);
      await axisSpan(view, 8, 15);
      await view.push({ kind: 'linked', selection: { run: deep.dir, layer: 'features.16.conv.2' } });
      await expectPressed(view, ['features.16.conv.2']);
      await axisSpan(view, 0, 139);
      assert.equal(await view.page.locator(`#l-axis rect.l-tick.selected[data-index="${layerIndex('features.16.conv.2')}"]`).count(), 1);
    });

    it('switches to another run with the run picker, dropping a zoom into a module that run does not have', async () => {
      const view = await openQuery({ info: deep });
      await view.push({
        kind: 'runs',
        runs: [
          { dir: deep.dir, state: 'loaded', info: deep },
          { dir: fixture.info.dir, state: 'loaded', info: fixture.info },
        ],
      });
      await view.page.locator('#l-blocks rect.l-band[data-path="features.3.conv"]').click();
      await axisSpan(view, 16, 23);
      await view.page.locator('#run-select').selectOption(fixture.info.dir);
      await view.page.locator('#run-title', { hasText: `query ${HOSTILE_NAME}` }).waitFor();
      assert.deepEqual(
        await view.page.locator('#blocks button.block .block-name').allTextContents(),
        LAYERS.map((l) => l.name),
      );
      await axisSpan(view, 0, LAYERS.length - 1);
      const state = (await view.savedState()) as { selection: { run?: string; layerZoom?: string } };
      assert.equal(state.selection.run, fixture.info.dir);
      assert.equal(state.selection.layerZoom, undefined);
    });
  });
});

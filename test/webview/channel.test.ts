// The channel view (paper §5.4, Fig. 13–15) in a real browser: the built bundle under the host's
// CSP, its requests answered by the engine's own handlers on fixture runs, checked by what a user
// sees: one box per channel on one y scale, circles sized by the entropies, the zoom into a class,
// the deconvnet projections of a clicked channel (or the engine's reason there are none), the
// linked selection.
import * as assert from 'node:assert/strict';
import type { DeconvnetResult } from '../../src/shared/deconvnet';
import type { ChannelEntropiesResult, MeasureSeries } from '../../src/shared/measures';
import { parseChannelSelection, parseRequestParams } from '../../src/shared/messageValidation';
import type { RunInfo } from '../../src/shared/runFormat';
import type { ChannelSelection } from '../../src/shared/webviewProtocol';
// For its declaration of window.cnnslicerChannelView, which the page evaluations below read.
import type { ChannelViewModel } from '../../webview/channel/viewModel';
import { requireChromium, type ViewPage } from './harness';
import { FixtureViewSuite, HOSTILE_NAME, TINY_CLASSES, WIDE_CLASSES, type FixtureRuns, type OpenRunViewOptions } from './layerChannelFixture';

type ScreenCircle = ChannelViewModel['circles'][number];

describe('channel view (headless Chromium)', function () {
  this.timeout(90_000);
  let suite: FixtureViewSuite<ChannelSelection> | undefined;
  let runs: FixtureRuns;

  before(async function () {
    requireChromium(this);
    suite = await FixtureViewSuite.start<ChannelSelection>('channel', 'cnnslicer-channel-view-');
    runs = suite.runs;
  });

  after(async () => {
    await suite?.stop();
  });

  afterEach(async function () {
    await suite?.views.closeViews(this.currentTest?.state === 'passed');
  });

  async function openChannel(run: RunInfo, selection: ChannelSelection | undefined, options: OpenRunViewOptions = {}): Promise<ViewPage<ChannelSelection>> {
    assert.ok(suite);
    return suite.open(run, selection, options);
  }

  async function model(view: ViewPage<ChannelSelection>): Promise<ChannelViewModel> {
    return view.page.evaluate(() => window.cnnslicerChannelView!());
  }

  /** Waits for the packing of `epoch` of `layer` to be drawn and still. */
  async function drawn(view: ViewPage<ChannelSelection>, layer: string, epoch: number): Promise<ChannelViewModel> {
    await view.page.waitForFunction(
      ({ l, e }) => {
        const m = window.cnnslicerChannelView?.();
        return m !== undefined && m.layer === l && m.epoch === e && m.lines !== undefined && m.circles.length > 0 && !m.animating;
      },
      { l: layer, e: epoch },
    );
    return model(view);
  }

  function entropiesOf(run: RunInfo, layer: string): MeasureSeries<ChannelEntropiesResult> {
    const a = runs.engine.answersOf('channelEntropies').find((x) => x.params.run === run.dir && x.params.layer === layer && x.result !== undefined);
    assert.ok(a, `the engine was never asked for the entropies of ${layer}`);
    return a.result as MeasureSeries<ChannelEntropiesResult>;
  }

  async function clickAt(view: ViewPage<ChannelSelection>, canvasId: string, x: number, y: number): Promise<void> {
    const box = await view.page.locator(`#${canvasId}`).boundingBox();
    assert.ok(box);
    await view.page.mouse.click(box.x + x, box.y + y);
  }

  async function choose(view: ViewPage<ChannelSelection>, selectId: string, optionText: string): Promise<void> {
    await view.page.locator(`#${selectId}`).click();
    await view.page.locator(`#${selectId} li[role="option"]`, { hasText: optionText }).first().click();
  }

  /** A point inside a class circle but on none of its channel circles. */
  function pointInGroupOnly(group: ScreenCircle, channels: readonly ScreenCircle[]): { x: number; y: number } {
    for (const f of [0.96, 0.9, 0.8]) {
      for (let a = 0; a < 64; a++) {
        const x = group.sx + f * group.sr * Math.cos((a / 64) * 2 * Math.PI);
        const y = group.sy + f * group.sr * Math.sin((a / 64) * 2 * Math.PI);
        if (!channels.some((c) => (x - c.sx) ** 2 + (y - c.sy) ** 2 <= (c.sr + 2) ** 2)) return { x, y };
      }
    }
    assert.fail('no free point in the class circle');
  }

  it('draws one box per channel, every box on the one y scale of the largest entropy, the newest epoch marked', async () => {
    const view = await openChannel(runs.wide, { run: runs.wide.dir, layer: 'a' });
    const m = await drawn(view, 'a', 2);
    const series = entropiesOf(runs.wide, 'a');
    assert.deepEqual(view.requests('channelEntropies')[0].params, { run: runs.wide.dir, layer: 'a', epoch: 'all' });
    assert.deepEqual(m.lines?.epochs, [0, 1, 2]);
    assert.equal(m.lines?.channels, 12);
    assert.equal(m.lines?.classes, WIDE_CLASSES.length);
    let max = 0;
    for (const item of series.items) for (const v of [...item.perClass, ...item.all]) if (Number.isFinite(v)) max = Math.max(max, v);
    assert.equal(m.lines?.max, max);
    const g = m.boxes!;
    assert.ok(g.columns * Math.ceil(12 / g.columns) >= 12 && g.boxWidth >= 80, `boxes ${JSON.stringify(g)}`);
    await view.page.locator('#multiples-caption', { hasText: `12 channels, epochs 0–2; y from 0 to ${max.toPrecision(4)} bits in every box` }).waitFor();
    // A class line is drawn in the class's colour, inside its box: the legend's swatch colour is on the canvas.
    const found = await view.page.evaluate(() => {
      const swatch = document.querySelector<HTMLElement>('#class-legend .swatch')!;
      const [r, g2, b] = getComputedStyle(swatch).backgroundColor.match(/\d+/g)!.map(Number);
      const canvas = document.getElementById('multiples') as HTMLCanvasElement;
      const d = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) if (Math.abs(d[i] - r) < 8 && Math.abs(d[i + 1] - g2) < 8 && Math.abs(d[i + 2] - b) < 8) n++;
      return n;
    });
    assert.ok(found > 50, `${found} pixels in the first class's colour`);
    // The hover names the channel, the epoch and every class's entropy there.
    const box = await view.page.locator('#multiples').boundingBox();
    assert.ok(box);
    await view.page.mouse.move(box.x + g.boxWidth + g.gap + g.boxWidth - 6, box.y + g.boxHeight / 2);
    const tooltip = view.page.locator('#view-tooltip');
    await tooltip.waitFor({ state: 'visible' });
    const lines = (await tooltip.innerText()).split('\n');
    const last = series.items[2];
    assert.equal(lines[0], 'channel 1, epoch 2');
    assert.equal(lines[1], `all samples: ${last.all[1].toPrecision(4)} bits`);
    assert.equal(lines[2], `cat: ${last.perClass[0 * 12 + 1].toPrecision(4)} bits`);
  });

  it('sizes the channel circles by their entropies and the class circles by their totals', async () => {
    const view = await openChannel(runs.wide, { run: runs.wide.dir, layer: 'a' });
    const m = await drawn(view, 'a', 2);
    const item = entropiesOf(runs.wide, 'a').items[2];
    // One first-level circle per class, and one for all samples, 12 channels in each.
    assert.deepEqual(
      m.groups.map((g) => g.group),
      [0, 1, 2, 'all'],
    );
    assert.equal(m.circles.length, 4 * 12);
    const entropy = (c: ScreenCircle): number => (c.group === 'all' ? item.all[c.channel!] : item.perClass[(c.group as number) * 12 + c.channel!]);
    for (const c of m.circles) assert.ok(Math.abs(c.value - entropy(c)) < 1e-6, `circle of channel ${c.channel}, ${c.group}: ${c.value} vs ${entropy(c)}`);
    // Areas are proportional to entropies, across every class circle.
    const ref = m.circles.reduce((a, b) => (b.value > a.value ? b : a));
    for (const c of m.circles)
      assert.ok(
        Math.abs(c.sr ** 2 / ref.sr ** 2 - c.value / ref.value) < 1e-6,
        `channel ${c.channel} of ${c.group}: area ratio ${c.sr ** 2 / ref.sr ** 2}, entropy ratio ${c.value / ref.value}`,
      );
    // A class circle grows with its total: the fixture's classes are ever denser, so ever larger.
    const totals = m.groups.filter((g) => g.group !== 'all').map((g) => g.value);
    assert.ok(totals[0] < totals[1] && totals[1] < totals[2], `totals ${totals.join(', ')}`);
    const radii = m.groups.filter((g) => g.group !== 'all').map((g) => g.sr);
    assert.ok(radii[0] < radii[1] && radii[1] < radii[2], `radii ${radii.join(', ')}`);
    for (const g of m.groups) assert.ok(Math.abs(g.value - m.circles.filter((c) => c.group === g.group).reduce((a, c) => a + c.value, 0)) < 1e-4);

    // Hovering a channel circle names it and its entropy.
    const c = m.circles.find((x) => x.group === 1 && x.channel === 5)!;
    const box = await view.page.locator('#packing').boundingBox();
    assert.ok(box);
    await view.page.mouse.move(box.x + c.sx, box.y + c.sy);
    await view.page.locator('#view-tooltip', { hasText: `channel 5` }).waitFor();
    assert.equal(await view.page.locator('#view-tooltip').innerText(), `channel 5\ndog: ${c.value.toPrecision(4)} bits`);
  });

  it('zooms into a clicked class circle, animated, and back to every class', async () => {
    const view = await openChannel(runs.wide, { run: runs.wide.dir, layer: 'a' });
    const m = await drawn(view, 'a', 2);
    const dog = m.groups.find((g) => g.group === 1)!;
    const p = pointInGroupOnly(dog, m.circles);
    await clickAt(view, 'packing', p.x, p.y);
    await view.page.waitForFunction(() => window.cnnslicerChannelView?.().animating === true || window.cnnslicerChannelView?.().zoom === 1);
    const zoomed = await drawn(view, 'a', 2);
    assert.equal(zoomed.zoom, 1);
    const size = (await view.page.locator('#packing').boundingBox())!.width;
    const dogNow = zoomed.groups.find((g) => g.group === 1)!;
    assert.ok(Math.abs(dogNow.sr - (size / 2 - 4)) < 1, `the class circle fills the canvas (r = ${dogNow.sr}, canvas ${size})`);
    assert.ok(Math.abs(dogNow.sx - size / 2) < 1 && Math.abs(dogNow.sy - size / 2) < 1);
    await view.page.locator('#packing-title', { hasText: 'at epoch 2: dog' }).waitFor();
    assert.equal(((await view.savedState()) as { selection: ChannelSelection }).selection.zoom, 1);
    await view.page.locator('#zoom-out').click();
    await view.page.waitForFunction(() => window.cnnslicerChannelView?.().zoom === undefined && !window.cnnslicerChannelView?.().animating);
    const back = await model(view);
    assert.ok(Math.abs(back.groups.find((g) => g.group === 1)!.sr - dog.sr) < 0.5);
  });

  it('a click on a channel circle asks the engine for that channel’s deconvnet projections of the class’s probe images and shows them', async () => {
    const view = await openChannel(runs.tiny, { run: runs.tiny.dir, layer: 'pool1', epoch: 2 });
    const m = await drawn(view, 'pool1', 2);
    const target = m.circles.find((c) => c.group === 1 && c.channel === 2)!;
    await clickAt(view, 'packing', target.sx, target.sy);
    const [request] = await view.waitForRequest('deconvnet', 1);
    assert.deepEqual(request.params, { run: runs.tiny.dir, layer: 'pool1', channel: 2, epoch: 2, samples: { kind: 'class', classIndex: 1 } });
    await view.page.waitForFunction(() => document.querySelectorAll('#deconv-images canvas.projection-image').length === 8);
    const result = runs.engine.answersOf('deconvnet').find((x) => x.params.epoch === 2 && x.params.channel === 2)?.result as DeconvnetResult;
    assert.deepEqual(Array.from(result.sampleIndices), [8, 9, 10, 11, 12, 13, 14, 15], 'the samples of class "one"');
    // Every projection is the engine's image: mid-grey at 0, scaled by its own largest |value|.
    const images = await view.page.$$eval('#deconv-images canvas.projection-image', (canvases) =>
      (canvases as HTMLCanvasElement[]).map((c) => ({
        sample: Number(c.dataset.sample),
        greys: Array.from(
          c
            .getContext('2d')!
            .getImageData(0, 0, c.width, c.height)
            .data.filter((_, i) => i % 4 === 0),
        ),
      })),
    );
    for (let i = 0; i < 8; i++) {
      assert.equal(images[i].sample, result.sampleIndices[i]);
      const values = Array.from(result.images.subarray(i * 64, (i + 1) * 64));
      const maxAbs = Math.max(...values.map(Math.abs));
      assert.ok(maxAbs > 0, `projection ${i} is not all zero in the fixture`);
      assert.ok(new Set(images[i].greys).size > 1, `projection ${i} is not blank`);
      for (let p = 0; p < 64; p++) assert.ok(Math.abs(images[i].greys[p] - (127.5 + (127.5 * values[p]) / maxAbs)) <= 1, `projection ${i}, pixel ${p}`);
    }
    // Above each projection, the probe input it came from.
    const [inputs] = await view.waitForRequest('slice', 1);
    assert.deepEqual(inputs.params, {
      run: runs.tiny.dir,
      samples: { kind: 'indices', indices: [8, 9, 10, 11, 12, 13, 14, 15] },
      layer: 'input',
      channel: 'all',
      epoch: 0,
    });
    await view.page.waitForFunction(() => document.querySelectorAll('#deconv-images canvas.input-image').length === 8);
    await view.page.locator('#deconv-title', { hasText: 'pool1 channel 2, class one, epoch 2' }).waitFor();
    // The channel is highlighted here and published for the other views.
    assert.equal((await model(view)).channel, 2);
    assert.deepEqual(
      view.posted.filter((p) => p.type === 'select'),
      [{ type: 'select', selection: { run: runs.tiny.dir, layer: 'pool1', channel: 2, epoch: 2 } }],
    );
  });

  it('says, in the engine’s words, that an epoch without a checkpoint has no projection, and draws nothing', async () => {
    const view = await openChannel(runs.tiny, { run: runs.tiny.dir, layer: 'pool1' });
    const m = await drawn(view, 'pool1', 3);
    const target = m.circles.find((c) => c.group === 'all' && c.channel === 0)!;
    await clickAt(view, 'packing', target.sx, target.sy);
    const [request] = await view.waitForRequest('deconvnet', 1);
    assert.deepEqual(request.params, {
      run: runs.tiny.dir,
      layer: 'pool1',
      channel: 0,
      epoch: 3,
      samples: { kind: 'indices', indices: [0, 3, 6, 9, 12, 15, 18, 21] },
    });
    await view.page.locator('#deconv-message.error', { hasText: 'epoch 3 has no checkpoint' }).waitFor();
    const refusal = runs.engine.answersOf('deconvnet').find((x) => x.params.run === runs.tiny.dir && x.params.epoch === 3);
    assert.equal(await view.page.locator('#deconv-message').textContent(), `No projection: ${refusal?.error?.message}`);
    assert.equal(await view.page.locator('#deconv-images canvas').count(), 0);
    // Back to an epoch with a checkpoint: the projections come.
    await view.page.locator('#epoch-slider').fill('1');
    await view.waitForRequest('deconvnet', 2);
    await view.page.waitForFunction(() => document.querySelectorAll('#deconv-images canvas.projection-image').length === 8);
    assert.equal(await view.page.locator('#deconv-message').textContent(), '');
  });

  it('a deconvnet projection in progress can be cancelled and computed again', async () => {
    const engine = runs.engine.requestHandler([runs.tiny]);
    let hold = true;
    let release: () => void = () => undefined;
    const view = await openChannel(
      runs.tiny,
      { run: runs.tiny.dir, layer: 'pool1', epoch: 1 },
      {
        onRequest: async (method, params) => {
          if (method === 'deconvnet' && hold) await new Promise<void>((resolve) => (release = resolve));
          return engine(method, params);
        },
      },
    );
    const m = await drawn(view, 'pool1', 1);
    const target = m.circles.find((c) => c.group === 'all' && c.channel === 0)!;
    await clickAt(view, 'packing', target.sx, target.sy);
    await view.waitForRequest('deconvnet', 1);
    await view.page.locator('#deconv-message-cancel').waitFor({ state: 'visible' });
    await view.page.locator('#deconv-message-cancel').click();
    await view.page.locator('#deconv-message', { hasText: 'Projecting channel 0 of pool1: cancelled.' }).waitFor();
    assert.ok(view.posted.some((p) => p.type === 'cancel'));
    hold = false;
    release();
    await view.page.locator('#deconv-message-retry').click();
    await view.waitForRequest('deconvnet', 2);
    await view.page.waitForFunction(() => document.querySelectorAll('#deconv-images canvas.projection-image').length === 8);
    assert.equal(await view.page.locator('#deconv-message').textContent(), '');
  });

  it('a box click in the small multiples selects the channel; a channel chosen anywhere is outlined in its box and circles', async () => {
    const view = await openChannel(runs.wide, { run: runs.wide.dir, layer: 'a' }, { theme: 'light' });
    const m = await drawn(view, 'a', 2);
    const g = m.boxes!;
    // The fourth box.
    const col = 3 % g.columns;
    const row = Math.floor(3 / g.columns);
    await clickAt(view, 'multiples', col * (g.boxWidth + g.gap) + g.boxWidth / 2, row * (g.boxHeight + g.gap) + g.boxHeight / 2);
    await view.page.waitForFunction(() => window.cnnslicerChannelView?.().channel === 3);
    assert.deepEqual(view.posted.filter((p) => p.type === 'select').at(-1), {
      type: 'select',
      selection: { run: runs.wide.dir, layer: 'a', channel: 3, epoch: 2 },
    });

    await view.push({ kind: 'linked', selection: { run: runs.wide.dir, layer: 'a', channel: 7 } });
    await view.page.waitForFunction(() => window.cnnslicerChannelView?.().channel === 7);
    const focus = { r: 0x00, g: 0x5f, b: 0xb8 };
    const pixelAt = (canvasId: string, x: number, y: number): Promise<number[]> =>
      view.page.evaluate(
        ({ id, px, py }) => {
          const canvas = document.getElementById(id) as HTMLCanvasElement;
          const scale = canvas.width / canvas.getBoundingClientRect().width;
          return Array.from(
            canvas
              .getContext('2d')!
              .getImageData(Math.round(px * scale), Math.round(py * scale), 1, 1)
              .data.slice(0, 3),
          );
        },
        { id: canvasId, px: x, py: y },
      );
    await view.page.waitForTimeout(100);
    const bx = (7 % g.columns) * (g.boxWidth + g.gap);
    const by = Math.floor(7 / g.columns) * (g.boxHeight + g.gap);
    assert.deepEqual(await pixelAt('multiples', bx + 1, by + g.boxHeight / 2), [focus.r, focus.g, focus.b], 'the box of channel 7 has the focus outline');
    const other = (6 % g.columns) * (g.boxWidth + g.gap);
    assert.notDeepEqual(await pixelAt('multiples', other + 1, Math.floor(6 / g.columns) * (g.boxHeight + g.gap) + g.boxHeight / 2), [
      focus.r,
      focus.g,
      focus.b,
    ]);
    // Each circle of channel 7 has the focus colour on its rim.
    const now = await model(view);
    for (const c of now.circles.filter((x) => x.channel === 7 && x.sr > 4)) {
      const [r, gg, b] = await pixelAt('packing', c.sx + c.sr, c.sy);
      assert.ok(Math.abs(r - focus.r) + Math.abs(gg - focus.g) + Math.abs(b - focus.b) < 90, `rim of channel 7 in ${c.group}: ${r},${gg},${b}`);
    }
    assert.equal(view.posted.filter((p) => p.type === 'select').length, 1, 'following a selection publishes nothing back');
  });

  it('follows a layer chosen elsewhere (the tree, the query or the layer view), and publishes a layer chosen here', async () => {
    const view = await openChannel(runs.tiny, { run: runs.tiny.dir, layer: 'pool1', channel: 1 });
    await drawn(view, 'pool1', 3);
    await view.push({ kind: 'linked', selection: { run: runs.tiny.dir, layer: 'conv1', otherLayers: ['pool1'], epoch: 1 } });
    const m = await drawn(view, 'conv1', 1);
    assert.equal(m.channel, undefined, 'a channel of the previous layer is not carried over');
    assert.deepEqual(view.requests('channelEntropies').at(-1)?.params, { run: runs.tiny.dir, layer: 'conv1', epoch: 'all' });
    // input and logits have no channels to show here: the layer stays.
    await view.push({ kind: 'linked', selection: { run: runs.tiny.dir, layer: 'input' } });
    await view.page.waitForTimeout(100);
    assert.equal((await model(view)).layer, 'conv1');
    await choose(view, 'layer-select', 'relu1');
    await drawn(view, 'relu1', 1);
    assert.deepEqual(view.posted.filter((p) => p.type === 'select').at(-1), { type: 'select', selection: { run: runs.tiny.dir, layer: 'relu1', epoch: 1 } });
  });

  it('shows run and class names containing markup as text', async () => {
    const view = await openChannel(runs.tiny, { run: runs.tiny.dir, layer: 'pool1' });
    await drawn(view, 'pool1', 3);
    assert.equal(await view.page.locator('#run-title').textContent(), `tiny ${HOSTILE_NAME}`);
    assert.deepEqual(await view.page.locator('#class-legend .legend-item').allTextContents(), [...TINY_CLASSES, 'all samples']);
    await view.page.locator('#packing-caption', { hasText: `${HOSTILE_NAME} ` }).waitFor();
    assert.equal(await view.page.evaluate(() => document.querySelectorAll('img').length), 0, 'no <img> element was created from a name');
    assert.equal(await view.page.evaluate(() => (window as unknown as { __xss?: unknown }).__xss), undefined);
  });

  it('saves what it shows, and a reloaded view starts where the user left it, zoomed in', async () => {
    const first = await openChannel(runs.tiny, { run: runs.tiny.dir, layer: 'pool1', epoch: 1 });
    const m = await drawn(first, 'pool1', 1);
    const zero = m.groups.find((g) => g.group === 0)!;
    const p = pointInGroupOnly(zero, m.circles);
    await clickAt(first, 'packing', p.x, p.y);
    await first.page.waitForFunction(() => window.cnnslicerChannelView?.().zoom === 0);
    const saved = await first.savedState();
    assert.deepEqual(saved, { version: 1, runs: [runs.tiny.dir], selection: { run: runs.tiny.dir, layer: 'pool1', epoch: 1, zoom: 0 } });
    const reloaded = await openChannel(runs.tiny, undefined, { savedState: saved });
    const again = await drawn(reloaded, 'pool1', 1);
    assert.equal(again.zoom, 0);
  });

  it('posts only messages the host’s validation accepts', async () => {
    const view = await openChannel(runs.tiny, { run: runs.tiny.dir, layer: 'pool1', epoch: 1 });
    const m = await drawn(view, 'pool1', 1);
    const c = m.circles.find((x) => x.group === 2)!;
    await clickAt(view, 'packing', c.sx, c.sy);
    await view.waitForRequest('deconvnet', 1);
    await choose(view, 'project-class', 'all samples');
    await view.waitForRequest('deconvnet', 2);
    assert.ok(view.posted.length >= 5);
    view.assertPostedValid();
  });
});

describe('channel view selection and deconvnet request validation', () => {
  it('keeps the channel view’s fields, drops unknown ones and refuses wrong ones', () => {
    assert.deepEqual(parseChannelSelection({ run: '/r', layer: 'conv2', epoch: 4, channel: 7, zoom: 'all', projectClass: 3, other: 1 }), {
      ok: true,
      value: { run: '/r', layer: 'conv2', epoch: 4, channel: 7, zoom: 'all', projectClass: 3 },
    });
    for (const [value, reason] of [
      [{ zoom: 'some' }, /"zoom" must be a class index or "all"/],
      [{ channel: -2 }, /"channel" must be an integer/],
      [{ projectClass: 1.5 }, /"projectClass" must be a class index or "all"/],
      [null, /must be an object/],
    ] as [unknown, RegExp][]) {
      const r = parseChannelSelection(value);
      assert.ok(!r.ok, `accepted ${JSON.stringify(value)}`);
      assert.match(r.reason, reason);
    }
  });

  it('lets a view ask for deconvnet projections with exactly the engine’s parameters', () => {
    const params = { run: '/r', layer: 'pool1', channel: 2, epoch: 1, samples: { kind: 'class', classIndex: 0 } };
    assert.deepEqual(parseRequestParams('deconvnet', { ...params, extra: 1 }), { ok: true, value: params });
    assert.ok(!parseRequestParams('deconvnet', { ...params, channel: 'all' }).ok, 'one channel at a time');
    assert.ok(!parseRequestParams('deconvnet', { ...params, epoch: 'all' }).ok, 'one epoch, the one whose checkpoint is used');
    assert.ok(!parseRequestParams('deconvnet', { ...params, samples: undefined }).ok);
  });
});

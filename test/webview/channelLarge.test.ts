// The channel view at MobileNetV2's size (issue 15, item 3), in a real browser: a synthetic run of
// 140 layers whose widest has 1,280 channels (test/webview/largeChannelFixture.ts). The small
// multiples are virtualised (a bounded number of boxes drawn, on canvases within Chromium's
// limits), sortable and filterable, with an overview strip; the packing holds at most N + 1
// circles per class, all inside the canvas, and the canvas inside its card. Every expected order
// is computed here from the synthetic entropies, independently of the view's code.
import * as assert from 'node:assert/strict';
import type { ChannelEntropiesResult } from '../../src/shared/measures';
import type { ChannelSelection } from '../../src/shared/webviewProtocol';
import { parseChannelRanges } from '../../webview/channel/channelOrder';
import { packingGroups, packTopFor } from '../../webview/channel/entropyModel';
// For its declaration of window.cnnslicerChannelView, which the page evaluations below read.
import type { ChannelViewModel } from '../../webview/channel/viewModel';
import { parseChannelViewSelection } from '../../webview/channel/viewSelection';
import { contentHeight, rowsInView, rowsToDraw, scrollTopShowing } from '../../webview/shared/virtualGrid';
import { requireChromium, ViewSuite, type ViewPage } from './harness';
import { panelRuns } from './layerChannelFixture';
import { CONV16, isSyntheticDead, LARGE_CLASSES, LARGE_EPOCHS, largeRun, LargeRunHost, WIDE512, WIDEST } from './largeChannelFixture';
import type { TestTheme } from './themes';

type ScreenCircle = ChannelViewModel['circles'][number];

const CHANNELS = 1280;
const NEWEST = LARGE_EPOCHS - 1;
/** Chromium's canvas limit on either side is far above this; the issue asks for no canvas beyond it. */
const CANVAS_LIMIT_PX = 8192;
/** Rows the boxes' canvas may hold beyond the viewport's height: a part row at each edge and two rows of overscan on each side. */
const SPARE_ROWS = 6;

describe('channel view at 1,280 channels (headless Chromium, synthetic 140-layer run)', function () {
  this.timeout(120_000);
  let suite: ViewSuite<ChannelSelection> | undefined;
  const info = largeRun('/synthetic/mobilenet-v2');
  let host: LargeRunHost;

  before(async function () {
    requireChromium(this);
    suite = await ViewSuite.start<ChannelSelection>('channel');
  });

  after(async () => {
    await suite?.stop();
  });

  afterEach(async function () {
    await suite?.closeViews(this.currentTest?.state === 'passed');
  });

  interface OpenOptions {
    readonly viewport?: { width: number; height: number };
    readonly savedState?: unknown;
    readonly theme?: TestTheme;
  }

  async function open(selection: ChannelSelection | undefined, options: OpenOptions = {}): Promise<ViewPage<ChannelSelection>> {
    assert.ok(suite);
    host = new LargeRunHost(info);
    const view = await suite.openView({ onRequest: host.onRequest, viewport: options.viewport, savedState: options.savedState, theme: options.theme });
    await view.waitForReady();
    await view.push({ kind: 'runs', runs: panelRuns([info]) });
    if (selection !== undefined) await view.push({ kind: 'selection', selection });
    return view;
  }

  async function model(view: ViewPage<ChannelSelection>): Promise<ChannelViewModel> {
    return view.page.evaluate(() => window.cnnslicerChannelView!());
  }

  /**
   * Waits for `layer` at the newest epoch to be drawn, and still. The layer is chosen a frame
   * before it is drawn (and (A) and (B) are drawn in the same frame), so the lines' channel count
   * must be the layer's too.
   */
  async function drawn(view: ViewPage<ChannelSelection>, layer: string): Promise<ChannelViewModel> {
    const channels = info.manifest.layers.find((l) => l.name === layer)!.shape[0];
    await view.page.waitForFunction(
      ({ l, e, n }) => {
        const m = window.cnnslicerChannelView?.();
        return m !== undefined && m.layer === l && m.epoch === e && m.lines?.channels === n && m.order !== undefined && m.circles.length > 0 && !m.animating;
      },
      { l: layer, e: NEWEST, n: channels },
    );
    return model(view);
  }

  async function choose(view: ViewPage<ChannelSelection>, selectId: string, optionText: string): Promise<void> {
    await view.page.locator(`#${selectId}`).click();
    await view.page.locator(`#${selectId} li[role="option"]`, { hasText: optionText }).first().click();
  }

  function newest(layer: string): ChannelEntropiesResult {
    return host.entropiesOf(layer).items[NEWEST];
  }

  /** Channels by a key, largest first, ties in channel order; `undefined` keys last. */
  function byKey(channels: readonly number[], key: (c: number) => number): number[] {
    return [...channels].sort((a, b) => key(b) - key(a) || a - b);
  }

  const every = Array.from({ length: CHANNELS }, (_, c) => c);

  async function canvases(view: ViewPage<ChannelSelection>): Promise<{ id: string; width: number; height: number; cssWidth: number; cssHeight: number }[]> {
    return view.page.$$eval('canvas', (cs) =>
      (cs as HTMLCanvasElement[]).map((c) => {
        const r = c.getBoundingClientRect();
        return { id: c.id, width: c.width, height: c.height, cssWidth: r.width, cssHeight: r.height };
      }),
    );
  }

  /** The tooltip's first line over the box at position `index` of the order (which must be drawn). */
  async function boxTitle(view: ViewPage<ChannelSelection>, index: number): Promise<string> {
    const g = (await model(view)).boxes!;
    const content = await view.page.locator('.multiples-content').boundingBox();
    assert.ok(content);
    // Near the box's right edge: the tooltip names the epoch nearest the pointer, the newest there.
    const x = content.x + (index % g.columns) * (g.boxWidth + g.gap) + g.boxWidth - 6;
    const y = content.y + Math.floor(index / g.columns) * (g.boxHeight + g.gap) + g.boxHeight / 2;
    await view.page.mouse.move(x, y);
    const tooltip = view.page.locator('#view-tooltip');
    await tooltip.waitFor({ state: 'visible' });
    return (await tooltip.innerText()).split('\n')[0];
  }

  it('draws only the rows in and around view on one viewport-sized canvas; scrolling draws other channels', async () => {
    const view = await open({ run: info.dir, layer: WIDEST });
    const m = await drawn(view, WIDEST);
    assert.equal(info.manifest.layers.length, 140);
    assert.deepEqual(view.requests('channelEntropies').at(-1)?.params, { run: info.dir, layer: WIDEST, epoch: 'all' });
    assert.equal(m.lines?.channels, CHANNELS);
    assert.deepEqual(m.order, every, 'by channel number at first');
    const g = m.boxes!;
    const pitch = g.boxHeight + g.gap;
    assert.equal(g.rows, Math.ceil(CHANNELS / g.columns));
    // The scroll container's content is as tall as every row; the canvas only as tall as the rows drawn.
    const scroller = await view.page.locator('#multiples-scroll').evaluate((el) => ({ height: el.clientHeight, content: el.scrollHeight }));
    assert.equal(scroller.content, g.rows * pitch - g.gap);
    const bound = g.columns * (Math.ceil(scroller.height / pitch) + SPARE_ROWS);
    assert.ok(g.drawnEnd - g.drawnFirst <= bound && g.drawnEnd - g.drawnFirst < CHANNELS / 4, `drew ${g.drawnEnd - g.drawnFirst} boxes`);
    assert.equal(await view.page.locator('#multiples-box canvas').count(), 1, 'one canvas for the boxes');
    for (const c of await canvases(view)) {
      assert.ok(c.width <= CANVAS_LIMIT_PX && c.height <= CANVAS_LIMIT_PX, `canvas #${c.id} is ${c.width}×${c.height}`);
      assert.ok(c.cssHeight <= scroller.height + SPARE_ROWS * pitch || c.id !== 'multiples', `the boxes' canvas is ${c.cssHeight} px tall`);
    }
    assert.equal(await boxTitle(view, 1), `channel 1, epoch ${NEWEST}`);

    // Scrolled to the middle: the rows there are drawn, the canvas moved there, the first rows no longer drawn.
    const middle = Math.floor(g.rows / 2) * pitch;
    await view.page.locator('#multiples-scroll').evaluate((el, top) => (el.scrollTop = top), middle);
    await view.page.waitForFunction((first) => (window.cnnslicerChannelView?.().boxes?.visibleFirst ?? 0) === first, Math.floor(g.rows / 2) * g.columns);
    const scrolled = (await model(view)).boxes!;
    assert.ok(scrolled.drawnFirst > 0 && scrolled.drawnFirst <= scrolled.visibleFirst && scrolled.drawnEnd >= scrolled.visibleEnd);
    assert.equal(scrolled.canvasTop, (scrolled.drawnFirst / g.columns) * pitch);
    const canvasTop = await view.page.locator('#multiples').evaluate((el) => (el as HTMLCanvasElement).offsetTop);
    assert.equal(canvasTop, scrolled.canvasTop);
    const index = scrolled.visibleFirst + 2;
    assert.equal(await boxTitle(view, index), `channel ${index}, epoch ${NEWEST}`);
    // The box is drawn there: its label's pixels are on the canvas, not blank.
    const ink = await view.page.evaluate(
      ({ i, gg }) => {
        const canvas = document.getElementById('multiples') as HTMLCanvasElement;
        const scale = canvas.width / canvas.getBoundingClientRect().width;
        const x = (i % gg.columns) * (gg.boxWidth + gg.gap);
        const y = Math.floor(i / gg.columns) * (gg.boxHeight + gg.gap) - gg.canvasTop;
        const d = canvas
          .getContext('2d')!
          .getImageData(Math.round(x * scale), Math.round(y * scale), Math.round(gg.boxWidth * scale), Math.round(gg.boxHeight * scale)).data;
        let n = 0;
        for (let p = 3; p < d.length; p += 4) if (d[p] > 0) n++;
        return n;
      },
      { i: index, gg: scrolled },
    );
    assert.ok(ink > 100, `${ink} drawn pixels in the box of channel ${index}`);

    // A narrower, shorter panel lays the boxes out again: fewer columns, more rows, a canvas no taller than before.
    await view.page.setViewportSize({ width: 560, height: 640 });
    await view.page.waitForFunction((c) => (window.cnnslicerChannelView?.().boxes?.columns ?? c) < c, g.columns);
    const narrow = (await model(view)).boxes!;
    assert.equal(narrow.rows, Math.ceil(CHANNELS / narrow.columns));
    const after = await view.page.locator('#multiples-scroll').evaluate((el) => ({ height: el.clientHeight, content: el.scrollHeight }));
    assert.equal(after.content, narrow.rows * (narrow.boxHeight + narrow.gap) - narrow.gap);
    const canvas = (await canvases(view)).find((c) => c.id === 'multiples')!;
    assert.ok(canvas.cssHeight <= after.height + SPARE_ROWS * (narrow.boxHeight + narrow.gap), `${canvas.cssHeight} px for a ${after.height} px viewport`);
  });

  it('sorts the boxes by entropy, change over training, spread across classes, and dead channels first', async () => {
    const view = await open({ run: info.dir, layer: WIDEST });
    await drawn(view, WIDEST);
    const series = host.entropiesOf(WIDEST);
    const at = newest(WIDEST);
    const first = series.items[0];
    const classes = LARGE_CLASSES.length;
    const spread = (c: number): number => {
      const v = Array.from({ length: classes }, (_, k) => at.perClass[k * CHANNELS + c]);
      return Math.max(...v) - Math.min(...v);
    };
    const dead = every.filter((c) => at.all[c] === 0);
    assert.deepEqual(dead, every.filter(isSyntheticDead), 'the fixture’s dead channels');
    const expected: [string, string, number[]][] = [
      ['entropy', 'entropy at the epoch', byKey(every, (c) => at.all[c])],
      ['change', 'change over training', byKey(every, (c) => Math.abs(at.all[c] - first.all[c]))],
      ['spread', 'spread across classes', byKey(every, spread)],
      ['dead', 'dead channels first', [...dead, ...every.filter((c) => !dead.includes(c))]],
      ['channel', 'channel number', every],
    ];
    for (const [key, label, order] of expected) {
      await view.page.locator('#multiples-scroll').evaluate((el) => (el.scrollTop = 200));
      await choose(view, 'sort-select', label);
      await view.page.waitForFunction((k) => window.cnnslicerChannelView?.().sort === k, key);
      const m = await model(view);
      assert.deepEqual(m.order?.slice(0, 40), order.slice(0, 40), `the first boxes by ${key}`);
      assert.deepEqual(m.order, order, `every box by ${key}`);
      // A new order starts at its top, and the first box drawn is the first channel of the order.
      assert.equal(m.boxes?.visibleFirst, 0);
      assert.equal(await boxTitle(view, 0), `channel ${order[0]}, epoch ${NEWEST}`);
    }
  });

  it('filters by channel numbers and ranges and by dead or live, and says how many of the layer’s channels are shown', async () => {
    const view = await open({ run: info.dir, layer: WIDEST });
    await drawn(view, WIDEST);
    const filter = view.page.locator('#channel-filter');
    await filter.fill('12, 40-63,1279');
    await view.page.waitForFunction(() => window.cnnslicerChannelView?.().order?.length === 26);
    const expected = [12, ...Array.from({ length: 24 }, (_, i) => 40 + i), 1279];
    assert.deepEqual((await model(view)).order, expected);
    assert.equal(await view.page.locator('#shown-count').textContent(), '26 of 1,280 channels');
    // Sorting sorts what the filter keeps.
    await choose(view, 'sort-select', 'entropy at the epoch');
    await view.page.waitForFunction(() => window.cnnslicerChannelView?.().sort === 'entropy');
    const at = newest(WIDEST);
    assert.deepEqual(
      (await model(view)).order,
      byKey(expected, (c) => at.all[c]),
    );
    await choose(view, 'sort-select', 'channel number');

    // Text that is not a list of channels filters nothing, and says why.
    await filter.fill('12, x');
    await view.page.locator('#filter-message.error', { hasText: '“x” is not a channel number' }).waitFor();
    assert.equal((await model(view)).order?.length, CHANNELS);
    await filter.fill('');
    const dead = every.filter(isSyntheticDead);
    await choose(view, 'dead-select', 'dead only');
    await view.page.waitForFunction((n) => window.cnnslicerChannelView?.().order?.length === n, dead.length);
    assert.deepEqual((await model(view)).order, dead);
    assert.equal(await view.page.locator('#shown-count').textContent(), `${dead.length} of 1,280 channels`);
    await choose(view, 'dead-select', 'hide dead');
    await view.page.waitForFunction((n) => window.cnnslicerChannelView?.().order?.length === n, CHANNELS - dead.length);
    assert.deepEqual(
      (await model(view)).order,
      every.filter((c) => !isSyntheticDead(c)),
    );
    // The dead filter's words say what dead means.
    assert.match((await view.page.locator('#dead-select').getAttribute('title')) ?? '', /entropy over all samples is 0 bits at the chosen epoch/);
  });

  it('shows every channel in the overview strip, outlines the boxes in view, and scrolls to where it is clicked', async () => {
    const view = await open({ run: info.dir, layer: WIDEST });
    const m = await drawn(view, WIDEST);
    const o = m.overview!;
    // At least a pixel column per channel: 1,280 channels wrap onto as many lines as the strip's width needs.
    assert.equal(o.lines, Math.ceil(CHANNELS / o.width));
    assert.ok(o.perLine <= o.width && o.perLine * o.lines >= CHANNELS, JSON.stringify(o));
    const strip = await view.page.locator('#channel-overview').boundingBox();
    assert.ok(strip && Math.abs(strip.width - o.width) < 1);
    const g = m.boxes!;
    const markOf = (first: number, end: number): { x: number; width: number } => {
      const step = o.width / o.perLine;
      const x = Math.floor((first % o.perLine) * step);
      return {
        x,
        width:
          Math.max(x + 2, Math.floor((Math.min(end, (Math.floor(first / o.perLine) + 1) * o.perLine) - Math.floor(first / o.perLine) * o.perLine) * step)) - x,
      };
    };
    assert.deepEqual({ x: o.marks[0].x, width: o.marks[0].width }, markOf(g.visibleFirst, g.visibleEnd));
    const pixel = async (x: number, y: number): Promise<number[]> =>
      view.page.evaluate(
        ({ px, py }) => {
          const canvas = document.getElementById('channel-overview') as HTMLCanvasElement;
          const scale = canvas.width / canvas.getBoundingClientRect().width;
          return Array.from(
            canvas
              .getContext('2d')!
              .getImageData(Math.floor(px * scale), Math.floor(py * scale), 1, 1)
              .data.slice(0, 3),
          );
        },
        { px: x, py: y },
      );
    // The outline is drawn in the theme's foreground (#3b3b3b in the light theme).
    assert.deepEqual(await pixel(o.marks[0].x + 1, o.marks[0].y + 6), [0x3b, 0x3b, 0x3b]);

    // A click three quarters along the last line scrolls the boxes there, and the outline follows.
    const target = (o.lines - 1) * o.perLine + Math.floor(0.75 * (CHANNELS - (o.lines - 1) * o.perLine));
    const cx = ((target % o.perLine) + 0.5) * (o.width / o.perLine);
    const cy = (o.lines - 1) * 15 + 6;
    await view.page.mouse.click(strip!.x + cx, strip!.y + cy);
    await view.page.waitForFunction((t) => {
      const b = window.cnnslicerChannelView?.().boxes;
      return b !== undefined && b.visibleFirst <= t && t < b.visibleEnd;
    }, target);
    const after = await model(view);
    const mark = after.overview!.marks.find((r) => r.y === (o.lines - 1) * 15);
    assert.ok(mark && mark.x <= cx && cx <= mark.x + mark.width, `the outline ${JSON.stringify(after.overview!.marks)} covers x = ${cx}`);
    assert.equal(await boxTitle(view, target), `channel ${target}, epoch ${NEWEST}`);

    // A theme change redraws the strip in the new theme's colours (#cccccc: the dark theme's foreground).
    await view.setTheme('dark');
    await view.page.waitForFunction(() => document.body.classList.contains('vscode-dark'));
    await view.page.waitForTimeout(100);
    assert.deepEqual(await pixel(mark.x + 1, mark.y + 6), [0xcc, 0xcc, 0xcc]);
  });

  it('packs the top 12 channels of each class and one circle for the rest, every circle inside the canvas and the canvas inside its card', async () => {
    const view = await open({ run: info.dir, layer: WIDEST });
    const m = await drawn(view, WIDEST);
    const at = newest(WIDEST);
    assert.equal(m.packTop, 12);
    assert.equal(m.groups.length, LARGE_CLASSES.length + 1);
    for (const g of m.groups) {
      const mine = m.circles.filter((c) => c.group === g.group);
      const values = (c: number): number => (g.group === 'all' ? at.all[c] : at.perClass[(g.group as number) * CHANNELS + c]);
      const top = byKey(every, values).slice(0, 12);
      const channels = mine.filter((c) => c.kind === 'channel');
      const rest = mine.filter((c) => c.kind === 'rest');
      assert.ok(mine.length <= 13, `${mine.length} circles in ${g.group}`);
      assert.deepEqual(
        channels.map((c) => c.channel),
        [...top].sort((a, b) => a - b),
        `the 12 highest channels of ${g.group}`,
      );
      assert.equal(rest.length, 1);
      assert.equal(rest[0].count, CHANNELS - 12);
      const restSum = every.filter((c) => !top.includes(c)).reduce((s, c) => s + Math.max(0, values(c)), 0);
      assert.ok(Math.abs(rest[0].value - restSum) < 1e-3 * restSum, `rest of ${g.group}: ${rest[0].value} vs ${restSum}`);
      // Within the class, areas are proportional to entropy, the rest circle's to the rest's mean.
      const ref = channels[0];
      const restMean = rest[0].value / (rest[0].count ?? 1);
      assert.ok(Math.abs(rest[0].sr ** 2 / ref.sr ** 2 - restMean / ref.value) < 1e-3 * (restMean / ref.value));
      for (const c of channels) assert.ok(Math.abs(c.sr ** 2 / ref.sr ** 2 - c.value / ref.value) < 1e-3 * (c.value / ref.value));
      // Legible: a top channel is not a speck beside the rest circle.
      assert.ok(Math.min(...channels.map((c) => c.sr)) > g.sr / 12, `top channels of radius ${Math.min(...channels.map((c) => c.sr))} in a class of ${g.sr}`);
    }
    // Across classes, the class circles' areas are their total entropies.
    const g0 = m.groups[0];
    for (const g of m.groups) assert.ok(Math.abs(g.sr ** 2 / g0.sr ** 2 - g.value / g0.value) < 1e-3 * (g.value / g0.value), `class ${g.group}`);
    await assertInside(view, await model(view));
    // Labels only where they fit: a 4-digit channel number is not written in a circle a few pixels wide.
    for (const c of m.circles.filter((x) => x.labelled)) assert.ok(c.sr >= 8, `label in a circle of radius ${c.sr}`);
    await view.page.locator('#packing-caption', { hasText: '12 highest-entropy channels of 1280' }).waitFor();

    // Every channel on request: 11 × 1,280 circles, still inside.
    await choose(view, 'pack-top', 'all channels');
    await view.page.waitForFunction(() => window.cnnslicerChannelView?.().circles.length === 11 * 1280);
    const all = await model(view);
    assert.equal(all.packTop, undefined);
    await assertInside(view, all);
  });

  it('zoomed into a class, draws that class alone, inside the canvas, and outlines the selected channel or the rest circle holding it', async () => {
    const view = await open({ run: info.dir, layer: WIDEST });
    const m = await drawn(view, WIDEST);
    // A channel in the top 12 of some classes but not of class 3.
    const tops = m.groups.map((g) => ({
      group: g.group,
      channels: m.circles.filter((c) => c.group === g.group && c.kind === 'channel').map((c) => c.channel!),
    }));
    const chosen = tops.flatMap((t) => t.channels).find((c) => !tops.find((t) => t.group === 3)!.channels.includes(c));
    assert.ok(chosen !== undefined);
    await view.push({ kind: 'linked', selection: { run: info.dir, layer: WIDEST, channel: chosen } });
    await view.page.waitForFunction((c) => window.cnnslicerChannelView?.().channel === c, chosen);
    const three = m.groups.find((g) => g.group === 3)!;
    const box = await view.page.locator('#packing').boundingBox();
    assert.ok(box);
    // A click on the class's rest circle zooms into the class.
    const rest = m.circles.find((c) => c.group === 3 && c.kind === 'rest')!;
    await view.page.mouse.click(box.x + rest.sx, box.y + rest.sy);
    await view.page.waitForFunction(() => window.cnnslicerChannelView?.().zoom === 3);
    const z = await drawn(view, WIDEST);
    const shown = [...z.groups, ...z.circles].filter((c) => c.shown);
    assert.deepEqual([...new Set(shown.map((c) => c.group))], [3], 'only the zoomed class is drawn');
    assert.ok(Math.abs(z.groups.find((g) => g.group === 3)!.sr - (z.packingSize / 2 - 4)) < 1, 'the class fills the canvas');
    await assertInside(view, z);
    assert.ok(three.sr < z.groups.find((g) => g.group === 3)!.sr);
    assert.ok(
      z.circles.some((c) => c.group === 3 && c.kind === 'rest' && c.labelled),
      'zoomed in, the rest circle is labelled with its count',
    );
    const labelled = z.circles.filter((c) => c.group === 3 && c.kind === 'channel' && c.labelled).length;
    assert.ok(labelled >= 10, `zoomed in, ${labelled} of the 12 top channels carry their number`);
    // The selected channel is not one of class 3's circles: the rest circle holding it has the focus outline.
    const focus = [0x00, 0x5f, 0xb8];
    const restNow = z.circles.find((c) => c.group === 3 && c.kind === 'rest')!;
    const rim = await view.page.evaluate(
      ({ c }) => {
        const canvas = document.getElementById('packing') as HTMLCanvasElement;
        const scale = canvas.width / canvas.getBoundingClientRect().width;
        const ctx = canvas.getContext('2d')!;
        const out: number[][] = [];
        for (let a = 0; a < 360; a += 3) {
          const x = c.sx + c.sr * Math.cos((a * Math.PI) / 180);
          const y = c.sy + c.sr * Math.sin((a * Math.PI) / 180);
          out.push(Array.from(ctx.getImageData(Math.round(x * scale), Math.round(y * scale), 1, 1).data.slice(0, 3)));
        }
        return out;
      },
      { c: restNow },
    );
    const near = rim.filter(([r, g, b]) => Math.abs(r - focus[0]) + Math.abs(g - focus[1]) + Math.abs(b - focus[2]) < 60).length;
    assert.ok(near > rim.length / 4, `${near} of ${rim.length} rim pixels in the focus colour`);
  });

  it('moves the selected channel with the keyboard, scrolls it into view, and publishes it', async () => {
    const view = await open({ run: info.dir, layer: WIDEST });
    const m = await drawn(view, WIDEST);
    const g = m.boxes!;
    await view.page.locator('#multiples-scroll').focus();
    await view.page.keyboard.press('ArrowRight');
    await view.page.waitForFunction(() => window.cnnslicerChannelView?.().channel === 0);
    await view.page.keyboard.press('ArrowRight');
    await view.page.keyboard.press('ArrowDown');
    await view.page.waitForFunction((c) => window.cnnslicerChannelView?.().channel === c, 1 + g.columns);
    await view.page.keyboard.press('End');
    await view.page.waitForFunction(() => window.cnnslicerChannelView?.().channel === 1279);
    await view.page.waitForFunction(() => window.cnnslicerChannelView?.().boxes?.visibleEnd === 1280);
    await view.page.keyboard.press('ArrowLeft');
    await view.page.waitForFunction(() => window.cnnslicerChannelView?.().channel === 1278);
    await view.page.keyboard.press('Home');
    await view.page.waitForFunction(() => window.cnnslicerChannelView?.().boxes?.visibleFirst === 0 && window.cnnslicerChannelView?.().channel === 0);
    assert.deepEqual(view.posted.filter((p) => p.type === 'select').at(-1), {
      type: 'select',
      selection: { run: info.dir, layer: WIDEST, channel: 0, epoch: NEWEST },
    });
    // A channel chosen in another view is scrolled into view here.
    await view.push({ kind: 'linked', selection: { run: info.dir, layer: WIDEST, channel: 900 } });
    await view.page.waitForFunction(() => {
      const m2 = window.cnnslicerChannelView?.();
      return m2?.channel === 900 && m2.boxes !== undefined && m2.boxes.visibleFirst <= 900 && 900 < m2.boxes.visibleEnd;
    });
    view.assertPostedValid();
  });

  it('keeps the order, the filter and the circles per class in its saved state, and a reloaded view restores them', async () => {
    const first = await open({ run: info.dir, layer: WIDEST });
    await drawn(first, WIDEST);
    await choose(first, 'sort-select', 'spread across classes');
    await first.page.locator('#channel-filter').fill('100-299');
    await choose(first, 'dead-select', 'hide dead');
    await choose(first, 'pack-top', 'top 24');
    await first.page.waitForFunction(() => window.cnnslicerChannelView?.().packTop === 24);
    const before = await model(first);
    const saved = (await first.savedState()) as { selection: Record<string, unknown> };
    assert.deepEqual(saved.selection, { run: info.dir, layer: WIDEST, sort: 'spread', channels: '100-299', dead: 'hide', packTop: 24 });
    const reloaded = await open(undefined, { savedState: saved });
    const again = await drawn(reloaded, WIDEST);
    assert.equal(again.sort, 'spread');
    assert.deepEqual(again.order, before.order);
    assert.deepEqual(
      [...(again.order ?? [])].sort((a, b) => a - b),
      every.filter((c) => c >= 100 && c <= 299 && !isSyntheticDead(c)),
    );
    assert.equal(again.packTop, 24);
    assert.equal(await reloaded.page.locator('#channel-filter').inputValue(), '100-299');
    assert.equal(await reloaded.page.locator('#sort-select').evaluate((el) => (el as HTMLElement & { value: string }).value), 'spread');
  });

  it('shows the 512-channel layer the same way, in the order chosen for the previous layer', async () => {
    const view = await open({ run: info.dir, layer: WIDEST });
    await drawn(view, WIDEST);
    await choose(view, 'sort-select', 'entropy at the epoch');
    await view.page.waitForFunction(() => window.cnnslicerChannelView?.().sort === 'entropy');
    // Another layer chosen elsewhere: its own channels, in the same order of keys.
    await view.push({ kind: 'linked', selection: { run: info.dir, layer: WIDE512 } });
    const m = await drawn(view, WIDE512);
    assert.equal(m.lines?.channels, 512);
    const at = newest(WIDE512);
    assert.deepEqual(
      m.order,
      byKey(
        Array.from({ length: 512 }, (_, c) => c),
        (c) => at.all[c],
      ),
    );
    assert.ok(m.boxes!.drawnEnd - m.boxes!.drawnFirst < 512 / 2);
    assert.equal(m.packTop, 12);
    for (const g of m.groups) assert.ok(m.circles.filter((c) => c.group === g.group).length <= 13);
    for (const c of await canvases(view)) assert.ok(c.width <= CANVAS_LIMIT_PX && c.height <= CANVAS_LIMIT_PX);
    await assertInside(view, m);
  });

  it('in a narrow panel, fits the sample run’s packing (10 classes, 16 channels, every one) inside its card, zoomed or not', async () => {
    const view = await open({ run: info.dir, layer: CONV16 }, { viewport: { width: 420, height: 900 } });
    const m = await drawn(view, CONV16);
    assert.equal(m.packTop, undefined, 'a layer of 16 channels shows every channel');
    assert.equal(m.circles.length, 11 * 16);
    await assertInside(view, m);
    const six = m.groups.find((g) => g.group === 6)!;
    const free = (() => {
      for (let a = 0; a < 72; a++) {
        const x = six.sx + 0.95 * six.sr * Math.cos((a / 72) * 2 * Math.PI);
        const y = six.sy + 0.95 * six.sr * Math.sin((a / 72) * 2 * Math.PI);
        if (!m.circles.some((c) => c.group === 6 && (x - c.sx) ** 2 + (y - c.sy) ** 2 <= (c.sr + 2) ** 2)) return { x, y };
      }
      return undefined;
    })();
    assert.ok(free);
    // In a narrow panel the cards stack: the packing is below the fold until scrolled to.
    await view.page.locator('#packing').scrollIntoViewIfNeeded();
    const box = await view.page.locator('#packing').boundingBox();
    await view.page.mouse.click(box!.x + free.x, box!.y + free.y);
    await view.page.waitForFunction(() => window.cnnslicerChannelView?.().zoom === 6);
    const z = await drawn(view, CONV16);
    assert.deepEqual([...new Set([...z.groups, ...z.circles].filter((c) => c.shown).map((c) => c.group))], [6]);
    await assertInside(view, z);
  });

  /** Every circle drawn lies inside the packing canvas, and the canvas inside its box, its card and the page. */
  async function assertInside(view: ViewPage<ChannelSelection>, m: ChannelViewModel): Promise<void> {
    const size = m.packingSize;
    assert.ok(size > 0);
    const shown = [...m.groups, ...m.circles].filter((c: ScreenCircle) => c.shown);
    assert.ok(shown.length > 0);
    for (const c of shown)
      assert.ok(
        c.sx - c.sr >= -1e-6 && c.sy - c.sr >= -1e-6 && c.sx + c.sr <= size + 1e-6 && c.sy + c.sr <= size + 1e-6,
        `${c.kind} ${c.group}/${c.channel} at (${c.sx}, ${c.sy}) r ${c.sr} leaves the ${size} px canvas`,
      );
    // No function is declared inside the page's code: tsx would wrap it in a helper the page does not have.
    const [canvas, box, card] = await view.page.evaluate(() =>
      ['packing', 'packing-box', 'card-packing'].map((id) => {
        const b = document.getElementById(id)!.getBoundingClientRect();
        return { left: b.left, right: b.right };
      }),
    );
    const rects = { canvas, box, card, page: await view.page.evaluate(() => document.documentElement.clientWidth) };
    assert.ok(rects.canvas.left >= rects.box.left - 0.5 && rects.canvas.right <= rects.box.right + 0.5, JSON.stringify(rects));
    assert.ok(rects.canvas.right <= rects.card.right && rects.card.right <= rects.page + 0.5, JSON.stringify(rects));
  }
});

describe('channel view order, filter and saved display choices (no browser)', () => {
  it('parses channel numbers and ranges, and says why text is not one', () => {
    assert.deepEqual(parseChannelRanges('12, 40-63'), {
      ok: true,
      ranges: [
        [12, 12],
        [40, 63],
      ],
    });
    assert.deepEqual(parseChannelRanges(' 7 – 9 ;1279 '), {
      ok: true,
      ranges: [
        [7, 9],
        [1279, 1279],
      ],
    });
    assert.deepEqual(parseChannelRanges('   '), { ok: true, ranges: undefined });
    assert.deepEqual(parseChannelRanges('9-3'), { ok: false, reason: 'the range 9-3 runs backwards' });
    assert.deepEqual(parseChannelRanges('1, two'), { ok: false, reason: '“two” is not a channel number or a range like 40-63' });
  });

  it('keeps the protocol’s fields as the host reads them, and the view’s own choices only where valid', () => {
    const base = { run: '/r', layer: 'conv2', epoch: 4, channel: 7, zoom: 'all' as const };
    assert.deepEqual(parseChannelViewSelection({ ...base, sort: 'spread', channels: '1-3', dead: 'only', packTop: 24, other: 1 }), {
      ok: true,
      value: { ...base, sort: 'spread', channels: '1-3', dead: 'only', packTop: 24 },
    });
    // A display choice this build does not know falls back to its default; the saved run and selection stay.
    assert.deepEqual(parseChannelViewSelection({ ...base, sort: 'colour', channels: 'x'.repeat(401), dead: true, packTop: 13 }), { ok: true, value: base });
    assert.deepEqual(parseChannelViewSelection({ ...base, packTop: 'all' }), { ok: true, value: { ...base, packTop: 'all' } });
    // A wrong protocol field is refused as the host refuses it.
    assert.ok(!parseChannelViewSelection({ ...base, channel: -1, sort: 'entropy' }).ok);
  });

  it('finds the rows in view, the rows to draw within a pixel budget, and the least scroll that shows a row', () => {
    const g = { rows: 200, pitch: 65, rowHeight: 59 };
    assert.equal(contentHeight(g), 199 * 65 + 59);
    assert.deepEqual(rowsInView(g, 0, 500), { first: 0, end: 8 });
    assert.deepEqual(rowsInView(g, 650, 500), { first: 10, end: 18 });
    assert.deepEqual(rowsToDraw(g, 650, 500, 2, 2048), { first: 8, end: 20 });
    assert.deepEqual(rowsToDraw(g, 650, 500, 2, 600), { first: 9, end: 18 }, 'the rows in view first, then what the budget leaves of the overscan');
    assert.deepEqual(rowsToDraw(g, 650, 500, 2, 300), { first: 10, end: 14 }, 'never more rows than fit in the budget');
    assert.deepEqual(rowsToDraw(g, 199 * 65, 500, 2, 2048), { first: 197, end: 200 });
    assert.equal(scrollTopShowing(g, 12, 650, 500), 650, 'a row in view does not scroll');
    assert.equal(scrollTopShowing(g, 5, 650, 500), 325, 'a row above is brought to the top');
    assert.equal(scrollTopShowing(g, 30, 650, 500), 30 * 65 + 59 - 500, 'a row below is brought to the bottom');
  });

  it('packs a class’s top channels and sums the rest, with ties to the lower channel', () => {
    const channels = 5;
    const all = Float32Array.from([1, 3, 2, 3, 0.5]);
    const item = {
      layer: 'l',
      epoch: 0,
      classes: 0,
      channels,
      perClass: new Float32Array(0),
      perClassCount: new Int32Array(0),
      all,
      allCount: new Int32Array(channels).fill(4),
      nonFiniteValues: 0,
    };
    const [group] = packingGroups(item, 2);
    assert.deepEqual(group.channels, [
      { channel: 1, value: 3 },
      { channel: 3, value: 3 },
    ]);
    assert.deepEqual(group.rest, { count: 3, value: 3.5 });
    assert.equal(group.total, 9.5);
    assert.equal(packingGroups(item, 5)[0].rest, undefined, 'no rest circle when every channel fits');
    assert.equal(packTopFor(64, undefined), undefined, 'every channel up to 64 by default');
    assert.equal(packTopFor(65, undefined), 12);
    assert.equal(packTopFor(1280, 48), 48);
    assert.equal(packTopFor(16, 24), undefined);
    assert.equal(packTopFor(1280, 'all'), undefined);
  });
});

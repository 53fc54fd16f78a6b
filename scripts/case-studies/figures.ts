// The figures of docs/paper-case-studies.md, drawn by the product itself: each view's real bundle
// (dist/webview/<view>/main.js) in headless Chromium, in the page the extension host builds, with
// a stand-in host (test/webview/harness.ts) that answers the view's requests with the engine's own
// request handlers on the case-study runs, as the extension's engine process would. A figure is a
// screenshot of one of the view's cards, several side by side when a paper figure compares them.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { Handlers } from '../../src/engine/handlers';
import type { EngineMethod } from '../../src/shared/engineProtocol';
import type { ChannelSelection, LayerSelection, PanelRun, TrainingSelection, ViewName } from '../../src/shared/webviewProtocol';
import type { RunInfo } from '../../src/shared/runFormat';
import { ensureViewBuilt, HostError, launchChromium, ViewPage, ViewServer, type RequestHandler } from '../../test/webview/harness';
import { context } from './measures';

const ENGINE_METHODS: readonly string[] = ['runInfo', 'slice', 'interSampleEntropy', 'channelEntropies', 'labelEntropies', 'channelCapacity', 'deconvnet'];

export class FigureMaker {
  private constructor(
    private readonly browser: Browser,
    private readonly server: ViewServer,
    private readonly handlers: Handlers,
    private readonly outDir: string,
  ) {}

  static async start(handlers: Handlers, outDir: string): Promise<FigureMaker> {
    for (const view of ['training', 'layer', 'channel'] as const) ensureViewBuilt(view);
    const server = await ViewServer.start();
    return new FigureMaker(await launchChromium(), server, handlers, outDir);
  }

  async stop(): Promise<void> {
    await this.browser.close();
    await this.server.stop();
  }

  /** The engine answers what it answers in VS Code; the host's own methods (adding runs, …) are not used here. */
  private answer(): RequestHandler {
    return async (method, params) => {
      if (!ENGINE_METHODS.includes(method)) throw new HostError({ code: 'bad-request', message: `${method} is not answered when drawing figures` });
      const handler = this.handlers[method as EngineMethod] as (p: unknown, c: ReturnType<typeof context>) => Promise<unknown>;
      return handler(params, context(`view's ${method}`));
    };
  }

  /** Opens a view on `runs` with `selection`, as ViewPanels does: the runs on `ready`, then the selection. */
  private async open<S>(view: ViewName, runs: readonly RunInfo[], selection: S, width = 1100): Promise<ViewPage<S>> {
    const page = await ViewPage.open<S>(this.browser, this.server, view, { onRequest: this.answer(), viewport: { width, height: 1400 } });
    await page.waitForReady(120_000);
    const panelRuns: PanelRun[] = runs.map((info) => ({ dir: info.dir, state: 'loaded', info }));
    await page.push({ kind: 'runs', runs: panelRuns });
    await page.push({ kind: 'selection', selection });
    return page;
  }

  /** Screenshots of `selector` in each page, side by side, into docs/images/<name>.png. */
  private async save(name: string, shots: readonly Buffer[], captions: readonly string[], scale = 1): Promise<string> {
    const file = path.join(this.outDir, `${name}.png`);
    if (shots.length === 1) {
      fs.writeFileSync(file, shots[0]);
    } else {
      const context = await this.browser.newContext({ viewport: { width: 400, height: 300 } });
      const page = await context.newPage();
      const cells = shots
        .map((s, i) => `<figure><img src="data:image/png;base64,${s.toString('base64')}"><figcaption>${captions[i] ?? ''}</figcaption></figure>`)
        .join('');
      await page.setContent(
        `<body style="margin:0;background:#fff;font:13px sans-serif"><div id="row" style="display:inline-flex;gap:8px;align-items:flex-start">${cells}</div></body>`,
      );
      // Shrinks wide compositions so each figure stays under the 300 kB the documentation allows.
      await page.$$eval('img', (imgs, k) => imgs.forEach((img) => (img.style.width = `${img.naturalWidth * k}px`)), scale);
      await page.locator('#row').screenshot({ path: file });
      await context.close();
    }
    process.stderr.write(`wrote ${path.relative(process.cwd(), file)} (${(fs.statSync(file).size / 1024).toFixed(0)} kB)\n`);
    return file;
  }

  private static async settle(page: Page): Promise<void> {
    // Chart.js and the canvases draw on animation frames after the data arrives.
    await page.waitForTimeout(1500);
  }

  /** Fig. 5(A): the training view's loss chart (E) comparing the runs. */
  async loss(name: string, runs: readonly RunInfo[]): Promise<void> {
    // Narrow enough that the cards stack and the loss chart gets the whole width.
    const view = await this.open<TrainingSelection>('training', runs, { run: runs[0].dir, logLoss: true }, 760);
    await view.page.waitForFunction(() => (document.querySelector('#loss-values')?.children.length ?? 0) > 0, undefined, { timeout: 600_000 });
    await FigureMaker.settle(view.page);
    await this.save(name, [await view.page.locator('#card-loss').screenshot()], ['']);
    await view.close();
  }

  /** Fig. 6/7: the training view's confusion matrix (A) and label-entropy charts (B, C) of one run at one epoch. */
  async labels(name: string, runs: readonly RunInfo[], captions: readonly string[], epochs: readonly number[], cards: readonly string[]): Promise<void> {
    const shots: Buffer[] = [];
    for (let i = 0; i < runs.length; i++) {
      const view = await this.open<TrainingSelection>('training', [runs[i]], { run: runs[i].dir, epoch: epochs[i] }, 900);
      await view.page.waitForFunction((e) => document.querySelector('#matrix-caption')?.textContent?.startsWith(`Epoch ${e}:`) === true, epochs[i], {
        timeout: 900_000,
      });
      await FigureMaker.settle(view.page);
      for (const card of cards) shots.push(await view.page.locator(`#${card}`).screenshot());
      await view.close();
    }
    await this.save(name, shots, captions);
  }

  /** Fig. 10–12: the layer view's heatmaps of li against the other layers, at each epoch given. */
  async capacity(
    name: string,
    run: RunInfo,
    layer: string,
    others: readonly string[],
    epochs: readonly number[],
    sort: 'max' | 'none',
    scale: 'epoch' | 'run' = 'epoch',
  ): Promise<void> {
    const shots: Buffer[] = [];
    for (const epoch of epochs) {
      const selection: LayerSelection = { run: run.dir, layer, otherLayers: others, epoch, sortColumns: sort, sortRows: sort, scale };
      const view = await this.open<LayerSelection>('layer', [run], selection, others.length > 2 ? 1500 : 900);
      await view.page.waitForFunction(
        ({ e, n }) => {
          const m = window.cnnslicerLayerView?.();
          return (
            m !== undefined &&
            m.heatmaps.length === n &&
            m.heatmaps.every((h) => h.epoch === e && h.geometry !== undefined) &&
            !document.querySelector('.heatmap.stale')
          );
        },
        { e: epoch, n: others.length },
        { timeout: 900_000 },
      );
      await FigureMaker.settle(view.page);
      shots.push(await view.page.locator('#card-heatmaps').screenshot());
      await view.close();
    }
    await this.save(
      name,
      shots,
      epochs.map((e) => `epoch ${e}`),
      epochs.length > 2 ? 0.6 : 1,
    );
  }

  /** Fig. 14: the channel view's small multiples (A) of each layer, cut to the first rows of boxes. */
  async channels(name: string, run: RunInfo, layers: readonly string[], epoch: number, height: number): Promise<void> {
    const shots: Buffer[] = [];
    for (const layer of layers) {
      const selection: ChannelSelection = { run: run.dir, layer, epoch, channel: 0 };
      const view = await this.open<ChannelSelection>('channel', [run], selection, 900);
      await view.page.waitForFunction(
        ({ l, e }) => {
          const m = window.cnnslicerChannelView?.();
          return m !== undefined && m.layer === l && m.epoch === e && m.lines !== undefined && m.boxes !== undefined;
        },
        { l: layer, e: epoch },
        { timeout: 900_000 },
      );
      await FigureMaker.settle(view.page);
      const box = await view.page.locator('#card-multiples').boundingBox();
      if (box === null) throw new Error('the small multiples are not on screen');
      shots.push(await view.page.screenshot({ clip: { x: box.x, y: box.y, width: box.width, height: Math.min(box.height, height) } }));
      await view.close();
    }
    await this.save(name, shots, layers);
  }
}

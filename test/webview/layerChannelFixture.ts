// Runs for the layer and channel views' browser tests, written with the project's RunWriter, and
// a fake host that answers the views' requests with the engine's own request handlers
// (src/engine/handlers.ts) run in this process on those runs: what the views receive in VS Code,
// minus the process hops. Every answer is recorded with its request, so a test can compare what
// the view draws with what the engine said.
//
// - `wide`: activations only, 3 epochs, layers `a` (12 channels of 6×6) and `b` (10 channels of
//   5×5) whose channels copy channels of `a` with more or less noise, so the capacity matrix has
//   high, middling and low cells; per class, channels are more or less sparse, so the classes'
//   entropies differ.
// - `tiny`: the tiny CNN of test/support/tinyCnn.ts, epochs 0–2 as ONNX checkpoints (deconvnet
//   works) and epoch 3 as activations only (deconvnet must say it has no checkpoint). One class
//   and the run itself are named with markup.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHandlers, type Handlers, type RequestContext } from '../../src/engine/handlers';
import { RunRegistry } from '../../src/engine/run/runRegistry';
import { RunWriter } from '../../src/core/run/runWriter';
import type { EngineMethod, EngineParams } from '../../src/shared/engineProtocol';
import { toErrorInfo } from '../../src/shared/errors';
import type { LayerInfo, RunInfo } from '../../src/shared/runFormat';
import type { PanelRun, ViewName } from '../../src/shared/webviewProtocol';
import { seededRandom, tempDir } from '../support/runFixtures';
import { buildTinyCnn, TINY_INPUT_SHAPE, tinyCnnReference, tinyCnnWeights } from '../support/tinyCnn';
import { HostError, ViewSuite, type RequestHandler, type ViewPage } from './harness';
import type { TestTheme } from './themes';

/** A name a careless view would turn into markup (and run). */
export const HOSTILE_NAME = '<img src=x onerror=window.__xss=1>';

export const WIDE_CLASSES = ['cat', 'dog', 'bird'];
export const TINY_CLASSES = ['zero', 'one', HOSTILE_NAME];
const WIDE_LAYERS: LayerInfo[] = [
  { name: 'a', kind: 'conv', shape: [12, 6, 6], op: 'Conv2d' },
  { name: 'b', kind: 'conv', shape: [10, 5, 5], op: 'Conv2d' },
];
const TINY_LAYERS: LayerInfo[] = [
  { name: 'conv1', kind: 'conv', shape: [4, 8, 8], op: 'Conv' },
  { name: 'relu1', kind: 'activation', shape: [4, 8, 8], op: 'Relu' },
  { name: 'pool1', kind: 'pool', shape: [4, 4, 4], op: 'MaxPool' },
];

function product(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

async function writeWideRun(dir: string): Promise<void> {
  const n = 36;
  const rand = seededRandom(5);
  const labels = Array.from({ length: n }, (_, i) => i % WIDE_CLASSES.length);
  const writer = await RunWriter.create(dir, {
    name: 'wide',
    model: { name: 'Synthetic', framework: 'test' },
    layers: WIDE_LAYERS,
    classes: WIDE_CLASSES,
    probe: { inputs: Float32Array.from({ length: n * 16 }, () => rand() * 2 - 1), inputShape: [1, 4, 4], labels, description: 'seeded random inputs' },
  });
  for (let epoch = 0; epoch < 3; epoch++) {
    const [ca, ha, wa] = WIDE_LAYERS[0].shape;
    const a = new Float32Array(n * product(WIDE_LAYERS[0].shape));
    for (let s = 0; s < n; s++) {
      const k = labels[s];
      for (let c = 0; c < ca; c++) {
        // How many of a map's values are non-zero grows with the channel and the class: sparse maps
        // have low intra-sample entropy, dense ones high.
        const density = Math.min(1, (((c % 6) + 1) / 6) * ((k + 1) / WIDE_CLASSES.length) + 0.05 * epoch);
        const amplitude = 1 + ((s * 7 + c) % 5);
        for (let i = 0; i < ha * wa; i++) a[s * ca * ha * wa + c * ha * wa + i] = rand() < density ? amplitude * rand() : 0;
      }
    }
    const [cb, hb, wb] = WIDE_LAYERS[1].shape;
    const b = new Float32Array(n * product(WIDE_LAYERS[1].shape));
    for (let s = 0; s < n; s++) {
      for (let j = 0; j < cb; j++) {
        // Channel j of b follows channel j of a, drowned in more noise the larger j is.
        const noise = (j / cb) * 3 * (1 + epoch / 2);
        for (let i = 0; i < hb * wb; i++) {
          const src = a[s * ca * ha * wa + j * ha * wa + i];
          b[s * cb * hb * wb + j * hb * wb + i] = src + noise * (rand() * 2 - 1);
        }
      }
    }
    await writer.writeEpoch(epoch, {
      metrics: { loss: 1 / (epoch + 1) },
      activations: new Map([
        ['a', a],
        ['b', b],
      ]),
      logits: Float32Array.from({ length: n * WIDE_CLASSES.length }, () => rand()),
    });
  }
  await writer.finish();
}

async function writeTinyRun(dir: string): Promise<void> {
  const n = 24;
  const rand = seededRandom(9);
  const labels = Array.from({ length: n }, (_, i) => Math.floor(i / (n / TINY_CLASSES.length)));
  // Class k's inputs have amplitude k + 1, so the classes' feature maps differ.
  const inputs = Float32Array.from(
    { length: n * product(TINY_INPUT_SHAPE) },
    (_, i) => (labels[Math.floor(i / product(TINY_INPUT_SHAPE))] + 1) * (rand() * 2 - 1),
  );
  const writer = await RunWriter.create(dir, {
    name: `tiny ${HOSTILE_NAME}`,
    model: { name: 'TinyCNN', framework: 'onnx' },
    layers: TINY_LAYERS,
    classes: TINY_CLASSES,
    probe: { inputs, inputShape: [...TINY_INPUT_SHAPE], labels, description: 'seeded random inputs, amplitude by class' },
  });
  for (let epoch = 0; epoch < 3; epoch++)
    await writer.writeEpoch(epoch, { metrics: { loss: 1 / (epoch + 1) }, checkpoint: buildTinyCnn(tinyCnnWeights(epoch + 1)) });
  // The last epoch keeps activations only: there are no weights to project with.
  const ref = tinyCnnReference(tinyCnnWeights(4), inputs, n);
  await writer.writeEpoch(3, {
    metrics: { loss: 0.2 },
    activations: new Map([
      ['conv1', ref.conv1],
      ['relu1', ref.relu1],
      ['pool1', ref.pool1],
    ]),
    logits: ref.logits,
  });
  await writer.finish();
}

export interface FixtureRuns {
  readonly wide: RunInfo;
  readonly tiny: RunInfo;
  readonly engine: EngineStandIn;
}

export async function writeFixtureRuns(root: string): Promise<FixtureRuns> {
  await writeWideRun(path.join(root, 'wide'));
  await writeTinyRun(path.join(root, 'tiny'));
  const engine = new EngineStandIn();
  const ctx: RequestContext = { signal: new AbortController().signal, progress: () => undefined };
  return {
    wide: await engine.handlers.runInfo({ run: path.join(root, 'wide') }, ctx),
    tiny: await engine.handlers.runInfo({ run: path.join(root, 'tiny') }, ctx),
    engine,
  };
}

export interface Answer {
  readonly method: string;
  readonly params: Record<string, unknown>;
  readonly result?: unknown;
  readonly error?: ReturnType<typeof toErrorInfo>;
}

/** The engine's handlers over a run registry, in this process, recording what they answered. */
export class EngineStandIn {
  private readonly runs = new RunRegistry();
  readonly handlers: Handlers = createHandlers({ runs: this.runs });
  readonly answers: Answer[] = [];

  /** A fake host's request handler: engine methods go to the engine; `showRunSummary` is acknowledged. */
  requestHandler(shown: readonly RunInfo[]): RequestHandler {
    return async (method, params) => {
      if (method === 'showRunSummary') return {};
      if (!shown.some((r) => r.dir === params.run))
        throw new HostError({ code: 'bad-request', message: `the view does not show the run ${String(params.run)}` });
      const handler = this.handlers[method as EngineMethod] as ((p: EngineParams<EngineMethod>, ctx: RequestContext) => Promise<unknown>) | undefined;
      if (handler === undefined) throw new HostError({ code: 'bad-request', message: `no engine method ${method}` });
      try {
        const result = await handler(params as never, { signal: new AbortController().signal, progress: () => undefined });
        this.answers.push({ method, params, result });
        return result;
      } catch (err) {
        const error = toErrorInfo(err);
        this.answers.push({ method, params, error });
        throw new HostError(error);
      }
    };
  }

  answersOf(method: string): Answer[] {
    return this.answers.filter((a) => a.method === method);
  }

  async close(): Promise<void> {
    await this.runs.closeAll();
  }
}

export function panelRuns(runs: readonly RunInfo[]): PanelRun[] {
  return runs.map((info) => ({ dir: info.dir, state: 'loaded', info }));
}

export interface OpenRunViewOptions {
  readonly theme?: TestTheme;
  /** Answers the view's requests; the engine's handlers on `run` when absent. */
  readonly onRequest?: RequestHandler;
  readonly savedState?: unknown;
}

/** A layer or channel view suite's browser (ViewSuite) and the fixture runs, written to a temp folder of their own. */
export class FixtureViewSuite<S> {
  private constructor(
    readonly views: ViewSuite<S>,
    readonly runs: FixtureRuns,
    private readonly scratch: string,
  ) {}

  static async start<S>(view: ViewName, scratchPrefix: string): Promise<FixtureViewSuite<S>> {
    const views = await ViewSuite.start<S>(view);
    const scratch = tempDir(scratchPrefix);
    try {
      return new FixtureViewSuite<S>(views, await writeFixtureRuns(scratch), scratch);
    } catch (err) {
      await views.stop();
      fs.rmSync(scratch, { recursive: true, force: true });
      throw err;
    }
  }

  /**
   * Opens a view of one run as the host does: on `ready`, the run, then the selection a command
   * chose. No selection stands for a restored panel, which keeps its own.
   */
  async open(run: RunInfo, selection: S | undefined, options: OpenRunViewOptions = {}): Promise<ViewPage<S>> {
    const view = await this.views.openView({
      theme: options.theme,
      savedState: options.savedState,
      onRequest: options.onRequest ?? this.runs.engine.requestHandler([run]),
    });
    await view.waitForReady();
    await view.push({ kind: 'runs', runs: panelRuns([run]) });
    if (selection !== undefined) await view.push({ kind: 'selection', selection });
    return view;
  }

  async stop(): Promise<void> {
    await this.views.stop();
    await this.runs.engine.close();
    fs.rmSync(this.scratch, { recursive: true, force: true });
  }
}

// The CodeLens over each line where the probe recorded a layer's construction (LayerInfo.source):
// `CNNSlicer · conv1: H̄ 3.21 bits (channels) · inter 11.2 bits · epoch 20`. Finding the lenses is
// cheap (the runs' manifests, already read); the measures are asked of the engine only when VS Code
// resolves a lens on screen, and kept per run version, so scrolling back costs nothing and a new
// epoch measures again. Reading only: allowed in Restricted Mode.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { toErrorInfo } from '../../shared/errors';
import type { LinkedSelection } from '../../shared/linkedSelection';
import type { RunInfo, SourceLocation } from '../../shared/runFormat';
import { COMMAND } from '../commandIds';
import type { EngineClient } from '../engineClient';
import { escapeCodicons } from '../plainText';
import type { RunIndex } from '../runs/runIndex';
import { samePath } from '../sourceLocations';
import {
  formatLensTitle,
  formatLensTooltip,
  latestEpoch,
  lensOpens,
  lensTargetsForFile,
  linesWithSeveralRuns,
  meanChannelEntropy,
  sourceFilesOf,
  type LayerLensTarget,
  type LensState,
} from './layerLenses';
import { resolveLayerSource } from './revealSource';

/** Engine requests in flight at once for lenses: a long model file must not crowd out the views' requests. */
const MEASURE_CONCURRENCY = 2;
/** Longest error reason shown in a lens; the tooltip and the log have the rest. */
const MAX_REASON_CHARS = 80;

export interface LayerCodeLensHost {
  readonly runIndex: Pick<RunIndex, 'runs' | 'onDidChange'>;
  engine(): EngineClient;
  readonly log: vscode.LogOutputChannel;
}

/**
 * A filter for exactly one file: its folder, and its name as a glob. A name with glob syntax in it
 * cannot be matched literally, so such a file widens the filter to every file (the provider finds
 * nothing in the others, at the cost of a path comparison).
 */
function fileFilter(file: string): vscode.DocumentFilter {
  const base = path.basename(file);
  if (/[*?[\]{}!]/.test(base)) return { scheme: 'file' };
  return { scheme: 'file', pattern: new vscode.RelativePattern(vscode.Uri.file(path.dirname(file)), base) };
}

class LayerCodeLens extends vscode.CodeLens {
  constructor(
    range: vscode.Range,
    readonly target: LayerLensTarget,
    readonly info: RunInfo,
    readonly showRunName: boolean,
  ) {
    super(range);
  }
}

/** At most `limit` tasks at once, the others waiting in order. */
class Limiter {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running++;
    try {
      return await task();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }
}

export class LayerCodeLensProvider implements vscode.CodeLensProvider<LayerCodeLens>, vscode.Disposable {
  private readonly changeEmitter = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changeEmitter.event;
  /** Per run version (a new epoch is a new RunInfo), per layer: its measures, being or already computed. */
  private measured = new WeakMap<RunInfo, Map<string, Promise<LensState>>>();
  /** Resolved source paths per `runDir\0file`; reset when the runs change (a file may have appeared). */
  private resolved = new Map<string, string | undefined>();
  private readonly limiter = new Limiter(MEASURE_CONCURRENCY);
  private registration: vscode.Disposable | undefined;
  private registeredFor = '';
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly host: LayerCodeLensHost) {
    this.disposables.push(
      this.changeEmitter,
      host.runIndex.onDidChange(() => {
        this.resolved.clear();
        this.register();
        this.changeEmitter.fire();
      }),
      vscode.workspace.onDidChangeWorkspaceFolders(() => {
        this.resolved.clear();
        this.register();
        this.changeEmitter.fire();
      }),
    );
    this.register();
  }

  private loadedRuns(): RunInfo[] {
    return this.host.runIndex.runs.flatMap((entry) => (entry.state.kind === 'loaded' ? [entry.state.info] : []));
  }

  private resolve(source: SourceLocation, runDir: string): string | undefined {
    const key = `${runDir}\0${source.file}`;
    if (this.resolved.has(key)) return this.resolved.get(key);
    const file = resolveLayerSource(source, runDir);
    this.resolved.set(key, file);
    return file;
  }

  /**
   * Python files, where the probe's sources are, and any other file a run names (a model built in
   * another language's script still gets its lenses). Registered again when that set changes.
   */
  private register(): void {
    const files = sourceFilesOf(this.loadedRuns(), (source, runDir) => this.resolve(source, runDir)).filter((f) => !f.endsWith('.py'));
    const key = JSON.stringify(files);
    if (this.registration !== undefined && key === this.registeredFor) return;
    this.registration?.dispose();
    this.registeredFor = key;
    const selector: vscode.DocumentFilter[] = [{ language: 'python', scheme: 'file' }, ...files.map(fileFilter)];
    this.registration = vscode.languages.registerCodeLensProvider(selector, this);
  }

  provideCodeLenses(document: vscode.TextDocument): LayerCodeLens[] {
    if (document.uri.scheme !== 'file') return [];
    const runs = this.loadedRuns();
    if (runs.length === 0) return [];
    const targets = lensTargetsForFile(document.uri.fsPath, runs, (source, runDir) => this.resolve(source, runDir), samePath);
    const several = linesWithSeveralRuns(targets);
    const infos = new Map(runs.map((info) => [info.dir, info]));
    return targets
      .filter((t) => t.line < document.lineCount)
      .map((t) => new LayerCodeLens(document.lineAt(t.line).range, t, infos.get(t.runDir) as RunInfo, several.has(t.line)));
  }

  async resolveCodeLens(lens: LayerCodeLens): Promise<LayerCodeLens> {
    const state = await this.measure(lens.info, lens.target.layer.name);
    const opens = lensOpens(lens.target.layer) === 'channel' ? 'its channel view' : 'the query view with this layer selected';
    const argument: LinkedSelection = { run: lens.target.runDir, layer: lens.target.layer.name };
    lens.command = {
      title: escapeCodicons(formatLensTitle(lens.target, state, { showRunName: lens.showRunName })),
      tooltip: formatLensTooltip(lens.target, state, opens),
      command: COMMAND.showLayer,
      arguments: [argument],
    };
    return lens;
  }

  private measure(info: RunInfo, layer: string): Promise<LensState> {
    let perRun = this.measured.get(info);
    if (perRun === undefined) {
      perRun = new Map();
      this.measured.set(info, perRun);
    }
    const existing = perRun.get(layer);
    if (existing !== undefined) return existing;
    const promise = this.limiter.run(() => this.measureNow(info, layer));
    perRun.set(layer, promise);
    // A failure (engine restarting, a file being written) is measured again at the next resolve.
    void promise.then((state) => {
      if (state.kind === 'failed') perRun?.delete(layer);
    });
    return promise;
  }

  private async measureNow(info: RunInfo, layer: string): Promise<LensState> {
    const epoch = latestEpoch(info);
    if (epoch === undefined) return { kind: 'no-epoch' };
    try {
      const engine = this.host.engine();
      const [channels, inter] = await Promise.all([
        engine.request('channelEntropies', { run: info.dir, layer, epoch }),
        engine.request('interSampleEntropy', { run: info.dir, samples: { kind: 'all' }, layer, epoch }),
      ]);
      const c = channels.items[0];
      return {
        kind: 'measured',
        measures: { epoch, meanChannelEntropy: c !== undefined ? meanChannelEntropy(c) : undefined, interSampleEntropy: inter.items[0] },
      };
    } catch (err) {
      const error = toErrorInfo(err);
      this.host.log.warn(`CodeLens: measuring ${layer} of ${info.dir} failed (${error.code}): ${error.message}`);
      const reason = error.message.length > MAX_REASON_CHARS ? `${error.message.slice(0, MAX_REASON_CHARS)}…` : error.message;
      return { kind: 'failed', reason };
    }
  }

  dispose(): void {
    this.registration?.dispose();
    this.registration = undefined;
    for (const d of this.disposables) d.dispose();
    this.disposables.length = 0;
    this.measured = new WeakMap();
  }
}

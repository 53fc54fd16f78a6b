// The host ↔ webview protocol, shared by every CNNSlicer view. A view asks its host for data with
// id-matched requests; the host forwards the engine's methods to the engine and answers a few of its
// own (adding or removing runs); it pushes updates when the view's runs change on disk (a new epoch)
// or when a command selects something in the view.
//
// Webview messages cross VS Code's postMessage, which keeps typed arrays as typed arrays but
// serialises everything else as JSON: `undefined` inside an array arrives as `null`, and an
// `undefined` property disappears. Readers of results must treat `null` and `undefined` alike.
import type { EngineMethods, ProgressInfo, SampleSelection } from './engineProtocol';
import type { ErrorInfo } from './errors';
import type { ExportAsked, ExportContent, ExportRequest } from './exportProtocol';
import type { LinkedSelection } from './linkedSelection';
import type { RunInfo } from './runFormat';

/** Each view: its bundle folder under webview/ (and dist/webview/) and its VS Code view type. */
export const VIEW_TYPES = {
  training: 'cnnslicer.training',
  layer: 'cnnslicer.layer',
  channel: 'cnnslicer.channel',
  query: 'cnnslicer.query',
  infoplane: 'cnnslicer.infoplane',
} as const;

export type ViewName = keyof typeof VIEW_TYPES;
export type ViewType = (typeof VIEW_TYPES)[ViewName];

/**
 * The engine methods a view may call. Test hooks (`sleep`, `hang`) and `ping` are left out: a view
 * has no business with them.
 */
export const WEBVIEW_ENGINE_METHODS = [
  'runInfo',
  'slice',
  'interSampleEntropy',
  'channelEntropies',
  'labelEntropies',
  'channelCapacity',
  'deconvnet',
  'infoPlane',
  'informationMatrix',
] as const;
export type WebviewEngineMethod = (typeof WEBVIEW_ENGINE_METHODS)[number];

/** What the host answers itself: changes to the set of runs a view shows. */
export interface HostMethods {
  /** Lets the user pick runs (a quick pick) to add to the view; answers with the runs added, possibly none. */
  addRuns: { params: Record<string, never>; result: { readonly added: readonly string[] } };
  /** Takes a run out of the view. The last run cannot be removed. */
  removeRun: { params: { readonly run: string }; result: { readonly removed: boolean } };
  /** Opens the run's summary document beside the view. */
  showRunSummary: { params: { readonly run: string }; result: Record<string, never> };
  /**
   * The query view's Query button (paper §5.1): publishes the slice as the linked selection and
   * opens the view that shows it (layer view for several layers, channel view for one, training view for none).
   */
  query: { params: LinkedSelection; result: QueryResult };
  /** Opens the file at the line where one of the run's layers was constructed (its recorded `source`). */
  revealSource: { params: { readonly run: string; readonly layer: string }; result: { readonly file: string; readonly line: number } };
  /**
   * Opens (or reveals) the information-plane view of one of the view's runs, on its layer and epoch
   * when given (the query view's "Information plane" button).
   */
  openInfoPlane: { params: InfoPlaneSelection & { readonly run: string }; result: Record<string, never> };
}

export const HOST_METHODS = [
  'addRuns',
  'removeRun',
  'showRunSummary',
  'query',
  'revealSource',
  'openInfoPlane',
] as const satisfies readonly (keyof HostMethods)[];
export type HostMethod = (typeof HOST_METHODS)[number];

/** Every method a view may request; a pending engine method (engineProtocol.ts) is asked for like the others. */
export type WebviewMethods = Pick<EngineMethods, WebviewEngineMethod> & HostMethods;
export type WebviewMethod = keyof WebviewMethods;
export type WebviewParams<M extends WebviewMethod> = WebviewMethods[M]['params'];
export type WebviewResult<M extends WebviewMethod> = WebviewMethods[M]['result'];

/** A run as a view sees it: the run's folder, and its info once the engine has read it. */
export type PanelRun =
  | { readonly dir: string; readonly state: 'loading' }
  | { readonly dir: string; readonly state: 'loaded'; readonly info: RunInfo }
  | { readonly dir: string; readonly state: 'failed'; readonly error: ErrorInfo };

/** What the host pushes. `S` is the view's selection type. */
export type ViewUpdate<S> =
  /** The view's runs, in the order they were added; sent on `ready` and whenever one of them changes (a new epoch). */
  | { readonly kind: 'runs'; readonly runs: readonly PanelRun[] }
  /** A command chose what the view should show (e.g. the run the user clicked in the Runs tree). */
  | { readonly kind: 'selection'; readonly selection: S }
  /**
   * The user chose a run's layer, channel or epoch elsewhere (the Runs tree, another view). Only
   * views showing `selection.run` get it, never the view that chose it; each view maps it onto its
   * own selection.
   */
  | { readonly kind: 'linked'; readonly selection: LinkedSelection };

/**
 * The id of the JSON block in which the host puts, into a new view's document, the updates it would
 * otherwise send only after the view's `ready` (the runs, and the selection a command asked for), so
 * the view can ask for its data as soon as its script runs instead of a round trip later.
 */
export const INITIAL_UPDATES_ELEMENT_ID = 'cnnslicer-initial-updates';

export type HostToWebview<S> =
  | { readonly type: 'update'; readonly update: ViewUpdate<S> }
  | { readonly type: 'progress'; readonly id: number; readonly progress: ProgressInfo }
  | { readonly type: 'response'; readonly id: number; readonly ok: true; readonly result: unknown }
  | { readonly type: 'response'; readonly id: number; readonly ok: false; readonly error: ErrorInfo }
  /** Make an export file of what the view shows (exportProtocol.ts); answered by an `exportContent`. */
  | ExportRequest;

export type WebviewLogLevel = 'info' | 'warn' | 'error';

export type WebviewToHost =
  /** The view's script has started and listens: the host answers with the current runs and selection. */
  | { readonly type: 'ready' }
  | { readonly type: 'request'; readonly id: number; readonly method: WebviewMethod; readonly params: unknown }
  /** The view no longer needs the answer (it asked again with other parameters, or is closing). */
  | { readonly type: 'cancel'; readonly id: number }
  /** A problem inside the view worth a line in the CNNSlicer output channel. */
  | { readonly type: 'log'; readonly level: WebviewLogLevel; readonly message: string }
  /** The user chose a layer, channel or epoch of one of the view's runs: the other views follow. */
  | { readonly type: 'select'; readonly selection: LinkedSelection }
  /** The view's Export button: the host asks for the format and where to save (exportProtocol.ts). */
  | ExportAsked
  /** The file an `exportRequest` asked for, or why there is none. */
  | ExportContent;

/**
 * What a view keeps with `setState` and VS Code hands back to the panel serializer after a reload:
 * the runs it shows and what is selected in it. Plain JSON, never results.
 */
export interface PersistedViewState<S> {
  readonly version: typeof PERSISTED_STATE_VERSION;
  readonly runs: readonly string[];
  readonly selection: S;
}

export const PERSISTED_STATE_VERSION = 1;

/** Longest a log message from a view may be; longer ones are cut, so a runaway view cannot flood the log. */
export const MAX_WEBVIEW_LOG_CHARS = 2000;
/** Most runs one view compares; the paper's Fig. 5 compares four. */
export const MAX_VIEW_RUNS = 12;

/**
 * The training-performance view (paper §5.2, Fig. 4): which run the confusion matrix and the label
 * entropy charts show, at which epoch.
 */
export interface TrainingSelection {
  /** The run shown in (A), (B) and (C); the first run when absent or no longer in the view. */
  readonly run?: string;
  /** The epoch of the confusion matrix; absent means the newest, following a run still training. */
  readonly epoch?: number;
  /** The loss chart's y axis is logarithmic. */
  readonly logLoss?: boolean;
}

/**
 * How the layer view orders a heatmap's columns or rows: by their largest or mean capacity, largest
 * first (§5.3.2), or 'similar': channels with similar capacity patterns next to each other (a
 * seriation, so §5.3.3's similar filters show as blocks).
 */
export type CapacitySort = 'none' | 'max' | 'mean' | 'similar';

/** Most layers lj the layer view compares against li side by side (Fig. 12 shows three). */
export const MAX_LAYER_VIEW_OTHERS = 4;

/**
 * The layer view (paper §5.3, Fig. 8–12): channel-capacity heatmaps between layer li (columns) and
 * one to four layers lj (rows), at one epoch.
 */
export interface LayerSelection {
  /** The run shown; the first run when absent or no longer in the view. */
  readonly run?: string;
  /** li, the horizontal axis of every heatmap. */
  readonly layer?: string;
  /** lj of each heatmap, left to right. */
  readonly otherLayers?: readonly string[];
  /** Absent means the newest, following a run still training. */
  readonly epoch?: number;
  /** The paper's x: which probe samples the capacities are computed from; all when absent. */
  readonly samples?: SampleSelection;
  readonly sortColumns?: CapacitySort;
  readonly sortRows?: CapacitySort;
  /**
   * 'epoch': the colour scale spans the heatmaps shown (min to max); 'run': 0 to the largest
   * capacity of these layer pairs at any epoch, so brightness compares across epochs (Fig. 10, 11).
   */
  readonly scale?: 'epoch' | 'run';
  /** The cell last clicked: channel `column` of li against channel `row` of `otherLayer`. */
  readonly cell?: { readonly otherLayer: string; readonly column: number; readonly row: number };
}

/**
 * The channel view (paper §5.4, Fig. 13–15): intra-sample entropy of every channel of one layer
 * over the epochs, per class, and deconvnet projections of one channel.
 */
export interface ChannelSelection {
  readonly run?: string;
  readonly layer?: string;
  /** Of the circle packing and the deconvnet; absent means the newest. */
  readonly epoch?: number;
  /** The channel highlighted and projected. */
  readonly channel?: number;
  /** The class circle zoomed into: a class index, or 'all' for the all-samples circle. */
  readonly zoom?: number | 'all';
  /** Whose probe images the deconvnet projects: a class index, or 'all'. */
  readonly projectClass?: number | 'all';
}

/** Which view a query goes to, and whether it could be opened (a view not built into this version is not). */
export interface QueryResult {
  readonly target: 'layer' | 'channel' | 'training';
  readonly opened: boolean;
}

/** The query view's x: all probe samples, some classes, or a number of them. */
export type QuerySamples =
  | { readonly kind: 'all' }
  | { readonly kind: 'classes'; readonly classes: readonly number[] }
  | { readonly kind: 'first'; readonly count: number }
  | { readonly kind: 'random'; readonly count: number; readonly seed: number };

/**
 * The query view (paper §5.1, Fig. 3): a slice dCNN(x, l, c, t) of one run's hypercube, formed by
 * selecting layers (blocks, or the L axis), a channel (the C axis), an epoch (T) and the samples (x).
 */
export interface QuerySelection {
  readonly run?: string;
  /** The selected layers, in the model's order. */
  readonly layers?: readonly string[];
  /** The layer in focus, one of `layers`: where the selection started; a channel is one of its channels. */
  readonly layer?: string;
  readonly channel?: number;
  /** Absent means the newest epoch, following a run still training. */
  readonly epoch?: number;
  readonly samples?: QuerySamples;
}

/**
 * The information-plane view (issue 16; Shwartz-Ziv & Tishby 2017): I(X; T) against I(T; Y) of
 * the input and every recorded layer T, one trajectory per layer over the epochs, a marker at one epoch.
 */
export interface InfoPlaneSelection {
  readonly run?: string;
  /** The epoch of the markers; absent means the newest, following a run still training. */
  readonly epoch?: number;
  /** The trajectory highlighted: `input` or a recorded layer. */
  readonly layer?: string;
  /** The paper's x: which probe samples the kernels are built from; all when absent. */
  readonly samples?: SampleSelection;
}

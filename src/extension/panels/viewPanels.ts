// Every open view panel, and the serializers that bring them back after VS Code restarts or reloads
// the window. A view is registered once at activation (its serializer must exist before VS Code
// restores panels, which is why package.json has an `onWebviewPanel:<viewType>` activation event
// per view), then opened with show().
import * as vscode from 'vscode';
import { parsePersistedState } from '../../shared/messageValidation';
import { VIEW_TYPES } from '../../shared/webviewProtocol';
import type { PanelHost } from './panelHost';
import { exportView } from './viewExport';
import { ViewPanel, type ViewKind } from './viewPanel';

export interface ShowViewOptions<S> {
  /** What the view shows first; for a panel already open, what it switches to. */
  readonly selection?: S;
  /** Keep the keyboard where it is (a click in the Runs tree should leave the tree focused). */
  readonly preserveFocus?: boolean;
}

export class ViewPanels implements vscode.Disposable {
  private readonly panels = new Set<ViewPanel<unknown>>();
  /** The panel the user was last in: a command run from the palette keeps its panel active, but a click elsewhere may not. */
  private lastActive: ViewPanel<unknown> | undefined;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly host: PanelHost) {}

  /** Makes VS Code able to restore panels of this view after a reload, from the state the view saved. */
  register<S>(kind: ViewKind<S>): void {
    const viewType = VIEW_TYPES[kind.name];
    this.disposables.push(
      vscode.window.registerWebviewPanelSerializer(viewType, {
        deserializeWebviewPanel: async (panel: vscode.WebviewPanel, state: unknown) => {
          const parsed = parsePersistedState(state, (value) => kind.parseSelection(value));
          if (parsed.ok) {
            this.host.log.info(`${kind.name} view restored with ${parsed.value.runs.length} run(s)`);
            // The view reads its selection from the same saved state itself.
            this.track(new ViewPanel(kind, panel, this.host, parsed.value.runs, undefined));
            return;
          }
          // The panel is back on screen either way; without runs, the view offers to add some.
          this.host.log.warn(`${kind.name} view: the saved state could not be restored (${parsed.reason}); the view opens without runs`);
          this.track(new ViewPanel(kind, panel, this.host, [], kind.initialSelection([])));
        },
      }),
    );
  }

  /** The open panels of one view. */
  panelsOf<S>(kind: ViewKind<S>): ViewPanel<S>[] {
    return [...this.panels].filter((p): p is ViewPanel<S> => p.kind === (kind as ViewKind<unknown>));
  }

  /**
   * Reveals the panel of `kind` already showing exactly `runs` or, for one run, any panel showing
   * it; otherwise opens a new one beside the active editor.
   */
  show<S>(kind: ViewKind<S>, runs: readonly string[], options: ShowViewOptions<S> = {}): ViewPanel<S> {
    const open = this.panelsOf(kind);
    const wanted = new Set(runs);
    const existing =
      open.find((p) => p.runDirs.length === wanted.size && p.runDirs.every((d) => wanted.has(d))) ??
      (runs.length === 1 ? open.find((p) => p.runDirs.includes(runs[0])) : undefined);
    const selection = options.selection ?? kind.initialSelection(runs);
    if (existing !== undefined) {
      existing.reveal({ selection, preserveFocus: options.preserveFocus });
      return existing;
    }
    // With no text editor active (nothing open, or a view is active), "beside" would leave an empty group.
    const column = vscode.window.activeTextEditor !== undefined ? vscode.ViewColumn.Beside : vscode.ViewColumn.Active;
    const panel = vscode.window.createWebviewPanel(
      VIEW_TYPES[kind.name],
      kind.title([]),
      { viewColumn: column, preserveFocus: options.preserveFocus ?? false },
      {
        enableScripts: true,
        // A view behind another tab keeps its page: brought forward again it shows at once, where a
        // page rebuilt from scratch takes over a second in VS Code's web workbench (a new webview's
        // service worker alone takes one; see docs/live-runs.md) plus the engine round trips.
        retainContextWhenHidden: true,
        localResourceRoots: [vscode.Uri.joinPath(this.host.extensionUri, 'dist', 'webview'), vscode.Uri.joinPath(this.host.extensionUri, 'media')],
      },
    );
    return this.track(new ViewPanel(kind, panel, this.host, runs, selection));
  }

  private track<S>(panel: ViewPanel<S>): ViewPanel<S> {
    const p = panel as ViewPanel<unknown>;
    this.panels.add(p);
    if (p.panel.active) this.lastActive = p;
    const viewState = p.panel.onDidChangeViewState((e) => {
      if (e.webviewPanel.active) this.lastActive = p;
    });
    // The view's Export button: the same flow as `CNNSlicer: Export View...` on this panel.
    const exportAsked = p.onDidAskExport(() => void exportView(p, this.host.log));
    panel.onDidDispose(() => {
      viewState.dispose();
      exportAsked.dispose();
      this.panels.delete(p);
      if (this.lastActive === p) this.lastActive = undefined;
    });
    return panel;
  }

  /** The runs of the view the user is in (or was last in), for a run picker to start on; none without an open view. */
  activeRunDirs(): readonly string[] {
    return this.activePanel()?.runDirs ?? [];
  }

  /** The view the user is in, or was last in; undefined when no view is open. */
  activePanel(): ViewPanel<unknown> | undefined {
    return [...this.panels].find((p) => p.panel.active) ?? this.lastActive;
  }

  dispose(): void {
    for (const p of [...this.panels]) p.dispose();
    this.panels.clear();
    for (const d of this.disposables) d.dispose();
    this.disposables.length = 0;
  }
}

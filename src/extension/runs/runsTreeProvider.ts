// The Runs view: RunIndex's runs, with the nodes and their text decided by runsTreeModel.ts.
import * as vscode from 'vscode';
import type { SelectionHub } from '../panels/selectionHub';
import type { RunIndex } from './runIndex';
import { childrenOf, layerNodeOf, nodeIdOf, parentOf, presentNode, type RunsTreeNode } from './runsTreeModel';

export class RunsTreeProvider implements vscode.TreeDataProvider<RunsTreeNode>, vscode.Disposable {
  private readonly changeEmitter = new vscode.EventEmitter<RunsTreeNode | undefined>();
  readonly onDidChangeTreeData = this.changeEmitter.event;
  private readonly subscriptions: vscode.Disposable[];
  /** The run nodes last handed to VS Code, by folder: it redraws one node only when given back that very object. */
  private shownRuns = new Map<string, RunsTreeNode>();

  constructor(private readonly index: RunIndex) {
    this.subscriptions = [index.onDidChange((change) => this.refresh(change.runs)), index.onDidChangeLiveness((runs) => this.refresh(runs))];
  }

  /**
   * A run that changed in place (a new epoch, live or not) is redrawn alone, with its subtree; runs
   * that came, went or may have moved redraw the whole tree, whose stable ids keep what was
   * expanded or selected.
   */
  private refresh(runs: readonly string[] | undefined): void {
    const nodes = runs?.map((dir) => this.shownRuns.get(dir));
    if (nodes === undefined || nodes.some((n) => n === undefined)) return this.changeEmitter.fire(undefined);
    for (const n of nodes) this.changeEmitter.fire(n);
  }

  /** A run node as its run is now: VS Code hands back the node it was given, which holds the entry of that time. */
  private current(node: RunsTreeNode): RunsTreeNode {
    if (node.kind !== 'run') return node;
    const entry = this.index.get(node.entry.dir);
    return entry !== undefined ? { kind: 'run', entry } : node;
  }

  async getChildren(node?: RunsTreeNode): Promise<RunsTreeNode[]> {
    if (node !== undefined) return childrenOf(this.current(node));
    // VS Code asks for the roots only once the view is shown: that, not activation, starts the scan.
    await this.index.whenFound();
    this.shownRuns = new Map(this.index.runs.map((entry): [string, RunsTreeNode] => [entry.dir, { kind: 'run', entry }]));
    return [...this.shownRuns.values()];
  }

  /** Needed by TreeView.reveal, which shows a layer another view selected. */
  getParent(node: RunsTreeNode): RunsTreeNode | undefined {
    return parentOf(node, (dir) => this.index.get(dir));
  }

  getTreeItem(node: RunsTreeNode): vscode.TreeItem {
    const p = presentNode(this.current(node));
    // A plain string label, description and tooltip: VS Code renders them as text, so names from a run cannot inject markup.
    const item = new vscode.TreeItem(p.label, p.expandable ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
    item.id = p.id;
    if (p.description !== undefined) item.description = p.description;
    if (p.tooltip !== undefined) item.tooltip = p.tooltip;
    item.iconPath = new vscode.ThemeIcon(p.icon.id, p.icon.color !== undefined ? new vscode.ThemeColor(p.icon.color) : undefined);
    item.contextValue = p.contextValue;
    // A click opens the view but leaves the keyboard in the tree, as the Explorer does with files.
    // VS Code then expands such a node only from its twistie.
    if (p.command !== undefined) item.command = { command: p.command.id, title: p.command.title, arguments: [node, { preserveFocus: true }] };
    return item;
  }

  dispose(): void {
    for (const s of this.subscriptions) s.dispose();
    this.changeEmitter.dispose();
  }
}

/**
 * Links the Runs tree to the linked selection both ways: selecting a layer in the tree publishes it
 * (the views showing its run select it), and a layer selected in a view is revealed and selected
 * in the tree, when the tree is on screen (revealing would otherwise open the side bar on its own).
 * Channel nodes publish through their click command (cnnslicer.selectChannel).
 */
export function linkRunsTreeToSelections(
  view: vscode.TreeView<RunsTreeNode>,
  index: Pick<RunIndex, 'get'>,
  hub: Pick<SelectionHub, 'select' | 'onDidSelect'>,
): vscode.Disposable {
  /** The node this link revealed last: its selection event is an echo, not the user's choice. */
  let revealed: string | undefined;
  const subscriptions: { dispose(): void }[] = [
    view.onDidChangeSelection((event) => {
      const node = event.selection.length === 1 ? event.selection[0] : undefined;
      if (node?.kind !== 'layer') return;
      const id = nodeIdOf(node);
      if (id === revealed) {
        revealed = undefined;
        return;
      }
      hub.select({ run: node.runDir, layer: node.layer.name }, 'tree');
    }),
    hub.onDidSelect((selection, source) => {
      if (source === 'tree' || selection.layer === undefined || !view.visible) return;
      const entry = index.get(selection.run);
      const node = entry !== undefined ? layerNodeOf(entry, selection.layer) : undefined;
      if (node === undefined) return;
      const id = nodeIdOf(node);
      if (view.selection.length === 1 && nodeIdOf(view.selection[0]) === id) return;
      revealed = id;
      view.reveal(node, { select: true, focus: false, expand: false }).then(undefined, () => {
        revealed = undefined;
      });
    }),
  ];
  return new vscode.Disposable(() => {
    for (const s of subscriptions) s.dispose();
  });
}

// The Runs view: RunIndex's runs, with the nodes and their text decided by runsTreeModel.ts.
import * as vscode from 'vscode';
import type { RunIndex } from './runIndex';
import { childrenOf, presentNode, type RunsTreeNode } from './runsTreeModel';

export class RunsTreeProvider implements vscode.TreeDataProvider<RunsTreeNode>, vscode.Disposable {
  private readonly changeEmitter = new vscode.EventEmitter<RunsTreeNode | undefined>();
  readonly onDidChangeTreeData = this.changeEmitter.event;
  private readonly subscription: vscode.Disposable;

  constructor(private readonly index: RunIndex) {
    // A whole-tree refresh: nodes carry stable ids, so VS Code keeps what was expanded or selected.
    this.subscription = index.onDidChange(() => this.changeEmitter.fire(undefined));
  }

  async getChildren(node?: RunsTreeNode): Promise<RunsTreeNode[]> {
    if (node !== undefined) return childrenOf(node);
    // VS Code asks for the roots only once the view is shown: that, not activation, starts the scan.
    await this.index.whenFound();
    return this.index.runs.map((entry): RunsTreeNode => ({ kind: 'run', entry }));
  }

  getTreeItem(node: RunsTreeNode): vscode.TreeItem {
    const p = presentNode(node);
    // A plain string label, description and tooltip: VS Code renders them as text, so names from a run cannot inject markup.
    const item = new vscode.TreeItem(p.label, p.expandable ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
    item.id = p.id;
    if (p.description !== undefined) item.description = p.description;
    if (p.tooltip !== undefined) item.tooltip = p.tooltip;
    item.iconPath = new vscode.ThemeIcon(p.icon.id, p.icon.color !== undefined ? new vscode.ThemeColor(p.icon.color) : undefined);
    item.contextValue = p.contextValue;
    return item;
  }

  dispose(): void {
    this.subscription.dispose();
    this.changeEmitter.dispose();
  }
}

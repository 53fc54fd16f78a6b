// Entry point. VS Code activates the extension on its commands and on opening the CNNSlicer view
// (events it derives from package.json `contributes`), or when the workspace holds a run.
import * as vscode from 'vscode';
import { analyzeModel, readRunWithProgress, showRunSummary } from './analyzeModel';
import { CnnSlicerContext } from './cnnslicerContext';
import { COMMAND } from './commandIds';
import type { RunsTreeNode } from './runsTreeModel';

let ctx: CnnSlicerContext | undefined;

/**
 * Registers a command whose failures are reported to the user rather than lost in the developer
 * console: every handler's rejection goes through reportError.
 */
function registerCommand(context: vscode.ExtensionContext, c: CnnSlicerContext, id: string, handler: (...args: unknown[]) => Promise<void> | void): void {
  context.subscriptions.push(
    vscode.commands.registerCommand(id, async (...args: unknown[]) => {
      try {
        await handler(...args);
      } catch (err) {
        c.reportError(`Command ${id} failed`, err);
      }
    }),
  );
}

function isRunNode(value: unknown): value is Extract<RunsTreeNode, { kind: 'run' }> {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'run' && 'entry' in value;
}

export function activate(context: vscode.ExtensionContext): void {
  const c = new CnnSlicerContext(context);
  ctx = c;

  registerCommand(context, c, COMMAND.analyzeModel, () => analyzeModel(c));
  registerCommand(context, c, COMMAND.refreshRuns, () => c.runIndex.refresh(true));
  registerCommand(context, c, COMMAND.restartEngine, () => c.restartEngine());
  registerCommand(context, c, COMMAND.showLog, () => c.log.show());
  registerCommand(context, c, COMMAND.showRunSummary, async (node?: unknown) => {
    // From the tree's context menu the argument is the run's node; without one, ask which run.
    if (!isRunNode(node)) return analyzeModel(c);
    const entry = c.runIndex.get(node.entry.dir) ?? node.entry;
    const info = entry.state.kind === 'loaded' ? entry.state.info : await readRunWithProgress(c, entry.dir);
    if (info !== undefined) await showRunSummary(c, info);
  });
}

export async function deactivate(): Promise<void> {
  const c = ctx;
  ctx = undefined;
  // Returning the promise lets VS Code wait for the engine process to stop.
  await c?.dispose();
}

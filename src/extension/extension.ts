// Entry point. VS Code activates the extension on its commands and on opening the CNNSlicer view
// (events it derives from package.json `contributes`), or when the workspace holds a run. Every
// command comes from commands/ (one factory each); this file only registers them.
import * as vscode from 'vscode';
import { CnnSlicerContext } from './cnnslicerContext';
import { registerAttachCodeLens } from './codeLens/attachCodeLensProvider';
import { COMMAND_FACTORIES, type CommandHandler } from './commands';
import { cancelAllTrainings } from './training/trainCommand';

let ctx: CnnSlicerContext | undefined;

/**
 * Registers a command whose failures are reported to the user rather than lost in the developer
 * console: every handler's rejection goes through reportError.
 */
function registerCommand(context: vscode.ExtensionContext, c: CnnSlicerContext, id: string, handler: CommandHandler): void {
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

export function activate(context: vscode.ExtensionContext): void {
  const c = new CnnSlicerContext(context);
  ctx = c;
  const env = { extensionPath: context.extensionPath, globalStoragePath: context.globalStorageUri.fsPath };
  for (const [id, factory] of COMMAND_FACTORIES) registerCommand(context, c, id, factory(c, env));
  // "Attach CNNSlicer" over epoch loops reads only the file's text: no runs, no engine.
  context.subscriptions.push(registerAttachCodeLens());
  // A trainer outliving VS Code would keep writing a run nobody watches.
  context.subscriptions.push({ dispose: cancelAllTrainings });
}

export async function deactivate(): Promise<void> {
  const c = ctx;
  ctx = undefined;
  // Returning the promise lets VS Code wait for the engine process to stop.
  await c?.dispose();
}

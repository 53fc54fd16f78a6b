// The guard every command that executes code (training, running the user's Python) calls first.
// Viewing runs stays available in Restricted Mode: reading a run executes nothing.
import * as vscode from 'vscode';
import { checkTrustedWorkspace } from './restrictedMode';

/**
 * True when the workspace is trusted. Otherwise shows why `action` (e.g. "Train Model") is refused
 * and returns false; the caller then does nothing.
 */
export function requireTrustedWorkspace(action: string): boolean {
  return checkTrustedWorkspace(vscode.workspace.isTrusted, action, (message) => {
    void vscode.window.showErrorMessage(message);
  });
}

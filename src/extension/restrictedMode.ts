// The decision half of workspaceTrust.ts, free of `vscode` so it can be unit-tested.

/** What a user is told when an action that runs code is refused in Restricted Mode. */
export function restrictedModeMessage(action: string): string {
  return `CNNSlicer: ${action} runs code and is disabled in Restricted Mode. Trust this workspace to enable it.`;
}

/** True when the action may go ahead; otherwise reports why it may not and returns false. */
export function checkTrustedWorkspace(isTrusted: boolean, action: string, reportRefusal: (message: string) => void): boolean {
  if (isTrusted) return true;
  reportRefusal(restrictedModeMessage(action));
  return false;
}

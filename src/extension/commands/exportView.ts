// `CNNSlicer: Export View...`: exports the CNNSlicer view the user is in, or was last in (a
// command run from the palette may leave no view active), through the same flow as the view's own
// Export button (panels/viewExport.ts).
import * as vscode from 'vscode';
import type { CnnSlicerContext } from '../cnnslicerContext';
import { exportView } from '../panels/viewExport';

export async function exportActiveView(c: CnnSlicerContext): Promise<void> {
  const panel = c.panels.activePanel();
  if (panel === undefined) {
    void vscode.window.showInformationMessage(
      'CNNSlicer: No view to export. Open one (a layer view, a channel view…) from the Runs view or the palette, then export it.',
    );
    return;
  }
  await exportView(panel, c.log);
}

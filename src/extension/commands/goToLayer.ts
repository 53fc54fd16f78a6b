// `CNNSlicer: Go to Layer…`: a fuzzy-searchable list of a run's layers (of the view the user is in,
// else the run picked), by full name with kind and shape; the layer chosen is selected in every
// view of the run and revealed in the Runs tree, which a 140-layer network makes hard to scroll.
import * as vscode from 'vscode';
import type { CnnSlicerContext } from '../cnnslicerContext';
import { RUNS_VIEW_ID } from '../commandIds';
import { layerPickItems } from '../runs/layerPick';
import { runOfNode } from './commandArgs';

export async function goToLayer(c: CnnSlicerContext, node: unknown): Promise<void> {
  const info = await runOfNode(c, node, 'CNNSlicer: Go to Layer');
  if (info === undefined) return;
  const picked = await vscode.window.showQuickPick(layerPickItems(info), {
    title: `CNNSlicer: Go to Layer of ${info.name}`,
    placeHolder: 'Type part of a layer name (layer3.1 conv2), its kind or its shape',
    matchOnDescription: true,
  });
  if (picked === undefined) return;
  // The tree follows a selection only while it is on screen: shown first, then selected.
  await vscode.commands.executeCommand(`${RUNS_VIEW_ID}.focus`).then(undefined, () => undefined);
  c.selections.select({ run: info.dir, layer: picked.layer }, 'command');
}

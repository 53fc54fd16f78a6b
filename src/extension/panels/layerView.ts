// The layer view (paper §5.3, Fig. 8–12) as a ViewKind, and how a command picks its layers: li
// (columns of the channel-capacity heatmap) and lj (rows). What it draws is webview/layer/.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { parseLayerSelection } from '../../shared/messageValidation';
import { LOGITS_NAME, type LayerInfo, type RunInfo } from '../../shared/runFormat';
import type { LayerSelection, PanelRun } from '../../shared/webviewProtocol';
import { escapeCodicons } from '../plainText';
import type { ViewKind } from './viewPanel';
import type { ShowViewOptions, ViewPanels } from './viewPanels';

function runLabel(run: PanelRun): string {
  return run.state === 'loaded' ? run.info.name : path.basename(run.dir);
}

/** `Layers: mnist-100`. The view shows one run; the layers it compares are in the view itself. */
export function layerViewTitle(runs: readonly PanelRun[]): string {
  return runs.length === 0 ? 'Layers' : `Layers: ${runLabel(runs[0])}`;
}

export const LAYER_VIEW: ViewKind<LayerSelection> = {
  name: 'layer',
  title: layerViewTitle,
  parseSelection: parseLayerSelection,
  initialSelection: (runs) => (runs.length > 0 ? { run: runs[0] } : {}),
};

/**
 * Every layer a capacity can be computed between, in the model's order: the probe inputs (the
 * paper's layer 0), the recorded layers, the logits.
 */
export function capacityLayers(info: RunInfo): { readonly name: string; readonly description: string }[] {
  const shape = (dims: readonly number[]): string => dims.join('×');
  return [
    { name: 'input', description: `probe inputs ${shape(info.manifest.probe.inputShape)} (layer 0)` },
    ...info.manifest.layers.map((l: LayerInfo) => ({ name: l.name, description: `${l.kind} ${shape(l.shape)}` })),
    { name: LOGITS_NAME, description: `output ${info.manifest.classes.length}` },
  ];
}

interface LayerPickItem extends vscode.QuickPickItem {
  readonly layer: string;
}

/** Lets the user pick one layer of the run; undefined when dismissed. */
export async function pickLayer(
  info: RunInfo,
  options: { readonly title: string; readonly placeHolder: string; readonly exclude?: string; readonly withInputAndLogits: boolean },
): Promise<string | undefined> {
  const layers = options.withInputAndLogits
    ? capacityLayers(info)
    : info.manifest.layers.map((l) => ({ name: l.name, description: `${l.kind} ${l.shape.join('×')}` }));
  const items: LayerPickItem[] = layers
    .filter((l) => l.name !== options.exclude)
    .map((l) => ({ label: escapeCodicons(l.name), description: escapeCodicons(l.description), layer: l.name }));
  const picked = await vscode.window.showQuickPick(items, { title: options.title, placeHolder: options.placeHolder, matchOnDescription: true });
  return picked?.layer;
}

/**
 * Opens (or reveals) the run's layer view on li = `layer` against `otherLayers`; the layers not
 * given are asked for with quick picks. Returns false when the user dismissed a pick.
 */
export async function openLayerView(
  panels: ViewPanels,
  info: RunInfo,
  choice: { readonly layer?: string; readonly otherLayers?: readonly string[] },
  options: Pick<ShowViewOptions<LayerSelection>, 'preserveFocus'> = {},
): Promise<boolean> {
  const title = `CNNSlicer: Layer View of ${info.name}`;
  const layer =
    choice.layer ?? (await pickLayer(info, { title, placeHolder: 'Layer li: the columns of the channel-capacity heatmap', withInputAndLogits: true }));
  if (layer === undefined) return false;
  let otherLayers = choice.otherLayers;
  if (otherLayers === undefined || otherLayers.length === 0) {
    const other = await pickLayer(info, {
      title,
      placeHolder: `Layer lj: the rows, compared with ${layer} (more can be added in the view)`,
      exclude: layer,
      withInputAndLogits: true,
    });
    if (other === undefined) return false;
    otherLayers = [other];
  }
  panels.show(LAYER_VIEW, [info.dir], { selection: { run: info.dir, layer, otherLayers }, preserveFocus: options.preserveFocus });
  return true;
}

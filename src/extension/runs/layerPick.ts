// The items of `CNNSlicer: Go to Layer…` (commands/goToLayer.ts): every recorded layer of a run in
// the model's order, by full name, with its kind and shape to match on and the line that built it.
// Plain data (no vscode import), so it is unit-tested.
import type { RunInfo } from '../../shared/runFormat';
import { escapeCodicons } from '../plainText';
import { describeLayer } from './runText';

export interface LayerPickItem {
  readonly label: string;
  readonly description: string;
  readonly detail?: string;
  /** The layer's name, unescaped. */
  readonly layer: string;
}

export function layerPickItems(info: RunInfo): LayerPickItem[] {
  return info.manifest.layers.map((layer) => ({
    label: escapeCodicons(layer.name),
    description: escapeCodicons(describeLayer(layer)),
    ...(layer.source !== undefined ? { detail: escapeCodicons(`${layer.source.file}:${layer.source.line}`) } : {}),
    layer: layer.name,
  }));
}

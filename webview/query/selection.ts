// How the query view's gestures change its selection, and how it maps to and from the linked
// selection the other views share. Pure functions of the run's layers, no DOM.
import type { LinkedSelection } from '../../src/shared/linkedSelection';
import type { LayerInfo, RunInfo } from '../../src/shared/runFormat';
import type { QuerySelection } from '../../src/shared/webviewProtocol';
import type { LayerRange } from './hierarchy';
import { querySamplesOf } from './samples';

export function channelCount(layer: LayerInfo | undefined): number {
  return layer !== undefined && layer.shape.length >= 1 ? layer.shape[0] : 0;
}

/** The selected layers' indices in the model's order; names the run does not have are ignored. */
export function selectedIndices(layers: readonly LayerInfo[], selection: QuerySelection): number[] {
  const wanted = new Set(selection.layers ?? []);
  return layers.flatMap((l, i) => (wanted.has(l.name) ? [i] : []));
}

/** The focus layer's index: the selection's `layer` when selected, else the first selected; -1 for none. */
export function focusIndex(layers: readonly LayerInfo[], selection: QuerySelection): number {
  const selected = selectedIndices(layers, selection);
  const at = layers.findIndex((l) => l.name === selection.layer);
  return selected.includes(at) ? at : (selected[0] ?? -1);
}

/** A channel kept only while it exists in the focus layer. */
function withValidChannel(layers: readonly LayerInfo[], selection: QuerySelection): QuerySelection {
  const focus = focusIndex(layers, selection);
  const { channel, ...rest } = selection;
  if (channel === undefined || focus < 0 || channel >= channelCount(layers[focus])) return rest;
  return selection;
}

/** Layers `from` … `to` (either order), with the focus on `from`, where the gesture started. */
export function selectRange(layers: readonly LayerInfo[], selection: QuerySelection, from: number, to: number): QuerySelection {
  const lo = Math.max(0, Math.min(from, to));
  const hi = Math.min(layers.length - 1, Math.max(from, to));
  const { channel, ...rest } = selection;
  const focusUnchanged = layers[from]?.name === selection.layer && lo === hi;
  return {
    ...rest,
    layers: layers.slice(lo, hi + 1).map((l) => l.name),
    layer: layers[from]?.name,
    // Re-selecting the one layer whose channel is chosen keeps the channel.
    ...(focusUnchanged && channel !== undefined ? { channel } : {}),
  };
}

/**
 * A click on layer `index`: alone it selects that layer; with Shift it extends the selection from
 * the focus layer; with Ctrl/Cmd it adds or removes that layer, the focus staying where it was.
 */
export function clickLayer(layers: readonly LayerInfo[], selection: QuerySelection, index: number, modifier: 'none' | 'range' | 'toggle'): QuerySelection {
  if (modifier === 'range') {
    const anchor = focusIndex(layers, selection);
    return selectRange(layers, selection, anchor < 0 ? index : anchor, index);
  }
  if (modifier === 'toggle') {
    const selected = new Set(selectedIndices(layers, selection));
    if (selected.has(index)) selected.delete(index);
    else selected.add(index);
    const names = layers.filter((_, i) => selected.has(i)).map((l) => l.name);
    // The focus stays where the selection began while that layer stays selected.
    const focus = selection.layer !== undefined && names.includes(selection.layer) ? selection.layer : selected.has(index) ? layers[index].name : names[0];
    const { layers: _layers, layer: _layer, ...rest } = selection;
    return withValidChannel(layers, { ...rest, ...(names.length > 0 ? { layers: names } : {}), ...(focus !== undefined ? { layer: focus } : {}) });
  }
  return selectRange(layers, selection, index, index);
}

/** Drops the layer selection (and with it the channel): the query is then about the model's input and output. */
export function clearLayers(selection: QuerySelection): QuerySelection {
  const { layers: _layers, layer: _layer, channel: _channel, ...rest } = selection;
  return rest;
}

/**
 * Channel `channel` of layer `layerIndex`, as the intersection of a layer slice and a channel slice
 * (Fig. 3C). With `keepOthers` the other selected layers stay selected (the channel still belongs
 * to the focus layer); otherwise the selection narrows to that one layer.
 */
export function selectChannel(
  layers: readonly LayerInfo[],
  selection: QuerySelection,
  layerIndex: number,
  channel: number,
  keepOthers = false,
): QuerySelection {
  const layer = layers[layerIndex];
  if (layer === undefined) return selection;
  const count = channelCount(layer);
  if (count === 0) return selectRange(layers, selection, layerIndex, layerIndex);
  const c = Math.min(count - 1, Math.max(0, channel));
  const selected = selectedIndices(layers, selection);
  const names = keepOthers && selected.includes(layerIndex) ? layers.filter((_, i) => selected.includes(i)).map((l) => l.name) : [layer.name];
  return { ...selection, layers: names, layer: layer.name, channel: c };
}

export function clearChannel(selection: QuerySelection): QuerySelection {
  const { channel: _channel, ...rest } = selection;
  return rest;
}

/**
 * The C axis's length: the channels of the one selected layer, or the most channels of any layer
 * the L axis shows (Fig. 3: the hypercube's C dimension; all layers, or the zoomed block's), at least 1.
 */
export function channelScale(layers: readonly LayerInfo[], selection: QuerySelection, shown: LayerRange = { from: 0, to: layers.length - 1 }): number {
  const selected = selectedIndices(layers, selection);
  if (selected.length === 1) return Math.max(1, channelCount(layers[selected[0]]));
  return Math.max(1, ...layers.slice(shown.from, shown.to + 1).map(channelCount));
}

/** The epoch shown: the chosen one when the run has it, else the newest; undefined before any epoch. */
export function resolvedEpoch(info: RunInfo, selection: QuerySelection): number | undefined {
  const epochs = info.manifest.epochs;
  if (epochs.length === 0) return undefined;
  if (selection.epoch !== undefined && epochs.some((e) => e.epoch === selection.epoch)) return selection.epoch;
  return epochs[epochs.length - 1].epoch;
}

/**
 * Another view's or the tree's choice, as this view's selection: a layer given replaces the layer
 * selection (and the channel with it); epoch and samples replace the view's own when given.
 */
export function applyLinked(info: RunInfo, selection: QuerySelection, linked: LinkedSelection): QuerySelection {
  const layers = info.manifest.layers;
  let next: QuerySelection = { ...selection, run: linked.run };
  if (linked.layer !== undefined && layers.some((l) => l.name === linked.layer)) {
    const wanted = new Set([linked.layer, ...(linked.otherLayers ?? [])]);
    const { channel: _channel, ...rest } = next;
    next = { ...rest, layers: layers.filter((l) => wanted.has(l.name)).map((l) => l.name), layer: linked.layer };
    if (linked.channel !== undefined) next = { ...next, channel: linked.channel };
    next = withValidChannel(layers, next);
  }
  if (linked.epoch !== undefined && info.manifest.epochs.some((e) => e.epoch === linked.epoch)) {
    const newest = info.manifest.epochs[info.manifest.epochs.length - 1].epoch;
    next = linked.epoch === newest ? withoutEpoch(next) : { ...next, epoch: linked.epoch };
  }
  if (linked.samples !== undefined) {
    const samples = querySamplesOf(linked.samples, info.manifest.probe.count);
    if (samples !== undefined) next = { ...next, samples };
  }
  return next;
}

function withoutEpoch(selection: QuerySelection): QuerySelection {
  const { epoch: _epoch, ...rest } = selection;
  return rest;
}

/** Keeps what still exists after the run changed (a layer renamed by a new manifest is dropped). */
export function reconcile(info: RunInfo, selection: QuerySelection): QuerySelection {
  const layers = info.manifest.layers;
  const names = new Set(layers.map((l) => l.name));
  const kept = (selection.layers ?? []).filter((n) => names.has(n));
  let next: QuerySelection = selection;
  if (kept.length !== (selection.layers ?? []).length) next = kept.length > 0 ? { ...next, layers: kept } : clearLayers(next);
  if (next.layer !== undefined && !kept.includes(next.layer)) {
    const { layer: _layer, ...rest } = next;
    next = kept.length > 0 ? { ...rest, layer: kept[0] } : rest;
  }
  return withValidChannel(layers, next);
}

/** The view a query of `selection` goes to, as the host decides it (see queryView.ts). */
export function queryTargetOf(selection: QuerySelection): 'layer' | 'channel' | 'training' {
  const n = selection.layers?.length ?? 0;
  return n >= 2 ? 'layer' : n === 1 ? 'channel' : 'training';
}

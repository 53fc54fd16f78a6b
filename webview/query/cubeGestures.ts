// The hypercube's gestures: dragging along L selects layers, across L and C one channel of a layer,
// along C the channel, along T the epoch; a click on a block's band under the L axis zooms the axis
// into that block; the keys do the same. Everything maps through the layers the L axis spans (all,
// or the zoomed block's), so selecting works alike zoomed or not.
import type { RunInfo } from '../../src/shared/runFormat';
import { channelAt, contains, CUBE, distanceToTAxis, epochAt, layerAt, type Point } from './cube';
import { archTree, isGroup, partition, type LayerRange } from './hierarchy';
import { channelCount, channelScale, clearChannel, clearLayers, focusIndex, resolvedEpoch, selectChannel, selectedIndices, selectRange } from './selection';
import { chosenRun, shownRange } from './choices';
import { cube } from './layout';
import { session, view, type QueryViewSelection } from './state';

export interface CubeActions {
  /** Commits a change the user made (publishes it, saves it, draws it). */
  commit(next: QueryViewSelection): void;
  /** Draws on the next frame (a drag's draft, a hint). */
  scheduleRender(): void;
}

type DragMode = 'layers' | 'cell' | 'channel' | 'epoch';

interface Drag {
  readonly mode: DragMode;
  readonly pointerId: number;
  readonly startLayer: number;
  /** The C axis's scale and the L axis's range when the drag began: neither may change under the pointer. */
  readonly scale: number;
  readonly range: LayerRange;
  readonly base: QueryViewSelection;
}

let drag: Drag | undefined;

function svgPoint(event: PointerEvent): Point {
  const m = cube.getScreenCTM();
  if (m === null) return { x: 0, y: 0 };
  const p = new DOMPoint(event.clientX, event.clientY).matrixTransform(m.inverse());
  return { x: p.x, y: p.y };
}

function dragged(d: Drag, p: Point, info: RunInfo): QueryViewSelection {
  const layers = info.manifest.layers;
  switch (d.mode) {
    case 'layers':
      return selectRange(layers, d.base, d.startLayer, layerAt(CUBE, p.x, d.range));
    case 'cell': {
      const from = selectRange(layers, d.base, d.startLayer, layerAt(CUBE, p.x, d.range));
      const channel = channelAt(CUBE, p.y, d.scale);
      // The channel belongs to the layer where the drag started; the L extent of the drag adds layers.
      return channel < channelCount(layers[d.startLayer]) ? { ...from, channel } : clearChannel(from);
    }
    case 'channel': {
      const focus = focusIndex(layers, d.base);
      return selectChannel(layers, d.base, focus, channelAt(CUBE, p.y, d.scale), true);
    }
    case 'epoch': {
      const epochs = info.manifest.epochs;
      const k = epochAt(CUBE, p, epochs.length);
      const { epoch: _epoch, ...rest } = d.base;
      return k === epochs.length - 1 ? rest : { ...d.base, epoch: epochs[k].epoch };
    }
  }
}

/** The group whose band under the L axis is at x, if a group's (a lone layer has no band). */
function bandAt(info: RunInfo, x: number, range: LayerRange): string | undefined {
  const i = layerAt(CUBE, x, range);
  return partition(archTree(info.manifest.layers), range).find((n) => isGroup(n) && i >= n.from && i <= n.to)?.path;
}

/** The next selection for a key on the hypercube, or undefined when the key means nothing here. */
function keyed(event: KeyboardEvent, info: RunInfo): QueryViewSelection | undefined {
  const layers = info.manifest.layers;
  const epochs = info.manifest.epochs;
  const sel = session.selection;
  const focus = focusIndex(layers, sel);
  const selected = selectedIndices(layers, sel);
  // The arrows, Home and End stay on the layers the L axis shows.
  const { from, to } = shownRange(layers, sel);
  const clamp = (i: number): number => Math.min(to, Math.max(from, i));
  switch (event.key) {
    case 'ArrowLeft':
    case 'ArrowRight': {
      if (layers.length === 0) return undefined;
      const step = event.key === 'ArrowLeft' ? -1 : 1;
      if (event.shiftKey && focus >= 0) {
        // Extends (or shrinks) the far end of the range, keeping the focus where the range began.
        const far = selected[0] === focus ? selected[selected.length - 1] : selected[0];
        return selectRange(layers, sel, focus, clamp(far + step));
      }
      const next = focus < from || focus > to ? from : clamp(focus + step);
      return selectRange(layers, sel, next, next);
    }
    case 'Home':
    case 'End':
      if (layers.length === 0) return undefined;
      return event.key === 'Home' ? selectRange(layers, sel, from, from) : selectRange(layers, sel, to, to);
    case 'ArrowUp':
    case 'ArrowDown': {
      if (focus < 0 || channelCount(layers[focus]) === 0) return undefined;
      const current = sel.channel ?? (event.key === 'ArrowDown' ? -1 : channelCount(layers[focus]));
      return selectChannel(layers, sel, focus, current + (event.key === 'ArrowUp' ? -1 : 1), true);
    }
    case 'PageUp':
    case 'PageDown': {
      if (epochs.length === 0) return undefined;
      const at = epochs.findIndex((e) => e.epoch === resolvedEpoch(info, sel));
      const k = Math.min(epochs.length - 1, Math.max(0, at + (event.key === 'PageUp' ? 1 : -1)));
      const { epoch: _epoch, ...rest } = sel;
      return k === epochs.length - 1 ? rest : { ...sel, epoch: epochs[k].epoch };
    }
    case 'Escape':
      if (sel.channel !== undefined) return clearChannel(sel);
      if (selected.length > 0) return clearLayers(sel);
      return undefined;
    default:
      return undefined;
  }
}

/** Listens to the pointer and the keys on the hypercube. */
export function listenToCube(actions: CubeActions): void {
  cube.addEventListener('pointerdown', (event: PointerEvent) => {
    const run = chosenRun();
    if (run === undefined || event.button !== 0) return;
    const info = run.info;
    const layers = info.manifest.layers;
    const range = shownRange(layers, session.selection);
    const p = svgPoint(event);
    if (layers.length > 0 && contains(CUBE.lBlocks, p)) {
      const band = bandAt(info, p.x, range);
      if (band !== undefined) {
        event.preventDefault();
        actions.commit({ ...session.selection, layerZoom: band });
      }
      return;
    }
    let mode: DragMode | undefined;
    if (layers.length > 0 && contains(CUBE.lAxis, p, 2)) mode = 'layers';
    else if (layers.length > 0 && contains(CUBE.face, p)) mode = 'cell';
    else if (contains(CUBE.cAxis, p, 2)) {
      if (focusIndex(layers, session.selection) >= 0) mode = 'channel';
      else {
        view.queryStatus = { text: 'Select a layer first: a channel is one of its channels.', error: false };
        actions.scheduleRender();
      }
    } else if (info.manifest.epochs.length > 0 && distanceToTAxis(CUBE, p) <= 14) mode = 'epoch';
    if (mode === undefined) return;
    event.preventDefault();
    cube.focus();
    cube.setPointerCapture(event.pointerId);
    drag = {
      mode,
      pointerId: event.pointerId,
      startLayer: layerAt(CUBE, p.x, range),
      scale: channelScale(layers, session.selection, range),
      range,
      base: session.selection,
    };
    view.draft = dragged(drag, p, info);
    actions.scheduleRender();
  });

  cube.addEventListener('pointermove', (event: PointerEvent) => {
    const run = chosenRun();
    if (drag === undefined || run === undefined || event.pointerId !== drag.pointerId) return;
    view.draft = dragged(drag, svgPoint(event), run.info);
    actions.scheduleRender();
  });

  const endDrag = (event: PointerEvent, keep: boolean): void => {
    const run = chosenRun();
    if (drag === undefined || event.pointerId !== drag.pointerId) return;
    const d = drag;
    drag = undefined;
    if (cube.hasPointerCapture(event.pointerId)) cube.releasePointerCapture(event.pointerId);
    if (!keep || run === undefined) {
      view.draft = undefined;
      actions.scheduleRender();
      return;
    }
    actions.commit(dragged(d, svgPoint(event), run.info));
  };
  cube.addEventListener('pointerup', (event: PointerEvent) => endDrag(event, true));
  cube.addEventListener('pointercancel', (event: PointerEvent) => endDrag(event, false));

  cube.addEventListener('keydown', (event: KeyboardEvent) => {
    const run = chosenRun();
    if (run === undefined) return;
    const next = keyed(event, run.info);
    if (next === undefined) return;
    event.preventDefault();
    actions.commit(next);
  });
}

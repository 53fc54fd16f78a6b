// The query view's (B): the hypercube dCNN(X, L, C, T) drawn in SVG with its L, C and T axes and
// the slice selected in it (paper Fig. 3). The L axis spans all layers or a zoomed block's, with the
// blocks of those layers as named bands under it.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import type { LayerInfo, RunInfo } from '../../src/shared/runFormat';
import { type QuerySelection } from '../../src/shared/webviewProtocol';
import { replaceChildren } from '../shared/dom';
import { type LoadedRun } from '../shared/runs';
import { boxFaces, channelSpan, CUBE, epochDepth, fittingLabel, layerLabelIndices, layerSpan, points, tickIndices, type Point } from './cube';
import { archTree, isGroup, partition, rangeCount, shortLabels, type LayerRange } from './hierarchy';
import { channelCount, channelScale, focusIndex, resolvedEpoch, selectedIndices } from './selection';
import { s, titled } from './svg';
import { describeSlice, runsOf, shown, shownRange } from './choices';
import { cube } from './layout';
import { KIND_LABELS } from './state';

export function renderCube(run: LoadedRun | undefined): void {
  const children: SVGElement[] = [];
  const info = run?.info;
  const layers = info?.manifest.layers ?? [];
  const epochs = info?.manifest.epochs ?? [];
  const sel = shown();
  const L = layers.length;
  const range = shownRange(layers, sel);
  const inRange = (i: number): boolean => i >= range.from && i <= range.to;
  const C = channelScale(layers, sel, range);
  const E = epochs.length;
  const f = CUBE.face;
  const d = CUBE.depth;
  const whole = boxFaces(CUBE, f.x, f.x + f.w, f.y, f.y + f.h);

  // What lies behind the front face is hidden by it: a slab's side face (and the intersection's)
  // inside the cube is drawn only where it shows above or beside the front face, not over the
  // layers after it.
  children.push(
    s(
      'defs',
      {},
      s(
        'clipPath',
        { id: 'outside-front' },
        s('path', {
          'clip-rule': 'evenodd',
          d: `M0 0H${CUBE.width}V${CUBE.height}H0Z M${f.x} ${f.y}h${f.w}v${f.h}h${-f.w}Z`,
        }),
      ),
    ),
  );
  // Back edges first, then the faces, so the slabs drawn after them sit inside the cube.
  children.push(s('polygon', { class: 'cube-face top', points: points(whole.top) }), s('polygon', { class: 'cube-face side', points: points(whole.side) }));
  children.push(s('rect', { id: 'cube-face', class: 'cube-face front', x: f.x, y: f.y, width: f.w, height: f.h }));

  // Each layer's column on the front face, as tall as its share of the C axis: the architecture's silhouette.
  for (let i = range.from; i <= range.to; i++) {
    const [x0, x1] = layerSpan(CUBE, i, range);
    const share = Math.min(1, channelCount(layers[i]) / C);
    const kind = layers[i].kind in KIND_LABELS ? layers[i].kind : 'other';
    children.push(s('rect', { class: `layer-column kind-${kind}`, x: x0 + 0.5, y: f.y, width: Math.max(0, x1 - x0 - 1), height: f.h * share }));
    if (i > range.from) children.push(s('line', { class: 'grid', x1: x0, y1: f.y, x2: x0 + d.x, y2: f.y + d.y }));
  }

  // The epoch slice: a plane parallel to the front face at its depth on T.
  const epochIndex = info !== undefined ? epochs.findIndex((e) => e.epoch === resolvedEpoch(info, sel)) : -1;
  if (epochIndex >= 0 && E > 1) {
    const t = epochDepth(epochIndex, E);
    children.push(s('rect', { id: 'epoch-plane', class: 'epoch-plane', x: f.x + t * d.x, y: f.y + t * d.y, width: f.w, height: f.h }));
  }

  const selected = selectedIndices(layers, sel);
  const focus = focusIndex(layers, sel);
  // The layer slices (Fig. 3B), one box per run of adjacent selected layers on the axis.
  for (const [a, b] of runsOf(selected.filter(inRange))) {
    const [x0] = layerSpan(CUBE, a, range);
    const [, x1] = layerSpan(CUBE, b, range);
    const box = boxFaces(CUBE, x0, x1, f.y, f.y + f.h);
    children.push(
      s(
        'g',
        { class: 'slab layer-slab', 'data-from': a, 'data-to': b },
        s('polygon', { class: 'slab-front', points: points(box.front) }),
        s('polygon', { class: 'slab-top', points: points(box.top) }),
        s('polygon', { class: 'slab-side', points: points(box.side), 'clip-path': 'url(#outside-front)' }),
      ),
    );
  }
  // The channel slice and its intersection with the focus layer (Fig. 3C).
  if (sel.channel !== undefined && focus >= 0 && inRange(focus)) {
    const [y0, y1] = channelSpan(CUBE, sel.channel, C);
    const slab = boxFaces(CUBE, f.x, f.x + f.w, y0, y1);
    children.push(
      s(
        'g',
        { class: 'slab channel-slab' },
        s('polygon', { class: 'slab-front', points: points(slab.front) }),
        s('polygon', { class: 'slab-side', points: points(slab.side) }),
      ),
    );
    const [x0, x1] = layerSpan(CUBE, focus, range);
    const cell = boxFaces(CUBE, x0, x1, y0, y1);
    children.push(
      titled(
        s(
          'g',
          { id: 'intersection', class: 'intersection', 'data-layer': focus, 'data-channel': sel.channel },
          s('polygon', { class: 'slab-front', points: points(cell.front) }),
          s('polygon', { class: 'slab-top', points: points(cell.top) }),
          s('polygon', { class: 'slab-side', points: points(cell.side), 'clip-path': 'url(#outside-front)' }),
        ),
        `${layers[focus].name}, channel ${sel.channel}`,
      ),
    );
  }
  children.push(
    s('rect', { class: 'cube-outline', x: f.x, y: f.y, width: f.w, height: f.h }),
    s('polygon', { class: 'cube-outline', points: points(whole.top) }),
    s('polygon', { class: 'cube-outline', points: points(whole.side) }),
  );

  children.push(lAxis(layers, selected, range, sel.layerZoom), blockBands(layers, range), cAxis(layers, sel, C, focus), tAxis(info, epochIndex));
  replaceChildren(cube as unknown as Element, ...children);
  dropOverflowingNames();
  cube.setAttribute(
    'aria-label',
    info === undefined
      ? 'Hypercube (no run loaded)'
      : `Hypercube of ${info.name}: ${L} layers${sel.layerZoom !== undefined ? ` (L zoomed to ${sel.layerZoom}, layers ${range.from + 1}–${range.to + 1})` : ''}, up to ${Math.max(1, ...layers.map(channelCount))} channels, ${E} epochs. ${describeSlice(info, sel)}`,
  );
}

export function lAxis(layers: readonly LayerInfo[], selected: readonly number[], range: LayerRange, zoom: string | undefined): SVGElement {
  const a = CUBE.lAxis;
  const g = s('g', { id: 'l-axis', class: 'axis l-axis', 'data-layers': layers.length, 'data-from': range.from, 'data-to': range.to });
  g.appendChild(s('rect', { class: 'axis-band', x: a.x, y: a.y, width: a.w, height: a.h }));
  const labelled = new Set(layerLabelIndices(range, a.w));
  const chosen = new Set(selected);
  for (let i = range.from; i <= range.to; i++) {
    const [x0, x1] = layerSpan(CUBE, i, range);
    const tick = titled(
      s('rect', { class: `l-tick${chosen.has(i) ? ' selected' : ''}`, 'data-index': i, x: x0, y: a.y, width: x1 - x0, height: a.h }),
      `L${i + 1}: ${layers[i].name}`,
    );
    g.appendChild(tick);
    if (labelled.has(i)) g.appendChild(s('text', { class: 'tick-label', x: (x0 + x1) / 2, y: a.y + a.h / 2 + 4, 'text-anchor': 'middle' }, String(i + 1)));
  }
  const b = CUBE.lBlocks;
  const title = zoom !== undefined ? `L (layers ${range.from + 1}–${range.to + 1} of ${layers.length}: ${zoom})` : 'L (layers)';
  g.appendChild(s('text', { id: 'l-axis-title', class: 'axis-title', x: a.x + a.w / 2, y: b.y + b.h + 18, 'text-anchor': 'middle' }, title));
  return g;
}

/**
 * The blocks of the layers on the L axis as alternating bands under it, each named where its name
 * (or a shorter form of it) fits inside the band, so names never overlap; clicking one zooms in
 * (cubeGestures.ts). A lone layer between blocks has no band.
 */
export function blockBands(layers: readonly LayerInfo[], range: LayerRange): SVGElement {
  const b = CUBE.lBlocks;
  const tree = archTree(layers);
  const g = s('g', { id: 'l-blocks', class: 'l-blocks' });
  if (rangeCount(range) <= 0) return g;
  let k = 0;
  for (const node of partition(tree, range)) {
    if (!isGroup(node)) continue;
    const from = Math.max(node.from, range.from);
    const to = Math.min(node.to, range.to);
    const [x0] = layerSpan(CUBE, from, range);
    const [, x1] = layerSpan(CUBE, to, range);
    g.appendChild(
      titled(
        s('rect', {
          class: `l-band${k++ % 2 === 1 ? ' odd' : ''}`,
          'data-path': node.path,
          'data-from': from,
          'data-to': to,
          x: x0,
          y: b.y,
          width: x1 - x0,
          height: b.h,
        }),
        `${node.path}: layers ${from + 1}–${to + 1} (${node.count} layers). Click to zoom the L axis into it.`,
      ),
    );
    const name = fittingLabel([node.path, ...shortLabels(node, tree)], x1 - x0);
    if (name !== undefined)
      g.appendChild(
        s(
          'text',
          { class: 'band-label', 'data-path': node.path, 'data-width': x1 - x0, x: (x0 + x1) / 2, y: b.y + b.h / 2 + 4, 'text-anchor': 'middle' },
          name,
        ),
      );
  }
  return g;
}

/** The names' widths were estimated; one drawn wider than its band (a font wider than assumed) is removed rather than overlap its neighbour's. */
function dropOverflowingNames(): void {
  cube.querySelectorAll<SVGTextElement>('#l-blocks text.band-label').forEach((label) => {
    if (label.getComputedTextLength() > Number(label.dataset.width) - 2) label.remove();
  });
}

export function cAxis(layers: readonly LayerInfo[], sel: QuerySelection, C: number, focus: number): SVGElement {
  const a = CUBE.cAxis;
  const single = selectedIndices(layers, sel).length === 1 ? layers[focus] : undefined;
  const g = s('g', { id: 'c-axis', class: 'axis c-axis', 'data-channels': C });
  g.appendChild(s('rect', { class: 'axis-band', x: a.x, y: a.y, width: a.w, height: a.h }));
  for (const c of tickIndices(C, 6)) {
    const [y0, y1] = channelSpan(CUBE, c, C);
    g.appendChild(s('text', { class: 'tick-label', x: a.x + a.w / 2, y: (y0 + y1) / 2 + 4, 'text-anchor': 'middle' }, String(c)));
  }
  if (sel.channel !== undefined && focus >= 0) {
    const [y0, y1] = channelSpan(CUBE, sel.channel, C);
    g.appendChild(s('rect', { class: 'c-marker', x: a.x, y: y0, width: a.w, height: Math.max(2, y1 - y0) }));
  }
  const title = single !== undefined ? `C (${C} channels of ${single.name})` : `C (channels, up to ${C})`;
  g.appendChild(
    s('text', { class: 'axis-title', x: a.x - 10, y: a.y + a.h / 2, 'text-anchor': 'middle', transform: `rotate(-90 ${a.x - 10} ${a.y + a.h / 2})` }, title),
  );
  return g;
}

export function tAxis(info: RunInfo | undefined, epochIndex: number): SVGElement {
  const epochs = info?.manifest.epochs ?? [];
  const E = epochs.length;
  const g = s('g', { id: 't-axis', class: 'axis t-axis', 'data-epochs': E });
  g.appendChild(s('line', { class: 'axis-hit', x1: CUBE.tFrom.x, y1: CUBE.tFrom.y, x2: CUBE.tTo.x, y2: CUBE.tTo.y }));
  g.appendChild(s('line', { class: 'axis-line', x1: CUBE.tFrom.x, y1: CUBE.tFrom.y, x2: CUBE.tTo.x, y2: CUBE.tTo.y }));
  const at = (k: number): Point => {
    const t = epochDepth(k, E);
    return { x: CUBE.tFrom.x + t * (CUBE.tTo.x - CUBE.tFrom.x), y: CUBE.tFrom.y + t * (CUBE.tTo.y - CUBE.tFrom.y) };
  };
  for (const k of tickIndices(E, 6)) {
    const p = at(k);
    g.appendChild(s('circle', { class: 'tick-dot', cx: p.x, cy: p.y, r: 2 }));
    g.appendChild(s('text', { class: 'tick-label', x: p.x + 8, y: p.y + 4 }, String(epochs[k].epoch)));
  }
  if (epochIndex >= 0) {
    const p = at(epochIndex);
    g.appendChild(s('circle', { id: 't-marker', class: 't-marker', cx: p.x, cy: p.y, r: 5 }));
  }
  g.appendChild(s('text', { class: 'axis-title', x: CUBE.tTo.x + 8, y: CUBE.tTo.y - 10 }, 'T (epochs)'));
  return g;
}

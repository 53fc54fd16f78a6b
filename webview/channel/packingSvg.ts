// The circle packing (Fig. 13B) as SVG, for the channel view's export (issue 17): the circles the
// canvas shows, where it shows them (a zoom at rest shows one class), drawn again as vector
// circles in the export's colours with the canvas's own rules (packing.ts): class circles tinted
// and outlined in the class's colour, channel circles on the entropy ramp, the rest of a class's
// channels as one dashed grey circle, the selected channel outlined, and a label wherever the
// canvas wrote one. Only drawing; the figure around it is exportFigure.ts's.
import { figureFont, round, svg, svgText, textWidth } from '../shared/svgFigure';
import { over, toCss, type Rgba, type ThemeColors } from '../shared/theme';
import { type GroupKey } from './entropyModel';
import { channelValueMax, textOn, valueRamp, type PackingInput, type ScreenCircle } from './packing';

export interface PackingSvgInput {
  readonly drawn: PackingInput;
  readonly groups: readonly ScreenCircle[];
  readonly channels: readonly ScreenCircle[];
  /** The canvas's side in CSS pixels: the coordinates of the circles. */
  readonly canvasSize: number;
  /** The figure's side: the canvas's scaled up (a narrow card's packing is still readable on paper). */
  readonly size: number;
  readonly groupColor: (group: GroupKey) => string;
  readonly focus: Rgba;
}

/** The packing at (0, 0) of its group, `size` square. */
export function packingSvg(p: PackingSvgInput, colors: ThemeColors): SVGGElement {
  const k = p.size / p.canvasSize;
  const dark = colors.kind === 'dark' || colors.kind === 'high-contrast';
  const ramp = valueRamp(colors, channelValueMax(p.drawn.layout));
  const foreground = toCss(colors.foreground);
  const focus = toCss(p.focus);
  const highlighted = p.drawn.highlighted;
  const drawnIn = new Set(p.channels.filter((c) => c.kind === 'channel' && c.channel === highlighted).map((c) => c.group));
  const g = svg('g', { class: 'packing' });
  // Circles beyond the canvas's edge (a zoom in motion) are cut there, as on screen.
  g.appendChild(svg('defs', {}, svg('clipPath', { id: 'packing-clip' }, svg('rect', { x: 0, y: 0, width: round(p.size), height: round(p.size) }))));
  const circles = svg('g', { 'clip-path': 'url(#packing-clip)' });
  g.appendChild(circles);
  const at = (c: ScreenCircle): { cx: number; cy: number; r: number } => ({ cx: round(c.sx * k), cy: round(c.sy * k), r: round(c.sr * k) });

  for (const c of p.groups) {
    if (!c.shown) continue;
    const color = p.groupColor(c.group);
    circles.appendChild(
      svg('circle', {
        class: 'class-circle',
        'data-group': String(c.group),
        ...at(c),
        fill: color,
        'fill-opacity': dark ? 0.2 : 0.14,
        stroke: color,
        'stroke-width': p.drawn.zoom === c.group ? 2 : 1.5,
      }),
    );
  }
  for (const c of p.channels) {
    if (!c.shown || c.sr < 0.3) continue;
    if (c.kind === 'rest') {
      const holds = highlighted !== undefined && !drawnIn.has(c.group) && highlighted < p.drawn.channels;
      circles.appendChild(
        svg('circle', {
          class: 'rest-circle',
          'data-group': String(c.group),
          ...at(c),
          fill: toCss({ ...colors.muted, a: dark ? 0.22 : 0.16 }),
          stroke: holds ? focus : toCss(colors.muted),
          'stroke-width': holds ? 2.5 : 1,
          'stroke-dasharray': '4 3',
        }),
      );
      continue;
    }
    const selected = c.channel === highlighted;
    circles.appendChild(
      svg('circle', {
        class: 'channel-circle',
        'data-group': String(c.group),
        'data-channel': c.channel,
        ...at(c),
        fill: toCss(ramp(c.value)),
        stroke: selected ? focus : undefined,
        'stroke-width': selected ? 2.5 : undefined,
      }),
    );
  }

  // Labels where the canvas wrote them, over the circles: channel numbers and rest counts, then class names.
  const fontSize = Math.max(10, colors.fontSize - 2);
  const labels = svg('g', { class: 'labels', 'text-anchor': 'middle', 'dominant-baseline': 'central' });
  for (const c of p.channels) {
    if (!c.shown || !c.labelled) continue;
    const fill = c.kind === 'rest' ? over({ ...colors.muted, a: 0.2 }, colors.background) : ramp(c.value);
    const label = c.kind === 'rest' ? `+${c.count ?? 0}` : String(c.channel);
    labels.appendChild(
      svgText(c.sx * k, c.sy * k, label, { class: 'channel-label', 'font-size': fontSize - 1, fill: c.kind === 'rest' ? foreground : textOn(fill) }),
    );
  }
  const bold = figureFont(colors, fontSize, 'bold');
  for (const c of p.groups) {
    if (!c.shown || !c.labelled) continue;
    const label = p.drawn.groupLabel(c.group);
    const y = Math.max(fontSize, c.sy * k - c.sr * k + fontSize * 0.9);
    const width = Math.min(textWidth(label, bold), Math.max(20, 2 * c.sr * k - 8));
    labels.appendChild(
      svg('rect', {
        class: 'label-backdrop',
        x: round(c.sx * k - width / 2 - 3),
        y: round(y - fontSize * 0.65),
        width: round(width + 6),
        height: round(fontSize * 1.3),
        fill: toCss(colors.background),
        'fill-opacity': 0.8,
      }),
    );
    labels.appendChild(svgText(c.sx * k, y, label, { class: 'class-label', 'font-size': fontSize, 'font-weight': 600, fill: foreground }));
  }
  g.appendChild(labels);
  return g;
}

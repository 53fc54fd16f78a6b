// What the channel view exports (issue 17). The view has three cards; the export is (B), the circle
// packing at the chosen epoch (Fig. 13B), as it is on screen (zoomed into a class or not, every
// channel or each class's top channels and the rest): it is the view's figure of one epoch, the
// one vector figure of the three, and it holds what (A) shows at that epoch in a form that reads on
// paper. (A) is every channel over every epoch in a scrolled, virtualised canvas, at 1,280 channels
// 200 rows of boxes, no page's worth; (C) is the deconvnet's pictures, not numbers. The figure
// has the title (run, layer, epoch, samples, estimator parameters), the packing as vector circles
// (packingSvg.ts), the entropy colour scale in bits, and a legend of the classes with their total
// entropy. The table holds every circle shown, in the packing's order: a class's circle (its total)
// followed by its channel circles and its rest circle.
import { exportBaseName } from '../../src/shared/exportProtocol';
import type { ExportMetaValue, ExportTable } from '../../src/shared/exportTable';
import { shortestFloat32 } from '../../src/shared/exportTable';
import type { ChannelEntropiesResult, EstimatorParams } from '../../src/shared/measures';
import { NothingToExport, type ExportContext, type ExportProvider } from '../shared/exportView';
import type { LoadedRun } from '../shared/runs';
import { figureFont, figureRoot, rampLegend, round, svg, svgText, textWidth, wrapText } from '../shared/svgFigure';
import { classColors, cssVar, parseColor, toCss, type ThemeColors } from '../shared/theme';
import { chosenEpoch, chosenLayer, chosenRun, groupName, seriesOf } from './choices';
import { formatBits, type GroupKey } from './entropyModel';
import { packing } from './layout';
import { channelValueMax, valueRamp, type PackingInput, type ScreenCircle } from './packing';
import { packingSvg } from './packingSvg';

interface Exported {
  readonly run: LoadedRun;
  readonly layer: string;
  readonly item: ChannelEntropiesResult;
  readonly params: EstimatorParams;
  readonly drawn: PackingInput;
  /** The circles drawn now: every class's, or the zoomed class's alone. */
  readonly groups: readonly ScreenCircle[];
  readonly channels: readonly ScreenCircle[];
}

const MARGIN = 16;
/** The packing's smallest side in the figure: a narrow card's packing is scaled up to it. */
const MIN_PACKING_PX = 480;
const WIDTH_MIN = 620;

/** The packing on screen, if it shows the chosen run, layer and epoch (not an older one while the new one loads) and is at rest. */
function exported(): Exported {
  const run = chosenRun();
  if (run === undefined) throw new NothingToExport('The channel view shows no run yet.');
  const layer = chosenLayer(run);
  const epoch = chosenEpoch(run);
  const series = layer !== undefined ? seriesOf(run, layer) : undefined;
  const drawn = packing.drawn;
  const source = drawn?.source;
  if (
    layer === undefined ||
    series === undefined ||
    drawn === undefined ||
    packing.canvas.hidden ||
    source === undefined ||
    source.run !== run.dir ||
    source.layer !== layer ||
    source.item.epoch !== epoch
  )
    throw new NothingToExport('The channel view has no circle packing to export yet: wait until its intra-sample entropies are computed.');
  if (packing.animating) throw new NothingToExport('The circle packing is zooming: export it once it is still.');
  const screen = packing.screenCircles();
  return {
    run,
    layer,
    item: source.item,
    params: series.params,
    drawn,
    groups: screen.groups.filter((g) => g.shown),
    channels: screen.channels.filter((c) => c.shown),
  };
}

/** How many probe samples a group's entropies average: the most any channel had (a channel's NaN maps leave it fewer). */
function samplesOf(item: ChannelEntropiesResult, group: GroupKey): number {
  let most = 0;
  for (let c = 0; c < item.channels; c++) most = Math.max(most, group === 'all' ? item.allCount[c] : item.perClassCount[group * item.channels + c]);
  return most;
}

function samplesText(e: Exported): string {
  const perClass = e.run.info.manifest.classes.map((name, k) => `${name} ${samplesOf(e.item, k)}`).join(', ');
  return `all ${samplesOf(e.item, 'all')} probe samples, each class’s circle over its own (${perClass})`;
}

function rangeText(params: EstimatorParams): string {
  return params.intraNormalization === 'map'
    ? 'each map’s own min to max'
    : params.intraNormalization === 'channel'
      ? 'the channel’s min to max over the samples'
      : 'the layer’s min to max over the samples';
}

function estimatorText(params: EstimatorParams): string {
  return `Intra-sample entropy (§4.4.2, §5.4.1): the Shannon entropy in bits of each feature map’s histogram, averaged over the samples of a class (or all samples); ${params.intraBins} equal-width bins over ${rangeText(params)}, so the largest possible entropy is ${Math.log2(params.intraBins)} bits.`;
}

/** The channel circles per class: every one, or the top ones and a rest circle (the group's count of kept channels). */
function topText(e: Exported): string {
  const rest = e.channels.find((c) => c.kind === 'rest');
  if (rest === undefined) return 'inside, a circle per channel with area proportional to its entropy';
  const top = e.channels.filter((c) => c.kind === 'channel' && c.group === rest.group).length;
  return `inside, the class’s ${top} highest-entropy channels of ${e.item.channels}, each a circle with area proportional to its entropy, and one dashed grey circle standing for a typical one of the others (area: their mean entropy)`;
}

function title(e: Exported): string {
  return `Intra-sample entropy per class and channel: ${e.run.info.name}`;
}

function zoomText(e: Exported): string {
  return e.drawn.zoom !== undefined ? ` Zoomed into ${groupName(e.run, e.drawn.zoom)}.` : '';
}

/** The classes' legend: each class's colour as its circle is drawn, its name and total entropy. */
function groupLegend(e: Exported, color: (g: GroupKey) => string, colors: ThemeColors, width: number): { g: SVGGElement; height: number } {
  const fs = colors.fontSize;
  const font = figureFont(colors, fs);
  const dark = colors.kind === 'dark' || colors.kind === 'high-contrast';
  const g = svg('g', { class: 'legend group-legend' });
  g.appendChild(svgText(0, fs, 'Classes: circle size = total entropy of the layer’s channels, bits', { class: 'legend-caption', fill: toCss(colors.muted) }));
  let x = 0;
  let y = 2 * fs + 10;
  for (const group of e.groups) {
    const text = `${groupName(e.run, group.group)}: ${formatBits(group.value)} bits`;
    const itemWidth = 22 + textWidth(text, font) + 18;
    if (x > 0 && x + itemWidth > width) {
      x = 0;
      y += fs + 10;
    }
    const c = color(group.group);
    g.appendChild(
      svg(
        'g',
        { class: 'legend-item', 'data-group': String(group.group) },
        svg('circle', { cx: round(x + 7), cy: round(y - fs * 0.35), r: 7, fill: c, 'fill-opacity': dark ? 0.2 : 0.14, stroke: c, 'stroke-width': 1.5 }),
        svgText(x + 22, y, text, { class: 'legend-label' }),
      ),
    );
    x += itemWidth;
  }
  return { g, height: y + 4 };
}

function figure({ colors }: ExportContext): SVGSVGElement {
  const e = exported();
  const fs = colors.fontSize;
  const palette = classColors(e.run.info.manifest.classes.length);
  const groupColor = (g: GroupKey): string => (g === 'all' ? toCss(colors.foreground) : palette[g]);
  const focus = parseColor(cssVar('--vscode-focusBorder', toCss(colors.accent))) ?? colors.accent;
  const canvasSize = packing.size;
  const size = Math.max(canvasSize, MIN_PACKING_PX);
  const width = Math.max(WIDTH_MIN, size + 2 * MARGIN);
  const inner = width - 2 * MARGIN;
  const selected = e.drawn.highlighted !== undefined ? ` The outlined circles are channel ${e.drawn.highlighted}, selected.` : '';
  const subtitle = [
    `Layer ${e.layer}, epoch ${e.item.epoch}; ${samplesText(e)}.${zoomText(e)}`,
    `A circle per class and one for all samples, its size the total entropy of the layer’s channels for those samples; ${topText(e)}.${selected}`,
    estimatorText(e.params),
  ];
  const subtitleSize = Math.max(10, fs - 1);
  const subtitleFont = figureFont(colors, subtitleSize);
  const parts: SVGElement[] = [];
  let y = MARGIN + fs + 3;
  parts.push(svgText(MARGIN, y, title(e), { class: 'figure-title', 'font-size': fs + 3, 'font-weight': 600 }));
  for (const line of subtitle.flatMap((s) => wrapText(s, inner, subtitleFont))) {
    y += subtitleSize + 5;
    parts.push(svgText(MARGIN, y, line, { class: 'figure-subtitle', 'font-size': subtitleSize, fill: toCss(colors.muted) }));
  }
  y += 14;
  const circles = packingSvg({ drawn: e.drawn, groups: e.groups, channels: e.channels, canvasSize, size, groupColor, focus }, colors);
  circles.setAttribute('transform', `translate(${round(MARGIN + (inner - size) / 2)} ${round(y)})`);
  parts.push(circles);
  y += size + 16 + fs + 6;
  const max = channelValueMax(e.drawn.layout);
  const ramp = valueRamp(colors, max);
  parts.push(
    rampLegend({
      id: 'entropy-ramp',
      x: MARGIN,
      y,
      width: 240,
      height: 12,
      from: ramp(0),
      to: ramp(max),
      lowLabel: '0 bits',
      highLabel: `${formatBits(max)} bits`,
      caption: 'Channel circle colour and area: intra-sample entropy, bits',
      colors,
    }),
  );
  y += 12 + Math.max(9, fs - 2) + 3 + 18;
  const legend = groupLegend(e, groupColor, colors, inner);
  legend.g.setAttribute('transform', `translate(${MARGIN} ${round(y)})`);
  parts.push(legend.g);
  y += legend.height + MARGIN;
  const root = figureRoot(width, y, colors, title(e), `${subtitle.join(' ')} Channel circles are numbered where the number fits.`);
  for (const part of parts) root.appendChild(part);
  return root;
}

function table(): ExportTable {
  const e = exported();
  const p = e.params;
  const rest = e.channels.find((c) => c.kind === 'rest');
  const meta: Record<string, ExportMetaValue> = {
    view: 'channel',
    chart: 'circle packing of the channels per class (Shen & Shen, section 5.4, Fig. 13B)',
    run: e.run.info.name,
    run_dir: e.run.dir,
    layer: e.layer,
    epoch: e.item.epoch,
    samples: samplesText(e),
    ...(e.drawn.zoom !== undefined ? { zoomed_into: groupName(e.run, e.drawn.zoom) } : {}),
    channels_in_layer: e.item.channels,
    channel_circles_per_class: rest === undefined ? 'every channel' : e.channels.filter((c) => c.kind === 'channel' && c.group === rest.group).length,
    measure: 'intra-sample entropy: Shannon entropy of each feature map’s histogram, averaged over the samples (Shen & Shen, sections 4.4.2 and 5.4.1)',
    unit: 'bits',
    intra_bins: p.intraBins,
    intra_normalization: p.intraNormalization,
    ...(e.drawn.highlighted !== undefined ? { selected_channel: e.drawn.highlighted } : {}),
    circles:
      'class: its circle, entropy_bits the sum over its channels; channel: one channel’s mean entropy; rest: the class’s other channels, entropy_bits their sum',
    row_order: 'as the packing is laid out: each class (then all samples) followed by its channel circles in channel order, the rest last',
  };
  const rows: (string | number | null)[][] = [];
  for (const group of e.groups) {
    const name = groupName(e.run, group.group);
    const inside = e.channels.filter((c) => c.group === group.group);
    const count = inside.reduce((n, c) => n + (c.kind === 'rest' ? (c.count ?? 0) : 1), 0);
    rows.push([name, 'class', null, count, group.value]);
    for (const c of inside) {
      if (c.kind === 'rest') rows.push([name, 'rest', null, c.count ?? 0, c.value]);
      else rows.push([name, 'channel', c.channel ?? null, 1, shortestFloat32(c.value)]);
    }
  }
  return { title: title(e), meta, columns: ['class', 'circle', 'channel', 'channels', 'entropy_bits'], rows };
}

/** The channel view's export: installExport(client, channelExport, header.actions) in main.ts. */
export const channelExport: ExportProvider = {
  fileName: () => {
    const e = exported();
    return [
      exportBaseName([e.run.info.name, e.layer, 'channels']),
      `epoch${e.item.epoch}`,
      e.drawn.zoom !== undefined ? groupName(e.run, e.drawn.zoom) : undefined,
    ];
  },
  figure,
  table,
};

// What the training view exports (issue 17). The view has five cards; the export is the one at its
// centre, "Label entropies over epochs": (B) H(label | y = i) and (C) H(y | label = i) of the run
// chosen in the toolbar, one line per class, as the paper's Fig. 4(B–C). They are the view's own
// measure over the whole run, where (A) is one epoch of it (the dashed line marks that epoch here
// too), and (D) and (E) compare runs by numbers the run summary and the loss log already hold.
// The figure is vector: the charts drawn again as SVG (svgChart.ts) from the values the charts
// show, with the title, the axes and their titles, the ∞ marks, the notes saying what ∞ means and
// the class legend. Classes hidden in the legend are left out of the figure and of the table,
// which holds every value the two charts show: one row per epoch and shown class.
import { exportBaseName } from '../../src/shared/exportProtocol';
import type { ExportMetaValue, ExportTable } from '../../src/shared/exportTable';
import type { LabelEntropiesResult } from '../../src/shared/measures';
import { NothingToExport, type ExportContext, type ExportProvider } from '../shared/exportView';
import type { LoadedRun } from '../shared/runs';
import { figureFont, figureRoot, round, svg, svgText, textWidth, wrapText } from '../shared/svgFigure';
import { classColors, classDash, toCss, type ThemeColors } from '../shared/theme';
import { chosenRun } from './choices';
import { entropyAxis, entropyLines, formatNumber, infinityMarks, type EntropyKind } from './series';
import { hiddenClasses, labelData, view } from './state';
import { svgLineChart } from './svgChart';

interface Exported {
  readonly run: LoadedRun;
  readonly items: readonly LabelEntropiesResult[];
  readonly classes: readonly string[];
  /** The classes shown (not hidden in the legend), in class order. */
  readonly shown: readonly number[];
  /** The epoch marked on the charts (the confusion matrix's). */
  readonly marked: LabelEntropiesResult | undefined;
}

interface ChartText {
  readonly kind: EntropyKind;
  readonly id: string;
  readonly heading: string;
  readonly yTitle: string;
  readonly infinity: string;
}

/** The two charts as the view titles them (layout.ts) and explains their ∞. */
const CHARTS: readonly ChartText[] = [
  {
    kind: 'labelGivenPrediction',
    id: 'chart-label-given-prediction',
    heading: '(B) H(label | y = i): uncertainty of the true class among samples predicted as i',
    yTitle: 'H(label | y = i), bits',
    infinity: '∞ = never predicted: no sample was predicted as i at that epoch, so H(label | y = i) is undefined (a gap, not 0).',
  },
  {
    kind: 'predictionGivenLabel',
    id: 'chart-prediction-given-label',
    heading: '(C) H(y | label = i): spread of the predictions for the samples of class i',
    yTitle: 'H(y | label = i), bits',
    infinity: '∞ = no probe sample of class i.',
  },
];

const WIDTH = 760;
const CHART_HEIGHT = 280;
const MARGIN = 16;
const ESTIMATOR = 'Shannon entropy in bits of the confusion matrix’s columns (B) and rows (C); predictions are the argmax of the logits.';

/** The chosen run's label entropies as the charts show them; they may be the epochs computed before while new ones are computed. */
function exported(): Exported {
  const run = chosenRun();
  if (run === undefined) throw new NothingToExport('The training view shows no run yet.');
  const items = labelData.get(run.dir)?.value?.items ?? [];
  if (items.length === 0) throw new NothingToExport('The training view has no label entropies to export yet: wait until they are computed.');
  const classes = run.info.manifest.classes;
  const shown = classes.map((_, c) => c).filter((c) => !hiddenClasses.has(c));
  return { run, items, classes, shown, marked: items.find((i) => i.epoch === view.cursorEpoch) };
}

function title(e: Exported): string {
  return `Label entropies over epochs: ${e.run.info.name}`;
}

function samplesText(e: Exported): string {
  return `all ${e.run.info.manifest.probe.count} probe samples`;
}

function epochsText(e: Exported): string {
  const first = e.items[0].epoch;
  const last = e.items[e.items.length - 1].epoch;
  return first === last ? `epoch ${first}` : `epochs ${first}–${last}`;
}

function markedText(e: Exported): string {
  return e.marked === undefined
    ? ''
    : ` The dashed line marks epoch ${e.marked.epoch} (accuracy ${formatNumber(100 * e.marked.accuracy)}%), the confusion matrix’s.`;
}

/** The classes' legend: a stroke in each class's colour and dash, and its name, wrapped to `width`. */
function classLegend(e: Exported, palette: readonly string[], colors: ThemeColors, width: number): { g: SVGGElement; height: number } {
  const fs = colors.fontSize;
  const font = figureFont(colors, fs);
  const g = svg('g', { class: 'legend' });
  g.appendChild(svgText(0, fs, 'Classes (one line each)', { class: 'legend-caption', fill: toCss(colors.muted) }));
  let x = 0;
  let y = 2 * fs + 8;
  for (const c of e.shown) {
    const itemWidth = 28 + textWidth(e.classes[c], font) + 18;
    if (x > 0 && x + itemWidth > width) {
      x = 0;
      y += fs + 8;
    }
    const dash = classDash(c);
    g.appendChild(
      svg(
        'g',
        { class: 'legend-item', 'data-series': e.classes[c] },
        svg('line', {
          x1: round(x),
          x2: round(x + 22),
          y1: round(y - fs * 0.35),
          y2: round(y - fs * 0.35),
          stroke: palette[c],
          'stroke-width': 2.5,
          'stroke-dasharray': dash.length > 0 ? dash.join(' ') : undefined,
        }),
        svgText(x + 28, y, e.classes[c], { class: 'legend-label' }),
      ),
    );
    x += itemWidth;
  }
  return { g, height: y + 4 };
}

function figure({ colors }: ExportContext): SVGSVGElement {
  const e = exported();
  const fs = colors.fontSize;
  const palette = classColors(e.classes.length);
  const inner = WIDTH - 2 * MARGIN;
  const hidden = e.classes.filter((_, c) => hiddenClasses.has(c));
  const subtitle = [
    `(B) H(label | y = i) and (C) H(y | label = i), one line per class, ${epochsText(e)}; ${samplesText(e)}.${markedText(e)}`,
    ESTIMATOR,
    ...(hidden.length > 0 ? [`Hidden in the view, and here: ${hidden.join(', ')}.`] : []),
  ];
  const subtitleSize = Math.max(10, fs - 1);
  const subtitleFont = figureFont(colors, subtitleSize);
  const noteSize = Math.max(9, fs - 2);
  const noteFont = figureFont(colors, noteSize);
  const muted = toCss(colors.muted);

  const parts: SVGElement[] = [];
  let y = MARGIN + fs + 3;
  parts.push(svgText(MARGIN, y, title(e), { class: 'figure-title', 'font-size': fs + 3, 'font-weight': 600 }));
  for (const line of subtitle.flatMap((s) => wrapText(s, inner, subtitleFont))) {
    y += subtitleSize + 5;
    parts.push(svgText(MARGIN, y, line, { class: 'figure-subtitle', 'font-size': subtitleSize, fill: muted }));
  }
  const first = e.items[0].epoch;
  const last = e.items[e.items.length - 1].epoch;
  for (const chart of CHARTS) {
    // The axis as on screen: from every class's line, hidden or not, so the export's scale is the view's.
    const lines = entropyLines(e.items, chart.kind, e.classes.length);
    const marks = infinityMarks(lines);
    const axis = entropyAxis(lines, e.classes.length, marks);
    y += 22;
    for (const line of wrapText(chart.heading, inner, figureFont(colors, fs, 'bold'))) {
      parts.push(svgText(MARGIN, y, line, { class: 'chart-title', 'font-weight': 600 }));
      y += fs + 4;
    }
    const g = svgLineChart(
      {
        id: chart.id,
        width: inner,
        height: CHART_HEIGHT,
        xTitle: 'epoch',
        yTitle: chart.yTitle,
        xMin: first === last ? first - 1 : first,
        xMax: first === last ? last + 1 : last,
        yMin: 0,
        yMax: axis.top,
        yLabelsUpTo: axis.bandStart,
        series: e.shown.map((c) => ({ label: e.classes[c], color: palette[c], dash: classDash(c), points: lines[c] })),
        marks: marks
          .filter((m) => !hiddenClasses.has(m.classIndex))
          .map((m) => ({ x: m.epoch, y: axis.markY(m.stack), color: palette[m.classIndex], series: e.classes[m.classIndex] })),
        glyph: '∞',
        cursor: e.marked?.epoch,
        dots: e.items.length <= 40,
      },
      colors,
    );
    g.setAttribute('transform', `translate(${MARGIN} ${round(y)})`);
    parts.push(g);
    y += CHART_HEIGHT;
    for (const line of wrapText(chart.infinity, inner, noteFont)) {
      y += noteSize + 4;
      parts.push(svgText(MARGIN, y, line, { class: 'note', 'font-size': noteSize, fill: muted }));
    }
  }
  y += 18;
  const legend = classLegend(e, palette, colors, inner);
  legend.g.setAttribute('transform', `translate(${MARGIN} ${round(y)})`);
  parts.push(legend.g);
  y += legend.height + MARGIN;
  const description = `${subtitle.join(' ')} Each line is a class; a gap with an ∞ above it is an epoch where the entropy is undefined.`;
  const root = figureRoot(WIDTH, y, colors, title(e), description);
  for (const part of parts) root.appendChild(part);
  return root;
}

/** An entropy as the table holds it: the engine's number, or null where it is undefined (the view's ∞). */
function cell(value: number | undefined | null): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function table(): ExportTable {
  const e = exported();
  const meta: Record<string, ExportMetaValue> = {
    view: 'training',
    chart: 'label entropies over epochs, (B) and (C) (Shen & Shen, section 5.2, Fig. 4)',
    run: e.run.info.name,
    run_dir: e.run.dir,
    epochs: e.items.map((i) => i.epoch),
    ...(e.marked !== undefined ? { marked_epoch: e.marked.epoch, accuracy_at_marked_epoch: e.marked.accuracy } : {}),
    samples: samplesText(e),
    classes: e.shown.map((c) => e.classes[c]),
    ...(e.shown.length < e.classes.length ? { classes_hidden: e.classes.filter((_, c) => hiddenClasses.has(c)) } : {}),
    measure: ESTIMATOR,
    unit: 'bits',
    undefined_values:
      'empty in CSV, null in JSON: the view’s ∞, where nothing was predicted as i (h_label_given_prediction) or class i has no probe sample (h_prediction_given_label)',
    row_order: 'by epoch, then by class in the legend’s order',
  };
  const rows: (string | number | null)[][] = [];
  for (const item of e.items) {
    for (const c of e.shown) rows.push([item.epoch, e.classes[c], cell(item.labelGivenPrediction[c]), cell(item.predictionGivenLabel[c])]);
  }
  return { title: title(e), meta, columns: ['epoch', 'class', 'h_label_given_prediction_bits', 'h_prediction_given_label_bits'], rows };
}

/** The training view's export: installExport(client, trainingExport, toolbarActions) in main.ts. */
export const trainingExport: ExportProvider = {
  fileName: () => {
    const e = exported();
    const first = e.items[0].epoch;
    const last = e.items[e.items.length - 1].epoch;
    return [exportBaseName([e.run.info.name, 'label-entropies']), first === last ? `epoch${first}` : `epochs${first}-${last}`];
  },
  figure,
  table,
};

// The plane itself: one Chart.js line per representation through its epochs' points, in its depth's
// colour, with a large marker at the chosen epoch. Chart.js draws and scales; the hover and the click
// go through nearestPoint over the points' positions on screen, which the tests read too.
import type { Chart } from 'chart.js';
import { axisStyle, baseOptions, renderChart } from '../shared/charts';
import { toCss, type ThemeColors } from '../shared/theme';
import type { ScreenPoint, Trajectory } from './trajectories';

/** Points closer than this to the pointer are hovered and clicked, in CSS pixels. */
export const HIT_RADIUS_PX = 10;

export interface PlaneDrawing {
  readonly trajectories: readonly Trajectory[];
  readonly colors: readonly string[];
  /** The epoch the markers sit on; none before the plane has an epoch. */
  readonly marked: number | undefined;
  /** The trajectory drawn on top and thicker; the others fade a little. */
  readonly selectedLayer: string | undefined;
}

interface PlotPoint {
  readonly x: number;
  readonly y: number;
  readonly epoch: number;
}

function withAlpha(rgb: string, alpha: number): string {
  const m = /^rgb\((\d+), (\d+), (\d+)\)$/.exec(rgb);
  return m === null ? rgb : `rgba(${m[1]}, ${m[2]}, ${m[3]}, ${alpha})`;
}

export class PlaneChart {
  private chart: Chart<'line', PlotPoint[]> | undefined;
  private drawn: PlaneDrawing | undefined;

  constructor(readonly canvas: HTMLCanvasElement) {}

  render(drawing: PlaneDrawing, theme: ThemeColors): void {
    this.drawn = drawing;
    const { trajectories, colors, marked, selectedLayer } = drawing;
    const datasets = trajectories.map((t, i) => {
      const data: PlotPoint[] = t.points.flatMap((p) => (p.IXT !== undefined && p.ITY !== undefined ? [{ x: p.IXT, y: p.ITY, epoch: p.epoch }] : []));
      // The marker: the marked epoch's point, or the latest before it (pointAt's rule), so a live run's
      // new epoch still computing leaves every marker where the plane last was.
      let markerIndex = -1;
      if (marked !== undefined) for (let k = 0; k < data.length && data[k].epoch <= marked; k++) markerIndex = k;
      const selected = t.layer === selectedLayer;
      const faded = selectedLayer !== undefined && !selected;
      const color = faded ? withAlpha(colors[i], 0.45) : colors[i];
      return {
        label: t.layer,
        data,
        borderColor: color,
        backgroundColor: color,
        borderWidth: selected ? 3.5 : 1.75,
        // The marker is large and outlined; the first epoch is hollow, so a trajectory's direction shows.
        pointRadius: data.map((_, k) => (k === markerIndex ? 7 : k === 0 ? 3.5 : 2.5)),
        pointBorderWidth: data.map((_, k) => (k === markerIndex ? 2 : k === 0 ? 1.5 : 0)),
        pointBorderColor: data.map((_, k) => (k === markerIndex ? toCss(theme.foreground) : color)),
        pointBackgroundColor: data.map((_, k) => (k === 0 && k !== markerIndex ? toCss(theme.background) : color)),
        pointHoverRadius: data.map((_, k) => (k === markerIndex ? 8 : 5)),
        // Chart.js draws higher orders first: the selected trajectory ends on top.
        order: selected ? 0 : 1,
        spanGaps: false,
      };
    });
    this.chart = renderChart<'line'>(this.canvas, {
      type: 'line',
      data: { datasets },
      options: {
        ...baseOptions(theme),
        parsing: false,
        // The view's own tooltip (main.ts) gives the exact values; Chart.js's hover styles stay.
        events: ['mousemove', 'mouseout'],
        interaction: { mode: 'nearest', intersect: true },
        scales: {
          x: { type: 'linear', beginAtZero: true, ...axisStyle(theme, 'I(X; T), bits') },
          y: { type: 'linear', beginAtZero: true, ...axisStyle(theme, 'I(T; Y), bits') },
        },
        plugins: { tooltip: { enabled: false } },
      },
    }) as Chart<'line', PlotPoint[]>;
  }

  /** Every point drawn, where it is on the page (CSS pixels), the markers' last per trajectory. */
  screenPoints(): ScreenPoint[] {
    const chart = this.chart;
    const drawn = this.drawn;
    if (chart === undefined || drawn === undefined || this.canvas.hidden) return [];
    const box = this.canvas.getBoundingClientRect();
    const xs = chart.scales.x;
    const ys = chart.scales.y;
    const out: ScreenPoint[] = [];
    drawn.trajectories.forEach((t) => {
      for (const p of t.points) {
        if (p.IXT === undefined || p.ITY === undefined) continue;
        out.push({
          layer: t.layer,
          depth: t.depth,
          epoch: p.epoch,
          IXT: p.IXT,
          ITY: p.ITY,
          x: box.left + xs.getPixelForValue(p.IXT),
          y: box.top + ys.getPixelForValue(p.ITY),
        });
      }
    });
    // The selected trajectory is drawn on top: it wins a hover where points overlap.
    return [...out.filter((p) => p.layer !== drawn.selectedLayer), ...out.filter((p) => p.layer === drawn.selectedLayer)];
  }
}

// Chart.js for the views: only the parts the views use are registered (tree-shaking keeps the rest
// out of the bundles), colours come from the theme at each render, and a chart is re-rendered in
// place (new data and options, same canvas) when its data or the theme changes.
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  LinearScale,
  LineController,
  LineElement,
  LogarithmicScale,
  PointElement,
  Tooltip,
  type ChartConfiguration,
  type ChartType,
  type Plugin,
} from 'chart.js';
import { toCss, type ThemeColors } from './theme';

Chart.register(LineController, LineElement, PointElement, BarController, BarElement, LinearScale, LogarithmicScale, CategoryScale, Tooltip);

declare global {
  interface Window {
    /**
     * Every chart of the view by canvas id, for inspecting what is drawn from the webview's
     * developer tools (and from the browser tests): `cnnslicerCharts.get('…').data.datasets`.
     */
    cnnslicerCharts?: Map<string, Chart>;
  }
}

const charts = new Map<string, Chart>();
window.cnnslicerCharts = charts;

/**
 * Creates the chart on first use, then replaces its data and options. Options are rebuilt from the
 * theme by the caller each time, so a theme change is one more render.
 */
export function renderChart<T extends ChartType>(canvas: HTMLCanvasElement, config: ChartConfiguration<T>): Chart<T> {
  const existing = charts.get(canvas.id) as Chart<T> | undefined;
  if (existing !== undefined && existing.canvas === canvas) {
    existing.data = config.data;
    if (config.options !== undefined) existing.options = config.options;
    // No animation: a live run re-renders every epoch, and a theme switch should not animate.
    existing.update('none');
    return existing;
  }
  existing?.destroy();
  const chart = new Chart<T>(canvas, config);
  charts.set(canvas.id, chart as unknown as Chart);
  return chart;
}

/** Axis and tooltip styling shared by every chart, from the theme now. */
export function baseOptions(colors: ThemeColors): {
  color: string;
  font: { family: string; size: number };
  animation: false;
  responsive: true;
  maintainAspectRatio: false;
} {
  return {
    color: toCss(colors.foreground),
    font: { family: colors.fontFamily, size: Math.max(11, colors.fontSize - 1) },
    animation: false,
    responsive: true,
    maintainAspectRatio: false,
  };
}

export function axisStyle(
  colors: ThemeColors,
  title: string,
): {
  title: { display: true; text: string; color: string };
  ticks: { color: string };
  grid: { color: string };
  border: { color: string };
} {
  const grid = toCss({ ...colors.grid, a: 0.35 });
  return {
    title: { display: true, text: title, color: toCss(colors.muted) },
    ticks: { color: toCss(colors.foreground) },
    grid: { color: grid },
    border: { color: toCss(colors.grid) },
  };
}

export function tooltipStyle(colors: ThemeColors): {
  backgroundColor: string;
  titleColor: string;
  bodyColor: string;
  borderColor: string;
  borderWidth: number;
} {
  return {
    backgroundColor: toCss(colors.background),
    titleColor: toCss(colors.foreground),
    bodyColor: toCss(colors.foreground),
    borderColor: toCss(colors.grid),
    borderWidth: 1,
  };
}

const glyphs = new Map<string, HTMLCanvasElement>();

/**
 * A point style showing `text` (the paper's ∞) in `color`. chart.js draws an image point style
 * centred on the point at its width and height attributes. Cached per text, colour and size.
 */
export function textGlyph(text: string, color: string, fontFamily: string, size: number): HTMLCanvasElement {
  const key = `${text}|${color}|${fontFamily}|${size}`;
  const cached = glyphs.get(key);
  if (cached !== undefined) return cached;
  const canvas = document.createElement('canvas');
  const font = `bold ${size}px ${fontFamily}`;
  const ctx = canvas.getContext('2d');
  if (ctx === null) return canvas;
  ctx.font = font;
  canvas.width = Math.ceil(ctx.measureText(text).width) + 2;
  canvas.height = Math.ceil(size * 1.2);
  // Resizing a canvas resets its context.
  ctx.font = font;
  ctx.fillStyle = color;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  ctx.fillText(text, canvas.width / 2, canvas.height / 2);
  glyphs.set(key, canvas);
  return canvas;
}

/** A dashed vertical line at the x value `at()` returns (the selected epoch), over the datasets. */
export function verticalMarker<T extends ChartType>(id: string, at: () => number | undefined, color: () => string): Plugin<T> {
  return {
    id,
    afterDatasetsDraw(chart) {
      const x = at();
      const scale = chart.scales.x;
      if (x === undefined || scale === undefined) return;
      const px = scale.getPixelForValue(x);
      const area = chart.chartArea;
      if (!(px >= area.left - 0.5 && px <= area.right + 0.5)) return;
      const ctx = chart.ctx;
      ctx.save();
      ctx.strokeStyle = color();
      ctx.lineWidth = 1;
      ctx.setLineDash([4, 3]);
      ctx.beginPath();
      ctx.moveTo(px, area.top);
      ctx.lineTo(px, area.bottom);
      ctx.stroke();
      ctx.restore();
    },
  };
}

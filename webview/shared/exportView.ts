// Exporting a view (issue 17), once for every view: the Export button in the view's toolbar, and
// the answer to the host's export requests: the figure as SVG or PNG, the numbers behind it as
// CSV or JSON. The host (src/extension/panels/viewExport.ts) asks for the format and where to
// save, and writes the file; the messages are src/shared/exportProtocol.ts.
//
// HOW A VIEW PLUGS IN: one call, once, after its layout is built (e.g. at the end of main.ts):
//
//     installExport(session.client, provider, header.actions);
//
// where the third argument is the element of the view's toolbar the Export button goes into
// (`RunHeader.actions` for the views with a run header, else the view's own `.toolbar-actions`),
// and `provider` is an ExportProvider, best kept in a file of its own (webview/layer/exportFigure.ts
// is the example):
//
// - `fileName()`: the parts of the proposed file name, e.g. [run name, layer, `epoch${epoch}`];
//   joined with '-' and made safe (exportFileName), the extension added.
// - `figure({ colors, lightBackground })`: an <svg> root with the figure as it is on screen, its
//   title (run, layers, epoch, samples, estimator parameters), axes with their labels, legend and
//   units. Build it with svgFigure.ts (figureRoot, svgText, rampLegend, rasterImage; a heatmap's
//   cells may be one embedded raster) in the `colors` given, or return an <svg> that is already in
//   the page (a chart drawn as SVG): it is cloned with its computed styles written out as
//   attributes. It must have numeric `width` and `height` attributes (CSS pixels): the PNG is that
//   times twice the screen's pixel density. Called synchronously while, for "light background for
//   print", the fixed print palette (src/shared/printPalette.ts) stands in for the theme: themeColors(),
//   runColors(), classColors() and CSS variables all give light-theme colours during the call,
//   and the user's theme is back before anything is painted.
// - `table()`: the values the figure shows as an ExportTable (src/shared/exportTable.ts): columns,
//   rows, and `meta` with at least run, layer(s), epoch, samples and the estimator parameters.
//
// `figure` and `table` throw NothingToExport with a sentence for the user when there is nothing to
// export yet (still computing); the host shows it.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import { exportBaseName, exportFileName, type ExportContent, type ExportFormat, type ExportRequest } from '../../src/shared/exportProtocol';
import { toCsv, toJson, type ExportTable } from '../../src/shared/exportTable';
import { PRINT_BODY_CLASS, PRINT_PALETTE } from '../../src/shared/printPalette';
import { h } from './dom';
import type { HostClient } from './hostClient';
import { themeColors, type ThemeColors } from './theme';

export interface ExportContext {
  /** The colours to draw in: the user's theme, or the print palette's. */
  readonly colors: ThemeColors;
  readonly lightBackground: boolean;
}

export interface ExportProvider {
  fileName(): readonly (string | number | undefined)[];
  figure(context: ExportContext): SVGSVGElement;
  table(): ExportTable;
}

/** Thrown by a provider when the view has nothing to export yet; its message is shown to the user as it is. */
export class NothingToExport extends Error {}

/** The PNG's pixels per CSS pixel of the figure: twice the screen's density. */
export function pngScale(): number {
  return 2 * (window.devicePixelRatio || 1);
}

/** Chromium's canvas limits (a side of 32,767 pixels, an area of 268 million) with room to spare. */
const MAX_PNG_SIDE = 16_384;
const MAX_PNG_PIXELS = 120_000_000;

/** Theme classes VS Code puts on <body>; one of them at a time. */
const THEME_BODY_CLASSES = ['vscode-light', 'vscode-dark', 'vscode-high-contrast', 'vscode-high-contrast-light'];

/**
 * Runs `draw` with the print palette standing in for the theme: the `--vscode-*` variables and the
 * body's theme class, set through the CSSOM (the CSP allows no style attribute) and put back exactly
 * as they were before returning. Synchronous, so nothing is painted in between; the views' theme
 * observers see the change and its undoing and redraw once, in the theme they are in.
 */
export function withPrintTheme<T>(draw: () => T): T {
  const style = document.documentElement.style;
  const saved = Object.keys(PRINT_PALETTE).map((name) => {
    const property = `--vscode-${name}`;
    return { property, value: style.getPropertyValue(property), priority: style.getPropertyPriority(property) };
  });
  const bodyClasses = THEME_BODY_CLASSES.filter((c) => document.body.classList.contains(c));
  try {
    for (const [name, value] of Object.entries(PRINT_PALETTE)) style.setProperty(`--vscode-${name}`, value);
    document.body.classList.remove(...THEME_BODY_CLASSES);
    document.body.classList.add(PRINT_BODY_CLASS);
    return draw();
  } finally {
    for (const { property, value, priority } of saved) {
      if (value === '') style.removeProperty(property);
      else style.setProperty(property, value, priority);
    }
    document.body.classList.remove(...THEME_BODY_CLASSES);
    document.body.classList.add(...bodyClasses);
  }
}

/** Presentation properties a figure drawn in the page takes from its stylesheet; written out as attributes in its clone. */
const INLINED_PROPERTIES = [
  'fill',
  'fill-opacity',
  'stroke',
  'stroke-width',
  'stroke-opacity',
  'stroke-dasharray',
  'opacity',
  'font-family',
  'font-size',
  'font-weight',
  'font-style',
  'text-anchor',
  'dominant-baseline',
  'visibility',
  'display',
];

/**
 * A standalone copy of an <svg> shown in the page: each element's computed presentation (its CSS
 * classes and the theme's variables resolved) written as attributes, which a file without the
 * view's stylesheets keeps.
 */
export function withInlinedStyles(shown: SVGSVGElement): SVGSVGElement {
  const copy = shown.cloneNode(true) as SVGSVGElement;
  const from = [shown, ...Array.from(shown.querySelectorAll('*'))];
  const to = [copy, ...Array.from(copy.querySelectorAll('*'))];
  from.forEach((el, i) => {
    const computed = getComputedStyle(el);
    for (const property of INLINED_PROPERTIES) {
      const value = computed.getPropertyValue(property);
      if (value !== '') to[i].setAttribute(property, value);
    }
  });
  return copy;
}

interface SvgFile {
  readonly text: string;
  readonly width: number;
  readonly height: number;
}

/** The provider's figure as the text of a standalone SVG file, in the theme or the print palette. */
export function figureSvg(provider: ExportProvider, lightBackground: boolean): SvgFile {
  const draw = (): SvgFile => {
    const built = provider.figure({ colors: themeColors(), lightBackground });
    const root = built.isConnected ? withInlinedStyles(built) : built;
    const width = Number(root.getAttribute('width'));
    const height = Number(root.getAttribute('height'));
    if (!(width > 0 && height > 0)) throw new Error('the exported figure has no width and height');
    return { text: `<?xml version="1.0" encoding="UTF-8"?>\n${new XMLSerializer().serializeToString(root)}\n`, width, height };
  };
  return lightBackground ? withPrintTheme(draw) : draw();
}

/**
 * The SVG drawn into a PNG of `scale` pixels per CSS pixel, as base64. The SVG is loaded as an
 * image from a data: URL (the view's CSP allows data: images, and an SVG image with no
 * foreignObject leaves the canvas readable).
 */
export async function svgToPng(file: SvgFile, scale: number): Promise<string> {
  const fit = Math.min(scale, MAX_PNG_SIDE / file.width, MAX_PNG_SIDE / file.height, Math.sqrt(MAX_PNG_PIXELS / (file.width * file.height)));
  const image = new Image();
  image.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(file.text)}`;
  await image.decode();
  const canvas = document.createElement('canvas');
  canvas.width = Math.round(file.width * fit);
  canvas.height = Math.round(file.height * fit);
  const ctx = canvas.getContext('2d');
  if (ctx === null) throw new Error('the browser gave no canvas to draw the PNG in');
  ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
  const url = canvas.toDataURL('image/png');
  return url.slice(url.indexOf(',') + 1);
}

/** The file a request asks for, made from what the view shows now. */
export async function exportFile(provider: ExportProvider, format: ExportFormat, lightBackground: boolean): Promise<{ content: string; fileName: string }> {
  const fileName = exportFileName(exportBaseName(provider.fileName()), format);
  switch (format) {
    case 'csv':
      return { fileName, content: toCsv(provider.table()) };
    case 'json':
      return { fileName, content: toJson(provider.table()) };
    case 'svg':
      return { fileName, content: figureSvg(provider, lightBackground).text };
    case 'png':
      return { fileName, content: await svgToPng(figureSvg(provider, lightBackground), pngScale()) };
  }
}

async function answer(client: HostClient<unknown>, provider: ExportProvider, request: ExportRequest): Promise<void> {
  let content: ExportContent;
  try {
    const file = await exportFile(provider, request.format, request.lightBackground);
    content = { type: 'exportContent', id: request.id, ok: true, format: request.format, encoding: request.format === 'png' ? 'base64' : 'utf8', ...file };
  } catch (err) {
    if (!(err instanceof NothingToExport))
      client.log('warn', `export as ${request.format} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    content = { type: 'exportContent', id: request.id, ok: false, message: err instanceof Error ? err.message : String(err) };
  }
  client.postExportContent(content);
}

/**
 * Makes the view exportable: an Export button at the end of `toolbar` that asks the host to
 * export, and the answers to the host's requests from `provider`. Call once per view.
 */
export function installExport<S>(client: HostClient<S>, provider: ExportProvider, toolbar: Element): HTMLElement {
  const button = h(
    'vscode-button',
    { attrs: { id: 'export-view', secondary: true, title: 'Export the figure (PNG, SVG) or the numbers behind it (CSV, JSON)' } },
    'Export…',
  );
  button.addEventListener('click', () => client.askExport());
  toolbar.appendChild(button);
  client.onExportRequest((request) => void answer(client as HostClient<unknown>, provider, request));
  return button;
}

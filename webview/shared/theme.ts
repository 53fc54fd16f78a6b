// Colours from the VS Code theme. VS Code sets every theme colour as a `--vscode-*` CSS variable on
// the webview's <html> and marks <body> with vscode-light, vscode-dark or vscode-high-contrast
// (plus vscode-high-contrast-light); both change when the user switches themes. Canvases (charts)
// cannot use CSS variables, so they read the computed values at draw time and redraw on change.

export type ThemeKind = 'light' | 'dark' | 'high-contrast' | 'high-contrast-light';

export function themeKind(): ThemeKind {
  const c = document.body.classList;
  if (c.contains('vscode-high-contrast-light')) return 'high-contrast-light';
  if (c.contains('vscode-high-contrast')) return 'high-contrast';
  if (c.contains('vscode-light')) return 'light';
  return 'dark';
}

export function isDarkTheme(kind: ThemeKind = themeKind()): boolean {
  return kind === 'dark' || kind === 'high-contrast';
}

/** The computed value of a CSS variable, or `fallback` when the theme does not define it. */
export function cssVar(name: string, fallback: string): string {
  const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return value !== '' ? value : fallback;
}

export interface Rgba {
  readonly r: number;
  readonly g: number;
  readonly b: number;
  /** 0…1. */
  readonly a: number;
}

let probe: CanvasRenderingContext2D | null | undefined;

/**
 * Any CSS colour the browser understands (#rgb, #rrggbbaa, rgb(), named…) as numbers. A canvas
 * context normalises what is assigned to fillStyle to `#rrggbb` or `rgba(r, g, b, a)`.
 */
export function parseColor(css: string): Rgba | undefined {
  probe ??= document.createElement('canvas').getContext('2d');
  if (probe === null) return undefined;
  probe.fillStyle = '#010203';
  probe.fillStyle = css;
  const normal = String(probe.fillStyle);
  if (normal === '#010203' && css.trim().toLowerCase() !== '#010203') return undefined;
  const hex = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(normal);
  if (hex) return { r: parseInt(hex[1], 16), g: parseInt(hex[2], 16), b: parseInt(hex[3], 16), a: 1 };
  const rgba = /^rgba?\(\s*([\d.]+)\s*,\s*([\d.]+)\s*,\s*([\d.]+)\s*(?:,\s*([\d.]+)\s*)?\)$/i.exec(normal);
  if (rgba) return { r: Number(rgba[1]), g: Number(rgba[2]), b: Number(rgba[3]), a: rgba[4] !== undefined ? Number(rgba[4]) : 1 };
  return undefined;
}

export function toCss(c: Rgba): string {
  const r = Math.round(c.r);
  const g = Math.round(c.g);
  const b = Math.round(c.b);
  return c.a >= 1 ? `rgb(${r}, ${g}, ${b})` : `rgba(${r}, ${g}, ${b}, ${Number(c.a.toFixed(3))})`;
}

export function mix(from: Rgba, to: Rgba, t: number): Rgba {
  const u = Math.min(1, Math.max(0, t));
  return { r: from.r + (to.r - from.r) * u, g: from.g + (to.g - from.g) * u, b: from.b + (to.b - from.b) * u, a: from.a + (to.a - from.a) * u };
}

/** A colour drawn over an opaque background: theme colours often carry alpha (#ffffff1a). */
export function over(color: Rgba, background: Rgba): Rgba {
  return { ...mix(background, { ...color, a: 1 }, color.a), a: 1 };
}

/** WCAG relative luminance, 0 (black) … 1 (white). */
export function relativeLuminance(c: Rgba): number {
  const channel = (v: number): number => {
    const s = v / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b);
}

/** WCAG contrast ratio, 1 … 21. */
export function contrastRatio(a: Rgba, b: Rgba): number {
  const la = relativeLuminance(a);
  const lb = relativeLuminance(b);
  return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
}

function colorVar(name: string, fallback: string): Rgba {
  return parseColor(cssVar(name, fallback)) ?? (parseColor(fallback) as Rgba);
}

/** The colours every view draws with, read from the theme now. */
export interface ThemeColors {
  readonly kind: ThemeKind;
  readonly background: Rgba;
  readonly foreground: Rgba;
  readonly muted: Rgba;
  readonly grid: Rgba;
  /** The strongest end of sequential ramps (heat maps): the theme's chart blue. */
  readonly accent: Rgba;
  readonly error: Rgba;
  readonly fontFamily: string;
  readonly fontSize: number;
}

export function themeColors(): ThemeColors {
  const kind = themeKind();
  const dark = isDarkTheme(kind);
  const background = colorVar('--vscode-editor-background', dark ? '#1f1f1f' : '#ffffff');
  const foreground = over(colorVar('--vscode-editor-foreground', dark ? '#cccccc' : '#3b3b3b'), background);
  const fontSize = Number.parseFloat(cssVar('--vscode-font-size', '13px'));
  return {
    kind,
    background,
    foreground,
    muted: over(colorVar('--vscode-descriptionForeground', dark ? '#9d9d9d' : '#717171'), background),
    grid: over(colorVar('--vscode-charts-lines', dark ? 'rgba(204, 204, 204, 0.5)' : 'rgba(97, 97, 97, 0.5)'), background),
    accent: over(colorVar('--vscode-charts-blue', dark ? '#3794ff' : '#1a85ff'), background),
    error: over(colorVar('--vscode-errorForeground', dark ? '#f85149' : '#e51400'), background),
    fontFamily: cssVar('--vscode-font-family', 'system-ui, sans-serif'),
    fontSize: Number.isFinite(fontSize) && fontSize > 0 ? fontSize : 13,
  };
}

/**
 * One colour per run, the same in every chart of a view (the paper's Fig. 5 colours a run's loss
 * curve and its entropy bar alike). The theme's own chart colours first, which every built-in theme
 * tunes for its background; then fixed extras.
 */
const RUN_COLOR_VARS: readonly [string, string, string][] = [
  ['--vscode-charts-blue', '#1a85ff', '#3794ff'],
  ['--vscode-charts-orange', '#d18616', '#d18616'],
  ['--vscode-charts-green', '#388a34', '#89d185'],
  ['--vscode-charts-purple', '#652d90', '#b180d7'],
  ['--vscode-charts-red', '#e51400', '#f14c4c'],
  ['--vscode-charts-yellow', '#bf8803', '#cca700'],
];

export function runColors(count: number): string[] {
  const dark = isDarkTheme();
  const theme = RUN_COLOR_VARS.map(([name, light, darkValue]) => cssVar(name, dark ? darkValue : light));
  const extras = classColors(count);
  return Array.from({ length: count }, (_, i) => (i < theme.length ? theme[i] : extras[(i - theme.length) % extras.length]));
}

/**
 * One colour per class for the label-entropy lines: Tableau 10, and a lighter variant of it for dark
 * themes, where the originals' darker hues sink into the background. Beyond ten classes colours
 * repeat and the lines tell themselves apart by dash pattern (classDash).
 */
const CLASS_COLORS_LIGHT = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];
const CLASS_COLORS_DARK = ['#7aa6d6', '#ffa95c', '#ff8587', '#8fd4ce', '#86c977', '#f5d76e', '#d4a3c6', '#ffbcc3', '#c9a28a', '#d6cfcb'];
// Tableau's lightest hues are too faint on white; light themes get darker versions of those.
const CLASS_COLORS_LIGHT_ADJUSTED = CLASS_COLORS_LIGHT.map((c, i) => (i === 5 ? '#b89a1c' : i === 9 ? '#8c8480' : i === 7 ? '#e0707c' : c));

export function classColors(count: number): string[] {
  const palette = isDarkTheme() ? CLASS_COLORS_DARK : CLASS_COLORS_LIGHT_ADJUSTED;
  return Array.from({ length: count }, (_, i) => palette[i % palette.length]);
}

/** Solid for the first ten classes, then dashed patterns, so repeated colours stay distinguishable. */
export function classDash(index: number): number[] {
  const patterns: number[][] = [[], [6, 3], [2, 2], [8, 3, 2, 3]];
  return patterns[Math.floor(index / 10) % patterns.length];
}

/**
 * Calls `onChange` after the theme changed: a new body class, or new values of the variables on
 * <html>. Batched to one call per animation frame, since VS Code updates both at once.
 */
export function onThemeChange(onChange: () => void): () => void {
  let scheduled = false;
  const observer = new MutationObserver(() => {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(() => {
      scheduled = false;
      onChange();
    });
  });
  observer.observe(document.body, { attributes: true, attributeFilter: ['class'] });
  observer.observe(document.documentElement, { attributes: true, attributeFilter: ['style', 'class'] });
  return () => observer.disconnect();
}

// The fixed light palette of an export "for print" (issue 17): a figure exported from a dark or
// high-contrast theme on a white page would otherwise keep its dark background and pale ink. The
// values are the `--vscode-*` theme variables the views read, as VS Code's Light Modern theme sets
// them, except text a shade darker than on screen (print loses contrast). A view draws its figure
// while these stand in for the user's theme (webview/shared/exportView.ts), so every view's own
// colour rules (capacityRamp, runColors, classColors…) give their light-theme colours, the same on
// every machine. No DOM: shared with the tests, which check the exported colours against it.

/** The body class VS Code gives a light theme; theme.ts decides light or dark from it. */
export const PRINT_BODY_CLASS = 'vscode-light';

/** `--vscode-<name>` → value. */
export const PRINT_PALETTE: Readonly<Record<string, string>> = {
  'editor-background': '#ffffff',
  'editor-foreground': '#1f1f1f',
  foreground: '#1f1f1f',
  descriptionForeground: '#5a5a5a',
  errorForeground: '#e51400',
  focusBorder: '#005fb8',
  'widget-border': '#e5e5e5',
  'panel-border': '#e5e5e5',
  'editorWidget-background': '#ffffff',
  'charts-foreground': '#1f1f1f',
  'charts-lines': 'rgba(97, 97, 97, 0.5)',
  'charts-red': '#e51400',
  'charts-blue': '#1a85ff',
  'charts-yellow': '#bf8803',
  'charts-orange': '#d18616',
  'charts-green': '#388a34',
  'charts-purple': '#652d90',
};

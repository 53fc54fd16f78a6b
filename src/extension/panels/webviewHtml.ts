// The HTML document every view starts from, and its Content Security Policy. No `vscode` import:
// the browser tests serve the very same document (with their own origin as the CSP source), so what
// they check is what VS Code loads.
import { randomBytes } from 'node:crypto';
import { INITIAL_UPDATES_ELEMENT_ID } from '../../shared/webviewProtocol';

/**
 * Nothing but the view's own bundle runs (nonce), styles and images come only from the extension's
 * files (no inline <style> or style="" attributes; styles set from script through the CSSOM are
 * not governed by style-src), and the view can reach no network at all (default-src 'none' covers
 * connect-src, frame-src, worker-src…).
 */
export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return ["default-src 'none'", `script-src 'nonce-${nonce}'`, `style-src ${cspSource}`, `img-src ${cspSource} data:`, `font-src ${cspSource}`].join('; ');
}

/** 128 random bits, base64: a fresh one for every document, so an injected <script> cannot guess it. */
export function createNonce(): string {
  return randomBytes(16).toString('base64');
}

export interface WebviewDocumentOptions {
  /** The webview's `cspSource` (VS Code's resource origin for this webview). */
  readonly cspSource: string;
  readonly nonce: string;
  /** The tab title, also the document's; plain text. */
  readonly title: string;
  /** Stylesheet URLs, in order: shared first, then the view's own. */
  readonly styles: readonly string[];
  /** The view's bundle URL. */
  readonly script: string;
  /**
   * Updates the view starts from (ViewUpdate values), put in the document as a JSON data block
   * (never executed) that the bundle reads before it says `ready`; none when absent.
   */
  readonly initialUpdates?: readonly unknown[];
}

const HTML_ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** For text and attribute values inside the document: the title is a run name, which is arbitrary text. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
}

/**
 * JSON for a <script type="application/json"> block: its text ends at the first `</script`, and a
 * run or class name can be any text, so every `<` is written as the JSON escape \u003c (JSON.parse
 * reads it back as `<`).
 */
export function jsonForScriptBlock(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

/**
 * The document: the CSP meta tag first in <head> (a policy applies only to what follows it), the
 * stylesheets, an empty <main> the bundle fills, the initial updates if any, and the bundle last.
 */
export function webviewDocument(options: WebviewDocumentOptions): string {
  const { cspSource, nonce, title, styles, script, initialUpdates } = options;
  const links = styles.map((href) => `    <link rel="stylesheet" href="${escapeHtml(href)}">`).join('\n');
  const initial =
    initialUpdates !== undefined
      ? `    <script type="application/json" id="${INITIAL_UPDATES_ELEMENT_ID}" nonce="${escapeHtml(nonce)}">${jsonForScriptBlock(initialUpdates)}</script>\n`
      : '';
  return `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8">
    <meta http-equiv="Content-Security-Policy" content="${escapeHtml(contentSecurityPolicy(cspSource, nonce))}">
    <meta name="viewport" content="width=device-width, initial-scale=1.0">
${links}
    <title>${escapeHtml(title)}</title>
  </head>
  <body>
    <main id="root" aria-busy="true"></main>
${initial}    <script nonce="${escapeHtml(nonce)}" src="${escapeHtml(script)}"></script>
  </body>
</html>
`;
}

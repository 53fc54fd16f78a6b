// Runs a view's real bundle in headless Debian Chromium, in a page that stands in for VS Code's
// webview: the document the extension host builds (same CSP meta tag, with this server's origin
// as the CSP source), the theme as `--vscode-*` variables and a body class, and a fake
// `acquireVsCodeApi` whose postMessage reaches a fake host in this process. The fake host answers
// the view's requests with whatever the test recorded (real engine results) and can push updates.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createNonce, webviewDocument } from '../../src/extension/panels/webviewHtml';
import type { ErrorInfo } from '../../src/shared/errors';
import type { ExportContent, ExportFormat, ExportRequest } from '../../src/shared/exportProtocol';
import { parseRequestParams, parseWebviewMessage } from '../../src/shared/messageValidation';
import type { ViewName, ViewUpdate, WebviewToHost } from '../../src/shared/webviewProtocol';
import { THEMES, type TestTheme } from './themes';

const root = path.resolve(__dirname, '..', '..');

export const CHROMIUM_PATH = process.env.CNNSLICER_WEBVIEW_CHROMIUM ?? process.env.CNNSLICER_E2E_CHROMIUM ?? '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--headless=new',
];

function truthy(v: string | undefined): boolean {
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

/**
 * Skips the calling suite when Chromium is missing, except in CI (env CI set), where a missing
 * browser must fail the run rather than pass it silently.
 */
export function requireChromium(ctx: Mocha.Context): void {
  if (fs.existsSync(CHROMIUM_PATH)) return;
  const reason = `Chromium is not at ${CHROMIUM_PATH} (apt-get install chromium, or set CNNSLICER_WEBVIEW_CHROMIUM)`;
  if (truthy(process.env.CI)) throw new Error(reason);
  console.log(`    skipping the webview suite: ${reason}`);
  ctx.skip();
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
}

function newestMtime(dir: string): number {
  if (!fs.existsSync(dir)) return 0;
  let newest = 0;
  for (const f of fs.readdirSync(dir, { recursive: true }).map(String)) {
    const st = fs.statSync(path.join(dir, f));
    if (st.isFile()) newest = Math.max(newest, st.mtimeMs);
  }
  return newest;
}

/** Builds the bundles when a view's bundle is missing or older than the webview or shared sources. */
export function ensureViewBuilt(view: ViewName): void {
  const bundle = path.join(root, 'dist', 'webview', view, 'main.js');
  const sources = Math.max(newestMtime(path.join(root, 'webview')), newestMtime(path.join(root, 'src', 'shared')));
  if (fs.existsSync(bundle) && fs.statSync(bundle).mtimeMs >= sources && fs.existsSync(path.join(root, 'dist', 'webview', 'shared', 'style.css'))) return;
  const res = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: root, encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`node esbuild.mjs failed (${res.status}):\n${res.stdout}\n${res.stderr}`);
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/**
 * Serves `/view/<name>` (the host's document for that view) and the files under dist/webview/ and
 * media/, on 127.0.0.1 only.
 */
let dumpedExports = 0;

/**
 * With CNNSLICER_EXPORT_DUMP=<folder>, every file a view exports in a test is also written there
 * (numbered, as the view named it), so a person can look at the figures the tests check.
 */
function dumpExport(answer: ExportContent): void {
  const dir = process.env.CNNSLICER_EXPORT_DUMP;
  if (dir === undefined || dir === '' || !answer.ok) return;
  fs.mkdirSync(dir, { recursive: true });
  const name = `${String(++dumpedExports).padStart(3, '0')}-${answer.fileName}`;
  fs.writeFileSync(path.join(dir, name), answer.encoding === 'base64' ? Buffer.from(answer.content, 'base64') : answer.content);
}

export class ViewServer {
  private constructor(
    private readonly server: http.Server,
    readonly origin: string,
  ) {}

  static async start(): Promise<ViewServer> {
    let origin = '';
    const server = http.createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (url.pathname === '/favicon.ico') {
        // A browser tab asks for one; a webview does not. No content, no console error.
        res.writeHead(204);
        res.end();
        return;
      }
      const view = /^\/view\/(\w+)$/.exec(url.pathname);
      if (view !== null) {
        const name = view[1];
        const html = webviewDocument({
          cspSource: origin,
          nonce: createNonce(),
          title: `CNNSlicer ${name} view (test)`,
          styles: [`${origin}/dist/webview/shared/style.css`, `${origin}/dist/webview/${name}/style.css`],
          script: `${origin}/dist/webview/${name}/main.js`,
        });
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(html);
        return;
      }
      const relative = decodeURIComponent(url.pathname).replace(/^\/+/, '');
      const file = path.resolve(root, relative);
      const allowed = [path.join(root, 'dist', 'webview'), path.join(root, 'media')].some((dir) => file.startsWith(dir + path.sep));
      if (!allowed || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
        res.writeHead(404);
        res.end();
        return;
      }
      res.writeHead(200, { 'content-type': CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream' });
      fs.createReadStream(file).pipe(res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return new ViewServer(server, origin);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * What VS Code's postMessage does to a message from the extension host: typed arrays arrive as
 * typed arrays, everything else goes through JSON (undefined array entries become null, undefined
 * properties vanish, NaN and ±Infinity become null). The fake host applies the same, so a view that
 * relied on `undefined` surviving would fail here as it would in VS Code.
 */
export function asVsCodeDelivers(value: unknown): unknown {
  if (ArrayBuffer.isView(value)) return value;
  if (Array.isArray(value)) return value.map((v) => (v === undefined || typeof v === 'function' ? null : asVsCodeDelivers(v)));
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined && typeof v !== 'function') out[k] = asVsCodeDelivers(v);
    return out;
  }
  return value;
}

/**
 * Plays VS Code's part inside the page: the API object (acquired once, as in VS Code; messages
 * JSON-serialised on the way to the host, as VS Code does), the theme, and a record of CSP
 * violations. Kept as source text: the test files are compiled by tsx, whose helpers would not
 * exist inside the page.
 */
const VSCODE_STAND_IN = String.raw`function ({ savedState, vars, bodyClass }) {
  var violations = [];
  window.__cspViolations = violations;
  document.addEventListener('securitypolicyviolation', function (e) {
    violations.push({ directive: e.violatedDirective, blocked: e.blockedURI, sample: e.sample });
  });
  var state = savedState === null ? undefined : savedState;
  var acquired = false;
  window.__savedState = function () { return state; };
  window.acquireVsCodeApi = function () {
    if (acquired) throw new Error('An instance of the VS Code API has already been acquired');
    acquired = true;
    return Object.freeze({
      postMessage: function (message) { window.__cnnslicerHostReceive(JSON.parse(JSON.stringify(message))); },
      getState: function () { return state; },
      setState: function (next) { state = JSON.parse(JSON.stringify(next)); return next; },
    });
  };
  function applyTheme() {
    for (var name in vars) document.documentElement.style.setProperty('--vscode-' + name, vars[name]);
    document.body.classList.add(bodyClass);
  }
  if (document.body !== null) applyTheme();
  else {
    var observer = new MutationObserver(function () {
      if (document.body === null) return;
      observer.disconnect();
      applyTheme();
    });
    observer.observe(document, { childList: true, subtree: true });
  }
}`;

export type RequestHandler = (method: string, params: Record<string, unknown>) => unknown;

/** Thrown by a request handler to answer with an error response. */
export class HostError extends Error {
  constructor(readonly info: ErrorInfo) {
    super(info.message);
  }
}

export interface OpenViewOptions {
  readonly theme?: TestTheme;
  /** What the view's getState() returns: the state VS Code restores. */
  readonly savedState?: unknown;
  /** Answers the view's requests; a thrown HostError becomes an error response. */
  readonly onRequest: RequestHandler;
  readonly viewport?: { width: number; height: number };
}

interface RecordedRequest {
  readonly id: number;
  readonly method: string;
  readonly params: Record<string, unknown>;
}

/** One view in one page, with its fake host. */
export class ViewPage<S> {
  /** Every message the view posted, in order. */
  readonly posted: WebviewToHost[] = [];
  readonly consoleErrors: string[] = [];
  private onRequest: RequestHandler;

  private constructor(
    readonly page: Page,
    options: OpenViewOptions,
  ) {
    this.onRequest = options.onRequest;
  }

  static async open<S>(browser: Browser, server: ViewServer, view: ViewName, options: OpenViewOptions): Promise<ViewPage<S>> {
    const context = await browser.newContext({ viewport: options.viewport ?? { width: 1280, height: 1100 } });
    const page = await context.newPage();
    const vp = new ViewPage<S>(page, options);
    page.on('console', (m) => {
      if (m.type() === 'error') vp.consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => vp.consoleErrors.push(`pageerror: ${e.message}`));
    await page.exposeBinding('__cnnslicerHostReceive', (_source, message: WebviewToHost) => vp.receive(message));
    const theme = THEMES[options.theme ?? 'light'];
    // An init script is injected by the browser itself, outside the page's CSP: the document the
    // view gets is exactly the host's.
    await page.addInitScript(
      `(${VSCODE_STAND_IN})(${JSON.stringify({ savedState: options.savedState ?? null, vars: theme.vars, bodyClass: theme.bodyClass })});`,
    );
    await page.goto(`${server.origin}/view/${view}`);
    return vp;
  }

  /**
   * Asks the view for an export file as the host does (src/extension/panels/viewExport.ts), and
   * returns its answer once posted.
   */
  async requestExport(format: ExportFormat, lightBackground = false, timeout = 30_000): Promise<ExportContent> {
    const id = this.nextExportId++;
    await this.deliver({ type: 'exportRequest', id, format, lightBackground } satisfies ExportRequest);
    const deadline = Date.now() + timeout;
    for (;;) {
      const answer = this.posted.find((m): m is ExportContent => m.type === 'exportContent' && m.id === id);
      if (answer !== undefined) {
        dumpExport(answer);
        return answer;
      }
      assert.ok(Date.now() < deadline, `the view did not answer the ${format} export request`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private nextExportId = 1;

  /** The colour of a pixel of a PNG (as an export's base64 content), decoded by the browser. */
  async pngPixel(base64: string, x: number, y: number): Promise<[number, number, number]> {
    return this.page.evaluate(
      async ({ data, px, py }) => {
        const image = new Image();
        image.src = `data:image/png;base64,${data}`;
        await image.decode();
        const canvas = document.createElement('canvas');
        canvas.width = image.naturalWidth;
        canvas.height = image.naturalHeight;
        const ctx = canvas.getContext('2d')!;
        ctx.drawImage(image, 0, 0);
        const d = ctx.getImageData(px, py, 1, 1).data;
        return [d[0], d[1], d[2]] as [number, number, number];
      },
      { data: base64, px: x, py: y },
    );
  }

  /** Replaces how requests are answered from now on. */
  answerWith(onRequest: RequestHandler): void {
    this.onRequest = onRequest;
  }

  private async receive(message: WebviewToHost): Promise<void> {
    this.posted.push(message);
    if (message.type !== 'request') return;
    const params = (message.params ?? {}) as Record<string, unknown>;
    let response: unknown;
    try {
      const result = await this.onRequest(message.method, params);
      response = { type: 'response', id: message.id, ok: true, result };
    } catch (err) {
      const error: ErrorInfo = err instanceof HostError ? err.info : { code: 'internal', message: String(err) };
      response = { type: 'response', id: message.id, ok: false, error };
    }
    await this.deliver(response).catch(() => undefined);
  }

  /** Posts a message to the view as VS Code would deliver it. */
  async deliver(message: unknown): Promise<void> {
    await this.page.evaluate((m) => window.postMessage(m, '*'), asVsCodeDelivers(message) as Parameters<typeof window.postMessage>[0]);
  }

  async push(update: ViewUpdate<S>): Promise<void> {
    await this.deliver({ type: 'update', update });
  }

  /** The requests the view made so far, optionally of one method. */
  requests(method?: string): RecordedRequest[] {
    return this.posted
      .filter((m): m is Extract<WebviewToHost, { type: 'request' }> => m.type === 'request' && (method === undefined || m.method === method))
      .map((m) => ({ id: m.id, method: m.method, params: (m.params ?? {}) as Record<string, unknown> }));
  }

  /** Waits for the view's `ready`: the host sends it the runs only after that, as ViewPanels does. */
  async waitForReady(timeout = 10_000): Promise<void> {
    const deadline = Date.now() + timeout;
    while (!this.posted.some((m) => m.type === 'ready')) {
      assert.ok(Date.now() < deadline, 'the view never said it was ready');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** That the view ran without a CSP violation, an error in its console, or an error it reported to the host. */
  async assertRanCleanly(): Promise<void> {
    assert.deepEqual(await this.cspViolations(), [], 'the view triggered Content Security Policy violations');
    assert.deepEqual(this.consoleErrors, [], 'the view logged errors');
    assert.deepEqual(
      this.posted.filter((m) => m.type === 'log' && m.level === 'error'),
      [],
      'the view reported errors to the host',
    );
  }

  /**
   * That the host's validation accepts every message the view posted, and drops nothing from a
   * request's params: a field the host would drop is one the view should not send. Returns the
   * messages as the host reads them, in the order posted.
   */
  assertPostedValid(): WebviewToHost[] {
    return this.posted.map((message) => {
      const parsed = parseWebviewMessage(message);
      assert.ok(parsed.ok, `refused: ${JSON.stringify(message)}: ${parsed.ok ? '' : parsed.reason}`);
      if (parsed.value.type === 'request') {
        const params = parseRequestParams(parsed.value.method, parsed.value.params);
        assert.ok(params.ok, `${parsed.value.method} params refused: ${params.ok ? '' : params.reason}`);
        assert.deepEqual(params.value, parsed.value.params, 'the view sends no field the host would drop');
      }
      return parsed.value;
    });
  }

  async waitForRequest(method: string, count: number, timeout = 10_000): Promise<RecordedRequest[]> {
    const deadline = Date.now() + timeout;
    while (this.requests(method).length < count) {
      if (Date.now() > deadline) throw new Error(`the view made ${this.requests(method).length} "${method}" requests, expected ${count}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.requests(method);
  }

  async cspViolations(): Promise<{ directive: string; blocked: string; sample: string }[]> {
    return this.page.evaluate(() => (window as unknown as { __cspViolations: { directive: string; blocked: string; sample: string }[] }).__cspViolations);
  }

  async savedState(): Promise<unknown> {
    return this.page.evaluate(() => (window as unknown as { __savedState: () => unknown }).__savedState());
  }

  /** Switches the theme as VS Code does: new variable values on <html>, a new body class. */
  async setTheme(theme: TestTheme): Promise<void> {
    const t = THEMES[theme];
    const all = Object.values(THEMES).map((x) => x.bodyClass);
    await this.page.evaluate(
      ({ vars, bodyClass, classes }) => {
        document.body.classList.remove(...classes);
        for (let i = document.documentElement.style.length - 1; i >= 0; i--) {
          const name = document.documentElement.style[i];
          if (name.startsWith('--vscode-')) document.documentElement.style.removeProperty(name);
        }
        for (const [name, value] of Object.entries(vars)) document.documentElement.style.setProperty(`--vscode-${name}`, value);
        document.body.classList.add(bodyClass);
      },
      { vars: t.vars, bodyClass: t.bodyClass, classes: all },
    );
  }

  async close(): Promise<void> {
    await this.page.context().close();
  }
}

/**
 * One suite's browser and page server, and the views its tests open. Every view a passing test
 * opened must have run cleanly (ViewPage.assertRanCleanly); a failing test's own error says more,
 * so its views are only closed.
 */
export class ViewSuite<S> {
  private open: ViewPage<S>[] = [];

  private constructor(
    private readonly view: ViewName,
    private readonly browser: Browser,
    private readonly server: ViewServer,
  ) {}

  /** Builds the bundles when the view's is stale, then starts the server and the browser. */
  static async start<S>(view: ViewName): Promise<ViewSuite<S>> {
    ensureViewBuilt(view);
    const server = await ViewServer.start();
    try {
      return new ViewSuite<S>(view, await launchChromium(), server);
    } catch (err) {
      await server.stop();
      throw err;
    }
  }

  /** Opens the view in a page of its own, closed by the next closeViews. */
  async openView(options: OpenViewOptions): Promise<ViewPage<S>> {
    const page = await ViewPage.open<S>(this.browser, this.server, this.view, options);
    this.open.push(page);
    return page;
  }

  /** For afterEach: checks the test's views when it passed (with `check` too, if given), and closes them. */
  async closeViews(passed: boolean, check?: (view: ViewPage<S>) => Promise<void>): Promise<void> {
    const views = this.open;
    this.open = [];
    for (const view of views) {
      if (passed) {
        await view.assertRanCleanly();
        await check?.(view);
      }
      await view.close();
    }
  }

  async stop(): Promise<void> {
    await this.browser.close();
    await this.server.stop();
  }
}

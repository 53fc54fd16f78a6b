// Drives a real VS Code workbench (code-server 4.100.3 = VS Code 1.100.3) in headless Debian
// Chromium through playwright-core. VS Code's own desktop builds cannot be downloaded on these
// machines; code-server installs from npm (scripts/e2e/install.sh) and runs the extension host in
// Node on the server side, as VS Code Remote does, so the extension and its engine child process
// run exactly as they would for a user. See /work/shared/e2e/NOTES.md for how this was worked out.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type Browser, type FrameLocator, type Locator, type Page } from 'playwright-core';

export const CODE_SERVER_VERSION = '4.100.3';

/** Where scripts/e2e/install.sh puts code-server; both read the same variable. */
export function e2eHome(): string {
  return process.env.CNNSLICER_E2E_HOME ?? path.join(os.homedir(), '.cache', 'cnnslicer-e2e');
}

export const CHROMIUM_PATH = process.env.CNNSLICER_E2E_CHROMIUM ?? '/usr/bin/chromium';

function codeServerDir(): string {
  return path.join(e2eHome(), `code-server-${CODE_SERVER_VERSION}`);
}

/** code-server's Node entry point, run with this process's Node so both use the same runtime. */
function codeServerEntry(): string {
  return path.join(codeServerDir(), 'node_modules', 'code-server', 'out', 'node', 'entry.js');
}

/**
 * What is missing for the suite to run, as sentences; empty when all is there. install.sh writes
 * its marker only after a complete install, so a half-finished one counts as missing.
 */
export function missingPrerequisites(): string[] {
  const missing: string[] = [];
  if (!fs.existsSync(path.join(codeServerDir(), '.installed')) || !fs.existsSync(codeServerEntry())) {
    missing.push(`code-server ${CODE_SERVER_VERSION} is not installed in ${codeServerDir()}`);
  }
  if (!fs.existsSync(CHROMIUM_PATH)) missing.push(`Chromium is not at ${CHROMIUM_PATH}`);
  return missing;
}

/**
 * Seeded before the first start. Without the first three the welcome walkthrough opens on start,
 * steals focus and closes the command palette mid-test (3 of 4 runs failed without them).
 */
const BASE_SETTINGS: Record<string, unknown> = {
  'workbench.startupEditor': 'none',
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'workbench.tips.enabled': false,
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'update.mode': 'none',
  'telemetry.telemetryLevel': 'off',
};

/**
 * The environment of code-server and Chromium: a throwaway HOME and XDG folders, since both
 * otherwise write under the user's home. A variable inherited from a VS Code terminal
 * (VSCODE_IPC_HOOK_CLI above all) makes code-server hand its arguments to that editor instead of
 * starting, and the password and port variables would change how it serves.
 */
function isolatedEnv(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('VSCODE_') || k.startsWith('CODE_SERVER_') || k.startsWith('ELECTRON_')) continue;
    if (['PORT', 'PASSWORD', 'HASHED_PASSWORD', 'GITHUB_TOKEN'].includes(k)) continue;
    env[k] = v;
  }
  return {
    ...env,
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, '.config'),
    XDG_DATA_HOME: path.join(home, '.local', 'share'),
    XDG_CACHE_HOME: path.join(home, '.cache'),
    // An empty gallery keeps the page from calling a marketplace, which this network refuses.
    EXTENSIONS_GALLERY: '{}',
  };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Exactly this text, once Playwright has normalised whitespace. */
function exactly(text: string): RegExp {
  return new RegExp(`^\\s*${escapeRegExp(text)}\\s*$`);
}

export interface SessionOptions {
  /** The folder the workbench opens. */
  readonly workspace: string;
  /** The extension's folder: its package.json, and everything the manifest's `main` needs. */
  readonly extensionDir: string;
  /** More extensions installed beside it (a benchmark's fixture, say), laid out the same way. */
  readonly extraExtensionDirs?: readonly string[];
  /** Added to (and overriding) the seeded user settings. */
  readonly settings?: Readonly<Record<string, unknown>>;
  /** Where screenshot() writes; screenshots are skipped when absent. */
  readonly screenshotDir?: string;
  /** Workspace trust stays off unless a test is about it: its modal would block every other test. */
  readonly workspaceTrust?: boolean;
  /**
   * Where webviews are served from. 'shared' (code-server's default): the workbench's own origin,
   * so every new webview's service worker replaces the previous one's, which Chromium finishes
   * only ~1 s later (docs/live-runs.md). 'perWebview': an origin per webview,
   * `<hash>.localhost:<port>`, as desktop VS Code (`vscode-webview://<id>`) and vscode.dev
   * (`<hash>.vscode-cdn.net`) give them. Default: CNNSLICER_E2E_WEBVIEW_ORIGINS, else 'shared'.
   */
  readonly webviewOrigins?: 'shared' | 'perWebview';
}

function webviewOrigins(options: SessionOptions): 'shared' | 'perWebview' {
  return options.webviewOrigins ?? (process.env.CNNSLICER_E2E_WEBVIEW_ORIGINS === 'perWebview' ? 'perWebview' : 'shared');
}

const HTML_ENTITIES: Readonly<Record<string, string>> = { '&quot;': '"', '&#39;': "'", '&lt;': '<', '&gt;': '>', '&amp;': '&' };

/**
 * The workbench page with its webview endpoint moved to an origin per webview: the `{{uuid}}` that
 * VS Code replaces with each webview's origin hash, under `.localhost` (which Chromium resolves to
 * this machine), and the page's CSP letting such frames in.
 */
function perWebviewWorkbench(html: string, headers: Record<string, string>, pageUrl: string): { body: string; headers: Record<string, string> } {
  const meta = /(<meta id="vscode-workbench-web-configuration" data-settings=")([^"]*)(")/;
  const found = meta.exec(html);
  if (found === null) throw new Error('the workbench page has no vscode-workbench-web-configuration');
  const config = JSON.parse(found[2].replace(/&(quot|#39|lt|gt|amp);/g, (e) => HTML_ENTITIES[e])) as { webviewEndpoint?: string };
  if (typeof config.webviewEndpoint !== 'string') throw new Error('the workbench configuration has no webviewEndpoint');
  const page = new URL(pageUrl);
  const endpoint = new URL(config.webviewEndpoint, pageUrl);
  config.webviewEndpoint = `http://{{uuid}}.localhost:${page.port}${endpoint.pathname}`;
  const escaped = JSON.stringify(config).replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    const key = k.toLowerCase();
    // The body changes length; Playwright sets the new one.
    if (key === 'content-length' || key === 'content-encoding') continue;
    out[k] = key === 'content-security-policy' ? v.replace(/frame-src /, `frame-src http://*.localhost:${page.port} `) : v;
  }
  return { body: html.replace(meta, `$1${escaped}$3`), headers: out };
}

/**
 * One code-server, one browser and one page. Start one per suite and always stop() it: every
 * browser session leaves an extension host alive for a reconnection grace period, so servers
 * shared across suites grow by ~150 MB a session.
 */
export class CodeServerSession {
  private constructor(
    readonly root: string,
    readonly url: string,
    readonly options: SessionOptions,
    readonly userDataDir: string,
    readonly extensionsDir: string,
    readonly serverLogFile: string,
    private readonly server: ChildProcess,
    private readonly killOnExit: () => void,
    private readonly browser: Browser,
    readonly page: Page,
    /** Errors the page printed to its console or threw, for failure reports. */
    readonly consoleErrors: string[],
  ) {}

  static async start(options: SessionOptions): Promise<CodeServerSession> {
    const missing = missingPrerequisites();
    if (missing.length > 0) throw new Error(`${missing.join('; ')}: run scripts/e2e/install.sh`);

    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cnnslicer-e2e-'));
    const home = path.join(root, 'home');
    const userDataDir = path.join(root, 'user-data');
    const extensionsDir = path.join(root, 'extensions');
    for (const d of [home, path.join(userDataDir, 'User'), extensionsDir]) fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(path.join(userDataDir, 'User', 'settings.json'), JSON.stringify({ ...BASE_SETTINGS, ...(options.settings ?? {}) }, null, 2));
    installExtension(options.extensionDir, extensionsDir);
    for (const dir of options.extraExtensionDirs ?? []) installExtension(dir, extensionsDir);

    const port = await freePort();
    const configFile = path.join(root, 'config.yaml');
    fs.writeFileSync(configFile, `bind-addr: 127.0.0.1:${port}\nauth: none\ncert: false\n`);
    const serverLogFile = path.join(root, 'code-server.log');
    const logFd = fs.openSync(serverLogFile, 'a');
    const args = [
      codeServerEntry(),
      '--config',
      configFile,
      '--auth',
      'none',
      '--bind-addr',
      `127.0.0.1:${port}`,
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-getting-started-override',
      '--user-data-dir',
      userDataDir,
      '--extensions-dir',
      extensionsDir,
      ...(options.workspaceTrust ? [] : ['--disable-workspace-trust']),
      options.workspace,
    ];
    // detached = setsid: the server leads its own process group, so stop() can end it together
    // with the extension host and the engine it spawns in one signal.
    const server = spawn(process.execPath, args, { cwd: root, env: isolatedEnv(home), detached: true, stdio: ['ignore', logFd, logFd] });
    fs.closeSync(logFd);
    const killGroup = (): void => {
      if (server.pid !== undefined) {
        try {
          process.kill(-server.pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
    };
    // Should mocha exit without running after-hooks, the server must not outlive it.
    process.once('exit', killGroup);

    const url = `http://127.0.0.1:${port}`;
    let browser: Browser | undefined;
    try {
      await waitHealthy(url, server, serverLogFile);
      browser = await chromium.launch({
        executablePath: CHROMIUM_PATH,
        headless: true,
        // Without the networking flags Chromium keeps trying hosts this machine cannot reach.
        args: [
          '--no-sandbox',
          '--disable-gpu',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
          '--no-first-run',
          '--disable-quic',
          // A workbench page fulfilled by the route (perWebviewWorkbench) has no address space of
          // its own, so Chromium would refuse its connections to the loopback server.
          ...(webviewOrigins(options) === 'perWebview' ? ['--disable-features=LocalNetworkAccessChecks'] : []),
        ],
        // Chromium's crash handler keeps its database under XDG_CONFIG_HOME whatever the profile folder.
        env: isolatedEnv(home),
      });
      const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
      // readEditorText copies the whole document through the clipboard.
      await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: url });
      const page = await context.newPage();
      const consoleErrors: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') consoleErrors.push(m.text());
      });
      page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
      return new CodeServerSession(root, url, options, userDataDir, extensionsDir, serverLogFile, server, killGroup, browser, page, consoleErrors);
    } catch (err) {
      await browser?.close().catch(() => undefined);
      await stopGroup(server);
      process.removeListener('exit', killGroup);
      throw err;
    }
  }

  /** Loads the workbench on the workspace and waits until the explorer lists `expectFile`. */
  async openWorkbench(expectFile?: string): Promise<void> {
    if (webviewOrigins(this.options) === 'perWebview') {
      await this.page.route(
        (u) => u.origin === new URL(this.url).origin && u.pathname === '/',
        async (route) => {
          const response = await route.fetch();
          const moved = perWebviewWorkbench(await response.text(), response.headers(), route.request().url());
          await route.fulfill({ response, body: moved.body, headers: moved.headers });
        },
      );
    }
    await this.page.goto(`${this.url}/?folder=${encodeURIComponent(this.options.workspace)}`);
    await this.page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: 60_000 });
    const rows = this.page.locator('.explorer-folders-view .monaco-list-row');
    if (expectFile !== undefined) {
      await rows
        .filter({ has: this.page.locator('.label-name', { hasText: exactly(expectFile) }) })
        .first()
        .waitFor({ timeout: 60_000 });
    } else {
      await rows.first().waitFor({ timeout: 60_000 });
    }
  }

  /** Opens the command palette, types the command's full title (`Category: Title`) and runs it. */
  async runCommand(title: string): Promise<void> {
    const input = this.quickInputBox();
    // Until the workbench has settled, an opening view or notification can take focus back and
    // close the palette right after F1; reopening is what a user would do too.
    for (let attempt = 0; ; attempt++) {
      await this.page.keyboard.press('F1');
      try {
        await input.waitFor({ state: 'visible', timeout: 5_000 });
        break;
      } catch (err) {
        if (attempt >= 2) throw err;
      }
    }
    await input.fill(`>${title}`);
    await this.pickQuickInput(title);
  }

  /** Chooses the quick-input row whose label is exactly `label` (a command, or a showQuickPick item). */
  async pickQuickInput(label: string, timeout = 30_000): Promise<void> {
    const row = this.quickInputRow(label);
    await row.waitFor({ state: 'visible', timeout });
    await row.click();
  }

  /**
   * Answers a showOpenDialog. In code-server it is VS Code's "simple file dialog": a quick input
   * whose box holds a path and whose list shows that folder. The whole path is typed, then Enter,
   * or the dialog's `button` (its openLabel) is clicked: a folder typed with a trailing slash is
   * listed, not accepted, by Enter.
   */
  async answerFileDialog(file: string, timeout = 30_000, button?: string): Promise<void> {
    const input = this.quickInputBox();
    const title = this.page.locator('.quick-input-widget .quick-input-title');
    // The dialog puts its start folder in the box once it has listed it (`..` first); a path typed
    // before that is overwritten.
    await this.quickInputRow('..').waitFor({ state: 'visible', timeout });
    const dialogTitle = await title.innerText();
    for (let attempt = 0; ; attempt++) {
      await input.fill(file);
      // The dialog re-lists the typed path's folder as the text changes; Enter before that is taken
      // for the old value.
      await this.page.waitForFunction((f) => document.querySelector<HTMLInputElement>('.quick-input-widget .quick-input-box input')?.value === f, file, {
        timeout,
      });
      await sleep(500);
      if (button === undefined) await this.page.keyboard.press('Enter');
      else await this.page.locator('.quick-input-widget .monaco-button', { hasText: button }).first().click();
      // Accepted: the dialog closes, or the next quick input replaces it.
      const deadline = Date.now() + 5_000;
      while (Date.now() < deadline) {
        const open = await input.isVisible();
        if (!open || (await title.innerText().catch(() => '')) !== dialogTitle) return;
        await sleep(100);
      }
      if (attempt >= 2) throw new Error(`the file dialog "${dialogTitle}" did not accept ${file}; its box holds "${await input.inputValue()}"`);
    }
  }

  /** The labels the open quick input currently lists. */
  async quickInputLabels(): Promise<string[]> {
    await this.page.locator('.quick-input-widget .quick-input-list .monaco-list-row').first().waitFor({ state: 'visible', timeout: 30_000 });
    return this.page.locator('.quick-input-widget .quick-input-list .monaco-list-row .label-name').allInnerTexts();
  }

  /**
   * Answers an input box (showInputBox) once its title contains `titlePart`, so that the text
   * never goes into the quick input of the step before; no `value` accepts the proposed one.
   */
  async answerInputBox(titlePart: string, value?: string, timeout = 30_000): Promise<void> {
    await this.page.locator('.quick-input-widget .quick-input-title', { hasText: titlePart }).waitFor({ state: 'visible', timeout });
    const input = this.quickInputBox();
    if (value !== undefined) await input.fill(value);
    await input.press('Enter');
  }

  /** A notification toast (message or progress) whose text matches. */
  notification(text: string | RegExp): Locator {
    return this.page.locator('.notifications-toasts .notification-toast').filter({ hasText: text }).first();
  }

  quickInputBox(): Locator {
    return this.page.locator('.quick-input-widget .quick-input-box input');
  }

  quickInputRow(label: string): Locator {
    return this.page
      .locator('.quick-input-widget .quick-input-list .monaco-list-row')
      .filter({ has: this.page.locator('.label-name', { hasText: exactly(label) }) })
      .first();
  }

  /** The activity-bar entry of a view container, by its title. */
  activityBarItem(title: string): Locator {
    return this.page.locator(`.activitybar .action-item .action-label[aria-label^="${title}"]`).first();
  }

  /** Shows a view container in the side bar; a second click would hide it again, so only click when hidden. */
  async openViewContainer(title: string): Promise<void> {
    const item = this.activityBarItem(title);
    await item.waitFor({ state: 'visible', timeout: 60_000 });
    // The tab role, and with it aria-selected, is on the action-label's parent.
    if ((await item.locator('xpath=..').getAttribute('aria-selected')) !== 'true') await item.click();
  }

  /**
   * A view's pane in the side bar, by the view's name. A container with a single view shows no
   * pane header, so the tree is found by its accessible name, which VS Code sets to the view name.
   */
  viewTree(viewName: string): Locator {
    return this.page.locator(`.part.sidebar .monaco-list[aria-label="${viewName}"]`).first();
  }

  /** A row of a view's tree whose label is exactly `label`. */
  treeRow(viewName: string, label: string): Locator {
    return this.viewTree(viewName)
      .locator('.monaco-list-row')
      .filter({ has: this.page.locator('.label-name', { hasText: exactly(label) }) })
      .first();
  }

  /** Labels of the rows a view's tree shows now (only rendered rows: a tree virtualises). */
  async treeLabels(viewName: string): Promise<string[]> {
    return this.viewTree(viewName).locator('.monaco-list-row .label-name').allInnerTexts();
  }

  /**
   * Expands a tree row, once it is expandable (a row whose children are still loading may not be
   * yet); leaves an expanded one alone.
   */
  async expandTreeRow(row: Locator, timeout = 30_000): Promise<void> {
    await row.and(this.page.locator('[aria-expanded]')).waitFor({ state: 'visible', timeout });
    if ((await row.getAttribute('aria-expanded')) === 'false') await row.click();
    await row.and(this.page.locator('[aria-expanded="true"]')).waitFor({ timeout });
  }

  /** Opens a workspace file through Go to File, as a user would, and waits for its tab. */
  async openFile(fileName: string): Promise<void> {
    await this.runCommand('Go to File...');
    await this.quickInputBox().fill(fileName);
    await this.pickQuickInput(fileName);
    await this.tab(fileName).waitFor({ state: 'visible', timeout: 30_000 });
  }

  /** The index (0 = leftmost) of the editor group showing a tab whose text contains `titlePart`, or -1. */
  async editorGroupOfTab(titlePart: string | RegExp): Promise<number> {
    const groups = this.page.locator('.editor-group-container');
    const count = await groups.count();
    for (let i = 0; i < count; i++) {
      if ((await groups.nth(i).locator('.tab').filter({ hasText: titlePart }).count()) > 0) return i;
    }
    return -1;
  }

  /** The editor tab whose label is exactly `title`. */
  tab(title: string): Locator {
    return this.page
      .locator('.tabs-container .tab')
      .filter({ has: this.page.locator('.label-name', { hasText: exactly(title) }) })
      .first();
  }

  /**
   * Waits for a tab whose text (label, and the description VS Code adds to tell tabs apart, such
   * as `Untitled-1`) contains `titlePart`; returns that text.
   */
  async waitForTab(titlePart: string | RegExp, timeout = 60_000): Promise<string> {
    const tab = this.page.locator('.tabs-container .tab').filter({ hasText: titlePart }).first();
    await tab.waitFor({ state: 'visible', timeout });
    const parts = await tab.locator('.label-name, .label-description').allInnerTexts();
    return parts
      .map((p) => p.trim())
      .filter(Boolean)
      .join(' ');
  }

  /**
   * The whole text of a text editor, the active one by default. The DOM holds only the lines on
   * screen (Monaco virtualises), so the text goes through select-all and copy into the browser's
   * clipboard.
   */
  async readEditorText(editor: Locator = this.page.locator('.editor-group-container.active .monaco-editor').first()): Promise<string> {
    // The scrollable viewport, not .view-lines: that one moves with the scroll position and may lie
    // mostly outside what is visible, under another part of the workbench.
    const viewport = editor.locator('.editor-scrollable').first();
    await viewport.waitFor({ state: 'visible', timeout: 30_000 });
    await viewport.click({ position: { x: 8, y: 8 } });
    await this.page.keyboard.press('Control+A');
    await this.page.keyboard.press('Control+C');
    const text = await this.page.evaluate(() => navigator.clipboard.readText());
    // Leave no selection behind for the next step.
    await this.page.keyboard.press('Escape');
    return text;
  }

  /**
   * The text of the output channel `name`, once the Output panel shows that channel. A channel's
   * lines reach the panel some time after the extension wrote them, so with `until` the text is
   * read again until it matches (or `timeout` passes, returning the last text read).
   */
  async outputChannelText(name: string, until?: RegExp, timeout = 30_000): Promise<string> {
    const panel = this.page.locator('.part.panel');
    await panel.waitFor({ state: 'visible', timeout });
    await this.page.waitForFunction(
      (channel) => Array.from(document.querySelectorAll<HTMLSelectElement>('.part.panel select.monaco-select-box')).some((s) => s.value === channel),
      name,
      { timeout },
    );
    const editor = panel.locator('.monaco-editor').first();
    const deadline = Date.now() + timeout;
    for (;;) {
      const text = await this.readEditorText(editor);
      if (until === undefined || until.test(text) || Date.now() > deadline) return text;
      await sleep(250);
    }
  }

  /**
   * The document inside the visible webview. A webview's content is two iframes deep: VS Code's
   * host frame, then `#active-frame` holding the extension's HTML.
   */
  webviewFrame(): FrameLocator {
    return this.page.locator('iframe.webview.ready:visible').first().contentFrame().locator('#active-frame').contentFrame();
  }

  /** Saves a screenshot as `<screenshotDir>/e2e-<name>.png`; does nothing without a screenshotDir. */
  async screenshot(name: string): Promise<string | undefined> {
    if (this.options.screenshotDir === undefined) return undefined;
    fs.mkdirSync(this.options.screenshotDir, { recursive: true });
    const file = path.join(this.options.screenshotDir, `e2e-${name}.png`);
    await this.page.screenshot({ path: file });
    return file;
  }

  /** All of code-server's log files for this session (server, extension host, output channels). */
  logFiles(): string[] {
    const logsDir = path.join(this.userDataDir, 'logs');
    const found: string[] = [this.serverLogFile];
    if (fs.existsSync(logsDir)) {
      for (const f of fs.readdirSync(logsDir, { recursive: true }).map(String)) {
        if (f.endsWith('.log')) found.push(path.join(logsDir, f));
      }
    }
    return found;
  }

  /** The extension host's log followed by every output channel it wrote, for failure reports. */
  extensionHostLog(maxChars = 20_000): string {
    const parts = this.logFiles()
      .filter((f) => /exthost|remoteexthost|output_logging|code-server\.log$/.test(f))
      .map((f) => `--- ${path.relative(this.root, f)}\n${fs.readFileSync(f, 'utf8')}`);
    const all = parts.join('\n');
    return all.length > maxChars ? `…${all.slice(-maxChars)}` : all;
  }

  /** What a failed test prints: where the evidence is, the last of the logs, and page errors. */
  async failureReport(name: string): Promise<string> {
    const shot = path.join(this.root, `failure-${name.replace(/[^\w-]+/g, '_')}.png`);
    await this.page.screenshot({ path: shot }).catch(() => undefined);
    return [
      `screenshot: ${shot}`,
      `session folder (kept): ${this.root}`,
      `page console errors:\n${this.consoleErrors.slice(-20).join('\n') || '(none)'}`,
      this.extensionHostLog(),
    ].join('\n');
  }

  private keep = false;
  /** Keeps the session folder (logs, screenshots) after stop(), for a failure to be looked at. */
  keepFiles(): void {
    this.keep = true;
  }

  /** Closes the browser and ends code-server's whole process group, extension host included. */
  async stop(): Promise<void> {
    await this.browser.close().catch(() => undefined);
    await stopGroup(this.server);
    process.removeListener('exit', this.killOnExit);
    if (!this.keep && process.env.CNNSLICER_E2E_KEEP !== '1') fs.rmSync(this.root, { recursive: true, force: true });
  }
}

export interface StageSpec {
  /** Files and folders, relative to the source, copied as they are now. */
  readonly copy: readonly string[];
  /** node_modules packages the bundles leave external, linked rather than copied (onnxruntime-node is ~300 MB). */
  readonly nodeModules: readonly string[];
}

/**
 * Lays out in `dest` the files an installed extension has: a snapshot of the built files, so a
 * rebuild of dist/ by someone else while the suite runs cannot pull the bundle from under the
 * extension host, and nothing else of the repository is visible to it.
 */
export function stageExtension(source: string, dest: string, spec: StageSpec): string {
  fs.mkdirSync(path.join(dest, 'node_modules'), { recursive: true });
  for (const entry of spec.copy) {
    const from = path.join(source, entry);
    if (!fs.existsSync(from)) throw new Error(`cannot stage the extension: ${from} does not exist`);
    fs.cpSync(from, path.join(dest, entry), { recursive: true, dereference: true });
  }
  for (const pkg of spec.nodeModules) {
    const from = path.join(source, 'node_modules', pkg);
    if (!fs.existsSync(from)) throw new Error(`cannot stage the extension: ${from} does not exist (npm ci?)`);
    fs.mkdirSync(path.dirname(path.join(dest, 'node_modules', pkg)), { recursive: true });
    fs.symlinkSync(fs.realpathSync(from), path.join(dest, 'node_modules', pkg), 'dir');
  }
  return dest;
}

/**
 * Installs an unpacked extension the way VS Code lays out installed ones, as
 * `<publisher>.<name>-<version>` in the extensions folder. A symlink is enough: VS Code follows it.
 */
export function installExtension(extensionDir: string, extensionsDir: string): string {
  const manifest = JSON.parse(fs.readFileSync(path.join(extensionDir, 'package.json'), 'utf8')) as { publisher: string; name: string; version: string };
  const link = path.join(extensionsDir, `${manifest.publisher}.${manifest.name}-${manifest.version}`);
  fs.symlinkSync(path.resolve(extensionDir), link, 'dir');
  return link;
}

async function waitHealthy(url: string, server: ChildProcess, logFile: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  let lastError = '';
  while (Date.now() < deadline) {
    if (server.exitCode !== null || server.signalCode !== null) {
      throw new Error(`code-server exited (${server.exitCode ?? server.signalCode}) before it was healthy:\n${readTail(logFile)}`);
    }
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) return;
      lastError = `HTTP ${res.status}`;
    } catch (err) {
      lastError = String(err);
    }
    await sleep(100);
  }
  throw new Error(`code-server did not answer ${url}/healthz within 60 s (${lastError}):\n${readTail(logFile)}`);
}

function readTail(file: string, chars = 4000): string {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return text.slice(-chars);
  } catch {
    return '(no log)';
  }
}

/** TERM to the group, a grace period for the leader, then KILL for whatever of the group is left. */
async function stopGroup(server: ChildProcess): Promise<void> {
  const pid = server.pid;
  if (pid === undefined) return;
  const signal = (s: NodeJS.Signals): void => {
    try {
      process.kill(-pid, s);
    } catch {
      // The group is already empty.
    }
  };
  if (server.exitCode === null && server.signalCode === null) {
    const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
    signal('SIGTERM');
    await Promise.race([exited, sleep(5_000)]);
  }
  signal('SIGKILL');
}

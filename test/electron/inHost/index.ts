// Loaded by VS Code inside its extension host (--extensionTestsPath), after electron.test.ts has
// bundled it to plain JavaScript: the host requires it and awaits run(). A rejection makes VS Code
// exit non-zero, which is how runTests learns that a check failed.
import * as assert from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';

const EXTENSION_ID = 'cnnslicer.cnnslicer';
/** The commands a user reaches first (the Runs view's title bar); checked by name as well as through package.json, so a renamed contribution cannot silently shrink the check. */
const REQUIRED_COMMANDS = ['cnnslicer.analyzeModel', 'cnnslicer.restartEngine', 'cnnslicer.refreshRuns'];

/** What electron.test.ts passes through extensionTestsEnv. */
interface HostEnv {
  readonly workspace: string;
  readonly resultFile: string;
}

export interface CheckResults {
  readonly passed: string[];
  readonly failed: { name: string; message: string }[];
}

function hostEnv(): HostEnv {
  const workspace = process.env.CNNSLICER_ELECTRON_WORKSPACE;
  const resultFile = process.env.CNNSLICER_ELECTRON_RESULT;
  if (!workspace || !resultFile) {
    throw new Error('CNNSLICER_ELECTRON_WORKSPACE and CNNSLICER_ELECTRON_RESULT must be set; this runner is started by test/electron/electron.test.ts');
  }
  return { workspace, resultFile };
}

function contributedCommands(extension: vscode.Extension<unknown>): string[] {
  const contributes = (extension.packageJSON as { contributes?: { commands?: { command: string }[] } }).contributes;
  return (contributes?.commands ?? []).map((c) => c.command);
}

function checks(env: HostEnv): [string, () => Promise<void>][] {
  const extension = (): vscode.Extension<unknown> => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext, `extension ${EXTENSION_ID} is not loaded; the extension development path should provide it`);
    return ext;
  };
  return [
    [
      'the window opened the workspace holding the run',
      async () => {
        // Without this, a launch argument that was dropped would leave the checks below running in an empty window.
        const folders = (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath);
        assert.deepStrictEqual(
          folders.map((f) => path.resolve(f)),
          [path.resolve(env.workspace)],
        );
      },
    ],
    [
      `${EXTENSION_ID} activates`,
      async () => {
        const ext = extension();
        await ext.activate();
        assert.strictEqual(ext.isActive, true, 'activate() resolved but the extension is not active');
      },
    ],
    [
      'its commands are registered',
      async () => {
        const registered = new Set(await vscode.commands.getCommands(true));
        const expected = [...new Set([...REQUIRED_COMMANDS, ...contributedCommands(extension())])];
        const missing = expected.filter((c) => !registered.has(c));
        assert.ok(missing.length === 0, `commands contributed but not registered: ${missing.join(', ')}`);
      },
    ],
    [
      'cnnslicer.refreshRuns resolves',
      async () => {
        await vscode.commands.executeCommand('cnnslicer.refreshRuns');
      },
    ],
  ];
}

export async function run(): Promise<void> {
  const env = hostEnv();
  const results: CheckResults = { passed: [], failed: [] };
  // Every check runs even after one fails, so a single launch of VS Code reports all that is wrong.
  for (const [name, check] of checks(env)) {
    try {
      await check();
      results.passed.push(name);
      console.log(`  ✓ ${name}`);
    } catch (err) {
      const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
      results.failed.push({ name, message });
      console.error(`  ✗ ${name}\n${message}`);
    }
  }
  // The host's console reaches the terminal but not mocha: the outer test reads this file to put the failures in its own report.
  fs.writeFileSync(env.resultFile, JSON.stringify(results, null, 2));
  if (results.failed.length > 0) {
    throw new Error(
      `${results.failed.length} of ${results.failed.length + results.passed.length} checks failed in the extension host: ${results.failed.map((f) => f.name).join('; ')}`,
    );
  }
}

// package.json's `contributes` is read by VS Code, not by the compiler: these checks keep it in step
// with the identifiers the code registers and the settings it reads.
import * as assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { COMMAND, RUNS_VIEW_ID } from '../../src/extension/commandIds';
import { TREE_CONTEXT } from '../../src/extension/runs/runsTreeModel';
import { CACHE_SETTINGS, ENGINE_SETTINGS } from '../../src/extension/settings';
import { VIEW_TYPES } from '../../src/shared/webviewProtocol';
import { packagedBy } from '../support/vscodeignore';

const root = join(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

interface MenuItem {
  readonly command: string;
  readonly when?: string;
}

describe('extension manifest (package.json)', () => {
  it('declares exactly the commands the extension registers', () => {
    const declared = (pkg.contributes.commands as { command: string; title: string; category: string }[]).map((c) => c.command).sort();
    assert.deepEqual(declared, Object.values(COMMAND).sort());
    for (const c of pkg.contributes.commands) assert.equal(c.category, 'CNNSlicer', `${c.command} is listed under "CNNSlicer: …"`);
  });

  it('puts only declared commands in menus, with tree item conditions the tree produces', () => {
    const commands = new Set(Object.values(COMMAND) as string[]);
    const contexts = new Set(Object.values(TREE_CONTEXT) as string[]);
    for (const [menu, items] of Object.entries(pkg.contributes.menus as Record<string, MenuItem[]>)) {
      for (const item of items) {
        assert.ok(commands.has(item.command), `${menu} names unknown command ${item.command}`);
        for (const [, value] of (item.when ?? '').matchAll(/viewItem == (\w+)/g))
          assert.ok(contexts.has(value), `${menu} tests viewItem == ${value}, which no node has`);
        for (const [, value] of (item.when ?? '').matchAll(/view == ([\w.]+)/g)) assert.equal(value, RUNS_VIEW_ID);
      }
    }
  });

  it('contributes the Runs view in its own activity bar container, with a theme-coloured icon', () => {
    const container = pkg.contributes.viewsContainers.activitybar.find((c: { id: string }) => c.id === 'cnnslicer');
    assert.ok(container);
    assert.deepEqual(
      pkg.contributes.views.cnnslicer.map((v: { id: string }) => v.id),
      [RUNS_VIEW_ID],
    );
    const svg = readFileSync(join(root, container.icon), 'utf8');
    assert.match(svg, /currentColor/);
    assert.doesNotMatch(svg, /#[0-9a-f]{3,8}\b|rgb\(/i, 'a fixed colour would ignore the theme');
  });

  it('declares the settings the extension reads, with the same defaults and minimums', () => {
    const properties = pkg.contributes.configuration.properties;
    for (const setting of Object.values(ENGINE_SETTINGS)) {
      const declared = properties[setting.key];
      assert.ok(declared, `${setting.key} is not declared`);
      assert.equal(declared.type, 'number');
      assert.equal(declared.default, setting.default);
      assert.equal(declared.minimum, setting.minimum);
    }
    assert.equal(properties[CACHE_SETTINGS.directory.key].type, 'string');
    assert.equal(properties[CACHE_SETTINGS.directory.key].default, CACHE_SETTINGS.directory.default);
    const cap = properties[CACHE_SETTINGS.activationsMaxGB.key];
    assert.deepEqual([cap.type, cap.default, cap.minimum], ['number', CACHE_SETTINGS.activationsMaxGB.default, CACHE_SETTINGS.activationsMaxGB.minimum]);
  });

  it('activates only on its commands, its view, its webview panels, workspaces holding a run and Python files, runs as a workspace extension and is limited in Restricted Mode', () => {
    // VS Code derives onCommand and onView events from `contributes`; anything broader would start the extension for nothing.
    // Panels restored after a reload need their serializers registered, so each view type is declared; a workspace
    // holding a run activates it so the CodeLens over the layers' source lines is there without opening a view first
    // (activation only registers providers: the engine starts on the first request). A Python file activates it for the
    // "Attach CNNSlicer" CodeLens over its epoch loops.
    assert.deepEqual(pkg.activationEvents, [
      ...Object.values(VIEW_TYPES).map((viewType) => `onWebviewPanel:${viewType}`),
      'workspaceContains:**/cnnslicer.json',
      'onLanguage:python',
    ]);
    assert.deepEqual(pkg.extensionKind, ['workspace']);
    assert.equal(pkg.capabilities.untrustedWorkspaces.supported, 'limited');
    assert.equal(pkg.main, './dist/extension/extension.js');
  });

  it('has a .vscodeignore that packages the runtime files and leaves out sources, tests, maps and other platforms', () => {
    const packaged = packagedBy(root);
    const kept = [
      'dist/extension/extension.js',
      'dist/python/cnnslicer-0.1.0-py3-none-any.whl',
      'dist/engine/main.js',
      'dist/engine/cli.js',
      'dist/webview/layer/main.js',
      'dist/webview/layer/style.css',
      'media/cnnslicer.svg',
      'LICENSE',
      'python/cnnslicer/__init__.py',
      'python/pyproject.toml',
      'examples/mnist_pytorch.py',
      'examples/cifar10_pytorch.py',
      'node_modules/onnxruntime-node/package.json',
      'node_modules/onnxruntime-node/dist/index.js',
      'node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node',
      'node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1',
      'node_modules/onnxruntime-common/package.json',
      'node_modules/onnxruntime-common/dist/cjs/package.json',
      'node_modules/onnxruntime-common/dist/cjs/index.js',
    ];
    const left = [
      'src/extension/extension.ts',
      'src/engine/main.ts',
      'test/unit/extensionManifest.test.ts',
      'webview/layer/main.ts',
      'dist/extension/extension.js.map',
      'bench/run-all.mjs',
      'examples/mnist.py',
      '.ci/test.sh',
      'tsconfig.json',
      'esbuild.mjs',
      'package-lock.json',
      'cnnslicer.vsix',
      '.gitignore',
      'python/cnnslicer/__pycache__/runformat.cpython-311.pyc',
      'node_modules/onnxruntime-node/bin/napi-v6/darwin/arm64/onnxruntime_binding.node',
      'node_modules/onnxruntime-node/bin/napi-v6/linux/arm64/onnxruntime_binding.node',
      'node_modules/onnxruntime-node/bin/napi-v6/win32/x64/onnxruntime_binding.node',
      'node_modules/onnxruntime-node/dist/index.js.map',
      'node_modules/onnxruntime-node/lib/index.ts',
      'node_modules/onnxruntime-node/script/install.js',
      'node_modules/onnxruntime-common/dist/esm/index.js',
      'node_modules/adm-zip/adm-zip.js',
      'node_modules/esbuild/bin/esbuild',
    ];
    for (const file of kept) assert.ok(packaged(file), `${file} would be left out`);
    for (const file of left) assert.ok(!packaged(file), `${file} would be packaged`);
    assert.ok(existsSync(join(root, 'LICENSE')));
  });
});

// The host's side of the webview boundary, without a browser: the document and its CSP, and the
// validation every message from a view goes through before the host acts on it.
import * as assert from 'node:assert/strict';
import { INFO_PLANE_VIEW, infoPlaneViewTitle } from '../../src/extension/panels/infoPlaneView';
import { TRAINING_VIEW, trainingViewTitle } from '../../src/extension/panels/trainingView';
import { contentSecurityPolicy, createNonce, escapeHtml, webviewDocument } from '../../src/extension/panels/webviewHtml';
import { parsePersistedState, parseRequestParams, parseTrainingSelection, parseWebviewMessage, requestedRun } from '../../src/shared/messageValidation';
import { HOST_METHODS, INITIAL_UPDATES_ELEMENT_ID, VIEW_TYPES, WEBVIEW_ENGINE_METHODS, type PanelRun } from '../../src/shared/webviewProtocol';
import { makeRun } from '../unit/extensionFixtures';

const CSP_SOURCE = 'https://file+.vscode-resource.vscode-cdn.net';

describe('webview document and Content Security Policy', () => {
  it('allows only the nonce’d bundle to run, styles and images from the extension, and nothing else', () => {
    const csp = contentSecurityPolicy(CSP_SOURCE, 'abc123');
    const directives = new Map(
      csp
        .split(';')
        .map((d) => d.trim().split(/\s+/))
        .map(([name, ...values]) => [name, values]),
    );
    assert.deepEqual(directives.get('default-src'), ["'none'"]);
    assert.deepEqual(directives.get('script-src'), ["'nonce-abc123'"]);
    assert.deepEqual(directives.get('style-src'), [CSP_SOURCE]);
    assert.deepEqual(directives.get('img-src'), [CSP_SOURCE, 'data:']);
    assert.deepEqual(directives.get('font-src'), [CSP_SOURCE]);
    assert.doesNotMatch(csp, /unsafe-|\*|https?:(?!\/\/file\+)/, 'no unsafe-* keyword, wildcard or other origin');
  });

  it('puts the policy first in <head>, escapes the title, and loads the bundle with the nonce', () => {
    const nonce = createNonce();
    const html = webviewDocument({
      cspSource: CSP_SOURCE,
      nonce,
      title: 'Training: <img src=x onerror=alert(1)>',
      styles: [`${CSP_SOURCE}/a.css`],
      script: `${CSP_SOURCE}/main.js`,
    });
    const head = html.slice(html.indexOf('<head>'), html.indexOf('</head>'));
    assert.ok(head.indexOf('http-equiv="Content-Security-Policy"') < head.indexOf('<link'), 'a policy applies only to what follows it');
    assert.match(html, /<title>Training: &lt;img src=x onerror=alert\(1\)&gt;<\/title>/);
    assert.equal((html.match(/<script/g) ?? []).length, 1);
    assert.ok(html.includes(`<script nonce="${nonce}" src="${CSP_SOURCE}/main.js"></script>`));
    assert.doesNotMatch(html, /style=|<style/, 'no inline styles, which the policy would block');
  });

  it('carries the initial updates in a JSON block before the bundle, which no run name can leave', () => {
    const nonce = createNonce();
    const name = '</script><img src=x onerror=alert(1)><!-- </SCRIPT>';
    const updates = [
      { kind: 'selection', selection: { run: '/runs/a' } },
      { kind: 'runs', runs: [{ dir: '/runs/a', state: 'failed', error: { code: 'bad-run', message: name } }] },
    ];
    const html = webviewDocument({ cspSource: CSP_SOURCE, nonce, title: 'Training', styles: [], script: `${CSP_SOURCE}/main.js`, initialUpdates: updates });
    const open = `<script type="application/json" id="${INITIAL_UPDATES_ELEMENT_ID}" nonce="${nonce}">`;
    assert.ok(html.includes(open));
    const start = html.indexOf(open) + open.length;
    const text = html.slice(start, html.indexOf('</script>', start));
    assert.doesNotMatch(text, /</, 'no `<` inside the block: nothing can close it early');
    assert.deepEqual(JSON.parse(text), updates);
    assert.ok(html.indexOf(open) < html.indexOf(`src="${CSP_SOURCE}/main.js"`), 'before the bundle, which reads it as it starts');
    assert.equal((html.match(/<script/g) ?? []).length, 2);
  });

  it('draws a fresh 128-bit nonce each time', () => {
    const nonces = new Set(Array.from({ length: 100 }, createNonce));
    assert.equal(nonces.size, 100);
    for (const n of nonces) assert.equal(Buffer.from(n, 'base64').length, 16);
    assert.equal(escapeHtml(`"'&<>`), '&quot;&#39;&amp;&lt;&gt;');
  });
});

describe('validation of messages from a view', () => {
  it('accepts the protocol’s envelopes and refuses anything else, saying why', () => {
    assert.deepEqual(parseWebviewMessage({ type: 'ready', extra: 1 }), { ok: true, value: { type: 'ready' } });
    assert.deepEqual(parseWebviewMessage({ type: 'cancel', id: 4 }), { ok: true, value: { type: 'cancel', id: 4 } });
    assert.deepEqual(parseWebviewMessage({ type: 'request', id: 1, method: 'labelEntropies', params: { run: '/r', epoch: 'all' } }), {
      ok: true,
      value: { type: 'request', id: 1, method: 'labelEntropies', params: { run: '/r', epoch: 'all' } },
    });
    const refused: [unknown, RegExp][] = [
      [null, /must be an object/],
      [[{ type: 'ready' }], /must be an object/],
      [{ type: 'eval', code: 'x' }, /unknown message type "eval"/],
      [{ type: 'request', id: -1, method: 'runInfo' }, /integer id/],
      [{ type: 'request', id: 1.5, method: 'runInfo' }, /integer id/],
      [{ type: 'request', id: 2, method: 'hang', params: { ms: 1e9 } }, /no method a view may call: "hang"/],
      [{ type: 'request', id: 2, method: 'constructor' }, /no method a view may call/],
      [{ type: 'request', id: 2, method: 'sleep' }, /no method a view may call/],
      [{ type: 'cancel', id: '3' }, /integer id/],
      [{ type: 'log', level: 'debug', message: 'x' }, /level info, warn or error/],
      [{ type: 'log', level: 'info', message: 42 }, /needs a text/],
    ];
    for (const [message, reason] of refused) {
      const r = parseWebviewMessage(message);
      assert.ok(!r.ok, `accepted ${JSON.stringify(message)}`);
      assert.match(r.reason, reason);
    }
    const long = parseWebviewMessage({ type: 'log', level: 'warn', message: 'x'.repeat(10_000) });
    assert.ok(long.ok && long.value.type === 'log' && long.value.message.length <= 2001, 'a flood of log text is cut');
  });

  it('knows every engine method a view may call and every host method, and nothing more', () => {
    for (const method of [...WEBVIEW_ENGINE_METHODS, ...HOST_METHODS]) assert.ok(parseWebviewMessage({ type: 'request', id: 1, method }).ok, method);
    assert.equal(VIEW_TYPES.training, 'cnnslicer.training');
    // A view's bundle folder is its name, its VS Code view type `cnnslicer.<name>`.
    for (const [name, viewType] of Object.entries(VIEW_TYPES)) assert.equal(viewType, `cnnslicer.${name}`);
  });

  it('checks request parameters field by field and drops fields the method does not take', () => {
    assert.deepEqual(parseRequestParams('labelEntropies', { run: '/runs/a', epoch: 3, injected: true }), { ok: true, value: { run: '/runs/a', epoch: 3 } });
    assert.deepEqual(
      parseRequestParams('interSampleEntropy', {
        run: '/runs/a',
        samples: { kind: 'class', classIndex: 2, x: 1 },
        layer: 'input',
        epoch: 'all',
        params: { interK: 50 },
      }),
      {
        ok: true,
        value: { run: '/runs/a', samples: { kind: 'class', classIndex: 2 }, layer: 'input', epoch: 'all', params: { interK: 50 } },
      },
    );
    assert.deepEqual(parseRequestParams('infoPlane', { run: '/runs/a', samples: { kind: 'all' }, epoch: 'all', extra: 1 }), {
      ok: true,
      value: { run: '/runs/a', samples: { kind: 'all' }, epoch: 'all' },
    });
    assert.deepEqual(parseRequestParams('openInfoPlane', { run: '/runs/a', layer: 'conv2', epoch: 4, channel: 3 }), {
      ok: true,
      value: { run: '/runs/a', layer: 'conv2', epoch: 4 },
    });
    assert.deepEqual(parseRequestParams('addRuns', undefined), { ok: true, value: {} });
    assert.equal(requestedRun({ run: '/runs/a', epoch: 1 }), '/runs/a');
    const refused: [Parameters<typeof parseRequestParams>[0], unknown, RegExp][] = [
      ['labelEntropies', { epoch: 'all' }, /"run" must be the path of a run directory or its manifest, got nothing/],
      ['labelEntropies', { run: '', epoch: 'all' }, /"run" must be the path of a run directory/],
      ['labelEntropies', { run: 'x'.repeat(5000), epoch: 'all' }, /"run" must be the path of a run directory/],
      ['labelEntropies', { run: '/r', epoch: -1 }, /"epoch" must be an integer ≥ 0 or "all"/],
      ['labelEntropies', { run: '/r', epoch: 'latest' }, /"epoch"/],
      ['slice', { run: '/r', samples: { kind: 'all' }, layer: 'conv1', channel: 'all', epoch: 'all' }, /"epoch" must be an integer ≥ 0, got "all"/],
      [
        'slice',
        { run: '/r', samples: { kind: 'indices', indices: [0, -2] }, layer: 'conv1', channel: 0, epoch: 0 },
        /"samples.indices\[1\]" must be an integer ≥ 0/,
      ],
      ['interSampleEntropy', { run: '/r', samples: { kind: 'all' }, layer: 'input', epoch: 0, params: { interK: '5' } }, /"interK" must be a number/],
      ['interSampleEntropy', { run: '/r', samples: { kind: 'all' }, layer: 'input', epoch: 0, params: { __proto__x: 1 } }, /unknown estimator parameter/],
      ['channelCapacity', { run: '/r', samples: { kind: 'every' }, layerI: 'a', layerJ: 'b', epoch: 0 }, /"samples.kind"/],
      ['infoPlane', { run: '/r', samples: { kind: 'all' }, epoch: 'last' }, /"epoch" must be an integer ≥ 0 or "all"/],
      ['infoPlane', { run: '/r', epoch: 'all' }, /"samples" must be an object/],
      ['infoPlane', { run: '/r', samples: { kind: 'all' }, epoch: 0, params: { alpha: '2' } }, /unknown estimator parameter|must be a number/],
      ['openInfoPlane', { layer: 'conv2' }, /"run" must be the path of a run directory/],
      ['openInfoPlane', { run: '/r', epoch: -1 }, /"epoch" must be an integer ≥ 0/],
      ['removeRun', { run: 7 }, /"run" must be the path of a run directory/],
      ['runInfo', 'the run', /expects an object of parameters/],
    ];
    for (const [method, params, reason] of refused) {
      const r = parseRequestParams(method, params);
      assert.ok(!r.ok, `${method} accepted ${JSON.stringify(params)}`);
      assert.match(r.reason, reason);
    }
  });

  it('restores saved view state only when it has this version, 1 to 12 runs and a valid selection', () => {
    const good = { version: 1, runs: ['/runs/a', '/runs/b', '/runs/a'], selection: { run: '/runs/b', epoch: 4, logLoss: true, stray: 1 } };
    assert.deepEqual(parsePersistedState(good, parseTrainingSelection), {
      ok: true,
      value: { version: 1, runs: ['/runs/a', '/runs/b'], selection: { run: '/runs/b', epoch: 4, logLoss: true } },
    });
    assert.deepEqual(parsePersistedState({ version: 1, runs: ['/r'], selection: {} }, parseTrainingSelection), {
      ok: true,
      value: { version: 1, runs: ['/r'], selection: {} },
    });
    const refused: [unknown, RegExp][] = [
      [undefined, /must be an object/],
      [{ ...good, version: 2 }, /version 2; this build reads version 1/],
      [{ ...good, runs: [] }, /1 to 12 runs/],
      [{ ...good, runs: Array.from({ length: 13 }, (_, i) => `/r${i}`) }, /1 to 12 runs/],
      [{ ...good, runs: ['/r', 3] }, /"run" must be the path of a run directory/],
      [{ ...good, selection: { epoch: 1.5 } }, /"epoch" must be an integer ≥ 0/],
      [{ ...good, selection: { logLoss: 'yes' } }, /"logLoss" must be true or false/],
      [{ ...good, selection: null }, /training selection must be an object/],
    ];
    for (const [state, reason] of refused) {
      const r = parsePersistedState(state, parseTrainingSelection);
      assert.ok(!r.ok, `accepted ${JSON.stringify(state)}`);
      assert.match(r.reason, reason);
    }
  });
});

describe('training view panel', () => {
  it('is titled after its runs, named once read and by folder before', () => {
    const info = (name: string): PanelRun => ({ dir: `/runs/${name}-dir`, state: 'loaded', info: makeRun({ dir: `/runs/${name}-dir`, name }) });
    assert.equal(trainingViewTitle([]), 'Training');
    assert.equal(trainingViewTitle([info('mnist-100')]), 'Training: mnist-100');
    assert.equal(trainingViewTitle([{ dir: '/runs/live', state: 'loading' }, info('b')]), 'Training: live, b');
    assert.equal(trainingViewTitle([info('a'), info('b'), info('c'), info('d')]), 'Training: a, b +2');
  });

  it('starts on the first run it is opened with, and restores only valid selections', () => {
    assert.deepEqual(TRAINING_VIEW.initialSelection(['/runs/a', '/runs/b']), { run: '/runs/a' });
    assert.deepEqual(TRAINING_VIEW.initialSelection([]), {});
    assert.ok(TRAINING_VIEW.parseSelection({ run: '/runs/a', epoch: 2 }).ok);
    assert.ok(!TRAINING_VIEW.parseSelection({ epoch: 'newest' }).ok);
  });
});

describe('information-plane view panel', () => {
  it('is titled after its run, and starts on it', () => {
    const run: PanelRun = { dir: '/runs/m-dir', state: 'loaded', info: makeRun({ dir: '/runs/m-dir', name: 'mnist-100' }) };
    assert.equal(infoPlaneViewTitle([]), 'Information plane');
    assert.equal(infoPlaneViewTitle([run]), 'Information plane: mnist-100');
    assert.equal(infoPlaneViewTitle([{ dir: '/runs/live', state: 'loading' }]), 'Information plane: live');
    assert.deepEqual(INFO_PLANE_VIEW.initialSelection(['/runs/a']), { run: '/runs/a' });
    assert.equal(VIEW_TYPES[INFO_PLANE_VIEW.name], 'cnnslicer.infoplane');
  });

  it('restores only valid selections, dropping fields it does not know', () => {
    assert.deepEqual(INFO_PLANE_VIEW.parseSelection({ run: '/runs/a', epoch: 2, layer: 'input', samples: { kind: 'class', classIndex: 1 }, zoom: 3 }), {
      ok: true,
      value: { run: '/runs/a', epoch: 2, layer: 'input', samples: { kind: 'class', classIndex: 1 } },
    });
    assert.ok(!INFO_PLANE_VIEW.parseSelection({ epoch: 'newest' }).ok);
    assert.ok(!INFO_PLANE_VIEW.parseSelection({ layer: '' }).ok);
    assert.ok(!INFO_PLANE_VIEW.parseSelection(null).ok);
  });
});

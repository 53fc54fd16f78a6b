import * as assert from 'node:assert/strict';
import { escapeCodicons, plainNotificationText } from '../../src/extension/plainText';
import { ProgressTracker } from '../../src/extension/progressReporting';
import { checkTrustedWorkspace, restrictedModeMessage } from '../../src/extension/restrictedMode';
import {
  CACHE_SETTINGS,
  engineCacheEnv,
  engineCacheSettings,
  engineTimeouts,
  ENGINE_SETTINGS,
  sameEngineCacheSettings,
  sameEngineTimeouts,
} from '../../src/extension/settings';

describe('extension restricted mode guard', () => {
  it('lets an action through in a trusted workspace without a word', () => {
    const reported: string[] = [];
    assert.equal(
      checkTrustedWorkspace(true, 'Train Model', (m) => reported.push(m)),
      true,
    );
    assert.deepEqual(reported, []);
  });

  it('refuses an action in Restricted Mode and says why and what to do', () => {
    const reported: string[] = [];
    assert.equal(
      checkTrustedWorkspace(false, 'Train Model', (m) => reported.push(m)),
      false,
    );
    assert.deepEqual(reported, ['CNNSlicer: Train Model runs code and is disabled in Restricted Mode. Trust this workspace to enable it.']);
    assert.equal(restrictedModeMessage('Run Probe'), 'CNNSlicer: Run Probe runs code and is disabled in Restricted Mode. Trust this workspace to enable it.');
  });
});

describe('extension settings', () => {
  const read = (values: Record<string, unknown>) => (key: string) => values[key];

  it('converts the configured seconds to milliseconds', () => {
    assert.deepEqual(engineTimeouts(read({ [ENGINE_SETTINGS.heartbeatTimeoutSeconds.key]: 10, [ENGINE_SETTINGS.requestTimeoutSeconds.key]: 2.5 })), {
      heartbeatTimeoutMs: 10_000,
      requestTimeoutMs: 2_500,
    });
  });

  it('falls back to the defaults for missing or malformed values and raises values below the minimum', () => {
    assert.deepEqual(engineTimeouts(read({})), { heartbeatTimeoutMs: 30_000, requestTimeoutMs: 600_000 });
    assert.deepEqual(engineTimeouts(read({ [ENGINE_SETTINGS.heartbeatTimeoutSeconds.key]: '10', [ENGINE_SETTINGS.requestTimeoutSeconds.key]: Number.NaN })), {
      heartbeatTimeoutMs: 30_000,
      requestTimeoutMs: 600_000,
    });
    assert.deepEqual(engineTimeouts(read({ [ENGINE_SETTINGS.heartbeatTimeoutSeconds.key]: 0, [ENGINE_SETTINGS.requestTimeoutSeconds.key]: -5 })), {
      heartbeatTimeoutMs: 2_000,
      requestTimeoutMs: 1_000,
    });
  });

  it('tells equal timeouts from different ones', () => {
    assert.equal(sameEngineTimeouts({ heartbeatTimeoutMs: 1, requestTimeoutMs: 2 }, { heartbeatTimeoutMs: 1, requestTimeoutMs: 2 }), true);
    assert.equal(sameEngineTimeouts({ heartbeatTimeoutMs: 1, requestTimeoutMs: 2 }, { heartbeatTimeoutMs: 1, requestTimeoutMs: 3 }), false);
  });
});

describe('extension cache settings', () => {
  const read = (values: Record<string, unknown>) => (key: string) => values[key];
  const home = '/home/ada';

  it("leaves the folder to the engine by default (the CLI's folder), with the activation cap in GiB", () => {
    const s = engineCacheSettings(read({}), home);
    assert.deepEqual(s, { directory: undefined, activationsMaxGB: 16 });
    assert.deepEqual(engineCacheEnv(s), { CNNSLICER_ACTIVATION_CACHE_GB: '16' });
  });

  it('takes an absolute folder or one under ~, and refuses a relative one with the reason', () => {
    const dir = CACHE_SETTINGS.directory.key;
    assert.equal(engineCacheSettings(read({ [dir]: '/data/cache' }), home).directory, '/data/cache');
    assert.equal(engineCacheSettings(read({ [dir]: '~/scratch/cnn' }), home).directory, '/home/ada/scratch/cnn');
    assert.deepEqual(engineCacheEnv(engineCacheSettings(read({ [dir]: '~' }), home)), { CNNSLICER_CACHE_DIR: home, CNNSLICER_ACTIVATION_CACHE_GB: '16' });
    const relative = engineCacheSettings(read({ [dir]: 'cache' }), home);
    assert.equal(relative.directory, undefined);
    assert.match(relative.problem ?? '', /cnnslicer\.cache\.directory must be an absolute folder .*"cache"/);
  });

  it('clamps the cap at 0, ignores a malformed one, and tells settings apart', () => {
    const cap = CACHE_SETTINGS.activationsMaxGB.key;
    assert.equal(engineCacheSettings(read({ [cap]: -3 }), home).activationsMaxGB, 0);
    assert.equal(engineCacheSettings(read({ [cap]: 'big' }), home).activationsMaxGB, 16);
    assert.equal(engineCacheSettings(read({ [cap]: 2.5 }), home).activationsMaxGB, 2.5);
    assert.equal(sameEngineCacheSettings({ directory: undefined, activationsMaxGB: 1 }, { directory: undefined, activationsMaxGB: 1 }), true);
    assert.equal(sameEngineCacheSettings({ directory: '/a', activationsMaxGB: 1 }, { directory: undefined, activationsMaxGB: 1 }), false);
  });
});

describe('extension progress reporting', () => {
  it('turns done-of-total into increments that add up to 100', () => {
    const tracker = new ProgressTracker();
    const steps = [tracker.next({ done: 1, total: 4 }), tracker.next({ done: 2, total: 4, message: 'reading epoch 2' }), tracker.next({ done: 4, total: 4 })];
    assert.deepEqual(steps, [
      { increment: 25, message: '1 of 4' },
      { increment: 25, message: 'reading epoch 2' },
      { increment: 50, message: '4 of 4' },
    ]);
  });

  it('never moves the bar back or past the end, and reports no increment for an unknown total', () => {
    const tracker = new ProgressTracker();
    assert.deepEqual(tracker.next({ done: 3, total: 4 }), { increment: 75, message: '3 of 4' });
    assert.deepEqual(tracker.next({ done: 1, total: 4 }), { message: '1 of 4' });
    assert.deepEqual(tracker.next({ done: 9, total: 4 }), { increment: 25, message: '9 of 4' });
    assert.deepEqual(new ProgressTracker().next({ done: 7, total: 0 }), {});
    assert.deepEqual(new ProgressTracker().next({ done: 7, total: 0, message: 'scanning' }), { message: 'scanning' });
  });
});

describe('extension plain text', () => {
  it('keeps markdown links in notification text from becoming clickable', () => {
    assert.equal(
      plainNotificationText('layer "[x](command:workbench.action.quit)" appears twice'),
      'layer "[x] (command:workbench.action.quit)" appears twice',
    );
    assert.equal(plainNotificationText('/runs/a: not found'), '/runs/a: not found');
  });

  it('escapes icon syntax in quick pick text the way VS Code does', () => {
    assert.equal(escapeCodicons('run $(zap) and $(sync~spin)'), 'run \\$(zap) and \\$(sync~spin)');
    assert.equal(escapeCodicons('already \\$(zap)'), 'already \\$(zap)');
    assert.equal(escapeCodicons('cost $(1 000) and $('), 'cost $(1 000) and $(');
  });
});

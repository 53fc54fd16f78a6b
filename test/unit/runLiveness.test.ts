import * as assert from 'node:assert/strict';
import { RunCatalog, type RunEntry } from '../../src/extension/runs/runCatalog';
import { DEFAULT_LIVENESS_OPTIONS, formatMoment, RunLiveness, type RunObservation } from '../../src/extension/runs/runLiveness';
import { childrenOf, LIVE_RUN_ICON, presentNode, TREE_CONTEXT, type RunsTreeNode } from '../../src/extension/runs/runsTreeModel';
import { makeRun } from './extensionFixtures';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const RUN = '/w/runs/mnist';

/** A clock the test moves by hand. */
function fakeClock(start = Date.UTC(2025, 4, 1, 12, 0, 0)): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

function observation(epochs: number, extra: Partial<RunObservation> = {}): RunObservation {
  return { complete: false, epochs: Array.from({ length: epochs }, (_, i) => i), incompleteEpochs: [], manifestModifiedMs: undefined, ...extra };
}

describe('run liveness', () => {
  it('makes a run live as new epochs arrive, and keeps it live while they keep coming', () => {
    const clock = fakeClock();
    const liveness = new RunLiveness(clock.now);
    liveness.observe(RUN, observation(1, { manifestModifiedMs: clock.now() - 10 * MINUTE }));
    assert.equal(liveness.isLive(RUN), false, 'a manifest untouched for ten minutes is not live yet');
    for (let epoch = 2; epoch <= 6; epoch++) {
      clock.advance(3 * SECOND);
      const status = liveness.observe(RUN, observation(epoch, { manifestModifiedMs: clock.now() }));
      assert.equal(status.live, true, `live after epoch ${epoch - 1} arrived`);
      assert.equal(status.lastEpochAt, clock.now());
    }
    assert.deepEqual(liveness.liveRuns(), [RUN]);
  });

  it('stops being live as soon as the manifest says complete', () => {
    const clock = fakeClock();
    const liveness = new RunLiveness(clock.now);
    liveness.observe(RUN, observation(3, { manifestModifiedMs: clock.now() }));
    assert.equal(liveness.isLive(RUN), true);
    clock.advance(SECOND);
    const status = liveness.observe(RUN, observation(3, { complete: true, manifestModifiedMs: clock.now() }));
    assert.equal(status.live, false);
    assert.equal(status.liveUntil, undefined);
    assert.equal(liveness.nextExpiry(), undefined, 'nothing to re-evaluate once no run is live');
  });

  it('stops being live after a silence of the minimum window when epochs came fast', () => {
    const clock = fakeClock();
    const liveness = new RunLiveness(clock.now);
    liveness.observe(RUN, observation(1, { manifestModifiedMs: clock.now() }));
    for (let epoch = 2; epoch <= 4; epoch++) {
      clock.advance(3 * SECOND);
      liveness.observe(RUN, observation(epoch, { manifestModifiedMs: clock.now() }));
    }
    const lastArrival = clock.now();
    assert.equal(liveness.windowMs(RUN), DEFAULT_LIVENESS_OPTIONS.minWindowMs, 'twice 3 s is below the floor');
    assert.equal(liveness.nextExpiry(), lastArrival + DEFAULT_LIVENESS_OPTIONS.minWindowMs);
    clock.advance(DEFAULT_LIVENESS_OPTIONS.minWindowMs - 1);
    assert.equal(liveness.isLive(RUN), true);
    clock.advance(1);
    assert.equal(liveness.isLive(RUN), false);
    assert.equal(liveness.status(RUN).lastEpochAt, lastArrival, 'the run still says when its last epoch came');
  });

  it('waits twice the median interval between the run’s last epochs when they come slowly, up to the cap', () => {
    const clock = fakeClock();
    const liveness = new RunLiveness(clock.now);
    liveness.observe(RUN, observation(1, { manifestModifiedMs: clock.now() }));
    // Intervals of 5, 4, 6 and 40 minutes: the median ignores the one long pause.
    for (const [epochs, gap] of [
      [2, 5],
      [3, 4],
      [4, 6],
      [5, 40],
    ] as const) {
      clock.advance(gap * MINUTE);
      liveness.observe(RUN, observation(epochs, { manifestModifiedMs: clock.now() }));
    }
    assert.equal(liveness.windowMs(RUN), 2 * 5.5 * MINUTE);
    clock.advance(10 * MINUTE);
    assert.equal(liveness.isLive(RUN), true, 'ten minutes of silence is normal for this run');
    clock.advance(MINUTE + SECOND);
    assert.equal(liveness.isLive(RUN), false);

    const slow = new RunLiveness(clock.now);
    slow.observe('/slow', observation(1, { manifestModifiedMs: clock.now() }));
    clock.advance(3 * 60 * MINUTE);
    slow.observe('/slow', observation(2, { manifestModifiedMs: clock.now() }));
    assert.equal(slow.windowMs('/slow'), DEFAULT_LIVENESS_OPTIONS.maxWindowMs, 'a stalled trainer stops looking live within the cap');
  });

  it('does not call a run live the first time it is seen when its manifest is old, whatever it lacks', () => {
    const clock = fakeClock();
    const liveness = new RunLiveness(clock.now);
    const status = liveness.observe(RUN, observation(4, { incompleteEpochs: [4], manifestModifiedMs: clock.now() - 2 * 60 * MINUTE }));
    assert.equal(status.live, false, 'a killed trainer leaves an incomplete run behind');
    assert.equal(status.lastEpochAt, clock.now() - 2 * 60 * MINUTE, 'the manifest was last written when its newest epoch arrived');
    assert.equal(liveness.observe('/unknown-age', observation(2)).live, false, 'without a modification time there is no sign of life');
  });

  it('calls a run live the first time it is seen when its manifest changed moments ago', () => {
    const clock = fakeClock();
    const liveness = new RunLiveness(clock.now);
    assert.equal(liveness.observe(RUN, observation(0, { manifestModifiedMs: clock.now() - 5 * SECOND })).live, true, 'a run just created, no epoch yet');
    assert.equal(liveness.status(RUN).lastEpochAt, undefined);
    // A file system clock running ahead must not stretch the window.
    const ahead = new RunLiveness(clock.now);
    ahead.observe(RUN, observation(2, { manifestModifiedMs: clock.now() + 10 * MINUTE }));
    assert.equal(ahead.nextExpiry(), clock.now() + DEFAULT_LIVENESS_OPTIONS.minWindowMs);
  });

  it('counts an epoch folder appearing, or the manifest changing, as activity, but not reading the same run again', () => {
    const clock = fakeClock();
    const liveness = new RunLiveness(clock.now);
    const modified = clock.now() - 50 * SECOND;
    liveness.observe(RUN, observation(3, { manifestModifiedMs: modified }));
    clock.advance(20 * SECOND);
    // A forced reread (Refresh) finds the run as it was: its minute is still counted from the manifest's change.
    liveness.observe(RUN, observation(3, { manifestModifiedMs: modified }));
    assert.equal(liveness.isLive(RUN), false);

    liveness.observe(RUN, observation(3, { incompleteEpochs: [3], manifestModifiedMs: modified }));
    assert.equal(liveness.isLive(RUN), true, 'the next epoch is being written');
    assert.equal(liveness.status(RUN).lastEpochAt, modified, 'an epoch being written has not arrived yet');
    clock.advance(DEFAULT_LIVENESS_OPTIONS.minWindowMs);
    assert.equal(liveness.isLive(RUN), false);
    liveness.observe(RUN, observation(3, { incompleteEpochs: [3], manifestModifiedMs: modified }));
    assert.equal(liveness.isLive(RUN), false, 'the same epoch still being written is no news');
    liveness.observe(RUN, observation(3, { incompleteEpochs: [3], manifestModifiedMs: clock.now() }));
    assert.equal(liveness.isLive(RUN), true, 'a rewritten manifest is');
  });

  it('starts the pace afresh when a run is rewritten from scratch', () => {
    const clock = fakeClock();
    const liveness = new RunLiveness(clock.now);
    liveness.observe(RUN, observation(1, { manifestModifiedMs: clock.now() }));
    clock.advance(20 * MINUTE);
    liveness.observe(RUN, observation(2, { manifestModifiedMs: clock.now() }));
    assert.equal(liveness.windowMs(RUN), DEFAULT_LIVENESS_OPTIONS.maxWindowMs);
    clock.advance(SECOND);
    const status = liveness.observe(RUN, observation(0, { manifestModifiedMs: clock.now() }));
    assert.equal(status.live, true);
    assert.equal(status.lastEpochAt, undefined);
    assert.equal(liveness.windowMs(RUN), DEFAULT_LIVENESS_OPTIONS.minWindowMs);
  });

  it('gives the soonest expiry among live runs, and forgets runs that left the index', () => {
    const clock = fakeClock();
    const liveness = new RunLiveness(clock.now);
    liveness.observe('/a', observation(1, { manifestModifiedMs: clock.now() - 30 * SECOND }));
    liveness.observe('/b', observation(1, { manifestModifiedMs: clock.now() - 10 * SECOND }));
    liveness.observe('/old', observation(1, { manifestModifiedMs: clock.now() - 10 * MINUTE }));
    assert.deepEqual(liveness.liveRuns().sort(), ['/a', '/b']);
    assert.equal(liveness.nextExpiry(), clock.now() + 30 * SECOND);
    liveness.retainOnly(new Set(['/b']));
    assert.deepEqual(liveness.liveRuns(), ['/b']);
    assert.equal(liveness.status('/a').live, false);
    liveness.forget('/b');
    assert.equal(liveness.nextExpiry(), undefined);
  });

  it('writes a moment as the time of day, with the date when it is not today', () => {
    const now = new Date(2025, 4, 1, 18, 0, 0).getTime();
    assert.equal(formatMoment(new Date(2025, 4, 1, 9, 5, 7).getTime(), now), '09:05:07');
    assert.equal(formatMoment(new Date(2025, 3, 30, 23, 59, 59).getTime(), now), '2025-04-30 23:59:59');
  });
});

describe('live runs in the Runs tree', () => {
  const lastEpochAt = new Date(2024, 0, 2, 3, 4, 5).getTime();

  function runNode(liveness: RunEntry['liveness'], manifest: Parameters<typeof makeRun>[0] = {}): RunsTreeNode {
    const entry: RunEntry = { dir: RUN, state: { kind: 'loaded', info: makeRun({ dir: RUN, ...manifest }) }, ...(liveness !== undefined ? { liveness } : {}) };
    return { kind: 'run', entry };
  }

  it('marks a live run with its own icon and “live”, and says in the tooltip when its last epoch arrived', () => {
    const p = presentNode(runNode({ live: true, lastEpochAt, liveUntil: lastEpochAt + MINUTE }));
    assert.equal(p.description, '3 epochs · 3 layers · live');
    assert.deepEqual(p.icon, LIVE_RUN_ICON);
    assert.notEqual(p.icon.id, 'beaker');
    assert.match(p.tooltip ?? '', /^Live, training: the last epoch arrived at 2024-01-02 03:04:05$/m);
    assert.equal(p.contextValue, TREE_CONTEXT.run, 'a live run has the same menus as any other');
  });

  it('shows a live run with no finished epoch yet as such', () => {
    const p = presentNode(runNode({ live: true, lastEpochAt: undefined, liveUntil: lastEpochAt }, { manifest: { epochs: [] } }));
    assert.equal(p.description, '0 epochs · 3 layers · live');
    assert.match(p.tooltip ?? '', /^Live, training: no epoch has finished yet$/m);
  });

  it('shows a quiet unfinished run and a complete one as before, without “live”', () => {
    const quiet = presentNode(runNode({ live: false, lastEpochAt, liveUntil: undefined }));
    assert.equal(quiet.description, '3 epochs · 3 layers');
    assert.equal(quiet.icon.id, 'beaker');
    assert.match(quiet.tooltip ?? '', /^More epochs may come; the last epoch arrived at 2024-01-02 03:04:05$/m);
    const complete = presentNode(runNode({ live: false, lastEpochAt, liveUntil: undefined }, { manifest: { complete: true } }));
    assert.match(complete.tooltip ?? '', /^Complete$/m);
    const unknown = presentNode(runNode(undefined));
    assert.match(unknown.tooltip ?? '', /^More epochs may come$/m);
  });

  it('keeps an epoch being written of a live run as “(being written)”, with nothing to open', () => {
    const run = runNode({ live: true, lastEpochAt, liveUntil: lastEpochAt + MINUTE }, { incompleteEpochs: [3] });
    const epochsGroup = childrenOf(run).find((n) => n.kind === 'epochs');
    assert.ok(epochsGroup);
    const writing = childrenOf(epochsGroup).find((n) => n.kind === 'incompleteEpoch');
    assert.ok(writing);
    const p = presentNode(writing);
    assert.equal(p.label, 'epoch 3 (being written)');
    assert.equal(p.command, undefined);
    assert.equal(p.contextValue, TREE_CONTEXT.incompleteEpoch);
  });
});

describe('checking one run outside a full scan', () => {
  function catalogWith(dirs: readonly string[]): RunCatalog {
    const catalog = new RunCatalog();
    catalog.reconcile(
      dirs.map((dir) => ({ dir, stamp: '1:100' })),
      false,
    );
    for (const dir of dirs) catalog.finishLoad(dir, catalog.beginLoad(dir)!, { kind: 'loaded', info: makeRun({ dir }) });
    return catalog;
  }

  it('reloads a run only when its manifest’s stamp changed, or it failed, or could not be stamped', () => {
    const catalog = catalogWith(['/w/a']);
    assert.equal(catalog.restamp('/w/a', '1:100'), false);
    assert.equal(catalog.restamp('/w/a', '2:140'), true);
    assert.equal(catalog.restamp('/w/a', '2:140'), false, 'the new stamp was recorded');
    assert.deepEqual(catalog.reconcile([{ dir: '/w/a', stamp: '2:140' }], false).toLoad, [], 'a full scan after it does not reload again');
    assert.equal(catalog.restamp('/w/a', undefined), true);
    catalog.finishLoad('/w/a', catalog.beginLoad('/w/a')!, { kind: 'failed', error: { code: 'corrupt', message: 'bad' } });
    assert.equal(catalog.restamp('/w/a', '3:150'), true);
    assert.equal(catalog.restamp('/w/a', '3:150'), true, 'a failed run is retried at every hint');
  });

  it('leaves runs it does not know to the full scan', () => {
    const catalog = catalogWith(['/w/a']);
    assert.equal(catalog.restamp('/w/b', '1:1'), false);
    assert.equal(catalog.get('/w/b'), undefined);
  });

  it('finds the run a changed path belongs to, the innermost when runs nest', () => {
    const catalog = catalogWith(['/w/a', '/w/a/nested', '/w/ab']);
    assert.equal(catalog.runContaining('/w/a/epochs/epoch-0003'), '/w/a');
    assert.equal(catalog.runContaining('/w/a/nested/epochs/epoch-0001/activations.safetensors.tmp'), '/w/a/nested');
    assert.equal(catalog.runContaining('/w/ab/epochs/epoch-0001'), '/w/ab');
    assert.equal(catalog.runContaining('/w/a'), undefined, 'the run folder itself is not inside the run');
    assert.equal(catalog.runContaining('/w/other/epochs/epoch-0001'), undefined);
  });
});

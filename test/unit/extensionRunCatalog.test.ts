import * as assert from 'node:assert/strict';
import { RunCatalog, runEntryLabel } from '../../src/extension/runs/runCatalog';
import { makeRun } from './extensionFixtures';

const failure = { kind: 'failed', error: { code: 'invalid-manifest', message: 'bad', file: '/x/cnnslicer.json' } } as const;

function loaded(dir: string, name = 'run') {
  return { kind: 'loaded', info: makeRun({ dir, name }) } as const;
}

/** Loads every run the reconcile asked for, with `state` for each. */
function loadAll(catalog: RunCatalog, dirs: readonly string[], state: (dir: string) => Parameters<RunCatalog['finishLoad']>[2]): void {
  for (const dir of dirs) {
    const token = catalog.beginLoad(dir);
    assert.notEqual(token, undefined);
    assert.equal(catalog.finishLoad(dir, token!, state(dir)), true);
  }
}

describe('extension run catalog', () => {
  it('adds the runs a scan finds as loading and asks for them to be loaded', () => {
    const catalog = new RunCatalog();
    const { toLoad, changed } = catalog.reconcile(
      [
        { dir: '/w/a', stamp: '1:10' },
        { dir: '/w/b', stamp: '1:20' },
      ],
      false,
    );
    assert.deepEqual(toLoad, ['/w/a', '/w/b']);
    assert.equal(changed, true);
    assert.deepEqual(catalog.get('/w/a'), { dir: '/w/a', state: { kind: 'loading' } });
  });

  it('reloads only what changed, failed before, or could not be stamped', () => {
    const catalog = new RunCatalog();
    const first = catalog.reconcile(
      [
        { dir: '/a', stamp: '1' },
        { dir: '/b', stamp: '1' },
        { dir: '/c', stamp: '1' },
        { dir: '/d', stamp: '1' },
      ],
      false,
    );
    loadAll(catalog, first.toLoad, (dir) => (dir === '/b' ? failure : loaded(dir)));
    const second = catalog.reconcile(
      [
        { dir: '/a', stamp: '1' },
        { dir: '/b', stamp: '1' },
        { dir: '/c', stamp: '2' },
        { dir: '/d', stamp: undefined },
      ],
      false,
    );
    assert.deepEqual(second.toLoad, ['/b', '/c', '/d']);
    assert.equal(second.changed, false);
  });

  it('reloads everything when asked to', () => {
    const catalog = new RunCatalog();
    const found = [
      { dir: '/a', stamp: '1' },
      { dir: '/b', stamp: '1' },
    ];
    loadAll(catalog, catalog.reconcile(found, false).toLoad, (dir) => loaded(dir));
    assert.deepEqual(catalog.reconcile(found, true).toLoad, ['/a', '/b']);
  });

  it('drops runs a scan no longer finds', () => {
    const catalog = new RunCatalog();
    catalog.reconcile(
      [
        { dir: '/a', stamp: '1' },
        { dir: '/b', stamp: '1' },
      ],
      false,
    );
    const { changed } = catalog.reconcile([{ dir: '/b', stamp: '1' }], false);
    assert.equal(changed, true);
    assert.equal(catalog.get('/a'), undefined);
    assert.equal(catalog.size, 1);
  });

  it('counts a run found twice in one scan (two workspace folders overlapping) once', () => {
    const catalog = new RunCatalog();
    const { toLoad } = catalog.reconcile(
      [
        { dir: '/a', stamp: '1' },
        { dir: '/a', stamp: '1' },
      ],
      false,
    );
    assert.deepEqual(toLoad, ['/a']);
    assert.equal(catalog.size, 1);
  });

  it('keeps only the newest load of a run, whatever order the results arrive in', () => {
    const catalog = new RunCatalog();
    catalog.reconcile([{ dir: '/a', stamp: '1' }], false);
    const older = catalog.beginLoad('/a')!;
    const newer = catalog.beginLoad('/a')!;
    assert.equal(catalog.finishLoad('/a', newer, loaded('/a', 'new')), true);
    assert.equal(catalog.finishLoad('/a', older, loaded('/a', 'old')), false);
    const state = catalog.get('/a')!.state;
    assert.equal(state.kind === 'loaded' && state.info.name, 'new');
  });

  it('keeps showing a run’s previous info while it reloads', () => {
    const catalog = new RunCatalog();
    loadAll(catalog, catalog.reconcile([{ dir: '/a', stamp: '1' }], false).toLoad, (dir) => loaded(dir, 'before'));
    catalog.reconcile([{ dir: '/a', stamp: '2' }], false);
    catalog.beginLoad('/a');
    const state = catalog.get('/a')!.state;
    assert.equal(state.kind === 'loaded' && state.info.name, 'before');
  });

  it('ignores the result of a load of a run that was removed meanwhile', () => {
    const catalog = new RunCatalog();
    catalog.reconcile([{ dir: '/a', stamp: '1' }], false);
    const token = catalog.beginLoad('/a')!;
    catalog.reconcile([], false);
    assert.equal(catalog.finishLoad('/a', token, loaded('/a')), false);
    assert.equal(catalog.beginLoad('/a'), undefined);
    assert.equal(catalog.size, 0);
  });

  it('lists runs by name once loaded, by folder name before, then by folder', () => {
    const catalog = new RunCatalog();
    const found = ['/w/zeta', '/w/x2', '/w/x1', '/w/alpha'].map((dir) => ({ dir, stamp: '1' }));
    catalog.reconcile(found, false);
    for (const [dir, name] of [
      ['/w/x1', 'mnist'],
      ['/w/x2', 'mnist'],
      ['/w/alpha', 'zzz'],
    ] as const)
      catalog.finishLoad(dir, catalog.beginLoad(dir)!, loaded(dir, name));
    const entries = catalog.entries();
    assert.deepEqual(entries.map(runEntryLabel), ['mnist', 'mnist', 'zeta', 'zzz']);
    assert.deepEqual(
      entries.map((e) => e.dir),
      ['/w/x1', '/w/x2', '/w/zeta', '/w/alpha'],
    );
  });
});

describe('extension run catalog: which file events can change the runs', () => {
  const catalog = new RunCatalog();
  catalog.reconcile(
    [
      { dir: '/w/runs/a', stamp: '1' },
      { dir: '/w/other/b', stamp: '1' },
    ],
    false,
  );

  it('counts deleting a run folder or an ancestor of one', () => {
    for (const p of ['/w/runs/a', '/w/runs', '/w/runs/', '/w']) assert.equal(catalog.mayChangeRuns('deleted', p), true, p);
    for (const p of ['/w/runs/a/epochs', '/w/run', '/w/runs/ab', '/w/notes.txt', '/elsewhere']) assert.equal(catalog.mayChangeRuns('deleted', p), false, p);
  });

  it('counts creating anything outside known runs (a folder moved in may hold runs), not a run writing its own files', () => {
    for (const p of ['/w/runs/c', '/w/moved-in', '/w/runs/ab']) assert.equal(catalog.mayChangeRuns('created', p), true, p);
    for (const p of ['/w/runs/a/epochs/epoch-0003', '/w/other/b/cnnslicer.json.tmp']) assert.equal(catalog.mayChangeRuns('created', p), false, p);
  });

  it('ignores the churn of folders the scan excludes', () => {
    for (const change of ['created', 'deleted'] as const) {
      assert.equal(catalog.mayChangeRuns(change, '/w/.git/index.lock'), false);
      assert.equal(catalog.mayChangeRuns(change, '/w/node_modules/pkg/run'), false);
    }
  });
});

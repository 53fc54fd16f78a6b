// The trainer child process, driven by a fake trainer (a Node script speaking the same JSON-line
// protocol as python/cnnslicer/train.py), so these tests need neither Python nor PyTorch.
import * as assert from 'node:assert/strict';
import {
  epochMessage,
  formatTimeLeft,
  LineSplitter,
  parseTrainerLine,
  runFolderName,
  secondsLeft,
  trainerArgs,
  trainerOptionArgs,
  TrainerProcess,
  type TrainerEvent,
} from '../../src/extension/training/trainerProcess';

// argv[1] picks the behaviour. `stubborn` ignores SIGTERM, so only the SIGKILL fallback stops it.
const FAKE_TRAINER = String.raw`
const mode = process.argv[1];
const say = (o) => process.stdout.write(JSON.stringify(o) + '\n');
if (mode === 'ok') {
  say({ event: 'start', run: '/runs/a', epochs: 3 });
  console.log('a stray line from some library');
  for (let e = 1; e <= 3; e++) say({ event: 'epoch', epoch: e, epochs: 3, loss: 1 / e, accuracy: 0.3 * e, seconds: 2 });
  say({ event: 'done', run: '/runs/a' });
} else if (mode === 'split') {
  // One event cut across writes, with a multi-byte character on the cut.
  const line = Buffer.from(JSON.stringify({ event: 'error', message: 'Ωmega failed' }) + '\n');
  process.stdout.write(line.subarray(0, 25));
  setTimeout(() => { process.stdout.write(line.subarray(25)); process.exitCode = 1; }, 50);
} else if (mode === 'error') {
  say({ event: 'start', run: '/runs/b', epochs: 5 });
  say({ event: 'error', message: 'CUDA out of memory' });
  process.exitCode = 1;
} else if (mode === 'crash') {
  process.stderr.write('Traceback (most recent call last):\nImportError: no module named torch\n');
  process.exitCode = 3;
} else if (mode === 'graceful') {
  process.on('SIGTERM', () => { say({ event: 'cancelled', run: '/runs/c', epoch: 1 }); process.exit(0); });
  say({ event: 'start', run: '/runs/c', epochs: 9 });
  say({ event: 'epoch', epoch: 1, epochs: 9, loss: 0.5, accuracy: 0.8, seconds: 1 });
  setInterval(() => undefined, 1000);
} else if (mode === 'stubborn') {
  process.on('SIGTERM', () => undefined);
  say({ event: 'start', run: '/runs/d', epochs: 9 });
  setInterval(() => undefined, 1000);
}
`;

function fake(mode: string, onEvent?: (e: TrainerEvent, p: TrainerProcess) => void): { trainer: TrainerProcess; events: TrainerEvent[] } {
  const events: TrainerEvent[] = [];
  const holder: { trainer?: TrainerProcess } = {};
  const trainer = new TrainerProcess({
    command: process.execPath,
    args: ['-e', FAKE_TRAINER, mode],
    onEvent: (e) => {
      events.push(e);
      if (holder.trainer !== undefined) onEvent?.(e, holder.trainer);
    },
  });
  holder.trainer = trainer;
  return { trainer, events };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('trainer process: parsing its lines', () => {
  it('parses every event of the protocol and ignores lines that are not events', () => {
    assert.deepEqual(parseTrainerLine('{"event":"start","run":"/r","epochs":20}'), { event: 'start', run: '/r', epochs: 20 });
    assert.deepEqual(parseTrainerLine(' {"event":"epoch","epoch":3,"epochs":20,"loss":0.12,"accuracy":0.9,"seconds":4.5,"test_loss":0.2}\r'), {
      event: 'epoch',
      epoch: 3,
      epochs: 20,
      loss: 0.12,
      accuracy: 0.9,
      seconds: 4.5,
    });
    assert.deepEqual(parseTrainerLine('{"event":"epoch","epoch":1,"epochs":2,"loss":null,"accuracy":0.1,"seconds":1}'), {
      event: 'epoch',
      epoch: 1,
      epochs: 2,
      loss: null,
      accuracy: 0.1,
      seconds: 1,
    });
    assert.deepEqual(parseTrainerLine('{"event":"start","run":"/r","epochs":2,"device":"cuda"}'), { event: 'start', run: '/r', epochs: 2, device: 'cuda' });
    assert.deepEqual(parseTrainerLine('{"event":"start","run":"/r","epochs":2,"backend":"wasm"}'), { event: 'start', run: '/r', epochs: 2, backend: 'wasm' });
    assert.deepEqual(
      parseTrainerLine('{"event":"start","run":"/r","epochs":2,"device":7,"backend":""}'),
      { event: 'start', run: '/r', epochs: 2 },
      'a malformed device or backend is dropped, the event kept',
    );
    assert.deepEqual(parseTrainerLine('{"event":"done","run":"/r"}'), { event: 'done', run: '/r' });
    assert.deepEqual(parseTrainerLine('{"event":"cancelled","run":null,"epoch":null}'), { event: 'cancelled', run: null, epoch: null });
    assert.deepEqual(parseTrainerLine('{"event":"error","message":"boom"}'), { event: 'error', message: 'boom' });
    assert.equal(parseTrainerLine('{"event":"error"}')?.event, 'error', 'an error without a message is still an error');
    for (const line of ['', 'epoch 1 loss 0.3', '{"event":', '[1,2]', 'null', '{"event":"later"}', '{"event":"epoch","epoch":"3"}', '{"event":"start"}']) {
      assert.equal(parseTrainerLine(line), undefined, line);
    }
  });

  it('splits a stream into lines wherever the chunks are cut', () => {
    const bytes = Buffer.from('{"a":"é"}\nsecond\nthird');
    const s = new LineSplitter();
    const lines: string[] = [];
    for (let i = 0; i < bytes.length; i++) lines.push(...s.push(bytes.subarray(i, i + 1)));
    lines.push(...s.end());
    assert.deepEqual(lines, ['{"a":"é"}', 'second', 'third']);
  });
});

describe('trainer process: time left and progress text', () => {
  it('estimates the time left from the mean epoch duration', () => {
    assert.equal(secondsLeft([], 0, 20), undefined);
    assert.equal(secondsLeft([10, 20], 2, 20), 18 * 15);
    assert.equal(secondsLeft([5], 20, 20), 0);
  });

  it('rounds the estimate to what is worth reading', () => {
    assert.equal(formatTimeLeft(0.2), '~1 s left');
    assert.equal(formatTimeLeft(7.4), '~7 s left');
    assert.equal(formatTimeLeft(44), '~40 s left');
    assert.equal(formatTimeLeft(80), '~1 min left');
    assert.equal(formatTimeLeft(45 * 60), '~45 min left');
    assert.equal(formatTimeLeft(120 * 60), '~2 h left');
    assert.equal(formatTimeLeft(65 * 60 + 10), '~1 h 5 min left');
  });

  it('shows epoch, loss and time left, without a time left after the last epoch', () => {
    const e = { event: 'epoch', epoch: 3, epochs: 20, loss: 0.12345, accuracy: 0.9, seconds: 4 } as const;
    assert.equal(epochMessage(e, 68), 'epoch 3/20 · loss 0.123 · ~1 min left');
    assert.equal(epochMessage({ ...e, loss: null }, undefined), 'epoch 3/20');
    assert.equal(epochMessage({ ...e, epoch: 20 }, 0), 'epoch 20/20 · loss 0.123');
  });

  it('builds the CIFAR-10 command line, the same options for both trainers', () => {
    const o = {
      dataset: 'cifar10',
      arch: 'cifar',
      perClass: 100,
      epochs: 2,
      batchSize: 32,
      lr: 0.01,
      probe: 20,
      out: '/o',
      data: '/c',
      cifarRecords: 50,
    } as const;
    const options = [
      '--dataset',
      'cifar10',
      '--arch',
      'cifar',
      '--per-class',
      '100',
      '--epochs',
      '2',
      '--batch-size',
      '32',
      '--lr',
      '0.01',
      '--probe',
      '20',
      '--out',
      '/o',
      '--data',
      '/c',
      '--cifar-records',
      '50',
    ];
    assert.deepEqual(trainerOptionArgs(o), options);
    assert.deepEqual(trainerArgs(o), ['-m', 'cnnslicer.train', ...options]);
  });

  it('builds the trainer command line', () => {
    assert.deepEqual(trainerArgs({ arch: 'small', perClass: 'all', epochs: 2, batchSize: 64, lr: 0.001, probe: 50, out: '/o', data: '/d' }), [
      '-m',
      'cnnslicer.train',
      '--arch',
      'small',
      '--per-class',
      'all',
      '--epochs',
      '2',
      '--batch-size',
      '64',
      '--lr',
      '0.001',
      '--probe',
      '50',
      '--out',
      '/o',
      '--data',
      '/d',
    ]);
  });
});

describe('trainer process: run folder names', () => {
  it('names the folder after the architecture, the images per digit and the local start time', () => {
    assert.equal(runFolderName('small', 500, new Date(2026, 0, 2, 3, 4, 5)), 'small-500-20260102-030405');
    assert.equal(runFolderName('paper', 'all', new Date(2026, 10, 26, 13, 55, 42)), 'paper-all-20261126-135542');
  });
});

describe('trainer process: running a trainer', function () {
  // Starting Node children on a loaded CI machine can take a while; nothing here measures time.
  this.timeout(20_000);

  it('reports each event in order and finishes with done', async () => {
    const { trainer, events } = fake('ok');
    const result = await trainer.result;
    assert.deepEqual(result, { outcome: 'done', run: '/runs/a', lastEpoch: 3 });
    assert.deepEqual(
      events.map((e) => (e.event === 'epoch' ? `epoch ${e.epoch}` : e.event)),
      ['start', 'epoch 1', 'epoch 2', 'epoch 3', 'done'],
    );
  });

  it('fails with the trainer’s own message', async () => {
    const result = await fake('error').trainer.result;
    assert.deepEqual(result, { outcome: 'failed', message: 'CUDA out of memory', run: '/runs/b', lastEpoch: 0 });
  });

  it('reassembles an event split across writes', async () => {
    const result = await fake('split').trainer.result;
    assert.deepEqual(result, { outcome: 'failed', message: 'Ωmega failed' });
  });

  it('fails with the end of stderr when the trainer dies without an error event', async () => {
    const result = await fake('crash').trainer.result;
    assert.equal(result.outcome, 'failed');
    assert.match(result.message ?? '', /exited with status 3/);
    assert.match(result.message ?? '', /no module named torch/);
  });

  it('fails with a clear message when the interpreter cannot be started', async () => {
    const trainer = new TrainerProcess({ command: '/nonexistent/python3', args: ['-m', 'cnnslicer.train'] });
    const result = await trainer.result;
    assert.equal(result.outcome, 'failed');
    assert.match(result.message ?? '', /could not start \/nonexistent\/python3/);
  });

  it('cancels a trainer that stops on SIGTERM, keeping its last epoch', async () => {
    const { trainer } = fake('graceful', (e, t) => {
      if (e.event === 'epoch') t.cancel();
    });
    const result = await trainer.result;
    assert.deepEqual(result, { outcome: 'cancelled', run: '/runs/c', lastEpoch: 1 });
  });

  it('kills a trainer that ignores SIGTERM', async () => {
    const { trainer } = fake('stubborn', (e, t) => {
      if (e.event === 'start') t.cancel();
    });
    const result = await trainer.result;
    assert.equal(result.outcome, 'cancelled');
    assert.equal(result.run, '/runs/d');
    assert.ok(trainer.pid !== undefined && !isAlive(trainer.pid), 'the trainer process has exited');
  });
});

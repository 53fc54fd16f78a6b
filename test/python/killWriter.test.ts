// A probe killed at any moment leaves a run that reads back: every epoch the manifest names is
// complete, and an epoch that was being written is reported as incomplete, never read. The writer
// (scripts/kill_writer.py) is the real Probe with store="both"; it is SIGKILLed after seeded random
// delays spread over its whole write cycle (creating the run, epoch 0, then epoch after epoch).
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { disposeSessions, materializeOutputs } from '../../src/engine/run/checkpoint';
import { RunReader } from '../../src/engine/run/runReader';
import { CnnSlicerError } from '../../src/shared/errors';
import { pythonEnv } from '../support/python';
import { seededRandom } from '../support/runFixtures';
import { requirePython } from './pyhelpers';

const SCRIPT = path.join(__dirname, 'scripts', 'kill_writer.py');
const KILLS = 40;
/**
 * Kill delays are uniform in [0, this): on a development machine, creating the run (first forward,
 * trial ONNX export, probe file, manifest) and writing epoch 0 take the first 100–200 ms, each
 * later epoch 10–30 ms, so kills land in every phase.
 */
const MAX_DELAY_MS = 500;

// --- What KillNet computes: the formulas of kill_writer.py, in integers --------------------------

const N = 64;
const CHANNELS = 16;
const CLASSES = 10;
const mod = (a: number, m: number): number => ((a % m) + m) % m;

function probeInput(n: number, i: number, j: number): number {
  return mod(n * 7 + i * 3 + j * 5, 9) - 4;
}

/** Every recorded tensor of KillNet at an epoch, each [N, ...shape] flattened. */
function expectedTensors(epoch: number): Map<string, Float32Array> {
  const conv = new Float32Array(N * CHANNELS * 64);
  const relu = new Float32Array(N * CHANNELS * 64);
  const pool = new Float32Array(N * CHANNELS * 16);
  const fc = new Float32Array(N * CLASSES);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < CHANNELS; c++) {
      const w = mod(epoch + c, 5) - 2;
      const b = mod(epoch * 3 + c, 7) - 3;
      for (let i = 0; i < 8; i++) {
        for (let j = 0; j < 8; j++) {
          const at = ((n * CHANNELS + c) * 8 + i) * 8 + j;
          conv[at] = w * probeInput(n, i, j) + b;
          relu[at] = Math.max(0, conv[at]);
        }
      }
      for (let i = 0; i < 4; i++) {
        for (let j = 0; j < 4; j++) {
          const r = (di: number, dj: number): number => relu[((n * CHANNELS + c) * 8 + 2 * i + di) * 8 + 2 * j + dj];
          pool[((n * CHANNELS + c) * 4 + i) * 4 + j] = Math.max(r(0, 0), r(0, 1), r(1, 0), r(1, 1));
        }
      }
    }
    for (let k = 0; k < CLASSES; k++) {
      let sum = mod(epoch, 4) - k;
      for (let f = 0; f < CHANNELS * 16; f++) sum += (mod(epoch + 3 * k + f, 5) - 2) * pool[n * CHANNELS * 16 + f];
      fc[n * CLASSES + k] = sum;
    }
  }
  return new Map([
    ['conv', conv],
    ['relu', relu],
    ['pool', pool],
    ['fc', fc],
    ['logits', fc],
  ]);
}

function firstDifference(actual: Float32Array, expected: Float32Array): string | undefined {
  if (actual.length !== expected.length) return `length ${actual.length}, expected ${expected.length}`;
  const i = actual.findIndex((v, k) => !Object.is(v, expected[k]));
  return i < 0 ? undefined : `[${i}] is ${actual[i]}, expected ${expected[i]}`;
}

// --- The forking writer --------------------------------------------------------------------------

class Zygote {
  private readonly lines: string[] = [];
  private waiting: ((line: string) => void) | undefined;
  private stderr = '';

  constructor(readonly proc: ChildProcessWithoutNullStreams) {
    createInterface({ input: proc.stdout }).on('line', (line) => {
      if (this.waiting) {
        const w = this.waiting;
        this.waiting = undefined;
        w(line);
      } else {
        this.lines.push(line);
      }
    });
    proc.stderr.on('data', (b: Buffer) => (this.stderr += b.toString('utf8')));
  }

  async next(): Promise<string> {
    const queued = this.lines.shift();
    if (queued !== undefined) return queued;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`kill_writer.py said nothing for 30 s; stderr:\n${this.stderr}`)), 30_000);
      this.waiting = (line) => {
        clearTimeout(timer);
        resolve(line);
      };
    });
  }

  async expect(prefix: string): Promise<string[]> {
    const line = await this.next();
    const words = line.split(' ');
    if (words[0] !== prefix) throw new Error(`expected "${prefix} …" from kill_writer.py, got "${line}"; stderr:\n${this.stderr}`);
    return words.slice(1);
  }

  send(line: string): void {
    this.proc.stdin.write(`${line}\n`);
  }

  /** What writers reported on stderr other than being killed (a writer that failed says why). */
  get errors(): string {
    return this.stderr;
  }
}

interface KillOutcome {
  readonly listed: number;
  readonly incomplete: number;
}

describe('a probe killed while writing', function () {
  this.timeout(120_000);
  let zygote: Zygote | undefined;
  let tmp: string;

  before(async function () {
    const python = requirePython(this, ['torch', 'numpy']);
    tmp = mkdtempSync(path.join(tmpdir(), 'cnnslicer-kill-'));
    const proc = spawn(python, [SCRIPT], { env: pythonEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    zygote = new Zygote(proc);
    await zygote.expect('ready');
  });

  after(async function () {
    if (zygote) {
      // Closing stdin ends the zygote; a writer still running notices its parent is gone and stops.
      zygote.proc.stdin.end();
      zygote.proc.kill('SIGKILL');
    }
    await disposeSessions();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  /** Opens the run as the engine would and checks everything it claims to hold. */
  async function check(dir: string, label: string): Promise<KillOutcome> {
    let reader: RunReader;
    try {
      reader = await RunReader.open(dir);
    } catch (err) {
      assert.ok(err instanceof CnnSlicerError, `${label}: opening threw ${String(err)}, not a typed error`);
      // The probe file is written before the manifest, so the only way not to open is no manifest yet.
      assert.equal(existsSync(path.join(dir, 'cnnslicer.json')), false, `${label}: a manifest exists but opening failed: ${err.message}`);
      assert.equal(err.code, 'not-found', `${label}: ${err.message}`);
      return { listed: 0, incomplete: 0 };
    }
    try {
      const m = reader.manifest;
      assert.deepEqual(m.layers.map((l) => l.name), ['conv', 'relu', 'pool', 'fc'], label);
      const listed = m.epochs.map((e) => e.epoch);
      assert.deepEqual(listed, listed.map((_, i) => i), `${label}: epochs 0, 1, 2… in order`);
      const last = listed.length > 0 ? listed[listed.length - 1] : -1;

      for (const entry of m.epochs) {
        const expected = expectedTensors(entry.epoch);
        assert.equal(entry.metrics.loss, entry.epoch / 8, `${label}: epoch ${entry.epoch} loss`);
        for (const [name, values] of expected) {
          const s = await reader.slice({ samples: { kind: 'all' }, layer: name, channel: 'all', epoch: entry.epoch });
          assert.equal(s.source, 'activations');
          const diff = firstDifference(s.data, values);
          assert.equal(diff, undefined, `${label}: epoch ${entry.epoch} ${name}: ${diff}`);
        }
      }
      // The last listed checkpoint is the one most recently renamed into place: run it.
      const lastEntry = m.epochs.at(-1);
      if (lastEntry?.checkpoint !== undefined) {
        const outputs = await materializeOutputs({
          modelPath: path.join(dir, lastEntry.checkpoint),
          inputs: (rows) => reader.probeInputs(rows),
          inputShape: m.probe.inputShape,
          sampleIndices: Array.from({ length: N }, (_, i) => i),
          outputs: ['conv', 'fc', 'logits'],
        });
        const expected = expectedTensors(lastEntry.epoch);
        for (const [name, out] of outputs) {
          const diff = firstDifference(out.data, expected.get(name)!);
          assert.equal(diff, undefined, `${label}: checkpoint of epoch ${lastEntry.epoch}, ${name}: ${diff}`);
        }
      }

      const info = await reader.refreshedInfo();
      const onDisk = existsSync(path.join(dir, 'epochs'))
        ? readdirSync(path.join(dir, 'epochs')).map((f) => Number(/^epoch-(\d+)$/.exec(f)?.[1])).filter((e) => Number.isInteger(e))
        : [];
      const unlisted = onDisk.filter((e) => !listed.includes(e)).sort((a, b) => a - b);
      assert.deepEqual(info.incompleteEpochs, unlisted, `${label}: epochs on disk but not in the manifest are reported incomplete`);
      assert.ok(unlisted.every((e) => e > last), `${label}: only epochs after the last listed one can be unlisted`);
      for (const e of unlisted) {
        await assert.rejects(
          reader.slice({ samples: { kind: 'all' }, layer: 'conv', channel: 'all', epoch: e }),
          (err: unknown) => err instanceof CnnSlicerError && err.code === 'incomplete',
          `${label}: slicing epoch ${e}, which is being written`,
        );
      }
      return { listed: listed.length, incomplete: unlisted.length };
    } finally {
      await reader.close();
    }
  }

  it(`reads back every listed epoch after each of ${KILLS} SIGKILLs`, async function () {
    const z = zygote!;
    const rand = seededRandom(0x6b696c6c);
    const outcomes: KillOutcome[] = [];
    for (let k = 0; k < KILLS; k++) {
      const dir = path.join(tmp, `run-${k}`);
      const delay = Math.floor(rand() * MAX_DELAY_MS);
      z.send(`spawn ${dir}`);
      const [pid] = await z.expect('pid');
      await sleep(delay);
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch (err) {
        // ESRCH: the writer already exited, which only a failure can make it do this early.
        assert.fail(`writer ${pid} was gone before its kill at ${delay} ms: ${String(err)}\n${z.errors}`);
      }
      z.send(`reap ${pid}`);
      const [, status] = await z.expect('reaped');
      // A raw wait status of 9 is "terminated by signal 9": the writer died from the kill, not on its own.
      assert.equal(Number(status), 9, `writer ${pid} ended with wait status ${status}, not by SIGKILL\n${z.errors}`);
      outcomes.push(await check(dir, `kill ${k} after ${delay} ms`));
      rmSync(dir, { recursive: true, force: true });
    }
    const noManifest = outcomes.filter((o) => o.listed === 0).length;
    const midEpoch = outcomes.filter((o) => o.incomplete > 0).length;
    const epochs = outcomes.map((o) => o.listed);
    console.log(
      `      ${KILLS} kills: ${noManifest} before any epoch was listed, ${midEpoch} with an epoch being written, ` +
        `${Math.min(...epochs)}–${Math.max(...epochs)} epochs listed`,
    );
  });
});

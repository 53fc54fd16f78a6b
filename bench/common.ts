// Shared plumbing of the benchmarks: each one runs the engine in a child process of its own (so
// its peak RSS is the engine's, not the orchestrator's data preparation) and the NumPy/SciPy
// reference in another, then prints both side by side. Nothing here asserts a timing.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';

export const ROOT = join(__dirname, '..');
export const PYTHON = '/usr/bin/python3';
export const REFERENCE = join(ROOT, 'bench', 'reference', 'estimators_ref.py');

/** Peak resident set of this process in bytes: the kernel's high-water mark where available. */
export function peakRssBytes(): number {
  const fromNode = process.resourceUsage().maxRSS * 1024;
  try {
    const m = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Math.max(fromNode, Number(m[1]) * 1024);
  } catch {
    // Not Linux: resourceUsage is all there is.
  }
  return fromNode;
}

/** Seconds since `start` (a performance.now() value). */
export function since(start: number): number {
  return (performance.now() - start) / 1000;
}

interface ChildResult {
  json: Record<string, unknown>;
  wallSeconds: number;
}

/** Runs a command whose last stdout line is JSON; stderr passes through. */
function runJson(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const wallSeconds = since(start);
      if (code !== 0) return reject(new Error(`${command} ${args.join(' ')} exited with ${code}\n${out.slice(-2000)}`));
      const last = out.trim().split('\n').pop() ?? '';
      try {
        resolve({ json: JSON.parse(last) as Record<string, unknown>, wallSeconds });
      } catch {
        reject(new Error(`${command} ${args.join(' ')} did not end with a JSON line:\n${out.slice(-2000)}`));
      }
    });
  });
}

/**
 * The reference, with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed from its environment: they
 * may be set on this machine to pin OpenBLAS to a conservative kernel, which would handicap NumPy.
 * The kernel actually used is read back from OpenBLAS and printed.
 */
export function runReference(args: string[]): Promise<ChildResult> {
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  return runJson(PYTHON, [REFERENCE, ...args], env);
}

/** This same benchmark file in `engine` mode, in a fresh Node process. */
export function runEngineChild(file: string, args: string[]): Promise<ChildResult> {
  return runJson(process.execPath, ['--require', 'tsx/cjs', file, 'engine', ...args], process.env);
}

export function machine(): Record<string, unknown> {
  const c = cpus();
  return { cpu: c[0]?.model ?? 'unknown', cores: c.length, loadavg: loadavg().map((x) => Number(x.toFixed(2))), node: process.version };
}

export function blasSummary(ref: Record<string, unknown>): string {
  const blas = (ref.blas ?? {}) as Record<string, unknown>;
  const tp = blas.threadpoolctl as { internal_api?: string; version?: string; architecture?: string; num_threads?: number }[] | undefined;
  if (tp && tp.length > 0) return tp.map((l) => `${l.internal_api} ${l.version} ${l.architecture} (${l.num_threads} threads)`).join('; ');
  const config = blas.config ?? (blas.libraries as string[] | undefined)?.join(', ') ?? 'unknown';
  return `${String(config)}${blas.kernel ? `, kernel ${String(blas.kernel)}` : ''}${blas.num_threads ? `, ${String(blas.num_threads)} threads` : ''}`;
}

export const MiB = 1024 * 1024;

/**
 * How many times each side runs; the fastest run of each is reported. Other work on a shared
 * machine only ever adds time, so the minimum is the least disturbed estimate.
 */
export const REPEATS = Math.max(1, Number(process.env.BENCH_REPEATS ?? 2));

export function fastest<T>(runs: T[], seconds: (run: T) => number): T {
  return runs.reduce((best, run) => (seconds(run) < seconds(best) ? run : best));
}

export function fmtSeconds(s: number): string {
  return s < 10 ? s.toFixed(2) : s.toFixed(1);
}

/** A plain fixed-width table. */
export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]) => r.map((v, c) => (c === 0 ? v.padEnd(widths[c]) : v.padStart(widths[c]))).join('  ');
  return [line(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

/** The line bench/run-all.mjs collects for its summary. */
export function reportResult(result: {
  name: string;
  rows: { what: string; engine: number; reference: number; unit: string; higherIsBetter?: boolean }[];
  notes?: string[];
}): void {
  process.stdout.write(`BENCH_RESULT ${JSON.stringify(result)}\n`);
}

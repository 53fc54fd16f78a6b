// The CLI runs in a child of itself with the engine's memory settings (src/shared/memoryTuning.ts):
// the C library reads them only when a process starts, and a user's shell does not set them.
//
// Signals: in a terminal, Ctrl-C reaches both processes (one process group), so the child cancels
// on its own and the parent only waits; a SIGINT sent to the parent alone (a script, a job
// scheduler, a test) is passed on, as is SIGTERM. The parent then exits as the child did: with its
// status, or by the same signal.
import { spawn } from 'node:child_process';
import { ENGINE_MALLOC_ENV } from '../shared/memoryTuning';

/** Set in the child, so it never starts a child of its own. */
const TUNED_MARK = 'CNNSLICER_CLI_TUNED';

/** Whether this process should hand the command to a child with the memory settings. */
export function needsMallocTuning(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): boolean {
  if (platform !== 'linux' || env[TUNED_MARK] === '1') return false;
  // A user who set the variables chose for themselves.
  return Object.keys(ENGINE_MALLOC_ENV).some((k) => env[k] === undefined);
}

/** Runs this same command line in a child with the settings; resolves to the exit status to use. */
export function runTuned(): Promise<number> {
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...ENGINE_MALLOC_ENV, ...process.env, [TUNED_MARK]: '1' },
  });
  const interactive = process.stdin.isTTY === true || process.stderr.isTTY === true;
  const onSigint = (): void => {
    // From the terminal the child has it already; passing it on would be a second Ctrl-C, which ends it at once.
    if (!interactive) child.kill('SIGINT');
  };
  const onSigterm = (): void => {
    child.kill('SIGTERM');
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigterm);
  return new Promise((resolve) => {
    child.on('error', (err) => {
      process.removeListener('SIGINT', onSigint);
      process.removeListener('SIGTERM', onSigterm);
      process.stderr.write(`cnnslicer: cannot start: ${err.message}\n`);
      resolve(1);
    });
    child.on('exit', (code, signal) => {
      process.removeListener('SIGINT', onSigint);
      process.removeListener('SIGTERM', onSigterm);
      if (signal !== null) {
        // Die of the same signal, so that a shell or a scheduler sees what happened.
        process.kill(process.pid, signal);
        return;
      }
      resolve(code ?? 1);
    });
  });
}

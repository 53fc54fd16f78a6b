// Which Python runs the trainer: the `cnnslicer.python.interpreterPath` setting, else the Python
// extension's active interpreter for the workspace, else `python3` from PATH. The chosen one must
// be able to import torch and numpy; otherwise the user is told which interpreter lacks what.
import { execFile } from 'node:child_process';
import * as vscode from 'vscode';

export const INTERPRETER_SETTING = 'cnnslicer.python.interpreterPath';

export interface Interpreter {
  readonly path: string;
  /** Where the choice came from, for messages and the log. */
  readonly source: 'setting' | 'python extension' | 'PATH';
}

// The part of the Python extension's API (ms-python.python, `environments`) used here. Typed
// locally: the extension is optional and its npm API package is not a dependency.
interface PythonEnvironmentsApi {
  readonly environments?: {
    getActiveEnvironmentPath(resource?: vscode.Uri): { readonly path: string } | undefined;
    resolveEnvironment(env: { readonly path: string } | string): Promise<{ readonly executable?: { readonly uri?: vscode.Uri } } | undefined>;
  };
}

async function fromPythonExtension(resource: vscode.Uri | undefined, log: vscode.LogOutputChannel): Promise<string | undefined> {
  const ext = vscode.extensions.getExtension<PythonEnvironmentsApi>('ms-python.python');
  if (ext === undefined) return undefined;
  try {
    const api = ext.isActive ? ext.exports : await ext.activate();
    const environments = api?.environments;
    const active = environments?.getActiveEnvironmentPath(resource);
    if (environments === undefined || active === undefined) return undefined;
    const resolved = await environments.resolveEnvironment(active);
    return resolved?.executable?.uri?.fsPath ?? active.path;
  } catch (err) {
    // An API change or a broken Python extension must not block training with another interpreter.
    log.warn(`The Python extension did not give its interpreter: ${err instanceof Error ? err.message : String(err)}`);
    return undefined;
  }
}

export async function findInterpreter(resource: vscode.Uri | undefined, log: vscode.LogOutputChannel): Promise<Interpreter> {
  const configured = vscode.workspace.getConfiguration(undefined, resource).get<unknown>(INTERPRETER_SETTING);
  if (typeof configured === 'string' && configured.trim() !== '') return { path: configured.trim(), source: 'setting' };
  const fromExtension = await fromPythonExtension(resource, log);
  if (fromExtension !== undefined && fromExtension !== '') return { path: fromExtension, source: 'python extension' };
  return { path: process.platform === 'win32' ? 'python' : 'python3', source: 'PATH' };
}

// One JSON line: the torch version and whether (and on which GPU) it can use CUDA, which decides
// where the trainer runs (its --device auto makes the same test).
const CHECK_SCRIPT = [
  'import json, sys',
  'import numpy, torch',
  'cuda = bool(torch.cuda.is_available())',
  'sys.stdout.write(json.dumps({"torch": torch.__version__, "cuda": cuda, "gpu": torch.cuda.get_device_name(0) if cuda else None}))',
].join('\n');

/** What the interpreter offers for training, or why it cannot train. */
export type TorchStatus =
  { readonly ok: true; readonly version: string; readonly cuda: boolean; readonly gpu?: string } | { readonly ok: false; readonly problem: string };

/** Where the interpreter came from, for messages ("the Python extension", "PATH"…). */
export function whereFrom(interpreter: Interpreter): string {
  return interpreter.source === 'setting' ? `the ${INTERPRETER_SETTING} setting` : interpreter.source === 'python extension' ? 'the Python extension' : 'PATH';
}

/**
 * Whether the interpreter can import torch and numpy, its torch version and CUDA. torch takes
 * seconds to import (and CUDA initialisation more), hence the generous timeout.
 */
export function probeTorch(interpreter: Interpreter, env: NodeJS.ProcessEnv): Promise<TorchStatus> {
  const where = whereFrom(interpreter);
  return new Promise((resolve) => {
    execFile(interpreter.path, ['-c', CHECK_SCRIPT], { env, timeout: 120_000 }, (err, stdout, stderr) => {
      if (err === null) {
        try {
          const info = JSON.parse(stdout.trim().split('\n').slice(-1)[0] ?? '') as { torch?: unknown; cuda?: unknown; gpu?: unknown };
          return resolve({
            ok: true,
            version: typeof info.torch === 'string' ? info.torch : 'unknown version',
            cuda: info.cuda === true,
            ...(typeof info.gpu === 'string' && info.gpu !== '' ? { gpu: info.gpu } : {}),
          });
        } catch {
          // A sitecustomize that prints to stdout would garble the line; torch imported, so it can train.
          return resolve({ ok: true, version: 'unknown version', cuda: false });
        }
      }
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        return resolve({
          ok: false,
          problem: `Python interpreter "${interpreter.path}" (from ${where}) was not found. Set ${INTERPRETER_SETTING} to a Python with PyTorch installed.`,
        });
      }
      const missing = /No module named '([^']+)'/.exec(stderr)?.[1];
      resolve({
        ok: false,
        problem:
          missing !== undefined
            ? `Python interpreter "${interpreter.path}" (from ${where}) cannot import ${missing}. Install PyTorch and numpy in it (pip install torch numpy), or set ${INTERPRETER_SETTING} to one that has them.`
            : `Python interpreter "${interpreter.path}" (from ${where}) failed to import torch: ${stderr.trim().split('\n').slice(-1)[0] || err.message}`,
      });
    });
  });
}

/** Undefined when the interpreter can import torch and numpy; otherwise what to tell the user. */
export async function checkTorch(interpreter: Interpreter, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const status = await probeTorch(interpreter, env);
  return status.ok ? undefined : status.problem;
}

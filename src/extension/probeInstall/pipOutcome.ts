// The decisions of Install Probe, free of `vscode` and of processes so they are unit-tested: the
// pip command line, what pip's exit and output mean, what the verifying import printed, and what
// the user is told about each problem. installer.ts runs the processes; commands/installProbe.ts
// is the command.

/** The wheel's file name as scripts/build-wheel.mjs writes it: pure Python, any platform. */
export const WHEEL_PATTERN = /^cnnslicer-([^-]+)-py3-none-any\.whl$/;

/** The version in a wheel's file name, or undefined when the name is not the probe's wheel. */
export function wheelVersion(fileName: string): string | undefined {
  return WHEEL_PATTERN.exec(fileName)?.[1];
}

/**
 * `python <args>` installs the wheel and nothing else.
 * - `--no-index`: offline; the wheel is the only source, nothing is fetched.
 * - `--no-deps`: numpy and torch are the user's to choose (a CUDA torch must not be replaced); with
 *   no index pip could not fetch them anyway and would fail on a missing numpy. Missing ones are
 *   reported after the install instead.
 * - `--force-reinstall`: an extension update may ship changed sources under the same version, which
 *   pip would otherwise skip as "already satisfied"; with `--no-deps` only cnnslicer is reinstalled.
 */
export function pipInstallArgs(wheel: string): string[] {
  return ['-m', 'pip', 'install', '--no-index', '--no-deps', '--force-reinstall', '--no-input', '--disable-pip-version-check', wheel];
}

/** How a finished (or failed to start) process ended, with its output. */
export interface ProcessRun {
  /** Exit status; null when killed by a signal or never started. */
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The spawn error's code (ENOENT, EACCES) when the process could not start. */
  readonly spawnError?: string;
  /** True when the user cancelled and the process was killed. */
  readonly cancelled?: boolean;
}

/** Why the probe could not be installed, one kind per thing the user does differently. */
export type InstallProblem =
  | { readonly kind: 'no-wheel'; readonly folder: string }
  | { readonly kind: 'python-not-found'; readonly detail: string }
  | { readonly kind: 'no-pip' }
  | { readonly kind: 'externally-managed' }
  | { readonly kind: 'pip-failed'; readonly detail: string }
  | { readonly kind: 'not-installed'; readonly detail: string }
  | { readonly kind: 'shadowed'; readonly expected: string; readonly found: string; readonly file: string }
  | { readonly kind: 'cancelled' };

/** The last lines of an output that say what went wrong, for messages (the whole output goes to the log). */
function lastError(text: string): string {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '');
  const flagged = lines.filter((l) => /^(error|ERROR)\b/.test(l));
  return (flagged.length > 0 ? flagged.slice(-2) : lines.slice(-2)).join(' ');
}

/** Undefined when a process started and ran; otherwise the problem it had before doing anything. */
function notRun(run: ProcessRun): InstallProblem | undefined {
  if (run.cancelled === true) return { kind: 'cancelled' };
  if (run.spawnError === undefined) return undefined;
  return {
    kind: 'python-not-found',
    detail: run.spawnError === 'ENOENT' ? 'no such file' : run.spawnError === 'EACCES' ? 'not executable' : run.spawnError,
  };
}

/** Undefined when `pip install` succeeded; otherwise what went wrong. */
export function classifyPipRun(run: ProcessRun): InstallProblem | undefined {
  const early = notRun(run);
  if (early !== undefined) return early;
  if (run.status === 0) return undefined;
  const output = `${run.stderr}\n${run.stdout}`;
  // PEP 668: pip refuses a distribution's Python (Debian, Ubuntu, Fedora, Homebrew) that has an
  // EXTERNALLY-MANAGED file in its stdlib folder, with this error id on its first line.
  if (/externally-managed-environment/.test(output)) return { kind: 'externally-managed' };
  // The interpreter's own message when `-m pip` finds nothing, e.g. Debian's python3 without python3-pip.
  if (/No module named pip\b/.test(output)) return { kind: 'no-pip' };
  return { kind: 'pip-failed', detail: lastError(output) || `pip exited with status ${run.status ?? 'unknown'}` };
}

/** Marks the verifying script's line, so anything a sitecustomize prints around it is ignored. */
const VERIFY_MARK = 'CNNSLICER-PROBE-CHECK ';

/**
 * Run as `python -c` after the install: the installed distribution's version (its metadata, which
 * pip wrote), what `import cnnslicer` gives (version and file: another copy earlier on sys.path
 * would shadow the installed one), and which of the probe's dependencies are missing. It imports
 * cnnslicer, which imports numpy, but looks for torch without importing it (seconds, CUDA).
 */
export const VERIFY_SCRIPT = [
  'import importlib.util, json, sys',
  'info = {"python": sys.version.split()[0], "executable": sys.executable}',
  'info["missing"] = [m for m in ("numpy", "torch") if importlib.util.find_spec(m) is None]',
  'try:',
  '    from importlib.metadata import version',
  '    info["installed"] = version("cnnslicer")',
  'except Exception as e:',
  '    info["metadataError"] = repr(e)',
  'try:',
  '    import cnnslicer',
  '    info["imported"] = getattr(cnnslicer, "__version__", None)',
  '    info["file"] = cnnslicer.__file__',
  'except Exception as e:',
  '    info["importError"] = "%s: %s" % (type(e).__name__, e)',
  `sys.stdout.write(${JSON.stringify(VERIFY_MARK)} + json.dumps(info) + "\\n")`,
].join('\n');

/** The probe's dependencies: numpy for `import cnnslicer`, torch for `cnnslicer.Probe`. */
export type ProbeDependency = 'numpy' | 'torch';

/** The probe is installed and, unless numpy is missing, importable. */
export interface Installed {
  readonly version: string;
  /** The interpreter's own path (sys.executable) and version. */
  readonly executable: string;
  readonly pythonVersion: string;
  /** Where `import cnnslicer` found the package; undefined when the import failed for lack of numpy. */
  readonly file?: string;
  readonly missing: readonly ProbeDependency[];
}

export type InstallOutcome = ({ readonly ok: true } & Installed) | { readonly ok: false; readonly problem: InstallProblem };

interface VerifyInfo {
  readonly python?: unknown;
  readonly executable?: unknown;
  readonly missing?: unknown;
  readonly installed?: unknown;
  readonly metadataError?: unknown;
  readonly imported?: unknown;
  readonly file?: unknown;
  readonly importError?: unknown;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** What the verifying run says about an install of the wheel with version `expected`. */
export function classifyVerifyRun(run: ProcessRun, expected: string): InstallOutcome {
  const early = notRun(run);
  if (early !== undefined) return { ok: false, problem: early };
  const line = run.stdout.split(/\r?\n/).find((l) => l.startsWith(VERIFY_MARK));
  let info: VerifyInfo | undefined;
  try {
    const parsed: unknown = line === undefined ? undefined : JSON.parse(line.slice(VERIFY_MARK.length));
    if (typeof parsed === 'object' && parsed !== null) info = parsed as VerifyInfo;
  } catch {
    info = undefined;
  }
  if (info === undefined) {
    return {
      ok: false,
      problem: { kind: 'not-installed', detail: lastError(run.stderr) || `the check printed nothing (exit status ${run.status ?? 'unknown'})` },
    };
  }
  const missing = Array.isArray(info.missing) ? info.missing.filter((m): m is ProbeDependency => m === 'numpy' || m === 'torch') : [];
  const installed = str(info.installed);
  if (installed !== expected) {
    const detail =
      installed === undefined
        ? `pip's metadata for cnnslicer is not found (${str(info.metadataError) ?? 'no error'})`
        : `version ${installed} is installed, not ${expected}`;
    return { ok: false, problem: { kind: 'not-installed', detail } };
  }
  const imported = str(info.imported);
  const file = str(info.file);
  const importError = str(info.importError);
  if (importError !== undefined && !(missing.includes('numpy') && /numpy/.test(importError))) {
    return { ok: false, problem: { kind: 'not-installed', detail: `import cnnslicer fails: ${importError}` } };
  }
  if (importError === undefined && imported !== expected) {
    return { ok: false, problem: { kind: 'shadowed', expected, found: imported ?? 'no __version__', file: file ?? 'an unknown file' } };
  }
  return {
    ok: true,
    version: installed,
    executable: str(info.executable) ?? '',
    pythonVersion: str(info.python) ?? '',
    ...(file !== undefined ? { file } : {}),
    missing,
  };
}

/** The venv advice for environments pip will not (or cannot) install into. */
const VENV_ADVICE =
  'Create a virtual environment (python3 -m venv .venv), select it in the Python extension or in cnnslicer.python.interpreterPath, and run Install Probe again.';

/** What the user is told when the install failed; `python` is the interpreter and where it came from. */
export function problemMessage(problem: InstallProblem, python: string): string {
  switch (problem.kind) {
    case 'no-wheel':
      return `This CNNSlicer was packaged without its probe wheel (nothing matching cnnslicer-*.whl in ${problem.folder}), so it cannot install the probe. Build the extension with a Python that has pip and hatchling, or install python/ from the CNNSlicer sources with pip.`;
    case 'python-not-found':
      return `Python interpreter ${python} could not be started (${problem.detail}). Select an interpreter in the Python extension or set cnnslicer.python.interpreterPath.`;
    case 'no-pip':
      return `${python} has no pip, so the probe cannot be installed into it. ${VENV_ADVICE} (A venv comes with pip; on Debian and Ubuntu, venv needs the python3-venv package.)`;
    case 'externally-managed':
      return `${python} is managed by the operating system (PEP 668: externally-managed-environment), so pip will not install into it. ${VENV_ADVICE}`;
    case 'pip-failed':
      return `pip could not install the probe into ${python}: ${problem.detail}`;
    case 'not-installed':
      return `pip ran, but the probe is not usable in ${python}: ${problem.detail}`;
    case 'shadowed':
      return `The probe ${problem.expected} is installed into ${python}, but import cnnslicer finds another copy (version ${problem.found}) at ${problem.file} first: remove it or take its folder off PYTHONPATH.`;
    case 'cancelled':
      return `Installing the probe into ${python} was cancelled; run Install Probe again to finish it.`;
  }
}

/** True for the problems a virtual environment solves, where the docs are offered. */
export function suggestsVenv(problem: InstallProblem): boolean {
  return problem.kind === 'no-pip' || problem.kind === 'externally-managed';
}

/** The report of a successful install: what the brief names, plus what the probe still needs there. */
export function installedMessage(installed: Installed, python: string): string {
  const head = `CNNSlicer probe ${installed.version} installed into ${python}`;
  const { missing } = installed;
  if (missing.length === 0) return `${head}.`;
  const needs = missing.includes('numpy')
    ? `numpy${missing.includes('torch') ? ' and torch are' : ' is'} missing there: import cnnslicer needs numpy and cnnslicer.Probe needs torch`
    : 'torch is missing there: cnnslicer.Probe needs it (import cnnslicer and the run writer work without)';
  return `${head}, but ${needs}. Install ${missing.join(' and ')} into it (pip install ${missing.join(' ')}).`;
}

// Every failure that crosses a boundary (engine → host, engine → CLI, host → webview) is one of
// these codes, with the file it concerns, so a user always learns which file is wrong and why.

export type CnnSlicerErrorCode =
  /** A file or directory the run needs does not exist. */
  | 'not-found'
  /** A file exists but its content is malformed (bad header, bad offsets, truncated tensor…). */
  | 'corrupt'
  /** The manifest parses but does not follow the schema. */
  | 'invalid-manifest'
  /** The manifest's format version is newer or older than this build supports. */
  | 'unsupported-version'
  /** A path named by the manifest leaves the run directory (`..`, absolute, symlink). */
  | 'path-escape'
  /** The run (or the epoch asked for) is still being written. */
  | 'incomplete'
  /** The request names something the run does not have (layer, channel, epoch, class, sample). */
  | 'bad-request'
  /** The request was cancelled by its sender. */
  | 'cancelled'
  /** The request did not finish within its time limit. */
  | 'timeout'
  /** The engine process died or hung while the request was in flight. */
  | 'engine-crashed'
  /** The engine crashed repeatedly and will not be restarted without the user's say. */
  | 'engine-unavailable'
  /** Running a model failed (onnxruntime error, unsupported operator). */
  | 'model-error'
  /** A bug: anything not foreseen above. The message says what happened. */
  | 'internal';

/** The serialisable form of an error, as it travels between processes. */
export interface ErrorInfo {
  readonly code: CnnSlicerErrorCode;
  readonly message: string;
  /** The file the error concerns, when there is one. */
  readonly file?: string;
}

export class CnnSlicerError extends Error implements ErrorInfo {
  override readonly name = 'CnnSlicerError';
  constructor(
    readonly code: CnnSlicerErrorCode,
    message: string,
    readonly file?: string,
  ) {
    super(file !== undefined ? `${file}: ${message}` : message);
  }

  /** The message without the file prefix. */
  get detail(): string {
    return this.file !== undefined ? this.message.slice(this.file.length + 2) : this.message;
  }

  toInfo(): ErrorInfo {
    return this.file !== undefined ? { code: this.code, message: this.detail, file: this.file } : { code: this.code, message: this.message };
  }

  static fromInfo(info: ErrorInfo): CnnSlicerError {
    return new CnnSlicerError(info.code, info.message, info.file);
  }
}

/** Wraps anything thrown into an ErrorInfo; unknown exceptions become `internal`. */
export function toErrorInfo(err: unknown): ErrorInfo {
  if (err instanceof CnnSlicerError) return err.toInfo();
  if (err instanceof Error) return { code: 'internal', message: err.message };
  return { code: 'internal', message: String(err) };
}

/** `file: message`, the one-line form used by the CLI and in notifications. */
export function formatError(info: ErrorInfo): string {
  return info.file !== undefined ? `${info.file}: ${info.message}` : info.message;
}

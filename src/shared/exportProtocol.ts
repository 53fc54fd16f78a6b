// The messages of exporting a view (issue 17): the host asks a view for its figure or its numbers
// in one format, the view answers with the file's content, and the view's Export button asks the
// host to start the export (the host owns the quick pick, the save dialog and the disk). One type
// and one parser each; webviewProtocol.ts puts them in its HostToWebview and WebviewToHost unions.
// No `vscode`, DOM or Node import: the host, the views and the unit tests share it.
import { describeValue, isIndex, isRecord, ok, refuse, type Parsed } from './parse';

export const EXPORT_FORMATS = ['png', 'svg', 'csv', 'json'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** What each format holds, for the quick pick and the save dialog's filter. */
export const EXPORT_FORMAT_INFO: Readonly<Record<ExportFormat, { readonly label: string; readonly filter: string; readonly vector: boolean }>> = {
  png: { label: 'PNG', filter: 'PNG image', vector: false },
  svg: { label: 'SVG', filter: 'SVG image', vector: true },
  csv: { label: 'CSV', filter: 'CSV table', vector: false },
  json: { label: 'JSON', filter: 'JSON data', vector: false },
};

/** Whether the format is a picture (whose colours the light background changes) or the numbers behind it. */
export function isFigureFormat(format: ExportFormat): boolean {
  return format === 'png' || format === 'svg';
}

/** Host → view: make the file of this format from what the view shows now. */
export interface ExportRequest {
  readonly type: 'exportRequest';
  readonly id: number;
  readonly format: ExportFormat;
  /** Draw the figure in the fixed light print palette (printPalette.ts) instead of the user's theme. */
  readonly lightBackground: boolean;
}

/**
 * View → host: the file, or why there is none (nothing computed yet). A PNG travels as base64 (a
 * webview message is JSON), the text formats as they are.
 */
export type ExportContent =
  | {
      readonly type: 'exportContent';
      readonly id: number;
      readonly ok: true;
      readonly format: ExportFormat;
      /** A file name the save dialog proposes, with its extension; never a path. */
      readonly fileName: string;
      readonly encoding: 'utf8' | 'base64';
      readonly content: string;
    }
  | { readonly type: 'exportContent'; readonly id: number; readonly ok: false; readonly message: string };

/** View → host: the user pressed the view's Export button; the host runs the export command on this view. */
export interface ExportAsked {
  readonly type: 'exportAsked';
}

/**
 * Largest content a view may send: a PNG of a figure several thousand pixels wide at 2× is some
 * megabytes, a CSV of a 512 × 1,280 capacity matrix about 30 MB. Beyond this a message is refused
 * rather than written.
 */
export const MAX_EXPORT_CHARS = 128 * 1024 * 1024;
/** Longest error message of a failed export, as for a view's log lines. */
const MAX_EXPORT_MESSAGE_CHARS = 2000;
/** A file name, before its extension. */
const MAX_FILE_BASE_CHARS = 120;

function parseFormat(value: unknown): Parsed<ExportFormat> {
  return (EXPORT_FORMATS as readonly unknown[]).includes(value)
    ? ok(value as ExportFormat)
    : refuse(`"format" must be one of ${EXPORT_FORMATS.join(', ')}, got ${describeValue(value)}`);
}

/** The host's request, as the view reads it. */
export function parseExportRequest(value: unknown): Parsed<ExportRequest> {
  if (!isRecord(value) || value.type !== 'exportRequest')
    return refuse(`an export request must be an object of type "exportRequest", got ${describeValue(value)}`);
  if (!isIndex(value.id)) return refuse(`an export request needs an integer id ≥ 0, got ${describeValue(value.id)}`);
  const format = parseFormat(value.format);
  if (!format.ok) return format;
  if (typeof value.lightBackground !== 'boolean') return refuse(`"lightBackground" must be true or false, got ${describeValue(value.lightBackground)}`);
  return ok({ type: 'exportRequest', id: value.id, format: format.value, lightBackground: value.lightBackground });
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * A view's answer, as the host reads it. The file name is only a proposal for the save dialog, but
 * it comes from the view: a path in it, or an extension other than the format's, is refused.
 */
export function parseExportContent(value: unknown): Parsed<ExportContent> {
  if (!isRecord(value) || value.type !== 'exportContent')
    return refuse(`export content must be an object of type "exportContent", got ${describeValue(value)}`);
  if (!isIndex(value.id)) return refuse(`export content needs an integer id ≥ 0, got ${describeValue(value.id)}`);
  const id = value.id;
  if (value.ok === false) {
    if (typeof value.message !== 'string') return refuse(`a failed export needs a message, got ${describeValue(value.message)}`);
    const message = value.message.length > MAX_EXPORT_MESSAGE_CHARS ? `${value.message.slice(0, MAX_EXPORT_MESSAGE_CHARS)}…` : value.message;
    return ok({ type: 'exportContent', id, ok: false, message });
  }
  if (value.ok !== true) return refuse(`export content needs "ok" true or false, got ${describeValue(value.ok)}`);
  const format = parseFormat(value.format);
  if (!format.ok) return format;
  const fileName = value.fileName;
  if (typeof fileName !== 'string' || fileName !== exportFileName(fileName.replace(/\.[a-z]+$/, ''), format.value))
    return refuse(`"fileName" must be a plain file name ending in .${format.value}, got ${describeValue(fileName)}`);
  const encoding = format.value === 'png' ? 'base64' : 'utf8';
  if (value.encoding !== encoding) return refuse(`a ${format.value} file travels as ${encoding}, got ${describeValue(value.encoding)}`);
  const content = value.content;
  if (typeof content !== 'string' || content.length > MAX_EXPORT_CHARS)
    return refuse(`"content" must be text of at most ${MAX_EXPORT_CHARS} characters, got ${describeValue(content)}`);
  if (encoding === 'base64' && !BASE64.test(content)) return refuse('a PNG export must be base64');
  return ok({ type: 'exportContent', id, ok: true, format: format.value, fileName, encoding, content });
}

/**
 * `run-layer-epoch.ext` from the parts a view names (run, layers, epoch…): characters that mean
 * something to a file system or a shell become `-`, runs of them one, and the result is never
 * empty, never hidden (a leading dot) and never longer than a file system takes.
 */
export function exportFileName(base: string, format: ExportFormat): string {
  const cleaned = base
    .normalize('NFC')
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f<>:"/\\|?*\s]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '')
    .slice(0, MAX_FILE_BASE_CHARS)
    .replace(/[-.]+$/g, '');
  return `${cleaned === '' ? 'cnnslicer-export' : cleaned}.${format}`;
}

/** The parts of a view's file name joined: `exportFileName(exportBaseName(['mnist', 'conv1', 'epoch20']), 'png')`. */
export function exportBaseName(parts: readonly (string | number | undefined)[]): string {
  return parts
    .filter((p): p is string | number => p !== undefined && p !== '')
    .map(String)
    .join('-');
}

// The numbers behind an exported figure, as CSV and JSON (issue 17): the values the view shows,
// one row each, under a header that says what they are (run, layers, epoch, samples, estimator
// parameters, units). Pure text; no `vscode`, DOM or Node import, so it is unit-tested directly.
//
// The CSV is RFC 4180 (comma-separated, CRLF line ends, a field quoted when it holds a comma, a
// quote or a line break, quotes doubled), preceded by the header as comment lines `# key: value`.
// pandas reads it with `read_csv(path, comment='#')`, R with `read.csv(path, comment.char = '#')`;
// a tool without comment support sees a few more lines to skip. The header's keys are the JSON
// export's `meta` keys, so the two files say the same.

/** One cell: a number (non-finite numbers are written as NaN, Infinity, -Infinity in CSV and null in JSON), text, or nothing. */
export type ExportCell = number | string | null;

/** A value of the header: text, a number, a flag, or a list of them (several layers). */
export type ExportMetaValue = string | number | boolean | readonly (string | number)[];

export interface ExportTable {
  /** What the table is, one line: the figure's title. */
  readonly title: string;
  /** The header, in the order written: run, layers, epoch, samples, estimator parameters, units… */
  readonly meta: Readonly<Record<string, ExportMetaValue>>;
  /** Column names, snake_case with the unit as a suffix where there is one (`capacity_bits`). */
  readonly columns: readonly string[];
  readonly rows: readonly (readonly ExportCell[])[];
}

/** The JSON export's shape, so a reader can tell one from another file. */
export const EXPORT_JSON_FORMAT = 'cnnslicer-export';
export const EXPORT_JSON_VERSION = 1;

/** A field as RFC 4180 writes it: quoted (quotes doubled) when it holds a comma, a quote or a line break. */
export function csvField(cell: ExportCell): string {
  if (cell === null) return '';
  if (typeof cell === 'number') return Number.isFinite(cell) ? String(cell) : Number.isNaN(cell) ? 'NaN' : cell > 0 ? 'Infinity' : '-Infinity';
  return /[",\r\n]/.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell;
}

/** A header value on one line: a list joined with ", ", a line break in a run's name as a space. */
function metaText(value: ExportMetaValue): string {
  const text = Array.isArray(value) ? value.join(', ') : String(value);
  return text.replace(/[\r\n]+/g, ' ');
}

/** The header's comment lines: `# title`, then `# key: value` per entry. */
export function csvHeader(table: Pick<ExportTable, 'title' | 'meta'>): string[] {
  return [`# ${metaText(table.title)}`, ...Object.entries(table.meta).map(([key, value]) => `# ${key}: ${metaText(value)}`)];
}

/** The whole CSV file: header comments, the column names, the rows; CRLF line ends as RFC 4180 has them. */
export function toCsv(table: ExportTable): string {
  const width = table.columns.length;
  const lines = [...csvHeader(table), table.columns.map(csvField).join(',')];
  for (const row of table.rows) {
    if (row.length !== width) throw new Error(`an export row has ${row.length} cells, the table ${width} columns`);
    lines.push(row.map(csvField).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}

/**
 * The JSON file: `{ format, version, title, meta, columns, rows }`, rows as arrays in the columns'
 * order (a 655,360-cell matrix as objects would repeat every column name 655,360 times).
 */
export function toJson(table: ExportTable): string {
  const head = JSON.stringify({ format: EXPORT_JSON_FORMAT, version: EXPORT_JSON_VERSION, title: table.title, meta: table.meta, columns: table.columns });
  // One row a line: readable, and diffable, where an indented array would put every number on its own line.
  const rows = table.rows.map((row) => JSON.stringify(row.map((cell) => (typeof cell === 'number' && !Number.isFinite(cell) ? null : cell))));
  return `${head.slice(0, -1)},"rows":[\n${rows.join(',\n')}\n]}\n`;
}

/**
 * The shortest decimal that reads back as the same float32: the engine's results are float32, and
 * 0.598 stored as float32 is 0.5979999899864197 as a double, digits the measure never had.
 */
export function shortestFloat32(value: number): number {
  if (!Number.isFinite(value)) return value;
  const f = Math.fround(value);
  for (let digits = 1; digits <= 9; digits++) {
    const candidate = Number(f.toPrecision(digits));
    if (Math.fround(candidate) === f) return candidate;
  }
  return f;
}

// Reading back what a view exported (issue 17), for the browser and end-to-end tests: a PNG's
// size from its IHDR chunk, and a CSV export's header comments, column names and rows, parsed as
// RFC 4180 (quoted fields with doubled quotes, CRLF line ends) independently of the writer.
import * as assert from 'node:assert/strict';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Width and height of a PNG file, from its first chunk (IHDR), which the format puts right after the signature. */
export function pngSize(bytes: Uint8Array): { width: number; height: number } {
  assert.ok(bytes.length >= 24, `a PNG has at least 24 bytes, got ${bytes.length}`);
  assert.deepEqual(Array.from(bytes.subarray(0, 8)), PNG_SIGNATURE, 'the PNG signature');
  assert.equal(Buffer.from(bytes.subarray(12, 16)).toString('latin1'), 'IHDR', 'the first chunk is IHDR');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

export interface ParsedCsv {
  /** `# key: value` lines before the table, by key; the first comment line (the title) under `title`. */
  readonly header: ReadonlyMap<string, string>;
  readonly columns: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

/** Fields of a CSV body (no comment lines), honouring quotes. */
function csvRecords(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      record.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      i++;
    } else {
      assert.notEqual(c, '\n', 'a line ends with CRLF, as RFC 4180 has it');
      field += c;
    }
  }
  assert.equal(field, '', 'the file ends with a line end');
  assert.equal(record.length, 0, 'the file ends with a line end');
  return records;
}

export function parseExportCsv(text: string): ParsedCsv {
  const header = new Map<string, string>();
  let at = 0;
  while (text.startsWith('#', at)) {
    const end = text.indexOf('\r\n', at);
    assert.ok(end > at, 'a header line ends with CRLF');
    const line = text.slice(at + 2, end);
    if (header.size === 0 && !header.has('title')) header.set('title', line);
    else {
      const colon = line.indexOf(': ');
      assert.ok(colon > 0, `a header line is "# key: value", got "${line}"`);
      header.set(line.slice(0, colon), line.slice(colon + 2));
    }
    at = end + 2;
  }
  const [columns, ...rows] = csvRecords(text.slice(at));
  assert.ok(columns !== undefined, 'the CSV has a line of column names');
  for (const row of rows) assert.equal(row.length, columns.length, `a row of ${columns.length} fields: ${row.join(',')}`);
  return { header, columns, rows };
}

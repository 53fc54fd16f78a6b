// The pure parts of exporting a view (issue 17): the CSV and JSON writers, the shortest float32
// text, file names made safe, and the parsers of the export messages, which the host applies to
// what a view sends.
import * as assert from 'node:assert/strict';
import { exportBaseName, exportFileName, parseExportContent, parseExportRequest } from '../../src/shared/exportProtocol';
import { csvField, csvHeader, shortestFloat32, toCsv, toJson, type ExportTable } from '../../src/shared/exportTable';
import { parseWebviewMessage } from '../../src/shared/messageValidation';
import { parseExportCsv } from '../support/exportFiles';

const TABLE: ExportTable = {
  title: 'Channel capacity between layers: mnist',
  meta: { view: 'layer', run: 'mnist, "small"\nCNN', lj: ['conv2', 'pool2'], epoch: 20, capacity_bins: 16, exact: true },
  columns: ['lj', 'lj_channel', 'li_channel', 'capacity_bits'],
  rows: [
    ['conv2', 0, 3, 0.598],
    ['a "quoted", name', 1, 2, Number.NaN],
    ['line\nbreak', 2, 1, null],
    ['conv2', 3, 0, Number.NEGATIVE_INFINITY],
  ],
};

describe('export tables (CSV, JSON)', () => {
  it('quotes a CSV field only when it holds a comma, a quote or a line break, doubling quotes (RFC 4180)', () => {
    assert.equal(csvField('conv1'), 'conv1');
    assert.equal(csvField('a,b'), '"a,b"');
    assert.equal(csvField('say "hi"'), '"say ""hi"""');
    assert.equal(csvField('two\r\nlines'), '"two\r\nlines"');
    assert.equal(csvField(0.5), '0.5');
    assert.equal(csvField(-0), '0');
    assert.equal(csvField(Number.NaN), 'NaN');
    assert.equal(csvField(Number.POSITIVE_INFINITY), 'Infinity');
    assert.equal(csvField(Number.NEGATIVE_INFINITY), '-Infinity');
    assert.equal(csvField(null), '');
  });

  it('writes the header as # comment lines, one line each, lists joined and line breaks flattened', () => {
    assert.deepEqual(csvHeader(TABLE), [
      '# Channel capacity between layers: mnist',
      '# view: layer',
      '# run: mnist, "small" CNN',
      '# lj: conv2, pool2',
      '# epoch: 20',
      '# capacity_bins: 16',
      '# exact: true',
    ]);
  });

  it('writes a CSV an RFC 4180 reader reads back: header, columns, every row, CRLF line ends', () => {
    const text = toCsv(TABLE);
    assert.ok(text.endsWith('\r\n'));
    assert.equal(text.split('\r\n').length, 7 + 1 + 4 + 1, 'header, column names, rows, and the final line end');
    const csv = parseExportCsv(text);
    assert.equal(csv.header.get('title'), TABLE.title);
    assert.equal(csv.header.get('epoch'), '20');
    assert.equal(csv.header.get('lj'), 'conv2, pool2');
    assert.deepEqual(csv.columns, TABLE.columns);
    assert.deepEqual(csv.rows, [
      ['conv2', '0', '3', '0.598'],
      ['a "quoted", name', '1', '2', 'NaN'],
      ['line\nbreak', '2', '1', ''],
      ['conv2', '3', '0', '-Infinity'],
    ]);
  });

  it('refuses a row whose length is not the columns’', () => {
    assert.throws(() => toCsv({ ...TABLE, rows: [['conv2', 0]] }), /2 cells, the table 4 columns/);
  });

  it('writes JSON with the header as meta, the rows as arrays, non-finite numbers as null', () => {
    const data = JSON.parse(toJson(TABLE)) as Record<string, unknown>;
    assert.deepEqual(data, {
      format: 'cnnslicer-export',
      version: 1,
      title: TABLE.title,
      meta: { ...TABLE.meta, lj: ['conv2', 'pool2'] },
      columns: TABLE.columns,
      rows: [
        ['conv2', 0, 3, 0.598],
        ['a "quoted", name', 1, 2, null],
        ['line\nbreak', 2, 1, null],
        ['conv2', 3, 0, null],
      ],
    });
    assert.deepEqual(JSON.parse(toJson({ ...TABLE, rows: [] })).rows, []);
  });

  it('writes a float32 with the fewest digits that read back as the same float32', () => {
    for (const v of [0.598, 0.1, 1 / 3, 2.0299999713897705, 1e-7, 123456.789, 3.4e38, -0.5]) {
      const f = Math.fround(v);
      const s = shortestFloat32(f);
      assert.equal(Math.fround(s), f, `${f} reads back`);
      assert.ok(
        String(s)
          .replace(/^-|\.|e.*$/g, '')
          .replace(/^0+/, '').length <= 9,
        `${s} has at most 9 significant digits`,
      );
    }
    assert.equal(shortestFloat32(Math.fround(0.598)), 0.598);
    assert.equal(shortestFloat32(Math.fround(0.1)), 0.1);
    assert.ok(Number.isNaN(shortestFloat32(Number.NaN)));
    assert.equal(shortestFloat32(Number.POSITIVE_INFINITY), Number.POSITIVE_INFINITY);
  });
});

describe('export file names', () => {
  it('joins the parts and makes them safe for any file system, never empty, hidden or too long', () => {
    assert.equal(exportFileName(exportBaseName(['MNIST small CNN', 'conv1', 'conv2', 'epoch20']), 'png'), 'MNIST-small-CNN-conv1-conv2-epoch20.png');
    assert.equal(exportFileName(exportBaseName(['run', undefined, '', 'epoch3']), 'csv'), 'run-epoch3.csv');
    assert.equal(exportFileName('../../etc/passwd', 'svg'), 'etc-passwd.svg');
    assert.equal(exportFileName('C:\\x<y>:"z"|?*', 'json'), 'C-x-y-z.json');
    assert.equal(exportFileName('.hidden', 'png'), 'hidden.png');
    assert.equal(exportFileName('', 'png'), 'cnnslicer-export.png');
    assert.equal(exportFileName('///', 'png'), 'cnnslicer-export.png');
    assert.equal(exportFileName('a\u0000b\nc', 'csv'), 'a-b-c.csv');
    assert.ok(exportFileName('x'.repeat(500), 'json').length <= 125);
    // Sanitising a sanitised name changes nothing: the host's check relies on it.
    for (const name of ['MNIST-small-CNN-conv1-epoch20', 'layer3.1.conv2', 'é-ü']) assert.equal(exportFileName(name, 'png'), `${name}.png`);
  });
});

describe('export messages', () => {
  it('reads the host’s request, and refuses a wrong one', () => {
    assert.deepEqual(parseExportRequest({ type: 'exportRequest', id: 3, format: 'svg', lightBackground: true, extra: 1 }), {
      ok: true,
      value: { type: 'exportRequest', id: 3, format: 'svg', lightBackground: true },
    });
    const refused = (v: unknown): string => {
      const r = parseExportRequest(v);
      assert.ok(!r.ok);
      return r.reason;
    };
    assert.match(refused({ type: 'exportRequest', id: 3, format: 'pdf', lightBackground: false }), /"format" must be one of png, svg, csv, json/);
    assert.match(refused({ type: 'exportRequest', id: -1, format: 'png', lightBackground: false }), /integer id/);
    assert.match(refused({ type: 'exportRequest', id: 1, format: 'png' }), /"lightBackground"/);
    assert.match(refused(null), /exportRequest/);
  });

  it('reads a view’s file, and refuses a path for a name, another format’s extension, a wrong encoding or bad base64', () => {
    const good = { type: 'exportContent', id: 1, ok: true, format: 'png', fileName: 'run-conv1-epoch2.png', encoding: 'base64', content: 'iVBORw0KGgo=' };
    assert.deepEqual(parseExportContent({ ...good, extra: true }), { ok: true, value: good });
    assert.deepEqual(parseWebviewMessage(good), { ok: true, value: good });
    const refused = (v: Record<string, unknown>): string => {
      const r = parseWebviewMessage({ ...good, ...v });
      assert.ok(!r.ok, JSON.stringify(v));
      return r.reason;
    };
    assert.match(refused({ fileName: '../x.png' }), /plain file name/);
    assert.match(refused({ fileName: '/tmp/x.png' }), /plain file name/);
    assert.match(refused({ fileName: 'x.csv' }), /ending in \.png/);
    assert.match(refused({ fileName: 'x' }), /ending in \.png/);
    assert.match(refused({ encoding: 'utf8' }), /travels as base64/);
    assert.match(refused({ content: 'not base64!' }), /base64/);
    assert.match(refused({ content: 42 }), /"content"/);
    assert.match(refused({ ok: 'yes' }), /"ok"/);
    assert.match(refused({ format: 'svg', fileName: 'x.svg', encoding: 'base64' }), /travels as utf8/);
  });

  it('reads a failed export with its reason, cut to a log line’s length, and the Export button', () => {
    assert.deepEqual(parseWebviewMessage({ type: 'exportContent', id: 2, ok: false, message: 'nothing yet' }), {
      ok: true,
      value: { type: 'exportContent', id: 2, ok: false, message: 'nothing yet' },
    });
    const long = parseExportContent({ type: 'exportContent', id: 2, ok: false, message: 'x'.repeat(5000) });
    assert.ok(long.ok && !long.value.ok);
    assert.equal(long.value.message, `${'x'.repeat(2000)}…`);
    assert.deepEqual(parseWebviewMessage({ type: 'exportAsked', more: 1 }), { ok: true, value: { type: 'exportAsked' } });
  });
});

// The layer view's heatmap as numbers (webview/layer/viewport.ts, heatmapRaster.ts, seriation.ts,
// all pure): the viewport never shows space past the matrix and zooms about the point under the
// pointer; every cell reaches the screen even when cells are smaller than a pixel, as the largest
// of the cells a pixel covers; axis labels never overlap; and the similarity order puts the rows of
// a planted block next to each other.
import * as assert from 'node:assert/strict';
import { orderedMatrix, pixelCells, rasterize } from '../../webview/layer/heatmapRaster';
import { seriateDistances, seriationOrder } from '../../webview/layer/seriation';
import { clampViewport, fitCell, fitViewport, labelStep, maxZoom, panBy, revealCell, viewTransform, zoomAt } from '../../webview/layer/viewport';
import { seededRandom } from '../support/seededRandom';

describe('layer view heatmap viewport', () => {
  // The plot is the matrix's size at fit (the heatmap canvas is never larger than the matrix it shows).
  const plot = { width: 160, height: 400 };
  const m = { rows: 1280, cols: 512 };
  const fit = fitCell(plot, m);

  it('fits the whole matrix at zoom 1, with square cells', () => {
    assert.equal(fit, 400 / 1280);
    assert.equal(fitCell({ width: 600, height: 400 }, m), fit);
    const t = viewTransform(fitViewport(m), plot, m, fit);
    assert.deepEqual([t.originX, t.originY], [0, 0]);
    assert.ok(m.rows * t.cell <= plot.height + 1e-9 && m.cols * t.cell <= plot.width);
    // Small matrices are not blown up.
    assert.equal(fitCell({ width: 600, height: 400 }, { rows: 8, cols: 16 }), 28);
  });

  it('zooms about the point under the pointer and never past fit or 48-pixel cells', () => {
    const v = zoomAt(fitViewport(m), 8, 100, 300, plot, m, fit);
    assert.equal(v.zoom, 8);
    const before = viewTransform(fitViewport(m), plot, m, fit);
    const after = viewTransform(v, plot, m, fit);
    const pointBefore = [before.originX + 100 / before.cell, before.originY + 300 / before.cell];
    const pointAfter = [after.originX + 100 / after.cell, after.originY + 300 / after.cell];
    assert.ok(Math.abs(pointBefore[0] - pointAfter[0]) < 1e-9 && Math.abs(pointBefore[1] - pointAfter[1]) < 1e-9, 'the matrix point stays under the pointer');
    assert.equal(zoomAt(v, 1e-6, 0, 0, plot, m, fit).zoom, 1);
    assert.equal(zoomAt(v, 1e6, 0, 0, plot, m, fit).zoom, maxZoom(fit));
    assert.equal(maxZoom(fit) * fit, 48);
  });

  it('pans only as far as the matrix goes', () => {
    const v = zoomAt(fitViewport(m), 10, 300, 200, plot, m, fit);
    const far = panBy(v, 1e7, 1e7, plot, m, fit);
    const t = viewTransform(far, plot, m, fit);
    assert.ok(Math.abs(t.originX) < 1e-9 && Math.abs(t.originY) < 1e-9, 'dragging right and down far shows the top-left corner');
    const other = viewTransform(panBy(v, -1e7, -1e7, plot, m, fit), plot, m, fit);
    assert.ok(Math.abs(other.originY + plot.height / other.cell - m.rows) < 1e-6, 'and the other way the bottom edge');
    // At fit there is nothing to pan.
    assert.deepEqual(panBy(fitViewport(m), 50, 50, plot, m, fit), clampViewport(fitViewport(m), plot, m, fit));
  });

  it('reveals a cell by moving the view just enough', () => {
    const v = zoomAt(fitViewport(m), 20, 0, 0, plot, m, fit);
    const r = revealCell(v, 100, 1000, plot, m, fit);
    const t = viewTransform(r, plot, m, fit);
    assert.ok(t.originX <= 100 && 101 <= t.originX + plot.width / t.cell + 1e-9);
    assert.ok(t.originY <= 1000 && 1001 <= t.originY + plot.height / t.cell + 1e-9);
  });

  it('labels at steps of 1, 2, 5, 10, … no closer than the text needs', () => {
    assert.equal(labelStep(20, 18), 1);
    assert.equal(labelStep(0.3125, 30), 100);
    for (const cell of [0.1, 0.31, 0.9, 1, 3, 7.5, 13, 48])
      for (const need of [8, 13, 30]) {
        const step = labelStep(cell, need);
        assert.ok(step * cell >= need);
        assert.ok([1, 2, 5].some((n) => Number.isInteger(Math.log10(step / n))));
      }
  });
});

describe('layer view heatmap raster', () => {
  it('gives every cell to exactly one pixel when cells are smaller than a pixel', () => {
    for (const [pixels, cell, size] of [
      [100, 0.37, 270],
      [64, 0.5, 128],
      [7, 0.9, 7],
    ] as const) {
      const { start, end } = pixelCells(pixels, 0, cell, size);
      const counts = new Int32Array(size);
      for (let p = 0; p < pixels; p++) for (let c = start[p]; c < end[p] && start[p] >= 0; c++) counts[c]++;
      const covered = Math.min(size, Math.floor(pixels / cell));
      for (let c = 0; c < covered; c++) assert.equal(counts[c], 1, `cell ${c} of ${size} at ${cell} px`);
    }
  });

  it('shows the largest capacity of the cells a pixel covers, so one strong pair never vanishes', () => {
    const rows = 1280;
    const cols = 512;
    const values = new Float32Array(rows * cols).fill(0.1);
    values[777 * cols + 333] = 2;
    const identity = (n: number): Int32Array => Int32Array.from({ length: n }, (_, i) => i);
    const ordered = orderedMatrix(values, cols, identity(rows), identity(cols));
    const lut = Uint32Array.from({ length: 256 }, (_, i) => i);
    const w = 160;
    const h = 400;
    const out = new Uint32Array(w * h);
    const cell = 400 / 1280;
    rasterize({ ordered, rows, cols, range: { lo: 0.1, hi: 2 }, lut, invalid: 999 }, { cell, originX: 0, originY: 0 }, 1, w, h, out);
    const hot = [...out.keys()].filter((i) => out[i] === 255);
    assert.equal(hot.length, 1, 'one pixel holds the strong pair');
    assert.deepEqual([hot[0] % w, Math.floor(hot[0] / w)], [Math.floor(333 * cell), Math.floor(777 * cell)]);
    assert.ok(out.every((v) => v === 0 || v === 255));
  });

  it('puts rows and columns in display order, and leaves pixels past the matrix transparent', () => {
    const values = Float32Array.from([0, 1, 2, 3, 4, 5]); // 2 rows × 3 columns
    const ordered = orderedMatrix(values, 3, Int32Array.from([1, 0]), Int32Array.from([2, 0, 1]));
    assert.deepEqual(Array.from(ordered), [5, 3, 4, 2, 0, 1]);
    const lut = Uint32Array.from({ length: 256 }, (_, i) => i + 1);
    const out = new Uint32Array(5 * 3);
    rasterize({ ordered, rows: 2, cols: 3, range: { lo: 0, hi: 5 }, lut, invalid: 999 }, { cell: 1, originX: 0, originY: 0 }, 1, 5, 3, out);
    assert.deepEqual(Array.from(out.slice(0, 5)), [256, 154, 205, 0, 0]);
    assert.deepEqual(Array.from(out.slice(10)), [0, 0, 0, 0, 0]);
  });

  it('colours a pixel with no finite capacity as invalid', () => {
    const ordered = Float32Array.from([NaN, 1]);
    const out = new Uint32Array(2);
    rasterize(
      { ordered, rows: 1, cols: 2, range: { lo: 0, hi: 1 }, lut: Uint32Array.from({ length: 256 }, (_, i) => i), invalid: 999 },
      { cell: 1, originX: 0, originY: 0 },
      1,
      2,
      1,
      out,
    );
    assert.deepEqual(Array.from(out), [999, 255]);
  });
});

describe('layer view similarity order (seriation)', () => {
  it('puts the rows of each planted block next to each other, whatever the channel order', () => {
    const rand = seededRandom(7);
    const rows = 300;
    const blocks = 6;
    const cols = 8 * blocks;
    // Row i belongs to block (permuted i) % blocks; each block has high capacity to its own 8 columns.
    const perm = Int32Array.from({ length: rows }, (_, i) => i);
    for (let i = rows - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [perm[i], perm[j]] = [perm[j], perm[i]];
    }
    const blockOf = (r: number): number => perm[r] % blocks;
    const values = new Float32Array(rows * cols);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) values[r * cols + c] = 0.2 * rand() + (Math.floor(c / 8) === blockOf(r) ? 1.5 : 0);
    const order = seriationOrder(values, rows, cols, 'rows');
    assert.deepEqual(
      [...order].sort((a, b) => a - b),
      Array.from({ length: rows }, (_, i) => i),
      'a permutation',
    );
    // Contiguous blocks: the block changes exactly blocks − 1 times along the order.
    let changes = 0;
    for (let p = 1; p < rows; p++) if (blockOf(order[p]) !== blockOf(order[p - 1])) changes++;
    assert.equal(changes, blocks - 1);
    // Columns too: the 8 columns of a block are contiguous.
    const colOrder = seriationOrder(values, rows, cols, 'cols');
    let colChanges = 0;
    for (let p = 1; p < cols; p++) if (Math.floor(colOrder[p] / 8) !== Math.floor(colOrder[p - 1] / 8)) colChanges++;
    assert.equal(colChanges, blocks - 1);
  });

  it('orders points on a line along the line (the seriation of a Robinson matrix)', () => {
    const positions = [5, 1, 9, 3, 7, 0, 8, 2, 6, 4];
    const n = positions.length;
    const d = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) d[i * n + j] = Math.abs(positions[i] - positions[j]);
    const order = Array.from(seriateDistances(n, d)).map((i) => positions[i]);
    const ascending = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
    assert.ok(
      JSON.stringify(order) === JSON.stringify(ascending) || JSON.stringify(order) === JSON.stringify([...ascending].reverse()),
      `got ${order.join(' ')}`,
    );
  });

  it('is deterministic and handles tiny and constant matrices', () => {
    assert.deepEqual(Array.from(seriationOrder(new Float32Array(0), 0, 0, 'rows')), []);
    assert.deepEqual(Array.from(seriationOrder(Float32Array.from([1, 2]), 1, 2, 'cols')), [0, 1]);
    const flat = new Float32Array(20 * 5).fill(0.3);
    const a = seriationOrder(flat, 20, 5, 'rows');
    assert.deepEqual(Array.from(a), Array.from(seriationOrder(flat, 20, 5, 'rows')));
    assert.equal(new Set(a).size, 20);
  });
});

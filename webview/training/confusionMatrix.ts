// Fig. 4(A) / Fig. 7: the confusion matrix at one epoch, as a table. Row = true label, column =
// predicted label; a cell's colour runs from the editor background (no instance) to the theme's
// chart blue (the most instances), so in light themes darker means more, as in the paper, and in
// dark themes the more a cell stands out from the background, the more instances it holds.
// Counts are written in the cells while they fit, and shown on hover as
// "true <class> → predicted <class>: N".
import { contrastRatio, mix, toCss, type Rgba, type ThemeColors } from '../shared/theme';
import { h, replaceChildren, type Tooltip } from '../shared/dom';
import { confusionTotals, rampPosition } from './series';

/** Above this many classes the cells are too small for their counts; the tooltip still has them. */
const MAX_CLASSES_WITH_COUNTS = 20;

export interface MatrixInput {
  readonly classes: readonly string[];
  /** classes × classes, row-major, row = true label. */
  readonly confusion: Int32Array;
  readonly epoch: number;
}

export function cellTooltip(classes: readonly string[], row: number, col: number, count: number): string {
  return `true ${classes[row]} → predicted ${classes[col]}: ${count}`;
}

/** Cell edge in pixels: as large as the card allows, within what stays readable and compact. */
const MIN_CELL_PX = 14;
const MAX_CELL_PX = 56;
/** Room kept for the row headers (class names) when sizing cells. */
const ROW_HEAD_PX = 90;

export class ConfusionMatrixView {
  private input: MatrixInput | undefined;
  private colors: ThemeColors | undefined;
  private width = 0;

  constructor(
    private readonly container: HTMLElement,
    private readonly tooltip: Tooltip,
  ) {
    // One listener for every cell: rows are rebuilt at each epoch.
    container.addEventListener('pointerover', (e) => this.hover(e));
    container.addEventListener('pointermove', (e) => this.hover(e));
    container.addEventListener('pointerleave', () => this.tooltip.hide());
    // Cells grow and shrink with the panel. Drawn on the next frame: re-rendering inside the
    // observer's callback would resize what it observes within the same frame (a ResizeObserver loop).
    let pending = false;
    new ResizeObserver(() => {
      if (pending || container.clientWidth === this.width) return;
      pending = true;
      requestAnimationFrame(() => {
        pending = false;
        if (this.colors !== undefined && container.clientWidth !== this.width) this.render(this.input, this.colors);
      });
    }).observe(container);
  }

  render(input: MatrixInput | undefined, colors: ThemeColors): void {
    this.input = input;
    this.colors = colors;
    this.width = this.container.clientWidth;
    this.tooltip.hide();
    if (input === undefined) {
      replaceChildren(this.container);
      return;
    }
    const k = input.classes.length;
    const { cols, max } = confusionTotals(input.confusion, k);
    const showCounts = k <= MAX_CLASSES_WITH_COUNTS;
    const table = h('table', {
      className: `confusion${showCounts ? '' : ' compact'}`,
      attrs: { 'aria-label': `Confusion matrix at epoch ${input.epoch}: rows are true labels, columns predicted labels` },
    });
    const corner = h(
      'th',
      { className: 'corner', attrs: { scope: 'col' } },
      h('span', { className: 'axis-true' }, 'true ↓'),
      h('span', { className: 'axis-pred' }, 'predicted →'),
    );
    const head = h('tr', {}, corner);
    for (let c = 0; c < k; c++) {
      const never = cols[c] === 0;
      head.appendChild(
        h(
          'th',
          { className: never ? 'col-head never' : 'col-head', attrs: { scope: 'col', 'data-col': c, 'data-class': input.classes[c] } },
          h('span', { className: 'class-name' }, input.classes[c]),
          // The same ∞ as the gap in chart (B): nothing was predicted as this class.
          never ? h('span', { className: 'never-mark', attrs: { 'aria-label': 'never predicted' } }, '∞') : null,
        ),
      );
    }
    const body = h('tbody');
    for (let r = 0; r < k; r++) {
      const row = h('tr', {}, h('th', { className: 'row-head', attrs: { scope: 'row', 'data-row': r, 'data-class': input.classes[r] } }, input.classes[r]));
      for (let c = 0; c < k; c++) {
        const count = input.confusion[r * k + c];
        const fill = cellColor(count, max, colors);
        const cell = h(
          'td',
          { className: r === c ? 'cell diagonal' : 'cell', attrs: { 'data-row': r, 'data-col': c, 'data-count': count } },
          showCounts && count > 0 ? count : null,
        );
        cell.style.backgroundColor = toCss(fill);
        cell.style.color = toCss(textColorOn(fill, colors));
        row.appendChild(cell);
      }
      body.appendChild(row);
    }
    table.append(h('thead', {}, head), body);
    const cell = Math.floor(Math.min(MAX_CELL_PX, Math.max(MIN_CELL_PX, (this.width - ROW_HEAD_PX) / k)));
    table.style.setProperty('--cell-size', `${cell}px`);
    replaceChildren(this.container, table);
    // Row headers (class names) may be wider than guessed: shrink the cells by what overflows.
    const overflow = table.offsetWidth - this.width;
    if (overflow > 0 && cell > MIN_CELL_PX) table.style.setProperty('--cell-size', `${Math.max(MIN_CELL_PX, cell - Math.ceil(overflow / k))}px`);
  }

  private hover(e: PointerEvent): void {
    const input = this.input;
    const cell = e.target instanceof Element ? e.target.closest('td.cell') : null;
    if (input === undefined || !(cell instanceof HTMLElement)) {
      this.tooltip.hide();
      return;
    }
    const row = Number(cell.dataset.row);
    const col = Number(cell.dataset.col);
    const count = Number(cell.dataset.count);
    this.tooltip.show([cellTooltip(input.classes, row, col, count)], e.clientX, e.clientY);
  }
}

function cellColor(count: number, max: number, colors: ThemeColors): Rgba {
  return mix(colors.background, colors.accent, rampPosition(count, max));
}

/** The theme's foreground or background, whichever reads better on `fill`. */
function textColorOn(fill: Rgba, colors: ThemeColors): Rgba {
  return contrastRatio(fill, colors.foreground) >= contrastRatio(fill, colors.background) ? colors.foreground : colors.background;
}

// The channel view's card (A): the small multiples of every channel shown, their order and filter
// (persisted with the selection), the overview strip, and their pointer and keyboard events. The
// card redraws itself on scroll; everything else redraws through the view's render.
import type { ChannelEntropiesResult, MeasureSeries } from '../../src/shared/measures';
import { frameScheduler, setText } from '../shared/dom';
import type { LoadedRun } from '../shared/runs';
import { type Rgba, type ThemeColors } from '../shared/theme';
import { CHANNEL_SORT_KEYS, channelKeyValues, orderChannels, parseChannelRanges, sortKeyLabel, type ChannelSortKey, type DeadFilter } from './channelOrder';
import { chosenEpoch, chosenRun, select } from './choices';
import { entropyLines, formatBits, lineValue, type EntropyLines } from './entropyModel';
import {
  channelFilter,
  deadSelect,
  filterMessage,
  multiples,
  multiplesBox,
  multiplesCaption,
  overview,
  overviewCaption,
  shownCount,
  sortSelect,
  tooltip,
} from './layout';
import type { OverviewGeometry } from './overviewStrip';
import type { BoxGeometry } from './smallMultiples';
import { hiddenLines, session } from './state';

/** What the card needs from the view: how a channel is chosen (selected, published, projected). */
export interface MultiplesHooks {
  readonly chooseChannel: (channel: number) => void;
}

/** What the card shows, for the view model. */
export interface MultiplesModel {
  readonly lines: EntropyLines | undefined;
  readonly sort: ChannelSortKey;
  readonly order: readonly number[] | undefined;
  readonly boxes: BoxGeometry | undefined;
  readonly overview: OverviewGeometry | undefined;
}

interface Drawn {
  readonly sort: ChannelSortKey;
  readonly classColors: readonly string[];
  readonly colors: ThemeColors;
  readonly focus: Rgba;
  readonly order: Int32Array;
  readonly stripValues: Float64Array;
  readonly binary: boolean;
}

let hooks: MultiplesHooks | undefined;
let hovered: number | undefined;
let lastHighlighted: number | undefined;
let drawn: Drawn | undefined;
let lines: { readonly items: readonly ChannelEntropiesResult[]; readonly value: EntropyLines } | undefined;
/** The order last computed, with the lines and choices it was computed from. */
let ordered: { readonly lines: EntropyLines; readonly key: string; readonly order: Int32Array; readonly stripValues: Float64Array } | undefined;

export function sortKey(): ChannelSortKey {
  return session.selection.sort ?? 'channel';
}

function width(): number {
  const w = multiples.scroller.clientWidth;
  return w > 0 ? w : Math.max(200, multiplesBox.clientWidth);
}

/** The lines of a series, computed once per series (a scroll redraws without recomputing them). */
function linesOf(series: MeasureSeries<ChannelEntropiesResult>): EntropyLines {
  if (lines?.items !== series.items) lines = { items: series.items, value: entropyLines(series.items) };
  return lines.value;
}

export function multiplesModel(): MultiplesModel {
  const d = drawn;
  return {
    lines: d !== undefined ? lines?.value : undefined,
    // What was drawn, not what was just chosen: the order below is the drawn one's.
    sort: d?.sort ?? sortKey(),
    order: d !== undefined ? Array.from(d.order) : undefined,
    boxes: d !== undefined ? multiples.geometry : undefined,
    overview: d !== undefined ? overview.geometry : undefined,
  };
}

/** Draws the card; true when it drew boxes (the entropies are here). */
export function renderMultiples(
  run: LoadedRun | undefined,
  series: MeasureSeries<ChannelEntropiesResult> | undefined,
  palette: readonly string[],
  colors: ThemeColors,
  focus: Rgba,
): boolean {
  const sort = sortKey();
  if (sortSelect.value !== sort) sortSelect.value = sort;
  const dead = session.selection.dead ?? 'all';
  if (deadSelect.value !== dead) deadSelect.value = dead;
  const filterText = session.selection.channels ?? '';
  // The field is the user's while they type in it; a saved or reloaded filter fills it otherwise.
  if (document.activeElement !== channelFilter && channelFilter.value !== filterText) channelFilter.value = filterText;
  const parsed = parseChannelRanges(filterText);
  setText(filterMessage, parsed.ok ? '' : `Channels: ${parsed.reason}; every channel is shown.`);
  filterMessage.classList.toggle('error', !parsed.ok);
  channelFilter.setAttribute('aria-invalid', parsed.ok ? 'false' : 'true');
  if (run === undefined || series === undefined || series.items.length === 0) {
    multiples.scroller.hidden = true;
    overview.canvas.hidden = true;
    setText(multiplesCaption, '');
    setText(overviewCaption, '');
    setText(shownCount, '');
    drawn = undefined;
    return false;
  }
  const l = linesOf(series);
  const epoch = chosenEpoch(run);
  const epochIndex = epoch !== undefined ? l.epochs.indexOf(epoch) : -1;
  const ranges = parsed.ok ? parsed.ranges : undefined;
  const deadFilter: DeadFilter | undefined = dead === 'all' ? undefined : dead;
  const key = JSON.stringify([epochIndex, sort, ranges, deadFilter]);
  if (ordered === undefined || ordered.key !== key || ordered.lines !== l) {
    const sortValues = channelKeyValues(l, sort, epochIndex);
    // The strip shows the sort key's values; ordered by channel number, it shows the entropy at the epoch.
    const stripValues = sort === 'channel' ? channelKeyValues(l, 'entropy', epochIndex) : sortValues;
    ordered = { lines: l, key, order: orderChannels(l, epochIndex, { sort, ranges, dead: deadFilter }, sortValues), stripValues };
  }
  const order = ordered.order;
  drawn = { sort, classColors: palette, colors, focus, order, stripValues: ordered.stripValues, binary: sort === 'dead' };
  multiples.scroller.hidden = false;
  overview.canvas.hidden = order.length === 0;
  draw();
  // A channel chosen elsewhere (the packing, another view, the keyboard) is scrolled into view.
  const highlighted = session.selection.channel;
  if (highlighted !== lastHighlighted) {
    lastHighlighted = highlighted;
    const index = highlighted !== undefined ? order.indexOf(highlighted) : -1;
    if (index >= 0) multiples.scrollToIndex(index);
  }
  setText(shownCount, `${order.length.toLocaleString('en-US')} of ${l.channels.toLocaleString('en-US')} channels`);
  setText(
    overviewCaption,
    order.length === 0
      ? 'No channel matches the filter.'
      : `Every channel shown, in order, coloured by ${sort === 'channel' ? 'its entropy at the epoch' : sort === 'dead' ? 'dead (red) or live' : sortKeyLabel(sort).replace(/,.*$/, '')}${sort === 'dead' ? '' : ' (pale low, blue high)'}; the outline is the boxes in view.`,
  );
  setText(
    multiplesCaption,
    `${l.channels} channel${l.channels === 1 ? '' : 's'}, epochs ${l.epochs[0]}–${l.epochs[l.epochs.length - 1]}; y from 0 to ${formatBits(l.max)} bits in every box. The dashed line marks epoch ${epoch ?? '–'}.`,
  );
  return true;
}

/** Draws the boxes where the container is scrolled, and the strip with the range in view. */
function draw(): void {
  const run = chosenRun();
  const d = drawn;
  const l = lines?.value;
  if (d === undefined || l === undefined || run === undefined) return;
  multiples.render(
    {
      lines: l,
      order: d.order,
      classColors: d.classColors,
      hiddenLines,
      epoch: chosenEpoch(run),
      highlighted: session.selection.channel,
      hovered,
    },
    d.colors,
    width(),
    d.focus,
  );
  const g = multiples.geometry;
  overview.render(
    {
      order: d.order,
      values: d.stripValues,
      binary: d.binary,
      visibleFirst: g?.visibleFirst ?? 0,
      visibleEnd: g?.visibleEnd ?? 0,
      highlighted: session.selection.channel,
    },
    d.colors,
    width(),
    d.focus,
  );
}

const scheduleDraw = frameScheduler(() => draw());

function choose(channel: number): void {
  hooks?.chooseChannel(channel);
}

function onKey(e: KeyboardEvent): void {
  const d = drawn;
  const g = multiples.geometry;
  if (d === undefined || g === undefined || d.order.length === 0) return;
  const n = d.order.length;
  const current = session.selection.channel !== undefined ? d.order.indexOf(session.selection.channel) : -1;
  const from = current >= 0 ? current : g.visibleFirst;
  const page = multiples.pageBoxes();
  const moves: Record<string, number> = {
    ArrowRight: from + 1,
    ArrowLeft: from - 1,
    ArrowDown: from + g.columns,
    ArrowUp: from - g.columns,
    PageDown: from + page,
    PageUp: from - page,
    Home: 0,
    End: n - 1,
  };
  const target = moves[e.key];
  if (target === undefined) return;
  e.preventDefault();
  // With nothing selected yet, the first key selects the first box in view.
  const next = current < 0 ? from : Math.max(0, Math.min(n - 1, target));
  multiples.scrollToIndex(next);
  if (d.order[next] !== session.selection.channel) choose(d.order[next]);
}

/** Wires the card's controls and canvases; `chooseChannel` is the view's. */
export function startMultiples(h: MultiplesHooks): void {
  hooks = h;
  multiples.scroller.addEventListener('scroll', () => scheduleDraw());
  multiples.scroller.addEventListener('keydown', onKey);
  multiples.canvas.addEventListener('pointermove', (e) => {
    const hit = multiples.hit(e.clientX, e.clientY);
    const run = chosenRun();
    const l = lines?.value;
    if (hovered !== hit?.channel) {
      hovered = hit?.channel;
      scheduleDraw();
    }
    if (hit === undefined || run === undefined || l === undefined) {
      tooltip.hide();
      return;
    }
    const classes = run.info.manifest.classes;
    const value = (line: number): string => formatBits(lineValue(l, hit.channel, line, hit.epochIndex));
    tooltip.show(
      [
        `channel ${hit.channel}, epoch ${l.epochs[hit.epochIndex]}`,
        `all samples: ${value(l.classes)} bits`,
        ...classes.map((name, k) => `${name}: ${value(k)} bits`),
      ],
      e.clientX,
      e.clientY,
    );
  });
  multiples.canvas.addEventListener('pointerleave', () => {
    hovered = undefined;
    tooltip.hide();
    scheduleDraw();
  });
  multiples.canvas.addEventListener('click', (e) => {
    const hit = multiples.hit(e.clientX, e.clientY);
    if (hit !== undefined) choose(hit.channel);
  });

  const scrollToPointer = (e: PointerEvent): void => {
    const index = overview.indexAt(e.clientX, e.clientY);
    if (index !== undefined) multiples.scrollToIndex(index, true);
  };
  overview.canvas.addEventListener('pointerdown', (e) => {
    overview.canvas.setPointerCapture(e.pointerId);
    scrollToPointer(e);
  });
  overview.canvas.addEventListener('pointermove', (e) => {
    if (overview.canvas.hasPointerCapture(e.pointerId)) scrollToPointer(e);
    const d = drawn;
    const index = overview.indexAt(e.clientX, e.clientY);
    if (d === undefined || index === undefined) return;
    const c = d.order[index];
    const v = d.stripValues[c];
    const sort = sortKey();
    const what =
      sort === 'dead' ? (v > 0 ? 'dead' : 'live') : `${sort === 'channel' ? 'entropy' : sortKeyLabel(sort).replace(/,.*$/, '')}: ${formatBits(v)} bits`;
    tooltip.show([`channel ${c} (${index + 1} of ${d.order.length})`, what], e.clientX, e.clientY);
  });
  overview.canvas.addEventListener('pointerleave', () => tooltip.hide());

  sortSelect.addEventListener('change', () => {
    const value = CHANNEL_SORT_KEYS.find((k) => k === sortSelect.value);
    if (value === undefined || value === sortKey()) return;
    multiples.scroller.scrollTop = 0;
    select({ sort: value === 'channel' ? undefined : value });
  });
  deadSelect.addEventListener('change', () => {
    const value = deadSelect.value;
    const dead: DeadFilter | undefined = value === 'hide' || value === 'only' ? value : undefined;
    if (dead === session.selection.dead) return;
    multiples.scroller.scrollTop = 0;
    select({ dead });
  });
  channelFilter.addEventListener('input', () => {
    const text = channelFilter.value;
    if (text === (session.selection.channels ?? '')) return;
    multiples.scroller.scrollTop = 0;
    select({ channels: text === '' ? undefined : text });
  });
}

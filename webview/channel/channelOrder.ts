// Which channels the small multiples show, and in what order (issue 15: a layer of 512 or 1,280
// channels is read by sorting and filtering, not by scrolling past every box). Plain numbers over
// the view's EntropyLines, no DOM: the overview strip colours channels by the same key values.
import { lineValue, type EntropyLines } from './entropyModel';

/**
 * How the boxes are ordered. Every key but the channel number puts the largest value first, a
 * channel without a value last, and ties in channel order.
 * - `channel`: by channel number (the layer's own order).
 * - `entropy`: the channel's intra-sample entropy over all samples at the chosen epoch.
 * - `change`: |H(last epoch) − H(first epoch)| of its all-samples line: how much training moved it
 *   (the first and last epochs where it has a value).
 * - `spread`: max − min over the classes of its per-class entropies at the chosen epoch: how
 *   differently the classes use it.
 * - `dead`: the dead channels first (see isDead), then the others, each in channel order.
 */
export type ChannelSortKey = 'channel' | 'entropy' | 'change' | 'spread' | 'dead';

export const CHANNEL_SORT_KEYS: readonly ChannelSortKey[] = ['channel', 'entropy', 'change', 'spread', 'dead'];

/** Which channels by liveness: every one, the live ones only, or the dead ones only. */
export type DeadFilter = 'hide' | 'only';

/**
 * A channel is dead at an epoch when its mean intra-sample entropy over all samples is at most this
 * many bits, i.e. 0 up to float32 rounding: every probe sample's feature map of it falls in one
 * histogram bin (a constant map, e.g. all zero after a ReLU), so it tells no sample anything.
 */
export const DEAD_BITS = 1e-6;

/** The tooltip and docs' sentence for DEAD_BITS. */
export const DEAD_DEFINITION =
  'Dead: the channel’s intra-sample entropy over all samples is 0 bits at the chosen epoch, i.e. every probe sample’s map of it is constant (falls in one histogram bin), e.g. all zero after a ReLU.';

export function isDead(lines: EntropyLines, channel: number, epochIndex: number): boolean {
  const v = lineValue(lines, channel, lines.classes, epochIndex);
  return Number.isFinite(v) && v <= DEAD_BITS;
}

/** Every channel's value of `key` at the epoch (NaN where it has none); `dead` gives 1 for a dead channel, else 0. */
export function channelKeyValues(lines: EntropyLines, key: ChannelSortKey, epochIndex: number): Float64Array {
  const out = new Float64Array(lines.channels);
  const e = lines.epochs.length;
  const all = lines.classes;
  for (let c = 0; c < lines.channels; c++) {
    switch (key) {
      case 'channel':
        out[c] = c;
        break;
      case 'entropy':
        out[c] = epochIndex >= 0 ? lineValue(lines, c, all, epochIndex) : NaN;
        break;
      case 'change': {
        let first = NaN;
        let last = NaN;
        for (let t = 0; t < e; t++) {
          const v = lineValue(lines, c, all, t);
          if (!Number.isFinite(v)) continue;
          if (Number.isNaN(first)) first = v;
          last = v;
        }
        out[c] = Math.abs(last - first);
        break;
      }
      case 'spread': {
        let lo = Infinity;
        let hi = -Infinity;
        for (let k = 0; k < lines.classes && epochIndex >= 0; k++) {
          const v = lineValue(lines, c, k, epochIndex);
          if (!Number.isFinite(v)) continue;
          lo = Math.min(lo, v);
          hi = Math.max(hi, v);
        }
        out[c] = hi >= lo ? hi - lo : NaN;
        break;
      }
      case 'dead':
        out[c] = epochIndex >= 0 && isDead(lines, c, epochIndex) ? 1 : 0;
        break;
    }
  }
  return out;
}

/** Channel numbers and inclusive ranges, as typed: "12, 40-63". */
export type ChannelRanges = readonly (readonly [number, number])[];

export type ParsedRanges = { readonly ok: true; readonly ranges: ChannelRanges | undefined } | { readonly ok: false; readonly reason: string };

/**
 * Parses a channel filter: numbers and ranges `a-b` (or `a–b`), separated by commas or spaces.
 * Empty text is no filter (undefined ranges).
 */
export function parseChannelRanges(text: string): ParsedRanges {
  const normal = text.replace(/\s*[-–]\s*/g, '-').trim();
  if (normal === '') return { ok: true, ranges: undefined };
  const ranges: [number, number][] = [];
  for (const token of normal.split(/[\s,;]+/)) {
    if (token === '') continue;
    const m = /^(\d{1,7})(?:-(\d{1,7}))?$/.exec(token);
    if (m === null) return { ok: false, reason: `“${token}” is not a channel number or a range like 40-63` };
    const lo = Number(m[1]);
    const hi = m[2] !== undefined ? Number(m[2]) : lo;
    if (hi < lo) return { ok: false, reason: `the range ${lo}-${hi} runs backwards` };
    ranges.push([lo, hi]);
  }
  return { ok: true, ranges };
}

export interface ChannelOrderChoice {
  readonly sort: ChannelSortKey;
  readonly ranges: ChannelRanges | undefined;
  readonly dead: DeadFilter | undefined;
}

/** The channels shown, in the order shown. */
export function orderChannels(lines: EntropyLines, epochIndex: number, choice: ChannelOrderChoice, values: Float64Array): Int32Array {
  const kept: number[] = [];
  for (let c = 0; c < lines.channels; c++) {
    if (choice.ranges !== undefined && !choice.ranges.some(([lo, hi]) => c >= lo && c <= hi)) continue;
    if (choice.dead !== undefined) {
      const dead = epochIndex >= 0 && isDead(lines, c, epochIndex);
      if (dead !== (choice.dead === 'only')) continue;
    }
    kept.push(c);
  }
  if (choice.sort !== 'channel') {
    // Array.prototype.sort is stable: equal keys keep channel order.
    kept.sort((a, b) => {
      const va = values[a];
      const vb = values[b];
      const na = Number.isNaN(va);
      const nb = Number.isNaN(vb);
      if (na || nb) return na === nb ? 0 : na ? 1 : -1;
      return vb - va;
    });
  }
  return Int32Array.from(kept);
}

/** The words for a key, in the sort menu and the overview strip's caption. */
export function sortKeyLabel(key: ChannelSortKey): string {
  switch (key) {
    case 'channel':
      return 'channel number';
    case 'entropy':
      return 'entropy at the epoch (all samples), highest first';
    case 'change':
      return 'change over training |last − first|, largest first';
    case 'spread':
      return 'spread across classes (max − min) at the epoch, largest first';
    case 'dead':
      return 'dead channels first';
  }
}

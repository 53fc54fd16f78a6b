// What the channel view draws, as plain numbers (no DOM): the small multiples' lines (Fig. 13A) and
// the circle packing's hierarchy and layout (Fig. 13B), with how many channel circles a class
// holds. The canvas drawing is in smallMultiples.ts and packing.ts.
import { hierarchy, pack } from 'd3-hierarchy';
import type { ChannelEntropiesResult } from '../../src/shared/measures';

/** A first-level circle: one class, or every probe sample. */
export type GroupKey = number | 'all';

/**
 * Intra-sample entropy of every channel, per class and over all samples, at every epoch. A value
 * is NaN where it does not exist (a class with no probe sample), which draws as a gap.
 */
export interface EntropyLines {
  readonly epochs: readonly number[];
  readonly channels: number;
  readonly classes: number;
  /** [channel][line][epoch index], line k < classes = class k, line `classes` = all samples. */
  readonly values: Float32Array;
  /** The largest value anywhere: the top of the one y scale every box shares. */
  readonly max: number;
}

export function lineValue(lines: EntropyLines, channel: number, line: number, epochIndex: number): number {
  const e = lines.epochs.length;
  return lines.values[(channel * (lines.classes + 1) + line) * e + epochIndex];
}

export function entropyLines(items: readonly ChannelEntropiesResult[]): EntropyLines {
  const first = items[0];
  const channels = first?.channels ?? 0;
  const classes = first?.classes ?? 0;
  const e = items.length;
  const values = new Float32Array(channels * (classes + 1) * e).fill(NaN);
  let max = 0;
  items.forEach((item, t) => {
    for (let c = 0; c < channels; c++) {
      for (let k = 0; k <= classes; k++) {
        const count = k < classes ? item.perClassCount[k * channels + c] : item.allCount[c];
        const v = k < classes ? item.perClass[k * channels + c] : item.all[c];
        if (count > 0 && Number.isFinite(v)) {
          values[(c * (classes + 1) + k) * e + t] = v;
          if (v > max) max = v;
        }
      }
    }
  });
  return { epochs: items.map((i) => i.epoch), channels, classes, values, max };
}

/** Bits as the view writes them: four significant digits, one decimal from 100 on. */
export function formatBits(value: number): string {
  if (!Number.isFinite(value)) return '–';
  return Math.abs(value) >= 100 ? value.toFixed(1) : value.toPrecision(4);
}

/** The packing's channel circles per class: a number, or every channel. */
export type PackTop = number | 'all';

/** The numbers of circles per class the view offers. */
export const PACK_TOP_CHOICES: readonly number[] = [6, 12, 24, 48];

/**
 * A layer of at most this many channels shows every channel in each class circle by default: the
 * paper's Fig. 13 layers, whose 11 × 64 circles stay large enough to point at and to label.
 */
export const PACK_ALL_UP_TO = 64;

/**
 * Channel circles per class by default in a larger layer (512, 1,280 channels): its 12 highest-
 * entropy channels, and one circle for the rest. 11 × 1,280 circles are 4.8 px across after a zoom,
 * and their colours cannot tell 1,280 channels apart.
 */
export const PACK_TOP_DEFAULT = 12;

/** How many channel circles a class circle holds (undefined: every channel) for a layer of `channels` and the user's choice. */
export function packTopFor(channels: number, choice: PackTop | undefined): number | undefined {
  if (choice === 'all') return undefined;
  const top = choice ?? (channels <= PACK_ALL_UP_TO ? undefined : PACK_TOP_DEFAULT);
  return top !== undefined && top < channels ? top : undefined;
}

export interface PackGroup {
  readonly key: GroupKey;
  /** Sum of its channels' entropies: the class's total randomness in this layer (§5.4.1). */
  readonly total: number;
  /** The channels drawn as circles of their own, in channel order. */
  readonly channels: readonly { readonly channel: number; readonly value: number }[];
  /** The channels that are not, as one circle: how many, and their summed entropy. */
  readonly rest?: { readonly count: number; readonly value: number };
}

/**
 * One group per class that has probe samples, and one for all samples, each with every channel's
 * mean entropy at this epoch. A class without samples has no entropy and gets no circle. With
 * `top`, a group keeps its `top` highest channels (ties: the lower channel number) and sums the
 * others into `rest`.
 */
export function packingGroups(item: ChannelEntropiesResult, top?: number): PackGroup[] {
  const groups: PackGroup[] = [];
  const make = (key: GroupKey, value: (c: number) => number, count: (c: number) => number): PackGroup | undefined => {
    const channels: { channel: number; value: number }[] = [];
    let total = 0;
    for (let c = 0; c < item.channels; c++) {
      const v = value(c);
      if (!(count(c) > 0) || !Number.isFinite(v)) continue;
      channels.push({ channel: c, value: Math.max(0, v) });
      total += Math.max(0, v);
    }
    if (channels.length === 0) return undefined;
    if (top === undefined || channels.length <= top) return { key, total, channels };
    const kept = new Set(
      [...channels]
        .sort((a, b) => b.value - a.value || a.channel - b.channel)
        .slice(0, top)
        .map((c) => c.channel),
    );
    const shown = channels.filter((c) => kept.has(c.channel));
    const restValue = channels.reduce((sum, c) => (kept.has(c.channel) ? sum : sum + c.value), 0);
    return { key, total, channels: shown, rest: { count: channels.length - shown.length, value: restValue } };
  };
  for (let k = 0; k < item.classes; k++) {
    const g = make(
      k,
      (c) => item.perClass[k * item.channels + c],
      (c) => item.perClassCount[k * item.channels + c],
    );
    if (g !== undefined) groups.push(g);
  }
  const all = make(
    'all',
    (c) => item.all[c],
    (c) => item.allCount[c],
  );
  if (all !== undefined) groups.push(all);
  return groups;
}

export interface Circle {
  /** A class (or all samples), one channel, or the rest of a class's channels summed. */
  readonly kind: 'group' | 'channel' | 'rest';
  readonly group: GroupKey;
  /** For a channel circle. */
  readonly channel?: number;
  /** For a rest circle: how many channels it stands for. */
  readonly count?: number;
  /** Bits: the channel's entropy, the rest's summed entropy, or the group's total. */
  readonly value: number;
  /** In layout units: the root circle is centred at (size/2, size/2) with radius size/2. */
  readonly x: number;
  readonly y: number;
  readonly r: number;
}

export interface PackLayout {
  readonly size: number;
  readonly root: { readonly x: number; readonly y: number; readonly r: number };
  readonly groups: readonly Circle[];
  /** Channel circles and rest circles, group by group. */
  readonly channels: readonly Circle[];
}

interface Datum {
  readonly group?: GroupKey;
  readonly channel?: number;
  /** Set on a rest leaf: the channels it sums. */
  readonly rest?: number;
  readonly value?: number;
  readonly children?: readonly Datum[];
}

/**
 * d3's circle packing, two levels: a channel circle's area is proportional to its entropy (d3 gives
 * a leaf the radius √value, scaled), and a group circle encloses them, so it grows with their sum.
 * Groups and channels keep their order (a rest circle last), so circles stay in place from epoch to
 * epoch. Every circle lies inside the root circle, which d3 fits in the `size` square.
 *
 * A layer shown as top channels (groups with a `rest`) is laid out in two steps instead: the class
 * circles first, each with its area proportional to the class's TOTAL entropy (all its channels,
 * as in the paper's Fig. 13B); then inside each, its top channels and ONE dashed circle standing
 * for a typical other channel (area ∝ the mean entropy of the rest), packed to fill the class
 * circle. Sized by the rest's sum, that circle would hold 99% of a 1,280-channel class and leave
 * its top channels a pixel or two across; this way they stay large enough to point at and label.
 * Within a class, areas compare; across classes, the class circles do.
 */
export function layoutPacking(groups: readonly PackGroup[], size: number): PackLayout {
  if (groups.some((g) => g.rest !== undefined)) return layoutTopChannels(groups, size);
  const data: Datum = {
    children: groups.map((g) => ({
      group: g.key,
      children: [
        ...g.channels.map((c): Datum => ({ group: g.key, channel: c.channel, value: c.value })),
        ...(g.rest !== undefined ? [{ group: g.key, rest: g.rest.count, value: g.rest.value }] : []),
      ],
    })),
  };
  const root = hierarchy<Datum>(data, (d) => d.children).sum((d) => (d.children === undefined ? (d.value ?? 0) : 0));
  // Room between the class circles, and a thin gap between channels.
  const packed = pack<Datum>()
    .size([size, size])
    .padding((node) => (node.depth === 0 ? Math.max(3, size / 120) : Math.max(0.75, size / 600)))(root);
  const outGroups: Circle[] = [];
  const outChannels: Circle[] = [];
  for (const node of packed.descendants()) {
    if (node.depth === 1) outGroups.push({ kind: 'group', group: node.data.group ?? 'all', value: node.value ?? 0, x: node.x, y: node.y, r: node.r });
    if (node.depth === 2) {
      const place = { group: node.data.group ?? 'all', value: node.data.value ?? 0, x: node.x, y: node.y, r: node.r };
      outChannels.push(
        node.data.rest !== undefined ? { kind: 'rest', count: node.data.rest, ...place } : { kind: 'channel', channel: node.data.channel, ...place },
      );
    }
  }
  return { size, root: { x: packed.x, y: packed.y, r: packed.r }, groups: outGroups, channels: outChannels };
}

/** The top-channels layout (see layoutPacking): class circles by total entropy, then each class's circles packed inside its own. */
function layoutTopChannels(groups: readonly PackGroup[], size: number): PackLayout {
  const classes = hierarchy<Datum>({ children: groups.map((g) => ({ group: g.key, value: g.total })) }, (d) => d.children).sum((d) =>
    d.children === undefined ? (d.value ?? 0) : 0,
  );
  const packedClasses = pack<Datum>()
    .size([size, size])
    .padding(Math.max(3, size / 120))(classes);
  const outGroups: Circle[] = [];
  const outChannels: Circle[] = [];
  for (const node of packedClasses.leaves()) {
    const g = groups.find((x) => x.key === node.data.group);
    if (g === undefined) continue;
    outGroups.push({ kind: 'group', group: g.key, value: g.total, x: node.x, y: node.y, r: node.r });
    const inner = hierarchy<Datum>(
      {
        children: [
          ...g.channels.map((c): Datum => ({ group: g.key, channel: c.channel, value: c.value })),
          ...(g.rest !== undefined ? [{ group: g.key, rest: g.rest.count, value: g.rest.value / Math.max(1, g.rest.count) }] : []),
        ],
      },
      (d) => d.children,
    ).sum((d) => (d.children === undefined ? (d.value ?? 0) : 0));
    const side = 2 * node.r;
    // The inner root fills the side × side square: the class circle itself.
    const packedInner = pack<Datum>()
      .size([side, side])
      .padding(Math.max(0.75, side / 80))(inner);
    for (const leaf of packedInner.leaves()) {
      const place = { group: g.key, x: node.x - node.r + leaf.x, y: node.y - node.r + leaf.y, r: leaf.r };
      outChannels.push(
        leaf.data.rest !== undefined
          ? { kind: 'rest', count: leaf.data.rest, value: g.rest?.value ?? 0, ...place }
          : { kind: 'channel', channel: leaf.data.channel, value: leaf.data.value ?? 0, ...place },
      );
    }
  }
  return { size, root: { x: packedClasses.x, y: packedClasses.y, r: packedClasses.r }, groups: outGroups, channels: outChannels };
}

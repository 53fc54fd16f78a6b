// What the channel view draws, as plain numbers (no DOM): the small multiples' lines (Fig. 13A),
// the circle packing's hierarchy and layout (Fig. 13B), and the colour of a channel. The canvas
// drawing is in smallMultiples.ts and packing.ts; the benchmark and the tests use these directly.
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

export interface PackGroup {
  readonly key: GroupKey;
  /** Sum of its channels' entropies: the class's total randomness in this layer (§5.4.1). */
  readonly total: number;
  readonly channels: readonly { readonly channel: number; readonly value: number }[];
}

/**
 * One group per class that has probe samples, and one for all samples, each with every channel's
 * mean entropy at this epoch. A class without samples has no entropy and gets no circle.
 */
export function packingGroups(item: ChannelEntropiesResult): PackGroup[] {
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
    return channels.length > 0 ? { key, total, channels } : undefined;
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
  readonly kind: 'group' | 'channel';
  readonly group: GroupKey;
  /** For a channel circle. */
  readonly channel?: number;
  /** Bits: the channel's entropy, or the group's total. */
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
  readonly channels: readonly Circle[];
}

interface Datum {
  readonly group?: GroupKey;
  readonly channel?: number;
  readonly value?: number;
  readonly children?: readonly Datum[];
}

/**
 * d3's circle packing, two levels: a channel circle's area is proportional to its entropy (d3 gives
 * a leaf the radius √value, scaled), and a group circle encloses its channels, so it grows with
 * their sum. Groups and channels keep their order, so circles stay in place from epoch to epoch.
 */
export function layoutPacking(groups: readonly PackGroup[], size: number): PackLayout {
  const data: Datum = {
    children: groups.map((g) => ({ group: g.key, children: g.channels.map((c) => ({ group: g.key, channel: c.channel, value: c.value })) })),
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
    if (node.depth === 2)
      outChannels.push({
        kind: 'channel',
        group: node.data.group ?? 'all',
        channel: node.data.channel,
        value: node.data.value ?? 0,
        x: node.x,
        y: node.y,
        r: node.r,
      });
  }
  return { size, root: { x: packed.x, y: packed.y, r: packed.r }, groups: outGroups, channels: outChannels };
}

/**
 * A colour per channel index (the paper colours second-level circles by channel), so one channel
 * has the same colour in every class circle. Hues step by the golden angle, which keeps
 * neighbouring channels apart however many there are.
 */
export function channelColor(channel: number, dark: boolean): string {
  const hue = (channel * 137.508) % 360;
  return `hsl(${hue.toFixed(1)}, ${dark ? 55 : 60}%, ${dark ? 62 : 48}%)`;
}

// The query view's x (which probe samples a slice takes) and the slice in the paper's notation.
// The engine's own selections are `all`, one class, or indices; several classes become the union of
// their samples' indices, which the view learns from the engine (the probe labels stay there).
import type { SampleSelection } from '../../src/shared/engineProtocol';
import { seededRandom } from '../../src/shared/seededRandom';
import type { QuerySamples } from '../../src/shared/webviewProtocol';

/** `count` distinct indices of 0 … total − 1 drawn with `seed` (a partial Fisher–Yates shuffle), ascending. */
export function randomSampleIndices(total: number, count: number, seed: number): number[] {
  const n = Math.min(count, total);
  const pool = Array.from({ length: total }, (_, i) => i);
  // The same seed draws the same samples in every view and on every machine.
  const rand = seededRandom(seed);
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(rand() * (total - i));
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  return pool.slice(0, n).sort((a, b) => a - b);
}

export function firstSampleIndices(total: number, count: number): number[] {
  return Array.from({ length: Math.min(count, total) }, (_, i) => i);
}

/**
 * The engine's selection for `samples`, when it needs no labels: everything but several (not all)
 * classes. Undefined for those, and for no class at all (nothing to query).
 */
export function directSampleSelection(samples: QuerySamples, probeCount: number, classCount: number): SampleSelection | undefined {
  switch (samples.kind) {
    case 'all':
      return { kind: 'all' };
    case 'first':
      return { kind: 'indices', indices: firstSampleIndices(probeCount, samples.count) };
    case 'random':
      return { kind: 'indices', indices: randomSampleIndices(probeCount, samples.count, samples.seed) };
    case 'classes':
      if (samples.classes.length === 1) return { kind: 'class', classIndex: samples.classes[0] };
      if (samples.classes.length === classCount && classCount > 0) return { kind: 'all' };
      return undefined;
  }
}

/** The query view's x for a selection another view or the tree chose, where one fits. */
export function querySamplesOf(samples: SampleSelection, probeCount: number): QuerySamples | undefined {
  switch (samples.kind) {
    case 'all':
      return { kind: 'all' };
    case 'class':
      return { kind: 'classes', classes: [samples.classIndex] };
    case 'indices': {
      const n = samples.indices.length;
      if (n > 0 && n <= probeCount && samples.indices.every((v, i) => v === i)) return { kind: 'first', count: n };
      return undefined;
    }
  }
}

/** `all 1000 samples`, `class cat`, `3 classes: cat, dog, bird`, `first 100 samples`, `100 random samples (seed 7)`. */
export function describeSamples(samples: QuerySamples, classes: readonly string[], probeCount: number): string {
  switch (samples.kind) {
    case 'all':
      return `all ${probeCount} samples`;
    case 'classes': {
      const names = samples.classes.map((c) => classes[c] ?? `class ${c}`);
      if (names.length === 0) return 'no class chosen';
      if (names.length === classes.length) return `all ${probeCount} samples (every class)`;
      if (names.length === 1) return `class ${names[0]}`;
      const shown = names.length > 4 ? `${names.slice(0, 4).join(', ')}, …` : names.join(', ');
      return `${names.length} classes: ${shown}`;
    }
    case 'first':
      return `first ${Math.min(samples.count, probeCount)} samples`;
    case 'random':
      return `${Math.min(samples.count, probeCount)} random samples (seed ${samples.seed})`;
  }
}

/** Sorted union of index lists. */
export function unionIndices(lists: readonly ArrayLike<number>[]): number[] {
  const set = new Set<number>();
  for (const list of lists) for (let i = 0; i < list.length; i++) set.add(list[i]);
  return [...set].sort((a, b) => a - b);
}

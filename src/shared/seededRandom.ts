// mulberry32: a small seeded uniform [0, 1) generator, the same stream on every machine. The query
// view draws its random samples with it, the channel capacity its sampled pairs, and the tests and
// benchmarks their fixtures, so a seed means the same numbers everywhere.
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

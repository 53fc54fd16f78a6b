// A similarity ordering (seriation) of a capacity matrix's rows or columns, so that channels whose
// capacities to the other layer follow the same pattern sit next to each other and the paper's
// "two filters with similar patterns" (§5.3.3) show as blocks instead of scattered stripes.
//
// Method, chosen to be exact and deterministic at 1,280 channels: the Euclidean distance between
// the channels' capacity vectors (bits); average-linkage hierarchical clustering by the
// nearest-neighbour chain (O(n²) time and memory once the distances are known); the dendrogram's
// leaves read left to right, each merge oriented so that the two leaves that become neighbours
// are the closest of the four choices (Gruvaeus & Wainer 1972). Computing the distances is the
// O(n² m) part: about 0.4 s for 1,280 channels of 512 values on one slow core, so the view keeps
// each order it computed (orders are per matrix) and never recomputes it for a re-sort.

/** The Euclidean distances between n vectors of length m, `value(i, k)` the k-th entry of vector i; row-major n × n. */
function pairDistances(n: number, m: number, value: (i: number, k: number) => number): Float64Array {
  // Copied once into rows of contiguous memory: the distance loop then reads sequentially.
  const x = new Float64Array(n * m);
  for (let i = 0; i < n; i++) for (let k = 0; k < m; k++) x[i * m + k] = value(i, k);
  const d = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const a = i * m;
    for (let j = 0; j < i; j++) {
      const b = j * m;
      let s = 0;
      for (let k = 0; k < m; k++) {
        const t = x[a + k] - x[b + k];
        s += t * t;
      }
      const dist = Math.sqrt(s);
      d[i * n + j] = dist;
      d[j * n + i] = dist;
    }
  }
  return d;
}

/**
 * The seriation order of n items given their distances (row-major n × n, symmetric, zero diagonal):
 * position → item. Ties are broken by the smaller index, so the order is a function of the input.
 */
export function seriateDistances(n: number, distances: Float64Array): Int32Array {
  if (n <= 2) return Int32Array.from({ length: n }, (_, i) => i);
  // Cluster-to-cluster average distances, updated in place by Lance–Williams; `distances` keeps the leaves'.
  const d = Float64Array.from(distances);
  const size = new Int32Array(n).fill(1);
  const active = new Uint8Array(n).fill(1);
  const leaves: number[][] = Array.from({ length: n }, (_, i) => [i]);
  const chain: number[] = [];
  let remaining = n;
  const leafDistance = (a: number, b: number): number => distances[a * n + b];
  while (remaining > 1) {
    if (chain.length === 0) chain.push(active.indexOf(1));
    const a = chain[chain.length - 1];
    const previous = chain.length > 1 ? chain[chain.length - 2] : -1;
    // Nearest active cluster to a; the chain's previous element wins a tie, so the chain always ends.
    let best = previous;
    let bestD = previous >= 0 ? d[a * n + previous] : Infinity;
    for (let k = 0; k < n; k++) {
      if (!active[k] || k === a) continue;
      const v = d[a * n + k];
      if (v < bestD || (v === bestD && best !== previous && k < best)) {
        best = k;
        bestD = v;
      }
    }
    if (best !== previous) {
      chain.push(best);
      continue;
    }
    chain.pop();
    chain.pop();
    // Merge `previous` into `a` (the smaller index survives, so results do not depend on chain order).
    const keep = Math.min(a, previous);
    const gone = Math.max(a, previous);
    const sk = size[keep];
    const sg = size[gone];
    for (let k = 0; k < n; k++) {
      if (!active[k] || k === keep || k === gone) continue;
      const v = (sk * d[keep * n + k] + sg * d[gone * n + k]) / (sk + sg);
      d[keep * n + k] = v;
      d[k * n + keep] = v;
    }
    leaves[keep] = orient(leaves[keep], leaves[gone], leafDistance);
    leaves[gone] = [];
    size[keep] = sk + sg;
    active[gone] = 0;
    remaining--;
  }
  return Int32Array.from(leaves[active.indexOf(1)]);
}

/** The concatenation of the two leaf lists, each possibly reversed, whose new neighbours are closest. */
function orient(a: number[], b: number[], dist: (x: number, y: number) => number): number[] {
  const aFirst = a[0];
  const aLast = a[a.length - 1];
  const bFirst = b[0];
  const bLast = b[b.length - 1];
  const options: [number, boolean, boolean][] = [
    [dist(aLast, bFirst), false, false],
    [dist(aLast, bLast), false, true],
    [dist(aFirst, bFirst), true, false],
    [dist(aFirst, bLast), true, true],
  ];
  let best = options[0];
  for (const o of options) if (o[0] < best[0]) best = o;
  const left = best[1] ? [...a].reverse() : a;
  const right = best[2] ? [...b].reverse() : b;
  return left.concat(right);
}

/**
 * The similarity order of a row-major rows × cols matrix's rows ('rows') or columns ('cols'),
 * position → channel.
 */
export function seriationOrder(values: Float32Array, rows: number, cols: number, which: 'rows' | 'cols'): Int32Array {
  const finite = (v: number): number => (Number.isFinite(v) ? v : 0);
  const distances =
    which === 'rows' ? pairDistances(rows, cols, (i, k) => finite(values[i * cols + k])) : pairDistances(cols, rows, (i, k) => finite(values[k * cols + i]));
  return seriateDistances(which === 'rows' ? rows : cols, distances);
}

#!/usr/bin/env python3
"""Independent NumPy/SciPy reference for CNNSlicer's estimators (Shen & Shen, sections 4.4.1,
4.4.2, 5.2 and 5.3.1).

Written from the paper, not from the TypeScript engine, so that a cross-check between the two
tests the engine against the paper and not against itself. It is also the baseline of
`npm run bench`. Run it with Debian's /usr/bin/python3 (python3-numpy, python3-scipy).

Usage (each command prints one JSON object on stdout; .npy inputs as written by bench/npy.ts):

  estimators_ref.py knn --points X.npy --k K [--method numpy|ckdtree] [--precision float64|float32]
                        [--out PREFIX]
      Exact k nearest neighbours of every row of X (n x d) among the other rows, Euclidean.
      --method numpy (default): chunked brute force, D^2 = |q|^2 - 2 q.x + |x|^2 with a BLAS GEMM
        in --precision (float64 default: exact to ~1e-13 relative to the norms; float32: the same
        arithmetic class as the engine's GEMM, for a like-for-like benchmark), then argpartition;
        selected pairs where that formula may cancel badly are recomputed: with float32, when
        they are many in their rows (in thousands of dimensions, nearly every pair), first by a
        float64 GEMM of those rows; then those where even float64 may (near and exact
        duplicates) from coordinate differences, so duplicates are at exactly 0.
      --method ckdtree: scipy.spatial.cKDTree, distances from coordinate differences in float64
        (an exact method with no cancellation at all; slow in hundreds of dimensions).
      Rows: self excluded by index, ascending by (distance, index).
      --out PREFIX writes PREFIX.indices.npy (int32, n x k) and PREFIX.distances.npy (float64).

  estimators_ref.py inter --points X.npy --k K [knn options] [--sigma-rtol R]
  estimators_ref.py inter --knn-indices I.npy --knn-distances D.npy [--sigma-rtol R]
      Inter-sample entropy (section 4.4.1) -> {"entropy": bits, "unsolved": m, "sigma": {...}}.
      P(j|i) = exp(-d_ij / sigma_i) over i's k nearest neighbours (0 for any other j), sigma_i
      solved with scipy.optimize.brentq so that sum_j P(j|i) = log2 k (Eq. 5) to relative
      tolerance R on sigma (default 1e-6). When z >= log2 k neighbours are at distance 0 Eq. 5
      has no root (the sum never falls below z); those rows take the sigma -> 0 limit, P = 1 for
      the zero distances and 0 for the rest, and count in "unsolved".
      P_ij = (P(j|i) + P(i|j)) / 2N on the union of the k-NN edges (Eq. 6, sparse: P(i|j) = 0 when
      i is not among j's neighbours), normalised to sum 1, H = -sum P log2 P (Eq. 7).
      The second form takes a k-NN graph (e.g. the engine's) and checks only the estimator.

  estimators_ref.py intra --maps M.npy [--bins 32] [--normalization map|channel|layer] [--out E.npy]
                          [--summary]
      Intra-sample entropy (section 4.4.2) of each feature map. M is (n, C, *spatial) or (m, S);
      the trailing dimensions of one map are flattened. Values are binned into B equal bins over
      [lo, hi] (the map's own min/max with `map`, the default; over every map of the channel, or
      of the whole array, otherwise), the last bin closed; entropy in bits of the histogram;
      a constant map has entropy 0; NaN/inf values are left out, a map with none left is null.
      Bins are exact for float32 input: the bin of v is the largest j with
      j * (hi - lo) <= (v - lo) * B, evaluated where both products are exact in float64, so a value
      on a bin edge always goes to the upper bin whatever the rounding of (v - lo) * B / (hi - lo).
      -> {"mean": mean over defined maps, "count": m, "entropies": [[...]] unless --summary}.

  estimators_ref.py capacity --a A.npy --b B.npy [--bins 16] [--range channel|layer] [--out C.npy]
                             [--distance-method pdist|gemm]
      Channel capacity (section 5.3.1) between every channel a of A (N, Ca, ...) and b of B
      (N, Cb, ...): per channel, the Euclidean distances between the maps of every pair of the
      N samples (scipy.spatial.distance.pdist, float64; or a float64 BLAS Gram product with
      --distance-method gemm, faster, same results to ~1e-12), binned into B equal bins over
      [0, max] (max of that channel, or of the layer with --range layer); capacity
      = H(A) + H(B) - H(A, B) in bits from the 2-D histogram (np.bincount of a*B + b).
      -> {"capacity": Cb x Ca (row b, column a, as the engine's heatmap), "hA": [...], "hB": [...]}.

  estimators_ref.py labels --confusion C.npy
      Label entropies (section 5.2) of a classes x classes confusion matrix, row = true label,
      column = prediction: "label_given_prediction"[i] = H(x.label | y = i) (column i) and
      "prediction_given_label"[i] = H(y | x.label = i) (row i), in bits; null where the
      column/row is empty (the paper's infinity: undefined, not 0).

  estimators_ref.py info
      Only the environment: numpy/scipy versions and the BLAS library and kernel in use.

Every result also has "timings" (seconds per stage and "total", wall clock), "peak_rss_bytes"
(resource.getrusage ru_maxrss of this process), "blas" and "versions".
"""

import argparse
import ctypes
import json
import math
import os
import resource
import sys
import time

import numpy as np
import scipy
from scipy import optimize, sparse
from scipy.spatial import cKDTree
from scipy.spatial.distance import pdist

# Bound on the float block of one GEMM chunk in the numpy k-NN; the argpartition's int64 indices
# take as much again. Large enough that BLAS runs at full speed, small enough for N = 20,000.
KNN_BLOCK_BYTES = 256 * 1024 * 1024


# ---------------------------------------------------------------------------------------------
# Environment


def blas_info():
    """The BLAS numpy calls: threadpoolctl when installed, else OpenBLAS' own entry points."""
    info = {"env": {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS") if k in os.environ}}
    try:
        from threadpoolctl import threadpool_info  # type: ignore

        info["threadpoolctl"] = [
            {k: v for k, v in lib.items() if k in ("internal_api", "version", "architecture", "num_threads", "threading_layer", "filepath")}
            for lib in threadpool_info()
        ]
        return info
    except ImportError:
        pass
    libs = set()
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                path = line.split()[-1] if "/" in line else ""
                base = os.path.basename(path).lower()
                if base.startswith("lib") and "blas" in base:
                    libs.add(os.path.realpath(path))
    except OSError:
        pass
    info["libraries"] = sorted(libs)
    for path in sorted(libs):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name, field in (("openblas_get_config", "config"), ("openblas_get_corename", "kernel")):
            fn = getattr(lib, name, None)
            if fn is not None:
                fn.restype = ctypes.c_char_p
                info[field] = fn().decode()
        fn = getattr(lib, "openblas_get_num_threads", None)
        if fn is not None:
            fn.restype = ctypes.c_int
            info["num_threads"] = fn()
    return info


def environment():
    return {
        "versions": {"python": sys.version.split()[0], "numpy": np.__version__, "scipy": scipy.__version__},
        "blas": blas_info(),
    }


def peak_rss_bytes():
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class Timer:
    def __init__(self):
        self.start = time.perf_counter()
        self.last = self.start
        self.stages = {}

    def stage(self, name):
        now = time.perf_counter()
        self.stages[name] = self.stages.get(name, 0.0) + (now - self.last)
        self.last = now

    def result(self):
        out = dict(self.stages)
        out["total"] = time.perf_counter() - self.start
        return out


# ---------------------------------------------------------------------------------------------
# k nearest neighbours


def sort_rows(dist, idx):
    """Each row ascending by (distance, index)."""
    order = np.lexsort((idx, dist), axis=1)
    return np.take_along_axis(dist, order, 1), np.take_along_axis(idx, order, 1)


def knn_numpy(points, k, precision="float64", block_bytes=KNN_BLOCK_BYTES):
    """Chunked brute force by a GEMM; see the module docstring.

    |q|^2 - 2 q.x + |x|^2 loses precision where D^2 is small against the norms: its rounding error
    is bounded by about d * u * (|q|^2 + |x|^2) (u the unit roundoff of the GEMM's dtype), so
    exact duplicates come out as tiny non-zero distances, which matters to Eq. 5 (a row with
    log2 k zero distances has no sigma). So the points are centred first (smaller norms), and
    every selected pair whose bound exceeds 2^-10 of its D^2 is recomputed. With a float32 GEMM,
    when such pairs are many in their rows, they are first taken from a float64 GEMM of those
    rows: in many dimensions the float32 bound fails for nearly every pair (at d = 32,768 it is
    2e-3 of the norms), and recomputing them all from coordinate differences would take minutes.
    Any pair whose float64 bound still fails (near and exact duplicates) is recomputed from
    coordinate differences, a bounded number at a time, so duplicates are at exactly 0.
    """
    n, d = points.shape
    dtype = np.float64 if precision == "float64" else np.float32
    x64 = np.asarray(points, dtype=np.float64)
    c64 = np.ascontiguousarray(x64 - x64.mean(axis=0))
    sq64 = np.einsum("ij,ij->i", c64, c64)
    if dtype is np.float64:
        a, sq = c64, sq64
    else:
        a = c64.astype(np.float32)
        sq = np.einsum("ij,ij->i", a, a, dtype=np.float64)
    sq_row = sq.astype(dtype)[None, :]

    def bound(t):
        return (d + 4) * np.finfo(t).eps / 2

    rows = max(1, min(n, block_bytes // (a.itemsize * n)))
    pairs_per_chunk = max(1, block_bytes // (16 * d))
    dist = np.empty((n, k), dtype=np.float64)
    idx = np.empty((n, k), dtype=np.int64)
    for r0 in range(0, n, rows):
        r1 = min(n, r0 + rows)
        # |x|^2 - 2 q.x per row: |q|^2 is constant along a row, so it is added after selection.
        block = a[r0:r1] @ a.T
        block *= -2
        block += sq_row
        block[np.arange(r1 - r0), np.arange(r0, r1)] = np.inf
        part = np.argpartition(block, k - 1, axis=1)[:, :k]
        d2 = np.take_along_axis(block, part, 1).astype(np.float64) + sq[r0:r1, None]
        suspect = bound(dtype) * (sq[r0:r1, None] + sq[part]) > 2.0**-10 * d2
        sel = np.nonzero(suspect.any(axis=1))[0]
        # With float32, when the suspects are more than an eighth of their rows' n columns (in
        # thousands of dimensions: all of them), one float64 GEMM of those rows costs less than
        # coordinate differences for each pair; otherwise (MNIST: 3,344 pairs in 1,025 of 20,000
        # rows) not.
        if dtype is np.float32 and 8 * np.count_nonzero(suspect) > sel.size * n:
            cols = part[sel]
            g = c64[r0 + sel] @ c64.T
            d2_64 = sq64[r0 + sel, None] + sq64[cols] - 2 * np.take_along_axis(g, cols, 1)
            d2[sel] = np.where(suspect[sel], d2_64, d2[sel])
            suspect[sel] &= bound(np.float64) * (sq64[r0 + sel, None] + sq64[cols]) > 2.0**-10 * d2_64
        ii, jj = np.nonzero(suspect)
        for s in range(0, ii.size, pairs_per_chunk):
            pi, pj = ii[s : s + pairs_per_chunk], jj[s : s + pairs_per_chunk]
            diff = x64[r0 + pi] - x64[part[pi, pj]]
            d2[pi, pj] = np.einsum("ij,ij->i", diff, diff)
        np.maximum(d2, 0, out=d2)
        dist[r0:r1] = np.sqrt(d2)
        idx[r0:r1] = part
    return sort_rows(dist, idx)


def knn_ckdtree(points, k):
    n = points.shape[0]
    x = np.ascontiguousarray(points, dtype=np.float64)
    dist, idx = cKDTree(x).query(x, k=k + 1, workers=-1)
    # Drop the query itself, wherever it is; when more than k points coincide with it, it may be
    # missing, and the farthest of the k + 1 goes instead.
    is_self = idx == np.arange(n)[:, None]
    no_self = ~is_self.any(axis=1)
    drop = is_self.copy()
    drop[no_self, -1] = True
    keep = ~drop
    return sort_rows(dist[keep].reshape(n, k), idx[keep].reshape(n, k))


# ---------------------------------------------------------------------------------------------
# Inter-sample entropy (Eq. 4-7)


def solve_sigma(d, target, rtol):
    """sigma with sum(exp(-d / sigma)) = target, or 0.0 for the sigma -> 0 limit (no root)."""
    zeros = np.count_nonzero(d == 0)
    if zeros >= target:
        return 0.0

    def f(s):
        return np.exp(-d / s).sum() - target

    positive = d[d > 0]
    lo = positive.min()
    hi = positive.max()
    # The sum rises from `zeros` (< target) at sigma -> 0 to k (> target) at sigma -> inf.
    while f(lo) >= 0:
        lo /= 2
    while f(hi) <= 0:
        hi *= 2
    return optimize.brentq(f, lo, hi, rtol=rtol, xtol=np.finfo(float).tiny, maxiter=500)


def inter_sample_entropy(dist, idx, rtol, timer):
    n, k = dist.shape
    target = math.log2(k)
    sigmas = np.empty(n)
    weights = np.empty((n, k))
    for i in range(n):
        s = solve_sigma(dist[i], target, rtol)
        sigmas[i] = s
        weights[i] = np.exp(-dist[i] / s) if s > 0 else (dist[i] == 0).astype(np.float64)
    timer.stage("sigma")
    rows = np.repeat(np.arange(n), k)
    cond = sparse.csr_matrix((weights.ravel(), (rows, idx.ravel())), shape=(n, n))
    joint = (cond + cond.T) / (2 * n)
    p = joint.data[joint.data > 0]
    p = p / p.sum()
    entropy = float(-(p * np.log2(p)).sum())
    timer.stage("entropy")
    solved = sigmas[sigmas > 0]
    return {
        "entropy": entropy,
        "n": n,
        "k": k,
        "unsolved": int(n - solved.size),
        "sigma": {
            "min": float(solved.min()) if solved.size else None,
            "median": float(np.median(solved)) if solved.size else None,
            "max": float(solved.max()) if solved.size else None,
        },
        "edges": int(p.size),
    }


# ---------------------------------------------------------------------------------------------
# Histogram entropies


def exact_bins(values, lo, hi, bins):
    """Bin j = the largest j with j * (hi - lo) <= (v - lo) * bins, clamped to [0, bins - 1].

    For float32 values, lo and hi, (v - lo) * bins and j * (hi - lo) are exact in float64, so the
    correction below makes the result exact; the plain floor of (v - lo) * bins / (hi - lo) can
    put a value lying exactly on an edge one bin too low.
    """
    width = np.asarray(hi, dtype=np.float64) - np.asarray(lo, dtype=np.float64)
    t = (values.astype(np.float64) - lo) * bins
    safe = np.where(width > 0, width, 1.0)
    j = np.floor(t / safe)
    j -= j * safe > t
    j += (j + 1) * safe <= t
    j = np.where(width > 0, j, 0)
    return np.clip(j, 0, bins - 1).astype(np.int64)


def entropy_bits(counts, axis=-1):
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum(axis=axis, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = counts / total
        terms = np.where(counts > 0, -p * np.log2(np.where(counts > 0, p, 1.0)), 0.0)
    h = terms.sum(axis=axis)
    return np.where(total.squeeze(axis) > 0, np.maximum(h, 0.0), np.nan)


def intra_sample_entropies(maps, bins, normalization, chunk_values=1 << 20):
    if maps.ndim >= 3:
        lead = maps.shape[:2]
    elif maps.ndim == 2:
        lead = maps.shape[:1]
    else:
        raise SystemExit("intra: maps must be (n, C, ...) or (m, S)")
    flat = maps.reshape(int(np.prod(lead)), -1).astype(np.float32, copy=False)
    count, size = flat.shape
    big = np.float32(np.inf)
    if normalization != "map":
        finite = np.isfinite(flat)
        lo = np.where(finite, flat, big).min(axis=1)
        hi = np.where(finite, flat, -big).max(axis=1)
        channels = lead[1] if len(lead) == 2 else 1
        lo_c = lo.reshape(-1, channels).min(axis=0)
        hi_c = hi.reshape(-1, channels).max(axis=0)
        if normalization == "layer":
            lo_c[:] = lo_c.min()
            hi_c[:] = hi_c.max()
        lo_all = np.tile(lo_c, count // channels)
        hi_all = np.tile(hi_c, count // channels)
    entropies = np.empty(count)
    # In chunks of about a million values, so the temporaries stay in cache and are reused.
    step = max(1, chunk_values // size)
    for m0 in range(0, count, step):
        block = flat[m0 : m0 + step]
        finite = np.isfinite(block)
        if normalization == "map":
            lo = np.where(finite, block, big).min(axis=1)
            hi = np.where(finite, block, -big).max(axis=1)
        else:
            lo = lo_all[m0 : m0 + step]
            hi = hi_all[m0 : m0 + step]
        lo64 = np.where(np.isfinite(lo), lo, 0).astype(np.float64)[:, None]
        hi64 = np.where(np.isfinite(hi), hi, 0).astype(np.float64)[:, None]
        codes = exact_bins(np.where(finite, block, 0), lo64, hi64, bins)
        # One bincount over (map, bin) pairs: a histogram per map without a Python loop.
        codes += (np.arange(block.shape[0], dtype=np.int64) * bins)[:, None]
        counts = np.bincount(codes[finite], minlength=block.shape[0] * bins).reshape(-1, bins)
        entropies[m0 : m0 + step] = entropy_bits(counts)
    return entropies.reshape(lead)


def pair_distances(layer, method="pdist"):
    """(N, C, ...) -> (C, N(N-1)/2) Euclidean distances per channel, pairs (0,1), (0,2), ...

    pdist computes each distance from coordinate differences (no cancellation, one thread);
    gemm uses |a|^2 + |b|^2 - 2 a.b with a float64 BLAS product per channel (multi-threaded,
    relative error ~1e-13 of the norms), for a faster baseline.
    """
    n, c = layer.shape[:2]
    flat = layer.reshape(n, c, -1).astype(np.float64)
    if method == "pdist":
        return np.stack([pdist(flat[:, ch, :]) for ch in range(c)])
    upper = np.triu_indices(n, 1)
    out = np.empty((c, n * (n - 1) // 2))
    for ch in range(c):
        x = flat[:, ch, :]
        x = x - x.mean(axis=0)
        sq = np.einsum("ij,ij->i", x, x)
        d2 = sq[:, None] + sq[None, :] - 2 * (x @ x.T)
        out[ch] = np.sqrt(np.maximum(d2[upper], 0))
    return out


def code_channels(dist, bins, value_range):
    upper = dist.max(axis=1)
    if value_range == "layer":
        upper[:] = upper.max()
    scale = np.where(upper > 0, bins / np.where(upper > 0, upper, 1.0), 0.0)
    codes = np.clip(np.floor(dist * scale[:, None]), 0, bins - 1).astype(np.int64)
    counts = np.stack([np.bincount(row, minlength=bins) for row in codes])
    return codes, entropy_bits(counts)


def capacity_matrix(a, b, bins, value_range, distance_method, timer):
    da = pair_distances(a, distance_method)
    db = da if b is a else pair_distances(b, distance_method)
    timer.stage("distances")
    ca, ha = code_channels(da, bins, value_range)
    cb, hb = (ca, ha) if b is a else code_channels(db, bins, value_range)
    timer.stage("binning")
    channels_a = ca.shape[0]
    cells = bins * bins
    # Joint cell of (a, pair) offset by a * cells: one bincount gives every 2-D histogram of a row.
    base = ca * bins + (np.arange(channels_a, dtype=np.int64) * cells)[:, None]
    out = np.empty((cb.shape[0], channels_a))
    for j in range(cb.shape[0]):
        counts = np.bincount((base + cb[j][None, :]).ravel(), minlength=channels_a * cells).reshape(channels_a, cells)
        hab = entropy_bits(counts)
        out[j] = np.clip(ha + hb[j] - hab, 0.0, np.minimum(ha, hb[j]))
    timer.stage("mutual_information")
    return out, ha, hb


def label_entropies(confusion):
    confusion = np.asarray(confusion, dtype=np.float64)
    return {
        "label_given_prediction": [None if math.isnan(h) else float(h) for h in entropy_bits(confusion, axis=0)],
        "prediction_given_label": [None if math.isnan(h) else float(h) for h in entropy_bits(confusion, axis=1)],
    }


# ---------------------------------------------------------------------------------------------
# CLI


def nan_to_none(values):
    if isinstance(values, list):
        return [nan_to_none(v) for v in values]
    return None if isinstance(values, float) and math.isnan(values) else values


def run_knn(args, timer):
    points = np.load(args.points)
    if points.ndim != 2:
        raise SystemExit(f"{args.points}: points must be n x d, got shape {points.shape}")
    timer.stage("load")
    if not 1 <= args.k <= points.shape[0] - 1:
        raise SystemExit(f"k = {args.k} but there are {points.shape[0] - 1} other points")
    if args.method == "ckdtree":
        dist, idx = knn_ckdtree(points, args.k)
    else:
        dist, idx = knn_numpy(points, args.k, args.precision)
    timer.stage("knn")
    return dist, idx


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def knn_options(p):
        p.add_argument("--points")
        p.add_argument("--k", type=int)
        p.add_argument("--method", choices=("numpy", "ckdtree"), default="numpy")
        p.add_argument("--precision", choices=("float64", "float32"), default="float64")

    p = sub.add_parser("knn")
    knn_options(p)
    p.add_argument("--out")
    p = sub.add_parser("inter")
    knn_options(p)
    p.add_argument("--knn-indices")
    p.add_argument("--knn-distances")
    p.add_argument("--sigma-rtol", type=float, default=1e-6)
    p = sub.add_parser("intra")
    p.add_argument("--maps", required=True)
    p.add_argument("--bins", type=int, default=32)
    p.add_argument("--normalization", choices=("map", "channel", "layer"), default="map")
    p.add_argument("--out")
    p.add_argument("--summary", action="store_true")
    p = sub.add_parser("capacity")
    p.add_argument("--a", required=True)
    p.add_argument("--b", required=True)
    p.add_argument("--bins", type=int, default=16)
    p.add_argument("--range", choices=("channel", "layer"), default="channel", dest="value_range")
    p.add_argument("--distance-method", choices=("pdist", "gemm"), default="pdist")
    p.add_argument("--out")
    p = sub.add_parser("labels")
    p.add_argument("--confusion", required=True)
    sub.add_parser("info")
    args = parser.parse_args(argv)

    timer = Timer()
    result = {"command": args.command}
    if args.command == "knn":
        if args.points is None or args.k is None:
            raise SystemExit("knn needs --points and --k")
        dist, idx = run_knn(args, timer)
        result.update({"n": int(dist.shape[0]), "k": int(dist.shape[1]), "method": args.method, "precision": args.precision})
        if args.out:
            np.save(args.out + ".indices.npy", idx.astype(np.int32))
            np.save(args.out + ".distances.npy", dist)
            timer.stage("save")
    elif args.command == "inter":
        if args.knn_indices and args.knn_distances:
            idx = np.load(args.knn_indices).astype(np.int64)
            dist = np.load(args.knn_distances).astype(np.float64)
            if idx.shape != dist.shape or idx.ndim != 2:
                raise SystemExit(f"k-NN graph: indices {idx.shape} and distances {dist.shape} must both be n x k")
            timer.stage("load")
            result["method"] = "given"
        elif args.points is not None and args.k is not None:
            dist, idx = run_knn(args, timer)
            result.update({"method": args.method, "precision": args.precision})
        else:
            raise SystemExit("inter needs --points and --k, or --knn-indices and --knn-distances")
        result.update(inter_sample_entropy(dist, idx, args.sigma_rtol, timer))
    elif args.command == "intra":
        maps = np.load(args.maps)
        timer.stage("load")
        entropies = intra_sample_entropies(maps, args.bins, args.normalization)
        timer.stage("entropy")
        defined = entropies[~np.isnan(entropies)]
        result.update({"count": int(entropies.size), "values": int(maps.size), "mean": float(defined.mean()) if defined.size else None})
        if args.out:
            np.save(args.out, entropies)
        if not args.summary:
            result["entropies"] = nan_to_none(entropies.tolist())
    elif args.command == "capacity":
        a = np.load(args.a)
        b = a if os.path.realpath(args.b) == os.path.realpath(args.a) else np.load(args.b)
        if a.ndim < 3 or b.ndim < 3 or a.shape[0] != b.shape[0]:
            raise SystemExit(f"capacity: A {a.shape} and B {b.shape} must be (N, C, ...) with the same N")
        timer.stage("load")
        cap, ha, hb = capacity_matrix(a, b, args.bins, args.value_range, args.distance_method, timer)
        if args.out:
            np.save(args.out, cap)
        result.update({"capacity": cap.tolist(), "hA": ha.tolist(), "hB": hb.tolist(), "pairs": int(a.shape[0] * (a.shape[0] - 1) // 2)})
    elif args.command == "labels":
        confusion = np.load(args.confusion)
        if confusion.ndim != 2 or confusion.shape[0] != confusion.shape[1]:
            raise SystemExit(f"labels: the confusion matrix must be square, got {confusion.shape}")
        result.update(label_entropies(confusion))
        timer.stage("entropy")
    result["timings"] = timer.result()
    result["peak_rss_bytes"] = peak_rss_bytes()
    result.update(environment())
    json.dump(result, sys.stdout, allow_nan=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

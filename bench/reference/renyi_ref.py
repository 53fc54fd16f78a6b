#!/usr/bin/env python3
"""Independent NumPy/SciPy reference for CNNSlicer's matrix-based Renyi entropy (Sanchez Giraldo,
Rao & Principe 2015; Yu et al. 2020), written from the formulas in docs/estimators.md and not from
the TypeScript engine (src/engine/estimators/renyiEntropy.ts), so that the cross-check
(test/python/renyiCrossCheck.test.ts) tests the engine against the formulas. It is also the
baseline of the eigenvalue benchmark (bench/renyiEigen.ts, `npm run bench -- e`). Run it with
Debian's /usr/bin/python3 (python3-numpy, python3-scipy).

For a representation of n samples (the rows of X, each flattened):
  K_ij = exp(-|x_i - x_j|^2 / (2 sigma^2))   (sigma = 0: K_ij = [x_i == x_j]); labels: K_ij = [y_i == y_j]
  A = K / tr(K);  S_alpha(A) = log2(sum_i lambda_i^alpha) / (1 - alpha) bits, -sum lambda log2 lambda at alpha = 1
  joint: S_alpha(A o B / tr(A o B));  I_alpha(A; B) = S_alpha(A) + S_alpha(B) - S_alpha(A, B)
Eigenvalues by LAPACK (numpy.linalg.eigvalsh); those at or below n * eps * lambda_max count as 0
(rounding of a positive semi-definite matrix's zero eigenvalues). sigma rules:
  median     the median of the pairwise Euclidean distances (scipy.spatial.distance.pdist)
  silverman  s * (4 / ((d + 2) n))^(1 / (d + 4)), s^2 the mean over the d dimensions of the
             unbiased per-dimension variance (numpy.var, ddof=1)
  <number>   that sigma

Usage (each command prints one JSON object on stdout; .npy inputs as written by bench/npy.ts):

  renyi_ref.py entropy (--points X.npy | --labels L.npy) [--sigma median|silverman|S] [--alpha A]...
      -> {"sigma": s, "entropy": [S_alpha for each --alpha], "alpha": [...]}
  renyi_ref.py information --a X.npy (--b Y.npy | --b-labels L.npy) [--sigma ...] [--alpha A]...
      -> {"sigma_a", "sigma_b", "entropy_a": [...], "entropy_b": [...], "joint": [...], "information": [...]}
  renyi_ref.py eigvalsh --matrix M.npy [--repeats R] [--out E.npy]
      Times numpy.linalg.eigvalsh (LAPACK syevd without vectors) on M, R times (default 5)
      -> {"seconds": [...], "blas": ..., "versions": ...}; --out writes the eigenvalues (float64).
"""

import argparse
import json
import sys
import time

import numpy as np
from scipy.spatial.distance import pdist, squareform

from estimators_ref import environment


def flat(x):
    x = np.asarray(x, dtype=np.float64)
    return x.reshape(x.shape[0], -1)


def sigma_of(x, rule):
    n, d = x.shape
    if rule == "median":
        return float(np.median(pdist(x))) if n > 1 else 0.0
    if rule == "silverman":
        if n < 2:
            return 0.0
        s = np.sqrt(np.mean(np.var(x, axis=0, ddof=1)))
        return float(s * (4.0 / ((d + 2) * n)) ** (1.0 / (d + 4)))
    return float(rule)


def gaussian_gram(x, sigma):
    d2 = squareform(pdist(x, "sqeuclidean"))
    if sigma == 0:
        return (d2 == 0).astype(np.float64)
    return np.exp(-d2 / (2.0 * sigma * sigma))


def label_gram(labels):
    y = np.asarray(labels).reshape(-1)
    return (y[:, None] == y[None, :]).astype(np.float64)


def normalised(k):
    return k / np.trace(k)


def entropy(a, alpha):
    lam = np.linalg.eigvalsh(a)
    lam = lam[lam > len(lam) * np.finfo(np.float64).eps * max(lam.max(), 0.0)]
    if alpha == 1:
        return float(-np.sum(lam * np.log2(lam)))
    return float(np.log2(np.sum(lam**alpha)) / (1.0 - alpha))


def representation(points=None, labels=None, rule="median"):
    if labels is not None:
        return normalised(label_gram(np.load(labels))), None
    x = flat(np.load(points))
    sigma = sigma_of(x, rule)
    return normalised(gaussian_gram(x, sigma)), sigma


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    e = sub.add_parser("entropy")
    e.add_argument("--points")
    e.add_argument("--labels")
    e.add_argument("--sigma", default="median")
    e.add_argument("--alpha", type=float, action="append")
    i = sub.add_parser("information")
    i.add_argument("--a", required=True)
    i.add_argument("--b")
    i.add_argument("--b-labels")
    i.add_argument("--sigma", default="median")
    i.add_argument("--alpha", type=float, action="append")
    g = sub.add_parser("eigvalsh")
    g.add_argument("--matrix", required=True)
    g.add_argument("--repeats", type=int, default=5)
    g.add_argument("--out")
    args = parser.parse_args()

    if args.command == "entropy":
        alphas = args.alpha or [1.01]
        a, sigma = representation(args.points, args.labels, args.sigma)
        out = {"sigma": sigma, "alpha": alphas, "entropy": [entropy(a, al) for al in alphas]}
    elif args.command == "information":
        alphas = args.alpha or [1.01]
        a, sigma_a = representation(args.a, None, args.sigma)
        b, sigma_b = representation(args.b, args.b_labels, args.sigma)
        joint = normalised(a * b)
        ea = [entropy(a, al) for al in alphas]
        eb = [entropy(b, al) for al in alphas]
        ej = [entropy(joint, al) for al in alphas]
        out = {
            "sigma_a": sigma_a,
            "sigma_b": sigma_b,
            "alpha": alphas,
            "entropy_a": ea,
            "entropy_b": eb,
            "joint": ej,
            "information": [x + y - z for x, y, z in zip(ea, eb, ej)],
        }
    else:
        m = np.ascontiguousarray(np.load(args.matrix), dtype=np.float64)
        np.linalg.eigvalsh(m[:8, :8])  # loads LAPACK before the timing
        seconds = []
        lam = None
        for _ in range(args.repeats):
            start = time.perf_counter()
            lam = np.linalg.eigvalsh(m)
            seconds.append(time.perf_counter() - start)
        if args.out:
            np.save(args.out, lam)
        out = {"n": int(m.shape[0]), "seconds": seconds, **environment()}
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

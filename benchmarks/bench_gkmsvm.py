"""Benchmark the gkm-SVM baseline (basset.gkmsvm over gkmsvm-lite): fit and scoring time against the number of
training sequences, power laws fitted to both, and their extrapolation to the paper's scale.

For each size n (``--sizes``, default 100 200 400 800) a balanced sample of n sequences (``--length`` 600 bp)
is fitted with l=10, k=6, d=3, C=1 (LS-GKM's estimated-truncated kernel, -t 2) and scores ``--test`` (500)
test sequences. Sequences: random with GATAAG planted twice (either strand, random positions) in the positives,
or, with ``--dataset``, a basset HDF5 dataset: the train split of one target (``--target``, name or column;
default the column with most positives), balanced with ``basset.gkmsvm.balanced_subsample``, and ``--test``
random rows of the test split.

Reference in the same process: gkmsvm-lite's Gram matrix alone (``gkmsvm.gram.compute_gram``) on the same n
sequences, i.e. the kernel part of the fit ("fit/gram" near 1: the SVM solver costs nothing beside the
kernel); and the cost per window comparison (a kernel value compares every l-mer window of one sequence with
every window of the other on both strands: ``2 (L - l + 1)^2`` comparisons).

Extrapolation: ``time = c n^a`` fitted by least squares on log-log to the fit times and to the scoring time
per test sequence, then evaluated at the paper's 100,000 training sequences per cell type, 71,886 test
sequences and 50 cell types. The Gram matrix of 100,000 sequences (80 GB) does not fit in this machine's
memory, where gkmsvm-lite falls back to a column-cached SMO solver that recomputes kernel columns: the
extrapolated fit is a lower bound. The first (warm-up) call loads numba's compiled kernels from the disk cache
or, in a fresh environment, compiles them.

    python benchmarks/bench_gkmsvm.py [--sizes 100 200 400 800] [--test 500] [--length 600] [--threads N]
                                      [--dataset data.h5 --target NAME] [--no-reference]
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np

from basset.gkmsvm import (
    balanced_subsample,
    fit_gkmsvm,
    numba_threads,
    score_gkmsvm,
    to_gkmsvm_onehot,
)
from basset.metrics import auroc
from basset.sequence import encode, reverse_complement

PAPER_TRAIN = 100_000
PAPER_TEST = 71_886
PAPER_CELLS = 50
MOTIF = encode("GATAAG")
PARAMS = dict(l=10, k=6, d=3, C=1.0)


def synthetic(n_pos: int, n_neg: int, length: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """Random codes, GATAAG planted twice in each of the first ``n_pos`` rows; labels 1 then 0."""
    codes = rng.integers(0, 4, (n_pos + n_neg, length), dtype=np.uint8)
    for row in codes[:n_pos]:
        for _ in range(2):
            at = rng.integers(0, length - MOTIF.size + 1)
            row[at : at + MOTIF.size] = MOTIF if rng.random() < 0.5 else reverse_complement(MOTIF)
    return codes, np.r_[np.ones(n_pos, np.uint8), np.zeros(n_neg, np.uint8)]


class Source:
    """Balanced training samples of n sequences and a test set, synthetic or from a dataset."""

    def __init__(self, args):
        self.seed = args.seed
        self.length = args.length
        self.dataset = None
        rng = np.random.default_rng([args.seed, 0])
        if args.dataset is None:
            half = args.test // 2
            self.test_codes, self.test_labels = synthetic(half, args.test - half, args.length, rng)
            self.what = f"synthetic {args.length} bp, GATAAG x2 in positives"
            return
        from basset.dataset import Dataset

        self.dataset = Dataset(args.dataset)
        if args.target is None:
            col = int(np.argmax(self.dataset.targets("train").sum(axis=0)))
        elif args.target.isdigit():
            col = int(args.target)
        else:
            col = self.dataset.columns([args.target])[0]
        self.col = col
        self.train_labels = self.dataset.targets("train", columns=[col])[:, 0]
        n_test = self.dataset.n_sites["test"]
        rows = np.sort(rng.choice(n_test, size=min(args.test, n_test), replace=False))
        self.test_codes = self.dataset.codes("test", rows)
        self.test_labels = self.dataset.targets("test", columns=[col], rows=rows)[:, 0]
        self.length = self.test_codes.shape[1]
        self.what = (f"{args.dataset}: target {self.dataset.target_names[col]} (column {col}), "
                     f"{int(self.train_labels.sum())} of {self.train_labels.size} training rows positive")

    def train(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng([self.seed, 1, n])
        if self.dataset is None:
            return synthetic(n // 2, n - n // 2, self.length, rng)
        rows = balanced_subsample(self.train_labels, n, rng)
        return self.dataset.codes("train", rows), self.train_labels[rows]


def power_law(n, t) -> tuple[float, float]:
    """``(a, c)`` of ``t = c n^a`` by least squares on logs."""
    a, logc = np.polyfit(np.log(n), np.log(t), 1)
    return float(a), float(np.exp(logc))


def human(seconds: float) -> str:
    for unit, size in (("years", 365.25 * 86400), ("days", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.1f} s"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 200, 400, 800])
    ap.add_argument("--test", type=int, default=500, help="test sequences scored at each size")
    ap.add_argument("--length", type=int, default=600, help="sequence length (synthetic data)")
    ap.add_argument("--dataset", default=None, help="a basset HDF5 dataset instead of synthetic sequences")
    ap.add_argument("--target", default=None, help="target name or column of --dataset")
    ap.add_argument("--threads", type=int, default=None, help="numba threads (default: one per core)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-reference", action="store_true", help="skip the Gram-only reference timing")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    import numba
    from gkmsvm.gram import compute_gram
    from gkmsvm.svm import KERNEL_BUILDERS

    src = Source(args)
    W = src.length - PARAMS["l"] + 1
    comparisons = 2 * W * W  # window comparisons per kernel value
    print(f"gkm-SVM l={PARAMS['l']} k={PARAMS['k']} d={PARAMS['d']} C={PARAMS['C']}: {src.what}; "
          f"{src.test_codes.shape[0]} test sequences of {src.length} bp")
    load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    warm_codes, warm_y = synthetic(4, 4, 40, np.random.default_rng(0))
    score_gkmsvm(fit_gkmsvm(warm_codes, warm_y, **PARAMS, n_threads=args.threads), warm_codes)
    warm_s = time.perf_counter() - t0
    with numba_threads(args.threads):
        threads = numba.get_num_threads()
    print(f"numba threads {threads} ({numba.threading_layer()} layer), {os.cpu_count()} CPUs, "
          f"load average before {load_before:.2f}")
    print(f"warm-up (numba kernels from the disk cache, or compiled): {warm_s:.2f} s")
    kernel = KERNEL_BUILDERS["gkm_esttrunc"]({"L": PARAMS["l"], "k": PARAMS["k"], "d": PARAMS["d"]})

    print(f"{'n train':>7s} {'SVs':>5s} {'fit s':>8s} {'gram s':>8s} {'fit/gram':>8s} {'ns/cmp fit':>10s} "
          f"{'score s':>8s} {'ms/test seq':>11s} {'ns/cmp score':>12s} {'AUROC':>6s}")
    rows = []
    for n in args.sizes:
        codes, y = src.train(n)
        t0 = time.perf_counter()
        model = fit_gkmsvm(codes, y, **PARAMS, n_threads=args.threads)
        fit_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        scores = score_gkmsvm(model, src.test_codes, n_threads=args.threads)
        score_s = time.perf_counter() - t0
        gram_s = np.nan
        if not args.no_reference:
            x = to_gkmsvm_onehot(codes)
            with numba_threads(args.threads):
                t0 = time.perf_counter()
                compute_gram(kernel, x)
                gram_s = time.perf_counter() - t0
        sv = int(model.num_support_vectors)
        m = src.test_codes.shape[0]
        auc = auroc(src.test_labels, scores)[0]
        rows.append((n, fit_s, score_s / m))
        print(f"{n:7d} {sv:5d} {fit_s:8.2f} {gram_s:8.2f} {fit_s / gram_s:8.2f} "
              f"{fit_s / (n * n * comparisons) * 1e9:10.3f} {score_s:8.2f} {score_s / m * 1e3:11.2f} "
              f"{score_s / (m * sv * comparisons) * 1e9:12.3f} {auc:6.3f}", flush=True)

    n = np.array([r[0] for r in rows], float)
    fit_t = np.array([r[1] for r in rows])
    per_test = np.array([r[2] for r in rows])
    a_fit, c_fit = power_law(n, fit_t)
    a_score, c_score = power_law(n, per_test)
    fit_paper = c_fit * PAPER_TRAIN ** a_fit
    score_paper = c_score * PAPER_TRAIN ** a_score * PAPER_TEST
    print(f"power laws: fit time ~ n^{a_fit:.2f}, scoring time per test sequence ~ n^{a_score:.2f}")
    print(f"paper scale ({PAPER_TRAIN:,} training sequences per cell type, Gram matrix "
          f"{8 * PAPER_TRAIN ** 2 / 1e9:.0f} GB; {PAPER_TEST:,} test sequences; {PAPER_CELLS} cell types), "
          f"{threads} threads:")
    print(f"  fit   per cell type {human(fit_paper):>12s}   all cell types {human(fit_paper * PAPER_CELLS):>12s}")
    print(f"  score per cell type {human(score_paper):>12s}   all cell types "
          f"{human(score_paper * PAPER_CELLS):>12s}")
    print(f"load average after {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

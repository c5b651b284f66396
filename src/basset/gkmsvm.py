"""Gapped k-mer SVM (gkm-SVM) baseline: the method Basset was compared with (Kelley et al. 2016, AUROC 0.780
for gkm-SVM against 0.895 for Basset over the cell types).

The paper's protocol, per cell type (target): take a random subsample of the training sequences in which the
inactive sequences are down-sampled to balance the classes (:func:`balanced_subsample`), fit a gkm-SVM on it
(:func:`fit_gkmsvm`), score the test sequences (:func:`score_gkmsvm`) and report the test AUROC.
:func:`gkmsvm_baseline` does all of that for chosen targets. Engine only: arrays in, arrays out.

The SVM itself is the PyPI package ``gkmsvm-lite`` (module ``gkmsvm``; numba on the CPU, optional CuPy on an
NVIDIA GPU with ``pip install gkmsvm-lite[gpu]``): a maintained, MIT-licensed reimplementation of LS-GKM
(Lee 2016) with the same kernels (``kernel_type`` "estimated" is LS-GKM's default ``-t 2``, the truncated
estimated l-mer kernel; parameters l = word length, k = informative positions, d = maximum mismatches) and
models that load into and out of LS-GKM's text format. We do not write SVMs ourselves; this module only
converts our arrays, samples, times and scores. The package is imported inside the functions, not with this
module: importing it pins numba's threading layer to ``workqueue`` (when numba has not started threads yet).

Input conversion. Our ``(n, L) uint8`` codes (A, C, G, T, N = 0..4) become the package's ``(n, 4, L)``
one-hot (channels A, C, G, T). An N becomes an A, as LS-GKM does (it reads every letter other than ACGT as
A, with a warning; so an N is A on the given strand and T on the reverse strand). The package's own
convention for N, an all-zero column, is not strand-consistent: its kernel takes the argmax of the column, so
an N counts as A on both strands (the complement of a zero column is zero). gkm-SVM scores are the same for a
sequence and its reverse complement (the kernel counts both strands).

Costs (gkmsvm-lite 0.1.0 compares every l-mer window of one sequence with every window of the other, both
strands, by brute force, where LS-GKM walks a k-mer tree; ``benchmarks/bench_gkmsvm.py`` measures them): one
kernel value costs ``2 (L - l + 1)^2`` window comparisons, 0.47 ns each on one core of this project's CPU
(numba threads scale it: 0.235 ns on 2 cores), i.e. 0.33 core-ms for two 600 bp sequences. Fitting on n
sequences computes the n x n Gram matrix (all n^2 values up to n = 1,000, about half of them above; ``8 n^2``
bytes, so beyond about 45,000 sequences on a 24 GB machine the package falls back to a column-cached SMO solver
that recomputes columns), then LIBSVM's solver (scikit-learn, one thread, negligible beside the kernel).
Scoring m sequences costs m x (support vectors, close to n) kernel values. Measured on 2 cores with 600 bp:
fit 1.7 s / 6.5 s / 26 s for n = 100 / 200 / 400 (time ~ n^2), scoring 33 ms per test sequence per 200
support vectors (~ n). The paper's scale (100,000 training sequences per cell type, 71,886 test sequences, 50
cell types) extrapolates to about 16 days of fitting and 12 days of scoring per cell type on 2 cores, years
for all 50; so use ``max_train`` of a few thousand and ``max_test`` (with n = 2,000: about 10 minutes of
fitting and 0.3 s per test sequence). The numba kernels compile on the first call in a fresh environment
(about 2 s; cached on disk afterwards, then the first call costs about 0.3 s).
"""

from __future__ import annotations

import contextlib
import logging
import time

import numpy as np

from .logs import progress_bar
from .metrics import auroc

log = logging.getLogger("basset.gkmsvm")

#: LS-GKM's kernel types that the ``kernel_type`` argument accepts (gkmsvm-lite's aliases); d applies to the
#: estimated kernels only (the direct gapped k-mer count uses every window pair with at least k matches).
KERNEL_TYPES = ("estimated", "estimated_full", "direct", "rbf", "weighted", "weighted_rbf")

#: code -> one-hot channel for gkmsvm-lite: N (4) becomes A (0), as LS-GKM reads it
_CHANNEL = np.array([0, 1, 2, 3, 0], dtype=np.intp)
#: rows of the one-hot of each code, ``(5, 4)``: N is the A row
_ONE_HOT_ROWS = np.eye(4, dtype=np.float32)[_CHANNEL]

# kernel values per scoring batch (batch rows x support vectors): bounds the (rows, S) float64 arrays
_SCORE_ENTRIES = 1 << 24


def _check_codes(codes, name: str = "codes") -> np.ndarray:
    codes = np.asarray(codes)
    if codes.ndim != 2:
        raise ValueError(f"{name} must be (n, L) uint8 codes, got shape {codes.shape}")
    if codes.size and (codes.dtype.kind not in "ui" or codes.min() < 0 or codes.max() > 4):
        raise ValueError(f"{name} must hold codes 0..4 (A, C, G, T, N)")
    return codes


def _check_labels(labels, n: int | None = None, name: str = "labels") -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"{name} must be (n,) 0/1, got shape {labels.shape}")
    if n is not None and labels.shape[0] != n:
        raise ValueError(f"{name} has {labels.shape[0]} rows, the sequences {n}")
    if labels.dtype == bool:
        return labels
    if not np.isin(labels, (0, 1)).all():
        raise ValueError(f"{name} must be 0/1")
    return labels.astype(bool)


def to_gkmsvm_onehot(codes, dtype=np.float32) -> np.ndarray:
    """``(n, L)`` uint8 codes -> gkmsvm-lite's ``(n, 4, L)`` one-hot (channels A, C, G, T); an N becomes an A,
    as in LS-GKM (see the module docstring). ``float32`` as the package's own encoder; its scores come out in
    the input's dtype."""
    codes = _check_codes(codes)
    rows = _ONE_HOT_ROWS.astype(dtype, copy=False)
    return np.ascontiguousarray(np.swapaxes(rows[codes], -1, -2))


@contextlib.contextmanager
def numba_threads(n_threads: int | None):
    """Run the block with numba's thread count set to ``n_threads`` (None: leave it; numba's default is one
    thread per core). gkmsvm-lite's kernels are numba ``prange`` loops; the SVM solver is single-threaded."""
    if n_threads is None:
        yield
        return
    import numba

    old = numba.get_num_threads()
    numba.set_num_threads(max(1, min(int(n_threads), numba.config.NUMBA_NUM_THREADS)))
    try:
        yield
    finally:
        numba.set_num_threads(old)


def balanced_subsample(labels, max_train: int | None, rng=None) -> np.ndarray:
    """Rows of a balanced training sample for one target, sorted ``(2 m,) int64``.

    ``m = min(positives, negatives, max_train // 2)`` rows are drawn at random, without replacement, from each
    class: with the usual surplus of inactive sequences that is every positive (up to ``max_train / 2``) and as
    many negatives (the paper down-sampled the inactive sequences to balance each cell type); with more
    positives than negatives the positives are down-sampled instead. ``max_train`` None: no cap. ``rng``: a
    numpy Generator or a seed (the same seed gives the same rows). A target with fewer than one row of either
    class, or ``max_train`` below 2, raises ValueError (a caller looping over targets can catch it and skip).
    """
    y = _check_labels(labels)
    if max_train is not None and max_train < 2:
        raise ValueError(f"max_train must be at least 2 (one sequence of each class), got {max_train}")
    pos = np.flatnonzero(y)
    neg = np.flatnonzero(~y)
    m = min(pos.size, neg.size)
    if max_train is not None:
        m = min(m, int(max_train) // 2)
    if m == 0:
        raise ValueError(f"cannot balance a target with {pos.size} positive and {neg.size} negative sequences")
    rng = np.random.default_rng(rng)
    rows = np.concatenate([rng.choice(pos, size=m, replace=False), rng.choice(neg, size=m, replace=False)])
    return np.sort(rows).astype(np.int64)


def fit_gkmsvm(codes, labels, l: int = 10, k: int = 6, d: int = 3, C: float = 1.0, *,
               kernel_type: str | int = "estimated", solver: str = "auto", device: str = "cpu",
               n_threads: int | None = None, **options):
    """Fit a gkm-SVM classifier (gkmsvm-lite's ``train_gkmsvm``) on ``codes (n, L) uint8`` and ``labels (n,)``
    0/1; returns the package's ``GkmSVM`` (``model.num_support_vectors``; ``model.save(path)`` writes npz or
    LS-GKM text).

    ``l``, ``k``, ``d``, ``C``: word length, informative positions, maximum mismatches (estimated kernels
    only), SVM cost. ``kernel_type``: one of :data:`KERNEL_TYPES` or LS-GKM's ``-t`` integer. ``solver``:
    "auto" (the precomputed Gram matrix with LIBSVM when it fits in memory, else a column-cached SMO),
    "libsvm", "smo" or "nystrom" (approximate). ``device``: "cpu", or "cuda" with CuPy installed. ``options``:
    other keywords of ``train_gkmsvm`` (``include_rc``, ``tol``, ``max_gram_gb``...). Both classes must be
    present (ValueError). N is read as A (module docstring).
    """
    from gkmsvm import train_gkmsvm

    codes = _check_codes(codes)
    y = _check_labels(labels, codes.shape[0])
    if y.all() or not y.any():
        raise ValueError(f"fit_gkmsvm needs both classes, got {int(y.sum())} positive of {y.size} sequences")
    if codes.shape[1] < l:
        raise ValueError(f"sequences of {codes.shape[1]} bp are shorter than the word length l={l}")
    x = to_gkmsvm_onehot(codes)
    with numba_threads(n_threads):
        return train_gkmsvm(x[y], x[~y], kernel_type=kernel_type, l=l, k=k, d=d, C=C, solver=solver,
                            device=device, **options)


def score_gkmsvm(model, codes, *, batch_size: int | None = None, n_threads: int | None = None) -> np.ndarray:
    """SVM decision values ``(m,) float64`` of ``codes (m, L) uint8`` (higher: more likely active; uncalibrated).

    Scored in batches of rows so that the ``(rows, support vectors)`` kernel block stays near 2^24 values
    (``batch_size`` overrides). Deterministic: each kernel value is summed by one thread in a fixed order.
    """
    codes = _check_codes(codes)
    out = np.empty(codes.shape[0], dtype=np.float64)
    if batch_size is None:
        batch_size = max(16, _SCORE_ENTRIES // max(1, int(model.num_support_vectors)))
    with numba_threads(n_threads):
        for lo in range(0, codes.shape[0], batch_size):
            scores = model(to_gkmsvm_onehot(codes[lo : lo + batch_size]))
            out[lo : lo + batch_size] = np.asarray(scores, dtype=np.float64).reshape(-1)
    return out


def fit_and_score(train_codes, train_labels, test_codes, test_labels, *, l: int = 10, k: int = 6, d: int = 3,
                  C: float = 1.0, kernel_type: str | int = "estimated", solver: str = "auto", device: str = "cpu",
                  n_threads: int | None = None) -> dict:
    """One cell type: :func:`fit_gkmsvm` on ``train_codes`` and 0/1 ``train_labels`` (already sampled, e.g. by
    :func:`balanced_subsample`), then :func:`score_gkmsvm` of ``test_codes``. Returns ``scores (m,) float64``,
    ``auroc`` (:func:`basset.metrics.auroc` against ``test_labels``; NaN with one class), ``n_train_pos``,
    ``n_train_neg``, ``n_support``, ``fit_seconds`` and ``score_seconds``."""
    y_fit = _check_labels(train_labels, name="train_labels")
    t0 = time.perf_counter()
    model = fit_gkmsvm(train_codes, y_fit, l=l, k=k, d=d, C=C, kernel_type=kernel_type, solver=solver,
                       device=device, n_threads=n_threads)
    t1 = time.perf_counter()
    scores = score_gkmsvm(model, test_codes, n_threads=n_threads)
    t2 = time.perf_counter()
    return {"scores": scores, "auroc": float(auroc(np.asarray(test_labels), scores)[0]),
            "n_train_pos": int(y_fit.sum()), "n_train_neg": int(y_fit.size - y_fit.sum()),
            "n_support": int(model.num_support_vectors), "fit_seconds": t1 - t0, "score_seconds": t2 - t1}


def gkmsvm_baseline(train_codes, train_targets, test_codes, test_targets, targets=None, *,
                    max_train: int | None = 2000, max_test: int | None = None, seed: int = 1,
                    l: int = 10, k: int = 6, d: int = 3, C: float = 1.0, kernel_type: str | int = "estimated",
                    solver: str = "auto", device: str = "cpu", n_threads: int | None = None,
                    progress: bool = False) -> dict:
    """The paper's gkm-SVM baseline for the target columns ``targets`` (None: all), one SVM per target.

    ``train_codes (n, L)``, ``train_targets (n, T)`` 0/1; ``test_codes (m, L)``, ``test_targets (m, T)``.
    Each target is fitted (:func:`fit_and_score`) on :func:`balanced_subsample` of the training rows (at most
    ``max_train``; the rows are drawn from ``(seed, target)``, so a target's result does not depend on the other
    targets chosen) and scores the test rows (:func:`test_subsample`): all of them, or ``max_test`` rows drawn
    once from ``seed`` and shared by all targets.

    Returns a dict of arrays aligned with ``targets`` (``T'`` entries): ``targets (T',) int64``, ``test_rows
    (m',) int64``, ``scores (m', T') float64``, ``auroc (T',)`` (:func:`basset.metrics.auroc` on the test rows;
    NaN when the test rows have one class), ``n_train_pos``, ``n_train_neg``, ``n_support (T',) int64``,
    ``fit_seconds``, ``score_seconds (T',) float64``, and ``skipped``: ``{target: reason}`` for targets whose
    training rows lack a class (their scores and AUROC are NaN, counts 0).
    """
    train_codes = _check_codes(train_codes, "train_codes")
    test_codes = _check_codes(test_codes, "test_codes")
    train_targets = np.asarray(train_targets)
    test_targets = np.asarray(test_targets)
    if train_targets.ndim != 2 or train_targets.shape[0] != train_codes.shape[0]:
        raise ValueError(f"train_targets {train_targets.shape} do not match train_codes {train_codes.shape}")
    if test_targets.ndim != 2 or test_targets.shape[0] != test_codes.shape[0]:
        raise ValueError(f"test_targets {test_targets.shape} do not match test_codes {test_codes.shape}")
    if train_targets.shape[1] != test_targets.shape[1]:
        raise ValueError(f"train ({train_targets.shape[1]}) and test ({test_targets.shape[1]}) targets differ")
    n_targets = train_targets.shape[1]
    cols = np.arange(n_targets) if targets is None else np.asarray(targets, dtype=np.int64).reshape(-1)
    if cols.size and (cols.min() < 0 or cols.max() >= n_targets):
        raise ValueError(f"target columns {cols.tolist()} out of range for {n_targets} targets")

    test_rows = test_subsample(test_codes.shape[0], max_test, seed)
    x_test = test_codes[test_rows]

    t = cols.size
    res = {
        "targets": cols, "test_rows": test_rows,
        "scores": np.full((test_rows.size, t), np.nan), "auroc": np.full(t, np.nan),
        "n_train_pos": np.zeros(t, np.int64), "n_train_neg": np.zeros(t, np.int64),
        "n_support": np.zeros(t, np.int64),
        "fit_seconds": np.zeros(t), "score_seconds": np.zeros(t), "skipped": {},
    }
    bar = progress_bar(t, progress, desc="gkm-SVM", unit="target")
    try:
        for j, col in enumerate(cols.tolist()):
            y = train_targets[:, col]
            try:
                rows = balanced_subsample(y, max_train, np.random.default_rng([seed, 1, col]))
            except ValueError as err:
                res["skipped"][col] = str(err)
                log.warning("target %d skipped: %s", col, err)
                bar.update(1)
                continue
            one = fit_and_score(train_codes[rows], y[rows], x_test, test_targets[test_rows, col], l=l, k=k, d=d,
                                C=C, kernel_type=kernel_type, solver=solver, device=device, n_threads=n_threads)
            res["scores"][:, j] = one.pop("scores")
            for key, value in one.items():
                res[key][j] = value
            log.info("target %d: %d+%d training sequences, %d support vectors, fit %.1f s, %d test sequences "
                     "scored in %.1f s, AUROC %.3f", col, res["n_train_pos"][j], res["n_train_neg"][j],
                     res["n_support"][j], one["fit_seconds"], test_rows.size, one["score_seconds"], res["auroc"][j])
            bar.update(1)
    finally:
        bar.close()
    return res


def test_subsample(n: int, max_test: int | None, seed: int) -> np.ndarray:
    """The test rows every cell type is scored on: all ``n``, or ``max_test`` of them drawn from ``seed`` (the
    same for every cell type, so that their scores and the CNN's are compared on the same sites), sorted."""
    rows = np.arange(n, dtype=np.int64)
    if max_test is not None and max_test < n:
        rows = np.sort(np.random.default_rng([seed, 0]).choice(rows, size=int(max_test), replace=False))
    return rows


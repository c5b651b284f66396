"""Per-target classification metrics, vectorised over targets, and a streamed Pearson r for coverage tracks.

``y`` is ``(N, T)`` 0/1 and ``p`` ``(N, T)`` scores; every function returns ``(T,)`` float64 with NaN for a
target that has no positive or no negative among the N sites. The values equal scikit-learn's
``roc_auc_score`` and ``average_precision_score`` column by column (ties included); the tests check it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import rankdata


def _as_2d(y, p) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y)
    p = np.asarray(p, dtype=np.float64)
    if y.ndim == 1:
        y, p = y[:, None], p[:, None]
    if y.shape != p.shape:
        raise ValueError(f"targets {y.shape} and predictions {p.shape} differ in shape")
    return y.astype(bool), p


def auroc(y, p) -> np.ndarray:
    """Area under the ROC curve per target (Mann-Whitney U from mid-ranks)."""
    y, p = _as_2d(y, p)
    n_pos = y.sum(axis=0)
    n_neg = y.shape[0] - n_pos
    ranks = rankdata(p, axis=0)  # average ranks for ties
    u = (ranks * y).sum(axis=0) - n_pos * (n_pos + 1) / 2.0
    with np.errstate(invalid="ignore", divide="ignore"):
        out = u / (n_pos * n_neg)
    out[(n_pos == 0) | (n_neg == 0)] = np.nan
    return out


def auprc(y, p) -> np.ndarray:
    """Average precision per target: sum over distinct thresholds of (R_n - R_{n-1}) P_n (as scikit-learn).

    A target with a NaN score is NaN, as in :func:`auroc` (scikit-learn refuses NaN scores).
    """
    y, p = _as_2d(y, p)
    n, t = y.shape
    order = np.argsort(-p, axis=0, kind="stable")
    ps = np.take_along_axis(p, order, axis=0)
    ys = np.take_along_axis(y, order, axis=0)
    tp = np.cumsum(ys, axis=0, dtype=np.float64)
    # evaluate only at the last row of each run of tied scores (a threshold)
    last = np.ones((n, t), dtype=bool)
    last[:-1] = ps[1:] != ps[:-1]
    n_pos = tp[-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = tp / np.arange(1, n + 1)[:, None]
        recall = tp / n_pos
    out = np.empty(t)
    for j in range(t):
        r = recall[last[:, j], j]
        out[j] = np.sum(np.diff(np.concatenate([[0.0], r])) * precision[last[:, j], j])
    out[(n_pos == 0) | (n_pos == n) | np.isnan(p).any(axis=0)] = np.nan
    return out


def roc_curve(y, p) -> tuple[np.ndarray, np.ndarray]:
    """False- and true-positive rates of one target at every distinct threshold, from (0, 0) to (1, 1).

    NaN scores raise ValueError (as scikit-learn): where NaN rows fall among the thresholds is arbitrary.
    """
    y = np.asarray(y).astype(bool).ravel()
    p = np.asarray(p, dtype=np.float64).ravel()
    if np.isnan(p).any():
        raise ValueError("NaN scores have no ROC curve")
    order = np.argsort(-p, kind="stable")
    ps, ys = p[order], y[order]
    last = np.append(ps[1:] != ps[:-1], True)
    tp = np.cumsum(ys)[last]
    fp = np.cumsum(~ys)[last]
    return (np.concatenate([[0.0], fp / max(fp[-1], 1)]), np.concatenate([[0.0], tp / max(tp[-1], 1)]))


#: Site classes by position relative to genes (promoter: within PROMOTER_DISTANCE of a TSS; intragenic; intergenic)
SITE_CLASSES = ("promoter", "intragenic", "intergenic")


def auroc_by_class(y, p, classes, target_names) -> pd.DataFrame:
    """AUROC of each target within each site class: long DataFrame ``class, target, auroc, n_sites, n_pos``.

    Rows come class by class in :data:`SITE_CLASSES` order (classes without sites are left out); a target
    with one class of labels among a class's sites has AUROC NaN.
    """
    y = np.asarray(y)
    p = np.asarray(p)
    classes = np.asarray(classes, dtype=object)
    if classes.shape[0] != y.shape[0]:
        raise ValueError(f"{classes.shape[0]} site classes for {y.shape[0]} sites")
    frames = []
    for c in SITE_CLASSES:  # a loop over three classes, vectorised over sites and targets
        mask = classes == c
        if not mask.any():
            continue
        frames.append(pd.DataFrame({"class": c, "target": list(target_names), "auroc": auroc(y[mask], p[mask]),
                                    "n_sites": int(mask.sum()),
                                    "n_pos": y[mask].astype(bool).sum(axis=0).astype(np.int64)}))
    if not frames:
        return pd.DataFrame({"class": [], "target": [], "auroc": [], "n_sites": [], "n_pos": []})
    df = pd.concat(frames, ignore_index=True)
    return df


def quantile_targets(aurocs, quantiles=(0.05, 0.33, 0.50, 0.67, 0.95)) -> np.ndarray:
    """Index of the target whose AUROC is nearest to each quantile of the AUROC distribution, ``(Q,) int``.

    NaN AUROCs are ignored; ties go to the lowest index.
    """
    a = np.asarray(aurocs, dtype=np.float64)
    ok = np.flatnonzero(np.isfinite(a))
    if ok.size == 0:
        raise ValueError("no target has a finite AUROC")
    q = np.quantile(a[ok], np.asarray(quantiles, dtype=np.float64))
    return ok[np.argmin(np.abs(a[ok][None, :] - q[:, None]), axis=1)]


def bh_qvalues(p, pi0=1.0) -> np.ndarray:
    """Benjamini-Hochberg q-values along the last axis of ``p`` (``(..., n)``), monotone, capped at 1.

    ``pi0``: the estimated fraction of true nulls, one per row (``(...,)``) or one for all; each FDR is
    multiplied by it before the cap and the step-up minimum, as MEME does (:func:`meme_qvalues`).
    A NaN p-value (a comparison that could not be scored) gets a NaN q-value and is not counted among the tests,
    as R's ``p.adjust`` does; before, one NaN made every q-value of its row NaN."""
    p = np.asarray(p, dtype=np.float64)
    n = np.sum(~np.isnan(p), axis=-1, keepdims=True)  # tests per row
    order = np.argsort(p, axis=-1, kind="stable")  # NaN last
    pi0 = np.asarray(pi0, dtype=np.float64)[..., None]
    ranked = np.take_along_axis(p, order, -1) * n * pi0 / np.arange(1, p.shape[-1] + 1)
    ranked = np.minimum.accumulate(np.where(np.isnan(ranked), np.inf, ranked)[..., ::-1], axis=-1)[..., ::-1]
    q = np.empty_like(p)
    np.put_along_axis(q, order, np.minimum(ranked, 1.0), -1)
    q[np.isnan(p)] = np.nan
    return q


#: MEME's q-value settings (qvalue.h): bootstraps, p-values drawn per bootstrap, lambdas, largest lambda, and
#: the fewest p-values from which pi0 is estimated (below it, pi0 = 1)
MEME_PI0 = {"n_boot": 100, "boot_size": 1000, "n_lambda": 100, "max_lambda": 0.99, "min_samples": 100}


def _pi0_by_lambda(sorted_p: np.ndarray, lambdas: np.ndarray) -> np.ndarray:
    """Storey's pi0(lambda) = #(p >= lambda) / ((1 - lambda) m) along the last axis of sorted p-values; a lambda
    that no p-value reaches gives inf (no estimate), as MEME."""
    m = sorted_p.shape[-1]
    if sorted_p.ndim == 1:
        first = np.searchsorted(sorted_p, lambdas, side="left")
    else:
        first = np.stack([np.searchsorted(row, lambdas, side="left") for row in sorted_p])
    est = (m - first) / ((1.0 - lambdas) * m)
    return np.where(est == 0, np.inf, est)


def storey_pi0(p, rng=None, *, bootstraps=None, n_boot: int = MEME_PI0["n_boot"],
               boot_size: int = MEME_PI0["boot_size"], n_lambda: int = MEME_PI0["n_lambda"],
               max_lambda: float = MEME_PI0["max_lambda"], min_samples: int = MEME_PI0["min_samples"]) -> float:
    """The fraction of true nulls among the p-values ``p`` (1-D; NaNs left out), by Storey's bootstrap method
    as MEME's ``estimate_pi_zero`` (qvalue.c) computes it.

    pi0(lambda) is estimated at ``lambda = max_lambda * k / n_lambda`` (k = 1..n_lambda); the plug-in value is
    the smallest of them; the lambda kept is the one whose estimate, over ``n_boot`` bootstrap samples of
    ``boot_size`` p-values (drawn with ``rng``, or given as ``bootstraps``, ``(n_boot, boot_size)`` p-values),
    has the least squared error against the plug-in; its pi0 on all p-values, clipped to [0, 1], is returned.
    With ``min_samples`` p-values or fewer, 1.0 (MEME: too few to estimate). MEME's own random draws cannot
    be reproduced, so the estimate may differ from the binary's in the last digits of close calls."""
    p = np.asarray(p, dtype=np.float64)
    p = np.sort(p[~np.isnan(p)])
    if p.size <= min_samples:
        return 1.0
    lambdas = np.arange(1, n_lambda + 1) / n_lambda * max_lambda
    pi0 = _pi0_by_lambda(p, lambdas)
    plug_in = pi0.min()
    if not np.isfinite(plug_in):
        return 1.0
    if bootstraps is None:
        rng = np.random.default_rng(0) if rng is None else rng
        bootstraps = rng.choice(p, (n_boot, boot_size), replace=True)
    boot = _pi0_by_lambda(np.sort(np.asarray(bootstraps, dtype=np.float64), axis=-1), lambdas)
    mse = ((boot - plug_in) ** 2).sum(axis=0)
    return float(np.clip(pi0[int(np.argmin(mse))], 0.0, 1.0))  # argmin: the first of tied errors, as MEME


def meme_qvalues(p, seed: int = 0) -> np.ndarray:
    """q-values along the last axis of ``p`` as MEME's ``compute_qvalues`` (Tomtom's): Benjamini-Hochberg times
    each row's :func:`storey_pi0` (bootstraps drawn with ``seed``), capped at 1, monotone. Rows of 100 p-values
    or fewer get pi0 = 1, i.e. plain BH. NaN p-values get NaN q-values and are not counted."""
    p = np.asarray(p, dtype=np.float64)
    if p.ndim == 0:
        raise ValueError("expected p-values along a last axis, got a scalar")
    rows = p.reshape(-1, p.shape[-1])
    pi0 = np.array([storey_pi0(row, np.random.default_rng(seed)) for row in rows]).reshape(p.shape[:-1])
    return bh_qvalues(p, pi0)


class PearsonStream:
    """Pearson r per column of ``(n, T)`` pairs added in blocks, in one pass and ``O(T)`` memory.

    Blocks are merged with Chan, Golub and LeVeque's update of the means and co-moments (no sums of squares
    that cancel). :meth:`r` is ``(T,)`` float64, NaN for a column without variance in ``x`` or ``y``; it equals
    ``scipy.stats.pearsonr`` on all rows at once (the tests check it).
    """

    def __init__(self, n_columns: int):
        self.n = 0
        self.mean_x, self.mean_y = np.zeros(n_columns), np.zeros(n_columns)
        self.cxx, self.cyy, self.cxy = np.zeros(n_columns), np.zeros(n_columns), np.zeros(n_columns)

    def add(self, x, y) -> None:
        """Add rows: ``x``, ``y`` ``(m, T)`` (any float dtype; accumulated in float64)."""
        x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        m = x.shape[0]
        if m == 0:
            return
        bx, by = x.mean(0), y.mean(0)
        dx, dy = x - bx, y - by
        n = self.n + m
        ex, ey = bx - self.mean_x, by - self.mean_y
        w = self.n * m / n
        self.cxx += (dx * dx).sum(0) + ex * ex * w
        self.cyy += (dy * dy).sum(0) + ey * ey * w
        self.cxy += (dx * dy).sum(0) + ex * ey * w
        self.mean_x += ex * m / n
        self.mean_y += ey * m / n
        self.n = n

    def r(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            out = self.cxy / np.sqrt(self.cxx * self.cyy)
        out[(self.cxx <= 0) | (self.cyy <= 0)] = np.nan
        return np.clip(out, -1.0, 1.0)

"""Per-target classification metrics, vectorised over targets.

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


def bh_qvalues(p) -> np.ndarray:
    """Benjamini-Hochberg q-values along the last axis of ``p`` (``(..., n)``), monotone, capped at 1.

    A NaN p-value (a comparison that could not be scored) gets a NaN q-value and is not counted among the tests,
    as R's ``p.adjust`` does; before, one NaN made every q-value of its row NaN."""
    p = np.asarray(p, dtype=np.float64)
    n = np.sum(~np.isnan(p), axis=-1, keepdims=True)  # tests per row
    order = np.argsort(p, axis=-1, kind="stable")  # NaN last
    ranked = np.take_along_axis(p, order, -1) * n / np.arange(1, p.shape[-1] + 1)
    ranked = np.minimum.accumulate(np.where(np.isnan(ranked), np.inf, ranked)[..., ::-1], axis=-1)[..., ::-1]
    q = np.empty_like(p)
    np.put_along_axis(q, order, np.minimum(ranked, 1.0), -1)
    q[np.isnan(p)] = np.nan
    return q

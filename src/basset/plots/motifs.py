"""Figures of the motif stage (the paper's Figure 3, except 3B's logos) with matplotlib's Agg backend.

* :func:`fig3a`: information content of each filter's PWM against its influence, coloured by whether the
  filter matches a database motif (Tomtom).
* :func:`fig3c`: clustered heat map of filter x cell-type influence.
* :func:`fig_insertion`: heat map of the mean change in prediction when a motif is inserted, motif x cell type.

Every figure is written as ``{stem}.png`` and ``{stem}.pdf`` by :func:`basset.plots.save`.
"""

from __future__ import annotations

import logging

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from . import RC, save  # noqa: E402
from .logos import draw_logo  # noqa: E402

log = logging.getLogger("basset.plots.motifs")


def _order(m: np.ndarray) -> np.ndarray:
    """Leaf order of average-linkage clustering of the rows of ``m (n, k)`` (correlation distance, Euclidean
    for constant rows)."""
    from scipy.cluster.hierarchy import leaves_list, linkage
    from scipy.spatial.distance import pdist

    if m.shape[0] < 3:
        return np.arange(m.shape[0])
    metric = "correlation" if np.all(m.std(axis=1) > 0) else "euclidean"
    d = np.nan_to_num(pdist(m, metric=metric), nan=0.0)
    return leaves_list(linkage(d, method="average"))


def fig3a(information, influence, stem, annotated=None, labels=None, n_labels: int = 10,
          ylabel: str = "influence (mean over cell types)", title: str | None = None):
    """Figure 3A: information content ``(F,) bits`` (x) against influence ``(F,)`` (y), one point per filter.

    ``annotated (F,) bool``: filters with a database match (Tomtom) in colour, the others in grey.
    ``labels (F,) str``: names shown for the ``n_labels`` most influential filters (default ``f<index>``).
    Returns the (png, pdf) paths.
    """
    ic = np.asarray(information, dtype=np.float64)
    infl = np.asarray(influence, dtype=np.float64)
    ann = np.zeros(ic.shape, bool) if annotated is None else np.asarray(annotated, dtype=bool)
    labels = [f"f{i}" for i in range(ic.size)] if labels is None else [str(x) for x in labels]
    with plt.rc_context(RC):
        fig, ax = plt.subplots(figsize=(6.0, 4.8))
        ax.scatter(ic[~ann], infl[~ann], s=22, c="#9e9e9e", alpha=0.8, edgecolors="none",
                   label=f"unannotated ({(~ann).sum()})")
        ax.scatter(ic[ann], infl[ann], s=26, c="#b2182b", alpha=0.85, edgecolors="none",
                   label=f"annotated ({ann.sum()})")
        for i in np.argsort(-infl)[:n_labels]:
            ax.annotate(labels[i], (ic[i], infl[i]), fontsize=8, xytext=(3, 2), textcoords="offset points")
        ax.set_xlabel("information content (bits)")
        ax.set_ylabel(ylabel)
        ax.set_title(title or "First-layer filters: information vs influence")
        ax.legend(frameon=False, loc="best")
        ax.spines[["top", "right"]].set_visible(False)
        return save(fig, stem)


def fig3c(delta_pred, target_names, stem, top_k: int | None = 50, filter_labels=None, title: str | None = None,
          colour_label: str = "influence"):
    """Figure 3C: heat map of filter x cell-type influence ``delta_pred (F, T)``, both axes clustered;
    ``colour_label`` names what the values are (the colour bar reads ``log10(1 + colour_label / median)``).

    Only filters with nonzero influence are shown, at most the ``top_k`` with the largest mean influence
    (``None``: all). Colour is ``log10(1 + influence / median)`` of the shown values so that both strong and
    weak filters are visible. Returns the (png, pdf) paths.
    """
    m = np.asarray(delta_pred, dtype=np.float64)
    F, T = m.shape
    labels = np.array([f"f{i}" for i in range(F)] if filter_labels is None else [str(x) for x in filter_labels])
    keep = np.flatnonzero(m.max(axis=1) > 0)
    keep = keep[np.argsort(-m[keep].mean(axis=1), kind="stable")]
    if top_k is not None:
        keep = keep[:top_k]
    sub = m[keep]
    scale = np.median(sub[sub > 0]) if np.any(sub > 0) else 1.0
    shown = np.log10(1.0 + sub / scale)
    rows = keep[_order(shown)] if len(keep) else keep
    cols = _order(shown.T)
    shown = np.log10(1.0 + m[rows][:, cols] / scale)
    with plt.rc_context(RC):
        fig, ax = plt.subplots(figsize=(max(6.0, 0.32 * T + 2.5), max(4.0, 0.16 * len(rows) + 2.0)))
        im = ax.imshow(shown, aspect="auto", interpolation="nearest", cmap="Reds", vmin=0)
        ax.set_xticks(np.arange(T))
        ax.set_xticklabels([str(target_names[j]) for j in cols], rotation=90)
        ax.set_yticks(np.arange(len(rows)))
        ax.set_yticklabels(labels[rows], fontsize=7)
        ax.set_xlabel("cell type (target)")
        ax.set_ylabel(f"filter ({len(rows)} of {F}, clustered)")
        ax.set_title(title or "Filter influence by cell type")
        cbar = fig.colorbar(im, ax=ax, fraction=0.04, pad=0.02)
        cbar.set_label(f"log10(1 + {colour_label} / {scale:.3g})")
        return save(fig, stem)


def fig_insertion(table, stem, cluster: bool = False, title: str | None = None):
    """Heat map of a motif-insertion table (``DataFrame`` motif x target: mean change in probability),
    diverging colours centred at 0; rows and columns in the table's order unless ``cluster``.
    Returns the (png, pdf) paths."""
    m = table.to_numpy(dtype=np.float64)
    rows, cols = np.arange(m.shape[0]), np.arange(m.shape[1])
    if cluster:
        rows, cols = _order(m), _order(m.T)
    m = m[rows][:, cols]
    lim = float(np.abs(m).max()) or 1.0
    with plt.rc_context(RC):
        fig, ax = plt.subplots(figsize=(max(6.0, 0.32 * m.shape[1] + 3.0), max(4.0, 0.3 * m.shape[0] + 2.0)))
        im = ax.imshow(m, aspect="auto", interpolation="nearest", cmap="RdBu_r", vmin=-lim, vmax=lim)
        ax.set_xticks(np.arange(m.shape[1]))
        ax.set_xticklabels([str(table.columns[j]) for j in cols], rotation=90)
        ax.set_yticks(np.arange(m.shape[0]))
        ax.set_yticklabels([str(table.index[i]) for i in rows])
        ax.set_xlabel("cell type (target)")
        ax.set_ylabel("inserted motif")
        ax.set_title(title or "Motif insertion: mean change in predicted accessibility")
        cbar = fig.colorbar(im, ax=ax, fraction=0.04, pad=0.02)
        cbar.set_label("mean Δ probability")
        return save(fig, stem)


def fig3b(filter_pwms: list, match_pwms: list, filter_names: list, match_names: list, stem, ncols: int = 2):
    """Figure 3B: logos of filters (left) beside their best database match (right), one row per pair.

    ``match_pwms[i]`` is already in the filter's orientation (reverse-complemented when Tomtom matched the
    '-' strand). Returns the (png, pdf) paths."""

    n = len(filter_pwms)
    rows = max(1, int(np.ceil(n / ncols)))
    with plt.rc_context(RC):
        fig, axes = plt.subplots(rows, 2 * ncols, figsize=(4.2 * ncols, 1.3 * rows + 0.4), squeeze=False)
        for ax in axes.ravel():
            ax.axis("off")
        for i, (fp, mp, fn, mn) in enumerate(zip(filter_pwms, match_pwms, filter_names, match_names)):
            r, c = divmod(i, ncols)
            for ax, pwm, title in ((axes[r, 2 * c], fp, fn), (axes[r, 2 * c + 1], mp, mn)):
                ax.axis("on")
                draw_logo(ax, pwm)
                ax.set_title(title, fontsize=8)
                ax.set_xticks([])
                ax.set_ylim(0, 2)
                ax.spines[["top", "right"]].set_visible(False)
        fig.suptitle("Filters and their best database match (Tomtom)", fontsize=10)
        fig.tight_layout()
        return save(fig, stem)

"""Figures of the evaluation (the paper's Figure 2) and of transfer learning (Figure 6), matplotlib's Agg backend.

Every figure is written twice by :func:`save`: ``{stem}.png`` (150 dpi) and ``{stem}.pdf``. A ``stem``
given with a ``.png`` or ``.pdf`` suffix has it removed, so a Snakemake output ``fig2a.png`` can be passed
as is.
"""

from __future__ import annotations

import logging
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..fileio import atomic_path  # noqa: E402
from ..metrics import SITE_CLASSES, auroc, quantile_targets, roc_curve  # noqa: E402

log = logging.getLogger("basset.plots")

#: matplotlib rc parameters of every figure (font sizes)
RC = {"font.size": 11, "axes.titlesize": 13, "axes.labelsize": 12, "legend.fontsize": 10,
      "xtick.labelsize": 10, "ytick.labelsize": 10}


def stem_of(path: str | Path) -> Path:
    """``path`` without a ``.png``/``.pdf`` suffix."""
    path = Path(path)
    return path.with_suffix("") if path.suffix.lower() in (".png", ".pdf") else path


def save(fig, stem: str | Path, dpi: int = 150) -> tuple[Path, Path]:
    """Write ``fig`` as ``{stem}.png`` and ``{stem}.pdf`` (folders made as needed), close it, return both paths."""
    stem = stem_of(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    png, pdf = Path(f"{stem}.png"), Path(f"{stem}.pdf")
    with atomic_path(png) as png_tmp, atomic_path(pdf) as pdf_tmp:
        fig.savefig(png_tmp, dpi=dpi, bbox_inches="tight")
        fig.savefig(pdf_tmp, bbox_inches="tight")
    plt.close(fig)
    log.info("wrote %s and %s", png, pdf)
    return png, pdf


def _cluster_order(m: np.ndarray) -> np.ndarray:
    """Leaf order of average-linkage clustering of the rows of a 0/1 matrix (Jaccard distance)."""
    from scipy.cluster.hierarchy import leaves_list, linkage
    from scipy.spatial.distance import pdist

    if m.shape[0] < 3:
        return np.arange(m.shape[0])
    d = np.nan_to_num(pdist(m.astype(bool), metric="jaccard"), nan=0.0)  # two all-zero rows: distance 0
    return leaves_list(linkage(d, method="average"))


def fig2a(targets, target_names, stem, max_sites: int = 2000, seed: int = 1, title: str | None = None):
    """Figure 2A: heat map of sites x targets (0/1), both axes clustered; ``targets (n, T)``.

    Sites are subsampled to ``max_sites`` with ``seed``. Returns the (png, pdf) paths.
    """
    y = np.asarray(targets).astype(np.uint8)
    n, T = y.shape
    if n > max_sites:
        keep = np.sort(np.random.default_rng(seed).choice(n, max_sites, replace=False))
        y = y[keep]
    rows = _cluster_order(y)
    cols = _cluster_order(y.T)
    m = y[rows][:, cols]
    with plt.rc_context(RC):
        fig, ax = plt.subplots(figsize=(max(6.0, 0.32 * T + 2.5), 7.5))
        cmap = matplotlib.colors.ListedColormap(["#f4f4f4", "#b2182b"])
        im = ax.imshow(m, aspect="auto", interpolation="nearest", cmap=cmap, vmin=0, vmax=1)
        ax.set_xticks(np.arange(T))
        ax.set_xticklabels([target_names[j] for j in cols], rotation=90)
        ax.set_yticks([])
        ax.set_xlabel("cell type (target)")
        ax.set_ylabel(f"test sites ({m.shape[0]:,} of {n:,}, clustered)")
        ax.set_title(title or "Accessibility of test sites across cell types")
        cbar = fig.colorbar(im, ax=ax, ticks=[0.25, 0.75], fraction=0.04, pad=0.02)
        cbar.ax.set_yticklabels(["closed", "accessible"])
        fig.tight_layout()
    return save(fig, stem)


def _auroc_square(ax, lo: float, xlabel: str, ylabel: str, title: str) -> None:
    """Square [lo, 1] x [lo, 1] axes of an AUROC-against-AUROC scatter (Figures 2B and 6)."""
    ax.set_xlim(lo, 1)
    ax.set_ylim(lo, 1)
    ax.set_aspect("equal")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)


def fig2b(cnn_auroc, kmer_auroc, target_names, stem, title: str | None = None, gkmsvm=None):
    """Figure 2B: per-target AUROC, CNN (y) against the k-mer baseline (x), with the diagonal; with ``gkmsvm``
    ``(cnn_auroc_on_its_sites (T,), gkmsvm_auroc (T,), n_test_sites)`` (NaN where no gkm-SVM was fitted) also the
    CNN against the paper's gkm-SVM on the test sites the gkm-SVM scored, as triangles."""
    y = np.asarray(cnn_auroc, dtype=np.float64)
    x = np.asarray(kmer_auroc, dtype=np.float64)
    ok = np.isfinite(x) & np.isfinite(y)
    with plt.rc_context(RC):
        fig, ax = plt.subplots(figsize=(6, 6))
        lo = min(0.5, float(np.min(np.r_[x[ok], y[ok]]))) if ok.any() else 0.5
        lo = max(0.0, np.floor(lo * 20) / 20 - 0.02)
        ax.plot([lo, 1], [lo, 1], color="0.5", lw=1, ls="--", zorder=1)
        better = y > x
        ax.scatter(x[ok & better], y[ok & better], s=36, color="#2166ac", edgecolor="white", lw=0.5, zorder=2,
                   label=f"CNN better ({int((ok & better).sum())})")
        ax.scatter(x[ok & ~better], y[ok & ~better], s=36, color="#b2182b", edgecolor="white", lw=0.5, zorder=2,
                   label=f"k-mer better or equal ({int((ok & ~better).sum())})")
        mx = float(np.mean(x[ok])) if ok.any() else float("nan")
        my = float(np.mean(y[ok])) if ok.any() else float("nan")
        ax.plot([mx], [my], marker="*", ms=14, color="black", ls="none", zorder=3,
                label=f"mean: CNN {my:.3f}, k-mer {mx:.3f}")
        if gkmsvm is not None:
            gy, gx = (np.asarray(a, dtype=np.float64) for a in gkmsvm[:2])
            g = np.isfinite(gx) & np.isfinite(gy)
            if g.any():
                lo = min(lo, max(0.0, np.floor(min(gx[g].min(), gy[g].min()) * 20) / 20 - 0.02))
                ax.plot([lo, 1], [lo, 1], color="0.5", lw=1, ls="--", zorder=1)
                ax.scatter(gx[g], gy[g], s=48, marker="^", color="#e08214", edgecolor="black", lw=0.5, zorder=4,
                           label=f"gkm-SVM, {int(g.sum())} cell types on {gkmsvm[2]:,} test sites: "
                                 f"CNN {gy[g].mean():.3f}, gkm-SVM {gx[g].mean():.3f}")
        _auroc_square(ax, lo, "baseline AUROC (k-mer; gkm-SVM: triangles)" if gkmsvm is not None
                      else "k-mer baseline AUROC", "CNN AUROC",
                      title or f"Per-cell-type AUROC ({int(ok.sum())} targets)")
        ax.legend(loc="upper left", frameon=True, framealpha=0.9)  # the corner where CNN >> k-mer: rarely used
        ax.grid(alpha=0.3)
        fig.tight_layout()
    return save(fig, stem)


def fig2c(y, p, target_names, stem, quantiles=(0.05, 0.33, 0.50, 0.67, 0.95), title: str | None = None):
    """Figure 2C: ROC curves of the targets nearest the ``quantiles`` of the per-target AUROC distribution.

    ``y (n, T)`` 0/1, ``p (n, T)`` probabilities. Returns ``(png, pdf, chosen target indices (Q,))``.
    """
    y = np.asarray(y)
    p = np.asarray(p)
    a = auroc(y, p)
    chosen = quantile_targets(a, quantiles)
    colours = plt.get_cmap("viridis")(np.linspace(0.05, 0.9, len(chosen)))
    with plt.rc_context(RC):
        fig, ax = plt.subplots(figsize=(6, 6))
        ax.plot([0, 1], [0, 1], color="0.6", lw=1, ls="--")
        for q, j, c in sorted(zip(quantiles, chosen, colours), key=lambda t: -t[0]):
            fpr, tpr = roc_curve(y[:, j], p[:, j])
            ax.plot(fpr, tpr, color=c, lw=2, label=f"{target_names[j]} (AUROC {a[j]:.3f}, q{q:.2f})")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.01)
        ax.set_aspect("equal")
        ax.set_xlabel("false positive rate")
        ax.set_ylabel("true positive rate")
        ax.set_title(title or "ROC curves at AUROC quantiles")
        ax.legend(loc="lower right", frameon=False)
        fig.tight_layout()
    png, pdf = save(fig, stem)
    return png, pdf, chosen


def fig_classes(by_class, stem, title: str | None = None):
    """AUROC by site class: a box plot per class with the targets as points; ``by_class`` is
    :func:`basset.metrics.auroc_by_class` output (an empty table gives a figure that says so)."""
    with plt.rc_context(RC):
        fig, ax = plt.subplots(figsize=(6, 5))
        present = [c for c in SITE_CLASSES if len(by_class) and (by_class["class"] == c).any()]
        data = [by_class.loc[by_class["class"] == c, "auroc"].dropna().to_numpy() for c in present]
        if not any(d.size for d in data):
            ax.text(0.5, 0.5, "no site classes\n(no gene annotation, or no AUROC)", ha="center", va="center",
                    transform=ax.transAxes)
            ax.set_axis_off()
        else:
            ax.boxplot(data, widths=0.5, showfliers=False, medianprops={"color": "black"})
            rng = np.random.default_rng(0)  # jitter only: fixed so the figure is reproducible
            for i, d in enumerate(data, start=1):
                ax.scatter(i + rng.uniform(-0.15, 0.15, d.size), d, s=18, alpha=0.7, color="#2166ac", zorder=3)
            n_sites = [int(by_class.loc[by_class["class"] == c, "n_sites"].iloc[0]) for c in present]
            ax.set_xticks(np.arange(1, len(present) + 1))
            ax.set_xticklabels([f"{c}\n({n:,} sites)" for c, n in zip(present, n_sites)])
            ax.set_ylabel("AUROC per cell type")
            ax.grid(axis="y", alpha=0.3)
        ax.set_title(title or "CNN AUROC by site class")
        fig.tight_layout()
    return save(fig, stem)


def fig6(table, stem, tolerance: float = 0.03, title: str | None = None):
    """Figure 6: transfer AUROC (y) against the full multi-task model's AUROC (x) per held-out cell, with
    y = x, a +-``tolerance`` band and, when present, the from-scratch AUROC as open markers. Returns the
    (png, pdf) paths (:func:`basset.plots.save`)."""
    x = table["full_auroc"].to_numpy(float)
    y = table["transfer_auroc"].to_numpy(float)
    z = table["scratch_auroc"].to_numpy(float)
    vals = np.r_[x, y, z[np.isfinite(z)]]
    vals = vals[np.isfinite(vals)]
    lo = max(0.0, np.floor((min(vals.min(), 0.9) if vals.size else 0.5) * 20) / 20 - 0.02)
    within = int(table["within"].sum())
    with plt.rc_context(RC):
        fig, ax = plt.subplots(figsize=(6, 6))
        grid = np.array([lo, 1.0])
        ax.fill_between(grid, grid - tolerance, grid + tolerance, color="0.85", zorder=0,
                        label=f"within {tolerance:g} of the full model ({within} of {len(table)})")
        ax.plot(grid, grid, color="0.4", lw=1, ls="--", zorder=1)
        if np.isfinite(z).any():
            ax.scatter(x, z, s=40, facecolor="none", edgecolor="#b2182b", lw=1.2, zorder=2,
                       label=f"from scratch, same passes (mean {np.nanmean(z):.3f})")
            for xi, yi, zi in zip(x, y, z):
                ax.plot([xi, xi], [zi, yi], color="0.7", lw=0.8, zorder=1)
        ax.scatter(x, y, s=44, color="#2166ac", edgecolor="white", lw=0.5, zorder=3,
                   label=f"transfer, one new head (mean {np.nanmean(y):.3f})")
        span = 1.0 - lo
        for j, name in enumerate(table["target"]):  # name on the right unless a point sits just there
            crowded = np.any((x > x[j]) & (x - x[j] < 0.12 * span) & (np.abs(y - y[j]) < 0.03 * span))
            ax.annotate(str(name), (x[j], y[j]), xytext=(-6, -3) if crowded else (6, -3), textcoords="offset points",
                        ha="right" if crowded else "left", fontsize=8, zorder=4)
        _auroc_square(ax, lo, "full multi-task model AUROC", "held-out cell type AUROC",
                      title or f"Transfer to {len(table)} held-out cell types")
        ax.legend(loc="upper left", frameon=True, framealpha=0.9, fontsize=9)
        ax.grid(alpha=0.3)
        fig.tight_layout()
    return save(fig, stem)


def fig_assays(metrics, assays: dict, stem, title: str | None = None):
    """Per-feature test AUROC grouped by assay (DeepSEA's figure): one column of points per assay with its median
    as a bar; ``assays``: target -> assay. Returns the (png, pdf) paths."""
    frame = metrics.assign(assay=metrics["target"].map(lambda t: assays.get(str(t), "dnase")))
    order = list(dict.fromkeys(frame["assay"]))
    with plt.rc_context(RC):
        fig, ax = plt.subplots(figsize=(max(4, 1.6 * len(order) + 2), 4.5))
        rng = np.random.default_rng(0)
        for i, assay in enumerate(order):
            values = frame.loc[frame["assay"] == assay, "auroc"].to_numpy(float)
            values = values[np.isfinite(values)]
            ax.scatter(i + rng.uniform(-0.18, 0.18, values.size), values, s=14, alpha=0.7, color="#2166ac")
            if values.size:
                med = float(np.median(values))
                ax.plot([i - 0.3, i + 0.3], [med, med], color="#b2182b", lw=2)
                ax.annotate(f"median {med:.3f}", (i, med), xytext=(0, 6), textcoords="offset points", ha="center",
                            fontsize=9, color="#b2182b")
        ax.set_xticks(range(len(order)), [f"{a}\n({(frame['assay'] == a).sum()})" for a in order])
        ax.set_ylabel("test AUROC per feature")
        ax.set_title(title or "AUROC by assay", fontsize=12)
        ax.grid(axis="y", alpha=0.3)
        fig.tight_layout()
    return save(fig, stem)

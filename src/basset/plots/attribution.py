"""Figures of the attribution stage (the report's Figure 7): TF-MoDISco patterns as logos (7A), the spacing of a
cooperative pair's seqlets (7B), and attribution tracks of example sites beside the planted instances (7C)."""

from __future__ import annotations

import numpy as np

from . import RC, plt, save
from .logos import draw_logo, letter_paths


def fig_patterns(rows: list[dict], stem, title: str | None = None):
    """One row per pattern: its contribution logo (CWM, letter heights = contribution of the pattern's sign), its
    PFM logo (bits) and a text column; ``rows``: dicts ``cwm (W, 4)``, ``pfm (W, 4)``, ``sign``, ``label`` (the
    text). Returns the (png, pdf) paths."""
    n = max(len(rows), 1)
    letters = letter_paths()
    with plt.rc_context(RC):
        fig, axes = plt.subplots(n, 3, figsize=(14, 0.95 * n + 0.8), squeeze=False,
                                 gridspec_kw={"width_ratios": [3, 3, 4]})
        for k, row_axes in enumerate(axes):
            for ax in row_axes:
                ax.set_xticks([])
                ax.set_yticks([])
                for side in ("top", "right"):
                    ax.spines[side].set_visible(False)
            if k >= len(rows):
                for ax in row_axes:
                    ax.axis("off")
                row_axes[2].text(0, 0.5, "no pattern", fontsize=9, va="center")
                continue
            r = rows[k]
            cwm = np.asarray(r["cwm"], dtype=np.float64) * (1 if r.get("sign", 1) >= 0 else -1)
            draw_logo(row_axes[0], r["pfm"], letters, heights=np.clip(cwm, 0, None))
            draw_logo(row_axes[1], r["pfm"], letters)
            row_axes[2].axis("off")
            row_axes[2].text(0, 0.5, r["label"], fontsize=8, va="center", family="monospace")
            if k == 0:
                row_axes[0].set_title("contribution (CWM)", fontsize=10)
                row_axes[1].set_title("sequence (PFM, bits)", fontsize=10)
        height = 0.95 * n + 0.8
        fig.suptitle(title or "TF-MoDISco patterns", fontsize=12, y=1 - 0.15 / height)
        fig.tight_layout(rect=(0, 0, 1, 1 - 0.4 / height))  # the title above the column headings
    return save(fig, stem, dpi=110)


def fig_spacing(distances: dict, expected: dict, stem, title: str | None = None, max_distance: int = 60,
                composites: dict | None = None):
    """Per pair, a histogram of centre-to-centre distances between the seqlets of two patterns on the same sequence
    (``distances``: pair label -> int array), the distance between the two motifs inside each composite pattern
    (``composites``: pair label -> [(pattern, distance, seqlets)], solid lines) and the planted distance
    (``expected``: pair label -> bp, dashed). Returns the (png, pdf) paths."""
    composites = composites or {}
    labels = list(distances) or ["(no pair)"]
    with plt.rc_context(RC):
        fig, axes = plt.subplots(1, len(labels), figsize=(6 * len(labels), 4), squeeze=False)
        for ax, label in zip(axes[0], labels):
            d = np.asarray(distances.get(label, []), dtype=np.int64)
            ax.hist(d, bins=np.arange(0, max_distance + 2) - 0.5, color="#2166ac")
            for pattern, dist, n in composites.get(label, []):
                if np.isfinite(dist):
                    ax.axvline(dist, color="#1b7837", lw=2,
                               label=f"composite {pattern.split('.')[-1]} ({n} seqlets): {dist:g} bp")
            if label in expected:
                ax.axvline(expected[label], color="#b2182b", ls="--", lw=1.2,
                           label=f"planted: {expected[label]:g} bp")
            if label in expected or composites.get(label):
                ax.legend(loc="upper right", fontsize=8)
            ax.set_xlabel("distance between seqlet centres (bp)")
            ax.set_ylabel("seqlet pairs")
            ax.set_title(f"{label} ({d.size} pairs)" if d.size else f"{label}: no co-occurring seqlets", fontsize=11)
            ax.set_xlim(-0.5, max_distance + 0.5)
            ax.yaxis.get_major_locator().set_params(integer=True)
        fig.suptitle(title or "Spacing of co-occurring seqlets", fontsize=12)
        fig.tight_layout()
    return save(fig, stem)


def fig_tracks(tracks: list[dict], stem, title: str | None = None):
    """Per example site, two tracks of the per-base actual contribution (DeepLIFT/SHAP, gradient x input) with
    the planted motif instances shaded; ``tracks``: dicts ``label``, ``deeplift (L,)``, ``gxi (L,)``, ``mask (L,)
    bool``. Returns the (png, pdf) paths."""
    n = max(len(tracks), 1)
    with plt.rc_context(RC):
        fig, axes = plt.subplots(n, 1, figsize=(12, 1.9 * n + 0.6), squeeze=False)
        for ax, t in zip(axes[:, 0], tracks):
            x = np.arange(len(t["deeplift"]))
            for lo, hi in _runs(np.asarray(t["mask"], dtype=bool)):
                ax.axvspan(lo - 0.5, hi - 0.5, color="#fdd49e", lw=0, zorder=0)
            scale = np.abs(t["gxi"]).max() or 1.0
            ax.plot(x, np.asarray(t["gxi"]) / scale * (np.abs(t["deeplift"]).max() or 1.0), color="0.6", lw=0.7,
                    label="gradient x input (scaled)")
            ax.plot(x, t["deeplift"], color="#2166ac", lw=0.9, label="DeepLIFT/SHAP")
            ax.axhline(0, color="0.3", lw=0.5)
            ax.set_title(t["label"], fontsize=10, loc="left")
            ax.set_xlim(0, len(x))
        if tracks:
            axes[0, 0].legend(loc="upper right", fontsize=8, ncol=2)
            axes[-1, 0].set_xlabel("position in the site (bp); shaded: planted motif instances")
        fig.suptitle(title or "Attribution of example sites", fontsize=12)
        fig.tight_layout()
    return save(fig, stem)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Half-open ``(start, end)`` of each run of True in a 1-D mask."""
    d = np.diff(np.r_[0, mask.astype(np.int8), 0])
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)))

"""Figures of Basenji-style coverage runs: predicted against observed tracks over a test region, the distribution of
per-track Pearson r, the window-size ablation, and a variant's difference track."""

from __future__ import annotations

import numpy as np

from . import RC, matplotlib, plt, save

#: a colour per assay (others grey)
ASSAY_COLOURS = {"dnase": "#2166ac", "cage": "#b2182b", "tf": "#1b7837", "histone": "#762a83"}


def _colour(assay: str) -> str:
    return ASSAY_COLOURS.get(str(assay), "#666666")


def fig_coverage_tracks(region: dict, stem, title: str | None = None):
    """Observed (grey bars) and predicted (line) coverage of a few tracks over one test window, one panel per track,
    as a genome browser shows them. ``region``: ``chrom``, ``start`` (bp of the first bin), ``bin_size``,
    ``names`` (k,), ``assays`` (k,), ``observed`` and ``predicted`` ``(bins, k)``."""
    obs, pred = np.asarray(region["observed"], float), np.asarray(region["predicted"], float)
    bins, k = obs.shape
    x = region["start"] + region["bin_size"] * np.arange(bins)
    with plt.rc_context(RC):
        fig, axes = plt.subplots(k, 1, figsize=(10, 1.5 * k + 1), sharex=True, squeeze=False)
        for j, ax in enumerate(axes[:, 0]):
            ax.bar(x, obs[:, j], width=region["bin_size"], align="edge", color="#bbbbbb", label="observed")
            ax.plot(x + region["bin_size"] / 2, pred[:, j], color=_colour(region["assays"][j]), lw=1.4,
                    label="predicted")
            ax.set_ylabel(region["names"][j], rotation=0, ha="right", va="center")
            ax.spines[["top", "right"]].set_visible(False)
        axes[0, 0].legend(loc="upper right", frameon=False, ncol=2)
        axes[-1, 0].set_xlabel(f"{region['chrom']} (bp), {region['bin_size']} bp bins")
        fig.suptitle(title or "Predicted and observed coverage over a test window")
        fig.tight_layout()
    return save(fig, stem)


def fig_coverage_r(table, stem, title: str | None = None):
    """Per-track Pearson r on the test windows: of log(1 + coverage) over every bin (left, the distribution by
    assay) against r of each window's summed coverage (right). ``table``: ``target``, ``assay``, ``r_log``,
    ``r_sum``."""
    assays = list(dict.fromkeys(table["assay"]))
    with plt.rc_context(RC):
        fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2))
        edges = np.linspace(min(0.0, float(np.nanmin(table["r_log"]))), 1.0, 26)
        for assay in assays:
            rows = table[table["assay"] == assay]
            left.hist(rows["r_log"].dropna(), bins=edges, alpha=0.7, color=_colour(assay),
                      label=f"{assay} ({len(rows)}, mean {rows['r_log'].mean():.3f})")
            right.scatter(rows["r_log"], rows["r_sum"], color=_colour(assay), s=28, label=assay)
        left.set_xlabel("Pearson r of log(1 + coverage), test bins")
        left.set_ylabel("tracks")
        left.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        left.legend(frameon=False)
        right.plot([0, 1], [0, 1], color="#999999", lw=0.8, ls="--")
        right.set_xlabel("r of log coverage (bins)")
        right.set_ylabel("r of summed coverage (windows)")
        for ax in (left, right):
            ax.spines[["top", "right"]].set_visible(False)
        fig.suptitle(title or "Per-track accuracy on the test windows")
        fig.tight_layout()
    return save(fig, stem)


def fig_ablation(table, long_bp: int, short_bp: int, stem, title: str | None = None):
    """Each track's r of log coverage on the same test bins with the long window and with the short one (a line per
    track, coloured by assay). ``table``: ``target``, ``assay``, ``r_long``, ``r_short``."""
    with plt.rc_context(RC):
        fig, ax = plt.subplots(figsize=(5.5, 4.5))
        for _, row in table.iterrows():
            ax.plot([0, 1], [row["r_short"], row["r_long"]], color=_colour(row["assay"]), marker="o", lw=1.2)
        for assay in dict.fromkeys(table["assay"]):
            ax.plot([], [], color=_colour(assay), marker="o", label=assay)
        ax.set_xticks([0, 1])
        ax.set_xticklabels([f"{short_bp:,} bp", f"{long_bp:,} bp"])
        ax.set_xlim(-0.3, 1.3)
        ax.set_xlabel("input window")
        ax.set_ylabel("Pearson r of log(1 + coverage)")
        ax.legend(frameon=False)
        ax.spines[["top", "right"]].set_visible(False)
        fig.suptitle(title or "Window-size ablation on the same test bins")
        fig.tight_layout()
    return save(fig, stem)


def fig_delta_track(track: dict, stem, title: str | None = None):
    """A variant's effect along the window: predicted alt - ref coverage per bin for a few tracks, the variant
    marked. ``track``: ``id``, ``chrom``, ``pos`` (1-based), ``start`` (bp of the first bin), ``bin_size``,
    ``names`` (k,), ``assays`` (k,), ``delta`` ``(bins, k)``, ``reach`` (bp each side a change can act)."""
    delta = np.asarray(track["delta"], float)
    bins, k = delta.shape
    x = track["start"] + track["bin_size"] * np.arange(bins)
    with plt.rc_context(RC):
        fig, axes = plt.subplots(k, 1, figsize=(10, 1.4 * k + 1), sharex=True, squeeze=False)
        for j, ax in enumerate(axes[:, 0]):
            ax.bar(x, delta[:, j], width=track["bin_size"], align="edge", color=_colour(track["assays"][j]))
            ax.axhline(0, color="#999999", lw=0.6)
            ax.axvline(track["pos"] - 1, color="black", lw=0.8, ls=":")
            ax.axvspan(track["pos"] - 1 - track["reach"], track["pos"] - 1 + track["reach"], color="#f0f0f0",
                       zorder=0)
            ax.set_ylabel(track["names"][j], rotation=0, ha="right", va="center")
            ax.spines[["top", "right"]].set_visible(False)
        axes[-1, 0].set_xlabel(f"{track['chrom']} (bp); shaded: the model's reach from the variant")
        fig.suptitle(title or f"{track['id']}: predicted alt - ref coverage along the window")
        fig.tight_layout()
    return save(fig, stem)

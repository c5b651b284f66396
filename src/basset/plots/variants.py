"""Figures of variants (the paper's Figure 5A) with matplotlib's Agg backend.

* :func:`fig5a`: fraction of SNPs with a large SAD for likely-causal (high PICS) and unlikely (low PICS)
  SNPs, with the test's p-value.
* :func:`fig_delta_profile`: one variant's Delta across features, grouped by assay (DeepSEA-style runs).

Figure 5B (mutagenesis maps around a SNP) is :func:`basset.plots.mutagenesis.fig_satmut`. Every figure is
written as ``{stem}.png`` and ``{stem}.pdf`` by :func:`basset.plots.save`.
"""

from __future__ import annotations

import logging

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from . import RC, save  # noqa: E402

log = logging.getLogger("basset.plots.variants")


def _ratio_title(summary: dict, threshold: float) -> str:
    """Figure 5A's first title line: what was measured, the ratio of the fractions above the threshold with its
    bootstrap interval (:func:`basset.pics.fraction_ratio`), in words that follow its direction."""
    ratio = summary.get("ratio", float("nan"))
    lo, hi = summary.get("ratio_ci_low", float("nan")), summary.get("ratio_ci_high", float("nan"))
    if not np.isfinite(ratio) and not (np.isinf(ratio) and ratio > 0):
        return f"no fraction ratio (a group is empty, or no SNP of either is above {threshold})"
    if np.isinf(ratio):
        return f"likely causal SNPs above {threshold}, no unlikely causal one"
    ci = f"95% CI {lo:.2g}-{hi:.2g}" if np.isfinite(lo) else "no CI"
    if ratio >= 1:
        return f"likely causal SNPs {ratio:.2g}x as often above {threshold} as unlikely ({ci})"
    return f"likely causal SNPs above {threshold} less often than unlikely: ratio {ratio:.2g} ({ci})"


def fig5a(summary: dict, stem, threshold: float = 0.1):
    """Figure 5A: fraction of SNPs with a score above ``threshold`` for high- and low-PICS SNPs.

    ``summary`` is :func:`basset.pics.enrichment`'s dict: ``n_high, n_low, frac_high, frac_low``,
    ``score``, ``mannwhitney_p``, ``fisher_p``, ``ratio`` (with its interval; the title's first line) and,
    when present, ``frac_high_any``/``frac_low_any`` (|SAD|
    above the threshold in some cell type), drawn as a second pair of bars.
    """
    names = {"abs_mean": "|mean SAD|", "mean_abs": "mean |SAD|", "max_abs": "max |SAD|"}
    groups = [(names.get(summary.get("score"), "score"), summary["frac_high"], summary["frac_low"])]
    if "frac_high_any" in summary:
        groups.append(("max |SAD|\n(some cell type)", summary["frac_high_any"], summary["frac_low_any"]))
    with plt.rc_context(RC):
        fig, ax = plt.subplots(figsize=(2.4 + 2.2 * len(groups), 4.4))
        x = np.arange(len(groups))
        high = ax.bar(x - 0.2, [g[1] for g in groups], 0.38, color="#b2182b",
                      label=f"PICS ≥ {summary.get('high', 0.5)} (n={summary['n_high']})")
        low = ax.bar(x + 0.2, [g[2] for g in groups], 0.38, color="#999999",
                     label=f"PICS ≤ {summary.get('low', 0.05)} (n={summary['n_low']})")
        ax.bar_label(high, fmt="%.2f")
        ax.bar_label(low, fmt="%.2f")
        ax.set_xticks(x, [g[0] for g in groups])
        ax.set_ylabel(f"fraction of SNPs with score > {threshold}")
        top = max([v for g in groups for v in g[1:] if np.isfinite(v)] + [0.05])
        ax.set_ylim(0, top * 1.35)
        ax.legend(frameon=False, loc="upper left")
        notes = [_ratio_title(summary, threshold)]
        if "mannwhitney_p" in summary:
            notes.append(f"{groups[0][0]}: Mann-Whitney p = {summary['mannwhitney_p']:.2g}")
        if "fisher_p" in summary:
            notes.append(f"fraction > {threshold}: Fisher p = {summary['fisher_p']:.2g}")
        ax.set_title("\n".join(notes), fontsize=10)
        fig.tight_layout()
        return save(fig, stem)


#: colours of DeepSEA's assay groups in :func:`fig_delta_profile` (other assays cycle through the rest)
ASSAY_COLOURS = {"dnase": "#2166ac", "tf": "#b2182b", "histone": "#1b7837"}
_MORE_COLOURS = ("#762a83", "#e08214", "#35978f", "#8c510a")


def fig_delta_profile(profile, stem, bounds, title: str | None = None):
    """The Delta (SAD = p(alt) - p(ref)) of one variant for every feature, grouped by assay (DeepSEA's reading of a
    variant): one bar per feature, coloured by assay, with dashed lines at +-``bounds`` (the weak / moderate /
    strong class bounds, :data:`basset.sadfile.DELTA_BOUNDS`). ``profile``: a frame with columns ``target``,
    ``assay``, ``delta`` in the order to draw. Returns the (png, pdf) paths."""
    assays = list(dict.fromkeys(profile["assay"]))
    extra = iter(_MORE_COLOURS * (len(assays) // len(_MORE_COLOURS) + 1))
    colour = {a: ASSAY_COLOURS.get(a) or next(extra) for a in assays}
    with plt.rc_context(RC):
        fig, ax = plt.subplots(figsize=(max(5.0, 0.28 * len(profile) + 2.5), 4.6))
        x = np.arange(len(profile))
        ax.bar(x, profile["delta"].to_numpy(float), color=[colour[a] for a in profile["assay"]], width=0.8)
        for b in bounds:
            for sign in (1, -1):
                ax.axhline(sign * b, color="#777777", lw=0.8, ls="--")
        ax.axhline(0, color="black", lw=0.8)
        ax.set_xticks(x, profile["target"].astype(str), rotation=90, fontsize=8)
        ax.set_ylabel("Δ = p(alt) − p(ref)")
        handles = [plt.Rectangle((0, 0), 1, 1, color=colour[a]) for a in assays]
        ax.legend(handles, assays, frameon=False, fontsize=9, loc="best")
        top = max(0.6, float(np.nanmax(np.abs(profile["delta"].to_numpy(float)))) * 1.1 if len(profile) else 0.6)
        ax.set_ylim(-top, top)
        ax.set_title(title or "Δ profile across assays", fontsize=11)
        fig.tight_layout()
    return save(fig, stem)

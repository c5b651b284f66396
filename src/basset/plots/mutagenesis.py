"""Figures of in-silico saturation mutagenesis (the paper's Figure 4, and 5B) with matplotlib's Agg backend.

* :func:`fig_satmut` (Figures 4A and 5B): saturation mutagenesis of sequences for one cell type each: the
  sequence as a logo scaled by each position's loss score, a 4 x L heat map of the change in prediction
  (diverging, centred on 0), and loss/gain score tracks; for 5B the reference and alternative sequence
  around a SNP, the SNP marked. The maps come from :func:`basset.ism.satmut_map`.
* :func:`fig4bcd`: phyloP predicted from loss, gain and both scores against observed phyloP on held-out
  nucleotides, with Pearson's r.

Every figure is written as ``{stem}.png`` and ``{stem}.pdf`` by :func:`basset.plots.save`.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import TwoSlopeNorm  # noqa: E402

from . import RC, save  # noqa: E402
from .logos import draw_logo  # noqa: E402


def _satmut_panels(axes, codes, delta, loss, gain, start: int = 0, mark: int | None = None,
                   label: str = "", xlabel: bool = True) -> None:
    """Logo / heat map / tracks on three axes. ``codes (L,) uint8``; ``delta (L, 4)`` change in prediction
    per position and base (0 at the reference base); ``loss``, ``gain`` ``(L,)``; ``start``: coordinate of
    position 0 on the x axis; ``mark``: a position (0-based in the window) to outline (a SNP)."""
    codes = np.asarray(codes)
    L = codes.size
    onehot = np.zeros((L, 4))
    known = codes < 4
    onehot[np.flatnonzero(known), codes[known]] = 1.0
    ax_logo, ax_heat, ax_line = axes
    draw_logo(ax_logo, np.full((L, 4), 0.25), heights=onehot * np.clip(loss, 0, None)[:, None])
    ax_logo.set_ylabel("loss")
    ax_logo.set_xticks([])
    ax_logo.set_title(label, loc="left")
    lim = float(np.nanmax(np.abs(delta))) or 1e-6
    im = ax_heat.imshow(np.asarray(delta).T, aspect="auto", cmap="RdBu_r",
                        norm=TwoSlopeNorm(vcenter=0.0, vmin=-lim, vmax=lim), interpolation="nearest",
                        extent=(0, L, 3.5, -0.5))  # base i spans [i, i + 1], as in the logo
    ax_heat.set_yticks(range(4), list("ACGT"))
    ax_heat.set_xticks([])
    # the colour bar takes the same width from all three panels, so that they stay aligned
    plt.colorbar(im, ax=list(axes), pad=0.01, fraction=0.03, label="Δ prediction")
    x = np.arange(L) + 0.5
    ax_line.plot(x, loss, color="#b2182b", lw=1.2, label="loss")
    ax_line.plot(x, gain, color="#2166ac", lw=1.2, label="gain")
    ax_line.set_xlim(0, L)
    ax_line.set_ylabel("score")
    ax_line.legend(loc="upper right", frameon=False)
    ticks = np.linspace(0, L - 1, min(L, 6)).round().astype(int)
    ax_line.set_xticks(ticks + 0.5, [str(start + t) for t in ticks])
    if xlabel:  # only under the last of stacked maps, where it cannot run into the next title
        ax_line.set_xlabel("position (bp)")
    ax_logo.set_xlim(0, L)
    if mark is not None:
        for ax in (ax_heat, ax_line):
            ax.axvline(mark + 0.5, color="k", lw=0.8, ls=":")


def fig_satmut(maps: list[dict], stem, title: str = ""):
    """Mutagenesis maps of one or more sequences stacked (Figure 4A: sites; Figure 5B: the reference and the
    alternative sequence around a SNP). Each map is a dict with ``codes, delta, loss, gain`` (see
    :func:`_satmut_panels`) and optionally ``start``, ``mark`` and ``label``."""
    L = max(len(m["codes"]) for m in maps)
    with plt.rc_context(RC):
        fig, axes = plt.subplots(3 * len(maps), 1, figsize=(max(8.0, L * 0.09), 4.2 * len(maps) + 0.6),
                                 gridspec_kw={"height_ratios": [1.2, 1, 1] * len(maps), "hspace": 0.55},
                                 squeeze=False)
        axes = axes[:, 0]
        for k, m in enumerate(maps):
            _satmut_panels(axes[3 * k: 3 * k + 3], m["codes"], m["delta"], m["loss"], m["gain"],
                           start=m.get("start", 0), mark=m.get("mark"), label=m.get("label", ""),
                           xlabel=k == len(maps) - 1)
        if title:
            fig.suptitle(title)
        return save(fig, stem)


def fig4bcd(predictions: dict, table, stem, max_points: int = 20000, seed: int = 1):
    """Figures 4B-D: predicted vs observed phyloP on the test nucleotides for loss, gain and both feature sets.

    ``predictions`` maps ``loss``/``gain``/``both`` to ``(observed, predicted)``; ``table`` is the
    :func:`basset.conservation.ridge_phylop` table (for r and p).
    """
    rng = np.random.default_rng(seed)
    stats = {f: (r, p) for f, r, p in zip(table["features"], table["r"], table["p"])}
    with plt.rc_context(RC):
        fig, axes = plt.subplots(1, len(predictions), figsize=(4.6 * len(predictions), 4.2), squeeze=False)
        for ax, (name, (obs, pred)) in zip(axes[0], predictions.items()):
            idx = rng.permutation(len(obs))[:max_points]
            ax.hexbin(pred[idx], obs[idx], gridsize=45, bins="log", cmap="viridis", mincnt=1)
            r, p = stats[name]
            ax.set_title(f"{name}: r = {r:.3f}, " + (f"p = {p:.2g}" if p > 0 else "p < 1e-300"))  # 0: underflow
            ax.set_xlabel(f"phyloP predicted from {name} scores")
            ax.set_ylabel("phyloP observed")
        fig.tight_layout()
        return save(fig, stem)

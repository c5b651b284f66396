"""Sequence logos: one PWM on an axis (:func:`draw_logo`, letter heights ``p_b * IC`` on the 2-bit scale) and a
multi-panel figure of many (:func:`write_filter_logos`). Drawn with matplotlib's TextPath (logomaker would be one
more dependency for two functions)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..fileio import atomic_path
from ..motifs import column_information

_COLOURS = {"A": "#109648", "C": "#255C99", "G": "#F7B32B", "T": "#D62839"}


def letter_paths():
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextPath

    font = FontProperties(family="DejaVu Sans", weight="bold")
    return {b: TextPath((0, 0), b, size=1, prop=font) for b in "ACGT"}


def draw_logo(ax, pwm, letters=None, heights=None) -> None:
    """Draw a sequence logo of a ``(w, 4)`` PWM on ``ax``: letter heights ``p_b * IC`` (2-bit scale).

    ``heights (w, 4)``, when given, are drawn instead (e.g. a one-hot sequence scaled by mutagenesis loss
    scores); the y axis then spans their largest column.
    """
    from matplotlib.patches import PathPatch
    from matplotlib.transforms import Affine2D

    letters = letters or letter_paths()
    pwm = np.asarray(pwm, dtype=np.float64)
    custom = heights is not None
    heights = (np.clip(np.asarray(heights, dtype=np.float64), 0, None) if custom
               else pwm * column_information(pwm, (0.25,) * 4)[:, None])
    for x, (col, h) in enumerate(zip(pwm, heights)):
        y = 0.0
        for b in np.argsort(col):  # smallest at the bottom
            base = "ACGT"[b]
            if h[b] <= 1e-3:
                continue
            path = letters[base]
            ext = path.get_extents()
            t = (Affine2D().translate(-ext.x0, -ext.y0)
                 .scale(0.9 / max(ext.width, 1e-9), h[b] / max(ext.height, 1e-9)).translate(x + 0.05, y))
            ax.add_patch(PathPatch(t.transform_path(path), facecolor=_COLOURS[base], edgecolor="none"))
            y += h[b]
    ax.set_xlim(0, len(pwm))
    ax.set_ylim(0, max(float(heights.sum(1).max()), 1e-6) if custom else 2)


def write_filter_logos(pwms, names, path, ncols: int = 8, titles=None) -> list[Path]:
    """All logos in one multi-panel figure, written to ``path`` (PNG) and the PDF beside it.

    ``pwms`` are ``(w, 4)`` arrays or ``None`` (drawn as an empty panel "no PWM"); ``names`` label the
    panels (``titles`` overrides the full label). Returns the paths written.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    n = max(len(pwms), 1)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.2 * ncols, 1.1 * nrows), squeeze=False)
    letters = letter_paths()
    for k, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        if k >= len(pwms):
            ax.axis("off")
            continue
        title = titles[k] if titles is not None else names[k]
        ax.set_title(title, fontsize=7, pad=2)
        if pwms[k] is None:
            ax.text(0.5, 0.5, "no PWM", ha="center", va="center", fontsize=7, transform=ax.transAxes)
            continue
        draw_logo(ax, pwms[k], letters)
    fig.tight_layout(pad=0.3)
    out = [path, path.with_suffix(".pdf")]
    with atomic_path(out[0]) as png, atomic_path(out[1]) as pdf:
        fig.savefig(png, dpi=120)
        fig.savefig(pdf)
    plt.close(fig)
    return out

"""Coverage targets (Basenji-style runs): windows tiled over a genome, and coverage summed into bins.

Engines only: arrays in, arrays out. :mod:`basset.stages.coverage` reads the bigWigs (pyBigWig's ``values`` with
``numpy=True``, a C loop over the file's intervals, a chunk of a chromosome at a time) and hands each chromosome's
per-base coverage here; binning is one reshape and sum, because every window starts on the bin grid
(``stride`` and ``window`` are whole bins), so a chromosome is binned once and each window's targets are a slice of
its bins. No library bins bigWigs into a window x bin x track array for training (Basenji's own
``basenji_data_read.py`` reads one window at a time through ``pyBigWig.values``), hence these few functions.

Coordinates are 0-based, half-open, in bp; a window ``[s, s + window)`` has bins ``[s + k bin, s + (k + 1) bin)``.
"""

from __future__ import annotations

import numpy as np


def bin_sums(values: np.ndarray, bin_size: int) -> np.ndarray:
    """Coverage summed over consecutive bins.

    Parameters
    ----------
    values : (L,) float
        Per-base coverage of a stretch starting on the bin grid; NaN (no data in the bigWig) counts as 0.
    bin_size : int
        bp per bin.

    Returns
    -------
    (L // bin_size,) float64
        The sum of each whole bin; a partial last bin is dropped (no window reaches it).
    """
    n = values.shape[0] // bin_size
    block = np.asarray(values[: n * bin_size])
    block = np.where(np.isnan(block), 0, block)  # one copy in the input's dtype, summed in float64
    return block.reshape(n, bin_size).sum(1, dtype=np.float64)


def soft_clip(x: np.ndarray, threshold: float | None) -> np.ndarray:
    """Basenji's ``clip_soft``: values above ``threshold`` become ``threshold + sqrt(x - threshold)`` (dampens a
    few huge bins, keeps their order); ``None`` returns ``x`` unchanged. Returns a new float64 array."""
    x = np.asarray(x, dtype=np.float64)
    if threshold is None:
        return x.copy()
    over = x > threshold
    out = x.copy()
    out[over] = threshold + np.sqrt(x[over] - threshold)
    return out


def window_starts(size: int, window: int, stride: int) -> np.ndarray:
    """``(n,) int64`` starts of the windows of ``window`` bp every ``stride`` bp that fit in a chromosome of ``size``
    bp (the first at 0; none when the chromosome is shorter than a window)."""
    if size < window:
        return np.zeros(0, dtype=np.int64)
    return np.arange(0, size - window + 1, stride, dtype=np.int64)


def window_n_counts(is_n: np.ndarray, starts: np.ndarray, window: int) -> np.ndarray:
    """``(n,) int64``: the N bases in each window ``[starts[i], starts[i] + window)`` of a chromosome whose N
    positions are ``is_n (L,) bool`` (one cumulative sum, no loop)."""
    cum = np.concatenate([[0], np.cumsum(is_n, dtype=np.int64)])
    return cum[starts + window] - cum[starts]


def window_bins(chrom_bins: np.ndarray, starts: np.ndarray, bin_size: int, n_bins: int) -> np.ndarray:
    """The bins of each window from a chromosome's binned coverage.

    Parameters
    ----------
    chrom_bins : (B, T) float
        Coverage of bin ``b = [b bin_size, (b + 1) bin_size)`` of the chromosome, per track.
    starts : (n,) int64
        Window starts, multiples of ``bin_size``.
    bin_size, n_bins : int
        bp per bin, bins per window.

    Returns
    -------
    (n, n_bins, T)
        Window ``i``'s bins, a gather of rows ``starts[i] / bin_size + k``.
    """
    if np.any(starts % bin_size):
        raise ValueError(f"window starts must be multiples of the {bin_size} bp bin")
    rows = (starts // bin_size)[:, None] + np.arange(n_bins)[None, :]
    return chrom_bins[rows]

"""DeepSEA's labels (Zhou & Troyanskaya 2015): the genome cut into fixed bins, the bins that a selecting assay's peak
touches kept as samples, and each feature labelled 1 in a bin when more than half of the bin lies inside one of the
feature's peaks.

The rule, exactly:

- the genome is cut into bins of ``bin_size`` bp from the start of each chromosome (bin ``k`` is
  ``[k * bin_size, (k + 1) * bin_size)``); a last bin cut short by the chromosome's end is not a bin;
- a bin is a sample when at least one peak of a *selecting* feature (DeepSEA: the TF ChIP-seq peaks) overlaps it by at
  least 1 bp;
- feature ``f`` is 1 in a bin when a single peak of ``f`` covers **more than** ``fraction`` (0.5) of the bin: a peak
  covering exactly half of a 200 bp bin (100 bp) gives 0, 101 bp gives 1. Two peaks of ``f`` that each cover part of
  the bin do not add up (DeepSEA's "falls within the peak region" of one peak; peaks of one feature rarely touch);
- the model's input is the ``length``-bp window centred on the bin (``bin start - (length - bin_size) // 2``); bins
  whose window leaves the chromosome are not samples (they are counted).

Vectorised over sorted arrays (no per-bin loop): each peak is expanded into the bins it touches (a peak of ``w`` bp
touches ``w / bin_size + 1`` bins at most), their overlaps computed at once, and the largest overlap per (bin,
feature) kept by a sort and a group maximum. pybedtools would do the same with one ``intersect`` per feature through
files; a few numpy passes over the peaks are faster here and keep the arithmetic testable (benchmarks/bench_bins.py).
"""

from __future__ import annotations

import numpy as np

# ``chroms``: chromosome names in genome order; ``peaks``: one (chrom index, start, end, feature) row per peak


def touched_bins(starts, ends, bin_size: int) -> tuple[np.ndarray, np.ndarray]:
    """For peaks ``[starts, ends)`` (0-based, half-open, ``end > start``): ``(peak row, bin index)`` of every bin each
    peak overlaps by at least 1 bp, peak by peak in order."""
    starts = np.asarray(starts, dtype=np.int64)
    ends = np.asarray(ends, dtype=np.int64)
    first = starts // bin_size
    count = (ends - 1) // bin_size - first + 1
    rows = np.repeat(np.arange(starts.size, dtype=np.int64), count)
    offset = np.arange(rows.size, dtype=np.int64) - np.repeat(np.cumsum(count) - count, count)
    return rows, first[rows] + offset


def bin_overlaps(starts, ends, bin_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(peak row, bin index, overlap bp)`` of every (peak, bin) pair that overlaps (:func:`touched_bins`)."""
    rows, bins = touched_bins(starts, ends, bin_size)
    s = np.asarray(starts, dtype=np.int64)[rows]
    e = np.asarray(ends, dtype=np.int64)[rows]
    overlap = np.minimum(e, (bins + 1) * bin_size) - np.maximum(s, bins * bin_size)
    return rows, bins, overlap


def label_bins(chrom_index, starts, ends, features, chrom_sizes, n_features: int, *, bin_size: int = 200,
               fraction: float = 0.5, select=None, length: int = 1000) -> dict:
    """DeepSEA's samples and labels (module docstring) from peaks given as parallel arrays: ``chrom_index`` (into
    ``chrom_sizes``, the chromosome lengths in genome order), ``starts``, ``ends`` and ``features`` (``0 ..
    n_features - 1``). ``select``: the features whose peaks make a bin a sample (``None``: all).

    Returns ``{"chrom": (n,) chromosome index, "start": (n,) bin starts, "window": (n,) input window starts,
    "labels": (n, n_features) uint8, "skipped_edge": bins dropped because their window leaves the chromosome,
    "skipped_partial": selected bins cut short by the chromosome's end}``, the bins sorted by chromosome and start.
    """
    if not 0 <= fraction < 1:
        raise ValueError(f"fraction must be in [0, 1), got {fraction}")
    if bin_size < 1 or length < bin_size:
        raise ValueError(f"expected 1 <= bin_size <= length, got bin_size {bin_size}, length {length}")
    chrom_index = np.asarray(chrom_index, dtype=np.int64)
    features = np.asarray(features, dtype=np.int64)
    sizes = np.asarray(chrom_sizes, dtype=np.int64)
    starts, ends = np.asarray(starts, dtype=np.int64), np.asarray(ends, dtype=np.int64)
    if np.any(ends <= starts) or np.any(starts < 0):
        raise ValueError("every peak needs 0 <= start < end")
    if features.size and (features.min() < 0 or features.max() >= n_features):
        raise ValueError(f"feature indices must be in [0, {n_features})")
    rows, bins, overlap = bin_overlaps(starts, ends, bin_size)
    # one key per (chromosome, bin): bins of all chromosomes in one sorted integer space
    n_bins = sizes // bin_size  # whole bins only
    base = np.concatenate([[0], np.cumsum(sizes // bin_size + 1)])[:-1]
    chrom = chrom_index[rows]
    key = base[chrom] + bins
    chosen = np.ones(n_features, dtype=bool) if select is None else np.isin(np.arange(n_features), list(select))
    selecting = chosen[features[rows]]
    whole = bins < n_bins[chrom]
    sample_keys = np.unique(key[selecting & whole])
    skipped_partial = int(np.unique(key[selecting & ~whole]).size)
    # the chromosome and start of each sample bin, and its window
    s_chrom = np.searchsorted(base, sample_keys, side="right") - 1
    s_start = (sample_keys - base[s_chrom]) * bin_size
    window = s_start - (length - bin_size) // 2
    inside = (window >= 0) & (window + length <= sizes[s_chrom])
    skipped_edge = int((~inside).sum())
    sample_keys, s_chrom, s_start, window = sample_keys[inside], s_chrom[inside], s_start[inside], window[inside]
    # labels: the largest single-peak overlap of each feature in each sample bin
    labels = np.zeros((sample_keys.size, n_features), dtype=np.uint8)
    pos = np.searchsorted(sample_keys, key)
    hit = (pos < sample_keys.size) & (sample_keys[np.minimum(pos, max(sample_keys.size - 1, 0))] == key) \
        if sample_keys.size else np.zeros(key.size, dtype=bool)
    positive = hit & (overlap > fraction * bin_size)
    labels[pos[positive], features[rows[positive]]] = 1
    return {"chrom": s_chrom, "start": s_start, "window": window, "labels": labels, "skipped_edge": skipped_edge,
            "skipped_partial": skipped_partial}

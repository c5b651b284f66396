"""Tomtom's motif-comparison statistics (Gupta et al. 2007), vectorised with numpy, for any column distance.

This is the MEME suite's default ("complete scores") algorithm, re-implemented so that the paper's
``-dist pearson`` is available without the MEME binary (memelite, the other pure-Python Tomtom, is
Euclidean-only). For one query motif of width ``w`` and a database of targets (each also reverse
complemented, as ``tomtom`` does unless ``-norc``):

1. Column scores ``S (w, C)``: query column against every target column of the database, both strands
   (``pearson``: Pearson correlation of the two 4-vectors centred at 1/4, 0 when a column is uniform;
   ``ed``: minus the Euclidean distance).
2. Each query row is shifted by its median over the ``C`` columns (MEME's ``SHIFT_QUANTILE`` 0.5), so that
   an unaligned query column scores 0: failing to align an uninformative column costs less than failing
   to align an informative one.
3. The matrix is scaled to integers ``0..bins`` (``bins = 100``, MEME's ``BINS``) by its min and max.
4. The null distribution of one query column's score is its row's histogram (every database column
   equally likely); of a contiguous span of query columns, the convolution of their histograms.
5. An alignment (an offset of the query against a target, with overhangs allowed) scores the sum of its
   aligned columns; unaligned query columns score 0 (step 2). The best alignment is the highest score
   among the offsets that overlap at least ``min_overlap`` columns (ties: the larger overlap).
6. Its p-value is that of the maximum over *all* ``w + L - 1`` offsets of a width-``L`` target on both
   strands, with independent alignments: ``P(max >= s) = 1 - prod_a P(S_a < s)``, computed in log space
   so that small p-values keep their precision.
7. Per database motif the better strand is kept; ``E = p * n_motifs``; ``q`` is the Benjamini-Hochberg
   q-value over the query's motifs (MEME estimates pi0 a la Storey, which gives q-values up to pi0 times
   smaller: BH is the conservative choice).

Differences from MEME's binary, all small: no motif pseudocount (MEME adds 0.1 x background, which
hardly moves a Pearson correlation), no rounding of the Pearson terms to a fixed number of digits, and the
q-values above.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .metrics import bh_qvalues

#: MEME's tomtom: score bins per column, and the quantile that defines an unaligned column's score
BINS = 100
SHIFT_QUANTILE = 0.5
DISTANCES = ("pearson", "ed")


def column_scores(query: np.ndarray, columns: np.ndarray, distance: str = "pearson") -> np.ndarray:
    """``(w, 4)`` query frequencies x ``(C, 4)`` target columns -> ``(w, C)`` similarity scores (higher =
    more similar)."""
    q = np.asarray(query, dtype=np.float64)
    t = np.asarray(columns, dtype=np.float64)
    if distance == "pearson":
        qc, tc = q - 0.25, t - 0.25
        qn, tn = np.sqrt((qc**2).sum(1)), np.sqrt((tc**2).sum(1))
        num = qc @ tc.T
        den = qn[:, None] * tn[None, :]
        return np.divide(num, den, out=np.zeros_like(num), where=den > 0)
    if distance == "ed":
        d2 = (q**2).sum(1)[:, None] + (t**2).sum(1)[None, :] - 2.0 * q @ t.T
        return -np.sqrt(np.maximum(d2, 0.0))
    raise ValueError(f"distance must be one of {', '.join(DISTANCES)}, got {distance!r}")


def _shift_by_median(scores: np.ndarray) -> np.ndarray:
    # MEME's shift_all_pairwise_scores: the mean of the sorted values at floor(q*C)-1 and ceil(q*C)-1
    C = scores.shape[1]
    i1 = max(int(np.floor(SHIFT_QUANTILE * C)) - 1, 0)
    i2 = max(int(np.ceil(SHIFT_QUANTILE * C)) - 1, i1)
    part = np.partition(scores, sorted({i1, i2}), axis=1)
    return scores - 0.5 * (part[:, i1] + part[:, i2])[:, None]


class _Database:
    """Target motifs stacked for vectorised scoring: both strands, grouped by width."""

    def __init__(self, targets: list[np.ndarray]):
        self.n = len(targets)
        fwd = [np.asarray(t, dtype=np.float64) for t in targets]
        rc = [t[::-1, ::-1] for t in fwd]  # reverse complement in the ACGT layout
        self.mats = fwd + rc  # index k < n forward, k >= n reverse complement of k - n
        self.widths = np.array([m.shape[0] for m in self.mats], dtype=np.int64)
        self.columns = np.concatenate(self.mats, axis=0)  # (C, 4)
        self.starts = np.concatenate([[0], np.cumsum(self.widths)[:-1]])
        self.groups = {int(L): np.flatnonzero(self.widths == L) for L in np.unique(self.widths)}


def _span_log_cdfs(ints: np.ndarray, zero: int, n_levels: int) -> tuple[np.ndarray, dict]:
    """Null distributions of every contiguous span ``[a, b]`` of query columns, shifted as a complete score.

    ``ints (w, C)`` are the integer column scores, ``zero`` the integer score of an unaligned column.
    Returns ``(log_cdf (n_spans, n_levels), index {(a, b): row})`` where ``log_cdf[r, x] = log P(S <= x)``
    for the span's sum plus ``(w - overlap) * zero`` (so every alignment is on the same integer scale).
    """
    w, C = ints.shape
    hist = np.stack([np.bincount(row, minlength=BINS + 1) for row in ints]).astype(np.float64) / C
    rows, index = [], {}
    for a in range(w):
        pmf = np.ones(1)
        for b in range(a, w):
            pmf = np.convolve(pmf, hist[b])
            shift = (w - (b - a + 1)) * zero
            full = np.zeros(n_levels)
            full[shift:shift + len(pmf)] = pmf[: n_levels - shift]
            index[(a, b)] = len(rows)
            rows.append(full)
    pmf = np.stack(rows)
    # survival P(S > x) as a reverse cumulative sum keeps small tails exact; log P(S <= x) = log1p(-P(S > x))
    sf = np.cumsum(pmf[:, ::-1], axis=1)[:, ::-1] - pmf
    with np.errstate(divide="ignore"):  # P(S <= x) = 0 below the support: log 0 = -inf, as intended
        return np.log1p(-np.clip(sf, 0.0, 1.0)), index


def _alignment_scores(ints: np.ndarray, db: _Database, L: int, members: np.ndarray, zero: int):
    """Complete scores of every offset of the query against the width-``L`` targets ``members``.

    Returns ``(scores (m, n_off) int64, overlaps (n_off,), spans [(a, b)] * n_off)`` for offsets
    ``o = -(w-1) .. L-1`` (query column 0 on target column ``o``).
    """
    w = ints.shape[0]
    offsets = np.arange(-(w - 1), L)
    qi = np.arange(w)[:, None]
    tj = qi + offsets[None, :]  # (w, n_off) target column aligned with query column i
    valid = (tj >= 0) & (tj < L)
    cols = db.starts[members][:, None, None] + np.clip(tj, 0, L - 1)[None]  # (m, w, n_off)
    aligned = ints[qi[None], cols]  # (m, w, n_off)
    overlap = valid.sum(0)
    scores = np.where(valid[None], aligned, 0).sum(1) + (w - overlap)[None, :] * zero
    a = np.argmax(valid, axis=0)
    spans = [(int(a[k]), int(a[k] + overlap[k] - 1)) for k in range(len(offsets))]
    return scores.astype(np.int64), overlap, offsets, spans


def compare(query: np.ndarray, db: _Database, distance: str = "pearson", min_overlap: int = 5) -> dict:
    """One query ``(w, 4)`` against the database: per target motif (better strand) ``p, offset, overlap,
    strand (0 = +, 1 = -)`` as arrays of length ``db.n``."""
    query = np.asarray(query, dtype=np.float64)
    w = query.shape[0]
    s = _shift_by_median(column_scores(query, db.columns, distance))
    lo, hi = float(s.min()), float(s.max())
    scale = BINS / (hi - lo) if hi > lo else 1.0
    ints = np.rint((s - lo) * scale).astype(np.int64)
    zero = int(np.rint(-lo * scale))
    n_levels = w * BINS + 1 + w * zero
    log_cdf, span_row = _span_log_cdfs(ints, zero, n_levels)

    n2 = len(db.mats)
    p = np.ones(n2)
    best_off = np.zeros(n2, dtype=np.int64)
    best_ovl = np.zeros(n2, dtype=np.int64)
    for L, members in db.groups.items():  # a few dozen distinct widths
        scores, overlap, offsets, spans = _alignment_scores(ints, db, L, members, zero)
        # null of the maximum over all offsets, both strands (MEME counts every offset, whatever the overlap)
        log_max = 2.0 * log_cdf[[span_row[sp] for sp in spans]].sum(0)
        mo = min(min_overlap, w, L)
        allowed = overlap >= mo
        # best: highest score, then the larger overlap
        key = np.where(allowed[None], scores * (w + L + 1) + overlap[None], np.iinfo(np.int64).min)
        k = np.argmax(key, axis=1)
        best = scores[np.arange(len(members)), k]
        # P(max >= best) = 1 - P(max <= best - 1)
        below = np.where(best >= 1, log_max[np.clip(best - 1, 0, n_levels - 1)], -np.inf)
        p[members] = -np.expm1(below)
        best_off[members] = offsets[k]
        best_ovl[members] = overlap[k]
    n = db.n
    strand = (p[n:] < p[:n]) | ((p[n:] == p[:n]) & (best_ovl[n:] > best_ovl[:n]))
    pick = np.where(strand, np.arange(n) + n, np.arange(n))
    return {"p": np.clip(p[pick], 0.0, 1.0), "offset": best_off[pick], "overlap": best_ovl[pick],
            "strand": strand.astype(np.int64)}


def tomtom_table(queries, targets, distance: str = "pearson", min_overlap: int = 5) -> pd.DataFrame:
    """Every (query, target) pair: ``filter, target_id, target_name, p, E, q, offset, orientation, overlap,
    engine, distance`` (the columns of :data:`basset.motifs.TOMTOM_COLUMNS`).

    ``queries`` and ``targets`` are :class:`basset.memefile.Motif` objects (``.id``, ``.name``, ``.pwm``
    ``(w, 4)`` frequencies, ACGT).
    """

    queries, targets = list(queries), list(targets)
    db = _Database([m.pwm for m in targets])
    frames = []
    for qm in queries:
        r = compare(qm.pwm, db, distance, min_overlap)
        frames.append(pd.DataFrame({
            "filter": qm.id,
            "target_id": [m.id for m in targets],
            "target_name": [m.name for m in targets],
            "p": r["p"],
            "E": r["p"] * db.n,
            "q": bh_qvalues(r["p"]),
            "offset": r["offset"],
            "orientation": np.where(r["strand"] == 1, "-", "+"),
            "overlap": r["overlap"],
            "engine": "basset",
            "distance": distance,
        }))
    return pd.concat(frames, ignore_index=True)

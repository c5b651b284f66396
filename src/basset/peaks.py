"""Basset's peak merging (engine: arrays in, arrays out; :mod:`basset.bed` reads the files).

Basset (``preprocess_features.py``) turns many per-cell-type peak sets into one set of fixed-width sites
with a binary activity per cell type (target):

1. every peak is reduced to its midpoint ``(start + end) // 2`` (or the narrowPeak summit, on request);
2. peaks are grouped by chromosome and strand (``.`` counts as ``+``) and sorted by midpoint (ties by
   target index);
3. each is widened to ``feature_size`` bp, ``[mid - size // 2, +size)``, clamped to the chromosome ends;
4. consecutive peaks are chained into a cluster while the previous one overlaps the next by more than
   ``merge_overlap`` bp;
5. inside a cluster, the adjacent pair with the largest overlap (the leftmost on ties) is merged while
   that overlap is at least ``merge_overlap``: the merged midpoint is the mean of the two midpoints
   weighted by ``1 + number of active targets``, rounded half up; the result is widened again to
   ``feature_size`` (clamped) and the activities are unioned.

:func:`merge_sorted` does step 4-5 in numba with a heap per cluster (``O(k log k)`` for a cluster of
``k`` peaks): Basset's own code rescans a cluster for every merge (``O(k^2)``), which real cluster sizes
make minutes instead of seconds. :func:`merge_sorted_reference` is a line-by-line transcription of Basset's
Python code, kept as the obviously-correct reference that the tests and benchmarks compare against.

Before the merge, :func:`basset.sequence.match_chromosomes` maps a peak file's chromosome names onto the
genome's (``chr1`` / ``1``) and :class:`ChromosomeFilter` says which peaks a site may come from (on the genome,
on a chromosome at least one site long, optionally not on chrY or a non-canonical contig), counting the others
by reason.

Coordinates are 0-based, half-open, in bp.
"""

from __future__ import annotations

import heapq
import re
from dataclasses import dataclass

import numba
import numpy as np

from .sequence import match_chromosomes

#: the canonical human chromosomes: chr1-22, X, Y (with or without ``chr``)
CANONICAL = re.compile(r"^(chr)?([0-9]+|X|Y)$")


# ----------------------------------------------------------------------------------------------------
# Merging sorted midpoints
# ----------------------------------------------------------------------------------------------------
def _extend(mid: np.ndarray, size: int, chrom_len: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Basset's ``Peak.extend``: a ``size`` bp window around ``mid``, clamped to ``[0, chrom_len)``."""
    start = np.maximum(0, mid - size // 2)
    end = start + size
    over = end > chrom_len
    end = np.where(over, chrom_len, end)
    start = np.where(over, end - size, start)
    return start, end


@numba.njit(cache=True)
def _popcount(bits: np.ndarray) -> int:
    n = 0
    for w in bits:
        while w:
            w &= w - np.uint64(1)
            n += 1
    return n


@numba.njit(cache=True)
def _merge_clusters(start, end, target, chrom_len, bounds, size, merge_overlap, n_words):  # pragma: no cover (jit)
    """Greedy merge inside each cluster ``bounds[c]:bounds[c+1]`` of sorted, widened peaks.

    Returns ``(owner, site_start, site_end)``: ``owner[p]`` the index of the surviving peak that peak ``p``
    was merged into, and the final window of every surviving peak (undefined for the others).
    """
    n = start.shape[0]
    owner = np.arange(n)
    s = start.copy()
    e = end.copy()
    half = size // 2
    for c in range(bounds.shape[0] - 1):
        lo = bounds[c]
        hi = bounds[c + 1]
        k = hi - lo
        if k < 2:
            continue
        bits = np.zeros((k, n_words), dtype=np.uint64)
        cnt = np.ones(k, dtype=np.int64)
        for i in range(k):
            t = target[lo + i]
            bits[i, t // 64] |= np.uint64(1) << np.uint64(t % 64)
        nxt = np.arange(1, k + 1)
        prv = np.arange(-1, k - 1)
        alive = np.ones(k, dtype=np.bool_)
        ver = np.zeros(k, dtype=np.int64)
        heap = [(np.int64(0), np.int64(0), np.int64(0), np.int64(0), np.int64(0))]
        heap.pop()
        for i in range(k - 1):
            heap.append((-(e[lo + i] - s[lo + i + 1]), np.int64(i), np.int64(i + 1), np.int64(0), np.int64(0)))
        heapq.heapify(heap)
        clen = chrom_len[lo]
        while len(heap) > 0:
            neg, i, j, vi, vj = heapq.heappop(heap)
            if not (alive[i] and alive[j] and nxt[i] == j and ver[i] == vi and ver[j] == vj):
                continue
            if -neg < merge_overlap:
                break
            pi = lo + i
            pj = lo + j
            mi = (s[pi] + e[pi]) // 2
            mj = (s[pj] + e[pj]) // 2
            wi = 1 + cnt[i]
            wj = 1 + cnt[j]
            num = mi * wi + mj * wj
            den = wi + wj
            mid = np.int64(0.5 + num / den)
            ns = max(0, mid - half)
            ne = ns + size
            if ne > clen:
                ne = clen
                ns = ne - size
            s[pi] = ns
            e[pi] = ne
            for w in range(n_words):
                bits[i, w] |= bits[j, w]
            cnt[i] = _popcount(bits[i])
            alive[j] = False
            owner[pj] = pi
            nj = nxt[j]
            nxt[i] = nj
            if nj < k:
                prv[nj] = i
            ver[i] += 1
            p = prv[i]
            if p >= 0:
                heapq.heappush(heap, (-(e[lo + p] - s[pi]), np.int64(p), np.int64(i), ver[p], ver[i]))
            if nj < k:
                heapq.heappush(heap, (-(e[pi] - s[lo + nj]), np.int64(i), np.int64(nj), ver[i], ver[nj]))
    # resolve chains of owners to the surviving peak: owners always lie to the left (lower index), so one
    # pass in increasing order sees every owner already resolved
    for p in range(n):
        owner[p] = owner[owner[p]]
    return owner, s, e


@dataclass
class SortedPeaks:
    """Peaks of all targets, sorted by (chromosome, strand, midpoint, target): all arrays (n,)."""

    chrom: np.ndarray  # int32 index into ``chrom_names``
    minus: np.ndarray  # bool
    mid: np.ndarray  # int64 bp
    target: np.ndarray  # int32 target index
    chrom_names: list[str]
    chrom_sizes: np.ndarray  # (n_chrom,) int64


def sort_peaks(chrom, minus, mid, target, chrom_names, chrom_sizes) -> SortedPeaks:
    """Sort peak arrays by chromosome (in ``chrom_names`` order), strand, midpoint, target.

    The four keys are packed into one int64 where they fit (always for genomes with fewer than ~10^5
    contigs): one ``np.sort`` of the packed keys is several times faster than ``np.lexsort``.
    """
    chrom = np.asarray(chrom, dtype=np.int64)
    mid = np.asarray(mid, dtype=np.int64)
    target = np.asarray(target, dtype=np.int64)
    minus = np.asarray(minus, dtype=bool)
    n = len(mid)
    b_mid = int(mid.max()).bit_length() if n else 1
    b_t = int(target.max()).bit_length() if n else 1
    b_c = int(chrom.max() * 2 + 1).bit_length() if n else 1
    if n and mid.min() >= 0 and b_mid + b_t + b_c <= 63:
        key = (((chrom << 1) | minus) << (b_mid + b_t)) | (mid << b_t) | target
        key.sort()
        strand_chrom = key >> (b_mid + b_t)
        return SortedPeaks((strand_chrom >> 1).astype(np.int32), (strand_chrom & 1).astype(bool),
                           (key >> b_t) & ((1 << b_mid) - 1), (key & ((1 << b_t) - 1)).astype(np.int32),
                           list(chrom_names), np.asarray(chrom_sizes, dtype=np.int64))
    order = np.lexsort((target, mid, minus, chrom))
    return SortedPeaks(chrom[order].astype(np.int32), minus[order], mid[order], target[order].astype(np.int32),
                       list(chrom_names), np.asarray(chrom_sizes, dtype=np.int64))


@dataclass
class Sites:
    """Merged sites: arrays of length n_sites and the ``(n_sites, n_targets) uint8`` activity."""

    chrom: np.ndarray  # object
    start: np.ndarray  # int64
    end: np.ndarray  # int64
    strand: np.ndarray  # object, "+" or "-"
    activity: np.ndarray  # (n_sites, n_targets) uint8

    @property
    def names(self) -> np.ndarray:
        return np.array([f"{c}:{s}-{e}({d})" for c, s, e, d in zip(self.chrom, self.start, self.end, self.strand)],
                        dtype=object)

    def __len__(self) -> int:
        return len(self.start)


def merge_sorted(p: SortedPeaks, n_targets: int, feature_size: int = 600, merge_overlap: int = 200) -> Sites:
    """Basset's merge of sorted midpoints (fast path); identical output to :func:`merge_sorted_reference`."""
    n = len(p.mid)
    if n == 0:
        return Sites(np.empty(0, object), np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, object),
                     np.zeros((0, n_targets), np.uint8))
    clen = p.chrom_sizes[p.chrom]
    start, end = _extend(p.mid, feature_size, clen)
    new_group = np.ones(n, dtype=bool)
    new_group[1:] = (p.chrom[1:] != p.chrom[:-1]) | (p.minus[1:] != p.minus[:-1])
    breaks = new_group.copy()
    breaks[1:] |= (end[:-1] - start[1:]) <= merge_overlap
    bounds = np.append(np.flatnonzero(breaks), n).astype(np.int64)
    n_words = max(1, (n_targets + 63) // 64)
    owner, s, e = _merge_clusters(start, end, p.target.astype(np.int64), clen, bounds, feature_size,
                                  merge_overlap, n_words)
    keep = np.flatnonzero(owner == np.arange(n))
    site_of = np.searchsorted(keep, owner)
    activity = np.zeros((len(keep), n_targets), dtype=np.uint8)
    activity[site_of, p.target] = 1
    names = np.asarray(p.chrom_names, dtype=object)
    return Sites(names[p.chrom[keep]], s[keep], e[keep], np.where(p.minus[keep], "-", "+").astype(object), activity)


def merge_sorted_reference(p: SortedPeaks, n_targets: int, feature_size: int = 600,
                           merge_overlap: int = 200) -> Sites:
    """Plain-Python transcription of Basset's ``preprocess_features.py`` merge (slow; for tests).

    Kept deliberately close to the original: ``Peak`` objects with a set of targets, a list per open
    cluster, and a linear scan for the largest adjacent overlap.
    """
    half = feature_size // 2

    class Peak:
        def __init__(self, start, end, act):
            self.start, self.end, self.act = start, end, act

        def extend(self, chrom_len):
            mid = (self.start + self.end) // 2
            self.start = max(0, mid - half)
            self.end = self.start + feature_size
            if self.end > chrom_len:
                self.end = chrom_len
                self.start = self.end - feature_size

        def merge(self, other, chrom_len):
            mids = [(self.start + self.end) // 2, (other.start + other.end) // 2]
            weights = [1 + len(self.act), 1 + len(other.act)]
            merge_mid = int(0.5 + (mids[0] * weights[0] + mids[1] * weights[1]) / (weights[0] + weights[1]))
            self.start = max(0, merge_mid - half)
            self.end = self.start + feature_size
            if self.end > chrom_len:
                self.end = chrom_len
                self.start = self.end - feature_size
            self.act = self.act | other.act

    def merge_cluster(peaks, chrom_len):
        max_overlap = merge_overlap
        while len(peaks) > 1 and max_overlap >= merge_overlap:
            max_i = 0
            max_overlap = peaks[0].end - peaks[1].start
            for i in range(1, len(peaks) - 1):
                overlap = peaks[i].end - peaks[i + 1].start
                if overlap > max_overlap:
                    max_i, max_overlap = i, overlap
            if max_overlap >= merge_overlap:
                peaks[max_i].merge(peaks[max_i + 1], chrom_len)
                peaks = peaks[: max_i + 1] + peaks[max_i + 2:]
        return peaks

    out = []
    open_key, open_peaks = None, []
    for c, m, mid, t in zip(p.chrom.tolist(), p.minus.tolist(), p.mid.tolist(), p.target.tolist()):
        chrom_len = int(p.chrom_sizes[c])
        peak = Peak(mid, mid + 1, {t})
        peak.extend(chrom_len)
        key = (c, m)
        if key != open_key or open_peaks[-1].end - peak.start <= merge_overlap:
            if open_peaks:
                out.extend((open_key, q) for q in merge_cluster(open_peaks, int(p.chrom_sizes[open_key[0]])))
            open_key, open_peaks = key, [peak]
        else:
            open_peaks.append(peak)
    if open_peaks:
        out.extend((open_key, q) for q in merge_cluster(open_peaks, int(p.chrom_sizes[open_key[0]])))
    activity = np.zeros((len(out), n_targets), dtype=np.uint8)
    for i, (_, q) in enumerate(out):
        activity[i, sorted(q.act)] = 1
    return Sites(
        np.array([p.chrom_names[k[0]] for k, _ in out], dtype=object),
        np.array([q.start for _, q in out], dtype=np.int64),
        np.array([q.end for _, q in out], dtype=np.int64),
        np.array(["-" if k[1] else "+" for k, _ in out], dtype=object),
        activity,
    )


# ----------------------------------------------------------------------------------------------------
# Which peaks may make sites
# ----------------------------------------------------------------------------------------------------
@dataclass
class ChromosomeFilter:
    """The genome's chromosomes (in output order) and which of them take peaks: all arrays ``(n_chrom,)``."""

    names: list[str]
    sizes: np.ndarray  # int64 bp
    allowed: np.ndarray  # bool: peaks on it are kept
    is_y: np.ndarray  # bool: chrY / Y
    feature_size: int
    drop_chry: bool

    @classmethod
    def for_genome(cls, chrom_sizes: dict[str, int], feature_size: int, drop_chry: bool = False,
                   drop_noncanonical: bool = False) -> ChromosomeFilter:
        """Chromosomes of ``chrom_sizes`` (name -> bp, in output order) that take peaks: those at least
        ``feature_size`` long, not chrY when ``drop_chry``, and only chr1-22, X, Y when ``drop_noncanonical``."""
        names = [str(c) for c in chrom_sizes]
        sizes = np.array(list(chrom_sizes.values()), dtype=np.int64)
        allowed = np.ones(len(names), dtype=bool)
        is_y = np.array([c in ("chrY", "Y") for c in names], dtype=bool)
        if drop_chry:
            allowed &= ~is_y
        if drop_noncanonical:
            allowed &= np.array([bool(CANONICAL.match(c)) for c in names], dtype=bool)
        allowed &= sizes >= feature_size
        return cls(names, sizes, allowed, is_y, feature_size, drop_chry)

    def genome_index(self, peak_chroms, codes: np.ndarray) -> tuple[np.ndarray, dict[str, str]]:
        """``(index, mapping)``: the genome index of every peak ``(n,) int64`` (-1 where its chromosome is not
        in the genome) from the peak file's chromosome names ``peak_chroms`` and per-peak ``codes`` into them,
        and the name mapping of :func:`match_chromosomes`."""
        mapping = match_chromosomes(peak_chroms, self.names)
        position = {c: i for i, c in enumerate(self.names)}
        lookup = np.array([position[mapping[c]] if c in mapping else -1 for c in peak_chroms], dtype=np.int64)
        return lookup[codes], mapping

    def keep(self, index: np.ndarray) -> tuple[np.ndarray, dict[str, int]]:
        """``(kept, counts)`` for peaks at genome ``index`` (from :meth:`genome_index`): ``(n,) bool`` and the
        number of peaks skipped by reason (``skipped_unknown_chrom``, ``skipped_chrY``, ``skipped_short_chrom``,
        ``skipped_noncanonical``) and ``kept``."""
        known = index >= 0
        safe = np.maximum(index, 0)
        kept = known & self.allowed[safe]
        short = known & (self.sizes[safe] < self.feature_size)
        y_dropped = known & self.is_y[safe] & ~short if self.drop_chry else np.zeros(len(index), dtype=bool)
        counts = {"skipped_unknown_chrom": int((~known).sum()), "skipped_chrY": int(y_dropped.sum()),
                  "skipped_short_chrom": int(short.sum())}
        counts["skipped_noncanonical"] = (int((known & ~kept).sum()) - counts["skipped_chrY"]
                                          - counts["skipped_short_chrom"])
        counts["kept"] = int(kept.sum())
        return kept, counts

"""Peak files and Basset's peak merging.

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
``k`` peaks); :func:`merge_sorted_reference` is a line-by-line transcription of Basset's Python code,
kept as the obviously-correct reference that the tests and benchmarks compare against.

Coordinates are 0-based, half-open, in bp.
"""

from __future__ import annotations

import gzip
import heapq
import io
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import numba
import numpy as np
import pandas as pd

from .errors import InputError
from .fileio import atomic_open, atomic_path, compression, is_gzip, open_text, read_errors
from .logs import progress_bar
from .sequence import chrom_key
from .tables import write_summary

log = logging.getLogger(__name__)

CANONICAL = re.compile(r"^(chr)?([0-9]+|X|Y)$")
_SKIP_PREFIXES = ("#", "track", "browser")


# ----------------------------------------------------------------------------------------------------
# Reading peak files
# ----------------------------------------------------------------------------------------------------
@dataclass
class Peaks:
    """Midpoints of one peak file: chromosome ``codes`` (n,) int into ``names``, ``mid`` (n,) int64 bp,
    ``minus`` (n,) bool. Chromosomes stay categorical: no Python string per peak."""

    names: np.ndarray  # (n_chrom,) object
    codes: np.ndarray  # (n,) int
    mid: np.ndarray
    minus: np.ndarray

    @property
    def chrom(self) -> np.ndarray:
        """(n,) object chromosome names."""
        return self.names[self.codes]

    def __len__(self) -> int:
        return len(self.mid)


def _no_peaks() -> Peaks:
    return Peaks(np.empty(0, object), np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, bool))


def _header_lines(path: Path) -> tuple[int, int]:
    """Number of leading ``track``/``browser``/``#``/column-header lines, and the columns of the first data line."""
    n = 0
    with read_errors(path, "peak file"), open_text(path) as fh:
        for line in fh:
            fields = line.rstrip("\r\n").split("\t")
            if line.startswith(_SKIP_PREFIXES) or not line.strip():
                n += 1
                continue
            if len(fields) >= 3 and not fields[1].strip().lstrip("-").isdigit() and n == 0:
                n += 1  # a column header such as "chrom  start  end"
                continue
            return n, len(fields)
    return n, 0


def _validate_lines(path: Path, fmt: str, skip: int, midpoint: str) -> None:
    """Slow, line-by-line check that raises an :class:`InputError` at the first bad line."""
    with read_errors(path, "peak file"), open_text(path) as fh:
        for lineno, line in enumerate(fh, 1):
            if lineno <= skip or line.startswith(_SKIP_PREFIXES) or not line.strip():
                continue
            f = line.rstrip("\r\n").split("\t")
            if len(f) < 3:
                raise InputError(path, f"expected at least 3 tab-separated columns (chrom, start, end), got {len(f)}",
                                 lineno, line.rstrip("\r\n")[:80])
            if not f[0]:
                raise InputError(path, "expected a chromosome name in column 1, got an empty field", lineno)
            try:
                start, end = int(f[1]), int(f[2])
            except ValueError:
                raise InputError(path, f"expected integer start and end in columns 2-3, got {f[1]!r} and {f[2]!r}",
                                 lineno) from None
            if start < 0 or start > end:
                raise InputError(path, f"expected 0 <= start <= end, got start={start} end={end}", lineno)
            if len(f) >= 10 and fmt == "narrowPeak" and midpoint == "summit" and f[9].strip():
                try:
                    int(f[9])
                except ValueError:
                    raise InputError(path, f"expected an integer summit offset in column 10, got {f[9]!r}",
                                     lineno) from None
            if len(f) >= 6 and f[5].strip() not in ("+", "-", ".", ""):
                raise InputError(path, f"expected strand '+', '-' or '.' in column 6, got {f[5]!r}", lineno)
    raise InputError(path, "could not be parsed as a tab-separated BED-like file")  # pragma: no cover


def _read_bytes(path: Path) -> bytes:
    """The whole (decompressed) file: peak files are tens of MB at most, and one read serves both passes."""
    with read_errors(path, "peak file"), (gzip.open(path, "rb") if is_gzip(path) else open(path, "rb")) as fh:
        return fh.read()


def _widest_line(data: bytes, skip: int) -> int:
    """Number of tab-separated fields of the widest line after the first ``skip`` lines (vectorised)."""
    arr = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(arr == 10)
    first = int(newlines[skip - 1]) + 1 if skip else 0
    body = arr[first:]
    if body.size == 0:
        return 0
    starts = np.r_[0, np.flatnonzero(body == 10) + 1]
    starts = starts[starts < body.size]
    return int(np.add.reduceat((body == 9).astype(np.int32), starts).max()) + 1


def read_peaks(path: str | Path, fmt: str = "bed", midpoint: str = "center") -> Peaks:
    """Read a narrowPeak, BED or hotspot file (plain or gzipped, decided by content) into midpoints.

    ``midpoint``: ``center`` uses ``(start + end) // 2`` as Basset does; ``summit`` uses ``start + summit``
    (narrowPeak column 10) where it is present and not -1. ``track``/``browser``/``#`` lines, a column header
    and CRLF line ends are accepted. Lines may have different numbers of columns (valid BED); a missing or
    empty strand counts as ``.``. Chromosome names are always strings (``1`` stays ``"1"``). Raises
    :class:`InputError` naming the file and line for too few columns, a non-integer coordinate, start > end,
    a bad strand or summit, and naming the file for corrupt or truncated gzip data.
    """
    path = Path(path)
    if midpoint not in ("center", "summit"):
        raise ValueError(f"midpoint must be 'center' or 'summit', got {midpoint!r}")
    skip, ncols = _header_lines(path)
    if ncols == 0:
        return _no_peaks()
    if ncols < 3:
        _validate_lines(path, fmt, skip, midpoint)
    use_summit = midpoint == "summit" and fmt == "narrowPeak"
    data = _read_bytes(path)
    width = _widest_line(data, skip)
    cols = [c for c in (0, 1, 2, 5, 9) if c < width and (c != 9 or use_summit)]
    try:
        # names= as wide as the widest line: shorter lines (BED allows mixed widths) are padded with ''
        # chromosome and strand as categories (whose categories the C parser always keeps as strings: "1"
        # stays "1"), coordinates parsed as integers by the C parser itself
        df = pd.read_csv(io.BytesIO(data), sep="\t", header=None, names=range(width), skiprows=skip,
                         usecols=cols, dtype={0: "category", 1: np.int64, 2: np.int64, 5: "category", 9: str},
                         engine="c", na_filter=False, quoting=3, comment=None, skip_blank_lines=True)
        start = df[1].to_numpy()
        end = df[2].to_numpy()
    except (ValueError, TypeError, pd.errors.ParserError, UnicodeDecodeError):
        # a short line, a non-integer coordinate, a stray track line: find it and say where
        _validate_lines(path, fmt, skip, midpoint)
        raise
    chrom = df[0].array
    if ((start < 0) | (start > end)).any() or "" in chrom.categories:
        _validate_lines(path, fmt, skip, midpoint)
    minus = np.zeros(len(start), dtype=bool)
    if 5 in df:  # a missing or empty strand counts as '.'
        strands = [str(c).strip() for c in df[5].array.categories]
        if set(strands) - {"+", "-", ".", ""}:
            _validate_lines(path, fmt, skip, midpoint)
        minus = np.isin(df[5].array.codes, [i for i, c in enumerate(strands) if c == "-"])
    mid = (start + end) // 2
    if use_summit and 9 in df:
        text = df[9].str.strip()
        summit = pd.to_numeric(text.where(text != "", "-1"), errors="coerce")
        if summit.isna().any():
            _validate_lines(path, fmt, skip, midpoint)
        summit = summit.to_numpy(dtype=np.int64)
        has = summit >= 0
        mid[has] = start[has] + summit[has]
    return Peaks(np.asarray([str(c) for c in chrom.categories], dtype=object), chrom.codes.astype(np.int64), mid,
                 minus)


# ----------------------------------------------------------------------------------------------------
# Merging
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
# From files to merged sites
# ----------------------------------------------------------------------------------------------------
@dataclass
class MergeResult:
    sites: Sites
    target_names: list[str]
    stats: pd.DataFrame  # one row per target: peak counts, kept, skipped by reason, active sites
    skipped: dict = field(default_factory=dict)  # reason -> total count


def match_chromosomes(names, genome_names) -> dict[str, str]:
    """Map the chromosome names of a peak file onto the genome's.

    A name found in the genome maps to itself; one that is found only under another spelling of the same
    chromosome (:func:`basset.sequence.chrom_key`: ``1`` / ``chr1``, ``chrM`` / ``MT``) maps to the genome's
    name. Names with no match are left out of the returned dict.
    """
    genome = {str(g) for g in genome_names}
    by_key: dict[str, str] = {}
    for g in genome_names:
        by_key.setdefault(chrom_key(str(g)), str(g))
    out = {}
    for name in map(str, names):
        other = name if name in genome else by_key.get(chrom_key(name))
        if other is not None:
            out[name] = other
    return out


def _renamed(mapping: dict[str, str]) -> str:
    """``"chr1->1, chr2->2, ... (24 names)"`` for the names that were mapped to another spelling."""
    pairs = [f"{a}->{b}" for a, b in mapping.items() if a != b]
    if not pairs:
        return ""
    return ", ".join(pairs[:3]) + (", ..." if len(pairs) > 3 else "") + \
        f" ({len(pairs)} name{'' if len(pairs) == 1 else 's'})"


#: why a peak was skipped -> the config key (and CLI flag) that controls it
SKIP_KEYS = {
    "skipped_unknown_chrom": "genome.fasta (the genome's chromosome names)",
    "skipped_chrY": "peaks.drop_chry (basset merge-peaks --keep-chry)",
    "skipped_noncanonical": "peaks.drop_noncanonical (basset merge-peaks --keep-noncanonical)",
    "skipped_short_chrom": "peaks.feature_size (chromosomes shorter than one site)",
}


def _all_dropped_error(path, name: str, row: dict, peak_names, genome_names) -> InputError:
    reasons = "; ".join(f"{row[k]} {k[8:].replace('_', ' ')} (key {SKIP_KEYS[k]})" for k in SKIP_KEYS if row[k])
    text = (f"sample {name!r}: none of its {row['peaks']} peaks can be used: {reasons}. Chromosomes in the peak "
            f"file: {', '.join(map(str, list(peak_names)[:6]))}; in the genome: {', '.join(list(genome_names)[:6])}"
            f"{', ...' if len(genome_names) > 6 else ''}")
    return InputError(path, text)


def merge_peak_files(samples: pd.DataFrame, chrom_sizes: dict[str, int], feature_size: int = 600,
                     merge_overlap: int = 200, midpoint: str = "center", drop_chry: bool = False,
                     drop_noncanonical: bool = False, paths: list[str] | None = None,
                     progress: bool = True) -> MergeResult:
    """Read every sample's peak file and merge them as Basset does.

    ``samples``: rows in target order with columns ``name``, ``peaks`` and ``format``; ``paths`` overrides
    the ``peaks`` column (downloaded copies of URLs). ``chrom_sizes`` (from the FASTA index) gives the
    chromosome order of the output and the clamping lengths. Peak chromosome names that match the genome's
    only after adding or removing ``chr`` (or chrM/MT) are mapped to the genome's names, logged, and listed in
    the ``renamed`` column of the per-target table. Peaks on chromosomes missing from the genome, on
    chromosomes shorter than ``feature_size``, on chrY (``drop_chry``) or on non-canonical contigs
    (``drop_noncanonical``: anything but chr1-22, X, Y) are skipped and counted. A sample none of whose peaks
    is left raises :class:`InputError` naming the sample, the count per reason and the key behind each.
    """
    names = list(samples["name"])
    files = list(paths) if paths is not None else list(samples["peaks"])
    formats = list(samples["format"]) if "format" in samples else ["bed"] * len(names)
    chrom_names = [str(c) for c in chrom_sizes]
    chrom_index = {c: i for i, c in enumerate(chrom_names)}
    sizes = np.array(list(chrom_sizes.values()), dtype=np.int64)
    allowed = np.ones(len(chrom_names), dtype=bool)
    is_y_genome = np.array([c in ("chrY", "Y") for c in chrom_names], dtype=bool)
    if drop_chry:
        allowed &= ~is_y_genome
    if drop_noncanonical:
        allowed &= np.array([bool(CANONICAL.match(c)) for c in chrom_names], dtype=bool)
    allowed &= sizes >= feature_size

    parts_chrom, parts_minus, parts_mid, parts_target, rows = [], [], [], [], []
    bar = progress_bar(len(names), progress, "reading peaks", "file")
    for t, (name, path, fmt) in enumerate(zip(names, files, formats)):
        pk = read_peaks(path, fmt, midpoint)
        bar.update(1)
        if len(pk) == 0:
            raise InputError(path, f"sample {name!r}: the peak file holds no peaks")
        mapping = match_chromosomes(pk.names, chrom_names)
        lookup = np.array([chrom_index[mapping[c]] if c in mapping else -1 for c in pk.names], dtype=np.int64)
        cidx = lookup[pk.codes]  # genome index of every peak, -1 where absent
        known = cidx >= 0
        safe = np.maximum(cidx, 0)
        ok_chrom = known & allowed[safe]
        short = known & (sizes[safe] < feature_size)
        y_dropped = known & is_y_genome[safe] & ~short if drop_chry else np.zeros(len(pk), dtype=bool)
        row = {
            "index": t, "name": name, "file": str(path), "format": fmt, "peaks": len(pk),
            "skipped_unknown_chrom": int((~known).sum()),
            "skipped_chrY": int(y_dropped.sum()),
            "skipped_short_chrom": int(short.sum()),
        }
        row["skipped_noncanonical"] = int((known & ~ok_chrom).sum()) - row["skipped_chrY"] - row["skipped_short_chrom"]
        row["kept"] = int(ok_chrom.sum())
        row["renamed"] = _renamed(mapping)
        if row["renamed"]:
            log.info("%s: chromosome names mapped onto the genome's: %s", name, row["renamed"])
        if row["skipped_unknown_chrom"]:
            missing = [str(c) for c in pk.names if c not in mapping]
            log.warning("%s: %d peaks on %d chromosomes absent from the genome skipped (%s%s)", name,
                        row["skipped_unknown_chrom"], len(missing), ", ".join(missing[:5]),
                        ", ..." if len(missing) > 5 else "")
        if row["kept"] == 0:
            raise _all_dropped_error(path, name, row, pk.names, chrom_names)
        rows.append(row)
        parts_chrom.append(cidx[ok_chrom].astype(np.int32))
        parts_minus.append(pk.minus[ok_chrom])
        parts_mid.append(pk.mid[ok_chrom])
        parts_target.append(np.full(row["kept"], t, dtype=np.int32))

    bar.close()
    sp = sort_peaks(np.concatenate(parts_chrom), np.concatenate(parts_minus), np.concatenate(parts_mid),
                    np.concatenate(parts_target), chrom_names, sizes)
    del parts_chrom, parts_minus, parts_mid, parts_target
    sites = merge_sorted(sp, len(names), feature_size, merge_overlap)
    stats = pd.DataFrame(rows)
    stats["active_sites"] = sites.activity.sum(axis=0, dtype=np.int64)
    skipped = {c: int(stats[c].sum()) for c in stats.columns if c.startswith("skipped_")}
    log.info("merged %d peaks of %d targets into %d sites of %d bp (skipped: %s)", len(sp.mid), len(names),
             len(sites), feature_size, ", ".join(f"{k[8:]}={v}" for k, v in skipped.items()))
    return MergeResult(sites, names, stats, skipped)


# ----------------------------------------------------------------------------------------------------
# Writing and reading merged sites
# ----------------------------------------------------------------------------------------------------
def write_sites(path: str | Path, sites: Sites) -> None:
    """6-column BED (no header): chrom, start, end, name ``chrom:start-end(strand)``, score (= number of
    active targets), strand."""
    df = pd.DataFrame({"chrom": sites.chrom, "start": sites.start, "end": sites.end, "name": sites.names,
                       "score": sites.activity.sum(axis=1, dtype=np.int64), "strand": sites.strand})
    with atomic_path(path) as tmp:
        df.to_csv(tmp, sep="\t", header=False, index=False)


def read_sites(path: str | Path) -> pd.DataFrame:
    """Read :func:`write_sites` output: DataFrame with chrom, start, end, name, score, strand."""
    try:
        df = pd.read_csv(path, sep="\t", header=None, names=["chrom", "start", "end", "name", "score", "strand"],
                         dtype={"chrom": str, "start": np.int64, "end": np.int64, "name": str, "strand": str},
                         keep_default_na=False)
    except (ValueError, pd.errors.ParserError) as exc:
        raise InputError(path, f"expected a 6-column BED of merged sites: {exc}") from None
    return df


def write_activity(path: str | Path, target_names: list[str], site_names: np.ndarray, activity: np.ndarray,
                   compresslevel: int = 1) -> None:
    """Activity table, gzipped TSV (by the ``.gz`` suffix): header ``site<TAB>target...``, one 0/1 row per site.

    Rows are formatted as one byte matrix per block (no per-cell Python work); gzip's mtime is 0 so the
    same merge gives byte-identical files.
    """
    n, t = activity.shape
    with atomic_open(path, "wb", gzip_level=compresslevel if str(path).endswith(".gz") else None) as fh:
        fh.write(("site\t" + "\t".join(target_names) + "\n").encode())
        for lo in range(0, n, 200_000):
            block = activity[lo:lo + 200_000]
            chars = np.full((block.shape[0], 2 * t), ord("\t"), dtype=np.uint8)
            chars[:, 0::2] = block + ord("0")
            chars[:, -1] = ord("\n")
            rows = chars.view(f"S{2 * t}").ravel().tolist()  # "S" drops a trailing NUL only, never a newline
            fh.write(b"".join(name.encode() + b"\t" + row for name, row in zip(site_names[lo:lo + 200_000], rows)))


def read_activity(path: str | Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Read :func:`write_activity` output: ``(target_names, site_names (n,), activity (n, T) uint8)``."""
    with open_text(path) as fh:
        header = fh.readline().rstrip("\r\n").split("\t")
    if len(header) < 2 or header[0] != "site":
        raise InputError(path, "expected a header 'site<TAB>target...'", 1)
    targets = header[1:]
    df = pd.read_csv(path, sep="\t", header=0, dtype={c: np.uint8 for c in targets} | {"site": str},
                     engine="c", compression=compression(path))
    if list(df.columns[1:]) != targets:
        raise InputError(path, "duplicate target names in the header", 1)
    return targets, df["site"].to_numpy(dtype=object), df[targets].to_numpy(dtype=np.uint8)


def write_merge(result: MergeResult, sites_path, activity_path, targets_path, summary_path,
                samples: pd.DataFrame | None = None) -> None:
    """Write the four outputs of a merge: sites BED, activity table, per-target TSV and summary TSV.

    The per-target table has the sample sheet's group and label beside the counts; the summary is
    ``key<TAB>value`` (peaks read, sites, targets, peaks skipped by reason).
    """
    sites = result.sites
    write_sites(sites_path, sites)
    write_activity(activity_path, result.target_names, sites.names, sites.activity)
    stats = result.stats.copy()
    if samples is not None:
        for col in ("group", "label"):
            if col in samples:
                stats.insert(2, col, list(samples[col]))
    with atomic_path(targets_path) as tmp:
        stats.to_csv(tmp, sep="\t", index=False)
    summary = {"targets": len(result.target_names), "peaks_read": int(stats["peaks"].sum()),
               "peaks_kept": int(stats["kept"].sum()), "sites": len(sites),
               "mean_targets_per_site": float(sites.activity.sum(axis=1).mean()) if len(sites) else 0.0,
               **{k: v for k, v in result.skipped.items()}}
    write_summary(summary_path, summary)

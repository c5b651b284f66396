"""Peak and site files: reading BED-like peak files into midpoints, writing and reading the merged sites and
their activity table.

Peak files (narrowPeak, BED, hotspot; plain or gzipped, decided by content) are read by pandas' C parser in one
pass over the decompressed bytes, with chromosome and strand as categories (no Python string per peak). Real
files need what no BED library gives together: ``track``/``browser``/``#`` lines and a column header, CRLF line
ends, lines of different widths (valid BED), chromosome names that stay strings (``1`` is ``"1"``), and errors
that name the file and line. The fast parse raises nothing useful on a bad line, so a slow line-by-line check
(``_validate_lines``) runs only when the fast one fails, to say where.

Coordinates are 0-based, half-open, in bp.
"""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InputError
from .fileio import (
    atomic_open,
    atomic_path,
    compression,
    header_lines,
    is_gzip,
    open_text,
    read_errors,
)

#: lines that are not records: UCSC track and browser lines, comments
SKIP_PREFIXES = ("#", "track", "browser")
#: columns read from a peak file: chrom, start, end, strand, narrowPeak summit offset (0-based)
_CHROM, _START, _END, _STRAND, _SUMMIT = 0, 1, 2, 5, 9


@dataclass
class Peaks:
    """Midpoints of one peak file: chromosome ``codes`` (n,) int into ``names``, ``mid`` (n,) int64 bp,
    ``minus`` (n,) bool, and the intervals ``start``, ``end``. Chromosomes stay categorical: no Python string per
    peak."""

    names: np.ndarray  # (n_chrom,) object
    codes: np.ndarray  # (n,) int
    mid: np.ndarray
    minus: np.ndarray
    start: np.ndarray | None = None  # (n,) int64: the intervals themselves (0-based, half-open), for binning
    end: np.ndarray | None = None

    @property
    def chrom(self) -> np.ndarray:
        """(n,) object chromosome names."""
        return self.names[self.codes]

    def __len__(self) -> int:
        return len(self.mid)


def _no_peaks() -> Peaks:
    return Peaks(np.empty(0, object), np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, bool),
                 np.empty(0, np.int64), np.empty(0, np.int64))


# ------------------------------------------------------------------------------------------------ peak files
def _is_header(line: str, n: int) -> bool:
    """A ``track``/``browser``/``#`` or blank line, or (first line only) a column header such as
    ``chrom  start  end``."""
    if line.startswith(SKIP_PREFIXES) or not line.strip():
        return True
    fields = line.split("\t")
    return n == 0 and len(fields) >= 3 and not fields[1].strip().lstrip("-").isdigit()


def _check_fields(path: Path, f: list[str], lineno: int, line: str, use_summit: bool) -> None:
    """Raise an :class:`InputError` naming ``path:lineno`` if the fields ``f`` of one record are not valid."""
    if len(f) < 3:
        raise InputError(path, f"expected at least 3 tab-separated columns (chrom, start, end), got {len(f)}",
                         lineno, line[:80])
    if not f[0]:
        raise InputError(path, "expected a chromosome name in column 1, got an empty field", lineno)
    try:
        start, end = int(f[1]), int(f[2])
    except ValueError:
        raise InputError(path, f"expected integer start and end in columns 2-3, got {f[1]!r} and {f[2]!r}",
                         lineno) from None
    if start < 0 or start > end:
        raise InputError(path, f"expected 0 <= start <= end, got start={start} end={end}", lineno)
    if len(f) >= 10 and use_summit and f[9].strip():
        try:
            int(f[9])
        except ValueError:
            raise InputError(path, f"expected an integer summit offset in column 10, got {f[9]!r}",
                             lineno) from None
    if len(f) >= 6 and f[5].strip() not in ("+", "-", ".", ""):
        raise InputError(path, f"expected strand '+', '-' or '.' in column 6, got {f[5]!r}", lineno)


def _validate_lines(path: str | Path, fmt: str, skip: int, midpoint: str) -> None:
    """Slow, line-by-line check of a peak file that raises an :class:`InputError` at the first bad line (called
    only when the fast parse has failed: it always raises)."""
    path = Path(path)
    use_summit = fmt == "narrowPeak" and midpoint == "summit"
    with read_errors(path, "peak file"), open_text(path) as fh:
        for lineno, line in enumerate(fh, 1):
            if lineno <= skip or line.startswith(SKIP_PREFIXES) or not line.strip():
                continue
            text = line.rstrip("\r\n")
            _check_fields(path, text.split("\t"), lineno, text, use_summit)
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


def _parse_columns(path: Path, fmt: str, skip: int, midpoint: str, use_summit: bool) -> pd.DataFrame:
    """The chrom, start, end (and strand, summit where present) columns of a peak file, by the C parser."""
    data = _read_bytes(path)
    width = _widest_line(data, skip)
    cols = [c for c in (_CHROM, _START, _END, _STRAND, _SUMMIT) if c < width and (c != _SUMMIT or use_summit)]
    try:
        # names= as wide as the widest line: shorter lines (BED allows mixed widths) are padded with ''
        # chromosome and strand as categories (whose categories the C parser always keeps as strings: "1"
        # stays "1"), coordinates parsed as integers by the C parser itself
        df = pd.read_csv(io.BytesIO(data), sep="\t", header=None, names=range(width), skiprows=skip,
                         usecols=cols, dtype={0: "category", 1: np.int64, 2: np.int64, 5: "category", 9: str},
                         engine="c", na_filter=False, quoting=3, comment=None, skip_blank_lines=True)
    except (ValueError, TypeError, pd.errors.ParserError, UnicodeDecodeError):
        # a short line, a non-integer coordinate, a stray track line: find it and say where
        _validate_lines(path, fmt, skip, midpoint)
        raise
    return df


def _strand_minus(df: pd.DataFrame, check) -> np.ndarray:
    """(n,) bool: strand ``-``; a missing or empty strand counts as ``.``."""
    if _STRAND not in df:
        return np.zeros(len(df), dtype=bool)
    strands = [str(c).strip() for c in df[_STRAND].array.categories]
    if set(strands) - {"+", "-", ".", ""}:
        check()
    return np.isin(df[_STRAND].array.codes, [i for i, c in enumerate(strands) if c == "-"])


def _summit_mid(df: pd.DataFrame, start: np.ndarray, mid: np.ndarray, check) -> None:
    """Set ``mid`` to ``start + summit`` in place where the narrowPeak summit is present and not -1."""
    text = df[_SUMMIT].str.strip()
    summit = pd.to_numeric(text.where(text != "", "-1"), errors="coerce")
    if summit.isna().any():
        check()
    summit = summit.to_numpy(dtype=np.int64)
    has = summit >= 0
    mid[has] = start[has] + summit[has]


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
    skip, first = header_lines(path, _is_header, "peak file")
    if first is None:
        return _no_peaks()

    def check():
        _validate_lines(path, fmt, skip, midpoint)

    if len(first.split("\t")) < 3:
        check()
    use_summit = midpoint == "summit" and fmt == "narrowPeak"
    df = _parse_columns(path, fmt, skip, midpoint, use_summit)
    start = df[_START].to_numpy()
    end = df[_END].to_numpy()
    chrom = df[_CHROM].array
    if ((start < 0) | (start > end)).any() or "" in chrom.categories:
        check()
    minus = _strand_minus(df, check)
    mid = (start + end) // 2
    if use_summit and _SUMMIT in df:
        _summit_mid(df, start, mid, check)
    return Peaks(np.asarray([str(c) for c in chrom.categories], dtype=object), chrom.codes.astype(np.int64), mid,
                 minus, start.astype(np.int64), end.astype(np.int64))


# ------------------------------------------------------------------------------------------------ merged sites
def write_sites(path: str | Path, sites) -> None:
    """6-column BED (no header) of :class:`basset.peaks.Sites`: chrom, start, end, name ``chrom:start-end(strand)``,
    score (= number of active targets), strand."""
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

"""VCF files: streaming records (:func:`iter_vcf`), the reference and alternative windows of each variant
checked against the genome (:func:`variant_sequences`), and the raw lines of a large VCF streamed from a URL or
a file (:func:`vcf_lines`, which :func:`basset.pics.select_vcf_records` filters). Positions are VCF-style,
**1-based**.

* **Reading** (:func:`iter_vcf`): plain or gzipped/bgzipped text (decided by content, not the suffix), with or
  without a ``#`` header. Only the first five columns are used. A multi-allelic record (``ALT = A,G``) becomes
  one row per ALT allele; the ID is **kept unchanged** on every row (so that rsIDs still join to PICS tables),
  rows are told apart by ``alt``. Symbolic or missing ALT alleles (``<DEL>``, ``*``, ``.``, breakends with
  ``[``/``]``) are skipped and counted, not errors. Alleles are upper-cased; any other character than
  ``ACGTN`` in REF or ALT is an error naming the file and line.
* **Windows** (:func:`variant_sequences`): for a model input of ``L`` bp each allele is **centred**: its middle
  base (the left one of the two middle bases for an even length) sits at 0-based index ``c = L // 2`` (index 300
  of 600; an SNV's base itself; Basset's own scripts used ``L // 2 - 1``). Windows running off a chromosome end
  are padded with N (code 4) and counted (``off_end_padded``), never skipped.
* **Chromosome names** are matched to the genome's by :class:`basset.sequence.ChromosomeMatcher` (``1`` /
  ``chr1``, ``M`` / ``MT`` / ``chrM``); the mapping is collected for the log.
* **Reference check and swap**: the REF allele must match the genome at ``POS``. If a same-length variant
  (SNV or MNP) shows the ALT allele in the genome instead, the alleles are **swapped**: the scored ``ref``
  is the genome's allele (the VCF ALT), ``alt`` the VCF REF and ``swapped`` is true, so that the SAD is the
  negative of the VCF orientation (negate it where ``swapped`` to recover that). Basset's ``basset_sad.py``
  instead edits the reference window to carry the VCF REF; for SNVs both score the same pair of sequences,
  only the sign and the labels differ. A variant matching neither allele is skipped (``ref_mismatch``); a
  chromosome missing from the genome is skipped (``unknown_chrom``); an allele running past the chromosome
  end is skipped (``outside_chrom``); a REF or ALT holding N is skipped (``n_allele``), never swapped.
* **Indels** are scored by replacement, each window centring its own allele: the reference window is the genome
  with REF centred; the alternative window is the genome's left flank (``c - (len(ALT) - 1) // 2`` bases before
  POS), ALT, then the genome from just after REF, cut to ``L`` bp. So an insertion pushes the flanks out on both
  sides and a deletion pulls genome in from both, as Selene's variant effect scorer centres its alleles (it
  leans even-length alleles the other way by one base). REF must match the genome (no swap for indels);
  otherwise the variant is skipped and counted (``indel_ref_mismatch_skipped``).
* **Malformed records** (fewer than 5 columns, a POS that is not an integer >= 1, other letters than ACGTN in an
  allele) are rejected, with their file, line and reason, and the stream goes on, unless ``strict``: then the
  first is an :class:`InputError` naming the file and line (:func:`iter_vcf`).
* **Duplicates** (the same chrom, pos, ref and alt as an earlier record) are recognised over the whole stream by
  :class:`RecordDeduper`.
* **Streaming** (:func:`vcf_lines`): a dbSNP or 1000 Genomes sites VCF (gzip, bgzip or plain, a URL or a
  file) is read once in blocks and never stored whole; a connection lost or a body shorter than announced
  raises instead of passing for the end of the file.

Why not pysam or cyvcf2: both need htslib (and an index for random access), while scoring needs only the
first five columns in file order, which pandas' C reader streams fast; the selection reads a multi-GB file
from a URL once, line by line, which needs no more than zlib.
"""

from __future__ import annotations

import contextlib
import csv
import http.client
import itertools
import re
import urllib.error
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from .download import DownloadError, check_url, open_url
from .errors import InputError
from .fileio import GZIP_MAGIC, compression, header_lines, line_at, open_text
from .logs import progress_bar
from .sequence import CODE_LUT, N_CODE, ChromosomeMatcher, Genome

VCF_COLUMNS = ["chrom", "pos", "id", "ref", "alt"]

# allele characters accepted by the VCF reader (upper case after .upper())
_VALID = np.zeros(256, dtype=bool)
_VALID[np.frombuffer(b"ACGTN", dtype=np.uint8)] = True
_POW10 = 10 ** np.arange(16, dtype=np.int64)

#: the outcome of each variant of :func:`variant_sequences` (``status``): scored as written, scored with REF and
#: ALT exchanged, or skipped (why); :mod:`basset.sadfile` stores them as an enum in this order
STATUSES = ("ok", "swapped", "ref_mismatch", "unknown_chrom", "outside_chrom", "n_allele")
_OK, _SWAPPED, _REF_MISMATCH, _UNKNOWN_CHROM, _OUTSIDE_CHROM, _N_ALLELE = range(len(STATUSES))
_STATUS_NAMES = np.array(STATUSES, dtype=object)


# --------------------------------------------------------------------------------------------- reading
def _is_vcf_header(text: str, _n: int) -> bool:
    """Lines before the first record: ``#`` lines and blank ones (pandas' reader takes its number of columns from
    its first line, and a blank first line made it read no record at all, without a word)."""
    return text.startswith("#") or not text.strip()


def _first_short_line(path: str | Path) -> tuple[int, str] | None:
    """The first data line with fewer than 5 tab-separated fields and its 1-based number (error path only)."""
    n, text = header_lines(path, lambda t, _n: not t.strip() or t.startswith("#") or len(t.split("\t")) >= 5, "VCF")
    return None if text is None else (n + 1, text)


def _short_line_error(path, lineno: int, text: str) -> InputError:
    n = len(text.split("\t")) if text else 0
    what = f"got {n}" if n < 5 else "got an empty CHROM, REF or ALT field"
    return InputError(path, f"expected at least 5 tab-separated columns (CHROM POS ID REF ALT), {what}",
                      line=lineno, record=text[:200])


def _texts(values) -> np.ndarray:
    """An object array of ``str`` (a missing field, NaN, becomes ``""``)."""
    a = np.asarray(values, dtype=object)
    try:
        "".join(a)  # C speed; raises on anything but str
    except TypeError:
        a = np.array([x if isinstance(x, str) else "" for x in a], dtype=object)
    return a


def _lengths(a: np.ndarray) -> np.ndarray:
    """``(n,) int64`` lengths of an object array of ``str``."""
    return np.fromiter(map(len, a), dtype=np.int64, count=len(a))


def _rows_with(a: np.ndarray, text: str) -> np.ndarray:
    """``(n,) bool``: the strings of ``a`` that contain ``text``; one search of the joined strings when none does."""
    if text not in "".join(a):
        return np.zeros(len(a), dtype=bool)
    return np.fromiter((text in x for x in a), dtype=bool, count=len(a))


def _upper(a: np.ndarray) -> np.ndarray:
    """The strings of ``a`` in upper case (``a`` itself when none has a lower-case letter, the usual case)."""
    joined = "".join(a)
    if joined.upper() == joined:
        return a
    return np.array([x.upper() for x in a], dtype=object)


def _bad_allele_rows(alleles: np.ndarray) -> np.ndarray:
    """``(n,) bool``: alleles that are empty or hold a character other than ACGTN (vectorised)."""
    if alleles.size == 0:
        return np.zeros(0, dtype=bool)
    lengths = _lengths(alleles)
    # one byte per character: non-ASCII characters become '?', which is invalid, and keep the lengths
    buf = np.frombuffer("".join(alleles).encode("ascii", errors="replace"), dtype=np.uint8)
    bad_char = ~_VALID[buf]
    bad = lengths == 0
    if bad_char.any():
        rows = np.repeat(np.arange(alleles.size), lengths)
        bad |= np.bincount(rows[bad_char], minlength=alleles.size) > 0
    return bad


def _is_symbolic(alt: np.ndarray) -> np.ndarray:
    """ALT alleles (an object array of ``str``) that name no sequence: ``<ID>``, ``*`` (spanning deletion), ``.``
    and breakends (``[`` or ``]``)."""
    joined = "".join(alt)
    if not any(c in joined for c in "<*.[]"):  # the usual chunk: one search each, no loop over the rows
        return np.zeros(len(alt), dtype=bool)
    return np.fromiter((a.startswith("<") or a in ("*", ".") or "[" in a or "]" in a for a in alt), dtype=bool,
                       count=len(alt))


#: the columns of a table of rejected and skipped records (``rejects`` of :func:`iter_vcf`, the rejects file
#: beside a SAD file): the VCF, its 1-based line, the record's fields as written, and why
REJECT_COLUMNS = ["file", "line", "id", "chrom", "pos", "ref", "alt", "reason"]


def reject_frame(path, rows, reasons) -> pd.DataFrame:
    """:data:`REJECT_COLUMNS` for the records ``rows`` (a frame or a dict of arrays with line, id, chrom, pos, ref,
    alt) of ``path``."""
    col = {k: np.asarray(rows[k]) for k in ("line", "id", "chrom", "pos", "ref", "alt")}
    return pd.DataFrame({"file": str(path), "line": col["line"].astype(np.int64),
                         "id": col["id"].astype(object), "chrom": col["chrom"].astype(object),
                         "pos": np.array([str(x) for x in col["pos"]], dtype=object),
                         "ref": col["ref"].astype(object), "alt": col["alt"].astype(object),
                         "reason": np.asarray(reasons, dtype=object)})


def _pos_reason(value: str) -> str:
    """Why ``value`` is not a VCF POS (ASCII digits: ``'٣'`` is a digit to Python, not to a VCF)."""
    if value.isascii() and value.isdigit():
        return f"POS too large, got {value!r}" if len(value) > 15 else \
            f"POS must be >= 1 (VCF positions are 1-based), got {int(value)}"
    if value.isascii() and value.lstrip("-").isdigit():
        return f"POS must be >= 1 (VCF positions are 1-based), got {value!r}"
    return f"expected an integer POS, got {value!r}"


def _positions(pos_text: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(n,) int64`` POS of an object array of raw POS fields (0 where bad) and ``(n,) bool``: bad (not 1 to 15
    ASCII digits, or 0)."""
    n = len(pos_text)
    lengths = _lengths(pos_text)
    joined = "".join(pos_text)
    if n and joined.isascii() and joined.isdigit() and lengths.min() >= 1 and lengths.max() <= 15:
        # the usual chunk: every field is digits; their values from the joined bytes, without a Python int each
        digits = np.frombuffer(joined.encode("ascii"), dtype=np.uint8).astype(np.int64) - 48
        ends = np.cumsum(lengths)
        power = np.repeat(ends, lengths) - 1 - np.arange(ends[-1])  # digits to the right of each digit
        pos = np.add.reduceat(digits * _POW10[power], ends - lengths)
    else:
        good = np.fromiter((x.isascii() and x.isdigit() and len(x) <= 15 for x in pos_text), dtype=bool, count=n)
        pos = np.zeros(n, dtype=np.int64)
        if good.any():
            pos[good] = np.fromiter(map(int, pos_text[good]), dtype=np.int64, count=int(good.sum()))
    bad = pos < 1
    pos[bad] = 0
    return pos, bad


class _Rejector:
    """Malformed records of one VCF: when ``strict`` the first of a chunk (by line) is raised as :class:`InputError`
    by :meth:`raise_first`, else each goes to the ``rejects`` callable (a :data:`REJECT_COLUMNS` frame) and is
    counted as ``malformed_rejected``."""

    def __init__(self, path, strict: bool, rejects, counts: Counter):
        self.path, self.strict, self.rejects, self.counts = path, strict, rejects, counts
        self.first: InputError | None = None

    def error(self, err: InputError) -> None:
        """Keep ``err`` if it is on the earliest line so far (strict)."""
        if self.first is None or err.line < self.first.line:
            self.first = err

    def raise_first(self) -> None:
        if self.first is not None:
            err, self.first = self.first, None
            raise err

    def __call__(self, rows: dict, bad: np.ndarray, reason) -> np.ndarray:
        """Reject the rows of ``rows`` (a dict of arrays, :func:`_take`) where ``bad``; ``reason(i)`` is the text for
        row ``i``. Returns ``~bad``."""
        if not bad.any():
            return ~bad
        idx = np.flatnonzero(bad)
        if self.strict:
            i = int(idx[0])
            self.error(InputError(self.path, reason(i), line=int(rows["line"][i])))
            return ~bad
        self.counts["malformed_rejected"] += int(idx.size)
        if self.rejects is not None:
            self.rejects(reject_frame(self.path, _take(rows, idx), [reason(int(i)) for i in idx]))
        return ~bad


def _take(rows: dict, which) -> dict:
    """The rows ``which`` (a bool mask or indices) of a dict of equally long arrays."""
    return {key: value[which] for key, value in rows.items()}


def _split_alts(rows: dict, counts: Counter, reject: _Rejector, skipped=None) -> dict:
    """One row per ALT allele of ``rows`` (a dict of arrays), symbolic ones dropped (counted, and listed by
    ``skipped`` when given); a record with a bad ALT character is rejected whole."""
    multi = _rows_with(rows["alt"], ",")
    if multi.any():
        n_records = len(multi)
        counts["multiallelic_records"] += int(multi.sum())
        parts = [a.split(",") for a in rows["alt"]]
        rows = _take(rows, np.repeat(np.arange(n_records), np.fromiter(map(len, parts), dtype=np.int64,
                                                                        count=n_records)))
        rows["alt"] = np.array(list(itertools.chain.from_iterable(parts)), dtype=object)
        counts["multiallelic_extra_rows"] += int(len(rows["alt"]) - n_records)
    symbolic = _is_symbolic(rows["alt"])
    if symbolic.any():
        counts["symbolic_skipped"] += int(symbolic.sum())
        if skipped is not None:
            skipped(reject_frame(reject.path, _take(rows, symbolic), "symbolic or missing ALT allele: skipped"))
        rows = _take(rows, ~symbolic)
    bad = _bad_allele_rows(rows["alt"])
    if bad.any():
        lines = rows["line"]
        bad_record = np.isin(lines, lines[bad])  # every ALT row of a record with one bad ALT
        first = np.flatnonzero(bad_record)
        first = first[np.unique(lines[first], return_index=True)[1]]  # one reject line per record
        one = np.zeros(len(lines), dtype=bool)
        one[first] = True
        record_alt: dict[int, str] = {}
        for i, a in zip(np.flatnonzero(bad), rows["alt"][bad]):
            record_alt.setdefault(int(lines[i]), a)  # the record's first bad ALT
        reject(rows, one, lambda i: "expected ALT alleles of A, C, G, T, N (or a symbolic allele), got "
                                    f"{record_alt[int(lines[i])]!r}")
        rows = _take(rows, ~bad_record)
    return rows


_SHORT_REASON = "expected at least 5 tab-separated columns (CHROM POS ID REF ALT) with a CHROM, REF and ALT"


def _check_chunk(path, raw: pd.DataFrame, counts: Counter, reject: _Rejector, skipped=None) -> pd.DataFrame:
    """Validate one chunk of raw string columns (+ ``line``): malformed records rejected (:class:`_Rejector`),
    multi-allelic records split.

    Plain object arrays and one search of each column's joined text for the usual chunk, not pandas' string
    methods (which cost 5x more on pandas 3's python-backed strings: bench_sad.py)."""
    rows = {key: _texts(raw[key].to_numpy(dtype=object)) for key in VCF_COLUMNS}
    rows["line"] = raw["line"].to_numpy(dtype=np.int64)
    empty = {key: _lengths(rows[key]) == 0 for key in VCF_COLUMNS}
    blank = np.logical_and.reduce([empty[key] for key in VCF_COLUMNS])
    if "#" in "".join(rows["chrom"]):
        blank |= np.fromiter((c.startswith("#") for c in rows["chrom"]), dtype=bool, count=len(blank))
    if blank.any():
        rows, empty = _take(rows, ~blank), _take(empty, ~blank)
    counts["variants_read"] += len(rows["line"])
    short = empty["alt"] | empty["ref"] | empty["chrom"]
    if short.any() and reject.strict:
        lineno = int(rows["line"][np.argmax(short)])
        reject.error(_short_line_error(path, lineno, line_at(path, lineno, "VCF")))
    keep = reject(rows, short, lambda i: _SHORT_REASON)
    rows = _take(rows, keep)
    pos, bad_pos = _positions(rows["pos"])
    pos_text = rows["pos"]
    keep = reject(rows, bad_pos, lambda i: _pos_reason(str(pos_text[i])))
    ref, ref_text = _upper(rows["ref"]), rows["ref"]
    keep &= reject(rows, _bad_allele_rows(ref) & keep,
                   lambda i: f"expected a REF allele of A, C, G, T, N, got {ref_text[i]!r}")
    rows = {"chrom": rows["chrom"][keep], "pos": pos[keep], "id": rows["id"][keep], "ref": ref[keep],
            "alt": _upper(rows["alt"][keep]), "line": rows["line"][keep]}
    rows = _split_alts(rows, counts, reject, skipped)
    reject.raise_first()
    return pd.DataFrame(rows)


def iter_vcf(path: str | Path, chunk_size: int = 100_000, counts: Counter | dict | None = None, *,
             strict: bool = True, rejects=None, skipped=None, shard: tuple[int, int] | None = None
             ) -> Iterator[pd.DataFrame]:
    """Stream a VCF as DataFrames of at most ``chunk_size`` records (more rows after multi-allelic splits).

    Columns: ``chrom`` (str), ``pos`` (int64, 1-based as in the VCF), ``id``, ``ref``, ``alt`` (upper case,
    one ALT per row) and ``line`` (1-based line number in the file). Plain or gzip/bgzip (by magic
    bytes); the header is optional. ``counts`` (a dict or Counter) is updated in place with
    ``variants_read``, ``multiallelic_records``, ``multiallelic_extra_rows``, ``symbolic_skipped`` and
    ``malformed_rejected``.

    A malformed record (fewer than 5 columns, a POS that is not an integer >= 1, a REF or ALT character other
    than ACGTN) raises :class:`InputError` naming the file and line when ``strict``; otherwise it is left out,
    counted, and passed to ``rejects`` (a callable taking a :data:`REJECT_COLUMNS` frame) with the reason.
    ``skipped``, when given, receives the records of symbolic ALT alleles the same way.

    ``shard=(k, n)``: the chunks ``i`` (0-based, ``chunk_size`` lines each) with ``i % n == k`` are this job's,
    so that ``n`` jobs share a VCF by record count, each reading it once. Every chunk is still yielded, with
    ``df.attrs["mine"]`` false for the others' (read leniently: their malformed records are dropped, not counted,
    not passed to ``rejects`` and never raise), so that a job can see the records before its own (duplicates).
    Without a shard every chunk is ``mine``.
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    if shard is not None and not (shard[1] >= 1 and 0 <= shard[0] < shard[1]):
        raise ValueError(f"shard must be (k, n) with 0 <= k < n, got {shard}")
    counts = counts if counts is not None else Counter()
    for key in ("variants_read", "multiallelic_records", "multiallelic_extra_rows", "symbolic_skipped",
                "malformed_rejected"):
        counts.setdefault(key, 0)
    tally: Counter = Counter()
    reject = _Rejector(path, strict, rejects, tally)
    lenient = _Rejector(path, False, None, tally)  # the chunks of other shards
    n_header, _ = header_lines(path, _is_vcf_header, "VCF")

    def count(mine: bool) -> None:  # the tally of what was just read, into counts when this shard owns it
        if mine:
            for key, value in tally.items():
                counts[key] = counts.get(key, 0) + value
        tally.clear()

    if not strict:  # records of fewer than 5 columns before the first whole one: rejected here, the run goes on
        first_mine = shard is None or shard[0] == 0  # they belong to the first chunk
        n_header = _reject_leading_short_lines(path, n_header, reject if first_mine else lenient)
        count(first_mine)
    try:
        reader = pd.read_csv(path, sep="\t", header=None, usecols=range(5), names=None, dtype=str,
                             skiprows=n_header, skip_blank_lines=False, quoting=csv.QUOTE_NONE,
                             keep_default_na=False, na_filter=False, chunksize=chunk_size,
                             compression=compression(path), engine="c")
        chunks = iter(reader)
        for i in itertools.count():
            try:
                raw = next(chunks)
            except StopIteration:
                break
            mine = shard is None or i % shard[1] == shard[0]
            raw.columns = VCF_COLUMNS
            raw["line"] = raw.index.to_numpy(dtype=np.int64) + n_header + 1
            df = _check_chunk(path, raw, tally, reject if mine else lenient, skipped if mine else None)
            count(mine)
            df.attrs["mine"] = mine
            if len(df):
                yield df
    except pd.errors.EmptyDataError:
        return
    except (ValueError, pd.errors.ParserError) as exc:
        if isinstance(exc, InputError):
            raise
        short = _first_short_line(path)
        if short is not None:
            raise _short_line_error(path, *short) from None
        raise InputError(path, f"not a readable VCF: {exc}") from None


def _reject_leading_short_lines(path, n_header: int, reject: _Rejector) -> int:
    """Reject the records of fewer than 5 columns that come before the first whole record (pandas' reader takes its
    number of columns from its first line, so it cannot start on one of them); returns the lines to skip."""
    short, skip = [], 0  # skip: the lines before the first whole record (short, blank and # lines included)
    with open_text(path, newline="") as fh:
        for n, line in enumerate(fh):
            text = line.rstrip("\r\n")
            if n >= n_header and not _is_vcf_header(text, n):
                if len(text.split("\t")) >= 5:
                    break
                short.append((n + 1, (text.split("\t") + [""] * 5)[:5]))
            skip = n + 1
    if not short:
        return n_header
    fields = np.array([f for _, f in short], dtype=object)
    rows = {key: fields[:, k] for k, key in enumerate(VCF_COLUMNS)}
    rows["line"] = np.array([n for n, _ in short], dtype=np.int64)
    reject.counts["variants_read"] += len(short)
    reject(rows, np.ones(len(short), dtype=bool), lambda i: _SHORT_REASON)
    return skip


def read_vcf(path: str | Path, counts: Counter | dict | None = None) -> pd.DataFrame:
    """The whole VCF as one DataFrame (:func:`iter_vcf` columns); for small files."""
    chunks = list(iter_vcf(path, counts=counts))
    if not chunks:
        return pd.DataFrame({"chrom": pd.Series(dtype=object), "pos": pd.Series(dtype=np.int64),
                             "id": pd.Series(dtype=object), "ref": pd.Series(dtype=object),
                             "alt": pd.Series(dtype=object), "line": pd.Series(dtype=np.int64)})
    return pd.concat(chunks, ignore_index=True)


class RecordDeduper:
    """Which records repeat an earlier one (the same chrom, pos, ref and alt), over a whole stream of chunks.

    Each record is reduced to a 64-bit hash (pandas' ``hash_pandas_object``); the hashes seen so far are kept in a
    few sorted arrays of doubling size (8 bytes per record; merged as in a log-structured merge tree, so a file of
    80 M records costs about 640 MB and a few merges). Two different records share a hash with probability
    about ``n^2 / 2^65`` (3e-8 for a million records).
    """

    def __init__(self):
        self.levels: list[np.ndarray] = []

    def __call__(self, df: pd.DataFrame) -> np.ndarray:
        """``(n,) bool``: row ``i`` of ``df`` repeats an earlier row of ``df`` or of an earlier chunk."""
        if len(df) == 0:
            return np.zeros(0, dtype=bool)
        keys = pd.util.hash_pandas_object(df[["chrom", "pos", "ref", "alt"]], index=False).to_numpy(np.uint64)
        order = np.argsort(keys, kind="stable")  # equal keys stay in row order: the first of each comes first
        keys = keys[order]
        dup_sorted = np.zeros(len(keys), dtype=bool)
        dup_sorted[1:] = keys[1:] == keys[:-1]
        for level in self.levels:  # sorted needles: searchsorted walks the level once, not at random
            i = np.searchsorted(level, keys)
            dup_sorted |= level[np.minimum(i, len(level) - 1)] == keys
        # the new keys are sorted, distinct from each other and from every level, so a merge is a sort of two
        # sorted runs (timsort merges them in linear time; np.union1d on uint64 costs 100x more in numpy 2.4)
        new = keys[~dup_sorted]
        if new.size:
            self.levels.append(new)
            while len(self.levels) > 1 and len(self.levels[-2]) <= 2 * len(self.levels[-1]):
                top = self.levels.pop()
                self.levels[-1] = np.sort(np.concatenate([self.levels[-1], top]), kind="stable")
        dup = np.empty(len(keys), dtype=bool)
        dup[order] = dup_sorted
        return dup


# --------------------------------------------------------------------------------------------- sequences
class VariantSequences(NamedTuple):
    """What :func:`variant_sequences` returns. ``n`` rows in, ``k = kept.sum()`` windows out (in input order).

    ``ref``, ``alt``: ``(k, L) uint8`` codes; ``kept``, ``swapped``, ``off_end``, ``indel``: ``(n,) bool``;
    ``status``: ``(n,)`` str, one of ``ok``, ``swapped``, ``ref_mismatch``, ``unknown_chrom``,
    ``outside_chrom``; ``ref_allele``, ``alt_allele``: ``(n,)`` the scored alleles (swapped where
    ``swapped``).
    """

    ref: np.ndarray
    alt: np.ndarray
    kept: np.ndarray
    status: np.ndarray
    swapped: np.ndarray
    off_end: np.ndarray
    indel: np.ndarray
    ref_allele: np.ndarray
    alt_allele: np.ndarray

    def scored(self, variants: pd.DataFrame) -> pd.DataFrame:
        """The kept rows of ``variants`` (the frame given to :func:`variant_sequences`) as scored: ``chrom``,
        ``pos``, ``id``, ``ref`` and ``alt`` (the scored orientation) and ``swapped``."""
        k = self.kept
        return pd.DataFrame({"chrom": variants["chrom"].to_numpy(dtype=object)[k],
                             "pos": variants["pos"].to_numpy(dtype=np.int64)[k],
                             "id": variants["id"].to_numpy(dtype=object)[k],
                             "ref": self.ref_allele[k], "alt": self.alt_allele[k], "swapped": self.swapped[k]})

    def tally(self) -> Counter:
        """Counts of these variants: one per ``status`` value, and ``indel_ref_mismatch_skipped``,
        ``indels_scored``, ``mnps_scored``, ``snvs_scored`` and ``off_end_padded``."""
        counts = Counter(self.status.tolist())
        counts["indel_ref_mismatch_skipped"] += int(((self.status == "ref_mismatch") & self.indel).sum())
        counts["indels_scored"] += int((self.kept & self.indel).sum())
        same = self.kept & ~self.indel
        n_long = np.fromiter((len(a) > 1 for a in self.ref_allele[same]), dtype=bool, count=int(same.sum()))
        counts["mnps_scored"] += int(n_long.sum())
        counts["snvs_scored"] += int(same.sum() - n_long.sum())
        counts["off_end_padded"] += int(self.off_end.sum())
        return counts


def _allele_matrix(alleles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ragged alleles -> ``(n, m) uint8`` codes (padded with N) and ``(n,) int64`` lengths."""
    lengths = np.fromiter((len(a) for a in alleles), dtype=np.int64, count=len(alleles))
    m = int(lengths.max()) if lengths.size else 0
    out = np.full((len(alleles), max(m, 1)), N_CODE, dtype=np.uint8)
    if lengths.sum():
        codes = CODE_LUT[np.frombuffer("".join(alleles).encode("ascii"), dtype=np.uint8)]
        rows = np.repeat(np.arange(len(alleles)), lengths)
        cols = np.arange(codes.size) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        out[rows, cols] = codes
    return out, lengths


def _genome_matches(seq: np.ndarray, p0: np.ndarray, alleles: np.ndarray) -> np.ndarray:
    """``(n,) bool``: the genome ``seq`` shows ``alleles`` starting at 0-based ``p0`` (all inside ``seq``)."""
    codes, lengths = _allele_matrix(alleles)
    if codes.shape[1] == 1:
        return seq[p0] == codes[:, 0]
    cols = np.arange(codes.shape[1])
    idx = np.minimum(p0[:, None] + cols[None, :], seq.shape[0] - 1)
    return ((seq[idx] == codes) | (cols[None, :] >= lengths[:, None])).all(axis=1)


def _windows(seq: np.ndarray, starts: np.ndarray, length: int, out: np.ndarray | None = None,
             rows: np.ndarray | None = None) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """``(n, length) uint8`` windows of ``seq`` at 0-based ``starts`` (N outside) and ``(n,)`` off-end flags; with
    ``out`` and ``rows``, the windows are written into ``out[rows]`` and only the flags returned."""
    starts = np.asarray(starts, dtype=np.int64)
    off = (starts < 0) | (starts + length > seq.shape[0])
    own = out is None
    if own:
        out, rows = np.empty((starts.size, length), dtype=np.uint8), np.arange(starts.size)
    if (~off).any():
        # a strided view of the chromosome: the gather copies (n, L) bytes and builds no (n, L) index array
        view = np.lib.stride_tricks.sliding_window_view(seq, length)
        out[rows[~off]] = view[starts[~off]]  # (np.take with out= is 1000x slower on this view)
    if off.any():
        idx = starts[off][:, None] + np.arange(length, dtype=np.int64)[None, :]
        inside = (idx >= 0) & (idx < seq.shape[0])
        w = np.full(idx.shape, N_CODE, dtype=np.uint8)
        w[inside] = seq[idx[inside]]
        out[rows[off]] = w
    return (out, off) if own else off


def _replaced_windows(seq: np.ndarray, p0: np.ndarray, ref_len: np.ndarray, alt: np.ndarray, length: int,
                      start: np.ndarray | int) -> tuple[np.ndarray, np.ndarray]:
    """Alternative windows of indels: the genome's left flank (``start`` bases, per row), the ALT allele from
    index ``start``, then the genome after REF, cut to ``length``; and ``(n,)`` flags: N-padded off an end."""
    codes, alt_len = _allele_matrix(alt)
    j = np.arange(length, dtype=np.int64)[None, :]
    s0 = np.broadcast_to(np.asarray(start, dtype=np.int64), p0.shape)[:, None]
    right = p0[:, None] + ref_len[:, None] + (j - s0 - alt_len[:, None])  # genome after REF
    gidx = np.where(j < s0, p0[:, None] - s0 + j, right)
    inside = (gidx >= 0) & (gidx < seq.shape[0])
    out = np.full(gidx.shape, N_CODE, dtype=np.uint8)
    out[inside] = seq[gidx[inside]]
    in_allele = (j >= s0) & (j < s0 + alt_len[:, None])
    rows, cols = np.nonzero(in_allele)
    out[rows, cols] = codes[rows, cols - s0[rows, 0]]
    return out, ~(inside | in_allele).all(axis=1)


def _allele_matches(seq: np.ndarray, p0: np.ndarray, ref: np.ndarray, alt: np.ndarray, same_len: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    """``(n,) bool`` twice: the genome shows REF at ``p0``; it shows ALT instead and the variant can be swapped
    (same length)."""
    match_ref = _genome_matches(seq, p0, ref)
    can_swap = same_len & ~match_ref
    match_alt = np.zeros(p0.size, dtype=bool)
    if can_swap.any():
        match_alt[can_swap] = _genome_matches(seq, p0[can_swap], alt[can_swap])
    return match_ref, can_swap & match_alt


def _write_alleles(windows: np.ndarray, rows: np.ndarray, alleles: np.ndarray, start: np.ndarray | int) -> None:
    """Write ``alleles`` over ``windows[rows]`` from index ``start`` (per row) on, cut at the window end, in place."""
    codes, lengths = _allele_matrix(alleles)
    start = np.broadcast_to(np.asarray(start, dtype=np.int64), lengths.shape)
    for k in range(codes.shape[1]):  # one pass per allele position (1 for SNVs)
        has = (lengths > k) & (start + k < windows.shape[1])
        windows[rows[has], start[has] + k] = codes[has, k]


def allele_start(centre: int, lengths: np.ndarray) -> np.ndarray:
    """0-based window index of an allele's first base when the allele is centred: its middle base (the left one
    of the two for an even length) at ``centre``, i.e. ``centre - (length - 1) // 2`` (an empty allele at
    ``centre``)."""
    return centre - np.maximum(np.asarray(lengths, dtype=np.int64) - 1, 0) // 2


def variant_sequences(genome: Genome, df: pd.DataFrame, seq_len: int, match: ChromosomeMatcher | None = None
                      ) -> VariantSequences:
    """Reference and alternative windows ``(k, seq_len) uint8`` for the variants of ``df`` (columns chrom,
    pos (1-based), ref, alt, one ALT per row), each allele centred as in the module docstring.

    ``match`` maps the VCF's chromosome names onto the genome's (:class:`basset.sequence.ChromosomeMatcher`,
    ``1`` / ``chr1``, ``M`` / ``MT``); give one for a whole file to collect its mapping in ``match.mapped``.
    A REF or ALT allele holding N is skipped (``n_allele``), never swapped.

    Vectorised per chromosome: each chromosome's codes are fetched once (:meth:`Genome.chrom_codes`) and
    windows gathered with numpy indexing; only indels take a per-row index array.
    """
    L = int(seq_len)
    if L < 1:
        raise ValueError(f"seq_len must be >= 1, got {seq_len}")
    match = match if match is not None else ChromosomeMatcher(genome.sizes)
    c = L // 2
    n = len(df)
    chrom = df["chrom"].to_numpy(dtype=object)
    pos0 = df["pos"].to_numpy(dtype=np.int64) - 1
    ref_in = df["ref"].to_numpy(dtype=object)
    alt_in = df["alt"].to_numpy(dtype=object)
    ref_len, alt_len = _lengths(ref_in), _lengths(alt_in)
    same_len = ref_len == alt_len
    start_ref, start_alt = allele_start(c, ref_len), allele_start(c, alt_len)
    code = np.full(n, _UNKNOWN_CHROM, dtype=np.uint8)  # an index into STATUSES
    has_n = _rows_with(_upper(ref_in), "N") | _rows_with(_upper(alt_in), "N")
    code[has_n] = _N_ALLELE
    swapped = np.zeros(n, dtype=bool)
    ref_out, alt_out = ref_in.copy(), alt_in.copy()

    codes_of_chrom, first = pd.factorize(chrom, sort=False)  # groups in order of first appearance
    order = np.argsort(codes_of_chrom, kind="stable")
    bounds = np.searchsorted(codes_of_chrom[order], np.arange(len(first) + 1))
    groups = []  # the rows to score of each chromosome, and its codes
    for g, name in enumerate(first):  # one iteration per chromosome, not per variant
        rows = order[bounds[g] : bounds[g + 1]]
        rows = rows[~has_n[rows]]
        target = match(name)
        if target is None or rows.size == 0:
            continue
        seq = genome.chrom_codes(target)
        inside = pos0[rows] + ref_len[rows] <= seq.shape[0]
        code[rows[~inside]] = _OUTSIDE_CHROM
        rows = rows[inside]
        if rows.size == 0:
            continue
        match_ref, swap = _allele_matches(seq, pos0[rows], ref_in[rows], alt_in[rows], same_len[rows])
        code[rows] = np.where(match_ref, _OK, np.where(swap, _SWAPPED, _REF_MISMATCH))
        swapped[rows[swap]] = True
        ref_out[rows[swap]], alt_out[rows[swap]] = alt_in[rows[swap]], ref_in[rows[swap]]
        if (match_ref | swap).any():
            groups.append((rows[match_ref | swap], seq))
    kept = code <= _SWAPPED
    # the windows of the kept rows, written straight into their place in the output (no copy of the kept ones)
    dest = np.cumsum(kept) - 1
    ref_win = np.empty((int(kept.sum()), L), dtype=np.uint8)
    off_end = np.zeros(n, dtype=bool)
    for rows, seq in groups:
        off_end[rows] = _windows(seq, pos0[rows] - start_ref[rows], L, out=ref_win, rows=dest[rows])
    alt_win = ref_win.copy()
    for rows, seq in groups:
        sub = same_len[rows]
        if sub.any():  # same-length variants: the reference window with the scored ALT written over REF
            _write_alleles(alt_win, dest[rows[sub]], alt_out[rows[sub]], start_ref[rows[sub]])
        if (~sub).any():
            r = rows[~sub]
            w, off2 = _replaced_windows(seq, pos0[r], ref_len[r], alt_out[r], L, start_alt[r])
            alt_win[dest[r]] = w
            off_end[r] |= off2
    return VariantSequences(ref_win, alt_win, kept, _STATUS_NAMES[code], swapped, off_end & kept,
                            ~same_len, ref_out, alt_out)


# --------------------------------------------------------------------------------------------- streaming a source
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
STREAM_CHUNK = 1 << 20  # bytes read at a time from a VCF source: memory stays flat for a 15 GB dbSNP file


def _source_error(source: str, message: str) -> Exception:
    """:class:`DownloadError` for a URL, :class:`InputError` for a local file."""
    return DownloadError(source, message) if _URL.match(source) else InputError(source, message)


def _open_source(source: str, timeout: float):
    """Binary stream of a local path or an ``http``/``https``/``ftp``/``file`` URL, and its size in bytes
    (``None`` when the server does not say)."""
    if not _URL.match(source):
        try:
            return open(source, "rb"), Path(source).stat().st_size
        except OSError as exc:
            raise InputError(source, f"cannot read the VCF: {exc.strerror or exc}") from None
    check_url(source)
    try:
        return open_url(source, timeout)
    except urllib.error.HTTPError as exc:
        raise DownloadError(source, f"HTTP error {exc.code} {exc.reason}", status=exc.code) from None
    except urllib.error.URLError as exc:
        raise DownloadError(source, f"cannot open: {exc.reason}") from None
    except (OSError, http.client.HTTPException) as exc:
        raise DownloadError(source, f"cannot open: {type(exc).__name__}: {exc}") from None


def _raw_blocks(stream, source: str, size: int | None, bar, counts: Counter) -> Iterator[bytes]:
    """The bytes of ``stream`` in blocks of up to :data:`STREAM_CHUNK`; a connection lost or a body shorter
    than its announced ``size`` (bytes) raises instead of passing for the end of the file."""
    while True:
        try:
            block = stream.read(STREAM_CHUNK)
        except (OSError, http.client.HTTPException) as exc:
            raise _source_error(source, f"reading failed after {counts['bytes_read']} bytes "
                                        f"({type(exc).__name__}: {exc})") from None
        if not block:
            break
        counts["bytes_read"] += len(block)
        bar.update(len(block))
        yield block
    if size is not None and counts["bytes_read"] < size:
        raise _source_error(source, f"truncated: received {counts['bytes_read']} of {size} bytes")


def _gunzipped(blocks: Iterator[bytes], source: str) -> Iterator[bytes]:
    """Decompress a stream of concatenated gzip members (one for gzip, thousands of <= 64 KiB for bgzip)
    block by block; a stream that ends inside a member or holds something else raises :class:`InputError`."""
    inflater, started = zlib.decompressobj(wbits=31), False
    for block in blocks:
        while block:
            if not started:
                block = block.lstrip(b"\0")  # zero padding after the last member is allowed, as gzip does
                if not block:
                    break
            started = True
            try:
                text = inflater.decompress(block)
            except zlib.error as exc:
                raise InputError(source, f"corrupt gzip data ({exc}); expected a gzipped, bgzipped or plain-text "
                                         "VCF") from None
            if text:
                yield text
            if inflater.eof:  # the member ended: what follows in this block starts the next one
                block, inflater, started = inflater.unused_data, zlib.decompressobj(wbits=31), False
            else:
                block = b""
    if started:
        raise InputError(source, "truncated gzip data: the stream ended inside a gzip member; expected a "
                                 "complete gzipped, bgzipped or plain-text VCF")


def _lines(blocks: Iterator[bytes]) -> Iterator[bytes]:
    """Lines (without ``\\n``) of a stream of text blocks, the last one also when it has no newline."""
    rest = b""
    for block in blocks:
        parts = block.split(b"\n")
        parts[0] = rest + parts[0]
        rest = parts.pop()
        yield from parts
    if rest:
        yield rest


def _vcf_lines(raw: Iterator[bytes], source: str) -> Iterator[bytes]:
    """Text lines of plain or gzipped/bgzipped VCF bytes, the compression decided by the first two bytes."""
    first = next(raw, b"")
    blocks = itertools.chain([first], raw)
    return _lines(_gunzipped(blocks, source) if first[:2] == GZIP_MAGIC else blocks)


@contextlib.contextmanager
def vcf_lines(source: str | Path, timeout: float = 60, progress: bool = False, counts: Counter | None = None,
              desc: str = "reading VCF") -> Iterator[Iterator[bytes]]:
    """The text lines (bytes, without ``\\n``) of a VCF at a local path or an ``http``, ``https``, ``ftp`` or
    ``file`` URL, read once in blocks of :data:`STREAM_CHUNK` bytes and never stored whole (a multi-GB dbSNP
    file costs the memory of one block); plain, gzipped or bgzipped, decided by the first bytes.

    A context manager: the source is closed when the block ends. ``counts["bytes_read"]`` (bytes as
    transferred) grows as the lines are read; ``progress`` shows a bar of those bytes, named ``desc``;
    ``timeout``: seconds allowed for connecting and for each read of a URL. Raises :class:`InputError` for a
    local source that cannot be read or corrupt or truncated gzip data, :class:`DownloadError` for a URL that
    is malformed, cannot be opened or whose body ends early.
    """
    source = str(source)
    counts = counts if counts is not None else Counter()
    stream, size = _open_source(source, timeout)
    bar = progress_bar(size, progress, desc, "B")
    try:
        with stream:
            yield _vcf_lines(_raw_blocks(stream, source, size, bar, counts), source)
    finally:
        bar.close()

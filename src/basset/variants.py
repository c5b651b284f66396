"""Variant effect scoring: SNP accessibility difference (SAD, Basset-style) and PICS enrichment.

Conventions (all positions in the input/output tables are VCF-style, **1-based**):

* **VCF reading** (:func:`iter_vcf`): plain or gzipped/bgzipped text (detected by the gzip magic bytes,
  not the suffix), with or without a ``#`` header. Only the first five columns are used. A multi-allelic
  record (``ALT = A,G``) becomes one row per ALT allele; the ID is **kept unchanged** on every row (so
  that rsIDs still join to PICS tables), rows are told apart by ``alt``. Symbolic or missing ALT alleles
  (``<DEL>``, ``*``, ``.``, breakends with ``[``/``]``) are skipped and counted, not errors. Alleles are
  upper-cased; any other character than ``ACGTN`` in REF or ALT is an error naming the file and line.
* **Windows** (:func:`variant_sequences`): for a model input of ``L`` bp the variant's first REF base
  (VCF ``POS``) sits at 0-based index ``c = L // 2`` of the window (index 300 of 600; Basset's own scripts
  used ``L // 2 - 1``). Windows running off a chromosome end are padded with N (code 4) and counted
  (``off_end_padded``), never skipped.
* **Reference check and swap**: the REF allele must match the genome at ``POS``. If a same-length variant
  (SNV or MNP) shows the ALT allele in the genome instead, the alleles are **swapped**: the written ``ref``
  is the genome's allele (the VCF ALT), ``alt`` the VCF REF, ``swapped`` is true and the SAD is
  ``p(alt) - p(ref)`` of the written columns, i.e. the negative of the VCF orientation (negate SAD where
  ``swapped`` to recover it). Basset's ``basset_sad.py`` instead edits the reference window to carry the
  VCF REF; for SNVs both score the same pair of sequences, only the sign and the labels differ. A variant
  matching neither allele is skipped (``ref_mismatch_skipped``); a chromosome missing from the genome is
  skipped and named (``unknown_chroms``); an allele running past the chromosome end is skipped
  (``outside_chrom_skipped``).
* **Indels** are scored by replacement, anchored on the left: the reference window is the genome window
  above (REF starting at index ``c``); the alternative window keeps the same left flank
  (``c`` bases), then the ALT allele, then the genome from just after REF, cut to ``L`` bp (an
  insertion pushes bases out on the right, a deletion pulls more in). REF must match the genome (no swap
  for indels); otherwise the variant is skipped and counted (``indel_ref_mismatch_skipped``).
* **SAD** (:func:`score_variants`): ``SAD_t = p_t(alt) - p_t(ref)`` per target ``t``, with ``p`` the
  sigmoid of the logits, averaged with the reverse complement on request (:func:`basset.predict.predict_codes`).
  Summary columns: ``mean_sad`` (mean of the signed SAD over targets), ``max_abs_sad``, ``top_target``
  (the target of largest ``|SAD|``) and, when weights are given, ``weighted = sum_t w_t |SAD_t|``.
* **PICS** (:func:`read_pics`): Farh et al. 2015 supplementary table 1 layout (``Disease``,
  ``IndexSNP_riskAllele``, ``SNP``, ``chr``, ``pos``, ``PICS_probability``, ...; hg19, 1-based ``pos``
  like the VCF). A SNP listed for several diseases keeps its **maximum** PICS probability (and that row's
  disease; ``n_diseases`` counts them). The published table is an Excel .xls (read with xlrd); tab-separated
  text works alike, the format being decided by content.
* **Alleles for PICS SNPs** (:func:`select_vcf_records`): the PICS table has no alleles; the records of its
  SNPs (by rsID, or by chrom + pos with ``chr1``/``1`` mapped) are streamed out of a sites VCF (dbSNP,
  1000 Genomes; gzip, bgzip or plain, from a URL or a file, never stored whole) into a small gzipped VCF.
* **Enrichment** (:func:`pics_enrichment`): each SNP's score is its SAD mean over targets in absolute value
  (``score="abs_mean"``, the default; ``"mean_abs"`` averages ``|SAD|``, ``"max_abs"`` takes the largest
  ``|SAD|``, i.e. the most affected cell type); several ALT alleles of one SNP keep the largest score. SNPs are joined to PICS by ID, falling back to chrom + pos.
"""

from __future__ import annotations

import csv
import gzip
import http.client
import itertools
import logging
import re
import urllib.error
import zlib
from collections import Counter
from pathlib import Path
from typing import Iterator, NamedTuple

import numpy as np
import pandas as pd

from .download import DownloadError, check_url, open_url
from .errors import InputError
from .fileio import GZIP_MAGIC, atomic_open, compression, is_gzip, read_errors
from .logs import progress_bar
from .sequence import CODE_LUT, N_CODE, Genome, chrom_key

log = logging.getLogger("basset.variants")

VCF_COLUMNS = ["chrom", "pos", "id", "ref", "alt"]
#: the columns of a SAD table before the per-target SAD columns (``weighted`` only when weights are given)
SAD_COLUMNS = ["chrom", "pos", "id", "ref", "alt", "swapped", "mean_sad", "max_abs_sad", "top_target", "weighted"]

# allele characters accepted by the VCF reader (upper case after .upper())
_VALID = np.zeros(256, dtype=bool)
_VALID[np.frombuffer(b"ACGTN", dtype=np.uint8)] = True


# --------------------------------------------------------------------------------------------- VCF
def _open_text(path: str | Path, gz: bool):
    return gzip.open(path, "rt", newline="") if gz else open(path, newline="")


def _header_lines(path: str | Path, gz: bool) -> int:
    """Number of leading lines starting with ``#`` (the VCF header; 0 for a headerless file)."""
    n = 0
    with _open_text(path, gz) as fh:
        for line in fh:
            if not line.startswith("#"):
                break
            n += 1
    return n


def _raw_line(path: str | Path, gz: bool, lineno: int) -> str:
    """Text of the 1-based line ``lineno`` (for error messages only)."""
    with _open_text(path, gz) as fh:
        for i, line in enumerate(fh, 1):
            if i == lineno:
                return line.rstrip("\r\n")
    return ""


def _first_short_line(path: str | Path, gz: bool) -> tuple[int, str] | None:
    """The first data line with fewer than 5 tab-separated fields (error path only)."""
    with _open_text(path, gz) as fh:
        for i, line in enumerate(fh, 1):
            text = line.rstrip("\r\n")
            if text and not text.startswith("#") and len(text.split("\t")) < 5:
                return i, text
    return None


def _short_line_error(path, lineno: int, text: str) -> InputError:
    n = len(text.split("\t")) if text else 0
    what = f"got {n}" if n < 5 else "got an empty CHROM, REF or ALT field"
    return InputError(path, f"expected at least 5 tab-separated columns (CHROM POS ID REF ALT), {what}",
                      line=lineno, record=text[:200])


def _bad_allele_rows(alleles: np.ndarray) -> np.ndarray:
    """``(n,) bool``: alleles that are empty or hold a character other than ACGTN (vectorised)."""
    if alleles.size == 0:
        return np.zeros(0, dtype=bool)
    lengths = np.fromiter((len(a) for a in alleles), dtype=np.int64, count=alleles.size)
    # one byte per character: non-ASCII characters become '?', which is invalid, and keep the lengths
    buf = np.frombuffer("".join(alleles).encode("ascii", errors="replace"), dtype=np.uint8)
    bad_char = ~_VALID[buf]
    bad = lengths == 0
    if bad_char.any():
        rows = np.repeat(np.arange(alleles.size), lengths)
        bad |= np.bincount(rows[bad_char], minlength=alleles.size) > 0
    return bad


def _is_symbolic(alt: pd.Series) -> np.ndarray:
    """ALT alleles that name no sequence: ``<ID>``, ``*`` (spanning deletion), ``.`` and breakends."""
    s = alt.str
    return (s.startswith("<") | alt.isin(["*", "."]) | s.contains("[", regex=False)
            | s.contains("]", regex=False)).to_numpy(dtype=bool)


def _check_chunk(path, gz: bool, raw: pd.DataFrame, counts: Counter) -> pd.DataFrame:
    """Validate one chunk of raw string columns (+ ``line``) and split multi-allelic records."""
    raw = raw.fillna("")
    blank = (raw[VCF_COLUMNS] == "").all(axis=1).to_numpy() | raw["chrom"].str.startswith("#").to_numpy(dtype=bool)
    if blank.any():
        raw = raw.loc[~blank]
    short = (raw["alt"] == "").to_numpy() | (raw["ref"] == "").to_numpy() | (raw["chrom"] == "").to_numpy()
    if short.any():
        lineno = int(raw["line"].to_numpy()[np.argmax(short)])
        raise _short_line_error(path, lineno, _raw_line(path, gz, lineno))
    counts["variants_read"] += len(raw)

    pos_text = raw["pos"].astype(str)
    digits = pos_text.str.isdigit().to_numpy(dtype=bool)
    if not digits.all():
        i = int(np.argmax(~digits))
        value = pos_text.iloc[i]
        what = ("POS must be >= 1 (VCF positions are 1-based)" if value.lstrip("-").isdigit()
                else "expected an integer POS")
        raise InputError(path, f"{what}, got {value!r}", line=int(raw["line"].iloc[i]))
    too_long = (pos_text.str.len() > 15).to_numpy(dtype=bool)
    if too_long.any():
        i = int(np.argmax(too_long))
        raise InputError(path, f"POS too large, got {pos_text.iloc[i]!r}", line=int(raw["line"].iloc[i]))
    pos = pos_text.to_numpy().astype(np.int64)
    if (pos < 1).any():
        i = int(np.argmax(pos < 1))
        raise InputError(path, f"POS must be >= 1 (VCF positions are 1-based), got {pos[i]}",
                         line=int(raw["line"].iloc[i]))

    ref = raw["ref"].str.upper().to_numpy(dtype=object)
    bad = _bad_allele_rows(ref)
    if bad.any():
        i = int(np.argmax(bad))
        raise InputError(path, f"expected a REF allele of A, C, G, T, N, got {raw['ref'].iloc[i]!r}",
                         line=int(raw["line"].iloc[i]))

    df = pd.DataFrame({"chrom": raw["chrom"].to_numpy(dtype=object), "pos": pos,
                       "id": raw["id"].to_numpy(dtype=object), "ref": ref,
                       "alt": raw["alt"].str.upper().to_numpy(dtype=object),
                       "line": raw["line"].to_numpy(dtype=np.int64)})
    multi = df["alt"].str.contains(",", regex=False).to_numpy(dtype=bool)
    if multi.any():
        counts["multiallelic_records"] += int(multi.sum())
        df["alt"] = df["alt"].str.split(",")
        df = df.explode("alt", ignore_index=True)
        counts["multiallelic_extra_rows"] += int(len(df) - len(raw))
    symbolic = _is_symbolic(df["alt"])
    if symbolic.any():
        counts["symbolic_skipped"] += int(symbolic.sum())
        df = df.loc[~symbolic].reset_index(drop=True)
    bad = _bad_allele_rows(df["alt"].to_numpy(dtype=object))
    if bad.any():
        i = int(np.argmax(bad))
        raise InputError(path, f"expected ALT alleles of A, C, G, T, N (or a symbolic allele), got "
                         f"{df['alt'].iloc[i]!r}", line=int(df["line"].iloc[i]))
    return df


def iter_vcf(path: str | Path, chunk_size: int = 100_000, counts: Counter | dict | None = None
             ) -> Iterator[pd.DataFrame]:
    """Stream a VCF as DataFrames of at most ``chunk_size`` records (more rows after multi-allelic splits).

    Columns: ``chrom`` (str), ``pos`` (int64, 1-based as in the VCF), ``id``, ``ref``, ``alt`` (upper case,
    one ALT per row) and ``line`` (1-based line number in the file). Plain or gzip/bgzip (by magic
    bytes); the header is optional. ``counts`` (a dict or Counter) is updated in place with
    ``variants_read``, ``multiallelic_records``, ``multiallelic_extra_rows`` and ``symbolic_skipped``.

    Raises :class:`InputError` (file and line) for fewer than 5 columns, a non-integer or < 1 POS, or
    REF/ALT characters other than ACGTN.
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    counts = counts if counts is not None else Counter()
    for key in ("variants_read", "multiallelic_records", "multiallelic_extra_rows", "symbolic_skipped"):
        counts.setdefault(key, 0)
    tally: Counter = Counter()
    gz = is_gzip(path)
    n_header = _header_lines(path, gz)
    try:
        reader = pd.read_csv(path, sep="\t", header=None, usecols=range(5), names=None, dtype=str,
                             skiprows=n_header, skip_blank_lines=False, quoting=csv.QUOTE_NONE,
                             keep_default_na=False, na_filter=False, chunksize=chunk_size,
                             compression="gzip" if gz else None, engine="c")
        chunks = iter(reader)
        while True:
            try:
                raw = next(chunks)
            except StopIteration:
                break
            raw.columns = VCF_COLUMNS
            raw["line"] = raw.index.to_numpy(dtype=np.int64) + n_header + 1
            df = _check_chunk(path, gz, raw, tally)
            for key, value in tally.items():
                counts[key] = counts.get(key, 0) + value
            tally.clear()
            if len(df):
                yield df
    except pd.errors.EmptyDataError:
        return
    except (ValueError, pd.errors.ParserError) as exc:
        if isinstance(exc, InputError):
            raise
        short = _first_short_line(path, gz)
        if short is not None:
            raise _short_line_error(path, *short) from None
        raise InputError(path, f"not a readable VCF: {exc}") from None


def read_vcf(path: str | Path, counts: Counter | dict | None = None) -> pd.DataFrame:
    """The whole VCF as one DataFrame (:func:`iter_vcf` columns); for small files."""
    chunks = list(iter_vcf(path, counts=counts))
    if not chunks:
        return pd.DataFrame({"chrom": pd.Series(dtype=object), "pos": pd.Series(dtype=np.int64),
                             "id": pd.Series(dtype=object), "ref": pd.Series(dtype=object),
                             "alt": pd.Series(dtype=object), "line": pd.Series(dtype=np.int64)})
    return pd.concat(chunks, ignore_index=True)


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


def _windows(seq: np.ndarray, starts: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
    """``(n, length) uint8`` windows of ``seq`` at 0-based ``starts`` (N outside) and ``(n,)`` off-end flags."""
    starts = np.asarray(starts, dtype=np.int64)
    off = (starts < 0) | (starts + length > seq.shape[0])
    out = np.empty((starts.size, length), dtype=np.uint8)
    if (~off).any():
        # a strided view of the chromosome: the gather copies (n, L) bytes and builds no (n, L) index array
        out[~off] = np.lib.stride_tricks.sliding_window_view(seq, length)[starts[~off]]
    if off.any():
        idx = starts[off][:, None] + np.arange(length, dtype=np.int64)[None, :]
        inside = (idx >= 0) & (idx < seq.shape[0])
        w = np.full(idx.shape, N_CODE, dtype=np.uint8)
        w[inside] = seq[idx[inside]]
        out[off] = w
    return out, off


def _replaced_windows(seq: np.ndarray, p0: np.ndarray, ref_len: np.ndarray, alt: np.ndarray, length: int,
                      centre: int) -> tuple[np.ndarray, np.ndarray]:
    """Alternative windows of indels: left flank (``centre`` bases) + ALT + genome after REF, cut to ``length``."""
    codes, alt_len = _allele_matrix(alt)
    j = np.arange(length, dtype=np.int64)[None, :]
    right = p0[:, None] + ref_len[:, None] + (j - centre - alt_len[:, None])  # genome after REF
    gidx = np.where(j < centre, p0[:, None] - centre + j, right)
    inside = (gidx >= 0) & (gidx < seq.shape[0])
    out = np.full(gidx.shape, N_CODE, dtype=np.uint8)
    out[inside] = seq[gidx[inside]]
    in_allele = (j >= centre) & (j < centre + alt_len[:, None])
    rows, cols = np.nonzero(in_allele)
    out[rows, cols] = codes[rows, cols - centre]
    return out, ~(inside | in_allele).all(axis=1)


def variant_sequences(genome: Genome, df: pd.DataFrame, seq_len: int) -> VariantSequences:
    """Reference and alternative windows ``(k, seq_len) uint8`` for the variants of ``df`` (columns chrom,
    pos (1-based), ref, alt, one ALT per row), centred as in the module docstring (first REF base at
    0-based index ``seq_len // 2``).

    Vectorised per chromosome: each chromosome's codes are fetched once (:meth:`Genome.chrom_codes`) and
    windows gathered with numpy indexing; only indels take a per-row index array.
    """
    L = int(seq_len)
    if L < 1:
        raise ValueError(f"seq_len must be >= 1, got {seq_len}")
    c = L // 2
    n = len(df)
    chrom = df["chrom"].to_numpy(dtype=object)
    pos0 = df["pos"].to_numpy(dtype=np.int64) - 1
    ref_in = df["ref"].to_numpy(dtype=object)
    alt_in = df["alt"].to_numpy(dtype=object)
    ref_len = np.fromiter((len(a) for a in ref_in), dtype=np.int64, count=n)
    alt_len = np.fromiter((len(a) for a in alt_in), dtype=np.int64, count=n)
    same_len = ref_len == alt_len
    status = np.full(n, "unknown_chrom", dtype=object)
    swapped = np.zeros(n, dtype=bool)
    off_end = np.zeros(n, dtype=bool)
    ref_out, alt_out = ref_in.copy(), alt_in.copy()
    ref_win = np.empty((n, L), dtype=np.uint8)
    alt_win = np.empty((n, L), dtype=np.uint8)

    codes_of_chrom, first = pd.factorize(chrom, sort=False)  # groups in order of first appearance
    order = np.argsort(codes_of_chrom, kind="stable")
    bounds = np.searchsorted(codes_of_chrom[order], np.arange(len(first) + 1))
    for g, name in enumerate(first):  # one iteration per chromosome, not per variant
        rows = order[bounds[g] : bounds[g + 1]]
        if name not in genome.sizes:
            continue
        seq = genome.chrom_codes(name)
        inside = pos0[rows] + ref_len[rows] <= seq.shape[0]
        status[rows[~inside]] = "outside_chrom"
        rows = rows[inside]
        if rows.size == 0:
            continue
        p0 = pos0[rows]
        match_ref = _genome_matches(seq, p0, ref_in[rows])
        can_swap = same_len[rows] & ~match_ref
        match_alt = np.zeros(rows.size, dtype=bool)
        if can_swap.any():
            match_alt[can_swap] = _genome_matches(seq, p0[can_swap], alt_in[rows[can_swap]])
        swap = can_swap & match_alt
        status[rows] = np.where(match_ref, "ok", np.where(swap, "swapped", "ref_mismatch"))
        swapped[rows[swap]] = True
        ref_out[rows[swap]], alt_out[rows[swap]] = alt_in[rows[swap]], ref_in[rows[swap]]
        keep = match_ref | swap
        rows, p0 = rows[keep], p0[keep]
        if rows.size == 0:
            continue
        win, off = _windows(seq, p0 - c, L)
        ref_win[rows] = win
        alt_win[rows] = win
        off_end[rows] = off
        # same-length variants: the reference window with the scored ALT written over the centre
        sub = same_len[rows]
        if sub.any():
            r = rows[sub]
            codes, lengths = _allele_matrix(alt_out[r])
            for k in range(min(codes.shape[1], L - c)):  # one pass per allele position (1 for SNVs)
                has = lengths > k
                alt_win[r[has], c + k] = codes[has, k]
        if (~sub).any():
            r = rows[~sub]
            w, off2 = _replaced_windows(seq, p0[~sub], ref_len[r], alt_out[r], L, c)
            alt_win[r] = w
            off_end[r] |= off2
    kept = (status == "ok") | (status == "swapped")
    if not kept.all():  # the usual case, everything kept, needs no copy
        ref_win, alt_win = ref_win[kept], alt_win[kept]
    return VariantSequences(ref_win, alt_win, kept, status, swapped, off_end & kept,
                            ~same_len, ref_out, alt_out)


# --------------------------------------------------------------------------------------------- SAD
def _model_seq_len(model) -> int:
    from .models import model_seq_len

    L = model_seq_len(model)
    if L is None:
        raise ValueError("seq_len not given and the model has no config['seq_len']: pass seq_len explicitly")
    return L


def _sad_frame(chunk: pd.DataFrame, vs: VariantSequences, sad: np.ndarray, target_names: list[str],
               weights: np.ndarray | None) -> pd.DataFrame:
    k = vs.kept
    abs_sad = np.abs(sad)
    out = {
        "chrom": chunk["chrom"].to_numpy(dtype=object)[k],
        "pos": chunk["pos"].to_numpy(dtype=np.int64)[k],
        "id": chunk["id"].to_numpy(dtype=object)[k],
        "ref": vs.ref_allele[k],
        "alt": vs.alt_allele[k],
        "swapped": vs.swapped[k],
        "mean_sad": sad.mean(axis=1),
        "max_abs_sad": abs_sad.max(axis=1),
        "top_target": np.asarray(target_names, dtype=object)[abs_sad.argmax(axis=1)],
    }
    if weights is not None:
        out["weighted"] = abs_sad @ weights
    df = pd.DataFrame(out)
    return pd.concat([df, pd.DataFrame(sad, columns=target_names)], axis=1)


def _format_rows(df: pd.DataFrame) -> str:
    """TSV lines of a SAD frame, floats with 6 significant digits: the same text as
    ``to_csv(float_format="%.6g")`` at about 3x the speed (one ``%`` per row instead of one per cell)."""
    kinds = ["%d" if df[c].dtype.kind in "iu" else "%.6g" if df[c].dtype.kind == "f" else "%s" for c in df.columns]
    fmt = "\t".join(kinds) + "\n"
    return "".join([fmt % row for row in zip(*(df[c].tolist() for c in df.columns))])


def score_variants(model, genome: Genome | str | Path, vcf_path: str | Path, out_path: str | Path,
                   target_names, seq_len: int | None = None, batch_size: int = 256, device="cpu",
                   rc_average: bool = True, weights: dict | None = None, chunk_size: int = 50_000,
                   progress: bool = False) -> dict:
    """Score every variant of a VCF with SAD = p(alt) - p(ref) per target and write a TSV (gzip if
    ``out_path`` ends in ``.gz``).

    ``model``: any ``nn.Module`` mapping ``(B, 4, L)`` one-hot to ``(B, T)`` logits; ``seq_len`` defaults
    to ``model.config['seq_len']``. ``target_names``: ``T`` column names (``meta['target_names']`` of
    :func:`basset.models.load_model`). ``weights``: ``{target: w}`` adds ``weighted = sum w_t |SAD_t|``.

    The VCF is streamed ``chunk_size`` records at a time (memory does not grow with the file); rows are
    written in VCF order as they are scored, to a temporary file renamed to ``out_path`` at the end
    (:func:`basset.fileio.atomic_open`); a full disk raises :class:`basset.fileio.DiskFullError` naming it.
    Columns: chrom, pos (1-based), id, ref, alt (scored orientation), swapped, mean_sad, max_abs_sad,
    top_target, [weighted], then one SAD column per target (6 significant digits).

    Returns a dict of counts (also logged): variants_read, multiallelic_records, multiallelic_extra_rows,
    symbolic_skipped, scored, snvs_scored, indels_scored, mnps_scored, swapped, ref_mismatch_skipped
    (of which indel_ref_mismatch_skipped), unknown_chrom_skipped, unknown_chroms (comma-separated),
    outside_chrom_skipped, off_end_padded, plus seq_len, targets and rc_average.
    """
    target_names = [str(t) for t in target_names]
    T = len(target_names)
    clash = sorted(set(target_names) & set(SAD_COLUMNS))
    if clash or len(set(target_names)) != T:
        raise ValueError(f"target names must be unique and differ from the table's columns {SAD_COLUMNS}; "
                         f"got {'duplicates' if not clash else ', '.join(clash)}")
    L = int(seq_len) if seq_len is not None else _model_seq_len(model)
    w_vec = None
    if weights is not None:
        unknown = sorted(set(map(str, weights)) - set(target_names))
        if unknown:
            raise ValueError(f"weights name targets the model does not have: {', '.join(unknown)}")
        w_vec = np.array([float(weights.get(t, 0.0)) for t in target_names], dtype=np.float64)
    own_genome = not isinstance(genome, Genome)
    if own_genome:
        genome = Genome(genome)
    out_path = Path(out_path)
    header = [c for c in SAD_COLUMNS if c != "weighted" or w_vec is not None] + target_names
    counts: Counter = Counter()
    status_counts: Counter = Counter()
    unknown_chroms: set[str] = set()
    bar = progress_bar(None, progress, "scoring variants", "variant")
    try:
        with atomic_open(out_path, "w", gzip_level=6 if out_path.name.endswith(".gz") else None) as fh:
            fh.write("\t".join(header) + "\n")
            for chunk in iter_vcf(vcf_path, chunk_size=chunk_size, counts=counts):
                vs = variant_sequences(genome, chunk, L)
                status_counts.update(Counter(vs.status.tolist()))
                unknown_chroms.update(chunk["chrom"].to_numpy(dtype=object)[vs.status == "unknown_chrom"].tolist())
                counts["indel_ref_mismatch_skipped"] += int(((vs.status == "ref_mismatch") & vs.indel).sum())
                counts["indels_scored"] += int((vs.kept & vs.indel).sum())
                same = vs.kept & ~vs.indel
                n_long = np.fromiter((len(a) > 1 for a in vs.ref_allele[same]), dtype=bool, count=int(same.sum()))
                counts["mnps_scored"] += int(n_long.sum())
                counts["snvs_scored"] += int(same.sum() - n_long.sum())
                counts["off_end_padded"] += int(vs.off_end.sum())
                k = int(vs.kept.sum())
                if k:
                    probs = predict_codes_pair(model, vs.ref, vs.alt, batch_size, device, rc_average)
                    if probs[0].shape[1] != T:
                        raise ValueError(f"the model predicts {probs[0].shape[1]} targets but {T} target names "
                                         "were given")
                    sad = probs[1].astype(np.float64) - probs[0].astype(np.float64)
                    fh.write(_format_rows(_sad_frame(chunk, vs, sad, target_names, w_vec)))
                bar.update(len(chunk))
    finally:
        bar.close()
        if own_genome:
            genome.close()

    summary = {
        "variants_read": int(counts["variants_read"]),
        "multiallelic_records": int(counts["multiallelic_records"]),
        "multiallelic_extra_rows": int(counts["multiallelic_extra_rows"]),
        "symbolic_skipped": int(counts["symbolic_skipped"]),
        "scored": int(status_counts["ok"] + status_counts["swapped"]),
        "snvs_scored": int(counts["snvs_scored"]),
        "mnps_scored": int(counts["mnps_scored"]),
        "indels_scored": int(counts["indels_scored"]),
        "swapped": int(status_counts["swapped"]),
        "ref_mismatch_skipped": int(status_counts["ref_mismatch"]),
        "indel_ref_mismatch_skipped": int(counts["indel_ref_mismatch_skipped"]),
        "unknown_chrom_skipped": int(status_counts["unknown_chrom"]),
        "unknown_chroms": ",".join(sorted(unknown_chroms)),
        "outside_chrom_skipped": int(status_counts["outside_chrom"]),
        "off_end_padded": int(counts["off_end_padded"]),
        "seq_len": L,
        "targets": T,
        "rc_average": bool(rc_average),
    }
    log.info("SAD of %s -> %s: %d variants read (%d multi-allelic records split into %d extra rows, %d symbolic "
             "skipped); %d scored (%d SNVs, %d MNPs, %d indels; %d swapped to the genome's allele, %d padded "
             "with N off a chromosome end); skipped: %d REF mismatching the genome (%d indels), %d on unknown "
             "chromosomes (%s), %d outside their chromosome",
             vcf_path, out_path, summary["variants_read"], summary["multiallelic_records"],
             summary["multiallelic_extra_rows"], summary["symbolic_skipped"], summary["scored"],
             summary["snvs_scored"], summary["mnps_scored"], summary["indels_scored"], summary["swapped"],
             summary["off_end_padded"], summary["ref_mismatch_skipped"], summary["indel_ref_mismatch_skipped"],
             summary["unknown_chrom_skipped"], summary["unknown_chroms"] or "none",
             summary["outside_chrom_skipped"])
    return summary


def predict_codes_pair(model, ref: np.ndarray, alt: np.ndarray, batch_size: int = 256, device="cpu",
                       rc_average: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities ``(k, T) float32`` of reference and alternative windows ``(k, L) uint8``, in one pass
    of :func:`basset.predict.predict_codes` over both (full batches even for small chunks)."""
    from .predict import predict_codes

    probs = predict_codes(model, np.concatenate([ref, alt]), batch_size=batch_size, device=device,
                          rc_average=rc_average)
    return probs[: ref.shape[0]], probs[ref.shape[0] :]


def read_sad(path: str | Path) -> pd.DataFrame:
    """Read a :func:`score_variants` table; ``df.attrs['target_names']`` lists the per-target SAD columns."""
    try:
        header = pd.read_csv(path, sep="\t", nrows=0).columns
    except pd.errors.EmptyDataError:
        raise InputError(path, "empty file: expected a SAD table with a header", line=1) from None
    text_cols = ("chrom", "id", "ref", "alt", "top_target", "swapped")
    # IDs and names stay text ("NA", "nan" are valid IDs); only the numeric columns parse NaN
    df = pd.read_csv(path, sep="\t", dtype={c: str for c in text_cols if c in header}, keep_default_na=False,
                     na_values={c: ["nan", "NaN"] for c in header if c not in text_cols and c != "pos"})
    missing = [c for c in SAD_COLUMNS if c != "weighted" and c not in df.columns]
    if missing:
        raise InputError(path, f"not a SAD table: missing columns {', '.join(missing)} (expected "
                         f"{', '.join(SAD_COLUMNS[:-1])}, [weighted], then one column per target)", line=1)
    df["swapped"] = df["swapped"].astype(str).str.lower().eq("true")
    df.attrs["target_names"] = sad_target_columns(df)
    return df


def sad_target_columns(df: pd.DataFrame) -> list[str]:
    """The per-target SAD columns of a SAD table (everything after the fixed columns)."""
    if "target_names" in df.attrs:
        return list(df.attrs["target_names"])
    return [str(c) for c in df.columns if c not in SAD_COLUMNS]


# --------------------------------------------------------------------------------------------- PICS
_PICS_REQUIRED = {"SNP": "snp", "chr": "chrom", "pos": "pos", "PICS_probability": "pics"}


#: first bytes of an Excel 97-2003 workbook (.xls, an OLE2 compound document) and of a zip (.xlsx)
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
#: workbook kind -> (pandas engine, what it is)
_WORKBOOKS = {"xls": ("xlrd", "Excel 97-2003 workbook (.xls)"), "xlsx": ("openpyxl", "Excel 2007+ workbook (.xlsx)")}
_HEADER_SEARCH_ROWS = 20  # a published sheet may carry a title or caption above its header row


def _workbook_kind(path: Path) -> str | None:
    """``"xls"`` or ``"xlsx"`` when the file starts with their magic bytes, ``None`` for text (name ignored)."""
    with open(path, "rb") as fh:
        head = fh.read(len(OLE2_MAGIC))
    if head == OLE2_MAGIC:
        return "xls"
    if head.startswith(ZIP_MAGIC):
        return "xlsx"
    return None


def _header_row(grid: pd.DataFrame) -> int:
    """0-based index of the first of the top rows that holds every required PICS column name (0 if none)."""
    wanted = {name.lower() for name in _PICS_REQUIRED}
    for i in range(min(len(grid), _HEADER_SEARCH_ROWS)):
        if wanted <= {str(cell).strip().lower() for cell in grid.iloc[i]}:
            return i
    return 0


def _read_workbook(path: Path, kind: str) -> tuple[pd.DataFrame, int, np.ndarray]:
    """First sheet of a workbook as strings from its header row on, blank rows dropped; with the header's and
    each row's spreadsheet row number (1-based)."""
    import importlib.util
    import warnings

    engine, what = _WORKBOOKS[kind]
    if importlib.util.find_spec(engine) is None:
        raise InputError(path, f"the file is an {what} (by its content); reading it needs the {engine} package, "
                               f"which is not installed: install {engine} or convert the sheet to tab-separated "
                               "text (.tsv)")
    try:
        with warnings.catch_warnings():  # pandas 3 deprecates its xlrd engine; it is still the .xls reader here
            warnings.filterwarnings("ignore", message="The xlrd engine is deprecated")
            grid = pd.read_excel(path, sheet_name=0, header=None, dtype=str, keep_default_na=False, engine=engine)
    except Exception as exc:  # noqa: BLE001 - the engines raise many types for a bad workbook
        raise InputError(path, f"not a readable {what} ({type(exc).__name__}: {exc}); convert it to "
                               "tab-separated text (.tsv)") from None
    if grid.empty:
        raise InputError(path, f"the first sheet of the {what} is empty: expected a PICS table", line=1)
    header = _header_row(grid)
    table = grid.iloc[header + 1 :]
    table = table.loc[table.astype(str).apply(lambda col: col.str.strip()).ne("").any(axis=1)]
    lines = table.index.to_numpy() + 1
    table = table.reset_index(drop=True)
    table.columns = [str(cell).strip() for cell in grid.iloc[header]]
    return table, header + 1, lines


def _read_table(path: Path) -> tuple[pd.DataFrame, int, np.ndarray]:
    """A PICS table as strings: a workbook (.xls or .xlsx, decided by content) or tab-separated text, plain or
    gzipped; with the line (spreadsheet row) of the header and of each row, 1-based."""
    kind = _workbook_kind(path)
    if kind is not None:
        return _read_workbook(path, kind)
    with read_errors(path, "PICS table"):
        try:
            table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, compression=compression(path))
        except pd.errors.EmptyDataError:
            raise InputError(path, "empty file: expected a PICS table with a header", line=1) from None
    return table, 1, np.arange(len(table)) + 2


def read_pics(path: str | Path) -> pd.DataFrame:
    """PICS fine-mapping table (Farh et al. 2015 supplementary table 1 layout) -> DataFrame ``snp, chrom,
    pos (1-based), pics, disease, n_diseases``, one row per SNP (its maximum PICS probability over diseases,
    with that row's disease), in file order.

    The format is decided by content, never by the name: the published Excel 97-2003 workbook (.xls, OLE2
    magic bytes; read with xlrd), an Excel 2007+ workbook (.xlsx, zip magic; needs openpyxl), or tab-separated
    text, plain or gzipped. A workbook is read from its first sheet; its header is the first of the top 20 rows
    that names the required columns (a title above it is skipped), and error lines are spreadsheet rows.

    Required columns (any case): SNP, chr, pos, PICS_probability; Disease is optional.
    """
    path = Path(path)
    raw, header_line, line = _read_table(path)
    by_lower = {str(c).strip().lower(): c for c in raw.columns}
    missing = [c for c in _PICS_REQUIRED if c.lower() not in by_lower]
    if missing:
        raise InputError(path, f"missing column(s) {', '.join(missing)}: expected a PICS table with columns "
                         f"{', '.join(_PICS_REQUIRED)} (and optionally Disease), as Farh et al. 2015 table S1; "
                         f"got {', '.join(map(str, raw.columns[:8]))}", line=header_line)
    df = pd.DataFrame({new: raw[by_lower[old.lower()]].astype(str).str.strip() for old, new in _PICS_REQUIRED.items()})
    df["disease"] = raw[by_lower["disease"]].astype(str) if "disease" in by_lower else ""
    pos = pd.to_numeric(df["pos"], errors="coerce")
    bad = (pos.isna() | (pos < 1) | (pos != np.floor(pos))).to_numpy()
    if bad.any():
        i = int(np.argmax(bad))
        raise InputError(path, f"expected a 1-based integer pos, got {df['pos'].iloc[i]!r}", line=int(line[i]))
    pics = pd.to_numeric(df["pics"], errors="coerce")
    bad = (pics.isna() | (pics < 0) | (pics > 1)).to_numpy()
    if bad.any():
        i = int(np.argmax(bad))
        raise InputError(path, f"expected a PICS_probability in [0, 1], got {df['pics'].iloc[i]!r}",
                         line=int(line[i]))
    df["pos"] = pos.astype(np.int64)
    df["pics"] = pics.astype(np.float64)
    df["n_diseases"] = df.groupby("snp")["disease"].transform("nunique").astype(np.int64)
    df["order"] = df.groupby("snp", sort=False).ngroup()
    best = df.sort_values(["order", "pics"], ascending=[True, False], kind="stable").drop_duplicates("snp")
    return best.drop(columns="order").reset_index(drop=True)[["snp", "chrom", "pos", "pics", "disease", "n_diseases"]]


# --------------------------------------------------------------------------------------------- allele source
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


def select_vcf_records(source: str | Path, out_path: str | Path, snps: pd.DataFrame, progress: bool = False,
                       timeout: float = 60) -> dict:
    """Stream a VCF and keep the records of the given SNPs: the allele source for a PICS table, which has
    none.

    The source is read once, in blocks of :data:`STREAM_CHUNK` bytes, and never stored whole: a multi-GB
    dbSNP or 1000 Genomes sites file costs the memory of one block. A record is kept when one of its IDs
    (``ID`` column, ``;``-separated) is a SNP name of ``snps``, or when its ``(CHROM, POS)`` is a SNP's
    ``(chrom, pos)``; chromosome names are compared with and without the ``chr`` prefix (and ``chrM`` as
    ``MT``). Kept records are written unchanged, after the source's ``#`` header lines, in source order.

    Parameters
    ----------
    source : str or Path
        Local path or ``http``, ``https``, ``ftp`` or ``file`` URL of a VCF: plain, gzipped or bgzipped
        (decided by content, never by the name).
    out_path : str or Path
        Output VCF, gzipped (level 6, no timestamp), written atomically (:func:`basset.fileio.atomic_open`).
    snps : pandas.DataFrame
        Columns ``snp`` (rsID or other name), ``chrom`` and ``pos`` (1-based, as in the VCF), e.g. from
        :func:`read_pics`.
    progress : bool
        Show a progress bar of the bytes read.
    timeout : float
        Seconds allowed for connecting and for each read of a URL.

    Returns
    -------
    dict
        ``source``; ``bytes_read`` (bytes as transferred, compressed or not); ``header_lines``;
        ``records_read`` and ``records_kept`` (VCF records); ``pics_snps`` (distinct SNP names of ``snps``),
        ``pics_found`` (those with a kept record), ``pics_found_by_id``, ``pics_found_by_position_only``,
        ``pics_not_found``; ``chrom_names_mapped`` (whether the ``chr`` prefix differed between the two).

    Raises
    ------
    InputError
        A local source that cannot be read, corrupt or truncated gzip data, or a record with fewer than the
        5 tab-separated columns CHROM POS ID REF ALT (naming the line).
    DownloadError
        A URL that is malformed, cannot be opened, or whose body ends early.
    """
    source = str(source)
    missing = [c for c in ("snp", "chrom", "pos") if c not in snps.columns]
    if missing:
        raise ValueError(f"snps lacks the column(s) {', '.join(missing)}: expected snp, chrom, pos (read_pics)")
    wanted = _Wanted(snps)
    counts: Counter = Counter()
    stream, size = _open_source(source, timeout)
    log.info("selecting the records of %d SNPs from %s", len(wanted.ids), source)
    bar = progress_bar(size, progress, "selecting PICS variants", "B")
    try:
        with stream, atomic_open(out_path, "wb", gzip_level=6) as out:
            lines = _vcf_lines(_raw_blocks(stream, source, size, bar, counts), source)
            _copy_matching(lines, out, source, wanted, counts)
    finally:
        bar.close()
    summary = {"source": source, **{k: int(counts[k]) for k in ("bytes_read", "header_lines", "records_read",
                                                                 "records_kept")}, **wanted.summary(source)}
    log.info("kept %d of %d records; wrote %s", summary["records_kept"], summary["records_read"], out_path)
    return summary


class _Wanted:
    """The SNPs to select: IDs as the bytes a VCF line holds, and ``(chromosome key, POS bytes)`` pairs; records
    which were found."""

    def __init__(self, snps: pd.DataFrame):
        self.names = snps["snp"].astype(str).str.strip().tolist()
        self.chroms = snps["chrom"].astype(str).str.strip().tolist()
        self.keys = [(chrom_key(c), str(int(p)).encode()) for c, p in zip(self.chroms, snps["pos"])]
        self.ids = {n.encode() for n in self.names if n not in ("", ".")}
        self.positions = set(self.keys)
        self.found_ids: set[bytes] = set()
        self.found_positions: set[tuple[bytes, bytes]] = set()
        self.vcf_chroms: dict[bytes, str] = {}  # VCF chromosome name -> key: few names, each mapped once

    def summary(self, source: str) -> dict:
        """Counts of distinct SNP names found by ID, by position only, and not found (the latter logged)."""
        per_snp = pd.DataFrame({
            "snp": self.names,
            "id": [n.encode() in self.found_ids for n in self.names],
            "pos": [k in self.found_positions for k in self.keys],
        }).groupby("snp", sort=False).any()
        found = per_snp["id"] | per_snp["pos"]
        vcf_chr = any(name[:3].lower() == b"chr" for name in self.vcf_chroms)
        pics_chr = any(name[:3].lower() == "chr" for name in self.chroms)
        mapped = bool(self.vcf_chroms) and bool(self.chroms) and vcf_chr != pics_chr
        if mapped:
            log.info("chromosome names differ by the 'chr' prefix (VCF %s it, PICS %s it); compared without it",
                     "with" if vcf_chr else "without", "with" if pics_chr else "without")
        if not found.all():
            log.warning("%d of %d PICS SNPs have no record in %s (e.g. %s)", int((~found).sum()), len(per_snp),
                        source, ", ".join(per_snp.index[~found.to_numpy()][:5]))
        return {"pics_snps": len(per_snp), "pics_found": int(found.sum()), "pics_found_by_id": int(per_snp["id"].sum()),
                "pics_found_by_position_only": int((per_snp["pos"] & ~per_snp["id"]).sum()),
                "pics_not_found": int((~found).sum()), "chrom_names_mapped": mapped}


def _copy_matching(lines: Iterator[bytes], out, source: str, wanted: _Wanted, counts: Counter) -> None:
    """Write the header lines (``#``, before the first record) and the wanted records (by any of their
    ``;``-separated IDs, or by position) to the binary ``out``, noting the hits in ``wanted``; counts
    ``header_lines``, ``records_read`` and ``records_kept``."""
    # the hot loop of a multi-GB file (hundreds of millions of lines): locals only, no call per line
    ids, positions, chrom_keys = wanted.ids, wanted.positions, wanted.vcf_chroms
    found_ids, found_positions = wanted.found_ids, wanted.found_positions
    write = out.write
    header = read = kept = 0
    for lineno, line in enumerate(lines, 1):
        if line[:1] == b"#":
            if not read:
                write(line.rstrip(b"\r") + b"\n")
                header += 1
            continue
        fields = line.split(b"\t", 5)  # a CR of CRLF stays in the last field, which is not compared
        if len(fields) < 5:
            if not line.strip():
                continue
            raise InputError(source, f"expected a VCF record with at least 5 tab-separated columns (CHROM POS ID "
                                     f"REF ALT), got {len(fields)}", line=lineno, record=line[:200].decode("latin-1"))
        read += 1
        chrom, pos, record_id = fields[0], fields[1], fields[2]
        key = chrom_keys.get(chrom)
        if key is None:
            key = chrom_keys[chrom] = chrom_key(chrom.decode("latin-1"))
        hit = (key, pos) in positions
        if hit:
            found_positions.add((key, pos))
        if record_id in ids:
            found_ids.add(record_id)
            hit = True
        elif b";" in record_id:
            for rs in record_id.split(b";"):
                if rs in ids:
                    found_ids.add(rs)
                    hit = True
        if hit:
            write(line.rstrip(b"\r") + b"\n")
            kept += 1
    counts.update(header_lines=header, records_read=read, records_kept=kept)


# --------------------------------------------------------------------------------------------- enrichment
#: per-SNP scores of :func:`sad_scores`
SCORES = ("abs_mean", "mean_abs", "max_abs")


def sad_scores(sad_table: pd.DataFrame, score: str = "abs_mean") -> pd.Series:
    """Per-row variant score over targets: ``"abs_mean"`` ``|mean SAD|`` (the SAD mean, Basset's summary of
    a SNP), ``"mean_abs"`` mean of ``|SAD|``, ``"max_abs"`` max of ``|SAD|`` (any cell type)."""
    cols = sad_target_columns(sad_table)
    if not cols:
        raise ValueError("the SAD table has no per-target columns")
    values = sad_table[cols].to_numpy(dtype=np.float64)
    if score == "abs_mean":
        return pd.Series(np.abs(values.mean(axis=1)), index=sad_table.index)
    if score == "mean_abs":
        return pd.Series(np.abs(values).mean(axis=1), index=sad_table.index)
    if score == "max_abs":
        return pd.Series(np.abs(values).max(axis=1), index=sad_table.index)
    raise ValueError(f"score must be one of {', '.join(SCORES)}, got {score!r}")


def join_pics(sad_table: pd.DataFrame, pics_df: pd.DataFrame, score: str = "abs_mean") -> pd.DataFrame:
    """PICS SNPs with their SAD score: ``pics_df`` columns + ``score`` (NaN when unscored) and
    ``matched_by`` (``id``, ``chrom_pos`` or ``""``). Several rows of one SNP (ALT alleles) keep the max."""
    s = sad_table.assign(_score=sad_scores(sad_table, score).to_numpy())
    by_id = s.loc[s["id"].astype(str) != "."].groupby(s["id"].astype(str))["_score"].max()
    by_pos = s.groupby([s["chrom"].astype(str), s["pos"].astype(np.int64)])["_score"].max()
    out = pics_df.copy()
    sc = out["snp"].astype(str).map(by_id)
    matched = np.where(sc.notna(), "id", "")
    key = pd.MultiIndex.from_arrays([out["chrom"].astype(str), out["pos"].astype(np.int64)])
    sc_pos = pd.Series(by_pos.reindex(key).to_numpy(), index=out.index)
    fill = sc.isna() & sc_pos.notna()
    sc = sc.where(~fill, sc_pos)
    matched = np.where(fill.to_numpy(), "chrom_pos", matched)
    out["score"] = sc.to_numpy(dtype=np.float64)
    out["matched_by"] = matched
    return out


def pics_enrichment(sad_table: pd.DataFrame, pics_df: pd.DataFrame, high: float = 0.5, low: float = 0.05,
                    sad_threshold: float = 0.1, score: str = "abs_mean") -> dict:
    """Do likely-causal SNPs (PICS >= ``high``) change predicted accessibility more than unlikely ones
    (PICS <= ``low``)?

    Per-SNP score as :func:`sad_scores` (default ``|mean SAD|``). Returns a dict:
    n_pics, n_matched, n_high, n_low, frac_high / frac_low (fraction with score > ``sad_threshold``),
    frac_high_any / frac_low_any (fraction with ``|SAD| > sad_threshold`` in some target; unless the score
    is already ``max_abs``),
    mean_high / mean_low and median_high / median_low of the score, mannwhitney_u and mannwhitney_p
    (one-sided, high > low; scipy.stats.mannwhitneyu), fisher_odds_ratio and fisher_p (one-sided Fisher's
    exact test of the above-threshold fractions), and the settings. Statistics are NaN when a group is empty.
    """
    from scipy import stats

    j = join_pics(sad_table, pics_df, score)
    j = j[j["score"].notna()]
    hi = j.loc[j["pics"] >= high, "score"].to_numpy(dtype=np.float64)
    lo = j.loc[j["pics"] <= low, "score"].to_numpy(dtype=np.float64)
    nan = float("nan")
    res = {
        "score": score, "high": float(high), "low": float(low), "sad_threshold": float(sad_threshold),
        "n_pics": int(len(pics_df)), "n_matched": int(len(j)), "n_high": int(hi.size), "n_low": int(lo.size),
        "frac_high": float((hi > sad_threshold).mean()) if hi.size else nan,
        "frac_low": float((lo > sad_threshold).mean()) if lo.size else nan,
        "mean_high": float(hi.mean()) if hi.size else nan, "mean_low": float(lo.mean()) if lo.size else nan,
        "median_high": float(np.median(hi)) if hi.size else nan,
        "median_low": float(np.median(lo)) if lo.size else nan,
        "mannwhitney_u": nan, "mannwhitney_p": nan, "fisher_odds_ratio": nan, "fisher_p": nan,
    }
    if hi.size and lo.size:
        mw = stats.mannwhitneyu(hi, lo, alternative="greater")
        res["mannwhitney_u"], res["mannwhitney_p"] = float(mw.statistic), float(mw.pvalue)
        a, b = int((hi > sad_threshold).sum()), int((hi <= sad_threshold).sum())
        c, d = int((lo > sad_threshold).sum()), int((lo <= sad_threshold).sum())
        fe = stats.fisher_exact([[a, b], [c, d]], alternative="greater")
        res["fisher_odds_ratio"], res["fisher_p"] = float(fe.statistic), float(fe.pvalue)
    # beside the configured score: the fraction changing some cell type (max |SAD|) above the threshold,
    # since causal SNPs often act in a few cell types only and a mean over all of them dilutes that
    if score != "max_abs":
        m = join_pics(sad_table, pics_df, "max_abs")
        m = m[m["score"].notna()]
        mh, ml = m.loc[m["pics"] >= high, "score"], m.loc[m["pics"] <= low, "score"]
        res["frac_high_any"] = float((mh > sad_threshold).mean()) if len(mh) else nan
        res["frac_low_any"] = float((ml > sad_threshold).mean()) if len(ml) else nan
    log.info("PICS enrichment (%s): %d high-PICS (>= %g) vs %d low-PICS (<= %g) SNPs of %d; fraction > %g: "
             "%.3f vs %.3f; Mann-Whitney p = %.3g, Fisher p = %.3g", score, res["n_high"], high, res["n_low"],
             low, res["n_pics"], sad_threshold, res["frac_high"], res["frac_low"], res["mannwhitney_p"],
             res["fisher_p"])
    return res


def top_snp_maps(model, genome: Genome | str | Path, sad_table: pd.DataFrame, pics_df: pd.DataFrame,
                 target_names, high: float = 0.5, window: int = 100, rc_average: bool = True,
                 seq_len: int | None = None, device="cpu") -> tuple[dict, dict, str]:
    """Figure 5B's data: saturation-mutagenesis maps of the reference and alternative sequence around the
    likely-causal SNP (PICS >= ``high``; all PICS SNPs when none is) with the largest ``max_abs_sad``, for
    the target it changes most (``top_target``). Returns ``(ref_map, alt_map, title)`` for
    :func:`basset.plots.variants.fig_satmut` (the central ``window`` bp, the SNP marked)."""
    from .mutagenesis import ism, satmut_map

    names = list(target_names)
    j = join_pics(sad_table, pics_df)
    cand = j[j["score"].notna() & (j["pics"] >= high)]
    if cand.empty:
        cand = j[j["score"].notna()]
    if cand.empty:
        raise ValueError("no PICS SNP has a SAD score: nothing to draw")
    s = sad_table.assign(_id=sad_table["id"].astype(str), _key=sad_table["chrom"].astype(str) + ":" +
                         sad_table["pos"].astype(str))
    keys = set(cand["snp"].astype(str)) | set(cand["chrom"].astype(str) + ":" + cand["pos"].astype(str))
    rows = s[s["_id"].isin(keys) | s["_key"].isin(keys)]
    top = rows.loc[rows["max_abs_sad"].idxmax()]
    pics_of = dict(zip(cand["snp"].astype(str), cand["pics"]))
    t = names.index(str(top["top_target"]))
    L = int(seq_len or _model_seq_len(model))
    genome = genome if isinstance(genome, Genome) else Genome(genome)
    one = pd.DataFrame({"chrom": [str(top["chrom"])], "pos": [int(top["pos"])], "ref": [str(top["ref"])],
                        "alt": [str(top["alt"])]})
    vs = variant_sequences(genome, one, L)
    if not vs.kept[0]:
        raise ValueError(f"the top SNP {top['id']} could not be re-read from the genome ({vs.status[0]})")
    window = min(int(window), L)
    lo = L // 2 - window // 2
    maps = []
    for label, codes in (("reference " + str(vs.ref_allele[0]), vs.ref), ("alternative " + str(vs.alt_allele[0]), vs.alt)):
        probs = ism(model, codes, lo, lo + window, rc_average=rc_average, device=device)
        maps.append(satmut_map(probs, codes[0, lo : lo + window], t, start=int(top["pos"]) - (L // 2 - lo),
                               label=f"{label} ({names[t]})", mark=L // 2 - lo))
    title = (f"{top['id']} {top['chrom']}:{int(top['pos'])} {top['ref']}>{top['alt']}, PICS "
             f"{pics_of.get(str(top['id']), float('nan')):.2f}, SAD in {names[t]} = {top[names[t]]:+.3f}")
    return maps[0], maps[1], title

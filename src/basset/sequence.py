"""Sequence encoding and FASTA access.

Sequences are stored as uint8 codes A,C,G,T,N = 0,1,2,3,4 (any other IUPAC letter becomes N) and one-hot
encoded on the fly: ``(N, L) uint8`` codes become ``(N, 4, L) float32`` with N as an all-zero column.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from .errors import InputError
from .fileio import atomic_path, sniff_genome

ALPHABET = "ACGTN"
N_CODE = 4

#: byte -> code lookup table (256,) uint8; lower case is accepted (soft-masked repeats).
CODE_LUT = np.full(256, N_CODE, dtype=np.uint8)
for _i, _b in enumerate("ACGT"):
    CODE_LUT[ord(_b)] = _i
    CODE_LUT[ord(_b.lower())] = _i
#: code -> complement code (N stays N)
COMPLEMENT = np.array([3, 2, 1, 0, 4], dtype=np.uint8)
_DECODE = np.frombuffer(ALPHABET.encode(), dtype=np.uint8)


def encode(seq: str | bytes | np.ndarray) -> np.ndarray:
    """DNA text -> ``(L,) uint8`` codes."""
    if isinstance(seq, str):
        seq = seq.encode("ascii")
    if isinstance(seq, (bytes, bytearray, memoryview)):
        seq = np.frombuffer(seq, dtype=np.uint8)
    return CODE_LUT[seq]


def decode(codes: np.ndarray) -> str:
    """``(L,) uint8`` codes -> DNA text (upper case)."""
    return _DECODE[np.asarray(codes, dtype=np.uint8)].tobytes().decode("ascii")


def reverse_complement(codes):
    """Reverse complement of codes along the last axis, ``(..., L)``: numpy in, numpy out; a torch tensor stays
    a tensor on its device (N stays N). The one reverse complement of codes in the package."""
    if hasattr(codes, "flip"):  # a torch tensor; torch itself is not needed to handle it
        return codes.where(codes >= N_CODE, 3 - codes).flip(-1)
    return COMPLEMENT[np.asarray(codes)][..., ::-1]


def one_hot(codes, dtype=None, reverse_complement: bool = False, out=None):
    """``(N, L)`` uint8 codes (numpy or torch, any device) -> ``(N, 4, L)`` one-hot; N is all zero. With
    ``reverse_complement`` the one-hot of the reverse complement, built from the codes directly
    (cheaper than flipping the one-hot: A<->T, C<->G is the channel order reversed).

    With a torch tensor the work stays on its device (encode on the GPU, not in the loader); ``out``, a tensor
    of the result's shape to write into (a buffer reused across batches is about twice as fast as a fresh one:
    no page faults).
    """
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        torch = None
    if torch is not None and isinstance(codes, torch.Tensor):
        # four comparisons written straight into the float output: about 6x faster than indexing an eye matrix
        bases = torch.arange(4, dtype=codes.dtype, device=codes.device).view(4, 1)
        if reverse_complement:
            codes, bases = codes.flip(-1), bases.flip(0)
        if out is None:
            out = torch.empty((*codes.shape[:-1], 4, codes.shape[-1]), dtype=dtype or torch.float32,
                              device=codes.device)
        return torch.eq(codes.unsqueeze(-2), bases, out=out)
    codes = COMPLEMENT[np.asarray(codes)][..., ::-1] if reverse_complement else np.asarray(codes)
    eye = np.eye(5, 4, dtype=dtype or np.float32)
    return np.ascontiguousarray(np.swapaxes(eye[codes], -1, -2))


def strand_window_start(start, minus, length: int, lo: int, width: int) -> np.ndarray:
    """The lowest genome coordinate of columns ``[lo, lo + width)`` of sequences of ``length`` bp whose lowest
    genome coordinate is ``start``: ``start + lo`` on the + strand; on the - strand (``minus``; the sequence is
    reverse-complemented, so column ``j`` is genome ``start + length - 1 - j``) ``start + length - lo - width``.
    The two differ when ``length - width`` is odd. The window's genome values, read left to right, must then be
    reversed on the - strand to line up with the columns."""
    start = np.asarray(start, dtype=np.int64)
    return np.where(np.asarray(minus, dtype=bool), start + length - lo - width, start + lo)


def chrom_key(name: str) -> str:
    """A chromosome name without its ``chr`` prefix (any case) and with the mitochondrion as ``MT``, so that
    the UCSC and Ensembl spellings of one chromosome share a key (``chr1``/``1``, ``chrM``/``MT``/``M``) and
    other names stay distinct."""
    key = name[3:] if name[:3].lower() == "chr" else name
    return "MT" if key in ("M", "m") else key


class ChromosomeMatcher:
    """Chromosome names of another file (a peak file, a VCF) onto the genome's ``genome_names``.

    ``matcher(name)`` is ``name`` when the genome has it; otherwise the genome's spelling of the same chromosome
    (:func:`chrom_key`: ``1`` / ``chr1``, ``chrM`` / ``M`` / ``MT``), recorded in ``matcher.mapped``; ``None`` when
    the genome has neither. The one owner of this rule (peak merging and variant scoring both use it).
    """

    def __init__(self, genome_names):
        self.genome = {str(g) for g in genome_names}
        self.by_key: dict[str, str] = {}
        for g in genome_names:
            self.by_key.setdefault(chrom_key(str(g)), str(g))
        self.mapped: dict[str, str] = {}

    def __call__(self, name) -> str | None:
        name = str(name)
        if name in self.genome:
            return name
        other = self.by_key.get(chrom_key(name))
        if other is not None:
            self.mapped[name] = other
        return other


def match_chromosomes(names, genome_names) -> dict[str, str]:
    """``{name: genome name}`` for the ``names`` that :class:`ChromosomeMatcher` finds in the genome (itself, or
    another spelling of the same chromosome); names with no match are left out."""
    match = ChromosomeMatcher(genome_names)
    return {n: other for n in map(str, names) if (other := match(n)) is not None}


def read_fai(path: str | Path) -> dict[str, int]:
    """Chromosome lengths from a FASTA index (``.fai``) or a two-column chrom.sizes file, in file order."""
    sizes: dict[str, int] = {}
    with open(path) as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.rstrip("\r\n").split("\t")
            if len(parts) < 2:
                raise InputError(path, f"expected at least 2 tab-separated columns (name, length), got {len(parts)}", lineno)
            try:
                sizes[parts[0]] = int(parts[1])
            except ValueError:
                raise InputError(path, f"expected an integer length in column 2, got {parts[1]!r}", lineno) from None
    return sizes


def _windows(values: np.ndarray, starts, length: int, fill) -> np.ndarray:
    """``(n, length)`` slices of the 1-D ``values`` starting at ``starts`` (0-based), ``fill`` outside it."""
    idx = np.asarray(starts, dtype=np.int64)[:, None] + np.arange(length, dtype=np.int64)[None, :]
    inside = (idx >= 0) & (idx < values.shape[0])
    out = np.full(idx.shape, fill, dtype=values.dtype)
    out[inside] = values[idx[inside]]
    return out


class Genome:
    """Random access to a FASTA file (indexed with pyfaidx) returning uint8 codes.

    ``chrom_codes(chrom)`` loads and caches one chromosome at a time, so gathering many windows from one
    chromosome is a single vectorised fancy-index.
    """

    def __init__(self, fasta: str | Path):
        import pyfaidx

        self.path = Path(fasta)
        try:
            self._fa = pyfaidx.Fasta(str(fasta), as_raw=True, sequence_always_upper=False, rebuild=False)
        except (pyfaidx.FastaIndexingError, pyfaidx.UnsupportedCompressionFormat) as exc:
            raise InputError(fasta, f"cannot read the FASTA: {exc}") from None
        self.sizes = {name: len(self._fa[name]) for name in self._fa.keys()}
        self._cache_name: str | None = None
        self._cache: np.ndarray | None = None

    def chrom_codes(self, chrom: str) -> np.ndarray:
        """Whole chromosome as ``(len,) uint8`` codes (cached: one chromosome at a time)."""
        if chrom != self._cache_name:
            self._cache = None
            raw = self._fa[chrom][:]
            self._cache = encode(raw)
            self._cache_name = chrom
        return self._cache

    def fetch(self, chrom: str, start: int, end: int) -> np.ndarray:
        """Codes of ``chrom:start-end`` (0-based, half-open)."""
        return self.chrom_codes(chrom)[start:end]

    def windows(self, chrom: str, starts: np.ndarray, length: int) -> np.ndarray:
        """``(n, length) uint8`` codes of windows starting at ``starts`` (0-based) on ``chrom``.

        Positions outside the chromosome are N.
        """
        return _windows(self.chrom_codes(chrom), starts, length, N_CODE)

    def soft_masked(self, chrom: str, starts: np.ndarray, length: int) -> np.ndarray:
        """``(n, length) bool``: True where the FASTA has a lowercase base (soft-masked: a repeat, as
        RepeatMasker marks the UCSC and Ensembl genomes) in the windows starting at ``starts`` on ``chrom``;
        positions outside the chromosome are False. Reads the chromosome's raw text (not cached)."""
        raw = np.frombuffer(self._fa[chrom][:].encode("ascii", "replace"), dtype=np.uint8)
        return _windows(raw >= ord("a"), starts, length, False)

    def close(self) -> None:
        self._fa.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _index_fasta(fasta: Path, index: Path, named: Path | None = None) -> dict[str, int]:
    """Write the samtools-style index of ``fasta`` to ``index`` (pyfaidx) and return the chromosome sizes.

    Raises :class:`~basset.errors.InputError` naming ``named`` (default ``fasta``) when pyfaidx cannot index
    it (duplicate names, uneven line lengths, gzip without a .gzi index).
    """
    import pyfaidx

    try:
        pyfaidx.Faidx(str(fasta), indexname=str(index), rebuild=True).close()
    except (pyfaidx.FastaIndexingError, pyfaidx.UnsupportedCompressionFormat, ValueError) as exc:
        raise InputError(named or fasta, f"cannot index the FASTA: {exc}") from None
    return read_fai(index)


def link_and_index(fasta: str | Path, link: str | Path, fai: str | Path) -> dict[str, int]:
    """Link ``fasta`` at ``link`` (absolute symbolic link) and write its samtools-style index to ``fai``
    (``link`` + ``.fai``, where pyfaidx and :class:`Genome` look for it) atomically; the FASTA's own folder is
    never written to. Returns the chromosome sizes. Raises :class:`~basset.errors.InputError` naming the
    FASTA when pyfaidx cannot index it (duplicate names, uneven line lengths, gzip without a .gzi index)."""
    fasta, link, fai = Path(fasta), Path(link), Path(fai)
    if fai != Path(f"{link}.fai"):
        raise ValueError(f"the index of {link} must be {link}.fai, got {fai}")
    with atomic_path(link) as tmp:
        os.symlink(fasta.resolve(), tmp)
    with atomic_path(fai) as tmp:
        return _index_fasta(link, tmp, named=fasta)


def genome_sizes(path: str | Path) -> dict[str, int]:
    """Chromosome sizes of a genome given as a FASTA, its ``.fai`` or a chrom-sizes table, decided by content.

    For a FASTA, an index beside it is read when present and up to date; otherwise one is built in a temporary
    folder (nothing is written beside the user's file). Raises :class:`~basset.errors.InputError` naming the
    file for anything else (a gzipped FASTA: gunzip it, or pass its .fai or chrom sizes).
    """
    path = Path(path)
    kind = sniff_genome(path)
    if kind == "sizes":
        return read_fai(path)
    if kind == "fasta.gz":
        raise InputError(path, "a gzip-compressed FASTA cannot be indexed here; gunzip it, or pass its .fai or a "
                               "chrom.sizes file")
    fai = Path(f"{path}.fai")
    if fai.exists() and fai.stat().st_mtime >= path.stat().st_mtime:
        return read_fai(fai)
    with tempfile.TemporaryDirectory(prefix="basset-fai-") as folder:
        return _index_fasta(path, Path(folder) / "genome.fa.fai")

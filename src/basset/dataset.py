"""Train/valid/test splits, the HDF5 dataset and a streaming PyTorch loader.

Splits
------
:func:`split_sites` labels every site ``train``, ``valid`` or ``test``, either at random (fractions or
counts; the paper held out 70,000 valid and 71,886 test sites) or by holding out whole chromosomes.
:func:`write_splits` / :func:`read_splits` store the labels as a TSV with the header ``site<TAB>split``.

HDF5 layout (``format_version`` 1)
----------------------------------
Written by :func:`build_dataset`; ``{split}`` is each of ``train``, ``valid``, ``test`` (a split with no
sites has zero-row datasets). ``n`` is the number of sites kept in the split, ``L`` the sequence length
(bp), ``T`` the number of targets (cell types)::

    /target_names        (T,)   variable-length utf-8 strings, the activity table's column names
    /{split}/seqs        (n, L) uint8  sequence codes A,C,G,T,N = 0,1,2,3,4 (5' to 3' on the site's
                                       strand: '-' sites are reverse-complemented); chunks
                                       (chunk_rows, L), compressed (gzip level 1 by default)
    /{split}/targets     (n, T) uint8  1 = the site is accessible in that target, 0 = not;
                                       chunks (chunk_rows, T), compressed
    /{split}/chrom       (n,)   fixed-length utf-8 strings, chromosome of the site
    /{split}/start       (n,)   int64  0-based start (bp, half-open interval)
    /{split}/end         (n,)   int64  end (bp, exclusive)
    /{split}/strand      (n,)   fixed-length utf-8 strings '+', '-' or '.'
    /{split}/site_index  (n,)   int64  row of the site in the merged sites table (sites.bed,
                                       activity.tsv.gz), 0-based
    attributes of /:     seq_length (L, bp), n_handling ("random" or "zero"), alphabet "ACGTN",
                         seed, basset_version, format_version (1), max_n_fraction
    (h5py reads the strings as bytes: ``.decode()`` them, or use ``.asstr()[...]``.)

Within each split the rows are stored in a seeded random order, so that any contiguous block is already
a random sample; ``site_index`` links a row back to its site. One-hot encoding is not stored: the
training step encodes ``(B, L)`` codes on the device with :func:`basset.sequence.one_hot`.

Loader
------
:class:`H5Batches` streams whole batches ``(codes (B, L) uint8, targets (B, T) uint8)`` from one split,
reading contiguous chunk-aligned blocks in a seeded per-epoch order and shuffling rows within a buffer of a
few blocks; DataLoader workers and DDP ranks take disjoint blocks. :func:`make_loader` wraps it in a
``DataLoader(batch_size=None)``. :func:`load_split` reads a whole split into memory (for evaluation).
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.utils.data

from . import __version__
from .errors import ConfigError, InputError
from .fileio import DiskFullError, atomic_path, disk_errors, staging_dir
from .logs import progress_bar
from .sequence import ALPHABET, COMPLEMENT, N_CODE
from .tables import write_summary, write_table

log = logging.getLogger("basset.dataset")

SPLITS = ("train", "valid", "test")
FORMAT_VERSION = 1
#: sites gathered per step while reading the genome (bounds memory: block x L bytes per array)
_GATHER_ROWS = 65536


# --------------------------------------------------------------------------------------------- splits
def _as_list(value, key: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    try:
        return [str(v) for v in value]
    except TypeError:
        raise ConfigError(key, f"expected a list of chromosome names, got {value!r}") from None


def _split_count(value, n: int, key: str) -> int:
    """A fraction (< 1) of ``n`` or a count (>= 1) -> number of sites."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ConfigError(key, f"expected a fraction (< 1) or a count (>= 1), got {value!r}") from None
    if not math.isfinite(value) or value < 0:
        raise ConfigError(key, f"expected a fraction (< 1) or a count (>= 1), got {value!r}")
    if value < 1:
        return int(round(value * n))
    if value != int(value):
        raise ConfigError(key, f"a count (>= 1) must be a whole number, got {value!r}")
    if value > n:
        raise ConfigError(key, f"asks for {int(value)} sites but there are only {n}")
    return int(value)


def split_sites(sites: pd.DataFrame, method: str = "random", valid=0.1, test=0.1, seed: int = 1) -> np.ndarray:
    """Label each site ``"train"``, ``"valid"`` or ``"test"``; returns ``(N,)`` str (object) array.

    ``method="random"``: ``valid``/``test`` are fractions of the sites (< 1) or counts (>= 1); the held-out
    sites are drawn with ``numpy.random.default_rng(seed)``. ``method="chromosomes"``: ``valid``/``test``
    are chromosome names (a list, or one name) whose sites are held out; a listed chromosome without
    sites is logged as a warning. Raises :class:`ConfigError` (``dataset.split.*``) on impossible
    requests. Only ``sites["chrom"]`` is used, and only its length for ``"random"``.
    """
    n = len(sites)
    labels = np.full(n, "train", dtype=object)
    if method == "random":
        n_valid = _split_count(valid, n, "dataset.split.valid")
        n_test = _split_count(test, n, "dataset.split.test")
        if float(valid) < 1 and float(test) < 1 and float(valid) + float(test) >= 1:
            raise ConfigError("dataset.split.test", f"valid + test fractions must sum to < 1, got {valid} + {test}")
        if n_valid + n_test > n:
            raise ConfigError("dataset.split.test", f"valid ({n_valid}) + test ({n_test}) sites exceed the {n} sites")
        order = np.random.default_rng(seed).permutation(n)
        labels[order[:n_valid]] = "valid"
        labels[order[n_valid : n_valid + n_test]] = "test"
    elif method == "chromosomes":
        held = {"valid": _as_list(valid, "dataset.split.valid"), "test": _as_list(test, "dataset.split.test")}
        both = set(held["valid"]) & set(held["test"])
        if both:
            raise ConfigError("dataset.split.test", f"chromosomes {sorted(both)} are in both valid and test")
        chrom = sites["chrom"].astype(str).to_numpy()
        present = set(pd.unique(chrom))
        for split, chroms in held.items():
            missing = [c for c in chroms if c not in present]
            if missing:
                log.warning("dataset.split.%s: no sites on chromosome(s) %s", split, ", ".join(missing))
            labels[np.isin(chrom, chroms)] = split
    else:
        raise ConfigError("dataset.split.method", f"expected 'random' or 'chromosomes', got {method!r}")
    counts = {s: int((labels == s).sum()) for s in SPLITS}
    log.info("split %d sites (%s): %s", n, method, ", ".join(f"{k} {v}" for k, v in counts.items()))
    return labels


def write_splits(path: str | Path, names, labels) -> None:
    """Write ``site<TAB>split`` TSV (with header) for ``(N,)`` site names and their split labels."""
    write_table(path, pd.DataFrame({"site": np.asarray(names), "split": np.asarray(labels)}))


def read_splits(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read a splits TSV -> ``(names (N,) str, labels (N,) str)``; labels must be train/valid/test."""
    try:
        df = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(path, f"expected a TSV with header 'site<TAB>split': {exc}") from None
    if list(df.columns[:2]) != ["site", "split"]:
        raise InputError(path, f"expected header 'site<TAB>split', got {list(df.columns)!r}", line=1)
    labels = df["split"].to_numpy(dtype=object)
    bad = np.flatnonzero(~np.isin(labels, SPLITS))
    if bad.size:
        i = int(bad[0])
        raise InputError(path, f"expected split train, valid or test, got {labels[i]!r}", line=i + 2)
    return df["site"].to_numpy(dtype=object), labels


def align_to_sites(site_names, names, path: str | Path) -> np.ndarray | slice:
    """Indexer such that ``names[indexer] == site_names``; InputError names a missing site.

    Used to check that a per-site table read from ``path`` (splits, activity) covers every site. Returns
    ``slice(None)`` when ``names`` are already in site order (indexing then copies nothing), else an
    ``(N,) int64`` array.
    """
    site_names = np.asarray(site_names, dtype=object)
    index = pd.Index(np.asarray(names, dtype=object))
    if index.equals(pd.Index(site_names)):
        return slice(None)
    if not index.is_unique:
        dup = index[index.duplicated()][0]
        raise InputError(path, f"site {dup!r} appears more than once")
    indexer = index.get_indexer(site_names)
    missing = np.flatnonzero(indexer < 0)
    if missing.size:
        raise InputError(path, f"{missing.size} site(s) of sites.bed are missing, first {site_names[missing[0]]!r}")
    return indexer.astype(np.int64)


# ------------------------------------------------------------------------------------------- building
def _site_length(sites: pd.DataFrame) -> int:
    width = sites["end"].to_numpy(np.int64) - sites["start"].to_numpy(np.int64)
    if width.size == 0:
        raise ValueError("no sites to build a dataset from")
    bad = np.flatnonzero(width != width[0])
    if bad.size or width[0] <= 0:
        i = int(bad[0]) if bad.size else 0
        raise InputError(
            "sites",
            f"all sites must have the same positive width, site {i} is {width[i]} bp, site 0 is {width[0]} bp",
            record=str(sites.iloc[i].get("name", i)),
        )
    return int(width[0])


class _Buckets:
    """Kept rows of each split scattered at random into bucket files: an exact external shuffle.

    Each row goes to a uniformly random bucket of its split; buckets (about ``bucket_rows`` rows,
    ``bucket_rows x L`` bytes on disk) are later read one at a time and permuted in memory, which gives
    a uniformly random order of the whole split without holding it in memory or reading it at random.
    """

    def __init__(self, folder: Path, split_sizes: list[int], L: int, bucket_rows: int, rng):
        self.folder, self.L, self.rng = folder, L, rng
        self.n_buckets = np.array([max(1, math.ceil(n / bucket_rows)) for n in split_sizes], dtype=np.int64)
        self.site_index: dict[tuple[int, int], list[np.ndarray]] = {}

    def path(self, split: int, bucket: int) -> Path:
        return self.folder / f"{split}.{bucket}.u8"

    def add(self, seqs: np.ndarray, site_index: np.ndarray, split: np.ndarray) -> None:
        """Append ``(n, L)`` codes of sites ``site_index`` (n,) in splits ``split`` (n,) int to their buckets."""
        bucket = (self.rng.random(split.size) * self.n_buckets[split]).astype(np.int64)
        key = split * int(self.n_buckets.max()) + bucket
        order = np.argsort(key, kind="stable")
        cuts = np.flatnonzero(np.diff(key[order])) + 1
        for rows in np.split(order, cuts):  # a loop over buckets, not sites
            if rows.size == 0:
                continue
            k = (int(split[rows[0]]), int(bucket[rows[0]]))
            with open(self.path(*k), "ab") as fh:
                fh.write(np.ascontiguousarray(seqs[rows]).tobytes())
            self.site_index.setdefault(k, []).append(site_index[rows])

    def read(self, split: int, bucket: int) -> tuple[np.ndarray, np.ndarray]:
        """``(codes (m, L) uint8, site_index (m,) int64)`` of one bucket, in arrival order."""
        parts = self.site_index.get((split, bucket))
        if not parts:
            return np.zeros((0, self.L), np.uint8), np.zeros(0, np.int64)
        codes = np.fromfile(self.path(split, bucket), dtype=np.uint8).reshape(-1, self.L)
        return codes, np.concatenate(parts).astype(np.int64)

    def count(self, split: int) -> int:
        return int(sum(p.size for (s, _), parts in self.site_index.items() if s == split for p in parts))


def _stage_sequences(buckets, genome, sites, split_codes, L, n_handling, max_n_fraction, rng, progress):
    """Pass 1: gather every usable site's codes chromosome by chromosome into ``buckets``.

    Returns ``(skipped counts dict, number of N bases replaced)``.
    """
    from numpy.lib.stride_tricks import sliding_window_view

    chrom = sites["chrom"].astype(str).to_numpy(dtype=object)
    start = sites["start"].to_numpy(np.int64)
    minus = (
        (sites["strand"].astype(str).to_numpy(dtype=object) == "-") if "strand" in sites else np.zeros(len(sites), bool)
    )
    codes, uniques = pd.factorize(chrom)
    known = np.array([u in genome.sizes for u in uniques], dtype=bool)
    skipped = {"unknown_chrom": int((~known[codes]).sum()) if len(uniques) else 0, "off_chrom_end": 0, "n_rich": 0}
    if skipped["unknown_chrom"]:
        missing = [u for u, k in zip(uniques, known) if not k]
        log.warning(
            "skipped %d sites on chromosomes not in the FASTA: %s", skipped["unknown_chrom"], ", ".join(missing[:10])
        )
    max_n = int(math.floor(max_n_fraction * L + 1e-9))
    n_replaced = 0
    # FASTA order, so each chromosome is loaded once and the RNG streams are reproducible
    present = set(uniques)
    chrom_order = [c for c in genome.sizes if c in present]
    by_chrom = {u: i for i, u in enumerate(uniques)}
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
    bar = progress_bar(len(sites) - skipped["unknown_chrom"], progress, "reading sequences", "site")
    for name in chrom_order:
        c = by_chrom[name]
        idx = order[bounds[c] : bounds[c + 1]]
        inside = (start[idx] >= 0) & (start[idx] + L <= genome.sizes[name])
        skipped["off_chrom_end"] += int((~inside).sum())
        idx = idx[inside]
        if idx.size:
            # (size - L + 1, L) strided view of the cached chromosome: a fancy index gathers windows in one copy
            windows = sliding_window_view(genome.chrom_codes(name), L)
        for b in range(0, idx.size, _GATHER_ROWS):
            block = idx[b : b + _GATHER_ROWS]
            seqs = windows[start[block]]  # (n, L) uint8
            rc = minus[block]
            if rc.any():
                seqs[rc] = COMPLEMENT[seqs[rc]][:, ::-1]
            ok = np.count_nonzero(seqs == N_CODE, axis=1) <= max_n
            skipped["n_rich"] += int((~ok).sum())
            if not ok.all():
                seqs, block = seqs[ok], block[ok]
            if n_handling == "random":
                is_n = seqs == N_CODE
                k = int(np.count_nonzero(is_n))
                if k:
                    seqs[is_n] = rng.integers(0, 4, size=k, dtype=np.uint8)
                    n_replaced += k
            buckets.add(seqs, block, split_codes[block])
        bar.update(int(bounds[c + 1] - bounds[c]))
    bar.close()
    for key, n in skipped.items():
        if n and key != "unknown_chrom":
            log.warning("skipped %d sites: %s", n, key.replace("_", " "))
    return skipped, n_replaced


def _string_array(values) -> np.ndarray:
    arr = np.asarray(values, dtype=object).astype(str)
    return np.char.encode(arr, "utf-8") if arr.size else np.zeros(0, dtype="S1")


class _QuietFile:
    """A binary file for h5py's file-object driver that keeps failed writes from HDF5.

    HDF5 2.0 (h5py 3.16) can crash the process (segmentation fault) after a failed write, for instance
    once it has failed to flush a dataset on a full disk. This file records the first ``OSError`` of a
    write, drops the writes after it and reports success to HDF5, which so closes the file normally;
    :meth:`check` raises the recorded error (lack of space: :class:`DiskFullError` naming ``name``).
    """

    def __init__(self, path: Path, name: Path):
        self.name, self.error = name, None
        self._fh = open(path, "w+b", buffering=0)  # unbuffered, like HDF5's own POSIX driver

    def write(self, data) -> int:
        view = memoryview(data).cast("B")
        done = 0
        try:
            while self.error is None and done < len(view):
                done += self._fh.write(view[done:])
        except OSError as exc:
            self.error = exc
        return len(view)

    def read(self, size: int = -1) -> bytes:
        return self._fh.read(size)

    def readinto(self, buffer) -> int:
        return self._fh.readinto(buffer)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._fh.seek(offset, whence)

    def tell(self) -> int:
        return self._fh.tell()

    def truncate(self, size: int | None = None) -> int:
        try:
            return self._fh.truncate(size)
        except OSError as exc:
            self.error = self.error or exc
            return self._fh.tell() if size is None else size

    def flush(self) -> None:
        """Nothing to flush: writes go straight to the file."""

    def close(self) -> None:
        self._fh.close()

    def check(self) -> None:
        """Raise the first failed write, if any (:class:`DiskFullError` naming ``name`` for lack of space)."""
        if self.error is not None:
            with disk_errors(self.name):
                raise self.error


@contextlib.contextmanager
def _hdf5_writer(path: Path, name: Path):
    """``(h5py.File open for writing at path, its _QuietFile)``; a failed write is raised once HDF5 has
    closed the file (lack of space: :class:`DiskFullError` naming ``name``), also in place of the HDF5
    error it caused."""
    import h5py

    sink = _QuietFile(path, name)
    try:
        with h5py.File(sink, "w") as h5:
            yield h5, sink
    except Exception:
        sink.check()
        raise
    finally:
        sink.close()
    sink.check()


@contextlib.contextmanager
def _disk_full_names(path: Path):
    """Re-raise a :class:`DiskFullError` about a helper file (a staging bucket) as one naming ``path``."""
    try:
        yield
    except DiskFullError as exc:
        if exc.path == str(path):
            raise
        raise DiskFullError(path, f"while staging in {Path(exc.path).parent.name}") from None


def build_dataset(
    out_h5: str | Path,
    genome,
    sites: pd.DataFrame,
    activity: np.ndarray,
    target_names,
    splits,
    n_handling: str = "random",
    max_n_fraction: float = 0.5,
    seed: int = 1,
    compression: str | None = "gzip",
    compression_level: int = 1,
    chunk_rows: int = 256,
    progress: bool = True,
    bucket_rows: int = 65536,
) -> dict:
    """Write the HDF5 dataset (layout in the module docstring); returns a summary dict of counts.

    ``genome`` is a :class:`basset.sequence.Genome`; ``sites`` a DataFrame with ``chrom, start, end``
    (0-based half-open, all the same width L bp) and optionally ``strand``; ``activity`` ``(N, T)``
    uint8 0/1 in the rows of ``sites``; ``target_names`` ``(T,)``; ``splits`` ``(N,)`` labels
    train/valid/test. Sites on chromosomes missing from the FASTA, running off a chromosome end, or with
    more than ``max_n_fraction`` N bases are skipped and counted (``skipped_*`` keys). ``n_handling``
    ``"random"`` replaces each remaining N with a random base (seeded), ``"zero"`` keeps code 4.
    ``compression``: ``"gzip"`` (at ``compression_level``), ``"lzf"`` or ``None``/``"none"``.

    Sequences are gathered one chromosome at a time (one vectorised gather per block of 65,536 sites)
    and scattered at random into uncompressed bucket files of about ``bucket_rows`` sites in a
    staging folder ``.stage-<pid>-<name>`` next to ``out_h5`` (``L`` bytes per site on disk); each bucket is
    then permuted in memory and appended to its split, giving every split a seeded uniformly random row
    order. The HDF5 file is written under a temporary name (:func:`basset.fileio.atomic_path`) and renamed
    at the end, so a half-written file never has the final name; leftovers of a killed run are swept by the
    next one. A full disk raises :class:`basset.fileio.DiskFullError` naming ``out_h5``. Memory beyond the
    chromosome in use and the caller's arrays: about 4 x ``bucket_rows x L`` bytes (~160 MB by default)
    plus 16 bytes per site.
    """
    import h5py

    out_h5 = Path(out_h5)
    n = len(sites)
    activity = np.asarray(activity)
    target_names = [str(t) for t in target_names]
    splits = np.asarray(splits, dtype=object)
    if n_handling not in ("random", "zero"):
        raise ConfigError("dataset.n_handling", f"expected 'random' or 'zero', got {n_handling!r}")
    if not 0 <= max_n_fraction <= 1:
        raise ConfigError("dataset.max_n_fraction", f"expected a fraction in [0, 1], got {max_n_fraction!r}")
    if compression == "none":
        compression = None
    if compression not in ("gzip", "lzf", None):
        raise ConfigError("dataset.compression", f"expected 'gzip', 'lzf' or 'none', got {compression!r}")
    if activity.ndim != 2 or activity.shape[0] != n:
        raise ValueError(f"activity must be (N={n}, T), got shape {activity.shape}")
    if activity.shape[1] != len(target_names):
        raise ValueError(f"activity has {activity.shape[1]} columns but {len(target_names)} target names")
    if splits.shape != (n,):
        raise ValueError(f"splits must be ({n},), got shape {splits.shape}")
    bad = np.flatnonzero(~np.isin(splits, SPLITS))
    if bad.size:
        raise ValueError(f"split labels must be train/valid/test, site {bad[0]} has {splits[bad[0]]!r}")
    L = _site_length(sites)
    T = len(target_names)

    comp = dict(compression=compression, compression_opts=compression_level if compression == "gzip" else None)
    split_codes = pd.Categorical(splits, categories=SPLITS).codes.astype(np.int64)
    counts: dict[str, int] = {}
    with _disk_full_names(out_h5), atomic_path(out_h5) as tmp_h5:
        with staging_dir(out_h5.parent, out_h5.name) as folder:
            sizes = [int((split_codes == k).sum()) for k in range(len(SPLITS))]
            buckets = _Buckets(folder, sizes, L, bucket_rows, np.random.default_rng([seed, 1]))
            t0 = time.perf_counter()
            skipped, n_replaced = _stage_sequences(
                buckets,
                genome,
                sites,
                split_codes,
                L,
                n_handling,
                max_n_fraction,
                np.random.default_rng([seed, 0]),
                progress,
            )
            with _hdf5_writer(tmp_h5, out_h5) as (h5, sink):
                t1 = time.perf_counter()
                log.info("read and bucketed the sequences in %.1f s", t1 - t0)
                h5.attrs.update(
                    seq_length=L,
                    n_handling=n_handling,
                    alphabet=ALPHABET,
                    seed=seed,
                    basset_version=__version__,
                    format_version=FORMAT_VERSION,
                    max_n_fraction=max_n_fraction,
                )
                h5.create_dataset(
                    "target_names", data=np.array(target_names, dtype=object), dtype=h5py.string_dtype("utf-8")
                )
                for k, split in enumerate(SPLITS):
                    counts[split] = _write_split(
                        h5, split, k, buckets, seed, sites, activity, L, T, chunk_rows, comp, progress, sink.check
                    )
                log.info("shuffled, compressed and wrote the splits in %.1f s", time.perf_counter() - t1)
    summary = {"sites": n, "kept": sum(counts.values()), **counts}
    summary.update({f"skipped_{k}": v for k, v in skipped.items()})
    summary.update(n_bases_replaced=n_replaced, seq_length=L, targets=T)
    log.info("wrote %s: %s", out_h5, ", ".join(f"{k} {v}" for k, v in summary.items()))
    return summary


def _write_split(h5, split, k, buckets, seed, sites, activity, L, T, chunk_rows, comp, progress,
                 check=lambda: None) -> int:
    """Write one split's datasets from its buckets, each permuted in memory; returns its row count.

    ``check()`` runs after each bucket (it raises a failed write early)."""
    import h5py

    n = buckets.count(k)
    g = h5.create_group(split)
    rows = max(1, min(chunk_rows, n))
    seqs = g.create_dataset(
        "seqs", shape=(n, L), dtype=np.uint8, chunks=(rows, L) if n else None, **(comp if n else {})
    )
    tgts = g.create_dataset(
        "targets", shape=(n, T), dtype=np.uint8, chunks=(rows, T) if n and T else None, **(comp if n and T else {})
    )
    site_index = np.zeros(n, dtype=np.int64)
    bar = progress_bar(n, progress, f"writing {split}", "site")
    pos = 0
    carry_x, carry_i = np.zeros((0, L), np.uint8), np.zeros(0, np.int64)
    n_buckets = int(buckets.n_buckets[k])
    for b in range(n_buckets):
        x, idx = buckets.read(k, b)
        buckets.path(k, b).unlink(missing_ok=True)
        perm = np.random.default_rng([seed, 2, k, b]).permutation(idx.size)
        x, idx = np.concatenate([carry_x, x[perm]]), np.concatenate([carry_i, idx[perm]])
        # write whole chunks only (the remainder waits for the next bucket) so no chunk is compressed twice
        m = x.shape[0] if b == n_buckets - 1 else (x.shape[0] // chunk_rows) * chunk_rows
        seqs[pos : pos + m] = x[:m]
        tgts[pos : pos + m] = activity[idx[:m]]
        site_index[pos : pos + m] = idx[:m]
        carry_x, carry_i = x[m:], idx[m:]
        pos += m
        bar.update(m)
        check()
    bar.close()
    sub = sites.iloc[site_index]
    strand = sub["strand"].to_numpy() if "strand" in sub else np.full(n, "+", dtype=object)
    for name, values in (("chrom", sub["chrom"].to_numpy()), ("strand", strand)):
        data = _string_array(values)  # fixed-length utf-8 strings
        g.create_dataset(name, data=data.astype(h5py.string_dtype("utf-8", max(1, data.dtype.itemsize))))
    g.create_dataset("start", data=sub["start"].to_numpy(np.int64))
    g.create_dataset("end", data=sub["end"].to_numpy(np.int64))
    g.create_dataset("site_index", data=site_index)
    return n


# -------------------------------------------------------------------------------------------- reading
def dataset_info(path: str | Path) -> dict:
    """Attributes, target names, seq_length and rows per split of a dataset file."""
    import h5py

    with h5py.File(path, "r") as h5:
        info = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in h5.attrs.items()}
        info["target_names"] = [t.decode() if isinstance(t, bytes) else str(t) for t in h5["target_names"][...]]
        info["n_targets"] = len(info["target_names"])
        info["n_sites"] = {s: int(h5[s]["seqs"].shape[0]) for s in SPLITS if s in h5}
    return info


def load_split(path: str | Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Read a whole split into memory: ``(codes (n, L) uint8, targets (n, T) uint8)`` in file order."""
    import h5py

    with h5py.File(path, "r") as h5:
        if split not in h5:
            raise InputError(path, f"no split {split!r} (has {', '.join(k for k in h5 if k in SPLITS)})")
        return h5[split]["seqs"][...], h5[split]["targets"][...]


class H5Batches(torch.utils.data.IterableDataset):
    """Stream shuffled batches ``(codes (B, L) uint8 tensor, targets (B, T) uint8 tensor)`` from a split.

    Rows are read in contiguous blocks of ``block_rows`` (rounded up to whole HDF5 chunks). With
    ``shuffle`` the blocks are visited in a random order drawn from ``(seed, epoch)`` and rows are shuffled
    within a buffer of ``buffer_blocks`` blocks (the file is already stored in a random order, so this
    gives a fresh, well-mixed order every epoch); without it rows come in file order. Blocks are dealt
    round-robin to the ``world_size * num_workers`` shards (DDP ranks x DataLoader workers), so every row
    is yielded exactly once per epoch over all of them; each shard yields its own last partial batch
    unless ``drop_last``. (Ranks may differ by one block of rows; use ``drop_last`` and a fixed step count,
    or DDP's ``join``, if they must run equal steps.) The HDF5 file is opened lazily in each process.
    Call :meth:`set_epoch` before each epoch (DataLoader workers must not be persistent for it to apply).
    """

    def __init__(
        self,
        path: str | Path,
        split: str = "train",
        batch_size: int = 128,
        shuffle: bool = True,
        seed: int = 1,
        epoch: int = 0,
        block_rows: int = 4096,
        buffer_blocks: int = 4,
        drop_last: bool = False,
        rank: int = 0,
        world_size: int = 1,
    ):
        import h5py

        super().__init__()
        if batch_size < 1 or block_rows < 1 or buffer_blocks < 1:
            raise ValueError("batch_size, block_rows and buffer_blocks must be >= 1")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank must be in [0, world_size={world_size}), got {rank}")
        self.path, self.split = str(path), split
        self.batch_size, self.shuffle, self.seed, self.epoch = int(batch_size), bool(shuffle), int(seed), int(epoch)
        self.buffer_blocks, self.drop_last = int(buffer_blocks), bool(drop_last)
        self.rank, self.world_size = int(rank), int(world_size)
        with h5py.File(self.path, "r") as h5:  # read shapes only; no handle is kept (it must not be pickled)
            if split not in h5:
                raise InputError(self.path, f"no split {split!r} in the dataset")
            d = h5[split]["seqs"]
            self.n_rows, self.seq_length = int(d.shape[0]), int(d.shape[1])
            self.n_targets = int(h5[split]["targets"].shape[1])
            chunk = d.chunks[0] if d.chunks else 1
        self.block_rows = int(math.ceil(block_rows / chunk) * chunk)
        self.n_blocks = int(math.ceil(self.n_rows / self.block_rows))

    def set_epoch(self, epoch: int) -> None:
        """Use the block and row order of ``epoch`` (same seed + epoch -> same order)."""
        self.epoch = int(epoch)

    def _shard(self) -> tuple[int, int]:
        info = torch.utils.data.get_worker_info()
        workers, worker = (info.num_workers, info.id) if info is not None else (1, 0)
        return self.rank * workers + worker, self.world_size * workers

    def blocks(self, shard: int = 0, n_shards: int = 1) -> np.ndarray:
        """Block numbers (in visiting order) of one shard for the current epoch; block b is rows
        ``[b * block_rows, min((b + 1) * block_rows, n_rows))``."""
        order = np.arange(self.n_blocks)
        if self.shuffle:
            order = np.random.default_rng([self.seed, self.epoch]).permutation(self.n_blocks)
        return order[shard::n_shards]

    def __iter__(self):
        import h5py

        shard, n_shards = self._shard()
        blocks = self.blocks(shard, n_shards)
        rng = np.random.default_rng([self.seed, self.epoch, shard, 1])
        B = self.batch_size
        with h5py.File(self.path, "r") as h5:
            seqs, tgts = h5[self.split]["seqs"], h5[self.split]["targets"]
            carry_x = np.zeros((0, self.seq_length), np.uint8)
            carry_y = np.zeros((0, self.n_targets), np.uint8)
            for g in range(0, blocks.size, self.buffer_blocks):
                xs, ys = [carry_x], [carry_y]
                for b in blocks[g : g + self.buffer_blocks]:
                    lo, hi = int(b) * self.block_rows, min((int(b) + 1) * self.block_rows, self.n_rows)
                    xs.append(seqs[lo:hi])
                    ys.append(tgts[lo:hi])
                x, y = np.concatenate(xs), np.concatenate(ys)
                last = g + self.buffer_blocks >= blocks.size
                if self.shuffle:
                    perm = rng.permutation(x.shape[0])
                    x, y = x[perm], y[perm]
                n_full = (x.shape[0] // B) * B
                stop = x.shape[0] if (last and not self.drop_last) else n_full
                for i in range(0, stop, B):
                    yield torch.from_numpy(x[i : i + B]), torch.from_numpy(y[i : i + B])
                carry_x, carry_y = x[stop:].copy(), y[stop:].copy()


def make_loader(
    path: str | Path,
    split: str = "train",
    batch_size: int = 128,
    shuffle: bool = True,
    seed: int = 1,
    num_workers: int = 0,
    pin_memory: bool = False,
    epoch: int = 0,
    block_rows: int = 4096,
    buffer_blocks: int = 4,
    drop_last: bool = False,
    rank: int = 0,
    world_size: int = 1,
    multiprocessing_context=None,
):
    """``DataLoader(H5Batches(...), batch_size=None)`` yielding ``(codes (B, L) uint8, targets (B, T) uint8)``.

    Call ``loader.dataset.set_epoch(e)`` before each epoch. Workers are not persistent, so each epoch's
    workers get the current epoch. One-hot encode on the device with :func:`basset.sequence.one_hot`.
    """
    from torch.utils.data import DataLoader

    ds = H5Batches(
        path, split, batch_size, shuffle, seed, epoch, block_rows, buffer_blocks, drop_last, rank, world_size
    )
    return DataLoader(
        ds,
        batch_size=None,
        num_workers=num_workers,
        pin_memory=pin_memory,
        multiprocessing_context=multiprocessing_context if num_workers else None,
    )


def build_dataset_from_files(out_h5: str | Path, sites_path: str | Path, activity_path: str | Path,
                             splits_path: str | Path, fasta: str | Path, summary_path: str | Path | None = None,
                             **kwargs) -> dict:
    """:func:`build_dataset` from the files of the merge and split stages (sites.bed, activity.tsv.gz,
    splits.tsv) and a FASTA; activity and split rows are aligned to sites.bed by site name. ``kwargs`` go
    to :func:`build_dataset`; the summary is also written to ``summary_path`` when given."""
    from .peaks import read_activity, read_sites
    from .sequence import Genome

    sites = read_sites(sites_path)
    target_names, activity_sites, activity = read_activity(activity_path)
    activity = activity[align_to_sites(sites["name"], activity_sites, activity_path)]
    split_names, labels = read_splits(splits_path)
    labels = labels[align_to_sites(sites["name"], split_names, splits_path)]
    with Genome(fasta) as genome:
        summary = build_dataset(out_h5, genome, sites, activity, target_names, labels, **kwargs)
    if summary_path is not None:
        write_summary(summary_path, summary)
    return summary

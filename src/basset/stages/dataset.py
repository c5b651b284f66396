"""Stage ``dataset``: the split of the merged sites (rule ``split_sites``) and the HDF5 dataset of uint8-coded
sequences and targets (rule ``build_dataset``); the layout of the file is documented in :mod:`basset.dataset`.

:func:`write_dataset` is the writer. Sequences are gathered one chromosome at a time (one vectorised gather per
block of 65,536 sites, :func:`basset.dataset.site_codes`) and scattered at random into uncompressed bucket files
of about ``bucket_rows`` sites in a staging folder next to the output; each bucket is then permuted in memory
and appended to its split, which gives every split a seeded uniformly random row order without holding it in
memory or reading the genome at random (an external shuffle: the paper's 2 M sites do not fit a shuffle in
memory on a small machine). HDF5 writes go through :class:`_QuietFile` so that a full disk is an error naming
the file rather than a crash of HDF5.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from .. import __version__
from ..bed import read_activity, read_sites
from ..config import with_defaults
from ..dataset import (
    FORMAT_VERSION,
    SPLITS,
    align_to_sites,
    site_codes,
    site_length,
    split_labels,
)
from ..errors import ConfigError, InputError
from ..fileio import DiskFullError, atomic_path, disk_errors, staging_dir
from ..logs import progress_bar
from ..sequence import ALPHABET, Genome
from ..tables import write_summary, write_table

log = logging.getLogger("basset.stages.dataset")

#: sites gathered per step while reading the genome (bounds memory: block x L bytes per array)
_GATHER_ROWS = 65536


# ---------------------------------------------------------------------------------------------- stages
def split_sites(sites: str | Path, out: dict, split: dict | None = None, seed: int = 1) -> dict:
    """Rule ``split_sites``: label every site of ``sites`` (sites.bed) train, valid or test.

    ``split``: the config's ``dataset.split`` (``method``, ``valid``, ``test``; missing keys take the schema's
    defaults). Writes ``out["splits"]`` (:func:`write_splits`). Returns the number of sites per split.
    """
    split = with_defaults("dataset", {"split": split})["split"]
    table = read_sites(sites)
    labels = split_labels(table, split["method"], split["valid"], split["test"], seed=seed)
    write_splits(out["splits"], table["name"].to_numpy(), labels)
    return {"sites": len(labels), **{s: int((labels == s).sum()) for s in SPLITS}}


def build_dataset(sites: str | Path, activity: str | Path, splits: str | Path, fasta: str | Path, out: dict,
                  n_handling: str | None = None, max_n_fraction: float | None = None,
                  compression: str | None = None, seed: int = 1, fai=None, progress: bool = False) -> dict:
    """Rule ``build_dataset``: the HDF5 dataset ``out["h5"]`` and its summary TSV ``out["summary"]`` (optional).

    ``sites`` (sites.bed), ``activity`` (activity.tsv.gz) and ``splits`` (splits.tsv) come from the merge and
    split stages; activity and split rows are aligned to sites.bed by site name. ``fasta``: the genome (``fai``,
    its index, is only a dependency of the rule). ``n_handling``, ``max_n_fraction``, ``compression``: the keys of
    the config's ``dataset`` section (``None``: the schema's default). Returns the summary (:func:`write_dataset`).
    """
    table = read_sites(sites)
    target_names, activity_sites, values = read_activity(activity)
    values = values[align_to_sites(table["name"], activity_sites, activity)]
    split_names, labels = read_splits(splits)
    labels = labels[align_to_sites(table["name"], split_names, splits)]
    options = {"n_handling": n_handling, "max_n_fraction": max_n_fraction, "compression": compression}
    with Genome(fasta) as genome:
        summary = write_dataset(out["h5"], genome, table, values, target_names, labels, options, seed=seed,
                                progress=progress)
    if out.get("summary"):
        write_summary(out["summary"], summary)
    return summary


# ---------------------------------------------------------------------------------------------- splits
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


# ---------------------------------------------------------------------------------------------- writer
def dataset_options(options: dict | None) -> dict:
    """The writer's keys of the config's ``dataset`` section (``n_handling``, ``max_n_fraction``,
    ``compression``) over the schema's defaults, checked; ``compression`` ``"none"`` becomes ``None``."""
    opts = with_defaults("dataset", options, drop=("split",))
    if opts["n_handling"] not in ("random", "zero", "uniform"):
        raise ConfigError("dataset.n_handling",
                          f"expected 'random', 'zero' or 'uniform', got {opts['n_handling']!r}")
    if not 0 <= opts["max_n_fraction"] <= 1:
        raise ConfigError("dataset.max_n_fraction", f"expected a fraction in [0, 1], got {opts['max_n_fraction']!r}")
    if opts["compression"] not in ("gzip", "lzf", "none"):
        raise ConfigError("dataset.compression", f"expected 'gzip', 'lzf' or 'none', got {opts['compression']!r}")
    if opts["compression"] == "none":
        opts["compression"] = None
    return opts


def _checked_arrays(sites: pd.DataFrame, activity, target_names, splits) -> tuple[np.ndarray, list, np.ndarray]:
    """``(activity (N, T), target names, split labels (N,))`` once their shapes are checked against ``sites``."""
    n = len(sites)
    activity = np.asarray(activity)
    target_names = [str(t) for t in target_names]
    splits = np.asarray(splits, dtype=object)
    if activity.ndim != 2 or activity.shape[0] != n:
        raise ValueError(f"activity must be (N={n}, T), got shape {activity.shape}")
    if activity.shape[1] != len(target_names):
        raise ValueError(f"activity has {activity.shape[1]} columns but {len(target_names)} target names")
    if splits.shape != (n,):
        raise ValueError(f"splits must be ({n},), got shape {splits.shape}")
    bad = np.flatnonzero(~np.isin(splits, SPLITS))
    if bad.size:
        raise ValueError(f"split labels must be train/valid/test, site {bad[0]} has {splits[bad[0]]!r}")
    return activity, target_names, splits


def write_dataset(out_h5: str | Path, genome, sites: pd.DataFrame, activity: np.ndarray, target_names, splits,
                  options: dict | None = None, *, seed: int = 1, compression_level: int = 1, chunk_rows: int = 256,
                  bucket_rows: int = 65536, progress: bool = True) -> dict:
    """Write the HDF5 dataset (layout in :mod:`basset.dataset`); returns a summary dict of counts.

    ``genome`` is a :class:`basset.sequence.Genome`; ``sites`` a DataFrame with ``chrom, start, end``
    (0-based half-open, all the same width L bp) and optionally ``strand``; ``activity`` ``(N, T)``
    uint8 0/1 in the rows of ``sites``; ``target_names`` ``(T,)``; ``splits`` ``(N,)`` labels
    train/valid/test. ``options``: the config's ``dataset`` keys (:func:`dataset_options`). Sites on
    chromosomes missing from the FASTA, running off a chromosome end, or with more than ``max_n_fraction`` N
    bases are skipped and counted (``skipped_*`` keys). ``n_handling`` ``"random"`` replaces each remaining N
    with a random base (seeded), ``"zero"`` keeps code 4. ``compression``: ``"gzip"`` (at
    ``compression_level``), ``"lzf"`` or ``"none"``.

    The file is written under a temporary name (:func:`basset.fileio.atomic_path`) and renamed at the end, so a
    half-written file never has the final name; leftovers of a killed run are swept by the next one. A full
    disk raises :class:`basset.fileio.DiskFullError` naming ``out_h5``. Memory beyond the chromosome in use and
    the caller's arrays: about 4 x ``bucket_rows x L`` bytes (~160 MB by default) plus 16 bytes per site.
    """
    out_h5 = Path(out_h5)
    opts = dataset_options(options)
    activity, target_names, splits = _checked_arrays(sites, activity, target_names, splits)
    L, T = site_length(sites), len(target_names)
    comp = dict(compression=opts["compression"],
                compression_opts=compression_level if opts["compression"] == "gzip" else None)
    split_codes = pd.Categorical(splits, categories=SPLITS).codes.astype(np.int64)
    counts: dict[str, int] = {}
    with disk_full_names(out_h5), atomic_path(out_h5) as tmp_h5:
        with staging_dir(out_h5.parent, out_h5.name) as folder:
            sizes = [int((split_codes == k).sum()) for k in range(len(SPLITS))]
            buckets = _Buckets(folder, sizes, L, bucket_rows, np.random.default_rng([seed, 1]))
            t0 = time.perf_counter()
            skipped, n_replaced = _stage_sequences(buckets, genome, sites, split_codes, L, opts,
                                                   np.random.default_rng([seed, 0]), progress)
            with hdf5_writer(tmp_h5, out_h5) as (h5, sink):
                t1 = time.perf_counter()
                log.info("read and bucketed the sequences in %.1f s", t1 - t0)
                _write_header(h5, L, opts, seed, target_names)
                for k, split in enumerate(SPLITS):
                    counts[split] = _write_split(
                        h5, split, k, buckets, seed, sites, activity, L, T, chunk_rows, comp, progress, sink.check
                    )
                log.info("shuffled, compressed and wrote the splits in %.1f s", time.perf_counter() - t1)
    summary = {"sites": len(sites), "kept": sum(counts.values()), **counts}
    summary.update({f"skipped_{k}": v for k, v in skipped.items()})
    summary.update(n_bases_replaced=n_replaced, seq_length=L, targets=T)
    log.info("wrote %s: %s", out_h5, ", ".join(f"{k} {v}" for k, v in summary.items()))
    return summary


def _write_header(h5, L: int, opts: dict, seed: int, target_names: list[str]) -> None:
    """The file's attributes and ``/target_names``."""
    import h5py

    h5.attrs.update(
        seq_length=L,
        n_handling=opts["n_handling"],
        alphabet=ALPHABET,
        seed=seed,
        basset_version=__version__,
        format_version=FORMAT_VERSION,
        max_n_fraction=opts["max_n_fraction"],
    )
    h5.create_dataset("target_names", data=np.array(target_names, dtype=object), dtype=h5py.string_dtype("utf-8"))


def _stage_sequences(buckets, genome, sites, split_codes, L, opts, rng, progress):
    """Pass 1: gather every usable site's codes chromosome by chromosome into ``buckets``.

    Returns ``(skipped counts dict, number of N bases replaced)``.
    """
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
    max_n = int(math.floor(opts["max_n_fraction"] * L + 1e-9))
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
            # (size - L + 1, L) strided view of the cached chromosome
            windows = sliding_window_view(genome.chrom_codes(name), L)
        for b in range(0, idx.size, _GATHER_ROWS):
            block = idx[b : b + _GATHER_ROWS]
            seqs, kept, replaced = site_codes(windows, start[block], minus[block], max_n, opts["n_handling"], rng)
            skipped["n_rich"] += int((~kept).sum())
            n_replaced += replaced
            block = block[kept]
            buckets.add(seqs, block, split_codes[block])
        bar.update(int(bounds[c + 1] - bounds[c]))
    bar.close()
    for key, n in skipped.items():
        if n and key != "unknown_chrom":
            log.warning("skipped %d sites: %s", n, key.replace("_", " "))
    return skipped, n_replaced


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
        data = string_array(values)  # fixed-length utf-8 strings
        g.create_dataset(name, data=data.astype(h5py.string_dtype("utf-8", max(1, data.dtype.itemsize))))
    g.create_dataset("start", data=sub["start"].to_numpy(np.int64))
    g.create_dataset("end", data=sub["end"].to_numpy(np.int64))
    g.create_dataset("site_index", data=site_index)
    return n


def string_array(values) -> np.ndarray:
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
def hdf5_writer(path: Path, name: Path):
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
def disk_full_names(path: Path):
    """Re-raise a :class:`DiskFullError` about a helper file (a staging bucket) as one naming ``path``."""
    try:
        yield
    except DiskFullError as exc:
        if exc.path == str(path):
            raise
        raise DiskFullError(path, f"while staging in {Path(exc.path).parent.name}") from None

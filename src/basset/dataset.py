"""The HDF5 dataset: its layout, the train/valid/test split of the sites, one reader and a streaming loader.

Splits
------
:func:`split_labels` labels every site ``train``, ``valid`` or ``test``, either at random (fractions or counts;
the paper held out 70,000 valid and 71,886 test sites) or by holding out whole chromosomes.

HDF5 layout (``format_version`` 1)
----------------------------------
Written by :func:`basset.stages.dataset.write_dataset`; ``{split}`` is each of ``train``, ``valid``, ``test`` (a
split with no sites has zero-row datasets). ``n`` is the number of sites kept in the split, ``L`` the sequence
length (bp), ``T`` the number of targets (cell types)::

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
    attributes of /:     seq_length (L, bp), n_handling ("random", "zero" or "uniform"), alphabet "ACGTN",
                         seed, basset_version, format_version (1), max_n_fraction
    (h5py reads the strings as bytes: ``.decode()`` them, or use ``.asstr()[...]``.)

Within each split the rows are stored in a seeded random order, so that any contiguous block is already
a random sample; ``site_index`` links a row back to its site. One-hot encoding is not stored: the
training step encodes ``(B, L)`` codes on the device with :func:`basset.sequence.one_hot`.

Reading
-------
:class:`Dataset` is the one reader of the file: target names, rows per split, a split's codes, targets
(optionally some rows or columns, read in blocks) and site index, and streamed batches. :func:`dataset_info` and
:func:`load_split` are shorthands over it. :class:`H5Batches` streams whole batches ``(codes (B, L) uint8,
targets (B, T) uint8)`` from one split, reading contiguous chunk-aligned blocks in a seeded per-epoch order and
shuffling rows within a buffer of a few blocks; DataLoader workers and DDP ranks take disjoint blocks.
:func:`make_loader` wraps it in a ``DataLoader(batch_size=None)``. Our own loader rather than a generic one:
random row access to a compressed HDF5 file reads (and decompresses) a chunk per row.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.utils.data

from .errors import ConfigError, InputError
from .sequence import N_CODE, reverse_complement

log = logging.getLogger("basset.dataset")

SPLITS = ("train", "valid", "test")
FORMAT_VERSION = 1
#: rows per HDF5 read when a split is read in blocks (bounds memory: block x L bytes)
BLOCK_ROWS = 65536


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


def split_labels(sites: pd.DataFrame, method: str, valid, test, seed: int = 1) -> np.ndarray:
    """Label each site ``"train"``, ``"valid"`` or ``"test"`` (the config's ``dataset.split``); returns ``(N,)`` str
    (object) array.

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


# ------------------------------------------------------------------------------------------ sequences
def site_length(sites: pd.DataFrame) -> int:
    """The common width ``L`` (bp) of ``sites`` (``start``, ``end``); InputError names the first other one."""
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


def site_codes(windows: np.ndarray, starts: np.ndarray, minus: np.ndarray, max_n: int, n_handling: str,
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, int]:
    """Codes of sites on one chromosome, on their strand, without N-rich ones.

    Parameters
    ----------
    windows : (size - L + 1, L) uint8
        Every window of the chromosome's codes (a strided view: ``sliding_window_view(codes, L)``).
    starts : (n,) int64
        0-based starts of the sites (inside the chromosome).
    minus : (n,) bool
        Sites on the ``-`` strand: reverse-complemented.
    max_n : int
        Sites with more N bases than this are dropped.
    n_handling : {"random", "zero", "uniform"}
        ``"random"``: each remaining N becomes a base drawn from ``rng``; ``"zero"`` and ``"uniform"``: N stays
        code 4 (the model then sees an all-zero column, or with ``uniform`` 0.25 in each channel: the
        trainer gives the model ``n_fill`` 0.25, :func:`basset.models.fill_n`).

    Returns
    -------
    codes : (m, L) uint8
    kept : (n,) bool
        The sites in ``codes`` (m of them).
    n_replaced : int
        N bases replaced.
    """
    seqs = windows[starts]  # a fancy index gathers every window in one copy
    if minus.any():
        seqs[minus] = reverse_complement(seqs[minus])
    kept = np.count_nonzero(seqs == N_CODE, axis=1) <= max_n
    if not kept.all():
        seqs = seqs[kept]
    n_replaced = 0
    if n_handling == "random":
        is_n = seqs == N_CODE
        n_replaced = int(np.count_nonzero(is_n))
        if n_replaced:
            seqs[is_n] = rng.integers(0, 4, size=n_replaced, dtype=np.uint8)
    return seqs, kept, n_replaced


# -------------------------------------------------------------------------------------------- reading
class Dataset:
    """One HDF5 dataset file (layout in the module docstring), read without holding it open.

    The attributes, target names and shapes are read once; each method opens the file, reads and closes it,
    so a :class:`Dataset` can be pickled (DataLoader workers). A missing split is an :class:`InputError` naming
    the file.

    Attributes
    ----------
    path : str
    attrs : dict
        The file's attributes (numpy scalars as Python values).
    target_names : list of str
        ``(T,)``.
    n_sites : dict
        Rows of each split present in the file, in :data:`SPLITS` order.
    """

    def __init__(self, path: str | Path):
        import h5py

        self.path = str(path)
        with h5py.File(self.path, "r") as h5:
            if "target_names" not in h5:
                raise InputError(self.path, "not a basset dataset: no target_names (expected a file written by "
                                            "build-dataset)")
            self.attrs = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in h5.attrs.items()}
            self.target_names = [t.decode() if isinstance(t, bytes) else str(t) for t in h5["target_names"][...]]
            self._shapes = {s: (h5[s]["seqs"].shape, h5[s]["seqs"].chunks, h5[s]["targets"].shape[-1])
                            for s in SPLITS if s in h5}
            first = next((s for s in SPLITS if s in h5), None)
            #: one row's targets: (T,) for sites, (bins, T) for coverage windows; and their dtype
            self.target_shape = tuple(h5[first]["targets"].shape[1:]) if first else (len(self.target_names),)
            self.target_dtype = h5[first]["targets"].dtype if first else np.dtype(np.uint8)
        self.n_sites = {s: int(shape[0]) for s, (shape, _, _) in self._shapes.items()}

    @property
    def n_targets(self) -> int:
        return len(self.target_names)

    def info(self) -> dict:
        """The attributes, ``target_names``, ``n_targets`` and ``n_sites`` (rows per split) in one dict."""
        return {**self.attrs, "target_names": list(self.target_names), "n_targets": self.n_targets,
                "n_sites": dict(self.n_sites)}

    def shape(self, split: str) -> tuple[int, int, int, int]:
        """``(rows, L, T, chunk_rows)`` of a split (``chunk_rows`` 1 for a contiguous dataset)."""
        self._check(split)
        (n, L), chunks, T = self._shapes[split]
        return int(n), int(L), int(T), int(chunks[0]) if chunks else 1

    def _check(self, split: str) -> None:
        if split not in self._shapes:
            raise InputError(self.path, f"no split {split!r} (has {', '.join(self._shapes) or 'none'})")

    def _read(self, split: str, name: str, rows=None, columns=None) -> np.ndarray:
        """Dataset ``name`` of a split: all rows or the sorted unique ``rows``, all columns or ``columns``; read
        whole, or in blocks of :data:`BLOCK_ROWS` rows when some are selected (memory stays bounded)."""
        import h5py

        self._check(split)
        with h5py.File(self.path, "r") as h5:
            d = h5[split][name]
            if rows is None and columns is None:
                return d[...]
            rows = np.arange(d.shape[0]) if rows is None else np.asarray(rows, dtype=np.int64)
            cols = slice(None) if columns is None else list(columns)
            width = d.shape[-1] if columns is None else len(cols)
            out = np.empty((rows.size, *d.shape[1:-1], width), dtype=d.dtype)
            for lo in range(0, d.shape[0], BLOCK_ROWS):
                a, b = np.searchsorted(rows, [lo, lo + BLOCK_ROWS])
                if b > a:
                    out[a:b] = d[lo : lo + BLOCK_ROWS][rows[a:b] - lo][..., cols]
            return out

    def codes(self, split: str, rows=None) -> np.ndarray:
        """``(n, L) uint8`` sequence codes of a split in file order (``rows``: sorted unique row numbers)."""
        return self._read(split, "seqs", rows)

    def targets(self, split: str, columns=None, rows=None) -> np.ndarray:
        """``(n, T) uint8`` targets of a split in file order; ``columns``: target indices to keep (in that order),
        ``rows``: sorted unique row numbers."""
        return self._read(split, "targets", rows, columns)

    def arrays(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        """A whole split in memory: ``(codes (n, L) uint8, targets (n, T) uint8)`` in file order."""
        return self.codes(split), self.targets(split)

    def site_index(self, split: str) -> np.ndarray:
        """``(n,) int64``: each row's 0-based row in sites.bed."""
        return self._read(split, "site_index").astype(np.int64)

    def columns(self, names) -> list[int]:
        """The indices of the targets ``names`` (in that order); InputError names the file, the unknown names and
        the targets it has."""
        names = [str(n) for n in names]
        unknown = [n for n in names if n not in self.target_names]
        if unknown:
            raise InputError(self.path, f"no target(s) {', '.join(unknown)} (has {', '.join(self.target_names)})")
        return [self.target_names.index(n) for n in names]

    def batches(self, split: str, batch_size: int, shuffle: bool = False, **kwargs) -> H5Batches:
        """:class:`H5Batches` of a split (``kwargs``: its other arguments)."""
        return H5Batches(self.path, split, batch_size, shuffle, **kwargs)


def dataset_info(path: str | Path) -> dict:
    """Attributes, target names, seq_length and rows per split of a dataset file (:meth:`Dataset.info`)."""
    return Dataset(path).info()


def load_split(path: str | Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Read a whole split into memory: ``(codes (n, L) uint8, targets (n, T) uint8)`` in file order."""
    return Dataset(path).arrays(split)


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
        super().__init__()
        if batch_size < 1 or block_rows < 1 or buffer_blocks < 1:
            raise ValueError("batch_size, block_rows and buffer_blocks must be >= 1")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank must be in [0, world_size={world_size}), got {rank}")
        self.path, self.split = str(path), split
        self.batch_size, self.shuffle, self.seed, self.epoch = int(batch_size), bool(shuffle), int(seed), int(epoch)
        self.buffer_blocks, self.drop_last = int(buffer_blocks), bool(drop_last)
        self.rank, self.world_size = int(rank), int(world_size)
        # shapes only: no handle is kept (it must not be pickled)
        data = Dataset(self.path)
        self.n_rows, self.seq_length, self.n_targets, chunk = data.shape(split)
        self.target_shape, self.target_dtype = data.target_shape, data.target_dtype
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

    def shared_batches(self, num_workers: int = 0, batch_size: int | None = None) -> int:
        """Full batches of ``batch_size`` rows (default: this loader's) in the *smallest* rank's shard this epoch
        (``num_workers`` DataLoader workers per rank): under DDP every rank runs this many, so gradient all-reduces
        stay paired."""
        counts = []
        workers = max(1, num_workers)
        for rank in range(self.world_size):
            total = 0
            for w in range(workers):
                blocks = self.blocks(rank * workers + w, self.world_size * workers)
                rows = int(sum(min(self.block_rows, self.n_rows - int(b) * self.block_rows) for b in blocks))
                total += rows // int(batch_size or self.batch_size)
            counts.append(total)
        return min(counts)

    def __iter__(self):
        import h5py

        shard, n_shards = self._shard()
        blocks = self.blocks(shard, n_shards)
        rng = np.random.default_rng([self.seed, self.epoch, shard, 1])
        B = self.batch_size
        with h5py.File(self.path, "r") as h5:
            seqs, tgts = h5[self.split]["seqs"], h5[self.split]["targets"]
            carry_x = np.zeros((0, self.seq_length), np.uint8)
            carry_y = np.zeros((0, *self.target_shape), self.target_dtype)
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
    ds = H5Batches(
        path, split, batch_size, shuffle, seed, epoch, block_rows, buffer_blocks, drop_last, rank, world_size
    )
    return torch.utils.data.DataLoader(
        ds,
        batch_size=None,
        num_workers=num_workers,
        pin_memory=pin_memory,
        multiprocessing_context=multiprocessing_context if num_workers else None,
    )

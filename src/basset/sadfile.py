"""The SAD file: one HDF5 file for millions of scored variants, its small summary TSV, and reading either back.

Layout of ``sad.h5`` (:data:`FORMAT`, version :data:`VERSION`), one row per VCF allele record that was read
(multi-allelic records split, symbolic and malformed records left out: those are in the rejects file), in VCF
order, scored or not:

- ``/variants/chrom`` ``(n,) int32``, an index into ``/chrom_names`` (the VCF's own spelling);
  ``/variants/pos`` ``int64`` (1-based), ``id``, ``ref``, ``alt`` (UTF-8 strings, the scored orientation),
  ``swapped`` ``bool``, ``status`` (an HDF5 enum of :data:`STATUSES`), ``line`` ``int64`` (the VCF line);
- ``/sad`` ``(n, T)``: SAD = p(alt) - p(ref) per target, ``float16`` (default) or ``float32``, NaN in rows
  that were not scored; chunked by rows, byte-shuffled and deflated (readable by any HDF5 reader: h5py,
  rhdf5, ``h5dump``);
- ``/summary/mean_sad``, ``/summary/max_abs_sad``, ``/summary/weighted`` (when weights were given)
  ``float32``, ``/summary/top_target`` ``int16``, an index into ``/target_names`` (-1 when not scored), and
  ``/summary/delta_class``, an HDF5 enum of :data:`DELTA_CLASSES` (DeepSEA's strong/moderate/weak class of
  ``max_abs_sad``; none when not scored);
  computed from the full-precision SAD before it is rounded to float16;
- attributes: ``format``, ``version``, ``targets``, ``sad_dtype``, ``seq_len``, ``rc_average``, ``model``
  and ``model_sha256`` (the model's identity), ``genome``, ``vcf``, ``weights`` (JSON), ``basset_version``.

The summary TSV (``sad.tsv.gz``) holds the scored rows only, with :data:`SUMMARY_COLUMNS`; the per-target TSV
(``sad_targets.tsv.gz``, on request) adds one SAD column per target, 6 significant digits, as earlier versions
wrote. :func:`read_sad` reads the HDF5 file and both TSVs into the same frame.

Why direct chunk writes: h5py's gzip filter compresses while holding the GIL, at about 15 MB/s here, which
alone would cap scoring at about 20,000 variants/s with 164 targets. :class:`_Column` shuffles and deflates
each chunk itself (``isal``, Intel's deflate, several times faster than zlib and releasing the GIL; zlib when
isal is missing) and hands HDF5 the finished chunk (``write_direct_chunk``), in the standard filter pipeline
(shuffle, then deflate), so that readers need nothing but HDF5.
"""

from __future__ import annotations

import collections
import contextlib
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from .errors import InputError
from .fileio import atomic_open, atomic_path, compression
from .vcf import STATUSES as VARIANT_STATUSES

try:  # Intel ISA-L deflate: the same format as zlib, several times faster
    from isal import isal_zlib as _deflate_lib

    _DEFLATE_LEVEL = 2
except ImportError:  # pragma: no cover - isal is a dependency; zlib gives the same bytes format
    import zlib as _deflate_lib

    _DEFLATE_LEVEL = 1

FORMAT, VERSION = "basset-sad", 1
#: the outcome of each row of a SAD file (``/variants/status``), in enum order
STATUSES = [*VARIANT_STATUSES, "duplicate"]
STATUS_CODE = {s: i for i, s in enumerate(STATUSES)}
#: the per-variant columns, then the summaries (``weighted`` only when weights are given)
VARIANT_COLUMNS = ["chrom", "pos", "id", "ref", "alt", "swapped", "status", "line"]
SUMMARY_COLUMNS = ["chrom", "pos", "id", "ref", "alt", "swapped", "mean_sad", "max_abs_sad", "top_target",
                   "delta_class", "weighted"]
#: DeepSEA's classes of a variant's largest |SAD| (its |Delta|): weak below 0.2, moderate from 0.2 to 0.5, strong
#: above 0.5 (Zhou & Troyanskaya 2015); ``none`` for a row not scored. ``/summary/delta_class`` holds the index.
DELTA_CLASSES = ["none", "weak", "moderate", "strong"]
DELTA_BOUNDS = (0.2, 0.5)
_DELTA_DTYPE = h5py.enum_dtype({c: i for i, c in enumerate(DELTA_CLASSES)}, basetype="u1")
_STR = h5py.string_dtype("utf-8")
_STATUS_DTYPE = h5py.enum_dtype(STATUS_CODE, basetype="u1")


def is_hdf5(path: str | Path) -> bool:
    """Whether ``path`` starts with the HDF5 signature."""
    with open(path, "rb") as fh:
        return fh.read(8) == b"\x89HDF\r\n\x1a\n"


# ------------------------------------------------------------------------------------------------ writing
class _Column:
    """A growing dataset written a chunk at a time: numeric and enum columns (1-D or ``(n, T)``) shuffled and deflated
    here and written with ``write_direct_chunk``; strings through h5py, chunked and deflated by HDF5."""

    def __init__(self, group: h5py.Group, name: str, dtype, width: int | None = None, chunk_rows: int = 65536,
                 deflater: ThreadPoolExecutor | None = None):
        self.deflater = deflater
        self.deflating: collections.deque = collections.deque()  # (offset, future of the chunk's bytes), in order
        self.dtype = np.dtype(dtype)
        self.width = width
        shape, chunks = ((0,), (chunk_rows,)) if width is None else ((0, width), (chunk_rows, width))
        maxshape = (None,) if width is None else (None, width)
        # enums too: their chunks are their base integers
        self.direct = self.dtype.kind in "fiub" and h5py.check_dtype(vlen=self.dtype) is None
        self.ds = group.create_dataset(name, shape=shape, maxshape=maxshape, dtype=self.dtype, chunks=chunks,
                                       compression="gzip", compression_opts=1, shuffle=self.direct)
        self.rows = chunk_rows
        self.n = 0
        self.pending: list[np.ndarray] = []
        self.n_pending = 0

    def add(self, values) -> None:
        values = np.asarray(values) if self.direct else values
        if len(values) == 0:
            return
        if not self.direct:  # strings, enums: HDF5 chunks and compresses them itself
            k = len(values)
            self.ds.resize(self.n + k, axis=0)
            self.ds[self.n : self.n + k] = values
            self.n += k
            return
        self.pending.append(np.asarray(values, dtype=self.dtype))
        self.n_pending += len(values)
        if self.n_pending >= self.rows:
            self._flush(final=False)

    def _flush(self, final: bool) -> None:
        block = np.concatenate(self.pending) if len(self.pending) > 1 else self.pending[0]
        full = len(block) // self.rows * self.rows
        take = len(block) if final else full
        if take:
            self.ds.resize(self.n + take, axis=0)
            for lo in range(0, take, self.rows):
                part = block[lo : lo + self.rows]
                if len(part) < self.rows:  # the last chunk: HDF5 stores whole chunks; the extent hides the rest
                    pad = np.zeros((self.rows, *part.shape[1:]), dtype=self.dtype)
                    pad[: len(part)] = part
                    part = pad
                offset = (self.n + lo,) if self.width is None else (self.n + lo, 0)
                if self.deflater is None:
                    self.ds.id.write_direct_chunk(offset, _shuffle_deflate(part))
                else:  # deflated in the worker thread (isal releases the GIL) while this one goes on
                    self.deflating.append((offset, self.deflater.submit(_shuffle_deflate, part)))
            self.n += take
            self._write_deflated(keep=2)
        rest = block[take:]
        self.pending, self.n_pending = ([rest] if len(rest) else []), len(rest)

    def _write_deflated(self, keep: int) -> None:
        """Write the deflated chunks in order, waiting for all but the last ``keep``."""
        while len(self.deflating) > keep or (self.deflating and self.deflating[0][1].done()):
            offset, future = self.deflating.popleft()
            self.ds.id.write_direct_chunk(offset, future.result())

    def close(self) -> None:
        if self.direct and self.n_pending:
            self._flush(final=True)
        self._write_deflated(keep=0)


def _shuffle_deflate(chunk: np.ndarray) -> bytes:
    """HDF5's shuffle filter (the i-th bytes of all elements together), then deflate (zlib format)."""
    size = chunk.dtype.itemsize
    raw = np.ascontiguousarray(chunk).view(np.uint8).reshape(-1, size)
    shuffled = np.ascontiguousarray(raw.T) if size > 1 else raw
    return _deflate_lib.compress(shuffled.tobytes(), _DEFLATE_LEVEL)


def stored_values(sad, dtype) -> np.ndarray:
    """``sad`` as the SAD file stores it, in ``dtype``. float32 to float16 goes through torch's vectorised cast when
    torch is loaded (the same IEEE round-to-nearest-even as numpy's, 3x faster: 0.2 s against 0.6 s per million
    variants x 164 targets, bench_sad.py)."""
    sad, dtype = np.asarray(sad), np.dtype(dtype)
    if dtype == np.float16 and sad.dtype == np.float32 and sad.size >= 1 << 16 and "torch" in sys.modules:
        import torch

        return torch.from_numpy(np.ascontiguousarray(sad)).to(torch.float16).numpy()
    return sad.astype(dtype, copy=False)


def chunk_rows_for(n_targets: int, itemsize: int) -> int:
    """Rows per chunk of ``/sad``: about 1 MiB per chunk, between 256 and 65,536 rows."""
    return int(np.clip((1 << 20) // max(1, n_targets * itemsize), 256, 65536))


def delta_class(max_abs: np.ndarray) -> np.ndarray:
    """The index into :data:`DELTA_CLASSES` of each largest |SAD| (``uint8``): weak < 0.2 <= moderate <= 0.5 <
    strong, none for NaN. A float32 value (the SAD file's) compares the same against the float64 bounds as in float32:
    no float32 lies in [0.2, float32(0.2)), and 0.5 is exact."""
    x = np.asarray(max_abs)
    lo, hi = DELTA_BOUNDS
    code = np.where(x > hi, 3, np.where(x >= lo, 2, 1)).astype(np.uint8)
    code[np.isnan(x)] = 0
    return code


def summaries(sad: np.ndarray, weights: np.ndarray | None) -> dict[str, np.ndarray]:
    """``mean_sad``, ``max_abs_sad`` (float32), ``top_target`` (int16: the target of largest |SAD|), ``delta_class``
    (:func:`delta_class` of ``max_abs_sad``) and, with
    ``weights`` ``(T,)``, ``weighted = sum_t w_t |SAD_t|`` of a ``(k, T)`` SAD block (float32 or float64; the
    sums accumulate in float64)."""
    sad = np.asarray(sad)
    abs_sad = np.abs(sad)
    if sad.shape[1]:
        top = abs_sad.argmax(axis=1)  # the largest |SAD| is then read, not searched again
        max_abs = np.take_along_axis(abs_sad, top[:, None], axis=1)[:, 0]
    else:
        top, max_abs = np.zeros(len(sad), dtype=np.int64), np.zeros(len(sad), dtype=abs_sad.dtype)
    out = {"mean_sad": sad.mean(axis=1, dtype=np.float64).astype(np.float32),
           "max_abs_sad": max_abs.astype(np.float32), "top_target": top.astype(np.int16)}
    out["delta_class"] = delta_class(out["max_abs_sad"])
    if weights is not None:
        out["weighted"] = np.einsum("kt,t->k", abs_sad, np.asarray(weights, dtype=np.float64),
                                    dtype=np.float64).astype(np.float32)
    return out


class SadWriter:
    """Write a SAD file (and its summary TSV when ``table`` is given) a block of rows at a time, each to a temporary
    name renamed into place when :meth:`close` succeeds; on an error (:meth:`abort`) nothing is left under the final
    names.

    ``add(rows, sad)``: ``rows`` a frame with :data:`VARIANT_COLUMNS` (status as text), ``sad`` ``(k, T)`` float
    (NaN in rows not scored). ``attrs``: extra file attributes (model, genome, vcf, seq_len, rc_average, ...).
    """

    def __init__(self, path, target_names, *, table=None, weights: np.ndarray | None = None,
                 dtype: str = "float16", attrs: dict | None = None):
        if dtype not in ("float16", "float32"):
            raise ValueError(f"dtype must be float16 or float32, got {dtype!r}")
        self.target_names = [str(t) for t in target_names]
        self.weights = weights
        self.dtype = np.dtype(dtype)
        self._stack = contextlib.ExitStack()
        try:
            self._open(path, table, weights, dtype, attrs)
        except BaseException as exc:  # a full disk at creation: the temporary files go, the error is named
            self.abort(exc)
            raise

    def _open(self, path, table, weights, dtype, attrs) -> None:
        tmp = self._stack.enter_context(atomic_path(path))
        self.h5 = self._stack.enter_context(h5py.File(tmp, "w"))
        self.table = None if table is None else self._stack.enter_context(_text_out(table))
        T = len(self.target_names)
        self.deflater = ThreadPoolExecutor(1, thread_name_prefix="basset-sad-deflate")
        self._stack.callback(self.deflater.shutdown, wait=True, cancel_futures=True)
        self.h5.attrs.update({"format": FORMAT, "version": VERSION, "targets": T, "sad_dtype": dtype,
                              "weights": json.dumps(None if weights is None else dict(zip(self.target_names,
                                                                                        map(float, weights))))})
        for key, value in (attrs or {}).items():
            self.h5.attrs[key] = "" if value is None else value
        self.h5.create_dataset("target_names", data=np.array(self.target_names, dtype=object), dtype=_STR)
        v, s = self.h5.create_group("variants"), self.h5.create_group("summary")
        self.cols = {"chrom": _Column(v, "chrom", np.int32), "pos": _Column(v, "pos", np.int64),
                     "id": _Column(v, "id", _STR), "ref": _Column(v, "ref", _STR), "alt": _Column(v, "alt", _STR),
                     "swapped": _Column(v, "swapped", np.bool_), "status": _Column(v, "status", _STATUS_DTYPE),
                     "line": _Column(v, "line", np.int64),
                     "sad": _Column(self.h5, "sad", self.dtype, width=T,
                                    chunk_rows=chunk_rows_for(T, self.dtype.itemsize), deflater=self.deflater),
                     "mean_sad": _Column(s, "mean_sad", np.float32),
                     "max_abs_sad": _Column(s, "max_abs_sad", np.float32),
                     "top_target": _Column(s, "top_target", np.int16),
                     "delta_class": _Column(s, "delta_class", _DELTA_DTYPE)}
        if weights is not None:
            self.cols["weighted"] = _Column(s, "weighted", np.float32)
        self.chrom_code: dict[str, int] = {}
        self.n = 0
        self.n_scored = 0
        if self.table is not None:
            self.table.write(_tsv_header(weights is not None))

    def add(self, rows: pd.DataFrame, sad: np.ndarray, summ: dict | None = None) -> None:
        """Append rows: :meth:`add_variants`, then :meth:`add_scores`."""
        self.add_variants(rows)
        self.add_scores(rows, sad, summ)

    def add_variants(self, rows: pd.DataFrame) -> None:
        """Append the per-variant columns of ``rows`` (:data:`VARIANT_COLUMNS`, status as text). They do not
        depend on the model (written while the next chunk is read in another process)."""
        if len(rows) == 0:
            return
        codes, names = pd.factorize(rows["chrom"].to_numpy(dtype=object), sort=False)
        lut = np.array([self.chrom_code.setdefault(str(c), len(self.chrom_code)) for c in names], dtype=np.int32)
        status, labels = pd.factorize(rows["status"].to_numpy(dtype=object), sort=False)
        status_lut = np.array([STATUS_CODE[x] for x in labels], dtype=np.uint8)
        c = self.cols
        c["chrom"].add(lut[codes])
        c["pos"].add(rows["pos"].to_numpy(dtype=np.int64))
        for key in ("id", "ref", "alt"):
            c[key].add(rows[key].to_numpy(dtype=object))
        c["swapped"].add(rows["swapped"].to_numpy(dtype=bool))
        c["status"].add(status_lut[status])
        c["line"].add(rows["line"].to_numpy(dtype=np.int64))
        self.n += len(rows)

    def add_scores(self, rows: pd.DataFrame, sad: np.ndarray, summ: dict | None = None) -> None:
        """Append the SAD ``(k, T)`` of ``rows`` (NaN where not scored) and its summaries; ``summ``, the summary
        columns as :func:`summaries` gives them for every row (copied as they are: a gather keeps the shards'
        values), computed here from ``sad`` when ``None``; and the scored rows to the summary TSV."""
        k = len(rows)
        if k == 0:
            return
        if np.shape(sad) != (k, len(self.target_names)):
            raise ValueError(f"SAD block of shape {np.shape(sad)} for {k} rows x {len(self.target_names)} targets")
        status = rows["status"].to_numpy(dtype=object)
        scored = (status == "ok") | (status == "swapped")
        if summ is None:
            keys = ("mean_sad", "max_abs_sad") + (("weighted",) if self.weights is not None else ())
            summ = {key: np.full(k, np.nan, dtype=np.float32) for key in keys}
            summ["top_target"] = np.full(k, -1, dtype=np.int16)
            summ["delta_class"] = np.zeros(k, dtype=np.uint8)
            if scored.any():
                for key, value in summaries(np.asarray(sad)[scored], self.weights).items():
                    summ[key][scored] = value
        sad = stored_values(sad, self.dtype)  # the stored values, which the TSVs show too
        c = self.cols
        c["sad"].add(sad)
        if "delta_class" not in summ:  # a shard written before the classes: they follow from max_abs_sad
            summ = {**summ, "delta_class": delta_class(summ["max_abs_sad"])}
        for key in ("mean_sad", "max_abs_sad", "top_target", "delta_class") + (
                ("weighted",) if self.weights is not None else ()):
            c[key].add(summ[key])
        self.n_scored += int(scored.sum())
        if self.table is not None and scored.any():
            if scored.all():  # the usual chunk: no selection to copy
                self.table.write(_tsv_rows(rows, summ, self.target_names))
            else:
                keys = [ROW_TEXT] if ROW_TEXT in rows else SUMMARY_COLUMNS[:6]
                self.table.write(_tsv_rows({key: np.asarray(rows[key])[scored] for key in keys},
                                           {key: v[scored] for key, v in summ.items()}, self.target_names))

    def close(self) -> None:
        """Flush every column, write the chromosome names and rename every file into place."""
        for col in self.cols.values():
            col.close()
        names = sorted(self.chrom_code, key=self.chrom_code.get)
        self.h5.create_dataset("chrom_names", data=np.array(names, dtype=object), dtype=_STR)
        self.h5.attrs["rows"], self.h5.attrs["scored"] = self.n, self.n_scored
        self._stack.close()

    def abort(self, exc: BaseException) -> None:
        """Close without keeping anything after ``exc`` (the temporary files are removed); raises what the files'
        closing makes of ``exc`` (a full disk becomes :class:`basset.fileio.DiskFullError` naming the file)."""
        self._stack.__exit__(type(exc), exc, exc.__traceback__)


def _text_out(path):
    return atomic_open(path, "w", gzip_level=1 if str(path).endswith(".gz") else None)


def _tsv_header(weighted: bool, target_names=()) -> str:
    return "\t".join([c for c in SUMMARY_COLUMNS if c != "weighted" or weighted] + list(target_names)) + "\n"


#: an optional column of the rows given to :class:`SadWriter`: :func:`row_texts`, made ahead (by the VCF reader
#: process, which has time to spare while the model scores)
ROW_TEXT = "row_text"


def row_texts(rows) -> np.ndarray:
    """Each row's first six summary TSV fields (chrom, pos, id, ref, alt, swapped) joined by tabs, as the summary
    TSV writes them; ``rows`` a frame or a dict of arrays."""
    cols = [np.asarray(rows[key]).tolist() for key in ("chrom", "pos", "id", "ref", "alt")] + [
            ["True" if x else "False" for x in np.asarray(rows["swapped"], dtype=bool)]]
    return np.array(["%s\t%d\t%s\t%s\t%s\t%s" % r for r in zip(*cols)], dtype=object)


def _tsv_rows(rows, summ: dict, target_names, sad: np.ndarray | None = None) -> str:
    """TSV lines of scored rows (a frame or a dict of arrays, with or without :data:`ROW_TEXT`):
    :data:`SUMMARY_COLUMNS`, then the SAD per target when ``sad`` is given; floats with 6 significant digits (one
    ``%`` per row, about 3x faster than ``DataFrame.to_csv``)."""
    classes = summ["delta_class"] if "delta_class" in summ else delta_class(summ["max_abs_sad"])  # older files
    text = np.asarray(rows[ROW_TEXT]) if ROW_TEXT in rows else row_texts(rows)
    cols = [text.tolist(), summ["mean_sad"].tolist(), summ["max_abs_sad"].tolist(),
            np.asarray(target_names, dtype=object)[summ["top_target"]].tolist(),
            np.asarray(DELTA_CLASSES, dtype=object)[classes].tolist()]
    fmt = "%s\t%.6g\t%.6g\t%s\t%s"
    if "weighted" in summ:
        cols.append(summ["weighted"].tolist())
        fmt += "\t%.6g"
    if sad is None:
        line = fmt + "\n"
        return "".join([line % r for r in zip(*cols)])
    line = fmt + "\t%.6g" * sad.shape[1] + "\n"
    return "".join([line % (*r, *x) for r, x in zip(zip(*cols), sad.tolist())])


# ------------------------------------------------------------------------------------------------ reading
def sad_target_columns(df: pd.DataFrame) -> list[str]:
    """The per-target SAD columns of a SAD table: ``df.attrs['target_names']`` when recorded, else every column
    after the fixed ones."""
    if "target_names" in df.attrs:
        return list(df.attrs["target_names"])
    fixed = set(SUMMARY_COLUMNS) | {"status", "line"}
    return [str(c) for c in df.columns if c not in fixed]


def read_sad(path, targets: bool = True) -> pd.DataFrame:
    """Read a SAD result: the HDF5 SAD file (its scored rows), the summary TSV or the per-target TSV, told apart
    by content. Columns :data:`SUMMARY_COLUMNS` and, with ``targets`` (where the file has them), one column per
    target; ``df.attrs['target_names']`` lists the per-target SAD columns (none for the summary TSV)."""
    if is_hdf5(path):
        return read_sad_h5(path, targets=targets)
    packed = compression(path)  # gzip or not by content, not by name
    try:
        header = pd.read_csv(path, sep="\t", nrows=0, compression=packed).columns
    except pd.errors.EmptyDataError:
        raise InputError(path, "empty file: expected a SAD table with a header", line=1) from None
    text_cols = ("chrom", "id", "ref", "alt", "top_target", "delta_class", "swapped")
    # IDs and names stay text ("NA", "nan" are valid IDs); only the numeric columns parse NaN
    df = pd.read_csv(path, sep="\t", dtype={c: str for c in text_cols if c in header}, keep_default_na=False,
                     na_values={c: ["nan", "NaN"] for c in header if c not in text_cols and c != "pos"},
                     compression=packed)
    missing = [c for c in SUMMARY_COLUMNS if c not in ("weighted", "delta_class") and c not in df.columns]
    if missing:
        raise InputError(path, f"not a SAD table: missing columns {', '.join(missing)} (expected "
                         f"{', '.join(SUMMARY_COLUMNS[:-2])}, [delta_class], [weighted], then one column per target)",
                         line=1)
    if "delta_class" not in df.columns:  # a table written before the classes: they follow from max_abs_sad
        df.insert(df.columns.get_loc("top_target") + 1, "delta_class",
                  np.asarray(DELTA_CLASSES, dtype=object)[delta_class(df["max_abs_sad"].to_numpy(np.float32))])
    df["swapped"] = df["swapped"].astype(str).str.lower().eq("true")
    df.attrs["target_names"] = sad_target_columns(df)
    if not targets:
        df = df.drop(columns=df.attrs["target_names"])
        df.attrs["target_names"] = []
    return df


def read_sad_h5(path, *, targets: bool = True, scored_only: bool = True) -> pd.DataFrame:
    """A SAD file as a frame: :data:`SUMMARY_COLUMNS` (+ ``status`` and ``line``) and, with ``targets``, one float32
    column per target; only the scored rows unless ``scored_only`` is false. ``df.attrs`` holds ``target_names``
    and the file's attributes."""
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise InputError(path, f"not a readable HDF5 file: {exc}") from None
    with f:
        if f.attrs.get("format") != FORMAT:
            raise InputError(path, f"not a SAD file: the attribute format is {f.attrs.get('format')!r}, expected "
                                   f"{FORMAT!r}")
        v, s = f["variants"], f["summary"]
        status = v["status"][:]
        keep = np.isin(status, [STATUS_CODE["ok"], STATUS_CODE["swapped"]]) if scored_only else slice(None)
        names = np.array([x.decode() if isinstance(x, bytes) else x for x in f["target_names"][:]], dtype=object)
        chroms = np.array([x.decode() if isinstance(x, bytes) else x for x in f["chrom_names"][:]], dtype=object)
        top = s["top_target"][:][keep]
        df = pd.DataFrame({
            "chrom": chroms[v["chrom"][:][keep]] if len(chroms) else np.array([], dtype=object),
            "pos": v["pos"][:][keep],
            "id": v["id"].asstr()[:][keep], "ref": v["ref"].asstr()[:][keep], "alt": v["alt"].asstr()[:][keep],
            "swapped": v["swapped"][:][keep],
            "mean_sad": s["mean_sad"][:][keep], "max_abs_sad": s["max_abs_sad"][:][keep],
            "top_target": np.where(top >= 0, names[np.maximum(top, 0)] if len(names) else "", ""),
            "delta_class": np.asarray(DELTA_CLASSES, dtype=object)[
                s["delta_class"][:][keep] if "delta_class" in s else delta_class(s["max_abs_sad"][:][keep])],
        })
        if "weighted" in s:
            df["weighted"] = s["weighted"][:][keep]
        df["status"] = np.array(STATUSES, dtype=object)[status[keep]]
        df["line"] = v["line"][:][keep]
        if targets:
            sad = f["sad"][:][keep] if scored_only else f["sad"][:]
            df = pd.concat([df, pd.DataFrame(sad.astype(np.float32), columns=list(names), index=df.index)], axis=1)
        df.attrs.update({k: (v.item() if hasattr(v, "item") else v) for k, v in f.attrs.items()})
        df.attrs["target_names"] = [str(t) for t in names]
    return df


# ------------------------------------------------------------------------------------------------ gathering
class _ShardRows:
    """The rows of one shard's SAD file, read a block at a time, in their (VCF line) order."""

    def __init__(self, path, block: int):
        self.path, self.block = path, block
        self.f = h5py.File(path, "r")
        if self.f.attrs.get("format") != FORMAT:
            raise InputError(path, f"not a SAD file (format attribute {self.f.attrs.get('format')!r})")
        self.n = int(self.f["variants/pos"].shape[0])
        self.chroms = np.array(self.f["chrom_names"].asstr()[:], dtype=object)
        self.i = 0
        self._lines = np.zeros(0, dtype=np.int64)
        self._lo = 0

    def lines(self) -> np.ndarray:
        """The lines of the next rows (at least one while rows remain)."""
        if self.i >= self._lo + len(self._lines):
            self._lo = self.i
            self._lines = self.f["variants/line"][self.i : self.i + self.block]
        return self._lines[self.i - self._lo :]

    def take(self, k: int) -> tuple[pd.DataFrame, np.ndarray, dict]:
        """The next ``k`` rows: variant columns (status as text), SAD, summaries."""
        sl = slice(self.i, self.i + k)
        v, s = self.f["variants"], self.f["summary"]
        rows = pd.DataFrame({"chrom": self.chroms[v["chrom"][sl]], "pos": v["pos"][sl], "id": v["id"].asstr()[sl],
                             "ref": v["ref"].asstr()[sl], "alt": v["alt"].asstr()[sl], "swapped": v["swapped"][sl],
                             "status": np.array(STATUSES, dtype=object)[v["status"][sl]], "line": v["line"][sl]})
        summ = {key: s[key][sl] for key in s}
        self.i += k
        return rows, self.f["sad"][sl], summ

    def close(self) -> None:
        self.f.close()


def merge_sad_files(paths, out_path, *, table=None, block: int = 65536) -> dict:
    """Join the SAD files of the shards of one VCF (``paths``, in any order) into one, rows in VCF line order,
    every value copied as stored (so that the result equals scoring the VCF in one job), with its summary TSV.
    The shards must share targets, precision and weights. Returns the attributes of the first shard."""
    shards = [_ShardRows(p, block) for p in paths]
    try:
        first = shards[0].f
        names = [str(t) for t in first["target_names"].asstr()[:]]
        for sh in shards[1:]:
            other = [str(t) for t in sh.f["target_names"].asstr()[:]]
            same = (other == names and sh.f.attrs["sad_dtype"] == first.attrs["sad_dtype"]
                    and sh.f.attrs["weights"] == first.attrs["weights"])
            if not same:
                raise InputError(sh.path, f"its targets, precision or weights differ from those of {shards[0].path}:"
                                          " shards of one VCF must come from the same model and settings")
        weights = json.loads(first.attrs["weights"])
        w_vec = None if weights is None else np.array([weights[t] for t in names], dtype=np.float64)
        attrs = {k: v for k, v in first.attrs.items()
                 if k not in ("format", "version", "targets", "sad_dtype", "weights", "rows", "scored")}
        attrs["shard"] = ""
        writer = SadWriter(out_path, names, table=table, weights=w_vec,
                           dtype=str(first.attrs["sad_dtype"]), attrs=attrs)
        try:
            live = [sh for sh in shards if sh.n]
            while live:
                heads = np.array([sh.lines()[0] for sh in live])
                k = int(np.argmin(heads))
                bound = np.min(np.delete(heads, k)) if len(live) > 1 else np.iinfo(np.int64).max
                lines = live[k].lines()
                take = int(np.searchsorted(lines, bound, side="left")) or 1
                writer.add(*live[k].take(take))
                live = [sh for sh in live if sh.i < sh.n]
        except BaseException as exc:
            writer.abort(exc)
            raise
        writer.close()
        return attrs
    finally:
        for sh in shards:
            sh.close()


def write_sad_tsv(path, out, *, targets: bool = True, block: int = 65536) -> int:
    """The scored rows of the SAD file ``path`` as a TSV ``out`` (gzipped for ``.gz``): the summary columns and,
    with ``targets``, one SAD column per target (the stored values, 6 significant digits), read a block at a
    time. Returns the rows written."""
    n_out = 0
    with h5py.File(path, "r") as f, _text_out(out) as fh:
        names = [str(t) for t in f["target_names"].asstr()[:]]
        chroms = np.array(f["chrom_names"].asstr()[:], dtype=object)
        v, s = f["variants"], f["summary"]
        fh.write(_tsv_header("weighted" in s, names if targets else ()))
        ok = [STATUS_CODE["ok"], STATUS_CODE["swapped"]]
        for lo in range(0, int(v["pos"].shape[0]), block):
            sl = slice(lo, lo + block)
            keep = np.isin(v["status"][sl], ok)
            if not keep.any():
                continue
            rows = pd.DataFrame({"chrom": chroms[v["chrom"][sl][keep]], "pos": v["pos"][sl][keep],
                                 "id": v["id"].asstr()[sl][keep], "ref": v["ref"].asstr()[sl][keep],
                                 "alt": v["alt"].asstr()[sl][keep], "swapped": v["swapped"][sl][keep]})
            summ = {key: s[key][sl][keep] for key in s}
            fh.write(_tsv_rows(rows, summ, names, f["sad"][sl][keep] if targets else None))
            n_out += int(keep.sum())
    return n_out

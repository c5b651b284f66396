"""Stage ``dataset`` in coverage mode (Basenji-style runs): rule ``build_coverage_dataset`` tiles windows over the
genome and sums each sample's coverage bigWig into bins.

HDF5 layout (``mode`` ``"coverage"``, ``format_version`` 1; read by :class:`basset.dataset.Dataset` and streamed by
:class:`basset.dataset.H5Batches` like a sites dataset)::

    /target_names        (T,)         utf-8 strings, the sample sheet's names (tracks)
    /{split}/seqs        (n, L)       uint8 codes A,C,G,T,N = 0..4 of the window, + strand; chunked, compressed
    /{split}/targets     (n, L/bin, T) float16 coverage summed over each bin (times dataset.scale, then soft-clipped
                                      above dataset.clip_soft); chunked, compressed
    /{split}/chrom       (n,)         utf-8 strings
    /{split}/start       (n,)         int64, 0-based
    /{split}/end         (n,)         int64, exclusive
    attributes of /:     mode "coverage", seq_length (L), bin_size, stride, n_bins, clip_soft (NaN: none), scale,
                         n_handling, max_n_fraction, alphabet, seed, basset_version, format_version

Windows of ``window`` bp start every ``stride`` bp from each chromosome's base 0 (both whole bins, so a chromosome is
binned once, :mod:`basset.coverage`); a window with more than ``max_n_fraction`` N bases is skipped and counted.
Splits follow ``dataset.split`` over the windows (:func:`basset.dataset.split_labels`; holding out chromosomes keeps
overlapping windows apart). Windows are written chromosome by chromosome in blocks, each block in a seeded random
order; the loader then visits blocks at random and shuffles rows within a few of them. Memory: one chromosome's
codes and binned coverage, and one block of windows.

Real files: a bigWig's chromosome names are matched to the genome's (``chr1``/``1``, ``chrM``/``MT``,
:class:`basset.sequence.ChromosomeMatcher`, logged); a genome chromosome that a bigWig lacks has no coverage there
(zeros, counted per track in the summary); a bigWig that shares no chromosome with the genome is an error naming
both files' names. A bin sum that float16 cannot hold (above 65,504) is an error naming the track and the largest
sum, which ``dataset.scale`` or ``dataset.clip_soft`` bring down; so is a negative one (a log-ratio track is not
coverage: the Poisson loss needs counts).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd

from .. import __version__
from ..config import coverage_window, with_defaults
from ..coverage import bin_sums, soft_clip, window_bins, window_n_counts, window_starts
from ..dataset import FORMAT_VERSION, SPLITS, split_labels
from ..errors import ConfigError, InputError
from ..fileio import atomic_path
from ..logs import progress_bar
from ..sequence import ALPHABET, N_CODE, Genome, match_chromosomes
from ..tables import write_summary
from .dataset import disk_full_names, hdf5_writer, string_array

log = logging.getLogger("basset.stages.coverage")

#: float16's largest finite value: a stored target above it would be inf
FLOAT16_MAX = 65504.0
#: bases of one chromosome read from a bigWig at a time (bounds memory: 4 bytes each)
READ_CHUNK = 1 << 24


def coverage_options(dataset: dict | None, seq_len: int | None = None) -> dict:
    """The coverage keys of the config's ``dataset`` section over the schema's defaults, checked: ``window`` (null:
    ``seq_len``, the model's input), ``stride`` (null: half the window), ``bin``, ``clip_soft``, ``scale``,
    ``max_n_fraction``, ``n_handling``, ``compression``, ``split``. Window and stride must be whole bins;
    :class:`ConfigError` names the key."""
    opts = with_defaults("dataset", dataset)
    window, stride, bin_size = coverage_window(opts, seq_len)
    opts.update(window=window, stride=stride, bin=bin_size)
    if opts["compression"] == "none":
        opts["compression"] = None
    return opts


def track_bins(bw, chrom: str | None, size: int, bin_size: int) -> np.ndarray:
    """``(size // bin_size,) float64``: a bigWig's coverage over a chromosome of ``size`` bp summed per bin.

    ``bw``: an open ``pyBigWig`` file; ``chrom``: its name for the chromosome (``None``: the file lacks it, zeros).
    Read :data:`READ_CHUNK` bases at a time (a whole number of bins), no value counting as 0."""
    n = size // bin_size
    out = np.zeros(n)
    if chrom is None or n == 0:
        return out
    have = int(bw.chroms(chrom))
    step = max(bin_size, READ_CHUNK // bin_size * bin_size)
    for lo in range(0, n * bin_size, step):
        hi = min(lo + step, n * bin_size, have)
        if hi <= lo:
            break
        values = bw.values(chrom, lo, hi, numpy=True)
        sums = bin_sums(values, bin_size)
        out[lo // bin_size : lo // bin_size + sums.size] = sums
    return out


class Tracks:
    """The sample sheet's coverage bigWigs, open, with each one's chromosome names matched to the genome's."""

    def __init__(self, tracks: dict[str, str | Path], genome_names):
        import pyBigWig

        self.names = [str(n) for n in tracks]
        self.paths = {str(n): str(p) for n, p in tracks.items()}
        self.files, self.chrom = {}, {}
        for name, path in self.paths.items():
            try:
                bw = pyBigWig.open(path)
            except RuntimeError:
                bw = None
            if bw is None or not bw.isBigWig():
                raise InputError(path, f"track {name!r}: not a readable bigWig file")
            self.files[name] = bw
            own = list(bw.chroms())
            found = match_chromosomes(own, genome_names)  # the bigWig's name -> the genome's
            self.chrom[name] = {g: c for c, g in found.items()}
            if not found:
                raise InputError(path, f"track {name!r}: none of its chromosomes ({', '.join(own[:5])}) is in the "
                                       f"genome ({', '.join(list(genome_names)[:5])})")
            mapped = [f"{c} -> {g}" for c, g in found.items() if c != g]
            if mapped:
                log.info("%s: chromosome names mapped to the genome's: %s", path, ", ".join(mapped[:5]))

    def chromosome(self, chrom: str, size: int, bin_size: int) -> tuple[np.ndarray, list[str]]:
        """``(bins (size // bin_size, T) float64, names of the tracks without this chromosome)``."""
        cols, missing = [], []
        for name in self.names:
            own = self.chrom[name].get(chrom)
            if own is None:
                missing.append(name)
            cols.append(track_bins(self.files[name], own, size, bin_size))
        return np.stack(cols, axis=1), missing

    def close(self) -> None:
        for bw in self.files.values():
            bw.close()


def _window_table(sizes: dict[str, int], window: int, stride: int):
    """All windows of the genome, as a DataFrame ``chrom, start, end`` in genome order."""
    parts = [pd.DataFrame({"chrom": name, "start": s, "end": s + window})
             for name, size in sizes.items() if (s := window_starts(size, window, stride)).size]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame({"chrom": [], "start": [], "end": []})


def build_coverage_dataset(fasta: str | Path, tracks, out: dict, dataset: dict | None = None,
                           seq_len: int | None = None, seed: int = 1, names=None, fai=None, progress: bool = False, *,
                           block_windows: int | None = None, compression_level: int = 1) -> dict:
    """Rule ``build_coverage_dataset``: the coverage HDF5 ``out["h5"]`` (layout in the module docstring) and its
    summary TSV ``out["summary"]`` (optional).

    ``fasta``: the genome (indexed; ``fai``, its index, is the rule's dependency only); ``tracks``: ``{target name:
    bigWig path}`` in target order, or a list of bigWigs (one path alone: a str) named by ``names``; ``dataset``: the
    config's ``dataset`` section (:func:`coverage_options`); ``seq_len``: the model's input length, which the
    window must equal. ``block_windows``: windows gathered per write (default: about 256 MB of codes and targets).
    Returns the summary: windows in all, kept per split, skipped N-rich, tracks, bins, bins soft-clipped, and per
    track the genome chromosomes it lacks. Written under a temporary name and renamed when complete; a full disk
    raises :class:`basset.fileio.DiskFullError` naming ``out["h5"]``.
    """
    if not isinstance(tracks, dict):
        paths = [tracks] if isinstance(tracks, (str, Path)) else list(tracks)
        names = [str(n) for n in (names or [])]
        if len(names) != len(paths):
            raise ValueError(f"{len(paths)} bigWigs but {len(names)} names")
        tracks = dict(zip(names, paths))
    opts = coverage_options(dataset, seq_len)
    window, stride, bin_size = opts["window"], opts["stride"], opts["bin"]
    n_bins = window // bin_size
    out_h5 = Path(out["h5"])
    if not tracks:
        raise ConfigError("samples", "no coverage tracks: the sample sheet needs a coverage column (bigWig paths)")
    with Genome(fasta) as genome:
        sizes = dict(genome.sizes)
        table = _window_table(sizes, window, stride)
        if table.empty:
            raise InputError(fasta, f"no chromosome is as long as one {window} bp window "
                                    f"(longest {max(sizes.values(), default=0)} bp)")
        split = opts["split"]
        if split["method"] == "random" and stride < window:
            log.warning("dataset.split.method random with windows overlapping (stride %d < window %d): held-out "
                        "windows share sequence with training ones; hold out chromosomes to avoid it", stride, window)
        labels = split_labels(table, split["method"], split["valid"], split["test"], seed=seed)
        split_code = np.select([labels == s for s in SPLITS], np.arange(len(SPLITS)))
        rows_per_block = block_windows or max(1, (1 << 28) // (window + 2 * n_bins * len(tracks)))
        files = Tracks(tracks, list(sizes))
        try:
            summary = _write(out_h5, genome, files, table, split_code, opts, seed, rows_per_block,
                             compression_level, progress)
        finally:
            files.close()
    if out.get("summary"):
        write_summary(out["summary"], {k: v for k, v in summary.items() if k != "missing"})
    return summary


def _write(out_h5: Path, genome: Genome, files: Tracks, table, split_code: np.ndarray, opts: dict, seed: int,
           rows_per_block: int, compression_level: int, progress: bool) -> dict:
    import h5py

    window, stride, bin_size = opts["window"], opts["stride"], opts["bin"]
    n_bins, T = window // bin_size, len(files.names)
    max_n = int(math.floor(opts["max_n_fraction"] * window + 1e-9))
    comp = {"compression": opts["compression"],
            "compression_opts": compression_level if opts["compression"] == "gzip" else None}
    chunk = max(1, min(256, (1 << 22) // window))
    counts = {s: 0 for s in SPLITS}
    skipped_n, clipped, missing = 0, 0, {n: [] for n in files.names}
    rng = np.random.default_rng([seed, 0])
    chroms = table["chrom"].to_numpy(dtype=object)
    with disk_full_names(out_h5), atomic_path(out_h5) as tmp, hdf5_writer(tmp, out_h5) as (h5, sink):
        h5.attrs.update(mode="coverage", seq_length=window, bin_size=bin_size, stride=stride, n_bins=n_bins,
                        clip_soft=float("nan") if opts["clip_soft"] is None else float(opts["clip_soft"]),
                        scale=float(opts["scale"]), n_handling=opts["n_handling"],
                        max_n_fraction=opts["max_n_fraction"], alphabet=ALPHABET, seed=seed,
                        basset_version=__version__, format_version=FORMAT_VERSION)
        h5.create_dataset("target_names", data=np.array(files.names, dtype=object),
                          dtype=h5py.string_dtype("utf-8"))
        groups = {s: _split_group(h5, s, window, n_bins, T, chunk, comp) for s in SPLITS}
        bar = progress_bar(len(table), progress, "coverage windows", "window")
        for ci, name in enumerate(dict.fromkeys(chroms)):
            rows = np.flatnonzero(chroms == name)
            starts = table["start"].to_numpy(np.int64)[rows]
            codes = genome.chrom_codes(name)
            keep = window_n_counts(codes == N_CODE, starts, window) <= max_n
            skipped_n += int((~keep).sum())
            rows, starts = rows[keep], starts[keep]
            raw, lacking = files.chromosome(name, genome.sizes[name], bin_size)
            for track in lacking:
                missing[track].append(name)
            scaled = raw * float(opts["scale"])
            bins = soft_clip(scaled, opts["clip_soft"])
            clipped += int((scaled > opts["clip_soft"]).sum()) if opts["clip_soft"] is not None else 0
            _check_bins(bins, files, name, bin_size)
            bins = bins.astype(np.float16)
            for lo in range(0, rows.size, rows_per_block):
                block = lo + np.random.default_rng([seed, 1, ci, lo]).permutation(min(rows_per_block, rows.size - lo))
                seqs = genome.windows(name, starts[block], window)
                if opts["n_handling"] == "random":
                    is_n = seqs == N_CODE
                    seqs[is_n] = rng.integers(0, 4, int(is_n.sum()), dtype=np.uint8)
                targets = window_bins(bins, starts[block], bin_size, n_bins)
                codes_of = split_code[rows[block]]
                for k, s in enumerate(SPLITS):
                    pick = codes_of == k
                    if pick.any():
                        counts[s] += _append(groups[s], seqs[pick], targets[pick], name, starts[block][pick], window)
                sink.check()
            bar.update(int(keep.size))
        bar.close()
    summary = {"windows": len(table), "kept": sum(counts.values()), **counts, "skipped_n_rich": skipped_n,
               "window": window, "stride": stride, "bin": bin_size, "bins": n_bins, "tracks": T,
               "bins_soft_clipped": clipped, "missing": {k: v for k, v in missing.items() if v}}
    for track, chroms_lacking in summary["missing"].items():
        log.warning("track %s (%s) has no coverage on %d genome chromosome(s): %s", track, files.paths[track],
                    len(chroms_lacking), ", ".join(chroms_lacking[:10]))
    if skipped_n:
        log.warning("skipped %d windows with more than %d N bases", skipped_n, max_n)
    log.info("wrote %s: %s", out_h5, ", ".join(f"{k} {v}" for k, v in summary.items() if k != "missing"))
    return summary


def _check_bins(bins: np.ndarray, files: Tracks, chrom: str, bin_size: int) -> None:
    """Bin sums a coverage model can take: not negative (the Poisson loss needs counts; a log-ratio track is not
    coverage) and within float16."""
    if (bins < 0).any():
        t = int(np.flatnonzero((bins < 0).any(0))[0])
        name = files.names[t]
        raise InputError(files.paths[name], f"track {name!r}: a {bin_size} bp bin on {chrom} sums to "
                                            f"{bins[:, t].min():.6g}; coverage must not be negative (the Poisson loss "
                                            "reads counts: give read coverage or fold enrichment, not a log ratio)")
    over = bins > FLOAT16_MAX
    if over.any():
        t = int(np.flatnonzero(over.any(0))[0])
        name = files.names[t]
        raise InputError(files.paths[name], f"track {name!r}: a {bin_size} bp bin on {chrom} sums to "
                                            f"{bins[:, t].max():.6g}, more than float16 holds ({FLOAT16_MAX:g}); set "
                                            "dataset.scale below 1 or dataset.clip_soft")


def _split_group(h5, split: str, window: int, n_bins: int, T: int, chunk: int, comp: dict) -> dict:
    import h5py

    g = h5.create_group(split)
    strings = h5py.string_dtype("utf-8")
    return {
        "seqs": g.create_dataset("seqs", shape=(0, window), maxshape=(None, window), dtype=np.uint8,
                                 chunks=(chunk, window), **comp),
        "targets": g.create_dataset("targets", shape=(0, n_bins, T), maxshape=(None, n_bins, T), dtype=np.float16,
                                    chunks=(chunk, n_bins, T), **comp),
        "chrom": g.create_dataset("chrom", shape=(0,), maxshape=(None,), dtype=strings, chunks=(1024,)),
        "start": g.create_dataset("start", shape=(0,), maxshape=(None,), dtype=np.int64, chunks=(1024,)),
        "end": g.create_dataset("end", shape=(0,), maxshape=(None,), dtype=np.int64, chunks=(1024,)),
    }


def _append(group: dict, seqs, targets, chrom: str, starts, window: int) -> int:
    """Append rows to a split's datasets; returns the number appended."""
    n, m = group["seqs"].shape[0], seqs.shape[0]
    for key, values in (("seqs", seqs), ("targets", targets), ("chrom", string_array([chrom] * m)),
                        ("start", starts), ("end", starts + window)):
        d = group[key]
        d.resize(n + m, axis=0)
        d[n : n + m] = values
    return m

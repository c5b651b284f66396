"""Predictions outside the workflow (``basset predict``): per-target probabilities of sequences from a FASTA file or
of BED intervals of a genome, as a table or HDF5 file, and genome-browser tracks (one bigWig per target) of a
model tiled over regions or whole chromosomes.

A sequence of the wrong length is cut to (longer) or centred in (shorter: no, refused) the model's input: a FASTA
record must be at least the model's length and its central bases are predicted; a BED interval is replaced by the
model-length window centred on its midpoint (``(start + end) // 2``, Basset's rule), and intervals whose window
leaves the chromosome are skipped, counted and listed in the log. Tracks: bins of ``stride`` bp tile each region;
each bin's value is the prediction of the model-length window centred on it (:func:`basset.predict.tile_bins`,
:func:`basset.predict.centred_windows`); bases beyond a chromosome's ends are N. pyBigWig writes the tracks.
"""

from __future__ import annotations

import contextlib
import logging
import re
import shutil
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from ..device import use_device
from ..errors import InputError
from ..fileio import DiskFullError, atomic_path, open_text, read_errors
from ..models import load_model
from ..predict import centred_windows, predict_codes, tile_bins
from ..sequence import ChromosomeMatcher, Genome
from ..tables import write_table
from .satmut import fasta_windows

log = logging.getLogger("basset.stages.predict")

_REGION = re.compile(r"^(?P<chrom>[^:\s]+)(?::(?P<start>[\d,]+)-(?P<end>[\d,]+))?$")


def model_length(meta: dict, model) -> int:
    """The input length (bp) of a saved model."""
    L = (meta.get("config") or {}).get("seq_len")
    if not L:
        raise InputError(model, "the model file does not say its input length (config.seq_len)")
    return int(L)


def read_bed_windows(bed, genome: Genome, L: int) -> tuple[pd.DataFrame, np.ndarray, int]:
    """The ``L``-bp windows centred on the midpoints of a BED file's intervals: ``(table chrom, start, end, name,
    window_start; codes (n, L) uint8; skipped)``; intervals on a chromosome the genome lacks, or whose window leaves
    it, are skipped and counted (the first few are logged); names spelled otherwise than the genome's (``1`` for
    ``chr1``, ``MT`` for ``chrM``) are mapped as everywhere (:class:`basset.sequence.ChromosomeMatcher`). Lines
    starting with #, track or browser are headers."""
    rows, skipped, examples = [], 0, []
    matcher = ChromosomeMatcher(genome.sizes)
    with read_errors(bed, "BED file"), open_text(bed, newline="") as fh:  # plain or gzipped, whatever the name
        for lineno, line in enumerate(fh, 1):
            if not line.strip() or line.startswith(("#", "track", "browser")):
                continue
            parts = line.rstrip("\r\n").split("\t")
            if len(parts) < 3:
                raise InputError(bed, f"expected at least 3 tab-separated columns (chrom, start, end), got "
                                      f"{len(parts)}", line=lineno)
            try:
                start, end = int(parts[1]), int(parts[2])
            except ValueError:
                raise InputError(bed, f"start and end must be integers, got {parts[1]!r} and {parts[2]!r}",
                                 line=lineno) from None
            if end <= start or start < 0:
                raise InputError(bed, f"expected 0 <= start < end, got {start} and {end}", line=lineno)
            chrom = matcher(parts[0])
            lo = (start + end) // 2 - L // 2
            size = genome.sizes.get(chrom) if chrom is not None else None
            if size is None or lo < 0 or lo + L > size:
                skipped += 1
                if len(examples) < 5:
                    examples.append(f"line {lineno} ({parts[0]}:{start}-{end})")
                continue
            name = parts[3] if len(parts) > 3 and parts[3] else f"{parts[0]}:{start}-{end}"
            rows.append((chrom, start, end, name, lo))
    if skipped:
        log.warning("%s: %d interval(s) skipped (chromosome not in the genome, or the %d-bp window leaves it): %s",
                    bed, skipped, L, ", ".join(examples) + (", ..." if skipped > len(examples) else ""))
    table = pd.DataFrame(rows, columns=["chrom", "start", "end", "name", "window_start"])
    if table.empty:
        raise InputError(bed, f"no interval to predict ({skipped} skipped)")
    if matcher.mapped:
        log.info("%s: chromosome names mapped onto the genome's: %s", bed,
                 ", ".join(f"{a}->{b}" for a, b in matcher.mapped.items()))
    codes = np.empty((len(table), L), dtype=np.uint8)
    window_start = table["window_start"].to_numpy()
    for chrom, idx in table.groupby("chrom", sort=False).indices.items():  # one chromosome in memory at a time
        codes[idx] = genome.windows(chrom, window_start[idx], L)
    return table, codes, skipped


def write_probabilities(path, table: pd.DataFrame, probs: np.ndarray, names: list[str]) -> None:
    """Per-target probabilities beside the identifying columns of ``table``: a TSV (``.tsv``, ``.tsv.gz``, ``.txt``)
    or an HDF5 file (``.h5``, ``.hdf5``: datasets of the columns and ``probs (n, T) float32``, ``target_names``)."""
    suffixes = "".join(Path(path).suffixes[-2:]).lower()
    if suffixes.endswith((".h5", ".hdf5")):
        with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
            for col in table.columns:
                values = table[col].to_numpy()
                if values.dtype == object:
                    f.create_dataset(col, data=values.astype(str).astype(object), dtype=h5py.string_dtype())
                else:
                    f[col] = values
            f.create_dataset("probs", data=probs.astype(np.float32), compression="gzip")
            f.create_dataset("target_names", data=np.array(names, dtype=object), dtype=h5py.string_dtype())
        return
    if not suffixes.endswith((".tsv", ".tsv.gz", ".txt", ".txt.gz")):
        raise InputError(path, "expected an output ending in .tsv, .tsv.gz, .txt or .h5")
    frame = pd.concat([table.reset_index(drop=True), pd.DataFrame(probs, columns=names)], axis=1)
    write_table(path, frame, float_format="%.6g")


def predict_file(model, out, fasta=None, bed=None, genome=None, *, rc_average: bool = True, batch_size: int = 256,
                 device=None, progress: bool = False) -> dict:
    """Probabilities of every record of ``fasta`` (its central bases) or every interval of ``bed`` in ``genome``
    (the window centred on it), written to ``out`` (:func:`write_probabilities`)."""
    if (fasta is None) == (bed is None):
        raise ValueError("give fasta, or bed with genome")
    dev = use_device(device)
    net, meta = load_model(model, map_location=dev, objective="binary")
    names = [str(t) for t in meta["target_names"]]
    L = model_length(meta, model)
    skipped = 0
    if fasta is not None:
        records, codes, offsets = fasta_windows(fasta, L)
        table = pd.DataFrame({"name": records, "offset": offsets})
    else:
        with Genome(genome) as g:
            table, codes, skipped = read_bed_windows(bed, g, L)
        table = table.drop(columns="window_start")
    probs = predict_codes(net, codes, batch_size=batch_size, device=dev, rc_average=rc_average, progress=progress)
    write_probabilities(out, table, probs, names)
    return {"sequences": int(len(table)), "targets": len(names), "skipped": skipped, "out": str(out)}


def parse_region(text: str, sizes: dict) -> tuple[str, int, int]:
    """``chrom`` or ``chrom:start-end`` (1-based, inclusive, as a genome browser shows it; commas allowed) ->
    ``(chrom, start, end)`` 0-based half-open in the genome's spelling of the chromosome, checked against its
    ``sizes``."""
    m = _REGION.match(text.strip())
    if not m:
        raise ValueError(f"expected chrom or chrom:start-end, got {text!r}")
    chrom = ChromosomeMatcher(sizes)(m["chrom"])  # chr1 or 1, as the genome spells it
    if chrom is None:
        raise ValueError(f"{m['chrom']} is not in the genome (it has {', '.join(list(sizes)[:5])}"
                         f"{', ...' if len(sizes) > 5 else ''})")
    if m["start"] is None:
        return chrom, 0, int(sizes[chrom])
    start, end = int(m["start"].replace(",", "")) - 1, int(m["end"].replace(",", ""))
    if not 0 <= start < end <= sizes[chrom]:
        raise ValueError(f"{text}: expected 1 <= start <= end <= {sizes[chrom]:,} (the length of {chrom})")
    return chrom, start, end


@contextlib.contextmanager
def _bigwig_errors(folder):
    """pyBigWig reports any failed write as a bare RuntimeError ("Received an error while writing the bigWig
    header"); when the folder's file system is full that is :class:`basset.fileio.DiskFullError` naming it."""
    try:
        yield
    except RuntimeError as exc:
        if shutil.disk_usage(folder).free < (1 << 20):
            raise DiskFullError(folder, f"pyBigWig: {exc}") from None
        raise


def predict_tracks(model, genome, out_dir, regions=None, *, stride: int = 50, targets=None, rc_average: bool = True,
                   batch_size: int = 256, chunk: int = 20000, device=None, progress: bool = False) -> dict:
    """One bigWig per target in ``out_dir`` (``<target>.bw``): the model's probability over ``regions``
    (``chrom`` or ``chrom:start-end`` strings; None: every chromosome) in bins of ``stride`` bp, each the
    prediction of the window centred on it. ``targets``: a subset of the model's targets. Windows are predicted
    ``chunk`` at a time (memory stays flat over a whole genome); each file is written under a temporary name
    (:func:`basset.fileio.atomic_path`: swept if the process is killed) and renamed when all are complete."""
    import pyBigWig

    dev = use_device(device)
    net, meta = load_model(model, map_location=dev, objective="binary")
    names = [str(t) for t in meta["target_names"]]
    L = model_length(meta, model)
    chosen = names if not targets else list(targets)
    unknown = [t for t in chosen if t not in names]
    if unknown:
        raise InputError(model, f"no target(s) {', '.join(unknown)} (the model has {', '.join(names[:5])}"
                                f"{', ...' if len(names) > 5 else ''})")
    cols = [names.index(t) for t in chosen]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    g = Genome(genome)
    spans = [parse_region(r, g.sizes) for r in (regions or list(g.sizes))]
    spans.sort(key=lambda s: (list(g.sizes).index(s[0]), s[1]))  # bigWig entries must come in order
    for (c1, s1, e1), (c2, s2, _e2) in zip(spans, spans[1:]):
        if c1 == c2 and s2 < e1:
            raise ValueError(f"regions {c1}:{s1 + 1}-{e1} and {c2}:{s2 + 1}-... overlap")
    header = [(c, int(n)) for c, n in g.sizes.items()]
    n_bins = 0
    # every track under a temporary name, renamed when all are complete
    with _bigwig_errors(out_dir), contextlib.ExitStack() as stack:
        stack.callback(g.close)
        writers = {}
        for t in chosen:
            tmp = stack.enter_context(atomic_path(out_dir / f"{t}.bw"))
            writers[t] = pyBigWig.open(str(tmp), "w")
            stack.callback(writers[t].close)  # closed (and flushed) before its file is renamed
            writers[t].addHeader(header)
        for chrom, start, end in spans:
            bins, ends = tile_bins(start, end, stride)
            for lo in range(0, bins.size, chunk):
                b, e = bins[lo:lo + chunk], ends[lo:lo + chunk]
                codes = g.windows(chrom, centred_windows(b, stride, L), L)
                probs = predict_codes(net, codes, batch_size=batch_size, device=dev, rc_average=rc_average,
                                      progress=progress)
                for t, j in zip(chosen, cols):
                    writers[t].addEntries([chrom] * b.size, b.tolist(), ends=e.tolist(),
                                          values=probs[:, j].astype(np.float64).tolist())
                n_bins += b.size
            log.info("%s:%d-%d: %d bins of %d bp", chrom, start + 1, end, bins.size, stride)
    return {"targets": len(chosen), "regions": len(spans), "bins": int(n_bins), "stride": int(stride),
            "out": str(out_dir)}

"""Stage ``peaks``: every sample's peak file merged into fixed-width sites with a 0/1 activity per target
(rule ``merge_peaks``). Files are read by :mod:`basset.bed`, the merge is :mod:`basset.peaks`.

Outputs (``out`` keys): ``sites`` (6-column BED), ``activity`` (gzipped TSV, one 0/1 column per target),
``targets`` (one row per target: peaks read, kept, skipped by reason, renamed chromosomes, active sites) and
``summary`` (``key<TAB>value``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..bed import read_peaks, write_activity, write_sites
from ..bins import label_bins
from ..config import with_defaults
from ..errors import InputError
from ..fileio import atomic_path
from ..logs import progress_bar
from ..peaks import ChromosomeFilter, Sites, merge_sorted, sort_peaks
from ..samples import read_sample_sheet, sample_assays
from ..sequence import genome_sizes
from ..tables import write_summary

log = logging.getLogger(__name__)

#: why a peak was skipped -> the config key (and CLI flag) that controls it
SKIP_KEYS = {
    "skipped_unknown_chrom": "genome.fasta (the genome's chromosome names)",
    "skipped_chrY": "peaks.drop_chry (basset merge-peaks --keep-chry)",
    "skipped_noncanonical": "peaks.drop_noncanonical (basset merge-peaks --keep-noncanonical)",
    "skipped_short_chrom": "peaks.feature_size (chromosomes shorter than one site)",
}


@dataclass
class MergeResult:
    sites: Sites
    target_names: list[str]
    stats: pd.DataFrame  # one row per target: peak counts, kept, skipped by reason, active sites
    skipped: dict = field(default_factory=dict)  # reason -> total count


def merge_peaks(*, samples: str, fai: str, out: dict, peaks: str | list[str] | None = None,
                peaks_config: dict | None = None, progress: bool = False) -> dict:
    """Rule ``merge_peaks``: merge the peak files of the sample sheet ``samples`` into sites.

    ``fai``: the genome's chromosome sizes, as its FASTA index, a chrom.sizes table or the FASTA itself
    (:func:`basset.sequence.genome_sizes`); their order is the sites' order. ``peaks``: the peak files in the
    sheet's row order (local copies of URLs), or ``None`` for the sheet's ``peaks`` column. ``peaks_config``:
    the config section ``peaks`` (feature_size, merge_overlap, midpoint, drop_chry, drop_noncanonical; missing
    keys take the schema's defaults). Writes ``out["sites"]``, ``out["activity"]``, ``out["targets"]`` and
    ``out["summary"]``; returns the summary.
    """
    opts = with_defaults("peaks", peaks_config)
    sheet = read_sample_sheet(samples)
    paths = None if peaks is None else [peaks] if isinstance(peaks, str) else list(peaks)
    result = merge_peak_files(sheet, genome_sizes(fai), opts["feature_size"], opts["merge_overlap"], opts["midpoint"],
                              drop_chry=opts["drop_chry"], drop_noncanonical=opts["drop_noncanonical"], paths=paths,
                              progress=progress)
    return write_merge(result, out["sites"], out["activity"], out["targets"], out["summary"], sheet)


def merge_peak_files(samples: pd.DataFrame, chrom_sizes: dict[str, int], feature_size: int = 600,
                     merge_overlap: int = 200, midpoint: str = "center", drop_chry: bool = False,
                     drop_noncanonical: bool = False, paths: list[str] | None = None,
                     progress: bool = True) -> MergeResult:
    """Read every sample's peak file and merge them as Basset does (whose defaults these are: nothing dropped).

    ``samples``: rows in target order with columns ``name``, ``peaks`` and ``format``; ``paths`` overrides
    the ``peaks`` column (downloaded copies of URLs). ``chrom_sizes`` (from the FASTA index) gives the
    chromosome order of the output and the clamping lengths. Peak chromosome names that match the genome's
    only after adding or removing ``chr`` (or chrM/MT) are mapped to the genome's names, logged, and listed in
    the ``renamed`` column of the per-target table. Peaks on chromosomes missing from the genome, on
    chromosomes shorter than ``feature_size``, on chrY (``drop_chry``) or on non-canonical contigs
    (``drop_noncanonical``: anything but chr1-22, X, Y) are skipped and counted. A sample none of whose peaks
    is left raises :class:`InputError` naming the sample, the count per reason and the key behind each.
    """
    names = list(samples["name"])
    chroms = ChromosomeFilter.for_genome(chrom_sizes, feature_size, drop_chry, drop_noncanonical)
    rows, parts = _read_samples(samples, paths, midpoint, chroms, progress)
    chrom, minus, mid, target = (np.concatenate(column) for column in list(zip(*parts))[:4])
    del parts
    sp = sort_peaks(chrom, minus, mid, target, chroms.names, chroms.sizes)
    sites = merge_sorted(sp, len(names), feature_size, merge_overlap)
    stats = pd.DataFrame(rows)
    stats["active_sites"] = sites.activity.sum(axis=0, dtype=np.int64)
    skipped = {c: int(stats[c].sum()) for c in stats.columns if c.startswith("skipped_")}
    log.info("merged %d peaks of %d targets into %d sites of %d bp (skipped: %s)", len(sp.mid), len(names),
             len(sites), feature_size, ", ".join(f"{k[8:]}={v}" for k, v in skipped.items()))
    return MergeResult(sites, names, stats, skipped)


def bin_peaks(*, samples: str, fai: str, out: dict, peaks: str | list[str] | None = None,
              peaks_config: dict | None = None, dataset: dict | None = None, length: int = 1000,
              progress: bool = False) -> dict:
    """Rule ``bin_peaks`` (``dataset.mode: deepsea``): DeepSEA's samples and labels (:mod:`basset.bins`) from the
    sample sheet's peak files, written as the four files of :func:`merge_peaks` (so the dataset, training and every
    later stage read them unchanged): a site is the ``length``-bp input window centred on a bin (``length``: the
    model's input), its activity the features' labels. ``dataset``: the config section (``bin``, ``bin_fraction``,
    ``select``: the assays that make a bin a sample, by the sheet's ``assay`` column, empty meaning dnase);
    ``peaks_config``: ``drop_chry`` and ``drop_noncanonical`` apply as in Basset's mode."""
    opts = with_defaults("peaks", peaks_config)
    cfg = with_defaults("dataset", dataset)
    sheet = read_sample_sheet(samples)
    paths = None if peaks is None else [peaks] if isinstance(peaks, str) else list(peaks)
    result = bin_peak_files(sheet, genome_sizes(fai), int(cfg["bin"]), float(cfg["bin_fraction"]),
                            list(cfg["select"]), int(length), drop_chry=opts["drop_chry"],
                            drop_noncanonical=opts["drop_noncanonical"], paths=paths, progress=progress)
    return write_merge(result, out["sites"], out["activity"], out["targets"], out["summary"], sheet)


def bin_peak_files(samples: pd.DataFrame, chrom_sizes: dict[str, int], bin_size: int = 200, fraction: float = 0.5,
                   select=("tf",), length: int = 1000, drop_chry: bool = False, drop_noncanonical: bool = False,
                   paths: list[str] | None = None, progress: bool = True) -> MergeResult:
    """Read every sample's peak intervals (chromosome names mapped and peaks skipped as :func:`merge_peak_files`
    does) and label DeepSEA's bins (:func:`basset.bins.label_bins`); features whose assay is in ``select`` choose the
    bins (none of them in the sheet: every feature does, with a warning)."""
    names = list(samples["name"])
    chroms = ChromosomeFilter.for_genome(chrom_sizes, length, drop_chry, drop_noncanonical)
    assays = sample_assays(samples)
    selecting = [i for i, a in enumerate(assays) if a in {str(x).lower() for x in select}]
    if not selecting:
        log.warning("no sample's assay is one of dataset.select (%s; the sheet has %s): every peak selects bins",
                    ", ".join(select), ", ".join(sorted(set(assays))))
    rows, parts = _read_samples(samples, paths, "center", chroms, progress)
    chrom, _minus, _mid, target, start, end = (np.concatenate(column) for column in zip(*parts))
    end = np.minimum(end, chroms.sizes[chrom])
    keep = end > start  # zero-length peaks (start == end in the file) cover no base
    bins = label_bins(chrom[keep], start[keep], end[keep], target[keep], chroms.sizes, len(names), bin_size=bin_size,
                      fraction=fraction, select=selecting or None, length=length)
    n = bins["labels"].shape[0]
    sites = Sites(np.asarray(chroms.names, dtype=object)[bins["chrom"]], bins["window"], bins["window"] + length,
                  np.full(n, "+", dtype=object), bins["labels"])
    stats = pd.DataFrame(rows)
    stats.insert(3, "assay", assays)
    stats["selects_bins"] = [i in selecting or not selecting for i in range(len(names))]
    stats["active_sites"] = bins["labels"].sum(axis=0, dtype=np.int64)
    skipped = {c: int(stats[c].sum()) for c in stats.columns if c.startswith("skipped_")}
    skipped["skipped_bins_at_chromosome_ends"] = bins["skipped_edge"] + bins["skipped_partial"]
    log.info("%d peaks of %d features into %d bins of %d bp (inputs of %d bp; %d selecting features); %d bins at "
             "chromosome ends left out", int(keep.sum()), len(names), n, bin_size, length, len(selecting) or len(names),
             skipped["skipped_bins_at_chromosome_ends"])
    return MergeResult(sites, names, stats, skipped)


def _read_samples(samples: pd.DataFrame, paths, midpoint: str, chroms: ChromosomeFilter, progress: bool
                  ) -> tuple[list[dict], list[tuple]]:
    """Every sample's row of the per-target table and its kept peaks (:func:`_read_sample`), in sheet order;
    ``paths`` overrides the sheet's ``peaks`` column."""
    names = list(samples["name"])
    files = list(paths) if paths is not None else list(samples["peaks"])
    formats = list(samples["format"]) if "format" in samples else ["bed"] * len(names)
    rows, parts = [], []
    bar = progress_bar(len(names), progress, "reading peaks", "file")
    for t, (name, path, fmt) in enumerate(zip(names, files, formats)):
        row, part = _read_sample(t, name, path, fmt, midpoint, chroms)
        bar.update(1)
        rows.append(row)
        parts.append(part)
    bar.close()
    return rows, parts


def _read_sample(t: int, name: str, path, fmt: str, midpoint: str, chroms: ChromosomeFilter) -> tuple[dict, tuple]:
    """One sample's row of the per-target table and its kept peaks ``(chrom, minus, mid, target, start, end)``."""
    pk = read_peaks(path, fmt, midpoint)
    if len(pk) == 0:
        raise InputError(path, f"sample {name!r}: the peak file holds no peaks")
    index, mapping = chroms.genome_index(pk.names, pk.codes)
    kept, counts = chroms.keep(index)
    row = {"index": t, "name": name, "file": str(path), "format": fmt, "peaks": len(pk), **counts,
           "renamed": _renamed(mapping)}
    if row["renamed"]:
        log.info("%s: chromosome names mapped onto the genome's: %s", name, row["renamed"])
    if row["skipped_unknown_chrom"]:
        missing = [str(c) for c in pk.names if c not in mapping]
        log.warning("%s: %d peaks on %d chromosomes absent from the genome skipped (%s%s)", name,
                    row["skipped_unknown_chrom"], len(missing), ", ".join(missing[:5]),
                    ", ..." if len(missing) > 5 else "")
    if row["kept"] == 0:
        raise _all_dropped_error(path, name, row, pk.names, chroms.names)
    part = (index[kept].astype(np.int32), pk.minus[kept], pk.mid[kept], np.full(row["kept"], t, dtype=np.int32),
            pk.start[kept], pk.end[kept])
    return row, part


def _renamed(mapping: dict[str, str]) -> str:
    """``"chr1->1, chr2->2, ... (24 names)"`` for the names that were mapped to another spelling."""
    pairs = [f"{a}->{b}" for a, b in mapping.items() if a != b]
    if not pairs:
        return ""
    return ", ".join(pairs[:3]) + (", ..." if len(pairs) > 3 else "") + \
        f" ({len(pairs)} name{'' if len(pairs) == 1 else 's'})"


def _all_dropped_error(path, name: str, row: dict, peak_names, genome_names) -> InputError:
    reasons = "; ".join(f"{row[k]} {k[8:].replace('_', ' ')} (key {SKIP_KEYS[k]})" for k in SKIP_KEYS if row[k])
    text = (f"sample {name!r}: none of its {row['peaks']} peaks can be used: {reasons}. Chromosomes in the peak "
            f"file: {', '.join(map(str, list(peak_names)[:6]))}; in the genome: {', '.join(list(genome_names)[:6])}"
            f"{', ...' if len(genome_names) > 6 else ''}")
    return InputError(path, text)


def write_merge(result: MergeResult, sites_path, activity_path, targets_path, summary_path,
                samples: pd.DataFrame | None = None) -> dict:
    """Write the four outputs of a merge: sites BED, activity table, per-target TSV and summary TSV; returns
    the summary.

    The per-target table has the sample sheet's group and label beside the counts; the summary is
    ``key<TAB>value`` (peaks read, sites, targets, peaks skipped by reason). Each file is written atomically, and
    the four stand or fall together: when one cannot be written (a full disk), those already written are removed,
    so that no sites.bed is left without its activity table.
    """
    paths = (sites_path, activity_path, targets_path, summary_path)
    try:
        sites = result.sites
        write_sites(sites_path, sites)
        write_activity(activity_path, result.target_names, sites.names, sites.activity)
        stats = result.stats.copy()
        if samples is not None:
            for col in ("group", "label"):
                if col in samples:
                    stats.insert(2, col, list(samples[col]))
        with atomic_path(targets_path) as tmp:
            stats.to_csv(tmp, sep="\t", index=False)
        summary = {"targets": len(result.target_names), "peaks_read": int(stats["peaks"].sum()),
                   "peaks_kept": int(stats["kept"].sum()), "sites": len(sites),
                   "mean_targets_per_site": float(sites.activity.sum(axis=1).mean()) if len(sites) else 0.0,
                   **{k: v for k, v in result.skipped.items()}}
        write_summary(summary_path, summary)
    except BaseException:
        for path in paths:
            Path(path).unlink(missing_ok=True)
        raise
    return summary

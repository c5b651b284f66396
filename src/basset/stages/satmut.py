"""Stage satmut: in-silico saturation mutagenesis (the paper's Figure 4) over files.

One function per rule of ``workflow/rules/satmut.smk``, plus the ``basset satmut`` command:

- :func:`saturation_mutagenesis`: loss and gain scores of every nucleotide of the central window of a dataset
  split's sites, with phyloP over the same nucleotides, in ``scores.h5`` (layout below; :func:`read_scores`);
- :func:`satmut_phylop`: phyloP regressed on those scores, Figures 4B-D;
- :func:`plot_satmut`: Figure 4A, the maps of the sites most strongly predicted accessible in one cell type;
- :func:`satmut_fasta`: every record of a FASTA file, tables and one map each.

The arithmetic is :mod:`basset.ism` (the model) and :mod:`basset.conservation` (phyloP); the figures are
:mod:`basset.plots.mutagenesis`. ``scores.h5``::

    site_index (n,) int64   row of each site in sites.bed (sorted)
    chrom (n,) str, start (n,) int64   lowest genome coordinate (0-based) of each site's window
    minus (n,) bool         a '-' strand site: its sequence is reverse-complemented, so window column j is
                            genome position start + W - 1 - j
    target_names (T,) str
    ref (n, T) float32      prediction of the unmutated sequence
    loss, gain (n, W, T) float32       per nucleotide and target (see basset.ism.loss_gain)
    phylop (n, W) float32   when a phyloP bigWig is given, in column order; NaN where the track has no value
    repeat (n, W) bool      when the genome FASTA is given: soft-masked (lowercase) nucleotides, in column order
    attrs: window, split, rc_average
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from ..bed import read_sites
from ..config import with_defaults
from ..conservation import phylop_windows, ridge_phylop, soft_masked_windows
from ..dataset import load_split
from ..device import use_device
from ..errors import InputError
from ..fileio import atomic_path
from ..ism import ism, loss_gain, reference_probs, satmut_map
from ..models import load_model, model_seq_len
from ..plots.mutagenesis import fig4bcd, fig_satmut
from ..predict import split_site_index
from ..sequence import Genome, decode, strand_window_start
from ..tables import write_summary, write_table

log = logging.getLogger("basset.stages.satmut")


# ------------------------------------------------------------------------------- saturation_mutagenesis
def saturation_mutagenesis(model, h5, sites, phylop=None, fasta=None, fai=None, *, out: dict,
                           satmut: dict | None = None, seed: int = 1, device=None, threads: int | None = None,
                           chunk: int = 64) -> dict:
    """Rule saturation_mutagenesis: loss and gain scores of every nucleotide of the central ``satmut.window``
    bp of the ``satmut.split`` sites of dataset ``h5`` (a random ``satmut.max_sites`` of them, drawn with
    ``seed``), with phyloP from the bigWig ``phylop`` and the repeat mask (soft-masked, lowercase bases) of the
    genome ``fasta`` when given (``fai``: its index, read by pyfaidx beside it). Both are lined up with the
    sequence columns: on a '-' strand site the sequence is reverse-complemented, so they are read backwards
    from the window's other end (:func:`basset.sequence.strand_window_start`).

    ``model``: model.pt; ``sites``: sites.bed (for the sites' coordinates). Writes ``out["scores"]`` (see the
    module docstring) and ``out["summary"]``. Sites are scored ``chunk`` at a time, so memory holds one chunk's
    ISM output. Returns the summary dict.
    """
    cfg = with_defaults("satmut", satmut)
    split, window, rc_average = cfg["split"], int(cfg["window"]), bool(cfg["rc_average"])
    dev = use_device(device, threads)
    net, meta = load_model(model, map_location=dev, objective="binary")
    names = list(meta["target_names"])
    codes, _ = load_split(h5, split)
    n_all, L = codes.shape
    rows = _sample_rows(n_all, cfg.get("max_sites"), seed)
    codes = codes[rows]
    if window > L:
        raise ValueError(f"satmut window {window} bp is longer than the sequences ({L} bp)")
    site_index = split_site_index(h5, split)[rows]
    chosen = read_sites(sites).iloc[site_index]
    lo = (L - window) // 2
    minus = chosen["strand"].astype(str).to_numpy() == "-"
    starts = strand_window_start(chosen["start"].to_numpy(np.int64), minus, L, lo, window)
    chroms = chosen["chrom"].astype(str).to_numpy()
    n, T = len(rows), len(names)
    t0 = time.perf_counter()
    with atomic_path(out["scores"]) as tmp, h5py.File(tmp, "w") as f:
        f.attrs.update({"window": window, "split": split, "rc_average": rc_average})
        f.create_dataset("target_names", data=np.array(names, dtype=object), dtype=h5py.string_dtype())
        f["site_index"] = site_index
        f.create_dataset("chrom", data=chroms.astype(object), dtype=h5py.string_dtype())
        f["start"] = starts
        f["minus"] = minus
        _write_scores(f, net, codes, lo, window, T, chunk, rc_average=rc_average,
                      batch_size=int(cfg["batch_size"]), device=dev)
        if phylop:
            f["phylop"] = _on_strand(phylop_windows(phylop, chroms, starts, window), minus)
        repeat = _on_strand(soft_masked_windows(fasta, chroms, starts, window), minus) if fasta else None
        if repeat is not None:
            f["repeat"] = repeat
    seconds = time.perf_counter() - t0
    log.info("saturation mutagenesis of %d %s sites x %d bp x %d targets in %.1f s -> %s", n, split, window, T,
             seconds, out["scores"])
    summary = {"sites": n, "sites_in_split": int(n_all), "window_bp": window, "targets": T,
               "nucleotides": n * window, "mutants": n * window * 3 * (1 + rc_average), "rc_average": rc_average,
               "phylop": bool(phylop), "minus_strand_sites": int(minus.sum()), "seconds": round(seconds, 1)}
    if repeat is not None:
        summary["repeat_nucleotides"] = int(repeat.sum())
    write_summary(out["summary"], summary)
    return summary


def _on_strand(values: np.ndarray, minus: np.ndarray) -> np.ndarray:
    """``(n, W)`` values read along the genome, reversed on the rows of '-' strand sites to follow their
    (reverse-complemented) sequence columns."""
    values = values.copy()
    values[minus] = values[minus, ::-1]
    return values


def _sample_rows(n_all: int, max_sites: int | None, seed: int) -> np.ndarray:
    """Rows of the split to score: all, or a sorted random ``max_sites`` of them."""
    if max_sites is not None and max_sites < n_all:
        return np.sort(np.random.default_rng(seed).choice(n_all, int(max_sites), replace=False))
    return np.arange(n_all)


def _write_scores(f: h5py.File, net, codes: np.ndarray, lo: int, window: int, n_targets: int, chunk: int,
                  **ism_args) -> None:
    """``ref``, ``loss`` and ``gain`` of ``codes (n, L)`` over ``[lo, lo + window)`` into the open file ``f``,
    ``chunk`` sequences at a time."""
    n = codes.shape[0]
    rows = max(1, min(n, chunk))
    d_ref = f.create_dataset("ref", (n, n_targets), np.float32)
    d_loss = f.create_dataset("loss", (n, window, n_targets), np.float32, chunks=(rows, window, n_targets))
    d_gain = f.create_dataset("gain", (n, window, n_targets), np.float32, chunks=(rows, window, n_targets))
    for a in range(0, n, chunk):  # chunks of sites: one chunk's ISM output in memory
        c = codes[a : a + chunk]
        probs = ism(net, c, lo, lo + window, **ism_args)
        loss, gain = loss_gain(probs, c, lo)
        d_loss[a : a + len(c)] = loss
        d_gain[a : a + len(c)] = gain
        d_ref[a : a + len(c)] = reference_probs(probs, c, lo)


def read_scores(path) -> dict:
    """``scores.h5`` (see the module docstring) as a dict of numpy arrays, the attributes as plain values and
    ``target_names`` as a list; ``phylop`` and ``repeat`` are None when absent."""
    with h5py.File(path, "r") as h5:
        out = {k: h5[k][...] for k in ("site_index", "start", "ref", "loss", "gain")}
        out["chrom"] = np.array([c.decode() if isinstance(c, bytes) else c for c in h5["chrom"][...]])
        out["target_names"] = [t.decode() if isinstance(t, bytes) else str(t) for t in h5["target_names"][...]]
        out["phylop"] = h5["phylop"][...] if "phylop" in h5 else None
        out["repeat"] = h5["repeat"][...] if "repeat" in h5 else None
        out["minus"] = h5["minus"][...] if "minus" in h5 else np.zeros(len(out["start"]), bool)  # older files
        out.update({k: (v.item() if isinstance(v, np.generic) else v) for k, v in h5.attrs.items()})
    return out


# ---------------------------------------------------------------------------------------- satmut_phylop
def satmut_phylop(scores, *, out: dict, satmut: dict | None = None, seed: int = 1) -> dict:
    """Rule satmut_phylop: ridge regression of phyloP on the loss, the gain and both scores of every scored
    nucleotide of ``scores`` (scores.h5), fitted on 80 % and tested on 20 % (split drawn with ``seed``). As the
    paper (non-repetitive regions only), soft-masked nucleotides are left out when ``satmut.exclude_repeats``
    and the scores carry a repeat mask.

    Writes ``out["table"]`` (one row per feature set: features, n_train, n_test, alpha, r, p, and
    repeat_excluded, the nucleotides left out as repeats) and ``out["fig4bcd"]`` (Figures 4B-D). Returns the
    test Pearson r of each feature set.
    """
    cfg = with_defaults("satmut", satmut)
    scan = read_scores(scores)
    if scan["phylop"] is None:
        raise InputError(scores, "no phyloP values (set genome.phylop in the config)")
    T = scan["loss"].shape[-1]
    phylop = scan["phylop"].astype(np.float64)
    excluded = 0
    if cfg["exclude_repeats"] and scan["repeat"] is not None:
        excluded = int(scan["repeat"].sum())
        phylop[scan["repeat"]] = np.nan  # ridge_phylop drops NaN nucleotides
        log.info("phyloP regression: %d of %d nucleotides soft-masked (repeats), left out as the paper did",
                 excluded, phylop.size)
    elif cfg["exclude_repeats"]:
        log.warning("%s: no repeat mask (the scores were made without the genome FASTA): repeats are not "
                    "excluded from the phyloP regression", scores)
    table, preds = ridge_phylop(scan["loss"].reshape(-1, T), scan["gain"].reshape(-1, T), phylop.ravel(),
                                seed=seed)
    table["repeat_excluded"] = excluded
    write_table(out["table"], table, float_format="%.6g")
    fig4bcd(preds, table, out["fig4bcd"])
    return {f"r_{f}": round(float(r), 4) for f, r in zip(table["features"], table["r"])}


# ------------------------------------------------------------------------------------------ plot_satmut
def plot_satmut(model, h5, scores, *, out: dict, satmut: dict | None = None, device=None,
                threads: int | None = None) -> dict:
    """Rule plot_satmut: Figure 4A, mutagenesis maps of the ``satmut.plot_sites`` scanned sites most strongly
    predicted accessible in ``satmut.plot_target`` (null: the target with the largest mean loss score in
    ``scores``), central ``satmut.plot_window`` bp, mutated again with ``model`` on the sequences of ``h5``.

    Writes ``out["fig4a"]`` (and its PDF) and ``out["table"]``: the drawn sites (site_index, chrom, window_start,
    target, prediction). Returns the target and the number of sites drawn.
    """
    cfg = with_defaults("satmut", satmut)
    dev = use_device(device, threads)
    net, meta = load_model(model, map_location=dev, objective="binary")
    names = list(meta["target_names"])
    scan = read_scores(scores)
    t = _plot_target(scan, names, cfg["plot_target"])
    order = np.argsort(-scan["ref"][:, t], kind="stable")[: int(cfg["plot_sites"])]
    split = scan.get("split", "test")
    pos = {int(s): i for i, s in enumerate(split_site_index(h5, split))}
    codes = load_split(h5, split)[0][[pos[int(s)] for s in scan["site_index"][order]]]
    L = codes.shape[1]
    window = min(int(cfg["plot_window"]), L)
    lo = (L - window) // 2
    probs = ism(net, codes, lo, lo + window, rc_average=bool(cfg["rc_average"]), device=dev)
    # the plot window's columns within the scan window's, then on the genome (backwards on '-' sites)
    W = int(scan["window"])
    minus = scan["minus"][order]
    starts = strand_window_start(scan["start"][order], minus, W, lo - (L - W) // 2, window)
    maps = [satmut_map(probs[k : k + 1], codes[k, lo : lo + window], t, start=int(starts[k]),
                       label=f"{names[t]}: {scan['chrom'][i]}:{int(starts[k]) + 1}-{int(starts[k]) + window}"
                             f"{'(-)' if minus[k] else ''} (p = {scan['ref'][i, t]:.2f})")
            for k, i in enumerate(order)]
    fig_satmut(maps, out["fig4a"])
    table = pd.DataFrame({"site_index": scan["site_index"][order], "chrom": scan["chrom"][order],
                          "window_start": starts, "target": names[t], "prediction": scan["ref"][order, t]})
    write_table(out["table"], table, float_format="%.6g")
    return {"target": names[t], "sites": len(order), "window_bp": window}


def _plot_target(scan: dict, names: list[str], target: str | None) -> int:
    """Index of the drawn target: ``target``, or the one with the largest mean loss score in the scan."""
    if target is None:
        return int(np.argmax(scan["loss"].mean(axis=(0, 1))))
    if target not in names:
        raise ValueError(f"satmut.plot_target {target!r} is not a target of the model ({', '.join(names[:10])}...)")
    return names.index(target)


# ----------------------------------------------------------------------------------------- satmut_fasta
def satmut_fasta(model, fasta, out_dir, *, target: str | None = None, start: int | None = None,
                 end: int | None = None, rc_average: bool = True, batch_size: int = 1024, device=None,
                 threads: int | None = None) -> dict:
    """Saturation mutagenesis of every record of a FASTA file (the ``basset satmut`` command).

    Each record must be at least the model's ``seq_len``; longer records are cut to their central ``seq_len`` bp
    (logged). ``[start, end)`` is the window mutated, 0-based in that sequence (default: all of it). Writes to
    ``out_dir`` (a folder: the figures are named after the records): ``loss.tsv.gz`` and ``gain.tsv.gz`` (one
    row per record and position: ``seq, pos`` (1-based in the record), ``ref``, then one column per target) and
    one figure per record, ``satmut_<record>.png``/``.pdf``, for ``target`` (default: per record, the target
    with the largest mean loss score). Returns a summary dict.
    """
    dev = use_device(device, threads)
    net, meta = load_model(model, map_location=dev, objective="binary")
    names = list(meta["target_names"])
    if target is not None and target not in names:
        raise ValueError(f"target {target!r} is not a target of the model ({', '.join(names[:10])}...)")
    L = model_seq_len(net)
    if L is None:  # ism() handles BassetNet only, which always has one
        raise ValueError("the model has no config['seq_len']")
    records, codes, offsets = fasta_windows(fasta, L)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)  # only once the input is known to be good
    probs = ism(net, codes, start, end, rc_average=rc_average, batch_size=batch_size, device=dev)
    s = 0 if start is None else int(start)
    e = s + probs.shape[1]
    loss, gain = loss_gain(probs, codes, s)
    for name, values in (("loss", loss), ("gain", gain)):
        table = pd.DataFrame(values.reshape(-1, len(names)), columns=names)
        table.insert(0, "ref", list("".join(decode(c[s:e]) for c in codes)))
        table.insert(0, "pos", np.concatenate([np.arange(e - s) + s + 1 + o for o in offsets]))
        table.insert(0, "seq", np.repeat(records, e - s))
        write_table(out_dir / f"{name}.tsv.gz", table, float_format="%.5g")
    figures = []
    for k, rec in enumerate(records):  # one figure per record: a handful of sequences
        t = names.index(target) if target is not None else int(np.argmax(loss[k].mean(0)))
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in rec)
        png, _pdf = fig_satmut([satmut_map(probs[k : k + 1], codes[k, s:e], t, start=offsets[k] + s + 1,
                                           label=f"{rec} ({names[t]})")], out_dir / f"satmut_{safe}")
        figures.append(str(png))
    return {"records": len(records), "window": [s, e], "targets": len(names), "rc_average": rc_average,
            "outputs": [str(out_dir / "loss.tsv.gz"), str(out_dir / "gain.tsv.gz"), *figures]}


def fasta_windows(fasta, L: int) -> tuple[list[str], np.ndarray, list[int]]:
    """The central ``L`` bp of every record: ``(names, codes (n, L) uint8, 0-based offsets in the records)``."""
    genome = Genome(fasta)
    records, codes, offsets = [], [], []
    for rec, size in genome.sizes.items():
        if size < L:
            raise InputError(fasta, f"record {rec!r} has {size} bp; the model needs {L} bp")
        lo = (size - L) // 2
        if size > L:
            log.info("%s: record %s cut to its central %d bp (%d-%d)", fasta, rec, L, lo + 1, lo + L)
        records.append(rec)
        offsets.append(lo)
        codes.append(genome.fetch(rec, lo, lo + L))
    if not records:
        raise InputError(fasta, "no sequences")
    return records, np.stack(codes), offsets

"""Stage ``evaluate`` in coverage mode (Basenji-style runs): rule ``evaluate_coverage`` scores the coverage model on
the test windows as Basenji's paper did, and rules ``train_ablation`` and ``window_ablation`` measure what the long
window adds: the same data, the same test bins, a model that reads only a short centred stretch of each window.

Per track (``coverage_metrics.tsv``): ``r_log``, the Pearson r of ``log(1 + coverage)``, predicted against observed,
over every predicted bin of every test window; ``r_sum``, the r of each window's summed coverage across windows; the
mean observed and predicted sums. The arithmetic is :func:`basset.train.evaluate_coverage` (streamed, one pass).
"""

from __future__ import annotations

import logging
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import torch

from ..config import with_defaults
from ..dataset import Dataset
from ..device import use_device
from ..models import CentreBins, load_model
from ..plots.coverage import (
    fig_ablation,
    fig_coverage_r,
    fig_coverage_tracks,
    fig_delta_track,
)
from ..presets import bin_input_span, first_output_bin, output_bins
from ..sadfile import read_sad
from ..samples import read_sample_sheet, target_assays
from ..sequence import Genome, one_hot
from ..tables import write_summary, write_table
from ..train import evaluate_coverage
from ..vcf import allele_start, variant_sequences
from .train import train_model

log = logging.getLogger("basset.stages.coverage_eval")


def _assays(samples, names) -> list[str]:
    return target_assays(read_sample_sheet(samples), names) if samples else ["dnase"] * len(names)


def _by_assay(table: pd.DataFrame, column: str, prefix: str) -> dict:
    return {f"{prefix}_{assay}": round(float(rows[column].mean()), 4)
            for assay, rows in table.groupby("assay", sort=False)}


def evaluate_coverage_model(model: str | Path, h5: str | Path, out: dict, samples: str | Path | None = None,
                            coverage: dict | None = None, device=None, threads: int | None = None,
                            batch_size: int = 16) -> dict:
    """Rule ``evaluate_coverage``: the per-track table ``out["coverage_metrics"]``, the summary
    ``out["coverage_summary"]`` and the figures ``out["fig_coverage_tracks"]`` (the test window with the most
    coverage, the first ``coverage.figure_tracks`` tracks) and ``out["fig_coverage_r"]``.

    ``samples``: the sheet, for each track's assay; ``coverage``: the config's ``coverage`` section. Returns the
    summary: test windows, mean and median r of log coverage, mean r of summed coverage, both by assay, and the
    Poisson loss."""
    cfg = with_defaults("coverage", coverage)
    dev = use_device(device, threads)
    net, meta = load_model(model, map_location=dev, objective="poisson")
    names = list(meta["target_names"])
    res = evaluate_coverage(net, h5, "test", dev, batch_size=batch_size)
    if res["n"] == 0:
        raise ValueError(f"{h5} has no test windows: hold out a chromosome (dataset.split) with windows on it")
    table = pd.DataFrame({"target": names, "assay": _assays(samples, names), "r_log": res["r"],
                          "r_sum": res["r_sum"], "observed_sum": res["observed_sums"].mean(0),
                          "predicted_sum": res["predicted_sums"].mean(0)})
    write_table(out["coverage_metrics"], table, float_format="%.6g")
    summary = {"test_windows": res["n"], "tracks": len(names), "bin": int(net.config["bin_size"]),
               "mean_r_log": round(float(np.nanmean(res["r"])), 4),
               "median_r_log": round(float(np.nanmedian(res["r"])), 4),
               "mean_r_sum": round(float(np.nanmean(res["r_sum"])), 4), **_by_assay(table, "r_log", "mean_r_log"),
               **_by_assay(table, "r_sum", "mean_r_sum"), "poisson_loss": round(res["loss"], 6)}
    write_summary(out["coverage_summary"], summary)
    fig_coverage_r(table, out["fig_coverage_r"])
    row = int(np.argmax(res["observed_sums"].sum(1)))
    region = test_region(net, h5, row, list(range(min(int(cfg["figure_tracks"]), len(names)))), names,
                         table["assay"].tolist())
    fig_coverage_tracks(region, out["fig_coverage_tracks"])
    log.info("coverage on %d test windows: mean r of log coverage %.4f, of summed coverage %.4f", res["n"],
             summary["mean_r_log"], summary["mean_r_sum"])
    return summary


@torch.no_grad()
def test_region(net, h5, row: int, tracks: list[int], names, assays) -> dict:
    """Observed and predicted coverage of test window ``row`` for ``tracks`` (the dict of
    :func:`basset.plots.coverage.fig_coverage_tracks`)."""
    data = Dataset(h5)
    codes = torch.from_numpy(data.codes("test", rows=[row]))
    observed = data.targets("test", rows=[row])[0].astype(np.float64)
    with h5py.File(h5, "r") as f:
        chrom, start = f["test/chrom"].asstr()[row], int(f["test/start"][row])
    cfg = net.config
    first = first_output_bin(cfg)
    device = next(net.parameters()).device
    net.eval()
    predicted = net(one_hot(codes.to(device))).float().cpu().numpy()[0]
    return {"chrom": chrom, "start": start + first * cfg["bin_size"], "bin_size": cfg["bin_size"],
            "names": [names[t] for t in tracks], "assays": [assays[t] for t in tracks],
            "observed": observed[first : first + output_bins(cfg)][:, tracks], "predicted": predicted[:, tracks]}


def train_ablation(h5: str | Path, out: dict, model: dict | None = None, train: dict | None = None,
                   coverage: dict | None = None, seed: int = 1, device=None, threads: int | None = None,
                   resume: bool = True, progress: bool = False) -> dict:
    """Rule ``train_ablation``: :func:`basset.stages.train.train_model` of the config's model reading only the
    centred ``coverage.ablation_context`` bp of each window (``out``: ``ablation_model``, ``ablation_history`` as
    ``model``, ``history``)."""
    cfg = with_defaults("coverage", coverage)
    return train_model(h5, {"model": out["ablation_model"], "history": out["ablation_history"]},
                       {**(model or {}), "context": int(cfg["ablation_context"])}, train, seed, device, threads,
                       resume, progress)


def window_ablation(model: str | Path, short_model: str | Path, h5: str | Path, out: dict,
                    samples: str | Path | None = None, device=None, threads: int | None = None,
                    batch_size: int = 16) -> dict:
    """Rule ``window_ablation``: the long-window model (``model``), scored only on the bins that the short-window
    model (``short_model``, same data and targets) predicts, against that model: ``out["ablation"]`` (per track
    ``r_long``, ``r_short`` of log coverage and their squares), ``out["ablation_summary"]`` (the windows, the means
    by assay, and the share of the variance of log coverage each explains) and ``out["fig_ablation"]``."""
    where = use_device(device, threads)
    long_net, meta = load_model(model, map_location=where, objective="poisson")
    short_net, _ = load_model(short_model, map_location=where, objective="poisson")
    names = list(meta["target_names"])
    a = evaluate_coverage(CentreBins(long_net, short_net.config), h5, "test", where, batch_size=batch_size)
    b = evaluate_coverage(short_net, h5, "test", where, batch_size=batch_size)
    table = pd.DataFrame({"target": names, "assay": _assays(samples, names), "r_long": a["r"], "r_short": b["r"]})
    table["r2_long"], table["r2_short"] = table["r_long"] ** 2, table["r_short"] ** 2
    write_table(out["ablation"], table, float_format="%.6g")
    long_bp, short_bp = int(long_net.config["context"]), int(short_net.config["context"])
    summary = {"long_bp": long_bp, "short_bp": short_bp, "test_windows": a["n"],
               "bins_compared": int(output_bins(short_net.config)),
               "mean_r_long": round(float(np.nanmean(a["r"])), 4), "mean_r_short": round(float(np.nanmean(b["r"])), 4),
               **_by_assay(table, "r_long", "mean_r_long"), **_by_assay(table, "r_short", "mean_r_short"),
               **_by_assay(table, "r2_long", "mean_r2_long"), **_by_assay(table, "r2_short", "mean_r2_short")}
    write_summary(out["ablation_summary"], summary)
    fig_ablation(table, long_bp, short_bp, out["fig_ablation"])
    log.info("window ablation: mean r %.4f with %d bp, %.4f with %d bp", summary["mean_r_long"], long_bp,
             summary["mean_r_short"], short_bp)
    return summary


@torch.no_grad()
def delta_track(model: str | Path, fasta: str | Path, sad: str | Path, out: dict, samples: str | Path | None = None,
                coverage: dict | None = None, device=None, threads: int | None = None, fai=None) -> dict:
    """Rule ``delta_track``: where in the window a variant acts. The predicted coverage of the alternative allele
    minus the reference's, bin by bin, for every track (``out["delta_track"]``, a TSV: ``bin``, ``start``
    (chromosome bp of the bin), one column per track) and the figure ``out["fig_delta_track"]`` (the first
    ``coverage.figure_tracks`` tracks, the model's reach shaded).

    The variant is ``coverage.variant`` (a VCF ID of the SAD file ``sad``) or the one with the largest summed
    effect (``max_abs_sad``). Its windows are built as SAD builds them (:func:`basset.vcf.variant_sequences`, alleles
    centred), and both are run in one batch, so bins beyond the model's reach (:func:`basset.presets.bin_input_span`)
    differ by exactly 0. ``fai``: the genome's index, the rule's dependency only. Returns the variant, its largest
    |difference| per assay and the bins it moves."""
    cfg = with_defaults("coverage", coverage)
    where = use_device(device, threads)
    net, meta = load_model(model, map_location=where, objective="poisson")
    names = list(meta["target_names"])
    table = read_sad(sad, targets=False)
    if table.empty:
        raise ValueError(f"{sad} holds no scored variant")
    if cfg["variant"] is not None:
        pick = table[table["id"].astype(str) == str(cfg["variant"])]
        if pick.empty:
            raise ValueError(f"coverage.variant {cfg['variant']!r} is not a scored variant of {sad}")
        row = pick.iloc[0]
    else:
        row = table.loc[table["max_abs_sad"].astype(float).idxmax()]
    one = pd.DataFrame({"chrom": [row["chrom"]], "pos": [int(row["pos"])], "ref": [row["ref"]], "alt": [row["alt"]],
                        "id": [row["id"]]})
    L, bin_size = int(net.config["seq_len"]), int(net.config["bin_size"])
    with Genome(fasta) as genome:
        windows = variant_sequences(genome, one, L)
    if not windows.kept.any():
        raise ValueError(f"variant {row['id']} could not be placed in the genome ({windows.status[0]})")
    codes = torch.from_numpy(np.concatenate([windows.ref, windows.alt])).to(where)
    net.eval()
    pred = net(one_hot(codes)).float().cpu().numpy()
    delta = pred[1] - pred[0]
    first = first_output_bin(net.config)
    # the reference window starts where variant_sequences put it: the REF allele centred (a multi-base REF starts
    # before the centre)
    window_start = int(row["pos"]) - 1 - int(allele_start(L // 2, [len(str(row["ref"]))])[0])
    starts = window_start + (first + np.arange(delta.shape[0])) * bin_size
    frame = pd.DataFrame(delta, columns=names)
    frame.insert(0, "start", starts)
    frame.insert(0, "bin", np.arange(delta.shape[0]))
    write_table(out["delta_track"], frame, float_format="%.6g")
    assays = _assays(samples, names)
    lo, hi = bin_input_span(net.config)
    k = min(int(cfg["figure_tracks"]), len(names))
    fig_delta_track({"id": str(row["id"]), "chrom": str(row["chrom"]), "pos": int(row["pos"]), "start": starts[0],
                     "bin_size": bin_size, "names": names[:k], "assays": assays[:k], "delta": delta[:, :k],
                     "reach": max(-lo, hi)}, out["fig_delta_track"])
    moved = np.abs(delta).max(1) > 0
    summary = {"variant": str(row["id"]), "chrom": str(row["chrom"]), "pos": int(row["pos"]),
               "bins": int(delta.shape[0]), "bins_moved": int(moved.sum()),
               "farthest_bin_moved_bp": int(np.abs(starts[moved] + bin_size // 2 - (int(row["pos"]) - 1)).max())
               if moved.any() else 0,
               **{f"max_abs_delta_{a}": round(float(np.abs(delta[:, [i for i, x in enumerate(assays) if x == a]])
                                                    .max()), 4) for a in dict.fromkeys(assays)}}
    if out.get("summary"):
        write_summary(out["summary"], summary)
    return summary

"""Stage evaluate: the k-mer baseline beside the CNN and the CNN's test-set evaluation with Figure 2.

Rules ``kmer_baseline`` (:func:`kmer_baseline`) and ``evaluate_model`` (:func:`evaluate_model`); the arithmetic is
in :mod:`basset.kmer`, :mod:`basset.predict`, :mod:`basset.metrics` and :mod:`basset.evaluate`.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd

from .. import plots
from ..bed import read_sites
from ..config import with_defaults
from ..dataset import dataset_info, load_split
from ..device import use_device
from ..errors import InputError
from ..evaluate import metrics_table, site_classes, summarise
from ..kmer import KmerBaseline
from ..metrics import SITE_CLASSES, auroc_by_class
from ..models import load_model
from ..predict import predict, split_site_index, write_predictions
from ..tables import write_summary, write_table

log = logging.getLogger("basset.evaluate")

#: columns of the by-class table when there are no site classes
BY_CLASS_COLUMNS = ["class", "target", "auroc", "n_sites", "n_pos"]


def kmer_baseline(h5, *, out: dict, kmer: dict | None = None, seed: int = 1, threads: int = 1) -> dict:
    """Fit :class:`basset.kmer.KmerBaseline` on the train split of the dataset ``h5`` and score its test split.

    ``kmer``: the config section (schema defaults fill what it leaves out); ``threads``: targets fitted in
    parallel. Writes ``out["kmer_predictions"]`` (gzipped TSV ``site_index<TAB>target...``, test rows in file
    order) and ``out["kmer_metrics"]`` (:func:`basset.evaluate.metrics_table` TSV). Returns the summary of
    :func:`basset.evaluate.summarise` (keys prefixed ``kmer_``) and the run time in seconds.
    """
    cfg = with_defaults("kmer", kmer)
    t0 = time.perf_counter()
    names = dataset_info(h5)["target_names"]
    codes, y = load_split(h5, "train")
    model = KmerBaseline(k=cfg["k"], gap=cfg["gap"], C=cfg["C"], max_train=cfg["max_train"], norm=cfg["norm"],
                         seed=seed, n_jobs=threads).fit(codes, y)
    del codes, y
    codes, y = load_split(h5, "test")
    p = model.predict_proba(codes)
    write_predictions(out["kmer_predictions"], split_site_index(h5, "test"), p, names)
    metrics = metrics_table(y, p, names)
    write_table(out["kmer_metrics"], metrics, float_format="%.6g")
    summary = summarise(metrics, prefix="kmer_")
    summary["seconds"] = round(time.perf_counter() - t0, 1)
    log.info("k-mer baseline done in %.1f s", summary["seconds"])
    return summary


def read_metrics(path: str | Path) -> pd.DataFrame:
    """Read a :func:`basset.evaluate.metrics_table` TSV; InputError names the file when a column is missing."""
    df = pd.read_csv(path, sep="\t")
    missing = [c for c in ("target", "auroc", "auprc") if c not in df.columns]
    if missing:
        raise InputError(path, f"expected a metrics TSV with columns target, auroc, auprc; missing {missing}", line=1)
    return df


def _with_kmer(metrics: pd.DataFrame, kmer: pd.DataFrame | None) -> pd.DataFrame:
    """The CNN's metrics with the baseline's ``kmer_auroc, kmer_auprc, auroc_minus_kmer`` (matched by target)."""
    if kmer is None:
        return metrics
    metrics = metrics.merge(kmer.rename(columns={"auroc": "kmer_auroc", "auprc": "kmer_auprc"}), on="target",
                            how="left")
    metrics["auroc_minus_kmer"] = metrics["auroc"] - metrics["kmer_auroc"]
    return metrics


def _by_class(h5, y, p, names, sites, genes) -> tuple[pd.DataFrame, dict]:
    """AUROC per target within each site class of the test sites, and the summary's per-class counts and means."""
    table = read_sites(sites)
    index = split_site_index(h5, "test")
    if index.size and index.max() >= len(table):
        raise InputError(sites, f"the dataset's test site_index reaches {index.max()}, but there are "
                                f"{len(table)} sites")
    classes = site_classes(table.iloc[index].reset_index(drop=True), genes)
    by_class = auroc_by_class(y, p, classes, names)
    summary = {}
    for c in SITE_CLASSES:
        g = by_class[by_class["class"] == c]
        summary[f"{c}_sites"] = int(g["n_sites"].iloc[0]) if len(g) else 0
        summary[f"{c}_mean_auroc"] = float(np.nanmean(g["auroc"])) if g["auroc"].notna().any() else float("nan")
        if len(g):
            log.info("%s sites (%d): mean AUROC %.4f", c, summary[f"{c}_sites"], summary[f"{c}_mean_auroc"])
    return by_class, summary


def _figure2(y, p, names, metrics: pd.DataFrame, by_class: pd.DataFrame, out: dict, heatmap_sites: int,
             seed: int) -> None:
    plots.fig2a(y, names, out["fig2a"], max_sites=heatmap_sites, seed=seed)
    if "kmer_auroc" in metrics:
        plots.fig2b(metrics["auroc"], metrics["kmer_auroc"], names, out["fig2b"])
    else:
        plots.fig2b(metrics["auroc"], np.full(len(names), np.nan), names, out["fig2b"],
                    title="Per-cell-type AUROC (no k-mer baseline)")
    plots.fig2c(y, p, names, out["fig2c"])
    plots.fig_classes(by_class, out["fig_classes"])


def evaluate_model(model, h5, kmer_metrics=None, sites=None, genes=None, *, out: dict,
                   evaluate: dict | None = None, seed: int = 1, device=None, threads: int | None = None) -> dict:
    """Evaluate the model file ``model`` on the test split of the dataset ``h5`` and draw Figure 2.

    ``out`` maps ``metrics``, ``by_class``, ``summary`` (TSVs) and ``fig2a``, ``fig2b``, ``fig2c``, ``fig_classes``
    (``.png`` paths; a PDF is written beside each). The metrics TSV has the CNN's ``target, auroc, auprc, n_pos,
    n_neg`` and, with ``kmer_metrics`` (the baseline's metrics TSV), ``kmer_auroc, kmer_auprc,
    auroc_minus_kmer``. Site classes need ``sites`` (sites.bed) and ``genes`` (a GTF); without either the
    by-class table is empty. ``evaluate``: the config section (``rc_average``, ``batch_size``,
    ``heatmap_sites``); ``device``: the ``train.device`` value. Returns the summary written to ``out["summary"]``.
    """
    cfg = with_defaults("evaluate", evaluate)
    dev = use_device(device, threads)
    net, _meta = load_model(model, map_location=dev)
    names = dataset_info(h5)["target_names"]
    y, p = predict(net, h5, "test", batch_size=cfg["batch_size"], device=dev, rc_average=cfg["rc_average"])
    kmer = read_metrics(kmer_metrics)[["target", "auroc", "auprc"]] if kmer_metrics else None
    metrics = _with_kmer(metrics_table(y, p, names), kmer)
    write_table(out["metrics"], metrics, float_format="%.6g")
    summary = {"n_test_sites": int(y.shape[0]), "rc_average": bool(cfg["rc_average"])}
    summary |= summarise(metrics[["target", "auroc", "auprc"]], kmer)
    if sites and genes:
        by_class, class_summary = _by_class(h5, y, p, names, sites, genes)
        summary |= class_summary
    else:
        log.info("no gene annotation: site classes skipped")
        by_class = pd.DataFrame(columns=BY_CLASS_COLUMNS)
    write_table(out["by_class"], by_class, float_format="%.6g")
    write_summary(out["summary"], summary)
    _figure2(y, p, names, metrics, by_class, out, cfg["heatmap_sites"], seed)
    return summary

"""Stage evaluate: the baselines beside the CNN and the CNN's test-set evaluation with Figure 2.

Rules ``kmer_baseline`` (:func:`kmer_baseline`), ``gkmsvm_target`` (:func:`gkmsvm_target`, one job per cell
type) and ``gkmsvm_baseline`` (:func:`gkmsvm_baseline`, their gather), and ``evaluate_model``
(:func:`evaluate_model`); the arithmetic is in :mod:`basset.kmer`, :mod:`basset.gkmsvm`, :mod:`basset.predict`,
:mod:`basset.metrics` and :mod:`basset.evaluate`.
"""

from __future__ import annotations

import importlib.util
import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd

from .. import plots
from ..bed import read_sites
from ..config import with_defaults
from ..dataset import Dataset, dataset_info, load_split
from ..device import resolve_device, use_device
from ..errors import InputError
from ..evaluate import assay_summary, metrics_table, site_classes, summarise
from ..gkmsvm import balanced_subsample, fit_and_score, test_subsample
from ..kmer import KmerBaseline
from ..metrics import SITE_CLASSES, auroc, auroc_by_class
from ..models import load_model
from ..predict import predict, read_predictions, split_site_index, write_predictions
from ..samples import read_sample_sheet, sample_assays
from ..tables import write_summary, write_table
from .report_numbers import read_kv

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


#: columns of a gkm-SVM metrics table, one row per cell type
GKMSVM_COLUMNS = ["target", "auroc", "n_test", "n_train_pos", "n_train_neg", "n_support", "fit_seconds",
                  "score_seconds", "skipped"]


def gkmsvm_target(h5, *, out: dict, target: str, gkmsvm: dict | None = None, seed: int = 1, device=None,
                  threads: int | None = None) -> dict:
    """Rule gkmsvm_target: the paper's gkm-SVM for one cell type ``target`` of the dataset ``h5``
    (:mod:`basset.gkmsvm`): fitted on a balanced random subsample of at most ``gkmsvm.max_train`` training sites
    (drawn from ``seed`` and the target's column; only those rows are read), scored on ``gkmsvm.max_test`` test
    sites (drawn from ``seed``, the same for every cell type) with ``threads`` numba threads; on the GPU when
    ``device`` (``train.device``) resolves to CUDA and gkmsvm-lite's CuPy kernels are installed
    (``gkmsvm-lite[gpu]``), else on the CPU (logged).

    Writes ``out["part"]`` (:func:`basset.predict.write_predictions`: ``site_index`` and the target's SVM score)
    and ``out["metrics"]`` (key/value: :data:`GKMSVM_COLUMNS`); a cell type whose training sites hold one class is
    skipped with its reason (NaN scores). Returns the metrics."""
    cfg = with_defaults("gkmsvm", gkmsvm)
    kernels = _gkmsvm_device(device)
    ds = Dataset(h5)
    col = ds.columns([target])[0]
    y_train = ds.targets("train", columns=[col])[:, 0]
    test_rows = test_subsample(ds.n_sites["test"], cfg["max_test"], seed)  # the same for every cell type
    metrics = {"target": target, "auroc": float("nan"), "n_test": int(test_rows.size), "n_train_pos": 0,
               "n_train_neg": 0, "n_support": 0, "fit_seconds": 0.0, "score_seconds": 0.0, "skipped": ""}
    scores = np.full(test_rows.size, np.nan)
    try:
        rows = balanced_subsample(y_train, int(cfg["max_train"]), np.random.default_rng([seed, 1, col]))
    except ValueError as err:
        metrics["skipped"] = str(err)
        log.warning("gkm-SVM: %s skipped: %s", target, err)
    else:  # only the sampled training rows and the scored test rows are read
        one = fit_and_score(ds.codes("train", rows), y_train[rows], ds.codes("test", test_rows),
                            ds.targets("test", columns=[col], rows=test_rows)[:, 0], l=cfg["l"], k=cfg["k"],
                            d=cfg["d"], C=cfg["C"], device=kernels, n_threads=threads)
        scores = one.pop("scores")
        metrics.update(one, fit_seconds=round(one["fit_seconds"], 2), score_seconds=round(one["score_seconds"], 2))
    write_predictions(out["part"], ds.site_index("test")[test_rows], scores[:, None], [target])
    write_summary(out["metrics"], metrics)
    log.info("gkm-SVM %s: test AUROC %.4f on %d sites; %d + %d training sites, %d support vectors; fit %.1f s, "
             "scoring %.1f s", target, metrics["auroc"], metrics["n_test"], metrics["n_train_pos"],
             metrics["n_train_neg"], metrics["n_support"], metrics["fit_seconds"], metrics["score_seconds"])
    return metrics


def _gkmsvm_device(device) -> str:
    """``"cuda"`` where ``device`` resolves to a GPU and CuPy (gkmsvm-lite's GPU kernels) is installed, else
    ``"cpu"``; a GPU without CuPy is logged, not an error (the CPU kernels give the same scores)."""
    if resolve_device(device).type != "cuda":
        return "cpu"
    if importlib.util.find_spec("cupy") is None:
        log.warning("gkm-SVM on the CPU: the GPU needs gkmsvm-lite's CuPy kernels (pip install gkmsvm-lite[gpu])")
        return "cpu"
    return "cuda"


def gkmsvm_baseline(parts, part_metrics, *, out: dict) -> dict:
    """Rule gkmsvm_baseline: the cell types' :func:`gkmsvm_target` files joined: ``out["predictions"]`` (``site_index``
    then one score column per cell type; every part must score the same test sites) and ``out["metrics"]`` (one
    row per cell type, :data:`GKMSVM_COLUMNS`). Returns the number of cell types and their mean AUROC."""
    parts = [parts] if isinstance(parts, (str, Path)) else list(parts)  # one file arrives as a path
    part_metrics = [part_metrics] if isinstance(part_metrics, (str, Path)) else list(part_metrics)
    sites, names, columns = None, [], []
    for path in parts:
        site_index, part_names, scores = read_predictions(path)
        if sites is None:
            sites = site_index
        elif not np.array_equal(site_index, sites):
            raise InputError(path, f"scores other test sites than {parts[0]} (the parts must share gkmsvm.max_test "
                                   "and the seed)")
        names += part_names
        columns.append(scores)
    write_predictions(out["predictions"], sites, np.hstack(columns), names)
    table = pd.DataFrame([read_kv(path) for path in part_metrics], columns=GKMSVM_COLUMNS)
    for c in GKMSVM_COLUMNS[1:-1]:  # a skipped cell type's NaN AUROC is written as an empty cell
        table[c] = pd.to_numeric(table[c], errors="coerce")
    write_table(out["metrics"], table, float_format="%.6g")
    summary = {"targets": len(table), "mean_auroc": float(table["auroc"].mean())}
    log.info("gkm-SVM baseline: %d cell types, mean test AUROC %.4f", summary["targets"], summary["mean_auroc"])
    return summary


def _rows_of(site_index, wanted) -> np.ndarray:
    """The rows of ``site_index`` (a file's site column) that hold the sites ``wanted``, in that order."""
    return pd.Series(np.arange(len(site_index)), index=site_index).loc[wanted].to_numpy()


def _with_gkmsvm(metrics: pd.DataFrame, y, p, site_index, gkmsvm_predictions, kmer_predictions) -> tuple[
        pd.DataFrame, dict]:
    """Figure 2B's fair comparison: on the test sites the gkm-SVM scored, per cell type it was fitted on, the
    gkm-SVM's AUROC beside the CNN's (and the k-mer baseline's, from its predictions) on the same sites; added to
    ``metrics`` as ``gkmsvm_auroc, gkmsvm_n_test, cnn_auroc_gkmsvm_sites, kmer_auroc_gkmsvm_sites``; and the
    summary's ``gkmsvm_*`` means."""
    g_sites, g_names, g_scores = read_predictions(gkmsvm_predictions)
    missing = ~np.isin(g_sites, site_index)
    if missing.any():
        raise InputError(gkmsvm_predictions, f"{int(missing.sum())} of its sites are not test sites of the dataset")
    rows = _rows_of(site_index, g_sites)
    names = list(metrics["target"])
    cols = [names.index(n) for n in g_names]
    y_sub = y[rows][:, cols]
    table = pd.DataFrame({"target": g_names, "gkmsvm_auroc": auroc(y_sub, g_scores),
                          "gkmsvm_n_test": len(rows), "cnn_auroc_gkmsvm_sites": auroc(y_sub, p[rows][:, cols])})
    if kmer_predictions:
        k_sites, k_names, k_probs = read_predictions(kmer_predictions)
        table["kmer_auroc_gkmsvm_sites"] = auroc(y_sub, k_probs[_rows_of(k_sites, g_sites)][
            :, [k_names.index(n) for n in g_names]])
    merged = metrics.merge(table, on="target", how="left")
    summary = {"gkmsvm_targets": int(table["gkmsvm_auroc"].notna().sum()), "gkmsvm_test_sites": int(len(rows)),
               "gkmsvm_mean_auroc": float(np.nanmean(table["gkmsvm_auroc"])) if len(table) else float("nan"),
               "cnn_mean_auroc_gkmsvm_sites": float(np.nanmean(table["cnn_auroc_gkmsvm_sites"]))
               if len(table) else float("nan")}
    if "kmer_auroc_gkmsvm_sites" in table:
        summary["kmer_mean_auroc_gkmsvm_sites"] = float(np.nanmean(table["kmer_auroc_gkmsvm_sites"]))
    log.info("gkm-SVM on %d test sites: mean AUROC %.4f over %d cell types, the CNN %.4f on the same sites",
             summary["gkmsvm_test_sites"], summary["gkmsvm_mean_auroc"], summary["gkmsvm_targets"],
             summary["cnn_mean_auroc_gkmsvm_sites"])
    return merged, summary


def _figure2(y, p, names, metrics: pd.DataFrame, by_class: pd.DataFrame, out: dict, heatmap_sites: int,
             seed: int) -> None:
    plots.fig2a(y, names, out["fig2a"], max_sites=heatmap_sites, seed=seed)
    gkm = ((metrics["cnn_auroc_gkmsvm_sites"], metrics["gkmsvm_auroc"], int(metrics["gkmsvm_n_test"].max()))
           if "gkmsvm_auroc" in metrics else None)
    if "kmer_auroc" in metrics:
        plots.fig2b(metrics["auroc"], metrics["kmer_auroc"], names, out["fig2b"], gkmsvm=gkm)
    else:
        plots.fig2b(metrics["auroc"], np.full(len(names), np.nan), names, out["fig2b"],
                    title="Per-cell-type AUROC (no k-mer baseline)")
    plots.fig2c(y, p, names, out["fig2c"])
    plots.fig_classes(by_class, out["fig_classes"])


def evaluate_model(model, h5, kmer_metrics=None, sites=None, genes=None, gkmsvm_predictions=None,
                   kmer_predictions=None, gkmsvm_metrics=None, *, out: dict, evaluate: dict | None = None,
                   seed: int = 1, device=None, threads: int | None = None) -> dict:
    """Evaluate the model file ``model`` on the test split of the dataset ``h5`` and draw Figure 2.

    ``out`` maps ``metrics``, ``by_class``, ``summary`` (TSVs) and ``fig2a``, ``fig2b``, ``fig2c``, ``fig_classes``
    (``.png`` paths; a PDF is written beside each). The metrics TSV has the CNN's ``target, auroc, auprc, n_pos,
    n_neg`` and, with ``kmer_metrics`` (the baseline's metrics TSV), ``kmer_auroc, kmer_auprc,
    auroc_minus_kmer``; with ``gkmsvm_predictions`` (rule gkmsvm_baseline) the gkm-SVM's AUROC beside the CNN's and
    the k-mer baseline's (``kmer_predictions``) on the test sites it scored (:func:`_with_gkmsvm`), drawn in
    Figure 2B, and with its ``gkmsvm_metrics`` the largest number of training sites a cell type was fitted on.
    Site classes need ``sites`` (sites.bed) and ``genes`` (a GTF); without either the by-class table is empty.
    ``evaluate``: the config section (``rc_average``, ``batch_size``, ``heatmap_sites``); ``device``: the
    ``train.device`` value. Returns the summary written to ``out["summary"]``.
    """
    cfg = with_defaults("evaluate", evaluate)
    dev = use_device(device, threads)
    net, _meta = load_model(model, map_location=dev, objective="binary")
    names = dataset_info(h5)["target_names"]
    y, p = predict(net, h5, "test", batch_size=cfg["batch_size"], device=dev, rc_average=cfg["rc_average"])
    kmer = read_metrics(kmer_metrics)[["target", "auroc", "auprc"]] if kmer_metrics else None
    metrics = _with_kmer(metrics_table(y, p, names), kmer)
    gkm_summary = {}
    if gkmsvm_predictions:
        metrics, gkm_summary = _with_gkmsvm(metrics, y, p, split_site_index(h5, "test"), gkmsvm_predictions,
                                            kmer_predictions)
        if gkmsvm_metrics:
            fitted = pd.read_csv(gkmsvm_metrics, sep="\t")
            gkm_summary["gkmsvm_train_sites"] = int((fitted["n_train_pos"] + fitted["n_train_neg"]).max())
    write_table(out["metrics"], metrics, float_format="%.6g")
    summary = {"n_test_sites": int(y.shape[0]), "rc_average": bool(cfg["rc_average"])}
    summary |= summarise(metrics[["target", "auroc", "auprc"]], kmer) | gkm_summary
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


def evaluate_by_assay(metrics, samples, *, out: dict) -> dict:
    """Rule evaluate_by_assay (``dataset.mode: deepsea``): the per-target test metrics of :func:`evaluate_model`
    grouped by the sample sheet's ``assay`` column (:func:`basset.evaluate.assay_summary`: median and mean AUROC and
    AUPRC per assay, as DeepSEA reports them) into ``out["by_assay"]``, the per-feature AUROC by assay as
    ``out["fig_assay"]``, and their key numbers into ``out["assay_summary"]`` (``<assay>_median_auroc``, ...)."""
    table = pd.read_csv(metrics, sep="\t")
    if not {"target", "auroc", "auprc"} <= set(table.columns):
        raise InputError(metrics, "expected the per-target metrics of evaluate_model: columns target, auroc, auprc")
    sheet = read_sample_sheet(samples)
    assays = dict(zip([str(n) for n in sheet["name"]], sample_assays(sheet)))
    by_assay = assay_summary(table, assays)
    write_table(out["by_assay"], by_assay, float_format="%.6g")
    plots.fig_assays(table, assays, out["fig_assay"],
                     title="Test AUROC per feature by assay: " + ", ".join(
                         f"{r.assay} {r.median_auroc:.3f}" for r in by_assay.itertuples()) + " (medians)")
    summary = {"assays": len(by_assay)}
    for r in by_assay.itertuples():
        summary.update({f"{r.assay}_features": int(r.features), f"{r.assay}_median_auroc": round(r.median_auroc, 6),
                        f"{r.assay}_median_auprc": round(r.median_auprc, 6)})
    write_summary(out["assay_summary"], summary)
    return summary

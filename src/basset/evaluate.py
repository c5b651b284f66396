"""Test-set evaluation: per-target metrics, site classes and AUROC by class (the paper's Figure 2).

``y`` is ``(n, T)`` 0/1 targets and ``p`` ``(n, T)`` probabilities for the same sites and targets.
Site classes follow the paper's breakdown of accessible sites by genomic context:

* ``promoter``: within 2 kb (bp, both sides) of a transcription start site;
* ``intragenic``: not a promoter, overlaps a gene body;
* ``intergenic``: everything else.

TSSs are the strand-aware starts of the GTF's ``transcript`` lines (``gene`` lines when the file has no
transcripts); gene bodies are the ``gene`` lines (``transcript`` lines when it has no genes). The
overlaps are computed with pybedtools (``bedtools intersect -u``).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InputError
from .fileio import compression, read_errors
from .metrics import SITE_CLASSES, auprc, auroc, auroc_by_class
from .tables import write_summary, write_table

log = logging.getLogger("basset.evaluate")

#: distance from a TSS (bp) within which a site is a promoter
PROMOTER_DISTANCE = 2000


def metrics_table(y, p, target_names) -> pd.DataFrame:
    """Per-target DataFrame: ``target, auroc, auprc, n_pos, n_neg`` (AUROC/AUPRC NaN for a one-class target)."""
    y = np.asarray(y)
    if y.ndim != 2 or y.shape != np.shape(p):
        raise ValueError(f"targets {y.shape} and predictions {np.shape(p)} must be equal (n, T) arrays")
    if y.shape[1] != len(target_names):
        raise ValueError(f"{y.shape[1]} target columns but {len(target_names)} target names")
    n_pos = y.astype(bool).sum(axis=0)
    return pd.DataFrame({"target": list(target_names), "auroc": auroc(y, p), "auprc": auprc(y, p),
                         "n_pos": n_pos.astype(np.int64), "n_neg": (y.shape[0] - n_pos).astype(np.int64)})


def summarise(metrics: pd.DataFrame, kmer_metrics: pd.DataFrame | None = None, prefix: str = "") -> dict:
    """Mean and median AUROC/AUPRC over targets (NaN targets ignored), logged and returned as a dict.

    With ``kmer_metrics`` (a :func:`metrics_table` of the baseline, matched by target name) the dict also
    holds the baseline's mean/median AUROC and AUPRC, the mean CNN minus k-mer AUROC and the number of
    targets where the CNN is better.
    """
    out: dict = {f"{prefix}n_targets": int(len(metrics)),
                 f"{prefix}n_targets_scored": int(metrics["auroc"].notna().sum())}
    for m in ("auroc", "auprc"):
        out[f"{prefix}mean_{m}"] = float(np.nanmean(metrics[m])) if metrics[m].notna().any() else float("nan")
        out[f"{prefix}median_{m}"] = float(np.nanmedian(metrics[m])) if metrics[m].notna().any() else float("nan")
    log.info("%smean AUROC %.4f (median %.4f), mean AUPRC %.4f (median %.4f) over %d targets", prefix,
             out[f"{prefix}mean_auroc"], out[f"{prefix}median_auroc"], out[f"{prefix}mean_auprc"],
             out[f"{prefix}median_auprc"], out[f"{prefix}n_targets_scored"])
    if kmer_metrics is not None:
        both = metrics.merge(kmer_metrics, on="target", suffixes=("", "_kmer"))
        if len(both) < len(metrics):
            log.warning("the k-mer metrics lack %d of the %d targets", len(metrics) - len(both), len(metrics))
        for m in ("auroc", "auprc"):
            out[f"kmer_mean_{m}"] = float(np.nanmean(both[f"{m}_kmer"])) if len(both) else float("nan")
            out[f"kmer_median_{m}"] = float(np.nanmedian(both[f"{m}_kmer"])) if len(both) else float("nan")
        diff = both["auroc"] - both["auroc_kmer"]
        out["cnn_minus_kmer_mean_auroc"] = float(np.nanmean(diff)) if diff.notna().any() else float("nan")
        out["n_targets_cnn_better"] = int((diff > 0).sum())
        log.info("k-mer baseline mean AUROC %.4f; CNN minus k-mer %.4f; CNN better on %d of %d targets",
                 out["kmer_mean_auroc"], out["cnn_minus_kmer_mean_auroc"], out["n_targets_cnn_better"],
                 int(diff.notna().sum()))
    return out


# --------------------------------------------------------------------------------------- site classes
def read_gtf_features(path: str | Path) -> pd.DataFrame:
    """``gene`` and ``transcript`` lines of a GTF (plain or gzipped): DataFrame ``chrom, feature, start,
    end, strand`` with 0-based half-open ``start``/``end`` (bp)."""
    path = Path(path)
    empty = pd.DataFrame({"chrom": [], "feature": [], "start": [], "end": [], "strand": []})
    try:
        with read_errors(path, "GTF"):
            df = pd.read_csv(path, sep="\t", comment="#", header=None, dtype=str, quoting=3,
                             compression=compression(path))
    except pd.errors.EmptyDataError:
        return empty
    except (ValueError, pd.errors.ParserError) as exc:
        raise InputError(path, f"expected a 9-column tab-separated GTF: {exc}") from None
    if df.shape[1] != 9:
        raise InputError(path, f"expected a 9-column tab-separated GTF, got {df.shape[1]} columns")
    df = df[[0, 2, 3, 4, 6]].set_axis(["chrom", "feature", "start", "end", "strand"], axis=1)
    df = df[df["feature"].isin(["gene", "transcript"])].reset_index(drop=True)
    for col in ("start", "end"):
        values = pd.to_numeric(df[col], errors="coerce")
        bad = np.flatnonzero(values.isna().to_numpy())
        if bad.size:
            raise InputError(path, f"expected an integer {col} in a gene/transcript line, got {df[col].iloc[bad[0]]!r}",
                             record=str(df["chrom"].iloc[bad[0]]))
        df[col] = values.astype(np.int64)
    df["start"] -= 1  # GTF is 1-based, closed
    return df


def _tss_and_bodies(features: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    tx = features[features["feature"] == "transcript"]
    genes = features[features["feature"] == "gene"]
    tss_src = tx if len(tx) else genes
    body = genes if len(genes) else tx
    minus = tss_src["strand"].to_numpy() == "-"
    tss = np.where(minus, tss_src["end"].to_numpy() - 1, tss_src["start"].to_numpy())
    prom = pd.DataFrame({"chrom": tss_src["chrom"].to_numpy(),
                         "start": np.maximum(tss - PROMOTER_DISTANCE, 0),
                         "end": tss + PROMOTER_DISTANCE + 1})
    return prom, body[["chrom", "start", "end"]].reset_index(drop=True)


def _overlapping(sites_bed, regions: pd.DataFrame) -> np.ndarray:
    """Row numbers (the BED name) of the sites overlapping any region."""
    import pybedtools

    if len(regions) == 0:
        return np.zeros(0, np.int64)
    hits = sites_bed.intersect(pybedtools.BedTool.from_dataframe(regions), u=True)
    rows = pd.read_csv(hits.fn, sep="\t", header=None, usecols=[3], dtype={3: np.int64}) \
        if Path(hits.fn).stat().st_size else pd.DataFrame({3: []})
    return rows[3].to_numpy(np.int64)


def site_classes(sites: pd.DataFrame, genes_gtf: str | Path) -> np.ndarray:
    """Class of each site, ``(n,)`` object array in {"promoter", "intragenic", "intergenic"}.

    ``sites`` needs ``chrom, start, end`` (0-based, half-open, bp); ``genes_gtf`` is a GTF, maybe gzipped.
    """
    import pybedtools

    n = len(sites)
    out = np.full(n, "intergenic", dtype=object)
    features = read_gtf_features(genes_gtf)
    if n == 0:
        return out
    if len(features) == 0:
        log.warning("%s has no gene or transcript lines: every site is intergenic", genes_gtf)
        return out
    shared = set(sites["chrom"].astype(str)) & set(features["chrom"])
    if not shared:
        log.warning("no chromosome name is shared by the sites and %s (e.g. %r vs %r): every site is intergenic",
                    genes_gtf, str(sites["chrom"].iloc[0]), str(features["chrom"].iloc[0]))
    prom, body = _tss_and_bodies(features)
    bed = pd.DataFrame({"chrom": sites["chrom"].astype(str).to_numpy(), "start": sites["start"].to_numpy(np.int64),
                        "end": sites["end"].to_numpy(np.int64), "name": np.arange(n)})
    sites_bed = pybedtools.BedTool.from_dataframe(bed)
    try:
        out[_overlapping(sites_bed, body)] = "intragenic"
        out[_overlapping(sites_bed, prom)] = "promoter"
    finally:
        pybedtools.cleanup()
    counts = {c: int((out == c).sum()) for c in SITE_CLASSES}
    log.info("site classes: %s", ", ".join(f"{k} {v}" for k, v in counts.items()))
    return out


# ------------------------------------------------------------------------------------------- stages
def run_kmer_baseline(h5_path: str | Path, predictions_path: str | Path, metrics_path: str | Path, k: int = 6,
                      gap=0, C: float = 1.0, max_train: int | None = 20000, norm: str = "l2", seed: int = 1,
                      n_jobs: int = 1) -> pd.DataFrame:
    """Fit :class:`basset.kmer.KmerBaseline` on the train split, predict the test split and write the
    predictions (:func:`basset.predict.write_predictions`, gzipped TSV ``site_index<TAB>target...``) and the
    per-target :func:`metrics_table` (TSV). Returns the metrics."""
    import time

    from .dataset import dataset_info, load_split
    from .kmer import KmerBaseline
    from .predict import split_site_index, write_predictions

    t0 = time.perf_counter()
    names = dataset_info(h5_path)["target_names"]
    codes, y = load_split(h5_path, "train")
    model = KmerBaseline(k=k, gap=gap, C=C, max_train=max_train, norm=norm, seed=seed, n_jobs=n_jobs).fit(codes, y)
    del codes, y
    codes, y = load_split(h5_path, "test")
    p = model.predict_proba(codes)
    write_predictions(predictions_path, split_site_index(h5_path, "test"), p, names)
    metrics = metrics_table(y, p, names)
    write_table(metrics_path, metrics, float_format="%.6g")
    summarise(metrics, prefix="kmer_")
    log.info("k-mer baseline done in %.1f s", time.perf_counter() - t0)
    return metrics


def read_metrics(path: str | Path) -> pd.DataFrame:
    """Read a :func:`metrics_table` TSV; InputError names the file when a column is missing."""
    df = pd.read_csv(path, sep="\t")
    missing = [c for c in ("target", "auroc", "auprc") if c not in df.columns]
    if missing:
        raise InputError(path, f"expected a metrics TSV with columns target, auroc, auprc; missing {missing}", line=1)
    return df


def evaluate_model(model, h5_path: str | Path, out: dict, kmer_metrics: str | Path | None = None,
                   sites: str | Path | None = None, genes: str | Path | None = None, rc_average: bool = True,
                   batch_size: int = 256, heatmap_sites: int = 2000, device="cpu", seed: int = 1) -> dict:
    """Evaluate a model on the test split and draw Figure 2; returns the summary dict.

    ``out`` maps ``metrics``, ``by_class``, ``summary`` (TSV paths) and ``fig2a``, ``fig2b``, ``fig2c``,
    ``fig_classes`` (figure stems or ``.png`` paths; a PDF is written beside each) to paths. The metrics TSV
    has the CNN's ``target, auroc, auprc, n_pos, n_neg`` and, with ``kmer_metrics``, ``kmer_auroc,
    kmer_auprc, auroc_minus_kmer``. Site classes need ``sites`` (sites.bed) and ``genes`` (a GTF); without
    either the by-class table is empty.
    """
    from . import plots
    from .dataset import dataset_info
    from .peaks import read_sites
    from .predict import predict, split_site_index

    names = dataset_info(h5_path)["target_names"]
    y, p = predict(model, h5_path, "test", batch_size=batch_size, device=device, rc_average=rc_average)
    metrics = metrics_table(y, p, names)
    kmer = None
    if kmer_metrics:
        kmer = read_metrics(kmer_metrics)[["target", "auroc", "auprc"]]
        metrics = metrics.merge(kmer.rename(columns={"auroc": "kmer_auroc", "auprc": "kmer_auprc"}),
                                on="target", how="left")
        metrics["auroc_minus_kmer"] = metrics["auroc"] - metrics["kmer_auroc"]
    write_table(out["metrics"], metrics, float_format="%.6g")
    summary = {"n_test_sites": int(y.shape[0]), "rc_average": bool(rc_average)}
    summary |= summarise(metrics[["target", "auroc", "auprc"]], kmer)

    if sites and genes:
        table = read_sites(sites)
        index = split_site_index(h5_path, "test")
        if index.size and index.max() >= len(table):
            raise InputError(sites, f"the dataset's test site_index reaches {index.max()}, but there are "
                                    f"{len(table)} sites")
        classes = site_classes(table.iloc[index].reset_index(drop=True), genes)
        by_class = auroc_by_class(y, p, classes, names)
        for c in SITE_CLASSES:
            g = by_class[by_class["class"] == c]
            summary[f"{c}_sites"] = int(g["n_sites"].iloc[0]) if len(g) else 0
            summary[f"{c}_mean_auroc"] = float(np.nanmean(g["auroc"])) if g["auroc"].notna().any() else float("nan")
    else:
        log.info("no gene annotation: site classes skipped")
        by_class = pd.DataFrame(columns=["class", "target", "auroc", "n_sites", "n_pos"])
    write_table(out["by_class"], by_class, float_format="%.6g")
    write_summary(out["summary"], summary)

    plots.fig2a(y, names, out["fig2a"], max_sites=heatmap_sites, seed=seed)
    if kmer is not None:
        plots.fig2b(metrics["auroc"], metrics["kmer_auroc"], names, out["fig2b"])
    else:
        plots.fig2b(metrics["auroc"], np.full(len(names), np.nan), names, out["fig2b"],
                    title="Per-cell-type AUROC (no k-mer baseline)")
    plots.fig2c(y, p, names, out["fig2c"])
    plots.fig_classes(by_class, out["fig_classes"])
    return summary

"""Test-set evaluation: per-target metrics, their summary, and site classes (the paper's Figure 2); the stage
that predicts, writes the tables and draws the figures is :mod:`basset.stages.evaluate`.

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
from .metrics import SITE_CLASSES, auprc, auroc

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


def assay_summary(metrics: pd.DataFrame, assays: dict) -> pd.DataFrame:
    """DeepSEA's evaluation by assay: per assay (``assays``: target -> assay), the number of features and the median
    and mean of their test AUROC and AUPRC (features without a finite AUROC are left out of the statistics, and
    counted in ``unscored``). ``metrics``: the per-target table with ``target``, ``auroc``, ``auprc``. Rows in the
    order the assays first appear among the targets."""
    frame = metrics.assign(assay=metrics["target"].map(lambda t: assays.get(str(t), "dnase")))
    rows = []
    for assay, g in frame.groupby("assay", sort=False):
        scored = g[np.isfinite(g["auroc"].to_numpy(float))]
        rows.append({"assay": assay, "features": len(g), "unscored": len(g) - len(scored),
                     "median_auroc": float(scored["auroc"].median()) if len(scored) else np.nan,
                     "median_auprc": float(scored["auprc"].median()) if len(scored) else np.nan,
                     "mean_auroc": float(scored["auroc"].mean()) if len(scored) else np.nan,
                     "mean_auprc": float(scored["auprc"].mean()) if len(scored) else np.nan})
    return pd.DataFrame(rows, columns=["assay", "features", "unscored", "median_auroc", "median_auprc", "mean_auroc",
                                       "mean_auprc"])

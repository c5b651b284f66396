"""The run's report: one self-contained HTML page laid out like the paper (Figures 2-6), each figure with a
caption written from the run's own numbers and a table of headline numbers, each number traced to the stage
table it comes from (``source_file`` relative to the run's results folder, ``source_key`` in the small
grammar of :func:`resolve_source`). Where the run is the paper's configuration (its 164 targets) the
published model's per-target AUROCs stand beside ours; on simulated data the simulation's truth grades the
analyses (planted motifs recovered, motif insertion against planted activity, causal SNPs ranked by SAD).

Titles state what was measured, with the run's numbers, never what was hoped. A stage the config left out is
listed with its reason and the config key that brings it back, at the top and in its section; a panel that
was not drawn (or, as the site classes without genes, drawn empty) is replaced by a note saying what is
missing and which key brings it.

Images are embedded as base64 ``data:`` URIs, so the page needs nothing beside itself.
"""

from __future__ import annotations

import base64
import functools
import html
import logging
import math
import re
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from basset.errors import InputError

from .fileio import atomic_path
from .tables import write_table

log = logging.getLogger(__name__)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CAUSAL_ROLES = ("causal_break", "causal_create")  # SNPs that change a planted motif inside a site
NULL_ROLES = ("bystander",)


# ---------------------------------------------------------------------------------------------------------
# reading stage tables


def _scalar(value):
    """A table cell as int, float, bool or str (key/value summaries are written as text)."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    text = "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)
    if text in ("True", "False"):
        return text == "True"
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def read_kv(path) -> dict:
    """A stage's ``key<TAB>value`` summary as a dict of typed scalars."""
    table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    if list(table.columns[:2]) != ["key", "value"]:
        raise InputError(path, "expected a key/value table with header 'key<TAB>value', "
                         f"got columns {list(table.columns)}")
    return {k: _scalar(v) for k, v in zip(table["key"], table["value"])}


def _read_table(path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t")


def _truth_snp_scores(results_dir: Path, truth_dir: Path | None, score: str) -> pd.DataFrame:
    """Truth SNPs (id, role) joined to their SAD score from ``variants/sad.tsv.gz``; ``score`` is a column or
    ``abs(column)``."""
    if truth_dir is None:
        raise InputError(results_dir, "a truth-graded number needs the simulation's truth folder (truth_dir)")
    truth = pd.read_csv(Path(truth_dir) / "snps.tsv", sep="\t", usecols=["id", "role"])
    absolute = score.startswith("abs(") and score.endswith(")")
    column = score[4:-1] if absolute else score
    sad = pd.read_csv(results_dir / "variants" / "sad.tsv.gz", sep="\t", usecols=["id", column])
    # a multi-allelic record gives several rows per id: the SNP counts by its strongest allele
    values = sad[column].abs() if absolute else sad[column]
    sad = pd.DataFrame({"id": sad["id"], "score": values}).groupby("id", as_index=False)["score"].max()
    return truth.merge(sad, on="id", how="inner")


def _causal_auroc(frame: pd.DataFrame) -> float:
    """AUROC of causal (in-site) against bystander SNPs by score: P(score causal > score bystander), ties 1/2."""
    from scipy.stats import rankdata

    frame = frame[frame["role"].isin(CAUSAL_ROLES + NULL_ROLES)]
    pos = frame["role"].isin(CAUSAL_ROLES).to_numpy()
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(frame["score"].to_numpy())
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _causal_top(frame: pd.DataFrame) -> float:
    """Fraction of causal SNPs among the top-n SNPs by score, n = the number of causal SNPs."""
    frame = frame[frame["role"].isin(CAUSAL_ROLES + NULL_ROLES)]
    n = int(frame["role"].isin(CAUSAL_ROLES).sum())
    if n == 0:
        return float("nan")
    top = frame.sort_values("score", ascending=False, kind="mergesort").head(n)
    return float(top["role"].isin(CAUSAL_ROLES).mean())


def _insertion_rho(results_dir: Path, truth_dir: Path | None) -> pd.Series:
    """Per planted factor: Spearman correlation across cell types between the motif-insertion effect
    (``motifs/insertion.tsv``) and the factor's planted activity (``truth/cell_factor_activity.tsv``)."""
    if truth_dir is None:
        raise InputError(results_dir, "a truth-graded number needs the simulation's truth folder (truth_dir)")
    from scipy.stats import spearmanr

    insertion = _read_table(results_dir / "motifs" / "insertion.tsv").set_index("motif")
    activity = pd.read_csv(Path(truth_dir) / "cell_factor_activity.tsv", sep="\t").set_index("cell")
    cells = [c for c in insertion.columns if c in activity.index]
    rho = {}
    for motif in insertion.index:
        if motif in activity.columns and len(cells) > 2:
            rho[motif] = float(spearmanr(insertion.loc[motif, cells], activity.loc[cells, motif]).statistic)
    return pd.Series(rho, dtype=float)


_ROW = re.compile(r"^(?P<col>[^\[\]]+)\[(?P<sel>[^\]]+)\]$")
_FUNC = re.compile(r"^(?P<fn>[a-z_]+)\((?P<arg>.*)\)$")


def resolve_source(results_dir, source_file: str, source_key: str, truth_dir=None):
    """The value that ``source_key`` names in ``results_dir/source_file``. The grammar:

    - ``key``: the value of ``key`` in a key/value summary;
    - ``a/b``: ratio of two keys of a key/value summary;
    - ``col[field=value]``: column ``col`` of the row whose ``field`` is ``value``; ``col[#i]``: of row ``i``
      (0-based, in the table's order);
    - ``mean(col)``, ``median(col)``, ``sum(col)``, ``count(a>b)``, ``rows()``: over the rows of a table
      (a ``True``/``False`` column counts as 1/0);
    - truth-graded, on simulated data: ``causal_auroc(score)`` and ``causal_top(score)`` over
      ``variants/sad.tsv.gz`` and ``truth/snps.tsv`` (score: a SAD column or ``abs(column)``), and
      ``insertion_rho(mean)`` / ``insertion_rho(positive)`` over ``motifs/insertion.tsv`` and
      ``truth/cell_factor_activity.tsv``.
    """
    results_dir = Path(results_dir)
    path = results_dir / source_file
    func = _FUNC.match(source_key)
    if func:
        fn, arg = func.group("fn"), func.group("arg")
        if fn == "causal_auroc":
            return _causal_auroc(_truth_snp_scores(results_dir, truth_dir, arg))
        if fn == "causal_top":
            return _causal_top(_truth_snp_scores(results_dir, truth_dir, arg))
        if fn == "insertion_rho":
            rho = _insertion_rho(results_dir, truth_dir)
            return float(rho.mean()) if arg == "mean" else int((rho > 0).sum())
        table = _read_table(path)
        if fn == "mean":
            return float(table[arg].mean())
        if fn == "median":
            return float(table[arg].median())
        if fn == "sum":
            return _scalar(table[arg].sum())
        if fn == "rows":
            return int(len(table))
        if fn == "count":
            a, b = arg.split(">")
            return int((table[a] > table[b]).sum())
        raise InputError(path, f"unknown function {fn!r} in source key {source_key!r}")
    row = _ROW.match(source_key)
    if row:
        table = _read_table(path)
        col, sel = row.group("col"), row.group("sel")
        if sel.startswith("#"):
            return _scalar(table[col].iloc[int(sel[1:])])
        field_, value = sel.split("=", 1)
        hit = table[table[field_].astype(str) == value]
        if len(hit) != 1:
            raise InputError(path, f"expected one row with {field_}={value}, found {len(hit)}")
        return _scalar(hit[col].iloc[0])
    summary = read_kv(path)
    if "/" in source_key:
        a, b = source_key.split("/")
        return float(summary[a]) / float(summary[b]) if float(summary[b]) else float("nan")
    if source_key not in summary:
        raise InputError(path, f"no key {source_key!r}")
    return summary[source_key]


# ---------------------------------------------------------------------------------------------------------
# headline numbers


@dataclass
class Headline:
    """One number of the report and where it comes from."""

    id: str
    section: str
    name: str
    value: object
    source_file: str
    source_key: str
    format: str = "3f"  # 3f, int, p, pct, text
    paper_value: object = None
    paper_source: str = ""


def fmt(value, style: str = "3f") -> str:
    """How a headline number is printed on the page."""
    if value is None:
        return "–"
    if style == "text" or isinstance(value, str):
        return str(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    value = float(value)
    if math.isnan(value):
        return "n/a"
    if style == "int":
        return f"{int(round(value)):,}"
    if style == "p":
        return "< 1e-300" if value == 0 else f"{value:.2g}"
    if style == "pct":
        return f"{100 * value:.1f}%"
    return f"{value:.3f}"


def _norm_label(name) -> str:
    """Target names compared loosely: the sample sheet spells ``CD20+`` as ``CD20pos`` and trims spaces."""
    return re.sub(r"[^0-9a-z]", "", str(name).lower().replace("+", "pos"))


def paper_comparison(metrics: pd.DataFrame, paper_aucs, paper_targets=None) -> pd.DataFrame | None:
    """Per-target AUROC of ours beside the published model's when our targets are the paper's (same set of
    names up to spelling), else None. ``paper_aucs``: ``index<ws>auroc`` (1-based into ``paper_targets``,
    default ``basset_targets.txt`` beside it)."""
    if paper_aucs is None:
        return None
    if not Path(paper_aucs).exists():
        log.warning("published AUROCs %s not found: no paper numbers beside ours", paper_aucs)
        return None
    paper_targets = Path(paper_targets) if paper_targets else Path(paper_aucs).parent / "basset_targets.txt"
    if not paper_targets.exists():
        return None
    labels = pd.read_csv(paper_targets, sep="\t", header=None, dtype=str)[0]
    aucs = pd.read_csv(paper_aucs, sep=r"\s+", header=None, names=["index", "auroc"])
    paper = pd.DataFrame({"paper_target": labels.to_numpy()[aucs["index"].to_numpy() - 1],
                          "paper_auroc": aucs["auroc"].to_numpy()})
    paper["key"] = paper["paper_target"].map(_norm_label)
    ours = metrics[["target", "auroc"]].assign(key=metrics["target"].map(_norm_label))
    if set(ours["key"]) != set(paper["key"]):
        return None
    table = ours.merge(paper, on="key", how="left").drop(columns="key")
    return table.assign(difference=table["auroc"] - table["paper_auroc"])


def headline_numbers(results_dir, truth_dir=None, paper_aucs=None, paper_targets=None) -> list[Headline]:
    """Every headline number of the report, each with its source (a stage table and a key in the grammar of
    :func:`resolve_source`). Stages whose tables are absent contribute nothing."""
    results_dir = Path(results_dir)
    truth_dir = Path(truth_dir) if truth_dir and Path(truth_dir).exists() else None
    out: list[Headline] = []

    def add(id_, section, name, source_file, source_key, style="3f", **paper):
        value = resolve_source(results_dir, source_file, source_key, truth_dir)
        out.append(Headline(id_, section, name, value, source_file, source_key, style, **paper))

    def has(*files):
        return all((results_dir / f).exists() for f in files)

    if has("evaluate/summary.tsv"):
        ev = read_kv(results_dir / "evaluate/summary.tsv")
        paper = {}
        if has("evaluate/metrics.tsv"):
            table = paper_comparison(_read_table(results_dir / "evaluate/metrics.tsv"), paper_aucs, paper_targets)
            if table is not None:
                source = Path(paper_aucs).name
                paper = {"mean_auroc": (float(table["paper_auroc"].mean()), f"{source}: mean of column 2"),
                         "median_auroc": (float(table["paper_auroc"].median()), f"{source}: median of column 2")}
        s, f = "Figure 2", "evaluate/summary.tsv"
        add("n_targets", s, "targets scored", f, "n_targets_scored" if "n_targets_scored" in ev else "n_targets",
            "int")
        add("n_test_sites", s, "test sites", f, "n_test_sites", "int")
        for key, name in (("mean_auroc", "mean AUROC (CNN)"), ("median_auroc", "median AUROC (CNN)")):
            pv, ps = paper.get(key, (None, ""))
            add(key, s, name, f, key, paper_value=pv, paper_source=ps)
        add("mean_auprc", s, "mean AUPRC (CNN)", f, "mean_auprc")
        if "kmer_mean_auroc" in ev:  # written only when the k-mer baseline ran
            add("kmer_mean_auroc", s, "mean AUROC (k-mer baseline)", f, "kmer_mean_auroc")
            add("cnn_minus_kmer_mean_auroc", s, "CNN − k-mer, mean AUROC", f, "cnn_minus_kmer_mean_auroc")
            add("n_targets_cnn_better", s, "targets where the CNN beats the k-mer baseline", f,
                "n_targets_cnn_better", "int")
        for cls in ("promoter", "intragenic", "intergenic"):
            if f"{cls}_mean_auroc" in ev:
                add(f"{cls}_mean_auroc", s, f"mean AUROC, {cls} sites", f, f"{cls}_mean_auroc")

    if has("motifs/summary.tsv"):
        mo = read_kv(results_dir / "motifs/summary.tsv")
        s, f = "Figure 3", "motifs/summary.tsv"
        add("filters", s, "first-layer filters", f, "filters", "int")
        add("annotated", s, "filters matching a database motif", f, "annotated", "int")
        add("fraction_annotated", s, "fraction of filters annotated", f, "annotated/filters", "pct")
        if "planted_factors" in mo:
            add("planted_factors", s, "planted factors", f, "planted_factors", "int")
            add("planted_factors_recovered", s, "planted factors recovered by a filter", f,
                "planted_factors_recovered", "int")
            add("fraction_recovered", s, "fraction of planted factors recovered", f, "fraction_recovered", "pct")
    if has("motifs/filter_summary.tsv"):
        s, f = "Figure 3", "motifs/filter_summary.tsv"
        table = _read_table(results_dir / f)
        if not has("motifs/summary.tsv") and "annotated" in table:  # the same counts, from the filter table
            add("filters", s, "first-layer filters", f, "rows()", "int")
            add("annotated", s, "filters matching a database motif", f, "sum(annotated)", "int")
            add("fraction_annotated", s, "fraction of filters annotated", f, "mean(annotated)", "pct")
        for i in range(min(5, len(table))):
            add(f"influence_{i + 1}_filter", s, f"influence leader {i + 1}: filter", f, f"filter[#{i}]", "text")
            if isinstance(_scalar(table["best_name"].iloc[i]), str) and str(table["best_name"].iloc[i]) != "":
                add(f"influence_{i + 1}_match", s, f"influence leader {i + 1}: best match", f,
                    f"best_name[#{i}]", "text")
            add(f"influence_{i + 1}_value", s, f"influence leader {i + 1}: mean influence", f,
                f"influence_mean[#{i}]")
    if truth_dir is not None and has("motifs/insertion.tsv") and (truth_dir / "cell_factor_activity.tsv").exists():
        s, f = "Figure 3", "motifs/insertion.tsv"
        add("insertion_rho_mean", s, "motif insertion vs planted activity: mean Spearman ρ", f,
            "insertion_rho(mean)")
        add("insertion_rho_positive", s, "planted motifs whose insertion effect follows their activity (ρ > 0)",
            f, "insertion_rho(positive)", "int")

    if has("satmut/summary.tsv"):
        s, f = "Figure 4", "satmut/summary.tsv"
        add("satmut_sites", s, "sites mutated", f, "sites", "int")
        add("satmut_nucleotides", s, "nucleotides scored", f, "nucleotides", "int")
    if has("satmut/phylop_regression.tsv"):
        s, f = "Figure 4", "satmut/phylop_regression.tsv"
        table = _read_table(results_dir / f)
        for features in ("loss", "gain", "both"):
            if (table["features"] == features).sum() == 1:
                add(f"phylop_r_{features}", s, f"phyloP vs prediction from {features} scores: Pearson r", f,
                    f"r[features={features}]")
                add(f"phylop_p_{features}", s, f"phyloP vs prediction from {features} scores: p", f,
                    f"p[features={features}]", "p")
        if (table["features"] == "both").sum() == 1:
            add("phylop_n_test", s, "held-out nucleotides", f, "n_test[features=both]", "int")

    if has("variants/summary.tsv"):
        add("snps_scored", "Figure 5", "variants scored (SAD)", "variants/summary.tsv", "scored", "int")
    if has("variants/pics_enrichment.tsv"):
        s, f = "Figure 5", "variants/pics_enrichment.tsv"
        pe = read_kv(results_dir / f)
        add("pics_n_high", s, "likely causal SNPs (high PICS)", f, "n_high", "int")
        add("pics_n_low", s, "unlikely causal SNPs (low PICS)", f, "n_low", "int")
        add("pics_frac_high", s, "high-PICS SNPs above the SAD threshold", f, "frac_high", "pct")
        add("pics_frac_low", s, "low-PICS SNPs above the SAD threshold", f, "frac_low", "pct")
        for key, name in (("frac_high_any", "high-PICS SNPs above the threshold in some cell type"),
                          ("frac_low_any", "low-PICS SNPs above the threshold in some cell type")):
            if key in pe:
                add(f"pics_{key}", s, name, f, key, "pct")
        add("pics_mannwhitney_p", s, "enrichment p (Mann–Whitney, high vs low scores)", f, "mannwhitney_p", "p")
        add("pics_fisher_p", s, "enrichment p (Fisher, fraction above threshold)", f, "fisher_p", "p")
    if (truth_dir is not None and has("variants/sad.tsv.gz") and (truth_dir / "snps.tsv").exists()):
        s, f = "Figure 5", "variants/sad.tsv.gz"
        add("causal_auroc_max_abs", s, "causal vs bystander SNPs: AUROC of max |SAD|", f,
            "causal_auroc(max_abs_sad)")
        add("causal_auroc_abs_mean", s, "causal vs bystander SNPs: AUROC of |mean SAD|", f,
            "causal_auroc(abs(mean_sad))")
        add("causal_top_max_abs", s, "causal SNPs among the top-n by max |SAD| (n = causal SNPs)", f,
            "causal_top(max_abs_sad)", "pct")

    if has("transfer/transfer.tsv"):
        s, f = "Figure 6", "transfer/transfer.tsv"
        table = _read_table(results_dir / f)
        add("transfer_targets", s, "held-out targets", f, "rows()", "int")
        for col, name in (("full_auroc", "mean AUROC, trained with all targets"),
                          ("transfer_auroc", "mean AUROC, pre-trained then fine-tuned (transfer)"),
                          ("scratch_auroc", "mean AUROC, trained from scratch")):
            if col in table:
                add(f"transfer_mean_{col}", s, name, f, f"mean({col})")
        if {"transfer_auroc", "scratch_auroc"} <= set(table.columns):
            add("transfer_better", s, "targets where transfer beats training from scratch", f,
                "count(transfer_auroc>scratch_auroc)", "int")
    if has("transfer/summary.tsv"):
        s, f = "Figure 6", "transfer/summary.tsv"
        tr = read_kv(results_dir / f)
        if "within_tolerance" in tr:
            tol = f" (±{tr['tolerance']})" if "tolerance" in tr else ""
            add("transfer_within", s, f"targets where transfer comes within tolerance{tol} of the full model", f,
                "within_tolerance", "int")
        for key, name in (("mean_difference", "mean AUROC difference, transfer − full"),
                          ("max_shortfall", "largest shortfall of transfer against the full model")):
            if key in tr:
                add(f"transfer_{key}", s, name, f, key)
    return out


# ---------------------------------------------------------------------------------------------------------
# figures and captions


@dataclass
class Figure:
    label: str  # as the paper numbers it: "2A", "4B–D"
    section: str
    path: str  # relative to the results folder
    title: str
    caption: str = ""


# Titles name what a panel shows, never what it was hoped to show; :func:`_panel_titles` adds the run's numbers.
PANELS = [
    ("2A", "Figure 2", "evaluate/fig2a_heatmap.png", "Accessibility of test sites across cell types"),
    ("2B", "Figure 2", "evaluate/fig2b_cnn_vs_kmer.png", "CNN against the k-mer baseline"),
    ("2C", "Figure 2", "evaluate/fig2c_roc.png", "ROC curves"),
    ("2, site classes", "Figure 2", "evaluate/auroc_by_class.png", "AUROC by site class"),
    ("3A", "Figure 3", "motifs/fig3a_ic_vs_influence.png", "Information content against influence"),
    ("3B", "Figure 3", "motifs/fig3b_matches.png", "Annotated filters beside their best database match"),
    ("3C", "Figure 3", "motifs/fig3c_influence.png", "Filter influence per cell type"),
    ("3, filter logos", "Figure 3", "motifs/filter_logos.png", "Filter logos"),
    ("3, motif insertion", "Figure 3", "motifs/motif_insertion.png", "Motif insertion"),
    ("4A", "Figure 4", "satmut/fig4a_maps.png", "Saturation mutagenesis maps"),
    ("4B–D", "Figure 4", "satmut/fig4bcd_phylop.png", "PhyloP predicted from mutagenesis scores"),
    ("5A", "Figure 5", "variants/fig5a_pics.png", "SNPs above the SAD threshold, likely against unlikely causal"),
    ("5B", "Figure 5", "variants/fig5b_top_snp.png", "The top-scoring likely causal SNP"),
]

# Each section's subject; :func:`_section_titles` adds what this run measured.
SECTIONS = {
    "Figure 2": "Accessibility prediction across cell types",
    "Figure 3": "First-layer filters and their best database matches",
    "Figure 4": "In silico saturation mutagenesis",
    "Figure 5": "Genetic variants scored by SAD",
    "Figure 6": "Transfer learning to held-out cell types",
}

# What a section needs to be drawn: the stage, the table that shows it ran, and the config key that runs it
# (None: always part of the workflow).
SECTION_STAGES = {
    "Figure 2": ("evaluation", "evaluate/summary.tsv", None),
    "Figure 3": ("filter analysis", "motifs/summary.tsv", None),
    "Figure 4": ("saturation mutagenesis", "satmut/summary.tsv", None),
    "Figure 5": ("SNP scoring (SAD)", "variants/summary.tsv", "variants.vcf"),
    "Figure 6": ("transfer learning", "transfer/transfer.tsv", "transfer.enabled"),
}

# Panels drawn only when the config provides an input: the key, and the input it names.
PANEL_NEEDS = {
    "2, site classes": ("genome.genes", "a gene annotation"),
    "4B–D": ("genome.phylop", "a phyloP conservation track"),
    "5A": ("variants.pics", "a PICS fine-mapping table"),
    "5B": ("variants.pics", "a PICS fine-mapping table"),
}

# How to bring back what a config key switched off.
KEY_HINTS = {
    "genome.genes": "set genome.genes to a GTF of gene annotations",
    "genome.phylop": "set genome.phylop to a phyloP bigWig",
    "variants.vcf": "set variants.vcf to a VCF of SNPs",
    "variants.pics": "set variants.pics to a PICS fine-mapping table (and variants.vcf to its SNPs)",
    "transfer.enabled": "set transfer.enabled to true",
    "simulate.enabled": "set simulate.enabled to true (only simulated data carry a truth to grade against)",
    "report.paper_aucs": "set report.paper_aucs to the published model's per-target AUROCs",
}
CONFIG_SECTIONS = ("run", "seed", "samples", "simulate", "downloads", "genome", "variants", "transfer", "report",
                   "satmut", "motifs", "peaks", "dataset", "model", "train", "kmer", "evaluate")
_CONFIG_KEY = re.compile(r"\b(?:" + "|".join(CONFIG_SECTIONS) + r")(?:\.[A-Za-z_][A-Za-z0-9_]*)+\b")
# A skipped stage's name or key -> the sections it belongs to, when its name cites no figure.
_STAGE_WORDS = [
    (re.compile(r"site.class|genome\.genes|k-?mer", re.I), ("Figure 2",)),
    (re.compile(r"motif|filter|tomtom|insertion", re.I), ("Figure 3",)),
    (re.compile(r"phylop|conservation|satmut|mutagenesis", re.I), ("Figure 4",)),
    (re.compile(r"\bsad\b|snp|variant|pics|vcf", re.I), ("Figure 5",)),
    (re.compile(r"transfer", re.I), ("Figure 6",)),
    (re.compile(r"planted|truth|simulat", re.I), ("Figure 3", "Figure 5")),
]
_FIGURE_REF = re.compile(r"\bFig(?:ure)?s?\.?\s*([2-6](?:[A-Z](?:[-–][A-Z])?)?(?:\s*(?:,|and|&)\s*[2-6]"
                         r"(?:[A-Z](?:[-–][A-Z])?)?)*)", re.I)


@dataclass
class Skipped:
    """A stage the run left out, why, and where the report says so."""

    stage: str
    reason: str
    key: str | None  # the config key that brings it back, when the reason names one
    sections: tuple[str, ...]

    @property
    def hint(self) -> str:
        """How to bring the stage back; empty when the reason names no key or already says what to set."""
        if self.key is None or re.search(r"\bset\b", self.reason, re.I):
            return ""
        return KEY_HINTS.get(self.key, f"set {self.key} in the config")


def skipped_stages(skipped: dict | None) -> list[Skipped]:
    """``{stage: reason}`` as :class:`Skipped`, each placed in the sections its name cites (``Figure 4``,
    ``Figures 4B-D``), else those its name or config key suggests (:data:`_STAGE_WORDS`), else none (it
    is listed only at the top of the report)."""
    out = []
    for stage, reason in (skipped or {}).items():
        stage, reason = str(stage), str(reason)
        key = _CONFIG_KEY.search(reason) or _CONFIG_KEY.search(stage)
        key = key.group(0) if key else None
        cited = [f"Figure {d}" for ref in _FIGURE_REF.findall(stage) for d in re.findall(r"(?<![A-Z])[2-6]", ref)]
        if not cited:
            for words, sections in _STAGE_WORDS:
                if words.search(stage) or (key and words.search(key)):
                    cited += sections
        sections = tuple(s for s in SECTIONS if s in cited)
        out.append(Skipped(stage, reason, key, sections))
    return out


def figures(results_dir) -> list[Figure]:
    """The figure panels that exist in ``results_dir`` (Figure 6's panels: ``transfer/fig6*.png``)."""
    results_dir = Path(results_dir)
    found = [Figure(label, section, path, title) for label, section, path, title in PANELS
             if (results_dir / path).exists()]
    fig6 = sorted((results_dir / "transfer").glob("fig6*.png")) if (results_dir / "transfer").is_dir() else []
    for i, path in enumerate(fig6):
        label = "6" if len(fig6) == 1 else f"6{chr(ord('A') + i)}"
        found.append(Figure(label, "Figure 6", str(path.relative_to(results_dir)), "Transfer learning"))
    return found


def _number(h: dict, id_: str, style: str = "3f") -> str:
    """Headline ``id_`` of ``h`` (id -> Headline) formatted for a caption or title (:func:`fmt`), ``n/a`` when
    the run has no such number."""
    return fmt(h[id_].value, style) if id_ in h else "n/a"


def _captions(h: dict, k: int | None) -> dict:
    """Caption of each panel, from the headline numbers ``h`` (id -> Headline)."""
    v = functools.partial(_number, h)

    caps = {}
    kmer = f"{k}-mer" if k else "k-mer"
    if "mean_auroc" in h:
        n = v("n_targets", "int")
        caps["2A"] = (f"Accessibility (1) or not (0) of test sites (rows) in the {n} cell types (columns), both "
                      f"clustered; the CNN predicts these {v('n_test_sites', 'int')} held-out sites with mean AUROC "
                      f"{v('mean_auroc')} (median {v('median_auroc')}, mean AUPRC {v('mean_auprc')}).")
        if "kmer_mean_auroc" in h:
            caps["2B"] = (f"Test AUROC of each cell type, CNN against the {kmer} baseline (standing in for the "
                          f"paper's gkm-SVM): mean {v('mean_auroc')} against {v('kmer_mean_auroc')} "
                          f"(difference {v('cnn_minus_kmer_mean_auroc')}); the CNN is better on "
                          f"{v('n_targets_cnn_better', 'int')} of {n} cell types.")
        else:
            caps["2B"] = (f"Test AUROC of each cell type (mean {v('mean_auroc')}); no {kmer} baseline numbers in "
                          f"evaluate/summary.tsv, so nothing to compare against.")
        if "mean_auroc" in h and h["mean_auroc"].paper_value is not None:
            caps["2B"] += (f" The published model's mean AUROC on the same {n} targets is "
                           f"{fmt(h['mean_auroc'].paper_value)}.")
        caps["2C"] = ("ROC curves of the cell types at the 5th, 33rd, 50th, 67th and 95th percentiles of the "
                      f"per-target AUROC (median {v('median_auroc')}).")
        classes = [c for c in ("promoter", "intragenic", "intergenic") if f"{c}_mean_auroc" in h]
        if classes:
            caps["2, site classes"] = ("AUROC of each cell type within each site class; means: "
                                       + ", ".join(f"{c} {v(c + '_mean_auroc')}" for c in classes) + ".")
            unscored = [c for c in classes if _nan(h[f"{c}_mean_auroc"].value)]
            if unscored:
                caps["2, site classes"] += (f" No AUROC for {', '.join(unscored)} sites (no test sites of that "
                                            f"class, or only one label among them).")
    if "filters" in h:
        caps["3A"] = (f"Information content against influence (mean over cell types of the loss change when the "
                      f"filter is nullified) for the {v('filters', 'int')} first-layer filters; "
                      f"{v('annotated', 'int')} ({v('fraction_annotated', 'pct')}) match a database motif.")
        if "influence_1_filter" in h:
            leaders = [h[f"influence_{i}_filter"].value + (f" ({h[f'influence_{i}_match'].value})"
                                                         if f"influence_{i}_match" in h else "")
                       for i in range(1, 6) if f"influence_{i}_filter" in h]
            caps["3A"] += " Most influential: " + ", ".join(leaders) + "."
        caps["3B"] = ("Logos of the most influential annotated filters beside their best Tomtom match "
                      f"({v('annotated', 'int')} of {v('filters', 'int')} filters have one).")
        if "planted_factors" in h:
            caps["3B"] += (f" Of the {v('planted_factors', 'int')} factors planted by the simulation, "
                           f"{v('planted_factors_recovered', 'int')} ({v('fraction_recovered', 'pct')}) are "
                           f"recovered by some filter.")
        caps["3C"] = "Influence of each filter (rows) on each cell type's predictions (columns), both clustered."
        caps["3, filter logos"] = "Logos of the filters, from the sequence windows that activate them most."
        caps["3, motif insertion"] = ("Mean change in predicted accessibility when each motif is inserted into "
                                      "background sequences, per cell type.")
        if "insertion_rho_mean" in h:
            caps["3, motif insertion"] += (f" Spearman ρ across cell types between a planted motif's effect and "
                                           f"its factor's planted activity: mean {v('insertion_rho_mean')}; "
                                           f"ρ > 0 for {v('insertion_rho_positive', 'int')} planted motifs.")
    if "satmut_sites" in h:
        caps["4A"] = (f"Saturation mutagenesis maps of the sites most strongly predicted accessible "
                      f"({v('satmut_nucleotides', 'int')} nucleotides of {v('satmut_sites', 'int')} sites scored "
                      f"in all).")
    if "phylop_r_both" in h:
        caps["4B–D"] = (f"PhyloP predicted by ridge regression from loss scores (B: r = {v('phylop_r_loss')}), "
                        f"gain scores (C: r = {v('phylop_r_gain')}) and both (D: r = {v('phylop_r_both')}, "
                        f"p {_p_phrase(h['phylop_p_both'].value)}) on {v('phylop_n_test', 'int')} held-out "
                        f"nucleotides.")
    if "pics_n_high" in h:
        caps["5A"] = (f"Fraction of SNPs whose SAD exceeds the threshold: {v('pics_frac_high', 'pct')} of "
                      f"{v('pics_n_high', 'int')} likely causal (high PICS) against {v('pics_frac_low', 'pct')} "
                      f"of {v('pics_n_low', 'int')} unlikely causal (low PICS) SNPs. One-sided Mann–Whitney p "
                      f"(likely causal scored higher) {_p_phrase(h['pics_mannwhitney_p'].value)}; Fisher p on "
                      f"the fractions {_p_phrase(h['pics_fisher_p'].value)}.")
        if "causal_auroc_max_abs" in h:
            caps["5A"] += (f" Against the simulation's truth, AUROC of max |SAD| for the SNPs that break or create "
                           f"a planted motif against bystanders: {v('causal_auroc_max_abs')} (0.5 is chance).")
        caps["5B"] = "Mutagenesis maps of the reference and alternative sequence around the top-scoring SNP."
    if "transfer_targets" in h or "transfer_within" in h:
        text = "AUROC of " + (f"{v('transfer_targets', 'int')} " if "transfer_targets" in h else "the ") + \
            "held-out cell types"
        parts = [f"{name} {v(f'transfer_mean_{col}')}" for col, name in
                 (("transfer_auroc", "pre-trained then fine-tuned"), ("scratch_auroc", "from scratch"),
                  ("full_auroc", "trained with all targets")) if f"transfer_mean_{col}" in h]
        caps["6"] = text + (": mean " + ", ".join(parts) if parts else "") + "."
        if "transfer_better" in h:
            caps["6"] += f" Transfer beats training from scratch on {v('transfer_better', 'int')} of them."
        if "transfer_within" in h:
            caps["6"] += f" It comes within tolerance of the full model on {v('transfer_within', 'int')}."
    return caps


def _p_phrase(p) -> str:
    return "< 1e-300" if p == 0 else f"= {fmt(p, 'p')}"


def _nan(value) -> bool:
    return isinstance(value, (float, np.floating)) and math.isnan(value)


def _panel_titles(h: dict, k: int | None) -> dict:
    """Panel titles with the run's numbers (``h``: id -> Headline) where the bare title would leave the result
    open; other panels keep their :data:`PANELS` title."""
    v = functools.partial(_number, h)

    titles = {label: title for label, _, _, title in PANELS}
    if "kmer_mean_auroc" in h and "mean_auroc" in h:
        kmer = f"{k}-mer" if k else "k-mer"
        titles["2B"] = (f"CNN against the {kmer} baseline: mean AUROC {v('mean_auroc')} against "
                        f"{v('kmer_mean_auroc')}, CNN better on {v('n_targets_cnn_better', 'int')} of "
                        f"{v('n_targets', 'int')}")
    if "annotated" in h:
        titles["3B"] += f" ({v('annotated', 'int')} of {v('filters', 'int')} filters annotated)"
    if "phylop_r_both" in h:
        titles["4B–D"] += f": Pearson r {v('phylop_r_both')} from loss and gain scores"
    if "pics_frac_high" in h:
        titles["5A"] = (f"SNPs above the SAD threshold: {v('pics_frac_high', 'pct')} of likely causal, "
                        f"{v('pics_frac_low', 'pct')} of unlikely causal")
    return titles


def _section_titles(h: dict, k: int | None) -> dict:
    """Each section's title: its subject (:data:`SECTIONS`) and what this run measured, from the headline
    numbers ``h`` (id -> Headline); a section without numbers gets its subject only."""
    v = functools.partial(_number, h)

    titles = dict(SECTIONS)
    if "mean_auroc" in h:
        titles["Figure 2"] += (f": mean test AUROC {v('mean_auroc')} over {v('n_targets', 'int')} cell types"
                               + (f", against {v('kmer_mean_auroc')} for the {k or 'k'}-mer baseline"
                                  if "kmer_mean_auroc" in h else ""))
    if "filters" in h:
        titles["Figure 3"] += f": {v('annotated', 'int')} of {v('filters', 'int')} annotated"
        if "planted_factors" in h:
            titles["Figure 3"] += (f"; {v('planted_factors_recovered', 'int')} of {v('planted_factors', 'int')} "
                                   f"planted factors recovered")
    parts = []
    if "satmut_sites" in h:
        parts.append(f"{v('satmut_nucleotides', 'int')} nucleotides of {v('satmut_sites', 'int')} sites scored")
    if "phylop_r_both" in h:
        parts.append(f"phyloP predicted with Pearson r {v('phylop_r_both')}")
    if parts:
        titles["Figure 4"] += ": " + "; ".join(parts)
    parts = []
    if "snps_scored" in h:
        parts.append(f"{v('snps_scored', 'int')} SNPs scored")
    if "pics_frac_high" in h:
        parts.append(f"{v('pics_frac_high', 'pct')} of likely and {v('pics_frac_low', 'pct')} of unlikely causal "
                     f"SNPs above the SAD threshold")
    if parts:
        titles["Figure 5"] += ": " + "; ".join(parts)
    if "transfer_targets" in h:
        parts = [f"{v('transfer_targets', 'int')} cell types"]
        parts += [f"mean AUROC {v(f'transfer_mean_{col}')} {name}" for col, name in
                  (("transfer_auroc", "after transfer"), ("full_auroc", "with all targets"))
                  if f"transfer_mean_{col}" in h]
        titles["Figure 6"] += ": " + ", ".join(parts)
    return titles


# ---------------------------------------------------------------------------------------------------------
# HTML

CSS = """
body{font-family:"Helvetica Neue",Arial,sans-serif;color:#222;max-width:1000px;margin:2em auto;padding:0 1em;
     line-height:1.45}
h1{font-size:1.7em;margin-bottom:.2em} h2{border-bottom:2px solid #444;padding-bottom:.2em;margin-top:2em}
.meta{color:#555;font-size:.9em} nav ul{columns:2;font-size:.95em}
figure{margin:1.2em 0;page-break-inside:avoid;break-inside:avoid}
figure img{max-width:100%;height:auto;border:1px solid #ddd}
figcaption{font-size:.92em;margin-top:.4em} figcaption b{margin-right:.3em}
table{border-collapse:collapse;margin:.8em 0;font-size:.9em;page-break-inside:avoid}
th,td{border-bottom:1px solid #ccc;padding:.25em .7em;text-align:left;vertical-align:top}
thead th{border-bottom:2px solid #444} td.num{text-align:right;font-variant-numeric:tabular-nums}
.src{color:#777;font-size:.85em;font-family:monospace}
.note{background:#f6f6f6;border-left:4px solid #999;padding:.5em 1em} .missing{color:#a33}
.skipped{border-left-color:#c80} #skipped-stages ul{margin:.3em 0}
details{margin:.8em 0} summary{cursor:pointer}
@media print{body{max-width:none;margin:0} nav{display:none} h2{page-break-before:always}
             details{display:block} td.src{font-size:.75em}}
"""


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def embed_png(path) -> str:
    """``data:image/png;base64,...`` of a PNG file (its signature checked)."""
    data = Path(path).read_bytes()
    if not data.startswith(PNG_SIGNATURE):
        raise InputError(path, "not a PNG file (bad signature)")
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def _figure_html(fig: Figure, results_dir: Path) -> str:
    anchor = "fig" + _slug(fig.label)
    return (f'<figure id="{_e(anchor)}" data-figure="{_e(fig.label)}" data-file="{_e(fig.path)}">\n'
            f'<img src="{embed_png(results_dir / fig.path)}" alt="{_e(f"Figure {fig.label}: {fig.title}")}">\n'
            f'<figcaption><b>Figure {_e(fig.label)}.</b><i>{_e(fig.title)}.</i> {_e(fig.caption)}'
            f"<br><span class=\"src\">{_e(fig.path)}</span></figcaption>\n</figure>")


def _headline_table(rows: list[Headline], with_paper: bool) -> str:
    head = "<tr><th>number</th><th>this run</th>" + ("<th>paper</th>" if with_paper else "") + "<th>source</th></tr>"
    body = []
    for r in rows:
        paper = ""
        if with_paper:
            paper = (f'<td class="num paper" data-paper-source="{_e(r.paper_source)}">{_e(fmt(r.paper_value))}</td>'
                     if r.paper_value is not None else "<td></td>")
        body.append(f'<tr class="headline" data-id="{_e(r.id)}" data-file="{_e(r.source_file)}" '
                    f'data-key="{_e(r.source_key)}" data-format="{_e(r.format)}" data-value="{_e(_repr(r.value))}">'
                    f'<th>{_e(r.name)}</th><td class="num value">{_e(fmt(r.value, r.format))}</td>{paper}'
                    f'<td class="src">{_e(r.source_file)} · {_e(r.source_key)}</td></tr>')
    return f'<table class="headlines"><thead>{head}</thead><tbody>\n' + "\n".join(body) + "\n</tbody></table>"


def _repr(value) -> str:
    return repr(float(value)) if isinstance(value, (float, np.floating)) else str(value)


def _table_html(frame: pd.DataFrame, cls: str, floats: str = "{:.3f}") -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in frame.columns)
    rows = []
    for rec in frame.itertuples(index=False):
        cells = []
        for x in rec:
            if isinstance(x, (float, np.floating)):
                cells.append(f'<td class="num">{_e("" if math.isnan(x) else floats.format(x))}</td>')
            else:
                cells.append(f"<td>{_e(x)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>' + "".join(rows) + "</tbody></table>"


def _section_extras(section: str, results_dir: Path, truth_dir: Path | None, paper: pd.DataFrame | None) -> str:
    """Detail tables under a section's headline numbers (per-target comparison, planted factor recovery)."""
    parts = []
    if section == "Figure 2" and paper is not None:
        better = int((paper["difference"] >= 0).sum())
        parts.append(f"<details><summary>Per-target AUROC beside the published model ({better} of {len(paper)} "
                     f"targets at or above it)</summary>"
                     + _table_html(paper[["target", "auroc", "paper_auroc", "difference"]], "paper-targets")
                     + "</details>")
    if section == "Figure 3" and (results_dir / "motifs/planted_factor_recovery.tsv").exists():
        rec = _read_table(results_dir / "motifs/planted_factor_recovery.tsv")
        cols = [c for c in ("factor", "matrix_id", "recovered", "best_filter", "best_target", "best_q")
                if c in rec.columns]
        parts.append("<details><summary>Planted factors and the filters that recover them (simulation truth)"
                     "</summary>" + _table_html(rec[cols], "recovery", "{:.3g}") + "</details>")
    if section == "Figure 5" and truth_dir is not None and (truth_dir / "snps.tsv").exists() \
            and (results_dir / "variants/sad.tsv.gz").exists():
        frame = _truth_snp_scores(results_dir, truth_dir, "max_abs_sad")
        frame["rank"] = frame["score"].rank(ascending=False, method="min").astype(int)
        by_role = frame.groupby("role").agg(snps=("id", "size"), median_max_abs_sad=("score", "median"),
                                            median_rank=("rank", "median")).reset_index()
        parts.append("<p>Truth: SNP ranks by max |SAD| (1 = strongest) per simulated role.</p>"
                     + _table_html(by_role, "snp-roles", "{:.4g}"))
    return "\n".join(parts)


def _slug(text) -> str:
    return re.sub(r"[^0-9a-z]+", "-", str(text).lower()).strip("-")




def _site_classes_measured(results_dir: Path, h: dict) -> bool:
    """Whether the run measured AUROC by site class: evaluate/summary.tsv has a class mean (headlines ``h``)
    and evaluate/auroc_by_class.tsv, where present, has rows of a class (without genes it is empty)."""
    if not any(f"{c}_mean_auroc" in h and not _nan(h[f"{c}_mean_auroc"].value) for c in SITE_CLASSES):
        return False
    path = results_dir / "evaluate/auroc_by_class.tsv"
    if not path.exists():
        return True
    if path.stat().st_size == 0:
        return False
    table = _read_table(path)
    return "class" in table and bool(table["class"].isin(SITE_CLASSES).any())


def _skipped_html(skip: Skipped) -> str:
    hint = f" To bring it back, {_e(skip.hint)}." if skip.hint else ""
    return (f'<p class="note skipped" data-stage="{_e(skip.stage)}" data-key="{_e(skip.key or "")}">'
            f"Skipped: <b>{_e(skip.stage)}</b>, because {_e(skip.reason)}.{hint}</p>")


def _skipped_list_html(skips: list[Skipped]) -> str:
    """The short list near the top: every skipped stage, its reason, the key and where it is missing."""
    items = []
    for skip in skips:
        where = ", ".join(f'<a href="#{_slug(s)}">{_e(s)}</a>' for s in skip.sections)
        items.append(f'<li data-stage="{_e(skip.stage)}"><b>{_e(skip.stage)}</b>: {_e(skip.reason)}'
                     + (f"; to bring it back, {_e(skip.hint)}" if skip.hint else "")
                     + (f" ({where})" if where else "") + ".</li>")
    return (f'<aside id="skipped-stages" class="note"><b>Skipped stages ({len(skips)})</b>'
            f'<ul>{"".join(items)}</ul></aside>')


def _missing_panel_html(label: str, title: str, path: str, results_dir: Path, skips: list[Skipped],
                        drawn: bool = False) -> str:
    """A placeholder for a panel the run did not draw (``drawn``: the file exists but shows nothing, as the
    site-class figure without genes): what is missing and which config key brings it."""
    key, need = PANEL_NEEDS.get(label, (None, None))
    skip = next((s for s in skips if key is not None and s.key == key), None)
    if label == "2, site classes" and drawn:
        what = ("no gene annotation, so no site classes (evaluate/auroc_by_class.tsv has no promoter, intragenic "
                "or intergenic rows)")
    else:
        what = f"{path} is absent from {results_dir.name}/" + (f" (it needs {need})" if need else "")
    text = f"Figure {label} ({title}) not drawn: {what}"
    if skip is not None:
        text += f"; {skip.stage}: skipped because {skip.reason}"
    if key is not None:
        text += f". To draw it, {KEY_HINTS.get(key, f'set {key} in the config')}"
    return f'<p class="note missing placeholder" data-figure="{_e(label)}">{_e(text)}.</p>'


def render_html(title: str, meta: list[str], sections: list[tuple], preamble: str = "") -> str:
    """The page: ``sections`` are ``(name, title, html)`` (or ``(name, html)``, titled by :data:`SECTIONS`);
    ``preamble`` goes between the header and the table of contents."""
    sections = [s if len(s) == 3 else (s[0], SECTIONS.get(s[0], ""), s[1]) for s in sections]
    nav = "".join(f'<li><a href="#{_slug(name)}">{_e(name)}. {_e(sub)}</a></li>' for name, sub, _ in sections)
    body = "\n".join(f'<section id="{_slug(name)}">\n{content}\n</section>' for name, _, content in sections)
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{_e(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<header><h1>{_e(title)}</h1>\n"
            + "".join(f'<p class="meta">{_e(m)}</p>' for m in meta)
            + f"</header>\n{preamble}\n<nav><ul>{nav}</ul></nav>\n{body}\n</body>\n</html>\n")


def build_report(results_dir, out_html, config: dict | None = None, truth_dir=None, paper_aucs=None,
                 paper_targets=None, headline_tsv=None, skipped: dict[str, str] | None = None) -> dict:
    """Write the run's report to ``out_html`` (and its headline numbers to ``headline_tsv``, default
    ``headline.tsv`` beside it); returns ``{id: value}`` of the headline numbers.

    ``results_dir``: the run's ``results/{run}`` folder; ``config``: the workflow config (run name, kmer.k,
    simulate.enabled); ``truth_dir``: the simulation's ``truth/`` folder (simulated runs); ``paper_aucs``: the
    published model's per-target test AUROCs (``basset_pretrained_test_aucs.txt``); ``skipped``: ``{stage:
    reason}`` of the stages the config left out (``{"SAD (Figure 5)": "variants.vcf is null"}``), each shown
    with its reason and the key that brings it back, in a list at the top and in its sections (placed by
    :func:`skipped_stages`)."""
    results_dir, out_html = Path(results_dir), Path(out_html)
    config = config or {}
    truth_dir = Path(truth_dir) if truth_dir and Path(truth_dir).exists() else None
    simulated = bool((config.get("simulate") or {}).get("enabled", truth_dir is not None))
    skips = skipped_stages(skipped)
    heads = headline_numbers(results_dir, truth_dir, paper_aucs, paper_targets)
    by_id = {h.id: h for h in heads}
    k = (config.get("kmer") or {}).get("k")
    caps, panel_titles, titles = _captions(by_id, k), _panel_titles(by_id, k), _section_titles(by_id, k)
    figs = figures(results_dir)
    classes_measured = _site_classes_measured(results_dir, by_id)
    placeholders = {}  # label -> html, for panels not drawn
    for label, _, path, title in PANELS:
        if not (results_dir / path).exists():
            placeholders[label] = _missing_panel_html(label, title, path, results_dir, skips)
        elif label == "2, site classes" and not classes_measured:
            placeholders[label] = _missing_panel_html(label, title, path, results_dir, skips, drawn=True)
    figs = [f for f in figs if f.label not in placeholders]
    for fig in figs:
        fig.title = panel_titles.get(fig.label, fig.title)
        fig.caption = caps.get(fig.label, caps.get(fig.label[:1], ""))
    paper = None
    if (results_dir / "evaluate/metrics.tsv").exists():
        paper = paper_comparison(_read_table(results_dir / "evaluate/metrics.tsv"), paper_aucs, paper_targets)

    sections = []
    for section in SECTIONS:
        rows = [h for h in heads if h.section == section]
        panels = [f for f in figs if f.section == section]
        parts = [f"<h2>{_e(section)}. {_e(titles[section])}</h2>"]
        section_skips = [s for s in skips if section in s.sections]
        if not rows and not panels:
            titles[section] = SECTIONS[section] + (": skipped" if section_skips else ": not run")
            parts[0] = f"<h2>{_e(section)}. {_e(titles[section])}</h2>"
            stage, table, key = SECTION_STAGES[section]
            hint = f"; to run it, {KEY_HINTS[key]}" if key and not section_skips else ""
            parts.append(f'<p class="note missing">Not run: no outputs of {_e(stage)} in {_e(results_dir.name)}/ '
                         f"(no {_e(table)}){_e(hint)}.</p>")
            parts += [_skipped_html(s) for s in section_skips]
        else:
            parts += [_skipped_html(s) for s in section_skips]
            if section == "Figure 2" and paper is not None:
                parts.append(f'<p class="note">This run\'s {len(paper)} targets are the paper\'s: the published '
                             'model\'s numbers stand beside ours.</p>')
            drawn = {f.label: _figure_html(f, results_dir) for f in panels}
            order = [label for label, s, _, _ in PANELS if s == section] + [f.label for f in panels]
            parts += [drawn.get(label) or placeholders.get(label, "") for label in dict.fromkeys(order)]
            if rows:
                parts.append(f"<h3>{_e(section)}: headline numbers</h3>")
                parts.append(_headline_table(rows, with_paper=any(r.paper_value is not None for r in rows)))
            parts.append(_section_extras(section, results_dir, truth_dir, paper))
        sections.append((section, titles[section], "\n".join(p for p in parts if p)))

    run = config.get("run", results_dir.name)
    meta = [f"Run {run}: " + ("simulated data, graded against the simulation's truth" if simulated and truth_dir
                              else "simulated data" if simulated else "real data")
            + (f"; seed {config['seed']}" if "seed" in config else "") + ".",
            f"Generated {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} from {results_dir}."]
    out_html.parent.mkdir(parents=True, exist_ok=True)
    preamble = _skipped_list_html(skips) if skips else ""
    with atomic_path(out_html) as tmp:
        tmp.write_text(render_html(f"Basset report: {run}", meta, sections, preamble), encoding="utf-8")
    headline_tsv = Path(headline_tsv) if headline_tsv else out_html.parent / "headline.tsv"
    write_headlines(headline_tsv, heads)
    log.info("report: %d figures, %d placeholders, %d headline numbers, %d skipped stages -> %s", len(figs),
             len(placeholders), len(heads), len(skips), out_html)
    return {h.id: h.value for h in heads}


def write_headlines(path, heads: list[Headline]) -> None:
    """``headline.tsv``: id, section, name, value (full precision), source_file, source_key, format,
    paper_value, paper_source."""
    frame = pd.DataFrame([asdict(h) for h in heads],
                         columns=[f.name for f in Headline.__dataclass_fields__.values()])
    frame["value"] = [_repr(v) for v in frame["value"]]
    frame["paper_value"] = ["" if v is None else _repr(v) for v in frame["paper_value"]]
    frame = frame[["section", "name", "value", "source_file", "source_key", "id", "format", "paper_value",
                   "paper_source"]]
    write_table(path, frame)

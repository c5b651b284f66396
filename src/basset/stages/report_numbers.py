"""The report's headline numbers, each traced to the stage table it comes from: ``source_file`` as
``<stage>/<file>`` of :mod:`basset.layout`, ``source_key`` in the small grammar of :func:`resolve_source`.

On simulated data the simulation's truth grades the analyses: causal SNPs (those that break or create a planted
motif inside a site) against bystanders by their SAD score, and the motif-insertion effect against the planted
factors' activity. The published model's per-target AUROCs stand beside ours where the run's targets are the
paper's (:func:`paper_comparison`).
"""

from __future__ import annotations

import json
import logging
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from .. import layout
from ..errors import InputError
from ..metrics import SITE_CLASSES, auroc
from ..sadfile import read_sad

log = logging.getLogger(__name__)

CAUSAL_ROLES = ("causal_break", "causal_create")  # SNPs that change a planted motif inside a site
NULL_ROLES = ("bystander",)


# ---------------------------------------------------------------------------------------------------------
# the report's input files




def source_name(stage: str, key: str) -> str:
    """How the report names a stage's file: ``<stage>/<file>``, relative to the run's results folder."""
    return f"{stage}/{layout.name(stage, key)}"


class RunFiles:
    """The report's inputs, ``{<stage>_<key>: path or None}``; a None or a missing file is an absent output."""

    def __init__(self, inputs: dict):
        self._paths = {name: Path(p) for name, p in (inputs or {}).items()
                       if p is not None and Path(p).exists()}

    def path(self, stage: str, key: str) -> Path | None:
        """The file of ``key`` of ``stage``, or None when the run has none."""
        return self._paths.get(layout.input_name(stage, key))

    def has(self, *pairs: tuple[str, str]) -> bool:
        """Whether every ``(stage, key)`` of ``pairs`` is present."""
        return all(self.path(stage, key) is not None for stage, key in pairs)

    @property
    def root(self) -> Path | None:
        """The results folder the present files lie in (``results/<run>``), None when none is present."""
        for stage, keys in layout.STAGES.items():
            for key in keys:
                path = self.path(stage, key)
                if path is not None:
                    return path.parents[len(Path(layout.name(stage, key)).parts)]
        return None


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


def read_table(path) -> pd.DataFrame:
    """A stage's TSV table with its header."""
    return pd.read_csv(path, sep="\t")


def _need_truth(path, truth_dir):
    if truth_dir is None:
        raise InputError(path, "a truth-graded number needs the simulation's truth folder (truth_dir)")


def truth_snp_scores(sad_path, truth_dir: Path | None, score: str) -> pd.DataFrame:
    """Truth SNPs (id, role) joined to their score in the SAD table ``sad_path``; ``score`` is a column or
    ``abs(column)``."""
    _need_truth(sad_path, truth_dir)
    truth = pd.read_csv(layout.truth_file(truth_dir, "snps"), sep="\t", usecols=["id", "role"])
    absolute = score.startswith("abs(") and score.endswith(")")
    column = score[4:-1] if absolute else score
    sad = read_sad(sad_path, targets=False)
    # a multi-allelic record gives several rows per id: the SNP counts by its strongest allele
    values = sad[column].abs() if absolute else sad[column]
    sad = pd.DataFrame({"id": sad["id"], "score": values}).groupby("id", as_index=False)["score"].max()
    return truth.merge(sad, on="id", how="inner")


def causal_auroc(frame: pd.DataFrame) -> float:
    """AUROC of causal (in-site) against bystander SNPs by score: P(score causal > score bystander), ties 1/2."""
    frame = frame[frame["role"].isin(CAUSAL_ROLES + NULL_ROLES)]
    return float(auroc(frame["role"].isin(CAUSAL_ROLES).to_numpy(), frame["score"].to_numpy())[0])


def causal_top(frame: pd.DataFrame) -> float:
    """Fraction of causal SNPs among the top-n SNPs by score, n = the number of causal SNPs (NaN without one);
    SNPs tied at the cut are taken in the order of the frame (a stable sort)."""
    frame = frame[frame["role"].isin(CAUSAL_ROLES + NULL_ROLES)]
    n = int(frame["role"].isin(CAUSAL_ROLES).sum())
    if n == 0:
        return float("nan")
    top = frame.sort_values("score", ascending=False, kind="mergesort").head(n)
    return float(top["role"].isin(CAUSAL_ROLES).mean())


def insertion_rho(insertion_path, truth_dir: Path | None) -> pd.Series:
    """Per planted factor: Spearman correlation across cell types between the motif-insertion effect (the
    insertion table ``insertion_path``) and the factor's planted activity (``truth/cell_factor_activity.tsv``).
    With a sheet of several assays per cell type, the cell types' DNase features (``sample_cells`` of
    ``truth/simulation.json``)."""
    _need_truth(insertion_path, truth_dir)
    insertion = read_table(insertion_path).set_index("motif")
    activity = pd.read_csv(layout.truth_file(truth_dir, "cell_activity"), sep="\t").set_index("cell")
    summary = layout.truth_file(truth_dir, "summary")
    rows = json.loads(summary.read_text()).get("sample_cells", {}) if summary.exists() else {}
    # a target is a cell type of the truth (Basset's sheets), or a DNase row of one (sheets with several assays)
    cell_of = {t: t if t in activity.index else rows.get(t, {}).get("cell") for t in insertion.columns
               if t in activity.index or rows.get(t, {}).get("assay") == "dnase"}
    targets = [t for t, c in cell_of.items() if c in activity.index]
    rho = {}
    for motif in insertion.index:
        if motif in activity.columns and len(targets) > 2:
            rho[motif] = float(spearmanr(insertion.loc[motif, targets],
                                         activity.loc[[cell_of[t] for t in targets], motif]).statistic)
    return pd.Series(rho, dtype=float)


_ROW = re.compile(r"^(?P<col>[^\[\]]+)\[(?P<sel>[^\]]+)\]$")
_FUNC = re.compile(r"^(?P<fn>[a-z_]+)\((?P<arg>.*)\)$")


def _function_value(path: Path, source_key: str, fn: str, arg: str, truth_dir):
    if fn == "causal_auroc":
        return causal_auroc(truth_snp_scores(path, truth_dir, arg))
    if fn == "causal_top":
        return causal_top(truth_snp_scores(path, truth_dir, arg))
    if fn == "insertion_rho":
        rho = insertion_rho(path, truth_dir)
        return float(rho.mean()) if arg == "mean" else int((rho > 0).sum())
    table = read_table(path)
    if fn == "mean":
        return float(table[arg].mean())
    if fn == "median":
        return float(table[arg].median())
    if fn == "min":
        return float(table[arg].min())
    if fn == "sum":
        return _scalar(table[arg].sum())
    if fn == "rows":
        return int(len(table))
    if fn == "count":
        a, b = arg.split(">")
        return int((table[a] > table[b]).sum())
    raise InputError(path, f"unknown function {fn!r} in source key {source_key!r}")


def _row_value(path: Path, col: str, sel: str):
    table = read_table(path)
    if sel.startswith("#"):
        return _scalar(table[col].iloc[int(sel[1:])])
    field_, value = sel.split("=", 1)
    hit = table[table[field_].astype(str) == value]
    if len(hit) != 1:
        raise InputError(path, f"expected one row with {field_}={value}, found {len(hit)}")
    return _scalar(hit[col].iloc[0])


def resolve_source(path, source_key: str, truth_dir=None):
    """The value that ``source_key`` names in the stage table ``path``. The grammar:

    - ``key``: the value of ``key`` in a key/value summary;
    - ``a/b``: ratio of two keys of a key/value summary;
    - ``col[field=value]``: column ``col`` of the row whose ``field`` is ``value``; ``col[#i]``: of row ``i``
      (0-based, in the table's order);
    - ``mean(col)``, ``median(col)``, ``min(col)``, ``sum(col)``, ``count(a>b)``, ``rows()``: over the rows of a table
      (a ``True``/``False`` column counts as 1/0);
    - truth-graded, on simulated data (``truth_dir``: the simulation's truth folder): ``causal_auroc(score)``
      and ``causal_top(score)`` over a SAD table and ``truth/snps.tsv`` (score: a SAD column or
      ``abs(column)``), and ``insertion_rho(mean)`` / ``insertion_rho(positive)`` over a motif-insertion table
      and ``truth/cell_factor_activity.tsv``.
    """
    path = Path(path)
    func = _FUNC.match(source_key)
    if func:
        return _function_value(path, source_key, func.group("fn"), func.group("arg"), truth_dir)
    row = _ROW.match(source_key)
    if row:
        return _row_value(path, row.group("col"), row.group("sel"))
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
    format: str = "3f"  # 3f, 3g (3 significant digits, for small values), int, p, pct, text
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
    if style == "3g":
        return f"{value:.3g}"
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


def run_paper_comparison(files: RunFiles, paper_aucs, paper_targets=None) -> pd.DataFrame | None:
    """:func:`paper_comparison` of the run's per-target metrics, None without them."""
    metrics = files.path("evaluate", "metrics")
    return None if metrics is None else paper_comparison(read_table(metrics), paper_aucs, paper_targets)


class _Numbers:
    """The headline numbers as they are collected: :meth:`add` resolves one from its stage table."""

    def __init__(self, files: RunFiles, truth_dir: Path | None):
        self.files, self.truth_dir, self.rows = files, truth_dir, []

    def add(self, id_, section, name, file: tuple[str, str], source_key, style="3f", **paper):
        value = resolve_source(self.files.path(*file), source_key, self.truth_dir)
        self.rows.append(Headline(id_, section, name, value, source_name(*file), source_key, style, **paper))

    def truth(self, key: str) -> bool:
        """Whether the simulation's truth folder holds its file ``key`` (:data:`basset.layout.OUTPUTS`)."""
        return self.truth_dir is not None and layout.truth_file(self.truth_dir, key).exists()


def _evaluation_numbers(n: _Numbers, paper: pd.DataFrame | None, paper_aucs) -> None:
    f = ("evaluate", "summary")
    if not n.files.has(f):
        return
    ev, s = read_kv(n.files.path(*f)), "Figure 2"
    papers = {}
    if paper is not None:
        # over the targets our mean and median are over: those with an AUROC of ours (n_targets_scored)
        source, scored = Path(paper_aucs).name, paper.loc[paper["auroc"].notna(), "paper_auroc"]
        where = "" if len(scored) == len(paper) else f" over the {len(scored)} targets scored here"
        papers = {"mean_auroc": (float(scored.mean()), f"{source}: mean of column 2{where}"),
                  "median_auroc": (float(scored.median()), f"{source}: median of column 2{where}")}
    n.add("n_targets", s, "targets scored", f, "n_targets_scored" if "n_targets_scored" in ev else "n_targets",
          "int")
    n.add("n_test_sites", s, "test sites", f, "n_test_sites", "int")
    for key, name in (("mean_auroc", "mean AUROC (CNN)"), ("median_auroc", "median AUROC (CNN)")):
        pv, ps = papers.get(key, (None, ""))
        n.add(key, s, name, f, key, paper_value=pv, paper_source=ps)
    n.add("mean_auprc", s, "mean AUPRC (CNN)", f, "mean_auprc")
    if "kmer_mean_auroc" in ev:  # written only when the k-mer baseline ran
        n.add("kmer_mean_auroc", s, "mean AUROC (k-mer baseline)", f, "kmer_mean_auroc")
        n.add("cnn_minus_kmer_mean_auroc", s, "CNN − k-mer, mean AUROC", f, "cnn_minus_kmer_mean_auroc")
        n.add("n_targets_cnn_better", s, "targets where the CNN beats the k-mer baseline", f,
              "n_targets_cnn_better", "int")
    if "gkmsvm_mean_auroc" in ev:  # the paper's baseline, on a few cell types and a shared subsample of test sites
        n.add("gkmsvm_targets", s, "cell types with a gkm-SVM", f, "gkmsvm_targets", "int")
        n.add("gkmsvm_test_sites", s, "test sites the gkm-SVM scored", f, "gkmsvm_test_sites", "int")
        if "gkmsvm_train_sites" in ev:
            n.add("gkmsvm_train_sites", s, "balanced training sites per gkm-SVM (at most)", f, "gkmsvm_train_sites",
                  "int")
        n.add("gkmsvm_mean_auroc", s, "mean AUROC (gkm-SVM) on those sites", f, "gkmsvm_mean_auroc")
        n.add("cnn_mean_auroc_gkmsvm_sites", s, "mean AUROC (CNN) on the same sites and cell types", f,
              "cnn_mean_auroc_gkmsvm_sites")
        if "kmer_mean_auroc_gkmsvm_sites" in ev:
            n.add("kmer_mean_auroc_gkmsvm_sites", s, "mean AUROC (k-mer baseline) on the same sites and cell types",
                  f, "kmer_mean_auroc_gkmsvm_sites")
    for cls in SITE_CLASSES:
        if f"{cls}_mean_auroc" in ev:
            n.add(f"{cls}_mean_auroc", s, f"mean AUROC, {cls} sites", f, f"{cls}_mean_auroc")
    a = ("evaluate", "assay_summary")
    if n.files.has(a):  # dataset.mode deepsea: DeepSEA's evaluation by assay
        by_assay = read_kv(n.files.path(*a))
        for key in by_assay:
            if key.endswith("_median_auroc"):
                assay = key[: -len("_median_auroc")]
                n.add(f"{assay}_features", s, f"{assay} features", a, f"{assay}_features", "int")
                n.add(key, s, f"median AUROC of the {assay} features", a, key)
                n.add(f"{assay}_median_auprc", s, f"median AUPRC of the {assay} features", a, f"{assay}_median_auprc")


#: the filter counts: key, label, format, source key in the motif summary, source key in the filter table
FILTER_COUNTS = (("filters", "first-layer filters", "int", "filters", "rows()"),
                 ("annotated", "filters matching a database motif", "int", "annotated", "sum(annotated)"),
                 ("fraction_annotated", "fraction of filters annotated", "pct", "annotated/filters", "mean(annotated)"))


def _filter_numbers(n: _Numbers) -> None:
    s, f = "Figure 3", ("motifs", "summary")
    if n.files.has(f):
        for key, label, fmt, source, _ in FILTER_COUNTS:
            n.add(key, s, label, f, source, fmt)
        summary = read_kv(n.files.path(*f))
        if "engine" in summary:  # which Tomtom ran: basset (ours), memelite or meme (MEME's program)
            n.add("tomtom_engine", s, "Tomtom engine", f, "engine", "text")
            n.add("tomtom_distance", s, "Tomtom column distance", f, "distance", "text")
        if "influence_formula" in summary:  # paper: per cell type the squared mean change; or per_sequence
            n.add("influence_formula", s, "filter influence formula", f, "influence_formula", "text")
        if "planted_factors" in summary:
            n.add("planted_factors", s, "planted factors", f, "planted_factors", "int")
            n.add("planted_factors_recovered", s, "planted factors recovered by a filter", f,
                  "planted_factors_recovered", "int")
            n.add("fraction_recovered", s, "fraction of planted factors recovered", f, "fraction_recovered", "pct")
    t = ("motifs", "filter_summary")
    if n.files.has(t):
        table = read_table(n.files.path(*t))
        if not n.files.has(f) and "annotated" in table:  # the same counts, from the filter table
            for key, label, fmt, _, source in FILTER_COUNTS:
                n.add(key, s, label, t, source, fmt)
        for i in range(min(5, len(table))):
            n.add(f"influence_{i + 1}_filter", s, f"influence leader {i + 1}: filter", t, f"filter[#{i}]", "text")
            if isinstance(_scalar(table["best_name"].iloc[i]), str):  # read_table reads an empty cell as NaN
                n.add(f"influence_{i + 1}_match", s, f"influence leader {i + 1}: best match", t,
                      f"best_name[#{i}]", "text")
            n.add(f"influence_{i + 1}_value", s, f"influence leader {i + 1}: influence", t, f"influence[#{i}]",
                  "3g")  # squared mean changes in probability: often below 0.001
    ins = ("motifs", "insertion")
    if n.files.has(ins) and n.truth("cell_activity"):
        n.add("insertion_rho_mean", s, "motif insertion vs planted activity: mean Spearman ρ", ins,
              "insertion_rho(mean)")
        n.add("insertion_rho_positive", s, "planted motifs whose insertion effect follows their activity (ρ > 0)",
              ins, "insertion_rho(positive)", "int")


def _satmut_numbers(n: _Numbers) -> None:
    s, f = "Figure 4", ("satmut", "summary")
    if n.files.has(f):
        n.add("satmut_sites", s, "sites mutated", f, "sites", "int")
        n.add("satmut_nucleotides", s, "nucleotides scored", f, "nucleotides", "int")
    f = ("satmut", "phylop")
    if not n.files.has(f):
        return
    table = read_table(n.files.path(*f))
    for features in ("loss", "gain", "both"):
        if (table["features"] == features).sum() == 1:
            n.add(f"phylop_r_{features}", s, f"phyloP vs prediction from {features} scores: Pearson r", f,
                  f"r[features={features}]")
            n.add(f"phylop_p_{features}", s, f"phyloP vs prediction from {features} scores: p", f,
                  f"p[features={features}]", "p")
    if (table["features"] == "both").sum() == 1:
        n.add("phylop_n_test", s, "held-out nucleotides", f, "n_test[features=both]", "int")
        if "repeat_excluded" in table:  # soft-masked nucleotides left out, as the paper (non-repetitive only)
            n.add("phylop_repeat_excluded", s, "repeat (soft-masked) nucleotides left out of the regression", f,
                  "repeat_excluded[features=both]", "int")


def _variant_numbers(n: _Numbers) -> None:
    s = "Figure 5"
    if n.files.has(("variants", "summary")):
        n.add("snps_scored", s, "variants scored (SAD)", ("variants", "summary"), "scored", "int")
    f = ("variants", "pics_summary")
    if n.files.has(f):
        pe = read_kv(n.files.path(*f))
        n.add("pics_n_high", s, "likely causal SNPs (high PICS)", f, "n_high", "int")
        n.add("pics_n_low", s, "unlikely causal SNPs (low PICS)", f, "n_low", "int")
        n.add("pics_frac_high", s, "high-PICS SNPs above the SAD threshold", f, "frac_high", "pct")
        n.add("pics_frac_low", s, "low-PICS SNPs above the SAD threshold", f, "frac_low", "pct")
        for key, name in (("frac_high_any", "high-PICS SNPs above the threshold in some cell type"),
                          ("frac_low_any", "low-PICS SNPs above the threshold in some cell type")):
            if key in pe:
                n.add(f"pics_{key}", s, name, f, key, "pct")
        if "ratio" in pe:  # the paper's "more than 7x": frac_high / frac_low, with a bootstrap interval
            n.add("pics_ratio", s, "ratio of the fractions above the SAD threshold (high / low PICS)", f, "ratio")
            n.add("pics_ratio_ci_low", s, "fraction ratio: 95% bootstrap CI, low end", f, "ratio_ci_low")
            n.add("pics_ratio_ci_high", s, "fraction ratio: 95% bootstrap CI, high end", f, "ratio_ci_high")
        if "ratio_any" in pe:  # the same for |SAD| above the threshold in some cell type
            n.add("pics_ratio_any", s, "ratio of the fractions above the threshold in some cell type (high / low)", f,
                  "ratio_any")
            n.add("pics_ratio_any_ci_low", s, "that ratio: 95% bootstrap CI, low end", f, "ratio_any_ci_low")
            n.add("pics_ratio_any_ci_high", s, "that ratio: 95% bootstrap CI, high end", f, "ratio_any_ci_high")
        if "coding_ld_sets" in pe:  # the paper removed LD sets with a protein-coding SNP
            n.add("pics_ld_sets", s, "PICS LD sets", f, "coding_ld_sets", "int")
            n.add("pics_ld_sets_coding", s, "PICS LD sets removed for a protein-coding SNP", f, "coding_ld_sets_coding",
                  "int")
            n.add("pics_snps_coding_dropped", s, "PICS SNPs removed with those LD sets", f, "coding_snps_dropped",
                  "int")
        n.add("pics_mannwhitney_p", s, "enrichment p (Mann–Whitney, high vs low scores)", f, "mannwhitney_p", "p")
        n.add("pics_fisher_p", s, "enrichment p (Fisher, fraction above threshold)", f, "fisher_p", "p")
    f = ("variants", "delta_summary")
    if n.files.has(f):  # dataset.mode deepsea: DeepSEA's classes of the largest |Delta|, and the top SNP's profile
        ds = read_kv(n.files.path(*f))
        n.add("delta_top_max_abs", s, "top likely causal SNP: largest |Δ| over the features", f, "max_abs_delta")
        for key in ds:
            if key.endswith("_max_abs_delta") and key != "max_abs_delta":
                assay = key[: -len("_max_abs_delta")]
                n.add(f"delta_top_{assay}", s, f"top likely causal SNP: largest |Δ|, {assay} features", f, key)
        for group in ("likely", "unlikely"):
            for cls in ("strong", "moderate", "weak"):
                n.add(f"delta_{group}_{cls}", s, f"{group} causal SNPs with a {cls} largest |Δ|", f,
                      f"{group}_{cls}", "int")
    f = ("variants", "sad")
    if n.files.has(f) and n.truth("snps"):
        n.add("causal_auroc_max_abs", s, "causal vs bystander SNPs: AUROC of max |SAD|", f,
              "causal_auroc(max_abs_sad)")
        n.add("causal_auroc_abs_mean", s, "causal vs bystander SNPs: AUROC of |mean SAD|", f,
              "causal_auroc(abs(mean_sad))")
        n.add("causal_top_max_abs", s, "causal SNPs among the top-n by max |SAD| (n = causal SNPs)", f,
              "causal_top(max_abs_sad)", "pct")


def _transfer_numbers(n: _Numbers) -> None:
    s, f = "Figure 6", ("transfer", "table")
    if n.files.has(f):
        table = read_table(n.files.path(*f))
        # a column of no values is a model not trained (transfer.scratch false leaves scratch_auroc empty)
        measured = {col for col in table.columns if table[col].notna().any()}
        n.add("transfer_targets", s, "held-out targets", f, "rows()", "int")
        for col, name in (("full_auroc", "mean AUROC, trained with all targets"),
                          ("transfer_auroc", "mean AUROC, pre-trained then fine-tuned (transfer)"),
                          ("scratch_auroc", "mean AUROC, trained from scratch")):
            if col in measured:
                n.add(f"transfer_mean_{col}", s, name, f, f"mean({col})")
        if {"transfer_auroc", "scratch_auroc"} <= measured:
            n.add("transfer_better", s, "targets where transfer beats training from scratch", f,
                  "count(transfer_auroc>scratch_auroc)", "int")
    f = ("transfer", "summary")
    if n.files.has(f):
        tr = read_kv(n.files.path(*f))
        if "within_tolerance" in tr:
            tol = f" (±{tr['tolerance']})" if "tolerance" in tr else ""
            n.add("transfer_within", s, f"targets where transfer comes within tolerance{tol} of the full model", f,
                  "within_tolerance", "int")
        for key, name in (("mean_difference", "mean AUROC difference, transfer − full"),
                          ("max_shortfall", "largest shortfall of transfer against the full model")):
            if key in tr:
                n.add(f"transfer_{key}", s, name, f, key)


def _attribution_numbers(n: _Numbers) -> None:
    s, f = "Figure 7", ("attribution", "summary")
    if n.files.has(f):
        summary = read_kv(n.files.path(*f))
        n.add("modisco_lineages", s, "lineages explained", f, "lineages", "int")
        n.add("modisco_patterns", s, "TF-MoDISco patterns", f, "patterns", "int")
        n.add("modisco_seqlets", s, "seqlets in the patterns", f, "seqlets", "int")
        n.add("modisco_annotated", s, "patterns matching a database motif", f, "annotated", "int")
        if "planted_factors" in summary:
            n.add("modisco_planted", s, "planted factors", f, "planted_factors", "int")
            n.add("modisco_recovered", s, "planted factors recovered by a TF-MoDISco pattern", f,
                  "planted_factors_recovered", "int")
            n.add("modisco_fraction_recovered", s, "fraction of planted factors recovered by a pattern", f,
                  "fraction_recovered", "pct")
            if "planted_factors_by_name" in summary:
                n.add("modisco_by_name", s, "of them matched by the factor's own matrix or name", f,
                      "planted_factors_by_name", "int")
        if "pair" in summary:
            n.add("pair_name", s, "cooperative pair", f, "pair", "text")
            n.add("pair_expected_distance", s, "its planted centre-to-centre distance (bp)", f,
                  "pair_expected_distance", "3g")
            n.add("pair_composite_patterns", s, "composite patterns holding both motifs", f,
                  "pair_composite_patterns", "int")
            n.add("pair_composite_distance", s, "distance of the two motifs in the composite pattern (bp)", f,
                  "pair_composite_distance", "3g")
            n.add("pair_seqlet_pairs", s, "co-occurring seqlets of separate patterns", f, "pair_seqlet_pairs", "int")
    t = ("attribution", "truth")
    if n.files.has(t) and len(read_table(n.files.path(*t))):
        n.add("attribution_auroc_deeplift", s, "planted motif bases vs others: AUROC of DeepLIFT/SHAP (mean over "
                                              "lineages)", t, "mean(auroc_deeplift)")
        n.add("attribution_auroc_gxi", s, "the same for gradient x input", t, "mean(auroc_gradient_x_input)")
        n.add("attribution_auroc_deeplift_min", s, "lowest lineage AUROC of DeepLIFT/SHAP", t, "min(auroc_deeplift)")


def _coverage_numbers(n: _Numbers) -> None:
    """dataset.mode coverage: accuracy per track, the window ablation and the difference track."""
    s, f = "Coverage", ("evaluate", "coverage_summary")
    if n.files.has(f):
        kv = read_kv(n.files.path(*f))
        n.add("cov_test_windows", s, "test windows", f, "test_windows", "int")
        n.add("cov_tracks", s, "tracks", f, "tracks", "int")
        n.add("cov_mean_r_log", s, "mean Pearson r of log(1 + coverage), test bins", f, "mean_r_log")
        n.add("cov_median_r_log", s, "median Pearson r of log(1 + coverage)", f, "median_r_log")
        n.add("cov_mean_r_sum", s, "mean Pearson r of summed coverage across test windows", f, "mean_r_sum")
        for key in kv:
            if key.startswith("mean_r_log_"):
                n.add(f"cov_{key}", s, f"mean r of log coverage, {key[len('mean_r_log_'):]} tracks", f, key)
        n.add("cov_bin", s, "bin size (bp)", f, "bin", "int")
    f = ("evaluate", "ablation_summary")
    if n.files.has(f):
        kv = read_kv(n.files.path(*f))
        n.add("abl_long_bp", s, "ablation: long window (bp)", f, "long_bp", "int")
        n.add("abl_short_bp", s, "ablation: short window (bp)", f, "short_bp", "int")
        n.add("abl_bins", s, "ablation: central bins compared per window", f, "bins_compared", "int")
        n.add("abl_mean_r_long", s, "ablation: mean r of log coverage, long window", f, "mean_r_long")
        n.add("abl_mean_r_short", s, "ablation: mean r of log coverage, short window", f, "mean_r_short")
        for assay in [k[len("mean_r2_long_"):] for k in kv if k.startswith("mean_r2_long_")]:
            n.add(f"abl_{assay}_r2_long", s, f"ablation: variance of log {assay} coverage explained (mean r^2), long "
                                             "window", f, f"mean_r2_long_{assay}", "pct")
            n.add(f"abl_{assay}_r2_short", s, f"ablation: variance of log {assay} coverage explained, short window",
                  f, f"mean_r2_short_{assay}", "pct")
    f = ("variants", "delta_track_summary")
    if n.files.has(f):
        kv = read_kv(n.files.path(*f))
        n.add("dtrack_bins_moved", s, "difference track: bins the variant moves", f, "bins_moved", "int")
        n.add("dtrack_farthest_bp", s, "difference track: farthest moved bin from the variant (bp)", f,
              "farthest_bin_moved_bp", "int")
        for key in kv:
            if key.startswith("max_abs_delta_"):
                n.add(f"dtrack_max_abs_{key[len('max_abs_delta_'):]}", s,
                      f"difference track: largest |alt - ref| per bin, {key[len('max_abs_delta_'):]} tracks", f, key,
                      "3g")


def headline_numbers(inputs, truth_dir=None, paper_aucs=None, paper_targets=None) -> list[Headline]:
    """Every headline number of the report, each with its source (a stage table and a key in the grammar of
    :func:`resolve_source`). ``inputs``: ``{<stage>_<key>: path or None}`` (or a :class:`RunFiles`); absent
    tables contribute nothing. ``truth_dir``: the simulation's truth folder (truth-graded numbers)."""
    files = inputs if isinstance(inputs, RunFiles) else RunFiles(inputs)
    truth_dir = Path(truth_dir) if truth_dir and Path(truth_dir).exists() else None
    numbers = _Numbers(files, truth_dir)
    _evaluation_numbers(numbers, run_paper_comparison(files, paper_aucs, paper_targets), paper_aucs)
    _filter_numbers(numbers)
    _satmut_numbers(numbers)
    _variant_numbers(numbers)
    _transfer_numbers(numbers)
    _attribution_numbers(numbers)
    _coverage_numbers(numbers)
    return numbers.rows

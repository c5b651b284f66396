"""The report's words: its figure panels and sections, their titles and captions written from the run's headline
numbers (:mod:`.report_numbers`), and where each stage the config left out is named with the key that brings it
back.

Titles state what was measured, with the run's numbers, never what was hoped.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass

import numpy as np

from ..metrics import SITE_CLASSES
from .report_numbers import fmt, source_name


@dataclass
class Figure:
    """A drawn panel of the report."""

    label: str  # as the paper numbers it: "2A", "4B–D"
    section: str
    file: tuple[str, str]  # (stage, key) of basset.layout.STAGES
    title: str
    caption: str = ""


# Titles name what a panel shows, never what it was hoped to show; :func:`panel_titles` adds the run's numbers.
# Each panel: (label, section, (stage, key) of its PNG, title).
PANELS = [
    ("2A", "Figure 2", ("evaluate", "fig2a"), "Accessibility of test sites across cell types"),
    ("2B", "Figure 2", ("evaluate", "fig2b"), "CNN against the baselines"),
    ("2C", "Figure 2", ("evaluate", "fig2c"), "ROC curves"),
    ("2, site classes", "Figure 2", ("evaluate", "fig_classes"), "AUROC by site class"),
    ("2, assays", "Figure 2", ("evaluate", "fig_assay"), "AUROC by assay"),
    ("3A", "Figure 3", ("motifs", "fig3a"), "Information content against influence"),
    ("3B", "Figure 3", ("motifs", "fig3b"), "Annotated filters beside their best database match"),
    ("3C", "Figure 3", ("motifs", "fig3c"), "Filter influence per cell type"),
    ("3, filter logos", "Figure 3", ("motifs", "logos"), "Filter logos"),
    ("3, motif insertion", "Figure 3", ("motifs", "insertion_figure"), "Motif insertion"),
    ("4A", "Figure 4", ("satmut", "fig4a"), "Saturation mutagenesis maps"),
    ("4B–D", "Figure 4", ("satmut", "fig4bcd"), "PhyloP predicted from mutagenesis scores"),
    ("5A", "Figure 5", ("variants", "fig5a"), "SNPs above the SAD threshold, likely against unlikely causal"),
    ("5B", "Figure 5", ("variants", "fig5b"), "The top-scoring likely causal SNP"),
    ("5, assays", "Figure 5", ("variants", "fig_delta"), "The top likely causal SNP's Δ across assays"),
    ("7A", "Figure 7", ("attribution", "fig_patterns"), "TF-MoDISco patterns and their best database matches"),
    ("7B", "Figure 7", ("attribution", "fig_spacing"), "A cooperative pair in the patterns"),
    ("7C", "Figure 7", ("attribution", "fig_tracks"), "Attribution of one site per lineage"),
    ("C1", "Coverage", ("evaluate", "fig_coverage_tracks"), "Predicted and observed coverage over a test window"),
    ("C2", "Coverage", ("evaluate", "fig_coverage_r"), "Per-track Pearson r on the test windows"),
    ("C3", "Coverage", ("evaluate", "fig_ablation"), "Window-size ablation"),
    ("C4", "Coverage", ("variants", "fig_delta_track"), "Where in the window a variant acts"),
]
# Panels shown only when drawn, without a placeholder otherwise: DeepSEA's evaluation by assay and Delta profile
# (dataset.mode deepsea)
SHOWN_WHEN_DRAWN = {"2, assays", "5, assays", "C1", "C2", "C3", "C4"}
#: the sections of a coverage run (dataset.mode coverage, Basenji-style); the others belong to runs on sites
COVERAGE_SECTIONS = ("Coverage", "Figure 5")  # Figure 5: the variants scored, graded against the truth
# Figure 6 is drawn when transfer learning ran; it has no placeholder (its section says it was not run).
FIGURE_6 = ("6", "Figure 6", ("transfer", "fig6"), "Transfer learning")

# Each section's subject; :func:`section_titles` adds what this run measured.
SECTIONS = {
    "Figure 2": "Accessibility prediction across cell types",
    "Figure 3": "First-layer filters and their best database matches",
    "Figure 4": "In silico saturation mutagenesis",
    "Figure 5": "Genetic variants scored by SAD",
    "Figure 6": "Transfer learning to held-out cell types",
    "Figure 7": "Beyond the filters: DeepLIFT/SHAP attributions and TF-MoDISco motifs",
    "Coverage": "Coverage tracks predicted from sequence (Basenji-style)",
}

# What a section needs to be drawn: the stage, the (stage, key) of the table that shows it ran, and the config key
# that runs it (None: always part of the workflow).
SECTION_STAGES = {
    "Figure 2": ("evaluation", ("evaluate", "summary"), None),
    "Figure 3": ("filter analysis", ("motifs", "summary"), None),
    "Figure 4": ("saturation mutagenesis", ("satmut", "summary"), None),
    "Figure 5": ("SNP scoring (SAD)", ("variants", "summary"), "variants.vcf"),
    "Figure 6": ("transfer learning", ("transfer", "table"), "transfer.enabled"),
    "Figure 7": ("attributions and TF-MoDISco", ("attribution", "summary"), "attribution.enabled"),
    "Coverage": ("coverage evaluation", ("evaluate", "coverage_summary"), None),
}

# Panels drawn only when the config provides an input: the key, and the input it names.
PANEL_NEEDS = {
    "2, site classes": ("genome.genes", "a gene annotation"),
    "4B–D": ("genome.phylop", "a phyloP conservation track"),
    "5A": ("variants.pics", "a PICS fine-mapping table"),
    "5B": ("variants.pics", "a PICS fine-mapping table"),
    "7B": ("simulate.enabled", "the simulation's cooperative pairs"),
}

# How to bring back what a config key switched off.
KEY_HINTS = {
    "genome.genes": "set genome.genes to a GTF of gene annotations",
    "genome.phylop": "set genome.phylop to a phyloP bigWig",
    "variants.vcf": "set variants.vcf to a VCF of SNPs",
    "variants.pics": "set variants.pics to a PICS fine-mapping table (and variants.vcf to its SNPs)",
    "transfer.enabled": "set transfer.enabled to true",
    "attribution.enabled": "set attribution.enabled to true",
    "simulate.enabled": "set simulate.enabled to true (only simulated data carry a truth to grade against)",
    "report.paper_aucs": "set report.paper_aucs to the published model's per-target AUROCs",
}
CONFIG_SECTIONS = ("run", "seed", "samples", "simulate", "downloads", "genome", "variants", "transfer", "report",
                   "satmut", "motifs", "peaks", "dataset", "model", "train", "kmer", "gkmsvm", "evaluate",
                   "attribution")
_CONFIG_KEY = re.compile(r"\b(?:" + "|".join(CONFIG_SECTIONS) + r")(?:\.[A-Za-z_][A-Za-z0-9_]*)+\b")
# A skipped stage's name or key -> the sections it belongs to, when its name cites no figure.
_STAGE_WORDS = [
    (re.compile(r"site.class|genome\.genes|k-?mer", re.I), ("Figure 2",)),
    (re.compile(r"motif|filter|tomtom|insertion", re.I), ("Figure 3",)),
    (re.compile(r"phylop|conservation|satmut|mutagenesis", re.I), ("Figure 4",)),
    (re.compile(r"\bsad\b|snp|variant|pics|vcf", re.I), ("Figure 5",)),
    (re.compile(r"transfer", re.I), ("Figure 6",)),
    (re.compile(r"attribution|modisco|deeplift", re.I), ("Figure 7",)),
    (re.compile(r"planted|truth|simulat", re.I), ("Figure 3", "Figure 5", "Figure 7")),
]
_FIGURE_REF = re.compile(r"\bFig(?:ure)?s?\.?\s*([2-7](?:[A-Z](?:[-–][A-Z])?)?(?:\s*(?:,|and|&)\s*[2-7]"
                         r"(?:[A-Z](?:[-–][A-Z])?)?)*)", re.I)


# ---------------------------------------------------------------------------------------------------------
# skipped stages


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


def place_skipped(skipped: dict | None) -> list[Skipped]:
    """``{stage: reason}`` as :class:`Skipped`, each placed in the sections its name cites (``Figure 4``,
    ``Figures 4B-D``), else those its name or config key suggests (:data:`_STAGE_WORDS`), else none (it
    is listed only at the top of the report)."""
    out = []
    for stage, reason in (skipped or {}).items():
        stage, reason = str(stage), str(reason)
        key = _CONFIG_KEY.search(reason) or _CONFIG_KEY.search(stage)
        key = key.group(0) if key else None
        cited = [f"Figure {d}" for ref in _FIGURE_REF.findall(stage) for d in re.findall(r"(?<![A-Z])[2-7]", ref)]
        if not cited:
            for words, sections in _STAGE_WORDS:
                if words.search(stage) or (key and words.search(key)):
                    cited += sections
        sections = tuple(s for s in SECTIONS if s in cited)
        out.append(Skipped(stage, reason, key, sections))
    return out


# ---------------------------------------------------------------------------------------------------------
# captions and titles, from the headline numbers h (id -> Headline)


def number(h: dict, id_: str, style: str = "3f") -> str:
    """Headline ``id_`` of ``h`` (id -> Headline) formatted for a caption or title (:func:`fmt`), ``n/a`` when
    the run has no such number."""
    return fmt(h[id_].value, style) if id_ in h else "n/a"


def p_phrase(p) -> str:
    """A p-value in a sentence: ``= 0.012`` or ``< 1e-300``."""
    return "< 1e-300" if p == 0 else f"= {fmt(p, 'p')}"


def is_nan(value) -> bool:
    """Whether a headline value is a float NaN (a number the run could not measure)."""
    return isinstance(value, (float, np.floating)) and math.isnan(value)


def _evaluation_captions(h: dict, k: int | None) -> dict:
    v = functools.partial(number, h)
    if "mean_auroc" not in h:
        return {}
    caps, kmer, n = {}, f"{k}-mer" if k else "k-mer", v("n_targets", "int")
    caps["2A"] = (f"Accessibility (1) or not (0) of test sites (rows) in the {n} cell types (columns), both "
                  f"clustered; the CNN predicts these {v('n_test_sites', 'int')} held-out sites with mean AUROC "
                  f"{v('mean_auroc')} (median {v('median_auroc')}, mean AUPRC {v('mean_auprc')}).")
    if "kmer_mean_auroc" in h:
        caps["2B"] = (f"Test AUROC of each cell type, CNN against the {kmer} baseline (circles, every cell type): "
                      f"mean {v('mean_auroc')} against {v('kmer_mean_auroc')} "
                      f"(difference {v('cnn_minus_kmer_mean_auroc')}); the CNN is better on "
                      f"{v('n_targets_cnn_better', 'int')} of {n} cell types.")
    else:
        caps["2B"] = (f"Test AUROC of each cell type (mean {v('mean_auroc')}); no {kmer} baseline numbers in "
                      f"{source_name('evaluate', 'summary')}, so nothing to compare against.")
    if "gkmsvm_mean_auroc" in h:
        fitted = (f"at most {v('gkmsvm_train_sites', 'int')} balanced training sites" if "gkmsvm_train_sites" in h
                  else "a balanced subsample of the training sites")
        caps["2B"] += (f" Triangles: the paper's baseline, a gkm-SVM per cell type fitted on {fitted}, for "
                       f"{v('gkmsvm_targets', 'int')} cell types, scored with the "
                       f"CNN on the same {v('gkmsvm_test_sites', 'int')} test sites: mean AUROC "
                       f"{v('gkmsvm_mean_auroc')} against the CNN's {v('cnn_mean_auroc_gkmsvm_sites')}"
                       + (f" and the {kmer} baseline's {v('kmer_mean_auroc_gkmsvm_sites')}"
                          if "kmer_mean_auroc_gkmsvm_sites" in h else "")
                       + " (the paper, on 100,000 training sites: 0.780 against 0.895).")
    if h["mean_auroc"].paper_value is not None:
        caps["2B"] += (f" The published model's mean AUROC on the same {n} targets is "
                       f"{fmt(h['mean_auroc'].paper_value)}.")
    caps["2C"] = ("ROC curves of the cell types at the 5th, 33rd, 50th, 67th and 95th percentiles of the "
                  f"per-target AUROC (median {v('median_auroc')}).")
    assays = [k[: -len("_median_auroc")] for k in h if k.endswith("_median_auroc")]
    if assays:
        caps["2, assays"] = ("Test AUROC of each feature grouped by assay, as DeepSEA reports it; medians: "
                             + ", ".join(f"{a} {v(a + '_median_auroc')} ({v(a + '_features', 'int')} features)"
                                         for a in assays) + ".")
    classes = [c for c in SITE_CLASSES if f"{c}_mean_auroc" in h]
    if classes:
        caps["2, site classes"] = ("AUROC of each cell type within each site class; means: "
                                   + ", ".join(f"{c} {v(c + '_mean_auroc')}" for c in classes) + ".")
        unscored = [c for c in classes if is_nan(h[f"{c}_mean_auroc"].value)]
        if unscored:
            caps["2, site classes"] += (f" No AUROC for {', '.join(unscored)} sites (no test sites of that "
                                        f"class, or only one label among them).")
    return caps


def _influence_words(h: dict) -> str:
    """What a filter's influence on one cell type is, by the formula that ran (``motifs.influence``)."""
    change = "change in predicted accessibility when the filter's output is replaced by its mean"
    if "influence_formula" in h and h["influence_formula"].value == "per_sequence":
        return f"the mean over sites of the squared {change}"
    return f"the square of the mean over sites of the {change}, the paper's formula"


def _filter_captions(h: dict) -> dict:
    v = functools.partial(number, h)
    if "filters" not in h:
        return {}
    caps = {}
    caps["3A"] = (f"Information content against influence ({_influence_words(h)}, summed over cell types) for "
                  f"the {v('filters', 'int')} first-layer filters; "
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
    caps["3C"] = (f"Influence of each filter (rows) on each cell type's predictions (columns): {_influence_words(h)}; "
                  f"both axes clustered; at most the 50 most influential filters are shown.")
    caps["3, filter logos"] = "Logos of the filters, from the sequence windows that activate them most."
    caps["3, motif insertion"] = ("Mean change in predicted accessibility when each motif is inserted into "
                                  "background sequences, per cell type.")
    if "insertion_rho_mean" in h:
        caps["3, motif insertion"] += (f" Spearman ρ across cell types between a planted motif's effect and "
                                       f"its factor's planted activity: mean {v('insertion_rho_mean')}; "
                                       f"ρ > 0 for {v('insertion_rho_positive', 'int')} planted motifs.")
    return caps


def _satmut_captions(h: dict) -> dict:
    v = functools.partial(number, h)
    caps = {}
    if "satmut_sites" in h:
        caps["4A"] = (f"Saturation mutagenesis maps of the sites most strongly predicted accessible "
                      f"({v('satmut_nucleotides', 'int')} nucleotides of {v('satmut_sites', 'int')} sites scored "
                      f"in all).")
    if "phylop_r_both" in h:
        caps["4B–D"] = (f"PhyloP predicted by ridge regression from loss scores (B: r = {v('phylop_r_loss')}), "
                        f"gain scores (C: r = {v('phylop_r_gain')}) and both (D: r = {v('phylop_r_both')}, "
                        f"p {p_phrase(h['phylop_p_both'].value)}) on {v('phylop_n_test', 'int')} held-out "
                        f"nucleotides.")
        if "phylop_repeat_excluded" in h and h["phylop_repeat_excluded"].value:
            caps["4B–D"] += (f" As the paper (non-repetitive regions only), the {v('phylop_repeat_excluded', 'int')} "
                             f"soft-masked (repeat) nucleotides were left out.")
        elif "phylop_repeat_excluded" in h:
            caps["4B–D"] += (" No soft-masked (repeat) nucleotide was left out: the genome has none among them, or "
                             "satmut.exclude_repeats is off (the paper used non-repetitive regions only).")
    return caps


def _ratio_sentence(h: dict, key: str, where: str) -> str:
    """How many times as often likely causal SNPs are ``where`` as unlikely ones, with the bootstrap interval of
    headline ``key``; an unbounded ratio (no unlikely causal SNP there) or none (neither group) said in words."""
    v = functools.partial(number, h)
    ratio = h[key].value
    if is_nan(ratio):
        return f"No SNP of either group is {where}, so there is no ratio"
    if ratio == float("inf"):
        return f"Likely causal SNPs are {where} while no unlikely causal one is: the ratio is unbounded"
    return (f"Likely causal SNPs are {where} {v(key)} times as often as unlikely ones (95% bootstrap CI "
            f"{v(key + '_ci_low')}–{v(key + '_ci_high')})")


def _variant_captions(h: dict) -> dict:
    v = functools.partial(number, h)
    if "pics_n_high" not in h:
        return {}
    caps = {}
    caps["5A"] = (f"Fraction of SNPs whose SAD exceeds the threshold: {v('pics_frac_high', 'pct')} of "
                  f"{v('pics_n_high', 'int')} likely causal (high PICS) against {v('pics_frac_low', 'pct')} "
                  f"of {v('pics_n_low', 'int')} unlikely causal (low PICS) SNPs. One-sided Mann–Whitney p "
                  f"(likely causal scored higher) {p_phrase(h['pics_mannwhitney_p'].value)}; Fisher p on "
                  f"the fractions {p_phrase(h['pics_fisher_p'].value)}.")
    if "pics_ratio" in h:
        caps["5A"] += " " + _ratio_sentence(h, "pics_ratio", "above the threshold") + " (the paper: more than 7 times)."
    if "pics_ratio_any" in h:
        caps["5A"] += " " + _ratio_sentence(h, "pics_ratio_any", "above it in some cell type (max |SAD|)") + "."
    if "pics_ld_sets_coding" in h:
        caps["5A"] += (f" As the paper, the {v('pics_ld_sets_coding', 'int')} of {v('pics_ld_sets', 'int')} LD sets "
                       f"that hold a protein-coding SNP were removed first ({v('pics_snps_coding_dropped', 'int')} "
                       f"SNPs).")
    if "causal_auroc_max_abs" in h:
        caps["5A"] += (f" Against the simulation's truth, AUROC of max |SAD| for the SNPs that break or create "
                       f"a planted motif against bystanders: {v('causal_auroc_max_abs')} (0.5 is chance).")
    caps["5B"] = "Mutagenesis maps of the reference and alternative sequence around the top-scoring SNP."
    if "delta_top_max_abs" in h:  # dataset.mode deepsea: DeepSEA's reading of the same SNP
        assays = [k[len("delta_top_"):] for k in h if k.startswith("delta_top_") and k != "delta_top_max_abs"]
        caps["5, assays"] = (
            f"The Δ (SAD) of Figure 5B's SNP for every feature, grouped by assay: largest |Δ| "
            f"{v('delta_top_max_abs')}" + (" (" + ", ".join(f"{a} {v('delta_top_' + a)}" for a in assays) + ")"
                                           if assays else "")
            + ". DeepSEA's classes of a SNP's largest |Δ| (strong above 0.5, moderate 0.2-0.5, weak below 0.2): "
            f"likely causal SNPs {v('delta_likely_strong', 'int')} strong, {v('delta_likely_moderate', 'int')} "
            f"moderate, {v('delta_likely_weak', 'int')} weak; unlikely causal SNPs {v('delta_unlikely_strong', 'int')}"
            f" strong, {v('delta_unlikely_moderate', 'int')} moderate, {v('delta_unlikely_weak', 'int')} weak.")
    return caps


def _transfer_captions(h: dict) -> dict:
    v = functools.partial(number, h)
    if "transfer_targets" not in h and "transfer_within" not in h:
        return {}
    text = "AUROC of " + (f"{v('transfer_targets', 'int')} " if "transfer_targets" in h else "the ") + \
        "held-out cell types"
    parts = [f"{name} {v(f'transfer_mean_{col}')}" for col, name in
             (("transfer_auroc", "pre-trained then fine-tuned"), ("scratch_auroc", "from scratch"),
              ("full_auroc", "trained with all targets")) if f"transfer_mean_{col}" in h]
    caption = text + (": mean " + ", ".join(parts) if parts else "") + "."
    if "transfer_better" in h:
        caption += f" Transfer beats training from scratch on {v('transfer_better', 'int')} of them."
    if "transfer_within" in h:
        caption += f" It comes within tolerance of the full model on {v('transfer_within', 'int')}."
    return {"6": caption}


def _attribution_captions(h: dict) -> dict:
    v = functools.partial(number, h)
    caps = {}
    if "modisco_patterns" in h:
        caps["7A"] = (f"{v('modisco_patterns', 'int')} TF-MoDISco patterns ({v('modisco_seqlets', 'int')} seqlets) "
                      f"from the DeepLIFT/SHAP attributions of {v('modisco_lineages', 'int')} lineages; "
                      f"{v('modisco_annotated', 'int')} match a database motif.")
        if "modisco_recovered" in h:
            caps["7A"] += (f" They recover {v('modisco_recovered', 'int')} of the {v('modisco_planted', 'int')} "
                           f"planted factors ({v('modisco_fraction_recovered', 'pct')}"
                           + (f"; {v('modisco_by_name', 'int')} by the factor's own matrix or name, the others by a "
                              f"similar matrix of its family" if "modisco_by_name" in h else "") + ")")
            caps["7A"] += (f", the first-layer filters {v('planted_factors_recovered', 'int')} (Figure 3), by the "
                           f"same matching rule." if "planted_factors_recovered" in h else ".")
    if "pair_name" in h:
        caps["7B"] = (f"The planted {h['pair_name'].value} pair, {v('pair_expected_distance', '3g')} bp between motif "
                      f"centres: {v('pair_composite_patterns', 'int')} composite pattern(s) hold both motifs"
                      + (f", {v('pair_composite_distance', '3g')} bp apart" if "pair_composite_distance" in h
                         and not is_nan(h["pair_composite_distance"].value) else "")
                      + f"; {v('pair_seqlet_pairs', 'int')} co-occurring seqlets of separate patterns.")
    if "attribution_auroc_deeplift" in h:
        caps["7C"] = (f"Over all explained sites, the per-base DeepLIFT/SHAP contribution ranks planted motif bases "
                      f"above the others with AUROC {v('attribution_auroc_deeplift')} (mean over lineages; lowest "
                      f"{v('attribution_auroc_deeplift_min')}), gradient x input with {v('attribution_auroc_gxi')}.")
    return caps


def _assay_means(h: dict, prefix: str, style: str = "3f") -> str:
    """``dnase 0.812, cage 0.655`` from the headline numbers ``<prefix>_<assay>``."""
    return ", ".join(f"{k[len(prefix) + 1:]} {number(h, k, style)}" for k in h if k.startswith(prefix + "_"))


def _coverage_captions(h: dict) -> dict:
    v = functools.partial(number, h)
    caps = {}
    if "cov_mean_r_log" in h:
        caps["C1"] = (f"Observed (grey) and predicted (line) coverage in {v('cov_bin', 'int')} bp bins over the test "
                      "window with the most coverage, for the first tracks of the sample sheet.")
        caps["C2"] = (f"Pearson r of log(1 + coverage) per track over every bin of the {v('cov_test_windows', 'int')} "
                      f"test windows: mean {v('cov_mean_r_log')} ({_assay_means(h, 'cov_mean_r_log')}); r of each "
                      f"window's summed coverage across windows: mean {v('cov_mean_r_sum')}.")
    if "abl_long_bp" in h:
        caps["C3"] = (f"The same {v('abl_bins', 'int')} central bins of each test window predicted by the model that "
                      f"reads {v('abl_long_bp', 'int')} bp and by one that reads only the centre "
                      f"{v('abl_short_bp', 'int')} bp: mean r {v('abl_mean_r_long')} against {v('abl_mean_r_short')}."
                      + (f" Of the variance of log CAGE-like coverage, the long window explains "
                         f"{v('abl_cage_r2_long', 'pct')} and the short one {v('abl_cage_r2_short', 'pct')} (mean r^2 "
                         "over the cage tracks); enhancers beyond the short window are visible to the long one only."
                         if "abl_cage_r2_long" in h else ""))
    if "dtrack_bins_moved" in h:
        caps["C4"] = (f"Predicted alt - ref coverage along the window of the variant with the largest summed effect: "
                      f"{v('dtrack_bins_moved', 'int')} bins move, the farthest {v('dtrack_farthest_bp', 'int')} bp "
                      f"from the variant; beyond the model's reach (shaded) the difference is exactly 0. Largest "
                      f"|difference| per bin: {_assay_means(h, 'dtrack_max_abs', '3g')}.")
    return caps


def captions(h: dict, k: int | None) -> dict:
    """Caption of each panel (label -> text), from the headline numbers ``h`` (id -> Headline); ``k``: the
    k-mer baseline's k."""
    return {**_evaluation_captions(h, k), **_filter_captions(h), **_satmut_captions(h), **_variant_captions(h),
            **_transfer_captions(h), **_attribution_captions(h), **_coverage_captions(h)}


def panel_titles(h: dict, k: int | None) -> dict:
    """Panel titles with the run's numbers (``h``: id -> Headline) where the bare title would leave the result
    open; other panels keep their :data:`PANELS` title."""
    v = functools.partial(number, h)

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
    if "modisco_recovered" in h:
        titles["7A"] += (f" ({v('modisco_recovered', 'int')} of {v('modisco_planted', 'int')} planted factors "
                         f"recovered)")
    if "pics_frac_high" in h:
        titles["5A"] = (f"SNPs above the SAD threshold: {v('pics_frac_high', 'pct')} of likely causal, "
                        f"{v('pics_frac_low', 'pct')} of unlikely causal")
    return titles


def section_titles(h: dict, k: int | None) -> dict:
    """Each section's title: its subject (:data:`SECTIONS`) and what this run measured, from the headline
    numbers ``h`` (id -> Headline); a section without numbers gets its subject only."""
    v = functools.partial(number, h)

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
    if "cov_mean_r_log" in h:
        titles["Coverage"] += (f": mean r of log coverage {v('cov_mean_r_log')} over {v('cov_tracks', 'int')} tracks"
                               + (f"; CAGE-like r^2 {v('abl_cage_r2_long', 'pct')} with the long window, "
                                  f"{v('abl_cage_r2_short', 'pct')} with the short one" if "abl_cage_r2_long" in h
                                  else ""))
    if "modisco_patterns" in h:
        titles["Figure 7"] += f": {v('modisco_patterns', 'int')} patterns"
        if "modisco_recovered" in h:
            titles["Figure 7"] += (f", {v('modisco_recovered', 'int')} of {v('modisco_planted', 'int')} planted "
                                   f"factors recovered")
    return titles

"""The run's HTML report (basset.stages.report): every headline number is checked against truth planted in
synthetic stage tables (each key the report reads has its own value, so a number read from the wrong key, column
or row, or computed with the wrong statistic or threshold, differs), every figure it names is embedded as a valid
PNG, and the page renders in headless Chromium (when installed)."""

import base64
import gzip
import html
import json
import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import SHARED_REFERENCE, run_script

from basset import layout
from basset.errors import InputError
from basset.layout import REPORT_INPUTS
from basset.stages.report import make_report, report_inputs
from basset.stages.report_html import PNG_SIGNATURE
from basset.stages.report_numbers import (
    FILTER_COUNTS,
    RunFiles,
    _scalar,
    causal_top,
    fmt,
    headline_numbers,
    insertion_rho,
    paper_comparison,
    read_kv,
    resolve_source,
    run_paper_comparison,
    truth_snp_scores,
)
from basset.stages.report_text import FIGURE_6, PANELS, SECTIONS, place_skipped

ROOT = Path(__file__).resolve().parents[1]
TARGETS = ["ery_1", "hep_1", "lym_1", "mye_1"]
#: the panels of a run on sites (Basset's and DeepSEA's modes); the Coverage section's belong to coverage runs
SITE_PANELS = [p for p in PANELS if p[1] != "Coverage"]
AUROCS = [0.6101, 0.6203, 0.6307, 0.6409]  # metrics.tsv, per target


def tiny_png(width=3, height=2, shade=128) -> bytes:
    """A valid greyscale PNG, written by hand (no plotting in these tests)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + bytes([shade]) * width for _ in range(height))
    return (PNG_SIGNATURE + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def _kv(path, items):
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"key": list(items), "value": list(items.values())}).to_csv(path, sep="\t", index=False)


def _tsv(path, frame):
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, sep="\t", index=False)


# ---------------------------------------------------------------------------------------------------------
# a run whose every table carries planted values, and the numbers the report must draw from them

EVALUATE = {  # evaluate/summary.tsv; the median_*, kmer_median_* and *_sites keys are decoys the report never shows
    "n_test_sites": 1234, "rc_average": True, "n_targets": 23, "n_targets_scored": 17, "mean_auroc": 0.6271,
    "median_auroc": 0.6248, "mean_auprc": 0.4117, "median_auprc": 0.4033, "kmer_mean_auroc": 0.5838,
    "kmer_median_auroc": 0.5791, "cnn_minus_kmer_mean_auroc": 0.0433, "n_targets_cnn_better": 13,
    "gkmsvm_targets": 4, "gkmsvm_test_sites": 400, "gkmsvm_mean_auroc": 0.5512,
    "cnn_mean_auroc_gkmsvm_sites": 0.6389, "kmer_mean_auroc_gkmsvm_sites": 0.5907, "gkmsvm_train_sites": 256,
    "promoter_sites": 71, "promoter_mean_auroc": 0.6644, "intragenic_sites": 52, "intragenic_mean_auroc": 0.6122,
    "intergenic_sites": 38, "intergenic_mean_auroc": 0.5977}

# motifs/filter_summary.tsv as the motifs stage writes it: sorted by influence, 4 of 7 annotated; the 6th filter
# (annotated, influence 0.0105) is past the five leaders
FILTERS = pd.DataFrame({
    "filter": ["filter12", "filter3", "filter40", "filter7", "filter0", "filter55", "filter9"],
    "nsites": [31, 17, 44, 12, 9, 25, 6], "ic": [9.1, 4.2, 8.8, 7.7, 3.1, 10.4, 2.2],
    "consensus": "ACGT", "delta_loss": [0.51, 0.42, 0.33, 0.24, 0.15, 0.06, 0.01],
    "influence": [0.0871, 0.0613, 0.0452, 0.0311, 0.0207, 0.0105, 0.0042],
    "annotated": [True, False, True, True, False, True, False],
    "best_id": ["MA0035.4", None, "MA9999.1", "MA0114.4", None, "MA0139.1", None],
    "best_name": ["GATA1", None, "<b>A&B</b>", "HNF4A", None, "CTCF", None],
    "best_q": [0.011, None, 0.022, 0.033, None, 0.044, None], "orientation": ["+", None, "-", "+", None, "-", None]})

# motifs/insertion.tsv (motif x cell) and truth/cell_factor_activity.tsv (cell x factor), built so that the Spearman
# rho across the four cells is 0.8 for GATA1, exactly 0 for HNF4A and -0.4 for CTCF. The activity lists its cells
# in another order than the insertion table, and holds a cell (neu_1) and a factor (SPI1) the insertion lacks;
# NOT_PLANTED is no factor of the simulation.
INSERTION = pd.DataFrame({"motif": ["GATA1", "HNF4A", "CTCF", "NOT_PLANTED"],
                          "ery_1": [0.40, 0.05, -0.2, 9.0], "hep_1": [0.10, 0.15, -0.1, 1.0],
                          "lym_1": [0.20, 0.25, 0.0, 5.0], "mye_1": [0.30, 0.35, 0.1, 3.0]})
ACTIVITY = pd.DataFrame({"cell": ["mye_1", "neu_1", "lym_1", "ery_1", "hep_1"],
                         "GATA1": [0.33, 5.0, 0.11, 0.44, 0.22], "HNF4A": [0.3, 5.0, 0.1, 0.2, 0.4],
                         "CTCF": [0.7, 5.0, 0.8, 0.9, 0.6], "SPI1": [1.0, 2.0, 3.0, 4.0, 5.0]})

# satmut/phylop_regression.tsv, its rows not in loss/gain/both order
PHYLOP = pd.DataFrame({"features": ["gain", "both", "loss"], "n_train": [801, 844, 799], "n_test": [205, 211, 199],
                       "alpha": 10, "r": [0.3131, 0.4242, 0.2020], "p": [1.2e-9, 0.0, 4.4e-7],
                       "repeat_excluded": 57})

# truth/snps.tsv and variants/sad.tsv.gz: three causal SNPs (s01-s03), five scored bystanders (s05-s08, s10) and
# one SNP that changes a motif outside a site (s04, in neither class) with the highest score; s02 is multi-allelic
# (three rows; its strongest allele counts: max_abs_sad 0.70, |mean_sad| 0.45); s09 is in the truth but was not
# scored, z01 was scored but is no truth SNP. By max_abs_sad (causal .90, .70, .30 against bystanders .80, .50,
# .30, .10, .05): c1 beats all 5, c2 beats 4 (not .80), c3 beats 2 and ties 1 (1/2): AUROC 11.5/15; top 3 = s01,
# s05, s02: 2 of 3 causal. By |mean_sad| (.60, .45, .02 against .30, .50, .04, .035, .025): 5 + 4 + 0 = 9 of 15.
SNP_ROLES = {"s01": "causal_break", "s02": "causal_break", "s03": "causal_create", "s04": "causal_outside_site",
             "s05": "bystander", "s06": "bystander", "s07": "bystander", "s08": "bystander", "s09": "bystander",
             "s10": "bystander"}
SAD_ROWS = [("s05", 0.80, 0.30), ("s02", 0.40, 0.05), ("s01", 0.90, -0.60), ("z01", 0.95, 0.99),
            ("s07", 0.30, 0.04), ("s02", 0.70, -0.45), ("s03", 0.30, 0.02), ("s04", 0.99, 0.90),
            ("s06", 0.50, -0.50), ("s02", 0.20, 0.10), ("s10", 0.05, 0.025), ("s08", 0.10, -0.035)]

PICS = {"score": "abs_mean", "high": 0.5, "low": 0.01, "sad_threshold": 0.1, "n_pics": 45, "n_matched": 40,
        "n_high": 17, "n_low": 23, "frac_high": 0.411765, "frac_low": 0.130435, "mean_high": 0.2222,
        "mean_low": 0.0707, "mannwhitney_u": 301.0, "mannwhitney_p": 3.3e-05, "fisher_odds_ratio": 4.67,
        "fisher_p": 0.0123, "frac_high_any": 0.529412, "frac_low_any": 0.217391, "ratio": 3.156863,
        "ratio_ci_low": 1.0625, "ratio_ci_high": 11.5, "ratio_any": 2.435294, "ratio_any_ci_low": 1.1,
        "ratio_any_ci_high": float("inf"), "n_boot": 10000, "coding_ld_sets": 12, "coding_ld_sets_coding": 2,
        "coding_rows_dropped": 9, "coding_snps_before": 54, "coding_snps_dropped": 9}

# transfer/transfer.tsv: transfer beats scratch on t1 and t4 only (t2 is a tie, 0.86 against 0.86)
TRANSFER = pd.DataFrame({"target": ["t1", "t2", "t3", "t4", "t5"], "full_auroc": [0.81, 0.83, 0.79, 0.85, 0.77],
                         "transfer_auroc": [0.80, 0.86, 0.74, 0.85, 0.70],
                         "scratch_auroc": [0.72, 0.86, 0.75, 0.60, 0.71]})
TRANSFER_SUMMARY = {"holdout": 5, "public_targets": 18, "passes": 1, "tolerance": 0.03, "within_tolerance": 3,
                    "mean_full_auroc": 0.81, "mean_transfer_auroc": 0.79, "mean_scratch_auroc": 0.728,
                    "mean_difference": -0.02, "max_shortfall": 0.07}

# id -> (value, as the page prints it), in the report's order
EXPECTED = {
    "n_targets": (17, "17"), "n_test_sites": (1234, "1,234"), "mean_auroc": (0.6271, "0.627"),
    "median_auroc": (0.6248, "0.625"), "mean_auprc": (0.4117, "0.412"), "kmer_mean_auroc": (0.5838, "0.584"),
    "cnn_minus_kmer_mean_auroc": (0.0433, "0.043"), "n_targets_cnn_better": (13, "13"),
    "gkmsvm_targets": (4, "4"), "gkmsvm_test_sites": (400, "400"), "gkmsvm_train_sites": (256, "256"),
    "gkmsvm_mean_auroc": (0.5512, "0.551"), "cnn_mean_auroc_gkmsvm_sites": (0.6389, "0.639"),
    "kmer_mean_auroc_gkmsvm_sites": (0.5907, "0.591"),
    "promoter_mean_auroc": (0.6644, "0.664"), "intragenic_mean_auroc": (0.6122, "0.612"),
    "intergenic_mean_auroc": (0.5977, "0.598"),
    "filters": (97, "97"), "annotated": (41, "41"), "fraction_annotated": (41 / 97, "42.3%"),
    "tomtom_engine": ("basset", "basset"), "tomtom_distance": ("pearson", "pearson"),
    "influence_formula": ("paper", "paper"),
    "planted_factors": (7, "7"), "planted_factors_recovered": (5, "5"), "fraction_recovered": (0.714286, "71.4%"),
    "influence_1_filter": ("filter12", "filter12"), "influence_1_match": ("GATA1", "GATA1"),
    "influence_1_value": (0.0871, "0.0871"),
    "influence_2_filter": ("filter3", "filter3"), "influence_2_value": (0.0613, "0.0613"),
    "influence_3_filter": ("filter40", "filter40"), "influence_3_match": ("<b>A&B</b>", "<b>A&B</b>"),
    "influence_3_value": (0.0452, "0.0452"),
    "influence_4_filter": ("filter7", "filter7"), "influence_4_match": ("HNF4A", "HNF4A"),
    "influence_4_value": (0.0311, "0.0311"),
    "influence_5_filter": ("filter0", "filter0"), "influence_5_value": (0.0207, "0.0207"),
    "insertion_rho_mean": ((0.8 + 0.0 - 0.4) / 3, "0.133"), "insertion_rho_positive": (1, "1"),
    "satmut_sites": (12, "12"), "satmut_nucleotides": (7200, "7,200"),
    "phylop_r_loss": (0.2020, "0.202"), "phylop_p_loss": (4.4e-7, "4.4e-07"),
    "phylop_r_gain": (0.3131, "0.313"), "phylop_p_gain": (1.2e-9, "1.2e-09"),
    "phylop_r_both": (0.4242, "0.424"), "phylop_p_both": (0.0, "< 1e-300"), "phylop_n_test": (211, "211"),
    "phylop_repeat_excluded": (57, "57"),
    "snps_scored": (29, "29"), "pics_n_high": (17, "17"), "pics_n_low": (23, "23"),
    "pics_frac_high": (0.411765, "41.2%"), "pics_frac_low": (0.130435, "13.0%"),
    "pics_frac_high_any": (0.529412, "52.9%"), "pics_frac_low_any": (0.217391, "21.7%"),
    "pics_ratio": (3.156863, "3.157"), "pics_ratio_ci_low": (1.0625, "1.062"), "pics_ratio_ci_high": (11.5, "11.500"),
    "pics_ratio_any": (2.435294, "2.435"), "pics_ratio_any_ci_low": (1.1, "1.100"),
    "pics_ratio_any_ci_high": (float("inf"), "inf"),
    "pics_ld_sets": (12, "12"), "pics_ld_sets_coding": (2, "2"), "pics_snps_coding_dropped": (9, "9"),
    "pics_mannwhitney_p": (3.3e-05, "3.3e-05"), "pics_fisher_p": (0.0123, "0.012"),
    "causal_auroc_max_abs": (11.5 / 15, "0.767"), "causal_auroc_abs_mean": (9 / 15, "0.600"),
    "causal_top_max_abs": (2 / 3, "66.7%"),
}
EXPECTED_TRANSFER = {
    "transfer_targets": (5, "5"), "transfer_mean_full_auroc": (0.81, "0.810"),
    "transfer_mean_transfer_auroc": (0.79, "0.790"), "transfer_mean_scratch_auroc": (0.728, "0.728"),
    "transfer_better": (2, "2"), "transfer_within": (3, "3"), "transfer_mean_difference": (-0.02, "-0.020"),
    "transfer_max_shortfall": (0.07, "0.070"),
}

ATTRIBUTION_SUMMARY = {"lineages": 3, "patterns": 11, "seqlets": 1234, "annotated": 10, "databases": "JASPAR, CIS-BP",
                       "planted_factors": 7, "planted_factors_recovered": 6, "planted_factors_by_name": 4,
                       "fraction_recovered": 0.857143, "pair": "GATA1-KLF1", "pair_expected_distance": 17.5,
                       "pair_composite_patterns": 1, "pair_composite_distance": 16.0, "pair_composite_seqlets": 80,
                       "pair_seqlet_pairs": 9, "pair_seqlet_mode": 44}
ATTRIBUTION_TRUTH = pd.DataFrame({"lineage": ["a", "b", "all"], "sites": [10, 20, 30], "bases": [600, 1200, 1800],
                                  "bases_in_instances": [30, 60, 90], "auroc_deeplift": [0.8, 0.9, 0.85],
                                  "auroc_gradient_x_input": [0.7, 0.6, 0.65]})
EXPECTED_ATTRIBUTION = {
    "modisco_lineages": (3, "3"), "modisco_patterns": (11, "11"), "modisco_seqlets": (1234, "1,234"),
    "modisco_annotated": (10, "10"), "modisco_planted": (7, "7"), "modisco_recovered": (6, "6"),
    "modisco_fraction_recovered": (0.857143, "85.7%"), "modisco_by_name": (4, "4"),
    "pair_name": ("GATA1-KLF1", "GATA1-KLF1"), "pair_expected_distance": (17.5, "17.5"),
    "pair_composite_patterns": (1, "1"), "pair_composite_distance": (16.0, "16"), "pair_seqlet_pairs": (9, "9"),
    "attribution_auroc_deeplift": (0.85, "0.850"), "attribution_auroc_gxi": (0.65, "0.650"),
    "attribution_auroc_deeplift_min": (0.8, "0.800"),
}


def fake_run(root: Path, transfer: bool = False, targets=TARGETS, attribution: bool = False) -> tuple[Path, Path]:
    """Outputs of every stage of a simulated run with the planted values above (results folder, truth folder)."""
    res, truth = root / "results" / "fake", root / "truth"
    for i, (_, _, file, _) in enumerate(PANELS):
        layout.path(res, *file).parent.mkdir(parents=True, exist_ok=True)
        layout.path(res, *file).write_bytes(tiny_png(shade=10 * i))
    _kv(layout.path(res, "evaluate", "summary"), EVALUATE)
    auroc = np.resize(AUROCS, len(targets))
    _tsv(layout.path(res, "evaluate", "metrics"), pd.DataFrame({
        "target": targets, "auroc": auroc, "auprc": auroc - 0.2, "kmer_auroc": auroc - 0.05}))
    _kv(layout.path(res, "motifs", "summary"), {
        "filters": 97, "annotated": 41, "engine": "basset", "distance": "pearson", "influence_formula": "paper",
        "planted_factors": 7, "planted_factors_recovered": 5, "fraction_recovered": 0.714286})
    _tsv(layout.path(res, "motifs", "filter_summary"), FILTERS)
    _tsv(layout.path(res, "motifs", "recovery"), pd.DataFrame({
        "factor": ["GATA1", "HNF4A"], "matrix_id": ["MA1", "MA3"], "recovered": [True, False],
        "best_filter": ["filter12", None], "best_target": ["MA1 GATA1", None], "best_q": [0.01, None]}))
    insertion = INSERTION.rename(columns=dict(zip(TARGETS, targets)))
    _tsv(layout.path(res, "motifs", "insertion"), insertion)
    _kv(layout.path(res, "satmut", "summary"),
        {"sites": 12, "sites_in_split": 40, "window_bp": 600, "targets": 4, "nucleotides": 7200, "mutants": 43200})
    _tsv(layout.path(res, "satmut", "phylop"), PHYLOP)
    _tsv(layout.path(res, "satmut", "fig4a_sites"), pd.DataFrame({
        "site_index": [1], "chrom": ["chr1"], "window_start": [5], "target": [targets[0]], "prediction": [0.99]}))
    n = len(SAD_ROWS)
    sad = pd.DataFrame({"chrom": "chr1", "pos": np.arange(n) * 100, "id": [r[0] for r in SAD_ROWS], "ref": "A",
                        "alt": "C", "swapped": False, "mean_sad": [r[2] for r in SAD_ROWS],
                        "max_abs_sad": [r[1] for r in SAD_ROWS], "top_target": targets[0]})
    for j, t in enumerate(targets):
        sad[t] = 0.001 * (j + 1)
    res.joinpath("variants").mkdir(parents=True, exist_ok=True)
    with gzip.open(layout.path(res, "variants", "sad"), "wt") as fh:
        sad.to_csv(fh, sep="\t", index=False)
    _kv(layout.path(res, "variants", "summary"), {"variants_read": 31, "scored": 29, "unknown_chroms": ""})
    _kv(layout.path(res, "variants", "pics_summary"), PICS)
    _tsv(truth / "snps.tsv", pd.DataFrame({"id": list(SNP_ROLES), "chrom": "chr1", "pos": np.arange(10) * 100,
                                           "ref": "A", "alt": "C", "role": list(SNP_ROLES.values()), "pics": 0.1}))
    _tsv(truth / "cell_factor_activity.tsv", ACTIVITY)
    if transfer:
        _tsv(layout.path(res, "transfer", "table"), TRANSFER.assign(
            difference=TRANSFER["transfer_auroc"] - TRANSFER["full_auroc"],
            within=[True, True, False, True, False]))
        layout.path(res, "transfer", "fig6").write_bytes(tiny_png(shade=200))
        _kv(layout.path(res, "transfer", "summary"), TRANSFER_SUMMARY)
    if attribution:
        _kv(layout.path(res, "attribution", "summary"), ATTRIBUTION_SUMMARY)
        _tsv(layout.path(res, "attribution", "truth"), ATTRIBUTION_TRUTH)
        _tsv(layout.path(res, "attribution", "recovery"), pd.DataFrame({
            "factor": ["GATA1", "NFYA"], "matrix_id": ["MA1", "MA9"], "by_name": [True, False],
            "by_family": [True, False], "recovered": [True, False], "best_pattern": ["a/pos_patterns.pattern_0", None],
            "best_target": ["MA1 GATA1", None], "best_q": [0.002, None]}))
    return res, truth


def _make_report(res: Path, out: Path, truth_dir: Path | None = None, **kwargs) -> dict:
    """make_report on the files of a fake run, the headline TSV beside the page."""
    return make_report(out={"html": out, "headline": out.parent / "headline.tsv"}, **report_inputs(res),
                       truth=truth_dir / "simulation.json" if truth_dir else None, **kwargs)


class _Page(HTMLParser):
    """Figures, images, links and headline rows of a report page."""

    def __init__(self):
        super().__init__()
        self.figures, self.imgs, self.links, self.rows = [], [], [], []
        self._row, self._cell = None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "figure":
            self.figures.append(a)
        elif tag == "img":
            self.imgs.append(a)
        elif tag in ("a", "link", "script", "iframe"):
            self.links.append((tag, a))
        elif tag == "tr" and "headline" in (a.get("class") or "").split():
            self._row = dict(a, value_text="", paper_text=None)
            self.rows.append(self._row)
        elif tag == "td" and self._row is not None:
            classes = (a.get("class") or "").split()
            self._cell = "value_text" if "value" in classes else "paper_text" if "paper" in classes else None
            if self._cell == "paper_text":
                self._row["paper_text"] = ""

    def handle_endtag(self, tag):
        if tag == "td":
            self._cell = None
        elif tag == "tr":
            self._row = None

    def handle_data(self, data):
        if self._row is not None and self._cell:
            self._row[self._cell] += data


def _parse(path) -> _Page:
    page = _Page()
    page.feed(Path(path).read_text(encoding="utf-8"))
    return page


def _text(path) -> str:
    """The page's HTML with entities decoded (captions and titles as a reader sees them)."""
    return html.unescape(Path(path).read_text(encoding="utf-8"))


def _is(got, want) -> bool:
    """``got`` is the planted ``want``: strings and integers exactly, floats to rounding."""
    if isinstance(want, str):
        return got == want
    if isinstance(want, int):
        return float(got) == want
    return float(got) == pytest.approx(want, rel=1e-9, abs=1e-15)


def _check_numbers(numbers: dict, expected: dict) -> None:
    wrong = {k: (numbers.get(k), v) for k, (v, _) in expected.items() if k not in numbers or not _is(numbers[k], v)}
    assert not wrong, wrong


@pytest.fixture
def report(tmp_path):
    res, truth = fake_run(tmp_path)
    out = tmp_path / "report" / "index.html"
    numbers = _make_report(res, out, config={"run": "fake", "seed": 1, "simulate": {"enabled": True},
                                             "kmer": {"k": 6}}, truth_dir=truth)
    return res, truth, out, numbers


def test_every_headline_number_is_the_planted_one(report):
    """Each number the report returns, writes to the headline TSV and shows on the page is the value planted in
    its table, printed with the documented rounding (3 decimals, a percent to 0.1, p to 2 significant digits,
    counts with thousands separators)."""
    _, _, out, numbers = report
    assert list(numbers) == list(EXPECTED)  # every number, in the report's order, and no other
    _check_numbers(numbers, EXPECTED)
    headline = pd.read_csv(out.parent / "headline.tsv", sep="\t", dtype=str, keep_default_na=False)
    assert list(headline["id"]) == list(EXPECTED)
    for _, row in headline.iterrows():
        assert _is(row["value"], EXPECTED[row["id"]][0]), row.to_dict()
    page = _parse(out)
    assert [r["data-id"] for r in page.rows] == list(EXPECTED)
    for row in page.rows:
        value, text = EXPECTED[row["data-id"]]
        assert row["value_text"] == text, row
        assert _is(row["data-value"], value), row
    # the sources the page names: the scored-target count, the ratio annotated/filters, phyloP's row by name
    src = {r["data-id"]: (r["data-file"], r["data-key"]) for r in page.rows}
    assert src["n_targets"] == ("evaluate/summary.tsv", "n_targets_scored")
    assert src["fraction_annotated"] == ("motifs/summary.tsv", "annotated/filters")
    assert src["phylop_p_loss"] == ("satmut/phylop_regression.tsv", "p[features=loss]")
    assert src["influence_3_value"] == ("motifs/filter_summary.tsv", "influence[#2]")


def test_captions_and_titles_show_the_planted_numbers(report):
    _, _, out, _ = report
    text = _text(out)
    for phrase in (
            # Figure 2
            ("Figure 2. Accessibility prediction across cell types: mean test AUROC 0.627 over 17 cell types, "
             "against 0.584 for the 6-mer baseline</h2>"),
            "the CNN predicts these 1,234 held-out sites with mean AUROC 0.627 (median 0.625, mean AUPRC 0.412)",
            "mean 0.627 against 0.584 (difference 0.043); the CNN is better on 13 of 17 cell types.",
            ("Triangles: the paper's baseline, a gkm-SVM per cell type fitted on at most 256 balanced training sites, "
             "for 4 cell types, scored with the CNN on the same 400 test sites: mean AUROC 0.551 against the CNN's "
             "0.639 and the 6-mer baseline's 0.591 (the paper, on 100,000 training sites: 0.780 against 0.895)."),
            "CNN against the 6-mer baseline: mean AUROC 0.627 against 0.584, CNN better on 13 of 17",
            "percentiles of the per-target AUROC (median 0.625).",
            "means: promoter 0.664, intragenic 0.612, intergenic 0.598.",
            # Figure 3
            ("Figure 3. First-layer filters and their best database matches: 41 of 97 annotated; 5 of 7 planted "
             "factors recovered</h2>"),
            ("Information content against influence (the square of the mean over sites of the change in predicted "
             "accessibility when the filter's output is replaced by its mean, the paper's formula, summed over cell "
             "types) for the 97 first-layer filters; 41 (42.3%) match a database motif. Most influential: filter12 "
             "(GATA1), filter3, filter40 (<b>A&B</b>), filter7 (HNF4A), filter0."),
            "(41 of 97 filters have one). Of the 7 factors planted by the simulation, 5 (71.4%) are recovered",
            "planted activity: mean 0.133; ρ > 0 for 1 planted motifs.",
            # Figure 4
            ("Figure 4. In silico saturation mutagenesis: 7,200 nucleotides of 12 sites scored; phyloP predicted "
             "with Pearson r 0.424</h2>"),
            "(7,200 nucleotides of 12 sites scored in all)",
            ("loss scores (B: r = 0.202), gain scores (C: r = 0.313) and both (D: r = 0.424, p < 1e-300) on 211 "
             "held-out nucleotides. As the paper (non-repetitive regions only), the 57 soft-masked (repeat) "
             "nucleotides were left out."),
            # Figure 5
            ("Figure 5. Genetic variants scored by SAD: 29 SNPs scored; 41.2% of likely and 13.0% of unlikely causal "
             "SNPs above the SAD threshold</h2>"),
            ("41.2% of 17 likely causal (high PICS) against 13.0% of 23 unlikely causal (low PICS) SNPs. One-sided "
             "Mann–Whitney p (likely causal scored higher) = 3.3e-05; Fisher p on the fractions = 0.012. Likely "
             "causal SNPs are above the threshold 3.157 times as often as unlikely ones (95% bootstrap CI "
             "1.062–11.500) (the paper: more than 7 times). Likely causal SNPs are above it in some cell type (max "
             "|SAD|) 2.435 times as often as unlikely ones (95% bootstrap CI 1.100–inf). As the paper, the 2 of 12 "
             "LD sets that hold a protein-coding SNP were removed first (9 SNPs). Against the simulation's truth, "
             "AUROC of max |SAD| for the SNPs that break or create a planted motif against bystanders: 0.767 (0.5 is "
             "chance).")):
        assert phrase in text, phrase


def test_truth_tables_and_escaping(report):
    _, _, out, _ = report
    raw = out.read_text()
    assert "graded against the simulation" in raw
    assert "<b>A&B</b>" not in raw and "&lt;b&gt;A&amp;B&lt;/b&gt;" in raw
    assert "Not run: no outputs of transfer learning" in raw
    # Figure 5's truth table over the 9 scored truth SNPs, by max |SAD| (s02 by its strongest allele, 0.70):
    # ranks s04 1, s01 2, s05 3, s02 4, s06 5, s03 and s07 6 (ties share the lowest), s08 8, s10 9; the
    # bystanders' median rank is 6 (mean 6.2), their median score 0.3 (mean 0.35)
    fig5 = _section(raw, "Figure 5")
    for role, n, score, rank in (("bystander", 5, "0.3", "6"), ("causal_break", 2, "0.8", "3"),
                                 ("causal_create", 1, "0.3", "6"), ("causal_outside_site", 1, "0.99", "1")):
        assert (f'<tr><td>{role}</td><td>{n}</td><td class="num">{score}</td><td class="num">{rank}</td></tr>'
                in fig5), role
    # Figure 3's recovery table
    fig3 = _section(raw, "Figure 3")
    assert ('<tr><td>GATA1</td><td>MA1</td><td>True</td><td>filter12</td><td>MA1 GATA1</td>'
            '<td class="num">0.01</td></tr>') in fig3


def test_every_named_figure_exists_and_is_an_embedded_png(report):
    res, _, out, _ = report
    page = _parse(out)
    labels = [f["data-figure"] for f in page.figures]
    assert labels == [label for label, _, _, _ in SITE_PANELS] and len(page.imgs) == len(page.figures)
    for fig, img, (_, _, file, _) in zip(page.figures, page.imgs, SITE_PANELS):
        assert fig["data-file"] == f"{file[0]}/{layout.name(*file)}"
        prefix = "data:image/png;base64,"
        assert img["src"].startswith(prefix) and img["alt"].startswith(f"Figure {fig['data-figure']}: ")
        # each panel embeds its own file (the fake PNGs differ in shade)
        assert base64.b64decode(img["src"][len(prefix):], validate=True) == (res / fig["data-file"]).read_bytes()
    # self-contained: no scripts, stylesheets or frames, and links only to anchors on the page
    assert all(tag == "a" and a.get("href", "").startswith("#") for tag, a in page.links)


def test_without_truth_or_optional_stages(tmp_path):
    """Without the simulation's truth no truth-graded number appears, and the others keep their values."""
    res, _ = fake_run(tmp_path)
    shutil.rmtree(res / "satmut")
    out = tmp_path / "r.html"
    numbers = _make_report(res, out, config={"run": "x", "simulate": {"enabled": False}})
    graded = ("insertion_rho_mean", "insertion_rho_positive", "causal_auroc_max_abs", "causal_auroc_abs_mean",
              "causal_top_max_abs")
    satmut = [k for k in EXPECTED if k.startswith(("satmut_", "phylop_"))]
    assert list(numbers) == [k for k in EXPECTED if k not in graded and k not in satmut]
    _check_numbers(numbers, {k: v for k, v in EXPECTED.items() if k in numbers})
    text = out.read_text()
    assert text.count("Not run:") == 2  # figures 4 and 6
    assert "real data" in text and "(0.5 is chance)" not in text


def test_transfer_section_when_present(tmp_path):
    res, truth = fake_run(tmp_path, transfer=True)
    out = tmp_path / "r.html"
    numbers = _make_report(res, out, truth_dir=truth)
    assert list(numbers) == list(EXPECTED) + list(EXPECTED_TRANSFER)
    _check_numbers(numbers, EXPECTED_TRANSFER)
    page = _parse(out)
    fig6 = [f for f in page.figures if f["data-figure"] == "6"]
    assert len(fig6) == 1 and fig6[0]["data-file"] == "transfer/fig6_transfer.png"
    shown = {r["data-id"]: r["value_text"] for r in page.rows}
    assert {k: shown[k] for k in EXPECTED_TRANSFER} == {k: t for k, (_, t) in EXPECTED_TRANSFER.items()}
    text = _text(out)
    assert "Not run" not in text
    assert ("Figure 6. Transfer learning to held-out cell types: 5 cell types, mean AUROC 0.790 after transfer, "
            "mean AUROC 0.810 with all targets</h2>") in text
    assert ("AUROC of 5 held-out cell types: mean pre-trained then fine-tuned 0.790, from scratch 0.728, trained "
            "with all targets 0.810. Transfer beats training from scratch on 2 of them. It comes within tolerance "
            "of the full model on 3.") in text
    assert "targets where transfer comes within tolerance (±0.03) of the full model" in text


def test_attribution_section_states_the_runs_numbers(tmp_path):
    """Figure 7: every number from the attribution tables, the captions and titles in words with them, the filters'
    recovery beside the patterns', and the recovery and per-lineage tables under the section."""
    res, truth = fake_run(tmp_path, attribution=True)
    out = tmp_path / "r.html"
    numbers = _make_report(res, out, truth_dir=truth)
    assert list(numbers) == list(EXPECTED) + list(EXPECTED_ATTRIBUTION)
    _check_numbers(numbers, EXPECTED_ATTRIBUTION)
    fig7 = _section(_text(out), "Figure 7")
    assert "Figure 7. Beyond the filters: DeepLIFT/SHAP attributions and TF-MoDISco motifs: 11 patterns, 6 of 7 " \
           "planted factors recovered" in fig7
    assert ("They recover 6 of the 7 planted factors (85.7%; 4 by the factor's own matrix or name, the others by a "
            "similar matrix of its family), the first-layer filters 5 (Figure 3), by the same matching rule.") in fig7
    assert ("The planted GATA1-KLF1 pair, 17.5 bp between motif centres: 1 composite pattern(s) hold both motifs, "
            "16 bp apart; 9 co-occurring seqlets of separate patterns.") in fig7
    assert "ranks planted motif bases above the others with AUROC 0.850 (mean over lineages; lowest 0.800), " \
           "gradient x input with 0.650." in fig7
    assert "a/pos_patterns.pattern_0" in fig7 and "auroc_gradient_x_input" in fig7
    # without the attribution stage the section says so and how to bring it back
    res2, truth2 = fake_run(tmp_path / "none")
    out2 = tmp_path / "none.html"
    _make_report(res2, out2, truth_dir=truth2, skipped={"attributions and TF-MoDISco (Figure 7)":
                                                        "attribution.enabled is false"})
    assert "set attribution.enabled to true" in _section(_text(out2), "Figure 7")


def test_every_headline_is_labelled_and_sourced_as_reviewed(tmp_path):
    """What the page says about each number, its section, its name, the table and key it names as the source and
    its print format, is the reviewed text of tests/data/headline_labels.tsv (a number under the wrong name, in the
    wrong figure, or with a source that is not where it came from, differs)."""
    res, truth = fake_run(tmp_path, transfer=True, attribution=True)
    out = tmp_path / "r" / "index.html"
    _make_report(res, out, truth_dir=truth)
    got = pd.read_csv(out.parent / "headline.tsv", sep="\t", dtype=str, keep_default_na=False)
    want = pd.read_csv(ROOT / "tests" / "data" / "headline_labels.tsv", sep="\t", dtype=str, keep_default_na=False)
    assert got[list(want.columns)].to_dict("records") == want.to_dict("records")
    page = {r["data-id"]: r for r in _parse(out).rows}
    for row in want.itertuples():
        assert (page[row.id]["data-file"], page[row.id]["data-key"]) == (row.source_file, row.source_key)


def test_transfer_without_training_from_scratch(tmp_path):
    """With transfer.scratch false the table's scratch_auroc is empty: the report claims nothing about training
    from scratch (not "transfer beats it on 0")."""
    res, truth = fake_run(tmp_path, transfer=True)
    _tsv(layout.path(res, "transfer", "table"), TRANSFER.assign(scratch_auroc=np.nan))
    out = tmp_path / "r.html"
    numbers = _make_report(res, out, truth_dir=truth)
    assert "transfer_better" not in numbers and "transfer_mean_scratch_auroc" not in numbers
    _check_numbers(numbers, {k: v for k, v in EXPECTED_TRANSFER.items()
                             if k not in ("transfer_better", "transfer_mean_scratch_auroc")})
    text = _text(out)
    assert "scratch" not in _section(text, "Figure 6").replace("transfer.scratch", "")


def test_target_count_and_baseline_when_the_summary_lacks_them(tmp_path):
    """An evaluation summary without n_targets_scored counts n_targets; without the k-mer baseline there are no
    baseline numbers and the captions say so."""
    res, truth = fake_run(tmp_path)
    _kv(layout.path(res, "evaluate", "summary"),
        {k: v for k, v in EVALUATE.items() if k != "n_targets_scored" and "kmer" not in k
         and k != "n_targets_cnn_better" and "gkmsvm" not in k})
    out = tmp_path / "r.html"
    numbers = _make_report(res, out, truth_dir=truth, config={"kmer": {"k": 6}})
    assert numbers["n_targets"] == 23
    assert not any("kmer" in k or "gkmsvm" in k or k == "n_targets_cnn_better" for k in numbers)
    text = _text(out)
    assert "mean test AUROC 0.627 over 23 cell types</h2>" in text
    assert "Test AUROC of each cell type (mean 0.627); no 6-mer baseline numbers in evaluate/summary.tsv" in text


def test_paper_numbers_beside_ours_when_targets_are_the_papers(tmp_path):
    """The published AUROCs are matched to our targets by the index in their file (1-based into the target list,
    here listed out of order), by name up to spelling; the paper's mean and median are over the targets we
    scored (HeLa-S3 has no AUROC of ours), and the per-target table counts a tie as at or above."""
    ref = tmp_path / "reference"
    ref.mkdir()
    # the paper's labels as its targets.txt spells them; the sample sheet spells "CD20+" as "CD20pos"
    (ref / "basset_targets.txt").write_text("8988T\tencode/a.gz\nCD20+\troadmap/b.gz\nESC.H9 \troadmap/c.gz\n"
                                            "K562\tencode/d.gz\nHeLa-S3\tencode/e.gz\n")
    aucs = ref / "basset_pretrained_test_aucs.txt"
    aucs.write_text("3     0.8492\n1     0.8820\n5     0.9555\n4     0.7311\n2     0.9141\n")
    targets = ["8988T", "CD20pos", "ESC.H9", "K562", "HeLa-S3"]
    res, _ = fake_run(tmp_path, targets=targets)
    _tsv(layout.path(res, "evaluate", "metrics"), pd.DataFrame({
        "target": targets, "auroc": [0.8820, 0.9000, 0.8600, 0.7000, np.nan], "auprc": 0.5}))
    _kv(layout.path(res, "evaluate", "summary"), {**EVALUATE, "n_targets": 5, "n_targets_scored": 4})
    # scored targets: 0.8820, 0.9141, 0.8492, 0.7311 -> mean 0.8441, median (0.8492 + 0.8820) / 2 = 0.8656
    heads = {h.id: h for h in headline_numbers(report_inputs(res), paper_aucs=aucs)}
    assert heads["mean_auroc"].value == 0.6271 and heads["median_auroc"].value == 0.6248
    assert heads["mean_auroc"].paper_value == pytest.approx(0.8441, abs=1e-12)
    assert heads["median_auroc"].paper_value == pytest.approx(0.8656, abs=1e-12)
    assert [h.id for h in heads.values() if h.paper_value is not None] == ["mean_auroc", "median_auroc"]
    out = tmp_path / "r.html"
    _make_report(res, out, paper_aucs=aucs)
    page = _parse(out)
    paper_text = {r["data-id"]: r["paper_text"] for r in page.rows if r["paper_text"]}
    assert paper_text == {"mean_auroc": "0.844", "median_auroc": "0.866"}
    raw = out.read_text()
    assert "The published model&#x27;s mean AUROC on the same 4 targets is 0.844." in raw
    # differences: 0 (a tie), -0.0141, +0.0108, -0.0311, and none for the unscored target
    assert "(2 of 4 scored targets at or above it)" in raw
    assert ('data-paper-source="basset_pretrained_test_aucs.txt: median of column 2 over the 4 targets scored '
            'here"') in raw
    for target, ours, theirs, diff in (("8988T", "0.882", "0.882", "0.000"), ("CD20pos", "0.900", "0.914", "-0.014"),
                                       ("ESC.H9", "0.860", "0.849", "0.011"), ("K562", "0.700", "0.731", "-0.031"),
                                       ("HeLa-S3", "", "0.956", "")):
        assert (f'<tr><td>{target}</td><td class="num">{ours}</td><td class="num">{theirs}</td>'
                f'<td class="num">{diff}</td></tr>') in raw, target
    # every target scored: the paper's numbers are over all of them, and the source says no more
    _tsv(layout.path(res, "evaluate", "metrics"), pd.DataFrame({
        "target": targets, "auroc": [0.8820, 0.9000, 0.8600, 0.7000, 0.9], "auprc": 0.5}))
    heads = {h.id: h for h in headline_numbers(report_inputs(res), paper_aucs=aucs)}
    assert heads["mean_auroc"].paper_value == pytest.approx((0.8441 * 4 + 0.9555) / 5, abs=1e-12)
    assert heads["mean_auroc"].paper_source == "basset_pretrained_test_aucs.txt: mean of column 2"
    assert heads["median_auroc"].paper_source == "basset_pretrained_test_aucs.txt: median of column 2"
    # other targets: no paper column
    res2, _ = fake_run(tmp_path / "other")
    heads = {h.id: h for h in headline_numbers(report_inputs(res2), paper_aucs=aucs)}
    assert heads["mean_auroc"].paper_value is None


def test_published_aucs_beside_the_papers_targets():
    """The real published file: its 164 AUROCs land on the paper's 164 targets (spelled as our sample sheet
    spells them), with the paper's mean AUROC of 0.894."""
    ref = SHARED_REFERENCE
    if not (ref / "basset_pretrained_test_aucs.txt").exists():
        pytest.skip(f"reference files not present in {ref}")
    labels = pd.read_csv(ref / "basset_targets.txt", sep="\t", header=None)[0]
    published = pd.read_csv(ref / "basset_pretrained_test_aucs.txt", sep=r"\s+", header=None, names=["i", "auc"])
    ours = pd.DataFrame({"target": [str(s).strip().replace("+", "pos") for s in labels],
                         "auroc": 0.5 + 0.001 * np.arange(164)})
    table = paper_comparison(ours, ref / "basset_pretrained_test_aucs.txt")
    assert table is not None and len(table) == 164
    assert table["paper_auroc"].mean() == pytest.approx(0.894, abs=1e-3)
    row = table[table["target"] == "CD20pos"].iloc[0]  # line 50 of the targets file
    assert row["paper_auroc"] == published.loc[published["i"] == 50, "auc"].item()
    assert row["auroc"] == pytest.approx(0.549) and row["difference"] == pytest.approx(0.549 - row["paper_auroc"])


def test_resolve_source_grammar(tmp_path):
    _kv(tmp_path / "kv.tsv", {"a": 3, "b": 4, "zero": 0, "name": "x y", "flag": True})
    _tsv(tmp_path / "t.tsv", pd.DataFrame({"f": ["u", "v", "w", "z"], "x": [1.5, 2.5, 9.0, 0.5],
                                           "y": [2.0, 1.0, 9.0, 0.25], "ok": [True, False, True, True]}))
    kv, t = tmp_path / "kv.tsv", tmp_path / "t.tsv"
    assert resolve_source(kv, "a") == 3 and resolve_source(kv, "name") == "x y" and resolve_source(kv, "flag") is True
    assert resolve_source(kv, "a/b") == 0.75 and resolve_source(kv, "b/a") == pytest.approx(4 / 3)
    assert np.isnan(resolve_source(kv, "a/zero"))
    assert resolve_source(t, "x[f=v]") == 2.5 and resolve_source(t, "f[#0]") == "u"
    assert resolve_source(t, "y[#3]") == 0.25
    assert resolve_source(t, "mean(x)") == 3.375 and resolve_source(t, "rows()") == 4
    assert resolve_source(t, "median(x)") == 2.0  # even count: the mean of the middle two, 1.5 and 2.5
    _tsv(tmp_path / "odd.tsv", pd.DataFrame({"x": [7.0, 1.0, 4.0]}))
    assert resolve_source(tmp_path / "odd.tsv", "median(x)") == 4.0
    assert resolve_source(t, "count(x>y)") == 2  # v and z; w is a tie, not counted
    assert resolve_source(t, "sum(x)") == 13.5 and resolve_source(t, "sum(ok)") == 3
    assert resolve_source(t, "mean(ok)") == 0.75
    with pytest.raises(ValueError, match="no key"):
        resolve_source(kv, "missing")
    _tsv(tmp_path / "dup.tsv", pd.DataFrame({"f": ["u", "u"], "x": [1, 2]}))
    with pytest.raises(ValueError, match="expected one row with f=u, found 2"):
        resolve_source(tmp_path / "dup.tsv", "x[f=u]")


def test_key_value_summaries_keep_their_types_and_text(tmp_path):
    """A summary's values come back as the stage wrote them: True and False as booleans (also from a table's
    boolean column), integers as int even in a table of only numbers (not 17.0), an empty value and the text NA as
    text (not NaN); a summary with a note column beside key and value reads; any other header is an error that
    names the file and the columns it found."""
    _kv(tmp_path / "kv.tsv", {"on": True, "off": False, "empty": "", "na": "NA", "n": 7})
    kv = tmp_path / "kv.tsv"
    assert resolve_source(kv, "on") is True and resolve_source(kv, "off") is False
    assert resolve_source(kv, "empty") == "" and resolve_source(kv, "na") == "NA"
    (tmp_path / "num.tsv").write_text("key\tvalue\ncount\t17\nmean\t0.25\n")
    count = resolve_source(tmp_path / "num.tsv", "count")
    assert count == 17 and type(count) is int
    _tsv(tmp_path / "t.tsv", pd.DataFrame({"f": ["u", "v"], "ok": [True, False]}))
    assert resolve_source(tmp_path / "t.tsv", "ok[#0]") is True and resolve_source(tmp_path / "t.tsv", "ok[f=v]") is False
    assert _scalar(None) == "" and _scalar(np.bool_(True)) is True and type(_scalar(np.int64(3))) is int
    _tsv(tmp_path / "noted.tsv", pd.DataFrame({"key": ["a"], "value": ["5"], "note": ["from x"]}))
    assert read_kv(tmp_path / "noted.tsv") == {"a": 5}
    _tsv(tmp_path / "bad.tsv", pd.DataFrame({"name": ["a"], "value": [5]}))
    with pytest.raises(InputError, match=r"bad.tsv: expected a key/value table with header 'key<TAB>value', got "
                                         r"columns \['name', 'value'\]"):
        read_kv(tmp_path / "bad.tsv")
    with pytest.raises(InputError, match=r"sad.tsv: a truth-graded number needs the simulation's truth folder"):
        truth_snp_scores(tmp_path / "sad.tsv", None, "max_abs_sad")
    with pytest.raises(InputError, match=r"ins.tsv: a truth-graded number needs"):
        insertion_rho(tmp_path / "ins.tsv", None)


def test_number_formats():
    assert fmt(0.12349) == "0.123" and fmt(0.1236) == "0.124" and fmt(-0.02) == "-0.020"
    assert fmt(1234567, "int") == "1,234,567" and fmt(16.6, "int") == "17"
    assert fmt(0.4226804, "pct") == "42.3%" and fmt(1.0, "pct") == "100.0%"
    assert fmt(0.0, "p") == "< 1e-300" and fmt(3.3e-05, "p") == "3.3e-05" and fmt(0.0123, "p") == "0.012"
    assert fmt(None) == "–" and fmt(float("nan")) == "n/a" and fmt(True) == "yes" and fmt("filter3") == "filter3"
    assert fmt(0.000123456, "3g") == "0.000123" and fmt(0.0871, "3g") == "0.0871" and fmt(12.34, "3g") == "12.3"
    assert fmt(False) == "no" and fmt(False, "int") == "no"
    # a text cell that reads as a number (a filter or target named 12) is printed as written, not as 12.000
    assert fmt(12, "text") == "12" and fmt(0.5, "text") == "0.5"


def test_row_selectors_and_errors_name_the_file(tmp_path):
    """A row selector's value may hold '=' (split at the first one); errors start with the file."""
    t = tmp_path / "t.tsv"
    _tsv(t, pd.DataFrame({"f": ["a=b", "c"], "x": [1.5, 2.5]}))
    assert resolve_source(t, "x[f=a=b]") == 1.5 and resolve_source(t, "x[f=c]") == 2.5
    with pytest.raises(InputError) as err:
        resolve_source(t, "x[f=zz]")
    assert str(err.value) == f"{t}: expected one row with f=zz, found 0"
    _kv(tmp_path / "kv.tsv", {"a": 1})
    with pytest.raises(InputError) as err:
        resolve_source(tmp_path / "kv.tsv", "missing")
    assert str(err.value) == f"{tmp_path / 'kv.tsv'}: no key 'missing'"


def test_transfer_tolerance_in_the_label_only_when_the_summary_has_it(tmp_path):
    res, truth = fake_run(tmp_path, transfer=True)
    heads = {h.id: h for h in headline_numbers(report_inputs(res))}
    assert heads["transfer_within"].name == "targets where transfer comes within tolerance (±0.03) of the full model"
    _kv(layout.path(res, "transfer", "summary"), {k: v for k, v in TRANSFER_SUMMARY.items() if k != "tolerance"})
    heads = {h.id: h for h in headline_numbers(report_inputs(res))}
    assert heads["transfer_within"].name == "targets where transfer comes within tolerance of the full model"


def _section(text: str, name: str) -> str:
    """The HTML of one section of the page (``Figure 4``)."""
    start = text.index(f'<section id="{name.lower().replace(" ", "-")}">')
    return text[start: text.index("</section>", start)]


def _title(text: str, name: str) -> str:
    section = _section(text, name)
    return section[section.index("<h2>") + 4: section.index("</h2>")]


def test_titles_state_what_was_measured(tmp_path):
    """Titles carry the run's numbers: 3 of 20 filters annotated is what Figure 3 says, never that the filters
    recover known motifs."""
    res, truth = fake_run(tmp_path)
    _kv(layout.path(res, "motifs", "summary"),
        {"filters": 20, "annotated": 3, "engine": "basset", "distance": "pearson"})
    out = tmp_path / "r.html"
    numbers = _make_report(res, out, config={"run": "fake", "kmer": {"k": 6}}, truth_dir=truth)
    text = out.read_text()
    assert (numbers["filters"], numbers["annotated"], numbers["fraction_annotated"]) == (20, 3, 0.15)
    assert "planted_factors" not in numbers
    assert "recover known motifs" not in text and "change accessibility more" not in text
    assert _title(text, "Figure 3") == ("Figure 3. First-layer filters and their best database matches: "
                                        "3 of 20 annotated")
    page = _parse(out)
    fig3b = page.imgs[[f["data-figure"] for f in page.figures].index("3B")]
    assert fig3b["alt"] == ("Figure 3B: Annotated filters beside their best database match "
                            "(3 of 20 filters annotated)")
    assert _title(text, "Figure 6") == f"Figure 6. {SECTIONS['Figure 6']}: not run"
    # a different run, different titles: nothing in them is fixed text
    _kv(layout.path(res, "motifs", "summary"),
        {"filters": 20, "annotated": 0, "engine": "basset", "distance": "pearson"})
    _make_report(res, out, truth_dir=truth)
    assert "0 of 20 annotated" in _title(out.read_text(), "Figure 3")


def test_filter_counts_from_the_filter_table_without_the_motif_summary(tmp_path):
    res, truth = fake_run(tmp_path)
    layout.path(res, "motifs", "summary").unlink()
    out = tmp_path / "r.html"
    numbers = _make_report(res, out, truth_dir=truth)
    # the fake filter_summary.tsv: 7 rows, 4 annotated
    assert (numbers["filters"], numbers["annotated"], numbers["fraction_annotated"]) == (7, 4, pytest.approx(4 / 7))
    assert "planted_factors" not in numbers
    assert "4 of 7 annotated" in _title(out.read_text(), "Figure 3")
    headline = pd.read_csv(out.parent / "headline.tsv", sep="\t", dtype=str, keep_default_na=False)
    rows = headline[headline["id"].isin(["filters", "annotated", "fraction_annotated"])]
    assert list(rows["source_file"]) == ["motifs/filter_summary.tsv"] * 3
    assert list(rows["name"]) == [label for _, label, _, _, _ in FILTER_COUNTS]
    assert list(rows["value"].astype(float)) == [7, 4, pytest.approx(4 / 7)]
    shown = {r["data-id"]: r["value_text"] for r in _parse(out).rows}
    assert (shown["filters"], shown["annotated"], shown["fraction_annotated"]) == ("7", "4", "57.1%")
    # a table of three filters has three influence leaders
    _tsv(layout.path(res, "motifs", "filter_summary"), FILTERS.head(3))
    numbers = _make_report(res, out, truth_dir=truth)
    assert [k for k in numbers if k.startswith("influence_")] == [
        "influence_1_filter", "influence_1_match", "influence_1_value", "influence_2_filter", "influence_2_value",
        "influence_3_filter", "influence_3_match", "influence_3_value"]
    assert (numbers["filters"], numbers["annotated"], numbers["influence_3_value"]) == (3, 2, 0.0452)


def test_truth_snp_scores_of_a_signed_column_keep_the_sign_and_the_strongest_allele(tmp_path):
    """``causal_auroc(mean_sad)``'s frame: one row per truth SNP that was scored (id, role, score), the score the
    signed maximum over the SNP's alleles (s02: max of 0.05, -0.45, 0.10), no absolute value taken; with
    ``abs(mean_sad)`` the maximum of the absolute values (s02: 0.45)."""
    res, truth = fake_run(tmp_path)
    signed = truth_snp_scores(layout.path(res, "variants", "sad"), truth, "mean_sad")
    assert list(signed.columns) == ["id", "role", "score"]
    want = {"s01": -0.60, "s02": 0.10, "s03": 0.02, "s04": 0.90, "s05": 0.30, "s06": -0.50, "s07": 0.04,
            "s08": -0.035, "s10": 0.025}
    assert dict(zip(signed["id"], signed["score"])) == pytest.approx(want)
    assert dict(zip(signed["id"], signed["role"])) == {k: SNP_ROLES[k] for k in want}
    absolute = truth_snp_scores(layout.path(res, "variants", "sad"), truth, "abs(mean_sad)")
    assert dict(zip(absolute["id"], absolute["score"])) == pytest.approx(
        {**{k: abs(v) for k, v in want.items()}, "s02": 0.45})


def test_causal_top_with_no_one_and_many_causal_snps_and_ties_at_the_cut():
    """NaN without a causal SNP; with one, whether it is the top SNP; SNPs tied at the cut are taken in frame
    order, as a plain stable sort of the scores takes them (70 SNPs, scores 0, 1 or 2)."""
    frame = pd.DataFrame({"role": ["bystander"] * 3, "score": [0.3, 0.2, 0.1]})
    assert np.isnan(causal_top(frame))
    one = pd.DataFrame({"role": ["bystander", "causal_break", "bystander"], "score": [0.3, 0.2, 0.1]})
    assert causal_top(one) == 0.0 and causal_top(one.assign(score=[0.1, 0.3, 0.2])) == 1.0
    rng = np.random.default_rng(2)  # a draw where an unstable sort takes other SNPs at the cut
    scores = rng.integers(0, 3, size=70).astype(float)
    roles = np.where(rng.random(70) < 0.3, "causal_create", "bystander")
    frame = pd.DataFrame({"role": roles, "score": scores})
    n = int((roles == "causal_create").sum())
    top = sorted(range(70), key=lambda i: -scores[i])[:n]  # Python's sort is stable
    assert causal_top(frame) == pytest.approx(np.mean([roles[i] == "causal_create" for i in top]))


def test_insertion_rho_needs_three_cells(tmp_path):
    """Two shared cells give no Spearman rho (any two points are perfectly ranked): an empty float series."""
    res, truth = fake_run(tmp_path)
    _tsv(layout.path(res, "motifs", "insertion"), INSERTION.drop(columns=["mye_1", "lym_1"]))
    rho = insertion_rho(layout.path(res, "motifs", "insertion"), truth)
    assert rho.empty and rho.dtype == np.float64


def test_unknown_source_function_names_the_file_and_the_key(tmp_path):
    _tsv(tmp_path / "t.tsv", pd.DataFrame({"x": [1.0, 2.0]}))
    with pytest.raises(InputError) as err:
        resolve_source(tmp_path / "t.tsv", "mode(x)")
    assert str(err.value) == f"{tmp_path / 't.tsv'}: unknown function 'mode' in source key 'mode(x)'"


def test_paper_comparison_of_a_run_reads_the_target_list_it_is_given(tmp_path):
    """A run without per-target metrics has no comparison; with them, the paper's targets come from the list
    given (here not beside the AUROC file, where the default would look), and without a paper the headline's
    paper source is empty."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    aucs, listed = tmp_path / "a" / "aucs.txt", tmp_path / "b" / "targets.txt"
    aucs.write_text("2 0.91\n1 0.82\n")
    listed.write_text("K562\tx.gz\nGM12878\ty.gz\n")
    assert run_paper_comparison(RunFiles({}), aucs, listed) is None
    _tsv(tmp_path / "metrics.tsv", pd.DataFrame({"target": ["GM12878", "K562"], "auroc": [0.9, 0.8]}))
    files = RunFiles({layout.input_name("evaluate", "metrics"): tmp_path / "metrics.tsv"})
    assert run_paper_comparison(files, aucs) is None  # no basset_targets.txt beside the AUROCs
    table = run_paper_comparison(files, aucs, listed)
    assert table[["target", "paper_target", "paper_auroc"]].values.tolist() == [["GM12878", "GM12878", 0.91],
                                                                               ["K562", "K562", 0.82]]
    res, _ = fake_run(tmp_path, targets=["K562", "GM12878"])
    heads = {h.id: h for h in headline_numbers(report_inputs(res))}
    assert (heads["mean_auroc"].paper_value, heads["mean_auroc"].paper_source) == (None, "")
    heads = {h.id: h for h in headline_numbers(report_inputs(res), paper_aucs=aucs, paper_targets=listed)}
    assert heads["mean_auroc"].paper_value == pytest.approx((0.91 + 0.82) / 2)


def test_insertion_rho_over_three_cells(tmp_path):
    """Three cells shared by the insertion table and the planted activity are enough for a rho: GATA1 ranks
    (3, 1, 2) against (3, 2, 1) give 0.5, HNF4A and CTCF -0.5."""
    res, truth = fake_run(tmp_path)
    _tsv(layout.path(res, "motifs", "insertion"), INSERTION.drop(columns="mye_1"))
    numbers = _make_report(res, tmp_path / "r.html", truth_dir=truth)
    assert numbers["insertion_rho_mean"] == pytest.approx((0.5 - 0.5 - 0.5) / 3)
    assert numbers["insertion_rho_positive"] == 1


def test_insertion_rho_over_the_dnase_features_of_a_sheet_of_assays(tmp_path):
    """A sheet of several assays per cell type (deepsea mode): the insertion table's columns are features, the
    activity's rows cells; simulation.json's sample_cells maps each DNase feature to its cell, other assays are left
    out. The insertion values of the DNase features are INSERTION's, so rho is that of test_insertion_rho_over_three
    cells; the TF feature's values, which would reverse it if counted, are not."""
    res, truth = fake_run(tmp_path)
    ins = INSERTION.drop(columns="mye_1").rename(columns={"ery_1": "e_dnase", "hep_1": "h_dnase", "lym_1": "l_dnase"})
    ins["e_gata1"] = -ins["e_dnase"] * 10
    _tsv(layout.path(res, "motifs", "insertion"), ins)
    summary = json.loads((truth / "simulation.json").read_text()) if (truth / "simulation.json").exists() else {}
    summary["sample_cells"] = {"e_dnase": {"cell": "ery_1", "assay": "dnase"},
                               "h_dnase": {"cell": "hep_1", "assay": "dnase"},
                               "l_dnase": {"cell": "lym_1", "assay": "dnase"},
                               "e_gata1": {"cell": "ery_1", "assay": "tf"}}
    (truth / "simulation.json").write_text(json.dumps(summary))
    rho = insertion_rho(layout.path(res, "motifs", "insertion"), truth)
    assert rho.to_dict() == pytest.approx({"GATA1": 0.5, "HNF4A": -0.5, "CTCF": -0.5})


def test_phylop_feature_sets_are_found_by_name(tmp_path):
    """A phyloP table without a ``both`` row (or with a feature set twice) gives no number for that set."""
    res, truth = fake_run(tmp_path)
    _tsv(layout.path(res, "satmut", "phylop"), pd.concat([PHYLOP, PHYLOP.iloc[[0]]]).query("features != 'both'"))
    numbers = _make_report(res, tmp_path / "r.html", truth_dir=truth)
    assert [k for k in numbers if k.startswith("phylop_")] == ["phylop_r_loss", "phylop_p_loss"]
    assert (numbers["phylop_r_loss"], numbers["phylop_p_loss"]) == (0.2020, 4.4e-7)
    assert "PhyloP predicted by ridge regression" not in (tmp_path / "r.html").read_text()


SKIPPED = {"phylop regression (Figures 4B-D)": "genome.phylop is null", "SAD (Figure 5)": "variants.vcf is null",
           "PICS enrichment (Figure 5A)": "variants.pics is null", "site classes": "genome.genes is null",
           "transfer learning (Figure 6)": "transfer.enabled is false",
           "planted-factor grading": "simulate.enabled is false"}


def test_skipped_stages_are_placed_in_their_sections():
    placed = {s.stage: (s.key, s.sections) for s in place_skipped(SKIPPED)}
    assert placed == {"phylop regression (Figures 4B-D)": ("genome.phylop", ("Figure 4",)),
                      "SAD (Figure 5)": ("variants.vcf", ("Figure 5",)),
                      "PICS enrichment (Figure 5A)": ("variants.pics", ("Figure 5",)),
                      "site classes": ("genome.genes", ("Figure 2",)),
                      "transfer learning (Figure 6)": ("transfer.enabled", ("Figure 6",)),
                      "planted-factor grading": ("simulate.enabled", ("Figure 3", "Figure 5", "Figure 7"))}
    odd = place_skipped({"something else": "no reason that names a key"})[0]
    assert odd.key is None and odd.sections == () and odd.hint == ""
    assert place_skipped(None) == []
    # a reason that already says what to set gets no second hint
    assert place_skipped({"x (Figure 4)": "genome.phylop is null: set it to a bigWig"})[0].hint == ""


def test_the_workflows_skipped_stages_are_placed():
    """What the workflow passes (basset.config.skipped_stages, the rule's params.skipped) lands in sections."""
    config_module = pytest.importorskip("basset.config")
    stages = config_module.skipped_stages({"transfer": {"enabled": False}, "simulate": {"enabled": False}}, {})
    placed = place_skipped(stages)
    assert len(placed) == len(stages) >= 6
    assert all(s.sections and s.key for s in placed), placed
    assert {s.key for s in placed} >= {"genome.genes", "genome.phylop", "variants.vcf", "transfer.enabled",
                                       "simulate.enabled"}


def test_skipped_stages_appear_with_reason_and_key(tmp_path):
    res, _ = fake_run(tmp_path)
    for key in ("phylop", "fig4bcd"):
        layout.path(res, "satmut", key).unlink()
    shutil.rmtree(res / "variants")
    out = tmp_path / "r.html"
    _make_report(res, out, config={"run": "fake", "simulate": {"enabled": False}}, skipped=SKIPPED)
    text = out.read_text()
    top = text[text.index('<aside id="skipped-stages"'): text.index("</aside>")]
    assert "Skipped stages (6)" in top and text.index("</aside>") < text.index("<section")
    for stage, reason in SKIPPED.items():
        key = reason.split()[0]
        assert f"<b>{stage}</b>: {reason}; to bring it back, set {key}" in top
    where = {"Figure 2": ["site classes"], "Figure 3": ["planted-factor grading"],
             "Figure 4": ["phylop regression (Figures 4B-D)"],
             "Figure 5": ["SAD (Figure 5)", "PICS enrichment (Figure 5A)", "planted-factor grading"],
             "Figure 6": ["transfer learning (Figure 6)"]}
    for section, stages in where.items():
        html = _section(text, section)
        for stage, reason in SKIPPED.items():
            key = reason.split()[0]
            note = f"Skipped: <b>{stage}</b>, because {reason}. To bring it back, set {key}"
            assert (note in html) == (stage in stages), (section, stage)
    # the panels they would have drawn say what is missing and which key brings them
    fig4 = _section(text, "Figure 4")
    assert 'data-figure="4B–D"' in fig4 and "not drawn" in fig4 and "To draw it, set genome.phylop" in fig4
    assert "4B–D" not in [f["data-figure"] for f in _parse(out).figures]
    assert _title(text, "Figure 5") == f"Figure 5. {SECTIONS['Figure 5']}: skipped"
    assert "Not run: no outputs of transfer learning" in _section(text, "Figure 6")
    # no skipped stages: no list
    _make_report(res, out)
    assert 'id="skipped-stages"' not in out.read_text() and "Skipped:" not in out.read_text()


@pytest.mark.parametrize("by_class", ["empty", "all only"])
def test_site_class_placeholder_names_genome_genes(tmp_path, by_class):
    """Without gene annotations evaluate writes no class means and an empty auroc_by_class.tsv (and a figure
    that only says so): the report shows a placeholder naming the missing input and its key instead."""
    res, truth = fake_run(tmp_path)
    summary = pd.read_csv(layout.path(res, "evaluate", "summary"), sep="\t")
    _tsv(layout.path(res, "evaluate", "summary"),
         summary[~summary["key"].str.startswith(("promoter", "intragenic", "intergenic"))])
    rows = {"empty": [], "all only": ["all"] * 3}[by_class]
    _tsv(layout.path(res, "evaluate", "by_class"), pd.DataFrame({"class": rows, "target": TARGETS[:len(rows)],
                                                                 "auroc": 0.9, "n_sites": 100, "n_pos": 10}))
    out = tmp_path / "r.html"
    numbers = _make_report(res, out, truth_dir=truth)
    assert not any(k.startswith(("promoter", "intragenic", "intergenic")) for k in numbers)
    page = _parse(out)
    assert "2, site classes" not in [f["data-figure"] for f in page.figures]
    fig2 = _section(out.read_text(), "Figure 2")
    assert 'data-figure="2, site classes"' in fig2 and "no gene annotation" in fig2
    assert "set genome.genes to a GTF" in fig2
    # with gene annotations the panel is drawn
    res2, _ = fake_run(tmp_path / "genes")
    _tsv(layout.path(res2, "evaluate", "by_class"), pd.DataFrame({"class": ["promoter", "intergenic"],
                                                                  "target": "ery_1", "auroc": 0.9, "n_sites": 5,
                                                                  "n_pos": 2}))
    _make_report(res2, tmp_path / "r2.html")
    assert "2, site classes" in [f["data-figure"] for f in _parse(tmp_path / "r2.html").figures]
    assert "genome.genes" not in (tmp_path / "r2.html").read_text()


def test_make_report_script(tmp_path):
    """The rule's script passes the rule's inputs (named <stage>_<key> from REPORT_INPUTS, [] where the config
    leaves a stage out), outputs and params to make_report."""
    res, truth = fake_run(tmp_path)
    inputs = {name: str(path) if path else [] for name, path in report_inputs(res).items()}
    out = tmp_path / "out"
    config = {"run": "fake", "simulate": {"enabled": True}}
    rule = {"input": {**inputs, "truth": [str(truth / "simulation.json")]},
            "output": {"html": str(out / "index.html"), "headline": str(out / "headline.tsv")},
            "log": tmp_path / "log.txt"}
    run_script("make_report", **rule, params={"paper_aucs": None, "config": config})  # no `skipped`: none listed
    headline = pd.read_csv(out / "headline.tsv", sep="\t", dtype=str, keep_default_na=False).set_index("id")
    assert list(headline.index) == list(EXPECTED)  # the truth reached the script: its graded numbers are there
    assert all(_is(headline.loc[k, "value"], v) for k, (v, _) in EXPECTED.items())
    assert [r["data-id"] for r in _parse(out / "index.html").rows] == list(EXPECTED)
    assert 'id="skipped-stages"' not in (out / "index.html").read_text()
    run_script("make_report", **rule, params={"paper_aucs": None, "config": config,
                                              "skipped": {"transfer learning (Figure 6)": "transfer.enabled is false"}})
    fig6 = _section((out / "index.html").read_text(), "Figure 6")
    assert "because transfer.enabled is false. To bring it back, set transfer.enabled to true" in fig6


def test_report_inputs_come_from_the_layout(tmp_path):
    """Every file the report reads is a (stage, key) of basset.layout.STAGES; the report's modules spell no
    results file name; an input the report does not know is refused."""
    assert len(set(REPORT_INPUTS)) == len(REPORT_INPUTS)
    for stage, key in REPORT_INPUTS:
        layout.name(stage, key)  # KeyError for a file the layout lacks
    # the figures the page shows are the figures that the layout's REPORT_INPUTS declares, in the same order
    figures = [file for _, _, file, _ in PANELS] + [FIGURE_6[2]]
    assert figures == [f for f in REPORT_INPUTS if layout.name(*f).endswith(".png")]
    res, _ = fake_run(tmp_path)
    found = report_inputs(res)
    assert set(found) == {f"{stage}_{key}" for stage, key in REPORT_INPUTS}
    assert found["evaluate_summary"] == layout.path(res, "evaluate", "summary") and found["transfer_fig6"] is None
    every_name = {n for files in layout.STAGES.values() for n in files.values()}
    for module in (ROOT / "src/basset/stages").glob("report*.py"):
        text = module.read_text()
        assert not [n for n in every_name if n in text], module
    with pytest.raises(TypeError, match="unknown inputs"):
        make_report(out={"html": tmp_path / "x.html", "headline": tmp_path / "x.tsv"}, evaluate_sumary="x")


CHECK_SCRIPT = """<script>
window.addEventListener('load', function () {
  var imgs = Array.from(document.images);
  var bad = imgs.filter(function (i) { return !i.complete || i.naturalWidth === 0; });
  document.title = bad.length ? 'BROKEN ' + bad.length : 'RENDERED ' + imgs.length;
});
</script>"""


@pytest.mark.skipif(shutil.which("chromium") is None,
                    reason="chromium not installed (Debian: apt-get install chromium); the HTML and image checks "
                           "above still run")
def test_renders_in_headless_chromium(report, tmp_path):
    """Chromium loads the page and decodes every embedded image (a probe script, added to a copy of the page
    only here, reports broken images in the title)."""
    _, _, out, _ = report
    probe = tmp_path / "probe.html"
    probe.write_text(out.read_text().replace("</body>", CHECK_SCRIPT + "</body>"))
    run = subprocess.run(["chromium", "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run",
                          "--virtual-time-budget=5000", "--dump-dom", probe.as_uri()],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    page = _parse_title(run.stdout)
    assert page == f"RENDERED {len(SITE_PANELS)}", run.stdout[:500]


def _parse_title(dom: str) -> str:
    start = dom.find("<title>")
    return dom[start + 7: dom.find("</title>", start)] if start >= 0 else ""


def test_paper_targets_match_ours_by_letters_digits_and_plus(tmp_path):
    """Target names are matched to the paper's up to case, punctuation and '+' spelled 'pos': CD4+ is CD4pos and
    not CD4, and two names with the same digits but other letters stay apart."""
    ref = tmp_path / "reference"
    ref.mkdir()
    (ref / "basset_targets.txt").write_text("CD4+\tx\nCD4\tx\nGM12878\tx\nHeLa-S3\tx\n")
    aucs = ref / "basset_pretrained_test_aucs.txt"
    aucs.write_text("1 0.91\n2 0.82\n3 0.73\n4 0.64\n")
    ours = pd.DataFrame({"target": ["cd4", "GM12878", "HELA_S3", "CD4pos"], "auroc": [0.5, 0.6, 0.7, 0.8]})
    table = paper_comparison(ours, aucs)
    assert table is not None
    assert dict(zip(table["target"], table["paper_auroc"])) == {"cd4": 0.82, "GM12878": 0.73, "HELA_S3": 0.64,
                                                                "CD4pos": 0.91}
    assert paper_comparison(ours.assign(target=["cd4", "GM12878", "HELA_S3", "CD8pos"]), aucs) is None


def test_influence_captions_name_the_formula_that_ran():
    """Figure 3A and 3C say what a filter's influence is: the paper's squared mean change, or with
    ``motifs.influence: per_sequence`` the mean squared change; a run that recorded no formula ran the paper's."""
    from types import SimpleNamespace

    from basset.stages.report_text import _influence_words
    paper = _influence_words({"influence_formula": SimpleNamespace(value="paper")})
    assert paper.startswith("the square of the mean over sites of the change") and "the paper's formula" in paper
    assert _influence_words({}) == paper
    per_seq = _influence_words({"influence_formula": SimpleNamespace(value="per_sequence")})
    assert per_seq.startswith("the mean over sites of the squared change") and "paper" not in per_seq


def test_methods_section_says_where_the_run_follows_the_paper(tmp_path):
    """With the run's whole config the page ends with the methods table: each step, the paper's setting, this
    run's, and why it differs. Without it (only a few keys, as `basset report` without --config) there is no
    such section."""
    import yaml

    res, truth = fake_run(tmp_path)
    out = tmp_path / "report" / "index.html"
    config = yaml.safe_load((Path(__file__).resolve().parents[1] / "config" / "config.yaml").read_text())
    _make_report(res, out, config={**config, "run": "fake"}, truth_dir=truth)
    page = out.read_text()
    assert page.count("<h2>Methods. Where this run follows the paper</h2>") == 1
    methods = page[page.index("<h2>Methods."):]
    assert "steps ran as the paper" in methods and "<td>filter influence</td>" in methods
    assert "<td>N bases</td><td>0.25 in each channel</td><td>a random base</td>" in methods
    assert "basset engine, -dist pearson" not in methods  # Tomtom as the paper: shown as such
    assert "<td>Tomtom</td><td>tomtom -dist pearson -thresh 0.1 (MEME&#x27;s q-values; minimum overlap 1)</td><td>" \
           "as the paper</td>" in methods
    bare = tmp_path / "bare.html"
    _make_report(res, bare, config={"run": "fake", "seed": 1, "kmer": {"k": 6}})
    assert "Methods." not in bare.read_text()


def test_phylop_caption_when_no_repeat_was_left_out():
    """With no repeat excluded the caption does not claim the paper's exclusion happened."""
    from types import SimpleNamespace

    from basset.stages.report_text import _satmut_captions

    h = {k: SimpleNamespace(value=v) for k, v in {
        "phylop_r_loss": 0.2, "phylop_r_gain": 0.3, "phylop_r_both": 0.4, "phylop_p_both": 1e-5,
        "phylop_n_test": 100, "phylop_repeat_excluded": 0}.items()}
    text = _satmut_captions(h)["4B–D"]
    assert "No soft-masked (repeat) nucleotide was left out" in text and "As the paper" not in text
    h["phylop_repeat_excluded"] = SimpleNamespace(value=12)
    assert "As the paper (non-repetitive regions only), the 12 soft-masked" in _satmut_captions(h)["4B–D"]


def test_ratio_sentence_in_words_when_unbounded_or_undefined():
    """An infinite ratio (no unlikely causal SNP above) and a NaN one (neither group) are said in words, never
    printed as 'inf times as often'."""
    from types import SimpleNamespace

    from basset.stages.report_text import _ratio_sentence

    def h(r, lo, hi):
        return {k: SimpleNamespace(value=v) for k, v in (("x", r), ("x_ci_low", lo), ("x_ci_high", hi))}

    assert _ratio_sentence(h(float("inf"), 0.0, float("inf")), "x", "above it") == (
        "Likely causal SNPs are above it while no unlikely causal one is: the ratio is unbounded")
    assert _ratio_sentence(h(float("nan"), float("nan"), float("nan")), "x", "above it").startswith(
        "No SNP of either group is above it")
    assert _ratio_sentence(h(7.5, 3.4, 35.0), "x", "above it") == (
        "Likely causal SNPs are above it 7.500 times as often as unlikely ones (95% bootstrap CI 3.400–35.000)")


def test_deepsea_evaluation_by_assay_in_figure_2(tmp_path):
    """dataset.mode deepsea: the medians per assay are headline numbers of Figure 2 with their source, and the panel
    of AUROC by assay has them in its caption; a run without them shows no such panel and no placeholder."""
    res, truth = fake_run(tmp_path)
    _kv(layout.path(res, "evaluate", "assay_summary"), {
        "assays": 2, "dnase_features": 3, "dnase_median_auroc": 0.81, "dnase_median_auprc": 0.4,
        "tf_features": 9, "tf_median_auroc": 0.93, "tf_median_auprc": 0.5})
    out = tmp_path / "r.html"
    numbers = _make_report(res, out, truth_dir=truth)
    assert numbers["tf_median_auroc"] == 0.93 and numbers["dnase_features"] == 3
    fig2 = _section(_text(out), "Figure 2")
    assert ("Test AUROC of each feature grouped by assay, as DeepSEA reports it; medians: dnase 0.810 (3 features), "
            "tf 0.930 (9 features).") in fig2
    page = {r["data-id"]: r for r in _parse(out).rows}
    assert (page["tf_median_auroc"]["data-file"], page["tf_median_auroc"]["data-key"]) == \
        ("evaluate/assay_summary.tsv", "tf_median_auroc")
    layout.path(res, "evaluate", "fig_assay").unlink()
    layout.path(res, "evaluate", "assay_summary").unlink()
    _make_report(res, out, truth_dir=truth)
    assert "AUROC by assay" not in _text(out)


def test_a_coverage_run_reports_its_section_with_the_runs_numbers(tmp_path):
    """dataset.mode coverage: the page holds the Coverage section (its four panels, captions and title written from
    the stage tables) and Figure 5's variant counts, none of the sections on sites, and no Methods table."""
    res = tmp_path / "results" / "cov"
    for i, (_, section, file, _) in enumerate(PANELS):
        if section == "Coverage":
            layout.path(res, *file).parent.mkdir(parents=True, exist_ok=True)
            layout.path(res, *file).write_bytes(tiny_png(shade=10 * i))
    _kv(layout.path(res, "evaluate", "coverage_summary"), {
        "test_windows": 266, "tracks": 8, "bin": 128, "mean_r_log": 0.7123, "median_r_log": 0.7, "mean_r_sum": 0.81,
        "mean_r_log_dnase": 0.78, "mean_r_log_cage": 0.64, "poisson_loss": -12.5})
    _kv(layout.path(res, "evaluate", "ablation_summary"), {
        "long_bp": 16384, "short_bp": 2048, "test_windows": 266, "bins_compared": 16, "mean_r_long": 0.7,
        "mean_r_short": 0.6, "mean_r2_long_cage": 0.42, "mean_r2_short_cage": 0.25, "mean_r2_long_dnase": 0.6,
        "mean_r2_short_dnase": 0.58})
    _kv(layout.path(res, "variants", "delta_track_summary"), {
        "variant": "snp1", "bins": 128, "bins_moved": 60, "farthest_bin_moved_bp": 4000, "max_abs_delta_dnase": 1.5,
        "max_abs_delta_cage": 0.25})
    _kv(layout.path(res, "variants", "summary"), {"scored": 270})
    out = {"html": tmp_path / "index.html", "headline": tmp_path / "headline.tsv"}
    values = make_report(out=out, config={"run": "cov", "dataset": {"mode": "coverage"}, "model": {}, "train": {}},
                         **report_inputs(res))
    assert values["cov_mean_r_log"] == 0.7123 and values["abl_cage_r2_long"] == 0.42 and values["snps_scored"] == 270
    raw = out["html"].read_text()
    assert [f["data-figure"] for f in _parse(out["html"]).figures] == ["C1", "C2", "C3", "C4"]
    assert "mean r of log coverage 0.712 over 8 tracks" in raw and "CAGE-like r^2 42.0% with the long window" in raw
    assert "the long window explains 42.0% and the short one 25.0%" in raw
    assert "60 bins move, the farthest 4000 bp" in raw or "60 bins move, the farthest 4,000 bp" in raw
    assert "270 SNPs scored" in raw
    for absent in ("Figure 2", "Figure 3", "Figure 4", "Figure 6", "Figure 7", "Methods", "Not run"):
        assert absent not in raw, absent

"""The run's HTML report (basset.stages.report): every figure it names exists and is embedded as a valid PNG, every
headline number is the one in its stage table, and the page renders in headless Chromium (when installed)."""

import base64
import gzip
import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import run_script
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score

from basset import layout
from basset.layout import REPORT_INPUTS
from basset.stages.report import make_report, report_inputs
from basset.stages.report_html import PNG_SIGNATURE
from basset.stages.report_numbers import fmt, headline_numbers, resolve_source
from basset.stages.report_text import FIGURE_6, PANELS, SECTIONS, place_skipped

ROOT = Path(__file__).resolve().parents[1]
TARGETS = ["ery_1", "hep_1", "lym_1"]


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


def fake_run(root: Path, transfer: bool = False, targets=TARGETS) -> tuple[Path, Path]:
    """Minimal outputs of every stage of a simulated run (results folder, truth folder)."""
    rng = np.random.default_rng(0)
    res, truth = root / "results" / "fake", root / "truth"
    for i, (_, _, file, _) in enumerate(PANELS):
        layout.path(res, *file).parent.mkdir(parents=True, exist_ok=True)
        layout.path(res, *file).write_bytes(tiny_png(shade=10 * i))
    _kv(layout.path(res, "evaluate", "summary"), {
        "n_test_sites": 100, "rc_average": True, "n_targets": len(targets), "n_targets_scored": len(targets),
        "mean_auroc": 0.912345, "median_auroc": 0.9001, "mean_auprc": 0.7123, "kmer_mean_auroc": 0.85,
        "cnn_minus_kmer_mean_auroc": 0.062345, "n_targets_cnn_better": 2, "promoter_sites": 10,
        "promoter_mean_auroc": 0.8812, "intergenic_sites": 5, "intergenic_mean_auroc": 0.95})
    auroc = rng.uniform(0.8, 0.99, len(targets))
    _tsv(layout.path(res, "evaluate", "metrics"), pd.DataFrame({
        "target": targets, "auroc": auroc, "auprc": auroc - 0.2, "kmer_auroc": auroc - 0.05}))
    _kv(layout.path(res, "motifs", "summary"), {
        "filters": 8, "annotated": 3, "engine": "basset", "distance": "pearson", "planted_factors": 2,
        "planted_factors_recovered": 1, "fraction_recovered": 0.5})
    _tsv(layout.path(res, "motifs", "filter_summary"), pd.DataFrame({
        "filter": [f"filter{i}" for i in (5, 2, 7, 0, 1, 3)], "nsites": 10, "ic": 8.0,
        "consensus": "ACGT", "delta_loss": 0.1, "influence_mean": [5.5, 4.25, 3.125, 2.0, 1.5, 1.0],
        "annotated": [True, False, True, True, False, False],
        "best_id": ["MA1", None, "MA2", "MA3", None, None],
        "best_name": ["GATA1", None, "<b>A&B</b>", "HNF4A", None, None],
        "best_q": [0.01, None, 0.02, 0.03, None, None], "orientation": ["+", None, "-", "+", None, None]}))
    _tsv(layout.path(res, "motifs", "recovery"), pd.DataFrame({
        "factor": ["GATA1", "HNF4A"], "matrix_id": ["MA1", "MA3"], "recovered": [True, False],
        "best_filter": ["filter5", None], "best_target": ["MA1 GATA1", None], "best_q": [0.01, None]}))
    insertion = pd.DataFrame(rng.normal(size=(3, len(targets))), columns=targets)
    insertion.insert(0, "motif", ["GATA1", "HNF4A", "NOT_PLANTED"])
    _tsv(layout.path(res, "motifs", "insertion"), insertion)
    _kv(layout.path(res, "satmut", "summary"),
        {"sites": 10, "sites_in_split": 10, "window_bp": 100, "nucleotides": 1000})
    _tsv(layout.path(res, "satmut", "phylop"), pd.DataFrame({
        "features": ["loss", "gain", "both"], "n_train": 800, "n_test": 200, "alpha": 10,
        "r": [0.354907, 0.134819, 0.368331], "p": [0.0, 5.40316e-141, 0.0]}))
    _tsv(layout.path(res, "satmut", "fig4a_sites"), pd.DataFrame({
        "site_index": [1], "chrom": ["chr1"], "window_start": [5], "target": ["ery_1"], "prediction": [0.99]}))
    n = 30
    roles = ["causal_break"] * 5 + ["causal_create"] * 3 + ["causal_outside_site"] * 2 + ["bystander"] * 20
    ids = [f"snp{i:03d}" for i in range(n)]
    sad = pd.DataFrame({"chrom": "chr1", "pos": np.arange(n) * 100, "id": ids, "ref": "A", "alt": "C",
                        "swapped": False, "mean_sad": rng.normal(size=n) * 0.05,
                        "max_abs_sad": rng.uniform(size=n) + np.r_[np.full(8, 0.3), np.zeros(22)],
                        "top_target": "ery_1"})
    for t in targets:
        sad[t] = rng.normal(size=n) * 0.01
    res.joinpath("variants").mkdir(parents=True, exist_ok=True)
    with gzip.open(layout.path(res, "variants", "sad"), "wt") as fh:
        sad.to_csv(fh, sep="\t", index=False)
    _kv(layout.path(res, "variants", "summary"), {"variants_read": n, "scored": n, "unknown_chroms": ""})
    _kv(layout.path(res, "variants", "pics_summary"), {
        "score": "abs_mean", "n_high": 8, "n_low": 20, "frac_high": 0.25, "frac_low": 0.05, "frac_high_any": 0.5,
        "frac_low_any": 0.1, "mannwhitney_p": 5.975462880733507e-06, "fisher_p": 0.11816838995568686})
    _tsv(truth / "snps.tsv", pd.DataFrame({"id": ids, "chrom": "chr1", "pos": np.arange(n) * 100, "ref": "A",
                                           "alt": "C", "role": roles, "pics": 0.1}))
    _tsv(truth / "cell_factor_activity.tsv", pd.DataFrame({"cell": targets, "GATA1": [1.2, 0.1, 0.05],
                                                           "HNF4A": [0.02, 1.1, 0.3]}))
    if transfer:
        _tsv(layout.path(res, "transfer", "table"), pd.DataFrame({
            "target": targets, "full_auroc": [0.9, 0.91, 0.92], "transfer_auroc": [0.88, 0.9, 0.85],
            "scratch_auroc": [0.8, 0.95, 0.7]}))
        layout.path(res, "transfer", "fig6").write_bytes(tiny_png(shade=200))
        _kv(layout.path(res, "transfer", "summary"), {
            "holdout": 3, "tolerance": 0.03, "within_tolerance": 1, "mean_full_auroc": 0.91,
            "mean_difference": -0.0333, "max_shortfall": 0.07})
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


def _from_stage_table(res: Path, truth: Path, file: str, key: str):
    """The number a headline row names, read here independently of basset.stages.report."""
    path = res / file
    if key.startswith("causal_auroc(") or key.startswith("causal_top("):
        score = key[key.index("(") + 1:-1]
        col = score[4:-1] if score.startswith("abs(") else score
        sad = pd.read_csv(path, sep="\t")
        frame = pd.read_csv(truth / "snps.tsv", sep="\t").merge(sad[["id", col]], on="id")
        frame = frame[frame["role"].isin(["causal_break", "causal_create", "bystander"])]
        y = frame["role"].str.startswith("causal").to_numpy()
        s = frame[col].abs().to_numpy() if score.startswith("abs(") else frame[col].to_numpy()
        if key.startswith("causal_auroc("):
            return roc_auc_score(y, s)
        return y[np.argsort(-s, kind="stable")[: y.sum()]].mean()
    if key.startswith("insertion_rho("):
        ins = pd.read_csv(path, sep="\t").set_index("motif")
        act = pd.read_csv(truth / "cell_factor_activity.tsv", sep="\t").set_index("cell")
        rho = [spearmanr(ins.loc[m, act.index], act[m]).statistic for m in ins.index if m in act.columns]
        return np.mean(rho) if key == "insertion_rho(mean)" else sum(r > 0 for r in rho)
    table = pd.read_csv(path, sep="\t")
    if key.startswith("mean("):
        return table[key[5:-1]].mean()
    if key.startswith("sum("):
        return table[key[4:-1]].sum()
    if key == "rows()":
        return len(table)
    if key.startswith("count("):
        a, b = key[6:-1].split(">")
        return (table[a] > table[b]).sum()
    if "[" in key:
        col, sel = key[:-1].split("[")
        if sel.startswith("#"):
            return table[col].iloc[int(sel[1:])]
        field, value = sel.split("=")
        return table.loc[table[field] == value, col].item()
    kv = dict(zip(table["key"], table["value"]))
    if "/" in key:
        a, b = key.split("/")
        return float(kv[a]) / float(kv[b])
    try:
        return float(kv[key])
    except ValueError:
        return kv[key]


def _same(reported, expected):
    if isinstance(expected, str):
        return str(reported) == expected
    return float(reported) == pytest.approx(float(expected), rel=1e-9, abs=1e-12)


@pytest.fixture
def report(tmp_path):
    res, truth = fake_run(tmp_path)
    out = tmp_path / "report" / "index.html"
    numbers = _make_report(res, out, config={"run": "fake", "seed": 1, "simulate": {"enabled": True},
                                             "kmer": {"k": 6}}, truth_dir=truth)
    return res, truth, out, numbers


def test_every_headline_number_is_the_one_in_its_stage_table(report):
    res, truth, out, numbers = report
    page = _parse(out)
    headline = pd.read_csv(out.parent / "headline.tsv", sep="\t", dtype=str, keep_default_na=False)
    assert len(page.rows) == len(headline) == len(numbers) > 40
    assert [r["data-id"] for r in page.rows] == list(headline["id"]) == list(numbers)
    for row, (_, tsv) in zip(page.rows, headline.iterrows()):
        expected = _from_stage_table(res, truth, row["data-file"], row["data-key"])
        assert (row["data-file"], row["data-key"]) == (tsv["source_file"], tsv["source_key"])
        assert _same(row["data-value"], expected), row
        assert _same(tsv["value"], expected), tsv.to_dict()
        assert _same(numbers[row["data-id"]], expected)
        # the number printed on the page is the stage's number, formatted
        assert row["value_text"] == fmt(expected if isinstance(expected, str) else float(expected),
                                        row["data-format"]), row
    # a few spelled out, against the values written into the fake tables
    assert numbers["mean_auroc"] == pytest.approx(0.912345) and numbers["n_targets_cnn_better"] == 2
    assert numbers["fraction_annotated"] == pytest.approx(3 / 8) and numbers["phylop_r_both"] == 0.368331
    assert numbers["influence_1_filter"] == "filter5" and numbers["influence_1_match"] == "GATA1"
    assert "influence_2_match" not in numbers  # filter2 has no match
    assert numbers["pics_mannwhitney_p"] == 5.975462880733507e-06
    text = out.read_text()
    assert "mean AUROC 0.912 (median 0.900" in text and "better on 2 of 3 cell types" in text
    assert "6-mer baseline" in text and "3 (37.5%) match a database motif" in text


def test_every_named_figure_exists_and_is_an_embedded_png(report):
    res, _, out, _ = report
    page = _parse(out)
    assert len(page.figures) == len(PANELS) and len(page.imgs) == len(page.figures)
    labels = [f["data-figure"] for f in page.figures]
    for wanted in ("2A", "2B", "2C", "3A", "3B", "3C", "4A", "4B–D", "5A", "5B"):
        assert wanted in labels
    for fig, img in zip(page.figures, page.imgs):
        path = res / fig["data-file"]
        assert path.exists(), fig
        prefix = "data:image/png;base64,"
        assert img["src"].startswith(prefix) and img.get("alt")
        data = base64.b64decode(img["src"][len(prefix):], validate=True)
        assert data.startswith(PNG_SIGNATURE) and data == path.read_bytes()
    # self-contained: no scripts, stylesheets or frames, and links only to anchors on the page
    assert all(tag == "a" and a.get("href", "").startswith("#") for tag, a in page.links)


def test_truth_grades_and_escaping(report):
    res, truth, out, numbers = report
    text = out.read_text()
    assert numbers["planted_factors_recovered"] == 1 and numbers["insertion_rho_positive"] <= 2
    assert 0 <= numbers["causal_auroc_max_abs"] <= 1 and "graded against the simulation" in text
    assert "<b>A&B</b>" not in text and "&lt;b&gt;A&amp;B&lt;/b&gt;" in text
    assert "Not run: no outputs of transfer learning" in text


def test_without_truth_or_optional_stages(tmp_path):
    res, _ = fake_run(tmp_path)
    for f in ("variants", "satmut"):
        shutil.rmtree(res / f)
    out = tmp_path / "r.html"
    numbers = _make_report(res, out, config={"run": "x", "simulate": {"enabled": False}})
    assert not any(k.startswith(("causal_", "insertion_rho", "pics_", "phylop_")) for k in numbers)
    text = out.read_text()
    assert text.count("Not run:") == 3  # figures 4, 5 and 6
    assert "real data" in text


def test_transfer_section_when_present(tmp_path):
    res, truth = fake_run(tmp_path, transfer=True)
    out = tmp_path / "r.html"
    numbers = _make_report(res, out, truth_dir=truth)
    assert numbers["transfer_targets"] == 3 and numbers["transfer_better"] == 2
    assert numbers["transfer_mean_transfer_auroc"] == pytest.approx(np.mean([0.88, 0.9, 0.85]))
    page = _parse(out)
    fig6 = [f for f in page.figures if f["data-figure"] == "6"]
    assert len(fig6) == 1 and (res / fig6[0]["data-file"]).exists()
    assert numbers["transfer_within"] == 1 and numbers["transfer_max_shortfall"] == 0.07
    text = out.read_text()
    assert "Not run" not in text and "within tolerance of the full model on 1." in text
    headline = pd.read_csv(out.parent / "headline.tsv", sep="\t")
    for _, row in headline[headline["section"] == "Figure 6"].iterrows():
        assert _same(row["value"], _from_stage_table(res, truth, row["source_file"], row["source_key"]))


def test_paper_numbers_beside_ours_when_targets_are_the_papers(tmp_path):
    ref = tmp_path / "reference"
    ref.mkdir()
    # the paper's labels as its targets.txt spells them; the sample sheet spells "CD20+" as "CD20pos"
    (ref / "basset_targets.txt").write_text("8988T\tencode/a.gz\nCD20+\troadmap/b.gz\nESC.H9 \troadmap/c.gz\n")
    (ref / "basset_pretrained_test_aucs.txt").write_text("1     0.8820\n2     0.9141\n3     0.8492\n")
    res, _ = fake_run(tmp_path, targets=["8988T", "CD20pos", "ESC.H9"])
    out = tmp_path / "r.html"
    heads = {h.id: h for h in headline_numbers(report_inputs(res), paper_aucs=ref / "basset_pretrained_test_aucs.txt")}
    assert heads["mean_auroc"].paper_value == pytest.approx(np.mean([0.8820, 0.9141, 0.8492]))
    assert heads["median_auroc"].paper_value == pytest.approx(0.8820)
    _make_report(res, out, paper_aucs=ref / "basset_pretrained_test_aucs.txt")
    page = _parse(out)
    row = next(r for r in page.rows if r["data-id"] == "mean_auroc")
    assert row["paper_text"] == fmt(np.mean([0.8820, 0.9141, 0.8492]))
    assert "paper-targets" in out.read_text() and "0.914" in out.read_text()
    # other targets: no paper column
    res2, _ = fake_run(tmp_path / "other")
    heads = {h.id: h for h in headline_numbers(report_inputs(res2), paper_aucs=ref / "basset_pretrained_test_aucs.txt")}
    assert heads["mean_auroc"].paper_value is None


def test_published_aucs_file_is_read():
    aucs = ROOT.parent / "shared" / "reference" / "basset_pretrained_test_aucs.txt"
    if not aucs.exists():
        pytest.skip(f"reference file {aucs} not present")
    table = pd.read_csv(aucs, sep=r"\s+", header=None)
    assert len(table) == 164 and table[1].mean() == pytest.approx(0.894, abs=1e-3)


def test_resolve_source_grammar(tmp_path):
    _kv(tmp_path / "kv.tsv", {"a": 3, "b": 4, "name": "x y"})
    _tsv(tmp_path / "t.tsv", pd.DataFrame({"f": ["u", "v"], "x": [1.5, 2.5], "y": [2.0, 1.0]}))
    assert resolve_source(tmp_path / "kv.tsv", "a") == 3 and resolve_source(tmp_path / "kv.tsv", "name") == "x y"
    assert resolve_source(tmp_path / "kv.tsv", "a/b") == 0.75
    assert resolve_source(tmp_path / "t.tsv", "x[f=v]") == 2.5 and resolve_source(tmp_path / "t.tsv", "f[#0]") == "u"
    assert resolve_source(tmp_path / "t.tsv", "mean(x)") == 2.0 and resolve_source(tmp_path / "t.tsv", "rows()") == 2
    assert resolve_source(tmp_path / "t.tsv", "count(x>y)") == 1 and resolve_source(tmp_path / "t.tsv", "sum(x)") == 4
    with pytest.raises(ValueError, match="no key"):
        resolve_source(tmp_path / "kv.tsv", "missing")


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
    assert numbers["filters"] == 20 and numbers["annotated"] == 3
    assert "recover known motifs" not in text and "change accessibility more" not in text
    assert _title(text, "Figure 3") == ("Figure 3. First-layer filters and their best database matches: "
                                        "3 of 20 annotated")
    page = _parse(out)
    fig3b = page.imgs[[f["data-figure"] for f in page.figures].index("3B")]
    assert fig3b["alt"] == ("Figure 3B: Annotated filters beside their best database match "
                            "(3 of 20 filters annotated)")
    # every other title's number is the stage table's number
    assert f"mean test AUROC {fmt(numbers['mean_auroc'])} over 3 cell types, against " \
           f"{fmt(numbers['kmer_mean_auroc'])} for the 6-mer baseline" in _title(text, "Figure 2")
    assert f"Pearson r {fmt(numbers['phylop_r_both'])}" in _title(text, "Figure 4")
    assert (f"{fmt(numbers['pics_frac_high'], 'pct')} of likely and {fmt(numbers['pics_frac_low'], 'pct')} of "
            f"unlikely causal") in _title(text, "Figure 5")
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
    assert (numbers["filters"], numbers["annotated"]) == (6, 3)  # fake filter_summary.tsv: 6 rows, 3 annotated
    assert "3 of 6 annotated" in _title(out.read_text(), "Figure 3")
    headline = pd.read_csv(out.parent / "headline.tsv", sep="\t", dtype=str, keep_default_na=False)
    for _, row in headline[headline["id"].isin(["filters", "annotated", "fraction_annotated"])].iterrows():
        assert row["source_file"] == "motifs/filter_summary.tsv"
        assert _same(row["value"], _from_stage_table(res, truth, row["source_file"], row["source_key"]))


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
                      "planted-factor grading": ("simulate.enabled", ("Figure 3", "Figure 5"))}
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
    _tsv(layout.path(res, "evaluate", "summary"), summary[~summary["key"].str.startswith(("promoter", "intergenic"))])
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
    assert (out / "index.html").exists() and (out / "headline.tsv").exists()
    assert "causal_auroc" in (out / "headline.tsv").read_text()
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
                         capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr[-2000:]
    page = _parse_title(run.stdout)
    assert page == f"RENDERED {len(PANELS)}", run.stdout[:500]
    shot = tmp_path / "shot.png"
    run = subprocess.run(["chromium", "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run",
                          "--window-size=1000,1400", f"--screenshot={shot}", out.as_uri()],
                         capture_output=True, text=True, timeout=180)
    assert run.returncode == 0 and shot.read_bytes().startswith(PNG_SIGNATURE), run.stderr[-2000:]


def _parse_title(dom: str) -> str:
    start = dom.find("<title>")
    return dom[start + 7: dom.find("</title>", start)] if start >= 0 else ""

"""The Snakemake workflow: config validation, the DAG of both configs, and the tiny config end to end."""

import json
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
from conftest import copy_workflow

from basset.bed import read_activity, read_sites
from basset.sequence import Genome

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.workflow



def snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2", *args], cwd=workdir,
                          capture_output=True, text=True)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """The tiny config run twice, in two directories, through merging and the dataset."""
    runs = []
    for i in range(2):
        work = copy_workflow(tmp_path_factory.mktemp(f"tiny{i}"))
        res = snakemake(work, "--configfile", "config/tiny.yaml")
        assert res.returncode == 0, res.stderr[-5000:]
        runs.append(work)
    return runs


def test_tiny_workflow_writes_a_consistent_dataset(tiny_run):
    work = tiny_run[0]
    out = work / "results" / "tiny"
    samples = pd.read_csv(work / "config/samples/tiny.tsv", sep="\t")
    sites = read_sites(out / "peaks/sites.bed")
    targets, site_names, act = read_activity(out / "peaks/activity.tsv.gz")
    assert targets == list(samples["name"])
    assert list(site_names) == list(sites["name"])
    assert ((sites["end"] - sites["start"]) == 600).all()
    assert act.sum(axis=1).min() >= 1  # every merged site is active somewhere
    splits = pd.read_csv(out / "dataset/splits.tsv", sep="\t")
    counts = splits["split"].value_counts()
    n = len(sites)
    assert abs(counts["valid"] - 0.1 * n) <= 1 and abs(counts["test"] - 0.1 * n) <= 1
    genome = Genome(work / "resources/tiny/genome.fa")
    with h5py.File(out / "dataset/dataset.h5") as h5:
        assert [t.decode() if isinstance(t, bytes) else t for t in h5["target_names"][:]] == targets
        total = 0
        for split in ("train", "valid", "test"):
            g = h5[split]
            seqs, tg, idx = g["seqs"][:], g["targets"][:], g["site_index"][:]
            assert seqs.dtype == np.uint8 and seqs.shape[1] == 600 and seqs.max() <= 4
            assert tg.shape == (len(seqs), len(targets))
            np.testing.assert_array_equal(tg, act[idx])
            assert set(splits["split"].to_numpy()[idx]) == {split}
            # the stored codes are the genome's bases (N replaced at random: compare the ACGT positions)
            for k in range(0, len(idx), max(1, len(idx) // 20)):
                row = sites.iloc[idx[k]]
                ref = genome.fetch(row["chrom"], row["start"], row["end"])
                known = ref < 4
                np.testing.assert_array_equal(seqs[k][known], ref[known])
            total += len(seqs)
        summary = pd.read_csv(out / "dataset/summary.tsv", sep="\t", index_col=0)["value"]
        assert total == n - sum(int(v) for k, v in summary.items() if k.startswith("skipped"))


def test_tiny_workflow_trains_and_evaluates(tiny_run):
    out = tiny_run[0] / "results" / "tiny"
    targets = list(pd.read_csv(tiny_run[0] / "config/samples/tiny.tsv", sep="\t")["name"])
    history = pd.read_csv(out / "train/history.tsv", sep="\t")
    assert len(history) == 2 and history["valid_auroc"].notna().all()
    metrics = pd.read_csv(out / "evaluate/metrics.tsv", sep="\t")
    assert list(metrics["target"]) == targets
    # the k-mer AUROCs against scikit-learn on the written predictions and the dataset's test labels; the file
    # holds 6 significant digits, so probabilities near 1 tie there and the AUROC moves by a few 1e-4
    from sklearn.metrics import roc_auc_score

    from basset.predict import read_predictions

    index, names, probs = read_predictions(out / "evaluate/kmer_predictions.tsv.gz")
    assert names == targets
    _, _, act = read_activity(out / "peaks/activity.tsv.gz")
    for j, name in enumerate(targets):
        expected = roc_auc_score(act[index, j], probs[:, j])
        assert metrics.loc[j, "kmer_auroc"] == pytest.approx(expected, abs=2e-3), name
    summary = pd.read_csv(out / "evaluate/summary.tsv", sep="\t", index_col=0)["value"]
    assert abs(float(summary["mean_auroc"]) - metrics["auroc"].mean()) < 1e-6
    for stem in ("fig2a_heatmap", "fig2b_cnn_vs_kmer", "fig2c_roc", "auroc_by_class"):
        assert (out / f"evaluate/{stem}.png").read_bytes()[:4] == b"\x89PNG"
        assert (out / f"evaluate/{stem}.pdf").read_bytes()[:4] == b"%PDF"
    classes = pd.read_csv(out / "evaluate/auroc_by_class.tsv", sep="\t")
    assert set(classes["class"]) <= {"promoter", "intragenic", "intergenic"} and len(classes) > 0


def test_tiny_workflow_interprets_the_filters(tiny_run):
    out = tiny_run[0] / "results" / "tiny" / "motifs"
    summary = pd.read_csv(out / "summary.tsv", sep="\t", index_col=0)["value"]
    assert int(summary["filters"]) == 32 and summary["engine"] in ("basset", "meme")
    assert summary["distance"] == "pearson"
    # recovery against the simulation's truth and the Tomtom table: every planted factor has a row, and one
    # recovered by name has a Tomtom hit with its matrix ID or name
    recovery = pd.read_csv(out / "planted_factor_recovery.tsv", sep="\t")
    import json

    factors = json.loads((tiny_run[0] / "resources/tiny/truth/simulation.json").read_text())["factors"]
    assert dict(zip(recovery["factor"], recovery["matrix_id"])) == factors
    hits = pd.read_csv(out / "tomtom.tsv", sep="\t")
    for row in recovery[recovery["by_name"]].itertuples():
        assert (hits["target_id"] == row.matrix_id).any() or (hits["target_name"].str.upper() == row.factor.upper()).any()
    assert int(summary["planted_factors_recovered"]) == int(recovery["recovered"].sum())
    assert float(summary["fraction_recovered"]) == pytest.approx(recovery["recovered"].sum() / len(factors))
    table = pd.read_csv(out / "filter_summary.tsv", sep="\t")
    assert len(table) == 32 and table["influence"].is_monotonic_decreasing
    insertion = pd.read_csv(out / "insertion.tsv", sep="\t", index_col=0)
    assert insertion.shape[1] == 6 and len(insertion) >= 1
    for stem in ("fig3a_ic_vs_influence", "fig3b_matches", "fig3c_influence", "filter_logos", "motif_insertion"):
        assert (out / f"{stem}.png").read_bytes()[:4] == b"\x89PNG"
        assert (out / f"{stem}.pdf").read_bytes()[:4] == b"%PDF"


def test_tiny_workflow_mutagenesis_and_variants(tiny_run):
    res = tiny_run[0] / "results" / "tiny"
    import h5py

    with h5py.File(res / "satmut/scores.h5", "r") as h5:
        assert h5["loss"].shape == h5["gain"].shape == (30, 40, 6) and h5["phylop"].shape == (30, 40)
        assert np.isfinite(h5["phylop"][...]).all()
    reg = pd.read_csv(res / "satmut/phylop_regression.tsv", sep="\t")
    assert list(reg["features"]) == ["loss", "gain", "both"] and reg["r"].notna().all()
    from basset.sadfile import read_sad

    sad = read_sad(res / "variants/sad.h5")
    table = pd.read_csv(res / "variants/sad.tsv.gz", sep="\t")
    vcf = pd.read_csv(tiny_run[0] / "resources/tiny/snps.vcf.gz", sep="\t", comment="#", header=None)
    summary = pd.read_csv(res / "variants/summary.tsv", sep="\t", index_col=0)["value"]
    assert int(summary["scored"]) == len(sad) == len(table) == len(vcf)  # every simulated SNP matches the genome
    assert table["id"].tolist() == sad["id"].tolist()
    targets = list(pd.read_csv(tiny_run[0] / "config/samples/tiny.tsv", sep="\t")["name"])
    assert sad.attrs["target_names"] == targets
    # mean_sad from the full-precision SAD, the stored SAD float16
    np.testing.assert_allclose(sad["mean_sad"], sad[targets].mean(axis=1), atol=1e-3)
    np.testing.assert_allclose(table["mean_sad"], sad["mean_sad"], rtol=1e-5, atol=1e-8)
    enrichment = pd.read_csv(res / "variants/pics_enrichment.tsv", sep="\t", index_col=0)["value"]
    assert int(enrichment["n_high"]) + int(enrichment["n_low"]) <= int(enrichment["n_matched"]) == len(vcf)
    for stem in ("satmut/fig4a_maps", "satmut/fig4bcd_phylop", "variants/fig5a_pics", "variants/fig5b_top_snp"):
        assert (res / f"{stem}.png").read_bytes()[:4] == b"\x89PNG"


def test_tiny_workflow_transfer_and_report(tiny_run):
    res = tiny_run[0] / "results" / "tiny"
    table = pd.read_csv(res / "transfer/transfer.tsv", sep="\t")
    assert len(table) == 2 and table["transfer_auroc"].notna().all()
    metrics = pd.read_csv(res / "evaluate/metrics.tsv", sep="\t").set_index("target")
    np.testing.assert_allclose(table["full_auroc"], metrics.loc[table["target"], "auroc"], atol=1e-4)
    assert (res / "transfer/fig6_transfer.png").read_bytes()[:4] == b"\x89PNG"
    html = (res / "report/index.html").read_text()
    assert html.count("<img") >= 13 and "data:image/png;base64," in html and "Figure 6" in html
    headline = pd.read_csv(res / "report/headline.tsv", sep="\t")
    summary = pd.read_csv(res / "evaluate/summary.tsv", sep="\t", index_col=0)["value"]
    row = headline[(headline["source_file"] == "evaluate/summary.tsv") & (headline["source_key"] == "mean_auroc")]
    assert len(row) == 1 and float(row["value"].iloc[0]) == pytest.approx(float(summary["mean_auroc"]))


def g_length(res) -> int:
    with h5py.File(res / "attribution/attributions.h5") as f:
        return int(f["all"]["codes"].shape[1])


def test_tiny_workflow_attributions_and_modisco(tiny_run):
    """The attribution rules ran for every lineage of the tiny sheet and 'all'; the attributions are graded on the
    planted instances; the report has Figure 7; the fine-tuned transfer models are kept."""
    res = tiny_run[0] / "results" / "tiny"
    with h5py.File(res / "attribution/attributions.h5") as f:
        assert sorted(f) == ["all", "erythroid", "hepatocyte", "myeloid"]
        g = f["erythroid"]
        assert g["hypothetical"].shape == (len(g["rows"]), 4, g["codes"].shape[1]) == g["gradient_x_input"].shape
    for lineage in ("all", "erythroid", "hepatocyte", "myeloid"):
        assert (res / f"attribution/modisco/{lineage}.h5").exists()
    truth = pd.read_csv(res / "attribution/truth_auroc.tsv", sep="\t")
    assert sorted(truth["lineage"]) == ["all", "erythroid", "hepatocyte", "myeloid"]
    assert (truth["bases"] == truth["sites"] * g_length(res)).all() and (truth["bases_in_instances"] > 0).all()
    assert truth["auroc_deeplift"].between(0, 1).all(), truth  # two epochs of a small model: near chance here
    patterns = pd.read_csv(res / "attribution/patterns.tsv", sep="\t")
    assert {"pattern", "lineage", "seqlets", "jaspar_name", "cisbp_name", "planted"} <= set(patterns.columns)
    recovery = pd.read_csv(res / "attribution/planted_factor_recovery.tsv", sep="\t")
    assert "CTCF" in set(recovery["factor"])
    summary = pd.read_csv(res / "attribution/summary.tsv", sep="\t", index_col=0)["value"]
    assert int(summary["planted_factors"]) == len(recovery)
    for stem in ("fig7a_patterns", "fig7b_pair_spacing", "fig7c_tracks"):
        assert (res / f"attribution/{stem}.png").read_bytes()[:4] == b"\x89PNG"
    assert "Figure 7. Beyond the filters" in (res / "report/index.html").read_text()
    assert sorted(p.name for p in (res / "transfer/fine_tuned").glob("*.pt")) == sorted(
        pd.read_csv(res / "transfer/transfer.tsv", sep="\t")["target"] + ".pt")


def test_every_model_rule_runs_on_the_configured_device(tiny_run):
    """tiny.yaml says ``train.device: cpu``: every rule that runs a model logs that it resolved the CPU from that key.

    Reproduction of the defect: six scripts chose ``cuda`` whenever torch saw a GPU, whatever the config said (only
    train_model read ``train.device``); their logs had no device line at all.
    """
    logs = tiny_run[0] / "logs" / "tiny"
    rules = {"train": ["train_model"], "evaluate": ["evaluate_model"],
             "motifs": ["filter_motifs", "filter_influence", "insert_motifs"],
             "satmut": ["saturation_mutagenesis", "plot_satmut"], "variants": ["score_snps", "pics_enrichment"],
             "transfer": ["pretrain_public", "transfer_learning"], "attribution": ["attribute_sites"]}
    for stage, names in rules.items():
        for name in names:
            text = (logs / stage / f"{name}.log").read_text()
            assert "device cpu (train.device: cpu)" in text, f"{stage}/{name}.log:\n{text[-2000:]}"
            assert "cuda" not in text.lower(), f"{stage}/{name}.log mentions CUDA"


def test_same_seed_gives_the_same_sites_splits_and_dataset(tiny_run):
    a, b = (w / "results" / "tiny" for w in tiny_run)
    assert (a / "peaks/sites.bed").read_bytes() == (b / "peaks/sites.bed").read_bytes()
    assert (a / "peaks/activity.tsv.gz").read_bytes() == (b / "peaks/activity.tsv.gz").read_bytes()
    assert (a / "dataset/splits.tsv").read_bytes() == (b / "dataset/splits.tsv").read_bytes()
    with h5py.File(a / "dataset/dataset.h5") as ha, h5py.File(b / "dataset/dataset.h5") as hb:
        for split in ("train", "valid", "test"):
            for key in ("seqs", "targets", "site_index"):
                np.testing.assert_array_equal(ha[split][key][:], hb[split][key][:])
    # and, on CPU, the same model
    import torch

    ma = torch.load(a / "train/model.pt", weights_only=True)["state_dict"]
    mb = torch.load(b / "train/model.pt", weights_only=True)["state_dict"]
    assert ma.keys() == mb.keys() and all(torch.equal(ma[k], mb[k]) for k in ma)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return copy_workflow(tmp_path_factory.mktemp("wf"))


def test_dry_run_default_config_shows_the_dag(workdir):
    res = snakemake(workdir, "-n", "--quiet", "rules")
    assert res.returncode == 0, res.stderr[-3000:]
    for rule in ("simulate_genome", "merge_peaks", "split_sites", "build_dataset", "train_model", "kmer_baseline",
                 "evaluate_model", "filter_motifs", "tomtom_filters", "filter_influence", "insert_motifs",
                 "summarise_filters", "attribute_sites", "modisco_lineage", "annotate_patterns"):
        assert rule in res.stdout + res.stderr


def test_dry_run_paper_config_shows_164_downloads(workdir):
    res = snakemake(workdir, "-n", "--configfile", "config/encode_roadmap.yaml", "--quiet", "rules")
    text = res.stdout + res.stderr
    assert res.returncode == 0, text[-3000:]
    assert "simulate_genome" not in text
    # every step through the report, with no edits (issue 11): the PICS SNPs' alleles come from dbSNP
    for rule in ("download_resource", "index_genome", "merge_peaks", "build_dataset", "select_pics_variants",
                 "score_snps", "pics_enrichment", "transfer_learning", "make_report"):
        assert rule in text
    counts = {line.split()[0]: int(line.split()[1]) for line in text.splitlines()
              if len(line.split()) == 2 and line.split()[1].isdigit()}
    assert counts.get("download_peaks") == 164


@pytest.mark.parametrize("override, expected", [
    (["peaks={'feature_size': 'wide'}"], "key 'peaks.feature_size'"),
    (["dataset={'split': {'method': 'random', 'valid': -3}}"], "key 'dataset.split.valid'"),
    (["colour=blue"], "Additional properties are not allowed ('colour'"),
    (["samples=missing.tsv"], "key 'samples'"),
    # keys that contradict each other are refused at parse time too (issue 11)
])
def test_bad_config_fails_before_any_job_with_the_key(workdir, override, expected):
    res = snakemake(workdir, "-n", "--config", *override)
    assert res.returncode != 0
    assert expected in res.stderr + res.stdout


def _merged(base: dict, over: dict) -> dict:
    out = dict(base)
    for key, value in over.items():
        out[key] = _merged(base.get(key, {}), value) if isinstance(value, dict) else value
    return out


@pytest.mark.parametrize("override, expected", [
    ({"dataset": {"split": {"method": "random", "valid": 0.5, "test": 0.5}}}, "dataset.split.valid, dataset.split.test"),
    ({"model": {"conv_widths": [19, 11]}}, "model.conv_widths"),
    ({"peaks": {"merge_overlap": 600}}, "peaks.merge_overlap"),
    ({"run": ".."}, "key 'run'"),
    ({"model": {"preset": "deepsea"}}, "model.seq_len, peaks.feature_size"),
    ({"transfer": {"k": 21}}, "transfer.k"),
    ({"simulate": {"enabled": False}, "genome": {"fasta": "nowhere/genome.fa"}}, "key 'genome.fasta': nowhere/genome.fa"),
    ({"genome": {"fasta": "nowhere/genome.fa"}}, "simulate.enabled is true"),
])
def test_contradicting_keys_fail_before_any_job(workdir, override, expected):
    """Split fractions summing to 1 failed in split_sites after the merge (with an empty rule log), layer lists of
    different lengths in train_model after the dataset, the deepsea preset on 600 bp sites in train_model;
    merge_overlap >= feature_size and run '..' were accepted."""
    import yaml

    config = _merged(yaml.safe_load((workdir / "config/config.yaml").read_text()), override)
    path = workdir / "config/bad.yaml"
    path.write_text(yaml.safe_dump(config))
    res = snakemake(workdir, "-n", "--configfile", str(path))
    assert res.returncode != 0
    assert expected in res.stderr + res.stdout
    assert "Job stats" not in res.stdout + res.stderr


def test_unsafe_sample_name_names_the_sheet_and_line(workdir):
    sheet = workdir / "bad.tsv"
    sheet.write_text("name\tpeaks\tgroup\nok_1\tx.bed\terythroid\nbad name\ty.bed\terythroid\n")
    res = snakemake(workdir, "-n", "--config", f"samples={sheet}")
    assert res.returncode != 0
    text = res.stdout + res.stderr
    assert f"{sheet}:3" in text and "unsafe sample name" in text


@pytest.mark.parametrize("name", ["..", "."])
def test_dot_sample_names_are_refused(workdir, name):
    """Sample names '.' and '..' passed, and would have named folders outside the run's."""
    sheet = workdir / "dots.tsv"
    sheet.write_text(f"name\tpeaks\tgroup\nok_1\tx.bed\terythroid\n{name}\ty.bed\terythroid\n")
    res = snakemake(workdir, "-n", "--config", f"samples={sheet}")
    assert res.returncode != 0 and f"{sheet}:3" in res.stdout + res.stderr


def test_dry_run_deepsea_mode_bins_instead_of_merging(workdir):
    """dataset.mode deepsea: bin_peaks makes the sites (under peaks/bins/) and split_sites reads them; merge_peaks is
    not in the DAG. A bin longer than the model's input is refused before any job."""
    res = snakemake(workdir, "-n", "--configfile", "config/tiny.yaml", "--config", 'dataset={"mode": "deepsea"}')
    text = res.stdout + res.stderr
    assert res.returncode == 0, text[-3000:]
    assert "rule bin_peaks:" in text and "rule merge_peaks:" not in text
    assert "input: results/tiny/peaks/bins/sites.bed" in text
    import yaml

    config = _merged(yaml.safe_load((workdir / "config/tiny.yaml").read_text()),
                     {"dataset": {"mode": "deepsea", "bin": 700}})
    (workdir / "config/deep.yaml").write_text(yaml.safe_dump(config))
    res = snakemake(workdir, "-n", "--configfile", "config/deep.yaml")
    assert res.returncode != 0 and "dataset.bin, model.seq_len" in res.stdout + res.stderr


def test_dry_run_deepsea_encode_config(workdir):
    """config/deepsea_encode.yaml: 18 ENCODE peak files (3 DNase, 9 TF ChIP-seq, 6 histone marks of GM12878, K562 and
    HepG2) downloaded, binned DeepSEA's way and evaluated by assay, through the report."""
    sheet = pd.read_csv(workdir / "config/samples/deepsea_encode.tsv", sep="\t", dtype=str, keep_default_na=False)
    assert sheet["assay"].value_counts().to_dict() == {"tf": 9, "histone": 6, "dnase": 3}
    assert set(sheet["cell"]) == {"GM12878", "K562", "HepG2"}
    res = snakemake(workdir, "-n", "--configfile", "config/deepsea_encode.yaml", "--quiet", "rules")
    text = res.stdout + res.stderr
    assert res.returncode == 0, text[-3000:]
    counts = {line.split()[0]: int(line.split()[1]) for line in text.splitlines()
              if len(line.split()) == 2 and line.split()[1].isdigit()}
    assert counts.get("download_peaks") == 18 and counts.get("bin_peaks") == 1
    assert counts.get("evaluate_by_assay") == 1 and counts.get("make_report") == 1 and "merge_peaks" not in counts


def test_dry_run_deepsea_config(workdir):
    """config/deepsea.yaml: the simulated DeepSEA-style default (24 features of four cell types) bins, evaluates by
    assay and reads the PICS SNPs by assay, through the report; transfer learning is off."""
    sheet = pd.read_csv(workdir / "config/samples/simulated_deepsea.tsv", sep="\t", dtype=str, keep_default_na=False)
    assert sheet["assay"].value_counts().to_dict() == {"tf": 12, "histone": 8, "dnase": 4}
    res = snakemake(workdir, "-n", "--configfile", "config/deepsea.yaml", "--quiet", "rules")
    text = res.stdout + res.stderr
    assert res.returncode == 0, text[-3000:]
    counts = {line.split()[0]: int(line.split()[1]) for line in text.splitlines()
              if len(line.split()) == 2 and line.split()[1].isdigit()}
    assert counts.get("simulate_genome") == 1 and counts.get("bin_peaks") == 1 and "merge_peaks" not in counts
    assert counts.get("evaluate_by_assay") == 1 and counts.get("delta_profile") == 1
    assert counts.get("make_report") == 1 and "transfer_learning" not in counts


def run_config(tmp_path_factory, name: str) -> Path:
    """A copy of the workflow that ran config/<name>.yaml to the report."""
    work = copy_workflow(tmp_path_factory.mktemp(name))
    res = snakemake(work, "--configfile", f"config/{name}.yaml")
    assert res.returncode == 0, res.stderr[-5000:]
    return work


@pytest.fixture(scope="module")
def tiny_deepsea(tmp_path_factory):
    """config/tiny_deepsea.yaml run to the report: simulated DNase, TF ChIP-seq and H3K27ac of two cell types."""
    return run_config(tmp_path_factory, "tiny_deepsea")


def test_tiny_deepsea_workflow_bins_evaluates_by_assay_and_reads_variants(tiny_deepsea):
    """DeepSEA's mode end to end: sites are 1,000 bp windows centred on 200 bp bins, one label column per sheet row;
    the evaluation by assay counts the sheet's assays; the SAD file holds the Delta classes and the impact score
    weighs the histone features (by assay) and ery_GATA1 (by name); the Delta profile and both DeepSEA panels reach
    the report with their numbers."""
    res = tiny_deepsea / "results" / "tiny_deepsea"
    sheet = pd.read_csv(tiny_deepsea / "config/samples/tiny_deepsea.tsv", sep="\t", dtype=str, keep_default_na=False)
    sites = read_sites(res / "peaks/bins/sites.bed")
    assert ((sites["end"] - sites["start"]) == 1000).all() and ((sites["start"] + 400) % 200 == 0).all()
    names, _, activity = read_activity(res / "peaks/bins/activity.tsv.gz")
    assert names == list(sheet["name"]) and activity.shape == (len(sites), len(names))
    by_assay = pd.read_csv(res / "evaluate/auroc_by_assay.tsv", sep="\t").set_index("assay")
    assert by_assay["features"].to_dict() == {"dnase": 2, "tf": 4, "histone": 2}
    with h5py.File(res / "variants/sad.h5") as f:
        assert h5py.check_enum_dtype(f["summary/delta_class"].dtype) is not None
        weights = {k: v for k, v in json.loads(f.attrs["weights"]).items() if v}
    assert weights == {"ery_GATA1": 2.0, "ery_H3K27ac": 1.0, "hep_H3K27ac": 1.0}
    table = pd.read_csv(res / "variants/sad.tsv.gz", sep="\t")
    assert set(table["delta_class"]) <= {"weak", "moderate", "strong"} and "weighted" in table
    profile = pd.read_csv(res / "variants/delta_profile.tsv", sep="\t")
    assert sorted(profile["target"]) == sorted(sheet["name"]) and list(dict.fromkeys(profile["assay"])) == [
        "dnase", "tf", "histone"]
    headline = pd.read_csv(res / "report/headline.tsv", sep="\t").set_index("id")
    assert {"tf_median_auroc", "histone_median_auroc", "delta_top_max_abs", "delta_likely_strong"} <= set(
        headline.index)
    html = (res / "report/index.html").read_text()
    assert "AUROC by assay" in html and "Δ across assays" in html


@pytest.fixture(scope="module")
def tiny_basenji(tmp_path_factory):
    """config/tiny_basenji.yaml run to the report: simulated DNase- and CAGE-like coverage of two cell types."""
    return run_config(tmp_path_factory, "tiny_basenji")


def test_tiny_basenji_workflow_bins_coverage_trains_a_coverage_model_and_reports_it(tiny_basenji):
    """Basenji's mode end to end: windows of the model's 4,096 bp every 2,048 bp hold each bigWig summed into 64 bp
    bins; the model is a coverage model trained on Poisson loss; the evaluation, the ablation and the difference
    track reach the report's Coverage section, and no stage on Basset's sites ran."""
    import pyBigWig

    from basset.dataset import Dataset
    from basset.models import BasenjiNet, load_model

    res = tiny_basenji / "results" / "tiny_basenji"
    data = Dataset(res / "dataset/dataset.h5")
    assert data.attrs["mode"] == "coverage" and data.target_shape == (64, 4) and data.attrs["seq_length"] == 4096
    assert data.target_names == ["ery_DNase", "ery_CAGE", "mye_DNase", "mye_CAGE"]
    with h5py.File(res / "dataset/dataset.h5") as f:  # a window's bins are its bigWig's sums (outside reference)
        chrom, start, y = f["test/chrom"].asstr()[0], int(f["test/start"][0]), f["test/targets"][0].astype(float)
    bw = pyBigWig.open(str(tiny_basenji / "resources/simulated_tiny_basenji/coverage/ery_CAGE.bw"))
    want = [bw.stats(chrom, start + 64 * b, start + 64 * b + 64, type="sum", exact=True)[0] or 0.0 for b in range(64)]
    np.testing.assert_allclose(y[:, 1], want, rtol=1e-3)
    model, meta = load_model(res / "train/model.pt")
    assert isinstance(model, BasenjiNet) and meta["config"]["bin_size"] == 64
    history = pd.read_csv(res / "train/history.tsv", sep="\t")
    assert "valid_r" in history and len(history) == 2
    metrics = pd.read_csv(res / "evaluate/coverage_metrics.tsv", sep="\t")
    assert list(metrics["assay"]) == ["dnase", "cage", "dnase", "cage"] and metrics["r_log"].notna().all()
    ablation = pd.read_csv(res / "evaluate/window_ablation.tsv", sep="\t")
    assert len(ablation) == 4 and {"r_long", "r_short"} <= set(ablation.columns)
    track = pd.read_csv(res / "variants/delta_track.tsv", sep="\t")
    assert len(track) == 64 and list(track.columns[2:]) == data.target_names
    # bins whose input span (basset.presets.bin_input_span) misses the variant do not move at all; the others do
    from basset.presets import bin_input_span

    pos0 = int(pd.read_csv(res / "variants/delta_track_summary.tsv", sep="\t").set_index("key").loc["pos", "value"]) - 1
    lo, hi = bin_input_span(meta["config"])
    reach = (track["start"] + lo <= pos0) & (pos0 <= track["start"] + hi)
    moved = track[data.target_names].abs().max(axis=1) > 0
    assert not moved[~reach].any() and moved[reach].mean() > 0.5 and (~reach).any()
    assert not (res / "peaks").exists() and not (res / "motifs").exists()
    headline = pd.read_csv(res / "report/headline.tsv", sep="\t").set_index("id")
    assert {"cov_mean_r_log", "abl_cage_r2_long", "abl_cage_r2_short", "dtrack_bins_moved"} <= set(headline.index)
    html = (res / "report/index.html").read_text()
    assert "Coverage tracks predicted from sequence" in html and "Window-size ablation" in html
    assert "Figure 2" not in html and "Not run" not in html


def test_lint_and_snakefmt_are_clean():
    res = subprocess.run([sys.executable, "-m", "snakemake", "--lint"], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0 and "Lints for" not in res.stdout + res.stderr, res.stdout + res.stderr
    fmt = subprocess.run([str(Path(sys.executable).with_name("snakefmt")), "--check", "Snakefile", "workflow/rules"],
                         cwd=ROOT, capture_output=True, text=True)
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


def test_dry_run_shards_score_snps_in_jobs_and_gathers_them(workdir):
    """variants.shards: 3 plans three score_snps_shard jobs (shard 0, 1, 2 of 3; each requesting the gpu resource
    when the device is cuda, so that on SLURM each is its own GPU job) and one gather_sad writing sad.h5."""
    import yaml

    config = _merged(yaml.safe_load((workdir / "config/config.yaml").read_text()),
                     {"variants": {"shards": 3}, "train": {"device": "cuda"}})
    path = workdir / "config/shards.yaml"
    path.write_text(yaml.safe_dump(config))
    res = snakemake(workdir, "-n", "--configfile", str(path))
    text = res.stdout + res.stderr
    assert res.returncode == 0, text[-3000:]
    jobs = text.split("\nrule ")
    shards = [j for j in jobs if j.startswith("score_snps_shard:")]
    assert sorted(j.split("wildcards: shard=")[1].split()[0] for j in shards) == ["0", "1", "2"]
    assert all("gpu=1" in j for j in shards), shards[0]
    gather = [j for j in jobs if j.startswith("gather_sad:")]
    assert len(gather) == 1 and "results/default/variants/sad.h5" in gather[0]
    assert not any(j.startswith("score_snps:") for j in jobs)


def test_paper_config_has_the_papers_settings():
    """config/encode_roadmap.yaml, completed with the schema's defaults as the workflow does: the published
    architecture (13 x 200 = 2,600 inputs to the first dense layer), N as 0.25 per channel, up to 1,000
    epochs, no reverse-complement augmentation or averaging, non-canonical contigs kept (only chrY dropped),
    Tomtom's q <= 0.1 with Pearson columns, and the paper's influence, PICS and phyloP choices."""
    import yaml

    from basset.config import complete_config
    from basset.models import build_model, model_config

    cfg = complete_config(yaml.safe_load((ROOT / "config" / "encode_roadmap.yaml").read_text()))
    model = build_model(model_config(**cfg["model"]), 164)
    assert model.dense[1].in_features == 2600
    assert cfg["dataset"]["n_handling"] == "uniform" and cfg["train"]["max_epochs"] == 1000
    assert not cfg["train"]["rc_augment"]
    assert not any(cfg[s]["rc_average"] for s in ("evaluate", "satmut", "variants"))
    assert cfg["peaks"]["drop_chry"] and not cfg["peaks"]["drop_noncanonical"]
    assert (cfg["motifs"]["distance"], cfg["motifs"]["tomtom_q"], cfg["motifs"]["min_overlap"]) == ("pearson", 0.1, 1)
    assert cfg["motifs"]["influence"] == "paper" and cfg["satmut"]["exclude_repeats"]
    assert cfg["variants"]["pics_coding"] is None  # basset.pics.CODING_ANNOTATIONS

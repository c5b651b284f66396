"""A user's own data through the workflow (issue 12): config/custom.yaml on files that the test writes outside
the repository, in the shapes users have them (a genome named 1, 2 against peaks named chr1, chr2; plain text
named .gz; BED lines of different widths), through a refused run, a failed run and a successful one.
Every user file must be byte-identical afterwards, and nothing may be written beside them.
"""

import gzip
import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from basset.simulate import simulate

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.workflow
SAMPLES = [("ery_a", "erythroid", "narrowPeak"), ("ery_b", "erythroid", "narrowPeak"),
           ("mye_a", "myeloid", "narrowPeak"), ("mye_b", "myeloid", "hotspot"), ("liv_a", "hepatocyte", "narrowPeak")]


def _checksums(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2", *args], cwd=workdir,
                          capture_output=True, text=True)


@pytest.fixture(scope="module")
def user(tmp_path_factory):
    """A user's data folder (outside the repository) and a copy of the workflow with configs pointing at it."""
    base = tmp_path_factory.mktemp("user")
    source = base / "made"
    sheet = pd.DataFrame([{"name": n, "group": g, "format": f, "peaks": ""} for n, g, f in SAMPLES])
    simulate(source, sheet, {"genome": {"chromosomes": 2, "size": 2_000_000}}, seed=3, progress=False)
    data = base / "data"
    (data / "peaks").mkdir(parents=True)
    # a genome named 1, 2 (Ensembl style) while the peaks say chr1, chr2 (UCSC style)
    fasta = (source / "genome.fa").read_text().replace(">chr", ">")
    (data / "genome.fa").write_text(fasta)
    rows = []
    for i, (name, group, fmt) in enumerate(SAMPLES):
        made = next((source / "peaks").glob(f"{name}.*"))
        text = gzip.decompress(made.read_bytes()).decode()
        if i == 1:  # plain text under a .gz name
            path = data / "peaks" / f"{name}.narrowPeak.gz"
            path.write_text(text)
        elif i == 2:  # a BED whose lines have 10, 6 and 3 columns
            lines = text.splitlines()
            cut = [ln if k % 3 == 0 else "\t".join(ln.split("\t")[: 6 if k % 3 == 1 else 3])
                   for k, ln in enumerate(lines)]
            path = data / "peaks" / f"{name}.bed"
            path.write_text("\n".join(cut) + "\n")
            fmt = "bed"
        else:
            path = data / "peaks" / made.name
            shutil.copy(made, path)
        rows.append({"name": name, "peaks": str(path), "group": group, "format": fmt})
    pd.DataFrame(rows).to_csv(data / "samples.tsv", sep="\t", index=False)

    work = base / "work"
    work.mkdir()
    for item in ("Snakefile", "workflow", "config", "envs", "profiles"):
        src = ROOT / item
        (shutil.copytree if src.is_dir() else shutil.copy)(src, work / item)
    config = yaml.safe_load((ROOT / "config/custom.yaml").read_text())
    config.update(run="mine", samples=str(data / "samples.tsv"))
    config["genome"]["fasta"] = str(data / "genome.fa")
    config["model"].update(conv_filters=[32, 32, 32], dense_units=[64])
    config["train"].update(max_epochs=2, patience=1, device="cpu")
    config.update(kmer={"k": 4, "max_train": 1000}, evaluate={"heatmap_sites": 200},
                  satmut={"window": 40, "max_sites": 20, "plot_sites": 1, "plot_window": 60})
    config["transfer"].update(enabled=False)  # keeps the test short; also a skipped stage to report
    (work / "config/mine.yaml").write_text(yaml.safe_dump(config))
    return {"data": data, "work": work, "config": config, "before": _checksums(data)}


def test_a_simulation_config_never_writes_to_the_users_peaks(user):
    """The README's recipe deleted the user's peak files: simulate.enabled, inherited from config/config.yaml,
    made the sheet's paths outputs of simulate_genome, whose failure removed them."""
    cfg = dict(user["config"], simulate={"enabled": True})
    (user["work"] / "config/sim_on_mine.yaml").write_text(yaml.safe_dump(cfg))
    res = _snakemake(user["work"], "--configfile", "config/sim_on_mine.yaml")
    text = res.stdout + res.stderr
    assert res.returncode != 0
    assert "simulate.enabled is true" in text and "set simulate.enabled: false" in text
    assert _checksums(user["data"]) == user["before"]


def test_a_failing_job_leaves_the_users_files_and_logs_its_traceback(user):
    """A script's crash left its rule log empty (the traceback only on the terminal, lost on a cluster)."""
    data = user["data"]
    sheet = pd.read_csv(data / "samples.tsv", sep="\t")
    stray = data.parent / "stray.bed"  # a sample whose peaks are all on contigs the genome lacks
    stray.write_text("scaffold_1\t100\t300\nscaffold_2\t500\t900\n")
    sheet = pd.concat([sheet, pd.DataFrame([{"name": "stray", "peaks": str(stray), "group": "x",
                                             "format": "bed"}])])
    bad_sheet = data.parent / "bad_samples.tsv"
    sheet.to_csv(bad_sheet, sep="\t", index=False)
    cfg = dict(user["config"], samples=str(bad_sheet), run="failing")
    (user["work"] / "config/failing.yaml").write_text(yaml.safe_dump(cfg))
    before_stray = stray.read_bytes()
    res = _snakemake(user["work"], "--configfile", "config/failing.yaml")
    assert res.returncode != 0
    log = (user["work"] / "logs/failing/peaks/merge_peaks.log").read_text()
    assert "Traceback" in log and "InputError" in log and "'stray'" in log and "scaffold_1" in log
    assert "peaks" in log and "genome.fasta" in log
    assert not (user["work"] / "results/failing/peaks/sites.bed").exists()
    assert _checksums(user["data"]) == user["before"] and stray.read_bytes() == before_stray


@pytest.fixture(scope="module")
def user_run(user):
    res = _snakemake(user["work"], "--configfile", "config/mine.yaml")
    assert res.returncode == 0, (res.stdout + res.stderr)[-6000:]
    return res


def test_custom_config_runs_to_the_report_with_skipped_stages_named(user, user_run):
    work, out = user["work"], user["work"] / "results/mine"
    text = user_run.stdout + user_run.stderr
    for key in ("genome.genes is null", "genome.phylop is null", "variants.vcf", "transfer.enabled is false"):
        assert key in text  # the log names each skipped stage and the key behind it
    html = (out / "report/index.html").read_text()
    assert "genome.phylop" in html and "variants.vcf" in html and "skipped" in html.lower()
    assert not (out / "variants").exists() and not (out / "satmut/phylop_regression.tsv").exists()
    targets = pd.read_csv(out / "peaks/targets.tsv", sep="\t")
    assert list(targets["name"]) == [n for n, _, _ in SAMPLES]
    assert targets["renamed"].fillna("").str.contains("chr1->1").all()  # the chr rule, said in targets.tsv
    assert (targets["skipped_unknown_chrom"] == 0).all() and (targets["kept"] > 0).all()
    assert "chromosome names mapped" in (work / "logs/mine/peaks/merge_peaks.log").read_text()
    insertion = pd.read_csv(out / "motifs/insertion.tsv", sep="\t", index_col=0)
    assert "GATA1" in insertion.index and "CTCF" in insertion.index  # the paper's factors, not a crash
    # the index of the user's FASTA was written under resources/, never beside it
    assert (work / "resources/genome/genome.fa.fai").exists()
    assert _checksums(user["data"]) == user["before"]


def test_changing_one_key_reruns_only_the_rules_that_use_it(user, user_run):
    """Rules took whole config sections as params: changing motifs.insert re-ran filter_motifs."""
    res = _snakemake(user["work"], "-n", "--configfile", "config/mine.yaml", "--config",
                     "motifs={'insert': ['GATA1', 'SPI1']}")
    text = res.stdout + res.stderr
    assert res.returncode == 0, text[-3000:]
    stats = text.split("Job stats:", 1)[1].split("total", 1)[0]
    jobs = {line.split()[0] for line in stats.splitlines() if len(line.split()) == 2 and line.split()[1].isdigit()}
    assert jobs == {"insert_motifs", "make_report", "all"}, text[-3000:]

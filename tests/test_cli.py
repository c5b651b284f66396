"""The `basset` command line runs every stage without Snakemake, and reports bad input cleanly."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
from conftest import fill_up, leftovers, this_basset_env

ROOT = Path(__file__).resolve().parents[1]


def basset(cwd, *args):
    return subprocess.run([sys.executable, "-m", "basset.cli", "-q", *args], cwd=cwd, capture_output=True, text=True,
                          env=this_basset_env())


def test_help_lists_every_command():
    res = basset(ROOT, "--help")
    assert res.returncode == 0
    assert "--debug" in res.stdout
    for cmd in ("simulate", "merge-peaks", "split", "build-dataset", "train", "kmer", "evaluate", "satmut", "sad",
                "download", "info"):
        assert cmd in res.stdout


def test_stages_end_to_end(tmp_path):
    shutil.copy(ROOT / "config/samples/tiny.tsv", tmp_path / "tiny.tsv")
    shutil.copy(ROOT / "config/tiny.yaml", tmp_path / "tiny.yaml")
    res = basset(tmp_path, "simulate", "--samples", "tiny.tsv", "--out", "resources/tiny", "--params", "tiny.yaml")
    assert res.returncode == 0, res.stderr
    res = basset(tmp_path, "merge-peaks", "--samples", "tiny.tsv", "--genome", "resources/tiny/genome.fa",
                 "--out", "peaks")
    assert res.returncode == 0, res.stderr
    n_sites = len((tmp_path / "peaks/sites.bed").read_text().splitlines())
    assert f"{n_sites} sites of 600 bp from 6 targets" in res.stdout
    res = basset(tmp_path, "split", "--sites", "peaks/sites.bed", "--out", "splits.tsv", "--valid", "100",
                 "--test", "0.2")
    assert res.returncode == 0, res.stderr
    res = basset(tmp_path, "build-dataset", "--peaks-dir", "peaks", "--splits", "splits.tsv", "--genome",
                 "resources/tiny/genome.fa", "--out", "data.h5", "--n-handling", "zero")
    assert res.returncode == 0, res.stderr
    with h5py.File(tmp_path / "data.h5") as h5:
        assert h5["valid/seqs"].shape == (100, 600)
        assert h5["test/seqs"].shape[0] == round(0.2 * n_sites)
        assert h5.attrs["n_handling"] == "zero"
    info = json.loads(basset(tmp_path, "info", "data.h5").stdout)
    assert info["n_targets"] == 6


def test_bad_peak_file_gives_file_and_line_and_exit_2(tmp_path):
    (tmp_path / "g.fa").write_text(">chr1\n" + "ACGT" * 500 + "\n")
    (tmp_path / "p.bed").write_text("chr1\t10\t100\nchr1\tten\t200\n")
    (tmp_path / "s.tsv").write_text("name\tpeaks\ncell\tp.bed\n")
    res = basset(tmp_path, "merge-peaks", "--samples", "s.tsv", "--genome", "g.fa", "--out", "out")
    assert res.returncode == 2
    assert "p.bed:2: expected integer start and end" in res.stderr
    assert not (tmp_path / "out" / "sites.bed").exists()


def _small_model(path, L=60, names=("c1", "c2")):
    import torch

    from basset.models import build_model, model_config, save_model

    torch.manual_seed(0)
    model = build_model(model_config("cpu", seq_len=L, conv_filters=[8, 8], conv_widths=[7, 5], conv_pools=[3, 2],
                                     conv_dropout=0.0, dense_units=[16]), len(names))
    save_model(path, model, list(names))


def test_satmut_and_sad_commands(tmp_path):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    _small_model(tmp_path / "m.pt")
    chrom = "".join(rng.choice(list("ACGT"), 400))
    (tmp_path / "g.fa").write_text(f">chr1\n{chrom}\n")
    (tmp_path / "s.fa").write_text(f">seqA\n{chrom[:60]}\n>seqB long\n{chrom[100:180]}\n")
    res = basset(tmp_path, "satmut", "--model", "m.pt", "--fasta", "s.fa", "--out", "sm", "--start", "10",
                 "--end", "30")
    assert res.returncode == 0, res.stderr
    loss = pd.read_csv(tmp_path / "sm/loss.tsv.gz", sep="\t")
    assert list(loss.columns) == ["seq", "pos", "ref", "c1", "c2"] and len(loss) == 2 * 20
    assert list(loss["pos"][:2]) == [11, 12] and list(loss["pos"][20:22]) == [21, 22]  # seqB (80 bp) cut to its centre
    assert "".join(loss["ref"][:20]) == chrom[10:30] and "".join(loss["ref"][20:]) == chrom[120:140]
    assert (tmp_path / "sm/satmut_seqA.png").exists() and (tmp_path / "sm/satmut_seqB.png").exists()
    res = basset(tmp_path, "satmut", "--model", "m.pt", "--fasta", "s.fa", "--out", "x", "--target", "nope")
    assert res.returncode == 2, res.stderr[-3000:]
    assert res.stderr == ("basset satmut: error: argument --target: unknown target 'nope': the model m.pt predicts "
                          "c1, c2\n")

    pos = [100, 200, 250]
    alts = ["A" if chrom[p - 1] != "A" else "C" for p in pos]
    vcf = "".join(f"chr1\t{p}\trs{k}\t{chrom[p - 1]}\t{a}\n" for k, (p, a) in enumerate(zip(pos, alts)))
    (tmp_path / "v.vcf").write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\n" + vcf +
                                    "chrZ\t5\trsZ\tA\tG\n")
    (tmp_path / "pics.tsv").write_text("Disease\tIndexSNP_riskAllele\tSNP\tchr\tpos\tPICS_probability\n" +
                                       "".join(f"d\trs0-A\trs{k}\tchr1\t{p}\t{0.9 if k == 0 else 0.01}\n"
                                               for k, p in enumerate(pos)))
    res = basset(tmp_path, "sad", "--model", "m.pt", "--vcf", "v.vcf", "--genome", "g.fa", "--out", "o",
                 "--pics", "pics.tsv", "--full-tsv")
    assert res.returncode == 0, res.stderr
    sad = pd.read_csv(tmp_path / "o/sad.tsv.gz", sep="\t")
    assert list(sad["id"]) == ["rs0", "rs1", "rs2"]  # chrZ is not in the genome: skipped and counted
    rejects = pd.read_csv(tmp_path / "o/sad.rejects.tsv.gz", sep="\t")
    assert rejects[["line", "id"]].values.tolist() == [[6, "rsZ"]] and rejects["reason"][0].startswith("chromosome")
    full = pd.read_csv(tmp_path / "o/sad_targets.tsv.gz", sep="\t")
    assert list(full.columns[-2:]) == ["c1", "c2"] and list(full["id"]) == ["rs0", "rs1", "rs2"]
    out = json.loads(res.stdout)
    assert out["unknown_chrom_skipped"] == 1 and out["pics_enrichment"]["n_high"] == 1
    for name in ("sad.h5", "summary.tsv", "pics_enrichment.tsv", "fig5a_pics.png", "fig5b_top_snp.png"):
        assert (tmp_path / "o" / name).exists(), name

    # the same VCF in two shards (one record per chunk, in turn), joined: the same files as one job
    for k in range(2):
        res = basset(tmp_path, "sad", "--model", "m.pt", "--vcf", "v.vcf", "--genome", "g.fa", "--out", f"s{k}",
                     "--chunk-size", "1", "--shard", f"{k}/2")
        assert res.returncode == 0, res.stderr
    res = basset(tmp_path, "gather-sad", "s1", "s0", "--out", "g", "--genome", "g.fa")
    assert res.returncode == 0, res.stderr
    for name in ("sad.tsv.gz", "sad.rejects.tsv.gz"):
        assert (tmp_path / "g" / name).read_bytes() == (tmp_path / "o" / name).read_bytes(), name
    assert json.loads(res.stdout)["scored"] == 3


def test_full_disk_is_a_clean_error(tmp_path, small_tmpfs):
    """``basset train`` and ``basset sad`` on a full disk print ``basset CMD: error: no space left on device
    writing PATH`` and exit with 2, leaving no temporary file.

    Reproduction: fill a tmpfs, then train into it and score variants into it. Before the fix ``basset train``
    died with a traceback of ``RuntimeError: [enforce fail at inline_container.cc:672] ...`` and ``basset sad``
    with one of ``OSError: [Errno 28]``, both with exit status 1.
    """
    import numpy as np
    from test_train import CFG, OPTS, write_h5

    h5 = write_h5(tmp_path / "tiny.h5")
    _small_model(tmp_path / "m.pt")
    chrom = "".join(np.random.default_rng(0).choice(list("ACGT"), 400))
    (tmp_path / "g.fa").write_text(f">chr1\n{chrom}\n")
    (tmp_path / "v.vcf").write_text(f"##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\nchr1\t200\trs1\t{chrom[199]}\t"
                                    f"{'A' if chrom[199] != 'A' else 'C'}\n")
    fill_up(small_tmpfs)
    model = [f"{k}={json.dumps(v)}" for k, v in CFG.items() if k != "preset"]
    opts = [f"{k}={json.dumps(v)}" for k, v in {**OPTS, "max_epochs": 1, "device": "cpu"}.items()]
    res = basset(tmp_path, "train", "--dataset", str(h5), "--out", str(small_tmpfs / "train"), "--preset", "cpu",
                 "--model", *model, "--set", *opts)
    assert res.returncode == 2, res.stderr[-3000:]
    assert f"basset train: error: no space left on device writing {small_tmpfs / 'train'}/" in res.stderr
    assert "Traceback" not in res.stderr
    res = basset(tmp_path, "sad", "--model", "m.pt", "--vcf", "v.vcf", "--genome", "g.fa", "--out",
                 str(small_tmpfs / "sad"))
    assert res.returncode == 2, res.stderr[-3000:]
    assert f"basset sad: error: no space left on device writing {small_tmpfs / 'sad'}" in res.stderr
    assert leftovers(small_tmpfs) == ["sad", "train"] and leftovers(small_tmpfs / "train") == []
    assert leftovers(small_tmpfs / "sad") == []


def test_motifs_and_report_commands(tmp_path):
    """``basset motifs`` runs the motif stage's five steps into one folder (the layout's names) and ``basset report``
    builds the page from whatever stages a results folder holds."""
    import numpy as np
    from test_train import L, write_h5

    from basset.layout import STAGES
    from basset.memefile import Motif, write_meme

    write_h5(tmp_path / "d.h5")
    _small_model(tmp_path / "m.pt", L=L, names=("t0", "t1", "t2"))
    rng = np.random.default_rng(1)
    database = [Motif(f"M{i}", f"factor{i}", rng.dirichlet(np.ones(4) * 0.3, size=8), 20.0) for i in range(4)]
    write_meme(tmp_path / "db.meme", database)
    res = basset(tmp_path, "motifs", "--model", "m.pt", "--dataset", "d.h5", "--out", "results/run/motifs",
                 "--database", "db.meme", "--device", "cpu")
    assert res.returncode == 0, res.stderr[-3000:]
    out = tmp_path / "results/run/motifs"
    for key in ("filters_meme", "filters", "tomtom", "influence", "insertion", "filter_summary", "summary", "fig3a"):
        assert (out / STAGES["motifs"][key]).stat().st_size > 0, key
    assert json.loads(res.stdout)["summary"]["filters"] == 8
    res = basset(tmp_path, "report", "--results", "results/run")
    assert res.returncode == 0, res.stderr[-3000:]
    html = (tmp_path / "results/run/report/index.html").read_text()
    assert "Figure 3" in html and "first-layer filters" in html


def test_attribute_command_runs_the_three_steps(tmp_path):
    """``basset attribute``: attributions of one lineage per sheet group plus 'all', TF-MoDISco per lineage and the
    pattern table, into one folder under the layout's names; a target the model lacks is one line, exit 2."""
    import numpy as np
    from test_train import L, write_h5

    from basset.layout import STAGES

    write_h5(tmp_path / "d.h5")
    with h5py.File(tmp_path / "d.h5", "a") as h5:
        offset = 0
        for split in ("train", "valid", "test"):
            n = h5[split]["seqs"].shape[0]
            h5[split]["site_index"] = np.arange(offset, offset + n)
            offset += n
    (tmp_path / "sites.bed").write_text("".join(f"chr1\t{1000 * i}\t{1000 * i + L}\ts{i}\t0\t+\n"
                                                for i in range(offset)))
    (tmp_path / "sheet.tsv").write_text("name\tpeaks\tgroup\nt0\tx\tA\nt1\tx\tA\nt2\tx\tB\n")
    _small_model(tmp_path / "m.pt", L=L, names=("t0", "t1", "t2"))
    res = basset(tmp_path, "attribute", "--model", "m.pt", "--dataset", "d.h5", "--sites-bed", "sites.bed",
                 "--samples", "sheet.tsv", "--out", "attr", "--sites", "20", "--n-shuffles", "2", "--databases",
                 "cisbp", "--device", "cpu")
    assert res.returncode == 0, res.stderr[-3000:]
    out = json.loads(res.stdout)
    assert set(out) == {"attribute", "modisco A", "modisco B", "modisco all", "patterns"}
    with h5py.File(tmp_path / "attr" / STAGES["attribution"]["attributions"]) as f:
        assert sorted(f) == ["A", "B", "all"] and [t.decode() for t in f["A"]["targets"][:]] == ["t0", "t1"]
    for lineage in ("A", "B", "all"):
        assert (tmp_path / "attr" / STAGES["attribution"]["modisco"].format(lineage=lineage)).exists()
    assert (tmp_path / "attr" / STAGES["attribution"]["patterns"]).exists()
    res = basset(tmp_path, "attribute", "--model", "m.pt", "--dataset", "d.h5", "--sites-bed", "sites.bed",
                 "--targets", "t9", "--out", "attr2")
    assert res.returncode == 2 and "unknown target 't9'" in res.stderr


def test_bin_peaks_command_labels_bins_deepseas_way(tmp_path):
    """basset bin-peaks on hand-made peaks: a TF peak [1000, 1101) selects bin [1000, 1200) and covers just over half of
    it (label 1); its histone peak [1100, 1300) covers exactly half of that bin (0) and all of [1200, 1400), which no
    TF peak touches (not a sample). Sites are the --length bp inputs centred on the bins; build-dataset reads them."""
    (tmp_path / "g.fa").write_text(">chr1\n" + "ACGT" * 1000 + "\n")
    (tmp_path / "tf.bed").write_text("chr1\t1000\t1101\n")
    (tmp_path / "h.bed").write_text("chr1\t1100\t1300\n")
    (tmp_path / "s.tsv").write_text("name\tpeaks\tassay\ntf\ttf.bed\ttf\nhist\th.bed\thistone\n")
    res = basset(tmp_path, "bin-peaks", "--samples", "s.tsv", "--genome", "g.fa", "--out", "bins", "--length", "600")
    assert res.returncode == 0, res.stderr
    assert "1 bins of 200 bp (600 bp inputs) from 2 features" in res.stdout
    assert (tmp_path / "bins/sites.bed").read_text().split("\t")[:3] == ["chr1", "800", "1400"]
    import pandas as pd

    activity = pd.read_csv(tmp_path / "bins/activity.tsv.gz", sep="\t")
    assert activity.columns.tolist()[1:] == ["tf", "hist"] and activity.iloc[0, 1:].tolist() == [1, 0]
    res = basset(tmp_path, "bin-peaks", "--samples", "s.tsv", "--genome", "g.fa", "--out", "bins2", "--bin", "700",
                 "--length", "600")
    assert res.returncode == 2 and "--bin: bins of 700 bp do not fit in inputs of --length 600 bp" in res.stderr

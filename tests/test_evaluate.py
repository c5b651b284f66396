"""Prediction with reverse-complement averaging, metrics tables, site classes, the Figure 2 plots and the
evaluate stage."""

import gzip
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from basset.evaluate import metrics_table, read_gtf_features, site_classes, summarise
from basset.metrics import auprc, auroc, auroc_by_class, quantile_targets
from basset.predict import (
    predict,
    predict_codes,
    read_predictions,
    split_site_index,
    write_predictions,
)
from basset.sequence import one_hot, reverse_complement


class StandIn(nn.Module):
    """A tiny strand-asymmetric model: (B, 4, L) one-hot -> (B, T) logits."""

    def __init__(self, T=3, L=20):
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv1d(4, 5, 3)
        self.drop = nn.Dropout(0.5)  # must be off in eval mode
        self.fc = nn.Linear(5 * (L - 2), T)

    def forward(self, x):
        return self.fc(self.drop(torch.relu(self.conv(x))).flatten(1))


def _write_h5(path, codes, targets):
    with h5py.File(path, "w") as h5:
        h5["target_names"] = np.array([f"t{i}".encode() for i in range(targets.shape[1])])
        g = h5.create_group("test")
        g.create_dataset("seqs", data=codes, chunks=(8, codes.shape[1]))
        g.create_dataset("targets", data=targets, chunks=(8, targets.shape[1]))
        g["site_index"] = np.arange(codes.shape[0], dtype=np.int64)[::-1]


def _forward(model, codes):
    with torch.no_grad():
        return torch.sigmoid(model(torch.from_numpy(one_hot(codes)))).numpy()


def test_predict_codes_rc_average():
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 5, size=(37, 20), dtype=np.uint8)
    model = StandIn()
    model.train()
    model.eval()
    fwd, rev = _forward(model, codes), _forward(model, reverse_complement(codes))
    model.train()
    p = predict_codes(model, codes, batch_size=8, rc_average=True)
    assert model.training  # the mode is restored
    assert p.shape == (37, 3) and p.dtype == np.float32
    np.testing.assert_allclose(p, (fwd + rev) / 2, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(predict_codes(model, codes, batch_size=5, rc_average=False), fwd, rtol=1e-5,
                               atol=1e-6)
    # a sequence equal to its reverse complement gets the forward prediction
    half = rng.integers(0, 4, size=(4, 10), dtype=np.uint8)
    pal = np.concatenate([half, reverse_complement(half)], axis=1)
    np.testing.assert_allclose(predict_codes(model, pal), _forward(model.eval(), pal), rtol=1e-5, atol=1e-6)
    assert predict_codes(model, np.zeros((0, 20), np.uint8)).shape == (0, 3)


def test_predict_streams_split_in_file_order(tmp_path):
    rng = np.random.default_rng(1)
    codes = rng.integers(0, 4, size=(29, 20), dtype=np.uint8)
    targets = rng.integers(0, 2, size=(29, 3), dtype=np.uint8)
    _write_h5(tmp_path / "d.h5", codes, targets)
    model = StandIn()
    y, p = predict(model, tmp_path / "d.h5", "test", batch_size=4)
    np.testing.assert_array_equal(y, targets)
    np.testing.assert_allclose(p, predict_codes(model, codes), rtol=1e-6)
    np.testing.assert_array_equal(split_site_index(tmp_path / "d.h5"), np.arange(29)[::-1])
    write_predictions(tmp_path / "p.tsv.gz", np.arange(29), p, ["t0", "t1", "t2"])
    idx, names, back = read_predictions(tmp_path / "p.tsv.gz")
    assert names == ["t0", "t1", "t2"] and idx.tolist() == list(range(29))
    np.testing.assert_allclose(back, p, rtol=1e-5)


def test_metrics_table_and_summary():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, size=(50, 4), dtype=np.uint8)
    y[:, 3] = 0
    p = rng.random((50, 4))
    df = metrics_table(y, p, ["a", "b", "c", "d"])
    assert list(df.columns) == ["target", "auroc", "auprc", "n_pos", "n_neg"]
    np.testing.assert_array_equal(df["auroc"], auroc(y, p))
    np.testing.assert_array_equal(df["auprc"], auprc(y, p))
    assert df["n_pos"].tolist() == y.sum(axis=0).tolist() and (df["n_pos"] + df["n_neg"] == 50).all()
    kmer = df.assign(auroc=df["auroc"] - 0.1, auprc=df["auprc"] - 0.1)
    s = summarise(df, kmer)
    assert s["mean_auroc"] == pytest.approx(np.nanmean(auroc(y, p)))
    assert s["cnn_minus_kmer_mean_auroc"] == pytest.approx(0.1)
    assert s["n_targets_cnn_better"] == 3 and s["n_targets_scored"] == 3


GTF = """\
#!comment
chr1\tt\tgene\t10001\t20000\t.\t+\t.\tgene_id "g1";
chr1\tt\ttranscript\t10001\t20000\t.\t+\t.\tgene_id "g1"; transcript_id "t1";
chr1\tt\texon\t10001\t10500\t.\t+\t.\tgene_id "g1"; transcript_id "t1";
chr1\tt\tgene\t50001\t60000\t.\t-\t.\tgene_id "g2";
chr1\tt\ttranscript\t50001\t60000\t.\t-\t.\tgene_id "g2"; transcript_id "t2";
"""


@pytest.mark.parametrize("gz", [False, True])
def test_site_classes(tmp_path, gz):
    path = tmp_path / ("genes.gtf.gz" if gz else "genes.gtf")
    with (gzip.open if gz else open)(path, "wt") as fh:
        fh.write(GTF)
    # + strand TSS at 10000 (0-based), - strand TSS at 59999: a site is a promoter when its nearest base is
    # at most 2000 bp away (the first and fifth sites just are, the second and sixth just are not)
    sites = pd.DataFrame({
        "chrom": ["chr1"] * 8 + ["chr2"],
        "start": [7401, 7399, 11500, 15000, 61999, 62000, 55000, 30000, 10000],
        "end": [8001, 7999, 12100, 15600, 62599, 62600, 55600, 30600, 10600],
    })
    sites["name"] = [f"s{i}" for i in range(len(sites))]
    got = site_classes(sites, path)
    assert got.tolist() == ["promoter", "intergenic", "promoter", "intragenic", "promoter", "intergenic",
                            "intragenic", "intergenic", "intergenic"]
    feats = read_gtf_features(path)
    assert feats["start"].tolist() == [10000, 10000, 50000, 50000]


def test_site_classes_without_transcripts(tmp_path):
    path = tmp_path / "genes.gtf"
    path.write_text("".join(line + "\n" for line in GTF.splitlines() if "\ttranscript\t" not in line))
    sites = pd.DataFrame({"chrom": ["chr1", "chr1"], "start": [61000, 30000], "end": [61600, 30600],
                          "name": ["a", "b"]})
    assert site_classes(sites, path).tolist() == ["promoter", "intergenic"]
    empty = tmp_path / "empty.gtf"
    empty.write_text("")
    assert site_classes(sites, empty).tolist() == ["intergenic", "intergenic"]


def test_auroc_by_class():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, size=(60, 2), dtype=np.uint8)
    p = rng.random((60, 2))
    classes = np.array(["promoter", "intergenic", "intragenic"] * 20, dtype=object)
    df = auroc_by_class(y, p, classes, ["a", "b"])
    assert df["class"].tolist() == ["promoter", "promoter", "intragenic", "intragenic", "intergenic", "intergenic"]
    m = classes == "intragenic"
    np.testing.assert_array_equal(df.loc[df["class"] == "intragenic", "auroc"], auroc(y[m], p[m]))
    assert (df["n_sites"] == 20).all()


def test_quantile_targets():
    a = np.array([0.70, np.nan, 0.80, 0.90, 0.75, 0.95, 0.60, 0.85, 0.65, 0.99, 0.72])
    got = quantile_targets(a, (0.0, 0.5, 1.0))
    assert got.tolist() == [6, 2, 9]
    ok = a[np.isfinite(a)]
    q = np.quantile(ok, [0.05, 0.33, 0.5, 0.67, 0.95])
    for j, target in zip(quantile_targets(a), q):
        assert abs(a[j] - target) == np.nanmin(np.abs(a - target))


def test_plots_write_png_and_pdf(tmp_path):
    from basset import plots

    rng = np.random.default_rng(4)
    names = [f"cell_{i}" for i in range(6)]
    y = (rng.random((300, 6)) < 0.3).astype(np.uint8)
    p = np.clip(y * rng.uniform(0.0, 1.0, 6) + rng.random((300, 6)) * 0.8, 0, 1)
    a = auroc(y, p)
    outs = [plots.fig2a(y, names, tmp_path / "fig2a.png", max_sites=100),
            plots.fig2b(a, a - 0.05, names, tmp_path / "fig2b"),
            plots.fig2c(y, p, names, tmp_path / "fig2c.png")[:2],
            plots.fig_classes(auroc_by_class(y, p, rng.choice(["promoter", "intergenic"], 300), names),
                              tmp_path / "classes.png"),
            plots.fig_classes(pd.DataFrame(columns=["class", "target", "auroc", "n_sites", "n_pos"]),
                              tmp_path / "none.png")]
    for png, pdf in outs:
        assert png.suffix == ".png" and pdf.suffix == ".pdf" and png.stem == pdf.stem
        assert png.stat().st_size > 1000 and pdf.stat().st_size > 1000
        assert png.read_bytes()[:4] == b"\x89PNG" and pdf.read_bytes()[:4] == b"%PDF"


def test_fig2c_picks_quantile_targets(tmp_path):
    from basset import plots

    rng = np.random.default_rng(5)
    n, T = 400, 21
    y = (rng.random((n, T)) < 0.4).astype(np.uint8)
    strength = np.linspace(0.05, 3.0, T)
    p = y * strength + rng.normal(size=(n, T))
    a = auroc(y, p)
    _, _, chosen = plots.fig2c(y, p, [f"t{i}" for i in range(T)], tmp_path / "c")
    q = np.quantile(a, [0.05, 0.33, 0.5, 0.67, 0.95])
    assert chosen.tolist() == [int(np.argmin(np.abs(a - v))) for v in q]


def test_stages_on_a_tiny_dataset(tmp_path):
    """kmer_baseline and evaluate_model write every output from a tiny dataset and a small model file."""
    from basset.layout import out_dir_paths
    from basset.models import build_model, model_config, save_model
    from basset.stages.evaluate import evaluate_model, kmer_baseline

    rng = np.random.default_rng(6)
    L, T = 20, 3
    with h5py.File(tmp_path / "d.h5", "w") as h5:
        h5["target_names"] = np.array([b"t0", b"t1", b"t2"])
        for split, n in (("train", 120), ("test", 40)):
            g = h5.create_group(split)
            g["seqs"] = rng.integers(0, 4, size=(n, L), dtype=np.uint8)
            g["targets"] = rng.integers(0, 2, size=(n, T), dtype=np.uint8)
            g["site_index"] = rng.permutation(n).astype(np.int64)
    out = {k: str(v) for k, v in out_dir_paths(tmp_path / "evaluate", "evaluate").items()}
    kmer = kmer_baseline(tmp_path / "d.h5", out=out, kmer={"k": 4, "C": 1.0})
    assert kmer["kmer_n_targets"] == T and read_predictions(out["kmer_predictions"])[2].shape == (40, T)
    assert pd.read_csv(out["kmer_metrics"], sep="\t").shape[0] == T
    sites = pd.DataFrame({"chrom": "chr1", "start": np.arange(40) * 1000, "end": np.arange(40) * 1000 + L,
                          "name": [f"s{i}" for i in range(40)], "score": 0, "strand": "+"})
    sites.to_csv(tmp_path / "sites.bed", sep="\t", header=False, index=False)
    (tmp_path / "genes.gtf").write_text(GTF)
    torch.manual_seed(0)
    cfg = model_config("cpu", seq_len=L, conv_filters=[4], conv_widths=[3], conv_pools=[2], conv_dropout=0.1,
                       dense_units=[4], dense_dropout=0.1)
    save_model(tmp_path / "model.pt", build_model(cfg, T), ["t0", "t1", "t2"])
    summary = evaluate_model(tmp_path / "model.pt", tmp_path / "d.h5", out["kmer_metrics"], tmp_path / "sites.bed",
                             tmp_path / "genes.gtf", out=out, evaluate={"batch_size": 16}, device="cpu")
    table = pd.read_csv(out["metrics"], sep="\t")
    assert {"kmer_auroc", "auroc_minus_kmer"} <= set(table.columns)
    assert summary["n_test_sites"] == 40 and "kmer_mean_auroc" in summary and "promoter_sites" in summary
    assert set(pd.read_csv(out["by_class"], sep="\t")["class"]) <= {"promoter", "intragenic", "intergenic"}
    for k in ("fig2a", "fig2b", "fig2c", "fig_classes"):
        assert Path(out[k]).read_bytes()[:4] == b"\x89PNG"
        assert Path(out[k]).with_suffix(".pdf").read_bytes()[:4] == b"%PDF"
    # without a k-mer baseline and a gene annotation: no k-mer columns, an empty by-class table
    summary = evaluate_model(tmp_path / "model.pt", tmp_path / "d.h5", out=out, device="cpu")
    assert "kmer_auroc" not in pd.read_csv(out["metrics"], sep="\t") and "promoter_sites" not in summary
    assert pd.read_csv(out["by_class"], sep="\t").empty


def test_predict_codes_writes_into_out_and_reuses_its_one_hot_buffer():
    """Batches of different sizes (the last one short) through one reused one-hot buffer give each row its own
    probabilities, written into the array given as ``out`` (the one returned); a wrong ``out`` is refused."""
    rng = np.random.default_rng(2)
    codes = rng.integers(0, 5, size=(11, 20), dtype=np.uint8)
    model = StandIn().eval()
    fwd, rev = _forward(model, codes), _forward(model, reverse_complement(codes))
    out = np.full((11, 3), np.nan, dtype=np.float32)
    p = predict_codes(model, codes, batch_size=4, rc_average=True, out=out)
    assert p is out
    np.testing.assert_allclose(out, (fwd + rev) / 2, rtol=1e-5, atol=1e-6)
    for bad in (np.zeros((10, 3), np.float32), np.zeros((11, 3), np.float64), np.zeros((3, 11), np.float32).T):
        with pytest.raises(ValueError, match="out must be"):
            predict_codes(model, codes, out=bad)


def test_gkmsvm_stages_and_the_same_sites_comparison(tmp_path):
    """gkmsvm_target fits one cell type on a balanced subsample and scores max_test test sites (the same for every
    cell type); a cell type with one class in training is skipped with its reason; gkmsvm_baseline joins the parts
    and refuses parts scored on other sites; evaluate_model puts each AUROC beside the CNN's and the k-mer
    baseline's on those sites. AUROCs are checked with scikit-learn on the written scores."""
    from sklearn.metrics import roc_auc_score

    from basset.errors import InputError
    from basset.layout import out_dir_paths
    from basset.models import build_model, model_config, save_model
    from basset.sequence import encode
    from basset.stages.evaluate import (
        evaluate_model,
        gkmsvm_baseline,
        gkmsvm_target,
        kmer_baseline,
    )

    rng = np.random.default_rng(9)
    L, T = 30, 3
    motif = encode("GATAAG")
    with h5py.File(tmp_path / "d.h5", "w") as h5:
        h5["target_names"] = np.array([b"t0", b"t1", b"t2"])
        for split, n in (("train", 90), ("test", 50)):
            codes = rng.integers(0, 4, size=(n, L), dtype=np.uint8)
            y = np.zeros((n, T), np.uint8)
            y[:, 0] = rng.random(n) < 0.4
            for row in np.flatnonzero(y[:, 0]):
                at = rng.integers(0, L - 6)
                codes[row, at:at + 6] = motif
            y[:, 1] = rng.random(n) < 0.5
            y[:, 2] = 0 if split == "train" else rng.random(n) < 0.5  # one class in training: skipped
            g = h5.create_group(split)
            g["seqs"], g["targets"] = codes, y
            g["site_index"] = rng.permutation(n).astype(np.int64) + (1000 if split == "test" else 0)
    cfg = {"max_train": 40, "max_test": 30, "l": 6, "k": 4, "d": 2}
    parts, metrics = {}, {}
    for t in ("t0", "t1", "t2"):
        out = {"part": tmp_path / f"{t}.tsv.gz", "metrics": tmp_path / f"{t}.metrics.tsv"}
        metrics[t] = gkmsvm_target(tmp_path / "d.h5", out=out, target=t, gkmsvm=cfg, seed=2, threads=1)
        parts[t] = out
    with h5py.File(tmp_path / "d.h5") as h5:
        y_test, test_index = h5["test/targets"][...], h5["test/site_index"][...]
        y_train = h5["train/targets"][...]
    sites, names, scores = read_predictions(parts["t0"]["part"])
    assert names == ["t0"] and len(sites) == 30 and set(sites) <= set(test_index)
    rows = np.array([int(np.flatnonzero(test_index == s)[0]) for s in sites])
    assert metrics["t0"]["auroc"] == pytest.approx(roc_auc_score(y_test[rows, 0], scores[:, 0]), abs=1e-6)
    assert metrics["t0"]["auroc"] > 0.8  # the planted motif is learnt
    n_pos = int(y_train[:, 0].sum())
    assert metrics["t0"]["n_train_pos"] == metrics["t0"]["n_train_neg"] == min(20, n_pos, 90 - n_pos)
    assert np.array_equal(read_predictions(parts["t1"]["part"])[0], sites)  # the same test sites
    assert metrics["t2"]["skipped"] and np.isnan(metrics["t2"]["auroc"])
    assert np.isnan(read_predictions(parts["t2"]["part"])[2]).all()
    out = {"predictions": tmp_path / "gkm.tsv.gz", "metrics": tmp_path / "gkm_metrics.tsv"}
    summary = gkmsvm_baseline([parts[t]["part"] for t in ("t0", "t1", "t2")],
                              [parts[t]["metrics"] for t in ("t0", "t1", "t2")], out=out)
    table = pd.read_csv(out["metrics"], sep="\t")
    assert list(table["target"]) == ["t0", "t1", "t2"] and summary["targets"] == 3
    assert table["auroc"].iloc[0] == pytest.approx(metrics["t0"]["auroc"], rel=1e-5)
    joined_sites, joined_names, _ = read_predictions(out["predictions"])
    assert joined_names == ["t0", "t1", "t2"] and np.array_equal(joined_sites, sites)
    other = tmp_path / "other.tsv.gz"
    gkmsvm_target(tmp_path / "d.h5", out={"part": other, "metrics": tmp_path / "o.tsv"}, target="t1",
                  gkmsvm={**cfg, "max_test": 20}, seed=2, threads=1)
    with pytest.raises(InputError, match="other.tsv.gz: scores other test sites"):
        gkmsvm_baseline([parts["t0"]["part"], other], [parts["t0"]["metrics"], tmp_path / "o.tsv"],
                        out={"predictions": tmp_path / "x.tsv.gz", "metrics": tmp_path / "x.tsv"})
    # evaluate_model: the CNN and the k-mer baseline on the gkm-SVM's 30 sites
    ev = {k: str(v) for k, v in out_dir_paths(tmp_path / "evaluate", "evaluate").items()}
    kmer_baseline(tmp_path / "d.h5", out=ev, kmer={"k": 3})
    torch.manual_seed(0)
    mcfg = model_config("cpu", seq_len=L, conv_filters=[4], conv_widths=[3], conv_pools=[2], conv_dropout=0.0,
                        dense_units=[4], dense_dropout=0.0)
    model = build_model(mcfg, T).eval()
    save_model(tmp_path / "model.pt", model, ["t0", "t1", "t2"])
    summary = evaluate_model(tmp_path / "model.pt", tmp_path / "d.h5", ev["kmer_metrics"],
                             gkmsvm_predictions=out["predictions"], kmer_predictions=ev["kmer_predictions"],
                             gkmsvm_metrics=out["metrics"], out=ev, evaluate={"rc_average": False}, device="cpu")
    m = pd.read_csv(ev["metrics"], sep="\t").set_index("target")
    with h5py.File(tmp_path / "d.h5") as h5:
        codes = h5["test/seqs"][...]
    cnn = _forward(model, codes[rows])
    assert m.loc["t0", "cnn_auroc_gkmsvm_sites"] == pytest.approx(roc_auc_score(y_test[rows, 0], cnn[:, 0]), abs=1e-6)
    assert m.loc["t0", "gkmsvm_auroc"] == pytest.approx(metrics["t0"]["auroc"], abs=1e-6)
    k_sites, _, k_probs = read_predictions(ev["kmer_predictions"])
    krows = [int(np.flatnonzero(k_sites == s)[0]) for s in sites]
    assert m.loc["t1", "kmer_auroc_gkmsvm_sites"] == pytest.approx(
        roc_auc_score(y_test[rows, 1], k_probs[krows, 1]), abs=1e-6)
    assert (m["gkmsvm_n_test"] == 30).all() and np.isnan(m.loc["t2", "gkmsvm_auroc"])
    assert summary["gkmsvm_targets"] == 2 and summary["gkmsvm_test_sites"] == 30
    assert summary["gkmsvm_train_sites"] == 2 * max(metrics["t0"]["n_train_pos"], metrics["t1"]["n_train_pos"])
    assert summary["gkmsvm_mean_auroc"] == pytest.approx(np.nanmean(m["gkmsvm_auroc"]))

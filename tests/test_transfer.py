"""Tests of basset.transfer (hold-out choice, site sampling, fine-tuning) and basset.stages.transfer (target subsets,
the rules hold_out_targets and transfer_learning)."""

import hashlib

import h5py
import numpy as np
import pandas as pd
import pytest
import torch

from basset import transfer as tr
from basset.dataset import SPLITS, Dataset, dataset_info
from basset.errors import InputError
from basset.models import load_model, model_config
from basset.stages.transfer import hold_out_targets, subset_targets, transfer_learning
from basset.train import train

L = 60
# targets t0..t3: t0 and t3 share motif 0 (t3 is the held-out "new cell type"), t1 and t2 have their own
MOTIFS = np.array([[2, 0, 3, 0, 0, 2, 2, 1], [1, 0, 1, 2, 3, 2, 1, 0], [3, 3, 0, 0, 1, 1, 3, 2]], dtype=np.uint8)
W = MOTIFS.shape[1]
TARGET_MOTIF = [0, 1, 2, 0]
NAMES = ["t0", "t1", "t2", "t3"]
CFG = model_config("cpu", seq_len=L, conv_filters=[16, 16], conv_widths=[9, 3], conv_pools=[2, 2],
                   conv_dropout=0.0, dense_units=[16], dense_dropout=0.0)
OPTS = dict(optimizer="adam", lr=0.005, batch_size=32, max_epochs=6, patience=4, device="cpu", rc_augment=False)


def write_h5(path, sizes=(1200, 96, 240), seed=0):
    """Tiny dataset in basset's layout; t3 is 1 exactly where t0's motif was planted, 70% of the time."""
    rng = np.random.default_rng(seed)
    with h5py.File(path, "w") as h5:
        h5.attrs.update(seq_length=L, n_handling="random", alphabet="ACGTN", seed=seed, format_version=1)
        h5.create_dataset("target_names", data=np.array(NAMES, dtype=object), dtype=h5py.string_dtype("utf-8"))
        for split, n in zip(SPLITS, sizes):
            codes = rng.integers(0, 4, (n, L), dtype=np.uint8)
            has = rng.random((n, 3)) < 0.35
            for m in range(3):
                rows = np.flatnonzero(has[:, m])
                pos = rng.integers(0, L - W, rows.size)
                codes[rows[:, None], pos[:, None] + np.arange(W)] = MOTIFS[m]
            targets = np.stack([has[:, TARGET_MOTIF[t]] for t in range(4)], axis=1).astype(np.uint8)
            targets[:, 3] &= (rng.random(n) < 0.7).astype(np.uint8)  # the new cell: a subset of t0's sites
            g = h5.create_group(split)
            g.create_dataset("seqs", data=codes, chunks=(32, L), compression="gzip")
            g.create_dataset("targets", data=targets, chunks=(32, 4), compression="gzip")
            g.create_dataset("site_index", data=rng.permutation(10_000)[:n].astype(np.int64))
    return path


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("transfer")
    h5 = write_h5(folder / "full.h5")
    public = folder / "public.h5"
    subset_targets(h5, public, ["t0", "t1", "t2"])
    train(public, folder / "pre", CFG, OPTS, resume=False, progress=False, seed=1)
    return {"folder": folder, "h5": h5, "public": public, "model": folder / "pre" / "model.pt"}


def test_subset_targets_keeps_columns_rows_and_attributes(data, tmp_path):
    out = tmp_path / "sub.h5"
    summary = subset_targets(data["h5"], out, ["t2", "t0"])
    assert summary["targets"] == 2 and summary["train"] == 1200
    info = dataset_info(out)
    assert info["target_names"] == ["t2", "t0"] and info["seq_length"] == L
    with h5py.File(data["h5"], "r") as a, h5py.File(out, "r") as b:
        for split in SPLITS:
            np.testing.assert_array_equal(b[split]["seqs"][...], a[split]["seqs"][...])
            np.testing.assert_array_equal(b[split]["site_index"][...], a[split]["site_index"][...])
            np.testing.assert_array_equal(b[split]["targets"][...], a[split]["targets"][...][:, [2, 0]])
            assert b[split]["targets"].compression == "gzip"
    assert not list(tmp_path.glob(".*.tmp"))


def test_subset_targets_unknown_name_names_the_file(data, tmp_path):
    with pytest.raises(InputError, match="full.h5.*nope"):
        subset_targets(data["h5"], tmp_path / "x.h5", ["t0", "nope"])
    assert not (tmp_path / "x.h5").exists()


def test_choose_holdout_spans_range_and_is_deterministic():
    aurocs = {f"c{i:02d}": 0.80 + 0.01 * ((7 * i) % 20) for i in range(20)}
    aurocs["bad"] = float("nan")
    chosen = tr.choose_holdout(aurocs, 5)
    assert len(set(chosen)) == 5 and "bad" not in chosen
    values = sorted(aurocs[c] for c in chosen)
    finite = [v for v in aurocs.values() if np.isfinite(v)]
    assert values[0] == min(finite) and values[-1] == max(finite)
    assert chosen == tr.choose_holdout(dict(reversed(list(aurocs.items()))), 5)
    df = pd.DataFrame({"target": list(aurocs), "auroc": list(aurocs.values())})
    assert tr.choose_holdout(df, 5) == chosen
    with pytest.raises(ValueError):
        tr.choose_holdout(aurocs, 21)


def test_resolve_holdout_explicit_list_is_checked():
    aurocs = {"a": 0.9, "b": 0.8, "c": 0.7}
    assert tr.resolve_holdout(aurocs, ["c", "a"]) == ["c", "a"]
    with pytest.raises(InputError, match="unknown target"):
        tr.resolve_holdout(aurocs, ["z"])
    with pytest.raises(InputError, match="no target"):
        tr.resolve_holdout(aurocs, [], k=3)


def test_transfer_sites_balanced_and_negatives_only_from_negatives(data):
    rows, labels = tr.transfer_sites(data["h5"], "t3", seed=3)
    with h5py.File(data["h5"], "r") as h5:
        y = h5["train"]["targets"][:, 3]
    np.testing.assert_array_equal(labels, y[rows])
    assert labels.sum() == y.sum()  # every positive
    assert (labels == 0).sum() == y.sum()  # as many negatives
    assert np.all(np.diff(rows) > 0)
    again, _ = tr.transfer_sites(data["h5"], "t3", seed=3)
    other, _ = tr.transfer_sites(data["h5"], "t3", seed=4)
    np.testing.assert_array_equal(rows, again)
    assert not np.array_equal(rows, other)


def test_transfer_sites_takes_all_negatives_when_fewer(tmp_path):
    path = tmp_path / "dense.h5"
    with h5py.File(path, "w") as h5:
        h5.attrs.update(seq_length=L)
        h5.create_dataset("target_names", data=np.array(["a"], dtype=object), dtype=h5py.string_dtype("utf-8"))
        g = h5.create_group("train")
        g.create_dataset("seqs", data=np.zeros((10, L), np.uint8))
        g.create_dataset("targets", data=np.array([[1]] * 7 + [[0]] * 3, np.uint8))
    rows, labels = tr.transfer_sites(path, "a")
    assert rows.tolist() == list(range(10)) and labels.sum() == 7


def test_reading_rows_matches_fancy_indexing(data):
    rows = np.array([0, 5, 31, 32, 200, 1199])
    with h5py.File(data["h5"], "r") as h5:
        expected = h5["train"]["seqs"][...][rows]
    np.testing.assert_array_equal(Dataset(data["h5"]).codes("train", rows), expected)


def test_fine_tune_new_head_copies_and_learns(data):
    digest = hashlib.sha256(data["model"].read_bytes()).hexdigest()
    pre, _meta = load_model(data["model"])
    before = {k: v.clone() for k, v in pre.state_dict().items()}
    model, info = tr.fine_tune(pre, data["h5"], "t3", OPTS, passes=1, seed=2)
    assert model.output.out_features == 1 and model.n_targets == 1
    assert info["n_pos"] == info["n_neg"] > 0 and info["steps"] >= 1
    # copied, not shared: training changed the copy, not the pre-trained module or its file
    assert model.conv[0][0].weight.data_ptr() != pre.conv[0][0].weight.data_ptr()
    assert not torch.equal(model.conv[0][0].weight.detach(), before["conv.0.0.weight"])
    for k, v in pre.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert hashlib.sha256(data["model"].read_bytes()).hexdigest() == digest
    with h5py.File(data["h5"], "r") as h5:
        codes, y = h5["test"]["seqs"][...], h5["test"]["targets"][:, 3]
    auc = tr.held_out_auroc(model, codes, y)
    assert auc > 0.7, auc  # the best possible is about 0.93 (t3 is a random 70% of t0)


def test_fine_tune_from_scratch_has_fresh_weights(data):
    pre, _meta = load_model(data["model"])
    model, info = tr.fine_tune(data["model"], data["h5"], "t3", dict(OPTS, lr=1e-9), passes=1, seed=2,
                               from_scratch=True)
    assert model.output.out_features == 1
    assert not torch.allclose(model.conv[0][0].weight, pre.conv[0][0].weight)


def test_stages_write_holdout_table_summary_and_figure(data, tmp_path):
    metrics = tmp_path / "metrics.tsv"
    pd.DataFrame({"target": NAMES, "auroc": [0.95, 0.9, 0.92, 0.93]}).to_csv(metrics, sep="\t", index=False)
    held = {"holdout": tmp_path / "holdout.tsv", "public": tmp_path / "public.h5"}
    assert hold_out_targets(data["h5"], metrics, held, {"holdout": ["t3"]})["public_targets"] == 3
    assert dataset_info(held["public"])["target_names"] == ["t0", "t1", "t2"]
    out = {"table": tmp_path / "transfer.tsv", "summary": tmp_path / "summary.tsv", "fig6": tmp_path / "fig6.png"}
    summary = transfer_learning(data["h5"], held["holdout"], data["model"], data["folder"] / "pre" / "history.tsv",
                                metrics, out, {"scratch": True}, OPTS, seed=1, device="cpu",
                                models_dir=tmp_path / "m")
    table = pd.read_csv(out["table"], sep="\t")
    assert list(table.columns) == list(tr.TRANSFER_COLUMNS) and table["target"].tolist() == ["t3"]
    assert table.loc[0, "full_auroc"] == pytest.approx(0.93)
    assert np.isfinite(table.loc[0, "scratch_auroc"])
    on_disk = dict(pd.read_csv(out["summary"], sep="\t").values)
    assert int(on_disk["holdout"]) == summary["holdout"] == 1 and int(on_disk["public_targets"]) == 3
    assert "pretrain_seconds" in on_disk
    assert (tmp_path / "fig6.png").read_bytes()[:4] == b"\x89PNG" and (tmp_path / "fig6.pdf").read_bytes()[:4] == b"%PDF"
    assert load_model(tmp_path / "m" / "t3.pt")[1]["target_names"] == ["t3"]


def test_cli_transfer_saves_a_model_that_predicts_the_new_target(data, tmp_path, capsys):
    """basset transfer: the targets the pre-trained model lacks by default; each fine-tuned model is saved and
    predicts its target as well as the table says."""
    from basset import cli
    from basset.predict import predict_codes

    assert cli.main(["-q", "transfer", "--model", str(data["model"]), "--dataset", str(data["h5"]), "--out",
                     str(tmp_path), "--no-scratch", "--device", "cpu"]) == 0
    capsys.readouterr()
    table = pd.read_csv(tmp_path / "transfer.tsv", sep="\t")
    assert table["target"].tolist() == ["t3"]  # the pre-trained model predicts t0-t2
    assert table["full_auroc"].isna().all()  # no --metrics: nothing to compare with
    model, meta = load_model(tmp_path / "fine_tuned" / "t3.pt")
    assert meta["target_names"] == ["t3"]
    with h5py.File(data["h5"], "r") as h5:
        codes, y = h5["test"]["seqs"][...], h5["test"]["targets"][:, 3]
    from basset.metrics import auroc

    p = predict_codes(model, codes, device="cpu", rc_average=True)
    assert auroc(y, p[:, 0])[0] == pytest.approx(table.loc[0, "transfer_auroc"], abs=1e-6)

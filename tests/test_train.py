"""Tests of basset.train: options and their effects, the step, validation, early stopping at its boundaries, exact
resume (also in the middle of the patience window), the best epoch's model, killed jobs, full disks, and DDP."""

import inspect
import json
import logging
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F
from conftest import fill_up, leftovers, this_basset_env

import basset.train as bt
from basset.config import schema_defaults
from basset.dataset import SPLITS, H5Batches
from basset.errors import ConfigError, InputError
from basset.fileio import DiskFullError
from basset.metrics import auroc
from basset.models import build_model, cpu_state, load_model, model_config, save_model
from basset.sequence import one_hot, reverse_complement
from basset.train import loss_fn, train

pytestmark = pytest.mark.usefixtures("one_torch_thread")

L, T = 60, 3
MOTIFS = np.array([[2, 0, 3, 0], [1, 0, 1, 2], [3, 3, 0, 0]], dtype=np.uint8)  # GATA, CACG, TTAA
CFG = dict(
    preset="cpu",
    seq_len=L,
    conv_filters=[8, 8],
    conv_widths=[5, 3],
    conv_pools=[2, 2],
    conv_dropout=0.1,
    dense_units=[16],
    dense_dropout=0.2,
    batch_norm=True,
)
# no batch norm, no dropout: per-rank batch statistics would make DDP differ from one process on the whole
# batch, and SyncBatchNorm (which would fix it) only runs on CUDA
CFG_PLAIN = dict(CFG, conv_dropout=0.0, dense_dropout=0.0, batch_norm=False)


def arch(cfg):
    """The validated architecture of a config dict with a ``preset`` key."""
    return model_config(cfg["preset"], **{k: v for k, v in cfg.items() if k != "preset"})


def write_h5(path, sizes=(320, 96, 64), seed=0):
    """A tiny dataset in basset's HDF5 layout: target t is 1 where motif t was planted."""
    rng = np.random.default_rng(seed)
    with h5py.File(path, "w") as h5:
        h5.attrs.update(seq_length=L, n_handling="random", alphabet="ACGTN", seed=seed, format_version=1)
        h5.create_dataset(
            "target_names", data=np.array(["t0", "t1", "t2"], dtype=object), dtype=h5py.string_dtype("utf-8")
        )
        for split, n in zip(SPLITS, sizes):
            codes = rng.integers(0, 4, (n, L), dtype=np.uint8)
            targets = (rng.random((n, T)) < 0.4).astype(np.uint8)
            for t in range(T):
                rows = np.flatnonzero(targets[:, t])
                pos = rng.integers(0, L - 4, rows.size)
                codes[rows[:, None], pos[:, None] + np.arange(4)] = MOTIFS[t]
            g = h5.create_group(split)
            g.create_dataset("seqs", data=codes, chunks=(min(32, n), L) if n else None)
            g.create_dataset("targets", data=targets, chunks=(min(32, n), T) if n else None)
    return path


@pytest.fixture(scope="module")
def h5(tmp_path_factory):
    return write_h5(tmp_path_factory.mktemp("data") / "tiny.h5")



# the config's train section; on the CPU also where a GPU is present (bitwise resume is a CPU promise)
OPTS = dict(batch_size=32, rc_augment=True, max_epochs=2, patience=5, device="cpu")
RUN = dict(seed=3, block_rows=64, buffer_blocks=2, valid_batch_size=64)  # train()'s other settings


def full_opts(options=None, **settings):
    """The options dict that train() hands to set_up(): the train section and train()'s settings (RUN's)."""
    return {**bt.train_options(options), "seed": 3, "max_train_batches": None, "valid_batch_size": 64,
            "block_rows": 64, "buffer_blocks": 2, "loader_chunk": 8, "stop_after_epochs": None, **settings}


def read_history(path):
    lines = path.read_text().splitlines()
    assert lines[0].split("\t") == list(bt.HISTORY_COLUMNS)
    return [dict(zip(bt.HISTORY_COLUMNS, line.split("\t"))) for line in lines[1:]]


def without_seconds(rows):
    return [{k: v for k, v in row.items() if k != "seconds"} for row in rows]


def same_state(a, b) -> bool:
    """Bitwise equal state dicts (or optimiser states: nested dicts and lists of tensors and numbers)."""
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same_state(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(same_state(x, y) for x, y in zip(a, b))
    return a == b


def improvements(aurocs):
    """The documented rule: an epoch is the best so far when its AUROC is strictly above every earlier one (NaN
    counts as -inf); the first epoch always is."""
    best, flags = -math.inf, []
    for i, a in enumerate(aurocs):
        value = a if math.isfinite(a) else -math.inf
        flags.append(i == 0 or value > best)
        if flags[-1]:
            best = value
    return flags


class Scripted:
    """train() with the mean validation AUROC of epoch ``e`` set to ``aurocs[e]``.

    ``calls``: the epochs each train() call trained (from train_epoch's argument); ``states``: the weights that
    were validated after each epoch. ``real``: run the real validation (its loss goes into the history), else
    none, with a valid loss of ``1 + epoch / 100``.
    """

    def __init__(self, monkeypatch, h5, aurocs, real=False):
        self.h5, self.aurocs, self.calls, self.states = h5, list(aurocs), [], {}
        train_epoch, evaluate = bt.train_epoch, bt.evaluate

        def scripted_train_epoch(run, epoch, progress=True):
            self.calls[-1].append(epoch)
            return train_epoch(run, epoch, progress)

        def scripted_evaluate(model, *args, **kwargs):
            epoch = self.calls[-1][-1]
            if real:
                res = evaluate(model, *args, **kwargs)
            else:
                res = {"loss": 1 + epoch / 100, "auroc": np.full(T, 0.5), "n": 96}
            res["mean_auroc"] = self.aurocs[epoch]
            self.states[epoch] = cpu_state(model)
            return res

        monkeypatch.setattr(bt, "train_epoch", scripted_train_epoch)
        monkeypatch.setattr(bt, "evaluate", scripted_evaluate)

    def train(self, out, options, **settings):
        self.calls.append([])
        return train(self.h5, out, CFG, options, progress=False, **{**RUN, **settings})


def spy_steps(monkeypatch):
    """Record ``(codes, targets, flip, max_norm, loss)`` of every train_step."""
    seen = []
    real = bt.train_step

    def spy(model, optimizer, codes, targets, device, amp=None, max_norm=None, flip=None):
        loss = real(model, optimizer, codes, targets, device, amp, max_norm, flip)
        seen.append((codes.clone(), targets.clone(), None if flip is None else flip.clone(), max_norm, loss.item()))
        return loss

    monkeypatch.setattr(bt, "train_step", spy)
    return seen


class Bar:
    """A stand-in for the tqdm progress bar."""

    def __init__(self, total, enabled=True, desc=None, unit="it"):
        self.total, self.n, self.closed, self.postfixes = total, 0, False, []

    def update(self, n):
        self.n += n

    def set_postfix(self, **kwargs):
        self.postfixes.append((self.n, kwargs))

    def close(self):
        self.closed = True


# ------------------------------------------------------------------------------- resume and early stopping
def test_resume_in_the_middle_of_the_patience_window(h5, tmp_path, monkeypatch):
    """A run interrupted 1 and then 2 epochs into its patience window (patience 3) and resumed stops at the epoch
    an uninterrupted run stops at, with the same history, bitwise the same weights and optimiser state (the
    dropout RNG state is in the checkpoint), and model.pt holding the best epoch's weights.

    Each call trains only the epochs after its checkpoint's (``calls``): the resumed calls really reloaded.
    """
    aurocs = [0.5, 0.7, 0.6, 0.65, 0.8, 0.7, 0.8, 0.75, 0.9, 0.95]  # best at 4; 5, 6 (a tie) and 7 do not beat it
    opts = dict(OPTS, max_epochs=10, patience=3)  # rc_augment and dropout on: data order and RNG matter
    s = Scripted(monkeypatch, h5, aurocs, real=True)
    straight = s.train(tmp_path / "straight", opts)
    assert s.calls == [list(range(8))]
    assert straight["stopped_early"] and straight["finished"] and straight["epochs"] == 8
    assert straight["best_epoch"] == 4 and straight["best_valid_auroc"] == 0.8
    assert [row["best"] for row in straight["history"]] == [True, True, False, False, True, False, False, False]

    out = tmp_path / "resumed"
    first = s.train(out, opts, stop_after_epochs=5)  # epochs 0-4: ends on the best epoch
    assert first["epochs"] == 5 and not first["finished"] and not first["stopped_early"]
    best_ckpt = torch.load(out / "checkpoint.pt", weights_only=True)
    assert (best_ckpt["epoch"], best_ckpt["best_epoch"], best_ckpt["bad_epochs"]) == (4, 4, 0)
    for bad in (1, 2):  # 1, then 2 (patience - 1) epochs without gain behind the checkpoint
        part = s.train(out, opts, stop_after_epochs=1)
        ckpt = torch.load(out / "checkpoint.pt", weights_only=True)
        assert (ckpt["epoch"], ckpt["bad_epochs"], ckpt["best"], ckpt["best_epoch"]) == (4 + bad, bad, 0.8, 4)
        assert not ckpt["stopped_early"] and part["epochs"] == 5 + bad and not part["finished"]
    resumed = s.train(out, opts)
    assert s.calls[1:] == [[0, 1, 2, 3, 4], [5], [6], [7]]
    assert resumed["stopped_early"] and resumed["finished"] and resumed["epochs"] == 8
    assert resumed["best_epoch"] == 4 and resumed["best_valid_auroc"] == 0.8

    assert without_seconds(resumed["history"]) == without_seconds(straight["history"])
    tsv = read_history(out / "history.tsv")
    assert without_seconds(tsv) == without_seconds(read_history(tmp_path / "straight" / "history.tsv"))
    for row, written in zip(resumed["history"], tsv):  # the file holds the rows, 6 significant digits
        assert written["epoch"] == str(row["epoch"]) and written["best"] == str(int(row["best"]))
        for key in ("train_loss", "valid_loss", "valid_auroc", "lr"):
            assert written[key] == f"{row[key]:.6g}", key
    a = torch.load(tmp_path / "straight" / "checkpoint.pt", weights_only=True)
    b = torch.load(out / "checkpoint.pt", weights_only=True)
    assert same_state(a["state_dict"], b["state_dict"]) and same_state(a["optimizer"], b["optimizer"])
    assert (b["epoch"], b["bad_epochs"], b["stopped_early"]) == (7, 3, True)

    model_a = torch.load(tmp_path / "straight" / "model.pt", weights_only=True)
    model_b = torch.load(out / "model.pt", weights_only=True)
    assert model_a["epoch"] == model_b["epoch"] == 4 and model_b["valid_auroc"] == 0.8
    assert model_b["valid_loss"] == straight["history"][4]["valid_loss"] and model_a["train_options"] == a["options"]
    assert model_b["train_options"] == {**b["options"], "stop_after_epochs": 5}  # written by the first call
    assert same_state(model_b["state_dict"], best_ckpt["state_dict"])  # the weights of epoch 4's checkpoint
    assert same_state(model_a["state_dict"], model_b["state_dict"])
    assert same_state(b["best_state"], best_ckpt["state_dict"])
    assert not same_state(model_b["state_dict"], b["state_dict"])  # training went on after the best epoch


# patience 3 (unless given), max_epochs 20 (unless given); (aurocs, train options, epochs run, best epoch)
BOUNDARIES = {
    # best at 1: the improvement at epoch 1 + patience comes in time...
    "improvement at best+patience": ([0.6, 0.7, 0.5, 0.5, 0.8, 0.5, 0.5, 0.5, 0.9], {}, 8, 4),
    # ... one at epoch 1 + patience + 1 comes too late: the run stops after epoch 4, its 3rd without gain
    "improvement at best+patience+1": ([0.6, 0.7, 0.5, 0.5, 0.5, 0.9], {}, 5, 1),
    # an equal AUROC is no improvement: the first epoch that reached it stays the best
    "ties are no improvement": ([0.6, 0.7, 0.7, 0.7, 0.7, 0.9], {}, 5, 1),
    "patience 1": ([0.6, 0.7, 0.8, 0.8, 0.9], {"patience": 1}, 4, 2),
    # min_epochs: no stop before 4 epochs (epoch 3 is the 4th), however long without gain
    "min_epochs holds the stop back": ([0.5] * 6, {"patience": 1, "min_epochs": 4}, 4, 0),
    "min_epochs reached": ([0.5, 0.4, 0.4, 0.4], {"patience": 1, "min_epochs": 2}, 2, 0),
    # a NaN mean AUROC (one class in every target) is worse than any number, yet the first epoch is the best so far
    "nan first": ([math.nan, 0.5, 0.5, 0.9], {"patience": 1}, 3, 1),
    "nan later": ([0.5, math.nan, 0.9], {"patience": 1}, 2, 0),
    "all nan": ([math.nan, math.nan, 0.9], {"patience": 1}, 2, 0),
    # max_epochs ends a run that keeps improving (not early stopping)
    "max_epochs": ([0.1, 0.2, 0.3, 0.4, 0.5], {"patience": 1, "max_epochs": 3}, 3, 2),
}


@pytest.mark.parametrize("aurocs, options, epochs, best", BOUNDARIES.values(), ids=BOUNDARIES)
def test_early_stopping_boundaries(h5, tmp_path, monkeypatch, aurocs, options, epochs, best):
    s = Scripted(monkeypatch, h5, aurocs)
    opts = {**OPTS, "max_epochs": 20, "patience": 3, "rc_augment": False, **options}
    out = s.train(tmp_path, opts, max_train_batches=1)
    assert s.calls == [list(range(epochs))]
    rows = read_history(tmp_path / "history.tsv")
    assert [int(r["epoch"]) for r in rows] == list(range(epochs))
    assert [r["best"] == "1" for r in rows] == improvements(aurocs[:epochs])
    assert [float(r["valid_loss"]) for r in rows] == pytest.approx([1 + e / 100 for e in range(epochs)])
    assert [r["valid_auroc"] for r in rows] == [f"{a:.6g}" for a in aurocs[:epochs]]
    stopped = epochs < opts["max_epochs"]
    assert (out["epochs"], out["best_epoch"], out["stopped_early"], out["finished"]) == (epochs, best, stopped, True)
    assert out["best_valid_auroc"] == (aurocs[best] if math.isfinite(aurocs[best]) else -math.inf)
    ckpt = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert (ckpt["epoch"], ckpt["best_epoch"], ckpt["bad_epochs"]) == (epochs - 1, best, epochs - 1 - best)
    saved = torch.load(tmp_path / "model.pt", weights_only=True)  # the best epoch's weights, not a later one's
    assert saved["epoch"] == best and f"{saved['valid_auroc']}" == f"{aurocs[best]}"  # NaN too
    assert same_state(saved["state_dict"], s.states[best])
    assert best == epochs - 1 or not same_state(saved["state_dict"], s.states[epochs - 1])
    again = s.train(tmp_path, dict(opts, max_epochs=opts["max_epochs"] if stopped else epochs + 2),
                    max_train_batches=1)  # a stopped run returns at once; one that hit max_epochs goes on
    assert s.calls[1] == ([] if stopped else [epochs, epochs + 1])
    assert again["epochs"] == len(read_history(tmp_path / "history.tsv")) == epochs + (0 if stopped else 2)


def test_resume_false_and_stale_checkpoints_start_over(h5, tmp_path, monkeypatch):
    """``resume=False``, or a checkpoint made with other settings (learning rate, seed), starts at epoch 0; a
    checkpoint whose only change is a resumable setting (max_epochs) is continued."""
    s = Scripted(monkeypatch, h5, [0.5, 0.6, 0.7, 0.8])
    opts = dict(OPTS, max_epochs=2)
    first = s.train(tmp_path, opts, max_train_batches=1)
    weights = torch.load(tmp_path / "checkpoint.pt", weights_only=True)["state_dict"]
    again = s.train(tmp_path, opts, max_train_batches=1, resume=False)
    assert s.calls[1] == [0, 1] and again["epochs"] == 2
    assert same_state(torch.load(tmp_path / "checkpoint.pt", weights_only=True)["state_dict"], weights)
    assert without_seconds(again["history"]) == without_seconds(first["history"])
    s.train(tmp_path, dict(opts, lr=0.01), max_train_batches=1)  # another learning rate: stale
    assert s.calls[2] == [0, 1] and [r["lr"] for r in read_history(tmp_path / "history.tsv")] == ["0.01", "0.01"]
    s.train(tmp_path, dict(opts, lr=0.01, max_epochs=3), max_train_batches=1)  # more epochs: continued
    assert s.calls[3] == [2]
    s.train(tmp_path, dict(opts, lr=0.01, max_epochs=3), max_train_batches=1, seed=4)  # another seed: stale
    assert s.calls[4] == [0, 1, 2]
    assert torch.load(tmp_path / "checkpoint.pt", weights_only=True)["options"]["seed"] == 4


# ------------------------------------------------------------------------------------------------ options
def test_the_defaults_are_the_papers():
    assert bt.train_options({}) == {
        "optimizer": "rmsprop", "lr": 0.002, "alpha": 0.98, "weight_decay": 0.0, "max_norm": 7.0, "batch_size": 128,
        "max_epochs": 30, "min_epochs": 1, "patience": 10, "rc_augment": False, "device": "auto", "amp": "auto",
        "num_workers": "auto",
    }
    assert bt.train_options({}) == schema_defaults("train")
    assert bt.train_options({"lr": None, "batch_size": 4})["lr"] == 0.002  # None: the default...
    assert bt.train_options({"lr": 1, "max_norm": None})["max_norm"] is None  # ... or null where allowed (off)
    assert bt.train_options(None) == bt.train_options({})
    defaults = {k: p.default for k, p in inspect.signature(train).parameters.items()}
    assert defaults["seed"] == 1 and defaults["resume"] is True and defaults["stop_after_epochs"] is None
    assert defaults["max_train_batches"] is None and defaults["loader_chunk"] == 8
    assert defaults["progress"] is True


@pytest.mark.parametrize("key, value", [
    ("optimizer", "sgd"), ("batch_size", 0), ("batch_size", True), ("batch_size", 2.5), ("max_epochs", 0),
    ("max_epochs", "3"), ("patience", -1), ("patience", 1.5), ("min_epochs", -1), ("lr", "fast"), ("lr", 0),
    ("lr", -0.1), ("alpha", "x"), ("weight_decay", [1]), ("amp", "yes"), ("num_workers", -1), ("num_workers", "x"),
    ("num_workers", 1.5),
])
def test_bad_option_values_name_the_key(key, value):
    with pytest.raises(ConfigError, match=rf"^train\.{key}: expected"):
        bt.train_options({key: value})


def test_option_boundaries_and_types():
    opts = bt.train_options({"batch_size": 1, "max_epochs": 1, "patience": 0, "min_epochs": 0, "num_workers": 0,
                             "lr": "0.5", "alpha": 1, "weight_decay": 0, "amp": True})
    assert (opts["batch_size"], opts["max_epochs"], opts["patience"], opts["min_epochs"]) == (1, 1, 0, 0)
    assert opts["num_workers"] == 0 and opts["amp"] is True
    assert [(opts[k], type(opts[k])) for k in ("lr", "alpha", "weight_decay")] == [(0.5, float), (1.0, float),
                                                                                   (0.0, float)]
    assert bt.train_options({"amp": False, "num_workers": 3})["num_workers"] == 3


def test_bad_options(h5, tmp_path):
    with pytest.raises(ConfigError, match=r"^train\.learning_rate"):
        train(h5, tmp_path, CFG, {"learning_rate": 1})
    with pytest.raises(ConfigError, match=r"^model\.seq_len: is 600 bp but .* holds 60 bp sequences"):
        train(h5, tmp_path, dict(CFG, seq_len=600), {})
    with pytest.raises(ConfigError, match=r"^model\.nope"):
        train(h5, tmp_path, dict(CFG, nope=1), {})
    with pytest.raises(ConfigError, match=r"^train\.block_rows"):  # a setting of train(), not of the config
        train(h5, tmp_path, CFG, dict(OPTS, block_rows=64))
    with pytest.raises(ConfigError, match=r"^train\.batch_size: 321 is more than the 320 training sites"):
        train(h5, tmp_path, CFG, dict(OPTS, batch_size=321))
    assert set(OPTS) <= set(schema_defaults("train"))
    assert not any(tmp_path.iterdir())  # refused before anything is written


@pytest.mark.parametrize("options, cls, group", [
    ({"optimizer": "rmsprop", "lr": 0.005, "alpha": 0.9, "weight_decay": 0.01}, torch.optim.RMSprop,
     {"lr": 0.005, "alpha": 0.9, "weight_decay": 0.01}),
    ({"optimizer": "adam", "lr": 0.01, "weight_decay": 0.001}, torch.optim.Adam,
     {"lr": 0.01, "weight_decay": 0.001, "betas": (0.9, 0.999)}),
])
def test_optimizer_options(h5, tmp_path, options, cls, group):
    """The optimiser, its learning rate, alpha and weight decay are those of the options, over every parameter;
    the checkpoint and the history record them."""
    run = bt.set_up(h5, tmp_path / "setup", CFG, full_opts({**OPTS, **options, "device": "cpu"}))
    assert type(run.optimizer) is cls and len(run.optimizer.param_groups) == 1
    params = run.optimizer.param_groups[0]["params"]
    assert len(params) == len(list(run.model.parameters()))
    assert {id(p) for p in params} == {id(p) for p in run.model.parameters()}
    assert {k: run.optimizer.param_groups[0][k] for k in group} == group
    assert ("alpha" in run.optimizer.param_groups[0]) == (cls is torch.optim.RMSprop)
    out = train(h5, tmp_path / "run", CFG, {**OPTS, **options, "max_epochs": 1}, progress=False,
                max_train_batches=1, **RUN)
    ckpt = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)
    assert {k: ckpt["optimizer"]["param_groups"][0][k] for k in group} == {k: v for k, v in group.items()}
    assert ckpt["options"]["optimizer"] == options["optimizer"] and ckpt["options"]["lr"] == options["lr"]
    assert out["history"][0]["lr"] == options["lr"]
    assert float(read_history(tmp_path / "run" / "history.tsv")[0]["lr"]) == options["lr"]


def test_set_up_and_open_loader(h5, tmp_path):
    """set_up: device, autocast, workers, the model (seeded) and the files' paths; open_loader: the training split
    in chunks of ``loader_chunk`` batches, shuffled with the seed, all of it on one process."""
    opts = full_opts({**OPTS, "num_workers": 2, "amp": True, "device": "cpu"})
    run = bt.set_up(h5, tmp_path / "out", CFG, opts)
    assert (tmp_path / "out").is_dir()
    assert run.device == torch.device("cpu") and run.amp is torch.bfloat16 and run.workers == 2
    assert (run.rank, run.world, run.own_group, run.is_main, run.distributed) == (0, 1, False, True, False)
    assert run.cfg == arch(CFG) and run.info["n_targets"] == T and run.model.n_targets == T
    assert run.h5_path == str(h5) and run.opts is opts
    assert [run.path(k) for k in ("model", "history", "checkpoint")] == [
        tmp_path / "out" / name for name in ("model.pt", "history.tsv", "checkpoint.pt")]
    bt.open_loader(run)
    assert run.net is run.model
    b = run.batches
    assert (b.path, b.split, b.batch_size, b.shuffle, b.seed, b.epoch, b.block_rows, b.buffer_blocks) == (
        str(h5), "train", 32 * 8, True, 3, 0, 64, 2)
    assert (b.drop_last, b.rank, b.world_size) == (False, 0, 1)
    assert run.loader.dataset is b and run.loader.batch_size is None
    assert run.loader.num_workers == 2 and not run.loader.pin_memory
    auto = bt.set_up(h5, tmp_path / "auto", CFG, full_opts({**OPTS, "device": "cpu"}))
    assert auto.workers == 0 and auto.amp is None  # "auto" on the CPU
    assert bt.set_up(h5, tmp_path / "all", CFG, full_opts({**OPTS, "batch_size": 320})).opts["batch_size"] == 320
    assert run.model.n_fill == 0.0 and run.cfg["n_fill"] == 0.0


def test_a_uniform_n_dataset_gives_the_model_the_papers_n(h5, tmp_path):
    """dataset.n_handling: uniform keeps N in the file; the model trained on it gets n_fill 0.25 (0.25 in each
    channel at an N, as the paper), and keeps it in model.pt, so prediction, ISM and SAD see N the same way."""
    import shutil

    uniform = tmp_path / "uniform.h5"
    shutil.copy(h5, uniform)
    with h5py.File(uniform, "a") as f:
        f.attrs["n_handling"] = "uniform"
    run = bt.set_up(uniform, tmp_path / "out", CFG, full_opts(OPTS))
    assert run.cfg["n_fill"] == 0.25 and run.model.n_fill == 0.25
    bt.train(uniform, tmp_path / "trained", CFG, {**OPTS, "max_epochs": 1}, **RUN)
    model, meta = load_model(tmp_path / "trained" / "model.pt")
    assert meta["config"]["n_fill"] == 0.25 and model.n_fill == 0.25


def test_amp_dtype():
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert bt.amp_dtype("auto", cpu) is None and bt.amp_dtype("auto", cuda) is torch.bfloat16
    assert bt.amp_dtype(True, cpu) is torch.bfloat16 and bt.amp_dtype(False, cuda) is None


def test_amp_on_the_cpu_trains_and_validates_in_bf16(h5, tmp_path):
    """``amp: true`` on the CPU: the loss, the steps and the validation run under bf16 autocast. With lr 1e-12 the
    weights stay the initial ones to float precision in both runs, so the losses differ by the arithmetic alone:
    a little, not much."""
    model, (codes, targets) = plain_model(), batch(16)
    with torch.no_grad():
        bf16, fp32 = loss_fn(model, codes, targets, torch.bfloat16).item(), loss_fn(model, codes, targets).item()
    assert bf16 != fp32 and bf16 == pytest.approx(fp32, rel=0.02)
    rows = {amp: train(h5, tmp_path / str(amp), CFG, dict(OPTS, max_epochs=1, amp=amp, lr=1e-12), progress=False,
                       max_train_batches=3, **RUN)["history"][0] for amp in (True, False)}
    for key in ("train_loss", "valid_loss"):
        assert rows[True][key] != rows[False][key] and rows[True][key] == pytest.approx(rows[False][key], rel=0.02)
    # the validation itself in bf16 (batch norm's running statistics alone would also move the valid loss)
    model = build_model(arch(CFG), T)
    model.load_state_dict(torch.load(tmp_path / "True" / "checkpoint.pt", weights_only=True)["state_dict"])
    assert rows[True]["valid_loss"] == bt.evaluate(model, h5, amp=torch.bfloat16, batch_size=64)["loss"]
    assert rows[True]["valid_loss"] != bt.evaluate(model, h5)["loss"]


def test_autocast_is_asked_for_bf16_not_its_device_default(monkeypatch):
    """On CUDA, autocast's default dtype is float16 (a narrower range than bf16, whose logits can overflow): the
    loss asks for the dtype it is given. Seen through a spy, since on the CPU the default is bf16 anyway."""
    asked = []
    real = torch.autocast

    def spy(device_type, *args, **kwargs):
        asked.append((device_type, args, kwargs))
        return real(device_type, *args, **kwargs)

    monkeypatch.setattr(torch, "autocast", spy)
    model, (codes, targets) = plain_model(), batch(4)
    loss_fn(model, codes, targets, torch.bfloat16)
    assert asked == [("cpu", (), {"dtype": torch.bfloat16})]


def test_the_epoch_progress_bar_counts_batches(h5, tmp_path, capsys):
    """``progress``: a bar per epoch on stderr, labelled with the epoch, counting the epoch's batches; none
    without."""
    train(h5, tmp_path / "bar", CFG, dict(OPTS, max_epochs=1), progress=True, max_train_batches=2, **RUN)
    err = capsys.readouterr().err
    assert "epoch 0:   0%|" in err and "| 0/2 [" in err and "batch/s]" in err
    run = bt.set_up(h5, tmp_path / "steps", CFG, full_opts({**OPTS, "max_epochs": 1}, max_train_batches=2))
    bt.resume_run(run)
    bt.open_loader(run)
    bt.train_epoch(run, 4)  # the engine's own default: a bar
    assert "epoch 4:   0%|" in capsys.readouterr().err
    quiet = tmp_path / "not" / "yet" / "there"  # the output folder is made with its parents
    train(h5, quiet, CFG, dict(OPTS, max_epochs=1), progress=False, max_train_batches=2, **RUN)
    assert "epoch 0" not in capsys.readouterr().err and (quiet / "model.pt").exists()


@pytest.mark.parametrize("batch_size", [1, 32])
def test_a_dataset_without_a_train_split_is_refused(h5, tmp_path, batch_size):
    """A dataset holding no train split (one built for evaluation) has 0 training sites, fewer than any batch."""
    copy = tmp_path / "no_train.h5"
    shutil.copy(h5, copy)
    with h5py.File(copy, "a") as f:
        del f["train"]
    with pytest.raises(ConfigError, match=rf"^train.batch_size: {batch_size} is more than the 0 training sites of "
                                          rf"{re.escape(str(copy))}$"):
        bt.set_up(copy, tmp_path / "out", CFG, full_opts({**OPTS, "batch_size": batch_size}))


def test_a_model_config_without_a_preset_is_the_basset_preset():
    assert bt._validated_model_config({}) == model_config("basset")
    assert bt._validated_model_config({"conv_filters": [8, 8, 8]}) == model_config("basset", conv_filters=[8, 8, 8])
    assert bt._validated_model_config({"preset": "cpu"}) == model_config("cpu")


class RunsCode:
    """Unpickling it makes a directory: it stands for the code that a pickled file from elsewhere could run."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return os.mkdir, (self.path,)


def test_a_checkpoint_holding_code_is_refused_and_never_run(h5, tmp_path):
    """A checkpoint.pt with pickled objects besides tensors and plain values is not loaded (so their code never
    runs): an error names it and says how to start over, which then works. A file that is not a checkpoint, or
    another program's dict, is refused the same way."""
    out, ran = tmp_path / "run", tmp_path / "code_ran"
    out.mkdir()
    ckpt = out / "checkpoint.pt"
    torch.save({"state_dict": {}, "optimizer": {}, "epoch": 0, "config": {}, "n_targets": T, "x": RunsCode(ran)}, ckpt)
    run = dict(OPTS, max_epochs=1)
    start_over = "delete it (or run basset train with --restart) to start over"
    with pytest.raises(InputError) as err:
        train(h5, out, CFG, run, progress=False, max_train_batches=1, **RUN)
    assert str(err.value) == (f"{ckpt}: holds pickled Python objects (posix.mkdir) besides tensors and plain values, "
                              f"which are not loaded (a checkpoint from another program?): {start_over}")
    assert not ran.exists()
    assert train(h5, out, CFG, run, resume=False, progress=False, max_train_batches=1, **RUN)["epochs"] == 1
    assert not ran.exists() and torch.load(ckpt, weights_only=True)["epoch"] == 0
    whole = ckpt.read_bytes()
    for damaged in (b"not a checkpoint\n", whole[: len(whole) // 2]):
        ckpt.write_bytes(damaged)
        with pytest.raises(InputError) as err:
            train(h5, out, CFG, run, progress=False, max_train_batches=1, **RUN)
        assert str(err.value) == (f"{ckpt}: is not a readable checkpoint (not a PyTorch file, or a damaged one): "
                                  f"{start_over}")
    torch.save({"weights": torch.zeros(2)}, ckpt)
    with pytest.raises(InputError) as err:
        train(h5, out, CFG, run, progress=False, max_train_batches=1, **RUN)
    assert str(err.value) == f"{ckpt}: is not a basset training checkpoint: {start_over}"


def test_a_model_file_holding_code_does_not_count_as_the_best_weights(tmp_path):
    """_holds_weights loads with weights_only: a model.pt with the right weights and epoch but pickled code besides
    is not taken as written (it is rewritten), and its code does not run."""
    state, ran = cpu_state(plain_model()), tmp_path / "code_ran"
    torch.save({"state_dict": state, "epoch": 4}, tmp_path / "plain.pt")
    torch.save({"state_dict": state, "epoch": 4, "x": RunsCode(ran)}, tmp_path / "code.pt")
    assert bt._holds_weights(tmp_path / "plain.pt", state, 4) and not bt._holds_weights(tmp_path / "plain.pt", state, 3)
    assert not bt._holds_weights(tmp_path / "code.pt", state, 4) and not ran.exists()


def test_seed_sets_the_initial_weights_and_the_data_order(h5, tmp_path, monkeypatch):
    states = [cpu_state(bt.set_up(h5, tmp_path / str(i), CFG, full_opts(OPTS, seed=seed)).model)
              for i, seed in enumerate((3, 3, 4))]
    assert same_state(states[0], states[1]) and not same_state(states[0], states[2])
    torch.manual_seed(3)
    assert same_state(cpu_state(build_model(arch(CFG), T)), states[0])  # the seed is torch's, before the build
    seen = spy_steps(monkeypatch)
    for seed in (3, 4):
        train(h5, tmp_path / f"run{seed}", CFG, dict(OPTS, max_epochs=1), progress=False, max_train_batches=1,
              **{**RUN, "seed": seed})
    assert len(seen) == 2 and not torch.equal(seen[0][0], seen[1][0])
    order = H5Batches(h5, "train", 32 * 8, True, 3, 0, 64, 2)
    assert torch.equal(seen[0][0], next(iter(order))[0][:32])  # seed 3's first chunk, its first batch


def test_batch_size_sets_the_steps_and_every_row_is_trained_once(h5, tmp_path, monkeypatch):
    """An epoch is ceil(320 / 48) = 7 steps (6 of 48 rows, then 32) over every training row once, each with its
    own targets; max_train_batches caps the steps; the progress bar counts them."""
    seen = spy_steps(monkeypatch)
    bars = []
    monkeypatch.setattr(bt, "progress_bar", lambda *args, **kwargs: bars.append(Bar(*args, **kwargs)) or bars[-1])
    opts = dict(OPTS, batch_size=48, rc_augment=False, max_epochs=1)
    train(h5, tmp_path / "a", CFG, opts, progress=True, **RUN)
    assert [codes.shape[0] for codes, *_ in seen] == [48] * 6 + [32]
    assert all(flip is None and max_norm == 7.0 for *_, flip, max_norm, _ in seen)
    with h5py.File(h5) as f:
        expected = sorted(zip(map(bytes, f["train/seqs"][:]), map(bytes, f["train/targets"][:])))
    trained = [(bytes(c), bytes(t)) for codes, targets, *_ in seen for c, t in zip(codes.numpy(), targets.numpy())]
    assert sorted(trained) == expected
    assert [(b.total, b.n, b.closed) for b in bars] == [(7, 7, True)]
    seen.clear()
    bars.clear()
    train(h5, tmp_path / "b", CFG, opts, progress=True, max_train_batches=3, **RUN)
    assert len(seen) == 3 and [(b.total, b.n, b.closed) for b in bars] == [(3, 3, True)]
    bars.clear()
    train(h5, tmp_path / "c", CFG, opts, progress=False, max_train_batches=1, **RUN)
    assert bars == []


def test_rc_augment_flips_half_the_rows_from_seed_and_epoch(h5, tmp_path, monkeypatch):
    """Each row is reverse-complemented with probability 1/2, drawn from a generator seeded by (seed, epoch,
    rank); rc_augment false: no row."""
    seen = spy_steps(monkeypatch)
    out = train(h5, tmp_path, CFG, dict(OPTS, rc_augment=True, max_epochs=2), progress=False, max_train_batches=2,
                **RUN)
    flips = [flip for *_, flip, _, _ in seen]
    losses = [loss for *_, loss in seen]  # the history's train loss: the mean over the epoch's steps
    assert [row["train_loss"] for row in out["history"]] == pytest.approx([np.mean(losses[:2]), np.mean(losses[2:])])
    assert len(flips) == 4
    for epoch in (0, 1):
        g = torch.Generator().manual_seed(bt.seed_for(3, epoch, 0))
        for step in range(2):
            assert torch.equal(flips[2 * epoch + step], torch.rand(32, generator=g) < 0.5), (epoch, step)
    assert 0 < int(sum(f.sum() for f in flips)) < 4 * 32 and not torch.equal(flips[0], flips[2])


def test_seed_for():
    assert bt.seed_for(3, 0, 0) == bt.seed_for(3, 0, 0)
    seeds = {bt.seed_for(*keys) for keys in [(3, 0, 0), (3, 1, 0), (3, 0, 1), (4, 0, 0), (0, 3, 0), (0, 0, 3)]}
    assert len(seeds) == 6 and all(0 <= s < 2**63 for s in seeds)
    assert bt.seed_for(3, 1) == int(np.random.SeedSequence([3, 1]).generate_state(2, np.uint64)[0]) >> 1


def test_max_norm_bounds_every_unit(h5, tmp_path):
    """max_norm: after every step no Conv1d/Linear unit's weight vector is longer than max_norm (and some reach
    it); None: no bound."""

    def norms(out, max_norm):
        train(h5, out, CFG, dict(OPTS, max_epochs=1, max_norm=max_norm), progress=False, max_train_batches=2, **RUN)
        state = torch.load(out / "checkpoint.pt", weights_only=True)["state_dict"]
        return torch.cat([v.flatten(1).norm(dim=1) for k, v in state.items() if k.endswith("weight") and v.dim() > 1])

    bounded = norms(tmp_path / "a", 0.05)
    assert bounded.max() <= 0.05 * (1 + 1e-5) and bounded.max() >= 0.05 * (1 - 1e-4)
    assert norms(tmp_path / "b", None).max() > 0.1


# ---------------------------------------------------------------------------------------- steps and loss
def plain_model(seed=0):
    torch.manual_seed(seed)
    return build_model(arch(CFG_PLAIN), T)


def batch(n, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 4, (n, L), dtype=torch.uint8, generator=g), torch.randint(0, 2, (n, T), dtype=torch.uint8,
                                                                                      generator=g)


def test_loss_is_summed_over_targets_and_averaged_over_the_batch():
    model = plain_model().eval()
    codes, targets = batch(8)
    with torch.no_grad():
        logits = model(one_hot(codes))
        expected = F.binary_cross_entropy_with_logits(logits, targets.float(), reduction="none").sum(1).mean()
        loss = loss_fn(model, codes, targets)
        assert loss.dtype == torch.float32 and loss.shape == ()
        assert loss.item() == pytest.approx(expected.item(), rel=1e-6)
        mean = F.binary_cross_entropy_with_logits(logits, targets.float()).item()
        assert loss.item() == pytest.approx(T * mean, rel=1e-6)
        bf16 = loss_fn(model, codes, targets, torch.bfloat16)
        assert bf16.dtype == torch.float32 and bf16.item() == pytest.approx(expected.item(), rel=0.05)


def test_device_batches_slice_chunks_and_skip_single_rows():
    """Chunks are cut into batches; a remainder of 2 rows is a batch, one of 1 row is skipped (batch norm)."""
    chunks = [batch(66, seed=1), batch(33, seed=2), batch(1, seed=3)]
    out = list(bt.device_batches(chunks, torch.device("cpu"), 32))
    assert [c.shape[0] for c, _ in out] == [32, 32, 2, 32]
    expected = [(0, 0, 32), (0, 32, 64), (0, 64, 66), (1, 0, 32)]
    for (codes, targets), (k, lo, hi) in zip(out, expected):
        assert torch.equal(codes, chunks[k][0][lo:hi]) and torch.equal(targets, chunks[k][1][lo:hi])


def test_run_epoch_mean_loss_steps_cap_and_augmentation():
    """run_epoch's loss is the mean of its steps' losses (computed on the reverse complement of the rows rc_gen
    flips), max_steps caps the steps, the model ends in train mode. lr 0 keeps the weights, so each step's loss
    can be computed beforehand."""
    model = plain_model().eval()
    batches = [batch(16, seed=s) for s in range(4)]
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    with torch.no_grad():
        losses = [loss_fn(model, c, t).item() for c, t in batches]
    bar = Bar(4)
    loss, steps = bt.run_epoch(model, opt, batches, torch.device("cpu"), bar=bar)
    assert steps == 4 and loss == pytest.approx(np.mean(losses), rel=1e-6) and bar.n == 4 and model.training
    loss, steps = bt.run_epoch(model, opt, batches, torch.device("cpu"), max_steps=2)
    assert steps == 2 and loss == pytest.approx(np.mean(losses[:2]), rel=1e-6)
    assert bt.run_epoch(model, opt, batches, torch.device("cpu"), max_steps=0) == (0.0, 0)
    g = torch.Generator().manual_seed(5)
    with torch.no_grad():
        flipped = []
        for c, t in batches:
            flip = torch.rand(c.shape[0], generator=g) < 0.5
            flipped.append(loss_fn(model, torch.where(flip[:, None], reverse_complement(c), c), t).item())
    loss, steps = bt.run_epoch(model, opt, batches, torch.device("cpu"), rc_gen=torch.Generator().manual_seed(5))
    assert steps == 4 and loss == pytest.approx(np.mean(flipped), rel=1e-6)
    assert np.mean(flipped) != pytest.approx(np.mean(losses), rel=1e-6)
    many = [batch(16, seed=s % 4) for s in range(101)]
    bar = Bar(101)
    bt.run_epoch(model, opt, many, torch.device("cpu"), bar=bar)
    # the running mean loss, shown after steps 50 and 100 only
    shown = [(n, {"loss": f"{np.mean([losses[i % 4] for i in range(n)]):.4f}"}) for n in (50, 100)]
    assert bar.n == 101 and bar.postfixes == shown
    loss, steps = bt.run_epoch(model, opt, batches[:1], torch.device("cpu"))
    assert steps == 1 and loss == pytest.approx(losses[0], rel=1e-6)  # one step: its own loss


def test_train_step_flips_steps_and_bounds_the_norm():
    model = plain_model()
    reference = plain_model()
    codes, targets = batch(16)
    flip = torch.ones(16, dtype=torch.bool)
    with torch.no_grad():
        expected = loss_fn(reference, reverse_complement(codes), targets).item()
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    loss = bt.train_step(model, opt, codes, targets, torch.device("cpu"), max_norm=0.01, flip=flip)
    assert not loss.requires_grad and loss.item() == pytest.approx(expected, rel=1e-6)
    assert not same_state(cpu_state(model), cpu_state(reference))
    for name, w in model.state_dict().items():
        if name.endswith("weight"):
            assert w.flatten(1).norm(dim=1).max() <= 0.01 * (1 + 1e-5), name
    model = plain_model()
    with torch.no_grad():
        plain = loss_fn(reference, codes, targets).item()
    assert bt.train_step(model, torch.optim.SGD(model.parameters(), lr=0.0), codes, targets,
                         torch.device("cpu")).item() == pytest.approx(plain, rel=1e-6)


def test_evaluate_loss_and_auroc(tmp_path):
    """evaluate: summed BCE per sequence and per-target AUROC over the whole split in file order (any batch
    size), NaN for a target with one class, left out of the mean; the model's training flag is kept."""
    path = write_h5(tmp_path / "v.h5", sizes=(64, 96, 40))
    with h5py.File(path, "a") as f:
        f["valid/targets"][:, 2] = 0
        codes, targets = torch.from_numpy(f["valid/seqs"][:]), torch.from_numpy(f["valid/targets"][:])
    torch.manual_seed(0)
    model = build_model(arch(CFG), T)
    model.train()
    with torch.no_grad():
        model(one_hot(batch(32)[0]))  # batch-norm running statistics away from their initial values
        model.eval()
        logits = model(one_hot(codes))
        model.train()
    loss = F.binary_cross_entropy_with_logits(logits, targets.float(), reduction="sum").item() / 96
    per_target = auroc(targets.numpy(), torch.sigmoid(logits).numpy())
    for batch_size in (1024, 7):
        res = bt.evaluate(model, path, "valid", "cpu", batch_size=batch_size)
        assert model.training and res["n"] == 96
        assert res["loss"] == pytest.approx(loss, rel=1e-5)
        assert np.isnan(res["auroc"][2]) and np.allclose(res["auroc"][:2], per_target[:2])
        assert res["mean_auroc"] == pytest.approx(np.mean(per_target[:2]))
    with h5py.File(path, "a") as f:
        f["valid/targets"][:] = 1
    res = bt.evaluate(model, path, "valid", "cpu")
    assert np.isnan(res["mean_auroc"]) and np.isnan(res["auroc"]).all()


def test_evaluate_an_empty_split(tmp_path):
    path = write_h5(tmp_path / "e.h5", sizes=(64, 40, 0))
    res = bt.evaluate(build_model(arch(CFG), T), path, "test")
    assert res["n"] == 0 and np.isnan(res["loss"]) and np.isnan(res["mean_auroc"])
    assert res["auroc"].shape == (T,) and np.isnan(res["auroc"]).all()


# ----------------------------------------------------------------------------------------- RNG and DDP env
def test_rng_states_survive_the_checkpoint(tmp_path):
    """_rng_state -> torch.save -> torch.load(weights_only) -> _set_rng_state gives back torch's, numpy's and
    Python's streams."""
    import random

    torch.manual_seed(11)
    np.random.seed(11)
    random.seed(11)
    np.random.standard_normal()  # numpy's cached Gaussian is part of its state
    atomic = tmp_path / "rng.pt"
    torch.save(bt._rng_state(torch.device("cpu")), atomic)
    first = (torch.rand(3), np.random.rand(3), np.random.standard_normal(), random.random())
    torch.manual_seed(0)
    np.random.seed(0)
    random.seed(0)
    bt._set_rng_state(torch.load(atomic, weights_only=True), torch.device("cpu"))
    again = (torch.rand(3), np.random.rand(3), np.random.standard_normal(), random.random())
    assert torch.equal(first[0], again[0]) and np.array_equal(first[1], again[1]) and first[2:] == again[2:]
    assert "cuda" not in torch.load(atomic, weights_only=True)


def test_dist_env(monkeypatch):
    for name in ("RANK", "LOCAL_RANK", "WORLD_SIZE"):
        monkeypatch.delenv(name, raising=False)
    assert bt._dist_env() == (0, 0, 1)
    monkeypatch.setenv("RANK", "5")
    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "8")
    assert bt._dist_env() == (5, 1, 8)


class FakeDDP(torch.nn.Module):
    """DistributedDataParallel without a process group: one process plays each rank in turn."""

    def __init__(self, module, device_ids=None):
        super().__init__()
        self.module = module

    def forward(self, x):
        return self.module(x)


def test_ddp_ranks_run_the_smallest_shards_full_batches(h5, tmp_path, monkeypatch):
    """Under DDP every rank runs as many steps as the smallest shard has full batches.

    Reproduction: 320 training rows in blocks of 64 over 2 ranks: rank 0 gets 3 blocks (192 rows: 6 batches of
    32), rank 1 two (128 rows: 4), so both must run 4 steps. Before the fix the count was in whole loader chunks
    (8 batches, 256 rows) and the shards dropped their partial last chunk: 0 steps, a DDP run on a small dataset
    trained nothing (and a large one lost up to a chunk of rows per rank every epoch).
    """
    monkeypatch.setattr(torch.nn.parallel, "DistributedDataParallel", FakeDDP)
    for cap, steps in ((None, 4), (3, 3), (10, 4)):
        run = bt.set_up(h5, tmp_path, CFG, full_opts({**OPTS, "device": "cpu"}, max_train_batches=cap))
        run.world = 2
        for rank in (0, 1):
            run.rank = rank
            bt.open_loader(run)
            assert isinstance(run.net, FakeDDP) and run.net.module is run.model
            b = run.batches
            assert (b.rank, b.world_size, b.drop_last, b.batch_size) == (rank, 2, False, 32 * 8)
            assert sum(min(64, 320 - 64 * int(i)) for i in b.blocks(rank, 2)) == (192, 128)[rank]
            before = cpu_state(run.model)
            assert bt.train_epoch(run, 0, progress=False)[1] == steps, (cap, rank)
            assert not same_state(before, cpu_state(run.model))


# ------------------------------------------------------------------------------------------------ files
def test_history_file_format(tmp_path):
    rows = [{"epoch": 0, "train_loss": 0.123456789, "valid_loss": 2.0, "valid_auroc": math.nan, "seconds": 1.5,
             "lr": 0.002, "best": True},
            {"epoch": 1, "train_loss": 12345678.9, "valid_loss": 1e-7, "valid_auroc": 0.75, "seconds": 0.25,
             "lr": 0.002, "best": False}]
    bt._write_history(tmp_path / "history.tsv", rows)
    assert (tmp_path / "history.tsv").read_text() == (
        "epoch\ttrain_loss\tvalid_loss\tvalid_auroc\tseconds\tlr\tbest\n"
        "0\t0.123457\t2\tnan\t1.5\t0.002\t1\n"
        "1\t1.23457e+07\t1e-07\t0.75\t0.25\t0.002\t0\n")
    assert [p.name for p in tmp_path.iterdir()] == ["history.tsv"]


def test_restore_best_model(tmp_path, caplog):
    """_restore_best_model writes model.pt from the best weights unless it holds exactly them, for that epoch."""
    torch.manual_seed(0)
    model = build_model(arch(CFG), T)
    state, meta, names = cpu_state(model), {"epoch": 2, "valid_auroc": 0.7}, ["t0", "t1", "t2"]
    path = tmp_path / "model.pt"
    with caplog.at_level(logging.WARNING, logger="basset.train"):
        assert not bt._restore_best_model(path, model, names, None, None)
    assert not path.exists() and caplog.records == []
    (tmp_path / "checkpoint.pt").write_bytes(b"")
    with caplog.at_level(logging.WARNING, logger="basset.train"):
        assert not bt._restore_best_model(path, model, names, None, None)
    assert not path.exists() and str(path) in caplog.text and "rerun with a restart" in caplog.text

    def restored():
        saved = torch.load(path, weights_only=True)
        return saved["epoch"] == 2 and saved["valid_auroc"] == 0.7 and same_state(saved["state_dict"], state)

    assert bt._restore_best_model(path, model, names, state, meta) and restored()
    save_model(path, model, names, {**meta, "marker": 1}, state=state)  # holds them: left as it is
    assert not bt._restore_best_model(path, model, names, state, meta)
    assert torch.load(path, weights_only=True)["marker"] == 1
    other = {k: v + 1 if v.is_floating_point() else v for k, v in state.items()}
    variants = [
        lambda: save_model(path, model, names, {"epoch": 3}, state=state),  # the same weights, another epoch
        lambda: save_model(path, model, names, {"epoch": 2}, state=other),  # another epoch's weights
        lambda: torch.save({"state_dict": {k: state[k] for k in list(state)[1:]}, "epoch": 2}, path),  # a key less
        lambda: torch.save({"state_dict": [1], "epoch": 2}, path),
        lambda: torch.save([1, 2], path),
        lambda: path.write_bytes(b"truncated"),
    ]
    for write in variants:
        write()
        assert bt._restore_best_model(path, model, names, state, meta) and restored()


def test_the_engine_resumes_by_default(h5, tmp_path):
    """resume_run without ``enabled`` continues a run's checkpoint (the engine's default, as train()'s); one that
    does not say whether it stopped early has not."""
    train(h5, tmp_path, CFG, dict(OPTS, max_epochs=1), progress=False, max_train_batches=1, **RUN)
    run = bt.set_up(h5, tmp_path, CFG, full_opts({**OPTS, "max_epochs": 1}, max_train_batches=1))
    record = bt.resume_run(run)
    assert record.epoch == 1 and len(record.history) == 1 and record.best_epoch == 0 and not record.stopped_early
    ckpt = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    del ckpt["stopped_early"]  # as checkpoints written before early stopping was saved
    torch.save(ckpt, tmp_path / "checkpoint.pt")
    assert bt.resume_run(run).stopped_early is False


def test_stale_checkpoint_is_not_resumed():
    from basset.train import _plain_opts, _stale

    opts = full_opts({"lr": 0.01})
    ckpt = {"config": {"a": 1}, "n_targets": 3, "options": _plain_opts(opts)}
    assert not _stale(ckpt, {"a": 1}, 3, opts)
    resumable = {"max_epochs": 99, "patience": 1, "min_epochs": 5, "stop_after_epochs": 2, "num_workers": 3,
                 "device": "cpu", "amp": True, "valid_batch_size": 7, "loader_chunk": 2, "max_train_batches": 4}
    for key, value in resumable.items():
        assert not _stale(ckpt, {"a": 1}, 3, {**opts, key: value}), key
    changes = {"lr": 0.02, "alpha": 0.5, "optimizer": "adam", "weight_decay": 0.1, "max_norm": 1.0,
               "batch_size": 64, "rc_augment": True, "seed": 4, "block_rows": 32, "buffer_blocks": 1}
    for key, value in changes.items():
        assert _stale(ckpt, {"a": 1}, 3, {**opts, key: value}), key
    assert _stale(ckpt, {"a": 2}, 3, opts)  # another architecture
    assert _stale(ckpt, {"a": 1}, 4, opts)  # another dataset
    assert _stale({"config": {"a": 1}, "n_targets": 3}, {"a": 1}, 3, opts)  # no options recorded
    assert _plain_opts({"a": None, "b": torch.bfloat16, "c": 1.5, "d": "x", "e": True}) == {
        "a": None, "b": "torch.bfloat16", "c": 1.5, "d": "x", "e": True}


# ------------------------------------------------------------------------------------ killed jobs
#: train() with real training but a scripted mean validation AUROC per epoch, so that the best epoch is known
#: in advance; on one thread, so that every run, in this process or another, computes bitwise the same weights
KILLABLE_TRAINING = '''
import json, logging, sys, time
from pathlib import Path

import torch

import basset.train as bt


def run(h5, out, cfg, opts, settings, aurocs, pause=0.0):
    """bt.train(..., **settings) with the mean validation AUROC of epoch e set to aurocs[e]; pause: seconds after
    each epoch."""
    ckpt = Path(out) / "checkpoint.pt"
    epoch = [int(torch.load(ckpt, weights_only=True)["epoch"]) + 1 if ckpt.exists() else 0]
    real, threads = bt.evaluate, torch.get_num_threads()

    def scripted(*args, **kwargs):
        res = real(*args, **kwargs)
        res["mean_auroc"] = aurocs[epoch[0]]
        epoch[0] += 1
        time.sleep(pause)
        return res

    bt.evaluate = scripted
    torch.set_num_threads(1)
    try:
        return bt.train(h5, out, cfg, opts, progress=False, **settings)
    finally:
        bt.evaluate = real
        torch.set_num_threads(threads)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    run(sys.argv[1], sys.argv[2], *(json.loads(a) for a in sys.argv[3:7]), pause=0.2)  # time to kill it
'''


def test_killed_training_ends_with_the_best_model(h5, tmp_path):
    """Training killed after its best epoch, its model.pt deleted, ends its rerun with the best epoch's model.

    Reproduction: max_epochs 7, patience 20, best mean validation AUROC at epoch 2; ``kill -9`` the training
    (a subprocess) once ``epoch 3:`` is logged; delete model.pt (Snakemake deletes the outputs of a failed
    job); rerun with resume. Before the fix the resumed run never beat epoch 2, so it never wrote model.pt
    again and the workflow failed with MissingOutputException for good. Now model.pt is bitwise the
    uninterrupted run's.
    """
    script = tmp_path / "killable.py"
    script.write_text(KILLABLE_TRAINING)
    killable = {}
    exec(KILLABLE_TRAINING, killable)  # the same run() in this process, for the rerun and the reference
    opts = dict(OPTS, max_epochs=7, patience=20, device="cpu")
    aurocs = [0.5, 0.6, 0.9, 0.7, 0.8, 0.85, 0.6]
    killed = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, str(script), str(h5), str(killed), json.dumps(CFG), json.dumps(opts),
                             json.dumps(RUN), json.dumps(aurocs)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=this_basset_env())
    try:
        log = []
        for line in proc.stdout:
            log.append(line)
            if line.startswith("epoch 3:"):
                proc.send_signal(signal.SIGKILL)
                break
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "".join(log)[-3000:]
    ckpt = torch.load(killed / "checkpoint.pt", weights_only=True)
    assert ckpt["best_epoch"] == 2 and 3 <= ckpt["epoch"] < 6  # killed after the best epoch, before the end
    mid = torch.load(killed / "model.pt", weights_only=True)  # written when epoch 2 was best: usable as it is
    assert mid["epoch"] == 2 and mid["valid_auroc"] == 0.9 and same_state(mid["state_dict"], ckpt["best_state"])
    (killed / "model.pt").unlink()
    assert killable["run"](h5, killed, CFG, opts, RUN, aurocs)["epochs"] == 7
    killable["run"](h5, tmp_path / "straight", CFG, opts, RUN, aurocs)
    a = torch.load(tmp_path / "straight" / "model.pt", weights_only=True)
    b = torch.load(killed / "model.pt", weights_only=True)
    assert a["epoch"] == b["epoch"] == 2 and a["valid_auroc"] == b["valid_auroc"] == 0.9
    assert a["state_dict"].keys() == b["state_dict"].keys()
    assert all(torch.equal(a["state_dict"][k], b["state_dict"][k]) for k in a["state_dict"])


def test_finished_run_rewrites_a_deleted_model(h5, tmp_path, monkeypatch):
    """A resumed call with nothing left to train still writes model.pt from the best epoch.

    Reproduction: train until early stopping (best epoch 1 of 5), delete model.pt, call train() again.
    Before the fix that call returned at once (the checkpoint says it stopped early) without model.pt; a
    model.pt holding other weights was likewise left as it was.
    """
    scripted = iter([0.6, 0.7, 0.65, 0.69, 0.7])

    def fake_evaluate(*args, **kwargs):
        return {"loss": 1.0, "auroc": np.zeros(T), "mean_auroc": next(scripted), "n": 96}

    monkeypatch.setattr(bt, "evaluate", fake_evaluate)
    opts = dict(OPTS, max_epochs=20, patience=3)
    settings = dict(RUN, max_train_batches=2)
    out = tmp_path / "run"
    assert train(h5, out, CFG, opts, progress=False, **settings)["stopped_early"]
    best = torch.load(out / "model.pt", weights_only=True)
    (out / "model.pt").unlink()
    assert train(h5, out, CFG, opts, progress=False, **settings)["epochs"] == 5
    restored = torch.load(out / "model.pt", weights_only=True)
    assert restored.keys() == best.keys() and restored["epoch"] == 1
    assert all(torch.equal(restored["state_dict"][k], v) for k, v in best["state_dict"].items())
    torch.manual_seed(7)  # other weights under the final name are replaced too
    save_model(out / "model.pt", build_model(model_config(**{k: v for k, v in CFG.items() if k != "preset"}), T),
               ["t0", "t1", "t2"], {"epoch": 1})
    train(h5, out, CFG, opts, progress=False, **settings)
    again = torch.load(out / "model.pt", weights_only=True)
    assert all(torch.equal(again["state_dict"][k], v) for k, v in best["state_dict"].items())


# ------------------------------------------------------------------------------------- full disks
def test_saving_a_model_bigger_than_the_disk(small_tmpfs):
    """save_model on a full disk raises DiskFullError naming the file, and leaves nothing behind.

    Reproduction: save a 2.5 MB model into a 256 KiB tmpfs. Before the fix torch raised
    ``RuntimeError: [enforce fail at inline_container.cc:672] ...`` and the cause (no space) was lost.
    """
    torch.manual_seed(0)
    model = build_model(model_config("cpu", seq_len=600, conv_filters=[16], conv_widths=[5], conv_pools=[1],
                                     conv_dropout=0.0, dense_units=[64], dense_dropout=0.0), T)
    path = small_tmpfs / "model.pt"
    with pytest.raises(DiskFullError, match=f"^no space left on device writing {path}"):
        save_model(path, model, ["t0", "t1", "t2"])
    assert leftovers(small_tmpfs) == []


def test_training_on_a_full_disk(h5, small_tmpfs):
    """train() on a full disk raises DiskFullError naming the file it could not write; no temporaries stay.

    Reproduction: fill a tmpfs and train into it. Before the fix the first model.pt write ended with
    ``RuntimeError: [enforce fail at inline_container.cc:672] ...``.
    """
    out = small_tmpfs / "train"
    out.mkdir()
    fill_up(small_tmpfs)
    with pytest.raises(DiskFullError, match=f"^no space left on device writing {out / 'model.pt'}"):
        train(h5, out, CFG, dict(OPTS, max_epochs=1), progress=False, max_train_batches=2, **RUN)
    assert leftovers(out) == []


# ------------------------------------------------------------------------------------------------ DDP
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp_worker(rank, world, port, codes, targets, h5, out):
    """Rank ``rank`` of 2 gloo processes: (1) DDP gradients on its half of a batch, saved to
    ``out/grad{rank}.pt``; (2) ``train`` under a torchrun-like environment into ``out/ddp``.
    One spawn for both checks: starting processes is the slow part."""
    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    torch.manual_seed(0)
    model = build_model(model_config(**{k: v for k, v in CFG_PLAIN.items() if k != "preset"}), T)
    ddp = torch.nn.parallel.DistributedDataParallel(model)
    half = codes.shape[0] // world
    loss_fn(ddp, codes[rank * half : (rank + 1) * half], targets[rank * half : (rank + 1) * half]).backward()
    torch.save({n: p.grad for n, p in model.named_parameters()}, os.path.join(out, f"grad{rank}.pt"))
    # train() reuses this process group (tearing it down and starting another one here could hang in gloo)
    dist.barrier()
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world))
    train(h5, os.path.join(out, "ddp"), CFG, dict(OPTS, max_epochs=2, device="cpu"), progress=False, **RUN)
    torch.save(torch.rand(8), os.path.join(out, f"draws{rank}.pt"))  # the dropout stream after the same steps
    # (3) early stopping decided by rank 0 alone (it validates; the scripted AUROCs fall after epoch 0)
    aurocs = iter([0.7, 0.6, 0.5, 0.4])
    bt.evaluate = lambda *a, **k: {"loss": 1.0, "auroc": np.zeros(T), "mean_auroc": next(aurocs), "n": 96}
    res = train(h5, os.path.join(out, "stop"), CFG, dict(OPTS, max_epochs=4, patience=1, min_epochs=1, device="cpu"),
                progress=False, **RUN)
    torch.save({"epochs": res["epochs"], "stopped_early": res["stopped_early"]}, os.path.join(out, f"stop{rank}.pt"))


@pytest.fixture(scope="module")
def ddp_run(h5, tmp_path_factory):
    """Outputs of :func:`_ddp_worker` and the batch it used."""
    out = tmp_path_factory.mktemp("ddp")
    g = torch.Generator().manual_seed(1)
    codes = torch.randint(0, 4, (16, L), dtype=torch.uint8, generator=g)
    targets = torch.randint(0, 2, (16, T), dtype=torch.uint8, generator=g)
    port = free_port()
    mp.spawn(_ddp_worker, args=(2, port, codes, targets, str(h5), str(out)), nprocs=2)
    return out, codes, targets


def test_ddp_gradients_equal_one_process_on_the_whole_batch(ddp_run):
    """Two gloo ranks on halves of a batch get (all-reduced) the gradient of one process on the whole batch.

    The model has no batch norm and no dropout: per-rank batch statistics differ from those of the doubled
    batch (SyncBatchNorm would fix that, but PyTorch's SyncBatchNorm only runs on CUDA)."""
    out, codes, targets = ddp_run
    torch.manual_seed(0)
    model = build_model(model_config(**{k: v for k, v in CFG_PLAIN.items() if k != "preset"}), T)
    loss_fn(model, codes, targets).backward()
    for rank in range(2):
        grads = torch.load(out / f"grad{rank}.pt", weights_only=True)
        for name, p in model.named_parameters():
            assert torch.allclose(grads[name], p.grad, atol=1e-6), (rank, name)


def test_train_under_ddp(ddp_run):
    """``train`` under a torchrun-like environment (2 gloo ranks): ranks stay in step, rank 0 writes the files."""
    check_ddp_outputs(ddp_run[0] / "ddp")


def test_ddp_ranks_draw_their_own_dropout_masks(ddp_run):
    """After the same steps, the two ranks' torch generators differ: rank 1 is seeded apart from rank 0, so the
    ranks drop different units (one process on the doubled batch would draw different masks for its halves)."""
    out = ddp_run[0]
    assert not torch.equal(torch.load(out / "draws0.pt"), torch.load(out / "draws1.pt"))


def test_ddp_ranks_stop_early_together(ddp_run):
    """Rank 0 alone validates and decides to stop (after epoch 1: one epoch without improvement, patience 1); the
    decision reaches rank 1, which stops after the same epoch instead of waiting for a step rank 0 never takes."""
    out = ddp_run[0]
    for rank in range(2):
        assert torch.load(out / f"stop{rank}.pt") == {"epochs": 2, "stopped_early": True}, rank


def check_ddp_outputs(out):
    """Rank 0's files of a 2-epoch DDP run: the history, model.pt holding the best epoch's weights, which are
    trained ones (the ranks ran steps; rank 0's initial weights are seed 3's)."""
    rows = read_history(out / "history.tsv")
    assert [int(r["epoch"]) for r in rows] == [0, 1] and rows[0]["best"] == "1"
    best = max(e for e, r in enumerate(rows) if r["best"] == "1")
    model, meta = load_model(out / "model.pt")
    assert meta["n_targets"] == T and meta["epoch"] == best and meta["target_names"] == ["t0", "t1", "t2"]
    ckpt = torch.load(out / "checkpoint.pt", weights_only=True)
    assert ckpt["epoch"] == 1 and ckpt["best_epoch"] == best
    assert same_state(cpu_state(model), ckpt["best_state"])
    torch.manual_seed(3)
    assert not same_state(cpu_state(build_model(arch(CFG), T)), ckpt["state_dict"])


def test_torchrun_launches_ddp_training_from_the_cli(tmp_path):
    """The documented multi-GPU entry point, on CPU: `torchrun --nproc_per_node 2 -m basset.cli train`.

    The loader's default blocks are 4096 rows: a dataset of a block and 64 rows gives each rank one, and every
    rank runs the 2 full batches of the smaller shard (before the fix for partial chunks, none)."""
    h5 = write_h5(tmp_path / "two_blocks.h5", sizes=(4160, 96, 64))
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr",
                "127.0.0.1", "--master_port", str(free_port())]
    model = [f"{k}={json.dumps(v)}" for k, v in CFG.items() if k != "preset"]
    opts = [f"{k}={json.dumps(v)}" for k, v in {**OPTS, "device": "cpu"}.items()]
    res = subprocess.run([*torchrun, "-m", "basset.cli", "-q", "train", "--dataset", str(h5), "--out",
                          str(tmp_path / "ddp"), "--preset", "cpu", "--seed", "3", "--model", *model, "--set", *opts],
                         capture_output=True, text=True, timeout=300, env=this_basset_env())
    assert res.returncode == 0, res.stderr[-3000:]
    assert "world size 2" in res.stderr
    check_ddp_outputs(tmp_path / "ddp")


def test_a_gpu_checkpoints_rng_state_resumes_on_the_cpu(monkeypatch):
    """A checkpoint written on a GPU holds a "cuda" RNG state; resuming it on the CPU restores the CPU generators
    and leaves CUDA alone (touching it would fail on a machine without a GPU). Python's state may be lists, as
    checkpoints before tuples were kept hold it."""
    import random

    from basset.train import _rng_state, _set_rng_state

    def no_cuda(*_):
        raise AssertionError("torch.cuda touched on the CPU")

    monkeypatch.setattr(torch.cuda, "set_rng_state_all", no_cuda)
    monkeypatch.setattr(torch.cuda, "get_rng_state_all", no_cuda)
    cpu = torch.device("cpu")
    state = {**_rng_state(cpu), "cuda": [torch.zeros(16, dtype=torch.uint8)]}
    assert "cuda" not in _rng_state(cpu)
    want = (torch.rand(3), np.random.random(3), random.random())
    state["python"] = [list(x) if isinstance(x, tuple) else x for x in state["python"]]
    _set_rng_state(state, cpu)
    got = (torch.rand(3), np.random.random(3), random.random())
    torch.testing.assert_close(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    assert got[2] == want[2]


def test_what_train_returns_and_the_timing_it_records(h5, tmp_path, monkeypatch):
    """The returned summary names the files that were written and times the call; each epoch's seconds are
    rounded to the millisecond and fit inside the call. The bar is shown by default."""
    import time

    bars = []
    monkeypatch.setattr(bt, "progress_bar", lambda *args, **kwargs: bars.append(Bar(*args, **kwargs)) or bars[-1])
    out = tmp_path / "run"
    t0 = time.perf_counter()
    res = train(h5, out, CFG, dict(OPTS, max_epochs=2), **RUN)
    elapsed = time.perf_counter() - t0
    assert res["model"] == str(out / "model.pt") and res["history_path"] == str(out / "history.tsv")
    assert res["checkpoint_path"] == str(out / "checkpoint.pt")
    for key in ("model", "history_path", "checkpoint_path"):
        assert Path(res[key]).is_file(), key
    assert 0 < res["seconds"] <= elapsed
    seconds = [row["seconds"] for row in res["history"]]
    assert len(seconds) == 2 and all(s == round(s, 3) and 0 < s for s in seconds)
    assert sum(seconds) <= res["seconds"] + 0.002  # the epochs lie inside the call
    assert len(bars) == 2  # one bar per epoch, by default


def test_the_epoch_log_counts_steps_and_the_default_seed_is_one(h5, tmp_path, caplog):
    """Each epoch's log line gives its optimiser steps (320 training rows in batches of 32: 10); without a seed the
    run is the run with seed 1, and another seed gives another run."""
    opts = dict(OPTS, max_epochs=1)
    settings = {k: v for k, v in RUN.items() if k != "seed"}
    with caplog.at_level(logging.INFO, logger="basset.train"):
        default = train(h5, tmp_path / "a", CFG, opts, progress=False, **settings)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("epoch 0:")]
    assert len(lines) == 1 and lines[0].endswith(" s, 10 steps)")
    one = train(h5, tmp_path / "b", CFG, opts, progress=False, seed=1, **settings)
    other = train(h5, tmp_path / "c", CFG, opts, progress=False, seed=2, **settings)
    assert default["history"][0]["valid_loss"] == one["history"][0]["valid_loss"]
    assert default["history"][0]["valid_loss"] != other["history"][0]["valid_loss"]

"""Tests of basset.train: history and early stopping, exact resume, DDP gradients and a DDP run (gloo, CPU)."""

import json
import os
import signal
import socket
import subprocess
import sys

import h5py
import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from conftest import fill_up, leftovers

import basset.train as bt
from basset.config import schema_defaults
from basset.dataset import SPLITS
from basset.errors import ConfigError
from basset.fileio import DiskFullError
from basset.models import build_model, load_model, model_config, save_model
from basset.train import loss_fn, train

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
            g.create_dataset("seqs", data=codes, chunks=(32, L))
            g.create_dataset("targets", data=targets, chunks=(32, T))
    return path


@pytest.fixture(scope="module")
def h5(tmp_path_factory):
    return write_h5(tmp_path_factory.mktemp("data") / "tiny.h5")


OPTS = dict(batch_size=32, rc_augment=True, max_epochs=2, patience=5)  # the config's train section
RUN = dict(seed=3, block_rows=64, buffer_blocks=2, valid_batch_size=64)  # train()'s other settings


def read_history(path):
    lines = path.read_text().splitlines()
    assert lines[0].split("\t") == list(bt.HISTORY_COLUMNS)
    return [dict(zip(bt.HISTORY_COLUMNS, line.split("\t"))) for line in lines[1:]]


def test_resume_gives_the_same_model(h5, tmp_path):
    straight = train(h5, tmp_path / "a", CFG, OPTS, resume=True, progress=False, **RUN)
    first = train(h5, tmp_path / "b", CFG, OPTS, progress=False, stop_after_epochs=1, **RUN)
    assert first["epochs"] == 1 and not first["finished"]
    resumed = train(h5, tmp_path / "b", CFG, OPTS, resume=True, progress=False, **RUN)
    assert straight["epochs"] == resumed["epochs"] == 2
    for name in ("checkpoint.pt", "model.pt"):
        a = torch.load(tmp_path / "a" / name, weights_only=True)["state_dict"]
        b = torch.load(tmp_path / "b" / name, weights_only=True)["state_dict"]
        assert a.keys() == b.keys()
        assert all(torch.equal(a[k], b[k]) for k in a), name
    ha, hb = read_history(tmp_path / "a" / "history.tsv"), read_history(tmp_path / "b" / "history.tsv")
    assert [(r["train_loss"], r["valid_auroc"]) for r in ha] == [(r["train_loss"], r["valid_auroc"]) for r in hb]
    assert np.isfinite(float(ha[-1]["train_loss"]))
    model, meta = load_model(tmp_path / "a" / "model.pt")
    assert meta["target_names"] == ["t0", "t1", "t2"] and meta["epoch"] == straight["best_epoch"]


def test_history_and_early_stopping(h5, tmp_path, monkeypatch):
    scripted = iter([0.6, 0.7, 0.65, 0.69, 0.7, 0.95, 0.99])  # best at epoch 1, then 3 epochs without gain

    def fake_evaluate(*args, **kwargs):
        return {"loss": 1.0, "auroc": np.zeros(T), "mean_auroc": next(scripted), "n": 96}

    monkeypatch.setattr(bt, "evaluate", fake_evaluate)
    opts = dict(OPTS, max_epochs=20, patience=3)
    out = train(h5, tmp_path / "run", CFG, opts, progress=False, max_train_batches=2, **RUN)
    rows = read_history(tmp_path / "run" / "history.tsv")
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2, 3, 4]
    assert [r["best"] for r in rows] == ["1", "1", "0", "0", "0"]
    assert out["stopped_early"] and out["best_epoch"] == 1 and out["best_valid_auroc"] == 0.7
    assert torch.load(tmp_path / "run" / "model.pt", weights_only=True)["epoch"] == 1
    again = train(h5, tmp_path / "run", CFG, opts, progress=False, max_train_batches=2, **RUN)  # not extended
    assert again["epochs"] == 5 and len(read_history(tmp_path / "run" / "history.tsv")) == 5


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
                            text=True)
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


def test_bad_options(h5, tmp_path):
    with pytest.raises(ConfigError, match=r"^train\.learning_rate"):
        train(h5, tmp_path, CFG, {"learning_rate": 1})
    with pytest.raises(ConfigError, match=r"^model\.seq_len"):
        train(h5, tmp_path, dict(CFG, seq_len=600), {})
    with pytest.raises(ConfigError, match=r"^model\.nope"):
        train(h5, tmp_path, dict(CFG, nope=1), {})
    with pytest.raises(ConfigError, match=r"^train\.block_rows"):  # a setting of train(), not of the config
        train(h5, tmp_path, CFG, dict(OPTS, block_rows=64))
    assert set(OPTS) <= set(schema_defaults("train"))


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
    out = ddp_run[0] / "ddp"
    assert len(read_history(out / "history.tsv")) == 2
    model, meta = load_model(out / "model.pt")
    assert meta["n_targets"] == T


def test_stale_checkpoint_is_not_resumed():
    from basset.train import _plain_opts, _stale, train_options

    opts = train_options({"lr": 0.01})
    ckpt = {"config": {"a": 1}, "n_targets": 3, "options": _plain_opts(opts)}
    assert not _stale(ckpt, {"a": 1}, 3, train_options({"lr": 0.01, "max_epochs": 99}))  # more epochs: resume
    assert _stale(ckpt, {"a": 1}, 3, train_options({"lr": 0.02}))  # another optimiser setting
    assert _stale(ckpt, {"a": 2}, 3, opts)  # another architecture
    assert _stale(ckpt, {"a": 1}, 4, opts)  # another dataset


def test_the_schema_holds_the_training_defaults():
    from basset.train import train_options

    assert train_options({}) == schema_defaults("train")
    assert train_options({"lr": 1, "max_norm": None})["lr"] == 1.0  # None: the default


def test_torchrun_launches_ddp_training_from_the_cli(tmp_path):
    """The documented multi-GPU entry point, on CPU: `torchrun --nproc_per_node 2 -m basset.cli train`.

    The loader's default blocks are 4096 rows: a dataset of 2 blocks and a bit gives both ranks some."""
    h5 = write_h5(tmp_path / "two_blocks.h5", sizes=(8448, 96, 64))
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr",
                "127.0.0.1", "--master_port", str(free_port())]
    model = [f"{k}={json.dumps(v)}" for k, v in CFG.items() if k != "preset"]
    opts = [f"{k}={json.dumps(v)}" for k, v in {**OPTS, "device": "cpu"}.items()]
    res = subprocess.run([*torchrun, "-m", "basset.cli", "-q", "train", "--dataset", str(h5), "--out",
                          str(tmp_path / "ddp"), "--preset", "cpu", "--seed", "3", "--model", *model, "--set", *opts],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "world size 2" in res.stderr
    history = read_history(tmp_path / "ddp" / "history.tsv")
    assert len(history) == 2
    assert (tmp_path / "ddp" / "model.pt").exists()

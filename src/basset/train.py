"""Training: the step, validation, early stopping, checkpoints with exact resume, and DDP.

:func:`train` fits a :class:`basset.models.BassetNet` on the ``train`` split of an HDF5 dataset
(:mod:`basset.dataset`), validating on ``valid`` after every epoch. It writes into ``outdir``::

    history.tsv     one row per epoch: epoch, train_loss, valid_loss, valid_auroc, seconds, lr, best
    checkpoint.pt   latest state (model, optimizer, epoch, best metric, patience counter, history, RNG
                    states of torch/numpy/python/cuda) and the best epoch's weights and model.pt entries
                    (``best_state``, ``best_meta``); written atomically after every epoch
    model.pt        the best epoch so far (highest mean validation AUROC), :func:`basset.models.save_model`;
                    every call ends by rewriting it from ``best_state`` when it is missing or differs (a
                    killed Snakemake job loses its outputs, and a resumed run may never improve again)

Both ``.pt`` files hold only tensors and plain types: ``torch.load(path, weights_only=True)`` reads them.

Loss: binary cross-entropy with logits, **summed over targets and averaged over the batch** (the paper's
summed BCE), see :func:`loss_fn`. Sequences stay ``(B, L) uint8`` codes until the device, where
:func:`basset.sequence.one_hot` encodes them.

Resume: with ``resume=True`` and ``outdir/checkpoint.pt`` present, training continues after the saved
epoch. The data order depends only on ``(seed, epoch)`` (:class:`basset.dataset.H5Batches`), reverse-
complement augmentation draws from a generator seeded by ``(seed, epoch, rank)``, and the RNG states
(dropout) are restored, so an interrupted and resumed run ends with bitwise the same model on CPU as an
uninterrupted one.

Multi-GPU: launched by ``torchrun`` (``WORLD_SIZE > 1`` in the environment), :func:`train` joins the
process group (NCCL on CUDA, gloo on CPU), converts batch norm to SyncBatchNorm (CUDA only), wraps the
model in DistributedDataParallel and gives each rank a disjoint shard of the training blocks. Every rank
runs the same number of steps (the smallest shard's full batches), so no rank waits on a missing
all-reduce. Rank 0 validates and writes the files while the others wait at a barrier; its stop decision
is broadcast. The effective batch is ``batch_size x world_size``.
"""

from __future__ import annotations

import logging
import math
import os
import random
import time
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .dataset import H5Batches, dataset_info
from .errors import ConfigError
from .fileio import atomic_path
from .logs import progress_bar
from .metrics import auroc
from .models import _unwrap, apply_max_norm, atomic_save, build_model, cpu_state, save_model
from .models import model_config as _model_config
from .sequence import one_hot

log = logging.getLogger("basset.train")

#: Training options and their defaults (the ``train:`` section of the config).
TRAIN_DEFAULTS: dict = {
    "optimizer": "rmsprop",  # "rmsprop" (the paper) or "adam"
    "lr": 0.002,  # learning rate (paper: 0.002 with RMSprop)
    "alpha": 0.98,  # RMSprop smoothing constant of the squared-gradient average (paper: 0.98)
    "weight_decay": 0.0,  # L2 penalty added by the optimizer
    "max_norm": 7.0,  # max L2 norm of each unit's weight vector after every step; 0 or None: off
    "batch_size": 128,  # sequences per step (per rank under DDP)
    "max_epochs": 30,
    "patience": 10,  # stop after this many epochs without a better mean validation AUROC (paper 10-12)
    "min_epochs": 1,  # never stop before this many epochs
    "rc_augment": False,  # reverse-complement a random half of each training batch (seeded)
    "device": "auto",  # "auto" (cuda if available), "cpu", "cuda" or "cuda:N"
    "amp": "auto",  # bf16 autocast: "auto" (on for CUDA, off on CPU), true or false
    "num_workers": "auto",  # DataLoader workers: "auto" = 0 on CPU (the cores train), 4 on CUDA
    "seed": 1,  # initialisation, data order, augmentation, dropout
    "max_train_batches": None,  # cap on training steps per epoch (tests, quick runs)
    "valid_batch_size": 1024,  # sequences per validation forward pass
    "block_rows": 4096,  # loader: rows per contiguous HDF5 read
    "buffer_blocks": 4,  # loader: rows are shuffled within this many blocks
    "loader_chunk": 8,  # loader: batches per read; one transfer to the device per chunk, sliced there
    "stop_after_epochs": None,  # end this call after this many epochs *of this call* (simulates interruption)
}


# ------------------------------------------------------------------------------------------ options
def train_options(options: dict | None = None) -> dict:
    """``TRAIN_DEFAULTS`` updated with ``options`` (``None`` values mean "default"); unknown keys and
    bad values raise :class:`ConfigError` naming ``train.<key>``."""
    opts = dict(TRAIN_DEFAULTS)
    for key, value in (options or {}).items():
        if key not in TRAIN_DEFAULTS:
            raise ConfigError(f"train.{key}", f"unknown training option (expected one of {', '.join(TRAIN_DEFAULTS)})")
        if value is not None:
            opts[key] = value
    if opts["optimizer"] not in ("rmsprop", "adam"):
        raise ConfigError("train.optimizer", f"expected 'rmsprop' or 'adam', got {opts['optimizer']!r}")
    for key in ("batch_size", "max_epochs", "valid_batch_size", "block_rows", "buffer_blocks", "loader_chunk"):
        if not isinstance(opts[key], int) or isinstance(opts[key], bool) or opts[key] < 1:
            raise ConfigError(f"train.{key}", f"expected a positive integer, got {opts[key]!r}")
    for key in ("patience", "min_epochs"):
        if not isinstance(opts[key], int) or opts[key] < 0:
            raise ConfigError(f"train.{key}", f"expected an integer >= 0, got {opts[key]!r}")
    for key in ("lr", "alpha", "weight_decay"):
        try:
            opts[key] = float(opts[key])
        except (TypeError, ValueError):
            raise ConfigError(f"train.{key}", f"expected a number, got {opts[key]!r}") from None
    if opts["lr"] <= 0:
        raise ConfigError("train.lr", f"expected a positive learning rate, got {opts['lr']}")
    if opts["amp"] not in ("auto", True, False):
        raise ConfigError("train.amp", f"expected 'auto', true or false, got {opts['amp']!r}")
    nw = opts["num_workers"]
    if nw != "auto" and (not isinstance(nw, int) or nw < 0):
        raise ConfigError("train.num_workers", f"expected 'auto' or an integer >= 0, got {nw!r}")
    return opts


def resolve_device(device: str = "auto", local_rank: int | None = None) -> torch.device:
    """``"auto"`` -> ``cuda`` (``cuda:LOCAL_RANK`` under DDP) when available, else ``cpu``."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    dev = torch.device(device)
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError("train.device", "CUDA was asked for but torch.cuda.is_available() is False")
        if dev.index is None:
            dev = torch.device("cuda", local_rank or 0)
    return dev


def amp_dtype(amp, device: torch.device):
    """Autocast dtype (``torch.bfloat16``) or ``None``: ``"auto"`` means on for CUDA, off on CPU."""
    on = (device.type == "cuda") if amp == "auto" else bool(amp)
    return torch.bfloat16 if on else None


def make_optimizer(model: torch.nn.Module, opts: dict) -> torch.optim.Optimizer:
    """RMSprop(lr, alpha) or Adam(lr) with ``weight_decay``, over all parameters."""
    if opts["optimizer"] == "rmsprop":
        return torch.optim.RMSprop(
            model.parameters(), lr=opts["lr"], alpha=opts["alpha"], weight_decay=opts["weight_decay"]
        )
    return torch.optim.Adam(model.parameters(), lr=opts["lr"], weight_decay=opts["weight_decay"])


# --------------------------------------------------------------------------------------------- step
def reverse_complement_codes(codes: torch.Tensor, flip: torch.Tensor) -> torch.Tensor:
    """Reverse-complement rows of ``(B, L) uint8`` codes where ``flip`` ``(B,) bool`` is true (N stays N)."""
    rc = torch.where(codes < 4, 3 - codes, codes).flip(-1)
    return torch.where(flip[:, None], rc, codes)


def loss_fn(model: torch.nn.Module, codes: torch.Tensor, targets: torch.Tensor, amp=None) -> torch.Tensor:
    """Summed-over-targets, batch-mean BCE of ``model`` on ``(B, L) uint8`` codes and ``(B, T)`` 0/1 targets.

    Codes and targets must already be on the model's device; one-hot encoding happens here. ``amp``: an
    autocast dtype (``torch.bfloat16``) or ``None``. Returns a scalar float32 tensor (nats per sequence).
    """
    x = one_hot(codes)
    ctx = torch.autocast(codes.device.type, dtype=amp) if amp is not None else nullcontext()
    with ctx:
        logits = model(x)
    loss = F.binary_cross_entropy_with_logits(logits.float(), targets.float(), reduction="sum")
    return loss / codes.shape[0]


def device_batches(loader, device, batch_size: int):
    """Training batches on ``device`` from a loader of chunks: ``(codes (B, L) uint8, targets (B, T) uint8)``.

    The loader yields chunks of several batches; each chunk is moved to the device in one (non-blocking)
    copy and sliced there, which keeps per-step host work (worker IPC, pinning, copies) off the GPU's
    critical path. A final remainder of fewer than 2 rows is skipped (batch norm needs 2).
    """
    for codes, targets in loader:
        codes = codes.to(device, non_blocking=True)
        targets = targets.to(device, non_blocking=True)
        for i in range(0, codes.shape[0], batch_size):
            if codes.shape[0] - i < 2:
                break
            yield codes[i : i + batch_size], targets[i : i + batch_size]


def train_step(model, optimizer, codes, targets, device, amp=None, max_norm=None, flip=None) -> torch.Tensor:
    """One optimisation step on a batch from the loader; returns the detached loss (no host sync).

    ``codes (B, L) uint8`` and ``targets (B, T) uint8`` may be on the CPU (pinned): they are moved with
    ``non_blocking=True``. ``flip (B,) bool``: rows to reverse-complement (augmentation).
    """
    codes = codes.to(device, non_blocking=True)
    targets = targets.to(device, non_blocking=True)
    if flip is not None:
        codes = reverse_complement_codes(codes, flip.to(device, non_blocking=True))
    optimizer.zero_grad(set_to_none=True)
    loss = loss_fn(model, codes, targets, amp)
    loss.backward()
    optimizer.step()
    apply_max_norm(model, max_norm)
    return loss.detach()


@torch.no_grad()
def evaluate(model, h5_path, split="valid", device="cpu", amp=None, batch_size=1024) -> dict:
    """Loss and per-target AUROC of ``model`` on a split, streamed in file order (not loaded at once).

    Returns ``{"loss": float (summed BCE per sequence), "auroc": (T,) float64 (NaN where a target has one
    class), "mean_auroc": float (nanmean), "n": int}``.
    """
    net = _unwrap(model)
    was_training = net.training
    net.eval()
    device = torch.device(device)
    ds = H5Batches(h5_path, split, batch_size, shuffle=False)
    probs, ys, total = [], [], torch.zeros((), dtype=torch.float64, device=device)
    for codes, targets in ds:
        codes, targets = codes.to(device, non_blocking=True), targets.to(device, non_blocking=True)
        ctx = torch.autocast(device.type, dtype=amp) if amp is not None else nullcontext()
        with ctx:
            logits = net(one_hot(codes))
        logits = logits.float()
        total += F.binary_cross_entropy_with_logits(logits, targets.float(), reduction="sum").double()
        probs.append(torch.sigmoid(logits).cpu())
        ys.append(targets.cpu())
    net.train(was_training)
    n = sum(p.shape[0] for p in probs)
    if n == 0:
        return {"loss": float("nan"), "auroc": np.full(net.n_targets, np.nan), "mean_auroc": float("nan"), "n": 0}
    per_target = auroc(torch.cat(ys).numpy(), torch.cat(probs).numpy())
    with np.errstate(all="ignore"):
        mean = float(np.nanmean(per_target)) if np.isfinite(per_target).any() else float("nan")
    return {"loss": float(total.item()) / n, "auroc": per_target, "mean_auroc": mean, "n": n}


# ------------------------------------------------------------------------------------ RNG and DDP
def _rng_state(device: torch.device) -> dict:
    np_state = np.random.get_state()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": [np_state[0], np_state[1].tolist(), int(np_state[2]), int(np_state[3]), float(np_state[4])],
        "python": _plain(random.getstate()),
    }
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _plain(obj):
    return [_plain(o) for o in obj] if isinstance(obj, (tuple, list)) else obj


def _tupled(obj):
    return tuple(_tupled(o) for o in obj) if isinstance(obj, list) else obj


def _set_rng_state(state: dict, device: torch.device) -> None:
    torch.set_rng_state(state["torch"])
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    random.setstate(_tupled(state["python"]))
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state_all(state["cuda"])


def _dist_env() -> tuple[int, int, int]:
    """``(rank, local_rank, world_size)`` from torchrun's environment (``(0, 0, 1)`` without it)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    return int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0")), world


def steps_per_epoch(ds: H5Batches, world_size: int, num_workers: int) -> int:
    """Full batches (of ``ds.batch_size`` rows) the *smallest* rank's shard yields this epoch (``drop_last``):
    every rank runs this many, so DDP's gradient all-reduces stay paired."""
    counts = []
    workers = max(1, num_workers)
    for rank in range(world_size):
        total = 0
        for w in range(workers):
            blocks = ds.blocks(rank * workers + w, world_size * workers)
            rows = int(sum(min(ds.block_rows, ds.n_rows - int(b) * ds.block_rows) for b in blocks))
            total += rows // ds.batch_size
        counts.append(total)
    return min(counts)


# -------------------------------------------------------------------------------------------- train
HISTORY_COLUMNS = ("epoch", "train_loss", "valid_loss", "valid_auroc", "seconds", "lr", "best")


def _write_history(path: Path, history: list[dict]) -> None:
    lines = ["\t".join(HISTORY_COLUMNS)]
    for row in history:
        lines.append("\t".join(_fmt(row[c]) for c in HISTORY_COLUMNS))
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n")


def _fmt(v) -> str:
    if isinstance(v, bool):
        return str(int(v))
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def train(
    h5_path, outdir, model_config: dict, options: dict | None = None, resume: bool = True, progress: bool = True
) -> dict:
    """Train on ``h5_path``'s train split, early-stopping on mean validation AUROC; files in ``outdir``.

    ``model_config``: an architecture dict (:func:`basset.models.model_config`; its ``seq_len`` must equal
    the dataset's); ``options``: see :data:`TRAIN_DEFAULTS`. With ``resume`` an existing
    ``outdir/checkpoint.pt`` is continued (a run that stopped early returns at once; one that reached
    ``max_epochs`` continues up to a larger ``max_epochs``). Returns a summary
    dict: ``best_epoch`` (0-based), ``best_valid_auroc``, ``epochs`` (epochs completed in total),
    ``stopped_early``, ``finished``, ``seconds`` (this call), ``history`` (list of row dicts), ``model``
    and ``history_path``/``checkpoint_path`` (paths as str). Every call ends (on rank 0) with ``model.pt``
    holding the best epoch's weights, also a resumed call that has nothing left to train. A full disk
    raises :class:`basset.fileio.DiskFullError` naming the file that could not be written.
    """
    cfg = _validated_model_config(model_config)
    opts = train_options(options)
    outdir = Path(outdir)
    info = dataset_info(h5_path)
    if info["seq_length"] != cfg["seq_len"]:
        raise ConfigError(
            "model.seq_len", f"is {cfg['seq_len']} bp but {h5_path} holds {info['seq_length']} bp sequences"
        )
    if info["n_sites"].get("train", 0) < opts["batch_size"]:
        raise ConfigError(
            "train.batch_size",
            f"{opts['batch_size']} is more than the {info['n_sites'].get('train', 0)} training sites of {h5_path}",
        )

    rank, local_rank, world = _dist_env()
    distributed = world > 1
    device = resolve_device(opts["device"], local_rank if distributed else None)
    own_group = distributed and not torch.distributed.is_initialized()
    if own_group:
        torch.distributed.init_process_group(
            "nccl" if device.type == "cuda" else "gloo", device_id=device if device.type == "cuda" else None
        )
    if device.type == "cuda":
        torch.cuda.set_device(device)
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    amp = amp_dtype(opts["amp"], device)
    workers = opts["num_workers"]
    if workers == "auto":
        workers = 4 if device.type == "cuda" else 0
    seed = int(opts["seed"])
    is_main = rank == 0
    if is_main:
        outdir.mkdir(parents=True, exist_ok=True)
    ckpt_path, model_path, hist_path = outdir / "checkpoint.pt", outdir / "model.pt", outdir / "history.tsv"

    torch.manual_seed(seed)
    model = build_model(cfg, info["n_targets"]).to(device)
    if distributed and device.type == "cuda":  # PyTorch's SyncBatchNorm refuses CPU tensors
        model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    optimizer = make_optimizer(model, opts)
    history: list[dict] = []
    start_epoch, best, best_epoch, bad_epochs, stopped_early = 0, -math.inf, -1, 0, False
    best_state, best_meta = None, None  # the best epoch's weights (CPU) and its model.pt entries
    ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=True) if resume and ckpt_path.exists() else None
    if ckpt is not None and _stale(ckpt, cfg, info["n_targets"], opts):
        log.warning("%s was made with another model, dataset or optimiser settings: starting over", ckpt_path)
        ckpt = None
    if ckpt is not None:  # RNG states were loaded onto the CPU, where they must stay
        model.load_state_dict(ckpt["state_dict"])
        optimizer.load_state_dict(ckpt["optimizer"])
        start_epoch = int(ckpt["epoch"]) + 1
        best, best_epoch, bad_epochs = float(ckpt["best"]), int(ckpt["best_epoch"]), int(ckpt["bad_epochs"])
        history, stopped_early = list(ckpt["history"]), bool(ckpt.get("stopped_early", False))
        best_state, best_meta = ckpt.get("best_state"), ckpt.get("best_meta")
        _set_rng_state(ckpt["rng"], device)
        log.info(
            "resuming %s after epoch %d (best mean valid AUROC %.4f at epoch %d)",
            ckpt_path,
            start_epoch - 1,
            best,
            best_epoch,
        )
    elif is_main and ckpt_path.exists():
        log.info("resume=False: starting over (replacing %s)", ckpt_path)
    if distributed and rank > 0:
        torch.manual_seed(seed + 1000003 * rank + start_epoch)  # rank-specific dropout masks

    net = model
    if distributed:
        net = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )
    ds = H5Batches(
        h5_path,
        "train",
        opts["batch_size"] * opts["loader_chunk"],
        True,
        seed,
        0,
        opts["block_rows"],
        opts["buffer_blocks"],
        distributed,
        rank,
        world,
    )
    loader = torch.utils.data.DataLoader(ds, batch_size=None, num_workers=workers, pin_memory=device.type == "cuda")
    log.info(
        "training on %s (%s, amp %s, %d worker(s), world size %d): %d train / %d valid sites, %d targets, %d parameters",
        device,
        opts["optimizer"],
        amp,
        workers,
        world,
        info["n_sites"]["train"],
        info["n_sites"].get("valid", 0),
        info["n_targets"],
        sum(p.numel() for p in model.parameters()),
    )

    t_call = time.perf_counter()
    epoch, ran = start_epoch, 0
    while not stopped_early and epoch < opts["max_epochs"]:
        if opts["stop_after_epochs"] is not None and ran >= int(opts["stop_after_epochs"]):
            break
        t0 = time.perf_counter()
        net.train()
        ds.set_epoch(epoch)
        n_steps = steps_per_epoch(ds, world, workers) * opts["loader_chunk"] if distributed else None
        cap = opts["max_train_batches"]
        if cap is not None:
            n_steps = int(cap) if n_steps is None else min(n_steps, int(cap))
        expected = n_steps if n_steps is not None else math.ceil(ds.n_rows / opts["batch_size"])
        rc_gen = torch.Generator().manual_seed(_seed_for(seed, epoch, rank)) if opts["rc_augment"] else None
        total = torch.zeros((), device=device)
        steps = 0
        bar = progress_bar(expected, progress and is_main, f"epoch {epoch}", "batch")
        for codes, targets in device_batches(loader, device, opts["batch_size"]):
            if n_steps is not None and steps >= n_steps:
                break
            flip = torch.rand(codes.shape[0], generator=rc_gen) < 0.5 if rc_gen is not None else None
            total += train_step(net, optimizer, codes, targets, device, amp, opts["max_norm"], flip)
            steps += 1
            bar.update(1)
            if progress and is_main and steps % 50 == 0:
                bar.set_postfix(loss=f"{total.item() / steps:.4f}")
        bar.close()
        train_loss = total.item() / max(steps, 1)

        stop = torch.zeros(1, dtype=torch.int64)
        if is_main:
            val = evaluate(model, h5_path, "valid", device, amp, opts["valid_batch_size"])
            metric = val["mean_auroc"] if math.isfinite(val["mean_auroc"]) else -math.inf
            improved = best_epoch < 0 or metric > best
            if improved:
                best, best_epoch, bad_epochs = metric, epoch, 0
            else:
                bad_epochs += 1
            seconds = time.perf_counter() - t0
            history.append(
                {
                    "epoch": epoch,
                    "train_loss": train_loss,
                    "valid_loss": val["loss"],
                    "valid_auroc": val["mean_auroc"],
                    "seconds": round(seconds, 3),
                    "lr": optimizer.param_groups[0]["lr"],
                    "best": improved,
                }
            )
            stopped_early = bad_epochs >= opts["patience"] and epoch + 1 >= opts["min_epochs"]
            if improved:
                best_state = cpu_state(model)
                best_meta = {
                    "epoch": epoch,
                    "valid_auroc": val["mean_auroc"],
                    "valid_loss": val["loss"],
                    "train_options": _plain_opts(opts),
                }
                save_model(model_path, model, info["target_names"], best_meta, state=best_state)
            atomic_save(
                {
                    "state_dict": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "config": cfg,
                    "n_targets": info["n_targets"],
                    "epoch": epoch,
                    "best": best,
                    "best_epoch": best_epoch,
                    "bad_epochs": bad_epochs,
                    "history": history,
                    "stopped_early": stopped_early,
                    "best_state": best_state,
                    "best_meta": best_meta,
                    "options": _plain_opts(opts),
                    "rng": _rng_state(device),
                },
                ckpt_path,
            )
            _write_history(hist_path, history)
            log.info(
                "epoch %d: train loss %.4f, valid loss %.4f, valid mean AUROC %.4f%s (%.1f s, %d steps)",
                epoch,
                train_loss,
                val["loss"],
                val["mean_auroc"],
                " *best*" if improved else "",
                seconds,
                steps,
            )
            stop[0] = int(stopped_early)
        if distributed:
            torch.distributed.broadcast(stop, src=0)
            torch.distributed.barrier()
            stopped_early = bool(stop.item())
        epoch += 1
        ran += 1

    if own_group:
        torch.distributed.destroy_process_group()
    if is_main:
        _restore_best_model(model_path, model, info["target_names"], best_state, best_meta)
    if stopped_early and is_main:
        log.info(
            "early stopping: no better mean valid AUROC for %d epochs (best %.4f at epoch %d)",
            bad_epochs,
            best,
            best_epoch,
        )
    return {
        "best_epoch": best_epoch,
        "best_valid_auroc": best,
        "epochs": len(history) if is_main else epoch,
        "stopped_early": stopped_early,
        "finished": stopped_early or epoch >= opts["max_epochs"],
        "seconds": time.perf_counter() - t_call,
        "history": history,
        "model": str(model_path),
        "history_path": str(hist_path),
        "checkpoint_path": str(ckpt_path),
    }


def _holds_weights(path: Path, state: dict, epoch: int) -> bool:
    """True when the model file ``path`` holds exactly the weights ``state`` of epoch ``epoch``.

    A missing or unreadable file holds nothing.
    """
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - missing, truncated or foreign: it will be rewritten
        return False
    weights = saved.get("state_dict") if isinstance(saved, dict) else None
    if not isinstance(weights, dict) or saved.get("epoch") != epoch or weights.keys() != state.keys():
        return False
    return all(torch.equal(weights[k], state[k]) for k in state)


def _restore_best_model(path: Path, model: torch.nn.Module, target_names, state: dict | None,
                        meta: dict | None) -> bool:
    """Write ``model.pt`` from the best epoch's weights unless it already holds them.

    Snakemake deletes the outputs of a killed job, and a resumed run that never beats its best epoch again
    would otherwise never write ``model.pt``; so every :func:`train` call ends here (rank 0).

    Parameters
    ----------
    path : Path
        The model file (``outdir/model.pt``).
    model : torch.nn.Module
        The trained network (any epoch): its architecture and config are copied, not its weights.
    target_names : sequence of str
        ``(T,)`` names written into the file.
    state : dict or None
        The best epoch's state dict ``{name: tensor}`` (CPU); ``None`` when no epoch has been validated or
        the checkpoint predates this record.
    meta : dict or None
        The best epoch's extra entries of the model file (``epoch``, ``valid_auroc``, ``valid_loss``,
        ``train_options``).

    Returns
    -------
    bool
        True when the file was (re)written.
    """
    if state is None:
        if not path.exists() and path.with_name("checkpoint.pt").exists():
            log.warning("%s is missing and the checkpoint has no best weights: rerun with a restart", path)
        return False
    if _holds_weights(path, state, meta["epoch"]):
        return False
    save_model(path, model, target_names, meta, state=state)
    log.info("wrote %s from the best epoch's weights (epoch %d)", path, meta["epoch"])
    return True


def _seed_for(*keys: int) -> int:
    """A 63-bit seed derived from integers (same keys -> same seed, in any process)."""
    return int(np.random.SeedSequence([int(k) for k in keys]).generate_state(2, np.uint64)[0] >> np.uint64(1))


def _validated_model_config(cfg: dict) -> dict:
    cfg = dict(cfg)
    preset = cfg.pop("preset", "basset")
    return _model_config(preset, **cfg)


# options that may change between an interrupted run and its resumption without making the checkpoint stale
_RESUMABLE = {"max_epochs", "patience", "min_epochs", "stop_after_epochs", "num_workers", "device", "amp",
              "valid_batch_size", "loader_chunk", "max_train_batches"}


def _stale(ckpt: dict, cfg: dict, n_targets: int, opts: dict) -> bool:
    """True when a checkpoint cannot be continued with this model config, target count and options."""
    if ckpt["config"] != cfg or ckpt["n_targets"] != n_targets:
        return True
    old = {k: v for k, v in ckpt.get("options", {}).items() if k not in _RESUMABLE}
    new = {k: v for k, v in _plain_opts(opts).items() if k not in _RESUMABLE}
    return old != new


def _plain_opts(opts: dict) -> dict:
    return {k: (v if isinstance(v, (int, float, str, bool)) or v is None else str(v)) for k, v in opts.items()}




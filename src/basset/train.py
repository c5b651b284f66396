"""Training: the step, one epoch, validation, early stopping, checkpoints with exact resume, and DDP.

:func:`train` fits a :class:`basset.models.BassetNet` on the ``train`` split of an HDF5 dataset
(:mod:`basset.dataset`), validating on ``valid`` after every epoch. It writes into ``outdir`` (file names from
:data:`basset.layout.STAGES` ``["train"]``)::

    history.tsv     one row per epoch: epoch, train_loss, valid_loss, valid_auroc (a coverage model: valid_r),
                    seconds, lr, best
    checkpoint.pt   latest state (model, optimizer, epoch, best metric, patience counter, history, RNG
                    states of torch/numpy/python/cuda) and the best epoch's weights and model.pt entries
                    (``best_state``, ``best_meta``); written atomically after every epoch
    model.pt        the best epoch so far (highest mean validation AUROC, or for a coverage model mean Pearson r of
                    log(1 + coverage)), :func:`basset.models.save_model`;
                    every call ends by rewriting it from ``best_state`` when it is missing or differs (a
                    killed Snakemake job loses its outputs, and a resumed run may never improve again)

Both ``.pt`` files hold only tensors and plain types: ``torch.load(path, weights_only=True)`` reads them.

:func:`train` is :func:`set_up` (model, optimiser, device, process group), :func:`resume_run` (the checkpoint),
:func:`open_loader` and, per epoch, :func:`run_epoch` (the training steps, also used by :mod:`basset.transfer`)
and :func:`end_epoch` (validation, early stopping, files). Options are the config's ``train`` section (defaults in
the schema, :func:`train_options`); settings that no config sets (loader blocks, step caps) are keyword arguments.
Our own loop rather than a trainer library (Lightning, Ignite): bitwise exact resume needs every RNG state and the
data order in the checkpoint, and DDP ranks must run equal step counts over disjoint HDF5 blocks.

Loss: binary cross-entropy with logits, **summed over targets and averaged over the batch** (the paper's
summed BCE), see :func:`loss_fn`; for a coverage model (``objective`` ``"poisson"``, :class:`basset.models.BasenjiNet`)
the Poisson negative log-likelihood of the counts, averaged over batch, bins and tracks (:func:`poisson_loss`, as
Basenji), against the dataset bins the model predicts (:func:`basset.models.centre_bins`). Reverse-complement
augmentation reverses a coverage target's bins with its sequence. Sequences stay ``(B, L) uint8`` codes until the
device, where :func:`basset.sequence.one_hot` encodes them.

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
import pickle
import random
import re
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from . import layout, presets
from .config import with_defaults
from .dataset import Dataset, H5Batches
from .device import resolve_device
from .errors import ConfigError, InputError
from .fileio import atomic_path
from .logs import progress_bar
from .metrics import PearsonStream, auroc
from .models import (
    apply_max_norm,
    atomic_save,
    build_model,
    centre_bins,
    cpu_state,
    eval_mode,
    save_model,
    unwrap,
)
from .sequence import one_hot, reverse_complement

log = logging.getLogger("basset.train")

HISTORY_COLUMNS = ("epoch", "train_loss", "valid_loss", "valid_auroc", "seconds", "lr", "best")
#: a model's objective -> (its validation metric's history column and model.pt key, its name in the log)
METRIC = {"binary": ("valid_auroc", "mean valid AUROC"), "poisson": ("valid_r", "mean valid r of log coverage")}


def objective(model: torch.nn.Module) -> str:
    """``"binary"`` (a classifier of whole sequences) or ``"poisson"`` (a coverage model)."""
    return getattr(unwrap(model), "objective", "binary")


def history_columns(kind: str = "binary") -> tuple[str, ...]:
    """The columns of history.tsv for a model of objective ``kind``."""
    return tuple(METRIC[kind][0] if c == "valid_auroc" else c for c in HISTORY_COLUMNS)


# ------------------------------------------------------------------------------------------ options
def train_options(options: dict | None = None) -> dict:
    """The config's ``train`` section: ``options`` over the schema's defaults (``None`` values mean "default");
    unknown keys and bad values raise :class:`ConfigError` naming ``train.<key>``."""
    opts = with_defaults("train", options)
    if opts["optimizer"] not in ("rmsprop", "adam"):
        raise ConfigError("train.optimizer", f"expected 'rmsprop' or 'adam', got {opts['optimizer']!r}")
    for key in ("batch_size", "max_epochs"):
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


def seed_for(*keys: int) -> int:
    """A 63-bit seed derived from integers (same keys -> same seed, in any process)."""
    return int(np.random.SeedSequence([int(k) for k in keys]).generate_state(2, np.uint64)[0] >> np.uint64(1))


# --------------------------------------------------------------------------------------------- step
def poisson_loss(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Poisson negative log-likelihood of counts ``target`` under rates ``pred`` (same shape, ``pred >= 0``),
    without the ``log(target!)`` term and averaged over every element: ``mean(pred - target log(pred + eps))``,
    torch's ``PoissonNLLLoss(log_input=False)`` (the tests check it)."""
    pred, target = pred.float(), target.float()
    return (pred - target * torch.log(pred + eps)).mean()


def loss_fn(model: torch.nn.Module, codes: torch.Tensor, targets: torch.Tensor, amp=None) -> torch.Tensor:
    """The training loss of ``model`` on ``(B, L) uint8`` codes: for a classifier the summed-over-targets,
    batch-mean BCE against ``(B, T)`` 0/1 targets (nats per sequence); for a coverage model :func:`poisson_loss`
    against ``(B, bins, T)`` counts, cropped to the bins it predicts.

    Codes and targets must already be on the model's device; one-hot encoding happens here. ``amp``: an
    autocast dtype (``torch.bfloat16``) or ``None``. Returns a scalar float32 tensor.
    """
    x = one_hot(codes)
    ctx = torch.autocast(codes.device.type, dtype=amp) if amp is not None else nullcontext()
    with ctx:
        out = model(x)
    if objective(model) == "poisson":
        return poisson_loss(out, centre_bins(targets, unwrap(model).config))
    loss = F.binary_cross_entropy_with_logits(out.float(), targets.float(), reduction="sum")
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

    ``codes (B, L) uint8`` and ``targets (B, T) uint8`` (coverage: ``(B, bins, T)``) may be on the CPU (pinned):
    they are moved with ``non_blocking=True``. ``flip (B,) bool``: rows to reverse-complement (augmentation); a
    coverage target's bins are reversed with them.
    """
    codes = codes.to(device, non_blocking=True)
    targets = targets.to(device, non_blocking=True)
    if flip is not None:
        flip = flip.to(device, non_blocking=True)
        codes = torch.where(flip[:, None], reverse_complement(codes), codes)
        if targets.dim() == 3:
            targets = torch.where(flip[:, None, None], targets.flip(1), targets)
    optimizer.zero_grad(set_to_none=True)
    loss = loss_fn(model, codes, targets, amp)
    loss.backward()
    optimizer.step()
    apply_max_norm(model, max_norm)
    return loss.detach()


def run_epoch(net, optimizer, batches, device, amp=None, max_norm=None, rc_gen: torch.Generator | None = None,
              max_steps: int | None = None, bar=None) -> tuple[float, int]:
    """Train ``net`` (train mode) with one :func:`train_step` per batch of ``batches``; returns ``(mean loss,
    steps)``.

    Parameters
    ----------
    batches : iterable of (codes (B, L) uint8, targets (B, T) uint8)
        On the device or the CPU (:func:`device_batches` of a loader, or in-memory batches).
    rc_gen : torch.Generator, optional
        Reverse-complement augmentation: each row is flipped with probability 1/2, drawn from ``rc_gen`` (on the
        CPU) before its step; ``None``: no augmentation.
    max_steps : int, optional
        Stop after this many steps (DDP ranks in step, test caps).
    bar : tqdm, optional
        Advanced by one per step; the running loss is shown every 50 steps.
    """
    net.train()
    total = torch.zeros((), device=device)
    steps = 0
    for codes, targets in batches:
        if max_steps is not None and steps >= max_steps:
            break
        flip = torch.rand(codes.shape[0], generator=rc_gen) < 0.5 if rc_gen is not None else None
        total += train_step(net, optimizer, codes, targets, device, amp, max_norm, flip)
        steps += 1
        if bar is not None:
            bar.update(1)
            if steps % 50 == 0:
                bar.set_postfix(loss=f"{total.item() / steps:.4f}")
    return total.item() / max(steps, 1), steps


@torch.no_grad()
def evaluate(model, h5_path, split="valid", device="cpu", amp=None, batch_size=1024) -> dict:
    """Loss and per-target AUROC of ``model`` on a split, streamed in file order (not loaded at once).

    Returns ``{"loss": float (summed BCE per sequence), "auroc": (T,) float64 (NaN where a target has one
    class), "mean_auroc": float (nanmean), "n": int}``; for a coverage model :func:`evaluate_coverage`'s dict.
    """
    net = unwrap(model)
    device = torch.device(device)
    if objective(net) == "poisson":
        return evaluate_coverage(net, h5_path, split, device, amp, batch_size)
    probs, ys, total = [], [], torch.zeros((), dtype=torch.float64, device=device)
    with eval_mode(net):
        for codes, targets in Dataset(h5_path).batches(split, batch_size):
            codes, targets = codes.to(device, non_blocking=True), targets.to(device, non_blocking=True)
            ctx = torch.autocast(device.type, dtype=amp) if amp is not None else nullcontext()
            with ctx:
                logits = net(one_hot(codes))
            logits = logits.float()
            total += F.binary_cross_entropy_with_logits(logits, targets.float(), reduction="sum").double()
            probs.append(torch.sigmoid(logits).cpu())
            ys.append(targets.cpu())
    n = sum(p.shape[0] for p in probs)
    if n == 0:
        return {"loss": float("nan"), "auroc": np.full(net.n_targets, np.nan), "mean_auroc": float("nan"), "n": 0}
    per_target = auroc(torch.cat(ys).numpy(), torch.cat(probs).numpy())
    with np.errstate(all="ignore"):
        mean = float(np.nanmean(per_target)) if np.isfinite(per_target).any() else float("nan")
    return {"loss": float(total.item()) / n, "auroc": per_target, "mean_auroc": mean, "n": n}


@torch.no_grad()
def evaluate_coverage(model, h5_path, split="valid", device="cpu", amp=None, batch_size=64) -> dict:
    """Poisson loss and per-track Pearson r of ``log(1 + coverage)`` (predicted against observed, over every bin
    the model predicts of every window of the split: Basenji's test statistic), streamed in file order.

    Returns ``{"loss": float (mean Poisson NLL per bin and track), "r": (T,) float64 (NaN for a track without
    variance), "mean_r": float (nanmean), "n": int (windows), "observed_sums", "predicted_sums": (n, T) float64
    (each window's coverage summed over the predicted bins, in file order), "r_sum": (T,) float64 (Pearson r of
    those sums across windows)}``.
    """
    net = unwrap(model)
    device = torch.device(device)
    stream, total, n = PearsonStream(net.n_targets), 0.0, 0
    sums: list[tuple[np.ndarray, np.ndarray]] = []
    with eval_mode(net):
        for codes, targets in Dataset(h5_path).batches(split, batch_size):
            codes = codes.to(device, non_blocking=True)
            y = centre_bins(targets.to(device, non_blocking=True), net.config).float()
            ctx = torch.autocast(device.type, dtype=amp) if amp is not None else nullcontext()
            with ctx:
                pred = net(one_hot(codes)).float()
            total += float(poisson_loss(pred, y)) * codes.shape[0]
            n += codes.shape[0]
            T = y.shape[-1]
            stream.add(torch.log1p(pred).reshape(-1, T).cpu().numpy(), torch.log1p(y).reshape(-1, T).cpu().numpy())
            sums.append((y.sum(1).double().cpu().numpy(), pred.sum(1).double().cpu().numpy()))
    r = stream.r()
    observed = np.concatenate([o for o, _ in sums]) if sums else np.zeros((0, net.n_targets))
    predicted = np.concatenate([p for _, p in sums]) if sums else np.zeros((0, net.n_targets))
    by_sum = PearsonStream(net.n_targets)
    by_sum.add(predicted, observed)
    with np.errstate(all="ignore"):
        mean = float(np.nanmean(r)) if np.isfinite(r).any() else float("nan")
    return {"loss": total / n if n else float("nan"), "r": r, "mean_r": mean, "n": n, "observed_sums": observed,
            "predicted_sums": predicted, "r_sum": by_sum.r()}


def validation_metric(val: dict) -> float:
    """The number early stopping maximises: mean AUROC, or a coverage model's mean r."""
    return val["mean_auroc"] if "mean_auroc" in val else val["mean_r"]


# ------------------------------------------------------------------------------------ RNG and DDP
def _rng_state(device: torch.device) -> dict:
    np_state = np.random.get_state()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": [np_state[0], np_state[1].tolist(), int(np_state[2]), int(np_state[3]), float(np_state[4])],
        "python": random.getstate(),  # tuples: torch.load(weights_only=True) reads them
    }
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _tupled(obj):  # checkpoints written before 2026-12 hold the Python state as lists
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


# -------------------------------------------------------------------------------------------- train
@dataclass
class Run:
    """What :func:`set_up` prepares for one :func:`train` call on this process (one DDP rank)."""

    h5_path: str
    outdir: Path
    cfg: dict  # the architecture
    opts: dict  # train options and the call's settings (seed, loader, caps), recorded in the files
    info: dict  # dataset_info of h5_path
    device: torch.device
    amp: torch.dtype | None
    workers: int
    rank: int
    world: int
    own_group: bool  # this call started the process group (and ends it)
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    net: torch.nn.Module | None = None  # the model, or its DDP wrapper
    batches: H5Batches | None = None
    loader: torch.utils.data.DataLoader | None = None

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world > 1

    def path(self, key: str) -> Path:
        """``outdir`` / the train stage's file ``key`` (``model``, ``history``, ``checkpoint``)."""
        return self.outdir / layout.name("train", key)


@dataclass
class Record:
    """Where training stands: the next epoch, early stopping, the history and the best epoch's weights."""

    epoch: int = 0  # the next epoch to run
    best: float = -math.inf
    best_epoch: int = -1
    bad_epochs: int = 0
    stopped_early: bool = False
    history: list = field(default_factory=list)
    best_state: dict | None = None  # the best epoch's weights (CPU)
    best_meta: dict | None = None  # and its model.pt entries


def set_up(h5_path, outdir, model_config: dict, opts: dict) -> Run:
    """Check the dataset against the model and options, join the process group under torchrun, and build the
    model (seeded with ``opts["seed"]``) and optimiser on the device."""
    cfg = _validated_model_config(model_config)
    info = Dataset(h5_path).info()
    # the paper's N (0.25 in each channel): a property of the model, kept in model.pt for every later use
    cfg["n_fill"] = 0.25 if info.get("n_handling") == "uniform" else cfg["n_fill"]
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
    device = resolve_device(opts["device"], local_rank if world > 1 else None)
    own_group = world > 1 and not torch.distributed.is_initialized()
    if own_group:
        torch.distributed.init_process_group(
            "nccl" if device.type == "cuda" else "gloo", device_id=device if device.type == "cuda" else None
        )
    if device.type == "cuda":
        torch.cuda.set_device(device)
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    workers = opts["num_workers"]
    if workers == "auto":
        workers = 4 if device.type == "cuda" else 0
    outdir = Path(outdir)
    if rank == 0:
        outdir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(int(opts["seed"]))
    model = build_model(cfg, info["n_targets"]).to(device)
    if world > 1 and device.type == "cuda":  # PyTorch's SyncBatchNorm refuses CPU tensors
        model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    return Run(str(h5_path), outdir, cfg, opts, info, device, amp_dtype(opts["amp"], device), workers, rank, world,
               own_group, model, make_optimizer(model, opts))


def _load_checkpoint(path: Path) -> dict:
    """A checkpoint's contents, loaded with ``weights_only`` (tensors and plain values; never code). A file that
    holds other pickled objects, or is not a checkpoint, raises :class:`InputError` saying how to start over."""
    start_over = "delete it (or run basset train with --restart) to start over"
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError) as err:
        found = re.search(r"unsupported GLOBAL (\S+)", str(err))
        if found:
            raise InputError(path, f"holds pickled Python objects ({found.group(1)}) besides tensors and plain "
                                   f"values, which are not loaded (a checkpoint from another program?): {start_over}"
                             ) from err
        raise InputError(path, f"is not a readable checkpoint (not a PyTorch file, or a damaged one): {start_over}"
                         ) from err
    if not isinstance(ckpt, dict) or not {"state_dict", "optimizer", "epoch", "config", "n_targets"} <= ckpt.keys():
        raise InputError(path, f"is not a basset training checkpoint: {start_over}")
    return ckpt


def resume_run(run: Run, enabled: bool = True) -> Record:
    """The :class:`Record` to continue from: the checkpoint's when ``enabled`` and one made with the same model,
    dataset and optimiser settings exists (model, optimiser and RNG states are restored), else a fresh one."""
    ckpt_path = run.path("checkpoint")
    ckpt = _load_checkpoint(ckpt_path) if enabled and ckpt_path.exists() else None
    if ckpt is not None and _stale(ckpt, run.cfg, run.info["n_targets"], run.opts):
        log.warning("%s was made with another model, dataset or optimiser settings: starting over", ckpt_path)
        ckpt = None
    record = Record()
    if ckpt is not None:  # RNG states were loaded onto the CPU, where they must stay
        run.model.load_state_dict(ckpt["state_dict"])
        run.optimizer.load_state_dict(ckpt["optimizer"])
        record = Record(int(ckpt["epoch"]) + 1, float(ckpt["best"]), int(ckpt["best_epoch"]), int(ckpt["bad_epochs"]),
                        bool(ckpt.get("stopped_early", False)), list(ckpt["history"]), ckpt.get("best_state"),
                        ckpt.get("best_meta"))
        _set_rng_state(ckpt["rng"], run.device)
        log.info("resuming %s after epoch %d (best %s %.4f at epoch %d)", ckpt_path, record.epoch - 1,
                 METRIC[objective(run.model)][1], record.best, record.best_epoch)
    elif run.is_main and ckpt_path.exists():
        log.info("resume=False: starting over (replacing %s)", ckpt_path)
    if run.distributed and run.rank > 0:
        torch.manual_seed(int(run.opts["seed"]) + 1000003 * run.rank + record.epoch)  # rank-specific dropout masks
    return record


def open_loader(run: Run) -> None:
    """Wrap the model for DDP (under torchrun) and open the training split's loader (``run.net``,
    ``run.batches``, ``run.loader``): chunks of ``loader_chunk`` batches, this rank's shard of the blocks. A shard's
    last chunk may be partial (no ``drop_last``): under DDP :func:`train_epoch` caps the steps instead."""
    opts = run.opts
    run.net = run.model
    if run.distributed:
        run.net = torch.nn.parallel.DistributedDataParallel(
            run.model, device_ids=[run.device.index] if run.device.type == "cuda" else None
        )
    run.batches = H5Batches(run.h5_path, "train", opts["batch_size"] * opts["loader_chunk"], True, int(opts["seed"]),
                            0, opts["block_rows"], opts["buffer_blocks"], False, run.rank, run.world)
    run.loader = torch.utils.data.DataLoader(run.batches, batch_size=None, num_workers=run.workers,
                                             pin_memory=run.device.type == "cuda")
    log.info(
        "training on %s (%s, amp %s, %d worker(s), world size %d): %d train / %d valid sites, %d targets, "
        "%d parameters", run.device, opts["optimizer"], run.amp, run.workers, run.world,
        run.info["n_sites"]["train"], run.info["n_sites"].get("valid", 0), run.info["n_targets"],
        sum(p.numel() for p in run.model.parameters()),
    )


def train_epoch(run: Run, epoch: int, progress: bool = True) -> tuple[float, int]:
    """:func:`run_epoch` over epoch ``epoch``'s shuffled training batches (DDP: the step count all ranks share;
    ``max_train_batches``: a cap); returns ``(mean loss, steps)``."""
    opts = run.opts
    run.batches.set_epoch(epoch)
    # every DDP rank runs the full batches of the smallest shard (counted in batches, not loader chunks: a shard's
    # last chunk may be partial, and counting whole chunks dropped up to a chunk of rows per rank)
    n_steps = run.batches.shared_batches(run.workers, opts["batch_size"]) if run.distributed else None
    if opts["max_train_batches"] is not None:
        cap = int(opts["max_train_batches"])
        n_steps = cap if n_steps is None else min(n_steps, cap)
    expected = n_steps if n_steps is not None else math.ceil(run.batches.n_rows / opts["batch_size"])
    rc_gen = torch.Generator().manual_seed(seed_for(opts["seed"], epoch, run.rank)) if opts["rc_augment"] else None
    bar = progress_bar(expected, True, f"epoch {epoch}", "batch") if progress and run.is_main else None
    loss, steps = run_epoch(run.net, run.optimizer, device_batches(run.loader, run.device, opts["batch_size"]),
                            run.device, run.amp, opts["max_norm"], rc_gen, n_steps, bar)
    if bar is not None:
        bar.close()
    return loss, steps


def end_epoch(run: Run, record: Record, train_loss: float, steps: int, t0: float) -> None:
    """After epoch ``record.epoch``: rank 0 validates, updates ``record`` (early stopping) and writes model.pt
    (when better), the checkpoint and the history; under DDP its stop decision is broadcast. ``t0``: the
    epoch's start (``time.perf_counter``)."""
    stop = torch.zeros(1, dtype=torch.int64)
    if run.is_main:
        val = evaluate(run.model, run.h5_path, "valid", run.device, run.amp, run.opts["valid_batch_size"])
        improved = _update(record, val, run.opts)
        seconds = time.perf_counter() - t0
        column, label = METRIC[objective(run.model)]
        metric = validation_metric(val)
        record.history.append({"epoch": record.epoch, "train_loss": train_loss, "valid_loss": val["loss"],
                               column: metric, "seconds": round(seconds, 3),
                               "lr": run.optimizer.param_groups[0]["lr"], "best": improved})
        if improved:
            record.best_state = cpu_state(run.model)
            record.best_meta = {"epoch": record.epoch, column: metric, "valid_loss": val["loss"],
                                "train_options": _plain_opts(run.opts)}
            save_model(run.path("model"), run.model, run.info["target_names"], record.best_meta,
                       state=record.best_state)
        atomic_save(_checkpoint(run, record), run.path("checkpoint"))
        _write_history(run.path("history"), record.history, history_columns(objective(run.model)))
        log.info("epoch %d: train loss %.4f, valid loss %.4f, %s %.4f%s (%.1f s, %d steps)",
                 record.epoch, train_loss, val["loss"], label, metric, " *best*" if improved else "", seconds,
                 steps)
        stop[0] = int(record.stopped_early)
    if run.distributed:
        torch.distributed.broadcast(stop, src=0)
        torch.distributed.barrier()
        record.stopped_early = bool(stop.item())
    record.epoch += 1


def _update(record: Record, val: dict, opts: dict) -> bool:
    """Early stopping after epoch ``record.epoch`` validated as ``val``; True when it is the best so far."""
    metric = validation_metric(val)
    metric = metric if math.isfinite(metric) else -math.inf
    improved = record.best_epoch < 0 or metric > record.best
    if improved:
        record.best, record.best_epoch, record.bad_epochs = metric, record.epoch, 0
    else:
        record.bad_epochs += 1
    record.stopped_early = record.bad_epochs >= opts["patience"] and record.epoch + 1 >= opts["min_epochs"]
    return improved


def _checkpoint(run: Run, record: Record) -> dict:
    """The checkpoint after epoch ``record.epoch`` (plain types and tensors only)."""
    return {"state_dict": run.model.state_dict(), "optimizer": run.optimizer.state_dict(), "config": run.cfg,
            "n_targets": run.info["n_targets"], "epoch": record.epoch, "best": record.best,
            "best_epoch": record.best_epoch, "bad_epochs": record.bad_epochs, "history": record.history,
            "stopped_early": record.stopped_early, "best_state": record.best_state, "best_meta": record.best_meta,
            "options": _plain_opts(run.opts), "rng": _rng_state(run.device)}


def train(h5_path, outdir, model_config: dict, options: dict | None = None, resume: bool = True,
          progress: bool = True, *, seed: int = 1, max_train_batches: int | None = None,
          stop_after_epochs: int | None = None, valid_batch_size: int = 1024, block_rows: int = 4096,
          buffer_blocks: int = 4, loader_chunk: int = 8) -> dict:
    """Train on ``h5_path``'s train split, early-stopping on mean validation AUROC (a coverage model: mean r of
    log coverage, :func:`evaluate_coverage`); files in ``outdir``.

    ``model_config``: an architecture dict (:func:`basset.models.model_config`; its ``seq_len`` must equal
    the dataset's); ``options``: the config's ``train`` section (:func:`train_options`); ``seed``: initialisation,
    data order, augmentation, dropout. With ``resume`` an existing ``outdir/checkpoint.pt`` is continued (a run
    that stopped early returns at once; one that reached ``max_epochs`` continues up to a larger ``max_epochs``).

    Settings that no config sets: ``max_train_batches`` caps the steps per epoch (tests, quick runs);
    ``stop_after_epochs`` ends this call after that many epochs *of this call* (simulates an interruption);
    ``valid_batch_size``: sequences per validation forward pass; the loader reads ``block_rows`` contiguous rows
    at a time, shuffles rows within ``buffer_blocks`` blocks and ``loader_chunk`` batches per read (one transfer
    to the device per chunk, sliced there).

    Returns a summary dict: ``best_epoch`` (0-based), ``best_valid_auroc`` (a coverage model: ``best_valid_r``),
    ``epochs`` (epochs completed in
    total), ``stopped_early``, ``finished``, ``seconds`` (this call), ``history`` (list of row dicts), ``model``
    and ``history_path``/``checkpoint_path`` (paths as str). Every call ends (on rank 0) with ``model.pt``
    holding the best epoch's weights, also a resumed call that has nothing left to train. A full disk raises
    :class:`basset.fileio.DiskFullError` naming the file that could not be written.
    """
    opts = {**train_options(options), "seed": int(seed), "max_train_batches": max_train_batches,
            "valid_batch_size": valid_batch_size, "block_rows": block_rows, "buffer_blocks": buffer_blocks,
            "loader_chunk": loader_chunk, "stop_after_epochs": stop_after_epochs}
    run = set_up(h5_path, outdir, model_config, opts)
    record = resume_run(run, resume)
    open_loader(run)
    t_call, ran = time.perf_counter(), 0
    while not record.stopped_early and record.epoch < opts["max_epochs"]:
        if stop_after_epochs is not None and ran >= int(stop_after_epochs):
            break
        t0 = time.perf_counter()
        train_loss, steps = train_epoch(run, record.epoch, progress)
        end_epoch(run, record, train_loss, steps, t0)
        ran += 1
    if run.own_group:
        torch.distributed.destroy_process_group()
    if run.is_main:
        _restore_best_model(run.path("model"), run.model, run.info["target_names"], record.best_state,
                            record.best_meta)
        if record.stopped_early:
            log.info("early stopping: no better %s for %d epochs (best %.4f at epoch %d)",
                     METRIC[objective(run.model)][1], record.bad_epochs, record.best, record.best_epoch)
    best_key = "best_" + METRIC[objective(run.model)][0]
    return {"best_epoch": record.best_epoch, best_key: record.best,
            "epochs": len(record.history) if run.is_main else record.epoch, "stopped_early": record.stopped_early,
            "finished": record.stopped_early or record.epoch >= opts["max_epochs"],
            "seconds": time.perf_counter() - t_call, "history": record.history, "model": str(run.path("model")),
            "history_path": str(run.path("history")), "checkpoint_path": str(run.path("checkpoint"))}


# -------------------------------------------------------------------------------------------- files
def _write_history(path: Path, history: list[dict], columns=HISTORY_COLUMNS) -> None:
    lines = ["\t".join(columns)]
    for row in history:
        lines.append("\t".join(_fmt(row[c]) for c in columns))
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n")


def _fmt(v) -> str:
    if isinstance(v, bool):
        return str(int(v))
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


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
    """Write ``model.pt`` (``path``) from the best epoch's weights ``state`` (CPU state dict, or ``None`` when no
    epoch has been validated) and model-file entries ``meta`` unless it already holds them; ``model`` gives only
    the architecture. Returns True when the file was (re)written.

    Snakemake deletes the outputs of a killed job, and a resumed run that never beats its best epoch again
    would otherwise never write ``model.pt``; so every :func:`train` call ends here (rank 0).
    """
    if state is None:
        if not path.exists() and path.with_name(layout.name("train", "checkpoint")).exists():
            log.warning("%s is missing and the checkpoint has no best weights: rerun with a restart", path)
        return False
    if _holds_weights(path, state, meta["epoch"]):
        return False
    save_model(path, model, target_names, meta, state=state)
    log.info("wrote %s from the best epoch's weights (epoch %d)", path, meta["epoch"])
    return True


def _validated_model_config(cfg: dict) -> dict:
    cfg = dict(cfg)
    preset = cfg.pop("preset", "basset")
    return presets.model_config(preset, **cfg)


# settings that may change between an interrupted run and its resumption without making the checkpoint stale
_RESUMABLE = {"max_epochs", "patience", "min_epochs", "stop_after_epochs", "num_workers", "device", "amp",
              "valid_batch_size", "loader_chunk", "max_train_batches"}


def _stale(ckpt: dict, cfg: dict, n_targets: int, opts: dict) -> bool:
    """True when a checkpoint cannot be continued with this model config, target count and settings."""
    if ckpt["config"] != cfg or ckpt["n_targets"] != n_targets:
        return True
    old = {k: v for k, v in ckpt.get("options", {}).items() if k not in _RESUMABLE}
    new = {k: v for k, v in _plain_opts(opts).items() if k not in _RESUMABLE}
    return old != new


def _plain_opts(opts: dict) -> dict:
    return {k: (v if isinstance(v, (int, float, str, bool)) or v is None else str(v)) for k, v in opts.items()}

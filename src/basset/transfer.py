"""Transfer learning to new cell types (the paper's Figure 6).

The paper pre-trained Basset on 149 of its 164 cell types and, for each of the 15 held out, trained a
copy of the network with a new single-output head for one pass over that cell type's peaks plus an equal
number of negatives drawn from the public sites; the result approached the full multi-task model's AUROC
in a fraction of the time. The pieces here (the stage, which reads and writes the files, is
:mod:`basset.stages.transfer`):

:func:`choose_holdout`    K targets spanning the full model's test AUROC range (or an explicit list)
:func:`transfer_sites`    training rows for one held-out cell: its positives + as many sampled negatives
:func:`fine_tune`         passes from the pre-trained network with a new ``Linear(.., 1)`` head, or
                          (``from_scratch=True``) the same passes from a random initialisation; the
                          passes are :func:`basset.train.run_epoch`, the steps of :func:`basset.train.train`
:func:`transfer_target`   one held-out cell: both fine-tunings and their test AUROC, a row of the table

Negatives are train-split sites where the held-out cell is 0 (sites of the pre-training universe, i.e. the
public sites); the test AUROC is computed over *all* test-split sites for that cell, the same sites the
full model's ``evaluate/metrics.tsv`` AUROC was computed on, so the two are directly comparable.

The from-scratch comparison trains the same architecture on the same sites for the same number of passes
(so the same number of optimiser steps and, on the same machine, about the same time; both times are
recorded). Matching passes rather than measured seconds keeps the comparison deterministic.
"""

from __future__ import annotations

import copy
import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from .dataset import Dataset
from .device import resolve_device
from .errors import InputError
from .metrics import auroc
from .models import build_model, load_model
from .predict import predict_codes
from .train import amp_dtype, make_optimizer, run_epoch, seed_for, train_options

log = logging.getLogger("basset.transfer")

TRANSFER_COLUMNS = ("target", "full_auroc", "transfer_auroc", "scratch_auroc", "difference", "within",
                    "n_pos", "n_neg", "steps", "seconds_transfer", "seconds_scratch")


# ------------------------------------------------------------------------------------------ hold-out
def choose_holdout(aurocs, k: int) -> list[str]:
    """``k`` target names spanning the AUROC range: the targets at evenly spaced ranks (lowest and highest
    included) of the AUROCs sorted ascending (ties broken by name), returned in that order.

    ``aurocs``: a ``{name: auroc}`` dict or a DataFrame with ``target`` and ``auroc`` columns (the
    ``evaluate/metrics.tsv`` of the full model). Targets with a NaN AUROC are never chosen. Deterministic.
    """
    if isinstance(aurocs, pd.DataFrame):
        missing = {"target", "auroc"} - set(aurocs.columns)
        if missing:
            raise ValueError(f"expected columns target and auroc, missing {', '.join(sorted(missing))}")
        aurocs = dict(zip(aurocs["target"].astype(str), aurocs["auroc"].astype(float)))
    items = sorted(((float(v), str(t)) for t, v in aurocs.items() if np.isfinite(float(v))))
    if not 1 <= k <= len(items):
        raise ValueError(f"cannot hold out {k} of {len(items)} targets with a finite AUROC")
    ranks = np.unique(np.round(np.linspace(0, len(items) - 1, k)).astype(int))
    return [items[r][1] for r in ranks]


def resolve_holdout(aurocs: dict[str, float], holdout=None, k: int = 6, path: str | Path = "metrics") -> list[str]:
    """The explicit ``holdout`` names (checked against ``aurocs``) or :func:`choose_holdout` of ``k``."""
    if holdout:
        names = [str(h) for h in holdout]
        unknown = [h for h in names if h not in aurocs]
        if unknown:
            raise InputError(path, f"transfer.holdout names unknown target(s) {', '.join(unknown)}")
        if len(set(names)) != len(names):
            raise InputError(path, f"transfer.holdout lists a target twice: {names}")
        if len(names) >= len(aurocs):
            raise InputError(path, "transfer.holdout leaves no target to pre-train on")
        return names
    if k >= len(aurocs):
        raise InputError(path, f"transfer.k = {k} leaves no target of {len(aurocs)} to pre-train on")
    return choose_holdout(aurocs, k)


# -------------------------------------------------------------------------------------- site choice
def transfer_sites(h5_path, target: str, seed: int = 1, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``split`` to train a held-out ``target`` on: all its positives and an equal number of
    negatives (rows where it is 0) sampled without replacement with ``seed``; all negatives when there are
    fewer. Returns ``(rows (n,) int64 sorted, labels (n,) uint8)``.
    """
    data = Dataset(h5_path)
    col = data.columns([target])[0]
    y = data.targets(split, [col])[:, 0]
    pos = np.flatnonzero(y == 1)
    neg = np.flatnonzero(y == 0)
    if pos.size == 0:
        raise InputError(h5_path, f"target {target!r} has no positive site in the {split} split")
    rng = np.random.default_rng(seed_for(seed, col, 6))
    if neg.size > pos.size:
        neg = np.sort(rng.choice(neg, pos.size, replace=False))
    rows = np.concatenate([pos, neg])
    order = np.argsort(rows, kind="stable")
    return rows[order], y[rows[order]].astype(np.uint8)


# ----------------------------------------------------------------------------------------- training
def new_head_model(pretrained: nn.Module | str | Path, seed: int = 1) -> nn.Module:
    """A copy of a pre-trained :class:`basset.models.BassetNet` (module or saved file) whose ``.output`` is a
    fresh ``Linear(in_features, 1)`` (initialised after ``torch.manual_seed(seed)``); the original is untouched."""
    if isinstance(pretrained, (str, Path)):
        model, _meta = load_model(pretrained)
    else:
        model = copy.deepcopy(pretrained)
    torch.manual_seed(seed)
    model.output = nn.Linear(model.output.in_features, 1)
    model.n_targets = 1
    return model


def _shuffled_batches(x: torch.Tensor, y: torch.Tensor, perm: torch.Tensor, batch_size: int):
    """Batches ``(x[idx], y[idx])`` in the order ``perm``; a last batch of one row is dropped (batch norm)."""
    for lo in range(0, x.shape[0], batch_size):
        idx = perm[lo : lo + batch_size]
        if idx.numel() < 2:
            break
        yield x[idx], y[idx]


def train_passes(model: nn.Module, codes: np.ndarray, labels: np.ndarray, options: dict | None = None,
                 passes: int = 1, seed: int = 1, device="cpu") -> dict:
    """Train ``model`` (one output) in place for ``passes`` shuffled passes over in-memory ``codes (n, L) uint8``
    and ``labels (n,) 0/1``, each a :func:`basset.train.run_epoch` (optimizer, lr, max-norm, batch size, bf16
    autocast and reverse-complement augmentation from ``options``, the config's ``train`` section). ``device``:
    ``None`` for ``options["device"]``. Returns ``{"steps", "loss" (mean of the last pass), "seconds"}``.
    """
    opts = train_options(options)
    device = resolve_device(opts["device"] if device is None else device)
    amp = amp_dtype(opts["amp"], device)
    model.to(device).train()
    optimizer = make_optimizer(model, opts)
    x = torch.from_numpy(np.ascontiguousarray(codes))
    y = torch.from_numpy(np.asarray(labels, dtype=np.uint8).reshape(-1, 1))
    steps, loss = 0, float("nan")
    t0 = time.perf_counter()
    for p in range(passes):
        gen = torch.Generator().manual_seed(seed_for(seed, p, 7))  # the order, then the flips
        perm = torch.randperm(x.shape[0], generator=gen)
        loss, n = run_epoch(model, optimizer, _shuffled_batches(x, y, perm, opts["batch_size"]), device, amp,
                            opts["max_norm"], gen if opts["rc_augment"] else None)
        steps += n
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return {"steps": steps, "loss": loss, "seconds": time.perf_counter() - t0}


def fine_tune(pretrained, h5_path, target: str, options: dict | None = None, passes: int = 1, seed: int = 1,
              from_scratch: bool = False, device="cpu", sites=None) -> tuple[nn.Module, dict]:
    """One held-out cell: a new-head copy of ``pretrained`` (module or model file) trained ``passes`` passes
    over :func:`transfer_sites` of ``target`` in ``h5_path`` (the full dataset). With ``from_scratch`` the
    same architecture is freshly initialised instead (same sites, same passes, same seed).

    ``sites``: precomputed ``(rows, labels, codes)`` to skip reading. Returns ``(model, info)`` with
    ``info = {"n_pos", "n_neg", "steps", "loss", "seconds"}`` (seconds: the training passes only).
    """
    if sites is None:
        rows, labels = transfer_sites(h5_path, target, seed)
        codes = Dataset(h5_path).codes("train", rows)
    else:
        rows, labels, codes = sites
    if from_scratch:
        if isinstance(pretrained, (str, Path)):
            _m, meta = load_model(pretrained)
            cfg = meta["config"]
        else:
            cfg = pretrained.config
        torch.manual_seed(seed)
        model = build_model(cfg, 1)
    else:
        model = new_head_model(pretrained, seed)
    stats = train_passes(model, codes, labels, options, passes, seed, device)
    info = {"n_pos": int(labels.sum()), "n_neg": int((labels == 0).sum()), **stats}
    log.info("%s %s: %d passes, %d steps on %d + %d sites in %.1f s (loss %.4f)", target,
             "from scratch" if from_scratch else "transfer", passes, stats["steps"], info["n_pos"], info["n_neg"],
             stats["seconds"], stats["loss"])
    return model, info


def held_out_auroc(model: nn.Module, codes: np.ndarray, y: np.ndarray, device="cpu", rc_average: bool = True,
                   batch_size: int = 1024) -> float:
    """AUROC of a one-output model on ``codes (n, L)`` with labels ``y (n,)`` (reverse-complement averaged)."""
    p = predict_codes(model, codes, batch_size=batch_size, device=device, rc_average=rc_average)
    return float(auroc(np.asarray(y).reshape(-1, 1), p[:, :1])[0])


def transfer_target(pretrained, h5_path, target: str, test_codes: np.ndarray, test_y: np.ndarray,
                    full_auroc: float, options: dict | None = None, passes: int = 1, seed: int = 1,
                    scratch: bool = True, tolerance: float = 0.03, device="cpu",
                    rc_average: bool = True) -> tuple[dict, nn.Module]:
    """One held-out ``target``: :func:`fine_tune` from ``pretrained`` (and, with ``scratch``, from a random
    initialisation) on its :func:`transfer_sites` (drawn with ``seed``), both tested on ``test_codes (n, L)`` with
    labels ``test_y (n,)`` and compared with the full model's ``full_auroc``.

    Returns ``(row, model)``: a row of the transfer table (:data:`TRANSFER_COLUMNS`; ``within`` is
    ``|transfer - full| <= tolerance``) and the fine-tuned model.
    """
    rows, labels = transfer_sites(h5_path, target, seed)
    sites = (rows, labels, Dataset(h5_path).codes("train", rows))
    model, info = fine_tune(pretrained, h5_path, target, options, passes, seed, device=device, sites=sites)
    t_auc = held_out_auroc(model, test_codes, test_y, device, rc_average)
    s_auc, s_sec = float("nan"), float("nan")
    if scratch:
        s_model, s_info = fine_tune(pretrained, h5_path, target, options, passes, seed, True, device, sites)
        s_auc, s_sec = held_out_auroc(s_model, test_codes, test_y, device, rc_average), s_info["seconds"]
    diff = t_auc - full_auroc
    log.info("%s: full %.4f, transfer %.4f, scratch %.4f (%.1f s)", target, full_auroc, t_auc, s_auc,
             info["seconds"])
    row = {"target": target, "full_auroc": full_auroc, "transfer_auroc": t_auc, "scratch_auroc": s_auc,
           "difference": diff, "within": bool(abs(diff) <= tolerance), "n_pos": info["n_pos"],
           "n_neg": info["n_neg"], "steps": info["steps"], "seconds_transfer": info["seconds"],
           "seconds_scratch": s_sec}
    return row, model

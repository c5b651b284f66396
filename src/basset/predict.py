"""Predictions of a trained model: probabilities of accessibility per site and target.

A model is an ``nn.Module`` taking ``(B, 4, L) float32`` one-hot and returning ``(B, T)`` logits. Codes
(``(B, L) uint8``, A,C,G,T,N = 0..4) are one-hot encoded on the model's device; the probability is the
sigmoid of the logits, averaged (on request, as Basset's ``-rc``) with the prediction on the reverse
complement. A model whose ``objective`` is not ``"binary"`` (:class:`basset.models.SummedCoverage`: a coverage
model's counts summed over its bins) keeps its outputs as they are (:func:`basset.models.scores`). In the ACGT
one-hot layout the reverse complement is a flip of both the channel and the
position axis (A<->T, C<->G), and N (an all-zero column) stays N.

Predictions are written as a gzipped TSV (:func:`write_predictions`): header
``site_index<TAB>target...``, one row per site of the split in file order, probabilities with 6 digits.
"""

from __future__ import annotations

import logging
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from .dataset import Dataset
from .device import resolve_device
from .errors import InputError
from .logs import progress_bar
from .models import eval_mode, scores
from .sequence import one_hot
from .tables import write_table

log = logging.getLogger("basset.predict")


def _probs(model: torch.nn.Module, codes: torch.Tensor, rc_average: bool, bf16: bool = False,
           buffer: torch.Tensor | None = None) -> torch.Tensor:
    """Probabilities ``(B, T) float32`` of a batch of codes ``(B, L)`` already on the device; ``bf16``: the forward
    passes under bfloat16 autocast (meant for CUDA, where it is about twice as fast); ``buffer``: a float tensor of
    at least ``(B, 4, L)`` that receives the one-hot (reused across batches)."""
    ctx = torch.autocast(codes.device.type, dtype=torch.bfloat16) if bf16 else nullcontext()
    x = None if buffer is None else buffer[: codes.shape[0]]
    with ctx:
        p = scores(model, model(one_hot(codes, out=x)).float())
        if rc_average:  # in place: two fewer (B, T) tensors per batch
            p.add_(scores(model, model(one_hot(codes, reverse_complement=True, out=x)).float())).mul_(0.5)
    return p


def predict_codes(model: torch.nn.Module, codes, batch_size: int = 256, device="cpu", rc_average: bool = True,
                  progress: bool = False, bf16: bool = False, out: np.ndarray | None = None) -> np.ndarray:
    """Probabilities ``(N, T) float32`` for in-memory codes ``(N, L) uint8`` (numpy or torch); ``out``: a C-contiguous
    ``(N, T) float32`` array to write them into (and return), allocated when ``None``.

    The model is moved to ``device`` (:func:`basset.device.resolve_device`; in place, as ``nn.Module.to``) and run
    in eval mode under ``torch.inference_mode``; its training flag is restored afterwards. On CUDA the codes are
    pinned once so that each batch is copied asynchronously; ``bf16``: bfloat16 autocast (:func:`_probs`). The
    one-hot of every batch is written into one buffer, and each batch's probabilities straight into ``out``.
    """
    device = resolve_device(device)
    codes = torch.as_tensor(np.asarray(codes, dtype=np.uint8) if not isinstance(codes, torch.Tensor) else codes)
    if codes.ndim != 2:
        raise ValueError(f"expected (N, L) codes, got shape {tuple(codes.shape)}")
    n, L = codes.shape
    if device.type == "cuda" and codes.device.type == "cpu":
        codes = codes.pin_memory()
    model.to(device)
    if out is not None and (out.shape[0] != n or out.dtype != np.float32 or not out.flags.c_contiguous):
        raise ValueError(f"out must be a C-contiguous ({n}, T) float32 array, got {out.shape} {out.dtype}")
    if n == 0:
        return out if out is not None else np.zeros((0, _n_outputs(model, L, device)), dtype=np.float32)
    bar = progress_bar(n, progress, "predicting", "site")
    buffer = torch.empty((min(batch_size, n), 4, L), dtype=torch.float32, device=device)
    out_t = None if out is None else torch.from_numpy(out)
    with eval_mode(model), torch.inference_mode():
        for lo in range(0, n, batch_size):  # batches, not sequences
            batch = codes[lo : lo + batch_size].to(device, non_blocking=True)
            p = _probs(model, batch, rc_average, bf16, buffer)
            if out_t is None:
                out = np.empty((n, p.shape[1]), dtype=np.float32)
                out_t = torch.from_numpy(out)
            out_t[lo : lo + batch.shape[0]] = p  # (from the device)
            bar.update(batch.shape[0])
    bar.close()
    return out


def _n_outputs(model, L: int, device) -> int:
    with eval_mode(model), torch.inference_mode():
        return int(model(torch.zeros(1, 4, L, device=device)).shape[1])


def predict(model: torch.nn.Module, h5_path: str | Path, split: str = "test", batch_size: int = 256,
            device="cpu", rc_average: bool = True, progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Predict every site of one split of a dataset (:mod:`basset.dataset` layout), streamed in file order.

    Returns ``(targets (n, T) uint8, probs (n, T) float32)``; row i of both is row i of ``/{split}``.
    """
    device = resolve_device(device)
    batches = Dataset(h5_path).batches(split, batch_size)
    model.to(device)
    ys, ps = [], []
    bar = progress_bar(batches.n_rows, progress, "predicting", "site")
    with eval_mode(model), torch.inference_mode():
        for codes, y in batches:
            ps.append(_probs(model, codes.to(device, non_blocking=True), rc_average).cpu())
            ys.append(y)
            bar.update(codes.shape[0])
    bar.close()
    if not ps:
        T = batches.n_targets
        return np.zeros((0, T), np.uint8), np.zeros((0, T), np.float32)
    targets = torch.cat(ys).numpy().astype(np.uint8, copy=False)
    probs = torch.cat(ps).numpy().astype(np.float32, copy=False)
    if probs.shape != targets.shape:
        raise InputError(h5_path, f"the model predicts {probs.shape[1]} targets, the dataset has {targets.shape[1]}")
    log.info("predicted %d %s sites x %d targets (rc_average=%s)", probs.shape[0], split, probs.shape[1], rc_average)
    return targets, probs


def split_site_index(h5_path: str | Path, split: str = "test") -> np.ndarray:
    """``/{split}/site_index (n,) int64`` of a dataset: each row's 0-based row in sites.bed
    (:meth:`basset.dataset.Dataset.site_index`)."""
    return Dataset(h5_path).site_index(split)


def write_predictions(path: str | Path, site_index, probs, target_names) -> None:
    """Gzipped TSV (by the ``.gz`` suffix): ``site_index`` then one probability column per target."""
    probs = np.asarray(probs)
    if probs.shape[1] != len(target_names):
        raise ValueError(f"{probs.shape[1]} prediction columns but {len(target_names)} target names")
    df = pd.DataFrame(probs, columns=list(target_names))
    df.insert(0, "site_index", np.asarray(site_index, dtype=np.int64))
    write_table(path, df, float_format="%.6g")


def read_predictions(path: str | Path) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Read :func:`write_predictions` output: ``(site_index (n,) int64, target_names, probs (n, T) float32)``."""
    df = pd.read_csv(path, sep="\t")
    if df.columns[0] != "site_index":
        raise InputError(path, f"expected a header starting with 'site_index', got {list(df.columns[:3])!r}", line=1)
    names = [str(c) for c in df.columns[1:]]
    return df["site_index"].to_numpy(np.int64), names, df[names].to_numpy(np.float32)


# ------------------------------------------------------------------------------------------------ tiling
def tile_bins(start: int, end: int, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """``(starts, ends)`` of the bins of ``stride`` bp that tile ``[start, end)`` from ``start`` (the last one cut at
    ``end``); empty when ``end <= start``."""
    if stride < 1:
        raise ValueError(f"stride must be at least 1 bp, got {stride}")
    starts = np.arange(int(start), int(end), int(stride), dtype=np.int64)
    return starts, np.minimum(starts + int(stride), int(end))


def centred_windows(bin_starts, stride: int, length: int) -> np.ndarray:
    """Start of the ``length``-bp window whose central ``stride`` bp begin at each of ``bin_starts``: the window's
    prediction is the value of that bin. ``length - stride`` odd puts the extra base on the right."""
    if stride > length:
        raise ValueError(f"stride {stride} bp is longer than the model's input ({length} bp): bins would be unseen")
    return np.asarray(bin_starts, dtype=np.int64) - (int(length) - int(stride)) // 2

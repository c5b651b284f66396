"""Base-resolution attributions of a trained model: DeepLIFT/SHAP, gradient x input, and their truth.

Which bases of a sequence make a cell type's prediction? Three views, all ``(N, 4, L) float32`` arrays in the
one-hot layout (channel A, C, G, T), of one **output**: a target's logit, or the mean logit over a group of
targets (a lineage; :class:`OutputMean`). Logits, not probabilities: the sigmoid saturates, and the mean of
logits is linear, so DeepLIFT's summation holds for a group as for one target.

:func:`deep_lift_shap`   DeepLIFT/SHAP (Lundberg & Lee 2017) against ``n_shuffles`` dinucleotide-shuffled
                         references per sequence, as *hypothetical* contributions (what each of the four bases
                         would contribute at every position; TF-MoDISco's input) and as actual contributions
                         (the hypothetical ones times the one-hot: only the observed base). Summed over a
                         sequence, the actual contributions equal the mean of ``f(x) - f(reference)`` over the
                         references (summation-to-delta): :func:`convergence_delta` checks it.
:func:`gradient_x_input` the gradient of the output times the one-hot input: one backward pass, the cheap
                         cross-check (it saturates where DeepLIFT does not).
The fast ISM of :mod:`basset.ism` is the third view (every substitution made).

:func:`instance_mask` and :func:`instance_auroc` grade attributions on simulated truth: the AUROC of the per-base
actual contribution for "this base lies in a planted motif instance" against the other bases of the same
sequences.

Why tangermeme, not captum, and not our own: DeepLIFT's rescale rule for ReLU and its max-pool rule are easy to
get subtly wrong; tangermeme's ``deep_lift_shap`` is maintained for genomics CNNs (the layer types of the Basset
network: Conv1d, BatchNorm, ReLU, MaxPool1d, Linear), draws the dinucleotide-shuffled references itself (seeded
per reference, so the same seed gives the same references on every call) and computes the hypothetical
contributions that TF-MoDISco needs; captum's ``DeepLiftShap`` needs the references built by hand and the
hypothetical projection written around it. Its ``saliency`` gives gradient x input through the same batching.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import torch
from torch import nn

from .device import resolve_device
from .metrics import auroc
from .models import eval_mode
from .sequence import one_hot

log = logging.getLogger("basset.attribution")

#: the attribution methods of :func:`attribute`
METHODS = ("deeplift_shap", "gradient_x_input")


class OutputMean(nn.Module):
    """The mean of some output columns of a model: ``(B, 4, L) -> (B, 1)``; one column is that target's logit."""

    def __init__(self, model: nn.Module, columns):
        super().__init__()
        self.model = model
        columns = [int(c) for c in np.atleast_1d(columns)]
        if not columns:
            raise ValueError("OutputMean needs at least one output column")
        self.register_buffer("columns", torch.tensor(columns, dtype=torch.long), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x).index_select(1, self.columns).mean(1, keepdim=True)


def _one_hot_tensor(codes) -> torch.Tensor:
    codes = np.asarray(codes, dtype=np.uint8)
    if codes.ndim != 2:
        raise ValueError(f"expected (N, L) codes, got shape {codes.shape}")
    if (codes > 3).any():
        bad = int(np.flatnonzero((codes > 3).any(1))[0])
        raise ValueError(f"sequence {bad} holds an N: DeepLIFT/SHAP's shuffled references need ACGT only "
                         "(leave such sequences out: has_n)")
    return torch.from_numpy(one_hot(codes))


def has_n(codes) -> np.ndarray:
    """``(N,) bool``: which sequences hold an N (code 4), which attribution leaves out."""
    return (np.asarray(codes) > 3).any(1)


def deep_lift_shap(model: nn.Module, codes, columns, *, n_shuffles: int = 20, batch_size: int = 64,
                   seed: int = 1, device="cpu", references=None, return_references: bool = False,
                   progress: bool = False):
    """DeepLIFT/SHAP hypothetical contributions ``(N, 4, L) float32`` of the mean logit over ``columns`` for the
    sequences ``codes (N, L) uint8`` (ACGT only; :func:`has_n`), averaged over ``n_shuffles`` dinucleotide
    shuffles of each sequence drawn with ``seed`` (reference k of every sequence with ``seed + k``).

    ``references``: a ``(N, R, 4, L)`` tensor to use instead of the shuffles (all-zero columns allowed).
    ``batch_size``: sequence-reference pairs per forward/backward pass. The actual contributions are the
    result times the one-hot (:func:`actual`). With ``return_references``, returns ``(hypothetical,
    references (N, R, 4, L))``. The model is run in eval mode (its training flag restored afterwards).
    """
    from tangermeme.deep_lift_shap import deep_lift_shap as tm_deep_lift_shap

    device = resolve_device(device)
    x = _one_hot_tensor(codes)
    if x.shape[0] == 0:
        hyp = np.zeros(tuple(x.shape), dtype=np.float32)
        return (hyp, torch.zeros((0, 0, *x.shape[1:]))) if return_references else hyp
    head = OutputMean(model, columns).to(device)
    kwargs = {"references": references} if references is not None else {"n_shuffles": int(n_shuffles)}
    with eval_mode(model), warnings.catch_warnings():
        # tangermeme warns per batch when a delta exceeds 1e-3; convergence_delta measures it instead
        warnings.filterwarnings("ignore", message="Convergence deltas", category=RuntimeWarning)
        result = tm_deep_lift_shap(head, x, target=0, batch_size=int(batch_size), hypothetical=True,
                                   return_references=return_references, device=device, random_state=int(seed),
                                   verbose=progress, **kwargs)
    if return_references:
        return result.attributions.numpy().astype(np.float32, copy=False), result.references
    return result.numpy().astype(np.float32, copy=False)


def actual(hypothetical, codes) -> np.ndarray:
    """Actual contributions ``(N, 4, L)``: the hypothetical ones at the observed base, 0 elsewhere."""
    return np.asarray(hypothetical) * one_hot(np.asarray(codes, dtype=np.uint8))


def convergence_delta(model: nn.Module, codes, columns, contributions, references, device="cpu") -> np.ndarray:
    """``(N,)``: ``|sum of actual contributions - mean_r (f(x) - f(reference_r))|`` per sequence, ``f`` the mean
    logit over ``columns``, computed by plain forward passes: DeepLIFT's summation-to-delta, 0 when it holds."""
    device = resolve_device(device)
    head = OutputMean(model, columns).to(device)
    x = _one_hot_tensor(codes)
    refs = torch.as_tensor(references, dtype=torch.float32)
    n, r = refs.shape[:2]
    with eval_mode(model), torch.inference_mode():
        fx = head(x.to(device)).cpu().numpy()[:, 0].astype(np.float64)
        fr = head(refs.reshape(n * r, *refs.shape[2:]).to(device)).cpu().numpy()[:, 0].reshape(n, r)
    total = np.asarray(contributions, dtype=np.float64).sum(axis=(1, 2))
    return np.abs(total - (fx - fr.astype(np.float64).mean(1)))


def gradient_x_input(model: nn.Module, codes, columns, *, batch_size: int = 128, device="cpu",
                     correct: bool = False) -> np.ndarray:
    """Gradient of the mean logit over ``columns`` times the one-hot input, ``(N, 4, L) float32`` (tangermeme's
    ``saliency``). ``correct``: subtract each position's mean gradient over the four bases first (Majdandzic et
    al. 2023), which removes the part of the gradient that leaves the one-hot simplex."""
    from tangermeme.saliency import saliency

    device = resolve_device(device)
    x = _one_hot_tensor(codes)
    if x.shape[0] == 0:
        return np.zeros(tuple(x.shape), dtype=np.float32)
    head = OutputMean(model, columns).to(device)
    with eval_mode(model):
        out = saliency(head, x, target=0, batch_size=int(batch_size), gradient_correction=bool(correct),
                       device=device)
    return out.detach().cpu().numpy().astype(np.float32, copy=False)


def attribute(model: nn.Module, codes, columns, method: str = "deeplift_shap", **kwargs) -> np.ndarray:
    """Hypothetical (``deeplift_shap``) or gradient x input (``gradient_x_input``) attributions: see those."""
    if method == "deeplift_shap":
        return deep_lift_shap(model, codes, columns, **kwargs)
    if method == "gradient_x_input":
        kwargs = {k: v for k, v in kwargs.items() if k in ("batch_size", "device", "correct")}
        return gradient_x_input(model, codes, columns, **kwargs)
    raise ValueError(f"unknown attribution method {method!r}: expected one of {', '.join(METHODS)}")


# ------------------------------------------------------------------------------------------------ truth
def instance_mask(chroms, starts, minus, length: int, instances) -> np.ndarray:
    """``(N, length) bool``: which sequence columns lie inside a planted motif instance.

    Sequence i covers genome ``[starts[i], starts[i] + length)`` of ``chroms[i]``; on a '-' strand site
    (``minus[i]``) it is reverse-complemented, so column j is genome ``starts[i] + length - 1 - j``.
    ``instances``: a table with ``chrom, start, end`` (0-based, half-open), the simulation's
    ``motif_instances.tsv``.
    """
    chroms = np.asarray(chroms).astype(str)
    starts = np.asarray(starts, dtype=np.int64)
    minus = np.asarray(minus, dtype=bool)
    mask = np.zeros((len(starts), length), dtype=bool)
    for chrom in np.unique(chroms):
        rows = np.flatnonzero(chroms == chrom)
        inst = instances[instances["chrom"].astype(str) == chrom]
        if not len(inst):
            continue
        # +1 at each instance start, -1 at its end, over the genome span these sequences cover
        lo, hi = int(starts[rows].min()), int(starts[rows].max()) + length
        cover = np.zeros(hi - lo + 1, dtype=np.int32)
        s = np.clip(inst["start"].to_numpy(np.int64), lo, hi) - lo
        e = np.clip(inst["end"].to_numpy(np.int64), lo, hi) - lo
        np.add.at(cover, s, 1)
        np.add.at(cover, e, -1)
        inside = np.cumsum(cover)[:-1] > 0
        cols = starts[rows, None] - lo + np.arange(length)[None, :]
        block = inside[cols]
        block[minus[rows]] = block[minus[rows], ::-1]
        mask[rows] = block
    return mask


def instance_auroc(contributions, mask) -> float:
    """AUROC of the per-base actual contribution (summed over the four channels) for the bases inside planted
    instances (``mask`` True) against the others; NaN when either class is empty."""
    score = np.asarray(contributions, dtype=np.float64).sum(1).ravel()
    labels = np.asarray(mask, dtype=bool).ravel()
    if labels.all() or not labels.any():
        return float("nan")
    return float(auroc(labels.astype(np.uint8), score)[0])

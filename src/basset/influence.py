"""What the first-layer filters and known motifs do to a trained model's predictions (the paper's Figure 3).

Two experiments, as in Kelley et al. 2016:

* **Influence by nullification** (:func:`filter_influence`). Each first-layer filter's output (after its
  ReLU, i.e. the input to the first pooling) is replaced by its mean over the given sequences, a single
  scalar per filter (mean over sequences and positions), and the rest of the network is re-run. Per target
  (cell type), a filter's influence is, as the paper defines it (``formula="paper"``), the square of the mean
  change in predicted probability over the sequences, ``(E[p_null - p_orig]) ** 2``; its overall influence
  (:func:`influence_table`) is the sum of that over targets. ``formula="per_sequence"`` takes the mean of the
  squared per-sequence changes instead, ``E[(p_null - p_orig) ** 2]``: it also counts a filter whose removal
  moves sequences both ways, which the paper's formula cancels. The change in loss (summed binary
  cross-entropy over targets, mean over sequences, nullified minus original) is returned beside either.
  Nullification is vectorised over filters: the first layer is computed once per batch, then ``chunk``
  copies of its output, each with one filter replaced, go through the rest of the network in one call.
* **Motif insertion** (:func:`insert_motif`, :func:`insertion_table`). A motif's consensus is written into
  background sequences (by default at their centre) and the mean change in predicted probability per target
  is recorded. The backgrounds are real sequences (e.g. the test split) drawn with a seed by
  :func:`sample_background`; they are not shuffled.

Motifs are given as a ``(w, 4) float`` position probability matrix (A, C, G, T columns; the consensus is the
argmax per position), a consensus string, or (:func:`resolve_motifs`) a JASPAR matrix ID or TF name
(:mod:`basset.jaspar`).
"""

from __future__ import annotations

import logging
import re

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn import functional as F

from .jaspar import jaspar_matrix, load_motifs
from .logs import progress_bar
from .models import eval_mode, first_block_tail, rest_of_network
from .predict import predict_codes
from .sequence import encode, one_hot

log = logging.getLogger("basset.influence")

#: how :func:`filter_influence` turns the changes in prediction into an influence per target
INFLUENCE_FORMULAS = ("paper", "per_sequence")
#: what each formula's per-target influence is, for axis labels and captions (dp = p_null - p_orig)
INFLUENCE_LABEL = {"paper": "(mean Δp)²", "per_sequence": "mean (Δp²)"}

_MATRIX_ID = re.compile(r"^MA\d{4}\.\d+$")


# --------------------------------------------------------------------------------------- nullification


def _nullified_logits(model: nn.Module, h: torch.Tensor, means: torch.Tensor, fidx: torch.Tensor) -> torch.Tensor:
    """Logits ``(c, B, T)``: copy ``k`` of ``h (B, F, L')`` has filter ``fidx[k]`` set to ``means[fidx[k]]``."""
    B, n_filters, Lp = h.shape
    c = fidx.numel()
    hn = h.unsqueeze(0).repeat(c, 1, 1, 1)  # (c, B, F, L')
    hn[torch.arange(c, device=h.device), :, fidx, :] = means[fidx].view(c, 1, 1).expand(c, B, Lp)
    return rest_of_network(model, hn.view(c * B, n_filters, Lp)).view(c, B, -1)


def _pooled(model: nn.Module, h: torch.Tensor) -> torch.Tensor:
    """The layers of block 0 after its ReLU (pooling, dropout) applied to ``h (B, F, L')``."""
    for layer in first_block_tail(model):
        h = layer(h)
    return h


def _after_second_conv(model: nn.Module, z: torch.Tensor) -> torch.Tensor:
    """Logits ``(B, T)`` from the second conv layer's output ``z (B, C2, L2)`` (before its batch norm)."""
    for layer in list(model.conv[1])[1:]:
        z = layer(z)
    for block in model.conv[2:]:
        z = block(z)
    return model.output(model.dense(z))


def _linear_path_ok(model: nn.Module) -> bool:
    """Whether :func:`_nullified_logits_linear` applies: block 0 ends in per-channel max pooling / dropout
    (so nullifying before or after pooling is the same: the max of a constant is the constant) and block 1
    starts with an ungrouped Conv1d (linear in each input channel)."""
    tail = first_block_tail(model)
    return (len(model.conv) > 1 and isinstance(model.conv[1][0], nn.Conv1d) and model.conv[1][0].groups == 1
            and all(isinstance(layer, (nn.MaxPool1d, nn.Dropout)) for layer in tail))


def _nullified_logits_linear(model: nn.Module, a: torch.Tensor, z: torch.Tensor, means: torch.Tensor,
                             fidx: torch.Tensor) -> torch.Tensor:
    """Same as :func:`_nullified_logits` from the pooled ``a (B, F, L'')`` and ``z = conv1(a) (B, C2, L2)``.

    The second convolution is linear in each input channel, so nullifying filter ``f`` adds
    ``conv(means[f] - a[:, f], W[:, f])`` to ``z``: one grouped convolution (one group per nullified filter)
    instead of a full convolution per copy, about ``F`` times cheaper.
    """
    conv = model.conv[1][0]
    B, _, L2 = z.shape
    c, C2 = fidx.numel(), z.shape[1]
    delta = means[fidx].view(1, c, 1) - a[:, fidx, :]  # (B, c, L'')
    w = conv.weight[:, fidx, :].transpose(0, 1).reshape(c * C2, 1, -1)  # (c*C2, 1, k)
    dz = F.conv1d(delta, w, None, conv.stride, conv.padding, conv.dilation, groups=c)  # (B, c*C2, L2)
    zn = z.unsqueeze(0) + dz.view(B, c, C2, L2).transpose(0, 1)  # (c, B, C2, L2)
    return _after_second_conv(model, zn.reshape(c * B, C2, L2)).view(c, B, -1)


def _bce_per_sequence(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy summed over targets: ``(..., B, T)`` logits and ``(B, T)`` targets -> ``(..., B)``."""
    return F.binary_cross_entropy_with_logits(logits, y.expand_as(logits), reduction="none").sum(-1)


def mean_activation(model: nn.Module, codes, batch_size: int = 256, device="cpu") -> np.ndarray:
    """Mean first-layer activation per filter over sequences and positions: ``(F,) float64``.

    ``codes (N, L) uint8``. Sums are accumulated in float64, so a filter with a constant output gets
    exactly that constant back.
    """
    codes = torch.as_tensor(np.asarray(codes, dtype=np.uint8))
    device = torch.device(device)
    model.to(device)
    total, count = None, 0
    with eval_mode(model), torch.inference_mode():
        for lo in range(0, codes.shape[0], batch_size):
            h = model.first_layer(one_hot(codes[lo : lo + batch_size].to(device)))
            s = h.sum(dim=(0, 2), dtype=torch.float64)
            total = s if total is None else total + s
            count += h.shape[0] * h.shape[2]
    if total is None:
        raise ValueError("no sequences to average over")
    return (total / count).cpu().numpy()


def _auto_chunk(per_copy: int, n_filters: int, max_elements: int) -> int:
    """Filters per chunk so that ``chunk * per_copy`` float32 values stay under ``max_elements``."""
    return int(max(1, min(n_filters, max_elements // max(1, per_copy))))


def filter_influence(model: nn.Module, codes, targets, batch_size: int = 256, device="cpu",
                     filter_chunk: int | None = None, max_elements: int = 2**26,
                     linear_shortcut: bool = True, progress: bool = False,
                     formula: str = "paper") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Influence of each first-layer filter by nullification (module docstring).

    Parameters
    ----------
    codes : ``(N, L) uint8`` sequences (A,C,G,T,N = 0..4), e.g. the test split.
    targets : ``(N, T)`` 0/1 labels, for the loss.
    filter_chunk : filters nullified per forward call; by default as many as keep the ``(chunk * B, F, L')``
        activation tensor under ``max_elements`` float32 values (2**26 = 256 MiB).
    linear_shortcut : when the architecture allows it (max pooling after the first ReLU, a Conv1d next),
        nullify after the pooling and add the nullified filter's contribution to the second convolution's
        output (:func:`_nullified_logits_linear`) instead of re-running that convolution: the same numbers up
        to float rounding, about 3x faster on the CPU. ``False``: re-run everything after the first ReLU
        (:func:`rest_of_network`) on each copy.
    formula : ``"paper"`` (the square of the mean change per target) or ``"per_sequence"`` (the mean of the
        squared changes), module docstring.

    Returns
    -------
    delta_loss : ``(F,) float64`` mean over sequences of the nullified minus original loss (BCE summed
        over targets, nats); positive when the filter helps.
    delta_pred : ``(F, T) float64`` influence per target: ``(mean over sequences of p_null - p_orig) ** 2``
        (``paper``) or ``mean over sequences of (p_null - p_orig) ** 2`` (``per_sequence``), probabilities.
    mean_activation : ``(F,) float64`` the value each filter's output was replaced by.
    """
    if formula not in INFLUENCE_FORMULAS:
        raise ValueError(f"influence formula {formula!r}: expected one of {', '.join(INFLUENCE_FORMULAS)}")
    codes = torch.as_tensor(np.asarray(codes, dtype=np.uint8))
    y_all = torch.as_tensor(np.asarray(targets), dtype=torch.float32)
    if codes.ndim != 2 or y_all.ndim != 2 or codes.shape[0] != y_all.shape[0]:
        raise ValueError(f"expected codes (N, L) and targets (N, T), got {tuple(codes.shape)} and {tuple(y_all.shape)}")
    device = torch.device(device)
    means64 = mean_activation(model, codes, batch_size, device)
    n_filters = means64.shape[0]
    means = torch.as_tensor(means64, dtype=torch.float32, device=device)
    n, T = y_all.shape
    d_loss = torch.zeros(n_filters, dtype=torch.float64, device=device)
    d_pred = torch.zeros(n_filters, T, dtype=torch.float64, device=device)
    fast = linear_shortcut and _linear_path_ok(model)
    bar = progress_bar(n, progress, "filter influence", "site")
    with eval_mode(model), torch.inference_mode():
        for lo in range(0, n, batch_size):
            x = one_hot(codes[lo : lo + batch_size].to(device))
            y = y_all[lo : lo + batch_size].to(device, torch.float64)
            h = model.first_layer(x)  # (B, F, L')
            B = h.shape[0]
            if fast:
                a = _pooled(model, h)  # (B, F, L'') pooled
                z = model.conv[1][0](a)  # (B, C2, L2) second conv, pre-activation
                logits0 = _after_second_conv(model, z)
            else:
                logits0 = rest_of_network(model, h)  # (B, T)
            # float64 from the logits on: the loss change is a small difference of large sums
            logits0 = logits0.double()
            loss0 = _bce_per_sequence(logits0, y)  # (B,)
            p0 = torch.sigmoid(logits0)
            chunk = filter_chunk or _auto_chunk((z if fast else h).numel(), n_filters, max_elements)
            for f0 in range(0, n_filters, chunk):  # chunks of filters, not sequences
                fidx = torch.arange(f0, min(f0 + chunk, n_filters), device=device)
                if fast:
                    logits = _nullified_logits_linear(model, a, z, means, fidx)
                else:
                    logits = _nullified_logits(model, h, means, fidx)  # (c, B, T)
                logits = logits.double()
                d_loss[fidx] += (_bce_per_sequence(logits, y) - loss0).sum(1)
                change = torch.sigmoid(logits) - p0  # (c, B, T)
                d_pred[fidx] += (change if formula == "paper" else change**2).sum(1)
            bar.update(B)
    bar.close()
    log.info("filter influence: %d filters x %d sequences x %d targets", n_filters, n, T)
    d_pred = d_pred / n
    if formula == "paper":
        d_pred = d_pred**2
    return (d_loss / n).cpu().numpy(), d_pred.cpu().numpy(), means64


def influence_table(delta_loss, delta_pred, target_names) -> pd.DataFrame:
    """One row per filter: ``filter`` (0-based), ``delta_loss``, ``influence`` (the sum over targets of
    ``delta_pred``: with the paper's formula, the sum over cell types of the squared mean change), then one
    ``delta_pred`` column per target."""
    delta_pred = np.asarray(delta_pred, dtype=np.float64)
    if delta_pred.shape[1] != len(target_names):
        raise ValueError(f"{delta_pred.shape[1]} influence columns but {len(target_names)} target names")
    df = pd.DataFrame(delta_pred, columns=[str(t) for t in target_names])
    df.insert(0, "influence", delta_pred.sum(axis=1))
    df.insert(0, "delta_loss", np.asarray(delta_loss, dtype=np.float64))
    df.insert(0, "filter", np.arange(delta_pred.shape[0]))
    return df


# ------------------------------------------------------------------------------------------- motifs


def consensus_codes(motif) -> np.ndarray:
    """``(w,) uint8`` codes of a motif: a consensus string (IUPAC ambiguity letters become N), or a ``(w, 4)``
    PWM (argmax per position, A,C,G,T)."""
    if isinstance(motif, (str, bytes)):
        codes = encode(motif)
    else:
        pwm = np.asarray(motif, dtype=np.float64)
        if pwm.ndim != 2 or pwm.shape[1] != 4:
            raise ValueError(f"expected a (w, 4) PWM or a consensus string, got shape {pwm.shape}")
        codes = pwm.argmax(axis=1).astype(np.uint8)
    if codes.size == 0:
        raise ValueError("empty motif")
    return np.asarray(codes, dtype=np.uint8)


def resolve_motifs(specs, release: str = "JASPAR2026") -> dict:
    """Motifs to insert, by name: each spec is a JASPAR matrix ID (``MA0035.5``), a JASPAR TF name
    (``GATA1``, matched as the simulation does), or a consensus of A/C/G/T letters; a dict maps names to
    such specs (or to ``(w, 4)`` PWMs). Returns ``{name: (w, 4) probabilities or consensus string}``."""
    items = specs.items() if isinstance(specs, dict) else ((s, s) for s in specs)
    out = {}
    for name, spec in items:
        if not isinstance(spec, str):
            out[name] = np.asarray(spec, dtype=np.float64)
        elif _MATRIX_ID.match(spec.strip()):
            out[name] = jaspar_matrix(spec.strip(), release)
        elif re.fullmatch(r"[ACGTacgt]+", spec.strip()):
            out[name] = spec.strip().upper()
        else:
            counts = load_motifs([spec.strip()], release)[spec.strip()]["counts"]
            out[name] = counts / counts.sum(axis=1, keepdims=True)
    return out


def sample_rows(n_rows: int, n: int, seed: int = 1) -> np.ndarray:
    """``(min(n, n_rows),) int64`` sorted row indices drawn without replacement with ``seed``."""
    if n >= n_rows:
        return np.arange(n_rows)
    return np.sort(np.random.default_rng(seed).choice(n_rows, n, replace=False))


def sample_background(codes, n: int, seed: int = 1) -> np.ndarray:
    """``min(n, N)`` rows of ``codes (N, L) uint8`` drawn without replacement with ``seed``, in file order
    (real sequences, not shuffled)."""
    codes = np.asarray(codes, dtype=np.uint8)
    return codes[sample_rows(codes.shape[0], n, seed)]


def _start(L: int, w: int, position: int | None) -> int:
    start = (L - w) // 2 if position is None else int(position)
    if not 0 <= start <= L - w:
        raise ValueError(f"a {w} bp motif at {start} does not fit in {L} bp")
    return start


def insert_codes(background, motif, position: int | None = None) -> np.ndarray:
    """Copy of ``background (N, L) uint8`` with the motif's consensus written at 0-based ``position``
    (default: centred, start ``(L - w) // 2``) in every sequence."""
    bg = np.asarray(background, dtype=np.uint8)
    cons = consensus_codes(motif)
    start = _start(bg.shape[1], cons.size, position)
    out = bg.copy()
    out[:, start : start + cons.size] = cons  # broadcast over sequences
    return out


def insert_motif(model: nn.Module, background, motif, position: int | None = None, batch_size: int = 256,
                 device="cpu", rc_average: bool = True, background_probs=None) -> np.ndarray:
    """Mean change in predicted probability ``(T,) float64`` when the motif's consensus is inserted into
    ``background (N, L) uint8`` at ``position`` (default: centre); ``mean_n(p_inserted - p_background)``.

    ``background_probs (N, T)``: the background's predictions, if already computed (see :func:`insertion_table`).
    """
    if background_probs is None:
        background_probs = predict_codes(model, background, batch_size, device, rc_average)
    p = predict_codes(model, insert_codes(background, motif, position), batch_size, device, rc_average)
    return (p.astype(np.float64) - np.asarray(background_probs, dtype=np.float64)).mean(axis=0)


def insertion_table(model: nn.Module, background, motifs: dict, target_names=None, position: int | None = None,
                    batch_size: int = 256, device="cpu", rc_average: bool = True) -> pd.DataFrame:
    """Motif x target table of :func:`insert_motif` effects; ``motifs``: name -> ``(w, 4)`` PWM or consensus.

    The background is predicted once. Rows in the order of ``motifs``; columns ``target_names`` (or 0..T-1).
    """
    bg_probs = predict_codes(model, background, batch_size, device, rc_average)
    rows = {name: insert_motif(model, background, m, position, batch_size, device, rc_average, bg_probs)
            for name, m in motifs.items()}
    cols = list(target_names) if target_names is not None else list(range(bg_probs.shape[1]))
    df = pd.DataFrame.from_dict(rows, orient="index", columns=cols)
    df.index.name = "motif"
    log.info("inserted %d motifs into %d background sequences", len(rows), len(background))
    return df

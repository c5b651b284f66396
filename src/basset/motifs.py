"""First-layer filters as motifs: PWMs from activating windows, information content, consensus and trimming.

The Basset recipe (Kelley et al. 2016, ``basset_motifs.py``): run the first convolution (after ReLU) over a
set of sequences; for each filter keep every window whose activation exceeds
``threshold * (max - mean) + mean`` (max and mean of that filter over all sequences and positions), count
the bases of those windows into a position frequency matrix, add a pseudocount and normalise. The PWMs are
then named by comparing them with a motif database (:mod:`basset.tomtom`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from .logs import progress_bar
from .memefile import Motif
from .models import eval_mode, first_layer_geometry
from .sequence import one_hot

#: Basset's background: GC content 0.415 (A, C, G, T)
GC_BACKGROUND = (0.2925, 0.2075, 0.2075, 0.2925)


def background_from_gc(gc: float) -> tuple[float, float, float, float]:
    """GC fraction -> background probabilities (A, C, G, T)."""
    return ((1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2)


# ------------------------------------------------------------------------------------------------- PWMs
@dataclass
class FilterPWMs:
    """Result of :func:`filter_pwms` for ``F`` filters of width ``w``.

    counts:     ``(F, w, 4) float64`` base counts of the activating windows (no pseudocount; N not counted)
    pwms:       list of ``F`` ``(w, 4) float64`` probability matrices, ``None`` for filters with too few sites
    nsites:     ``(F,) int64`` activating windows per filter
    ic:         ``(F,) float64`` information content of each PWM in bits (NaN where ``pwms[f]`` is None)
    thresholds: ``(F,) float64`` activation thresholds used
    max, mean:  ``(F,) float64`` activation maximum and mean over all sequences and positions
    """

    counts: np.ndarray
    pwms: list
    nsites: np.ndarray
    ic: np.ndarray
    thresholds: np.ndarray
    max: np.ndarray
    mean: np.ndarray

    def motifs(self, prefix: str = "filter") -> list[Motif]:
        """The filters that have a PWM as :class:`Motif` (id ``filter<f>``, 0-based ``f``)."""
        return [Motif(f"{prefix}{f}", f"{prefix}{f}", p, float(self.nsites[f]))
                for f, p in enumerate(self.pwms) if p is not None]


def _batches(codes, batch_size: int):
    for start in range(0, len(codes), batch_size):
        yield np.asarray(codes[start:start + batch_size])


def _activations(model, batch, device) -> tuple[torch.Tensor, torch.Tensor]:
    """``(codes (B, L) tensor, first-layer activations (B, F, L') float64)`` of one batch."""
    x = torch.as_tensor(batch, device=device)
    return x, model.first_layer(one_hot(x)).double()


def _activation_max_mean(model, codes, batch_size: int, device, bar) -> tuple[torch.Tensor, torch.Tensor]:
    """First pass: each filter's maximum and mean activation over all ``N x L'`` positions, ``(F,)`` each."""
    act_max = act_sum = None
    n_pos = 0
    for batch in _batches(codes, batch_size):
        _, a = _activations(model, batch, device)
        bmax, bsum = a.amax(dim=(0, 2)), a.sum(dim=(0, 2))
        act_max = bmax if act_max is None else torch.maximum(act_max, bmax)
        act_sum = bsum if act_sum is None else act_sum + bsum
        n_pos += a.shape[0] * a.shape[2]
        bar.update(1)
    return act_max, act_sum / n_pos


def _window_counts(model, codes, thr: torch.Tensor, batch_size: int, device, bar) -> tuple[np.ndarray, np.ndarray]:
    """Second pass: base counts ``(F, w, 4)`` and numbers ``(F,)`` of the windows above ``thr`` per filter."""
    width, left = first_layer_geometry(model)
    n_filters = thr.numel()
    counts = torch.zeros(n_filters * width * 5, dtype=torch.float64, device=device)
    nsites = torch.zeros(n_filters, dtype=torch.int64, device=device)
    offs = torch.arange(width, device=device)
    for batch in _batches(codes, batch_size):
        x, a = _activations(model, batch, device)
        L = x.shape[1]
        # position i is the window [i - left, i - left + w); keep windows inside the sequence
        pos = torch.arange(a.shape[2], device=device)
        inside = (pos - left >= 0) & (pos - left + width <= L)
        hit = (a > thr[None, :, None]) & inside[None, None, :]
        b, f, i = torch.nonzero(hit, as_tuple=True)
        bar.update(1)
        if b.numel() == 0:
            continue
        windows = x.long().unfold(1, width, 1)  # (B, L - w + 1, w) view, no copy
        words = windows[b, i - left]  # (K, w)
        idx = (f[:, None] * width + offs[None, :]) * 5 + words
        counts += torch.bincount(idx.reshape(-1), minlength=counts.numel()).double()
        nsites += torch.bincount(f, minlength=n_filters)
    return counts.reshape(n_filters, width, 5)[:, :, :4].cpu().numpy(), nsites.cpu().numpy()


def filter_pwms(model, codes, batch_size: int = 256, device="cpu", threshold: float = 0.5,
                pseudocount: float = 1.0, min_sites: int = 10, background=GC_BACKGROUND,
                progress: bool = False) -> FilterPWMs:
    """PWMs of the model's first-layer filters from the windows that activate them (Basset's recipe).

    ``codes`` is ``(N, L) uint8`` (A, C, G, T, N = 0..4; an h5py dataset works, it is read in batches).
    Two passes: the first gets each filter's maximum and mean activation over all ``N x L'`` positions,
    the second gathers the windows above ``threshold * (max - mean) + mean`` with ``unfold`` and counts
    their bases. Windows running off either end of the sequence are skipped. Filters with fewer than
    ``min_sites`` windows get ``None``. ``ic`` is :func:`information_content` against ``background``.
    ``device`` is a torch device (see :func:`basset.device.resolve_device`).
    """
    if len(codes) == 0:
        raise ValueError("filter_pwms: no sequences")
    model = model.to(device)
    bar = progress_bar(2 * -(-len(codes) // batch_size), enabled=progress, desc="filter PWMs", unit="batch")
    with eval_mode(model), torch.no_grad():
        act_max, mean = _activation_max_mean(model, codes, batch_size, device, bar)
        thr = threshold * (act_max - mean) + mean
        counts, nsites = _window_counts(model, codes, thr, batch_size, device, bar)
    bar.close()
    pwms, ic = [], np.full(len(nsites), np.nan)
    for f in range(len(nsites)):  # cheap: F small matrices
        if nsites[f] < min_sites:
            pwms.append(None)
            continue
        c = counts[f] + pseudocount
        pwms.append(c / c.sum(1, keepdims=True))
        ic[f] = information_content(pwms[f], background)
    return FilterPWMs(counts, pwms, nsites, ic, thr.cpu().numpy(), act_max.cpu().numpy(), mean.cpu().numpy())


def column_information(pwm, background=GC_BACKGROUND) -> np.ndarray:
    """``(..., w, 4)`` probabilities -> ``(..., w)`` bits: ``sum_b p_b log2(p_b / bg_b)`` (0 log 0 = 0)."""
    p = np.asarray(pwm, dtype=np.float64)
    bg = np.asarray(background, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log2(p / bg), 0.0)
    return terms.sum(-1)


def information_content(pwm, background=GC_BACKGROUND) -> float:
    """Information content of a ``(w, 4)`` PWM in bits: relative entropy to ``background`` summed over columns.

    Basset's own code uses the GC = 0.415 background (the default); pass ``(0.25,) * 4`` for the classic
    2-bit scale. A uniform column scores 0 only against a uniform background.
    """
    return float(column_information(pwm, background).sum())


def trim_pwm(pwm, min_ic: float = 0.0, background=GC_BACKGROUND) -> np.ndarray:
    """Drop leading and trailing columns with information below ``min_ic`` bits; ``(w, 4) -> (w', 4)``.

    Keeps at least the most informative column. ``min_ic <= 0`` returns the PWM unchanged.
    """
    pwm = np.asarray(pwm, dtype=np.float64)
    if min_ic <= 0:
        return pwm
    ic = column_information(pwm, background)
    keep = np.flatnonzero(ic >= min_ic)
    if keep.size == 0:
        best = int(np.argmax(ic))
        return pwm[best:best + 1]
    return pwm[keep[0]:keep[-1] + 1]


def consensus(pwm) -> str:
    """Consensus of a ``(w, 4)`` PWM: the most likely base, lower case where its probability is below 0.5."""
    pwm = np.asarray(pwm)
    best = pwm.argmax(1)
    letters = np.array(list("ACGT"))[best]
    strong = pwm[np.arange(len(pwm)), best] >= 0.5
    return "".join(np.where(strong, letters, np.char.lower(letters)))


def filter_table(result: FilterPWMs, prefix: str = "filter") -> pd.DataFrame:
    """One row per filter: ``filter, nsites, ic, consensus, threshold`` (empty consensus without a PWM)."""
    return pd.DataFrame({
        "filter": [f"{prefix}{f}" for f in range(len(result.pwms))],
        "nsites": result.nsites,
        "ic": np.round(result.ic, 4),
        "consensus": ["" if p is None else consensus(p) for p in result.pwms],
        "threshold": result.thresholds,
    })

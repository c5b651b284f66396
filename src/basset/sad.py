"""SNP accessibility difference (SAD), Basset-style: arrays in, arrays out.

``SAD_t = p_t(alt) - p_t(ref)`` per target ``t`` for reference and alternative windows ``(k, L) uint8`` (from
:func:`basset.vcf.variant_sequences`), with ``p`` the sigmoid of the logits, averaged with the reverse complement
on request (:func:`basset.predict.predict_codes`). The summaries of a SAD block (``mean_sad``, ``max_abs_sad``,
``top_target``, ``weighted = sum_t w_t |SAD_t|``) are :func:`basset.sadfile.summaries`; the files that hold
them, :mod:`basset.sadfile`.
"""

from __future__ import annotations

import numpy as np

from .models import model_seq_len
from .predict import predict_codes
from .sadfile import SUMMARY_COLUMNS

#: the columns of a SAD table before the per-target SAD columns (``weighted`` only when weights are given)
SAD_COLUMNS = SUMMARY_COLUMNS


def input_length(model, seq_len: int | None = None) -> int:
    """``seq_len`` (bp), or the model's own (``config['seq_len']``) when it is ``None``."""
    if seq_len is not None:
        return int(seq_len)
    L = model_seq_len(model)
    if L is None:
        raise ValueError("seq_len not given and the model has no config['seq_len']: pass seq_len explicitly")
    return L


def check_target_names(target_names) -> list[str]:
    """The target names as strings; they must be unique and differ from the fixed columns of a SAD table."""
    target_names = [str(t) for t in target_names]
    clash = sorted(set(target_names) & set(SAD_COLUMNS))
    if clash or len(set(target_names)) != len(target_names):
        raise ValueError(f"target names must be unique and differ from the table's columns {SAD_COLUMNS}; "
                         f"got {'duplicates' if not clash else ', '.join(clash)}")
    return target_names


def weight_vector(weights: dict | None, target_names: list[str]) -> np.ndarray | None:
    """``(T,) float64`` weights in target order (0 for a target not named) from ``{target: w}``; ``None`` for
    ``None``. A name that is not a target raises ValueError."""
    if weights is None:
        return None
    unknown = sorted(set(map(str, weights)) - set(target_names))
    if unknown:
        raise ValueError(f"weights name targets the model does not have: {', '.join(unknown)}")
    return np.array([float(weights.get(t, 0.0)) for t in target_names], dtype=np.float64)


def predict_codes_pair(model, ref: np.ndarray, alt: np.ndarray, batch_size: int = 256, device="cpu",
                       rc_average: bool = True, bf16: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities ``(k, T) float32`` of reference and alternative windows ``(k, L) uint8``
    (:func:`basset.predict.predict_codes` over each)."""
    kw = dict(batch_size=batch_size, device=device, rc_average=rc_average, bf16=bf16)
    return predict_codes(model, ref, **kw), predict_codes(model, alt, **kw)


def score_windows(model, ref: np.ndarray, alt: np.ndarray, n_targets: int, batch_size: int = 256, device="cpu",
                  rc_average: bool = True, bf16: bool = False) -> np.ndarray:
    """SAD ``(k, T) float32`` = p(alt) - p(ref) of windows ``ref``, ``alt`` ``(k, L) uint8``.

    ``model``: any ``nn.Module`` mapping ``(B, 4, L)`` one-hot to ``(B, T)`` logits, with ``T = n_targets``
    (checked: a ValueError otherwise).
    """
    p_ref, p_alt = predict_codes_pair(model, ref, alt, batch_size, device, rc_average, bf16)
    if p_ref.shape[1] != n_targets:
        raise ValueError(f"the model predicts {p_ref.shape[1]} targets but {n_targets} target names were given")
    return np.subtract(p_alt, p_ref, out=p_alt)

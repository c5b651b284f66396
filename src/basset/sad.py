"""SNP accessibility difference (SAD), Basset-style: arrays in, arrays out.

``SAD_t = p_t(alt) - p_t(ref)`` per target ``t`` for reference and alternative windows ``(k, L) uint8`` (from
:func:`basset.vcf.variant_sequences`), with ``p`` the sigmoid of the logits, averaged with the reverse complement
on request (:func:`basset.predict.predict_codes`). A SAD table has the columns :data:`SAD_COLUMNS` (chrom, pos
(1-based), id, ref, alt (the scored orientation), swapped, then the summaries ``mean_sad`` (mean of the signed
SAD over targets), ``max_abs_sad``, ``top_target`` (the target of largest ``|SAD|``) and, when weights are
given, ``weighted = sum_t w_t |SAD_t|``), then one SAD column per target, floats with 6 significant digits
(:func:`format_rows`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .models import model_seq_len
from .predict import predict_codes

#: the columns of a SAD table before the per-target SAD columns (``weighted`` only when weights are given)
SAD_COLUMNS = ["chrom", "pos", "id", "ref", "alt", "swapped", "mean_sad", "max_abs_sad", "top_target", "weighted"]


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
                       rc_average: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities ``(k, T) float32`` of reference and alternative windows ``(k, L) uint8``, in one pass
    of :func:`basset.predict.predict_codes` over both (full batches even for small chunks)."""
    probs = predict_codes(model, np.concatenate([ref, alt]), batch_size=batch_size, device=device,
                          rc_average=rc_average)
    return probs[: ref.shape[0]], probs[ref.shape[0] :]


def score_windows(model, ref: np.ndarray, alt: np.ndarray, n_targets: int, batch_size: int = 256, device="cpu",
                  rc_average: bool = True) -> np.ndarray:
    """SAD ``(k, T) float64`` = p(alt) - p(ref) of windows ``ref``, ``alt`` ``(k, L) uint8``.

    ``model``: any ``nn.Module`` mapping ``(B, 4, L)`` one-hot to ``(B, T)`` logits, with ``T = n_targets``
    (checked: a ValueError otherwise).
    """
    p_ref, p_alt = predict_codes_pair(model, ref, alt, batch_size, device, rc_average)
    if p_ref.shape[1] != n_targets:
        raise ValueError(f"the model predicts {p_ref.shape[1]} targets but {n_targets} target names were given")
    return p_alt.astype(np.float64) - p_ref.astype(np.float64)


def sad_header(target_names: list[str], weighted: bool) -> list[str]:
    """The columns of a SAD table: :data:`SAD_COLUMNS` (``weighted`` only when ``weighted``), then the targets."""
    return [c for c in SAD_COLUMNS if c != "weighted" or weighted] + list(target_names)


def sad_frame(variants: pd.DataFrame, sad: np.ndarray, target_names: list[str],
              weights: np.ndarray | None = None) -> pd.DataFrame:
    """The SAD table of ``variants`` (``k`` rows: chrom, pos, id, ref, alt, swapped, as
    :meth:`basset.vcf.VariantSequences.scored`) with their SAD ``(k, T)``: summary columns, then one per target."""
    abs_sad = np.abs(sad)
    out = {c: variants[c].to_numpy() for c in SAD_COLUMNS[:6]}
    out.update({
        "mean_sad": sad.mean(axis=1),
        "max_abs_sad": abs_sad.max(axis=1),
        "top_target": np.asarray(target_names, dtype=object)[abs_sad.argmax(axis=1)],
    })
    if weights is not None:
        out["weighted"] = abs_sad @ weights
    df = pd.DataFrame(out)
    return pd.concat([df, pd.DataFrame(sad, columns=target_names)], axis=1)


def format_rows(df: pd.DataFrame) -> str:
    """TSV lines of a SAD frame, floats with 6 significant digits: the same text as
    ``to_csv(float_format="%.6g")`` at about 3x the speed (one ``%`` per row instead of one per cell)."""
    kinds = ["%d" if df[c].dtype.kind in "iu" else "%.6g" if df[c].dtype.kind == "f" else "%s" for c in df.columns]
    fmt = "\t".join(kinds) + "\n"
    return "".join([fmt % row for row in zip(*(df[c].tolist() for c in df.columns))])


def sad_target_columns(df: pd.DataFrame) -> list[str]:
    """The per-target SAD columns of a SAD table (everything after the fixed columns)."""
    if "target_names" in df.attrs:
        return list(df.attrs["target_names"])
    return [str(c) for c in df.columns if c not in SAD_COLUMNS]

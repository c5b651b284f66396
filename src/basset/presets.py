"""Architecture presets and their validation: plain config dicts, no torch.

:func:`model_config` is what the workflow checks when it is parsed (``basset.config.check_model``), so the
check costs no torch import there (a SLURM job re-parses the workflow); :mod:`basset.models` builds the
network from the dict it returns.
"""

from __future__ import annotations

import copy

from .errors import ConfigError

#: Architecture presets. ``basset``: Kelley et al. 2016 (reference/basset_pretrained_params.txt);
#: ``deepsea``: Zhou & Troyanskaya 2015; ``cpu``: a small net for the simulated genome on a laptop.
PRESETS: dict[str, dict] = {
    "basset": {
        "seq_len": 600,
        "conv_filters": [300, 200, 200],
        "conv_widths": [19, 11, 7],
        "conv_pools": [3, 4, 4],
        "conv_dropout": [0.0, 0.0, 0.0],
        "conv_padding": "same",
        "dense_units": [1000, 1000],
        "dense_dropout": [0.3, 0.3],
        "batch_norm": True,
        # Torch7's SpatialMaxPooling:ceil(): 600 -> 200 -> 50 -> 13 positions, 13 x 200 = 2,600 dense inputs
        "pool_ceil": True,
        "n_fill": 0.0,
    },
    "deepsea": {
        "seq_len": 1000,
        "conv_filters": [320, 480, 960],
        "conv_widths": [8, 8, 8],
        "conv_pools": [4, 4, 0],
        "conv_dropout": [0.2, 0.2, 0.5],
        "conv_padding": "valid",
        "dense_units": [925],
        "dense_dropout": [0.0],
        "batch_norm": False,
        "pool_ceil": False,
        "n_fill": 0.0,
    },
    # chosen on the default simulated genome (14k training sites): see benchmarks/README.md. The wide first
    # pooling (12 rather than Basset's 3) makes first-layer filters learn whole motifs instead of pieces that
    # deeper layers assemble (Koo & Eddy, PLoS Comput Biol 2019): same AUROC, far more interpretable filters
    "cpu": {
        "seq_len": 600,
        "conv_filters": [96, 96, 96],
        "conv_widths": [19, 11, 7],
        "conv_pools": [12, 4, 4],
        "conv_dropout": [0.1, 0.1, 0.1],
        "conv_padding": "same",
        "dense_units": [256],
        "dense_dropout": [0.5],
        "batch_norm": True,
        "pool_ceil": False,
        "n_fill": 0.0,
    },
}

_LIST_INT = ("conv_filters", "conv_widths", "conv_pools", "dense_units")
_KEYS = tuple(PRESETS["basset"])


def _int_list(key: str, value) -> list[int]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = [value]
    try:
        out = [int(v) for v in value]
    except (TypeError, ValueError):
        raise ConfigError(f"model.{key}", f"expected a list of integers, got {value!r}") from None
    if any(o != v for o, v in zip(out, value)):
        raise ConfigError(f"model.{key}", f"expected whole numbers, got {value!r}")
    return out


def _dropout_list(key: str, value, n: int) -> list[float]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = [value] * n
    try:
        out = [float(v) for v in value]
    except (TypeError, ValueError):
        raise ConfigError(f"model.{key}", f"expected a probability or a list of {n}, got {value!r}") from None
    if len(out) != n:
        raise ConfigError(f"model.{key}", f"expected {n} values (one per layer), got {len(out)}")
    if any(not 0 <= p < 1 for p in out):
        raise ConfigError(f"model.{key}", f"dropout probabilities must be in [0, 1), got {out}")
    return out


def model_config(preset: str = "basset", **overrides) -> dict:
    """A validated architecture config: ``PRESETS[preset]`` updated with ``overrides``.

    ``None`` values mean "the preset's default" (so a YAML ``null`` can be passed straight through).
    Dropouts may be one number for every layer. Raises :class:`ConfigError` naming ``model.<key>`` for an
    unknown preset or key, a wrong type, or per-layer lists of different lengths. Returns a new dict of
    plain Python types (ints, floats, bools, str, lists).
    """
    if preset not in PRESETS:
        raise ConfigError("model.preset", f"expected one of {', '.join(PRESETS)}, got {preset!r}")
    cfg = copy.deepcopy(PRESETS[preset])
    for key, value in overrides.items():
        if key not in _KEYS:
            raise ConfigError(f"model.{key}", f"unknown model setting (expected one of {', '.join(_KEYS)})")
        if value is not None:
            cfg[key] = value
    for key in _LIST_INT:
        cfg[key] = _int_list(key, cfg[key])
        if any(v < 0 for v in cfg[key]) or (key != "conv_pools" and any(v < 1 for v in cfg[key])):
            raise ConfigError(f"model.{key}", f"expected positive integers, got {cfg[key]}")
    n_conv = len(cfg["conv_filters"])
    if n_conv == 0:
        raise ConfigError("model.conv_filters", "at least one convolution layer is needed")
    for key in ("conv_widths", "conv_pools"):
        if len(cfg[key]) != n_conv:
            raise ConfigError(f"model.{key}", f"expected {n_conv} values (one per conv layer), got {len(cfg[key])}")
    cfg["conv_dropout"] = _dropout_list("conv_dropout", cfg["conv_dropout"], n_conv)
    cfg["dense_dropout"] = _dropout_list("dense_dropout", cfg["dense_dropout"], len(cfg["dense_units"]))
    try:
        cfg["seq_len"] = int(cfg["seq_len"])
    except (TypeError, ValueError):
        raise ConfigError("model.seq_len", f"expected a length in bp, got {cfg['seq_len']!r}") from None
    if cfg["conv_padding"] not in ("same", "valid"):
        raise ConfigError("model.conv_padding", f"expected 'same' or 'valid', got {cfg['conv_padding']!r}")
    for key in ("batch_norm", "pool_ceil"):
        if not isinstance(cfg[key], bool):
            raise ConfigError(f"model.{key}", f"expected true or false, got {cfg[key]!r}")
    try:
        cfg["n_fill"] = float(cfg["n_fill"])
    except (TypeError, ValueError):
        raise ConfigError("model.n_fill", f"expected a number, got {cfg['n_fill']!r}") from None
    if not 0 <= cfg["n_fill"] <= 1:
        raise ConfigError("model.n_fill", f"expected a value in [0, 1] for each channel at an N, got {cfg['n_fill']}")
    if flat_length(cfg) < 1:
        raise ConfigError("model.seq_len", f"{cfg['seq_len']} bp is too short for the convolution/pooling stack")
    return cfg


def flat_length(cfg: dict) -> int:
    """Positions left after the conv/pool stack for a ``seq_len`` input (``pool_ceil``: a last partial window
    of each pooling still gives a position, as Torch7's ceil mode; else it is dropped)."""
    length = cfg["seq_len"]
    for width, pool in zip(cfg["conv_widths"], cfg["conv_pools"]):
        if cfg["conv_padding"] == "valid":
            length -= width - 1
        if pool > 1:
            length = -(-length // pool) if cfg.get("pool_ceil") and length > 0 else length // pool
    return length

"""Architecture presets and their validation: plain config dicts, no torch.

:func:`model_config` is what the workflow checks when it is parsed (``basset.config.check_model``), so the
check costs no torch import there (a SLURM job re-parses the workflow); :mod:`basset.models` builds the
network from the dict it returns.

Two families: Basset-style classifiers (:data:`PRESETS`: one output per target for a whole sequence) and
Basenji-style coverage models (:data:`COVERAGE_PRESETS`, ``"arch": "basenji"``: a count per bin per track). A
coverage config's geometry (output bins, receptive field, which input bases each output bin sees) is computed
here, from the dict alone, so that the dataset, the trainer, the variant scorer and the tests share one owner.
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

#: Basenji-style coverage presets (Kelley et al. 2018): a conv tower whose pooling brings each position down to
#: one ``bin_size`` bin, residual dilated convolutions whose dilation grows by ``dilation_rate`` per block, and a
#: per-bin linear head with softplus. ``context`` (null: ``seq_len``) is the centred stretch of the input the model
#: reads (the window-size ablation); ``crop_bins`` output bins are dropped at each edge (Basenji2's cropping).
COVERAGE_PRESETS: dict[str, dict] = {
    # the paper's geometry: 131,072 bp in, 1,024 bins of 128 bp, dilations 1..64 (a GPU model)
    "basenji": {
        "arch": "basenji",
        "seq_len": 131072,
        "bin_size": 128,
        "conv_filters": [288, 339, 399, 469, 552, 650, 768],
        "conv_widths": [15, 5, 5, 5, 5, 5, 5],
        "conv_pools": [2, 2, 2, 2, 2, 2, 2],
        "dilated_layers": 7,
        "dilated_filters": 384,
        "dilated_width": 3,
        "dilation_rate": 2,
        "dropout": 0.3,
        "crop_bins": 0,
        "context": None,
        "batch_norm": True,
        "n_fill": 0.0,
    },
    # the simulated default on 2 cores: 16,384 bp in, 128 bins of 128 bp, a receptive field of about 16 kb
    "basenji_small": {
        "arch": "basenji",
        "seq_len": 16384,
        "bin_size": 128,
        "conv_filters": [48, 64, 64],
        "conv_widths": [15, 5, 5],
        "conv_pools": [8, 4, 4],
        "dilated_layers": 6,
        "dilated_filters": 32,
        "dilated_width": 3,
        "dilation_rate": 2,
        "dropout": 0.1,
        "crop_bins": 0,
        "context": None,
        "batch_norm": True,
        "n_fill": 0.0,
    },
}
_COVERAGE_KEYS = tuple(COVERAGE_PRESETS["basenji"])

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
    if preset in COVERAGE_PRESETS or overrides.get("arch") == "basenji":
        return coverage_config(preset, **overrides)
    if preset not in PRESETS:
        raise ConfigError("model.preset", f"expected one of {', '.join([*PRESETS, *COVERAGE_PRESETS])}, "
                                          f"got {preset!r}")
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


# ------------------------------------------------------------------------------------- coverage models
def _positive_int(key: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value or value < minimum:
        raise ConfigError(f"model.{key}", f"expected a whole number >= {minimum}, got {value!r}")
    return int(value)


def coverage_config(preset: str = "basenji_small", **overrides) -> dict:
    """A validated coverage-model config: ``COVERAGE_PRESETS[preset]`` updated with ``overrides`` (``None``: the
    preset's value). Checks that the tower's pools multiply to ``bin_size``, that ``seq_len`` and ``context`` are
    whole bins and that the context sits on the bin grid, centred; :class:`ConfigError` names ``model.<key>``."""
    if preset not in COVERAGE_PRESETS:
        preset = "basenji_small" if overrides.get("arch") == "basenji" else preset
    if preset not in COVERAGE_PRESETS:
        raise ConfigError("model.preset", f"expected one of {', '.join(COVERAGE_PRESETS)}, got {preset!r}")
    cfg = copy.deepcopy(COVERAGE_PRESETS[preset])
    for key, value in overrides.items():
        if key not in _COVERAGE_KEYS:
            raise ConfigError(f"model.{key}", f"not a setting of a coverage model (expected one of "
                                              f"{', '.join(k for k in _COVERAGE_KEYS if k != 'arch')})")
        if value is not None:
            cfg[key] = value
    for key in ("conv_filters", "conv_widths", "conv_pools"):
        cfg[key] = _int_list(key, cfg[key])
        if not cfg[key] or any(v < 1 for v in cfg[key]):
            raise ConfigError(f"model.{key}", f"expected positive integers, got {cfg[key]}")
    if not len(cfg["conv_filters"]) == len(cfg["conv_widths"]) == len(cfg["conv_pools"]):
        raise ConfigError("model.conv_widths", "conv_filters, conv_widths and conv_pools need one value per layer")
    for key, minimum in (("seq_len", 1), ("bin_size", 1), ("dilated_layers", 0), ("dilated_filters", 1),
                         ("dilated_width", 1), ("dilation_rate", 1), ("crop_bins", 0)):
        cfg[key] = _positive_int(key, cfg[key], minimum)
    cfg["context"] = cfg["seq_len"] if cfg["context"] is None else _positive_int("context", cfg["context"])
    cfg["dropout"] = _dropout_list("dropout", cfg["dropout"], 1)[0]
    pooled = 1
    for p in cfg["conv_pools"]:
        pooled *= p
    if pooled != cfg["bin_size"]:
        raise ConfigError("model.conv_pools", f"the tower's pools {cfg['conv_pools']} bring {pooled} bp to one "
                                              f"position; expected bin_size {cfg['bin_size']}")
    if cfg["seq_len"] % cfg["bin_size"]:
        raise ConfigError("model.seq_len", f"{cfg['seq_len']} bp is not a whole number of {cfg['bin_size']} bp bins")
    if cfg["context"] > cfg["seq_len"] or cfg["context"] % cfg["bin_size"] or \
            (cfg["seq_len"] - cfg["context"]) % (2 * cfg["bin_size"]):
        raise ConfigError("model.context", f"expected whole {cfg['bin_size']} bp bins centred in the {cfg['seq_len']} "
                                           f"bp input (an even number of bins fewer), got {cfg['context']}")
    if output_bins(cfg) < 1:
        raise ConfigError("model.crop_bins", f"cropping {cfg['crop_bins']} bins at each edge leaves none of the "
                                             f"{cfg['context'] // cfg['bin_size']}")
    for key in ("batch_norm",):
        if not isinstance(cfg[key], bool):
            raise ConfigError(f"model.{key}", f"expected true or false, got {cfg[key]!r}")
    cfg["n_fill"] = float(cfg["n_fill"])
    return cfg


def is_coverage(cfg: dict) -> bool:
    """True for a coverage-model config (:func:`coverage_config`)."""
    return isinstance(cfg, dict) and cfg.get("arch") == "basenji"


def output_bins(cfg: dict) -> int:
    """Bins a coverage model predicts per input: its context's bins less ``crop_bins`` at each edge."""
    return cfg["context"] // cfg["bin_size"] - 2 * cfg["crop_bins"]


def first_output_bin(cfg: dict) -> int:
    """The dataset bin (0-based, of ``seq_len // bin_size``) of a coverage model's first output bin."""
    return (cfg["seq_len"] - cfg["context"]) // 2 // cfg["bin_size"] + cfg["crop_bins"]


def dilations(cfg: dict) -> list[int]:
    """The dilation of each residual block: 1, rate, rate^2, ..."""
    return [cfg["dilation_rate"] ** i for i in range(cfg["dilated_layers"])]


def _same_pad(width: int, dilation: int = 1) -> tuple[int, int]:
    """(left, right) zeros of a stride-1 ``padding="same"`` convolution (PyTorch puts the odd one on the right)."""
    total = dilation * (width - 1)
    return total // 2, total - total // 2


def bin_input_span(cfg: dict) -> tuple[int, int]:
    """``(lo, hi)``: output bin ``j`` of a coverage model reads input bases ``[s + lo, s + hi]`` (inclusive, 0-based
    in the ``seq_len`` input, before zero padding clips them), ``s = (first_output_bin(cfg) + j) * bin_size``.

    Derived layer by layer (the per-bin head and 1x1 convolutions widen nothing; each ``same`` convolution reaches
    its padding's left and right; a pool of ``p`` maps position ``i`` to inputs ``[i p, i p + p - 1]``)."""
    lo = hi = 0  # the span in units of the current layer's positions, relative to the output position
    for d in reversed(dilations(cfg)):  # the dilated stack, at bin resolution
        left, right = _same_pad(cfg["dilated_width"], d)
        lo, hi = lo - left, hi + right
    for width, pool in zip(reversed(cfg["conv_widths"]), reversed(cfg["conv_pools"])):
        lo, hi = lo * pool, hi * pool + pool - 1
        left, right = _same_pad(width)
        lo, hi = lo - left, hi + right
    return lo, hi


def receptive_field(cfg: dict) -> int:
    """Input bases (bp) that one output bin of a coverage model reads (away from the input's edges):
    ``1 + sum (w_i - 1) J_i + sum (p_i - 1) J_i + sum_k (width - 1) d_k bin_size`` with ``J_i`` the product of the
    tower's pools before layer ``i``."""
    lo, hi = bin_input_span(cfg)
    return hi - lo + 1

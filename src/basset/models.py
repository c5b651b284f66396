"""The Basset convolutional network, its presets, and saving/loading of trained models.

A :class:`BassetNet` maps one-hot DNA ``(B, 4, L) float32`` to ``(B, T)`` **logits**, one per target
(cell type); the sigmoid is applied by the loss (``binary_cross_entropy_with_logits``) or at prediction
time. The architecture is set by a plain config dict (see :data:`PRESETS` and :func:`model_config`)::

    per conv layer i:  Conv1d(conv_filters[i], conv_widths[i]) -> BatchNorm1d -> ReLU
                       -> MaxPool1d(conv_pools[i]) (0 or 1 = no pooling) -> Dropout(conv_dropout[i])
    flatten
    per dense layer j: Linear(dense_units[j]) -> BatchNorm1d -> ReLU -> Dropout(dense_dropout[j])
    Linear(T)          logits

An N is an all-zero one-hot column; a model trained on a ``dataset.n_handling: uniform`` dataset has
``n_fill`` 0.25 and sees 0.25 in each channel there (:func:`fill_n`, the first step of :meth:`BassetNet.forward`
and :meth:`BassetNet.first_layer`), as the paper encoded N. ``batch_norm: false`` drops the BatchNorm layers.
Pooling uses ``kernel = stride = pool``; a partial last window is dropped (floor), or with ``pool_ceil`` (the
``basset`` preset, as Torch7's ceil mode that the paper's model used) kept: 600 bp then gives 13 positions after
the third pooling, 2,600 inputs to the first dense layer as the published model, rather than 12.

Padding (``conv_padding``): ``"same"`` (default; the Basset and cpu presets) pads each convolution so that
its output has the input's length and output position ``i`` is the window centred on input position
``i`` (for an even width ``w``, PyTorch puts the extra padding on the right: the window is
``[i - w/2 + 1, i + w/2]``), which keeps the first layer's activations aligned with the sequence for the motif stage.
``"valid"`` (the DeepSEA preset, as published) uses no padding: a width-``w`` layer shortens its input by
``w - 1`` and position ``i`` of :meth:`BassetNet.first_layer` is the window starting at base ``i``.

A :class:`BasenjiNet` (``"arch": "basenji"`` configs, :data:`basset.presets.COVERAGE_PRESETS`) maps the same
input to ``(B, bins, T)`` non-negative **counts** per bin and track (Kelley et al. 2018)::

    centre crop to ``context`` bp (the whole input by default)
    per tower layer i: Conv1d(conv_filters[i], conv_widths[i], same) -> BatchNorm1d -> ReLU -> MaxPool1d(conv_pools[i])
    per residual block k: x + Dropout(BN(Conv1d(1)(ReLU(BN(Conv1d(dilated_width, dilation rate^k)(ReLU(x)))))))
    drop crop_bins bins at each edge
    ReLU -> Conv1d(T, 1) -> softplus        one linear head shared by every bin

:func:`build_model` builds either from its config; the attribute ``objective`` (``"binary"`` or ``"poisson"``)
tells the trainer which loss and validation metric apply.

Saved models (:func:`save_model`) are dicts of tensors and plain Python types, readable with
``torch.load(path, weights_only=True)``::

    {"state_dict": {name: tensor}, "config": dict, "n_targets": int, "target_names": [str],
     "basset_version": str, **extra}
"""

from __future__ import annotations

import contextlib
import copy
import math
from pathlib import Path

import torch
from torch import nn

from . import __version__
from .errors import ConfigError, InputError
from .fileio import atomic_path
from .presets import (  # noqa: F401 (re-exported: PRESETS, flat_length)
    PRESETS,
    coverage_config,
    dilations,
    first_output_bin,
    flat_length,
    is_coverage,
    model_config,
    output_bins,
)


class BassetNet(nn.Module):
    """Multi-task CNN: ``(B, 4, L) float`` one-hot DNA -> ``(B, T) float`` logits (see module docstring)."""

    objective = "binary"

    def __init__(self, config: dict, n_targets: int):
        super().__init__()
        self.config = model_config("basset", **config)  # validated copy; every key is given
        cfg = self.config
        self.n_targets = int(n_targets)
        self.n_fill = float(cfg["n_fill"])  # each channel's value at an N (all-zero one-hot column)
        bn = cfg["batch_norm"]
        layers: list[nn.Module] = []
        channels = 4
        for i, (f, w, p, d) in enumerate(
            zip(cfg["conv_filters"], cfg["conv_widths"], cfg["conv_pools"], cfg["conv_dropout"])
        ):
            block = [nn.Conv1d(channels, f, w, padding=cfg["conv_padding"])]
            if bn:
                block.append(nn.BatchNorm1d(f))
            block.append(nn.ReLU())
            if p > 1:
                block.append(nn.MaxPool1d(p, ceil_mode=cfg["pool_ceil"]))
            if d > 0:
                block.append(nn.Dropout(d))
            layers.append(nn.Sequential(*block))
            channels = f
        self.conv = nn.ModuleList(layers)
        dense: list[nn.Module] = [nn.Flatten()]
        width = channels * flat_length(cfg)
        for units, d in zip(cfg["dense_units"], cfg["dense_dropout"]):
            dense.append(nn.Linear(width, units))
            if bn:
                dense.append(nn.BatchNorm1d(units))
            dense.append(nn.ReLU())
            if d > 0:
                dense.append(nn.Dropout(d))
            width = units
        self.dense = nn.Sequential(*dense)
        self.output = nn.Linear(width, self.n_targets)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, 4, seq_len)`` one-hot -> ``(B, T)`` logits."""
        x = fill_n(x, self.n_fill)
        for block in self.conv:
            x = block(x)
        return self.output(self.dense(x))

    def first_layer(self, x: torch.Tensor) -> torch.Tensor:
        """First conv layer's activations after (batch norm and) ReLU, before pooling: ``(B, F, L')``.

        ``L' = L`` with ``"same"`` padding (position ``i`` centred on base ``i``), ``L - w + 1`` with
        ``"valid"`` (position ``i`` starts at base ``i``). Any input length ``L >= w`` is accepted.
        """
        block = self.conv[0]
        x = fill_n(x, self.n_fill)
        for layer in block:
            if isinstance(layer, (nn.MaxPool1d, nn.Dropout)):
                break
            x = layer(x)
        return x


class BasenjiNet(nn.Module):
    """Coverage CNN: ``(B, 4, seq_len) float`` one-hot DNA -> ``(B, output_bins, T) float`` predicted counts
    (softplus, >= 0) per bin and track (see the module docstring; geometry in :mod:`basset.presets`)."""

    objective = "poisson"

    def __init__(self, config: dict, n_targets: int):
        super().__init__()
        self.config = coverage_config(**config)
        cfg = self.config
        self.n_targets = int(n_targets)
        self.n_fill = float(cfg["n_fill"])
        self.n_bins = output_bins(cfg)
        bn = cfg["batch_norm"]

        def norm(c):
            return nn.BatchNorm1d(c) if bn else nn.Identity()

        tower, channels = [], 4
        for f, w, p in zip(cfg["conv_filters"], cfg["conv_widths"], cfg["conv_pools"]):
            tower.append(nn.Sequential(nn.Conv1d(channels, f, w, padding="same"), norm(f), nn.ReLU(),
                                       nn.MaxPool1d(p) if p > 1 else nn.Identity()))
            channels = f
        self.tower = nn.ModuleList(tower)
        mid = cfg["dilated_filters"]
        self.dilated = nn.ModuleList(
            nn.Sequential(nn.ReLU(), nn.Conv1d(channels, mid, cfg["dilated_width"], dilation=d, padding="same"),
                          norm(mid), nn.ReLU(), nn.Conv1d(mid, channels, 1), norm(channels), nn.Dropout(cfg["dropout"]))
            for d in dilations(cfg)
        )
        self.head = nn.Sequential(nn.ReLU(), nn.Conv1d(channels, self.n_targets, 1), nn.Softplus())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, 4, seq_len)`` one-hot -> ``(B, output_bins, T)`` counts."""
        cfg = self.config
        x = fill_n(x, self.n_fill)
        if cfg["context"] < x.shape[-1]:
            off = (x.shape[-1] - cfg["context"]) // 2
            x = x[..., off : off + cfg["context"]]
        for block in self.tower:
            x = block(x)
        for block in self.dilated:
            x = x + block(x)
        crop = cfg["crop_bins"]
        if crop:
            x = x[..., crop:-crop]
        return self.head(x).transpose(1, 2)


class CentreBins(nn.Module):
    """A coverage model's predictions restricted to the bins that the config ``cfg`` (same ``seq_len`` and
    ``bin_size``, a narrower ``context``) predicts: the long-window model scored on a short-window model's bins (the
    window ablation). ``forward``: ``(B, 4, seq_len)`` -> ``(B, output_bins(cfg), T)``."""

    objective = "poisson"

    def __init__(self, model: nn.Module, cfg: dict):
        super().__init__()
        self.model = unwrap(model)
        self.config = coverage_config(**cfg)
        self.n_targets = self.model.n_targets
        self.offset = first_output_bin(self.config) - first_output_bin(self.model.config)
        if self.offset < 0 or self.offset + output_bins(self.config) > self.model.n_bins:
            raise ValueError("the narrower config's bins are not all predicted by the model")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)[:, self.offset : self.offset + output_bins(self.config)]


class SummedCoverage(nn.Module):
    """A coverage model's predicted coverage summed over its bins: ``(B, 4, L)`` -> ``(B, T)``, what Basenji's SAD
    compares between alleles. Its ``objective`` ``"counts"`` tells the predictors to leave the outputs as they are
    (no sigmoid)."""

    objective = "counts"

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = unwrap(model)
        self.config = self.model.config
        self.n_targets = self.model.n_targets

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x).sum(1)


def scores(model: nn.Module, out: torch.Tensor) -> torch.Tensor:
    """What the predictors report of a model's output: a classifier's logits as probabilities (sigmoid); a coverage
    model's counts as they are."""
    return torch.sigmoid(out) if getattr(unwrap(model), "objective", "binary") == "binary" else out


def centre_bins(targets: torch.Tensor, cfg: dict) -> torch.Tensor:
    """The bins of dataset targets ``(B, seq_len // bin_size, T)`` that a coverage model with config ``cfg``
    predicts: ``(B, output_bins, T)`` (its context's bins less the cropped ones, centred)."""
    first = first_output_bin(cfg)
    return targets[:, first : first + output_bins(cfg)]


# ------------------------------------------------------------------------------------------ anatomy
# The one owner of the network's anatomy: the engines (motifs, influence, ISM) read the first layer, the network
# after its ReLU and the padding of each convolution from here.


def fill_n(x: torch.Tensor, value: float) -> torch.Tensor:
    """One-hot ``x (B, 4, L)`` with ``value`` in each channel of an all-zero column (an N): the paper's 0.25
    (``dataset.n_handling: uniform``). ``value`` 0 returns ``x`` itself."""
    if not value:
        return x
    return x + value * (1 - x.sum(1, keepdim=True))


def conv_padding(conv: nn.Conv1d) -> tuple[int, int]:
    """Zeros ``(left, right)`` that a Conv1d adds to its input: ``"same"`` pads ``w - 1`` in all with the odd
    extra zero on the right (PyTorch's choice), ``"valid"`` none, an integer ``p`` on both sides."""
    w = int(conv.kernel_size[0])
    if conv.padding == "same":
        left = (w - 1) // 2
        return left, w - 1 - left
    if conv.padding == "valid":
        return 0, 0
    return int(conv.padding[0]), int(conv.padding[0])


def first_layer_geometry(model: nn.Module) -> tuple[int, int]:
    """``(w, left)`` of the first convolution: position ``i`` of :meth:`BassetNet.first_layer` is the window of
    ``w`` bases starting at base ``i - left``."""
    conv = unwrap(model).conv[0][0]
    return int(conv.kernel_size[0]), conv_padding(conv)[0]


def _relu_index(model: nn.Module) -> int:
    """Index of the ReLU in the first conv block ``model.conv[0]``."""
    for i, layer in enumerate(model.conv[0]):
        if isinstance(layer, nn.ReLU):
            return i
    raise ValueError("the first conv block has no ReLU")


def first_block_tail(model: nn.Module) -> list[nn.Module]:
    """The layers of the first conv block after its ReLU (pooling, dropout)."""
    return list(model.conv[0])[_relu_index(model) + 1 :]


def rest_of_network(model: nn.Module, h: torch.Tensor) -> torch.Tensor:
    """Logits ``(B, T)`` from first-layer activations ``h (B, F, L')`` taken after the first ReLU.

    Runs the remaining layers of block 0 (pooling, dropout), then blocks 1.., the dense layers and the output.
    ``model.forward(x)`` equals ``rest_of_network(model, model.first_layer(x))``.
    """
    for layer in first_block_tail(model):
        h = layer(h)
    for block in model.conv[1:]:
        h = block(h)
    return model.output(model.dense(h))


@contextlib.contextmanager
def eval_mode(model: nn.Module):
    """Eval mode (batch norm on running stats, no dropout) for the block; the training flag is restored after."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


def build_model(config: dict, n_targets: int) -> BassetNet | BasenjiNet:
    """A freshly initialised :class:`BassetNet`, or :class:`BasenjiNet` for a coverage config (``"arch":
    "basenji"``), for a :func:`model_config` dict and ``n_targets`` outputs (tracks).

    Initialisation draws from torch's global RNG: call ``torch.manual_seed`` first for a reproducible model.
    """
    if n_targets < 1:
        raise ValueError(f"n_targets must be >= 1, got {n_targets}")
    if is_coverage(config):
        return BasenjiNet(config, n_targets)
    return BassetNet(model_config("basset", **config), n_targets)


@torch.no_grad()
def apply_max_norm(model: nn.Module, max_norm: float | None = 7.0) -> None:
    """Rescale, in place, each output unit's incoming weight vector of every Conv1d/Linear layer to an
    L2 norm of at most ``max_norm`` (Torch Basset's ``weight_norm``, applied after every step). Biases
    and batch-norm parameters are untouched; ``None`` or ``0`` does nothing."""
    if not max_norm:
        return
    for module in model.modules():
        if isinstance(module, (nn.Conv1d, nn.Linear)):
            w = module.weight
            torch.renorm(w, p=2, dim=0, maxnorm=float(max_norm), out=w)


def unwrap(model: nn.Module) -> nn.Module:
    """The plain model inside DistributedDataParallel / torch.compile wrappers."""
    model = getattr(model, "module", model)
    return getattr(model, "_orig_mod", model)




def model_seq_len(model: nn.Module) -> int | None:
    """Input length in bp of a (possibly wrapped) model built from a config, or None for other modules."""
    cfg = getattr(unwrap(model), "config", None)
    return int(cfg["seq_len"]) if isinstance(cfg, dict) and "seq_len" in cfg else None


def cpu_state(model: nn.Module) -> dict:
    """A detached CPU copy of ``model``'s state dict ``{name: tensor}`` (it survives later training steps)."""
    return {k: v.detach().cpu().clone() for k, v in unwrap(model).state_dict().items()}


def save_model(path: str | Path, model: nn.Module, target_names, extra: dict | None = None,
               state: dict | None = None) -> None:
    """Write a trained model (format in the module docstring) atomically (temp file + rename).

    ``extra``: more plain-typed entries (epoch, validation AUROC, ...). ``state``: the weights to write
    (:func:`cpu_state` of an earlier epoch, say) instead of ``model``'s own, which then gives only the
    architecture. Tensors are saved on the CPU.
    """
    net = unwrap(model)
    target_names = [str(t) for t in target_names]
    if len(target_names) != net.n_targets:
        raise ValueError(f"{len(target_names)} target names for a model with {net.n_targets} outputs")
    payload = {
        "state_dict": cpu_state(net) if state is None else state,
        "config": copy.deepcopy(net.config),
        "n_targets": int(net.n_targets),
        "target_names": target_names,
        "basset_version": str(__version__),
    }
    payload.update(extra or {})
    atomic_save(payload, path)


def atomic_save(obj, path: str | Path) -> None:
    """``torch.save(obj, path)`` through :func:`basset.fileio.atomic_path` (temporary file, then rename).

    Raises
    ------
    DiskFullError
        When the disk fills up; no temporary file is left behind.
    """
    # torch writes through a Python file object so that the OSError of a full disk reaches us: writing to a
    # path, torch only says "[enforce fail at inline_container.cc] unexpected pos", with no errno
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        try:
            torch.save(obj, fh)
        except RuntimeError as exc:
            if isinstance(exc.__context__, OSError):
                raise exc.__context__ from None
            raise


def load_model(path: str | Path, map_location="cpu", objective: str | None = None
               ) -> tuple[BassetNet | BasenjiNet, dict]:
    """Load a :func:`save_model` file -> ``(model in eval mode, meta)``; ``meta`` is the saved dict without
    ``state_dict``. Read with ``weights_only=True``; InputError names the file if it is not a model, or, with
    ``objective`` (``"binary"``: a stage on sites), if the model's is another (a coverage model given to the motif
    stage, say)."""
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as exc:  # noqa: BLE001 - unpickling errors come in many types
        raise InputError(path, f"not a readable basset model: {exc}") from None
    missing = [k for k in ("state_dict", "config", "n_targets") if not isinstance(payload, dict) or k not in payload]
    if missing:
        raise InputError(path, f"not a basset model file: missing {', '.join(missing)}")
    try:
        # a model saved before pool_ceil existed pooled with floor whatever its preset
        config = payload["config"]
        if isinstance(config, dict) and not is_coverage(config):
            config = {"pool_ceil": False, **config}
        model = build_model(config, int(payload["n_targets"]))
        model.load_state_dict(payload["state_dict"])
    except (ConfigError, RuntimeError, TypeError, ValueError) as exc:  # also: config not settings, n_targets < 1
        raise InputError(path, f"model does not match its config: {exc}") from None
    if objective is not None and model.objective != objective:
        raise InputError(path, "is a coverage model (dataset.mode coverage): this stage reads a classifier of sites "
                               "(Basset's or DeepSEA's modes); coverage models have build-coverage, "
                               "evaluate-coverage, window-ablation, delta-track and sad"
                         if model.objective == "poisson" else
                         "is a classifier of sites (Basset's or DeepSEA's modes): this stage reads a coverage model "
                         "(dataset.mode coverage, a basenji preset)")
    model.to(map_location if isinstance(map_location, (str, torch.device)) else "cpu").eval()
    meta = {k: v for k, v in payload.items() if k != "state_dict"}
    meta["config"] = dict(model.config)  # complete: every key, old files' defaults filled in
    return model, meta


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return int(sum(math.prod(p.shape) for p in model.parameters() if p.requires_grad))

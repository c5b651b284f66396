"""The compute device: one config key (``train.device``: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``), resolved here
and nowhere else, by every workflow script, CLI command and library entry that runs a model.

The ``gpu`` resource of the workflow's rules comes from the same key (``GPU`` in workflow/rules/common.smk), so a
config that says ``cpu`` neither asks a cluster for a GPU nor uses one that happens to be there.
"""

from __future__ import annotations

import logging

import torch

from .errors import ConfigError

log = logging.getLogger("basset.device")

DEVICE_KEY = "train.device"


def resolve_device(device=None, local_rank: int | None = None) -> torch.device:
    """The ``torch.device`` for the config value ``device``.

    ``None`` or ``"auto"``: ``cuda`` (``cuda:LOCAL_RANK`` under DDP) when torch sees a GPU, else ``cpu``. ``"cpu"``
    is the CPU even where a GPU is available. ``"cuda"`` without a GPU is a :class:`ConfigError` naming the key.
    A ``torch.device`` is returned as it is.
    """
    if isinstance(device, torch.device):
        return device
    if device in (None, "auto"):
        device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ConfigError(DEVICE_KEY, f"expected auto, cpu, cuda or cuda:N, got {device!r}") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(DEVICE_KEY, "CUDA was asked for but torch.cuda.is_available() is False")
        if dev.index is None:
            dev = torch.device("cuda", local_rank or 0)
    return dev


def use_device(device, threads: int | None = None) -> torch.device:
    """:func:`resolve_device`, plus torch's CPU thread count (a rule's ``threads``), logged once per job."""
    dev = resolve_device(device)
    if threads:
        torch.set_num_threads(max(1, int(threads)))
    log.info("device %s (%s: %s)", dev, DEVICE_KEY, device if device is not None else "auto")
    return dev

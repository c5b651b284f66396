"""Stage ``train``: rule ``train_model`` fits the CNN on the dataset (:func:`basset.train.train`: early stopping,
a checkpoint every epoch, exact resume), and rule ``pretrain_public`` does the same on the public cell types for
the transfer stage. The checkpoint lives beside the model and is no output of the rule, so it survives a killed
job and the rerun resumes from it.
"""

from __future__ import annotations

from pathlib import Path

from .. import layout
from ..config import architecture, with_defaults
from ..device import use_device
from ..train import train as fit

#: the summary keys a training stage returns (the history is in history.tsv); a classifier has best_valid_auroc, a
#: coverage model best_valid_r
SUMMARY_KEYS = ("epochs", "best_epoch", "best_valid_auroc", "best_valid_r", "stopped_early", "finished", "seconds")


def train_model(h5: str | Path, out: dict, model: dict | None = None, train: dict | None = None, seed: int = 1,
                device=None, threads: int | None = None, resume: bool = True, progress: bool = False) -> dict:
    """Rule ``train_model``: train on ``h5`` into the folder of ``out["model"]`` and ``out["history"]`` (with
    ``checkpoint.pt`` beside them; their names are :data:`basset.layout.STAGES` ``["train"]``).

    ``model``: the config's ``model`` section (a preset and overrides, ``None`` = the preset's value); ``train``:
    the config's ``train`` section; ``seed``: the config's ``seed``; ``device``: the config's ``train.device``
    (``None``: ``train["device"]``); ``threads``: torch's CPU threads. With ``resume`` a checkpoint of the same
    model, data and settings is continued. Returns :data:`SUMMARY_KEYS` of :func:`basset.train.train`.
    """
    outdir = _outdir(out)
    options = with_defaults("train", train)
    if device is not None:
        options["device"] = device
    use_device(options["device"], threads)
    summary = fit(h5, outdir, architecture(model), options, resume=resume, progress=progress, seed=seed)
    return {key: summary[key] for key in SUMMARY_KEYS if key in summary}


def pretrain_public(h5: str | Path, out: dict, model: dict | None = None, train: dict | None = None,
                    pretrain_epochs: int | None = None, seed: int = 1, device=None, threads: int | None = None,
                    resume: bool = True, progress: bool = False) -> dict:
    """Rule ``pretrain_public``: :func:`train_model` on the public cell types' dataset (``h5``, from rule
    ``hold_out_targets``) for at most ``pretrain_epochs`` epochs (the config's ``transfer.pretrain_epochs``;
    ``None``: ``train.max_epochs``)."""
    options = with_defaults("train", train)
    if pretrain_epochs is not None:
        options["max_epochs"] = int(pretrain_epochs)
    return train_model(h5, out, model, options, seed, device, threads, resume, progress)


def _outdir(out: dict) -> Path:
    """The training folder: that of ``out["model"]``; ValueError when an output's file name is not the layout's
    (:func:`basset.train.train` writes the layout's names)."""
    outdir = Path(out["model"]).parent
    for key in ("model", "history"):
        expected = outdir / layout.name("train", key)
        if key in out and Path(out[key]) != expected:
            raise ValueError(f"out[{key!r}] is {out[key]}, but training writes {expected}")
    return outdir

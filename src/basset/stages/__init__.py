"""Stages: the steps of the workflow as functions over files. Each reads its inputs, writes its outputs atomically
(figures through :mod:`basset.plots`) and returns a small summary dict; the arithmetic lives in the engines below.

A stage function is named after its rule and called the same way by both faces:

- the rule's script: ``run_rule(snakemake, stage)`` passes the rule's named inputs as keyword arguments, its
  named outputs as ``out={key: path}``, its params as keyword arguments (one config section each, the
  validated schema defaults already in) and ``threads`` when the stage takes it;
- the command line (:mod:`basset.cli`): the same call, with paths from :mod:`basset.layout` under ``--out``.

Inputs that a rule leaves empty (an optional annotation) arrive as ``None``, and a list of one file as that file,
so a stage that takes several files of one kind (peaks, one per sample) accepts a path or a list.
"""

from __future__ import annotations

import inspect
import logging
from pathlib import Path

from .. import __version__
from ..logs import setup_logging

log = logging.getLogger("basset.stages")


def _value(value):
    if isinstance(value, (list, tuple)):
        if not value:
            return None
        if len(value) == 1:
            return str(value[0])
        return [str(v) for v in value]
    return value


def rule_arguments(snakemake, stage) -> dict:
    """The keyword arguments of ``stage`` for a rule's ``snakemake`` object (see the module docstring)."""
    kwargs = {key: _value(value) for key, value in snakemake.input.items()}
    kwargs["out"] = {key: (str(v) if isinstance(v, str) else [str(x) for x in v])
                     for key, v in snakemake.output.items()}
    for key, value in snakemake.params.items():
        if key in kwargs:
            raise TypeError(f"{stage.__name__}: param {key!r} has the name of an input")
        kwargs[key] = value
    if "threads" in inspect.signature(stage).parameters:
        kwargs["threads"] = int(snakemake.threads)
    return kwargs


def run_rule(snakemake, stage) -> dict:
    """Run ``stage`` for a Snakemake rule: log to the rule's log, call it, log its summary; returns the summary."""
    setup_logging(snakemake.log[0])
    log.info("basset %s from %s", __version__, Path(__file__).resolve().parents[1])  # which copy this job imported
    summary = stage(**rule_arguments(snakemake, stage)) or {}
    log.info("%s: %s", stage.__name__, ", ".join(f"{k}={v}" for k, v in summary.items() if _short(v)) or "done")
    return summary


def _short(value) -> bool:
    return isinstance(value, (int, float, str, bool)) and len(str(value)) < 80

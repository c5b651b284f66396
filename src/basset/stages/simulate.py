"""Stage ``simulate``: the simulated genome, peaks, genes, conservation, variants and truth under
``simulate.outdir`` (rule ``simulate_genome``). The simulation itself is :mod:`basset.simulate`.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError
from ..samples import read_sample_sheet
from ..simulate import OUTPUTS, simulated_paths
from ..simulate import simulate as run_simulation


def _outdir(out: dict, sheet) -> Path:
    """The folder of the outputs (``truth/simulation.json`` is two levels down), checked against every path in
    ``out``: the simulation writes where :func:`basset.simulate.simulated_paths` derives, nowhere else."""
    outdir = Path(out["summary"]).parents[len(Path(OUTPUTS["summary"]).parts) - 1]
    derived = simulated_paths(outdir, sheet)
    per_sample = ("peaks", "coverage")
    wrong = [f"{key}: {path}" for key, path in out.items()
             if key not in per_sample and Path(path) != Path(derived[key])]
    for kind in per_sample:
        given = out.get(kind) or []
        wrong += [str(p) for p in ([given] if isinstance(given, str) else given)
                  if Path(p) not in {Path(d) for d in derived.get(kind, {}).values()}]
    if wrong:
        raise ConfigError("simulate.outdir", f"outputs not where the simulation writes them in {outdir}: "
                                             f"{', '.join(wrong)}")
    return outdir


def simulate_genome(*, samples: str, out: dict, simulate: dict | None = None, seed: int = 1,
                    progress: bool = False) -> dict:
    """Rule ``simulate_genome``: simulate into the folder of ``out["summary"]``.

    ``samples``: the sample sheet (TSV; ``group`` names each sample's program, ``format`` its peak format).
    ``out``: output key of :data:`basset.simulate.OUTPUTS` -> path, and ``peaks``: the peak files (a list), all
    as :func:`basset.simulate.simulated_paths` derives them from one folder (any other path is refused; only
    ``summary`` is required). ``simulate``: the ``simulate:`` config section or part of it (``enabled`` and
    ``outdir`` are ignored; defaults from the schema). ``seed``: the one seed. ``progress``: a progress bar
    (never in a rule: its log is a file).
    Returns ``{"outdir", "genome_bp", "sites", "cells", "snps", "seconds"}``.
    """
    sheet = read_sample_sheet(samples)  # `simulate` is the config section here, the function run_simulation
    outdir = _outdir(out, sheet)
    summary = run_simulation(outdir, sheet, simulate, seed=seed, progress=progress)
    counts = summary["counts"]
    return {"outdir": str(outdir), "genome_bp": counts["genome_bp"], "sites": counts["sites"],
            "cells": len(sheet), "snps": counts["snps"], "seconds": summary["seconds"]}

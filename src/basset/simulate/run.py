"""The driver: :func:`simulate` runs the stages in order over one :class:`~basset.simulate.state.SimState`,
then writes every file into a staging folder and moves them into place, ``truth/simulation.json`` last."""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ConfigError
from ..fileio import staging_dir
from ..samples import sample_assays
from .accessibility import accessibility
from .annotation import conservation, gene_table
from .coverage import coverage_tracks
from .genome import make_genome, repeat_mask
from .params import check_groups, check_rows, simulate_params
from .peaks import make_peaks
from .sites import load_factor_motifs, place_sites, plant_motifs, score_instances
from .state import N, SimState
from .variants import choose_create, make_variants
from .write import (
    OUTPUTS,
    simulated_paths,
    write_bigwig,
    write_coverage,
    write_fasta,
    write_gtf,
    write_peaks,
    write_truth,
)

log = logging.getLogger("basset.simulate")

#: the stages, as the progress bar names them
STAGES = ("motifs", "genome", "sites", "motif planting", "accessibility", "variants", "conservation", "writing")


def _progress(progress: bool, t0: float):
    """A ``step(name)`` callback that logs (and with ``progress`` shows a tqdm bar over :data:`STAGES`), and the
    bar (or None)."""
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(STAGES), desc="simulate", unit="stage")

    def step(name):
        log.debug("simulate: %s (%.1f s)", name, time.perf_counter() - t0)
        if bar is not None:
            bar.set_postfix_str(name)
            bar.update(1)

    return step, bar


def run_stages(state: SimState, step) -> np.ndarray:
    """Every stage up to the conservation track (returned), the products stored on ``state``."""
    state.motifs = load_factor_motifs(state)
    step("motifs")
    state.genome = make_genome(state)
    state.genome.repeat = repeat_mask(state)
    step("genome")
    state.sites = place_sites(state)
    step("sites")
    state.planted = plant_motifs(state)
    state.create = choose_create(state)  # edits the genome, so before scoring
    score_instances(state)
    step("motif planting")
    state.access = accessibility(state)
    step("accessibility")
    state.snps = make_variants(state)
    step("variants")
    cons = conservation(state)
    step("conservation")
    return cons


def counts(state: SimState, peaks: dict, n_false: dict, n_genes: int) -> dict:
    """The counts of the summary: genome, sites, instances, genes, peaks and SNPs."""
    seq, sites, snps = state.genome.seq, state.sites, state.snps
    return {
        "genome_bp": int(state.genome.lengths.sum()),
        "gap_bp": int((seq == N).sum()),
        "repeat_bp": int(state.genome.repeat.sum()) if state.genome.repeat is not None else 0,
        "gc": float(np.isin(seq, (1, 2)).sum() / max((seq != N).sum(), 1)),
        "sites": int(sites.centre.size),
        "sites_by_class": {c: int((sites.cls == i).sum()) for i, c in enumerate(sites.classes)},
        "motif_instances": int(len(state.planted.inst)),
        "genes": int(n_genes),
        "sites_accessible_anywhere": int(state.access.acc.any(1).sum()),
        "peaks": {c: int(len(peaks[c])) for c in state.samples["name"]},
        "false_peaks": dict(n_false),
        "snps": int(len(snps)),
        "snps_by_role": {k: int(v) for k, v in snps["role"].value_counts().sort_index().items()},
        "ld_blocks": int(snps["block"].nunique()),
    }


def write_all(state: SimState, tmp: Path, cons: np.ndarray) -> tuple[dict, dict[str, dict[str, Path]]]:
    """Every file into the staging folder ``tmp`` (peaks as ``peaks/<row>.gz``, coverage as ``coverage/<row>.bw``
    when the sheet has a coverage column); returns the summary and the staged files of each sample
    (``{"peaks": {name: path}, "coverage": {name: path}}``)."""
    (tmp / "truth").mkdir()
    (tmp / "peaks").mkdir()
    write_fasta(state, tmp)
    write_bigwig(state, tmp, cons)
    genes = gene_table(state)
    write_gtf(tmp, genes)
    peaks, n_false = make_peaks(state)
    staged = {"peaks": write_peaks(state, tmp, peaks)}
    if "coverage" in state.samples.columns:
        staged["coverage"] = write_coverage(state, tmp, coverage_tracks(state))
    truth = write_truth(state, tmp)
    motifs = state.motifs
    summary = {
        "seed": state.seed,
        "params": state.p,
        "jaspar_release": state.p["motifs"]["release"],
        "factors": {f: motifs.records[f]["matrix_id"] for f in motifs.factors},
        "factor_names": {f: motifs.records[f]["name"] for f in motifs.factors},
        "programs_used": state.programs,
        "accessible_fraction": {c: round(float(x), 6) for c, x in zip(state.cells["name"], state.access.acc.mean(0))},
        # each sample row's cell type (its column of truth/sites.tsv and row of cell_factor_activity.tsv) and assay
        "sample_cells": {n: {"cell": state.cells["name"].iloc[c], "assay": a} for n, c, a in
                         zip(state.samples["name"], state.cell_of, sample_assays(state.samples))},
        "counts": counts(state, peaks, n_false, (genes["feature"] == "gene").sum()),
        "outputs": OUTPUTS,
        "truth_columns": truth,
    }
    (tmp / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=False) + "\n")
    return summary, staged


def move_into_place(state: SimState, tmp: Path, outdir: Path, staged: dict[str, dict[str, Path]]) -> None:
    """Everything but the summary, then the summary (a crash never leaves a complete-looking set)."""
    (outdir / "truth").mkdir(exist_ok=True)
    for key, rel in OUTPUTS.items():
        if key != "summary":
            os.replace(tmp / rel, outdir / rel)
    paths = simulated_paths(outdir, state.samples)
    for kind, files in staged.items():
        for name in state.samples["name"]:
            dest = Path(paths[kind][name])
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(files[name]), str(dest))
    os.replace(tmp / "summary.json", outdir / OUTPUTS["summary"])


def _log_summary(summary: dict, outdir: Path) -> None:
    c, frac = summary["counts"], list(summary["accessible_fraction"].values())
    log.info(
        "simulated %d bp, %d candidate sites (%d accessible somewhere), %d cell types (accessible fraction "
        "%.3f-%.3f, %d-%d peaks), %d SNPs in %d blocks, in %.1f s -> %s",
        c["genome_bp"], c["sites"], c["sites_accessible_anywhere"], len(frac), min(frac), max(frac),
        min(c["peaks"].values()), max(c["peaks"].values()), c["snps"], c["ld_blocks"], summary["seconds"], outdir,
    )


def simulate(outdir, samples: pd.DataFrame, params: dict | None = None, seed: int = 1, progress: bool = True) -> dict:
    """Simulate a genome with a planted regulatory code and write every file of :data:`OUTPUTS`.

    Parameters
    ----------
    outdir : directory for the genome, annotation, variants and ``truth/`` (created).
    samples : sample sheet (see :func:`basset.samples.read_sample_sheet`) with columns ``name``, ``group`` (a key of
        ``params["programs"]``) and ``format`` (``narrowPeak``: 10-column ENCODE narrowPeak; ``hotspot``:
        5-column chrom/start/end/name/score; ``bed``: BED6), all gzipped, written to
        ``outdir/peaks/<name>.<format>.gz`` (:func:`simulated_paths`; a ``peaks`` column is ignored).
    params : the ``simulate:`` config section, or part of it, over the schema's defaults
        (:func:`~basset.simulate.params.simulate_params`); an unknown key raises :class:`ConfigError`.
    seed : the one seed every random draw derives from.
    progress : show a tqdm bar over the stages.

    Returns the summary dict (also written to ``truth/simulation.json`` without timings, and logged).
    Files are written into a temporary directory inside ``outdir`` and moved into place at the end,
    ``truth/simulation.json`` last, so a crash never leaves a complete-looking set.
    """
    t0 = time.perf_counter()
    p = simulate_params(params)
    for col in ("name", "group"):
        if col not in samples.columns:
            raise ConfigError("samples", f"the sample sheet needs a {col!r} column")
    samples = samples.copy()
    if "format" not in samples.columns:
        samples["format"] = "narrowPeak"
    check_groups(samples, p["programs"])
    check_rows(samples, p)
    state = SimState.start(samples, p, seed)
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    step, bar = _progress(progress, t0)
    try:
        cons = run_stages(state, step)
        with staging_dir(outdir, "simulate") as tmp:
            summary, staged = write_all(state, tmp, cons)
            step("writing")
            move_into_place(state, tmp, outdir, staged)
    finally:
        if bar is not None:
            bar.close()
    summary["seconds"] = round(time.perf_counter() - t0, 2)
    _log_summary(summary, outdir)
    return summary

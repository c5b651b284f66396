"""Coverage tracks of the simulated genome (Basenji-style runs): per-base read counts for the sheet's rows, written as
bigWigs when the sheet has a ``coverage`` column.

A row's counts are Poisson draws from a rate (reads per bp) built from the truth (parameters: ``simulate.coverage``):

* ``dnase``: ``dnase_background`` plus, at each site ``i``, a Gaussian pile (sd ``dnase_sd``) holding
  ``dnase_reads * max(z[i, c] - thr[c] + dnase_offset, 0)`` reads: open sites carry reads in proportion to their
  accessibility score, nearly open ones a little (a graded signal, as DNase-seq coverage);
* ``cage``: ``cage_background`` plus, at the TSS of each gene whose promoter site is open in the cell, a narrow pile
  (sd ``cage_sd``) of ``cage_reads * level`` reads, ``level = promoter_base + enhancer_weight * max(E -
  enhancer_threshold, 0)``, ``E = sum_e exp(-|d_e| / enhancer_scale)`` over the program sites ``e`` (enhancers) open
  in the cell within ``enhancer_distance`` bp of the TSS on its chromosome: an open promoter without enough open
  enhancers nearby stays silent. The distal term is what a long input window can see and a short one cannot:
  :func:`cage_levels` is the truth the report's window ablation is about.

Rates are piles of reads placed as impulses and smoothed with a Gaussian (``scipy.ndimage.gaussian_filter1d``), one
array per track over the whole genome; the draws come from the ``coverage`` stream, so a sheet without a coverage
column draws nothing and writes the files it wrote before.
"""

from __future__ import annotations

import numpy as np

from ..samples import assay_of
from .genome import ragged_arange
from .state import N, SimState

#: the assays that have a coverage track
COVERAGE_ASSAYS = ("dnase", "cage")


def enhancer_pairs(state: SimState) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (gene, enhancer) pair within ``enhancer_distance`` on one chromosome: ``(gene index (into the
    promoter sites), enhancer site index, distance bp)``; enhancers are the sites of the sheet's programs."""
    cov, sites = state.p["coverage"], state.sites
    prom = np.flatnonzero(sites.cls == 0)
    program = np.flatnonzero(sites.cls >= 3)  # classes: promoter, constitutive, decoy, then the used programs
    centre = sites.centre[program]
    tss = sites.centre[prom]
    lo = np.searchsorted(centre, tss - cov["enhancer_distance"])
    hi = np.searchsorted(centre, tss + cov["enhancer_distance"], side="right")
    gene = np.repeat(np.arange(prom.size), hi - lo)
    enh = program[np.repeat(lo, hi - lo) + ragged_arange(hi - lo)]
    same = sites.chrom_idx[enh] == sites.chrom_idx[prom[gene]]
    gene, enh = gene[same], enh[same]
    return gene, enh, np.abs(sites.centre[enh] - tss[gene])


def cage_levels(state: SimState) -> np.ndarray:
    """``(genes, cells)`` expression level of each gene (one per promoter site, in site order) in each cell type: 0
    where its promoter is closed, else ``promoter_base`` plus ``enhancer_weight`` times its open enhancers' input above
    ``enhancer_threshold`` (module docstring)."""
    cov, acc = state.p["coverage"], state.access.acc
    prom = np.flatnonzero(state.sites.cls == 0)
    gene, enh, dist = enhancer_pairs(state)
    inputs = np.zeros((prom.size, acc.shape[1]))
    np.add.at(inputs, gene, np.exp(-dist / cov["enhancer_scale"])[:, None] * acc[enh])
    levels = cov["promoter_base"] + cov["enhancer_weight"] * np.maximum(inputs - cov["enhancer_threshold"], 0.0)
    return levels * acc[prom]


def _pile(size: int, where: np.ndarray, reads: np.ndarray, sd: float) -> np.ndarray:
    """``(size,)`` rate: ``reads[k]`` spread as a Gaussian (sd bp) around ``where[k]``."""
    from scipy.ndimage import gaussian_filter1d

    impulses = np.zeros(size)
    np.add.at(impulses, where, reads)
    return gaussian_filter1d(impulses, sd, mode="constant", truncate=4.0)


def track_rate(state: SimState, row: int, levels: np.ndarray) -> np.ndarray:
    """``(G,)`` float64 reads per bp of sample row ``row`` over the genome (0 in N gaps)."""
    cov, sites, access = state.p["coverage"], state.sites, state.access
    c = int(state.cell_of[row])
    size = state.genome.seq.size
    if assay_of(state.samples.iloc[row].get("assay")) == "cage":
        prom = np.flatnonzero(sites.cls == 0)
        rate = _pile(size, sites.centre[prom], cov["cage_reads"] * levels[:, c], cov["cage_sd"])
        rate += cov["cage_background"]
    else:
        strength = np.maximum(access.z[:, c] - access.thr[c] + cov["dnase_offset"], 0.0)
        rate = _pile(size, sites.centre, cov["dnase_reads"] * strength, cov["dnase_sd"]) + cov["dnase_background"]
    rate[state.genome.seq == N] = 0.0
    return rate


def coverage_tracks(state: SimState) -> dict[str, np.ndarray]:
    """``{sample name: (G,) float32 read counts per base}`` for every row of the sheet, drawn from the ``coverage``
    stream in row order."""
    rng = state.rng("coverage")
    levels = cage_levels(state)
    return {name: rng.poisson(track_rate(state, i, levels)).astype(np.float32)
            for i, name in enumerate(state.samples["name"])}


def tss_peaks(state: SimState, c: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """CAGE-like peaks of cell ``c`` (a cage row's peak file): 100 bp around each expressed TSS, sorted; (start, end,
    summit, strength = level) genome positions."""
    prom = np.flatnonzero(state.sites.cls == 0)
    level = cage_levels(state)[:, c]
    on = level > 0
    tss = state.sites.centre[prom][on]
    return tss - 50, tss + 50, tss, level[on]

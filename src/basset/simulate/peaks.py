"""DNase-like peaks: one per accessible site of a cell type, plus a few false peaks at background positions,
with ENCODE narrowPeak columns (strength from the site's score above the cell's threshold)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .state import N, SimState

#: the columns of each peak format (all gzipped): ENCODE narrowPeak, hotspot (5 columns), BED6
PEAK_COLUMNS = {
    "narrowPeak": ["chrom", "start", "end", "name", "score", "strand", "signalValue", "pValue", "qValue", "peak"],
    "hotspot": ["chrom", "start", "end", "name", "score"],
    "bed": ["chrom", "start", "end", "name", "score", "strand"],
}


def peak_intervals(state: SimState, rng: np.random.Generator, c: int) -> tuple:
    """Cell ``c``'s peaks, sorted by start: (start, end, summit) genome positions, strength, number false."""
    a, pk, seq, sites = state.p["accessibility"], state.p["peaks"], state.genome.seq, state.sites
    offsets, access = state.genome.offsets, state.access
    acc = np.flatnonzero(access.acc[:, c])
    zc = access.z[acc, c] - access.thr[c]
    n_false = int(round(a["false_peaks"] * acc.size / max(1 - a["false_peaks"], 1e-9)))
    fpos = sites.far_from(rng.integers(0, seq.size, 20 * n_false + 10), sites.background_dist)
    fpos = fpos[seq[fpos] != N][:n_false]
    centre = np.concatenate([sites.centre[acc], fpos])
    strength = np.concatenate([zc, rng.exponential(0.3, fpos.size)])
    width = rng.integers(pk["width"][0], pk["width"][1] + 1, centre.size)
    summit = centre + np.round(rng.normal(0, pk["jitter_sd"], centre.size)).astype(np.int64)
    left = (width * rng.uniform(0.3, 0.7, centre.size)).astype(np.int64)
    start = summit - left
    ci = np.searchsorted(offsets, centre, side="right") - 1
    start = np.maximum(start, offsets[ci])
    end = np.minimum(start + width, offsets[ci + 1])
    order = np.argsort(start, kind="stable")
    return start[order], end[order], summit[order], strength[order], int(fpos.size)


def make_peaks(state: SimState) -> tuple[dict[str, pd.DataFrame], dict[str, int]]:
    """Every cell's narrowPeak frame (by sample name) and its number of false peaks."""
    rng = state.rng("peaks")
    out, n_false = {}, {}
    for c, cell in enumerate(state.samples["name"]):
        start, end, summit, strength, n_false[cell] = peak_intervals(state, rng, c)
        chrom, s_local = state.genome.to_chrom(start)
        pval = 4 + 6 * strength + rng.exponential(1.0, strength.size)
        out[cell] = pd.DataFrame({
            "chrom": chrom,
            "start": s_local,
            "end": end - (start - s_local),
            "name": [f"{cell}_peak{i + 1}" for i in range(start.size)],
            "score": np.minimum(1000, np.round(pval * 40)).astype(np.int64),
            "strand": ".",
            "signalValue": np.round(2 + 3 * strength + rng.exponential(0.5, strength.size), 3),
            "pValue": np.round(pval, 3),
            "qValue": np.round(np.maximum(pval - 2, 0.5), 3),
            "peak": np.clip(summit - start, 0, end - start - 1),
        })
    return out, n_false


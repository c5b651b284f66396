"""DNase-like peaks: one per accessible site of a cell type, plus a few false peaks at background positions,
with ENCODE narrowPeak columns (strength from the site's score above the cell's threshold)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import ConfigError
from ..samples import assay_of
from .coverage import tss_peaks
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


def peak_frame(state: SimState, rng: np.random.Generator, name: str, start, end, summit, strength) -> pd.DataFrame:
    """Peaks (genome positions) as a narrowPeak frame named after sample ``name``; p-values, scores and signal
    drawn from ``strength``."""
    chrom, s_local = state.genome.to_chrom(start)
    pval = 4 + 6 * strength + rng.exponential(1.0, strength.size)
    return pd.DataFrame({
        "chrom": chrom,
        "start": s_local,
        "end": end - (start - s_local),
        "name": [f"{name}_peak{i + 1}" for i in range(start.size)],
        "score": np.minimum(1000, np.round(pval * 40)).astype(np.int64),
        "strand": ".",
        "signalValue": np.round(2 + 3 * strength + rng.exponential(0.5, strength.size), 3),
        "pValue": np.round(pval, 3),
        "qValue": np.round(np.maximum(pval - 2, 0.5), 3),
        "peak": np.clip(summit - start, 0, end - start - 1),
    })


def row_target(row) -> tuple[str, str]:
    """A sample row's assay (dnase when empty) and ChIP target (its ``factor`` column), as
    :func:`basset.simulate.params.check_rows` checked them."""
    return assay_of(row.get("assay")), str(row.get("factor", "") or "")


def tf_intervals(state: SimState, rng: np.random.Generator, c: int, factor: str) -> tuple:
    """ChIP-seq-like peaks of ``factor`` in cell ``c``: one per open site (in cell ``c``) holding an instance of it
    whose occupancy ``activity * match^2 + noise`` exceeds ``chip.occupancy`` (the best instance of the site),
    centred on that instance; plus ``chip.false_peaks`` at background positions. Returns (start, end, summit,
    strength) sorted by start, and the number of false peaks."""
    ch, inst, sites = state.p["chip"], state.planted.inst, state.sites
    f = state.motifs.factors.index(factor)
    act = float(state.access.act.iloc[c, f])
    rows = np.flatnonzero((inst["factor"].to_numpy() == f) & state.access.acc[inst["site"].to_numpy(), c])
    occ = act * inst["match"].to_numpy()[rows] ** 2 + rng.normal(0, ch["occupancy_sd"], rows.size)
    rows, occ = rows[occ > ch["occupancy"]], occ[occ > ch["occupancy"]]
    best = pd.DataFrame({"site": inst["site"].to_numpy()[rows], "occ": occ, "row": rows})
    best = best.sort_values(["site", "occ"], ascending=[True, False], kind="stable").drop_duplicates("site")
    rows, occ = best["row"].to_numpy(), best["occ"].to_numpy()
    centre = inst["start"].to_numpy()[rows] + inst["length"].to_numpy()[rows] // 2
    n_false = int(round(ch["false_peaks"] * rows.size / max(1 - ch["false_peaks"], 1e-9)))
    fpos = sites.far_from(rng.integers(0, state.genome.seq.size, 20 * n_false + 10), sites.background_dist)
    fpos = fpos[state.genome.seq[fpos] != N][:n_false]
    centre = np.concatenate([centre, fpos])
    strength = np.concatenate([occ - ch["occupancy"], rng.exponential(0.2, fpos.size)])
    width = rng.integers(ch["tf_width"][0], ch["tf_width"][1] + 1, centre.size)
    summit = centre + np.round(rng.normal(0, ch["tf_jitter_sd"], centre.size)).astype(np.int64)
    start = summit - width // 2
    return (*_clip_sorted(state, start, start + width, summit, strength), int(fpos.size))


def histone_intervals(state: SimState, rng: np.random.Generator, c: int, mark: str) -> tuple:
    """Broad domains of ``mark`` in cell ``c``: H3K27ac over ``chip.domain_prob`` of the cell's open sites, H3K4me3
    over that fraction of its open promoters, each ``chip.domain_width`` wide around the site, overlapping domains
    merged. Returns (start, end, summit, strength) sorted by start."""
    ch, sites = state.p["chip"], state.sites
    open_ = state.access.acc[:, c] & ((sites.cls == 0) if mark == "H3K4me3" else True)
    idx = np.flatnonzero(open_ & (rng.random(open_.size) < ch["domain_prob"]))
    width = rng.integers(ch["domain_width"][0], ch["domain_width"][1] + 1, idx.size)
    centre = sites.centre[idx] + np.round(rng.normal(0, 100, idx.size)).astype(np.int64)
    start, end, summit, strength = _clip_sorted(state, centre - width // 2, centre - width // 2 + width, centre,
                                                state.access.z[idx, c] - state.access.thr[c])
    chrom = state.genome.chrom_index(start)
    # merge overlapping domains of one chromosome: a new domain starts where the start passes every end before it
    reach = np.maximum.accumulate(end)
    new = np.ones(start.size, bool)
    new[1:] = (start[1:] >= reach[:-1]) | (chrom[1:] != chrom[:-1])
    first = np.flatnonzero(new)
    if not first.size:
        return start, end, summit, strength
    return (start[first], np.maximum.reduceat(end, first), summit[first],
            np.maximum(np.maximum.reduceat(strength, first), 0.0))


def _clip_sorted(state: SimState, start, end, summit, strength) -> tuple:
    """Intervals clipped to their chromosome (of ``summit``), sorted by start."""
    offsets = state.genome.offsets
    ci = np.searchsorted(offsets, summit, side="right") - 1
    start = np.maximum(start, offsets[ci])
    end = np.minimum(end, offsets[ci + 1])
    order = np.argsort(start, kind="stable")
    return start[order], end[order], summit[order], strength[order]


def make_peaks(state: SimState) -> tuple[dict[str, pd.DataFrame], dict[str, int]]:
    """Every sample's narrowPeak frame (by sample name) and its number of false peaks: DNase-like peaks for the
    dnase rows (stream ``peaks``, drawn in row order, so a sheet without tf or histone rows gives the files it gave
    before those existed), ChIP-seq-like peaks and domains for the others (stream ``chip``)."""
    rng, chip_rng = state.rng("peaks"), state.rng("chip")
    out, n_false = {}, {}
    for i, name in enumerate(state.samples["name"]):
        assay, target = row_target(state.samples.iloc[i])
        c = int(state.cell_of[i])
        if assay == "dnase":
            start, end, summit, strength, n_false[name] = peak_intervals(state, rng, c)
            out[name] = peak_frame(state, rng, name, start, end, summit, strength)
            continue
        if assay == "tf":
            target = {f.upper(): f for f in state.motifs.factors}[target.upper()]
            start, end, summit, strength, n_false[name] = tf_intervals(state, chip_rng, c, target)
            if not start.size:  # an empty peak file is refused downstream: say why here
                act = float(state.access.act.iloc[c, state.motifs.factors.index(target)])
                raise ConfigError("samples", f"tf sample {name!r}: {target} occupies no site of cell "
                                             f"{state.cells['name'].iloc[c]!r} (its activity there is {act:.2f}, "
                                             f"simulate.chip.occupancy {state.p['chip']['occupancy']}); give a tf row "
                                             "a factor of its cell's program, or a constitutive one (CTCF)")
        elif assay == "cage":
            start, end, summit, strength = tss_peaks(state, c)
            n_false[name] = 0
        else:
            start, end, summit, strength = histone_intervals(state, chip_rng, c, target)
            n_false[name] = 0
        out[name] = peak_frame(state, chip_rng, name, start, end, summit, strength)
    return out, n_false

"""Candidate sites and the motifs planted in them.

Sites get a class (promoter, constitutive, decoy or a lineage program); promoters are CpG islands, some sites
get a flanking A-tract. Motif instances are sampled from sharpened JASPAR PFMs into ``sites.slots`` slots of
``sites.slot_bp`` bp around each centre, cooperative pairs at a fixed spacing, and written into the genome.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import ConfigError
from ..jaspar import load_motifs
from .genome import draw_bases, paint_tracts
from .params import planted_factors
from .state import Genome, Motifs, N, Planted, SimState, Sites

#: bp kept free of sites at each chromosome end
MARGIN = 2000


def pwm_tables(counts: np.ndarray, pseudocount: float):
    """PFM counts (L, 4) -> probabilities (L, 4), log2-odds vs uniform (L, 4), information content (L,) bits."""
    prob = (counts + pseudocount) / (counts + pseudocount).sum(1, keepdims=True)
    lo = np.log2(prob / 0.25)
    ic = 2.0 + (prob * np.log2(prob)).sum(1)
    return prob, lo, ic


def load_factor_motifs(state: SimState) -> Motifs:
    """The JASPAR matrices of every factor the used programs, constitutive and promoter sites and the used
    cooperative pairs name (in that order), with their PWM tables."""
    p, m = state.p, state.p["motifs"]
    factors = planted_factors(state.samples, p)
    records = load_motifs(factors, m["release"], m["collection"], m["tax_group"])
    prob, lo, ic = zip(*(pwm_tables(records[f]["counts"], m["pseudocount"]) for f in factors))
    flen = np.array([x.shape[0] for x in prob])
    slot_bp = int(p["sites"]["slot_bp"])
    too_long = [f for f, n in zip(factors, flen) if n > slot_bp]
    if too_long:
        raise ConfigError("simulate.sites.slot_bp", f"motifs {too_long} are longer than a slot ({slot_bp} bp)")
    return Motifs(factors, records, list(prob), list(lo), list(ic), flen, np.array([x.max(1).sum() for x in lo]))


def site_centres(rng: np.random.Generator, genome: Genome, s: dict) -> np.ndarray:
    """Centres of ``sites.per_mb`` sites per Mb, at least ``sites.min_spacing`` apart, off the N gaps."""
    spacing = int(s["min_spacing"])
    centres = []
    for c, L in enumerate(genome.lengths):
        n = int(round(s["per_mb"] * L / 1e6))
        slack = (L - 2 * MARGIN) - n * spacing
        if slack < 0:
            raise ConfigError("simulate.sites.per_mb", f"{n} sites {spacing} bp apart do not fit on {L} bp")
        extra = rng.exponential(1.0, n + 1)
        extra = np.floor(extra / extra.sum() * slack).astype(np.int64)
        centres.append(genome.offsets[c] + MARGIN + np.cumsum(spacing + extra[:n]) - spacing // 2)
    centres = np.concatenate(centres)
    half = int(s["slots"]) * int(s["slot_bp"]) // 2 + 200
    keep = np.ones(centres.size, bool)
    for a, b in genome.gaps:  # drop sites touching a gap
        keep &= (centres + half <= a) | (centres - half >= b)
    return centres[keep]


def place_sites(state: SimState) -> Sites:
    """Site centres and classes; writes the promoters' CpG islands and the flanking A-tracts into the genome."""
    s, g, rng, genome = state.p["sites"], state.p["genome"], state.rng("sites"), state.genome
    centre = site_centres(rng, genome, s)
    n = centre.size
    classes = ["promoter", "constitutive", "decoy"] + list(state.programs)
    nprog = len(state.programs)
    rest = 1.0 - s["promoter"] - s["constitutive"] - s["decoy"]
    probs = np.array([s["promoter"], s["constitutive"], s["decoy"]] + [rest / nprog] * nprog)
    cls = rng.choice(len(classes), n, p=probs / probs.sum())
    # promoters are CpG islands: redraw their background GC-rich, without CpG decay (an island wider than the
    # distance kept between sites and gaps leaves the gap's N alone)
    hw = int(g["cpg_island_bp"]) // 2
    idx = (centre[np.flatnonzero(cls == 0), None] - hw + np.arange(2 * hw)[None]).ravel()
    bases = draw_bases(rng.random(idx.size), g["cpg_island_gc"])
    keep = genome.seq[idx] != N
    genome.seq[idx[keep]] = bases[keep]
    # flanking A-tracts, just outside the motif core
    a_tract = rng.random(n) < s["a_tract"]
    at = np.flatnonzero(a_tract)
    core = int(s["slots"]) * int(s["slot_bp"]) // 2
    side = np.where(rng.random(at.size) < 0.5, 1, -1)
    lens = rng.integers(10, 17, at.size)
    starts = np.where(side > 0, centre[at] + core + 5, centre[at] - core - 5 - lens)
    paint_tracts(genome.seq, starts, lens, rng.integers(0, 2, at.size).astype(np.uint8) * 3)
    return Sites(centre, classes, cls, genome.chrom_index(centre), a_tract, core + 60)


def slot_factors(rng: np.random.Generator, state: SimState, fidx: dict) -> np.ndarray:
    """Factor index (n_sites, slots) of the motif in each slot, -1 for an empty slot."""
    s, m, cls = state.p["sites"], state.p["motifs"], state.sites.cls
    n, K = cls.size, int(s["slots"])
    fac = np.full((n, K), -1, dtype=np.int64)
    u = rng.random((n, K))
    pick = rng.random((n, K))

    def fill(rows, names, prob):
        ids = np.array([fidx[f] for f in names])
        sub = ids[(pick[rows] * len(ids)).astype(np.int64)]
        fac[rows] = np.where(u[rows] < prob, sub, -1)

    fill(cls == 0, m["promoter"], s["motif_prob"])
    fac[cls == 0, 0] = fidx[m["promoter"][0]]  # every promoter has at least one SP1-like motif
    cons = cls == 1
    fill(cons, m["constitutive"], 0.2)
    fac[cons, 0] = fidx[m["constitutive"][0]]
    lineage_all = [f for fs in state.programs.values() for f in fs]
    fill(cls == 2, lineage_all, s["decoy_motif_prob"])
    for j, prog in enumerate(state.programs):
        rows = cls == 3 + j
        fill(rows, state.programs[prog], s["motif_prob"])
        r = np.flatnonzero(rows)
        none = r[(fac[r] < 0).all(1)]
        fac[none, (pick[none, 0] * K).astype(np.int64)] = fidx[state.programs[prog][0]]
    return fac


def plant_pairs(rng, state: SimState, fidx: dict, fac, start, strand) -> np.ndarray:
    """Cooperative pairs: slots 0-1 of a fraction of each pair's program sites become first + spacing + second
    (``fac``, ``start`` and ``strand`` edited in place). Returns each site's pair index (-1: none)."""
    W, K, flen = int(state.p["sites"]["slot_bp"]), int(state.p["sites"]["slots"]), state.motifs.flen
    centre, cls = state.sites.centre, state.sites.cls
    pair = np.zeros(centre.size, dtype=np.int64) - 1
    for c, pr in enumerate(state.p["cooperative"]):
        if pr["program"] not in state.programs:
            continue
        rows = np.flatnonzero(cls == 3 + list(state.programs).index(pr["program"]))
        rows = rows[rng.random(rows.size) < pr["prob"]]
        if K < 2:
            raise ConfigError("simulate.sites.slots", f"cooperative[{c}] ({pr['first']} + {pr['second']}) fills two "
                                                      f"slots; a site has {K}")
        a, b = fidx[pr["first"]], fidx[pr["second"]]
        span = flen[a] + int(pr["spacing"]) + flen[b]
        if span > 2 * W:
            raise ConfigError(f"simulate.cooperative[{c}].spacing", f"the pair spans {span} bp > two slots")
        o = (rng.random(rows.size) * (2 * W - span + 1)).astype(np.int64)
        base = centre[rows] - K * W // 2 + o
        fac[rows, 0], fac[rows, 1] = a, b
        start[rows, 0], start[rows, 1] = base, base + flen[a] + int(pr["spacing"])
        strand[rows, 0] = strand[rows, 1] = False
        pair[rows] = c
    return pair


def sample_instances(rng: np.random.Generator, inst: pd.DataFrame, motifs: Motifs, seq: np.ndarray) -> None:
    """Draw each instance's bases from its PWM sharpened by its ``sharp`` exponent; write them into ``seq``."""
    for f in np.unique(inst["factor"]):
        r = np.flatnonzero(inst["factor"].to_numpy() == f)
        pr = motifs.prob[f][None] ** inst["sharp"].to_numpy()[r, None, None]  # (n, L, 4)
        cum = np.cumsum(pr / pr.sum(2, keepdims=True), axis=2)
        codes = (rng.random((r.size, motifs.flen[f]))[..., None] > cum).sum(2).clip(0, 3).astype(np.uint8)
        minus = inst["minus"].to_numpy()[r]
        codes[minus] = 3 - codes[minus, ::-1]
        idx = inst["start"].to_numpy()[r, None] + np.arange(motifs.flen[f])[None]
        seq[idx] = codes


def plant_motifs(state: SimState) -> Planted:
    """Motif instances in the sites' slots (factor, offset, strand, sharpness), written into the genome."""
    s, m, rng = state.p["sites"], state.p["motifs"], state.rng("motifs")
    K, W, cls, flen_f = int(s["slots"]), int(s["slot_bp"]), state.sites.cls, state.motifs.flen
    n = cls.size
    fidx = {f: i for i, f in enumerate(state.motifs.factors)}
    fac = slot_factors(rng, state, fidx)
    # offsets within slots, strands, sharpness
    strand = rng.random((n, K)) < 0.5  # True = minus
    flen = np.where(fac >= 0, flen_f[np.maximum(fac, 0)], 0)
    off = (rng.random((n, K)) * (W - flen + 1)).astype(np.int64)
    start = state.sites.centre[:, None] - K * W // 2 + np.arange(K)[None] * W + off
    lo_sh, hi_sh = m["sharpness"]
    sharp = rng.uniform(lo_sh, hi_sh, (n, K))
    decoy = cls == 2
    sharp[decoy] = rng.uniform(0.3, 0.8, (decoy.sum(), K))  # decoys carry weak matches
    pair = plant_pairs(rng, state, fidx, fac, start, strand)
    has = fac >= 0
    site, slot = np.nonzero(has)
    inst = pd.DataFrame({"site": site, "slot": slot, "factor": fac[has], "start": start[has],
                         "minus": strand[has], "sharp": sharp[has]})
    inst["length"] = flen_f[inst["factor"].to_numpy()]
    sample_instances(rng, inst, state.motifs, state.genome.seq)
    return Planted(inst, pair)


def score_instances(state: SimState) -> None:
    """Log-odds ``score`` of every instance read back from the genome (after any create-SNP edits) and its
    ``match`` (score / the PWM's best, clipped to [0, 1]), added to the instance table."""
    inst, motifs, seq = state.planted.inst, state.motifs, state.genome.seq
    score = np.zeros(len(inst))
    fac = inst["factor"].to_numpy()
    for f in np.unique(fac):
        r = np.flatnonzero(fac == f)
        b = seq[state.planted.positions(r, motifs.flen[f])]
        b = np.where(inst["minus"].to_numpy()[r, None], 3 - b, b)
        score[r] = motifs.lo[f][np.arange(motifs.flen[f])[None], b].sum(1)
    inst["score"] = score
    inst["match"] = np.clip(score / motifs.fmax[fac], 0, 1)

"""Annotation of the simulated genome: genes at the promoters (GTF rows) and a phyloP-like conservation track."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .genome import ragged_arange
from .state import SimState


def conservation(state: SimState) -> np.ndarray:
    """phyloP-like scores (G,) float32, rounded to 0.01: a smoothed neutral background, plus ``per_bit`` per
    bit of information content at planted motif positions outside repeats (``genome.repeat``; in a repeat the
    background only, as repeat alignments carry no reliable conservation)."""
    c, rng, seq = state.p["conservation"], state.rng("conservation"), state.genome.seq
    e = rng.normal(0, 1, seq.size + 1).astype(np.float32)
    ar = float(c["autocorrelation"])
    x = (e[1:] + ar * e[:-1]) * np.float32(c["sd"] / np.sqrt(1 + ar * ar))
    fac = state.planted.inst["factor"].to_numpy()
    for f in np.unique(fac):
        r = np.flatnonzero(fac == f)
        pos = state.planted.positions(r, state.motifs.flen[f])
        bonus = np.float32(c["per_bit"]) * state.motifs.ic[f][None].astype(np.float32)
        x[pos] += bonus if state.genome.repeat is None else np.where(state.genome.repeat[pos], 0, bonus)
    return np.round(x * 100) / 100  # phyloP-like precision


def gene_models(state: SimState) -> dict:
    """One gene per promoter site, its TSS at the site centre, with one transcript and its exons (genome
    positions, 0-based half-open): ``gs``, ``ge``, ``minus``, ``ci`` per gene; ``g_of``, ``k`` (exon index
    from the 5' end of the + strand), ``nex``, ``ex_s``, ``ex_e`` per exon."""
    gp, rng, genome = state.p["genes"], state.rng("genes"), state.genome
    prom = np.flatnonzero(state.sites.cls == 0)
    n = prom.size
    tss = state.sites.centre[prom]
    ci = state.sites.chrom_idx[prom]
    minus = rng.random(n) < 0.5
    lo, hi = gp["length_kb"]
    glen = np.clip(np.exp(rng.normal(np.log(15_000), 0.8, n)), lo * 1000, hi * 1000).astype(np.int64)
    cstart, cend = genome.offsets[ci], genome.offsets[ci + 1]
    gs = np.where(minus, np.maximum(tss - glen + 1, cstart), tss)
    ge = np.where(minus, tss + 1, np.minimum(tss + glen, cend))
    glen = ge - gs
    nex = np.minimum(rng.integers(gp["exons"][0], gp["exons"][1] + 1, n), np.maximum(glen // 400, 1))
    g_of = np.repeat(np.arange(n), nex)
    k = ragged_arange(nex)
    seg = glen[g_of] // nex[g_of]
    ex_len = np.minimum(rng.integers(80, 301, g_of.size), seg // 2)
    ex_s = gs[g_of] + k * seg + (rng.random(g_of.size) * (seg - ex_len)).astype(np.int64)
    last = k == nex[g_of] - 1
    ex_s[k == 0] = gs[g_of[k == 0]]
    ex_e = ex_s + ex_len
    ex_e[last] = ge[g_of[last]]
    ex_s[last] = np.minimum(ex_s[last], ex_e[last] - 1)
    return {"gs": gs, "ge": ge, "minus": minus, "ci": ci, "g_of": g_of, "k": k, "nex": nex, "ex_s": ex_s,
            "ex_e": ex_e}


def _gtf_rows(ch, s, e, feat, st, attr, gi, order) -> pd.DataFrame:
    return pd.DataFrame({"chrom": ch, "source": "basset_sim", "feature": feat, "start": s + 1, "end": e,
                         "score": ".", "strand": st, "frame": ".", "attr": attr, "_g": gi, "_o": order})


def gene_table(state: SimState) -> pd.DataFrame:
    """GTF rows (9 columns, 1-based) of :func:`gene_models`: gene, transcript, exons, genes by start."""
    g, genome = gene_models(state), state.genome
    gs, ge, minus, ci, g_of, k = g["gs"], g["ge"], g["minus"], g["ci"], g["g_of"], g["k"]
    n = gs.size
    ex_num = np.where(minus[g_of], g["nex"][g_of] - k, k + 1)
    gid = np.array([f"SIMG{i:05d}" for i in range(1, n + 1)], dtype=object)
    tid = np.array([f"SIMT{i:05d}" for i in range(1, n + 1)], dtype=object)
    chrom, gs_local = genome.to_chrom(gs)
    ge_local = ge - genome.offsets[ci]
    strand = np.where(minus, "-", "+")
    attr_g = 'gene_id "' + gid + '"; gene_name "' + gid + '"; gene_biotype "protein_coding";'
    attr_t = 'gene_id "' + gid + '"; transcript_id "' + tid + '"; gene_name "' + gid + '";'
    ex_chrom, ex_sl = genome.to_chrom(g["ex_s"])
    attr_e = attr_t[g_of] + ' exon_number "' + ex_num.astype(str).astype(object) + '";'
    df = pd.concat([
        _gtf_rows(chrom, gs_local, ge_local, "gene", strand, attr_g, np.arange(n), 0),
        _gtf_rows(chrom, gs_local, ge_local, "transcript", strand, attr_t, np.arange(n), 1),
        _gtf_rows(ex_chrom, ex_sl, g["ex_e"] - genome.offsets[ci[g_of]], "exon", strand[g_of], attr_e, g_of, 2 + k),
    ])
    df["_gs"] = gs[df["_g"].to_numpy()]
    return df.sort_values(["_gs", "_g", "_o"], kind="stable").drop(columns=["_gs", "_g", "_o"])

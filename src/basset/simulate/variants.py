"""GWAS-like variants: LD blocks around one causal SNP each, with linked bystanders.

A causal SNP creates a planted motif (its reference base is knocked out before scoring, so the planted
instance is weak in the reference and restored by the alternative), breaks a strong instance accessible in
some cell type, or lies outside every site. Bystanders fall at random in the block, off sites and motifs;
PICS-like probabilities give the causal SNP most of the block's mass.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .state import N, SimState


def _best_position(state: SimState, r: int) -> tuple[int, int, int, bool]:
    """Instance ``r``: (factor, its most informative motif position, that genome position, minus strand)."""
    inst, motifs = state.planted.inst, state.motifs
    f = int(inst.at[r, "factor"])
    j = int(np.argmax(motifs.ic[f]))
    pos = int(state.planted.positions(np.array([r]), motifs.flen[f])[0, j])
    return f, j, pos, bool(inst.at[r, "minus"])


def choose_create(state: SimState) -> list[tuple]:
    """Causal 'create' SNPs: knock out the best position of some strong lineage instances in the reference
    (edits the genome, so before scoring). Returns rows (gpos, ref, alt, role, instance); sets ``n_blocks``."""
    v, rng = state.p["variants"], state.rng("create")
    nb = int(round(v["blocks_per_mb"] * state.genome.lengths.sum() / 1e6))
    state.n_blocks = max(nb, 1)
    n_create = int(round(state.n_blocks * v["create"]))
    cls = state.sites.cls[state.planted.inst["site"].to_numpy()]
    cand = np.flatnonzero((cls >= 3) | (cls <= 1))
    chosen = np.sort(rng.choice(cand, min(n_create, cand.size), replace=False))
    rows = []
    for r in chosen:  # a few dozen; each needs its own PWM
        f, j, pos, minus = _best_position(state, r)
        prob = state.motifs.prob[f][j]
        best, worst = int(np.argmax(prob)), int(np.argmin(prob))
        ref = worst if not minus else 3 - worst
        alt = best if not minus else 3 - best
        state.genome.seq[pos] = ref
        rows.append((pos, ref, alt, "causal_create", r))
    return rows


def causal_snps(state: SimState, rng: np.random.Generator) -> pd.DataFrame:
    """One causal SNP per block (gpos, ref, alt, role, inst, block), sorted by position: the create SNPs,
    SNPs breaking strong accessible instances, and SNPs outside every site (off N)."""
    v, seq, inst = state.p["variants"], state.genome.seq, state.planted.inst
    n_out = int(round(state.n_blocks * v["outside"]))
    n_break = max(state.n_blocks - n_out - len(state.create), 0)
    ok = state.access.acc[inst["site"].to_numpy()].any(1) & (inst["match"].to_numpy() > 0.6)
    ok[list({r for *_, r in state.create})] = False
    cand = np.flatnonzero(ok)
    chosen = np.sort(rng.choice(cand, min(n_break, cand.size), replace=False))
    rows = list(state.create)
    for r in chosen:
        f, j, pos, minus = _best_position(state, r)
        ref = int(seq[pos])
        pr = state.motifs.prob[f][j][::-1] if minus else state.motifs.prob[f][j]  # genome-strand probabilities
        pr = pr.copy()
        pr[ref] = np.inf
        rows.append((pos, ref, int(np.argmin(pr)), "causal_break", r))
    sites = state.sites
    far = sites.far_from(rng.integers(0, seq.size, 50 * n_out + 50), sites.background_dist)
    far = far[seq[far] != N][:n_out]
    for pos in far:
        ref = int(seq[pos])
        rows.append((int(pos), ref, int((ref + 1 + rng.integers(0, 3)) % 4), "causal_outside_site", -1))
    causal = pd.DataFrame(rows, columns=["gpos", "ref", "alt", "role", "inst"])
    causal = causal.sort_values("gpos", kind="stable").reset_index(drop=True)
    causal["block"] = np.arange(len(causal))
    return causal


def bystanders(state: SimState, rng: np.random.Generator, causal: pd.DataFrame, cpics: np.ndarray,
               blen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bystander positions and their block: random positions in each block of ``blen`` bp around its causal
    SNP, on its chromosome, off N and more than 200 bp (and than the sites' background distance, which a wide
    core needs) from every site centre; one per position."""
    seq, offsets = state.genome.seq, state.genome.offsets
    maxb = state.p["variants"]["max_bystander_pics"]
    nby = np.maximum(np.ceil((1 - cpics) / (0.4 * maxb)).astype(np.int64), 5)  # ~half fall on sites
    b_block = np.repeat(np.arange(len(causal)), nby)
    bstart = causal["gpos"].to_numpy() - (rng.random(len(causal)) * blen).astype(np.int64)
    bpos = np.repeat(bstart, nby) + (rng.random(b_block.size) * np.repeat(blen, nby)).astype(np.int64)
    bpos = np.clip(bpos, 0, seq.size - 1)
    # stay on the causal SNP's chromosome
    cchrom = np.searchsorted(offsets, causal["gpos"].to_numpy(), side="right") - 1
    bchrom = np.searchsorted(offsets, bpos, side="right") - 1
    good = (bchrom == cchrom[b_block]) & (seq[bpos] != N)
    good &= np.isin(bpos, state.sites.far_from(bpos, max(200, state.sites.background_dist)))
    bpos, b_block = bpos[good], b_block[good]
    _, first = np.unique(bpos, return_index=True)
    first = np.sort(first)
    bpos, b_block = bpos[first], b_block[first]
    drop = np.isin(bpos, causal["gpos"].to_numpy())
    return bpos[~drop], b_block[~drop]


def make_variants(state: SimState) -> pd.DataFrame:
    """Every SNP (gpos, ref, alt, role, block, site, factor_i, pics, id, annotation), sorted by position."""
    v, rng = state.p["variants"], state.rng("variants")
    causal = causal_snps(state, rng)
    lo, hi = v["block_kb"]
    blen = (rng.uniform(lo, hi, len(causal)) * 1000).astype(np.int64)
    cpics = rng.uniform(*v["causal_pics"], len(causal))
    bpos, b_block = bystanders(state, rng, causal, cpics, blen)
    bref = state.genome.seq[bpos].astype(np.int64)
    balt = (bref + 1 + rng.integers(0, 3, bref.size)) % 4
    w = rng.uniform(0.5, 1.0, bpos.size)
    wsum = np.bincount(b_block, w, len(causal))
    bp = np.minimum((1 - cpics[b_block]) * w / wsum[b_block], v["max_bystander_pics"])
    inst = causal["inst"].to_numpy()
    f_of = np.where(inst >= 0, state.planted.inst["factor"].to_numpy()[np.maximum(inst, 0)], -1)
    s_of = np.where(inst >= 0, state.planted.inst["site"].to_numpy()[np.maximum(inst, 0)], -1)
    snps = pd.DataFrame({
        "gpos": np.concatenate([causal["gpos"].to_numpy(), bpos]),
        "ref": np.concatenate([causal["ref"].to_numpy(), bref]),
        "alt": np.concatenate([causal["alt"].to_numpy(), balt]),
        "role": np.concatenate([causal["role"].to_numpy(), np.full(bpos.size, "bystander")]),
        "block": np.concatenate([causal["block"].to_numpy(), b_block]),
        "site": np.concatenate([s_of, np.full(bpos.size, -1)]),
        "factor_i": np.concatenate([f_of, np.full(bpos.size, -1)]),
        "pics": np.concatenate([cpics, bp]),
    }).sort_values("gpos", kind="stable").reset_index(drop=True)
    snps["id"] = [f"snp{i:06d}" for i in range(1, len(snps) + 1)]
    snps["annotation"] = coding_annotation(snps, state.rng("coding"), v["coding_blocks"])
    return snps


def coding_annotation(snps: pd.DataFrame, rng: np.random.Generator, fraction: float) -> np.ndarray:
    """The PICS table's Annotation of each SNP: in a ``fraction`` of the LD blocks, one bystander is
    ``missense`` (protein-coding: the paper removed such LD sets); as many other bystanders, drawn at the same
    rate, are ``utr3`` or ``utr5`` (non-coding, kept); the rest, and every causal SNP, ``none``."""
    ann = np.full(len(snps), "none", dtype=object)
    block = snps["block"].to_numpy()
    bystander = np.flatnonzero(snps["role"].to_numpy() == "bystander")
    blocks = np.unique(block[bystander])
    for b in blocks[rng.random(blocks.size) < fraction]:
        ann[rng.choice(bystander[block[bystander] == b])] = "missense"
    coding_block = np.isin(block, block[ann == "missense"])
    decoys = bystander[~coding_block[bystander] & (rng.random(bystander.size) < fraction / 5)]
    ann[decoys] = rng.choice(np.array(["utr3", "utr5"], dtype=object), decoys.size)
    return ann

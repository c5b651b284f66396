"""The background genome: chromosome lengths, GC isochores, CpG deamination, A/T tracts and N gaps."""

from __future__ import annotations

import numpy as np

from .state import Genome, N, SimState


def chrom_lengths(g: dict) -> np.ndarray:
    """Lengths (C,) int64 of ``genome.chromosomes`` chromosomes summing to about ``genome.size``, decreasing
    like human ones."""
    n = int(g["chromosomes"])
    w = np.linspace(1.3, 0.7, n) if n > 1 else np.ones(1)
    return np.floor(w / w.sum() * int(g["size"])).astype(np.int64)


def draw_bases(u: np.ndarray, gc) -> np.ndarray:
    """Base codes (int64) from uniform draws ``u``: A, C, G, T with P(C) = P(G) = gc / 2 (``gc`` scalar or per
    position)."""
    return np.where(u < gc, np.where(u < gc / 2, 1, 2), np.where(u < gc + (1 - gc) / 2, 0, 3))


def ragged_arange(lengths: np.ndarray) -> np.ndarray:
    """Concatenation of arange(l) for l in lengths."""
    lengths = np.asarray(lengths, dtype=np.int64)
    ends = np.cumsum(lengths)
    return np.arange(ends[-1] if lengths.size else 0) - np.repeat(ends - lengths, lengths)


def paint_tracts(codes: np.ndarray, starts: np.ndarray, lengths: np.ndarray, base: np.ndarray) -> None:
    """Write runs of one base: codes[starts[i]:starts[i]+lengths[i]] = base[i] (vectorised)."""
    if starts.size == 0:
        return
    idx = np.repeat(starts, lengths) + ragged_arange(lengths)
    codes[idx] = np.repeat(base, lengths)


def deaminate(rng: np.random.Generator, codes: np.ndarray, p: float) -> None:
    """CG -> TG or CA in place, each CpG with probability ``p`` (methylated-CpG decay)."""
    cg = np.flatnonzero((codes[:-1] == 1) & (codes[1:] == 2))
    hit = cg[rng.random(cg.size) < p]
    on_c = rng.random(hit.size) < 0.5
    codes[hit[on_c]] = 3  # C -> T
    codes[hit[~on_c] + 1] = 0  # G -> A (the C on the other strand)


def background(rng: np.random.Generator, length: int, g: dict) -> np.ndarray:
    """Background codes (length,) uint8: GC isochores, CpG deamination, A/T tracts."""
    lo, hi = (int(k * 1000) for k in g["isochore_kb"])
    nblk = length // lo + 2
    sizes = rng.integers(lo, hi + 1, nblk)
    gcs = np.clip(rng.normal(g["gc"], g["isochore_gc_sd"], nblk), 0.2, 0.8)
    gc = np.repeat(gcs, sizes)[:length]
    codes = draw_bases(rng.random(length), gc).astype(np.uint8)
    deaminate(rng, codes, 1.0 - g["cpg_oe"])
    # A/T tracts (poly-A on either strand)
    n_tr = rng.poisson(length / 1000 * g["a_tract_per_kb"])
    a, b = g["a_tract_bp"]
    paint_tracts(
        codes,
        rng.integers(0, length - b, n_tr),
        rng.integers(a, b + 1, n_tr),
        rng.integers(0, 2, n_tr).astype(np.uint8) * 3,
    )
    return codes


def gap_blocks(rng: np.random.Generator, lengths: np.ndarray, offsets: np.ndarray, g: dict) -> np.ndarray:
    """N gaps (n, 2) int64 genome positions: ``genome.gaps_per_chrom`` blocks per chromosome, away from its ends."""
    gaps = []
    for c, L in enumerate(lengths):
        k = int(g["gaps_per_chrom"])
        if k == 0 or g["gap_fraction"] <= 0:
            continue
        size = int(L * g["gap_fraction"] / k)
        starts = np.sort(rng.choice(np.arange(1, 20) * (L // 20), k, replace=False)) - size // 2
        gaps += [(offsets[c] + s, offsets[c] + s + size) for s in starts]
    return np.array(gaps, dtype=np.int64).reshape(-1, 2)


def make_genome(state: SimState) -> Genome:
    """The background of every chromosome, with its N gaps cut out."""
    g, rng = state.p["genome"], state.rng("genome")
    lengths = chrom_lengths(g)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    seq = np.concatenate([background(rng, int(L), g) for L in lengths])
    gaps = gap_blocks(rng, lengths, offsets, g)
    for s, e in gaps:
        seq[s:e] = N
    return Genome([f"chr{i + 1}" for i in range(int(g["chromosomes"]))], lengths, offsets, seq, gaps)


def repeat_mask(state: SimState) -> np.ndarray:
    """``(G,) bool`` repeat positions: intervals of ``genome.repeat_bp`` at uniform random positions, as many as
    cover about ``genome.repeat_fraction`` of the genome (overlaps merge, so a little less), never on N."""
    g, rng, seq = state.p["genome"], state.rng("repeats"), state.genome.seq
    lo, hi = (int(x) for x in g["repeat_bp"])
    n = int(round(seq.size * float(g["repeat_fraction"]) / ((lo + hi) / 2)))
    starts = rng.integers(0, seq.size, n)
    ends = np.minimum(starts + rng.integers(lo, hi + 1, n), seq.size)
    depth = np.zeros(seq.size + 1, dtype=np.int64)
    np.add.at(depth, starts, 1)
    np.add.at(depth, ends, -1)
    return (np.cumsum(depth[:-1]) > 0) & (seq != N)

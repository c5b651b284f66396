"""A simulated genome with a planted regulatory code: the embedded default data of the workflow.

:func:`simulate` writes a small genome (FASTA), one DNase-like peak file per cell type of a sample sheet,
a gene annotation (GTF), a phyloP-like conservation track (bigWig), GWAS-like variants (VCF + a PICS-like
fine-mapping table) and the truth behind all of them (``truth/``), so that every later stage of the
workflow (training, motif recovery, SAD) can be run without internet or GPU and graded against what was
planted.

Model, in order (all coordinates 0-based, half-open unless said otherwise):

1. Background: each chromosome is cut into GC isochores (blocks of ``genome.isochore_kb`` kb whose GC is
   drawn around ``genome.gc``); bases are drawn from the isochore composition, then CpG dinucleotides are
   deaminated (CG -> TG / CA) with probability ``1 - genome.cpg_oe`` (human-like CpG depletion); A/T tracts
   are sprinkled in; a few N gaps are cut out.
2. Candidate sites (``sites.per_mb`` per Mb, centres at least ``sites.min_spacing`` bp apart, away from gaps)
   are given a class: ``promoter`` (a CpG island at the TSS of a simulated gene, with SP1/NRF1/ELK1/NFYA),
   ``constitutive`` (CTCF), one lineage program per used sample group (its factors, e.g. GATA1/KLF1), or
   ``decoy`` (no or few weak motifs). Motif instances are sampled from sharpened JASPAR PFMs into
   ``sites.slots`` slots of ``sites.slot_bp`` bp around the centre; one cooperative pair per
   ``cooperative`` entry is planted at a fixed spacing. Some sites get a flanking A-tract.
3. Accessibility of site i in cell c: ``z = sum_k a[c, f_k] * m_k + coop - a_tract_penalty + noise`` with
   ``a`` the cell x factor activity (lineage factors high, others low, per-cell log-normal variation) and
   ``m_k`` the planted instance's log-odds score / the PWM's best score; the top ``fraction_c`` of sites
   (``fraction_c`` uniform in ``accessibility.fraction``) are accessible in cell c. A few extra false peaks
   per cell land at random background positions.
4. Peaks (narrowPeak or hotspot BED, gzip with mtime 0), genes (GTF), conservation (bigWig), variants
   (LD blocks with one causal SNP breaking or creating a planted motif and linked bystanders) and truth.

Everything is drawn from one :class:`numpy.random.SeedSequence`; the same seed and params give
byte-identical files.
"""

from __future__ import annotations

import copy
import functools
import gzip
import io
import json
import logging
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import ConfigError
from .fileio import staging_dir
from .sequence import decode

log = logging.getLogger("basset.simulate")

#: Every parameter of :func:`simulate` with its default. ``programs`` and ``cooperative`` are replaced as a
#: whole when given; every other nested dict is merged key by key.
DEFAULTS: dict = {
    "genome": {
        "chromosomes": 5,  # number of chromosomes, named chr1..chrN, lengths decreasing like human ones
        "size": 20_000_000,  # total length of all chromosomes, bp
        "gc": 0.41,  # mean GC fraction of the background
        "isochore_gc_sd": 0.04,  # sd of the GC fraction between isochores
        "isochore_kb": [100, 500],  # isochore length range, kb
        "cpg_oe": 0.25,  # CpG observed/expected outside CpG islands (fraction of CpGs kept)
        "cpg_island_gc": 0.65,  # GC fraction of CpG islands (promoters)
        "cpg_island_bp": 1000,  # CpG island length around each TSS, bp
        "a_tract_per_kb": 0.3,  # background A/T tracts per kb
        "a_tract_bp": [6, 16],  # A/T tract length range, bp
        "gap_fraction": 0.015,  # fraction of each chromosome in N gaps
        "gaps_per_chrom": 2,  # number of N gap blocks per chromosome
        "line_width": 60,  # FASTA line width
    },
    "motifs": {
        "release": "JASPAR2026",  # pyjaspar release (offline)
        "collection": "CORE",  # JASPAR collection
        "tax_group": "vertebrates",  # JASPAR taxonomic group
        "constitutive": ["CTCF"],  # factors of constitutive sites, active in every cell type
        "promoter": ["SP1", "NRF1", "ELK1", "NFYA"],  # factors of promoters (CpG islands at TSSs)
        "pseudocount": 0.5,  # pseudocount added to each PFM count before normalising
        "sharpness": [1.5, 3.0],  # range of the exponent sharpening a PWM before sampling an instance
    },
    # lineage program -> its factors (JASPAR names, matched case-insensitively)
    "programs": {
        "erythroid": ["GATA1", "GATA1::TAL1", "KLF1"],
        "myeloid": ["SPI1", "CEBPB", "RUNX1"],
        "hepatocyte": ["HNF4A", "FOXA2", "HNF1A", "CEBPA"],
        "esc": ["POU5F1::SOX2", "SOX2", "ZIC3"],
        "epithelial": ["TP63", "GRHL2", "KLF5"],
        "fibroblast": ["FOS::JUN", "TEAD1"],
        "lymphoid": ["ETS1", "IRF4", "TCF7"],
    },
    # cooperative pairs: in a fraction ``prob`` of the program's sites ``second`` is planted ``spacing`` bp
    # after the end of ``first``; both present add ``weight * min(activities) * min(matches)`` to z
    "cooperative": [
        {"program": "erythroid", "first": "GATA1", "second": "KLF1", "spacing": 10, "prob": 0.3, "weight": 1.0},
    ],
    "sites": {
        "per_mb": 1250,  # candidate sites per Mb of genome
        "min_spacing": 700,  # minimum distance between site centres, bp
        "promoter": 0.08,  # fraction of candidate sites that are promoters
        "constitutive": 0.08,  # fraction that are CTCF sites
        "decoy": 0.12,  # fraction that are decoys; the rest is split evenly between the used programs
        "slots": 4,  # motif slots per site
        "slot_bp": 60,  # slot width, bp (the motif core is slots * slot_bp around the centre)
        "motif_prob": 0.6,  # probability that a slot of a lineage or promoter site holds a motif
        "decoy_motif_prob": 0.1,  # probability that a slot of a decoy holds a (weak) motif
        "a_tract": 0.15,  # fraction of sites with an A-tract flanking the motif core
    },
    "accessibility": {
        "fraction": [0.09, 0.2],  # range of the accessible fraction of candidate sites per cell type
        "lineage_activity": [0.8, 1.2],  # activity range of a cell type's own lineage factors
        "other_activity": [0.0, 0.15],  # activity range of other lineages' factors
        "constitutive_activity": [1.0, 1.4],  # activity range of constitutive factors
        "promoter_activity": [0.7, 1.0],  # activity range of promoter factors
        "cell_sd": 0.15,  # sd of the per-cell log-normal variation of activities
        "a_tract_penalty": 1.0,  # z penalty of a flanking A-tract
        "noise_sd": 0.3,  # sd of the per cell and site noise on z
        "false_peaks": 0.04,  # false peaks at random background positions, as a fraction of a cell's peaks
    },
    "peaks": {
        "width": [150, 400],  # peak width range, bp
        "jitter_sd": 15,  # sd of the summit around the site centre, bp
    },
    "genes": {
        "length_kb": [3, 100],  # gene length range, kb (log-normal around 15 kb, clipped)
        "exons": [2, 8],  # exons per gene (one transcript per gene)
    },
    "conservation": {
        "sd": 0.6,  # sd of the neutral phyloP-like background
        "autocorrelation": 0.5,  # weight of the previous base's noise (smooths the background)
        "per_bit": 1.5,  # score added per bit of information content at planted motif positions
    },
    "variants": {
        "blocks_per_mb": 4,  # LD blocks per Mb of genome
        "create": 0.2,  # fraction of blocks whose causal SNP creates (rather than breaks) a motif
        "outside": 0.1,  # fraction of blocks whose causal SNP is outside any site
        "block_kb": [5, 20],  # LD block length range, kb
        "causal_pics": [0.5, 0.9],  # PICS probability range of causal SNPs
        "max_bystander_pics": 0.05,  # maximum PICS probability of a bystander
    },
}

#: output key -> path relative to ``outdir``
OUTPUTS: dict[str, str] = {
    "fasta": "genome.fa",
    "fai": "genome.fa.fai",
    "chrom_sizes": "chrom.sizes",
    "genes": "genes.gtf",
    "phylop": "phylop.bw",
    "vcf": "snps.vcf.gz",
    "pics": "pics.tsv",
    "motif_instances": "truth/motif_instances.tsv",
    "sites": "truth/sites.tsv",
    "cell_activity": "truth/cell_factor_activity.tsv",
    "snps": "truth/snps.tsv",
    "summary": "truth/simulation.json",
}

#: file-name suffix of a simulated peak file by format (all gzipped)
PEAK_SUFFIX = {"narrowPeak": "narrowPeak.gz", "hotspot": "hotspot.bed.gz", "bed": "bed.gz"}


def simulated_paths(outdir: str | Path, samples: pd.DataFrame) -> dict:
    """Where :func:`simulate` writes into ``outdir``: every key of :data:`OUTPUTS` -> path, and ``peaks`` ->
    {sample name: ``outdir/peaks/<name>.<format suffix>``}. Derived from ``outdir`` and the sample names only,
    never from a sheet's ``peaks`` column."""
    outdir = str(outdir).rstrip("/")
    formats = samples["format"] if "format" in samples else ["narrowPeak"] * len(samples)
    out = {key: f"{outdir}/{rel}" for key, rel in OUTPUTS.items()}
    out["peaks"] = {name: f"{outdir}/peaks/{name}.{PEAK_SUFFIX.get(fmt or 'narrowPeak', 'narrowPeak.gz')}"
                    for name, fmt in zip(samples["name"], formats)}
    return out


_REPLACED = ("programs", "cooperative")  # params replaced as a whole, not merged


# ----------------------------------------------------------------------------------------------- params
def merge_params(params: dict | None, defaults: dict = DEFAULTS, prefix: str = "simulate") -> dict:
    """``params`` merged over ``defaults`` (nested dicts merged); an unknown key raises ConfigError."""
    out = copy.deepcopy(defaults)
    for key, value in (params or {}).items():
        path = f"{prefix}.{key}"
        if key not in defaults:
            raise ConfigError(path, f"unknown key; expected one of {', '.join(defaults)}")
        if isinstance(defaults[key], dict) and key not in _REPLACED:
            if not isinstance(value, dict):
                raise ConfigError(path, f"expected a mapping, got {type(value).__name__}")
            out[key] = merge_params(value, defaults[key], path)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _check_groups(samples: pd.DataFrame, programs: dict) -> None:
    for name, group in zip(samples["name"], samples.get("group", [""] * len(samples))):
        if group not in programs:
            raise ConfigError(
                "simulate.programs",
                f"sample {name!r} has group {group!r}, which is not a program; expected one of "
                f"{', '.join(programs)} (the sample sheet's `group` names the lineage program to simulate)",
            )


def check_programs(samples: pd.DataFrame, simulate_config: dict) -> None:
    """Check a ``simulate:`` config section and a sample sheet before simulating (at workflow parse time):
    parameters as :func:`simulate` checks them, and every sample's ``group`` a program."""
    p = merge_params({k: v for k, v in simulate_config.items() if k not in ("enabled", "outdir")})
    _check_params(p)
    _check_groups(samples, p["programs"])


def _check_params(p: dict) -> None:
    def rng_pair(path, v, lo=None, hi=None):
        if not (isinstance(v, (list, tuple)) and len(v) == 2 and v[0] <= v[1]):
            raise ConfigError(path, f"expected [low, high] with low <= high, got {v!r}")
        if lo is not None and v[0] < lo or hi is not None and v[1] > hi:
            raise ConfigError(path, f"expected values within [{lo}, {hi}], got {v!r}")

    g = p["genome"]
    if int(g["chromosomes"]) < 1 or int(g["size"]) < 100_000 * int(g["chromosomes"]):
        raise ConfigError("simulate.genome.size", "expected at least 100 kb per chromosome")
    if not 0.2 <= g["gc"] <= 0.8:
        raise ConfigError("simulate.genome.gc", f"expected a GC fraction in [0.2, 0.8], got {g['gc']}")
    rng_pair("simulate.genome.isochore_kb", g["isochore_kb"], 1)
    rng_pair("simulate.genome.a_tract_bp", g["a_tract_bp"], 1)
    rng_pair("simulate.accessibility.fraction", p["accessibility"]["fraction"], 0.0, 1.0)
    rng_pair("simulate.peaks.width", p["peaks"]["width"], 20)
    rng_pair("simulate.variants.causal_pics", p["variants"]["causal_pics"], 0.0, 1.0)
    rng_pair("simulate.motifs.sharpness", p["motifs"]["sharpness"], 0.1)
    s = p["sites"]
    if s["promoter"] + s["constitutive"] + s["decoy"] >= 1:
        raise ConfigError(
            "simulate.sites", "promoter + constitutive + decoy fractions must leave room for lineage sites"
        )
    if not isinstance(p["programs"], dict) or not p["programs"]:
        raise ConfigError("simulate.programs", "expected a mapping of program name -> list of factors")
    for c, pair in enumerate(p["cooperative"]):
        for k in ("program", "first", "second", "spacing", "prob", "weight"):
            if k not in pair:
                raise ConfigError(f"simulate.cooperative[{c}].{k}", "missing key")


# ----------------------------------------------------------------------------------------------- motifs
def load_motifs(
    factors: list[str], release: str = "JASPAR2026", collection: str = "CORE", tax_group: str = "vertebrates"
) -> dict[str, dict]:
    """JASPAR PFMs of ``factors`` -> ``{factor: {"matrix_id", "name", "counts" (L, 4) float64}}``.

    Names are matched case-insensitively; an exact-case match wins, then the lowest matrix ID (the
    canonical profile of factors with several, e.g. CTCF MA0139).
    """
    motifs = jaspar_records(release, collection, tax_group)
    out = {}
    for factor in factors:
        hits = [m for m in motifs if m.name.upper() == factor.upper()]
        if not hits:
            raise ConfigError("simulate.programs", f"factor {factor!r} not found in {release} {collection} {tax_group}")
        hits.sort(key=lambda m: (m.name != factor, m.matrix_id))
        m = hits[0]
        counts = np.array([m.counts[b] for b in "ACGT"], dtype=np.float64).T
        out[factor] = {"matrix_id": m.matrix_id, "name": m.name, "counts": counts}
    return out


@functools.lru_cache(maxsize=4)
def jaspar_records(release: str, collection: str, tax_group: str) -> tuple:
    """All latest-version JASPAR matrices of a collection and group (cached: reading them takes ~2 s)."""
    from pyjaspar import jaspardb

    return tuple(
        jaspardb(release=release).fetch_motifs(collection=collection, tax_group=[tax_group], all_versions=False)
    )


def _pwm_tables(counts: np.ndarray, pseudocount: float):
    """PFM counts (L, 4) -> probabilities (L, 4), log2-odds vs uniform (L, 4), information content (L,) bits."""
    prob = (counts + pseudocount) / (counts + pseudocount).sum(1, keepdims=True)
    lo = np.log2(prob / 0.25)
    ic = 2.0 + (prob * np.log2(prob)).sum(1)
    return prob, lo, ic


# ----------------------------------------------------------------------------------------------- genome
def _chrom_lengths(g: dict) -> np.ndarray:
    n = int(g["chromosomes"])
    w = np.linspace(1.3, 0.7, n) if n > 1 else np.ones(1)
    lengths = np.floor(w / w.sum() * int(g["size"])).astype(np.int64)
    return lengths


def _background(rng: np.random.Generator, length: int, g: dict) -> np.ndarray:
    """Background codes (length,) uint8: GC isochores, CpG deamination, A/T tracts."""
    lo, hi = (int(k * 1000) for k in g["isochore_kb"])
    nblk = length // lo + 2
    sizes = rng.integers(lo, hi + 1, nblk)
    gcs = np.clip(rng.normal(g["gc"], g["isochore_gc_sd"], nblk), 0.2, 0.8)
    gc = np.repeat(gcs, sizes)[:length]
    u = rng.random(length)
    # A, C, G, T with P(C) = P(G) = gc / 2
    codes = np.where(u < gc, np.where(u < gc / 2, 1, 2), np.where(u < gc + (1 - gc) / 2, 0, 3)).astype(np.uint8)
    _deaminate(rng, codes, 1.0 - g["cpg_oe"])
    # A/T tracts (poly-A on either strand)
    n_tr = rng.poisson(length / 1000 * g["a_tract_per_kb"])
    a, b = g["a_tract_bp"]
    _paint_tracts(
        codes,
        rng.integers(0, length - b, n_tr),
        rng.integers(a, b + 1, n_tr),
        rng.integers(0, 2, n_tr).astype(np.uint8) * 3,
    )
    return codes


def _deaminate(rng, codes: np.ndarray, p: float) -> None:
    """CG -> TG or CA in place, each CpG with probability ``p`` (methylated-CpG decay)."""
    cg = np.flatnonzero((codes[:-1] == 1) & (codes[1:] == 2))
    hit = cg[rng.random(cg.size) < p]
    on_c = rng.random(hit.size) < 0.5
    codes[hit[on_c]] = 3  # C -> T
    codes[hit[~on_c] + 1] = 0  # G -> A (the C on the other strand)


def _paint_tracts(codes: np.ndarray, starts: np.ndarray, lengths: np.ndarray, base: np.ndarray) -> None:
    """Write runs of one base: codes[starts[i]:starts[i]+lengths[i]] = base[i] (vectorised)."""
    if starts.size == 0:
        return
    idx = np.repeat(starts, lengths) + _ragged_arange(lengths)
    codes[idx] = np.repeat(base, lengths)


def _ragged_arange(lengths: np.ndarray) -> np.ndarray:
    """Concatenation of arange(l) for l in lengths."""
    lengths = np.asarray(lengths, dtype=np.int64)
    ends = np.cumsum(lengths)
    return np.arange(ends[-1] if lengths.size else 0) - np.repeat(ends - lengths, lengths)


# ----------------------------------------------------------------------------------------------- simulate
class _Sim:
    """Holds the state of one simulation; :func:`simulate` is the public entry point."""

    def __init__(self, samples: pd.DataFrame, p: dict, seed: int, progress: bool):
        self.p, self.seed, self.progress = p, int(seed), progress
        self.samples = samples.reset_index(drop=True)
        self.streams = iter(np.random.SeedSequence(self.seed).spawn(32))
        used = list(dict.fromkeys(self.samples["group"]))
        _check_groups(self.samples, p["programs"])
        self.programs = {k: list(p["programs"][k]) for k in used}

    def rng(self) -> np.random.Generator:
        return np.random.default_rng(next(self.streams))

    # --- motifs
    def setup_motifs(self):
        m = self.p["motifs"]
        factors = list(
            dict.fromkeys(
                [f for fs in self.programs.values() for f in fs] + list(m["constitutive"]) + list(m["promoter"])
            )
        )
        for c in self.p["cooperative"]:
            if c["program"] in self.programs:
                factors += [f for f in (c["first"], c["second"]) if f not in factors]
        self.factors = factors
        self.motifs = load_motifs(factors, m["release"], m["collection"], m["tax_group"])
        self.prob, self.lo, self.ic = [], [], []
        for f in factors:
            pr, lo, ic = _pwm_tables(self.motifs[f]["counts"], m["pseudocount"])
            self.prob.append(pr), self.lo.append(lo), self.ic.append(ic)
        self.flen = np.array([x.shape[0] for x in self.prob])
        self.fmax = np.array([x.max(1).sum() for x in self.lo])
        slot_bp = int(self.p["sites"]["slot_bp"])
        too_long = [f for f, n in zip(factors, self.flen) if n > slot_bp]
        if too_long:
            raise ConfigError("simulate.sites.slot_bp", f"motifs {too_long} are longer than a slot ({slot_bp} bp)")

    # --- genome
    def make_genome(self):
        g = self.p["genome"]
        self.chroms = [f"chr{i + 1}" for i in range(int(g["chromosomes"]))]
        self.lengths = _chrom_lengths(g)
        self.offsets = np.concatenate([[0], np.cumsum(self.lengths)])
        rng = self.rng()
        parts = []
        for L in self.lengths:
            parts.append(_background(rng, int(L), g))
        self.seq = np.concatenate(parts)
        # N gaps: blocks away from chromosome ends
        gaps = []
        for c, L in enumerate(self.lengths):
            k = int(g["gaps_per_chrom"])
            if k == 0 or g["gap_fraction"] <= 0:
                continue
            size = int(L * g["gap_fraction"] / k)
            starts = np.sort(rng.choice(np.arange(1, 20) * (L // 20), k, replace=False)) - size // 2
            gaps += [(self.offsets[c] + s, self.offsets[c] + s + size) for s in starts]
        self.gaps = np.array(gaps, dtype=np.int64).reshape(-1, 2)
        for s, e in self.gaps:
            self.seq[s:e] = 4

    # --- sites
    def place_sites(self):
        s, rng = self.p["sites"], self.rng()
        spacing, margin = int(s["min_spacing"]), 2000
        centres = []
        for c, L in enumerate(self.lengths):
            n = int(round(s["per_mb"] * L / 1e6))
            slack = (L - 2 * margin) - n * spacing
            if slack < 0:
                raise ConfigError("simulate.sites.per_mb", f"{n} sites {spacing} bp apart do not fit on {L} bp")
            extra = rng.exponential(1.0, n + 1)
            extra = np.floor(extra / extra.sum() * slack).astype(np.int64)
            centres.append(self.offsets[c] + margin + np.cumsum(spacing + extra[:n]) - spacing // 2)
        centres = np.concatenate(centres)
        half = int(s["slots"]) * int(s["slot_bp"]) // 2 + 200
        keep = np.ones(centres.size, bool)
        for a, b in self.gaps:  # drop sites touching a gap
            keep &= (centres + half <= a) | (centres - half >= b)
        self.centre = centres[keep]
        n = self.centre.size
        classes = ["promoter", "constitutive", "decoy"] + list(self.programs)
        nprog = len(self.programs)
        rest = 1.0 - s["promoter"] - s["constitutive"] - s["decoy"]
        probs = np.array([s["promoter"], s["constitutive"], s["decoy"]] + [rest / nprog] * nprog)
        self.classes = classes
        self.cls = rng.choice(len(classes), n, p=probs / probs.sum())
        self.chrom_idx = np.searchsorted(self.offsets, self.centre, side="right") - 1
        # promoters are CpG islands: redraw their background GC-rich, without CpG decay
        g = self.p["genome"]
        isl = np.flatnonzero(self.cls == 0)
        hw = int(g["cpg_island_bp"]) // 2
        idx = (self.centre[isl, None] - hw + np.arange(2 * hw)[None]).ravel()
        u = rng.random(idx.size)
        gc = g["cpg_island_gc"]
        self.seq[idx] = np.where(u < gc, np.where(u < gc / 2, 1, 2), np.where(u < gc + (1 - gc) / 2, 0, 3))
        # flanking A-tracts, just outside the motif core
        self.a_tract = rng.random(n) < s["a_tract"]
        at = np.flatnonzero(self.a_tract)
        core = int(s["slots"]) * int(s["slot_bp"]) // 2
        side = np.where(rng.random(at.size) < 0.5, 1, -1)
        lens = rng.integers(10, 17, at.size)
        starts = np.where(side > 0, self.centre[at] + core + 5, self.centre[at] - core - 5 - lens)
        _paint_tracts(self.seq, starts, lens, rng.integers(0, 2, at.size).astype(np.uint8) * 3)

    def plant_motifs(self):
        s, m, rng = self.p["sites"], self.p["motifs"], self.rng()
        n, K, W = self.centre.size, int(s["slots"]), int(s["slot_bp"])
        fidx = {f: i for i, f in enumerate(self.factors)}
        fac = np.full((n, K), -1, dtype=np.int64)
        u = rng.random((n, K))
        pick = rng.random((n, K))

        def fill(rows, names, prob):
            ids = np.array([fidx[f] for f in names])
            sub = ids[(pick[rows] * len(ids)).astype(np.int64)]
            fac[rows] = np.where(u[rows] < prob, sub, -1)

        fill(self.cls == 0, m["promoter"], s["motif_prob"])
        fac[self.cls == 0, 0] = fidx[m["promoter"][0]]  # every promoter has at least one SP1-like motif
        cons = self.cls == 1
        fill(cons, m["constitutive"], 0.2)
        fac[cons, 0] = fidx[m["constitutive"][0]]
        lineage_all = [f for fs in self.programs.values() for f in fs]
        fill(self.cls == 2, lineage_all, s["decoy_motif_prob"])
        for j, prog in enumerate(self.programs):
            rows = self.cls == 3 + j
            fill(rows, self.programs[prog], s["motif_prob"])
            r = np.flatnonzero(rows)
            none = r[(fac[r] < 0).all(1)]
            fac[none, (pick[none, 0] * K).astype(np.int64)] = fidx[self.programs[prog][0]]
        # offsets within slots, strands, sharpness
        strand = rng.random((n, K)) < 0.5  # True = minus
        flen = np.where(fac >= 0, self.flen[np.maximum(fac, 0)], 0)
        off = (rng.random((n, K)) * (W - flen + 1)).astype(np.int64)
        start = self.centre[:, None] - K * W // 2 + np.arange(K)[None] * W + off
        lo_sh, hi_sh = m["sharpness"]
        sharp = rng.uniform(lo_sh, hi_sh, (n, K))
        decoy = self.cls == 2
        sharp[decoy] = rng.uniform(0.3, 0.8, (decoy.sum(), K))  # decoys carry weak matches
        # cooperative pairs replace slots 0-1 by first + spacing + second
        self.pair = np.zeros(n, dtype=np.int64) - 1
        for c, pr in enumerate(self.p["cooperative"]):
            if pr["program"] not in self.programs:
                continue
            rows = np.flatnonzero(self.cls == 3 + list(self.programs).index(pr["program"]))
            rows = rows[rng.random(rows.size) < pr["prob"]]
            a, b = fidx[pr["first"]], fidx[pr["second"]]
            span = self.flen[a] + int(pr["spacing"]) + self.flen[b]
            if span > 2 * W:
                raise ConfigError(f"simulate.cooperative[{c}].spacing", f"the pair spans {span} bp > two slots")
            o = (rng.random(rows.size) * (2 * W - span + 1)).astype(np.int64)
            base = self.centre[rows] - K * W // 2 + o
            fac[rows, 0], fac[rows, 1] = a, b
            start[rows, 0], start[rows, 1] = base, base + self.flen[a] + int(pr["spacing"])
            strand[rows, 0] = strand[rows, 1] = False
            self.pair[rows] = c
        has = fac >= 0
        site, slot = np.nonzero(has)
        self.inst = pd.DataFrame(
            {
                "site": site,
                "slot": slot,
                "factor": fac[has],
                "start": start[has],
                "minus": strand[has],
                "sharp": sharp[has],
            }
        )
        self.inst["length"] = self.flen[self.inst["factor"].to_numpy()]
        for f in np.unique(self.inst["factor"]):
            r = np.flatnonzero(self.inst["factor"].to_numpy() == f)
            pr = self.prob[f][None] ** self.inst["sharp"].to_numpy()[r, None, None]  # (n, L, 4)
            cum = np.cumsum(pr / pr.sum(2, keepdims=True), axis=2)
            codes = (rng.random((r.size, self.flen[f]))[..., None] > cum).sum(2).clip(0, 3).astype(np.uint8)
            minus = self.inst["minus"].to_numpy()[r]
            codes[minus] = 3 - codes[minus, ::-1]
            idx = self.inst["start"].to_numpy()[r, None] + np.arange(self.flen[f])[None]
            self.seq[idx] = codes

    def _motif_positions(self, r: np.ndarray, f: int) -> np.ndarray:
        """Genome positions (n, L) of instances ``r`` of factor f, in motif order (minus strand reversed)."""
        L = self.flen[f]
        st = self.inst["start"].to_numpy()[r, None]
        rel = np.arange(L)[None]
        return np.where(self.inst["minus"].to_numpy()[r, None], st + L - 1 - rel, st + rel)

    def score_instances(self):
        """Log-odds score of every instance read back from the genome (after any create-SNP edits)."""
        score = np.zeros(len(self.inst))
        fac = self.inst["factor"].to_numpy()
        for f in np.unique(fac):
            r = np.flatnonzero(fac == f)
            pos = self._motif_positions(r, f)
            b = self.seq[pos]
            b = np.where(self.inst["minus"].to_numpy()[r, None], 3 - b, b)
            score[r] = self.lo[f][np.arange(self.flen[f])[None], b].sum(1)
        self.inst["score"] = score
        self.inst["match"] = np.clip(score / self.fmax[fac], 0, 1)

    def choose_create(self):
        """Causal 'create' SNPs: knock out the best position of some strong lineage instances in the REF."""
        v, rng = self.p["variants"], self.rng()
        nb = int(round(v["blocks_per_mb"] * self.lengths.sum() / 1e6))
        self.n_blocks = max(nb, 1)
        n_create = int(round(self.n_blocks * v["create"]))
        cand = np.flatnonzero(
            (self.cls[self.inst["site"].to_numpy()] >= 3) | (self.cls[self.inst["site"].to_numpy()] <= 1)
        )
        chosen = np.sort(rng.choice(cand, min(n_create, cand.size), replace=False))
        rows = []
        for r in chosen:  # a few dozen; each needs its own PWM
            f = int(self.inst.at[r, "factor"])
            j = int(np.argmax(self.ic[f]))
            pos = int(self._motif_positions(np.array([r]), f)[0, j])
            minus = bool(self.inst.at[r, "minus"])
            best, worst = int(np.argmax(self.prob[f][j])), int(np.argmin(self.prob[f][j]))
            ref = worst if not minus else 3 - worst
            alt = best if not minus else 3 - best
            self.seq[pos] = ref
            rows.append((pos, ref, alt, "causal_create", r))
        self.create_rows = rows

    # --- accessibility
    def activities(self):
        a, rng = self.p["accessibility"], self.rng()
        cells = self.samples["name"].tolist()
        act = np.zeros((len(cells), len(self.factors)))
        fidx = {f: i for i, f in enumerate(self.factors)}
        act[:] = rng.uniform(*a["other_activity"], act.shape)
        for ci, group in enumerate(self.samples["group"]):
            for f in self.programs[group]:
                act[ci, fidx[f]] = rng.uniform(*a["lineage_activity"])
        for f in self.p["motifs"]["promoter"]:
            act[:, fidx[f]] = rng.uniform(*a["promoter_activity"], len(cells))
        for f in self.p["motifs"]["constitutive"]:
            act[:, fidx[f]] = rng.uniform(*a["constitutive_activity"], len(cells))
        act *= np.exp(rng.normal(0, a["cell_sd"], act.shape))
        self.act = pd.DataFrame(act, index=pd.Index(cells, name="cell"), columns=self.factors)

    def accessibility(self):
        a, rng = self.p["accessibility"], self.rng()
        act = self.act.to_numpy()  # (C, F)
        n, C = self.centre.size, act.shape[0]
        site = self.inst["site"].to_numpy()
        fac = self.inst["factor"].to_numpy()
        match = self.inst["match"].to_numpy()
        z = np.zeros((n, C))
        np.add.at(z, site, act[:, fac].T * match[:, None] ** 2)
        for c, pr in enumerate(self.p["cooperative"]):
            if pr["program"] not in self.programs:
                continue
            rows = np.flatnonzero(self.pair == c)
            ia = self.inst.set_index(["site", "slot"])["match"]
            m0 = ia.reindex(pd.MultiIndex.from_arrays([rows, np.zeros_like(rows)])).to_numpy()
            m1 = ia.reindex(pd.MultiIndex.from_arrays([rows, np.ones_like(rows)])).to_numpy()
            both = np.minimum(act[:, self.factors.index(pr["first"])], act[:, self.factors.index(pr["second"])])
            z[rows] += pr["weight"] * np.minimum(m0, m1)[:, None] * both[None]
        z -= a["a_tract_penalty"] * self.a_tract[:, None]
        z += rng.normal(0, a["noise_sd"], z.shape)
        frac = rng.uniform(*a["fraction"], C)
        k = np.round(frac * n).astype(np.int64)
        order = np.argsort(-z, axis=0, kind="stable")
        acc = np.zeros((n, C), bool)
        for c in range(C):
            acc[order[: k[c], c], c] = True
        thr = np.array([z[order[max(k[c] - 1, 0), c], c] for c in range(C)])
        self.z, self.acc, self.thr = z, acc, thr

    # --- variants
    def variants(self):
        v, rng = self.p["variants"], self.rng()
        isn = self.seq == 4
        n_out = int(round(self.n_blocks * v["outside"]))
        n_break = max(self.n_blocks - n_out - len(self.create_rows), 0)
        site = self.inst["site"].to_numpy()
        created = {r for *_, r in self.create_rows}
        ok = self.acc[site].any(1) & (self.inst["match"].to_numpy() > 0.6)
        ok[list(created)] = False
        cand = np.flatnonzero(ok)
        chosen = np.sort(rng.choice(cand, min(n_break, cand.size), replace=False))
        rows = list(self.create_rows)
        for r in chosen:
            f = int(self.inst.at[r, "factor"])
            j = int(np.argmax(self.ic[f]))
            pos = int(self._motif_positions(np.array([r]), f)[0, j])
            minus = bool(self.inst.at[r, "minus"])
            ref = int(self.seq[pos])
            pr = self.prob[f][j][::-1] if minus else self.prob[f][j]  # genome-strand probabilities
            pr = pr.copy()
            pr[ref] = np.inf
            rows.append((pos, ref, int(np.argmin(pr)), "causal_break", r))
        # causal SNPs outside every site (and off N)
        far = self._far_from_sites(rng.integers(0, self.seq.size, 50 * n_out + 50), self._background_dist())
        far = far[~isn[far]][:n_out]
        for pos in far:
            ref = int(self.seq[pos])
            rows.append((int(pos), ref, int((ref + 1 + rng.integers(0, 3)) % 4), "causal_outside_site", -1))
        causal = pd.DataFrame(rows, columns=["gpos", "ref", "alt", "role", "inst"])
        causal = causal.sort_values("gpos", kind="stable").reset_index(drop=True)
        causal["block"] = np.arange(len(causal))
        # bystanders: random positions within the block, off sites, motifs and N
        lo, hi = v["block_kb"]
        blen = (rng.uniform(lo, hi, len(causal)) * 1000).astype(np.int64)
        cpics = rng.uniform(*v["causal_pics"], len(causal))
        maxb = v["max_bystander_pics"]
        nby = np.maximum(np.ceil((1 - cpics) / (0.4 * maxb)).astype(np.int64), 5)  # ~half fall on sites
        b_block = np.repeat(np.arange(len(causal)), nby)
        bstart = causal["gpos"].to_numpy() - (rng.random(len(causal)) * blen).astype(np.int64)
        bpos = np.repeat(bstart, nby) + (rng.random(b_block.size) * np.repeat(blen, nby)).astype(np.int64)
        bpos = np.clip(bpos, 0, self.seq.size - 1)
        # stay on the causal SNP's chromosome
        cchrom = np.searchsorted(self.offsets, causal["gpos"].to_numpy(), side="right") - 1
        bchrom = np.searchsorted(self.offsets, bpos, side="right") - 1
        good = (bchrom == cchrom[b_block]) & ~isn[bpos]
        good &= np.isin(bpos, self._far_from_sites(bpos, 200))
        bpos, b_block = bpos[good], b_block[good]
        _, first = np.unique(bpos, return_index=True)
        first = np.sort(first)
        bpos, b_block = bpos[first], b_block[first]
        drop = np.isin(bpos, causal["gpos"].to_numpy())
        bpos, b_block = bpos[~drop], b_block[~drop]
        bref = self.seq[bpos].astype(np.int64)
        balt = (bref + 1 + rng.integers(0, 3, bref.size)) % 4
        w = rng.uniform(0.5, 1.0, bpos.size)
        wsum = np.bincount(b_block, w, len(causal))
        bp = np.minimum((1 - cpics[b_block]) * w / wsum[b_block], maxb)
        inst = causal["inst"].to_numpy()
        f_of = np.where(inst >= 0, self.inst["factor"].to_numpy()[np.maximum(inst, 0)], -1)
        s_of = np.where(inst >= 0, site[np.maximum(inst, 0)], -1)
        snps = (
            pd.DataFrame(
                {
                    "gpos": np.concatenate([causal["gpos"].to_numpy(), bpos]),
                    "ref": np.concatenate([causal["ref"].to_numpy(), bref]),
                    "alt": np.concatenate([causal["alt"].to_numpy(), balt]),
                    "role": np.concatenate([causal["role"].to_numpy(), np.full(bpos.size, "bystander")]),
                    "block": np.concatenate([causal["block"].to_numpy(), b_block]),
                    "site": np.concatenate([s_of, np.full(bpos.size, -1)]),
                    "factor_i": np.concatenate([f_of, np.full(bpos.size, -1)]),
                    "pics": np.concatenate([cpics, bp]),
                }
            )
            .sort_values("gpos", kind="stable")
            .reset_index(drop=True)
        )
        snps["id"] = [f"snp{i:06d}" for i in range(1, len(snps) + 1)]
        self.snps = snps

    def _background_dist(self) -> int:
        """Distance from every site centre that counts as background: past the core and its A-tract, bp."""
        return int(self.p["sites"]["slots"]) * int(self.p["sites"]["slot_bp"]) // 2 + 60

    def _far_from_sites(self, pos: np.ndarray, dist: int) -> np.ndarray:
        """Those ``pos`` more than ``dist`` bp from every site centre."""
        i = np.searchsorted(self.centre, pos)
        left = np.abs(pos - self.centre[np.maximum(i - 1, 0)])
        right = np.abs(self.centre[np.minimum(i, self.centre.size - 1)] - pos)
        return pos[np.minimum(left, right) > dist]

    # --- conservation
    def conservation(self) -> np.ndarray:
        c, rng = self.p["conservation"], self.rng()
        e = rng.normal(0, 1, self.seq.size + 1).astype(np.float32)
        ar = float(c["autocorrelation"])
        x = (e[1:] + ar * e[:-1]) * np.float32(c["sd"] / np.sqrt(1 + ar * ar))
        fac = self.inst["factor"].to_numpy()
        for f in np.unique(fac):
            r = np.flatnonzero(fac == f)
            pos = self._motif_positions(r, f)
            x[pos] += np.float32(c["per_bit"]) * self.ic[f][None].astype(np.float32)
        return np.round(x * 100) / 100  # phyloP-like precision

    # --- writers
    def gpos_to_chrom(self, gpos):
        ci = np.searchsorted(self.offsets, gpos, side="right") - 1
        return np.array(self.chroms, dtype=object)[ci], np.asarray(gpos) - self.offsets[ci]

    def write_fasta(self, tmp: Path):
        width = int(self.p["genome"]["line_width"])
        letters = np.frombuffer(b"ACGTN", dtype=np.uint8)
        fai, sizes, offset = [], [], 0
        with open(tmp / OUTPUTS["fasta"], "wb") as fh:
            for c, name in enumerate(self.chroms):
                L = int(self.lengths[c])
                head = f">{name}\n".encode()
                fh.write(head)
                offset += len(head)
                fai.append(f"{name}\t{L}\t{offset}\t{width}\t{width + 1}\n")
                sizes.append(f"{name}\t{L}\n")
                s = letters[self.seq[self.offsets[c] : self.offsets[c + 1]]]
                full = L // width
                body = np.full((full, width + 1), ord("\n"), dtype=np.uint8)
                body[:, :width] = s[: full * width].reshape(full, width)
                data = body.tobytes()
                if L % width:
                    data += s[full * width :].tobytes() + b"\n"
                fh.write(data)
                offset += len(data)
        (tmp / OUTPUTS["fai"]).write_text("".join(fai))
        (tmp / OUTPUTS["chrom_sizes"]).write_text("".join(sizes))

    def write_bigwig(self, tmp: Path, cons: np.ndarray):
        import pyBigWig

        bw = pyBigWig.open(str(tmp / OUTPUTS["phylop"]), "w")
        bw.addHeader([(n, int(L)) for n, L in zip(self.chroms, self.lengths)], maxZooms=4)
        isn = self.seq == 4
        for c, name in enumerate(self.chroms):
            a, b = self.offsets[c], self.offsets[c + 1]
            edge = np.flatnonzero(np.diff(np.concatenate([[True], isn[a:b], [True]]).astype(np.int8)))
            for s, e in zip(edge[0::2], edge[1::2]):  # runs of non-N, a handful per chromosome
                bw.addEntries(name, int(s), values=cons[a + s : a + e].astype(np.float64), span=1, step=1)
        bw.close()

    def write_genes(self, tmp: Path) -> int:
        gp, rng = self.p["genes"], self.rng()
        prom = np.flatnonzero(self.cls == 0)
        n = prom.size
        tss = self.centre[prom]
        ci = self.chrom_idx[prom]
        minus = rng.random(n) < 0.5
        lo, hi = gp["length_kb"]
        glen = np.clip(np.exp(rng.normal(np.log(15_000), 0.8, n)), lo * 1000, hi * 1000).astype(np.int64)
        cstart, cend = self.offsets[ci], self.offsets[ci + 1]
        gs = np.where(minus, np.maximum(tss - glen + 1, cstart), tss)
        ge = np.where(minus, tss + 1, np.minimum(tss + glen, cend))
        glen = ge - gs
        nex = np.minimum(rng.integers(gp["exons"][0], gp["exons"][1] + 1, n), np.maximum(glen // 400, 1))
        g_of = np.repeat(np.arange(n), nex)
        k = _ragged_arange(nex)
        seg = glen[g_of] // nex[g_of]
        ex_len = np.minimum(rng.integers(80, 301, g_of.size), seg // 2)
        ex_s = gs[g_of] + k * seg + (rng.random(g_of.size) * (seg - ex_len)).astype(np.int64)
        last = k == nex[g_of] - 1
        ex_s[k == 0] = gs[g_of[k == 0]]
        ex_e = ex_s + ex_len
        ex_e[last] = ge[g_of[last]]
        ex_s[last] = np.minimum(ex_s[last], ex_e[last] - 1)
        ex_num = np.where(minus[g_of], nex[g_of] - k, k + 1)
        gid = np.array([f"SIMG{i:05d}" for i in range(1, n + 1)], dtype=object)
        tid = np.array([f"SIMT{i:05d}" for i in range(1, n + 1)], dtype=object)
        chrom, gs_local = self.gpos_to_chrom(gs)
        ge_local = ge - self.offsets[ci]
        strand = np.where(minus, "-", "+")
        attr_g = 'gene_id "' + gid + '"; gene_name "' + gid + '"; gene_biotype "protein_coding";'
        attr_t = 'gene_id "' + gid + '"; transcript_id "' + tid + '"; gene_name "' + gid + '";'
        ex_chrom, ex_sl = self.gpos_to_chrom(ex_s)
        attr_e = attr_t[g_of] + ' exon_number "' + ex_num.astype(str).astype(object) + '";'

        def frame(ch, s, e, feat, st, attr, gi, order):
            return pd.DataFrame(
                {
                    "chrom": ch,
                    "source": "basset_sim",
                    "feature": feat,
                    "start": s + 1,
                    "end": e,
                    "score": ".",
                    "strand": st,
                    "frame": ".",
                    "attr": attr,
                    "_g": gi,
                    "_o": order,
                }
            )

        df = pd.concat(
            [
                frame(chrom, gs_local, ge_local, "gene", strand, attr_g, np.arange(n), 0),
                frame(chrom, gs_local, ge_local, "transcript", strand, attr_t, np.arange(n), 1),
                frame(ex_chrom, ex_sl, ex_e - self.offsets[ci[g_of]], "exon", strand[g_of], attr_e, g_of, 2 + k),
            ]
        )
        df["_gs"] = gs[df["_g"].to_numpy()]
        df = df.sort_values(["_gs", "_g", "_o"], kind="stable").drop(columns=["_gs", "_g", "_o"])
        with open(tmp / OUTPUTS["genes"], "w") as fh:
            fh.write("##description: basset simulated genes (one transcript per gene)\n")
            df.to_csv(fh, sep="\t", header=False, index=False, quoting=3)
        return n

    def peaks(self) -> dict[str, pd.DataFrame]:
        pk, a, rng = self.p["peaks"], self.p["accessibility"], self.rng()
        out = {}
        isn = self.seq == 4
        for c, cell in enumerate(self.samples["name"]):
            sites = np.flatnonzero(self.acc[:, c])
            zc = self.z[sites, c] - self.thr[c]
            n_false = int(round(a["false_peaks"] * sites.size / max(1 - a["false_peaks"], 1e-9)))
            fpos = self._far_from_sites(rng.integers(0, self.seq.size, 20 * n_false + 10), self._background_dist())
            fpos = fpos[~isn[fpos]][:n_false]
            centre = np.concatenate([self.centre[sites], fpos])
            strength = np.concatenate([zc, rng.exponential(0.3, fpos.size)])
            width = rng.integers(pk["width"][0], pk["width"][1] + 1, centre.size)
            summit = centre + np.round(rng.normal(0, pk["jitter_sd"], centre.size)).astype(np.int64)
            left = (width * rng.uniform(0.3, 0.7, centre.size)).astype(np.int64)
            start = summit - left
            ci = np.searchsorted(self.offsets, centre, side="right") - 1
            start = np.maximum(start, self.offsets[ci])
            end = np.minimum(start + width, self.offsets[ci + 1])
            order = np.argsort(start, kind="stable")
            start, end, summit, strength = start[order], end[order], summit[order], strength[order]
            chrom, s_local = self.gpos_to_chrom(start)
            pval = 4 + 6 * strength + rng.exponential(1.0, strength.size)
            out[cell] = pd.DataFrame(
                {
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
                }
            )
            self.n_false = getattr(self, "n_false", {})
            self.n_false[cell] = int(fpos.size)
        return out


def _gz_tsv(path: Path, df: pd.DataFrame) -> None:
    """Gzipped TSV without header, mtime 0 and no file name (byte-identical across runs)."""
    buf = io.StringIO()
    df.to_csv(buf, sep="\t", header=False, index=False)
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
        gz.write(buf.getvalue().encode())


def simulate(outdir, samples: pd.DataFrame, params: dict | None = None, seed: int = 1, progress: bool = True) -> dict:
    """Simulate a genome with a planted regulatory code and write every file of :data:`OUTPUTS`.

    Parameters
    ----------
    outdir : directory for the genome, annotation, variants and ``truth/`` (created).
    samples : sample sheet (see :func:`basset.samples.read_sample_sheet`) with columns ``name``, ``group`` (a key of
        ``params["programs"]``) and ``format`` (``narrowPeak``: 10-column ENCODE narrowPeak; ``hotspot``:
        5-column chrom/start/end/name/score; ``bed``: BED6), all gzipped, written to
        ``outdir/peaks/<name>.<format>.gz`` (:func:`simulated_paths`; a ``peaks`` column is ignored).
    params : overrides merged over :data:`DEFAULTS`; an unknown key raises :class:`ConfigError`.
    seed : the one seed every random draw derives from.
    progress : show a tqdm bar over the stages.

    Returns the summary dict (also written to ``truth/simulation.json`` without timings, and logged).
    Files are written into a temporary directory inside ``outdir`` and moved into place at the end,
    ``truth/simulation.json`` last, so a crash never leaves a complete-looking set.
    """
    t0 = time.perf_counter()
    p = merge_params(params)
    _check_params(p)
    for col in ("name", "group"):
        if col not in samples.columns:
            raise ConfigError("samples", f"the sample sheet needs a {col!r} column")
    samples = samples.copy()
    if "format" not in samples.columns:
        samples["format"] = "narrowPeak"
    sim = _Sim(samples, p, seed, progress)
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)

    stages = ["motifs", "genome", "sites", "motif planting", "accessibility", "variants", "conservation", "writing"]
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(stages), desc="simulate", unit="stage")

    def step(name):
        log.debug("simulate: %s (%.1f s)", name, time.perf_counter() - t0)
        if bar is not None:
            bar.set_postfix_str(name)
            bar.update(1)

    sim.setup_motifs()
    step("motifs")
    sim.make_genome()
    step("genome")
    sim.place_sites()
    step("sites")
    sim.plant_motifs()
    sim.choose_create()  # edits the genome, so before scoring
    sim.score_instances()
    step("motif planting")
    sim.activities()
    sim.accessibility()
    step("accessibility")
    sim.variants()
    step("variants")
    cons = sim.conservation()
    step("conservation")

    try:
        with staging_dir(outdir, "simulate") as tmp:
            (tmp / "truth").mkdir()
            (tmp / "peaks").mkdir()
            sim.write_fasta(tmp)
            sim.write_bigwig(tmp, cons)
            del cons
            n_genes = sim.write_genes(tmp)
            peaks = sim.peaks()
            peak_tmp = {}
            for i, row in enumerate(sim.samples.itertuples(index=False)):
                df = peaks[row.name]
                if row.format == "hotspot":
                    df = df[["chrom", "start", "end", "name", "score"]]
                elif row.format == "bed":
                    df = df[["chrom", "start", "end", "name", "score", "strand"]]
                peak_tmp[row.name] = tmp / "peaks" / f"{i}.gz"
                _gz_tsv(peak_tmp[row.name], df)
            truth = _write_tables(sim, tmp)
            step("writing")
            cells = sim.samples["name"].tolist()
            frac = sim.acc.mean(0)
            counts = {
                "genome_bp": int(sim.lengths.sum()),
                "gap_bp": int((sim.seq == 4).sum()),
                "gc": float(np.isin(sim.seq, (1, 2)).sum() / max((sim.seq != 4).sum(), 1)),
                "sites": int(sim.centre.size),
                "sites_by_class": {c: int((sim.cls == i).sum()) for i, c in enumerate(sim.classes)},
                "motif_instances": int(len(sim.inst)),
                "genes": int(n_genes),
                "sites_accessible_anywhere": int(sim.acc.any(1).sum()),
                "peaks": {c: int(len(peaks[c])) for c in cells},
                "false_peaks": dict(sim.n_false),
                "snps": int(len(sim.snps)),
                "snps_by_role": {k: int(v) for k, v in sim.snps["role"].value_counts().sort_index().items()},
                "ld_blocks": int(sim.snps["block"].nunique()),
            }
            summary = {
                "seed": int(seed),
                "params": p,
                "jaspar_release": p["motifs"]["release"],
                "factors": {f: sim.motifs[f]["matrix_id"] for f in sim.factors},
                "factor_names": {f: sim.motifs[f]["name"] for f in sim.factors},
                "programs_used": sim.programs,
                "accessible_fraction": {c: round(float(x), 6) for c, x in zip(cells, frac)},
                "counts": counts,
                "outputs": OUTPUTS,
                "truth_columns": truth,
            }
            (tmp / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=False) + "\n")
            # move into place: everything but the summary, then the summary
            (outdir / "truth").mkdir(exist_ok=True)
            for key, rel in OUTPUTS.items():
                if key != "summary":
                    os.replace(tmp / rel, outdir / rel)
            peak_paths = simulated_paths(outdir, sim.samples)["peaks"]
            for row in sim.samples.itertuples(index=False):
                dest = Path(peak_paths[row.name])
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(peak_tmp[row.name]), str(dest))
            os.replace(tmp / "summary.json", outdir / OUTPUTS["summary"])
    finally:
        if bar is not None:
            bar.close()
    summary["seconds"] = round(time.perf_counter() - t0, 2)
    log.info(
        "simulated %d bp, %d candidate sites (%d accessible somewhere), %d cell types (accessible fraction "
        "%.3f-%.3f, %d-%d peaks), %d SNPs in %d blocks, in %.1f s -> %s",
        counts["genome_bp"],
        counts["sites"],
        counts["sites_accessible_anywhere"],
        len(cells),
        frac.min(),
        frac.max(),
        min(counts["peaks"].values()),
        max(counts["peaks"].values()),
        counts["snps"],
        counts["ld_blocks"],
        summary["seconds"],
        outdir,
    )
    return summary


def _write_tables(sim: _Sim, tmp: Path) -> dict:
    """Truth tables and variants; returns ``{table: [columns]}`` for the summary."""
    site_ids = np.array([f"site{i:06d}" for i in range(1, sim.centre.size + 1)], dtype=object)
    chrom, centre = sim.gpos_to_chrom(sim.centre)
    core = int(sim.p["sites"]["slots"]) * int(sim.p["sites"]["slot_bp"]) // 2
    sites = pd.DataFrame(
        {
            "site": site_ids,
            "chrom": chrom,
            "start": centre - core,
            "end": centre + core,
            "centre": centre,
            "class": np.array(sim.classes, dtype=object)[sim.cls],
            "n_motifs": np.bincount(sim.inst["site"], minlength=sim.centre.size),
            "cooperative": (sim.pair >= 0).astype(np.int8),
            "a_tract": sim.a_tract.astype(np.int8),
        }
    )
    acc = pd.DataFrame(sim.acc.astype(np.int8), columns=sim.samples["name"].tolist())
    sites = pd.concat([sites, acc], axis=1)
    sites.to_csv(tmp / OUTPUTS["sites"], sep="\t", index=False)

    inst = sim.inst
    ichrom, istart = sim.gpos_to_chrom(inst["start"].to_numpy())
    fac = inst["factor"].to_numpy()
    motifs = pd.DataFrame(
        {
            "site": site_ids[inst["site"].to_numpy()],
            "chrom": ichrom,
            "start": istart,
            "end": istart + inst["length"].to_numpy(),
            "strand": np.where(inst["minus"], "-", "+"),
            "factor": np.array(sim.factors, dtype=object)[fac],
            "matrix_id": np.array([sim.motifs[f]["matrix_id"] for f in sim.factors], dtype=object)[fac],
            "score": np.round(inst["score"].to_numpy(), 4),
            "match": np.round(inst["match"].to_numpy(), 4),
        }
    )
    motifs.to_csv(tmp / OUTPUTS["motif_instances"], sep="\t", index=False)

    sim.act.round(6).to_csv(tmp / OUTPUTS["cell_activity"], sep="\t")

    s = sim.snps
    schrom, spos = sim.gpos_to_chrom(s["gpos"].to_numpy())
    letters = np.array(list("ACGT"), dtype=object)
    fi = s["factor_i"].to_numpy()
    snps = pd.DataFrame(
        {
            "id": s["id"],
            "chrom": schrom,
            "pos": spos + 1,
            "ref": letters[s["ref"].to_numpy()],
            "alt": letters[s["alt"].to_numpy()],
            "role": s["role"],
            "block": s["block"],
            "site": np.where(s["site"] >= 0, site_ids[np.maximum(s["site"].to_numpy(), 0)], "."),
            "factor": np.where(fi >= 0, np.array(sim.factors + ["."], dtype=object)[fi], "."),
            "pics": np.round(s["pics"].to_numpy(), 4),
        }
    )
    snps.to_csv(tmp / OUTPUTS["snps"], sep="\t", index=False)

    # PICS-like table (Farh et al. 2015 columns); disease named after the causal site's class
    causal = snps[snps["role"] != "bystander"].set_index("block")
    cls_of_site = dict(zip(sites["site"], sites["class"]))
    disease = {b: f"Simulated_{cls_of_site.get(r.site, 'intergenic')}_trait" for b, r in causal.iterrows()}
    grp = snps.groupby("block")
    mid = snps[grp.cumcount().to_numpy() == grp["id"].transform("size").to_numpy() // 2]
    index_snp = mid.set_index("block")  # the GWAS lead: any SNP of the block, here the middle one
    pics = (
        pd.DataFrame(
            {
                "Disease": snps["block"].map(disease),
                "IndexSNP_riskAllele": snps["block"].map(index_snp["id"] + "-" + index_snp["alt"]),
                "SNP": snps["id"],
                "chr": snps["chrom"],
                "pos": snps["pos"],
                "PICS_probability": snps["pics"],
                "block": snps["block"],
            }
        )
        .sort_values(["block", "pos"], kind="stable")
        .drop(columns="block")
    )
    pics.to_csv(tmp / OUTPUTS["pics"], sep="\t", index=False)

    header = ["##fileformat=VCFv4.2", "##source=basset.simulate"]
    header += [f"##contig=<ID={c},length={int(L)}>" for c, L in zip(sim.chroms, sim.lengths)]
    header += [
        '##INFO=<ID=BLOCK,Number=1,Type=Integer,Description="Simulated LD block">',
        '##INFO=<ID=ROLE,Number=1,Type=String,Description="causal_break, causal_create, causal_outside_site or bystander">',
        '##INFO=<ID=PICS,Number=1,Type=Float,Description="Simulated PICS probability">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO",
    ]
    vcf = pd.DataFrame(
        {
            "chrom": snps["chrom"],
            "pos": snps["pos"],
            "id": snps["id"],
            "ref": snps["ref"],
            "alt": snps["alt"],
            "qual": ".",
            "filter": "PASS",
            "info": "BLOCK="
            + snps["block"].astype(str)
            + ";ROLE="
            + snps["role"]
            + ";PICS="
            + snps["pics"].astype(str),
        }
    )
    buf = io.StringIO()
    buf.write("\n".join(header) + "\n")
    vcf.to_csv(buf, sep="\t", header=False, index=False)
    with open(tmp / OUTPUTS["vcf"], "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
        gz.write(buf.getvalue().encode())
    return {"sites": list(sites.columns), "motif_instances": list(motifs.columns), "snps": list(snps.columns)}

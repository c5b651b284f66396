"""The state of one simulation: its parameters, one random stream per stage, and what each stage made.

Each stage of :func:`basset.simulate.simulate` is a function of the :class:`SimState` that returns its own
product (a small dataclass or table), which the driver stores on the state for the stages after it. Every
stage draws from its own stream, spawned from the one seed in the fixed order of :data:`STREAMS`, so that a
stage's draws do not depend on how much another stage drew.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import ConfigError

#: the random stream of each stage, in the order they are spawned from the seed (never reorder: the files of
#: a seed would change)
STREAMS = ("genome", "sites", "motifs", "create", "activities", "accessibility", "variants", "conservation",
           "genes", "peaks", "coding", "repeats", "chip", "coverage")
#: genome code of N (A, C, G, T are 0-3)
N = 4


@dataclass
class Motifs:
    """The planted factors' matrices; list entries are per factor, in the order of ``factors``."""

    factors: list[str]
    records: dict[str, dict]  # factor -> {"matrix_id", "name", "counts"} (basset.jaspar.load_motifs)
    prob: list[np.ndarray]  # (L, 4) probabilities
    lo: list[np.ndarray]  # (L, 4) log2-odds against a uniform background
    ic: list[np.ndarray]  # (L,) information content, bits
    flen: np.ndarray  # (F,) int: lengths, bp
    fmax: np.ndarray  # (F,) float: best log-odds score of each PWM


@dataclass
class Genome:
    """Chromosomes concatenated into one code array; genome positions are 0-based offsets into it."""

    chroms: list[str]
    lengths: np.ndarray  # (C,) int64, bp
    offsets: np.ndarray  # (C + 1,) int64: start of each chromosome in ``seq``, then the total length
    seq: np.ndarray  # (G,) uint8 codes 0-4 (ACGTN); later stages edit it in place
    gaps: np.ndarray  # (n, 2) int64: N gaps, genome positions [start, end)
    repeat: np.ndarray | None = None  # (G,) bool: soft-masked (lowercase in the FASTA) repeat positions

    def chrom_index(self, gpos) -> np.ndarray:
        """Index of the chromosome of each genome position."""
        return np.searchsorted(self.offsets, gpos, side="right") - 1

    def to_chrom(self, gpos) -> tuple[np.ndarray, np.ndarray]:
        """Genome positions -> (chromosome names (object array), 0-based positions on them)."""
        ci = self.chrom_index(gpos)
        return np.array(self.chroms, dtype=object)[ci], np.asarray(gpos) - self.offsets[ci]


@dataclass
class Sites:
    """Candidate sites, sorted by centre."""

    centre: np.ndarray  # (n,) int64 genome positions
    classes: list[str]  # promoter, constitutive, decoy, then the used programs
    cls: np.ndarray  # (n,) index into ``classes``
    chrom_idx: np.ndarray  # (n,) chromosome index
    a_tract: np.ndarray  # (n,) bool: a flanking A-tract
    background_dist: int  # distance from every centre that counts as background (core and A-tract), bp

    def far_from(self, pos: np.ndarray, dist: int) -> np.ndarray:
        """Those ``pos`` more than ``dist`` bp from every site centre."""
        i = np.searchsorted(self.centre, pos)
        left = np.abs(pos - self.centre[np.maximum(i - 1, 0)])
        right = np.abs(self.centre[np.minimum(i, self.centre.size - 1)] - pos)
        return pos[np.minimum(left, right) > dist]


@dataclass
class Planted:
    """Motif instances: one row per instance (``site``, ``slot``, ``factor`` index, ``start`` genome position,
    ``minus``, ``sharp``, ``length``; then ``score`` and ``match`` once scored), and each site's pair."""

    inst: pd.DataFrame
    pair: np.ndarray  # (n_sites,) index of the cooperative pair planted at the site, -1 for none

    def positions(self, rows: np.ndarray, length: int) -> np.ndarray:
        """Genome positions (n, L) of instances ``rows`` (all of one factor of length L), in motif order
        (the minus strand reversed)."""
        st = self.inst["start"].to_numpy()[rows, None]
        rel = np.arange(length)[None]
        return np.where(self.inst["minus"].to_numpy()[rows, None], st + length - 1 - rel, st + rel)


@dataclass
class Access:
    """Accessibility of the sites in the cell types."""

    act: pd.DataFrame  # cell x factor activity
    z: np.ndarray  # (n_sites, cells) accessibility score
    acc: np.ndarray  # (n_sites, cells) bool: accessible
    thr: np.ndarray  # (cells,) score of the last accessible site


def sample_cells(samples: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The cell types of a sample sheet (``name``, ``group``, in order of first use) and each row's index into them.

    A row's cell type is its ``cell`` column, or the row itself when that is absent or empty (Basset's sheets: one
    row per cell type). Rows of one cell type (its DNase, ChIP-seq and histone files) share one accessibility
    state, so they must share a group; :class:`~basset.errors.ConfigError` otherwise."""
    given = samples["cell"].fillna("").astype(str) if "cell" in samples.columns else pd.Series([""] * len(samples))
    key = [c or n for c, n in zip(given, samples["name"])]
    names = list(dict.fromkeys(key))
    group: dict[str, str] = {}
    for k, g, n in zip(key, samples["group"], samples["name"]):
        if group.setdefault(k, g) != g:
            raise ConfigError("samples", f"sample {n!r} of cell {k!r} has group {g!r}, another row of that cell "
                                         f"{group[k]!r}: the rows of one cell type share its program")
    index = {k: i for i, k in enumerate(names)}
    return (pd.DataFrame({"name": names, "group": [group[k] for k in names]}),
            np.array([index[k] for k in key], dtype=np.int64))


@dataclass
class SimState:
    """One simulation: parameters, sample sheet, random streams and the products of the stages so far."""

    p: dict
    seed: int
    samples: pd.DataFrame  # columns name, group, format (and assay, cell, factor when given)
    programs: dict[str, list[str]]  # the programs of the sheet's groups, in order of first use
    streams: list = field(repr=False, default_factory=list)
    cells: pd.DataFrame | None = None  # one row per cell type: name, group (:func:`sample_cells`; derived when None)
    cell_of: np.ndarray | None = None  # (rows,) index into ``cells`` of each sample row
    motifs: Motifs | None = None
    genome: Genome | None = None
    sites: Sites | None = None
    planted: Planted | None = None
    create: list | None = None  # causal create SNPs: (gpos, ref, alt, role, instance)
    n_blocks: int = 0
    access: Access | None = None
    snps: pd.DataFrame | None = None

    @classmethod
    def start(cls, samples: pd.DataFrame, p: dict, seed: int) -> SimState:
        samples = samples.reset_index(drop=True)
        used = list(dict.fromkeys(samples["group"]))
        return cls(p, int(seed), samples, {k: list(p["programs"][k]) for k in used},
                   np.random.SeedSequence(int(seed)).spawn(32))

    def __post_init__(self):
        if self.cells is None:
            self.cells, self.cell_of = sample_cells(self.samples)

    def rng(self, stage: str) -> np.random.Generator:
        """The random generator of ``stage`` (a name of :data:`STREAMS`)."""
        return np.random.default_rng(self.streams[STREAMS.index(stage)])

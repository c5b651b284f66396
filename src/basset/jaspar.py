"""JASPAR matrices read offline with pyjaspar (its bundled SQLite releases, no internet).

:func:`jaspar_records` reads every latest-version matrix of a collection once (cached; ~2 s) and
:func:`load_motifs` picks factors' count matrices from them by TF name, as the simulation and motif
insertion name their factors.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from .errors import ConfigError
from .memefile import Motif


@functools.lru_cache(maxsize=4)
def jaspar_records(release: str, collection: str, tax_group: str) -> tuple:
    """All latest-version JASPAR matrices of a collection and group (cached: reading them takes ~2 s)."""
    from pyjaspar import jaspardb

    return tuple(
        jaspardb(release=release).fetch_motifs(collection=collection, tax_group=[tax_group], all_versions=False)
    )


def load_motifs(
    factors: list[str], release: str = "JASPAR2026", collection: str = "CORE", tax_group: str = "vertebrates"
) -> dict[str, dict]:
    """JASPAR PFMs of ``factors`` -> ``{factor: {"matrix_id", "name", "counts" (L, 4) float64}}``.

    Names are matched case-insensitively; an exact-case match wins, then the lowest matrix ID (the
    canonical profile of factors with several, e.g. CTCF MA0139). A factor not found raises
    :class:`ConfigError` naming ``simulate.programs``.
    """
    motifs = jaspar_records(release, collection, tax_group)
    out = {}
    for factor in factors:
        hits = [m for m in motifs if m.name.upper() == factor.upper()]
        if not hits:
            raise ConfigError("simulate.programs", f"factor {factor!r} not found in {release} {collection} {tax_group}")
        hits.sort(key=lambda m: (m.name != factor, m.matrix_id))
        m = hits[0]
        out[factor] = {"matrix_id": m.matrix_id, "name": m.name, "counts": record_counts(m)}
    return out


# ------------------------------------------------------------------------------- matrices as motifs
def record_counts(record) -> np.ndarray:
    """``(w, 4) float64`` counts (A, C, G, T columns) of a pyjaspar record."""
    return np.array([record.counts[b] for b in "ACGT"], dtype=np.float64).T


def jaspar_matrix(matrix_id: str, release: str = "JASPAR2026", collection: str = "CORE",
                  tax_group: str = "vertebrates") -> np.ndarray:
    """``(w, 4) float64`` probabilities (counts over their row sums) of one matrix ID (``MA0035.5``); a
    ValueError when the collection has no such matrix."""
    hits = [m for m in jaspar_records(release, collection, tax_group) if m.matrix_id == matrix_id]
    if not hits:
        raise ValueError(f"{matrix_id}: no such matrix in {release} {collection} {tax_group}")
    counts = record_counts(hits[0])
    return counts / counts.sum(axis=1, keepdims=True)


def jaspar_database(release: str = "JASPAR2026", collection: str = "CORE",
                    tax_group: str = "vertebrates") -> tuple[list[Motif], pd.DataFrame]:
    """Every latest-version matrix of a collection as a motif database, sorted by matrix ID.

    Returns the motifs (id = matrix ID such as ``MA0139.2``, name = TF name, probabilities = counts over their
    row sums, ``family`` set) and their table ``matrix_id, name, family, class`` (several families or classes
    joined with ``"; "``).
    """
    records = sorted(jaspar_records(release, collection, tax_group), key=lambda m: m.matrix_id)
    motifs, rows = [], []
    for m in records:
        counts = record_counts(m)
        family = "; ".join(m.tf_family or [])
        motifs.append(Motif(m.matrix_id, m.name, counts / counts.sum(1, keepdims=True),
                            float(counts[0].sum()), family=family,
                            url=f"https://jaspar.elixir.no/matrix/{m.matrix_id}/"))
        rows.append({"matrix_id": m.matrix_id, "name": m.name, "family": family,
                     "class": "; ".join(m.tf_class or [])})
    return motifs, pd.DataFrame(rows)


def motif_table(motifs: list[Motif]) -> pd.DataFrame:
    """``matrix_id, name, family`` of any motif list (the columns :func:`jaspar_database` gives for JASPAR)."""
    return pd.DataFrame({"matrix_id": [m.id for m in motifs], "name": [m.name for m in motifs],
                         "family": [m.family or "" for m in motifs]})

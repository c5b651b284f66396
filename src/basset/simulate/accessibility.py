"""Which sites are accessible in which cell type.

``z[i, c] = sum_k a[c, f_k] * m_k ** 2 + coop - a_tract_penalty + noise``: ``a`` the cell x factor activity
(lineage factors high, others low, per-cell log-normal variation), ``m_k`` the match of the site's planted
instances; the top ``fraction_c`` of sites (``fraction_c`` uniform in ``accessibility.fraction``) are accessible
in cell c.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .state import Access, SimState


def activities(state: SimState, rng: np.random.Generator) -> pd.DataFrame:
    """Cell x factor activity: a cell's own lineage factors high, other lineages' low, promoter and
    constitutive factors in their ranges in every cell, then per-cell log-normal variation."""
    a, factors = state.p["accessibility"], state.motifs.factors
    cells = state.cells["name"].tolist()
    act = np.zeros((len(cells), len(factors)))
    fidx = {f: i for i, f in enumerate(factors)}
    act[:] = rng.uniform(*a["other_activity"], act.shape)
    for ci, group in enumerate(state.cells["group"]):
        for f in state.programs[group]:
            act[ci, fidx[f]] = rng.uniform(*a["lineage_activity"])
    for f in state.p["motifs"]["promoter"]:
        act[:, fidx[f]] = rng.uniform(*a["promoter_activity"], len(cells))
    for f in state.p["motifs"]["constitutive"]:
        act[:, fidx[f]] = rng.uniform(*a["constitutive_activity"], len(cells))
    act *= np.exp(rng.normal(0, a["cell_sd"], act.shape))
    return pd.DataFrame(act, index=pd.Index(cells, name="cell"), columns=factors)


def cooperative_bonus(state: SimState, act: np.ndarray, z: np.ndarray) -> None:
    """Add each planted pair's ``weight * min(match of both) * min(activity of both)`` to ``z`` in place."""
    inst, factors = state.planted.inst, state.motifs.factors
    for c, pr in enumerate(state.p["cooperative"]):
        if pr["program"] not in state.programs:
            continue
        rows = np.flatnonzero(state.planted.pair == c)
        ia = inst.set_index(["site", "slot"])["match"]
        m0 = ia.reindex(pd.MultiIndex.from_arrays([rows, np.zeros_like(rows)])).to_numpy()
        m1 = ia.reindex(pd.MultiIndex.from_arrays([rows, np.ones_like(rows)])).to_numpy()
        both = np.minimum(act[:, factors.index(pr["first"])], act[:, factors.index(pr["second"])])
        z[rows] += pr["weight"] * np.minimum(m0, m1)[:, None] * both[None]


def accessibility(state: SimState) -> Access:
    """Activities, scores ``z`` (n_sites, cells), the accessible sites and each cell's threshold score."""
    a = state.p["accessibility"]
    act_frame = activities(state, state.rng("activities"))
    rng = state.rng("accessibility")
    act, inst = act_frame.to_numpy(), state.planted.inst  # (C, F)
    n, C = state.sites.centre.size, act.shape[0]
    z = np.zeros((n, C))
    match = inst["match"].to_numpy()
    np.add.at(z, inst["site"].to_numpy(), act[:, inst["factor"].to_numpy()].T * match[:, None] ** 2)
    cooperative_bonus(state, act, z)
    z -= a["a_tract_penalty"] * state.sites.a_tract[:, None]
    z += rng.normal(0, a["noise_sd"], z.shape)
    frac = rng.uniform(*a["fraction"], C)
    k = np.round(frac * n).astype(np.int64)
    order = np.argsort(-z, axis=0, kind="stable")
    acc = np.zeros((n, C), bool)
    for c in range(C):
        acc[order[: k[c], c], c] = True
    thr = np.array([z[order[max(k[c] - 1, 0), c], c] for c in range(C)])
    return Access(act_frame, z, acc, thr)

"""TF-MoDISco motifs from attributions: patterns, their PWMs, their seqlets, and the spacing of pairs.

TF-MoDISco (Shrikumar et al. 2018; the maintained ``modisco-lite``) cuts high-attribution windows (seqlets)
out of the actual contributions, clusters them by their hypothetical contributions, and aggregates each
cluster into a pattern: a contribution weight matrix (CWM), a hypothetical CWM and a position frequency
matrix (PFM) of the aligned seqlets. We run it, we do not reimplement it: :func:`run_modisco` calls
``modiscolite.tfmodisco.TFMoDISco`` and writes its standard HDF5 file (``modiscolite.io.save_hdf5``), which
``modisco report`` and other tools read as well; the rest of this module reads that file back
(:func:`read_patterns`) and turns patterns into what we annotate and draw:

:func:`trim_bounds`       the core of a pattern: columns whose total |CWM| reaches ``threshold`` x its maximum
                          (modisco's report uses 0.3), from the first such column to the last
:func:`pattern_motifs`    the trimmed PFMs as :class:`basset.memefile.Motif` objects, for Tomtom
:func:`seqlet_table`      every seqlet of every pattern: example, start, end, strand
:func:`pair_spacing`      for two patterns, the distance between the centres of their seqlets on the same
                          sequence (one per nearest pair): how a cooperative pair shows its fixed spacing

Arrays are in our one-hot layout ``(N, 4, L)`` on the way in; modisco's is ``(N, L, 4)``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from .fileio import atomic_path
from .memefile import Motif

log = logging.getLogger("basset.modisco")

#: modisco's own trim threshold for logos and matching (modiscolite.report)
TRIM_THRESHOLD = 0.3

SEQLET_COLUMNS = ("pattern", "example", "start", "end", "revcomp")


def run_modisco(one_hot, hypothetical, path: str | Path, *, window: int = 21, flank: int = 10,
                max_seqlets: int = 2000, n_leiden_runs: int = 2, final_min_cluster_size: int = 20,
                min_metacluster_size: int = 100, target_seqlet_fdr: float = 0.2) -> dict:
    """TF-MoDISco on ``one_hot`` and ``hypothetical`` contributions (both ``(N, 4, L)``); writes modisco's HDF5
    file to ``path`` (atomically; a file with no pattern groups when too few seqlets pass) and returns
    ``{"patterns": n positive, "negative_patterns": n negative, "seqlets": n in positive patterns}``.

    ``window`` (modisco's sliding window), ``flank``, ``max_seqlets`` (per metacluster), ``n_leiden_runs``
    (modisco's default 50; a few are enough for tens of thousands of seqlets and keep it to seconds),
    ``final_min_cluster_size`` (fewest seqlets in a pattern), ``min_metacluster_size`` (fewest seqlets of one
    sign for that sign to be clustered at all) and ``target_seqlet_fdr`` are modisco's parameters.
    """
    from modiscolite.io import save_hdf5
    from modiscolite.tfmodisco import TFMoDISco

    oh = np.ascontiguousarray(np.swapaxes(np.asarray(one_hot, dtype=np.float32), 1, 2))
    hyp = np.ascontiguousarray(np.swapaxes(np.asarray(hypothetical, dtype=np.float32), 1, 2))
    if oh.shape != hyp.shape:
        raise ValueError(f"one-hot {oh.shape} and hypothetical contributions {hyp.shape} differ in shape")
    if oh.shape[0] == 0 or not np.any(oh * hyp):  # modisco's seqlet threshold fails on all-zero contributions
        pos, neg = None, None
    else:
        pos, neg = TFMoDISco(oh, hyp, sliding_window_size=int(window), flank_size=int(flank),
                             max_seqlets_per_metacluster=int(max_seqlets), n_leiden_runs=int(n_leiden_runs),
                             final_min_cluster_size=int(final_min_cluster_size),
                             min_metacluster_size=int(min_metacluster_size),
                             target_seqlet_fdr=float(target_seqlet_fdr))
    with atomic_path(path) as tmp:
        save_hdf5(str(tmp), pos, neg, int(window))
    return {"patterns": len(pos or []), "negative_patterns": len(neg or []),
            "seqlets": int(sum(len(p.seqlets) for p in pos or []))}


def read_patterns(path: str | Path) -> list[dict]:
    """The patterns of a modisco HDF5 file, positive then negative, each a dict: ``name``
    (``pos_patterns.pattern_0``), ``sign`` (+1/-1), ``sequence`` (PFM), ``contrib`` (CWM), ``hypothetical``
    (``(W, 4)`` each) and ``seqlets`` (a DataFrame ``example, start, end, revcomp``)."""
    out = []
    with h5py.File(path, "r") as f:
        for group, sign in (("pos_patterns", 1), ("neg_patterns", -1)):
            if group not in f:
                continue
            names = sorted(f[group], key=lambda k: int(k.rsplit("_", 1)[1]))
            for name in names:
                g = f[group][name]
                s = g["seqlets"]
                out.append({
                    "name": f"{group}.{name}", "sign": sign,
                    "sequence": g["sequence"][:].astype(np.float64),
                    "contrib": g["contrib_scores"][:].astype(np.float64),
                    "hypothetical": g["hypothetical_contribs"][:].astype(np.float64),
                    "seqlets": pd.DataFrame({"example": s["example_idx"][:].astype(np.int64),
                                             "start": s["start"][:].astype(np.int64),
                                             "end": s["end"][:].astype(np.int64),
                                             "revcomp": s["is_revcomp"][:].astype(bool)}),
                })
    return out


def trim_bounds(contrib, threshold: float = TRIM_THRESHOLD) -> tuple[int, int]:
    """``(start, end)`` of the columns from the first to the last whose ``sum |contrib|`` reaches ``threshold`` x
    the largest column's (half-open; the whole pattern when every column is 0)."""
    score = np.abs(np.asarray(contrib, dtype=np.float64)).sum(1)
    if not score.size or score.max() <= 0:
        return 0, int(score.size)
    keep = np.flatnonzero(score >= threshold * score.max())
    return int(keep[0]), int(keep[-1]) + 1


def pattern_motifs(patterns: list[dict], prefix: str = "", threshold: float = TRIM_THRESHOLD) -> list[Motif]:
    """Each pattern's PFM trimmed to its core (:func:`trim_bounds` of its CWM) as a Motif ``prefix + name``,
    ``nsites`` its seqlet count; rows renormalised to sum to 1."""
    motifs = []
    for p in patterns:
        lo, hi = trim_bounds(p["contrib"], threshold)
        pfm = np.clip(p["sequence"][lo:hi], 1e-6, None)
        pfm = pfm / pfm.sum(1, keepdims=True)
        motifs.append(Motif(f"{prefix}{p['name']}", f"{prefix}{p['name']}", pfm, nsites=float(len(p["seqlets"]))))
    return motifs


def seqlet_table(patterns: list[dict], prefix: str = "") -> pd.DataFrame:
    """Every seqlet of every pattern: :data:`SEQLET_COLUMNS` (``pattern`` is ``prefix + name``)."""
    frames = [p["seqlets"].assign(pattern=f"{prefix}{p['name']}") for p in patterns]
    if not frames:
        return pd.DataFrame(columns=list(SEQLET_COLUMNS))
    return pd.concat(frames, ignore_index=True)[list(SEQLET_COLUMNS)]


def pair_spacing(first: pd.DataFrame, second: pd.DataFrame, max_distance: int = 60) -> np.ndarray:
    """Centre-to-centre distances (bp, ``>= 0``) from each seqlet of ``first`` to the nearest seqlet of ``second``
    on the same example, kept when at most ``max_distance``; ``int64``. Both are seqlet tables (``example,
    start, end``). A pair planted at a fixed spacing shows as a peak at (first's half width + spacing +
    second's half width)."""
    if not len(first) or not len(second):
        return np.zeros(0, dtype=np.int64)
    a = first.assign(centre=(first["start"] + first["end"]) / 2.0)[["example", "centre"]]
    b = second.assign(centre=(second["start"] + second["end"]) / 2.0)[["example", "centre"]]
    pairs = a.reset_index().merge(b, on="example", suffixes=("_a", "_b"))
    pairs["d"] = (pairs["centre_a"] - pairs["centre_b"]).abs()
    pairs = pairs[pairs["d"] > 0]
    nearest = pairs.groupby("index")["d"].min()
    d = np.rint(nearest.to_numpy()).astype(np.int64)
    return np.sort(d[d <= max_distance])

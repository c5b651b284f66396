"""Tomtom's motif-comparison statistics (Gupta et al. 2007), vectorised with numpy, for any column distance.

This is the MEME suite's default ("complete scores") algorithm, re-implemented so that the paper's
``-dist pearson`` is available without the MEME binary (memelite, the other pure-Python Tomtom, is
Euclidean-only). For one query motif of width ``w`` and a database of targets (each also reverse
complemented, as ``tomtom`` does unless ``-norc``):

1. Column scores ``S (w, C)``: query column against every target column of the database, both strands
   (``pearson``: Pearson correlation of the two 4-vectors centred at 1/4, 0 when a column is uniform;
   ``ed``: minus the Euclidean distance).
2. Each query row is shifted by its median over the ``C`` columns (MEME's ``SHIFT_QUANTILE`` 0.5), so that
   an unaligned query column scores 0: failing to align an uninformative column costs less than failing
   to align an informative one.
3. The matrix is scaled to integers ``0..bins`` (``bins = 100``, MEME's ``BINS``) by its min and max.
4. The null distribution of one query column's score is its row's histogram (every database column
   equally likely); of a contiguous span of query columns, the convolution of their histograms.
5. An alignment (an offset of the query against a target, with overhangs allowed) scores the sum of its
   aligned columns; unaligned query columns score 0 (step 2). The best alignment is the highest score
   among the offsets that overlap at least ``min_overlap`` columns (ties: the larger overlap).
6. Its p-value is that of the maximum over *all* ``w + L - 1`` offsets of a width-``L`` target on both
   strands, with independent alignments: ``P(max >= s) = 1 - prod_a P(S_a < s)``, computed in log space
   so that small p-values keep their precision.
7. Per database motif the better strand is kept; ``E = p * n_motifs``; ``q`` is MEME's q-value over the
   query's motifs (:func:`basset.metrics.meme_qvalues`): Benjamini-Hochberg times pi0, the fraction of true
   nulls estimated by Storey's bootstrap method with MEME's settings (pi0 = 1 for 100 targets or fewer).

Differences from MEME's binary, all small: no motif pseudocount (MEME adds 0.1 x background, which
hardly moves a Pearson correlation), no rounding of the Pearson terms to a fixed number of digits, and
pi0's bootstrap draws (ours are seeded; MEME's random generator cannot be reproduced). The defaults are the
paper's call, ``tomtom -dist pearson -thresh 0.1``: MEME's default minimum overlap of 1 column, and a match is
kept when its q-value is at most the threshold.

:func:`tomtom_all` and :func:`tomtom` are the entry points: they dispatch to an engine, MEME's ``tomtom`` binary
when it is on ``PATH`` (``engine="auto"``), otherwise the algorithm above (``"basset"``); memelite's
re-implementation (Euclidean distance only) can be asked for by name. memelite compiles its numba kernels on first
use (~1 min) and caches them in its ``__pycache__``; :func:`warm_up` triggers that once, at install time
(``python -c "import basset.tomtom as t; t.warm_up()"``).
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from .memefile import write_meme
from .metrics import meme_qvalues

#: MEME's tomtom: score bins per column, and the quantile that defines an unaligned column's score
BINS = 100
SHIFT_QUANTILE = 0.5
DISTANCES = ("pearson", "ed")
#: Tomtom engines: MEME's binary, basset's numpy re-implementation (any distance), memelite (Euclidean)
ENGINES = ("meme", "basset", "memelite")
#: MEME tomtom's default -min-overlap (the paper passed none)
MIN_OVERLAP = 1
#: columns of every Tomtom table, in order
TOMTOM_COLUMNS = ["filter", "target_id", "target_name", "p", "E", "q", "offset", "orientation", "overlap",
                  "engine", "distance"]


def column_scores(query: np.ndarray, columns: np.ndarray, distance: str = "pearson") -> np.ndarray:
    """``(w, 4)`` query frequencies x ``(C, 4)`` target columns -> ``(w, C)`` similarity scores (higher =
    more similar)."""
    q = np.asarray(query, dtype=np.float64)
    t = np.asarray(columns, dtype=np.float64)
    if distance == "pearson":
        qc, tc = q - 0.25, t - 0.25
        qn, tn = np.sqrt((qc**2).sum(1)), np.sqrt((tc**2).sum(1))
        num = qc @ tc.T
        den = qn[:, None] * tn[None, :]
        return np.divide(num, den, out=np.zeros_like(num), where=den > 0)
    if distance == "ed":
        d2 = (q**2).sum(1)[:, None] + (t**2).sum(1)[None, :] - 2.0 * q @ t.T
        return -np.sqrt(np.maximum(d2, 0.0))
    raise ValueError(f"distance must be one of {', '.join(DISTANCES)}, got {distance!r}")


def _shift_by_median(scores: np.ndarray) -> np.ndarray:
    # MEME's shift_all_pairwise_scores: the mean of the sorted values at floor(q*C)-1 and ceil(q*C)-1
    C = scores.shape[1]
    i1 = max(int(np.floor(SHIFT_QUANTILE * C)) - 1, 0)
    i2 = max(int(np.ceil(SHIFT_QUANTILE * C)) - 1, i1)
    part = np.partition(scores, sorted({i1, i2}), axis=1)
    return scores - 0.5 * (part[:, i1] + part[:, i2])[:, None]


class _Database:
    """Target motifs stacked for vectorised scoring: both strands, grouped by width."""

    def __init__(self, targets: list[np.ndarray]):
        self.n = len(targets)
        fwd = [np.asarray(t, dtype=np.float64) for t in targets]
        rc = [t[::-1, ::-1] for t in fwd]  # reverse complement in the ACGT layout
        self.mats = fwd + rc  # index k < n forward, k >= n reverse complement of k - n
        self.widths = np.array([m.shape[0] for m in self.mats], dtype=np.int64)
        self.columns = np.concatenate(self.mats, axis=0)  # (C, 4)
        self.starts = np.concatenate([[0], np.cumsum(self.widths)[:-1]])
        self.groups = {int(L): np.flatnonzero(self.widths == L) for L in np.unique(self.widths)}


def _span_log_cdfs(ints: np.ndarray, zero: int, n_levels: int) -> tuple[np.ndarray, dict]:
    """Null distributions of every contiguous span ``[a, b]`` of query columns, shifted as a complete score.

    ``ints (w, C)`` are the integer column scores, ``zero`` the integer score of an unaligned column.
    Returns ``(log_cdf (n_spans, n_levels), index {(a, b): row})`` where ``log_cdf[r, x] = log P(S <= x)``
    for the span's sum plus ``(w - overlap) * zero`` (so every alignment is on the same integer scale).
    """
    w, C = ints.shape
    hist = np.stack([np.bincount(row, minlength=BINS + 1) for row in ints]).astype(np.float64) / C
    rows, index = [], {}
    for a in range(w):
        pmf = np.ones(1)
        for b in range(a, w):
            pmf = np.convolve(pmf, hist[b])
            shift = (w - (b - a + 1)) * zero
            full = np.zeros(n_levels)
            full[shift:shift + len(pmf)] = pmf[: n_levels - shift]
            index[(a, b)] = len(rows)
            rows.append(full)
    pmf = np.stack(rows)
    # survival P(S > x) as a reverse cumulative sum keeps small tails exact; log P(S <= x) = log1p(-P(S > x))
    sf = np.cumsum(pmf[:, ::-1], axis=1)[:, ::-1] - pmf
    with np.errstate(divide="ignore"):  # P(S <= x) = 0 below the support: log 0 = -inf, as intended
        return np.log1p(-np.clip(sf, 0.0, 1.0)), index


def _alignment_scores(ints: np.ndarray, db: _Database, L: int, members: np.ndarray, zero: int):
    """Complete scores of every offset of the query against the width-``L`` targets ``members``.

    Returns ``(scores (m, n_off) int64, overlaps (n_off,), spans [(a, b)] * n_off)`` for offsets
    ``o = -(w-1) .. L-1`` (query column 0 on target column ``o``).
    """
    w = ints.shape[0]
    offsets = np.arange(-(w - 1), L)
    qi = np.arange(w)[:, None]
    tj = qi + offsets[None, :]  # (w, n_off) target column aligned with query column i
    valid = (tj >= 0) & (tj < L)
    cols = db.starts[members][:, None, None] + np.clip(tj, 0, L - 1)[None]  # (m, w, n_off)
    aligned = ints[qi[None], cols]  # (m, w, n_off)
    overlap = valid.sum(0)
    scores = np.where(valid[None], aligned, 0).sum(1) + (w - overlap)[None, :] * zero
    a = np.argmax(valid, axis=0)
    spans = [(int(a[k]), int(a[k] + overlap[k] - 1)) for k in range(len(offsets))]
    return scores.astype(np.int64), overlap, offsets, spans


def compare(query: np.ndarray, db: _Database, distance: str = "pearson", min_overlap: int = MIN_OVERLAP) -> dict:
    """One query ``(w, 4)`` against the database: per target motif (better strand) ``p, offset, overlap,
    strand (0 = +, 1 = -)`` as arrays of length ``db.n``."""
    query = np.asarray(query, dtype=np.float64)
    w = query.shape[0]
    s = _shift_by_median(column_scores(query, db.columns, distance))
    lo, hi = float(s.min()), float(s.max())
    scale = BINS / (hi - lo) if hi > lo else 1.0
    ints = np.rint((s - lo) * scale).astype(np.int64)
    zero = int(np.rint(-lo * scale))
    n_levels = w * BINS + 1 + w * zero
    log_cdf, span_row = _span_log_cdfs(ints, zero, n_levels)

    n2 = len(db.mats)
    p = np.ones(n2)
    best_off = np.zeros(n2, dtype=np.int64)
    best_ovl = np.zeros(n2, dtype=np.int64)
    for L, members in db.groups.items():  # a few dozen distinct widths
        scores, overlap, offsets, spans = _alignment_scores(ints, db, L, members, zero)
        # null of the maximum over all offsets, both strands (MEME counts every offset, whatever the overlap)
        log_max = 2.0 * log_cdf[[span_row[sp] for sp in spans]].sum(0)
        mo = min(min_overlap, w, L)
        allowed = overlap >= mo
        # best: highest score, then the larger overlap
        key = np.where(allowed[None], scores * (w + L + 1) + overlap[None], np.iinfo(np.int64).min)
        k = np.argmax(key, axis=1)
        best = scores[np.arange(len(members)), k]
        # P(max >= best) = 1 - P(max <= best - 1)
        below = np.where(best >= 1, log_max[np.clip(best - 1, 0, n_levels - 1)], -np.inf)
        p[members] = -np.expm1(below)
        best_off[members] = offsets[k]
        best_ovl[members] = overlap[k]
    n = db.n
    strand = (p[n:] < p[:n]) | ((p[n:] == p[:n]) & (best_ovl[n:] > best_ovl[:n]))
    pick = np.where(strand, np.arange(n) + n, np.arange(n))
    return {"p": np.clip(p[pick], 0.0, 1.0), "offset": best_off[pick], "overlap": best_ovl[pick],
            "strand": strand.astype(np.int64)}


def tomtom_table(queries, targets, distance: str = "pearson", min_overlap: int = MIN_OVERLAP) -> pd.DataFrame:
    """Every (query, target) pair: ``filter, target_id, target_name, p, E, q, offset, orientation, overlap,
    engine, distance`` (:data:`TOMTOM_COLUMNS`), by the algorithm of the module docstring.

    ``queries`` and ``targets`` are :class:`basset.memefile.Motif` objects (``.id``, ``.name``, ``.pwm``
    ``(w, 4)`` frequencies, ACGT).
    """
    queries, targets = list(queries), list(targets)
    db = _Database([m.pwm for m in targets])
    frames = []
    for qm in queries:
        r = compare(qm.pwm, db, distance, min_overlap)
        frames.append(pd.DataFrame({
            "filter": qm.id,
            "target_id": [m.id for m in targets],
            "target_name": [m.name for m in targets],
            "p": r["p"],
            "E": r["p"] * db.n,
            "q": meme_qvalues(r["p"]),
            "offset": r["offset"],
            "orientation": np.where(r["strand"] == 1, "-", "+"),
            "overlap": r["overlap"],
            "engine": "basset",
            "distance": distance,
        }))
    return pd.concat(frames, ignore_index=True)


# ------------------------------------------------------------------------------------------- engines
def resolve_engine(engine: str = "auto") -> str:
    """``"auto"`` -> ``"meme"`` when MEME's ``tomtom`` is on PATH, else ``"basset"`` (:func:`tomtom_table`)."""
    if engine == "auto":
        return "meme" if shutil.which("tomtom") else "basset"
    if engine not in ENGINES:
        raise ValueError(f"tomtom engine must be auto or one of {', '.join(ENGINES)}, got {engine!r}")
    return engine


def warm_up() -> None:
    """Compile (or load from numba's cache) memelite's Tomtom kernels with a tiny call.

    The first call after installing memelite takes about a minute; later processes load the cached
    machine code in about a second. Run once at install time.
    """
    from memelite import tomtom as _ml_tomtom

    rng = np.random.default_rng(0)
    queries = [_as_query(rng.dirichlet(np.ones(4), size=6)) for _ in range(2)]
    targets = [np.ascontiguousarray(rng.dirichlet(np.ones(4), size=8).T) for _ in range(2)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _ml_tomtom(queries, targets)


def _as_query(pwm) -> np.ndarray:
    # memelite compiles one kernel per memory layout of the query matrix; always pass (4, w) F-ordered
    return np.asfortranarray(np.asarray(pwm, dtype=np.float64).T)


def _memelite_all(queries, targets, n_jobs: int = -1) -> pd.DataFrame:
    from memelite import tomtom as _ml_tomtom

    p, _, offsets, overlaps, strands = _ml_tomtom([_as_query(m.pwm) for m in queries],
                                                  [np.ascontiguousarray(m.pwm.T) for m in targets], n_jobs=n_jobs)
    nq, nt = p.shape
    p = np.clip(p, 0.0, 1.0)
    return pd.DataFrame({
        "filter": np.repeat([m.id for m in queries], nt),
        "target_id": np.tile([m.id for m in targets], nq),
        "target_name": np.tile([m.name for m in targets], nq),
        "p": p.ravel(),
        "E": (p * nt).ravel(),
        "q": meme_qvalues(p).ravel(),
        "offset": offsets.astype(np.int64).ravel(),
        "orientation": np.where(strands.ravel() > 0, "-", "+"),
        "overlap": overlaps.astype(np.int64).ravel(),
        "engine": "memelite",
        "distance": "euclidean",
    })


def parse_tomtom_text(text: str, targets_by_id: dict, dist: str = "pearson") -> pd.DataFrame:
    """MEME ``tomtom -text`` output (TSV; ``#`` comment lines) -> a table with :data:`TOMTOM_COLUMNS`."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    # the header is "Query_ID\tTarget_ID..." (MEME 5) or "#Query ID\tTarget ID..." (MEME 4); the
    # trailing lines of MEME 5 are "#" comments
    head = next((k for k, ln in enumerate(lines) if ln.lstrip("#").replace(" ", "_").startswith("Query_ID")), None)
    if head is None:
        return pd.DataFrame(columns=TOMTOM_COLUMNS)
    header = [c.strip().replace(" ", "_") for c in lines[head].lstrip("#").split("\t")]
    body = [ln for ln in lines[head + 1:] if not ln.startswith("#")]
    raw = pd.read_csv(io.StringIO("\n".join(["\t".join(header), *body])), sep="\t", dtype={"Query_ID": str,
                                                                                        "Target_ID": str})
    names = {k: m.name for k, m in targets_by_id.items()}
    table = pd.DataFrame({
        "filter": raw["Query_ID"],
        "target_id": raw["Target_ID"],
        "target_name": raw["Target_ID"].map(names).fillna(raw["Target_ID"]),
        "p": raw["p-value"].astype(float),
        "E": raw["E-value"].astype(float),
        "q": raw["q-value"].astype(float),
        "offset": raw["Optimal_offset"].astype(np.int64),
        "orientation": raw["Orientation"].astype(str),
        "overlap": raw["Overlap"].astype(np.int64),
        "engine": "meme",
        "distance": dist,
    })
    return table[TOMTOM_COLUMNS]


def _meme_all(queries, targets, dist: str = "pearson", min_overlap: int = MIN_OVERLAP) -> pd.DataFrame:
    # MEME's binary reads motif files: the motifs go through a temporary folder
    with tempfile.TemporaryDirectory(prefix="basset_tomtom_") as tmp:
        qpath, tpath = Path(tmp) / "query.meme", Path(tmp) / "target.meme"
        write_meme(qpath, queries)
        write_meme(tpath, targets)
        # the paper's options (-dist, and -thresh 0.1 applied by the caller to q); -evalue -thresh above the
        # number of targets reports every pair, with the same q-values; -min-overlap only when not MEME's default
        overlap = [] if min_overlap == MIN_OVERLAP else ["-min-overlap", str(min_overlap)]
        cmd = ["tomtom", "-no-ssc", "-text", *overlap, "-dist", dist, "-evalue", "-thresh", str(len(targets) + 1),
               str(qpath), str(tpath)]
        run = subprocess.run(cmd, capture_output=True, text=True)
        if run.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({run.returncode}): {run.stderr[-2000:]}")
    return parse_tomtom_text(run.stdout, {m.id: m for m in targets}, dist)


def tomtom_all(queries, targets, engine: str = "auto", dist: str = "pearson",
               min_overlap: int = MIN_OVERLAP) -> pd.DataFrame:
    """Every (query, target) pair compared with Tomtom: a table with :data:`TOMTOM_COLUMNS`.

    ``queries`` and ``targets`` are :class:`basset.memefile.Motif` lists. ``p`` is the p-value of the best
    alignment (both strands), ``E = p * len(targets)``, ``q`` MEME's q-value (BH times pi0) over all targets
    of the query (as MEME's tomtom). ``min_overlap``: the fewest aligned columns of the best alignment
    (MEME's default 1; memelite has its own, fixed). ``offset`` is the 0-based position in the
    (reverse-complemented when ``orientation == "-"``) target of the query's first column (negative when the query
    overhangs the target's start); ``overlap`` in bp. ``engine="basset"`` supports ``dist`` ``pearson`` and ``ed``;
    ``engine="memelite"`` always uses the Euclidean distance (``dist`` is ignored). The ``engine`` and
    ``distance`` columns say which were used.
    """
    queries, targets = list(queries), list(targets)
    if not queries or not targets:
        return pd.DataFrame(columns=TOMTOM_COLUMNS)
    engine = resolve_engine(engine)
    if engine == "meme":
        table = _meme_all(queries, targets, dist, min_overlap)
    elif engine == "basset":
        table = tomtom_table(queries, targets, distance=dist, min_overlap=min_overlap)
    else:
        table = _memelite_all(queries, targets)
    return table[TOMTOM_COLUMNS].reset_index(drop=True)


def tomtom(queries, targets, engine: str = "auto", thresh: float = 0.1, dist: str = "pearson",
           min_overlap: int = MIN_OVERLAP) -> pd.DataFrame:
    """The pairs of :func:`tomtom_all` with ``q <= thresh`` (MEME's ``-thresh``), sorted by query then q-value."""
    table = tomtom_all(queries, targets, engine, dist, min_overlap)
    hits = table[table["q"] <= thresh]
    order = {m.id: k for k, m in enumerate(queries)}
    hits = hits.assign(_k=hits["filter"].map(order)).sort_values(["_k", "q", "p"], kind="stable")
    return hits.drop(columns="_k").reset_index(drop=True)

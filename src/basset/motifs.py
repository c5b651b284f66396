"""First-layer filters as motifs: PWMs from activating windows, information content, logos, and Tomtom.

The Basset recipe (Kelley et al. 2016, ``basset_motifs.py``): run the first convolution (after ReLU) over a
set of sequences; for each filter keep every window whose activation exceeds
``threshold * (max - mean) + mean`` (max and mean of that filter over all sequences and positions), count
the bases of those windows into a position frequency matrix, add a pseudocount and normalise. The PWMs
are then compared with a motif database with Tomtom to name the filters: the MEME suite's ``tomtom`` when it
is on ``PATH``, otherwise :mod:`basset.tomtom` (MEME's algorithm in numpy, with the paper's Pearson column
distance); memelite's re-implementation (Euclidean distance only) can be asked for by name.

memelite compiles its numba kernels on first use (~1 min) and caches them in its ``__pycache__``;
:func:`warm_up` triggers that once, at install time (``python -c "import basset.motifs as m; m.warm_up()"``).
"""

from __future__ import annotations

import io
import logging
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InputError
from .fileio import atomic_path
from .memefile import Motif, read_meme, write_meme
from .metrics import bh_qvalues
from .tables import write_table

log = logging.getLogger(__name__)

#: Basset's background: GC content 0.415 (A, C, G, T)
GC_BACKGROUND = (0.2925, 0.2075, 0.2075, 0.2925)
#: columns of every Tomtom table, in order
TOMTOM_COLUMNS = ["filter", "target_id", "target_name", "p", "E", "q", "offset", "orientation", "overlap",
                  "engine", "distance"]


def background_from_gc(gc: float) -> tuple[float, float, float, float]:
    """GC fraction -> background probabilities (A, C, G, T)."""
    return ((1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2)


# ------------------------------------------------------------------------------------------------- PWMs
@dataclass
class FilterPWMs:
    """Result of :func:`filter_pwms` for ``F`` filters of width ``w``.

    counts:     ``(F, w, 4) float64`` base counts of the activating windows (no pseudocount; N not counted)
    pwms:       list of ``F`` ``(w, 4) float64`` probability matrices, ``None`` for filters with too few sites
    nsites:     ``(F,) int64`` activating windows per filter
    ic:         ``(F,) float64`` information content of each PWM in bits (NaN where ``pwms[f]`` is None)
    thresholds: ``(F,) float64`` activation thresholds used
    max, mean:  ``(F,) float64`` activation maximum and mean over all sequences and positions
    """

    counts: np.ndarray
    pwms: list
    nsites: np.ndarray
    ic: np.ndarray
    thresholds: np.ndarray
    max: np.ndarray
    mean: np.ndarray

    def motifs(self, prefix: str = "filter") -> list[Motif]:
        """The filters that have a PWM as :class:`Motif` (id ``filter<f>``, 0-based ``f``)."""
        return [Motif(f"{prefix}{f}", f"{prefix}{f}", p, float(self.nsites[f]))
                for f, p in enumerate(self.pwms) if p is not None]


def _first_layer_geometry(model) -> tuple[int, int]:
    """(filter width w, left offset): window of output position i starts at base ``i - left``."""
    cfg = getattr(model, "config", {})
    width = int(cfg["conv_widths"][0])
    left = (width - 1) // 2 if cfg.get("conv_padding", "same") == "same" else 0
    return width, left


def _batches(codes, batch_size: int):
    for start in range(0, len(codes), batch_size):
        yield np.asarray(codes[start:start + batch_size])


def filter_pwms(model, codes, batch_size: int = 256, device="cpu", threshold: float = 0.5,
                pseudocount: float = 1.0, min_sites: int = 10, background=GC_BACKGROUND,
                progress: bool = False) -> FilterPWMs:
    """PWMs of the model's first-layer filters from the windows that activate them (Basset's recipe).

    ``codes`` is ``(N, L) uint8`` (A, C, G, T, N = 0..4; an h5py dataset works, it is read in batches).
    Two passes: the first gets each filter's maximum and mean activation over all ``N x L'`` positions,
    the second gathers the windows above ``threshold * (max - mean) + mean`` with ``unfold`` and counts
    their bases. Windows running off either end of the sequence are skipped. Filters with fewer than
    ``min_sites`` windows get ``None``. ``ic`` is :func:`information_content` against ``background``.
    """
    import torch

    from .logs import progress_bar
    from .sequence import one_hot

    if len(codes) == 0:
        raise ValueError("filter_pwms: no sequences")
    model = model.to(device).eval()
    width, left = _first_layer_geometry(model)
    n_batches = 2 * -(-len(codes) // batch_size)
    bar = progress_bar(n_batches, enabled=progress, desc="filter PWMs", unit="batch")

    def activations(batch):
        x = torch.as_tensor(batch, device=device)
        return x, model.first_layer(one_hot(x)).double()

    with torch.no_grad():
        act_max = act_sum = None
        n_pos = 0
        for batch in _batches(codes, batch_size):
            _, a = activations(batch)
            bmax, bsum = a.amax(dim=(0, 2)), a.sum(dim=(0, 2))
            act_max = bmax if act_max is None else torch.maximum(act_max, bmax)
            act_sum = bsum if act_sum is None else act_sum + bsum
            n_pos += a.shape[0] * a.shape[2]
            bar.update(1)
        mean = act_sum / n_pos
        thr = threshold * (act_max - mean) + mean
        n_filters = thr.numel()
        counts = torch.zeros(n_filters * width * 5, dtype=torch.float64, device=device)
        nsites = torch.zeros(n_filters, dtype=torch.int64, device=device)
        offs = torch.arange(width, device=device)
        for batch in _batches(codes, batch_size):
            x, a = activations(batch)
            L = x.shape[1]
            # position i is the window [i - left, i - left + w); keep windows inside the sequence
            pos = torch.arange(a.shape[2], device=device)
            inside = (pos - left >= 0) & (pos - left + width <= L)
            hit = (a > thr[None, :, None]) & inside[None, None, :]
            b, f, i = torch.nonzero(hit, as_tuple=True)
            if b.numel() == 0:
                bar.update(1)
                continue
            windows = x.long().unfold(1, width, 1)  # (B, L - w + 1, w) view, no copy
            words = windows[b, i - left]  # (K, w)
            idx = (f[:, None] * width + offs[None, :]) * 5 + words
            counts += torch.bincount(idx.reshape(-1), minlength=counts.numel()).double()
            nsites += torch.bincount(f, minlength=n_filters)
            bar.update(1)
    bar.close()
    counts_np = counts.reshape(n_filters, width, 5)[:, :, :4].cpu().numpy()
    nsites_np = nsites.cpu().numpy()
    pwms, ic = [], np.full(n_filters, np.nan)
    for f in range(n_filters):  # cheap: F small matrices
        if nsites_np[f] < min_sites:
            pwms.append(None)
            continue
        c = counts_np[f] + pseudocount
        pwms.append(c / c.sum(1, keepdims=True))
        ic[f] = information_content(pwms[f], background)
    return FilterPWMs(counts_np, pwms, nsites_np, ic, thr.cpu().numpy(), act_max.cpu().numpy(), mean.cpu().numpy())


def column_information(pwm, background=GC_BACKGROUND) -> np.ndarray:
    """``(..., w, 4)`` probabilities -> ``(..., w)`` bits: ``sum_b p_b log2(p_b / bg_b)`` (0 log 0 = 0)."""
    p = np.asarray(pwm, dtype=np.float64)
    bg = np.asarray(background, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log2(p / bg), 0.0)
    return terms.sum(-1)


def information_content(pwm, background=GC_BACKGROUND) -> float:
    """Information content of a ``(w, 4)`` PWM in bits: relative entropy to ``background`` summed over columns.

    Basset's own code uses the GC = 0.415 background (the default); pass ``(0.25,) * 4`` for the classic
    2-bit scale. A uniform column scores 0 only against a uniform background.
    """
    return float(column_information(pwm, background).sum())


def trim_pwm(pwm, min_ic: float = 0.0, background=GC_BACKGROUND) -> np.ndarray:
    """Drop leading and trailing columns with information below ``min_ic`` bits; ``(w, 4) -> (w', 4)``.

    Keeps at least the most informative column. ``min_ic <= 0`` returns the PWM unchanged.
    """
    pwm = np.asarray(pwm, dtype=np.float64)
    if min_ic <= 0:
        return pwm
    ic = column_information(pwm, background)
    keep = np.flatnonzero(ic >= min_ic)
    if keep.size == 0:
        best = int(np.argmax(ic))
        return pwm[best:best + 1]
    return pwm[keep[0]:keep[-1] + 1]


def consensus(pwm) -> str:
    """Consensus of a ``(w, 4)`` PWM: the most likely base, lower case where its probability is below 0.5."""
    pwm = np.asarray(pwm)
    best = pwm.argmax(1)
    letters = np.array(list("ACGT"))[best]
    strong = pwm[np.arange(len(pwm)), best] >= 0.5
    return "".join(np.where(strong, letters, np.char.lower(letters)))


def filter_table(result: FilterPWMs, prefix: str = "filter") -> pd.DataFrame:
    """One row per filter: ``filter, nsites, ic, consensus, threshold`` (empty consensus without a PWM)."""
    return pd.DataFrame({
        "filter": [f"{prefix}{f}" for f in range(len(result.pwms))],
        "nsites": result.nsites,
        "ic": np.round(result.ic, 4),
        "consensus": ["" if p is None else consensus(p) for p in result.pwms],
        "threshold": result.thresholds,
    })


# ----------------------------------------------------------------------------------------------- JASPAR
def jaspar_meme(path, release: str = "JASPAR2026", collection: str = "CORE",
                tax_group: str = "vertebrates") -> list[Motif]:
    """Export the latest version of every JASPAR matrix of a collection to a MEME file (offline, pyjaspar).

    Motif id = matrix ID (``MA0139.2``), name = TF name; probabilities are the counts over their row sums.
    A TSV ``<stem>.tsv`` beside ``path`` gives ``matrix_id, name, family, class`` (several families or
    classes joined with ``"; "``). Returns the motifs, with ``family`` set.
    """
    from .simulate import jaspar_records

    path = Path(path)
    records = sorted(jaspar_records(release, collection, tax_group), key=lambda m: m.matrix_id)
    motifs, rows = [], []
    for m in records:
        counts = np.array([m.counts[b] for b in "ACGT"], dtype=np.float64).T
        family = "; ".join(m.tf_family or [])
        motifs.append(Motif(m.matrix_id, m.name, counts / counts.sum(1, keepdims=True),
                            float(counts[0].sum()), family=family,
                            url=f"https://jaspar.elixir.no/matrix/{m.matrix_id}/"))
        rows.append({"matrix_id": m.matrix_id, "name": m.name, "family": family,
                     "class": "; ".join(m.tf_class or [])})
    write_meme(path, motifs)
    write_table(jaspar_table_path(path), pd.DataFrame(rows))
    log.info("wrote %d %s %s %s matrices to %s", len(motifs), release, collection, tax_group, path)
    return motifs


def motif_table(motifs: list[Motif]) -> pd.DataFrame:
    """``matrix_id, name, family`` of any motif list (the table :func:`jaspar_meme` writes for JASPAR)."""
    return pd.DataFrame({"matrix_id": [m.id for m in motifs], "name": [m.name for m in motifs],
                         "family": [m.family or "" for m in motifs]})


def jaspar_table_path(meme_path) -> Path:
    """The ``matrix_id, name, family, class`` TSV that :func:`jaspar_meme` writes beside ``meme_path``."""
    meme_path = Path(meme_path)
    return meme_path.with_name(meme_path.stem + ".tsv")


# ----------------------------------------------------------------------------------------------- Tomtom
def warm_up() -> None:
    """Compile (or load from numba's cache) memelite's Tomtom kernels with a tiny call.

    The first call after installing memelite takes about a minute; later processes load the cached
    machine code in about a second. Run once at install time.
    """
    import warnings

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


#: Tomtom engines: MEME's binary, basset's numpy re-implementation (any distance), memelite (Euclidean)
ENGINES = ("meme", "basset", "memelite")


def resolve_engine(engine: str = "auto") -> str:
    """``"auto"`` -> ``"meme"`` when MEME's ``tomtom`` is on PATH, else ``"basset"`` (:mod:`basset.tomtom`)."""
    if engine == "auto":
        return "meme" if shutil.which("tomtom") else "basset"
    if engine not in ENGINES:
        raise ValueError(f"tomtom engine must be auto or one of {', '.join(ENGINES)}, got {engine!r}")
    return engine


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
        "q": bh_qvalues(p).ravel(),
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


def _meme_all(queries, targets, dist: str = "pearson", min_overlap: int = 5) -> pd.DataFrame:
    with tempfile.TemporaryDirectory(prefix="basset_tomtom_") as tmp:
        qpath, tpath = Path(tmp) / "query.meme", Path(tmp) / "target.meme"
        write_meme(qpath, queries)
        write_meme(tpath, targets)
        # -evalue -thresh above the number of targets: every pair is reported; q is filtered by the caller
        cmd = ["tomtom", "-no-ssc", "-text", "-min-overlap", str(min_overlap), "-dist", dist, "-evalue",
               "-thresh", str(len(targets) + 1), str(qpath), str(tpath)]
        run = subprocess.run(cmd, capture_output=True, text=True)
        if run.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({run.returncode}): {run.stderr[-2000:]}")
    return parse_tomtom_text(run.stdout, {m.id: m for m in targets}, dist)


def tomtom_all(queries, targets, engine: str = "auto", dist: str = "pearson") -> pd.DataFrame:
    """Every (query, target) pair compared with Tomtom: a table with :data:`TOMTOM_COLUMNS`.

    ``p`` is the p-value of the best alignment (both strands), ``E = p * len(targets)``, ``q`` the
    Benjamini-Hochberg q-value over all targets of the query (as MEME's tomtom). ``offset`` is the
    0-based position in the (reverse-complemented when ``orientation == "-"``) target of the query's
    first column (negative when the query overhangs the target's start); ``overlap`` in bp.
    ``engine="basset"`` supports ``dist`` ``pearson`` and ``ed``; ``engine="memelite"`` always uses the
    Euclidean distance (``dist`` is ignored). The ``engine`` and ``distance`` columns say which were used.
    """
    queries, targets = list(queries), list(targets)
    if not queries or not targets:
        return pd.DataFrame(columns=TOMTOM_COLUMNS)
    engine = resolve_engine(engine)
    if engine == "meme":
        table = _meme_all(queries, targets, dist)
    elif engine == "basset":
        from .tomtom import tomtom_table

        table = tomtom_table(queries, targets, distance=dist)
    else:
        table = _memelite_all(queries, targets)
    return table[TOMTOM_COLUMNS].reset_index(drop=True)


def tomtom(queries, targets, engine: str = "auto", thresh: float = 0.1, dist: str = "pearson") -> pd.DataFrame:
    """The pairs of :func:`tomtom_all` with ``q < thresh``, sorted by query then q-value."""
    table = tomtom_all(queries, targets, engine, dist)
    hits = table[table["q"] < thresh]
    order = {m.id: k for k, m in enumerate(queries)}
    hits = hits.assign(_k=hits["filter"].map(order)).sort_values(["_k", "q", "p"], kind="stable")
    return hits.drop(columns="_k").reset_index(drop=True)


def read_tomtom_table(path) -> pd.DataFrame:
    """A Tomtom TSV written by this module; checks the columns."""
    table = pd.read_csv(path, sep="\t", dtype={"filter": str, "target_id": str, "target_name": str})
    missing = [c for c in TOMTOM_COLUMNS if c not in table.columns]
    if missing:
        raise InputError(path, f"missing Tomtom columns {missing}", line=1)
    return table


# ------------------------------------------------------------------------------------ planted factors
def _families(value) -> set[str]:
    if not isinstance(value, str) or not value:
        return set()
    return {f.strip().lower() for f in value.split(";") if f.strip()}


def factor_recovery(hits: pd.DataFrame, factors: dict, jaspar: pd.DataFrame, similar: dict | None = None
                    ) -> pd.DataFrame:
    """Which planted factors a filter matched (Tomtom ``hits`` already filtered by q).

    ``factors`` maps factor name -> JASPAR matrix ID; ``jaspar`` is the ``matrix_id, name, family`` table
    of :func:`jaspar_meme`. A factor is matched ``by_name`` when a hit's target has its matrix ID or its
    name (case-insensitive), ``by_family`` when a hit's target shares a JASPAR family with it **and**, when
    ``similar`` (factor -> set of matrix IDs, see :func:`similar_matrices`) is given, is itself similar to
    the factor's matrix: large families such as "More than 3 adjacent zinc fingers" hold unrelated
    motifs (ZIC3 and CTCF), so a shared family alone is not a match. One row per factor:
    ``factor, matrix_id, family, by_name, by_family, recovered, best_filter, best_target, best_q``.
    """
    family_of = dict(zip(jaspar["matrix_id"], jaspar["family"]))
    target_fam = hits["target_id"].map(family_of).map(_families)
    rows = []
    for name, matrix_id in factors.items():  # a few dozen factors
        fam = _families(family_of.get(matrix_id, ""))
        exact = (hits["target_id"] == matrix_id) | (hits["target_name"].str.upper() == name.upper())
        same_family = target_fam.map(lambda s: bool(s & fam)) if fam else exact & False
        if similar is not None:
            same_family &= hits["target_id"].isin(similar.get(name, set()))
        match = hits[exact | same_family]
        best = match.sort_values("q").iloc[0] if len(match) else None
        rows.append({
            "factor": name, "matrix_id": matrix_id, "family": "; ".join(sorted(fam)),
            "by_name": bool(exact.any()), "by_family": bool(same_family.any()),
            "recovered": bool(len(match)),
            "best_filter": None if best is None else best["filter"],
            "best_target": None if best is None else f"{best['target_id']} {best['target_name']}",
            "best_q": np.nan if best is None else float(best["q"]),
        })
    return pd.DataFrame(rows)


def similar_matrices(factors: dict, database: list[Motif], engine: str = "auto", thresh: float = 0.1,
                     dist: str = "pearson") -> dict[str, set[str]]:
    """For each factor (name -> matrix ID in ``database``), the database matrices that Tomtom matches to the
    factor's own matrix at ``q < thresh`` (itself included): its cluster of look-alike motifs."""
    by_id = {m.id: m for m in database}
    missing = [f"{name} ({mid})" for name, mid in factors.items() if mid not in by_id]
    if missing:
        raise ValueError(f"planted factors missing from the motif database: {', '.join(missing)}")
    queries = [Motif(name, name, by_id[mid].pwm) for name, mid in factors.items()]
    hits = tomtom(queries, database, engine=engine, thresh=thresh, dist=dist)
    out = hits.groupby("filter")["target_id"].apply(set).to_dict()
    return {name: out.get(name, set()) | {mid} for name, mid in factors.items()}


def filter_summary(filters: pd.DataFrame, influence: pd.DataFrame, hits: pd.DataFrame) -> pd.DataFrame:
    """One row per filter: ``filter, nsites, ic, consensus`` (from :func:`filter_table`), ``delta_loss`` and
    ``influence_mean`` (:func:`basset.influence.influence_table`, rows in filter order), and the best Tomtom
    match at the hits' threshold (``best_id, best_name, best_q, orientation``; empty when unannotated),
    sorted by influence."""
    table = filters.reset_index(drop=True).copy()
    table["delta_loss"] = influence["delta_loss"].to_numpy()
    table["influence_mean"] = influence["influence_mean"].to_numpy()
    best = hits.sort_values(["filter", "q", "p"]).drop_duplicates("filter").set_index("filter")
    table["annotated"] = table["filter"].isin(best.index)
    for col, src in (("best_id", "target_id"), ("best_name", "target_name"), ("best_q", "q"),
                     ("orientation", "orientation")):
        table[col] = table["filter"].map(best[src]) if len(best) else np.nan
    return table.sort_values("influence_mean", ascending=False, kind="stable").reset_index(drop=True)

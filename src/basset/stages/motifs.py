"""Stage motifs: the first-layer filters interpreted (the paper's Figure 3).

One function per rule of ``workflow/rules/motifs.smk``: :func:`filter_motifs` (PWMs, MEME file, logos),
:func:`tomtom_filters` (the filters against a motif database), :func:`filter_influence` (nullification, Figure 3C),
:func:`insert_motifs` (motif insertion) and :func:`summarise_filters` (the table of all filters, Figures 3A-B and,
on simulated data, which planted factors some filter recovered: :func:`factor_recovery`). The arithmetic is in
:mod:`basset.motifs`, :mod:`basset.tomtom` and :mod:`basset.influence`.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import PAPER_INSERT_MOTIFS, with_defaults
from ..dataset import dataset_info, load_split
from ..device import use_device
from ..errors import InputError
from ..fileio import atomic_path
from ..influence import (
    INFLUENCE_LABEL,
    influence_table,
    insertion_table,
    resolve_motifs,
    sample_background,
)
from ..influence import filter_influence as nullify_filters
from ..jaspar import jaspar_database, motif_table
from ..memefile import Motif, read_meme, write_meme
from ..models import load_model
from ..motifs import background_from_gc, filter_pwms, filter_table
from ..plots.logos import write_filter_logos
from ..plots.motifs import fig3a, fig3b, fig3c, fig_insertion
from ..tables import write_summary, write_table
from ..tomtom import MIN_OVERLAP, TOMTOM_COLUMNS, tomtom

log = logging.getLogger("basset.motifs")


# ------------------------------------------------------------------------------------------------ rules
def filter_motifs(model, h5, *, out: dict, motifs: dict | None = None, device=None, threads: int | None = None
                  ) -> dict:
    """PWMs of the first-layer filters of the model file ``model`` from their activating windows in the
    ``motifs.split`` split of the dataset ``h5`` (:func:`basset.motifs.filter_pwms`).

    Writes ``out["filters_meme"]`` (MEME file of the filters with a PWM), ``out["filters"]`` (TSV ``filter,
    nsites, ic, consensus, threshold``) and ``out["logos"]`` (every logo, PNG and PDF). ``motifs``: the config
    section (``threshold``, ``min_sites``, ``background_gc``, ``split`` are read).
    """
    cfg = with_defaults("motifs", motifs)
    dev = use_device(device, threads)
    background = background_from_gc(cfg["background_gc"])
    net, _meta = load_model(model, map_location=dev, objective="binary")
    codes, _targets = load_split(h5, cfg["split"])
    result = filter_pwms(net, codes, device=dev, threshold=cfg["threshold"], min_sites=cfg["min_sites"],
                         background=background)
    pwm_motifs = result.motifs()
    log.info("%d of %d filters have a PWM (>= %s sites)", len(pwm_motifs), len(result.pwms), cfg["min_sites"])
    write_meme(out["filters_meme"], pwm_motifs, background=background)
    table = filter_table(result)
    write_table(out["filters"], table)
    titles = [f"{f} n={n} ic={ic:.1f}" for f, n, ic in zip(table["filter"], table["nsites"], table["ic"])]
    write_filter_logos(result.pwms, list(table["filter"]), out["logos"], titles=titles)
    return {"filters": len(result.pwms), "filters_with_pwm": len(pwm_motifs)}


def motif_database(database, out: dict, release: str) -> list[Motif]:
    """The motif database as ``out["database_meme"]`` and its ``matrix_id, name, family`` table
    ``out["database_table"]``: JASPAR CORE vertebrates of ``release`` when ``database`` is ``jaspar``, else a
    copy of the MEME file ``database``. Returns the motifs."""
    if str(database).lower() == "jaspar":
        targets, table = jaspar_database(release)
        write_meme(out["database_meme"], targets)
        write_table(out["database_table"], table)
        log.info("wrote %d %s CORE vertebrates matrices to %s", len(targets), release, out["database_meme"])
        return targets
    targets = read_meme(database)
    with atomic_path(out["database_meme"]) as tmp:
        shutil.copyfile(database, tmp)
    write_table(out["database_table"], motif_table(targets))
    return targets


def tomtom_filters(filters_meme, database=None, *, out: dict, motifs: dict | None = None) -> dict:
    """Tomtom of the filter PWMs ``filters_meme`` against a motif database (:func:`basset.tomtom.tomtom`).

    ``database``: a MEME file, or None for ``motifs.database`` (``jaspar``: JASPAR CORE vertebrates of
    ``motifs.release``, exported offline). Writes ``out["tomtom"]`` (the matches at ``q <= motifs.tomtom_q``,
    :data:`basset.tomtom.TOMTOM_COLUMNS`) and the database (:func:`motif_database`). ``motifs``: the config
    section (``database``, ``release``, ``tomtom_q``, ``engine``, ``distance`` are read).
    """
    cfg = with_defaults("motifs", motifs)
    targets = motif_database(database or cfg["database"], out, cfg["release"])
    queries = read_meme(filters_meme)
    hits = tomtom(queries, targets, engine=cfg["engine"], thresh=cfg["tomtom_q"], dist=cfg["distance"],
                  min_overlap=cfg["min_overlap"])
    write_table(out["tomtom"], hits)
    engine = hits["engine"].iloc[0] if len(hits) else cfg["engine"]
    log.info("%d of %d filters match %d database motifs at q <= %s (engine %s)", hits["filter"].nunique(),
             len(queries), hits["target_id"].nunique(), cfg["tomtom_q"], engine)
    return {"filters": len(queries), "annotated": int(hits["filter"].nunique()), "engine": engine}


def filter_influence(model, h5, *, out: dict, motifs: dict | None = None, device=None,
                     threads: int | None = None) -> dict:
    """Influence of each first-layer filter by nullification (:func:`basset.influence.filter_influence`) on the
    ``motifs.split`` split of the dataset ``h5``.

    Writes ``out["influence"]`` (TSV ``filter, delta_loss, influence``, then one column per target) and
    ``out["fig3c"]`` (the clustered filter x cell-type heat map, PNG and PDF). ``motifs.influence`` chooses
    the formula: ``paper`` (per cell type, the squared mean change in prediction) or ``per_sequence``.
    """
    cfg = with_defaults("motifs", motifs)
    dev = use_device(device, threads)
    net, _meta = load_model(model, map_location=dev, objective="binary")
    codes, targets = load_split(h5, cfg["split"])
    start = time.perf_counter()
    delta_loss, delta_pred, _means = nullify_filters(net, codes, targets, device=dev, formula=cfg["influence"])
    log.info("influence of %d filters on %d %s sequences in %.1f s",
             len(delta_loss), codes.shape[0], cfg["split"], time.perf_counter() - start)
    names = dataset_info(h5)["target_names"]
    write_table(out["influence"], influence_table(delta_loss, delta_pred, names), float_format="%.6g")
    fig3c(delta_pred, names, out["fig3c"], colour_label=INFLUENCE_LABEL[cfg["influence"]])
    return {"filters": len(delta_loss), "sequences": int(codes.shape[0]), "formula": cfg["influence"]}


def insert_motifs(model, h5, truth=None, *, out: dict, motifs: dict | None = None, seed: int = 1, device=None,
                  threads: int | None = None) -> dict:
    """Mean change in predicted accessibility per cell type when each motif's consensus is inserted at the centre
    of ``motifs.n_background`` sequences drawn with ``seed`` from the ``motifs.split`` split of ``h5``.

    The motifs are ``motifs.insert`` (JASPAR names, matrix IDs or consensus strings, resolved in
    ``motifs.release``); when it is empty, the planted factors of the simulation's ``truth`` (JSON, ``factors``:
    name -> matrix ID) or, without one, the paper's factors (:data:`basset.config.PAPER_INSERT_MOTIFS`).
    Writes ``out["insertion"]`` (TSV, motif x target) and ``out["insertion_figure"]`` (heat map, PNG and PDF).
    """
    cfg = with_defaults("motifs", motifs)
    dev = use_device(device, threads)
    net, _meta = load_model(model, map_location=dev, objective="binary")
    codes, _targets = load_split(h5, cfg["split"])
    background = sample_background(codes, cfg["n_background"], seed)
    specs = cfg["insert"] or (planted_factors(truth) if truth else dict(PAPER_INSERT_MOTIFS))
    resolved = resolve_motifs(specs, release=cfg["release"])
    table = insertion_table(net, background, resolved, dataset_info(h5)["target_names"], device=dev)
    write_table(out["insertion"], table, index=True, float_format="%.6g")
    fig_insertion(table, out["insertion_figure"])
    return {"motifs": len(resolved), "background_sequences": len(background)}


def summarise_filters(filters, filters_meme, influence, tomtom, database_meme, database_table, truth=None, *,
                      out: dict, motifs: dict | None = None, n_logos: int = 12) -> dict:
    """The table of all filters (:func:`filter_summary`: IC, sites, influence, best match) as
    ``out["filter_summary"]``, Figure 3A (information vs influence) as ``out["fig3a"]``, Figure 3B (the
    ``n_logos`` most influential annotated filters beside their best match) as ``out["fig3b"]`` and, with the
    simulation's ``truth``, the planted factors' recovery (:func:`factor_recovery`) as ``out["recovery"]``.

    Inputs are the outputs of the other rules of the stage (``filters`` the filters' TSV, ``influence`` the
    influence TSV, ``tomtom`` the Tomtom TSV). ``motifs``: the config section (``tomtom_q``, ``engine``,
    ``distance`` are read, for the look-alikes of the planted factors). Returns the summary written to
    ``out["summary"]``.
    """
    cfg = with_defaults("motifs", motifs)
    hits = read_tomtom_table(tomtom)
    table = filter_summary(pd.read_csv(filters, sep="\t"), pd.read_csv(influence, sep="\t"), hits)
    write_table(out["filter_summary"], table, float_format="%.6g")
    fig3a(table["ic"], table["influence"], out["fig3a"], annotated=table["annotated"],
          ylabel=f"influence: sum over cell types of {INFLUENCE_LABEL[cfg['influence']]}",
          labels=[f"{f} {n}" if isinstance(n, str) else f for f, n in zip(table["filter"], table["best_name"])])
    database = {m.id: m for m in read_meme(database_meme)}
    _figure3b(table[table["annotated"]].head(n_logos), read_meme(filters_meme), database, out["fig3b"])
    summary = {"filters": len(table), "annotated": int(table["annotated"].sum()),
               "engine": hits["engine"].iloc[0] if len(hits) else "",
               "distance": hits["distance"].iloc[0] if len(hits) else "", "min_overlap": cfg["min_overlap"],
               "tomtom_q": cfg["tomtom_q"], "influence_formula": cfg["influence"]}
    if truth:
        factors = planted_factors(truth)
        # a shared JASPAR family counts only for a target that Tomtom also matches to the factor's own matrix
        similar = similar_matrices(factors, list(database.values()), engine=cfg["engine"], thresh=cfg["tomtom_q"],
                                   dist=cfg["distance"], min_overlap=cfg["min_overlap"])
        recovery = factor_recovery(hits, factors, pd.read_csv(database_table, sep="\t"), similar=similar)
        write_table(out["recovery"], recovery)
        summary["planted_factors"] = len(recovery)
        summary["planted_factors_recovered"] = int(recovery["recovered"].sum())
        summary["fraction_recovered"] = float(recovery["recovered"].mean())
        log.info("%d of %d planted factors recovered by some filter (by name, or by a look-alike of the same "
                 "JASPAR family)", summary["planted_factors_recovered"], len(recovery))
    write_summary(out["summary"], summary)
    return summary


def _figure3b(top: pd.DataFrame, pwm_motifs: list[Motif], database: dict, stem) -> None:
    """Figure 3B: the filters of ``top`` (rows of :func:`filter_summary`) beside their best match, turned to the
    matched strand."""
    filter_pwm = {m.id: m.pwm for m in pwm_motifs}
    matches = [database[i].pwm[::-1, ::-1] if o == "-" else database[i].pwm
               for i, o in zip(top["best_id"], top["orientation"])]
    fig3b([filter_pwm[f] for f in top["filter"]], matches, list(top["filter"]),
          [f"{n} ({i}, q={q:.1g})" for n, i, q in zip(top["best_name"], top["best_id"], top["best_q"])], stem)


# ------------------------------------------------------------------------------------------ files read
def read_tomtom_table(path) -> pd.DataFrame:
    """A Tomtom TSV written by :func:`tomtom_filters`; InputError when a column is missing."""
    table = pd.read_csv(path, sep="\t", dtype={"filter": str, "target_id": str, "target_name": str})
    missing = [c for c in TOMTOM_COLUMNS if c not in table.columns]
    if missing:
        raise InputError(path, f"missing Tomtom columns {missing}", line=1)
    return table


def planted_factors(truth) -> dict[str, str]:
    """The simulation's planted factors, name -> JASPAR matrix ID, from its truth JSON (``factors``)."""
    return json.loads(Path(truth).read_text())["factors"]


# ------------------------------------------------------------------------------------ grading the filters
def _families(value) -> set[str]:
    if not isinstance(value, str) or not value:
        return set()
    return {f.strip().lower() for f in value.split(";") if f.strip()}


def factor_recovery(hits: pd.DataFrame, factors: dict, jaspar: pd.DataFrame, similar: dict | None = None
                    ) -> pd.DataFrame:
    """Which planted factors a filter matched (Tomtom ``hits`` already filtered by q).

    ``factors`` maps factor name -> JASPAR matrix ID; ``jaspar`` is the ``matrix_id, name, family`` table
    of :func:`basset.jaspar.jaspar_database`. A factor is matched ``by_name`` when a hit's target has its matrix
    ID or its name (case-insensitive), ``by_family`` when a hit's target shares a JASPAR family with it **and**,
    when ``similar`` (factor -> set of matrix IDs, see :func:`similar_matrices`) is given, is itself similar to
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
                     dist: str = "pearson", min_overlap: int = MIN_OVERLAP) -> dict[str, set[str]]:
    """For each factor (name -> matrix ID in ``database``), the database matrices that Tomtom matches to the
    factor's own matrix at ``q <= thresh`` (itself included): its cluster of look-alike motifs."""
    by_id = {m.id: m for m in database}
    missing = [f"{name} ({mid})" for name, mid in factors.items() if mid not in by_id]
    if missing:
        raise ValueError(f"planted factors missing from the motif database: {', '.join(missing)}")
    queries = [Motif(name, name, by_id[mid].pwm) for name, mid in factors.items()]
    hits = tomtom(queries, database, engine=engine, thresh=thresh, dist=dist, min_overlap=min_overlap)
    out = hits.groupby("filter")["target_id"].apply(set).to_dict()
    return {name: out.get(name, set()) | {mid} for name, mid in factors.items()}


def filter_summary(filters: pd.DataFrame, influence: pd.DataFrame, hits: pd.DataFrame) -> pd.DataFrame:
    """One row per filter: ``filter, nsites, ic, consensus`` (from :func:`basset.motifs.filter_table`),
    ``delta_loss`` and ``influence`` (:func:`basset.influence.influence_table`, rows in filter order), and
    the best Tomtom match at the hits' threshold (``best_id, best_name, best_q, orientation``; empty when
    unannotated), sorted by influence."""
    table = filters.reset_index(drop=True).copy()
    table["delta_loss"] = influence["delta_loss"].to_numpy()
    table["influence"] = influence["influence"].to_numpy()
    best = hits.sort_values(["filter", "q", "p"]).drop_duplicates("filter").set_index("filter")
    table["annotated"] = table["filter"].isin(best.index)
    for col, src in (("best_id", "target_id"), ("best_name", "target_name"), ("best_q", "q"),
                     ("orientation", "orientation")):
        table[col] = table["filter"].map(best[src]) if len(best) else np.nan
    return table.sort_values("influence", ascending=False, kind="stable").reset_index(drop=True)

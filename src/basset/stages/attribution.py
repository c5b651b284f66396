"""Stage attribution (the report's Figure 7, beyond the paper): base-resolution attributions of each lineage's sites,
TF-MoDISco patterns from them, and the patterns annotated against motif databases and, on simulated data, graded
against the planted factors.

One function per rule of ``workflow/rules/attribution.smk``:

:func:`attribute_sites`    DeepLIFT/SHAP hypothetical contributions and gradient x input of ``attribution.sites``
                           sites per lineage (:func:`basset.config.attribution_lineages`), open in at least half of
                           its cell types; the AUROC of each for the planted instances (simulated truth); Figure 7C
:func:`modisco_lineage`    TF-MoDISco on one lineage's attributions (one job per lineage)
:func:`annotate_patterns`  every pattern's trimmed PFM against each database of ``attribution.databases`` (Tomtom),
                           which planted factors the patterns recover (the filters' rule,
                           :func:`basset.stages.motifs.factor_recovery`), the spacing of each cooperative pair's
                           seqlets, Figures 7A-B

The attributions file (``attributions.h5``) holds one group per lineage: ``targets`` (its cell types),
``rows`` (rows of the split), ``site_index`` (rows of sites.bed), ``codes (N, L) uint8``, ``hypothetical (N, 4, L)``
and ``gradient_x_input (N, 4, L)`` (float32); attributes ``split``, ``n_shuffles``, ``seed``, ``output`` (what is
explained: the mean logit over the lineage's cell types).
"""

from __future__ import annotations

import json
import logging
import time
from importlib.resources import files as package_files
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from ..attribution import (
    actual,
    deep_lift_shap,
    gradient_x_input,
    has_n,
    instance_auroc,
    instance_mask,
)
from ..bed import read_sites
from ..config import with_defaults
from ..dataset import Dataset
from ..device import use_device
from ..errors import InputError
from ..fileio import atomic_path
from ..jaspar import jaspar_database
from ..memefile import read_meme, write_meme
from ..models import load_model
from ..modisco import (
    pair_spacing,
    pattern_motifs,
    read_patterns,
    run_modisco,
    trim_bounds,
)
from ..plots.attribution import fig_patterns, fig_spacing, fig_tracks
from ..sequence import decode, one_hot
from ..tables import write_summary, write_table
from ..tomtom import tomtom
from .motifs import factor_recovery, planted_factors, similar_matrices

log = logging.getLogger("basset.stages.attribution")

#: the bundled CIS-BP 1.02 human motifs (attribution.databases: cisbp)
CISBP = "cisbp_Homo_sapiens.meme"

TRUTH_COLUMNS = ("lineage", "sites", "bases", "bases_in_instances", "auroc_deeplift", "auroc_gradient_x_input")


# ------------------------------------------------------------------------------------------------ attribute
def choose_sites(targets: np.ndarray, codes: np.ndarray, n: int, seed: int) -> tuple[np.ndarray, int]:
    """Rows of a split to explain for one lineage: ``n`` drawn with ``seed`` among those whose labels ``targets (rows,
    k)`` (the lineage's cell types) are 1 in at least half of the columns and whose sequence has no N (sorted);
    and how many open rows were left out for an N."""
    open_ = np.asarray(targets, dtype=np.float64).mean(1) >= 0.5
    with_n = has_n(codes)
    rows = np.flatnonzero(open_ & ~with_n)
    if rows.size > n:
        rows = np.sort(np.random.default_rng(seed).choice(rows, n, replace=False))
    return rows, int((open_ & with_n).sum())


def attribute_sites(model, h5, sites, instances=None, *, out: dict, lineages: dict, attribution: dict | None = None,
                    seed: int = 1, device=None, threads: int | None = None) -> dict:
    """Rule attribute_sites: attributions of each lineage's sites (module docstring) into ``out["attributions"]``.

    ``lineages``: lineage -> its cell types (:func:`basset.config.attribution_lineages`); ``sites``: sites.bed (the
    sites' coordinates); ``instances``: the simulation's planted motif instances (``motif_instances.tsv``), when
    given graded as ``out["truth"]`` (:data:`TRUTH_COLUMNS`). Figure 7C (``out["fig_tracks"]``) draws one site per
    lineage. ``attribution``: the config section (``split``, ``sites``, ``n_shuffles``, ``batch_size``).
    """
    cfg = with_defaults("attribution", attribution)
    dev = use_device(device, threads)
    net, meta = load_model(model, map_location=dev, objective="binary")
    names = [str(t) for t in meta["target_names"]]
    data = Dataset(h5)
    split = cfg["split"]
    codes, y = data.arrays(split)
    site_index = data.site_index(split)
    bed = read_sites(sites)
    inst = pd.read_csv(instances, sep="\t") if instances else None
    truth_rows, tracks, pairs, seconds, n_sites = [], [], 0, 0.0, 0
    with atomic_path(out["attributions"]) as tmp, h5py.File(tmp, "w") as f:
        f.attrs.update({"split": split, "n_shuffles": int(cfg["n_shuffles"]), "seed": int(seed),
                        "output": "mean logit over the lineage's cell types"})
        for i, (lineage, members) in enumerate(lineages.items()):
            unknown = [m for m in members if m not in names]
            if unknown:
                raise InputError(model, f"lineage {lineage}: the model has no target(s) {', '.join(unknown)}")
            cols = [names.index(m) for m in members]
            rows, skipped_n = choose_sites(y[:, cols], codes, int(cfg["sites"]), seed + i)
            if skipped_n:
                log.info("%s: %d open sites left out for an N", lineage, skipped_n)
            if rows.size == 0:
                log.warning("%s: no %s site is open in half of its cell types; nothing to explain", lineage, split)
            t0 = time.perf_counter()
            hyp = deep_lift_shap(net, codes[rows], cols, n_shuffles=int(cfg["n_shuffles"]),
                                 batch_size=int(cfg["batch_size"]), seed=int(seed), device=dev)
            seconds += time.perf_counter() - t0
            pairs += rows.size * int(cfg["n_shuffles"])
            n_sites += int(rows.size)
            gxi = gradient_x_input(net, codes[rows], cols, batch_size=int(cfg["batch_size"]), device=dev)
            g = f.create_group(lineage)
            g.create_dataset("targets", data=np.array(members, dtype=object), dtype=h5py.string_dtype())
            g["rows"], g["site_index"] = rows, site_index[rows]
            g.create_dataset("codes", data=codes[rows], compression="gzip")
            g.create_dataset("hypothetical", data=hyp, compression="gzip")
            g.create_dataset("gradient_x_input", data=gxi, compression="gzip")
            log.info("%s: %d sites x %d references explained (%d cell types)", lineage, rows.size,
                     int(cfg["n_shuffles"]), len(cols))
            if inst is not None and rows.size:
                chosen = bed.iloc[site_index[rows]]
                mask = instance_mask(chosen["chrom"], chosen["start"], chosen["strand"].astype(str) == "-",
                                     codes.shape[1], inst)
                contrib = actual(hyp, codes[rows])
                truth_rows.append({"lineage": lineage, "sites": int(rows.size), "bases": int(mask.size),
                                   "bases_in_instances": int(mask.sum()),
                                   "auroc_deeplift": round(instance_auroc(contrib, mask), 4),
                                   "auroc_gradient_x_input": round(instance_auroc(gxi, mask), 4)})
                best = int(np.argmax(mask.sum(1)))  # the site with the most planted bases
                tracks.append({"label": f"{lineage}: site {int(site_index[rows][best])} ({chosen['chrom'].iloc[best]}:"
                                        f"{int(chosen['start'].iloc[best]):,})",
                               "deeplift": contrib[best].sum(0), "gxi": gxi[best].sum(0), "mask": mask[best]})
            elif rows.size:
                contrib = actual(hyp[:1], codes[rows[:1]])
                tracks.append({"label": f"{lineage}: site {int(site_index[rows][0])}", "deeplift": contrib[0].sum(0),
                               "gxi": gxi[0].sum(0), "mask": np.zeros(codes.shape[1], bool)})
    if "truth" in out and out["truth"]:
        write_table(out["truth"], pd.DataFrame(truth_rows, columns=list(TRUTH_COLUMNS)))
    fig_tracks(tracks, out["fig_tracks"], title="Attribution of one site per lineage (per-base contribution to "
                                                "the lineage's mean logit)")
    summary = {"lineages": len(lineages), "sites": n_sites,
               "n_shuffles": int(cfg["n_shuffles"]), "deeplift_seconds": round(seconds, 1),
               "pairs_per_second": round(pairs / seconds, 1) if seconds else float("nan")}
    if truth_rows:
        summary["auroc_deeplift_mean"] = round(float(np.nanmean([r["auroc_deeplift"] for r in truth_rows])), 4)
        summary["auroc_gradient_x_input_mean"] = round(
            float(np.nanmean([r["auroc_gradient_x_input"] for r in truth_rows])), 4)
    return summary


def read_attributions(path, lineage: str) -> dict:
    """One lineage's group of an attributions file: ``targets, rows, site_index, codes, hypothetical,
    gradient_x_input``."""
    with h5py.File(path, "r") as f:
        if lineage not in f:
            raise InputError(path, f"no lineage {lineage!r} (the file has {', '.join(f) or 'none'})")
        g = f[lineage]
        out = {k: g[k][:] for k in ("rows", "site_index", "codes", "hypothetical", "gradient_x_input")}
        out["targets"] = [t.decode() if isinstance(t, bytes) else str(t) for t in g["targets"][:]]
    return out


# ------------------------------------------------------------------------------------------------ modisco
def modisco_lineage(attributions, *, out: dict, lineage: str, attribution: dict | None = None) -> dict:
    """Rule modisco_lineage: TF-MoDISco (:func:`basset.modisco.run_modisco`) on the ``lineage`` group of the
    attributions file; writes modisco's HDF5 file ``out["modisco"]``. ``attribution``: the config section
    (``window``, ``flank``, ``max_seqlets``, ``leiden_runs``, ``min_seqlets``: the fewest seqlets of a pattern; five
    times as many of one sign are needed for that sign to be clustered, modisco's 100 at the default 20)."""
    cfg = with_defaults("attribution", attribution)
    a = read_attributions(attributions, lineage)
    t0 = time.perf_counter()
    result = run_modisco(one_hot(a["codes"]), a["hypothetical"], out["modisco"], window=cfg["window"],
                         flank=cfg["flank"], max_seqlets=cfg["max_seqlets"], n_leiden_runs=cfg["leiden_runs"],
                         final_min_cluster_size=cfg["min_seqlets"],
                         min_metacluster_size=5 * int(cfg["min_seqlets"]))
    result["seconds"] = round(time.perf_counter() - t0, 1)
    result["sites"] = int(a["codes"].shape[0])
    log.info("%s: %d patterns (%d seqlets) from %d sites in %.1f s", lineage, result["patterns"], result["seqlets"],
             result["sites"], result["seconds"])
    return result


# ------------------------------------------------------------------------------------------------ annotate
def motif_databases(names, release: str) -> dict[str, tuple[list, pd.DataFrame | None]]:
    """``attribution.databases`` resolved: name -> (motifs, JASPAR table or None). ``jaspar``: JASPAR CORE
    vertebrates of ``release``; ``cisbp``: the bundled CIS-BP 1.02 human motifs; anything else a MEME file."""
    out = {}
    for name in names:
        if str(name).lower() == "jaspar":
            motifs, table = jaspar_database(release)
            out["JASPAR"] = (motifs, table)
        elif str(name).lower() == "cisbp":
            out["CIS-BP"] = (read_meme(package_files("basset") / "data" / CISBP), None)
        else:
            out[Path(name).name] = (read_meme(name), None)
    return out


def _consensus(pfm: np.ndarray) -> str:
    return decode(np.argmax(pfm, axis=1).astype(np.uint8))


def pair_expected(pair: dict, factors: dict, database: list) -> float:
    """Centre-to-centre distance (bp) of a cooperative pair as planted: half of ``first``'s width + the spacing +
    half of ``second``'s (the widths of their JASPAR matrices)."""
    width = {m.id: m.width for m in database}
    return width[factors[pair["first"]]] / 2 + int(pair["spacing"]) + width[factors[pair["second"]]] / 2


def annotate_patterns(modisco, truth=None, *, out: dict, lineages: dict, attribution: dict | None = None,
                      motifs: dict | None = None) -> dict:
    """Rule annotate_patterns: each lineage's TF-MoDISco patterns (``modisco``: its files, in the order of
    ``lineages``) matched against ``attribution.databases`` by Tomtom (``motifs.engine``, ``distance``,
    ``tomtom_q``, ``min_overlap``, ``release``).

    Writes ``out["patterns_meme"]`` (the trimmed PFMs), ``out["matches"]`` (every match at ``q <= tomtom_q``, with
    its database), ``out["patterns"]`` (one row per pattern: lineage, seqlets, core width, consensus, the best match
    of each database, the planted factors it recovers), ``out["summary"]`` and Figure 7A (``out["fig_patterns"]``).
    With the simulation's ``truth`` (simulation.json): ``out["recovery"]`` (one row per planted factor, the filters'
    rule) and, for each cooperative pair the simulation planted (its ``params.cooperative``), the pair in its
    program's lineage (``out["spacing"]``, Figure 7B ``out["fig_spacing"]``: :func:`_spacing`).
    """
    cfg = with_defaults("attribution", attribution)
    mcfg = with_defaults("motifs", motifs)
    files = [modisco] if isinstance(modisco, (str, Path)) else list(modisco)
    if len(files) != len(lineages):
        raise ValueError(f"{len(files)} modisco files for {len(lineages)} lineages")
    patterns, all_motifs, lineage_of = {}, [], {}
    for lineage, path in zip(lineages, files):
        pats = read_patterns(path)
        patterns[lineage] = pats
        for p, m in zip(pats, pattern_motifs(pats, prefix=f"{lineage}/", threshold=cfg["trim"])):
            all_motifs.append(m)
            lineage_of[m.id] = (lineage, p)
    write_meme(out["patterns_meme"], all_motifs)
    dbs = motif_databases(cfg["databases"], mcfg["release"])
    hits = {}
    for db_name, (db, _table) in dbs.items():
        h = tomtom(all_motifs, db, engine=mcfg["engine"], thresh=mcfg["tomtom_q"], dist=mcfg["distance"],
                   min_overlap=mcfg["min_overlap"])
        hits[db_name] = h.rename(columns={"filter": "pattern"}).assign(database=db_name)
    matches = pd.concat(list(hits.values()), ignore_index=True) if hits else pd.DataFrame()
    write_table(out["matches"], matches, float_format="%.6g")

    factors = planted_factors(truth) if truth else None
    recovery, per_pattern, jhits, similar = None, {}, None, {}
    if factors is not None and "JASPAR" in dbs:
        jdb, jtable = dbs["JASPAR"]
        similar = similar_matrices(factors, jdb, engine=mcfg["engine"], thresh=mcfg["tomtom_q"],
                                   dist=mcfg["distance"], min_overlap=mcfg["min_overlap"])
        jhits = hits["JASPAR"].rename(columns={"pattern": "filter"})
        recovery = factor_recovery(jhits, factors, jtable, similar=similar)
        for pid, group in jhits.groupby("filter"):
            rec = factor_recovery(group, factors, jtable, similar=similar)
            per_pattern[pid] = [f for f, r in zip(rec["factor"], rec["recovered"]) if r]
        write_table(out["recovery"], recovery.rename(columns={"best_filter": "best_pattern"}), float_format="%.6g")
    elif factors is not None:
        log.warning("planted factors are JASPAR matrices: add jaspar to attribution.databases to grade the patterns")

    rows, fig_rows = [], []
    for m in all_motifs:
        lineage, p = lineage_of[m.id]
        lo, hi = trim_bounds(p["contrib"], cfg["trim"])
        row = {"pattern": m.id, "lineage": lineage, "sign": p["sign"], "seqlets": len(p["seqlets"]),
               "width": hi - lo, "consensus": _consensus(m.pwm)}
        label = [f"{m.id}  {len(p['seqlets'])} seqlets  {row['consensus']}"]
        for db_name, h in hits.items():
            best = h[h["pattern"] == m.id].sort_values(["q", "p"]).head(1)
            key = db_name.lower().replace("-", "")
            row[f"{key}_id"] = best["target_id"].iloc[0] if len(best) else ""
            row[f"{key}_name"] = best["target_name"].iloc[0] if len(best) else ""
            row[f"{key}_q"] = float(best["q"].iloc[0]) if len(best) else np.nan
            label.append(f"{db_name}: {row[f'{key}_name']} (q={row[f'{key}_q']:.2g})" if len(best)
                         else f"{db_name}: no match at q <= {mcfg['tomtom_q']:g}")
        if factors is not None:
            row["planted"] = ";".join(per_pattern.get(m.id, []))
            label.append("planted: " + (", ".join(per_pattern[m.id]) if per_pattern.get(m.id) else "none"))
        rows.append(row)
        fig_rows.append({"cwm": p["contrib"][lo:hi], "pfm": m.pwm, "sign": p["sign"], "label": "\n".join(label)})
    columns = ["pattern", "lineage", "sign", "seqlets", "width", "consensus"]
    for db_name in hits:
        key = db_name.lower().replace("-", "")
        columns += [f"{key}_id", f"{key}_name", f"{key}_q"]
    columns += ["planted"] if factors is not None else []
    write_table(out["patterns"], pd.DataFrame(rows, columns=columns), float_format="%.6g")

    summary = {"lineages": len(lineages), "patterns": len(all_motifs),
               "seqlets": int(sum(len(lineage_of[m.id][1]["seqlets"]) for m in all_motifs)),
               "annotated": int(matches["pattern"].nunique()) if len(matches) else 0,
               "databases": ", ".join(dbs)}
    if recovery is not None:
        n_rec = int(recovery["recovered"].sum())
        summary.update({"planted_factors": len(recovery), "planted_factors_recovered": n_rec,
                        "planted_factors_by_name": int(recovery["by_name"].sum()),
                        "fraction_recovered": round(n_rec / len(recovery), 4) if len(recovery) else float("nan")})
    title = f"TF-MoDISco: {len(all_motifs)} patterns from {len(lineages)} lineages"
    if recovery is not None:
        title += f"; {summary['planted_factors_recovered']} of {summary['planted_factors']} planted factors recovered"
    fig_patterns(fig_rows, out["fig_patterns"], title=title)

    if factors is not None and recovery is not None:
        summary.update(_spacing(patterns, per_pattern, jhits, similar, planted_pairs(truth), factors,
                                dbs["JASPAR"][0], out))
    write_summary(out["summary"], summary)
    return summary


def planted_pairs(truth) -> list[dict]:
    """The cooperative pairs a simulation planted (``program, first, second, spacing, ...``), from its truth JSON."""
    return list((json.loads(Path(truth).read_text()).get("params") or {}).get("cooperative") or [])


def composite_distance(hits: pd.DataFrame, first_ids, second_ids, widths: dict) -> float:
    """Distance (bp) between the centres of two motifs matched inside one (composite) pattern: the best match
    (lowest p) of the pattern's Tomtom ``hits`` among ``first_ids`` and among ``second_ids``; NaN when either has
    none. A target aligned at ``offset`` (the position in the target of the pattern's first column) has its
    centre at pattern position ``(width - 1) / 2 - offset``, on either strand."""
    centres = []
    for ids in (first_ids, second_ids):
        h = hits[hits["target_id"].isin(ids)].sort_values(["p", "q"])
        if not len(h):
            return float("nan")
        best = h.iloc[0]
        centres.append((widths[best["target_id"]] - 1) / 2 - float(best["offset"]))
    return abs(centres[0] - centres[1])


def _spacing(patterns: dict, per_pattern: dict, jhits: pd.DataFrame, similar: dict, cooperative: list,
             factors: dict, jaspar: list, out: dict) -> dict:
    """Each cooperative pair in its program's lineage, two ways: the patterns that recover both factors
    (composite patterns) and the distance between the two motifs inside them, and the distances between the
    seqlets of patterns that recover one factor each (:func:`basset.modisco.pair_spacing`; modisco suppresses a
    seqlet within about half a window of another, so a close pair shows as a composite pattern rather than here).
    Writes ``out["spacing"]`` (``pair, kind, pattern, distance, count, expected``) and Figure 7B; returns the
    summary entries of the first pair."""
    widths = {m.id: m.width for m in jaspar}
    distances, composites, expected, rows, summary = {}, {}, {}, [], {}
    for pair in cooperative:
        first, second, program = pair["first"], pair["second"], pair["program"]
        if first not in factors or second not in factors:
            continue
        label = f"{first}-{second}"
        expected[label] = pair_expected(pair, factors, jaspar)
        ids = {f: similar.get(f, set()) | {factors[f]} for f in (first, second)}
        named = [(f"{program}/{p['name']}", p) for p in patterns.get(program, [])]
        found = {f: [p for pid, p in named if f in per_pattern.get(pid, [])] for f in (first, second)}
        both = [(pid, p) for pid, p in named if {first, second} <= set(per_pattern.get(pid, []))]
        composites[label] = []
        for pid, p in both:
            d = composite_distance(jhits[jhits["filter"] == pid], ids[first], ids[second], widths)
            composites[label].append((pid, d, len(p["seqlets"])))
            rows.append({"pair": label, "kind": "composite", "pattern": pid, "distance": d,
                         "count": len(p["seqlets"]), "expected": expected[label]})
        single = {f: [p["seqlets"] for p in found[f] if not any(p is q for _pid, q in both)] for f in (first, second)}
        d = (pair_spacing(pd.concat(single[first]), pd.concat(single[second]))
             if single[first] and single[second] else np.zeros(0, dtype=np.int64))
        distances[label] = d
        values, counts = np.unique(d, return_counts=True)
        rows += [{"pair": label, "kind": "seqlets", "pattern": "", "distance": int(v), "count": int(c),
                  "expected": expected[label]} for v, c in zip(values, counts)]
        if not summary:
            best = min(composites[label], key=lambda c: abs(c[1] - expected[label])
                       if np.isfinite(c[1]) else np.inf, default=None)
            summary = {"pair": label, "pair_expected_distance": expected[label],
                       "pair_composite_patterns": len(both),
                       "pair_composite_distance": round(best[1], 1) if best else float("nan"),
                       "pair_composite_seqlets": best[2] if best else 0,
                       "pair_seqlet_pairs": int(d.size),
                       "pair_seqlet_mode": int(values[np.argmax(counts)]) if d.size else float("nan")}
    write_table(out["spacing"], pd.DataFrame(rows, columns=["pair", "kind", "pattern", "distance", "count",
                                                            "expected"]), float_format="%.6g")
    fig_spacing(distances, expected, out["fig_spacing"], composites=composites,
                title="A cooperative pair: composite patterns and co-occurring seqlets (TF-MoDISco)")
    return summary

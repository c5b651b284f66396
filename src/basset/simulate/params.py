"""The parameters of a simulation: the schema's defaults merged under the given ones, and the checks that one
JSON schema cannot express (ranges as ``[low, high]``, fractions that must leave room, every sample's group a
program), each naming the key (``simulate.genome.size``)."""

from __future__ import annotations

import pandas as pd

from ..config import schema_defaults, with_defaults
from ..errors import ConfigError
from ..samples import assay_of

#: keys of the section that the workflow uses and :func:`basset.simulate.simulate` does not take
NOT_PARAMS = ("enabled", "outdir")
#: the assays the simulation writes (a sheet's ``assay`` column; empty is dnase) and the histone marks it knows
ASSAYS = ("dnase", "tf", "histone", "cage")
MARKS = ("H3K27ac", "H3K4me3")
#: free mappings and lists that a given value replaces as a whole (the schema says so), not key by key
REPLACED = ("programs", "cooperative")


def simulate_params(params: dict | None) -> dict:
    """``params`` over the schema's ``simulate`` defaults (:func:`basset.config.with_defaults`; ``enabled`` and
    ``outdir`` dropped; ``programs`` and ``cooperative``, free mappings in the schema, replaced as a whole when
    given); checked with :func:`check_params`. An unknown key raises :class:`ConfigError` naming ``simulate.<key>``."""
    p = with_defaults("simulate", params, drop=NOT_PARAMS)
    check_params(p)
    return p


def check_programs(samples: pd.DataFrame, simulate_config: dict) -> None:
    """Check a ``simulate:`` config section and a sample sheet before simulating (at workflow parse time):
    parameters as :func:`basset.simulate.simulate` checks them, and every sample's ``group`` a program."""
    p = simulate_params(simulate_config)
    check_groups(samples, p["programs"])
    check_rows(samples, p)


def planted_factors(samples: pd.DataFrame, p: dict) -> list[str]:
    """The factors a simulation of ``samples`` plants: its groups' programs, constitutive and promoter factors, and
    the cooperative pairs of its programs."""
    used = list(dict.fromkeys(samples["group"]))
    factors = [f for g in used for f in p["programs"][g]] + list(p["motifs"]["constitutive"])
    factors += list(p["motifs"]["promoter"])
    factors += [f for c in p["cooperative"] if c["program"] in used for f in (c["first"], c["second"])]
    return list(dict.fromkeys(factors))


def check_rows(samples: pd.DataFrame, p: dict) -> None:
    """Every row's ``assay`` one the simulation writes (empty: dnase), a tf row's ``factor`` one it plants
    (case-insensitive), a histone row's ``factor`` a mark of :data:`MARKS`; a sheet with a ``coverage`` column has
    only dnase and cage rows (the assays with a simulated coverage track); :class:`ConfigError` naming the row."""
    factors = planted_factors(samples, p)
    known = {f.upper() for f in factors}
    for _, row in samples.iterrows():
        assay = assay_of(row.get("assay"))
        target = str(row.get("factor", "") or "")
        if assay not in ASSAYS:
            raise ConfigError("samples", f"sample {row['name']!r} has assay {assay!r}; the simulation writes "
                                         f"{', '.join(ASSAYS)}")
        if assay == "tf" and target.upper() not in known:
            raise ConfigError("samples", f"tf sample {row['name']!r} has factor {target!r}, which its simulation "
                                         f"does not plant; expected one of {', '.join(factors)}")
        if "coverage" in samples.columns and assay not in ("dnase", "cage"):
            raise ConfigError("samples", f"sample {row['name']!r} has assay {assay!r}; the simulation writes coverage "
                                         "tracks of dnase and cage rows only (the sheet has a coverage column)")
        if assay == "histone" and target not in MARKS:
            raise ConfigError("samples", f"histone sample {row['name']!r} has factor {target!r}; the simulation "
                                         f"writes the marks {', '.join(MARKS)}")


def check_groups(samples: pd.DataFrame, programs: dict) -> None:
    """Every sample's ``group`` names a program of ``programs``."""
    for name, group in zip(samples["name"], samples.get("group", [""] * len(samples))):
        if group not in programs:
            raise ConfigError(
                "simulate.programs",
                f"sample {name!r} has group {group!r}, which is not a program; expected one of "
                f"{', '.join(programs)} (the sample sheet's `group` names the lineage program to simulate)",
            )


def _range(path: str, v, lo=None, hi=None) -> None:
    if not (isinstance(v, (list, tuple)) and len(v) == 2 and v[0] <= v[1]):
        raise ConfigError(path, f"expected [low, high] with low <= high, got {v!r}")
    if lo is not None and v[0] < lo or hi is not None and v[1] > hi:
        raise ConfigError(path, f"expected values within [{lo}, {hi}], got {v!r}")


def check_params(p: dict) -> None:
    """Raise :class:`ConfigError` naming the key when merged parameters ``p`` cannot be simulated."""
    for key, default in schema_defaults("simulate").items():
        if isinstance(default, dict) and key not in REPLACED and not isinstance(p[key], dict):
            raise ConfigError(f"simulate.{key}", f"expected a mapping, got {type(p[key]).__name__}")
    g = p["genome"]
    if int(g["chromosomes"]) < 1 or int(g["size"]) < 100_000 * int(g["chromosomes"]):
        raise ConfigError("simulate.genome.size", "expected at least 100 kb per chromosome")
    if not 0.2 <= g["gc"] <= 0.8:
        raise ConfigError("simulate.genome.gc", f"expected a GC fraction in [0.2, 0.8], got {g['gc']}")
    _range("simulate.genome.isochore_kb", g["isochore_kb"], 1)
    _range("simulate.genome.a_tract_bp", g["a_tract_bp"], 1)
    _range("simulate.accessibility.fraction", p["accessibility"]["fraction"], 0.0, 1.0)
    _range("simulate.peaks.width", p["peaks"]["width"], 20)
    _range("simulate.chip.tf_width", p["chip"]["tf_width"], 20)
    _range("simulate.chip.domain_width", p["chip"]["domain_width"], 20)
    _range("simulate.variants.causal_pics", p["variants"]["causal_pics"], 0.0, 1.0)
    _range("simulate.motifs.sharpness", p["motifs"]["sharpness"], 0.1)
    s = p["sites"]
    if int(s["slots"]) < 1 or int(s["slot_bp"]) < 1:
        raise ConfigError("simulate.sites", f"expected at least one slot of at least 1 bp, got {s['slots']} of "
                                            f"{s['slot_bp']} bp")
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

"""Sample sheets: one row per cell type (target).

Columns: ``name`` (letters, digits, ``.``, ``_``, ``-``), ``peaks`` (local path or http(s)/ftp URL) and/or
``coverage`` (a bigWig, path or URL: ``dataset.mode coverage``),
optional ``md5``, ``group`` (lineage), ``format`` (``narrowPeak``, ``bed`` or ``hotspot``; inferred from the
file name when empty), ``assay`` (dnase, tf, histone or a free label; :func:`assay_of`), ``cell`` and ``factor``
(DeepSEA-style sheets: several assays per cell type, the ChIP target), and any further columns (``label``,
``description``) which are kept as they are.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from .errors import InputError

#: a name that can be a file name: letters, digits, '.', '_', '-', and not '.' or '..' (which name folders)
SAFE_NAME = re.compile(r"^(?!\.{1,2}$)[A-Za-z0-9._-]+$")
FORMATS = ("narrowPeak", "bed", "hotspot")
REQUIRED = ("name", "peaks")


def assay_of(value) -> str:
    """A sheet's ``assay`` entry as the workflow reads it: lower case, and ``dnase`` when empty or missing."""
    return str(value if isinstance(value, str) else "").strip().lower() or "dnase"


def sample_assays(samples: pd.DataFrame) -> list[str]:
    """Each sample's assay (:func:`assay_of` of the sheet's ``assay`` column; all ``dnase`` without one)."""
    if "assay" not in samples:
        return ["dnase"] * len(samples)
    return [assay_of(a) for a in samples["assay"]]


def target_assays(samples: pd.DataFrame, names, missing: str = "dnase") -> list[str]:
    """The assay (:func:`sample_assays`) of each of the targets ``names`` by its sheet row; ``missing`` for a name the
    sheet does not list."""
    by_name = dict(zip(samples["name"].astype(str), sample_assays(samples)))
    return [by_name.get(str(t), missing) for t in names]


def resolve_weights(weights: dict | None, target_names: list[str], assays: list[str] | None = None) -> dict | None:
    """``{target: w}`` from weights named by target or by assay (DeepSEA's impact score, e.g. ``{histone: 1.0}``):
    a target takes its own weight when named, else its assay's (``assays``: one per target, as
    :func:`basset.samples.sample_assays` reads them), else none. A name that is neither a target nor an assay
    raises ValueError; a name that is both is the target."""
    if weights is None:
        return None
    target_names = [str(t) for t in target_names]
    assays = [None] * len(target_names) if assays is None else [str(a) for a in assays]
    if len(assays) != len(target_names):
        raise ValueError(f"{len(assays)} assays for {len(target_names)} targets")
    weights = {str(k): float(v) for k, v in weights.items()}
    unknown = sorted(set(weights) - set(target_names) - set(a for a in assays if a))
    if unknown:
        raise ValueError(f"weights name targets the model does not have: {', '.join(unknown)}"
                         + (f" (nor assays: the targets' are {', '.join(sorted(set(a for a in assays if a)))})"
                            if any(assays) else ""))
    out = {}
    for t, a in zip(target_names, assays):
        if t in weights:
            out[t] = weights[t]
        elif a in weights:
            out[t] = weights[a]
    return out


def is_url(path: str) -> bool:
    return bool(re.match(r"^(https?|ftp)://", str(path)))


def infer_format(path: str) -> str:
    """Peak-file format from its name: ``*narrowPeak*`` -> narrowPeak, ``*hotspot*`` -> hotspot, else bed."""
    low = str(path).lower()
    if "narrowpeak" in low:
        return "narrowPeak"
    if "hotspot" in low:
        return "hotspot"
    return "bed"


def read_sample_sheet(path: str | Path) -> pd.DataFrame:
    """Read and check a sample sheet (TSV with a header); returns a DataFrame indexed by ``name``.

    Raises :class:`InputError` naming the file and line for a missing column, an unsafe or repeated name,
    a row with neither a peaks nor a coverage entry, or an unknown format. A sheet without a ``peaks`` column (a
    coverage-only sheet) gets an empty one.
    """
    path = Path(path)
    try:
        df = pd.read_csv(path, sep="\t", dtype=str, comment="#", keep_default_na=False)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(path, f"cannot read as a tab-separated sample sheet: {exc}") from None
    df.columns = [c.strip() for c in df.columns]
    for col in REQUIRED:
        if col not in df.columns and (col != "peaks" or "coverage" not in df.columns):
            raise InputError(path, f"missing column {col!r}; expected a header with at least: name, peaks (or "
                                   "coverage, bigWigs)", 1)
    for col in ("peaks", "md5", "group", "format"):
        if col not in df.columns:
            df[col] = ""
    df = df.apply(lambda s: s.str.strip())
    seen: dict[str, int] = {}
    for i, row in enumerate(df.itertuples(index=False), start=2):
        name, peaks, fmt = row.name, row.peaks, row.format
        if not SAFE_NAME.match(name):
            raise InputError(path, f"unsafe sample name {name!r}: use only letters, digits, '.', '_' and '-' "
                                   "(and not '.' or '..')", i)
        if name in seen:
            raise InputError(path, f"sample name {name!r} repeats line {seen[name]}", i)
        seen[name] = i
        if not peaks and not getattr(row, "coverage", ""):
            raise InputError(path, f"sample {name!r} has an empty 'peaks' column (expected a path or URL)", i)
        if fmt and fmt not in FORMATS:
            raise InputError(path, f"sample {name!r}: unknown format {fmt!r}; expected one of {', '.join(FORMATS)}", i)
        if row.md5 and not re.fullmatch(r"[0-9a-fA-F]{32}", row.md5):
            raise InputError(path, f"sample {name!r}: md5 {row.md5!r} is not 32 hexadecimal digits", i)
    if df.empty:
        raise InputError(path, "the sample sheet lists no samples")
    df["format"] = [f or infer_format(p) for f, p in zip(df["format"], df["peaks"])]
    return df.set_index("name", drop=False)

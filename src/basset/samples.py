"""Sample sheets: one row per cell type (target).

Columns: ``name`` (letters, digits, ``.``, ``_``, ``-``), ``peaks`` (local path or http(s)/ftp URL),
optional ``md5``, ``group`` (lineage), ``format`` (``narrowPeak``, ``bed`` or ``hotspot``; inferred from the
file name when empty), and any further columns (``label``, ``description``) which are kept as they are.
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
    an empty peaks entry or an unknown format.
    """
    path = Path(path)
    try:
        df = pd.read_csv(path, sep="\t", dtype=str, comment="#", keep_default_na=False)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(path, f"cannot read as a tab-separated sample sheet: {exc}") from None
    df.columns = [c.strip() for c in df.columns]
    for col in REQUIRED:
        if col not in df.columns:
            raise InputError(path, f"missing column {col!r}; expected a header with at least: name, peaks", 1)
    for col in ("md5", "group", "format"):
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
        if not peaks:
            raise InputError(path, f"sample {name!r} has an empty 'peaks' column (expected a path or URL)", i)
        if fmt and fmt not in FORMATS:
            raise InputError(path, f"sample {name!r}: unknown format {fmt!r}; expected one of {', '.join(FORMATS)}", i)
        if row.md5 and not re.fullmatch(r"[0-9a-fA-F]{32}", row.md5):
            raise InputError(path, f"sample {name!r}: md5 {row.md5!r} is not 32 hexadecimal digits", i)
    if df.empty:
        raise InputError(path, "the sample sheet lists no samples")
    df["format"] = [f or infer_format(p) for f, p in zip(df["format"], df["peaks"])]
    return df.set_index("name", drop=False)

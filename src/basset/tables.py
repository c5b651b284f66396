"""Small table writers shared by every stage."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .fileio import atomic_path


def write_summary(path: str | Path, summary: dict) -> None:
    """Write a stage's summary dict as a ``key<TAB>value`` TSV with a header (values as they are: counts stay
    integers), atomically."""
    frame = pd.DataFrame({"key": list(summary), "value": pd.Series(list(summary.values()), dtype=object)})
    write_table(path, frame)


def write_table(path: str | Path, frame: pd.DataFrame, **to_csv) -> None:
    """``frame.to_csv(path, sep="\\t", index=False, **to_csv)`` through a temporary file and a rename, so a
    failure never leaves a partial table under ``path`` (gzip when the name ends in ``.gz``, mtime 0)."""
    options = {"sep": "\t", "index": False, **to_csv}
    if str(path).endswith(".gz") and "compression" not in options:
        options["compression"] = {"method": "gzip", "mtime": 0}
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, **options)

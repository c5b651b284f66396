"""Small table writers shared by every stage."""

from __future__ import annotations

import gzip
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
    failure never leaves a partial table under ``path``. A name ending in ``.gz`` is gzipped with no file name and
    mtime 0 in the header, so the same table gives the same bytes (pandas would store the temporary name)."""
    options = {"sep": "\t", "index": False, **to_csv}
    with atomic_path(path) as tmp:
        if str(path).endswith(".gz") and "compression" not in options:
            with open(tmp, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
                frame.to_csv(gz, **options)
        else:
            frame.to_csv(tmp, **options)

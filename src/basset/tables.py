"""Small table writers shared by every stage."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def write_summary(path: str | Path, summary: dict) -> None:
    """Write a stage's summary dict as a ``key<TAB>value`` TSV with a header (values as they are: counts stay
    integers)."""
    pd.DataFrame({"key": list(summary), "value": pd.Series(list(summary.values()), dtype=object)}).to_csv(
        path, sep="\t", index=False)

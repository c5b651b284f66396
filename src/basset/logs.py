"""Logging set-up shared by the CLI and the workflow scripts."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(logfile: str | Path | None = None, level: int = logging.INFO) -> logging.Logger:
    """Send basset's log to ``logfile`` (if given) and to stderr; returns the ``basset`` logger."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if logfile is not None:
        Path(logfile).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(logfile, mode="w"))
    logging.basicConfig(level=level, format=FORMAT, handlers=handlers, force=True)
    logging.captureWarnings(True)
    return logging.getLogger("basset")


def progress_bar(total: int, enabled: bool = True, desc: str | None = None, unit: str = "it"):
    """A tqdm progress bar; a silent one (same ``update``/``close``) when ``enabled`` is false."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, disable=not enabled, mininterval=1.0, leave=False)

"""Logging set-up shared by the CLI and the workflow scripts."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _log_uncaught(kind, value, tb) -> None:
    """``sys.excepthook``: an uncaught exception and its traceback go through the log, so that a rule's log
    file holds the failure (on a cluster the terminal is lost), then Python exits non-zero as usual."""
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, value, tb)
        return
    logging.getLogger("basset").critical("uncaught %s: %s", kind.__name__, value, exc_info=(kind, value, tb))


def setup_logging(logfile: str | Path | None = None, level: int = logging.INFO) -> logging.Logger:
    """Send basset's log to ``logfile`` (if given) and to stderr; returns the ``basset`` logger.

    An uncaught exception is logged with its traceback (both destinations) before the process exits non-zero.
    """
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if logfile is not None:
        Path(logfile).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(logfile, mode="w"))
    logging.basicConfig(level=level, format=FORMAT, handlers=handlers, force=True)
    logging.captureWarnings(True)
    sys.excepthook = _log_uncaught
    return logging.getLogger("basset")


def progress_bar(total: int, enabled: bool = True, desc: str | None = None, unit: str = "it"):
    """A tqdm progress bar; a silent one (same ``update``/``close``) when ``enabled`` is false."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, disable=not enabled, mininterval=1.0, leave=False)

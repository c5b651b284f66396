"""Stage ``download``: the inputs the workflow fetches or links under ``resources/`` (rules ``download_resource``
and ``download_peaks``, both :func:`download_file`, and ``index_genome``). Fetching, retries and checksums are
:mod:`basset.download`; indexing is :func:`basset.sequence.link_and_index`.
"""

from __future__ import annotations

import logging

from ..download import DEADLINE, fetch
from ..sequence import link_and_index

log = logging.getLogger(__name__)


def download_file(*, out: dict, url: str, md5: str | None = None, gunzip: bool = False, retries: int = 3,
                  deadline: float = DEADLINE, progress: bool = False) -> dict:
    """Rules ``download_resource`` and ``download_peaks``: fetch ``url`` to ``out["file"]`` atomically.

    ``md5``: checksum of the bytes as downloaded (before ``gunzip``), ``None`` or ``""`` when unknown; a
    non-string (an unquoted YAML number) is refused. ``retries``: attempts in all; ``deadline``: seconds for one
    attempt at the whole file. ``progress``: a progress bar on a terminal (never in a rule: its log is a file).
    Returns ``{"file", "bytes"}``. A failure raises :class:`basset.download.DownloadError` naming the URL (in a
    rule, :func:`basset.logs.setup_logging` writes it and its traceback to the rule's log).
    """
    path = fetch(url, out["file"], md5=md5, gunzip=bool(gunzip), retries=retries, progress=progress,
                 deadline=deadline)
    return {"file": str(path), "bytes": path.stat().st_size}


def index_genome(*, fasta: str, out: dict) -> dict:
    """Rule ``index_genome``: link the user's ``fasta`` at ``out["fasta"]`` and write its index to
    ``out["fai"]`` (``out["fasta"]`` + ``.fai``), so that the workflow never writes beside the user's file (a
    read-only data folder works). Returns ``{"sequences", "bp"}``."""
    sizes = link_and_index(fasta, out["fasta"], out["fai"])
    log.info("indexed %s (%d sequences, %d bp) as %s", fasta, len(sizes), sum(sizes.values()), out["fasta"])
    return {"sequences": len(sizes), "bp": sum(sizes.values())}

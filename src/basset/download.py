"""Downloads that never leave a file which looks complete but is not.

:func:`fetch` streams a URL (``http``, ``https``, ``ftp`` or ``file``) into a hidden temporary file next to the
destination, computing its MD5 on the way, checks the checksum, optionally gunzips, and only then renames the
result onto the destination (``os.replace``: atomic on one file system). Connection errors, time-outs (of one
read, ``timeout``, or of the whole file, ``deadline``), truncated bodies and HTTP 5xx/429 answers are retried
with exponential back-off; malformed URLs and other HTTP errors fail at once.

The temporary file is ``.part-<pid>-<name>`` (:func:`basset.fileio.temp_name`): a SIGTERM (Snakemake, SLURM)
while :func:`fetch` runs in the main thread removes it before the process ends, and the leftovers of processes
killed harder (``kill -9``) are swept by the next :func:`fetch` into the same folder
(:func:`basset.fileio.sweep_temporaries`).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import http.client
import logging
import os
import re
import shutil
import signal
import socket
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from pathlib import Path

from tqdm.auto import tqdm

from .errors import BassetError
from .fileio import sweep_temporaries, temp_name

log = logging.getLogger("basset.download")

CHUNK = 1 << 20  # bytes read per iteration: 1 MiB keeps memory flat for multi-GB genomes
USER_AGENT = "basset-download/0.1 (+https://github.com/davek44/Basset)"
SCHEMES = ("http", "https", "ftp", "file")
DEADLINE = 6 * 3600  # s per file and attempt: hours for a multi-GB genome on a slow link, not forever


class DownloadError(BassetError):
    """A download that failed or gave the wrong bytes; names the URL and, for HTTP errors, the status."""

    def __init__(self, url: str, message: str, status: int | None = None):
        self.url = url
        self.status = status
        super().__init__(f"{url}: {message}")


class _Retryable(Exception):
    """A transient failure: the attempt may be repeated."""


class _Terminated(BaseException):
    """Raised by the SIGTERM handler of :func:`_terminate_cleanly`; a BaseException, so no ``except Exception``
    on the way swallows it."""


def check_url(url: str) -> None:
    """Raise :class:`DownloadError` saying what is wrong when ``url`` cannot be a valid download URL.

    Checked: a scheme among :data:`SCHEMES`, a host (except for ``file://``), a numeric port, and no
    whitespace or control characters (a space must be percent-encoded as ``%20``). Such errors are permanent:
    retrying cannot fix them.
    """
    if not isinstance(url, str) or not url:
        raise DownloadError(str(url), f"malformed URL: expected a non-empty string, got {url!r}")
    bad = re.search(r"[\x00-\x20\x7f]", url)
    if bad:
        what = "a space" if bad.group() == " " else f"the control character {bad.group()!r}"
        raise DownloadError(url, f"malformed URL: it contains {what} at character {bad.start() + 1} "
                                 "(percent-encode it, e.g. a space as %20)")
    parts = urllib.parse.urlsplit(url)
    if not parts.scheme:
        raise DownloadError(url, "malformed URL: no scheme (expected one of "
                                 f"{', '.join(s + '://' for s in SCHEMES)})")
    if parts.scheme.lower() not in SCHEMES:
        raise DownloadError(url, f"malformed URL: unknown url type {parts.scheme!r} (expected one of "
                                 f"{', '.join(SCHEMES)})")
    if parts.scheme.lower() != "file" and not parts.hostname:
        raise DownloadError(url, "malformed URL: no host name after the scheme")
    try:
        parts.port
    except ValueError as exc:
        raise DownloadError(url, f"malformed URL: bad port ({exc})") from None


def md5sum(path: str | Path, chunk: int = CHUNK) -> str:
    """Hexadecimal MD5 digest of the file at ``path`` (read in ``chunk``-byte blocks)."""
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def _terminate_cleanly(url: str):
    """While the block runs, a SIGTERM raises :class:`_Terminated` so that ``finally`` clauses remove the
    temporary files; then the previous handler is restored and the signal re-delivered to it (with the default
    handler the process ends as killed by SIGTERM, as Snakemake and SLURM expect).

    Signal handlers can only be set in the main thread, and a process that ignores SIGTERM keeps ignoring it:
    in both cases the block runs unchanged.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)
    if previous is None or previous == signal.SIG_IGN:  # None: a handler not set from Python; leave it alone
        yield
        return

    def handler(signum, frame):
        raise _Terminated(signum)

    signal.signal(signal.SIGTERM, handler)
    try:
        yield
    except _Terminated:
        signal.signal(signal.SIGTERM, previous)
        log.warning("%s: terminated by SIGTERM; the partial download was removed", url)
        signal.raise_signal(signal.SIGTERM)
        # the previous handler returned instead of ending the process: the download is still incomplete
        raise DownloadError(url, "interrupted by SIGTERM") from None
    finally:
        signal.signal(signal.SIGTERM, previous)


def _expected_md5(url: str, md5: object) -> str | None:
    """The checksum to compare with, lower-case; ``None`` or ``""`` means unknown."""
    if md5 is None or md5 == "":
        return None
    # YAML reads an unquoted all-digit checksum as a number: refuse it rather than silently skip the check
    if not isinstance(md5, str) or not re.fullmatch(r"[0-9a-fA-F]{32}", md5.strip()):
        raise DownloadError(url, f"md5 {md5!r} is not a string of 32 hexadecimal digits (quote it in YAML)")
    return md5.strip().lower()


def _show_progress(progress: bool, size: int | None) -> bool:
    return bool(progress and size and sys.stderr.isatty())


def open_url(url: str, timeout: float):
    """``urlopen`` of ``url`` with basset's User-Agent -> ``(response, size)``: the response (a binary stream
    and context manager) and its Content-Length in bytes, ``None`` when the server does not say. urllib's
    errors pass through: the callers classify them (retry, or fail naming the URL)."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    response = urllib.request.urlopen(request, timeout=timeout)
    length = response.headers.get("Content-Length") if response.headers else None
    return response, int(length) if length and length.isdigit() else None


def _stream(url: str, part: Path, timeout: float, progress: bool, deadline: float = DEADLINE) -> str:
    """Download ``url`` into ``part`` (overwritten); returns the MD5 of the bytes received.

    ``timeout`` (s) bounds each network operation (connect, one read); ``deadline`` (s) bounds the whole
    attempt, checked after every read: a server trickling a byte at a time cannot hold it for longer than
    ``deadline`` plus one read time-out (``min(timeout, deadline)``). Raises :class:`_Retryable` for
    transient failures and :class:`DownloadError` for permanent ones.
    """
    end = time.monotonic() + deadline
    try:
        response, size = open_url(url, max(0.01, min(timeout, deadline)))
        with response:
            # read1: what has arrived (at most CHUNK), so that the deadline is checked between trickled bytes
            read = getattr(response, "read1", response.read)
            digest = hashlib.md5()
            received = 0
            with (
                open(part, "wb") as out,
                tqdm(
                    total=size,
                    unit="B",
                    unit_scale=True,
                    unit_divisor=1024,
                    desc=Path(urllib.parse.urlsplit(url).path).name or url,
                    disable=not _show_progress(progress, size),
                ) as bar,
            ):
                while block := read(CHUNK):
                    digest.update(block)
                    out.write(block)
                    received += len(block)
                    bar.update(len(block))
                    if time.monotonic() > end:
                        raise _Retryable(f"deadline of {deadline:g} s passed after {received} of "
                                         f"{size if size is not None else 'unknown'} bytes (server too slow)")
    except urllib.error.HTTPError as exc:
        if exc.code == 429 or exc.code >= 500:
            raise _Retryable(f"HTTP {exc.code} {exc.reason}") from exc
        raise DownloadError(url, f"HTTP error {exc.code} {exc.reason}", status=exc.code) from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, (FileNotFoundError, PermissionError, IsADirectoryError)):
            raise DownloadError(url, f"cannot read: {exc.reason}") from None
        if isinstance(exc.reason, str) and exc.reason.startswith(("unknown url type", "no host given")):
            raise DownloadError(url, f"malformed URL: {exc.reason}") from None
        raise _Retryable(f"connection failed: {exc.reason}") from exc
    except http.client.InvalidURL as exc:  # a subclass of HTTPException, which is retried below
        raise DownloadError(url, f"malformed URL: {exc}") from None
    except ValueError as exc:  # urllib's "unknown url type" (check_url lets none through that gets here)
        raise DownloadError(url, f"malformed URL: {exc}") from None
    except (TimeoutError, socket.timeout, ConnectionError, http.client.HTTPException) as exc:
        raise _Retryable(f"{type(exc).__name__}: {exc}") from exc
    except OSError as exc:
        if exc.errno is None:  # ftplib and friends raise bare OSErrors for transient protocol failures
            raise _Retryable(f"{type(exc).__name__}: {exc}") from exc
        raise DownloadError(url, f"cannot write {part}: {exc}") from None
    if size is not None and received != size:
        raise _Retryable(f"truncated: received {received} of {size} bytes")
    log.info("received %d bytes from %s", received, url)
    return digest.hexdigest()


def _gunzip(url: str, source: Path, target: Path) -> None:
    try:
        with gzip.open(source, "rb") as src, open(target, "wb") as out:
            shutil.copyfileobj(src, out, CHUNK)
    except (OSError, EOFError, zlib.error) as exc:
        raise DownloadError(url, f"cannot gunzip the download: {exc}") from None


def fetch(
    url: str,
    dest: str | Path,
    md5: str | None = None,
    gunzip: bool = False,
    retries: int = 3,
    backoff: float = 1.0,
    timeout: float = 60,
    progress: bool = True,
    deadline: float = DEADLINE,
) -> Path:
    """Download ``url`` to ``dest`` atomically; returns ``dest`` as a :class:`~pathlib.Path`.

    Parameters
    ----------
    url : str
        ``http``, ``https``, ``ftp`` or ``file`` URL. A malformed one (a space, no or an unknown scheme, no
        host, a bad port) fails at once, before any request (:func:`check_url`).
    dest : str or Path
        Destination file; its folder is created. An existing ``dest`` is replaced only when the new file is
        complete and verified.
    md5 : str, optional
        Checksum of the bytes *as downloaded* (before gunzip), 32 hexadecimal digits; ``None`` or ``""``: unknown.
    gunzip : bool
        Decompress the download before renaming it onto ``dest``.
    retries : int
        Total number of attempts (at least 1); attempt *k* waits ``backoff * 2**(k-1)`` s after a transient
        failure: connection error, time-out, truncated body, HTTP 5xx or 429.
    backoff : float
        First wait between attempts, in seconds.
    timeout : float
        Seconds allowed for each network operation (connect, one read).
    progress : bool
        Show a progress bar (only on a terminal and when the size is known).
    deadline : float
        Seconds allowed for one attempt at the whole file (default 6 h); passing it is a transient failure.

    Raises
    ------
    DownloadError
        Naming the URL and what went wrong. The temporary files (``.part-<pid>-<name>``, ``.tmp-<pid>-<name>``
        in ``dest``'s folder) are removed on any failure and on SIGTERM; leftovers of dead processes in the
        folder are swept first.
    """
    check_url(url)
    expected = _expected_md5(url, md5)
    attempts = max(1, int(retries))
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    for gone in sweep_temporaries(dest.parent):
        log.info("removed %s, left by a process that no longer runs", gone)
    temps: list[Path] = []
    with _terminate_cleanly(url):
        try:
            _download(url, dest, expected, gunzip, attempts, backoff, timeout, progress, deadline, temps)
        finally:
            for temp in temps:
                temp.unlink(missing_ok=True)
    log.info("wrote %s", dest)
    return dest


def _download(url: str, dest: Path, expected: str | None, gunzip: bool, attempts: int, backoff: float,
              timeout: float, progress: bool, deadline: float, temps: list[Path]) -> None:
    """The body of :func:`fetch`; every temporary path is appended to ``temps`` *before* it is created."""
    part = temp_name(dest, "part")
    temps.append(part)
    for attempt in range(1, attempts + 1):
        log.info("downloading %s -> %s (attempt %d of %d)", url, dest, attempt, attempts)
        try:
            actual = _stream(url, part, timeout, progress, deadline)
            break
        except _Retryable as exc:
            if attempt == attempts:
                raise DownloadError(url, f"failed after {attempts} attempts: {exc}") from None
            wait = backoff * 2 ** (attempt - 1)
            log.warning("%s: %s; retrying in %.1f s", url, exc, wait)
            time.sleep(wait)
    if expected is not None and actual != expected:
        raise DownloadError(url, f"MD5 mismatch: expected {expected}, got {actual}")
    log.info("md5 %s%s", actual, " (verified)" if expected else "")
    if gunzip:
        plain = temp_name(dest, "tmp")
        temps.append(plain)
        _gunzip(url, part, plain)
        part = plain
    os.replace(part, dest)
    temps.remove(part)

"""Downloads that never leave a file which looks complete but is not.

:func:`fetch` streams a URL (``http``, ``https``, ``ftp`` or ``file``) into a hidden temporary file next to the
destination, computing its MD5 on the way, checks the checksum, optionally gunzips, and only then renames the
result onto the destination (``os.replace``: atomic on one file system). Connection errors, time-outs and
HTTP 5xx/429 answers are retried with exponential back-off; other HTTP errors fail at once.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import logging
import os
import re
import shutil
import socket
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from pathlib import Path

from tqdm.auto import tqdm

from .errors import BassetError

log = logging.getLogger("basset.download")

CHUNK = 1 << 20  # bytes read per iteration: 1 MiB keeps memory flat for multi-GB genomes
USER_AGENT = "basset-download/0.1 (+https://github.com/davek44/Basset)"


class DownloadError(BassetError):
    """A download that failed or gave the wrong bytes; names the URL and, for HTTP errors, the status."""

    def __init__(self, url: str, message: str, status: int | None = None):
        self.url = url
        self.status = status
        super().__init__(f"{url}: {message}")


class _Retryable(Exception):
    """A transient failure: the attempt may be repeated."""


def md5sum(path: str | Path, chunk: int = CHUNK) -> str:
    """Hexadecimal MD5 digest of the file at ``path`` (read in ``chunk``-byte blocks)."""
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def _temp_path(dest: Path) -> Path:
    """A new empty hidden file ``.<name>.part-<random>`` in ``dest``'s directory (same file system)."""
    fd, name = tempfile.mkstemp(prefix=f".{dest.name}.part-", dir=dest.parent)
    os.close(fd)
    return Path(name)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


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


def _stream(url: str, part: Path, timeout: float, progress: bool) -> str:
    """Download ``url`` into ``part`` (overwritten); returns the MD5 of the bytes received.

    Raises :class:`_Retryable` for transient failures and :class:`DownloadError` for permanent ones.
    """
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length") if response.headers else None
            size = int(length) if length and length.isdigit() else None
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
                while block := response.read(CHUNK):
                    digest.update(block)
                    out.write(block)
                    received += len(block)
                    bar.update(len(block))
    except urllib.error.HTTPError as exc:
        if exc.code == 429 or exc.code >= 500:
            raise _Retryable(f"HTTP {exc.code} {exc.reason}") from exc
        raise DownloadError(url, f"HTTP error {exc.code} {exc.reason}", status=exc.code) from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, (FileNotFoundError, PermissionError, IsADirectoryError)):
            raise DownloadError(url, f"cannot read: {exc.reason}") from None
        raise _Retryable(f"connection failed: {exc.reason}") from exc
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
) -> Path:
    """Download ``url`` to ``dest`` atomically; returns ``dest`` as a :class:`~pathlib.Path`.

    ``md5`` is the checksum of the bytes *as downloaded* (before gunzip); ``gunzip`` decompresses them.
    ``retries`` is the total number of attempts (at least 1); attempt *k* waits ``backoff * 2**(k-1)`` seconds
    after a transient failure (connection error, time-out of ``timeout`` seconds, HTTP 5xx or 429).
    An existing ``dest`` is replaced only when the new file is complete and verified; on any failure the
    temporary files (``.<name>.part-*`` in ``dest``'s directory) are removed and :class:`DownloadError` raised.
    """
    expected = _expected_md5(url, md5)
    attempts = max(1, int(retries))
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    temps: list[Path] = []
    try:
        part = _temp_path(dest)
        temps.append(part)
        for attempt in range(1, attempts + 1):
            log.info("downloading %s -> %s (attempt %d of %d)", url, dest, attempt, attempts)
            try:
                actual = _stream(url, part, timeout, progress)
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
            plain = _temp_path(dest)
            temps.append(plain)
            _gunzip(url, part, plain)
            part = plain
        part.chmod(0o666 & ~_umask())  # mkstemp makes 0600 files; give the usual permissions
        os.replace(part, dest)
        temps.remove(part)
        log.info("wrote %s", dest)
        return dest
    finally:
        for temp in temps:
            temp.unlink(missing_ok=True)

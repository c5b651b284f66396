"""Reading and writing files the way real inputs and real disks demand (base layer: no basset imports but errors).

* **Compression by content, never by name.** :func:`is_gzip` reads the two magic bytes; :func:`open_text`
  opens plain or gzipped text alike, and :func:`compression` tells pandas what the bytes are. A plain BED named
  ``.gz`` is read as plain text; a corrupt or truncated gzip raises :class:`~basset.errors.InputError` naming
  the file (:func:`read_errors`), not a bare ``zlib.error`` or ``EOFError``.
* **Atomic writes.** :func:`atomic_path` yields a hidden temporary name in the destination's folder
  (``.tmp-<pid>-<name>``: it keeps the real suffix, so pandas, matplotlib and h5py infer the format as for the
  final name) and renames it onto the destination only when the block succeeds. Nothing is ever left
  half-written under a final name.
* **Full disks.** A write that fails for lack of space raises :class:`DiskFullError` ("no space left on
  device", with the path), whether the library said so with ``errno`` 28 (Python) or only in its message
  (h5py). torch's own writer loses the errno, so :func:`basset.models.atomic_save` hands it a Python file.
* **Leftovers of killed runs.** A ``kill -9`` cannot run clean-up code, so temporary files and staging folders
  carry the writer's pid; :func:`sweep_temporaries` removes those whose process is gone (every atomic write
  sweeps its folder first).

The standard library has every piece; no maintained package does this combination for arbitrary writers.
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import hashlib
import io
import os
import re
import shutil
import zlib
from pathlib import Path

from .errors import BassetError, InputError

try:  # Intel ISA-L's gzip: the same format, about 4x faster than zlib at level 1 and smaller (bench_sad.py)
    from isal import igzip as _gzip_writer

    _GZIP_MAX_LEVEL = 3  # isal's levels are 0 to 3
except ImportError:  # pragma: no cover - isal is a dependency
    _gzip_writer, _GZIP_MAX_LEVEL = gzip, 9

GZIP_MAGIC = b"\x1f\x8b"
#: temporary files and staging folders: ``.tmp-<pid>-<name>`` (files) and ``.stage-<pid>-<name>`` (folders)
_TEMP = re.compile(r"^\.(?:tmp|stage|part)-(\d+)-")
_GZIP_ERRORS = (gzip.BadGzipFile, zlib.error, EOFError)


class DiskFullError(BassetError, OSError):
    """A write failed for lack of space; names the path that could not be written."""

    def __init__(self, path: str | Path, detail: str = ""):
        self.path = str(path)
        self.detail = detail
        super().__init__(errno.ENOSPC, f"no space left on device writing {path}" + (f" ({detail})" if detail else ""))

    def __reduce__(self):  # picklable, as the errors of basset.errors
        return type(self), (self.path, self.detail)

    def __str__(self) -> str:
        return self.args[1]


# ------------------------------------------------------------------------------------------------ reading
def is_gzip(path: str | Path) -> bool:
    """True when the file starts with the gzip magic bytes (its name does not matter)."""
    with open(path, "rb") as fh:
        return fh.read(2) == GZIP_MAGIC


def compression(path: str | Path) -> str | None:
    """``"gzip"`` or ``None`` for pandas' ``compression=``, decided by the file's first bytes."""
    return "gzip" if is_gzip(path) else None


def open_text(path: str | Path, newline: str | None = None):
    """Open plain or gzipped (also bgzipped) text for reading, decided by content."""
    if is_gzip(path):
        return io.TextIOWrapper(gzip.open(path, "rb"), newline=newline)
    return open(path, newline=newline)


def header_lines(path: str | Path, is_header, what: str = "file") -> tuple[int, str | None]:
    """``(n, first)``: the number of leading lines of a text file for which ``is_header(line, n)`` holds (``line``
    without its newline, ``n`` the header lines so far) and the first line after them (``None`` at the end).

    The one header scan of the package: BED ``track``/``#`` lines and column headers, VCF ``#`` lines.
    """
    n = 0
    with read_errors(path, what), open_text(path, newline="") as fh:
        for line in fh:
            text = line.rstrip("\r\n")
            if not is_header(text, n):
                return n, text
            n += 1
    return n, None


def line_at(path: str | Path, lineno: int, what: str = "file") -> str:
    """Text of the 1-based line ``lineno`` of a plain or gzipped file, ``""`` past its end (for error messages)."""
    with read_errors(path, what), open_text(path, newline="") as fh:
        for i, line in enumerate(fh, 1):
            if i == lineno:
                return line.rstrip("\r\n")
    return ""


@contextlib.contextmanager
def read_errors(path: str | Path, what: str = "file"):
    """Turn decompression and decoding failures raised while reading ``path`` into an :class:`InputError`."""
    try:
        yield
    except _GZIP_ERRORS as exc:
        kind = "truncated" if isinstance(exc, EOFError) else "corrupt"
        raise InputError(path, f"{kind} gzip data ({type(exc).__name__}: {exc}); expected a complete gzip or "
                               f"plain-text {what}") from None
    except UnicodeDecodeError as exc:
        raise InputError(path, f"not a text {what}: undecodable byte at offset {exc.start}") from None


def file_sha256(path: str | Path, block: int = 1 << 20) -> str:
    """The SHA-256 hex digest of a file's bytes (a model's identity in the files made with it)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(block):
            digest.update(chunk)
    return digest.hexdigest()


def sniff_genome(path: str | Path) -> str:
    """``"fasta"``, ``"sizes"`` (FASTA index or two-column chrom.sizes) or ``"fasta.gz"``, by content.

    Raises :class:`InputError` naming the file and what was expected otherwise.
    """
    path = Path(path)
    if is_gzip(path):
        return "fasta.gz"
    with open(path, "rb") as fh:
        head = fh.read(4096)
    lines = [ln for ln in head.splitlines() if ln.strip() and not ln.startswith(b"#")]
    if lines and lines[0].startswith(b">"):
        return "fasta"
    if lines:
        fields = lines[0].split(b"\t")
        if len(fields) >= 2 and fields[1].strip().isdigit():
            return "sizes"
    first = lines[0][:60].decode("latin-1") if lines else ""
    raise InputError(path, "expected a FASTA genome (first line '>name') or a chrom-sizes/.fai file "
                           f"(name<TAB>length per line); first line is {first!r}", 1)


# ------------------------------------------------------------------------------------------------ writing
def _is_disk_full(exc: BaseException) -> bool:
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(exc)
    return ("No space left on device" in text or "errno = 28" in text or "Errno 28" in text
            or "Disk quota exceeded" in text)


@contextlib.contextmanager
def disk_errors(path: str | Path):
    """Re-raise a lack-of-space failure of the block as :class:`DiskFullError` naming ``path``."""
    try:
        yield
    except DiskFullError:
        raise
    except (OSError, RuntimeError) as exc:
        if _is_disk_full(exc):
            raise DiskFullError(path, f"{type(exc).__name__}: {str(exc)[:200]}") from None
        raise


def temp_name(path: Path, kind: str = "tmp") -> Path:
    """The hidden temporary sibling of ``path`` for this process (suffix kept: formats are inferred alike)."""
    return path.with_name(f".{kind}-{os.getpid()}-{path.name}")


@contextlib.contextmanager
def atomic_path(path: str | Path):
    """Yield a temporary path next to ``path``; rename it onto ``path`` when the block succeeds.

    On failure (or interruption) the temporary file is removed and ``path`` is left as it was. Lack of space
    raises :class:`DiskFullError` naming ``path``. Leftovers of killed processes in the folder are swept first.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sweep_temporaries(path.parent)
    tmp = temp_name(path)
    try:
        with disk_errors(path):
            yield tmp
            if not tmp.exists():
                raise FileNotFoundError(f"nothing was written to the temporary file {tmp} of {path}")
            os.replace(tmp, path)
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists():
            tmp.unlink()


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "w", gzip_level: int | None = None):
    """A file open for writing (``mode`` ``"w"``: UTF-8 text with ``\n`` line ends; ``"wb"``: bytes) through
    :func:`atomic_path`; with ``gzip_level`` a reproducible gzip (no name, mtime 0), written by ISA-L (its levels
    are 0 to 3: a higher ``gzip_level`` is 3). Every layer is closed when the block ends, also when closing one
    fails (a full disk)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as raw:
        with (_gzip_writer.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0,
                                    compresslevel=min(gzip_level, _GZIP_MAX_LEVEL))
              if gzip_level is not None else contextlib.nullcontext(raw)) as stream:
            if "b" in mode:
                yield stream
            else:
                with io.TextIOWrapper(stream, encoding="utf-8", newline="") as text:
                    yield text


@contextlib.contextmanager
def staging_dir(parent: str | Path, name: str):
    """A hidden staging folder ``.stage-<pid>-<name>`` in ``parent``, removed when the block ends."""
    parent = Path(parent)
    parent.mkdir(parents=True, exist_ok=True)
    sweep_temporaries(parent)
    folder = parent / f".stage-{os.getpid()}-{name}"
    folder.mkdir()
    try:
        with disk_errors(folder / name):
            yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def sweep_temporaries(folder: str | Path) -> list[Path]:
    """Remove the temporary files and staging folders in ``folder`` whose writing process is gone.

    Returns what was removed. Those of live processes (another job writing now) are left alone.
    """
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        found = _TEMP.match(entry.name)
        if not found or _alive(int(found.group(1))):
            continue
        target = Path(entry.path)
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(target, ignore_errors=True)
        else:
            target.unlink(missing_ok=True)
        removed.append(target)
    return removed

"""MEME motif files (the text format of the MEME suite, versions 4 and 5): read and write.

A file holds a header (``MEME version``, ``ALPHABET= ACGT``, ``strands: + -``, ``Background letter
frequencies``) and motifs::

    MOTIF <id> [<name>]
    letter-probability matrix: alength= 4 w= <w> nsites= <n> E= <e>
    <w rows of 4 probabilities, A C G T>
    URL <url>                       (optional)

Only the DNA alphabet ``ACGT`` is supported. Probabilities are renormalised on reading so that every row
sums to 1 exactly (files round values to a few decimals).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import InputError
from .fileio import atomic_path

#: uniform background, A C G T
UNIFORM = (0.25, 0.25, 0.25, 0.25)


@dataclass
class Motif:
    """One motif: ``pwm`` is ``(w, 4) float64`` probabilities (A, C, G, T), each row summing to 1."""

    id: str
    name: str
    pwm: np.ndarray
    nsites: float = 0.0
    family: str | None = None
    url: str | None = None

    @property
    def width(self) -> int:
        """Motif width in bp."""
        return int(self.pwm.shape[0])

    def __post_init__(self):
        self.pwm = np.asarray(self.pwm, dtype=np.float64)
        if self.pwm.ndim != 2 or self.pwm.shape[1] != 4 or self.pwm.shape[0] == 0:
            raise ValueError(f"motif {self.id}: pwm must have shape (w, 4), got {self.pwm.shape}")


_KEYVAL = re.compile(r"(\w+)\s*=\s*(\S+)")


def _matrix_header(line: str, path, lineno: int) -> dict:
    """``letter-probability matrix: alength= 4 w= 10 nsites= 20 E= 0`` -> {"alength": "4", "w": "10", ...}."""
    fields = dict(_KEYVAL.findall(line.split(":", 1)[1] if ":" in line else ""))
    if "alength" in fields and fields["alength"] != "4":
        raise InputError(path, f"only alength= 4 (DNA) is supported, got {fields['alength']}", line=lineno)
    return fields


def _read_matrix(lines: list[str], i: int, current: dict, path) -> int:
    """Parse the matrix whose ``letter-probability matrix`` header is ``lines[i]`` into ``current["pwm"]`` (rows
    renormalised) and ``current["nsites"]``; returns the index of the first line after the matrix."""
    lineno, n = i + 1, len(lines)
    text = lines[i].strip()
    fields = _matrix_header(text, path, lineno)
    try:
        width = int(fields["w"]) if "w" in fields else None
        current["nsites"] = float(fields.get("nsites", 0.0))
    except ValueError:
        raise InputError(path, f"bad w= or nsites= in {text!r}", line=lineno) from None
    rows, j = [], i + 1
    while j < n and (width is None or len(rows) < width):
        row = lines[j].split()
        if not row:
            if width is None and rows:
                break
            j += 1
            continue
        if not _is_number(row[0]):  # the next MOTIF/URL line: the matrix ended early
            break
        if len(row) != 4:
            raise InputError(path, f"expected 4 probabilities (A C G T), got {len(row)} values", line=j + 1)
        try:
            rows.append([float(v) for v in row])
        except ValueError:
            raise InputError(path, f"non-numeric probability in {lines[j].strip()!r}", line=j + 1) from None
        j += 1
    if width is not None and len(rows) != width:
        raise InputError(path, f"motif {current['id']!r}: w= {width} but {len(rows)} matrix rows", line=lineno)
    pwm = np.array(rows, dtype=np.float64).reshape(-1, 4)
    if len(pwm) == 0:
        raise InputError(path, f"motif {current['id']!r}: empty matrix", line=lineno)
    sums = pwm.sum(1)
    if (pwm < 0).any() or (sums <= 0).any():
        bad = int(np.flatnonzero((pwm < 0).any(1) | (sums <= 0))[0])
        raise InputError(path, "negative probability or all-zero row", line=i + 2 + bad)
    current["pwm"] = pwm / sums[:, None]
    return j


def read_meme(path: str | Path) -> list[Motif]:
    """All motifs of a MEME text file, in file order (see module docstring).

    Raises :class:`InputError` naming ``file:line`` for a malformed matrix (wrong number of columns, a
    non-number, a negative value, a row count that disagrees with ``w=``, an all-zero row) or a file
    without any motif.
    """
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise InputError(path, f"cannot read MEME file: {exc.strerror}") from None
    motifs: list[Motif] = []
    i, n = 0, len(lines)
    current: dict | None = None

    def finish():
        if current is not None and current.get("pwm") is None:
            raise InputError(path, f"motif {current['id']!r} has no letter-probability matrix", line=current["line"])
        if current is not None:
            motifs.append(Motif(current["id"], current["name"], current["pwm"], current["nsites"], url=current["url"]))

    while i < n:
        text = lines[i].strip()
        lineno = i + 1
        if text.startswith("ALPHABET"):
            alphabet = text.split("=", 1)[1].strip() if "=" in text else ""
            if alphabet.split()[:1] != ["ACGT"]:
                raise InputError(path, f"only the ACGT alphabet is supported, got {alphabet!r}", line=lineno)
        elif text.startswith("MOTIF"):
            finish()
            parts = text.split(None, 2)
            if len(parts) < 2:
                raise InputError(path, "MOTIF line without an identifier", line=lineno)
            current = {"id": parts[1], "name": parts[2].strip() if len(parts) > 2 else parts[1], "pwm": None,
                       "nsites": 0.0, "url": None, "line": lineno}
        elif text.startswith("letter-probability matrix"):
            if current is None:
                raise InputError(path, "letter-probability matrix before any MOTIF line", line=lineno)
            i = _read_matrix(lines, i, current, path)
            continue
        elif text.startswith("URL") and current is not None:
            current["url"] = text[3:].strip() or None
        i += 1
    finish()
    if not motifs:
        raise InputError(path, "no MOTIF found; expected a MEME motif file")
    return motifs


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def write_meme(path: str | Path, motifs, background=UNIFORM) -> None:
    """Write ``motifs`` (iterable of :class:`Motif`) as a MEME version 4 DNA file.

    ``background`` is the letter frequency line (A, C, G, T). Probabilities are written with 6 decimals.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    bg = " ".join(f"{b} {float(p):.4f}" for b, p in zip("ACGT", background))
    out = ["MEME version 4", "", "ALPHABET= ACGT", "", "strands: + -", "",
           "Background letter frequencies", bg, ""]
    for m in motifs:
        name = f" {m.name}" if m.name and m.name != m.id else ""
        nsites = f"{m.nsites:g}" if m.nsites else "0"
        out.append(f"MOTIF {m.id}{name}")
        out.append(f"letter-probability matrix: alength= 4 w= {m.width} nsites= {nsites} E= 0")
        out.extend(" ".join(f"{v:.6f}" for v in row) for row in m.pwm)
        if m.url:
            out.append(f"URL {m.url}")
        out.append("")
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(out) + "\n")

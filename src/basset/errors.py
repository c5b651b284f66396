"""Exceptions that tell the user which file, which line and what was expected."""

from __future__ import annotations

from pathlib import Path


class BassetError(Exception):
    """Base class of every error raised on purpose by basset."""


class InputError(BassetError, ValueError):
    """Bad input: names the file, the line (1-based) or record, and what was expected.

    >>> str(InputError("peaks.bed", "expected 3 columns, got 2", line=7))
    'peaks.bed:7: expected 3 columns, got 2'
    """

    def __init__(self, path: str | Path, message: str, line: int | None = None, record: str | None = None):
        self.path = str(path)
        self.line = line
        self.record = record
        self.detail = message
        where = self.path if line is None else f"{self.path}:{line}"
        text = f"{where}: {message}"
        if record is not None:
            text += f" (record: {record!r})"
        super().__init__(text)

    def __reduce__(self):  # picklable (raised in a worker process, re-raised in the main one)
        return type(self), (self.path, self.detail, self.line, self.record)


class ConfigError(BassetError, ValueError):
    """A bad configuration value; the message starts with the key's path (``dataset.split.valid``)."""

    def __init__(self, key: str, message: str):
        self.key = key
        self.detail = message
        super().__init__(f"{key}: {message}")

    def __reduce__(self):
        return type(self), (self.key, self.detail)


class UsageError(BassetError, ValueError):
    """A bad command-line argument found only once its files are read (a target the model does not have, a window
    outside the model's input); the message starts with the argument, as argparse's own do.

    >>> str(UsageError("--target", "unknown target 'x'"))
    "argument --target: unknown target 'x'"
    """

    def __init__(self, option: str, message: str):
        self.option = option
        self.detail = message
        super().__init__(f"argument {option}: {message}")

    def __reduce__(self):
        return type(self), (self.option, self.detail)

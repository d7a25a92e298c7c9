"""The exceptions recsys raises.

Each subclasses a builtin so that callers' ``except ValueError`` (or ``OSError``)
keeps working, and each message says what went wrong and what to do about it.
"""

from __future__ import annotations

__all__ = [
    "RecsysError",
    "CorpusError",
    "BundleError",
    "UnknownArticleError",
    "NotFittedError",
    "BundleVersionWarning",
]


class RecsysError(Exception):
    """Base class of every error recsys raises on purpose."""


class CorpusError(RecsysError, ValueError):
    """An input file or record is unusable.

    The message names the file, the line (or record) and the field, e.g.
    ``articles.jsonl, line 12, field 'body': missing or empty``.
    """

    def __init__(self, message: str, *, path: object = None, line: int | None = None,
                 field: str | None = None) -> None:
        where = [str(p) for p in (path,) if p is not None]
        if line is not None:
            where.append(f"line {line}")
        if field is not None:
            where.append(f"field {field!r}")
        super().__init__(", ".join(where) + ": " + message if where else message)
        self.path, self.line, self.field = path, line, field


class BundleError(RecsysError, OSError):
    """A model bundle is missing, incomplete, modified or not ours."""


class UnknownArticleError(RecsysError, KeyError):
    """An article id that the archive does not hold."""

    def __str__(self) -> str:  # KeyError would otherwise print the repr of its argument
        return str(self.args[0]) if self.args else ""


class NotFittedError(RecsysError, ValueError, AttributeError):
    """A model was used before ``fit``."""


class BundleVersionWarning(UserWarning):
    """A bundle was written by another version of recsys or scikit-learn."""

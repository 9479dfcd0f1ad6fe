"""What goes wrong below the git layer, named for the people who read the message.

dulwich answers a missing object with a bare `KeyError(sha)` and a damaged one with zlib or
format errors; `broken_repository` turns any of those into `RepositoryDamaged`, whose message
says which object and what it means (a partial clone, a corrupt copy), so that a command
prints one line and a page shows a sentence instead of a server error.
"""

from __future__ import annotations

import zlib

from dulwich.errors import ChecksumMismatch, ObjectFormatException

# The exceptions dulwich raises when an object is missing or cannot be read.
BROKEN_OBJECT_ERRORS: tuple[type[Exception], ...] = (
    KeyError,
    ChecksumMismatch,
    ObjectFormatException,
    zlib.error,
)


class RepositoryDamaged(Exception):
    """An object the work needs is missing from the repository, or cannot be read."""


def broken_repository(exc: Exception, where: str = "the repository") -> RepositoryDamaged:
    if isinstance(exc, KeyError):
        missing = exc.args[0] if exc.args else b""
        name = missing.decode(errors="replace") if isinstance(missing, bytes) else str(missing)
        return RepositoryDamaged(
            f"Object {name[:40]} is missing from {where} (a partial or damaged copy?)."
        )
    return RepositoryDamaged(f"An object of {where} cannot be read ({exc.__class__.__name__}).")

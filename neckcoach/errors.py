"""Errors a person running NeckCoach can fix themselves.

Their message is one line that says what is wrong and what to do; the command
line prints it as ``neckcoach: <message>`` and exits with code 2 (a traceback
only with ``--debug``). Anything else escaping a command is a bug.
"""

from __future__ import annotations


class UserFacingError(Exception):
    """A problem outside the program (a missing file, asset, device or dependency)."""


class MissingAsset(UserFacingError, FileNotFoundError):
    """A file NeckCoach ships with (head scan, routines) is missing or unreadable."""


class MissingDependency(UserFacingError, ImportError):
    """An optional library or system component is not installed."""

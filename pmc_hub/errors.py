"""One error tree for everything pmc-hub raises on purpose.

Every error a user can cause derives from `PmcHubError`; the CLI catches that one class, prints
``error: <message>`` on one line and exits with the error's ``exit_code``: 2 for a usage error
(bad arguments, options or files named on the command line), 1 for everything else (bad data, a
remote service, an unfinished build). Messages name the cause and, where there is one, the fix.

Module-specific classes keep their historic builtin base (``ValueError``, ``RuntimeError``) too,
so ``except ValueError`` in callers keeps working.
"""
from __future__ import annotations


class PmcHubError(Exception):
    """Base of every pmc-hub error; ``exit_code`` is what the CLI exits with."""

    exit_code = 1


class UsageError(PmcHubError):
    """The command line or an options file asks for something impossible (exit 2)."""

    exit_code = 2


class DataError(PmcHubError):
    """Input data, a build folder or a remote service is not as expected (exit 1)."""

    exit_code = 1


def one_line(exc: BaseException) -> str:
    """An exception as one line: its message with newlines folded, or its type when it has none."""
    text = " ".join(str(exc).split())
    return text or type(exc).__name__

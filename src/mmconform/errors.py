"""Errors the CLI turns into exit codes.

A `UsageError` is bad input from the user (wrong URL, bad credentials, malformed YAML, unknown
option): the CLI prints its message as one line and exits 2, never with a traceback. Its message
must name the problem *and* the fix.
"""

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_TARGET_FAILED = 3
# A failure of the suite itself (a failed test naming none of its requirements): not a verdict.
EXIT_SUITE_ERROR = 4


class UsageError(Exception):
    """Bad input or configuration: one line, exit code 2."""


class TargetFailed(Exception):
    """The target stopped answering in the middle of a run: exit code 3."""

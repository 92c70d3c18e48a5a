"""Exit codes a CI job or a CronJob can act on, and the errors that end a command with one.

0: done (for `scan --within`: every bundle due inside the window has a BundleRenewal).
1: `scan --within`: some bundle due inside the window has no BundleRenewal.
2: bad arguments (argparse's own code).
3: configuration: no or unusable Twilio credentials, no kubeconfig.
4: Twilio or the Kubernetes API refused or failed a request.
5: a named BundleRenewal does not exist.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    UNCOVERED = 1
    USAGE = 2
    CONFIGURATION = 3
    API_ERROR = 4
    NOT_FOUND = 5


class CliError(Exception):
    """Ends the command with `code` and `message` on stderr (never a credential or a value)."""

    def __init__(self, message: str, code: ExitCode):
        super().__init__(message)
        self.code = code

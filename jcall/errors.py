"""jcall's typed errors. Each user-facing error carries its message and exit code;
``cli`` is the one place that turns them into a line on stderr and a process status.
"""

from __future__ import annotations

from enum import IntEnum

from .signaling.model import Fault


class ExitCode(IntEnum):
    """Distinct process exit statuses (documented in the README)."""

    OK = 0
    ERROR = 1
    USAGE = 2
    AUTH_FAILED = 3
    TLS_FAILED = 4
    CONNECT_FAILED = 5
    UNKNOWN_HOST = 6
    NOT_FOUND = 7
    REJECTED = 8
    CALL_FAILED = 9
    AUDIO_DEVICE = 11
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT, as shells report it)
    TERMINATED = 143  # SIGTERM (128 + SIGTERM)


class JcallError(Exception):
    """An error reported to the user as one line, with its exit code."""

    exit_code: ExitCode = ExitCode.ERROR

    def __init__(self, message: str, exit_code: ExitCode | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class ConfigError(JcallError):
    exit_code = ExitCode.USAGE


class LoginError(JcallError):
    """Could not log in; the exit code says why (auth, TLS, connect, DNS)."""


class CallError(JcallError):
    exit_code = ExitCode.CALL_FAILED


class ProtocolError(Exception):
    """A message that the session does not allow, and why, as a dialect-neutral
    :class:`~jcall.signaling.model.Fault`: each dialect's codec picks the stanza error
    it is answered with (``gingle.ERRORS``, ``jingle.ERRORS``)."""

    def __init__(self, message: str, fault: Fault = Fault.MALFORMED) -> None:
        super().__init__(message)
        self.fault = fault


class RemoteProtocolError(ProtocolError):
    """The peer sent something invalid; answer it with an error reply."""


class LocalProtocolError(ProtocolError):
    """jcall itself tried something the session does not allow (a bug)."""

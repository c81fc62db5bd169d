"""STUN and TURN servers a call may use (from XEP-0215 discovery or the command line)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class IceServers:
    stun: tuple[str, int] | None = None
    turn: tuple[str, int] | None = None
    turn_username: str | None = None
    turn_password: str | None = None

    @property
    def any(self) -> bool:
        return self.stun is not None or self.turn is not None


NO_SERVERS = IceServers()

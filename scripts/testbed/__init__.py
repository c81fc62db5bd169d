"""Launchers for jcall's real test infrastructure (Prosody, a throw-away CA).

Used by the integration tests, ``scripts/demo`` and ``scripts/bench``. Everything
listens on loopback only and lives in a directory the caller owns; processes are
stopped by the PID this module started.
"""

"""The aioice internals jcall/transport/ice.py relies on exist in the pinned aioice."""

from __future__ import annotations

import inspect

import aioice
from aioice import ice as aioice_ice


def test_the_connection_members_jcall_overrides_or_reads_exist() -> None:
    for name in ("_check_list_maybe_complete", "data_received", "query_consent",
                 "gather_candidates", "add_remote_candidate", "request_received",
                 "_pair_remote_candidate", "sort_check_list", "build_request",
                 "_check_periodic", "check_start_task", "check_incoming", "check_state",
                 "_find_pair", "_remote_candidates_expected"):
        assert callable(getattr(aioice.Connection, name)), name
    source = inspect.getsource(aioice.Connection.__init__)
    for attr in ("_local_candidates_start", "_local_candidates_end", "_local_candidates",
                 "_protocols", "_remote_candidates", "_nominated", "_components",
                 "_use_ipv4", "_use_ipv6", "_closing", "_check_list", "_check_list_done"):
        assert f"self.{attr}" in source, attr


def test_the_stun_protocol_members_jcall_wraps_exist() -> None:
    protocol = aioice_ice.StunProtocol
    assert callable(protocol.datagram_received) and callable(protocol.send_data)
    assert "local_candidate" in protocol.__annotations__
    assert "transport" in protocol.__annotations__
    assert callable(protocol.request)
    assert callable(aioice_ice.get_host_addresses)
    for name in ("server_reflexive_candidate", "relayed_candidate"):
        params = inspect.signature(getattr(aioice_ice, name)).parameters
        assert params, name
    assert {"component", "hide_related_address", "protocol_factory", "turn_server",
            "turn_username", "turn_password", "turn_ssl", "turn_transport"} <= set(
        inspect.signature(aioice_ice.relayed_candidate).parameters)
    assert aioice_ice.TransportPolicy.RELAY


def test_remote_is_lite_only_chooses_the_nomination_style() -> None:
    """jcall sets it for regular nomination (ice.py); it must mean nothing else."""
    source = inspect.getsource(aioice_ice)
    uses = [line.strip() for line in source.splitlines() if "remote_is_lite" in line]
    assert uses == ["self.remote_is_lite = False",
                    "nominate = self.ice_controlling and not self.remote_is_lite"]

"""The transport's event values (pure)."""

from jcall.transport.events import no_path


def test_no_path_names_each_sides_candidate_types_in_order() -> None:
    assert no_path({"srflx", "host"}, {"host"}, {}) == "tried host, srflx; peer offered host"
    assert no_path({"relay"}, set(), {}) == "tried relay; peer offered nothing"
    assert no_path({"host"}, {"host", "relay"}, {"multicast": 2, "loopback": 1}) == (
        "tried host; peer offered host, relay (not checked: 1 loopback, 2 multicast)")

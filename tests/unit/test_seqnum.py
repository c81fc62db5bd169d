from hypothesis import given
from hypothesis import strategies as st

from jcall.seqnum import Unwrapper, uint16_add, uint16_diff, uint16_gt, uint32_add, uint32_diff


def test_wraps() -> None:
    assert uint16_add(65535, 1) == 0
    assert uint16_gt(0, 65535) and not uint16_gt(65535, 0)
    assert uint16_diff(2, 65534) == 4
    assert uint32_add(2**32 - 1, 2) == 1
    assert uint32_diff(5, 2**32 - 5) == 10


@given(st.integers(0, 2**16 - 1), st.integers(-30000, 30000))
def test_uint16_diff_inverts_add(a: int, d: int) -> None:
    assert uint16_diff(uint16_add(a, d), a) == d


@given(st.integers(0, 2**32 - 1), st.lists(st.integers(-1000, 3000), max_size=50))
def test_unwrapper_follows_a_wrapping_walk(start: int, steps: list[int]) -> None:
    u = Unwrapper(32)
    true, value = start, start
    assert u.extend(value) == start
    for step in steps:
        true += step
        value = uint32_add(value, step)
        assert u.extend(value) == true

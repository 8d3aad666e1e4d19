"""JSON parsing: exact decimals, and the depth and NaN/Infinity refusals every entry point uses."""

from decimal import Decimal

import pytest

from flowker.jsoncodec import MAX_DEPTH, UnsafeJSON, check_depth, loads


def _nested_lists(depth: int) -> list:
    root: list = []
    current = root
    for _ in range(depth - 1):
        current.append([])
        current = current[0]
    return root


def test_decimals_stay_exact():
    assert loads('{"amount": 1500.00}') == {"amount": Decimal("1500.00")}


def test_depth_is_counted_in_arrays_and_objects():
    check_depth(_nested_lists(MAX_DEPTH))
    check_depth({"a": [{"b": _nested_lists(MAX_DEPTH - 3)}]})
    with pytest.raises(UnsafeJSON):
        check_depth({"a": [{"b": _nested_lists(MAX_DEPTH - 2)}]})
    check_depth("scalar")


def test_the_depth_check_needs_no_recursion():
    with pytest.raises(UnsafeJSON, match="nested deeper than 64 levels"):
        check_depth(_nested_lists(200_000))


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 100_000])
def test_parsing_refuses_deep_nesting_without_a_recursion_error(depth):
    with pytest.raises(UnsafeJSON):
        loads("[" * depth + "]" * depth)


@pytest.mark.parametrize("text", ["NaN", "[Infinity]", '{"a": -Infinity}'])
def test_parsing_refuses_nan_and_infinity(text):
    with pytest.raises(UnsafeJSON, match="is not a JSON number"):
        loads(text)

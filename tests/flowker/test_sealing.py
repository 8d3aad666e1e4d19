"""The key-name heuristic behind masking: same answers as before, in time linear in the key."""

import random
import re
import time

import pytest

from flowker.sealing import KEY_PREFIX_LENGTH, _snake, is_sensitive_key, mask_document

MIB = 1024 * 1024  # timings below are CPU time: other processes share the machine


def _snake_by_two_substitutions(key: str) -> str:
    """The former implementation (quadratic on long capital runs), kept to compare answers."""
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", key)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text).lower()


def test_snake_case_matches_the_former_two_substitutions():
    rng = random.Random(12)
    alphabet = "aAbBzZ09_-.é"
    keys = ["clientSecret", "HTTPAuthorization", "APIKey", "accountNumber2FA", "aB", "AbC"]
    keys += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))) for _ in range(5000)]
    for key in keys:
        assert _snake(key) == _snake_by_two_substitutions(key), key


@pytest.mark.parametrize(
    ("key", "sensitive"),
    [
        ("clientSecret", True),
        ("HTTPAuthorization", True),
        ("x-api-key", True),
        ("cardNumber", True),
        ("amount", False),
        ("merchantName", False),
    ],
)
def test_key_names_are_judged_as_before(key, sensitive):
    assert is_sensitive_key(key) is sensitive


@pytest.mark.parametrize(
    "key",
    [
        "A" * MIB,  # one long capital run: the former pattern backtracked over it from every start
        "Ab" * (MIB // 2),
        "aB" * (MIB // 2),
        "A" * (MIB - 1) + "a",
        "_" * MIB,
        "password_" * (MIB // 9),
    ],
    ids=["capitals", "Ab", "aB", "capitals-then-lower", "underscores", "repeated-name"],
)
def test_a_one_mebibyte_key_is_masked_in_well_under_a_second(key):
    started = time.process_time()
    mask_document({key: "value", "nested": {key: ["value"]}})
    assert time.process_time() - started < 1.0


def test_snake_case_is_linear_even_without_the_prefix_bound():
    started = time.process_time()
    _snake("A" * MIB)
    _snake("Ab" * (MIB // 2))
    assert time.process_time() - started < 1.0


def test_only_a_bounded_prefix_of_a_key_is_judged():
    assert is_sensitive_key("password_" + "x" * MIB)
    assert not is_sensitive_key("x" * KEY_PREFIX_LENGTH + "_password")

"""Value-level transformations: string edits and Go time layouts (no database)."""

import datetime

import pytest

from executions.engine.transformations import (
    MappingError,
    add_prefix,
    add_suffix,
    parse_go_time,
    reformat_timestamp,
    remove_characters,
    to_lowercase,
    to_uppercase,
)

RFC3339 = "2006-01-02T15:04:05Z07:00"
RFC3339_NANO = "2006-01-02T15:04:05.999999999Z07:00"


@pytest.mark.parametrize(
    ("value", "characters", "expected"),
    [
        ("123.456.789-00", ".-", "12345678900"),
        ("(11) 9 8765-4321", "() -", "11987654321"),
        ("no match", "xyz", "no match"),
        ("ção-ção", "ç", "ão-ão"),
        ("", ".", ""),
    ],
)
def test_remove_characters_drops_every_listed_code_point(value, characters, expected):
    assert remove_characters(value, characters) == expected


def test_add_prefix_and_suffix_wrap_the_value():
    assert add_prefix("12345", "ACC-") == "ACC-12345"
    assert add_suffix("12345", "-BR") == "12345-BR"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("brl", "BRL"),
        ("straße", "STRAßE"),
        ("ﬁle", "ﬁLE"),
        ("ᾳ", "ᾼ"),
        ("ǆ", "Ǆ"),
        ("São Paulo", "SÃO PAULO"),
    ],
)
def test_to_uppercase_maps_one_code_point_at_a_time_like_go(value, expected):
    assert to_uppercase(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("BRL", "brl"),
        ("İSTANBUL", "istanbul"),
        ("ΣΑΣ", "σασ"),
        ("São Paulo", "são paulo"),
    ],
)
def test_to_lowercase_maps_one_code_point_at_a_time_like_go(value, expected):
    assert to_lowercase(value) == expected


@pytest.mark.parametrize(
    ("value", "input_format", "output_format", "expected"),
    [
        ("2024-03-05T14:07:09Z", RFC3339, "02/01/2006", "05/03/2024"),
        (
            "2024-03-05T14:07:09Z",
            RFC3339,
            "Mon, 02 Jan 2006 15:04:05 MST",
            "Tue, 05 Mar 2024 14:07:09 UTC",
        ),
        ("2024-03-05T14:07:09-03:00", RFC3339, "2006-01-02 15:04 -0700", "2024-03-05 14:07 -0300"),
        ("2024-03-05T14:07:09-03:00", RFC3339, "MST", "-0300"),
        ("2024-03-05T14:07:09+00:00", RFC3339, RFC3339, "2024-03-05T14:07:09Z"),
        ("2024-03-05T14:07:09+05:30", RFC3339, "Z0700 Z07 -07:00:00", "+0530 +05 +05:30:00"),
        ("05/03/2024", "02/01/2006", "January 2, 2006 (Monday)", "March 5, 2024 (Tuesday)"),
        ("5/3/24", "2/1/06", "2006-01-02", "2024-03-05"),
        ("1/1/69", "2/1/06", "2006", "1969"),
        ("1/1/68", "2/1/06", "2006", "2068"),
        ("Tue Mar  5 14:07:09 2024", "Mon Jan _2 15:04:05 2006", "2006-01-02", "2024-03-05"),
        ("2024-03-05", "2006-01-02", "day 002 of 2006, __2", "day 065 of 2024,  65"),
        ("2024-065", "2006-002", "2006-01-02", "2024-03-05"),
        ("2:07PM", "3:04PM", "15:04", "14:07"),
        ("12:30am", "03:04pm", "15:04", "00:30"),
        ("14:07", "15:04", "3:04 PM", "2:07 PM"),
        ("10:30", "15:04", "2006-01-02 15:04", "0000-01-01 10:30"),
        ("2024-03-05 14:07:09.123456", "2006-01-02 15:04:05", "05.000", "09.123"),
        ("2024-03-05T14:07:09.5Z", RFC3339_NANO, RFC3339_NANO, "2024-03-05T14:07:09.5Z"),
        ("2024-03-05T14:07:09Z", RFC3339, "15:04:05.999", "14:07:09"),
        ("2024-03-05T14:07:09Z", RFC3339, "15:04:05,000", "14:07:09,000"),
        ("14:07:09.250", "15:04:05.000", "5.00", "9.25"),
        ("2024-03-05 14:07 BRT", "2006-01-02 15:04 MST", "15:04 MST -0700", "14:07 BRT +0000"),
        ("2024-03-05 14:07 GMT+3", "2006-01-02 15:04 MST", "15:04 -07:00", "14:07 +03:00"),
        ("2024-03-05 14:07 UTC", "2006-01-02 15:04 MST", RFC3339, "2024-03-05T14:07:00Z"),
        ("march 5 2024", "January 2 2006", "2006-01-02", "2024-03-05"),
    ],
)
def test_timestamp_reformats_with_go_layouts(value, input_format, output_format, expected):
    assert reformat_timestamp(value, input_format, output_format) == expected


@pytest.mark.parametrize(
    ("value", "input_format", "output_format", "expected"),
    [
        ("1700000000", "$unix", RFC3339, "2023-11-14T22:13:20Z"),
        (1700000000, "$unix", RFC3339, "2023-11-14T22:13:20Z"),
        ("-86400", "$unix", "2006-01-02", "1969-12-31"),
        ("2023-11-14T22:13:20Z", RFC3339, "$unix", "1700000000"),
        ("2023-11-14T19:13:20-03:00", RFC3339, "$unix", "1700000000"),
        ("10:30", "15:04", "$unix", "-62167181400"),
    ],
)
def test_timestamp_reads_and_writes_unix_seconds(value, input_format, output_format, expected):
    assert reformat_timestamp(value, input_format, output_format) == expected


def test_timestamp_now_ignores_the_value_and_uses_the_current_time():
    now = datetime.datetime(2024, 3, 5, 14, 7, 9, 123456, tzinfo=datetime.UTC)

    text = reformat_timestamp("ignored", "$now", "2006-01-02T15:04:05.000000Z07:00", now=now)

    assert text == "2024-03-05T14:07:09.123456Z"


def test_timestamp_now_defaults_to_the_clock():
    before = datetime.datetime.now(datetime.UTC).replace(microsecond=0)

    stamp = parse_go_time(RFC3339, reformat_timestamp(None, "$now", RFC3339))

    assert before <= stamp.moment <= datetime.datetime.now(datetime.UTC)


@pytest.mark.parametrize(
    ("value", "input_format"),
    [
        ("2024-13-01", "2006-01-02"),
        ("2024-02-30", "2006-01-02"),
        ("2024-1-05", "2006-01-02"),
        ("2024-03-05 extra", "2006-01-02"),
        ("24:00", "15:04"),
        ("10:60", "15:04"),
        ("2024-03-05T14:07:09", RFC3339),
        ("2024-03-05T14:07:09+0300", RFC3339),
        ("13:00PM", "3:04PM"),
        ("10:00XM", "3:04PM"),
        ("Smarch 5", "January 2"),
        ("2024-400", "2006-002"),
        ("2024-065 03-06", "2006-002 01-02"),
        ("abcd", "2006"),
    ],
)
def test_timestamp_refuses_values_that_do_not_match_the_layout(value, input_format):
    with pytest.raises(MappingError, match="cannot parse"):
        reformat_timestamp(value, input_format, RFC3339)


@pytest.mark.parametrize("value", ["12.5", "soon", 3.5, True, None])
def test_timestamp_refuses_unix_input_that_is_not_whole_seconds(value):
    with pytest.raises(MappingError, match="epoch seconds"):
        reformat_timestamp(value, "$unix", RFC3339)


@pytest.mark.parametrize("value", [20240305, {"at": "2024"}, ["2024"]])
def test_timestamp_refuses_values_that_are_not_strings(value):
    with pytest.raises(MappingError, match="expected a string"):
        reformat_timestamp(value, "2006", "2006")

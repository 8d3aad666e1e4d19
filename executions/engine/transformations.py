"""Value-level transformations behind mappings and Kazaam operations.

Pure functions from one JSON value to another: the string edits Flowker adds to Kazaam and the
Go time layouts that Kazaam's `timestamp` operation speaks.
"""

import datetime
import re
from dataclasses import dataclass

# 400 Gregorian years are exactly 146 097 days, so shifting a year by 400 keeps its weekday
# and leap-ness; Go times may sit in year 0, which Python's datetime cannot hold.
_ERA_YEARS = 400
_ERA_SECONDS = 146_097 * 86_400

_LONG_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_LONG_DAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_DIGITS = "0123456789"
_UNIX = "$unix"
_NOW = "$now"
_ZONE_LAYOUTS = ("070000", "07:00:00", "0700", "07:00", "07")
_ZONE_OFFSETS = {
    "07": re.compile(r"([+-])([0-9]{2})"),
    "0700": re.compile(r"([+-])([0-9]{2})([0-9]{2})"),
    "07:00": re.compile(r"([+-])([0-9]{2}):([0-9]{2})"),
    "070000": re.compile(r"([+-])([0-9]{2})([0-9]{2})([0-9]{2})"),
    "07:00:00": re.compile(r"([+-])([0-9]{2}):([0-9]{2}):([0-9]{2})"),
}


class MappingError(Exception):
    """A mapping or transformation failed at run time (the engine reports it as FLK-0504)."""


def remove_characters(value: str, characters: str) -> str:
    """Drop every occurrence of any code point listed in `characters`."""
    unwanted = set(characters)
    return "".join(char for char in value if char not in unwanted)


def add_prefix(value: str, prefix: str) -> str:
    return prefix + value


def add_suffix(value: str, suffix: str) -> str:
    return value + suffix


def to_uppercase(value: str) -> str:
    """Upper-case one code point at a time, as Go does: `ß` stays `ß`, never `SS`."""
    return "".join(_upper_code_point(char) for char in value)


def to_lowercase(value: str) -> str:
    """Lower-case one code point at a time, as Go does."""
    return "".join(_lower_code_point(char) for char in value)


def _upper_code_point(char: str) -> str:
    upper = char.upper()
    if len(upper) == 1:
        return upper
    # Python applies the full (multi-character) mapping; Go applies the simple one, which for
    # these characters is the single-character title case when there is one (ᾳ → ᾼ).
    title = char.title()
    return title if len(title) == 1 else char


def _lower_code_point(char: str) -> str:
    # Only İ (U+0130) lower-cases to two code points; its simple mapping is the first, `i`.
    return char.lower()[0]


@dataclass(frozen=True)
class GoTime:
    """An instant as Go's time package sees it: nanoseconds and zone name included.

    `moment` carries the wall clock and UTC offset with microseconds zeroed; its year is shifted
    by `year_shift` when the real year (Go allows 0) is outside what datetime can hold.
    """

    moment: datetime.datetime
    nanosecond: int = 0
    zone_name: str = "UTC"
    year_shift: int = 0

    @property
    def year(self) -> int:
        return self.moment.year - self.year_shift

    @property
    def offset_seconds(self) -> int:
        offset = self.moment.utcoffset()
        return int(offset.total_seconds()) if offset is not None else 0

    def unix(self) -> int:
        epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
        seconds = (self.moment - epoch) // datetime.timedelta(seconds=1)
        return seconds - (self.year_shift // _ERA_YEARS) * _ERA_SECONDS


def go_time_from_datetime(value: datetime.datetime) -> GoTime:
    aware = value if value.tzinfo is not None else value.replace(tzinfo=datetime.UTC)
    offset = aware.utcoffset()
    name = "UTC" if offset == datetime.timedelta(0) else ""
    return GoTime(
        moment=aware.replace(microsecond=0),
        nanosecond=aware.microsecond * 1000,
        zone_name=name,
    )


def reformat_timestamp(
    value: object,
    input_format: str,
    output_format: str,
    *,
    now: datetime.datetime | None = None,
) -> str:
    """Kazaam `timestamp` on one value: parse with `input_format`, write with `output_format`.

    Formats are Go layouts (`2006-01-02T15:04:05Z07:00`); `$unix` means epoch seconds and an
    input format of `$now` ignores the value and uses the current time.
    """
    if input_format == _NOW:
        instant = go_time_from_datetime(now or datetime.datetime.now(datetime.UTC))
    elif input_format == _UNIX:
        instant = _from_unix(value)
    elif isinstance(value, str):
        instant = parse_go_time(input_format, value)
    else:
        raise MappingError(f"timestamp: expected a string, got {type(value).__name__}")
    if output_format == _UNIX:
        return str(instant.unix())
    return format_go_time(output_format, instant)


def _from_unix(value: object) -> GoTime:
    if isinstance(value, str) and re.fullmatch(r"[+-]?[0-9]+", value):
        seconds = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        # Epoch seconds usually arrive as JSON numbers; Kazaam only took strings.
        seconds = value
    else:
        raise MappingError(f"timestamp: {value!r} is not a number of epoch seconds")
    try:
        moment = datetime.datetime.fromtimestamp(seconds, datetime.UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise MappingError(f"timestamp: {seconds} is out of range") from exc
    return GoTime(moment=moment)


def format_go_time(layout: str, instant: GoTime) -> str:
    """Render `instant` with a Go reference-time layout."""
    pieces: list[str] = []
    while layout:
        prefix, element, layout = _next_element(layout)
        pieces.append(prefix)
        if element is None:
            break
        pieces.append(_format_element(element, instant))
    return "".join(pieces)


def parse_go_time(layout: str, value: str) -> GoTime:
    """Parse `value` with a Go reference-time layout, as Go's `time.Parse` does (UTC default)."""
    try:
        return _parse(layout, value)
    except (ValueError, IndexError) as exc:
        raise MappingError(f"timestamp: cannot parse {value!r} as {layout!r}") from exc


def _starts_lower(text: str) -> bool:
    return bool(text) and "a" <= text[0] <= "z"


def _is_digit(text: str, index: int) -> bool:
    return index < len(text) and text[index] in _DIGITS


def _element_at(layout: str, i: int) -> tuple[int, str, int] | None:
    """The layout element starting at `i` as (start, element, end), following Go's rules."""
    rest = layout[i:]
    char = rest[0]
    if char == "J" and rest.startswith("Jan"):
        if rest.startswith("January"):
            return i, "January", i + 7
        if not _starts_lower(rest[3:]):
            return i, "Jan", i + 3
    elif char == "M":
        if rest.startswith("Mon"):
            if rest.startswith("Monday"):
                return i, "Monday", i + 6
            if not _starts_lower(rest[3:]):
                return i, "Mon", i + 3
        if rest.startswith("MST"):
            return i, "MST", i + 3
    elif char == "0":
        if len(rest) >= 2 and "1" <= rest[1] <= "6":
            return i, rest[:2], i + 2
        if rest.startswith("002"):
            return i, "002", i + 3
    elif char == "1":
        return (i, "15", i + 2) if rest.startswith("15") else (i, "1", i + 1)
    elif char == "2":
        return (i, "2006", i + 4) if rest.startswith("2006") else (i, "2", i + 1)
    elif char == "_":
        if rest.startswith("_2006"):
            # A literal underscore followed by the year, not a padded day.
            return i + 1, "2006", i + 5
        if rest.startswith("_2"):
            return i, "_2", i + 2
        if rest.startswith("__2"):
            return i, "__2", i + 3
    elif char in "345":
        return i, char, i + 1
    elif rest.startswith(("PM", "pm")):
        return i, rest[:2], i + 2
    elif char in "-Z":
        for zone in _ZONE_LAYOUTS:
            if rest.startswith(zone, 1):
                return i, char + zone, i + 1 + len(zone)
    elif char in ".," and len(rest) >= 2 and rest[1] in "09":
        end = 1
        while end < len(rest) and rest[end] == rest[1]:
            end += 1
        if not _is_digit(rest, end):
            return i, rest[:end], i + end
    return None


def _next_element(layout: str) -> tuple[str, str | None, str]:
    """Split `layout` into (literal prefix, next element or None, remaining layout)."""
    for index in range(len(layout)):
        found = _element_at(layout, index)
        if found is not None:
            start, element, end = found
            return layout[:start], element, layout[end:]
    return layout, None, ""


def _is_fraction(element: str | None) -> bool:
    return element is not None and element[0] in ".,"


def _format_element(element: str, instant: GoTime) -> str:
    moment = instant.moment
    hour12 = moment.hour % 12 or 12
    simple = {
        "2006": f"{instant.year:04d}",
        "06": f"{instant.year % 100:02d}",
        "January": _LONG_MONTHS[moment.month - 1],
        "Jan": _LONG_MONTHS[moment.month - 1][:3],
        "1": str(moment.month),
        "01": f"{moment.month:02d}",
        "Monday": _LONG_DAYS[(moment.weekday() + 1) % 7],
        "Mon": _LONG_DAYS[(moment.weekday() + 1) % 7][:3],
        "2": str(moment.day),
        "_2": f"{moment.day:>2}",
        "02": f"{moment.day:02d}",
        "__2": f"{moment.timetuple().tm_yday:>3}",
        "002": f"{moment.timetuple().tm_yday:03d}",
        "15": f"{moment.hour:02d}",
        "3": str(hour12),
        "03": f"{hour12:02d}",
        "4": str(moment.minute),
        "04": f"{moment.minute:02d}",
        "5": str(moment.second),
        "05": f"{moment.second:02d}",
        "PM": "PM" if moment.hour >= 12 else "AM",
        "pm": "pm" if moment.hour >= 12 else "am",
    }
    if element in simple:
        return simple[element]
    if element == "MST":
        return instant.zone_name or _format_offset("-0700", instant.offset_seconds)
    if _is_fraction(element):
        digits = f"{instant.nanosecond:09d}"[: len(element) - 1]
        if element[1] == "9":
            digits = digits.rstrip("0")
            return element[0] + digits if digits else ""
        return element[0] + digits
    return _format_offset(element, instant.offset_seconds)


def _format_offset(element: str, offset: int) -> str:
    if element.startswith("Z") and offset == 0:
        return "Z"
    sign = "-" if offset < 0 else "+"
    offset = abs(offset)
    hours, minutes, seconds = offset // 3600, offset // 60 % 60, offset % 60
    shape = element[1:]
    text = f"{sign}{hours:02d}"
    if shape == "07":
        return text
    colon = ":" if ":" in shape else ""
    text += f"{colon}{minutes:02d}"
    if len(shape.replace(":", "")) == 6:
        text += f"{colon}{seconds:02d}"
    return text


def _number(value: str, fixed: bool, width: int = 2) -> tuple[int, str]:
    """Go's getnum: up to `width` digits, exactly `width` when `fixed`."""
    count = 0
    while count < width and _is_digit(value, count):
        count += 1
    if count == 0 or (fixed and count < width):
        raise ValueError("expected digits")
    return int(value[:count]), value[count:]


def _skip_literal(value: str, literal: str) -> str:
    """Consume `literal` from `value`; a run of spaces matches a run of spaces."""
    while literal:
        if literal[0] == " ":
            if value and value[0] != " ":
                raise ValueError("expected a space")
            literal = literal.lstrip(" ")
            value = value.lstrip(" ")
            continue
        if not value or value[0] != literal[0]:
            raise ValueError(f"expected {literal[0]!r}")
        literal, value = literal[1:], value[1:]
    return value


def _lookup_name(value: str, names: tuple[str, ...]) -> tuple[int, str]:
    for index, name in enumerate(names):
        if value[: len(name)].lower() == name.lower():
            return index, value[len(name) :]
    raise ValueError("unknown name")


def _nanoseconds(digits: str) -> int:
    return int(digits[:9].ljust(9, "0"))


def _zone_name_length(value: str) -> int:
    """Length of a zone abbreviation at the start of `value` (Go's parseTimeZone), 0 if none."""
    if value.startswith(("ChST", "MeST")):
        return 4
    if value.startswith("GMT"):
        match = re.match(r"[+-][0-9]{1,2}", value[3:])
        return 3 + (match.end() if match else 0)
    upper = 0
    while upper < min(len(value), 6) and "A" <= value[upper] <= "Z":
        upper += 1
    if upper == 3:
        return 3
    if upper == 4 and (value[3] == "T" or value[:4] == "WITA"):
        return 4
    if upper == 5 and value[4] == "T":
        return 5
    return 0


def _parse_offset(element: str, value: str) -> tuple[int | None, str]:
    """Parse a numeric zone element; None means `Z` (UTC)."""
    if element.startswith("Z") and value.startswith("Z"):
        return None, value[1:]
    match = _ZONE_OFFSETS[element[1:]].match(value)
    if match is None:
        raise ValueError("bad zone offset")
    sign, *numbers = match.groups()
    hours, minutes, seconds = (int(number) for number in [*numbers, "0", "0"][:3])
    offset = (hours * 60 + minutes) * 60 + seconds
    return (-offset if sign == "-" else offset), value[match.end() :]


def _parse(layout: str, value: str) -> GoTime:
    state: dict = {"year": 0, "month": -1, "day": -1, "yday": -1, "hour": 0, "minute": 0}
    state.update(second=0, nanosecond=0, meridiem="", utc=False, offset=None, zone_name="")
    while True:
        prefix, element, layout = _next_element(layout)
        value = _skip_literal(value, prefix)
        if element is None:
            if value:
                raise ValueError("extra text")
            return _assemble(state)
        value = _parse_element(element, value, state)
        if element in ("5", "05"):
            value = _parse_loose_fraction(value, layout, state)


def _parse_element(element: str, value: str, state: dict) -> str:
    """Consume one layout element from `value` into `state`; return what is left."""
    if element in _NUMBER_ELEMENTS:
        field, fixed, width, highest = _NUMBER_ELEMENTS[element]
        if element == "_2" and value.startswith(" "):
            value = value[1:]
        elif element == "__2":
            value = value[:2].lstrip(" ") + value[2:]
        state[field], value = _number(value, fixed=fixed, width=width)
        if not 0 <= state[field] <= highest or (field == "month" and state[field] == 0):
            raise ValueError(f"{field} out of range")
        return value
    if element in ("January", "Jan", "Monday", "Mon"):
        names = _LONG_MONTHS if element[0] == "J" else _LONG_DAYS
        if len(element) == 3:
            names = tuple(name[:3] for name in names)
        index, value = _lookup_name(value, names)
        if element[0] == "J":
            state["month"] = index + 1
        return value
    return _PARSERS[element[0]](element, value, state)


def _parse_year(element: str, value: str, state: dict) -> str:
    if element == "06":
        year, value = _number(value, fixed=True)
        state["year"] = year + (1900 if year >= 69 else 2000)
        return value
    if not re.fullmatch(r"[0-9]{4}", value[:4]):
        raise ValueError("bad year")
    state["year"] = int(value[:4])
    return value[4:]


def _parse_meridiem(element: str, value: str, state: dict) -> str:
    if value[:2] not in (("PM", "AM") if element == "PM" else ("pm", "am")):
        raise ValueError("bad AM/PM")
    state["meridiem"] = value[:2].upper()
    return value[2:]


def _parse_zone_name(element: str, value: str, state: dict) -> str:
    if value.startswith("UTC"):
        state["utc"] = True
        return value[3:]
    length = _zone_name_length(value)
    if length == 0:
        raise ValueError("bad zone name")
    state["zone_name"] = value[:length]
    return value[length:]


def _parse_zone_offset(element: str, value: str, state: dict) -> str:
    offset, value = _parse_offset(element, value)
    if offset is None:
        state["utc"] = True
    else:
        state["offset"] = offset
    return value


def _parse_fraction(element: str, value: str, state: dict) -> str:
    if element[1] == "9":
        # `.999` makes the fraction optional and of any length.
        if len(value) < 2 or value[0] not in ".," or not _is_digit(value, 1):
            return value
        return _take_fraction(value, state)
    width = len(element)
    if len(value) < width or value[0] not in ".," or not value[1:width].isdigit():
        raise ValueError("bad fraction")
    state["nanosecond"] = _nanoseconds(value[1:width])
    return value[width:]


def _parse_loose_fraction(value: str, layout: str, state: dict) -> str:
    """Go accepts a fraction after the seconds even when the layout has none."""
    if len(value) < 2 or value[0] not in ".," or not _is_digit(value, 1):
        return value
    if _is_fraction(_next_element(layout)[1]):
        return value
    return _take_fraction(value, state)


def _take_fraction(value: str, state: dict) -> str:
    end = 1
    while _is_digit(value, end):
        end += 1
    state["nanosecond"] = _nanoseconds(value[1:end])
    return value[end:]


# element: (field, exactly `width` digits, width, highest value)
_NUMBER_ELEMENTS = {
    "1": ("month", False, 2, 12),
    "01": ("month", True, 2, 12),
    "2": ("day", False, 2, 31),
    "_2": ("day", False, 2, 31),
    "02": ("day", True, 2, 31),
    "__2": ("yday", False, 3, 366),
    "002": ("yday", True, 3, 366),
    "15": ("hour", False, 2, 23),
    "3": ("hour", False, 2, 12),
    "03": ("hour", True, 2, 12),
    "4": ("minute", False, 2, 59),
    "04": ("minute", True, 2, 59),
    "5": ("second", False, 2, 59),
    "05": ("second", True, 2, 59),
}
_PARSERS = {
    "2": _parse_year,
    "0": _parse_year,
    "P": _parse_meridiem,
    "p": _parse_meridiem,
    "M": _parse_zone_name,
    "Z": _parse_zone_offset,
    "-": _parse_zone_offset,
    ".": _parse_fraction,
    ",": _parse_fraction,
}


def _assemble(state: dict) -> GoTime:
    hour = state["hour"]
    if state["meridiem"] == "PM" and hour < 12:
        hour += 12
    elif state["meridiem"] == "AM" and hour == 12:
        hour = 0
    year_shift = _ERA_YEARS if state["year"] < 1 else 0
    year = state["year"] + year_shift
    month, day = _month_and_day(year, state["month"], state["day"], state["yday"])
    zone, name = _zone(state)
    moment = datetime.datetime(
        year, month, day, hour, state["minute"], state["second"], tzinfo=zone
    )
    return GoTime(
        moment=moment, nanosecond=state["nanosecond"], zone_name=name, year_shift=year_shift
    )


def _month_and_day(year: int, month: int, day: int, yday: int) -> tuple[int, int]:
    """Month and day from the parsed fields; -1 means "not in the layout"."""
    if yday < 0:
        return (month if month >= 0 else 1), (day if day >= 0 else 1)
    start = datetime.date(year, 1, 1)
    if not 1 <= yday <= (datetime.date(year + 1, 1, 1) - start).days:
        raise ValueError("day of year out of range")
    date = start + datetime.timedelta(days=yday - 1)
    if month not in (-1, date.month) or day not in (-1, date.day):
        raise ValueError("day of year does not match the date")
    return date.month, date.day


def _zone(state: dict) -> tuple[datetime.tzinfo, str]:
    """The zone Go's time.Parse gives, on a host whose local zone is UTC."""
    offset, zone_name = state["offset"], state["zone_name"]
    if state["utc"] or (offset is None and zone_name in ("", "UTC")) or offset == 0:
        return datetime.UTC, "UTC"
    if offset is not None:
        # A parsed non-zero offset becomes a nameless fixed zone.
        return datetime.timezone(datetime.timedelta(seconds=offset)), ""
    # An unknown abbreviation keeps its name at offset 0; GMT+h carries its hours.
    hours = int(zone_name[3:]) if zone_name.startswith("GMT") and len(zone_name) > 3 else 0
    return datetime.timezone(datetime.timedelta(hours=hours)), zone_name

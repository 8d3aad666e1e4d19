"""Building provider URLs: a base URL joined with a path, and path templates filled with
escaped parameters (so a value can never climb out of its segment)."""

from string import Formatter
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit


def join_url(base: str, path: str) -> str:
    """`base` and `path` with exactly one `/` between them; an empty path leaves `base` as is.

    A query string on `base` (an API key some providers take in the URL) stays a query string,
    with the path's own query after it: appending the path after it would send the call to the
    base path with the path glued into the key."""
    if not path:
        return base
    parts = urlsplit(base)
    path_only, _, path_query = path.partition("?")
    joined = parts.path.rstrip("/") + "/" + path_only.lstrip("/") if path_only else parts.path
    query = "&".join(item for item in (parts.query, path_query) if item)
    return urlunsplit((parts.scheme, parts.netloc, joined, query, parts.fragment))


def _path_parameter(name: str, executor_id: str, sources: tuple[dict[str, Any], ...]) -> str:
    for source in sources:
        value = source.get(name)
        if isinstance(value, str) and value:
            if value in (".", ".."):
                raise ValueError(f'invalid path parameter "{name}" for executor {executor_id}')
            return quote(value, safe="")
    raise ValueError(f'missing required path parameter "{name}" for executor {executor_id}')


def fill_path(template: str, executor_id: str, *sources: Any) -> str:
    """`template` with each `{name}` taken from the first source (a dict) that has it as a
    non-empty string, percent-escaped; ValueError naming the parameter when none has it."""
    dicts = tuple(source for source in sources if isinstance(source, dict))
    names = [name for _, name, _, _ in Formatter().parse(template) if name]
    return template.format(**{name: _path_parameter(name, executor_id, dicts) for name in names})

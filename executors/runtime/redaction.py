"""Provider URLs and response headers as Flowker records them: with credentials masked.

Whatever a provider call records (node outputs, call details, test results, error messages)
goes through here, so a credential that travels in a URL (an API key in the query, user:password
in the authority) or comes back in a response header is never stored or shown.
"""

from collections.abc import Iterable, Mapping
from urllib.parse import quote, quote_plus, unquote_plus, urlsplit, urlunsplit

from flowker.sealing import FULL_MASK, is_sensitive_key

# Response headers that carry credentials or session state whatever their value looks like.
SENSITIVE_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "www-authenticate",
        "proxy-authenticate",
        "set-cookie",
        "set-cookie2",
        "cookie",
    }
)
# Shorter values would mask unrelated text; no real credential is that short.
MIN_SECRET_LENGTH = 4


def _usable(secrets: Iterable[str]) -> list[str]:
    return sorted(
        {s for s in secrets if isinstance(s, str) and len(s) >= MIN_SECRET_LENGTH},
        key=len,
        reverse=True,
    )


def _without_secret_text(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        for form in {secret, quote(secret, safe=""), quote_plus(secret)}:
            text = text.replace(form, FULL_MASK)
    return text


def _masked_query(query: str, names: frozenset[str]) -> str:
    pairs = []
    for pair in query.split("&"):
        raw_name, equals, _ = pair.partition("=")
        name = unquote_plus(raw_name)
        if equals and (name.lower() in names or is_sensitive_key(name)):
            pair = f"{raw_name}={FULL_MASK}"
        pairs.append(pair)
    return "&".join(pairs)


def redact_url(url: str, *, names: Iterable[str] = (), secrets: Iterable[str] = ()) -> str:
    """`url` with userinfo dropped, the values of query parameters named in `names` or looking
    sensitive masked, and any of `secrets` (raw or URL-encoded) masked wherever it appears."""
    try:
        parts = urlsplit(url)
        host = parts.netloc.rpartition("@")[2]
        query = _masked_query(parts.query, frozenset(n.lower() for n in names))
        text = urlunsplit((parts.scheme, host, parts.path, query, parts.fragment))
    except ValueError:
        return FULL_MASK  # not a URL we can take apart: show nothing rather than a secret
    return _without_secret_text(text, _usable(secrets))


def redact_headers(headers: Mapping[str, str], *, secrets: Iterable[str] = ()) -> dict[str, str]:
    """Response headers with credential-bearing ones (and any value containing one of
    `secrets`) masked."""
    usable = _usable(secrets)
    redacted = {}
    for name, value in headers.items():
        sensitive = name.lower() in SENSITIVE_HEADERS or is_sensitive_key(name)
        if sensitive or any(secret in value for secret in usable):
            redacted[name] = FULL_MASK
        else:
            redacted[name] = value
    return redacted


def redact_document(value: object, *, secrets: Iterable[str] = ()) -> object:
    """A parsed response body with every occurrence of `secrets` (raw or URL-encoded) masked in
    its strings and keys: a provider that quotes the request back in an error must not get the
    credentials it was sent into node outputs, call details or error messages."""
    usable = _usable(secrets)
    if not usable:
        return value

    def clean(item: object) -> object:
        if isinstance(item, str):
            return _without_secret_text(item, usable)
        if isinstance(item, dict):
            return {clean(key): clean(child) for key, child in item.items()}
        if isinstance(item, list):
            return [clean(child) for child in item]
        return item

    return clean(value)
